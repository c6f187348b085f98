//! Link statistics by group (`RTM_GETSTATS`, `ip stats show`): the
//! request's checks and texts (`rtnl_valid_stats_req`,
//! `rtnl_stats_get_parse`), and each link's answer
//! (`rtnl_fill_statsinfo`): its 64-bit counters, a bridge's multicast
//! counters, the offload information, and the per-family part.

use core::ops::ControlFlow;

use crate::errno::EINVAL;
use crate::stack::{Cursor, LinkKey, Stack, StackResult};
use crate::wire::consts::AF_UNSPEC;
use crate::wire::{LinkRepr, NlMsg, Writer};

use super::request::{attrs_at, Checked, Failure};

/// `IFLA_STATS_LINK_64`: `struct rtnl_link_stats64`.
const IFLA_STATS_LINK_64: u16 = 1;
/// `IFLA_STATS_LINK_XSTATS`: the kind's own counters.
const IFLA_STATS_LINK_XSTATS: u16 = 2;
/// `IFLA_STATS_LINK_OFFLOAD_XSTATS`.
const IFLA_STATS_LINK_OFFLOAD_XSTATS: u16 = 4;
/// `IFLA_STATS_AF_SPEC`.
const IFLA_STATS_AF_SPEC: u16 = 5;
/// `IFLA_STATS_MAX`: masks with bits beyond it are refused (strictly).
const IFLA_STATS_MAX: u16 = 5;
/// `IFLA_STATS_GET_FILTERS`: per-group masks.
const IFLA_STATS_GET_FILTERS: u16 = 1;
/// `LINK_XSTATS_TYPE_BRIDGE`.
const LINK_XSTATS_TYPE_BRIDGE: u16 = 1;
/// `BRIDGE_XSTATS_MCAST`: `struct br_mcast_stats`, 240 bytes.
const BRIDGE_XSTATS_MCAST: u16 = 2;
const BR_MCAST_STATS_LEN: usize = 240;
/// `IFLA_OFFLOAD_XSTATS_HW_S_INFO` and its `IFLA_OFFLOAD_XSTATS_L3_STATS`
/// with `..._HW_S_INFO_REQUEST` and `..._USED` (both off).
const IFLA_OFFLOAD_XSTATS_HW_S_INFO: u16 = 2;
const IFLA_OFFLOAD_XSTATS_L3_STATS: u16 = 3;
const HW_S_INFO_REQUEST: u16 = 1;
const HW_S_INFO_USED: u16 = 2;
/// `NLA_F_NESTED`.
const NESTED: u16 = 0x8000;

/// The bit of a group in a filter mask (`IFLA_STATS_FILTER_BIT`).
const fn bit(attr: u16) -> u32 {
    1u32.wrapping_shl(attr.saturating_sub(1) as u32)
}

/// What a request asks for: the groups, and which offload parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatsFilter {
    mask: u32,
    offload: u32,
}

/// The request's header: `(ifindex, filter_mask)`, checked.
fn header(msg: &NlMsg<'_>, strict: bool, dump: bool) -> Checked<(u32, u32)> {
    let p = msg.payload();
    let Some(h) = p.get(..12) else {
        return Err(Failure::new(EINVAL, "Invalid header for stats dump"));
    };
    let u32_at = |i: usize| {
        h.get(i..i.saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_ne_bytes)
    };
    let (ifindex, mask) = (u32_at(4), u32_at(8));
    if strict {
        if h.get(1..4).is_some_and(|pad| pad.iter().any(|b| *b != 0)) || (dump && ifindex != 0) {
            return Err(Failure::new(
                EINVAL,
                "Invalid values in header for stats dump request",
            ));
        }
        if mask >= bit(IFLA_STATS_MAX + 1) {
            return Err(Failure::new(
                EINVAL,
                "Invalid stats requested through filter mask",
            ));
        }
    }
    Ok((ifindex, mask))
}

/// `rtnl_stats_get_parse`: the attributes after the header, of which only
/// `IFLA_STATS_GET_FILTERS` is known; in it, a mask of the offload parts.
fn filters(msg: &NlMsg<'_>, mask: u32) -> Checked<StatsFilter> {
    let mut f = StatsFilter {
        mask,
        offload: u32::MAX,
    };
    let attrs = msg.payload().get(12..).unwrap_or_default();
    for (offset, a) in attrs_at(attrs, 16 + 12) {
        let a = a.map_err(Failure::malformed)?;
        if a.attr_type() != IFLA_STATS_GET_FILTERS {
            return Err(Failure {
                errno: EINVAL,
                message: Some("Unknown attribute type"),
                offset: u32::try_from(offset).ok(),
            });
        }
        for inner in crate::wire::Attrs::new(a.value()) {
            let inner = inner.map_err(Failure::malformed)?;
            let value = inner.u32().map_err(Failure::malformed)?;
            if inner.attr_type() != IFLA_STATS_LINK_OFFLOAD_XSTATS || value & !0b111 != 0 {
                return Err(Failure::errno(EINVAL));
            }
            f.offload = value;
        }
    }
    Ok(f)
}

/// A dump's checks (`rtnl_stats_dump`).
pub(crate) fn stats_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<StatsFilter> {
    let (_, mask) = header(msg, strict, true)?;
    if mask == 0 {
        return Err(Failure::new(
            EINVAL,
            "Filter mask must be set for stats dump",
        ));
    }
    filters(msg, mask)
}

