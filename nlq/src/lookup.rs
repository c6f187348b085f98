//! Route lookup for `RTM_GETROUTE` of one destination.

use core::net::IpAddr;
use core::ops::ControlFlow;

use crate::errno::{EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH};
use crate::stack::{Stack, StackError, StackResult};
use crate::wire::consts::*;
use crate::wire::{AddrRepr, RouteRepr};

/// True when `addr` lies in `net/len` (`None` is the default route).
pub fn prefix_contains(net: Option<IpAddr>, len: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (None, _) => len == 0,
        (Some(IpAddr::V4(n)), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Some(IpAddr::V6(n)), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128u32.saturating_sub(u32::from(len)))
                .unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The kernel's default lookup, as a stack without a FIB of its own gets
/// it: the local table first, then main, longest prefix, then the lowest
/// metric. Unreachable, prohibit and blackhole routes answer with their
/// errno; no match is `ENETUNREACH`.
pub fn longest_prefix_match<S: Stack + ?Sized>(stack: &S, dst: IpAddr) -> StackResult<RouteRepr> {
    let family = if dst.is_ipv4() { AF_INET } else { AF_INET6 };
    // Rank: (local table, prefix length, lower metric is better).
    let mut best: Option<((bool, u8, u32), RouteRepr)> = None;
    stack.routes(family, 0, &mut |r: &RouteRepr| {
        let table = r.table_id();
        if r.header.family != family
            || (table != RT_TABLE_LOCAL && table != RT_TABLE_MAIN)
            || !prefix_contains(r.dst, r.header.dst_len, dst)
        {
            return ControlFlow::Continue(());
        }
        let metric = r.priority.unwrap_or(0);
        let rank = (
            table == RT_TABLE_LOCAL,
            r.header.dst_len,
            u32::MAX.saturating_sub(metric),
        );
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, *r));
        }
        ControlFlow::Continue(())
    })?;
    let (_, route) = best.ok_or(StackError::with_message(
        ENETUNREACH,
        "Network is unreachable",
    ))?;
    match route.header.kind {
        RTN_UNREACHABLE => Err(StackError::new(EHOSTUNREACH)),
        RTN_PROHIBIT => Err(StackError::new(EACCES)),
        RTN_BLACKHOLE => Err(StackError::new(EINVAL)),
        _ => Ok(route),
    }
}

/// The source address a packet to `dst` leaving through link `oif` (via
/// `gateway`, if any) gets when the route names none (`RTA_PREFSRC` of an
/// `ip route get` answer).
///
/// - IPv4, as `inet_select_addr`: the link's first primary address of
///   scope narrower than host whose prefix holds the gateway (or `dst`),
///   else its first primary address of scope narrower than host.
/// - IPv6, as `ipv6_dev_get_saddr` for the common cases: a usable
///   (not tentative) address on the link of the same scope as `dst`
///   (link-local for `fe80::/10`, else global), the one sharing the longest
///   prefix with `dst`; first in the stack's order on ties.
///
/// `None` when there is none, or when the stack cannot list addresses.
pub fn select_source<S: Stack + ?Sized>(
    stack: &S,
    oif: u32,
    gateway: Option<IpAddr>,
    dst: IpAddr,
) -> Option<IpAddr> {
    let family = if dst.is_ipv4() { AF_INET } else { AF_INET6 };
    let target = gateway.unwrap_or(dst);
    let link_local_dst = matches!(dst, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
    // Rank: IPv4 (same subnet), IPv6 (common prefix length); first wins ties.
    let mut best: Option<(u32, IpAddr)> = None;
    let _ = stack.addrs(family, 0, &mut |a: &AddrRepr| {
        let Some(local) = a.local.or(a.address) else {
            return ControlFlow::Continue(());
        };
        if a.header.index != oif || a.header.family != family {
            return ControlFlow::Continue(());
        }
        let flags = a.all_flags();
        let rank = match local {
            IpAddr::V4(_) => {
                if flags & IFA_F_SECONDARY != 0 || a.header.scope >= RT_SCOPE_HOST {
                    return ControlFlow::Continue(());
                }
                u32::from(prefix_contains(
                    a.address.or(Some(local)),
                    a.header.prefix_len,
                    target,
                ))
            }
            IpAddr::V6(l) => {
                let link_local = l.segments()[0] & 0xffc0 == 0xfe80;
                if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) != 0
                    || link_local != link_local_dst
                    || a.header.scope >= RT_SCOPE_HOST
                {
                    return ControlFlow::Continue(());
                }
                let IpAddr::V6(d) = dst else {
                    return ControlFlow::Continue(());
                };
                (u128::from(l) ^ u128::from(d)).leading_zeros()
            }
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, local));
        }
        ControlFlow::Continue(())
    });
    best.map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn prefixes_contain_their_addresses() {
        let net = Some(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)));
        assert!(prefix_contains(
            net,
            16,
            IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))
        ));
        assert!(!prefix_contains(
            net,
            16,
            IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1))
        ));
        assert!(prefix_contains(
            None,
            0,
            IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))
        ));
        assert!(prefix_contains(
            net,
            0,
            IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))
        ));
        assert!(!prefix_contains(net, 32, "::1".parse().unwrap()));
    }
}
