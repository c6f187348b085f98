//! Fixed-capacity byte and string storage for the owned reprs, so that they
//! need no allocator.

use core::fmt;

use super::{Error, ErrorKind, Part, Result};

/// Up to `N` bytes stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineBytes<const N: usize> {
    len: u16,
    data: [u8; N],
}

impl<const N: usize> InlineBytes<N> {
    /// The capacity.
    pub const CAPACITY: usize = N;

    /// A copy of `b`, or `TooLong` (about `part`) if it exceeds `N` bytes.
    #[inline]
    pub fn new(b: &[u8], part: Part) -> Result<Self> {
        let mut data = [0u8; N];
        let dst = data
            .get_mut(..b.len())
            .ok_or(Error::new(part, ErrorKind::TooLong))?;
        dst.copy_from_slice(b);
        let len = u16::try_from(b.len()).map_err(|_| Error::new(part, ErrorKind::TooLong))?;
        Ok(InlineBytes { len, data })
    }

    /// A copy of `b`; `None` if it exceeds `N` bytes.
    #[inline]
    pub fn try_from_slice(b: &[u8]) -> Option<Self> {
        Self::new(b, Part::Body).ok()
    }

    /// The stored bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl<const N: usize> Default for InlineBytes<N> {
    /// Empty.
    fn default() -> Self {
        InlineBytes {
            len: 0,
            data: [0; N],
        }
    }
}

impl<const N: usize> core::ops::Deref for InlineBytes<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> fmt::Debug for InlineBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.as_slice().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A UTF-8 string of up to `N - 1` bytes stored inline (room is kept for the
/// NUL the kernel puts after names).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InlineStr<const N: usize>(InlineBytes<N>);

impl<const N: usize> InlineStr<N> {
    /// A copy of `s`, or `TooLong` (about `part`) if it has `N` bytes or more.
    #[inline]
    pub fn new(s: &str, part: Part) -> Result<Self> {
        if s.len() >= N {
            return Err(Error::new(part, ErrorKind::TooLong));
        }
        InlineBytes::new(s.as_bytes(), part).map(InlineStr)
    }

    /// A copy of `s`; `None` if it is too long.
    #[inline]
    pub fn try_from_str(s: &str) -> Option<Self> {
        Self::new(s, Part::Body).ok()
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        // Built only from `&str`, so always UTF-8.
        core::str::from_utf8(self.0.as_slice()).unwrap_or_default()
    }
}

impl<const N: usize> core::ops::Deref for InlineStr<N> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> PartialEq<str> for InlineStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for InlineStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// An interface name (`IFNAMSIZ`: at most 15 bytes).
pub type IfName = InlineStr<{ super::consts::IFNAMSIZ }>;
/// A link-layer address (`MAX_ADDR_LEN`: at most 32 bytes).
pub type HwAddr = InlineBytes<{ super::consts::MAX_ADDR_LEN }>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_enforced() {
        assert_eq!(IfName::try_from_str("br0").unwrap(), "br0");
        assert!(IfName::try_from_str("fifteen-chars-x").is_some());
        assert!(IfName::try_from_str("sixteen-chars-xx").is_none());
        let e = HwAddr::new(&[0; 33], Part::Attr(1)).unwrap_err();
        assert_eq!(e, Error::new(Part::Attr(1), ErrorKind::TooLong));
    }

    #[test]
    fn debug_is_readable() {
        let mac = HwAddr::try_from_slice(&[0x02, 0, 0, 0, 0, 0xff]).unwrap();
        assert_eq!(format!("{mac:?}"), "02:00:00:00:00:ff");
        assert_eq!(
            format!("{:?}", IfName::try_from_str("lo").unwrap()),
            "\"lo\""
        );
    }
}
