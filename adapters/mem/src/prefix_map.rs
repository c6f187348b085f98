//! The map from a prefix to the first of its routes, built for tables of
//! a million prefixes.
//!
//! Open addressing with linear probing: each slot holds its key and its
//! value side by side, so that a lookup (found or not) and an insert read
//! one cache line where a Swiss table reads its control bytes and then,
//! elsewhere, its bucket. In a table far larger than the caches, that
//! miss is most of what adding a route or looking one up costs. Slots
//! are at most three quarters full; a removal shifts the slots after it
//! back (no tombstones), so that probes stay short however the table
//! churns. Keys are hashed with a random seed per map ([`RandomSeed`]),
//! so nobody can choose prefixes that pile up in one run of slots.

use crate::hash::RandomSeed;

/// A key that has a value no real key takes, to mark a vacant slot.
pub(crate) trait SlotKey: Copy + Eq {
    /// Never a real key (a prefix length no family has).
    const VACANT: Self;

    /// Whether this is [`SlotKey::VACANT`] (its length byte alone tells).
    fn is_vacant(&self) -> bool;

    /// Its hash under `seed`, its fields packed into as few words as
    /// they fit (a probe hashes once, a removal once per key it moves).
    fn hash(&self, seed: &RandomSeed) -> u64;
}

/// An IPv4 prefix: table, destination, length.
pub(crate) type Key4 = (u32, u32, u8);
/// An IPv6 prefix: table, destination (as words, so that the key is not
/// padded to 16-byte alignment), length.
pub(crate) type Key6 = (u32, [u32; 4], u8);

impl SlotKey for Key4 {
    const VACANT: Self = (0, 0, u8::MAX);

    fn is_vacant(&self) -> bool {
        self.2 == u8::MAX
    }

    fn hash(&self, seed: &RandomSeed) -> u64 {
        let (table, dst, len) = *self;
        seed.hash_words(&[u64::from(table) << 32 | u64::from(dst), u64::from(len)])
    }
}

impl SlotKey for Key6 {
    const VACANT: Self = (0, [0; 4], u8::MAX);

    fn is_vacant(&self) -> bool {
        self.2 == u8::MAX
    }

    fn hash(&self, seed: &RandomSeed) -> u64 {
        let (table, [a, b, c, d], len) = *self;
        let pair = |hi: u32, lo: u32| u64::from(hi) << 32 | u64::from(lo);
        seed.hash_words(&[pair(table, u32::from(len)), pair(a, b), pair(c, d)])
    }
}

/// A slot: a key ([`SlotKey::VACANT`] when free) and its value.
#[derive(Debug, Clone, Copy)]
struct Slot<K> {
    key: K,
    value: u32,
}

/// A hash map from prefixes to `u32` handles (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct PrefixMap<K: SlotKey> {
    /// A power of two of them, or none.
    slots: Box<[Slot<K>]>,
    len: usize,
    seed: RandomSeed,
}

impl<K: SlotKey> Default for PrefixMap<K> {
    fn default() -> Self {
        PrefixMap {
            slots: Box::new([]),
            len: 0,
            seed: RandomSeed::default(),
        }
    }
}

impl<K: SlotKey> PrefixMap<K> {
    /// How many keys it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The bytes its slots take.
    pub fn bytes(&self) -> usize {
        self.slots
            .len()
            .saturating_mul(std::mem::size_of::<Slot<K>>())
    }

    /// The slot where `key`'s probe starts: past the end in an empty
    /// table.
    fn home(&self, key: &K) -> usize {
        // The high bits of the hash: the best mixed. A table of 2^b
        // slots takes the top b bits (none of an empty one, whose
        // `trailing_zeros` is the width of a `usize`).
        let bits = self.slots.len().trailing_zeros();
        let hash = key.hash(&self.seed);
        hash.checked_shr(u64::BITS.saturating_sub(bits))
            .unwrap_or(0) as usize
    }

