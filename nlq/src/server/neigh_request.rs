//! Reading a neighbour change as the kernel does (`neigh_add` and
//! `neigh_delete` up to the table lookup): the header, the attribute
//! policy (`nda_policy`, parsed the deprecated way; a delete is parsed
//! without a policy), then the checks in the kernel's order, the link's
//! among them.

use core::net::IpAddr;

use crate::errno::{EAFNOSUPPORT, EINVAL, ENODEV, ENOENT, ERANGE};
use crate::stack::{LinkKey, Stack};
use crate::wire::consts::*;
use crate::wire::{FamilyHeader, HwAddr, IpBytes, NdMsg, NeighRepr, NlMsg};

use super::request::{attrs_at, Checked, Failure};

/// `NDA_MAX` of this kernel (`NDA_NDM_FLAGS_MASK`).
const NDA_MAX: u16 = 17;
/// `MAX_ADDR_LEN`: the longest `NDA_DST` and `NDA_LLADDR` the policy takes.
const MAX_ADDR_LEN: usize = 32;
/// The first type the policy checks strictly (`strict_start_type`).
const STRICT_START: u16 = NDA_NH_ID;
/// `NTF_EXT_MASK`: the extended flags `NDA_FLAGS_EXT` may hold.
const NTF_EXT_MASK: u32 = 0x3;
/// The link-layer address length of every link the stacks have
/// (Ethernet, and `lo`, which has one too).
const ADDR_LEN: usize = 6;

/// What the policy refuses: `ERANGE` with the validator's text and the
/// attribute's offset.
fn refused(errno: i32, offset: usize) -> Failure {
    Failure {
        errno,
        message: Some("Attribute failed policy validation"),
        offset: u32::try_from(offset).ok(),
    }
}

/// The raw attributes a request gives, after `nda_policy`.
#[derive(Default)]
struct Given<'a> {
    dst: Option<&'a [u8]>,
    lladdr: Option<&'a [u8]>,
    protocol: Option<u8>,
    flags_ext: Option<u32>,
}

/// The policy's length check of one attribute: `None` when it passes.
fn policy(kind: u16, len: usize) -> Option<i32> {
    let fixed = match kind {
        NDA_DST | NDA_LLADDR => return (len > MAX_ADDR_LEN).then_some(ERANGE),
        NDA_CACHEINFO => 16,
        NDA_PROBES | NDA_VNI | NDA_IFINDEX | NDA_MASTER | NDA_NH_ID | NDA_FLAGS_EXT => 4,
        NDA_VLAN | NDA_PORT => 2,
        NDA_PROTOCOL => 1,
        _ => return None,
    };
    if len < fixed {
        Some(ERANGE)
    } else if kind >= STRICT_START && len != fixed {
        Some(EINVAL)
    } else {
        None
    }
}

fn header_and_attrs<'a>(msg: &NlMsg<'a>, with_policy: bool) -> Checked<(NdMsg, Given<'a>)> {
    let body = msg.payload();
    let (Some(attrs), Ok((header, _))) = (body.get(NdMsg::LEN..), NdMsg::parse(body)) else {
        return Err(Failure::errno(EINVAL));
    };
    let mut given = Given::default();
    // What does not hold a whole attribute ends the walk (the deprecated
    // parse only warns of it).
    for (at, a) in attrs_at(attrs, NLMSG_HDRLEN + NdMsg::LEN) {
        let Ok(a) = a else { break };
        let v = a.value();
        if with_policy {
            if let Some(e) = policy(a.attr_type(), v.len()) {
                return Err(refused(e, at));
            }
        }
        match a.attr_type() {
            NDA_DST => given.dst = Some(v),
            NDA_LLADDR => given.lladdr = Some(v),
            NDA_PROTOCOL => given.protocol = v.first().copied(),
            NDA_FLAGS_EXT => {
                let ext = v.first_chunk::<4>().map_or(0, |b| u32::from_ne_bytes(*b));
                if with_policy && ext & !NTF_EXT_MASK != 0 {
                    return Err(Failure {
                        errno: EINVAL,
                        message: Some("reserved bit set"),
                        offset: u32::try_from(at).ok(),
                    });
                }
                given.flags_ext = Some(ext);
            }
            _ => {}
        }
    }
    Ok((header, given))
}

