//! Validation shared by the owned reprs.

use core::net::IpAddr;

use super::attr::Attr;
use super::consts::{AF_INET, AF_INET6, AF_UNSPEC};
use super::{Error, ErrorKind, Part, Result};

/// Checks that `family` is IPv4 or IPv6 (or, when `unspec_ok`, `AF_UNSPEC`
/// with a zero prefix, as in dump requests) and that `prefix_len` fits it.
pub(crate) fn check_prefix(family: u8, prefix_len: u8, unspec_ok: bool) -> Result<()> {
    let max = match family {
        AF_INET => 32,
        AF_INET6 => 128,
        AF_UNSPEC if unspec_ok => 0,
        _ => return Err(Error::new(Part::Body, ErrorKind::BadFamily)),
    };
    if prefix_len > max {
        return Err(Error::new(Part::Body, ErrorKind::BadPrefix));
    }
    Ok(())
}

/// Checks that an address read from `attr` belongs to `family`.
#[inline]
pub(crate) fn check_ip(attr: &Attr<'_>, family: u8, ip: IpAddr) -> Result<IpAddr> {
    match (family, ip) {
        (AF_INET, IpAddr::V4(_)) | (AF_INET6, IpAddr::V6(_)) => Ok(ip),
        _ => Err(attr.error(ErrorKind::BadFamily)),
    }
}

/// The address family of `ip`.
#[inline]
pub(crate) fn family_of(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn prefixes() {
        assert!(check_prefix(AF_INET, 32, false).is_ok());
        assert_eq!(
            check_prefix(AF_INET, 33, false).unwrap_err().kind,
            ErrorKind::BadPrefix
        );
        assert!(check_prefix(AF_INET6, 128, false).is_ok());
        assert_eq!(
            check_prefix(AF_INET6, 129, false).unwrap_err().kind,
            ErrorKind::BadPrefix
        );
        assert!(check_prefix(AF_UNSPEC, 0, true).is_ok());
        assert_eq!(
            check_prefix(AF_UNSPEC, 0, false).unwrap_err().kind,
            ErrorKind::BadFamily
        );
        assert_eq!(
            check_prefix(7, 0, true).unwrap_err().kind,
            ErrorKind::BadFamily
        );
    }

    #[test]
    fn addresses_match_family() {
        let a = Attr::new(1, &[1, 2, 3, 4]);
        let ip = IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4));
        assert_eq!(check_ip(&a, AF_INET, ip), Ok(ip));
        assert_eq!(
            check_ip(&a, AF_INET6, ip).unwrap_err().kind,
            ErrorKind::BadFamily
        );
        assert_eq!(
            check_ip(&a, AF_UNSPEC, ip).unwrap_err().kind,
            ErrorKind::BadFamily
        );
        assert_eq!(family_of(&ip), AF_INET);
    }
}
