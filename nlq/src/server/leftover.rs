//! Bytes left over after a request's attributes (`nlmsg_parse_deprecated`).
//!
//! The kernel reads the attributes of a link, address, route, neighbour
//! or rule change up to the first that does not fit in what is left of the
//! message (shorter than an attribute header, or longer than the rest),
//! handles the request with those, and says so in its answer, success or
//! not: "bytes leftover after parsing attributes" (unless the handler set
//! a text of its own). Traced on the kernel: a route whose last attribute
//! claims more bytes than the message has is added, its ACK carrying the
//! text; two stray bytes after the attributes, the same; a first attribute
//! that overflows leaves the route without a device (`ENODEV`, with the
//! text).

use alloc::vec::Vec;

use crate::wire::consts::*;
use crate::wire::{Attrs, NlMsg};

/// The extended-ACK text for bytes left over.
pub(crate) const LEFTOVER: &str = "bytes leftover after parsing attributes";

/// The family header of a request the kernel parses leniently; `None` for
/// the others. Changes always; the GET of one link, route or IPv6
/// address on a socket without strict checking (`NETLINK_GET_STRICT_CHK`);
/// never dumps (their attributes are read without an answer), nexthops,
/// or a GET the family has no handler for.
fn family_header(msg: &NlMsg<'_>, strict: bool) -> Option<usize> {
    let get = !strict && msg.flags() & NLM_F_DUMP == 0;
    let family = msg.family();
    let inet = matches!(family, Some(AF_INET | AF_INET6));
    match msg.message_type() {
        RTM_NEWLINK | RTM_DELLINK | RTM_SETLINK => Some(IFINFOMSG_LEN),
        RTM_NEWADDR | RTM_DELADDR => Some(IFADDRMSG_LEN),
        RTM_NEWROUTE | RTM_DELROUTE => Some(RTMSG_LEN),
        RTM_NEWNEIGH | RTM_DELNEIGH => Some(NDMSG_LEN),
        RTM_NEWRULE | RTM_DELRULE => Some(FIB_RULE_HDR_LEN),
        RTM_GETLINK if get => Some(IFINFOMSG_LEN),
        RTM_GETROUTE if get && inet => Some(RTMSG_LEN),
        RTM_GETADDR if get && family == Some(AF_INET6) => Some(IFADDRMSG_LEN),
        _ => None,
    }
}

/// How many bytes of `attrs` the kernel's walk takes (`nla_ok`,
/// `nla_next`): the codec's walk, up to the first item that is no whole
/// attribute (stray bytes it would take for padding included); the last
/// attribute's padding may be missing.
fn attributes_taken(attrs: &[u8]) -> usize {
    let mut walk = Attrs::new(attrs);
    let mut taken = 0;
    while let Some(Ok(_)) = walk.next() {
        taken = attrs.len().saturating_sub(walk.remaining().len());
    }
    taken
}

/// `msg` cut after its last attribute that fits, its length field
/// rewritten, when bytes are left over after it; `None` when none are (or
/// the kernel parses such a request strictly, or its family header is not
/// all there: the handlers answer that). `strict`: the socket asked for
/// strict checking.
pub(crate) fn trimmed(msg: &NlMsg<'_>, strict: bool) -> Option<Vec<u8>> {
    let header = family_header(msg, strict)?;
    let attrs = msg.payload().get(header..)?;
    let taken = attributes_taken(attrs);
    if taken == attrs.len() {
        return None;
    }
    let keep = NLMSG_HDRLEN.checked_add(header)?.checked_add(taken)?;
    let mut bytes = msg.as_bytes().get(..keep)?.to_vec();
    let len = u32::try_from(keep).ok()?;
    bytes.get_mut(..4)?.copy_from_slice(&len.to_ne_bytes());
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A route request: its header, then `attrs` as given.
    fn route(attrs: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HDRLEN + RTMSG_LEN + attrs.len()) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&RTM_NEWROUTE.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&[AF_INET, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0]);
        m.extend_from_slice(attrs);
        m
    }

    fn cut(bytes: &[u8]) -> Option<Vec<u8>> {
        let (msg, _) = NlMsg::parse(bytes).unwrap();
        trimmed(&msg, false)
    }

    const DST: [u8; 8] = [8, 0, 1, 0, 10, 5, 0, 0];
    const OIF: [u8; 8] = [8, 0, 4, 0, 1, 0, 0, 0];

    #[test]
    fn a_well_formed_request_is_left_alone() {
        assert_eq!(cut(&route(&[DST, OIF].concat())), None);
        assert_eq!(cut(&route(&[])), None);
        // The last attribute's padding may be missing.
        assert_eq!(cut(&route(&[&DST[..], &[5, 0, 7, 0, 1]].concat())), None);
    }

    #[test]
    fn the_attributes_that_fit_are_kept_and_the_rest_cut() {
        let whole = [DST, OIF].concat();
        let kept = route(&whole);
        let len = kept.len() as u32;
        for tail in [
            // Longer than the rest, shorter than a header, two stray bytes.
            &[12u8, 0, 6, 0, 0, 0, 0, 0][..],
            &[2, 0, 1, 0][..],
            &[0, 0][..],
        ] {
            let got = cut(&route(&[&whole[..], tail].concat())).expect("cut");
            assert_eq!(got, kept);
            assert_eq!(got[..4], len.to_ne_bytes());
        }
        // A first attribute that overflows: none is kept.
        let got = cut(&route(&[&[40u8, 0, 1, 0][..], &DST[4..], &OIF].concat()));
        assert_eq!(got, Some(route(&[])));
    }

    #[test]
    fn strict_and_short_requests_are_not_cut() {
        // A route GET: cut on a socket without strict checking only, and
        // never a dump.
        let mut get = route(&[0, 0]);
        get[4..6].copy_from_slice(&RTM_GETROUTE.to_ne_bytes());
        assert_eq!(
            cut(&get),
            Some(route(&[])).map(|mut r| {
                r[4..6].copy_from_slice(&RTM_GETROUTE.to_ne_bytes());
                r
            })
        );
        let (msg, _) = NlMsg::parse(&get).unwrap();
        assert_eq!(trimmed(&msg, true), None);
        get[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        assert_eq!(cut(&get), None);
        // A nexthop request: strict always.
        let mut nh = route(&[0, 0]);
        nh[4..6].copy_from_slice(&RTM_NEWNEXTHOP.to_ne_bytes());
        assert_eq!(cut(&nh), None);
        // A family header cut short: the handler answers it.
        let mut short = vec![20u8, 0, 0, 0];
        short.extend_from_slice(&RTM_NEWROUTE.to_ne_bytes());
        short.extend_from_slice(&[0; 10]);
        short.extend_from_slice(&[2, 0, 0, 0]);
        assert_eq!(cut(&short), None);
    }
}