/// The checks `neigh_add` and `neigh_delete` share, in their order:
/// an address given, the link (and the length of the link-layer
/// address, for an add), the family, the address's length, a link named.
fn checked<S: Stack>(stack: &S, msg: &NlMsg<'_>, add: bool) -> Checked<NeighRepr> {
    let (header, given) = header_and_attrs(msg, add)?;
    let Some(dst) = given.dst else {
        return Err(Failure::new(EINVAL, "Network address not specified"));
    };
    if header.ifindex != 0 {
        if stack.link(LinkKey::Index(header.ifindex)).is_err() {
            return Err(Failure::errno(ENODEV));
        }
        if add && given.lladdr.is_some_and(|l| l.len() < ADDR_LEN) {
            return Err(Failure::new(EINVAL, "Invalid link address"));
        }
    }
    let key_len = match header.family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Err(Failure::errno(EAFNOSUPPORT)),
    };
    let ip: Option<IpAddr> = dst
        .get(..key_len)
        .and_then(|b| IpBytes::new(b, header.family))
        .map(|b| b.ip());
    let Some(ip) = ip else {
        return Err(Failure::new(EINVAL, "Invalid network address"));
    };
    if header.flags & NTF_PROXY != 0 {
        // No proxy entries are kept: none to delete; adding one is not
        // supported.
        return Err(if add {
            Failure::new(
                crate::errno::EOPNOTSUPP,
                "proxy neighbour entries are not supported",
            )
        } else {
            Failure::errno(ENOENT)
        });
    }
    if header.ifindex == 0 {
        return Err(if add {
            Failure::new(EINVAL, "Device not specified")
        } else {
            Failure::errno(EINVAL)
        });
    }
    Ok(NeighRepr {
        header,
        dst: Some(ip),
        lladdr: given
            .lladdr
            .and_then(|l| l.get(..ADDR_LEN))
            .and_then(HwAddr::try_from_slice),
        protocol: given.protocol,
        flags_ext: given.flags_ext,
        ..NeighRepr::default()
    })
}

/// `RTM_NEWNEIGH`, checked up to the table lookup.
pub(super) fn neigh_add_request<S: Stack>(stack: &S, msg: &NlMsg<'_>) -> Checked<NeighRepr> {
    checked(stack, msg, true)
}

/// `RTM_DELNEIGH`, checked up to the table lookup.
pub(super) fn neigh_del_request<S: Stack>(stack: &S, msg: &NlMsg<'_>) -> Checked<NeighRepr> {
    checked(stack, msg, false)
}

/// What `RTM_GETNEIGH` (not a dump) asks for.
pub(super) struct NeighGet {
    pub family: u8,
    pub ifindex: u32,
    pub proxy: bool,
    pub dst: Option<IpAddr>,
}

/// `neigh_valid_get_req`: the header's fields and flags, the family, and
/// nothing but an address of the family's length.
pub(super) fn neigh_get_request(msg: &NlMsg<'_>) -> Checked<NeighGet> {
    let body = msg.payload();
    let (Some(attrs), Ok((h, _))) = (body.get(NdMsg::LEN..), NdMsg::parse(body)) else {
        return Err(Failure::new(
            EINVAL,
            "Invalid header for neighbor get request",
        ));
    };
    let pads = body.get(1..4).is_some_and(|p| p.iter().any(|b| *b != 0));
    if pads || h.state != 0 || h.address_type != 0 {
        return Err(Failure::new(
            EINVAL,
            "Invalid values in header for neighbor get request",
        ));
    }
    if h.flags & !NTF_PROXY != 0 {
        return Err(Failure::new(
            EINVAL,
            "Invalid flags in header for neighbor get request",
        ));
    }
    // `nlmsg_parse_deprecated_strict`: the policy, exact lengths, no
    // trailing bytes.
    let mut dst = None;
    for (at, a) in attrs_at(attrs, NLMSG_HDRLEN + NdMsg::LEN) {
        match a {
            Err(_) => {
                return Err(Failure::new(
                    EINVAL,
                    "bytes leftover after parsing attributes",
                ))
            }
            Ok(a) => {
                if let Some(e) = policy(a.attr_type(), a.value().len()) {
                    return Err(refused(e, at));
                }
                if a.attr_type() > NDA_MAX {
                    return Err(Failure {
                        errno: EINVAL,
                        message: Some("Unknown attribute type"),
                        offset: u32::try_from(at).ok(),
                    });
                }
                dst = match a.attr_type() {
                    NDA_DST => Some(a.value()),
                    _ => {
                        return Err(Failure::new(
                            EINVAL,
                            "Unsupported attribute in neighbor get request",
                        ))
                    }
                };
            }
        }
    }
    let key_len = match h.family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => {
            return Err(Failure::new(
                EAFNOSUPPORT,
                "Unsupported family in header for neighbor get request",
            ))
        }
    };
    let dst = match dst {
        Some(d) if d.len() != key_len => {
            return Err(Failure::new(
                EINVAL,
                "Invalid network address in neighbor get request",
            ))
        }
        Some(d) => IpBytes::new(d, h.family).map(|b| b.ip()),
        None => None,
    };
    Ok(NeighGet {
        family: h.family,
        ifindex: h.ifindex,
        proxy: h.flags & NTF_PROXY != 0,
        dst,
    })
}

