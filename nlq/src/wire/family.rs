//! What the four rtnetlink families share: a fixed header after `nlmsghdr`,
//! then attributes decoded with the header's address family.

use super::attr::{AttrDecode, Attrs, TypedAttrs};
use super::writer::{Buffer, Writer};
use super::{Error, ErrorKind, NlMsg, Part, Reader, Result, Short};

/// The fixed header of a family (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, `ndmsg`).
pub trait FamilyHeader: Sized + Copy + Default {
    /// Its size on the wire (a multiple of 4).
    const LEN: usize;
    /// Its attributes, typed.
    type Attr<'a>: AttrDecode<'a>;
    /// True for the message types that carry this header.
    fn accepts(kind: u16) -> bool;
    /// Reads exactly the header's fields from `r`.
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short>;
    /// Appends the header.
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()>;
    /// The address family, which decides how addresses in attributes decode.
    fn family(&self) -> u8;

    /// Parses the header at the start of `b`; returns it and the rest.
    #[inline(always)]
    fn parse(b: &[u8]) -> Result<(Self, &[u8])> {
        let mut r = Reader::new(b);
        match Self::parse_fields(&mut r) {
            Ok(h) => Ok((h, r.rest())),
            Err(Short) => Err(Error::new(Part::Body, ErrorKind::Truncated)),
        }
    }

    /// Parses a header that may be cut short, as in the 1- or 4-byte GET
    /// bodies iproute2 and glibc send: missing fields read as zero. Bytes
    /// beyond the header are ignored.
    fn parse_short(b: &[u8]) -> Self {
        let mut full = [0u8; 64];
        let n = b.len().min(Self::LEN).min(full.len());
        if let (Some(dst), Some(src)) = (full.get_mut(..n), b.get(..n)) {
            dst.copy_from_slice(src);
        }
        Self::parse(&full).map(|(h, _)| h).unwrap_or_default()
    }
}

/// A checked view of an rtnetlink message of one family: its fixed header and
/// its attributes, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyMessage<'a, H> {
    /// Exactly `H::LEN` bytes, decoded on access (a copy of the decoded
    /// fields would be written field by field and read back whole).
    header: &'a [u8],
    attrs: &'a [u8],
    _h: core::marker::PhantomData<H>,
}

impl<'a, H: FamilyHeader> FamilyMessage<'a, H> {
    /// The view of `msg`; `WrongType` if its type does not carry `H`.
    #[inline(always)]
    pub fn parse(msg: &NlMsg<'a>) -> Result<Self> {
        if !H::accepts(msg.message_type()) {
            return Err(Error::new(Part::Header, ErrorKind::WrongType));
        }
        Self::parse_payload(msg.payload())
    }

    /// The view of a message payload (everything after `nlmsghdr`).
    #[inline(always)]
    pub fn parse_payload(payload: &'a [u8]) -> Result<Self> {
        match payload.split_at_checked(H::LEN) {
            Some((header, attrs)) => Ok(FamilyMessage {
                header,
                attrs,
                _h: core::marker::PhantomData,
            }),
            None => Err(Error::new(Part::Body, ErrorKind::Truncated)),
        }
    }

    /// The fixed header.
    #[inline]
    pub fn header(&self) -> H {
        H::parse(self.header).map(|(h, _)| h).unwrap_or_default()
    }

    /// The address family (the header's first byte).
    #[inline]
    pub fn family(&self) -> u8 {
        self.header.first().copied().unwrap_or(0)
    }

    /// The attributes, typed. Unknown ones come as the raw variant.
    #[inline]
    pub fn attrs(&self) -> TypedAttrs<'a, H::Attr<'a>> {
        TypedAttrs::new(Attrs::new(self.attrs), self.family())
    }

    /// The attributes, untyped.
    #[inline]
    pub fn raw_attrs(&self) -> Attrs<'a> {
        Attrs::new(self.attrs)
    }

    /// The attribute bytes.
    #[inline]
    pub fn attr_bytes(&self) -> &'a [u8] {
        self.attrs
    }
}
