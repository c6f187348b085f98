//! The `nom` parsers under [`Reader`](super::Reader) (fixed-size chunks and
//! checked slicing) and the helpers the views share. Every parser here
//! works on complete input: running out of bytes is an error, never a panic.
//!
//! The reader's integers are read through [`chunk`], a nom parser over whole
//! chunks (`split_first_chunk`), rather than nom 8's own `number::complete`
//! parsers, which read byte by byte through a non-inlined `Input::take_from`:
//! on the hot path (every header and every attribute) that cost several
//! times the whole walk.

use nom::error::{ErrorKind as NomKind, ParseError};
use nom::{Err, IResult};

/// A nom result whose error carries no data; the reader turns it into
/// [`Short`](super::Short).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_without_overflow() {
        assert_eq!(align(0), 0);
        assert_eq!(align(1), 4);
        assert_eq!(align(4), 4);
        assert_eq!(align(5), 8);
        assert_eq!(align(usize::MAX) % 4, 0);
    }

    #[test]
    fn chunks_and_padding() {
        assert_eq!(bytes(&[1, 2, 3], 2), Ok((&[3][..], &[1, 2][..])));
        assert!(bytes(&[1], 2).is_err());
        assert_eq!(chunk::<2>(&[1, 2, 3]), Ok((&[3][..], [1, 2])));
        assert!(chunk::<4>(&[1, 2, 3]).is_err());
        assert!(all_zero(&[0, 0, 0]));
        assert!(!all_zero(&[0, 1]));
    }
}
