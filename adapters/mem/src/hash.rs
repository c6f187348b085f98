//! A fast keyed hasher, for the route index and for the lookup tables of
//! data planes (the smoltcp adapter's).
//!
//! The keys (prefixes, addresses) are chosen by whoever configures the
//! stack and the index grows with the table, so the hash is keyed with a random seed per
//! map, as the standard library's is: nobody can choose prefixes that
//! collide without knowing it. Each word is folded in with one 64 × 64 →
//! 128-bit multiplication (the scheme of foldhash and aHash's fallback),
//! a tenth of SipHash's work for the short keys of routes.

use std::hash::{BuildHasher, Hasher};

/// Builds [`FoldHasher`]s with one random seed.
#[derive(Debug, Clone, Copy)]
pub struct RandomSeed {
    seed: u64,
}

impl Default for RandomSeed {
    fn default() -> Self {
        // The standard library's per-map random keys, drawn once.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        RandomSeed { seed }
    }
}

impl RandomSeed {
    /// The hash of a key given as whole words, as a [`FoldHasher`] would
    /// fold them (one multiplication each, then one to finish): for keys
    /// that pack into fewer words than their fields.
    pub(crate) fn hash_words(&self, words: &[u64]) -> u64 {
        let mut h = self.build_hasher();
        for w in words {
            h.add(*w);
        }
        h.finish()
    }
}

impl BuildHasher for RandomSeed {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher {
            state: self.seed,
            key: self.seed.rotate_left(32) ^ ARBITRARY,
        }
    }
}

/// A `HashSet` hashed with [`FoldHasher`].
pub type FastSet<K> = std::collections::HashSet<K, RandomSeed>;

/// A map keyed with [`RandomSeed`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, RandomSeed>;

/// Digits of π: keeps the multiplier away from zero and small values.
const ARBITRARY: u64 = 0x243f_6a88_85a3_08d3;

/// The product of `a` and `b`, its two halves folded together.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

/// The hasher [`RandomSeed`] builds.
#[derive(Debug, Clone, Copy)]
pub struct FoldHasher {
    state: u64,
    key: u64,
}

impl FoldHasher {
    fn add(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word, self.key | 1);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.add(u64::from_le_bytes(word));
        }
        self.add(bytes.len() as u64);
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state, ARBITRARY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Neighbouring prefixes land in different buckets, and two maps hash
    /// the same key differently.
    #[test]
    fn neighbouring_keys_spread_and_seeds_differ() {
        let s = RandomSeed::default();
        let mut seen = HashSet::new();
        for i in 0..4096u32 {
            seen.insert(s.hash_one((254u32, 0x0a00_0000 + (i << 8), 24u8)) & 0xfff);
        }
        // Far from all in a few buckets of a 4,096-slot table.
        assert!(seen.len() > 2000, "{}", seen.len());
        let other = RandomSeed::default();
        assert_ne!(s.hash_one(1u32), other.hash_one(1u32));
        assert_ne!(s.hash_one("abc"), s.hash_one("abd"));
    }
}