/// `neigh_get` after the request's checks: the link, the address, the
/// entry.
pub(super) fn neigh_get<S: Stack>(stack: &S, q: &NeighGet) -> Checked<NeighRepr> {
    if q.ifindex != 0 && stack.link(LinkKey::Index(q.ifindex)).is_err() {
        return Err(Failure::new(ENODEV, "Unknown device ifindex"));
    }
    let Some(dst) = q.dst else {
        return Err(Failure::new(EINVAL, "Network address not specified"));
    };
    if q.proxy {
        return Err(Failure::new(ENOENT, "Proxy neighbour entry not found"));
    }
    if q.ifindex == 0 {
        return Err(Failure::new(EINVAL, "No device specified"));
    }
    let mut found = None;
    stack
        .neighbours(q.family, 0, &mut |n: &NeighRepr| {
            if n.header.ifindex == q.ifindex && n.dst == Some(dst) {
                found = Some(*n);
                core::ops::ControlFlow::Break(())
            } else {
                core::ops::ControlFlow::Continue(())
            }
        })
        .map_err(Failure::from)?;
    found.ok_or(Failure::new(ENOENT, "Neighbour entry not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::fixture;
    use crate::server::{Datagram, Server};
    use crate::wire::{Message, Messages, Writer};
    use alloc::vec::Vec;

    fn ndmsg(family: u8, ifindex: u32, flags: u8) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0] = family;
        b[4..8].copy_from_slice(&ifindex.to_ne_bytes());
        b[10] = flags;
        b
    }

    /// A request of `kind` with header `h` and attributes `(type, value)`.
    fn request(kind: u16, h: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(kind, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, 7, 0, |w| {
            w.put(h)?;
            for (t, v) in attrs {
                w.attr(*t, v)?;
            }
            Ok(())
        })
        .unwrap();
        w.into_inner()
    }

    /// The errno, text and offset the server answers `req` with.
    fn answer(req: &[u8]) -> (i32, Option<alloc::string::String>, Option<u32>) {
        let mut s = Server::new(fixture());
        let c = s.connect();
        s.set_option(c, crate::server::SockOpt::ExtAck(true))
            .unwrap();
        s.handle_datagram(c, req);
        let d: Datagram = s.next_datagram(c, 32768).unwrap().unwrap();
        let m = Messages::new(&d.bytes).next().unwrap().unwrap();
        let Ok(Message::Error(e)) = m.typed() else {
            panic!("not an answer: {m:?}")
        };
        let ack = e.ext_ack();
        (e.errno(), ack.msg.map(Into::into), ack.offset)
    }

    /// An errno and the text that comes with it.
    type Answer = (i32, Option<alloc::string::String>);

    fn text(e: i32, m: &str) -> Answer {
        (e, Some(m.into()))
    }

    #[test]
    fn an_add_is_checked_in_the_kernels_order() {
        let ten = [10u8, 0, 0, 2];
        let mac = [2u8, 0, 0, 0, 0, 1];
        let v4 = ndmsg(AF_INET, 2, 0);
        let cases: [(Vec<u8>, Answer); 7] = [
            (
                request(RTM_NEWNEIGH, &v4, &[]),
                text(EINVAL, "Network address not specified"),
            ),
            (
                request(RTM_NEWNEIGH, &ndmsg(AF_INET, 999, 0), &[(NDA_DST, &ten)]),
                (ENODEV, None),
            ),
            (
                request(
                    RTM_NEWNEIGH,
                    &v4,
                    &[(NDA_DST, &ten), (NDA_LLADDR, &mac[..2])],
                ),
                text(EINVAL, "Invalid link address"),
            ),
            (
                request(RTM_NEWNEIGH, &ndmsg(7, 2, 0), &[(NDA_DST, &ten)]),
                (EAFNOSUPPORT, None),
            ),
            (
                request(RTM_NEWNEIGH, &v4, &[(NDA_DST, &ten[..2])]),
                text(EINVAL, "Invalid network address"),
            ),
            (
                request(RTM_NEWNEIGH, &ndmsg(AF_INET, 0, 0), &[(NDA_DST, &ten)]),
                text(EINVAL, "Device not specified"),
            ),
            // Checked, then refused by a stack without neighbours.
            (
                request(RTM_NEWNEIGH, &v4, &[(NDA_DST, &ten), (NDA_LLADDR, &mac)]),
                (crate::errno::EOPNOTSUPP, None),
            ),
        ];
        for (req, want) in cases {
            let (e, m, _) = answer(&req);
            assert_eq!((e, m), want);
        }
    }

    #[test]
    fn the_policy_refuses_with_the_attributes_offset() {
        let v4 = ndmsg(AF_INET, 2, 0);
        let (e, m, at) = answer(&request(
            RTM_NEWNEIGH,
            &v4,
            &[(NDA_DST, &[10, 0, 0, 2]), (NDA_PROBES, &[1, 2])],
        ));
        assert_eq!(
            (e, m.as_deref(), at),
            (ERANGE, Some("Attribute failed policy validation"), Some(36))
        );
        let (e, _, at) = answer(&request(RTM_NEWNEIGH, &v4, &[(NDA_DST, &[0; 40])]));
        assert_eq!((e, at), (ERANGE, Some(28)));
        // A delete takes no policy: a short NDA_PROBES passes.
        let (e, m, _) = answer(&request(
            RTM_DELNEIGH,
            &v4,
            &[(NDA_DST, &[10, 0, 0, 2]), (NDA_PROBES, &[1])],
        ));
        assert_eq!((e, m), (crate::errno::EOPNOTSUPP, None));
    }

    #[test]
    fn a_get_is_checked_as_neigh_valid_get_req() {
        let dst = (NDA_DST, &[10u8, 0, 0, 2][..]);
        let mut padded = ndmsg(AF_INET, 2, 0);
        padded[1] = 1;
        let cases = [
            (
                request(RTM_GETNEIGH, &[2, 0, 0, 0], &[]),
                text(EINVAL, "Invalid header for neighbor get request"),
            ),
            (
                request(RTM_GETNEIGH, &padded, &[dst]),
                text(EINVAL, "Invalid values in header for neighbor get request"),
            ),
            (
                request(RTM_GETNEIGH, &ndmsg(AF_INET, 2, NTF_ROUTER), &[dst]),
                text(EINVAL, "Invalid flags in header for neighbor get request"),
            ),
            (
                request(RTM_GETNEIGH, &ndmsg(7, 2, 0), &[dst]),
                text(
                    EAFNOSUPPORT,
                    "Unsupported family in header for neighbor get request",
                ),
            ),
            (
                request(
                    RTM_GETNEIGH,
                    &ndmsg(AF_INET, 2, 0),
                    &[dst, (NDA_PROBES, &[0; 4])],
                ),
                text(EINVAL, "Unsupported attribute in neighbor get request"),
            ),
            (
                request(
                    RTM_GETNEIGH,
                    &ndmsg(AF_INET, 2, 0),
                    &[(NDA_DST, &[10, 0, 0])],
                ),
                text(EINVAL, "Invalid network address in neighbor get request"),
            ),
            (
                request(RTM_GETNEIGH, &ndmsg(AF_INET, 99, 0), &[dst]),
                text(ENODEV, "Unknown device ifindex"),
            ),
            (
                request(RTM_GETNEIGH, &ndmsg(AF_INET, 2, 0), &[]),
                text(EINVAL, "Network address not specified"),
            ),
            (
                request(RTM_GETNEIGH, &ndmsg(AF_INET, 0, 0), &[dst]),
                text(EINVAL, "No device specified"),
            ),
            // Checked, then asked of a stack without neighbours.
            (
                request(RTM_GETNEIGH, &ndmsg(AF_INET, 2, 0), &[dst]),
                (crate::errno::EOPNOTSUPP, None),
            ),
        ];
        for (req, want) in cases {
            let (e, m, _) = answer(&req);
            assert_eq!((e, m), want);
        }
    }

    /// Every prefix of a request, with its length fixed up, gets an answer
    /// (an error or an acknowledgement), never a panic.
    #[test]
    fn truncated_requests_are_answered() {
        let v4 = ndmsg(AF_INET, 2, 0);
        for kind in [RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH] {
            let full = request(
                kind,
                &v4,
                &[
                    (NDA_DST, &[10, 0, 0, 2]),
                    (NDA_LLADDR, &[2, 0, 0, 0, 0, 1]),
                    (NDA_PROBES, &[0; 4]),
                ],
            );
            for len in NLMSG_HDRLEN..full.len() {
                let mut cut = full[..len].to_vec();
                cut[..4].copy_from_slice(&(len as u32).to_ne_bytes());
                // An error or an acknowledgement, whatever the cut.
                let (e, _, _) = answer(&cut);
                assert!(e >= 0, "{kind} cut at {len}: {e}");
            }
        }
    }
}