/// A get's checks (`rtnl_stats_get`): the link's index and the filter.
pub(crate) fn stats_get<S: Stack>(
    stack: &S,
    msg: &NlMsg<'_>,
    strict: bool,
) -> Checked<(LinkRepr, StatsFilter)> {
    let (ifindex, mask) = header(msg, strict, false)?;
    if ifindex == 0 || ifindex > i32::MAX as u32 {
        return Err(Failure::errno(EINVAL));
    }
    let link = stack.link(LinkKey::Index(ifindex))?;
    if mask == 0 {
        return Err(Failure::new(
            EINVAL,
            "Filter mask must be set for stats get",
        ));
    }
    Ok((link, filters(msg, mask)?))
}

/// The links from `from` on, for a dump.
pub(crate) fn list<S: Stack>(
    stack: &S,
    from: &Cursor,
    put: &mut dyn FnMut(&LinkRepr) -> ControlFlow<()>,
) -> StackResult<Cursor> {
    stack.links_from(from, put)
}

/// One link's answer (`struct if_stats_msg`, then the groups asked for).
pub(crate) fn emit<B: crate::wire::Buffer>(
    w: &mut Writer<B>,
    l: &LinkRepr,
    f: &StatsFilter,
) -> crate::wire::Result<()> {
    w.put(&[AF_UNSPEC, 0, 0, 0])?;
    w.put(&l.header.index.to_ne_bytes())?;
    w.put(&f.mask.to_ne_bytes())?;
    if f.mask & bit(IFLA_STATS_LINK_64) != 0 {
        l.stats64.unwrap_or_default().emit(w, IFLA_STATS_LINK_64)?;
    }
    let bridge = l
        .info
        .as_ref()
        .and_then(|i| i.kind.as_ref())
        .is_some_and(|k| k.as_str() == "bridge");
    if f.mask & bit(IFLA_STATS_LINK_XSTATS) != 0 && bridge {
        // A bridge's multicast counters (none counted here).
        w.nested_noflag(IFLA_STATS_LINK_XSTATS, |w| {
            w.nested_noflag(LINK_XSTATS_TYPE_BRIDGE, |w| {
                w.attr(BRIDGE_XSTATS_MCAST, &[0u8; BR_MCAST_STATS_LEN])
            })
        })?;
    }
    if f.mask & bit(IFLA_STATS_LINK_OFFLOAD_XSTATS) != 0
        && f.offload & bit(IFLA_OFFLOAD_XSTATS_HW_S_INFO) != 0
    {
        // No hardware: the L3 counters neither asked for nor in use.
        w.nested_noflag(IFLA_STATS_LINK_OFFLOAD_XSTATS, |w| {
            w.nested_noflag(IFLA_OFFLOAD_XSTATS_HW_S_INFO | NESTED, |w| {
                w.nested_noflag(IFLA_OFFLOAD_XSTATS_L3_STATS | NESTED, |w| {
                    w.attr_u8(HW_S_INFO_REQUEST, 0)?;
                    w.attr_u8(HW_S_INFO_USED, 0)
                })
            })
        })?;
    }
    if f.mask & bit(IFLA_STATS_AF_SPEC) != 0 {
        // No family keeps statistics of its own here (MPLS would).
        w.nested_noflag(IFLA_STATS_AF_SPEC, |_| Ok(()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &[u8], flags: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&crate::wire::consts::RTM_GETSTATS.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(body);
        m
    }

    fn body(ifindex: u32, mask: u32) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b.extend_from_slice(&ifindex.to_ne_bytes());
        b.extend_from_slice(&mask.to_ne_bytes());
        b
    }

    fn parse(m: &[u8]) -> NlMsg<'_> {
        crate::wire::Messages::new(m).next().unwrap().unwrap()
    }

    #[test]
    fn dump_requests_are_checked_as_the_kernel_checks_them() {
        let text = |r: Checked<StatsFilter>| r.unwrap_err().message;
        let m = msg(&body(0, 0), 0x301);
        assert_eq!(
            text(stats_dump(&parse(&m), true)),
            Some("Filter mask must be set for stats dump")
        );
        let m = msg(&body(0, 32), 0x301);
        assert_eq!(
            text(stats_dump(&parse(&m), true)),
            Some("Invalid stats requested through filter mask")
        );
        assert!(stats_dump(&parse(&m), false).is_ok());
        let m = msg(&body(1, 1), 0x301);
        assert_eq!(
            text(stats_dump(&parse(&m), true)),
            Some("Invalid values in header for stats dump request")
        );
        let m = msg(&[0; 8], 0x301);
        assert_eq!(
            text(stats_dump(&parse(&m), true)),
            Some("Invalid header for stats dump")
        );
        let mut b = body(0, 1);
        b.extend_from_slice(&[8, 0, 5, 0, 0, 0, 0, 0]);
        let m = msg(&b, 0x301);
        let e = stats_dump(&parse(&m), true).unwrap_err();
        assert_eq!(
            (e.message, e.offset),
            (Some("Unknown attribute type"), Some(28))
        );
    }

    #[test]
    fn an_answer_holds_the_groups_asked_for() {
        let l = LinkRepr::default();
        let f = StatsFilter {
            mask: 0b11111,
            offload: u32::MAX,
        };
        let mut w = Writer::new(Vec::new());
        emit(&mut w, &l, &f).unwrap();
        let b = w.into_inner();
        // Header, counters (4 + 200), offload (28), per-family part (4).
        assert_eq!(b.len(), 12 + 204 + 28 + 4);
        assert_eq!(
            b.get(216..244).unwrap(),
            [
                0x1c, 0, 4, 0, 0x18, 0, 2, 0x80, 0x14, 0, 3, 0x80, 5, 0, 1, 0, 0, 0, 0, 0, 5, 0, 2,
                0, 0, 0, 0, 0
            ]
        );
    }
}
