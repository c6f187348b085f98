//! Attributes (`struct nlattr`): a checked view, an iterator with nesting,
//! and typed decoding of common values.

use core::marker::PhantomData;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::consts::{AF_INET, AF_INET6, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK};
use super::parse::{align, all_zero, ne16};
use super::{Error, ErrorKind, Part, Reader, Result};

/// One attribute: its type (flags masked off) and its value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    value: &'a [u8],
    /// The wire type in the low 16 bits; in the high 16 bits the enclosing
    /// attribute's type with [`HAS_PARENT`] set, or 0 at the top level. One
    /// word rather than an `Option`, and a full 8-byte word so that the
    /// attribute is written and read back whole: a narrower field leaves
    /// padding that turns every copy into a store-forwarding stall.
    tag: u64,
}

/// Marks [`Attr::parent`] as set (types are 14 bits, so the bit is free).
const HAS_PARENT: u16 = 0x8000;

/// The part an attribute of `kind` under `parent` (as in [`Attr::parent`]) is.
#[inline]
fn part_of(parent: u16, kind: u16) -> Part {
    if parent & HAS_PARENT != 0 {
        Part::Nested(parent & NLA_TYPE_MASK, kind)
    } else {
        Part::Attr(kind)
    }
}

impl<'a> Attr<'a> {
    /// An attribute of `kind` (may include `NLA_F_*` flags) holding `value`.
    #[inline]
    pub const fn new(kind: u16, value: &'a [u8]) -> Self {
        Attr {
            value,
            tag: kind as u64,
        }
    }

    /// The type with `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` masked off.
    #[inline]
    pub fn attr_type(&self) -> u16 {
        self.type_with_flags() & NLA_TYPE_MASK
    }

    /// The type as on the wire, flags included.
    #[inline]
    pub fn type_with_flags(&self) -> u16 {
        self.tag as u16
    }

    /// `NLA_F_NESTED` was set.
    #[inline]
    pub fn is_nested(&self) -> bool {
        self.type_with_flags() & NLA_F_NESTED != 0
    }

    /// `NLA_F_NET_BYTEORDER` was set.
    #[inline]
    pub fn is_net_byteorder(&self) -> bool {
        self.type_with_flags() & NLA_F_NET_BYTEORDER != 0
    }

    /// The value bytes (without the header and the padding).
    #[inline]
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The part this attribute is, for errors.
    #[inline]
    pub fn part(&self) -> Part {
        part_of((self.tag >> 16) as u16, self.attr_type())
    }

    /// An error of `kind` about this attribute.
    #[inline]
    pub fn error(&self, kind: ErrorKind) -> Error {
        Error::new(self.part(), kind)
    }

    #[inline(always)]
    fn fixed<const N: usize>(&self) -> Result<[u8; N]> {
        match <[u8; N]>::try_from(self.value) {
            Ok(a) => Ok(a),
            Err(_) if self.value.len() < N => Err(self.error(ErrorKind::TooShort)),
            Err(_) => Err(self.error(ErrorKind::BadValue)),
        }
    }

    /// The error of an address that does not fit `family`: too short for
    /// it ([`ErrorKind::TooShort`]), else of another family.
    #[inline]
    fn address_error(&self, family: u8) -> Error {
        let needs = match family {
            AF_INET6 => 16,
            _ => 4,
        };
        match self.value.len() < needs {
            true => self.error(ErrorKind::TooShort),
            false => self.error(ErrorKind::BadFamily),
        }
    }

    /// The value as a `u8` (exactly 1 byte).
    #[inline]
    pub fn u8(&self) -> Result<u8> {
        self.fixed::<1>().map(|[b]| b)
    }

    /// The value as a host-order `u16` (exactly 2 bytes).
    #[inline]
    pub fn u16(&self) -> Result<u16> {
        self.fixed().map(u16::from_ne_bytes)
    }

    /// The value as a host-order `u32` (exactly 4 bytes).
    #[inline]
    pub fn u32(&self) -> Result<u32> {
        self.fixed().map(u32::from_ne_bytes)
    }

    /// The value as a host-order `i32` (exactly 4 bytes).
    #[inline]
    pub fn i32(&self) -> Result<i32> {
        self.fixed().map(i32::from_ne_bytes)
    }

    /// The value as a host-order `u64` (exactly 8 bytes).
    #[inline]
    pub fn u64(&self) -> Result<u64> {
        self.fixed().map(u64::from_ne_bytes)
    }

