//! The netlink header, one message, and the datagram → message iterator.

use super::consts::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN};
use super::parse::{align, all_zero, ne16, ne32};
use super::{Error, ErrorKind, Message, Part, Reader, Result};

/// The 16-byte `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NlMsgHeader {
    /// `nlmsg_len`: the message length including this header.
    pub len: u32,
    /// `nlmsg_type`: `RTM_*` or a control type (`NLMSG_*`).
    pub message_type: u16,
    /// `nlmsg_flags`: `NLM_F_*`.
    pub flags: u16,
    /// `nlmsg_seq`: the sequence number, echoed in replies.
    pub seq: u32,
    /// `nlmsg_pid`: the sender's port id (0 from the kernel).
    pub port: u32,
}

impl NlMsgHeader {
    /// Parses the header at the start of `bytes`; returns it and the rest.
    #[inline(always)]
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8])> {
        let mut r = Reader::new(bytes);
        let Ok(h) = r.array::<NLMSG_HDRLEN>() else {
            return Err(Error::new(Part::Header, ErrorKind::Truncated));
        };
        let [l0, l1, l2, l3, k0, k1, f0, f1, s0, s1, s2, s3, p0, p1, p2, p3] = h;
        let header = NlMsgHeader {
            len: ne32(l0, l1, l2, l3),
            message_type: ne16(k0, k1),
            flags: ne16(f0, f1),
            seq: ne32(s0, s1, s2, s3),
            port: ne32(p0, p1, p2, p3),
        };
        Ok((header, r.rest()))
    }

    /// The header's 16 bytes in host byte order.
    #[inline(always)]
    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let [l0, l1, l2, l3] = self.len.to_ne_bytes();
        let [k0, k1] = self.message_type.to_ne_bytes();
        let [f0, f1] = self.flags.to_ne_bytes();
        let [s0, s1, s2, s3] = self.seq.to_ne_bytes();
        let [p0, p1, p2, p3] = self.port.to_ne_bytes();
        [
            l0, l1, l2, l3, k0, k1, f0, f1, s0, s1, s2, s3, p0, p1, p2, p3,
        ]
    }
}

/// A checked view of one netlink message: its header and its payload.
///
/// Once built (by [`NlMsg::parse`] or [`Messages`]) it borrows exactly the
/// `nlmsg_len >= 16` bytes of the message, so no accessor can panic. Fields
/// are read from those bytes on access: the view is two words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    bytes: &'a [u8],
}

impl<'a> NlMsg<'a> {
    /// Parses the message at the start of `bytes`. Returns it and the number
    /// of bytes it occupies including the alignment padding that follows it
    /// (capped at `bytes.len()`: the last message's padding may be missing).
    #[inline(always)]
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, usize)> {
        // The length field alone, then the size: cheaper on the walk of a
        // dump than one peek at the whole header.
        let mut r = Reader::new(bytes);
        let Ok([l0, l1, l2, l3]) = r.peek::<4>() else {
            return Err(Error::new(Part::Header, ErrorKind::Truncated));
        };
        let len = ne32(l0, l1, l2, l3) as usize;
        if r.remaining() < NLMSG_HDRLEN {
            return Err(Error::new(Part::Header, ErrorKind::Truncated));
        }
        if len < NLMSG_HDRLEN {
            return Err(Error::new(Part::Header, ErrorKind::BadLength));
        }
        let Ok(msg) = r.take(len) else {
            return Err(Error::new(Part::Header, ErrorKind::Truncated));
        };
        Ok((NlMsg { bytes: msg }, align(len).min(bytes.len())))
    }

    #[inline(always)]
    fn field<const N: usize>(&self, at: usize) -> [u8; N] {
        self.bytes
            .get(at..)
            .and_then(|b| b.first_chunk::<N>())
            .copied()
            .unwrap_or([0; N])
    }

    /// The header.
    #[inline]
    pub fn header(&self) -> NlMsgHeader {
        NlMsgHeader::parse(self.bytes)
            .map(|(h, _)| h)
            .unwrap_or_default()
    }

    /// `nlmsg_len`.
    #[inline]
    pub fn len(&self) -> u32 {
        self.bytes.len() as u32
    }

    /// Never true: a message has at least its header. (For symmetry with
    /// [`NlMsg::len`].)
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// `nlmsg_type`.
    #[inline]
    pub fn message_type(&self) -> u16 {
        u16::from_ne_bytes(self.field(4))
    }

    /// `nlmsg_flags`.
    #[inline]
    pub fn flags(&self) -> u16 {
        u16::from_ne_bytes(self.field(6))
    }

    /// `nlmsg_seq`.
    #[inline]
    pub fn seq(&self) -> u32 {
        u32::from_ne_bytes(self.field(8))
    }

    /// `nlmsg_pid`.
    #[inline]
    pub fn port(&self) -> u32 {
        u32::from_ne_bytes(self.field(12))
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(NLMSG_HDRLEN..).unwrap_or_default()
    }

    /// The whole message, header included.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The address family: the first payload byte of every rtnetlink
    /// message, and all that some GET requests carry (iproute2 and glibc send
    /// 1- or 4-byte bodies). `None` for an empty payload.
    #[inline]
    pub fn family(&self) -> Option<u8> {
        self.payload().first().copied()
    }

    /// True for `NLMSG_ERROR` and `NLMSG_DONE` and other control types.
    #[inline]
    pub fn is_control(&self) -> bool {
        self.message_type() < super::consts::NLMSG_MIN_TYPE
    }

    /// True for the end of a reply: `NLMSG_DONE` or `NLMSG_ERROR`.
    #[inline]
    pub fn ends_reply(&self) -> bool {
        matches!(self.message_type(), NLMSG_DONE | NLMSG_ERROR)
    }

    /// The typed view of this message, chosen by its type.
    #[inline(always)]
    pub fn typed(&self) -> Result<Message<'a>> {
        Message::parse(self)
    }
}

