//! Values addressed by a 32-bit handle, stored in pages of fixed size, so
//! that growing never moves (nor copies) what is already stored: a table
//! of a million routes grows without one large reallocation.

/// Values per page (a power of two).
const PAGE: usize = 4096;

/// A growable array of `T` in pages; handles are positions.
#[derive(Debug, Clone)]
pub(crate) struct Slab<T> {
    pages: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            pages: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// How many values it holds (the next handle).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `value`; its handle is the length before.
    pub fn push(&mut self, value: T) {
        match self.pages.last_mut() {
            Some(page) if page.len() < PAGE => page.push(value),
            _ => {
                let mut page = Vec::with_capacity(PAGE);
                page.push(value);
                self.pages.push(page);
            }
        }
        // One more value in memory: the count does not wrap.
        self.len = self.len.wrapping_add(1);
    }

    /// The value with handle `h`, if there is one.
    pub fn get(&self, h: u32) -> Option<&T> {
        let h = h as usize;
        self.pages.get(h / PAGE)?.get(h % PAGE)
    }

    /// The value with handle `h`, to change, if there is one.
    pub fn get_mut(&mut self, h: u32) -> Option<&mut T> {
        let h = h as usize;
        self.pages.get_mut(h / PAGE)?.get_mut(h % PAGE)
    }

    /// The bytes its pages occupy.
    pub fn bytes(&self) -> usize {
        let values = self.pages.iter().map(Vec::capacity).sum::<usize>();
        values
            .saturating_mul(std::mem::size_of::<T>())
            .saturating_add(
                self.pages
                    .capacity()
                    .saturating_mul(std::mem::size_of::<Vec<T>>()),
            )
    }
}

/// Indexing, for the tests (the crate reads with `get`).
#[cfg(test)]
impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    fn index(&self, h: u32) -> &T {
        self.get(h).unwrap()
    }
}

#[cfg(test)]
impl<T> std::ops::IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, h: u32) -> &mut T {
        self.get_mut(h).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_stay_across_pages() {
        let mut s = Slab::default();
        for i in 0..3 * PAGE as u32 + 5 {
            s.push(i);
        }
        assert_eq!(s.len(), 3 * PAGE + 5);
        for h in [0, 1, PAGE as u32 - 1, PAGE as u32, 3 * PAGE as u32 + 4] {
            assert_eq!(s[h], h);
            assert_eq!(s.get(h), Some(&h));
        }
        assert_eq!(s.get(3 * PAGE as u32 + 5), None);
        s[7] = 70;
        assert_eq!(s[7], 70);
    }
}
