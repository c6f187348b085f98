//! `nom` parsers shared by the views: native-endian integers, fixed-size
//! chunks and checked slicing. Every parser here works on complete input:
//! running out of bytes is an error, never a panic.
//!
//! The integer parsers are written as nom parsers over whole chunks
//! (`split_first_chunk`) rather than nom 8's own `number::complete` ones,
//! which read byte by byte through a non-inlined `Input::take_from`: on the
//! hot path (every header and every attribute) that cost several times the
//! whole walk.

use nom::error::{ErrorKind as NomKind, ParseError};
use nom::{Err, IResult};

/// A nom result whose error carries no data; callers map it to their own
/// [`Error`](super::Error) with the part they were parsing.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, ()>;

#[inline(always)]
fn short<T>(i: &[u8]) -> PResult<'_, T> {
    let () = <() as ParseError<&[u8]>>::from_error_kind(i, NomKind::Eof);
    Err(Err::Error(()))
}

/// The first `N` bytes as an array.
#[inline(always)]
pub(crate) fn chunk<const N: usize>(i: &[u8]) -> PResult<'_, [u8; N]> {
    match i.split_first_chunk::<N>() {
        Some((c, rest)) => Ok((rest, *c)),
        None => short(i),
    }
}

#[inline(always)]
pub(crate) fn u16(i: &[u8]) -> PResult<'_, u16> {
    chunk(i).map(|(r, c)| (r, u16::from_ne_bytes(c)))
}

#[inline(always)]
pub(crate) fn u32(i: &[u8]) -> PResult<'_, u32> {
    chunk(i).map(|(r, c)| (r, u32::from_ne_bytes(c)))
}

#[inline(always)]
pub(crate) fn u64(i: &[u8]) -> PResult<'_, u64> {
    chunk(i).map(|(r, c)| (r, u64::from_ne_bytes(c)))
}

#[inline(always)]
pub(crate) fn i32(i: &[u8]) -> PResult<'_, i32> {
    chunk(i).map(|(r, c)| (r, i32::from_ne_bytes(c)))
}

/// The first `n` bytes.
#[inline(always)]
pub(crate) fn bytes(i: &[u8], n: usize) -> PResult<'_, &[u8]> {
    match i.split_at_checked(n) {
        Some((b, rest)) => Ok((rest, b)),
        None => short(i),
    }
}

/// A native-endian `u16` from two bytes.
#[inline(always)]
pub(crate) fn ne16(a: u8, b: u8) -> u16 {
    u16::from_ne_bytes([a, b])
}

/// A native-endian `u32` from four bytes.
#[inline(always)]
pub(crate) fn ne32(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_ne_bytes([a, b, c, d])
}

/// `len` rounded up to the netlink alignment (4), saturating.
#[inline]
pub(crate) const fn align(len: usize) -> usize {
    match len.checked_add(3) {
        Some(l) => l & !3,
        None => usize::MAX & !3,
    }
}

/// True when every byte is zero (trailing padding).
#[inline]
pub(crate) fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// Splits `b` after `n` bytes, or returns `None` when it is shorter.
#[inline(always)]
pub(crate) fn split(b: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    b.split_at_checked(n)
}

/// Reads an exact-size array.
#[inline]
pub(crate) fn array<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_native_endian_and_checked() {
        let b = 0x0102_0304u32.to_ne_bytes();
        assert_eq!(u32(&b), Ok((&[][..], 0x0102_0304)));
        assert!(u32(&b[..3]).is_err());
        assert!(u64(&b).is_err());
        assert_eq!(u16(&b).map(|(r, _)| r.len()), Ok(2));
    }

    #[test]
    fn align_rounds_up_without_overflow() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(5), 8);
        assert_eq!(align(usize::MAX) % 4, 0);
    }

    #[test]
    fn split_and_padding() {
        assert_eq!(split(&[1, 2, 3], 2), Some((&[1, 2][..], &[3][..])));
        assert_eq!(split(&[1], 2), None);
        assert!(all_zero(&[0, 0, 0]));
        assert!(!all_zero(&[0, 1]));
    }
}