/// Iterates over the messages of one datagram.
///
/// A message whose length field is below 16 or beyond the datagram yields one
/// error and ends the iteration. Zero bytes after the last message (padding,
/// as iproute2 sends its requests) end it without an error.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: Reader<'a>,
}

impl<'a> Messages<'a> {
    /// The messages of `datagram`.
    #[inline]
    pub fn new(datagram: &'a [u8]) -> Self {
        Messages {
            rest: Reader::new(datagram),
        }
    }

    /// The bytes not yet iterated.
    #[inline]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest.rest()
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match NlMsg::parse(self.rest.rest()) {
            Ok((msg, used)) => {
                self.rest.skip_up_to(used);
                Some(Ok(msg))
            }
            Err(e) => {
                if all_zero(self.rest.take_rest()) {
                    None
                } else {
                    Some(Err(e))
                }
            }
        }
    }
}

impl core::iter::FusedIterator for Messages<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::consts::*;

    /// RTM_GETLINK dump request as iproute2 sends it: a 1-byte family body,
    /// in a 32-byte datagram padded with zeros.
    fn getlink_padded() -> [u8; 32] {
        let mut d = [0u8; 32];
        d[..4].copy_from_slice(&17u32.to_ne_bytes()); // nlmsg_len 16 + 1
        d[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes()); // nlmsg_type
        d[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes()); // flags
        d[8..12].copy_from_slice(&7u32.to_ne_bytes()); // seq
        d[12..16].copy_from_slice(&0u32.to_ne_bytes()); // port
        d[16] = AF_PACKET; // rtgenmsg.rtgen_family
        d
    }

    #[test]
    fn deconstruct_header() {
        let d = getlink_padded();
        let (h, rest) = NlMsgHeader::parse(&d).unwrap();
        assert_eq!(h.len, 17);
        assert_eq!(h.message_type, RTM_GETLINK);
        assert_eq!(h.flags, NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(h.seq, 7);
        assert_eq!(h.port, 0);
        assert_eq!(rest.len(), 16);
        assert_eq!(&h.to_bytes()[..], &d[..16]);
    }

    #[test]
    fn padded_datagram_yields_one_message() {
        let d = getlink_padded();
        let msgs: Vec<_> = Messages::new(&d).collect();
        assert_eq!(msgs.len(), 1);
        let m = msgs[0].unwrap();
        assert_eq!(m.payload(), &[AF_PACKET]);
        assert_eq!(m.family(), Some(AF_PACKET));
        assert!(!m.is_control());
    }

    #[test]
    fn bad_lengths_end_with_one_error() {
        let mut d = getlink_padded();
        d[..4].copy_from_slice(&8u32.to_ne_bytes()); // below the header size
        let mut it = Messages::new(&d);
        assert_eq!(
            it.next(),
            Some(Err(Error::new(Part::Header, ErrorKind::BadLength)))
        );
        assert_eq!(it.next(), None);

        d[..4].copy_from_slice(&64u32.to_ne_bytes()); // beyond the datagram
        let mut it = Messages::new(&d);
        assert_eq!(
            it.next(),
            Some(Err(Error::new(Part::Header, ErrorKind::Truncated)))
        );
        assert_eq!(it.next(), None);
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let d = getlink_padded();
        let mut v = d.to_vec();
        v.extend_from_slice(&[0, 0, 1]);
        let r: Vec<_> = Messages::new(&v).collect();
        assert_eq!(r.len(), 2);
        assert!(r[1].is_err());
    }

    #[test]
    fn every_truncation_errors_or_ends() {
        let d = getlink_padded();
        for n in 0..17 {
            for m in Messages::new(&d[..n]) {
                assert!(m.is_err(), "prefix {n}");
            }
        }
    }
}