    /// The slot that holds `key`, or the vacant one where it would go;
    /// `None` in an empty table. (A table at most three quarters full
    /// has a vacant slot: the probe ends.)
    fn probe(&self, key: &K) -> Option<usize> {
        // A power of two of slots: the mask keeps `i` among them.
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.home(key);
        loop {
            let k = self.slots.get(i)?.key;
            if k.is_vacant() || k == *key {
                return Some(i);
            }
            i = i.wrapping_add(1) & mask;
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let s = self.slots.get(self.probe(key)?)?;
        (!s.key.is_vacant()).then_some(s.value)
    }

    /// Sets `key` to `value`; returns the value it had.
    pub fn insert(&mut self, key: K, value: u32) -> Option<u32> {
        debug_assert!(key != K::VACANT, "the vacant key is not a prefix");
        // At most three quarters full, counting the new key (the number
        // of slots is 0 or a multiple of 16).
        let room = self.slots.len().saturating_sub(self.slots.len() / 4);
        if self.len >= room {
            self.grow();
        }
        let slot = self.probe(&key).and_then(|i| self.slots.get_mut(i));
        let Some(slot) = slot else {
            // Not after `grow`: the table has slots.
            debug_assert!(false, "a probe of a grown table finds a slot");
            return None;
        };
        if slot.key == key {
            return Some(std::mem::replace(&mut slot.value, value));
        }
        *slot = Slot { key, value };
        // One more key in a slot: the count does not wrap.
        self.len = self.len.wrapping_add(1);
        None
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &K) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mut hole = self.probe(key)?;
        let found = *self.slots.get(hole)?;
        if found.key.is_vacant() {
            return None;
        }
        self.len = self.len.saturating_sub(1);
        // Back-shift: a key after the hole moves into it when its probe
        // starts at or before the hole (cyclically), so that no probe
        // meets a vacant slot before its key.
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = hole;
        loop {
            i = i.wrapping_add(1) & mask;
            let Some(&s) = self.slots.get(i) else {
                break;
            };
            if s.key.is_vacant() {
                break;
            }
            let home = self.home(&s.key);
            // How far `s` is from its home, and the hole from that home.
            if (hole.wrapping_sub(home) & mask) < (i.wrapping_sub(home) & mask) {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = s;
                }
                hole = i;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            h.key = K::VACANT;
        }
        Some(found.value)
    }

    /// Twice the slots (16 at first), every key placed again.
    fn grow(&mut self) {
        let size = self.slots.len().saturating_mul(2).max(16);
        let vacant = Slot {
            key: K::VACANT,
            value: 0,
        };
        let old = std::mem::replace(&mut self.slots, vec![vacant; size].into_boxed_slice());
        for s in old.iter().filter(|s| !s.key.is_vacant()) {
            if let Some(slot) = self.probe(&s.key).and_then(|i| self.slots.get_mut(i)) {
                *slot = *s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Random sequences of inserts, removals and lookups over few keys
    /// (so that they meet, and removals shift runs of slots) answer as a
    /// `HashMap` does, and every key stays reachable.
    #[test]
    fn answers_as_a_hash_map() {
        let mut dice = 0x9e37_79b9_7f4a_7c15_u64;
        let mut roll = |n: u64| {
            dice ^= dice << 13;
            dice ^= dice >> 7;
            dice ^= dice << 17;
            dice % n
        };
        for _ in 0..200 {
            let mut map = PrefixMap::<Key4>::default();
            let mut model = HashMap::new();
            let keys = 1 + roll(200);
            for _ in 0..roll(600) {
                let k = roll(keys);
                let key: Key4 = ((k % 3) as u32, (k / 3) as u32, (k % 2) as u8);
                match roll(3) {
                    0 => {
                        let v = roll(1 << 32) as u32;
                        assert_eq!(map.insert(key, v), model.insert(key, v));
                    }
                    1 => assert_eq!(map.remove(&key), model.remove(&key)),
                    _ => assert_eq!(map.get(&key), model.get(&key).copied()),
                }
                assert_eq!(map.len(), model.len());
            }
            for (k, v) in &model {
                assert_eq!(map.get(k), Some(*v));
            }
        }
    }

    /// A large map: every key found, removing half leaves the other half,
    /// and the table stays at most three quarters full.
    #[test]
    fn holds_many_keys_and_removes_half() {
        let mut map = PrefixMap::<Key6>::default();
        let key = |i: u32| (254, [0x2001_0db8, i, 0, i.rotate_left(7)], 64);
        for i in 0..50_000 {
            assert_eq!(map.insert(key(i), i), None);
        }
        assert!(map.len() * 4 <= map.slots.len() * 3);
        for i in (0..50_000).step_by(2) {
            assert_eq!(map.remove(&key(i)), Some(i));
        }
        for i in 0..50_000 {
            let want = (i % 2 == 1).then_some(i);
            assert_eq!(map.get(&key(i)), want, "key {i}");
        }
        assert_eq!(map.len(), 25_000);
        assert_eq!(map.get(&Key6::VACANT), None);
    }
}
