//! Control messages: `NLMSG_ERROR` (errors and ACKs, with extended-ACK
//! TLVs), `NLMSG_DONE`, `NLMSG_NOOP`, `NLMSG_OVERRUN`.

use super::attr::Attrs;
use super::consts::*;
use super::nlmsg::{NlMsg, NlMsgHeader};
use super::parse::align;
use super::writer::{Buffer, Writer};
use super::{Error, ErrorKind, Part, Reader, Result};

/// The extended-ACK attributes of an error or a `DONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtAck<'a> {
    /// `NLMSGERR_ATTR_MSG`: the human-readable reason.
    pub msg: Option<&'a str>,
    /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
    pub offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: the missing attribute's type.
    pub missing_type: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest missing it.
    pub missing_nest: Option<u32>,
    /// `NLMSGERR_ATTR_COOKIE`.
    pub cookie: Option<&'a [u8]>,
}

impl<'a> ExtAck<'a> {
    /// Reads the TLVs; unknown ones are skipped, malformed ones are errors.
    pub fn parse(tlvs: &'a [u8]) -> Result<Self> {
        let mut e = ExtAck::default();
        for a in Attrs::new(tlvs) {
            let a = a?;
            match a.attr_type() {
                NLMSGERR_ATTR_MSG => e.msg = Some(a.str()?),
                NLMSGERR_ATTR_OFFS => e.offset = Some(a.u32()?),
                NLMSGERR_ATTR_MISS_TYPE => e.missing_type = Some(a.u32()?),
                NLMSGERR_ATTR_MISS_NEST => e.missing_nest = Some(a.u32()?),
                NLMSGERR_ATTR_COOKIE => e.cookie = Some(a.value()),
                _ => {}
            }
        }
        Ok(e)
    }

    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        if let Some(m) = self.msg {
            w.attr_str(NLMSGERR_ATTR_MSG, m)?;
        }
        if let Some(o) = self.offset {
            w.attr_u32(NLMSGERR_ATTR_OFFS, o)?;
        }
        if let Some(c) = self.cookie {
            w.attr(NLMSGERR_ATTR_COOKIE, c)?;
        }
        if let Some(t) = self.missing_type {
            w.attr_u32(NLMSGERR_ATTR_MISS_TYPE, t)?;
        }
        if let Some(n) = self.missing_nest {
            w.attr_u32(NLMSGERR_ATTR_MISS_NEST, n)?;
        }
        Ok(())
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == ExtAck::default()
    }
}

/// `NLMSG_ERROR`: an error (negative errno) or, with 0, an ACK.
///
/// A view: everything is checked when it is built, and read on access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    /// The payload: `error`, the echoed request, the TLVs.
    payload: &'a [u8],
    /// The echoed request's payload length (0 when capped).
    echoed: u32,
    /// Where the TLVs start in `payload` (its length when there are none).
    tlvs: u32,
}

impl<'a> ErrorMessage<'a> {
    /// Parses the payload of an `NLMSG_ERROR` whose header flags are `flags`.
    ///
    /// Without `NLM_F_CAPPED` the request is echoed whole; a payload holding
    /// exactly the request's header is accepted as capped too (older and
    /// user-space servers send that).
    pub fn parse(payload: &'a [u8], flags: u16) -> Result<Self> {
        let e = |k| Error::new(Part::Body, k);
        let truncated = e(ErrorKind::Truncated);
        let mut r = Reader::new(payload);
        // The error code, read on access.
        r.i32().map_err(|_| truncated)?;
        let echo = r.take(NLMSG_HDRLEN).map_err(|_| truncated)?;
        let (request, _) = NlMsgHeader::parse(echo).map_err(|_| truncated)?;
        let echoed = if flags & NLM_F_CAPPED != 0 || r.is_empty() {
            0
        } else {
            (request.len as usize)
                .checked_sub(NLMSG_HDRLEN)
                .ok_or(e(ErrorKind::BadLength))?
        };
        r.skip(echoed).map_err(|_| truncated)?;
        let tlvs = if flags & NLM_F_ACK_TLVS != 0 {
            let start = align(4usize.saturating_add(NLMSG_HDRLEN).saturating_add(echoed));
            ExtAck::parse(payload.get(start..).unwrap_or_default())?;
            start.min(payload.len())
        } else {
            payload.len()
        };
        let too_long = |_| e(ErrorKind::TooLong);
        Ok(ErrorMessage {
            payload,
            echoed: u32::try_from(echoed).map_err(too_long)?,
            tlvs: u32::try_from(tlvs).map_err(too_long)?,
        })
    }

