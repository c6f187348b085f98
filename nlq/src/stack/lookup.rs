//! Route lookup for `RTM_GETROUTE` of one destination.

use core::net::IpAddr;
use core::ops::ControlFlow;

use crate::errno::{EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH, ENODEV};
use crate::stack::{Stack, StackError, StackResult};
use crate::wire::consts::*;
use crate::wire::{AddrRepr, RouteRepr};

/// What `ip route get` asks (`RTM_GETROUTE` without `NLM_F_DUMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteQuery {
    /// `RTA_DST`: where the packet goes.
    pub dst: IpAddr,
    /// `RTA_SRC`: the source it has, if the asker fixed one.
    pub src: Option<IpAddr>,
    /// `RTA_OIF`: the link it must leave through (0: any).
    pub oif: u32,
    /// `RTA_MARK`.
    pub mark: Option<u32>,
}

/// `RTCF_LOCAL`: the packet stays on this host.
pub const RTCF_LOCAL: u32 = 0x8000_0000;
/// `RTCF_BROADCAST`: the packet is a broadcast.
pub const RTCF_BROADCAST: u32 = 0x1000_0000;

/// How a lookup ranks candidates: prefix length, local table (IPv4),
/// lowest metric.
type Rank = (u8, bool, core::cmp::Reverse<u32>);

