//! The kernel's checks of a new IPv4 route that need no tables
//! (`fib_create_info`, before it looks at next hops), in its order and with
//! its errors, for every stack to apply before its own.

use crate::errno::EINVAL;
use crate::stack::{StackError, StackResult};
use crate::wire::consts::*;
use crate::wire::{RouteMetrics, RouteRepr};

/// `RTNH_F_LINKDOWN`.
const RTNH_F_LINKDOWN: u32 = 16;

/// `fib_props[type].scope`: the widest scope a route of the type may have.
pub fn widest_scope(kind: u8) -> u8 {
    match kind {
        RTN_LOCAL => RT_SCOPE_HOST,
        RTN_BROADCAST | RTN_ANYCAST => RT_SCOPE_LINK,
        RTN_NAT => RT_SCOPE_NOWHERE,
        _ => RT_SCOPE_UNIVERSE,
    }
}

/// The shape checks of `rtm_to_fib_config` / `rtm_to_fib6_config`: prefix
/// lengths within the family's (IPv4's, or else IPv6's), a known type.
pub fn check_shape(r: &RouteRepr) -> StackResult<()> {
    let max = if r.header.family == AF_INET { 32 } else { 128 };
    if r.header.dst_len > max || r.header.src_len > max {
        return Err(StackError::with_message(EINVAL, "Invalid prefix length"));
    }
    if r.header.route_type > RTN_NAT.saturating_add(1) {
        return Err(StackError::with_message(EINVAL, "Invalid route type"));
    }
    Ok(())
}

/// The types that drop or refuse packets instead of forwarding them.
pub fn is_reject(kind: u8) -> bool {
    matches!(
        kind,
        RTN_BLACKHOLE | RTN_UNREACHABLE | RTN_PROHIBIT | RTN_THROW
    )
}

fn fail(text: &'static str) -> StackError {
    StackError::with_message(EINVAL, text)
}

/// Checks an IPv4 `RTM_NEWROUTE` as `fib_create_info` does before it
/// resolves next hops: the scope the type allows, no `DEAD` or
/// `LINKDOWN` flag, no next hop on a reject route, a type that forwards,
/// and a host-scope route with one next hop and no gateway. Other
/// families pass.
pub fn check_new_route4(req: &RouteRepr) -> StackResult<()> {
    if req.header.family != AF_INET {
        return Ok(());
    }
    let (kind, scope) = (req.header.route_type, req.header.scope);
    if widest_scope(kind) > scope {
        return Err(fail("Invalid scope"));
    }
    if req.header.flags & (u32::from(RTNH_F_DEAD) | RTNH_F_LINKDOWN) != 0 {
        return Err(fail("Invalid rtm_flags - can not contain DEAD or LINKDOWN"));
    }
    let gateway = req.gateway.is_some() || req.via.is_some();
    if is_reject(kind) {
        if gateway || req.oif.is_some_and(|o| o != 0) || req.multipath.is_some() {
            return Err(fail(
                "Gateway, device and multipath can not be specified for this route type",
            ));
        }
        return Ok(());
    }
    if !matches!(
        kind,
        RTN_UNICAST | RTN_LOCAL | RTN_BROADCAST | RTN_ANYCAST | RTN_MULTICAST
    ) {
        return Err(fail("Invalid route type"));
    }
    if scope > RT_SCOPE_HOST {
        return Err(fail("Invalid scope"));
    }
    if scope == RT_SCOPE_HOST {
        let hops = req.multipath.as_ref().map(|m| m.as_slice());
        if hops.is_some_and(|h| h.len() != 1) {
            return Err(fail("Route with host scope can not have multiple nexthops"));
        }
        let hop_gateway = hops
            .and_then(|h| h.first())
            .is_some_and(|h| h.gateway.is_some() || h.via.is_some());
        if gateway || hop_gateway {
            return Err(fail("Route with host scope can not have a gateway"));
        }
    }
    Ok(())
}

/// `fib_metrics_match`: every metric the request gives equals the
/// route's (0 where the route has none).
pub fn metrics_match(want: Option<&RouteMetrics>, have: Option<&RouteMetrics>) -> bool {
    let Some(want) = want else { return true };
    let value = |k: u16| have.and_then(|h| h.get(k)).unwrap_or(0);
    want.iter().all(|(k, v)| value(k) == v)
        && want
            .cc_algo
            .as_ref()
            .is_none_or(|c| have.and_then(|h| h.cc_algo.as_ref()) == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{IpAddr, Ipv4Addr};

    fn route(kind: u8, scope: u8) -> RouteRepr {
        let mut r = RouteRepr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)), 16);
        r.header.route_type = kind;
        r.header.scope = scope;
        r
    }

    fn text(r: &RouteRepr) -> Option<&'static str> {
        check_new_route4(r).err().and_then(|e| e.message)
    }

    #[test]
    fn the_kernel_s_order_and_texts() {
        assert_eq!(
            text(&route(RTN_LOCAL, RT_SCOPE_UNIVERSE)),
            Some("Invalid scope")
        );
        let mut r = route(RTN_BLACKHOLE, RT_SCOPE_UNIVERSE);
        r.oif = Some(1);
        assert_eq!(
            text(&r),
            Some("Gateway, device and multipath can not be specified for this route type")
        );
        let mut r = route(RTN_UNICAST, RT_SCOPE_HOST);
        r.gateway = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            text(&r),
            Some("Route with host scope can not have a gateway")
        );
        assert_eq!(
            text(&route(RTN_NAT, RT_SCOPE_NOWHERE)),
            Some("Invalid route type")
        );
        assert_eq!(
            text(&route(RTN_UNICAST, RT_SCOPE_NOWHERE)),
            Some("Invalid scope")
        );
        assert_eq!(check_new_route4(&route(RTN_LOCAL, RT_SCOPE_HOST)), Ok(()));
        assert_eq!(
            check_new_route4(&route(RTN_THROW, RT_SCOPE_UNIVERSE)),
            Ok(())
        );
    }

    #[test]
    fn given_metrics_must_equal_the_route_s() {
        let mut hoplimit5 = RouteMetrics::default();
        hoplimit5.set(RTAX_HOPLIMIT, 5);
        let mut zero = RouteMetrics::default();
        zero.set(RTAX_HOPLIMIT, 0);
        assert!(metrics_match(None, Some(&hoplimit5)));
        assert!(metrics_match(Some(&hoplimit5), Some(&hoplimit5)));
        assert!(!metrics_match(Some(&hoplimit5), None));
        assert!(metrics_match(Some(&zero), None));
        assert!(!metrics_match(Some(&zero), Some(&hoplimit5)));
    }
}