    /// `error`: 0 for an ACK, else a negative errno.
    pub fn error(&self) -> i32 {
        Reader::new(self.payload).i32().unwrap_or(0)
    }

    /// The header of the request this answers.
    pub fn request(&self) -> NlMsgHeader {
        let echo = self.payload.get(4..).unwrap_or_default();
        NlMsgHeader::parse(echo).map(|(h, _)| h).unwrap_or_default()
    }

    /// The request's payload when echoed (empty when capped).
    pub fn request_payload(&self) -> &'a [u8] {
        let start = 4 + NLMSG_HDRLEN;
        let end = start.saturating_add(self.echoed as usize);
        self.payload.get(start..end).unwrap_or_default()
    }

    /// The extended-ACK attributes (empty without `NLM_F_ACK_TLVS`).
    pub fn ext_ack(&self) -> ExtAck<'a> {
        let tlvs = self.payload.get(self.tlvs as usize..).unwrap_or_default();
        ExtAck::parse(tlvs).unwrap_or_default()
    }

    /// True for an ACK (error 0).
    pub fn is_ack(&self) -> bool {
        self.error() == 0
    }

    /// The positive errno (0 for an ACK).
    pub fn errno(&self) -> i32 {
        self.error().checked_neg().unwrap_or(i32::MAX).max(0)
    }
}

/// Appends an `NLMSG_ERROR` answering `request` (its whole bytes) the way the
/// kernel does: `errno` (positive, 0 for an ACK); the request echoed whole on
/// errors unless `cap` (then `NLM_F_CAPPED`, as for every ACK); `ext_ack`
/// TLVs with `NLM_F_ACK_TLVS` when not empty. The reply goes to `port`.
pub fn emit_error<B: Buffer>(
    w: &mut Writer<B>,
    request: &NlMsg<'_>,
    errno: i32,
    cap: bool,
    ext_ack: &ExtAck<'_>,
    port: u32,
) -> Result<usize> {
    let capped = cap || errno == 0;
    let mut flags = if capped { NLM_F_CAPPED } else { 0 };
    if !ext_ack.is_empty() {
        flags |= NLM_F_ACK_TLVS;
    }
    let h = request.header();
    w.message(NLMSG_ERROR, flags, h.seq, port, |w| {
        w.put(&errno.wrapping_neg().to_ne_bytes())?;
        w.put(&h.to_bytes())?;
        if !capped {
            w.put(request.payload())?;
        }
        ext_ack.emit(w)
    })
}

/// `NLMSG_DONE`: the end of a dump, with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneMessage<'a> {
    /// 0, or a negative errno when the dump failed.
    pub error: i32,
    /// The extended-ACK TLVs (empty without `NLM_F_ACK_TLVS`).
    tlvs: &'a [u8],
}

impl<'a> DoneMessage<'a> {
    /// Parses the payload of an `NLMSG_DONE`; an empty one reads as 0.
    pub fn parse(payload: &'a [u8], flags: u16) -> Result<Self> {
        if payload.is_empty() {
            return Ok(DoneMessage {
                error: 0,
                tlvs: &[],
            });
        }
        let mut r = Reader::new(payload);
        let error = r
            .i32()
            .map_err(|_| Error::new(Part::Body, ErrorKind::Truncated))?;
        let rest = r.rest();
        let tlvs = if flags & NLM_F_ACK_TLVS != 0 {
            ExtAck::parse(rest)?;
            rest
        } else {
            &[]
        };
        Ok(DoneMessage { error, tlvs })
    }

    /// The extended-ACK attributes.
    pub fn ext_ack(&self) -> ExtAck<'a> {
        ExtAck::parse(self.tlvs).unwrap_or_default()
    }
}

