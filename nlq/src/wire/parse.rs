//! `nom` primitives shared by the views: native-endian integers and checked
//! slicing. Every parser here works on complete input: running out of bytes
//! is an error, never a panic.

use nom::bytes::complete::take;
use nom::number::complete as num;
use nom::number::Endianness::Native;
use nom::IResult;

/// A nom result whose error carries no data; callers map it to their own
/// [`Error`](super::Error) with the part they were parsing.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, ()>;

#[inline]
pub(crate) fn u8(i: &[u8]) -> PResult<'_, u8> {
    num::u8(i)
}

#[inline]
pub(crate) fn u16(i: &[u8]) -> PResult<'_, u16> {
    num::u16(Native)(i)
}

#[inline]
pub(crate) fn u32(i: &[u8]) -> PResult<'_, u32> {
    num::u32(Native)(i)
}

#[inline]
pub(crate) fn u64(i: &[u8]) -> PResult<'_, u64> {
    num::u64(Native)(i)
}

#[inline]
pub(crate) fn i32(i: &[u8]) -> PResult<'_, i32> {
    num::i32(Native)(i)
}

#[inline]
pub(crate) fn bytes(i: &[u8], n: usize) -> PResult<'_, &[u8]> {
    take(n)(i)
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
#[inline]
pub(crate) fn split(b: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    if n <= b.len() {
        Some(b.split_at(n))
    } else {
        None
    }
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
