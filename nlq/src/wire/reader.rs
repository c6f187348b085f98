//! A checked cursor over bytes: every read either returns what it asked for
//! and moves past it, or fails with [`Short`] and moves nowhere. Nothing
//! here panics, whatever the input.
//!
//! The codec's views read their headers and walk their attributes with it,
//! and so does the daemon protocol (`nlq-remote`). The reads themselves are
//! the `nom` parsers of the `parse` module (whole-chunk reads, so that a
//! header costs one bounds check).
//!
//! The reads match on the nom result rather than map its error and use `?`:
//! on the attribute walk the `?` form cost about 5 % of a typed parse of a
//! link dump, the explicit match nothing measurable.

use super::parse;
use crate::errno::{Errno, EINVAL};

/// A read wanted more bytes than were left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Short;

impl core::fmt::Display for Short {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("input too short")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Short {}

impl From<Short> for Errno {
    /// `EINVAL`, what the kernel answers a truncated request with.
    #[inline]
    fn from(_: Short) -> Errno {
        Errno(EINVAL)
    }
}

/// A checked cursor over a byte slice.
///
/// Each read takes bytes from the front. A read that would run past the end
/// returns [`Short`] and leaves the reader as it was, so a caller may try
/// something else or report where it stopped. Integers are native-endian,
/// as netlink's are.
///
/// ```
/// use nlq::wire::{Reader, Short};
///
/// // An attribute: length 6, type 3, two value bytes, two of padding.
/// let ([l0, l1], [k0, k1]) = (6u16.to_ne_bytes(), 3u16.to_ne_bytes());
/// let bytes = [l0, l1, k0, k1, 0xaa, 0xbb, 0, 0];
/// let mut r = Reader::new(&bytes);
/// let len = r.u16()?;
/// let kind = r.u16()?;
/// let mut value = r.sub(usize::from(len) - 4)?;
/// assert_eq!((kind, value.u8()?, value.u8()?), (3, 0xaa, 0xbb));
/// assert_eq!(value.u8(), Err(Short));
/// assert_eq!(r.rest(), &[0, 0]);
/// # Ok::<(), Short>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    #[inline(always)]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// The next `n` bytes.
    #[inline(always)]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        match parse::bytes(self.rest, n) {
            Ok((rest, b)) => {
                self.rest = rest;
                Ok(b)
            }
            Err(_) => Err(Short),
        }
    }

    /// A reader over the next `len` bytes (a nested structure of known
    /// length), moving this one past them.
    #[inline(always)]
    pub fn sub(&mut self, len: usize) -> Result<Reader<'a>, Short> {
        self.take(len).map(Reader::new)
    }

    /// The next `N` bytes as an array.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        match parse::chunk::<N>(self.rest) {
            Ok((rest, a)) => {
                self.rest = rest;
                Ok(a)
            }
            Err(_) => Err(Short),
        }
    }

    /// The next `N` bytes as an array, without moving past them.
    #[inline(always)]
    pub fn peek<const N: usize>(&self) -> Result<[u8; N], Short> {
        match parse::chunk::<N>(self.rest) {
            Ok((_, a)) => Ok(a),
            Err(_) => Err(Short),
        }
    }

    /// Moves past the next `n` bytes.
    #[inline(always)]
    pub fn skip(&mut self, n: usize) -> Result<(), Short> {
        self.take(n).map(|_| ())
    }

    /// Moves past the next `n` bytes, or to the end when fewer are left
    /// (the padding the last item of a run may lack).
    #[inline(always)]
    pub fn skip_up_to(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    /// The next byte.
    #[inline(always)]
    pub fn u8(&mut self) -> Result<u8, Short> {
        self.array().map(|[b]| b)
    }

    /// The next native-endian `u16`.
    #[inline(always)]
    pub fn u16(&mut self) -> Result<u16, Short> {
        self.array().map(u16::from_ne_bytes)
    }

    /// The next native-endian `u32`.
    #[inline(always)]
    pub fn u32(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_ne_bytes)
    }

    /// The next native-endian `i32`.
    #[inline(always)]
    pub fn i32(&mut self) -> Result<i32, Short> {
        self.array().map(i32::from_ne_bytes)
    }

    /// The next native-endian `u64`.
    #[inline(always)]
    pub fn u64(&mut self) -> Result<u64, Short> {
        self.array().map(u64::from_ne_bytes)
    }

    /// The bytes not yet read (the reader does not move).
    #[inline(always)]
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Every byte not yet read; the reader is then at the end.
    #[inline(always)]
    pub fn take_rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.rest)
    }

    /// How many bytes are left.
    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// True when every byte has been read.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_native_endian_and_checked() {
        let b = 0x0102_0304u32.to_ne_bytes();
        let mut r = Reader::new(&b);
        assert_eq!(r.u32(), Ok(0x0102_0304));
        assert!(r.is_empty());
        assert_eq!(Reader::new(&b[..3]).u32(), Err(Short));
        assert_eq!(Reader::new(&b).u64(), Err(Short));
        let mut r = Reader::new(&b);
        assert!(r.u16().is_ok());
        assert_eq!(r.remaining(), 2);
        let v = 0x0102_0304_0506_0708u64;
        assert_eq!(Reader::new(&v.to_ne_bytes()).u64(), Ok(v));
        assert_eq!(Reader::new(&(-7i32).to_ne_bytes()).i32(), Ok(-7));
        assert_eq!(Reader::new(&0xabcdu16.to_ne_bytes()).u16(), Ok(0xabcd));
        assert_eq!(Reader::new(&[9]).u8(), Ok(9));
    }

    #[test]
    fn take_splits_or_fails() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(2), Ok(&[1, 2][..]));
        assert_eq!(r.rest(), &[3]);
        let mut r = Reader::new(&[1]);
        assert_eq!(r.take(2), Err(Short));
        assert_eq!(r.rest(), &[1]);
    }

    /// Every read of a value cut anywhere fails and leaves the reader where
    /// it was.
    #[test]
    fn every_read_is_checked_at_every_cut() {
        let b: [u8; 16] = core::array::from_fn(|i| i as u8);
        for cut in 0..b.len() {
            let short = &b[..cut];
            let mut r = Reader::new(short);
            if cut < 1 {
                assert_eq!(r.u8(), Err(Short));
            }
            if cut < 2 {
                assert_eq!(r.u16(), Err(Short));
            }
            if cut < 4 {
                assert_eq!(r.u32(), Err(Short));
                assert_eq!(r.i32(), Err(Short));
            }
            if cut < 8 {
                assert_eq!(r.u64(), Err(Short));
            }
            assert_eq!(r.array::<16>(), Err(Short));
            assert_eq!(r.peek::<16>(), Err(Short));
            assert_eq!(r.take(cut + 1), Err(Short));
            assert_eq!(r.sub(cut + 1), Err(Short));
            assert_eq!(r.skip(cut + 1), Err(Short));
            assert_eq!(r.rest(), short, "cut at {cut}");
        }
    }

    #[test]
    fn a_sequence_of_reads() {
        let mut b = Vec::new();
        b.push(7u8);
        b.extend_from_slice(&0x0203u16.to_ne_bytes());
        b.extend_from_slice(&0x0405_0607u32.to_ne_bytes());
        b.extend_from_slice(&u64::MAX.to_ne_bytes());
        let mut r = Reader::new(&b);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.peek::<4>(), Ok(0x0405_0607u32.to_ne_bytes()));
        assert_eq!(r.u32(), Ok(0x0405_0607));
        assert_eq!(r.remaining(), 8);
        assert_eq!(r.u64(), Ok(u64::MAX));
        assert!(r.is_empty());
        assert_eq!(r.u8(), Err(Short));
    }

    #[test]
    fn sub_past_the_end_fails_and_stays() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.sub(4), Err(Short));
        assert_eq!(r.sub(usize::MAX), Err(Short));
        assert_eq!(r.rest(), &[1, 2, 3]);
        let mut s = r.sub(3).unwrap();
        assert!(r.is_empty());
        assert_eq!(s.rest(), &[1, 2, 3]);
        assert_eq!(s.take(3), Ok(&[1, 2, 3][..]));
    }

    #[test]
    fn nested_subs_see_only_their_bytes() {
        // [len 2 | a b] [len 3 | c [d e]] then a byte outside.
        let b = [2, 0xa, 0xb, 3, 0xc, 0xd, 0xe, 0xff];
        let mut r = Reader::new(&b);
        let mut outer = r.sub(7).unwrap();
        assert_eq!(r.rest(), &[0xff]);

        let len = outer.u8().unwrap();
        let mut first = outer.sub(usize::from(len)).unwrap();
        assert_eq!(first.take(2), Ok(&[0xa, 0xb][..]));
        assert_eq!(first.u8(), Err(Short));

        let len = outer.u8().unwrap();
        let mut second = outer.sub(usize::from(len)).unwrap();
        assert!(outer.is_empty());
        assert_eq!(second.u8(), Ok(0xc));
        let mut inner = second.sub(2).unwrap();
        assert!(second.is_empty());
        assert_eq!(inner.sub(3), Err(Short));
        assert_eq!(inner.u16(), Ok(u16::from_ne_bytes([0xd, 0xe])));
        assert_eq!(inner.u8(), Err(Short));

        assert_eq!(outer.u8(), Err(Short));
        assert_eq!(r.u8(), Ok(0xff));
        assert!(r.is_empty());
    }

    #[test]
    fn zero_length_reads_always_succeed() {
        let mut empty = Reader::new(&[]);
        assert_eq!(empty.take(0), Ok(&[][..]));
        assert_eq!(empty.array::<0>(), Ok([]));
        assert_eq!(empty.peek::<0>(), Ok([]));
        assert_eq!(empty.skip(0), Ok(()));
        let sub = empty.sub(0).unwrap();
        assert!(sub.is_empty());
        assert_eq!(empty.take_rest(), &[]);
        let mut r = Reader::new(&[5]);
        assert_eq!(r.take(0), Ok(&[][..]));
        assert!(r.sub(0).unwrap().is_empty());
        assert_eq!(r.rest(), &[5]);
    }

    #[test]
    fn skip_up_to_stops_at_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.skip_up_to(2);
        assert_eq!(r.rest(), &[3]);
        r.skip_up_to(3);
        assert!(r.is_empty());
        r.skip_up_to(usize::MAX);
        assert!(r.is_empty());
        let mut r = Reader::new(&[1, 2]);
        assert_eq!(r.skip(3), Err(Short));
        assert_eq!(r.skip(1), Ok(()));
        assert_eq!(r.rest(), &[2]);
    }

    #[test]
    fn short_is_einval() {
        assert_eq!(Errno::from(Short), Errno(EINVAL));
    }
}