/// Appends an `NLMSG_DONE` (`NLM_F_MULTI`) with status `error` (0 or a
/// negative errno).
pub fn emit_done<B: Buffer>(w: &mut Writer<B>, seq: u32, port: u32, error: i32) -> Result<usize> {
    w.message(NLMSG_DONE, NLM_F_MULTI, seq, port, |w| {
        w.put(&error.to_ne_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Message, Messages};

    /// An EEXIST error for a capped 40-byte RTM_NEWADDR, with an extended ACK.
    #[rustfmt::skip]
    const EEXIST: [u8; 48] = [
        48, 0, 0, 0,   2, 0,   0, 0x03,   1, 0, 0, 0,   0, 0, 0, 0, // nlmsghdr: NLMSG_ERROR, CAPPED|ACK_TLVS
        0xef, 0xff, 0xff, 0xff,                                     // error -17 (EEXIST)
        40, 0, 0, 0,   20, 0,   0x05, 0x06,   1, 0, 0, 0,   0x39, 0x30, 0, 0, // echoed request header
        12, 0, 1, 0,   b'e', b'x', b'i', b's', b't', b's', 0, 0,    // NLMSGERR_ATTR_MSG "exists"
    ];

    #[test]
    fn deconstruct_error_with_ext_ack() {
        let msg = Messages::new(&EEXIST).next().unwrap().unwrap();
        let Message::Error(e) = msg.typed().unwrap() else {
            panic!()
        };
        assert_eq!(e.error(), -17);
        assert_eq!(e.errno(), 17);
        assert!(!e.is_ack());
        assert_eq!(e.request().message_type, RTM_NEWADDR);
        assert_eq!(e.request().port, 12345);
        assert_eq!(e.request_payload(), &[] as &[u8]);
        assert_eq!(e.ext_ack().msg, Some("exists"));
    }

    #[test]
    fn emit_like_the_kernel() {
        let req: [u8; 20] = {
            let mut r = [0u8; 20];
            r[..16].copy_from_slice(
                &NlMsgHeader {
                    len: 20,
                    message_type: RTM_GETLINK,
                    flags: 5,
                    seq: 9,
                    port: 77,
                }
                .to_bytes(),
            );
            r[16] = AF_INET;
            r
        };
        let (reqmsg, _) = NlMsg::parse(&req).unwrap();
        let mut w = Writer::new(Vec::new());
        // An ACK is always capped.
        emit_error(&mut w, &reqmsg, 0, false, &ExtAck::default(), 77).unwrap();
        // An error echoes the request and carries the message.
        let ext = ExtAck {
            msg: Some("no such device"),
            offset: Some(16),
            ..ExtAck::default()
        };
        emit_error(&mut w, &reqmsg, 19, false, &ext, 77).unwrap();
        emit_done(&mut w, 9, 77, 0).unwrap();
        let msgs: Vec<_> = Messages::new(w.buffer()).map(|m| m.unwrap()).collect();
        assert_eq!(msgs[0].flags(), NLM_F_CAPPED);
        assert_eq!(msgs[0].header().len, 36);
        let Message::Error(ack) = msgs[0].typed().unwrap() else {
            panic!()
        };
        assert!(ack.is_ack());
        let Message::Error(err) = msgs[1].typed().unwrap() else {
            panic!()
        };
        assert_eq!(err.error(), -19);
        assert_eq!(err.request_payload(), &[AF_INET, 0, 0, 0]);
        assert_eq!(err.ext_ack(), ext);
        assert_eq!(msgs[1].seq(), 9);
        let Message::Done(d) = msgs[2].typed().unwrap() else {
            panic!()
        };
        assert_eq!(d.error, 0);
    }

    #[test]
    fn truncated_error_payloads() {
        for n in 0..20 {
            assert!(ErrorMessage::parse(&EEXIST[16..16 + n], 0).is_err(), "{n}");
        }
        // Not capped, yet the echoed request claims 40 bytes with only 20 here.
        let mut b = EEXIST;
        b[6] = 0;
        b[7] = 0;
        let msg = NlMsg::parse(&b).unwrap().0;
        assert_eq!(
            ErrorMessage::parse(msg.payload(), 0),
            Err(Error::new(Part::Body, ErrorKind::Truncated))
        );
    }
}
