//! A list of owned values with a bound: on the heap with `alloc`, inline
//! without (the reprs' next hops and group members).

use super::{Error, ErrorKind, Part, Result};

/// A list of at most `MAX` values, appended to one at a time; with
/// `alloc` on the heap, else inline (`INLINE` of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BoundedList<T, const MAX: usize, const INLINE: usize> {
    #[cfg(feature = "alloc")]
    items: alloc::vec::Vec<T>,
    #[cfg(not(feature = "alloc"))]
    len: u16,
    #[cfg(not(feature = "alloc"))]
    items: [T; INLINE],
}

impl<T: Copy + Default, const MAX: usize, const INLINE: usize> Default
    for BoundedList<T, MAX, INLINE>
{
    fn default() -> Self {
        BoundedList {
            #[cfg(feature = "alloc")]
            items: alloc::vec::Vec::new(),
            #[cfg(not(feature = "alloc"))]
            len: 0,
            #[cfg(not(feature = "alloc"))]
            items: [T::default(); INLINE],
        }
    }
}

impl<T: Copy, const MAX: usize, const INLINE: usize> BoundedList<T, MAX, INLINE> {
    /// Appends `v`; `TooLong` (blamed on `part`) when full.
    pub fn push_or(&mut self, v: T, part: Part) -> Result<()> {
        let too_long = Error::new(part, ErrorKind::TooLong);
        #[cfg(feature = "alloc")]
        {
            if self.items.len() >= MAX {
                return Err(too_long);
            }
            self.items.push(v);
        }
        #[cfg(not(feature = "alloc"))]
        {
            let slot = self.items.get_mut(usize::from(self.len)).ok_or(too_long)?;
            *slot = v;
            self.len = self.len.saturating_add(1);
        }
        Ok(())
    }

    /// The values, in order.
    pub fn as_slice(&self) -> &[T] {
        #[cfg(feature = "alloc")]
        {
            &self.items
        }
        #[cfg(not(feature = "alloc"))]
        {
            self.items.get(..usize::from(self.len)).unwrap_or_default()
        }
    }
}