/// [`Stack::best_route`] by a walk of [`Stack::routes`]: the best route
/// of `tables` for `dst` that a lookup through `oif` stops at: the
/// longest prefix, then (IPv4) the local table, then the lowest metric,
/// then the first in dump order, among the reject routes and the routes
/// with a next hop through `oif` (any, when 0).
pub fn best_route_walk<S: Stack + ?Sized>(
    stack: &S,
    dst: IpAddr,
    tables: &[u32],
    oif: u32,
) -> StackResult<Option<RouteRepr>> {
    let family = if dst.is_ipv4() { AF_INET } else { AF_INET6 };
    let mut best: Option<(Rank, RouteRepr)> = None;
    stack.routes(family, 0, &mut |r: &RouteRepr| {
        let counts = r.header.family == family
            && tables.contains(&r.table_id())
            && crate::prefix::contains(r.dst, r.header.dst_len, dst)
            // IPv4 answers a reject route whatever the link; IPv6 reject
            // routes go through `lo` and count only for it.
            && ((family == AF_INET && reject_errno(r.header.route_type).is_some())
                || next_hop(r, oif).is_some());
        if counts {
            // Within one prefix length the kernel's merged IPv4 trie
            // keeps the local table's entries first (`fib_find_alias`
            // orders by table id, highest first).
            let rank = (
                r.header.dst_len,
                family == AF_INET && r.table_id() == RT_TABLE_LOCAL,
                core::cmp::Reverse(r.priority.unwrap_or(0)),
            );
            // Strictly better only: the first of equals stays.
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((rank, r.clone()));
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(best.map(|(_, r)| r))
}

/// The next hop a route leaves by: (link, gateway); the first of a
/// multipath route's, or the one through `oif` when given.
fn next_hop(r: &RouteRepr, oif: u32) -> Option<(u32, Option<IpAddr>)> {
    match &r.multipath {
        Some(m) => m
            .as_slice()
            .iter()
            .find(|h| oif == 0 || h.ifindex == oif)
            .map(|h| (h.ifindex, h.gateway.or(h.via))),
        None => {
            let dev = r.oif.unwrap_or(0);
            (oif == 0 || dev == oif).then_some((dev, r.gateway.or(r.via)))
        }
    }
}

/// The error a reject route answers with (`fib_props`): `None` for a
/// route that forwards.
fn reject_errno(kind: u8) -> Option<i32> {
    match kind {
        RTN_UNREACHABLE => Some(EHOSTUNREACH),
        RTN_PROHIBIT => Some(EACCES),
        RTN_BLACKHOLE => Some(EINVAL),
        RTN_THROW => Some(ENETUNREACH),
        _ => None,
    }
}

fn link_of<S: Stack + ?Sized>(stack: &S, index: u32) -> Option<crate::stack::LinkState> {
    stack.link_state(index)
}

fn is_own_address<S: Stack + ?Sized>(stack: &S, ip: IpAddr) -> bool {
    let family = if ip.is_ipv4() { AF_INET } else { AF_INET6 };
    let mut own = false;
    let _ = stack.addrs(family, 0, &mut |a: &AddrRepr| {
        own |= a.local.or(a.address) == Some(ip);
        if own {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    own
}

/// A gateway the local table resolves: one of this host's addresses, or
/// inside a local prefix.
fn is_local_gateway<S: Stack + ?Sized>(stack: &S, gw: IpAddr) -> bool {
    is_own_address(stack, gw)
        || stack
            .best_route(gw, &[RT_TABLE_LOCAL, RT_TABLE_MAIN], 0)
            .ok()
            .flatten()
            .is_some_and(|r| r.header.route_type == RTN_LOCAL)
}

/// `IPV4_MIN_MTU`: below it a link has no `in_device`.
const IPV4_MIN_MTU: u32 = 68;

/// IPv4 works on the link (its MTU is at least [`IPV4_MIN_MTU`]).
fn has_inet4(link: &crate::stack::LinkState) -> bool {
    link.mtu.is_none_or(|m| m >= IPV4_MIN_MTU)
}

fn is_loopback<S: Stack + ?Sized>(stack: &S, index: u32) -> bool {
    link_of(stack, index).is_some_and(|l| l.flags & IFF_LOOPBACK != 0)
}

/// The answer to `ip route get`, as the kernel gives it: the path a
/// packet would take, not the FIB entry.
///
/// IPv4 (`ip_route_output_key_hash_rcu`, `rt_fill_info`): the local and
/// main tables are searched as one (the kernel merges them while there are
/// no rules), longest prefix first, then the lowest metric; with an output
/// link, only next hops through it count, and when nothing matches the
/// destination is taken to be on that link. A local destination leaves by
/// `lo` with `RTCF_LOCAL`. The answer is in the main table, cloned
/// (`RTM_F_CLONED`), protocol 0, with the source the packet gets.
///
/// IPv6 (`ip6_route_output`, `rt6_fill_node`): the local table, then main;
/// the answer is the FIB entry itself (table, protocol, metric,
/// preference) with the destination and the source (`::` unless given) as
/// full-length prefixes, the output link (`lo` for local routes) and the
/// source address selected for it.
///
/// Unreachable, prohibit and blackhole routes answer `EHOSTUNREACH`,
/// `EACCES`, `EINVAL`; `throw` and no route `ENETUNREACH`; an output link
/// that does not exist `ENODEV`; none carry extended-ACK text.
pub fn route_get<S: Stack + ?Sized>(stack: &S, q: &RouteQuery) -> StackResult<RouteRepr> {
    if q.oif != 0 {
        let link = link_of(stack, q.oif).ok_or(StackError::new(ENODEV))?;
        if q.dst.is_ipv4() && (link.flags & IFF_UP == 0 || !has_inet4(&link)) {
            return Err(StackError::new(ENETUNREACH));
        }
    }
    if q.dst.is_ipv4() {
        route_get4(stack, q)
    } else {
        route_get6(stack, q)
    }
}

fn route_get4<S: Stack + ?Sized>(stack: &S, q: &RouteQuery) -> StackResult<RouteRepr> {
    // Until a rule is added or deleted, local and main are one table,
    // looked up before the default table and without the rules
    // (`fib_lookup` without `fib_has_custom_rules`); then the rules lead.
    let merged = !stack.custom_rules(AF_INET);
    let best = if merged {
        crate::stack::rule_lookup::merged_lookup(stack, q)
    } else {
        crate::stack::rule_lookup::rules_lookup(stack, q)
    };
    let found = match best {
        Ok(Some(r)) => match reject_errno(r.header.route_type) {
            Some(e) => Err(StackError::new(e)),
            None => next_hop(&r, q.oif)
                .map(|hop| (r, hop))
                .ok_or(StackError::new(ENETUNREACH)),
        },
        Ok(None) => Err(StackError::new(ENETUNREACH)),
        Err(e) => Err(e),
    };
    // The table the route was found in (the merged one is main); none
    // when the packet goes out on the link asked without a route. The
    // server answers main unless `RTM_F_LOOKUP_TABLE` asked for it.
    let table = match &found {
        Ok((r, _)) if merged && r.table_id() != RT_TABLE_DEFAULT => RT_TABLE_MAIN,
        Ok((r, _)) => r.table_id(),
        Err(_) => 0,
    };
    let mut answer = RouteRepr::default();
    answer.header.family = AF_INET;
    answer.header.dst_len = 32;
    answer.header.table = u8::try_from(table).unwrap_or(RT_TABLE_COMPAT);
    answer.table = Some(table);
    answer.dst = Some(q.dst);
    answer.mark = q.mark;
    if let Some(src) = q.src {
        answer.header.src_len = 32;
        answer.src = Some(src);
    }
    let mut flags = RTM_F_CLONED;
    let saddr = match found {
        Ok((r, _)) if r.header.route_type == RTN_LOCAL => {
            answer.header.route_type = RTN_LOCAL;
            answer.oif = Some(LOOPBACK_INDEX);
            answer.metrics = r.metrics;
            flags |= RTCF_LOCAL;
            q.src.or(r.prefsrc).or(Some(q.dst))
        }
        Ok((r, (dev, gw))) => {
            answer.header.route_type = r.header.route_type;
            answer.oif = Some(dev);
            // A gateway reached through a host-scope route (one of this
            // host's addresses, or a local prefix) is not used as one: its
            // next hop's scope is host (`rt_uses_gateway`).
            answer.gateway = gw.filter(|g| !is_local_gateway(stack, *g));
            answer.metrics = r.metrics;
            if r.header.route_type == RTN_BROADCAST {
                flags |= RTCF_BROADCAST | RTCF_LOCAL;
            }
            if is_loopback(stack, dev) {
                flags |= RTCF_LOCAL;
            }
            // `fib_result_prefsrc`: chosen for the next hop, with its
            // gateway (none: any address), not the destination.
            let any = IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED);
            q.src
                .or(r.prefsrc)
                .or_else(|| select_source4(stack, dev, gw.unwrap_or(any), r.header.scope))
        }
        // No route, but an output link: the destination is on it.
        Err(_) if q.oif != 0 => {
            answer.header.route_type = RTN_UNICAST;
            answer.oif = Some(q.oif);
            if is_loopback(stack, q.oif) {
                flags |= RTCF_LOCAL;
            }
            // Chosen without a destination: the first primary.
            q.src.or_else(|| {
                let any = IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED);
                select_source4(stack, q.oif, any, RT_SCOPE_LINK)
            })
        }
        Err(e) => return Err(e),
    };
    // The output link must have IPv4 (`__mkroute_output`).
    if answer
        .oif
        .and_then(|o| link_of(stack, o))
        .is_none_or(|l| !has_inet4(&l))
    {
        return Err(StackError::new(EINVAL));
    }
    if saddr.is_some_and(|s| matches!(s, IpAddr::V4(a) if a.is_loopback()))
        && answer.oif.is_some_and(|o| !is_loopback(stack, o))
    {
        // A loopback source leaves by `lo` or not at all
        // (`__mkroute_output`).
        return Err(StackError::new(EINVAL));
    }
    answer.header.flags = flags;
    // `rt_fill_info` names the source only when it is not the asked one.
    answer.prefsrc = saddr.filter(|s| Some(*s) != q.src);
    Ok(answer)
}

fn route_get6<S: Stack + ?Sized>(stack: &S, q: &RouteQuery) -> StackResult<RouteRepr> {
    // The rules in order (by default: local, then main); `throw` goes on.
    let found = match crate::stack::rule_lookup::rules_lookup(stack, q)? {
        None => Err(StackError::new(ENETUNREACH)),
        Some(r) => match reject_errno(r.header.route_type) {
            Some(e) => Err(StackError::new(e)),
            None => next_hop(&r, q.oif)
                .map(|hop| (r, hop))
                .ok_or(StackError::new(ENETUNREACH)),
        },
    };
    let (mut answer, (nh_dev, gw)) = found?;
    let any = IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED);
    // A local route's packets go through `lo`; its source is chosen for
    // its next hop's link (`ip6_route_get_saddr` asks `fib6_info_nh_dev`).
    let dev = if answer.header.route_type == RTN_LOCAL {
        LOOPBACK_INDEX
    } else {
        nh_dev
    };
    answer.header.dst_len = 128;
    answer.header.src_len = 128;
    answer.header.flags = 0;
    answer.dst = Some(q.dst);
    answer.src = Some(q.src.unwrap_or(any));
    answer.multipath = None;
    answer.oif = Some(dev);
    answer.gateway = gw;
    answer.via = None;
    answer.mark = q.mark;
    answer.prefsrc = answer
        .prefsrc
        .or_else(|| select_source6(stack, nh_dev, q.dst));
    Ok(answer)
}

/// The index of `lo`.
const LOOPBACK_INDEX: u32 = 1;
/// `RT_TABLE_COMPAT`: what `rtm_table` says of tables above 255.
const RT_TABLE_COMPAT: u8 = 252;

/// The source address a packet to `target` leaving through `oif` gets, for
/// a route of `scope` (`inet_select_addr`): the link's first primary
/// address of that scope or narrower whose subnet holds `target` (the
/// next hop's gateway; unspecified: any), else its first such address;
/// else the first primary address of another link (not of link scope).
pub fn select_source4<S: Stack + ?Sized>(
    stack: &S,
    oif: u32,
    target: IpAddr,
    scope: u8,
) -> Option<IpAddr> {
    let mut on_link: Option<(bool, IpAddr)> = None;
    let mut elsewhere: Option<IpAddr> = None;
    let _ = stack.addrs(AF_INET, 0, &mut |a: &AddrRepr| {
        let Some(local) = a.local.or(a.address) else {
            return ControlFlow::Continue(());
        };
        if a.header.family != AF_INET || a.all_flags() & IFA_F_SECONDARY != 0 {
            return ControlFlow::Continue(());
        }
        if a.header.index == oif {
            if a.header.scope.min(RT_SCOPE_HOST) > scope {
                return ControlFlow::Continue(());
            }
            // Without a target (`!dst`), the first one is taken.
            let matches = target.is_unspecified()
                || crate::prefix::contains(a.address.or(Some(local)), a.header.prefix_len, target);
            if on_link.is_none_or(|(m, _)| matches && !m) {
                on_link = Some((matches, local));
            }
        } else if elsewhere.is_none() && a.header.scope != RT_SCOPE_LINK && a.header.scope <= scope
        {
            elsewhere = Some(local);
        }
        ControlFlow::Continue(())
    });
    on_link.map(|(_, a)| a).or(elsewhere)
}

/// How a candidate source ranks, rule by rule (greater is better): the
/// destination itself, scope, not deprecated, on the output link, same
/// label, common prefix length.
type SourceRank = (bool, i16, bool, bool, bool, u32);

/// The default address labels (`ip6addrlbl_init_table`, RFC 6724's
/// policy table): `(prefix, length, label)`, the longest match wins.
const LABELS: [(u128, u32, u8); 10] = [
    (0, 0, 1),
    (0xfc00 << 112, 7, 5),
    (0xfec0 << 112, 10, 11),
    (0x2002 << 112, 16, 2),
    (0x3ffe << 112, 16, 12),
    (0x2001 << 112, 32, 6),
    (0x2001_0010 << 96, 28, 7),
    (0xffff << 32, 96, 4),
    (0, 96, 3),
    (1, 128, 0),
];

/// The label of an IPv6 address (`ipv6_addr_label`).
fn label6(a: &core::net::Ipv6Addr) -> u8 {
    let v = u128::from(*a);
    LABELS
        .iter()
        .filter(|(p, len, _)| {
            let mask = u128::MAX
                .checked_shl(128u32.saturating_sub(*len))
                .unwrap_or(0);
            v & mask == *p
        })
        .max_by_key(|(_, len, _)| *len)
        .map_or(1, |(_, _, l)| *l)
}

/// IPv6 address scopes as source selection ranks them
/// (`__ipv6_addr_src_scope`): `::1` counts as link-local (RFC 6724, 3.4),
/// so a link-local address elsewhere does not beat it on scope.
fn scope6(a: &core::net::Ipv6Addr) -> u8 {
    if a.is_loopback() || a.is_unicast_link_local() {
        2
    } else {
        14
    }
}

/// The source address a packet to `dst` leaving through `oif` gets
/// (`ipv6_dev_get_saddr`, the rules of RFC 6724 that apply here): the
/// destination itself if it is ours; an address of sufficient scope
/// before one of too small a scope; one on the output link before
/// others; the longest common prefix. Link-local destinations take only
/// the output link's addresses; tentative addresses are never chosen.
pub fn select_source6<S: Stack + ?Sized>(stack: &S, oif: u32, dst: IpAddr) -> Option<IpAddr> {
    let IpAddr::V6(d) = dst else { return None };
    let dscope = scope6(&d);
    let mut best: Option<(SourceRank, IpAddr)> = None;
    let _ = stack.addrs(AF_INET6, 0, &mut |a: &AddrRepr| {
        let Some(IpAddr::V6(l)) = a.local.or(a.address) else {
            return ControlFlow::Continue(());
        };
        if a.all_flags() & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0
            || (dscope <= 2 && a.header.index != oif)
        {
            return ControlFlow::Continue(());
        }
        // Rule 2 (`IPV6_SADDR_RULE_SCOPE`): the smallest scope that is
        // enough for the destination, else the largest.
        let scope = i16::from(scope6(&l));
        let scope_rank = if scope >= i16::from(dscope) {
            scope.saturating_neg()
        } else {
            scope.saturating_sub(128)
        };
        // Rule 3: not deprecated; rule 5: on the output link; rule 6: the
        // destination's label (`ipv6_addr_label`); rule 8: the longest
        // common prefix.
        let rank = (
            l == d,
            scope_rank,
            a.all_flags() & IFA_F_DEPRECATED == 0,
            a.header.index == oif,
            label6(&l) == label6(&d),
            (u128::from(l) ^ u128::from(d)).leading_zeros(),
        );
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, IpAddr::V6(l)));
        }
        ControlFlow::Continue(())
    });
    best.map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_have_the_default_labels() {
        let l = |s: &str| label6(&s.parse().unwrap());
        assert_eq!(l("::1"), 0);
        assert_eq!(l("2001:db8::1"), 1);
        assert_eq!(l("fe80::1"), 1);
        assert_eq!(l("fc00::1"), 5);
        assert_eq!(l("::ffff:1.2.3.4"), 4);
        assert_eq!(l("2002::1"), 2);
        assert_eq!(l("2001::1"), 6);
        assert_eq!(l("2001:10::1"), 7);
        assert_eq!(l("::2"), 3);
        // `::1` is as link-local as `fe80::/10` when choosing a source.
        assert_eq!(scope6(&"::1".parse().unwrap()), 2);
    }
}
