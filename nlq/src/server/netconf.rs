//! Per-device IP configuration (`RTM_GETNETCONF`, `ip netconf show`;
//! `devinet_dump_netconf`, `inet6_netconf_dump_devconf` and their GETs):
//! each link with the family, then `all` and `default`. The stack has no
//! sysctls, so the values are those of a fresh namespace: forwarding,
//! reverse-path filter, multicast and broadcast forwarding, proxy ARP/NDP
//! and ignoring routes with a link down all off.

use core::ops::ControlFlow;

use crate::errno::{EINVAL, ENODEV, EOPNOTSUPP};
use crate::stack::{Cursor, LinkKey, Stack, StackResult};
use crate::wire::consts::*;
use crate::wire::{Attrs, Buffer, LinkRepr, NetconfRepr, NlMsg, Writer};

use super::request::{Checked, Failure};

/// `NETCONFA_IFINDEX_ALL` and `NETCONFA_IFINDEX_DEFAULT`.
const ALL: i32 = -1;
const DEFAULT: i32 = -2;

/// Filters of a netconf dump: one family, or IPv4's then IPv6's.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NetconfFilter {
    pub family: u8,
}

impl NetconfFilter {
    /// The families listed.
    fn families(self) -> &'static [u8] {
        match self.family {
            AF_INET => &[AF_INET],
            AF_INET6 => &[AF_INET6],
            _ => &[AF_INET, AF_INET6],
        }
    }

    /// `NLMSG_DONE` comes alone after a dump of every family
    /// (`rtnl_dump_all`).
    pub fn done_alone(self) -> bool {
        self.families().len() > 1
    }
}

/// The `ipv4: ` or `ipv6: ` of the family's texts.
fn texts(family: u8) -> [&'static str; 3] {
    if family == AF_INET6 {
        [
            "ipv6: Invalid header for netconf dump request",
            "ipv6: Invalid data after header in netconf dump request",
            "ipv6: Unsupported attribute in netconf get request",
        ]
    } else {
        [
            "ipv4: Invalid header for netconf dump request",
            "ipv4: Invalid data after header in netconf dump request",
            "ipv4: Unsupported attribute in netconf get request",
        ]
    }
}

/// Checks a netconf dump request: on a strict socket a family's dumper
/// takes a bare `netconfmsg` only. A family without a dumper dumps them
/// all.
pub(crate) fn netconf_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<NetconfFilter> {
    let body = msg.payload();
    let family = body.first().copied().unwrap_or(AF_UNSPEC);
    let filter = NetconfFilter { family };
    if strict && matches!(family, AF_INET | AF_INET6) {
        let [short, after, _] = texts(family);
        if body.is_empty() {
            return Err(Failure::new(EINVAL, short));
        }
        if body.len() > 4 {
            return Err(Failure::new(EINVAL, after));
        }
    }
    Ok(filter)
}

/// The link has the family (`__in_dev_get_rtnl`, `__in6_dev_get`): its
/// `IFLA_AF_SPEC` has the family's part (a stack that gives none has
/// both).
pub(crate) fn has_family(l: &LinkRepr, family: u8) -> bool {
    l.af_spec.is_none() || super::dump::af_spec_part(l, family).is_some()
}

/// Writes one entry (`inet_netconf_fill_devconf` /
/// `inet6_netconf_fill_devconf` of `NETCONFA_ALL`): IPv6 has no
/// reverse-path filter nor multicast or broadcast forwarding.
pub(crate) fn emit<B: Buffer>(
    w: &mut Writer<B>,
    family: u8,
    index: i32,
) -> crate::wire::Result<()> {
    let v4 = (family != AF_INET6).then_some(0);
    NetconfRepr {
        family,
        ifindex: Some(index),
        forwarding: Some(0),
        rp_filter: v4,
        mc_forwarding: v4,
        bc_forwarding: v4,
        proxy_neigh: Some(0),
        ignore_routes_with_linkdown: Some(0),
        input: None,
    }
    .emit(w)
}

/// Lists the entries of `filter` from position `from` on into `put`
/// (one message each); returns where the next datagram resumes.
pub(crate) fn list<S: Stack>(
    stack: &S,
    filter: NetconfFilter,
    from: &Cursor,
    put: &mut dyn FnMut(u8, i32) -> ControlFlow<()>,
) -> StackResult<Cursor> {
    let start = from.position();
    let mut at = 0usize;
    let mut stopped = false;
    let mut offer = |family: u8, index: i32, at: &mut usize| {
        if stopped {
            return ControlFlow::Break(());
        }
        if *at >= start && put(family, index).is_break() {
            stopped = true;
            return ControlFlow::Break(());
        }
        *at = at.saturating_add(1);
        ControlFlow::Continue(())
    };
    for &family in filter.families() {
        stack.links(0, &mut |l| {
            if !has_family(l, family) {
                return ControlFlow::Continue(());
            }
            let index = i32::try_from(l.header.index).unwrap_or(i32::MAX);
            offer(family, index, &mut at)
        })?;
        for index in [ALL, DEFAULT] {
            if offer(family, index, &mut at).is_break() {
                return Ok(Cursor::at(at));
            }
        }
    }
    Ok(Cursor::at(at))
}

/// `RTM_GETNETCONF` of one link (`inet_netconf_get_devconf`,
/// `inet6_netconf_get_devconf`): the family and index it answers for.
pub(crate) fn netconf_get<S: Stack>(
    stack: &S,
    msg: &NlMsg<'_>,
    strict: bool,
) -> Checked<(u8, i32)> {
    let body = msg.payload();
    let family = body.first().copied().unwrap_or(AF_UNSPEC);
    if !matches!(family, AF_INET | AF_INET6) {
        return Err(Failure::errno(EOPNOTSUPP));
    }
    let [_, _, unsupported] = texts(family);
    let short = if family == AF_INET6 {
        "ipv6: Invalid header for netconf get request"
    } else {
        "ipv4: Invalid header for netconf get request"
    };
    let attrs = body.get(4..).ok_or(Failure::new(EINVAL, short))?;
    let mut index = None;
    for a in Attrs::new(attrs) {
        let Ok(a) = a else { break };
        match a.attr_type() {
            NETCONFA_IFINDEX => index = a.i32().ok(),
            _ if strict => return Err(Failure::new(EINVAL, unsupported)),
            _ => {}
        }
    }
    let index = index.ok_or(Failure::errno(EINVAL))?;
    if index != ALL && index != DEFAULT {
        let link = u32::try_from(index)
            .ok()
            .and_then(|i| stack.link(LinkKey::Index(i)).ok())
            .filter(|l| has_family(l, family));
        if link.is_none() {
            return Err(Failure::errno(ENODEV));
        }
    }
    Ok((family, index))
}
