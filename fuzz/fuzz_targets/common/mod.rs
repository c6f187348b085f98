//! Helpers shared by the repr fuzz targets (not a target itself).
#![allow(dead_code)]

use core::fmt::Debug;

use nlq::wire::consts::{
    RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWNETCONF, RTM_NEWNEXTHOP, RTM_NEWNSID,
    RTM_NEWROUTE, RTM_NEWRULE,
};
use nlq::wire::{
    AddrRepr, LinkRepr, Message, Messages, NeighRepr, NetconfRepr, NexthopRepr, NsidRepr, Result,
    RouteRepr, RuleRepr, Writer,
};

/// The owned reprs, uniformly.
pub trait Repr: Sized + PartialEq + Debug {
    /// The `RTM_NEW*` type a message carrying it has.
    const NEW: u16;
    /// `XRepr::parse_payload`.
    fn parse_payload(payload: &[u8]) -> Result<Self>;
    /// `XRepr::emit`.
    fn emit(&self, w: &mut Writer<Vec<u8>>) -> Result<()>;
    /// `XRepr::parse` of the family view of `m`; `None` if `m` is of another
    /// family.
    fn parse_typed(m: &Message<'_>) -> Option<Result<Self>>;
}

macro_rules! repr {
    ($t:ty, $new:expr, $variant:ident) => {
        impl Repr for $t {
            const NEW: u16 = $new;
            fn parse_payload(payload: &[u8]) -> Result<Self> {
                <$t>::parse_payload(payload)
            }
            fn emit(&self, w: &mut Writer<Vec<u8>>) -> Result<()> {
                <$t>::emit(self, w)
            }
            fn parse_typed(m: &Message<'_>) -> Option<Result<Self>> {
                match m {
                    Message::$variant(v) => Some(<$t>::parse(v)),
                    _ => None,
                }
            }
        }
    };
}

repr!(LinkRepr, RTM_NEWLINK, Link);
repr!(AddrRepr, RTM_NEWADDR, Addr);
repr!(RouteRepr, RTM_NEWROUTE, Route);
repr!(NeighRepr, RTM_NEWNEIGH, Neigh);
repr!(RuleRepr, RTM_NEWRULE, Rule);
repr!(NexthopRepr, RTM_NEWNEXTHOP, Nexthop);
repr!(NetconfRepr, RTM_NEWNETCONF, Netconf);
repr!(NsidRepr, RTM_NEWNSID, Nsid);

/// Emits `r` as the body of one `RTM_NEW*` message into a `Vec`; the writer
/// has no capacity limit, so emitting must succeed.
pub fn emit<R: Repr>(r: &R) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    let len = w
        .message(R::NEW, 0, 1, 0, |w| r.emit(w))
        .unwrap_or_else(|e| panic!("emit failed: {e} ({e:?}) for {r:?}"));
    let buf = w.into_inner();
    assert_eq!(len, buf.len(), "message length is not the bytes written");
    assert_eq!(len % 4, 0, "message not padded to 4 bytes");
    buf
}

/// Parses the single message of `datagram` (as `emit` made it) back into a
/// repr, through `Messages` and `typed()`; also checks that `parse_payload`
/// of its payload agrees.
pub fn reparse<R: Repr>(datagram: &[u8]) -> Result<R> {
    let mut msgs = Messages::new(datagram);
    let msg = msgs
        .next()
        .expect("emitted datagram has no message")
        .unwrap_or_else(|e| panic!("emitted message does not frame: {e:?}"));
    assert!(
        msgs.next().is_none(),
        "emitted datagram has more than one message"
    );
    assert_eq!(msg.message_type(), R::NEW);
    let typed = msg
        .typed()
        .unwrap_or_else(|e| panic!("emitted message does not type: {e:?}"));
    let r = R::parse_typed(&typed).expect("emitted message typed as another family");
    assert_eq!(
        r,
        R::parse_payload(msg.payload()),
        "parse and parse_payload disagree"
    );
    r
}

/// The payload round trip: if `payload` parses, `parse(emit(parse(payload)))`
/// must succeed and equal `parse(payload)`, and emitting that again must give
/// the same bytes.
pub fn payload_round_trip<R: Repr>(payload: &[u8]) {
    let Ok(first) = R::parse_payload(payload) else {
        return;
    };
    let bytes = emit(&first);
    let second: R = reparse(&bytes)
        .unwrap_or_else(|e| panic!("re-parse of an emitted repr failed: {e:?}\nrepr {first:?}"));
    assert_eq!(second, first, "round trip changed the repr");
    assert_eq!(
        emit(&second),
        bytes,
        "emit is not stable across a round trip"
    );
}
