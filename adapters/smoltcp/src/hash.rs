//! A fast hasher for the adapter's lookup tables.
//!
//! The keys are addresses and prefixes the configuring client chooses, and
//! every table is bounded by what smoltcp can hold (its address and route
//! capacities), so a flood of colliding keys cannot make a table large:
//! the standard library's DoS-resistant SipHash buys nothing here and costs
//! a third of a request's time.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hashing, word by word (the scheme of rustc's FxHasher).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.add(u64::from_le_bytes(word));
        }
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
        // Spread the high bits, which the multiplication fills best, down
        // to the low ones hashbrown indexes with.
        self.0 ^ (self.0 >> 29)
    }
}

/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash + ?Sized>(t: &T) -> u64 {
        BuildHasherDefault::<FastHasher>::default().hash_one(t)
    }

    #[test]
    fn neighbouring_keys_spread() {
        let mut seen = FastSet::default();
        for i in 0..4096u32 {
            seen.insert(hash(&(0x0a00_0000 + (i << 8), 24u8)) & 0xfff);
        }
        // Far from all in a few buckets of a 4,096-slot table.
        assert!(seen.len() > 2000, "{}", seen.len());
        assert_ne!(hash(&"abc"), hash(&"abd"));
    }
}