    /// The value as a string: the bytes up to the first NUL (or all of them),
    /// which must be UTF-8.
    #[inline]
    pub fn str(&self) -> Result<&'a str> {
        let v = self.value;
        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
        let s = v.get(..end).unwrap_or_default();
        core::str::from_utf8(s).map_err(|_| self.error(ErrorKind::BadValue))
    }

    /// The value as an IP address of `family` (`AF_INET`: 4 bytes,
    /// `AF_INET6`: 16 bytes). Other families: by length alone.
    #[inline]
    pub fn ip(&self, family: u8) -> Result<IpAddr> {
        match ip_from(self.value, family) {
            Some(ip) => Ok(ip),
            None => Err(self.address_error(family)),
        }
    }

    /// The value as the bytes of an IP address of `family` (checked as by
    /// [`Attr::ip`]), read later with [`IpBytes::ip`].
    #[inline(always)]
    pub fn ip_bytes(&self, family: u8) -> Result<IpBytes<'a>> {
        match IpBytes::new(self.value, family) {
            Some(ip) => Ok(ip),
            None => Err(self.address_error(family)),
        }
    }

    /// The attributes nested in this one.
    #[inline]
    pub fn nested(&self) -> Attrs<'a> {
        Attrs {
            rest: Reader::new(self.value),
            ctx: u64::from(self.attr_type() | HAS_PARENT),
        }
    }
}

/// An IP address in an attribute: checked (4 bytes for IPv4, 16 for IPv6)
/// and borrowed, so that typed attributes stay two words; [`IpBytes::ip`]
/// reads it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpBytes<'a>(&'a [u8]);

impl<'a> IpBytes<'a> {
    /// The address bytes of `family` in `b` (as [`Attr::ip`] checks them).
    #[inline(always)]
    pub fn new(b: &'a [u8], family: u8) -> Option<Self> {
        let ok = match family {
            AF_INET => b.len() == 4,
            AF_INET6 => b.len() == 16,
            _ => b.len() == 4 || b.len() == 16,
        };
        ok.then_some(IpBytes(b))
    }

    /// The address.
    #[inline(always)]
    pub fn ip(&self) -> IpAddr {
        match <[u8; 16]>::try_from(self.0) {
            Ok(a) => IpAddr::V6(Ipv6Addr::from(a)),
            Err(_) => IpAddr::V4(Ipv4Addr::from(
                <[u8; 4]>::try_from(self.0).unwrap_or_default(),
            )),
        }
    }

    /// True for an IPv4 address.
    #[inline]
    pub fn is_ipv4(&self) -> bool {
        self.0.len() == 4
    }

    /// The 4 or 16 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl From<IpBytes<'_>> for IpAddr {
    #[inline]
    fn from(b: IpBytes<'_>) -> IpAddr {
        b.ip()
    }
}

impl PartialEq<IpAddr> for IpBytes<'_> {
    fn eq(&self, other: &IpAddr) -> bool {
        self.ip() == *other
    }
}

impl core::fmt::Debug for IpBytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.ip(), f)
    }
}

impl core::fmt::Display for IpBytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.ip(), f)
    }
}

/// An IP address of `family` from its bytes: 4 for `AF_INET`, 16 for
/// `AF_INET6`, either for other families.
#[inline]
pub(crate) fn ip_from(b: &[u8], family: u8) -> Option<IpAddr> {
    let v4 = |b| {
        <[u8; 4]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
    };
    let v6 = |b| {
        <[u8; 16]>::try_from(b)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
    };
    match (family, b.len()) {
        (AF_INET, _) => v4(b),
        (AF_INET6, _) => v6(b),
        (_, 4) => v4(b),
        (_, 16) => v6(b),
        _ => None,
    }
}

/// Iterates over a run of attributes.
///
/// An attribute whose length field is below 4 or beyond the run yields one
/// error and ends the iteration; trailing zero bytes shorter than a header
/// are padding.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: Reader<'a>,
    /// Bits 0..16: the parent as in [`Attr::parent`]; bits 32..40: the
    /// address family typed attributes decode with. One full word, so that
    /// copies of the iterator never read across narrower stores.
    ctx: u64,
}

