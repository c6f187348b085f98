//! The shape checks the server makes before a request reaches a stack,
//! made again for requests that come some other way (a program calling
//! the [`Stack`](nlq::stack::Stack) methods itself): a family of IP,
//! prefix lengths within it, addresses of that family. The engine's rules
//! rely on them.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::stack::{StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, RouteRepr};

/// Whether a family is IPv4, and its longest prefix.
fn family(family: u8) -> StackResult<(bool, u8)> {
    match family {
        AF_INET => Ok((true, 32)),
        AF_INET6 => Ok((false, 128)),
        _ => Err(StackError::NOT_SUPPORTED),
    }
}

fn family_mismatch(v4: bool, ips: &[Option<IpAddr>]) -> StackResult<()> {
    if ips.iter().flatten().any(|ip| ip.is_ipv4() != v4) {
        return Err(StackError::with_message(EINVAL, "Invalid address family"));
    }
    Ok(())
}

/// An address request: to add one, or (`deleting`) to delete one. An
/// IPv4 delete does not check the prefix length (`inet_rtm_deladdr`: an
/// address named with a longer one than IPv4 has is not found).
pub(crate) fn addr(req: &AddrRepr, deleting: bool) -> StackResult<()> {
    let (v4, max) = family(req.header.family)?;
    if req.header.prefix_len > max && !(v4 && deleting) {
        let text = if v4 {
            "ipv4: Invalid prefix length"
        } else {
            "ipv6: Invalid prefix length"
        };
        return Err(StackError::with_message(EINVAL, text));
    }
    family_mismatch(v4, &[req.local, req.address])
}

/// A route request.
pub(crate) fn route(req: &RouteRepr) -> StackResult<()> {
    let (v4, _) = family(req.header.family)?;
    nlq::route_rules::check_shape(req)?;
    family_mismatch(v4, &[req.dst, req.src, req.prefsrc])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_the_server_refuses_are_refused() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = AddrRepr::new(ip("10.0.0.1"), 33, 2);
        assert_eq!(addr(&a, false).unwrap_err().errno, EINVAL);
        assert!(addr(&a, true).is_ok(), "an IPv4 delete does not check it");
        let a = AddrRepr::new(ip("2001:db8::1"), 129, 2);
        assert_eq!(addr(&a, true).unwrap_err().errno, EINVAL);
        let mut a = AddrRepr::new(ip("10.0.0.1"), 24, 2);
        a.local = Some(ip("2001:db8::1"));
        assert_eq!(addr(&a, false).unwrap_err().errno, EINVAL);
        let mut r = RouteRepr::new(ip("2001:db8::"), 129);
        assert_eq!(route(&r).unwrap_err().errno, EINVAL);
        r.header.dst_len = 64;
        assert!(route(&r).is_ok());
        r.prefsrc = Some(ip("10.0.0.1"));
        assert_eq!(route(&r).unwrap_err().errno, EINVAL);
        r.header.family = 7;
        assert!(route(&r).is_err());
    }
}
