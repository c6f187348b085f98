//! Prefixes and IPv6 address kinds: the one home of the masks, subnets
//! and link-local rules that the server, the emulations and the stacks
//! share.
//!
//! A prefix length longer than its family's width counts as the width
//! (`/40` of an IPv4 address is `/32`); nothing here panics.

use core::net::{IpAddr, Ipv6Addr};

/// The IPv4 netmask of `len` bits, in host order (`/24` is
/// `0xffff_ff00`, `/0` is 0).
pub fn mask4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

/// The IPv6 netmask of `len` bits.
pub fn mask6(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(len)))
        .unwrap_or(0)
}

/// `ip` with its host bits cleared: the network of `ip/len`.
pub fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask4(len)).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask6(len)).into()),
    }
}

/// Whether `addr` lies in `net/len`; no `net` is the default prefix
/// (it holds every address when `len` is 0). Families must match.
pub fn contains(net: Option<IpAddr>, len: u8, addr: IpAddr) -> bool {
    match (net, addr) {
        (None, _) => len == 0,
        (Some(IpAddr::V4(n)), IpAddr::V4(a)) => {
            u32::from(n) & mask4(len) == u32::from(a) & mask4(len)
        }
        (Some(IpAddr::V6(n)), IpAddr::V6(a)) => {
            u128::from(n) & mask6(len) == u128::from(a) & mask6(len)
        }
        _ => false,
    }
}

/// Whether `ip` is an IPv6 unicast link-local address (`fe80::/10`).
pub fn is_link_local6(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.is_unicast_link_local())
}

/// The link-local address IPv6 gives a link with hardware address `mac`
/// (modified EUI-64, RFC 4291 appendix A: the universal/local bit
/// flipped, `ff:fe` in the middle); missing bytes count as zero.
pub fn eui64_link_local(mac: &[u8]) -> Ipv6Addr {
    let m = |i: usize| u16::from(mac.get(i).copied().unwrap_or(0));
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        ((m(0) ^ 2) << 8) | m(1),
        (m(2) << 8) | 0xff,
        0xfe00 | m(3),
        (m(4) << 8) | m(5),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn masks_and_networks() {
        assert_eq!(mask4(24), 0xffff_ff00);
        assert_eq!((mask4(0), mask4(32), mask4(40)), (0, u32::MAX, u32::MAX));
        assert_eq!(
            (mask6(0), mask6(128), mask6(200)),
            (0, u128::MAX, u128::MAX)
        );
        assert_eq!(mask6(64), u128::MAX << 64);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(network(ip, 16), IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)));
        assert_eq!(Ipv4Addr::from(mask4(20)), Ipv4Addr::new(255, 255, 240, 0));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(network(v6, 32), "2001:db8::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn prefixes_contain_their_addresses() {
        let net = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)));
        assert!(contains(net, 8, IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))));
        assert!(!contains(net, 8, IpAddr::V4(Ipv4Addr::new(11, 0, 0, 1))));
        assert!(contains(None, 0, "::1".parse().unwrap()));
        assert!(!contains(None, 8, "::1".parse().unwrap()));
        assert!(!contains(net, 0, "::1".parse().unwrap()));
        let six = Some("2001:db8::".parse().unwrap());
        assert!(contains(six, 32, "2001:db8:1::1".parse().unwrap()));
    }

    #[test]
    fn link_locals() {
        assert!(is_link_local6(&"fe80::1".parse().unwrap()));
        assert!(is_link_local6(&"febf::1".parse().unwrap()));
        assert!(!is_link_local6(&"fec0::1".parse().unwrap()));
        assert!(!is_link_local6(&"10.0.0.1".parse().unwrap()));
        let ll = eui64_link_local(&[0x02, 0, 0, 0, 0, 1]);
        assert_eq!(ll, "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        let ll = eui64_link_local(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(ll, "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn prefixes_contain_their_addresses_v4() {
        let net = Some(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)));
        assert!(contains(net, 16, IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
        assert!(!contains(net, 16, IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1))));
        assert!(contains(None, 0, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))));
        assert!(contains(net, 0, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4))));
        assert!(!contains(net, 32, "::1".parse().unwrap()));
    }
}
