//! The sizes of a sequence of chunks as a Fenwick (binary indexed) tree:
//! where a position falls, and where a chunk starts, in O(log chunks),
//! and one chunk growing or shrinking in O(log chunks). Adding or
//! removing a chunk rebuilds it in O(chunks).

/// Prefix sums of chunk sizes.
///
/// Laid out from 0: `tree[i]` holds the sizes of chunks `i & (i + 1) ..=
/// i`; the node after `i` that covers it is `i | (i + 1)`. Every walk
/// reads the tree through `get`, and stops where it would leave it, so
/// that no index is out of bounds by construction. The sums are counts of
/// values held in memory: they cannot overflow a `usize`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fenwick {
    tree: Vec<usize>,
}

/// The node after `i` that also covers chunk `i` (`i` is an index of the
/// tree, so below `isize::MAX`: the increment does not wrap).
fn parent(i: usize) -> usize {
    i | i.wrapping_add(1)
}

impl Fenwick {
    /// The tree of `sizes`, in O(n).
    pub fn new(sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut tree: Vec<usize> = sizes.into_iter().collect();
        for i in 0..tree.len() {
            let size = tree.get(i).copied().unwrap_or(0);
            if let Some(up) = tree.get_mut(parent(i)) {
                *up = up.wrapping_add(size);
            }
        }
        Fenwick { tree }
    }

    /// Chunk `c` grew by one.
    pub fn grow(&mut self, c: usize) {
        let mut i = c;
        while let Some(n) = self.tree.get_mut(i) {
            *n = n.wrapping_add(1);
            i = parent(i);
        }
    }

    /// Chunk `c` shrank by one (it held at least one).
    pub fn shrink(&mut self, c: usize) {
        let mut i = c;
        while let Some(n) = self.tree.get_mut(i) {
            debug_assert!(*n > 0, "chunk {c} shrank below empty");
            *n = n.saturating_sub(1);
            i = parent(i);
        }
    }

    /// How many come before chunk `c`.
    pub fn start(&self, c: usize) -> usize {
        // `k` chunks: the node `k - 1` covers the last `lowbit(k)` of
        // them; `k & (k - 1)` are left.
        let mut k = c.min(self.tree.len());
        let mut sum = 0usize;
        while let Some(i) = k.checked_sub(1) {
            sum = sum.wrapping_add(self.tree.get(i).copied().unwrap_or(0));
            k &= i;
        }
        sum
    }

    /// The chunk holding position `i`, and `i`'s place in it; past the
    /// end, the number of chunks and what is left of `i`.
    pub fn find(&self, mut i: usize) -> (usize, usize) {
        // `c` chunks known to end at or before `i`, a multiple of `step`
        // times two: the node `c + step - 1` covers the `step` after them.
        let mut c = 0usize;
        let mut step = self.tree.len().checked_ilog2().map_or(0, |b| 1usize << b);
        while step > 0 {
            let node = c | step.wrapping_sub(1);
            if let Some(rest) = self.tree.get(node).and_then(|&n| i.checked_sub(n)) {
                i = rest;
                c |= step;
            }
            step >>= 1;
        }
        (c, i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_scan() {
        let mut sizes: Vec<usize> = (0..37).map(|i| 1 + (i * 7919) % 13).collect();
        let mut t = Fenwick::new(sizes.iter().copied());
        for round in 0..200usize {
            let c = (round * 31) % sizes.len();
            if round % 3 == 0 && sizes[c] > 1 {
                sizes[c] -= 1;
                t.shrink(c);
            } else {
                sizes[c] += 1;
                t.grow(c);
            }
            let mut at = 0;
            for (c, &n) in sizes.iter().enumerate() {
                assert_eq!(t.start(c), at);
                for o in 0..n {
                    assert_eq!(t.find(at + o), (c, o));
                }
                at += n;
            }
            assert_eq!(t.start(sizes.len()), at);
            assert_eq!(t.find(at), (sizes.len(), 0));
        }
    }

    #[test]
    fn empty() {
        let t = Fenwick::new([]);
        assert_eq!(t.start(0), 0);
        assert_eq!(t.find(0), (0, 0));
    }
}