impl<'a> Attrs<'a> {
    /// The top-level attributes in `bytes`.
    #[inline]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Attrs {
            rest: Reader::new(bytes),
            ctx: 0,
        }
    }

    #[inline(always)]
    fn parent(&self) -> u16 {
        self.ctx as u16
    }

    #[inline(always)]
    fn family(&self) -> u8 {
        (self.ctx >> 32) as u8
    }

    #[inline(always)]
    fn with_family(mut self, family: u8) -> Self {
        self.ctx = (self.ctx & 0xffff) | (u64::from(family) << 32);
        self
    }

    /// The bytes not yet iterated.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest.rest()
    }

    /// The first attribute of type `kind` (flags masked), if any. Framing
    /// errors before it are returned.
    pub fn find(self, kind: u16) -> Result<Option<Attr<'a>>> {
        for a in self {
            let a = a?;
            if a.attr_type() == kind {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    #[cold]
    fn fail(&mut self, kind: u16, err: ErrorKind) -> Option<Result<Attr<'a>>> {
        self.rest.take_rest();
        Some(Err(Error::new(part_of(self.parent(), kind), err)))
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let mut r = self.rest;
        let Ok([l0, l1, k0, k1]) = r.array::<4>() else {
            return if self.rest.is_empty() {
                None
            } else {
                self.tail()
            };
        };
        let len = usize::from(ne16(l0, l1));
        let raw_kind = ne16(k0, k1);
        let Some(vlen) = len.checked_sub(4) else {
            return self.bad_length(raw_kind & NLA_TYPE_MASK);
        };
        let Ok(value) = r.take(vlen) else {
            return self.fail(raw_kind & NLA_TYPE_MASK, ErrorKind::Truncated);
        };
        // Past the attribute and its padding (which the last one may lack).
        self.rest.skip_up_to(align(len));
        Some(Ok(Attr {
            value,
            tag: u64::from(raw_kind) | (u64::from(self.parent()) << 16),
        }))
    }
}

impl<'a> Attrs<'a> {
    /// A length below the header: zero padding if every byte left is zero,
    /// an error otherwise.
    #[cold]
    fn bad_length(&mut self, kind: u16) -> Option<Result<Attr<'a>>> {
        if all_zero(self.rest.rest()) {
            self.rest.take_rest();
            return None;
        }
        self.fail(kind, ErrorKind::BadLength)
    }

    /// Fewer than 4 bytes are left: padding if zero, an error otherwise.
    #[cold]
    fn tail(&mut self) -> Option<Result<Attr<'a>>> {
        if all_zero(self.rest.rest()) {
            self.rest.take_rest();
            None
        } else {
            self.fail(0, ErrorKind::Truncated)
        }
    }
}

impl core::iter::FusedIterator for Attrs<'_> {}

/// Decoding of one attribute into a family's typed enum.
pub trait AttrDecode<'a>: Sized {
    /// Decodes `attr` of a message of address `family`. An error here
    /// degrades this attribute only.
    fn decode(attr: Attr<'a>, family: u8) -> Result<Self>;
}

/// Iterates over attributes decoded into `T`.
///
/// Framing errors end the iteration (as for [`Attrs`]); a malformed value of
/// a known attribute yields an error for that attribute and the iteration
/// goes on with the next one. Unknown attributes decode to `T`'s raw variant.
#[derive(Debug, Clone)]
pub struct TypedAttrs<'a, T: AttrDecode<'a>> {
    /// Carries the family in its context word.
    inner: Attrs<'a>,
    _t: PhantomData<T>,
}

impl<'a, T: AttrDecode<'a>> TypedAttrs<'a, T> {
    /// Decodes the attributes of `inner`, addresses as of `family`.
    #[inline]
    pub fn new(inner: Attrs<'a>, family: u8) -> Self {
        TypedAttrs {
            inner: inner.with_family(family),
            _t: PhantomData,
        }
    }

    /// The untyped attributes.
    #[inline]
    pub fn raw(&self) -> Attrs<'a> {
        self.inner.clone().with_family(0)
    }
}

impl<'a, T: AttrDecode<'a>> Iterator for TypedAttrs<'a, T> {
    type Item = Result<T>;

    #[inline(always)]
    fn next(&mut self) -> Option<Result<T>> {
        Some(match self.inner.next()? {
            Ok(a) => T::decode(a, self.inner.family()),
            Err(e) => Err(e),
        })
    }
}

