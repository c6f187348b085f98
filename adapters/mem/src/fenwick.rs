//! The sizes of a sequence of chunks as a Fenwick (binary indexed) tree:
//! where a position falls, and where a chunk starts, in O(log chunks),
//! and one chunk growing or shrinking in O(log chunks). Adding or
//! removing a chunk rebuilds it in O(chunks).

/// Prefix sums of chunk sizes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fenwick {
    /// `tree[k - 1]` holds the sizes of chunks `k - lowbit(k) .. k`.
    tree: Vec<usize>,
}

/// The lowest set bit of `k` (`k > 0`).
fn lowbit(k: usize) -> usize {
    k & k.wrapping_neg()
}

impl Fenwick {
    /// The tree of `sizes`, in O(n).
    pub fn new(sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut tree: Vec<usize> = sizes.into_iter().collect();
        for k in 1..=tree.len() {
            let parent = k + lowbit(k);
            if parent <= tree.len() {
                tree[parent - 1] += tree[k - 1];
            }
        }
        Fenwick { tree }
    }

    /// Chunk `c` grew by one.
    pub fn grow(&mut self, c: usize) {
        let mut k = c + 1;
        while k <= self.tree.len() {
            self.tree[k - 1] += 1;
            k += lowbit(k);
        }
    }

    /// Chunk `c` shrank by one (it held at least one).
    pub fn shrink(&mut self, c: usize) {
        let mut k = c + 1;
        while k <= self.tree.len() {
            self.tree[k - 1] -= 1;
            k += lowbit(k);
        }
    }

    /// How many come before chunk `c`.
    pub fn start(&self, c: usize) -> usize {
        let mut k = c.min(self.tree.len());
        let mut sum = 0;
        while k > 0 {
            sum += self.tree[k - 1];
            k -= lowbit(k);
        }
        sum
    }

    /// The chunk holding position `i`, and `i`'s place in it; past the
    /// end, the number of chunks and what is left of `i`.
    pub fn find(&self, mut i: usize) -> (usize, usize) {
        let mut c = 0;
        let mut step = self.tree.len().checked_ilog2().map_or(0, |b| 1 << b);
        while step > 0 {
            let next = c + step;
            if next <= self.tree.len() && self.tree[next - 1] <= i {
                i -= self.tree[next - 1];
                c = next;
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
