//! Route lookup for `RTM_GETROUTE` of one destination.

use core::net::IpAddr;
use core::ops::ControlFlow;

use crate::errno::{EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH};
use crate::stack::{Stack, StackError, StackResult};
use crate::wire::consts::*;
use crate::wire::RouteRepr;

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