impl<'a, T: AttrDecode<'a>> core::iter::FusedIterator for TypedAttrs<'a, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const TWO_ATTRS: [u8; 20] = [
        8, 0,   4, 0,   0xdc, 0x05, 0, 0,    // len 8, IFLA_MTU, 1500
        7, 0,   3, 0,   b'b', b'r', b'0',    // len 7, IFLA_IFNAME, "br0" (no NUL)
        0,                                   // padding
        4, 0,   0x12, 0x80,                  // len 4, type 0x12 | NLA_F_NESTED, empty
    ];

    #[test]
    fn deconstruct() {
        let a: Vec<_> = Attrs::new(&TWO_ATTRS).map(|a| a.unwrap()).collect();
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].attr_type(), a[0].u32()), (4, Ok(1500)));
        assert_eq!((a[1].attr_type(), a[1].str()), (3, Ok("br0")));
        assert_eq!(a[2].attr_type(), 0x12);
        assert!(a[2].is_nested() && !a[2].is_net_byteorder());
        assert_eq!(a[2].nested().count(), 0);
    }

    #[test]
    fn wrong_sizes_degrade_one_value() {
        let a = Attrs::new(&TWO_ATTRS).next().unwrap().unwrap();
        assert_eq!(a.u16(), Err(Error::new(Part::Attr(4), ErrorKind::BadValue)));
        // Shorter than the type: what the kernel's policy refuses with
        // ERANGE; longer: malformed, or of another family.
        assert_eq!(a.u64().unwrap_err().kind, ErrorKind::TooShort);
        assert_eq!(a.ip(AF_INET6).unwrap_err().kind, ErrorKind::TooShort);
        assert_eq!(a.ip(AF_INET), Ok(IpAddr::V4(Ipv4Addr::new(0xdc, 5, 0, 0))));
        let long = Attr::new(1, &[0; 16]);
        assert_eq!(long.ip(AF_INET).unwrap_err().kind, ErrorKind::BadFamily);
        assert_eq!(
            long.ip_bytes(AF_INET).unwrap_err().kind,
            ErrorKind::BadFamily
        );
        assert_eq!(long.u32().unwrap_err().kind, ErrorKind::BadValue);
        let short = Attr::new(1, &[0; 3]);
        assert_eq!(
            short.ip_bytes(AF_INET).unwrap_err().kind,
            ErrorKind::TooShort
        );
        assert_eq!(short.u32().unwrap_err().kind, ErrorKind::TooShort);
    }

    #[test]
    fn framing_errors_end_the_run() {
        let mut b = TWO_ATTRS;
        b[8] = 40; // second attribute claims 40 bytes
        let r: Vec<_> = Attrs::new(&b).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1], Err(Error::new(Part::Attr(3), ErrorKind::Truncated)));

        b[8] = 2; // shorter than its own header
        let r: Vec<_> = Attrs::new(&b).collect();
        assert_eq!(r[1], Err(Error::new(Part::Attr(3), ErrorKind::BadLength)));
    }

    #[test]
    fn zero_padding_ends_quietly_and_garbage_does_not() {
        assert_eq!(Attrs::new(&[0, 0, 0]).count(), 0);
        assert_eq!(Attrs::new(&[0, 0, 0, 0, 0, 0, 0, 0]).count(), 0);
        let r: Vec<_> = Attrs::new(&[1, 0]).collect();
        assert_eq!(
            r,
            vec![Err(Error::new(Part::Attr(0), ErrorKind::Truncated))]
        );
    }

    #[test]
    fn nested_errors_name_the_parent() {
        #[rustfmt::skip]
        let b = [
            12, 0,  18, 0x80,     // IFLA_LINKINFO | NLA_F_NESTED, 8 bytes of value
            9, 0,   1, 0,         // IFLA_INFO_KIND claiming 9 bytes: beyond the parent
            b't', b'u', b'n', 0,
        ];
        let outer = Attrs::new(&b).next().unwrap().unwrap();
        let inner: Vec<_> = outer.nested().collect();
        assert_eq!(
            inner,
            vec![Err(Error::new(Part::Nested(18, 1), ErrorKind::Truncated))]
        );
    }

    #[test]
    fn strings_stop_at_nul_and_must_be_utf8() {
        assert_eq!(Attr::new(3, b"lo\0junk").str(), Ok("lo"));
        assert_eq!(Attr::new(3, b"").str(), Ok(""));
        assert!(Attr::new(3, &[0xff, 0]).str().is_err());
    }
}
