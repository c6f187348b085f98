//! `getifaddrs` records, as glibc builds them from a link and an address
//! dump.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{collect_addrs, collect_links, link_name};
use crate::errno::Errno;
use crate::stack::Stack;
use crate::wire::consts::{AF_INET, AF_INET6, AF_PACKET, AF_UNSPEC};
use crate::wire::{AddrRepr, HwAddr, LinkRepr, LinkStats, LinkStats64};

/// A socket address of a `getifaddrs` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr {
    /// `sockaddr_ll` (`AF_PACKET`): a link-layer address.
    Packet {
        /// `sll_ifindex`.
        ifindex: u32,
        /// `sll_hatype`: the link's `ARPHRD_*` type.
        hatype: u16,
        /// `sll_addr` (`sll_halen` is its length).
        addr: HwAddr,
    },
    /// `sockaddr_in` (`AF_INET`).
    Inet(Ipv4Addr),
    /// `sockaddr_in6` (`AF_INET6`).
    Inet6 {
        /// `sin6_addr`.
        addr: Ipv6Addr,
        /// `sin6_scope_id`: the link's index for link-local unicast and
        /// multicast addresses, else 0.
        scope_id: u32,
    },
}

impl SockAddr {
    /// The `sa_family`: `AF_PACKET`, `AF_INET` or `AF_INET6`.
    pub fn family(&self) -> u8 {
        match self {
            SockAddr::Packet { .. } => AF_PACKET,
            SockAddr::Inet(_) => AF_INET,
            SockAddr::Inet6 { .. } => AF_INET6,
        }
    }

    /// The `sockaddr_in` / `sockaddr_in6` of an IP address; link-local
    /// IPv6 addresses get `index` as scope id, as glibc gives them.
    fn ip(ip: IpAddr, index: u32) -> Self {
        match ip {
            IpAddr::V4(a) => SockAddr::Inet(a),
            IpAddr::V6(a) => {
                // fe80::/10, or a multicast address of link scope
                // (ff02::/16 and the other ffx2).
                let link_scoped = a.is_unicast_link_local()
                    || a.segments().first().is_some_and(|&s| s & 0xff0f == 0xff02);
                SockAddr::Inet6 {
                    addr: a,
                    scope_id: if link_scoped { index } else { 0 },
                }
            }
        }
    }
}

/// One entry of the `getifaddrs` list (`struct ifaddrs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddrRecord {
    /// `ifa_name`: the link's name, or for an address its label.
    pub name: String,
    /// `ifa_flags`: the link's `IFF_*` flags (all 32 bits of `ifi_flags`).
    pub flags: u32,
    /// What the entry describes: `AF_PACKET` for a link, `AF_INET` /
    /// `AF_INET6` for an address. (A link without a link-layer address has
    /// no `addr`, as glibc leaves `ifa_addr` NULL then.)
    pub family: u8,
    /// `ifa_addr`: the link-layer address, or the local address.
    pub addr: Option<SockAddr>,
    /// `ifa_netmask`: the netmask of an address's prefix.
    pub netmask: Option<SockAddr>,
    /// `ifa_ifu`: the broadcast address, or on a point-to-point link the
    /// peer (a union in C: [`IfAddrRecord::broadaddr`] and
    /// [`IfAddrRecord::dstaddr`] read it by the flags, as the C macros are
    /// meant to be used).
    pub ifu: Option<SockAddr>,
    /// `ifa_data` of a link: its counters (`struct rtnl_link_stats`).
    pub stats: Option<LinkStats>,
}

impl IfAddrRecord {
    /// `ifa_broadaddr`: [`IfAddrRecord::ifu`] when the link has
    /// `IFF_BROADCAST`.
    pub fn broadaddr(&self) -> Option<&SockAddr> {
        self.ifu
            .as_ref()
            .filter(|_| self.flags & crate::wire::consts::IFF_BROADCAST != 0)
    }

    /// `ifa_dstaddr`: [`IfAddrRecord::ifu`] when the link has
    /// `IFF_POINTOPOINT`.
    pub fn dstaddr(&self) -> Option<&SockAddr> {
        self.ifu
            .as_ref()
            .filter(|_| self.flags & crate::wire::consts::IFF_POINTOPOINT != 0)
    }
}

/// `getifaddrs`: the records glibc builds from a link dump and an address
/// dump, in glibc's order: one `AF_PACKET` record per link, in link order,
/// then one record per address (`AF_UNSPEC` dump), in the stack's order.
///
/// - A link record has the link's name and flags, its link-layer address
///   (`IFLA_ADDRESS`) and broadcast (`IFLA_BROADCAST`) as `sockaddr_ll`, and
///   its counters: `IFLA_STATS`, or `IFLA_STATS64` cut to 32 bits as the
///   kernel fills `IFLA_STATS` from them.
/// - An address record has the address's label (else its link's name), the
///   link's flags, the local address (`IFA_LOCAL`, else `IFA_ADDRESS`), the
///   netmask of its prefix, and in `ifu` the broadcast address, else, when
///   both `IFA_LOCAL` and `IFA_ADDRESS` are given, `IFA_ADDRESS` (the peer;
///   glibc keeps it even when it equals the local address, as for
///   `127.0.0.1` on `lo`). IPv6 link-local addresses carry the link's index
///   as scope id.
/// - Addresses of links the link dump did not show are left out (glibc
///   retries until the dumps agree).
///
/// The stack's errno when a dump fails.
pub fn getifaddrs<S: Stack + ?Sized>(stack: &S) -> Result<Vec<IfAddrRecord>, Errno> {
    let links = collect_links(stack)?;
    let addrs = collect_addrs(stack, AF_UNSPEC)?;
    let mut out: Vec<IfAddrRecord> = links.iter().map(link_record).collect();
    for a in &addrs {
        let Some(link) = links.iter().find(|l| l.header.index == a.header.index) else {
            continue;
        };
        if let Some(r) = addr_record(a, link) {
            out.push(r);
        }
    }
    Ok(out)
}

fn link_record(l: &LinkRepr) -> IfAddrRecord {
    let ll = |addr: &Option<HwAddr>| {
        addr.map(|addr| SockAddr::Packet {
            ifindex: l.header.index,
            hatype: l.header.hardware_type,
            addr,
        })
    };
    IfAddrRecord {
        name: link_name(l).to_string(),
        flags: l.header.flags,
        family: AF_PACKET,
        addr: ll(&l.address),
        netmask: None,
        ifu: ll(&l.broadcast),
        stats: l.stats.or_else(|| l.stats64.as_ref().map(narrow)),
    }
}

fn addr_record(a: &AddrRepr, link: &LinkRepr) -> Option<IfAddrRecord> {
    let family = a.header.family;
    if family != AF_INET && family != AF_INET6 {
        return None;
    }
    let index = a.header.index;
    let sa = |ip: Option<IpAddr>| ip.map(|ip| SockAddr::ip(ip, index));
    let addr = sa(a.local.or(a.address));
    let ifu = match (a.broadcast, a.local, a.address) {
        (Some(b), _, _) => sa(Some(b)),
        (None, Some(_), Some(peer)) => sa(Some(peer)),
        _ => None,
    };
    let netmask = addr.map(|_| netmask(family, a.header.prefix_len));
    let name = a
        .label
        .as_ref()
        .map_or_else(|| link_name(link).to_string(), |l| l.to_string());
    Some(IfAddrRecord {
        name,
        flags: link.header.flags,
        family,
        addr,
        netmask,
        ifu,
        stats: None,
    })
}

/// The netmask of `prefix_len` bits (capped at the family's width).
fn netmask(family: u8, prefix_len: u8) -> SockAddr {
    if family == AF_INET {
        SockAddr::Inet(Ipv4Addr::from(crate::prefix::mask4(prefix_len)))
    } else {
        SockAddr::Inet6 {
            addr: Ipv6Addr::from(crate::prefix::mask6(prefix_len)),
            scope_id: 0,
        }
    }
}

/// 64-bit counters cut to the 32 bits of `struct rtnl_link_stats`, as the
/// kernel's `copy_rtnl_link_stats` does.
fn narrow(s: &LinkStats64) -> LinkStats {
    // Truncation is the point: the kernel copies the low 32 bits.
    #[allow(clippy::cast_possible_truncation)]
    let t = |v: u64| v as u32;
    LinkStats {
        rx_packets: t(s.rx_packets),
        tx_packets: t(s.tx_packets),
        rx_bytes: t(s.rx_bytes),
        tx_bytes: t(s.tx_bytes),
        rx_errors: t(s.rx_errors),
        tx_errors: t(s.tx_errors),
        rx_dropped: t(s.rx_dropped),
        tx_dropped: t(s.tx_dropped),
        multicast: t(s.multicast),
        collisions: t(s.collisions),
        rx_length_errors: t(s.rx_length_errors),
        rx_over_errors: t(s.rx_over_errors),
        rx_crc_errors: t(s.rx_crc_errors),
        rx_frame_errors: t(s.rx_frame_errors),
        rx_fifo_errors: t(s.rx_fifo_errors),
        rx_missed_errors: t(s.rx_missed_errors),
        tx_aborted_errors: t(s.tx_aborted_errors),
        tx_carrier_errors: t(s.tx_carrier_errors),
        tx_fifo_errors: t(s.tx_fifo_errors),
        tx_heartbeat_errors: t(s.tx_heartbeat_errors),
        tx_window_errors: t(s.tx_window_errors),
        rx_compressed: t(s.rx_compressed),
        tx_compressed: t(s.tx_compressed),
        rx_nohandler: t(s.rx_nohandler),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::fixture;
    use crate::stack::{StackResult, Visit};
    use crate::wire::consts::*;

    fn v4(a: [u8; 4]) -> Option<SockAddr> {
        Some(SockAddr::Inet(Ipv4Addr::from(a)))
    }

    fn v6(s: &str, scope_id: u32) -> Option<SockAddr> {
        Some(SockAddr::Inet6 {
            addr: s.parse().unwrap(),
            scope_id,
        })
    }

    #[test]
    fn records_in_glibc_order() {
        let s = fixture();
        let r = getifaddrs(&s).unwrap();
        let summary: Vec<_> = r.iter().map(|r| (r.name.as_str(), r.family)).collect();
        assert_eq!(
            summary,
            [
                ("lo", AF_PACKET),
                ("eth0", AF_PACKET),
                ("tun0", AF_PACKET),
                ("lo", AF_INET),
                ("eth0", AF_INET),
                ("eth0:1", AF_INET),
                ("eth0", AF_INET),
                ("tun0", AF_INET),
                ("lo", AF_INET6),
                ("eth0", AF_INET6),
                ("eth0", AF_INET6),
            ]
        );

        // Links.
        let eth = &r[1];
        assert_eq!(eth.flags, 0x11043);
        assert_eq!(
            eth.addr,
            Some(SockAddr::Packet {
                ifindex: 2,
                hatype: ARPHRD_ETHER,
                addr: HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 1]).unwrap()
            })
        );
        assert_eq!(eth.addr.unwrap().family(), AF_PACKET);
        assert!(
            matches!(eth.broadaddr(), Some(SockAddr::Packet { addr, .. }) if addr.as_slice() == [0xff; 6])
        );
        assert_eq!(eth.dstaddr(), None);
        assert_eq!(eth.netmask, None);
        assert_eq!(eth.stats.unwrap().rx_bytes, 123456);
        // lo has only 64-bit counters: cut to 32 bits.
        assert_eq!(r[0].stats.unwrap().rx_bytes, u32::MAX);
        assert_eq!(r[0].stats.unwrap().rx_packets, 58);
        // tun0 has no link-layer address and no counters.
        assert_eq!((r[2].addr, r[2].ifu, r[2].stats), (None, None, None));

        // IPv4 addresses.
        let lo = &r[3];
        assert_eq!(lo.flags, 0x10049);
        assert_eq!(
            (lo.addr, lo.netmask),
            (v4([127, 0, 0, 1]), v4([255, 0, 0, 0]))
        );
        assert_eq!(lo.ifu, v4([127, 0, 0, 1]), "IFA_ADDRESS beside IFA_LOCAL");
        assert_eq!(lo.broadaddr(), None);
        let eth = &r[4];
        assert_eq!(
            (eth.addr, eth.netmask),
            (v4([10, 0, 0, 1]), v4([255, 255, 255, 0]))
        );
        assert_eq!(eth.broadaddr(), v4([10, 0, 0, 255]).as_ref());
        assert_eq!(eth.flags, 0x11043);
        assert_eq!(eth.stats, None);
        let tun = &r[7];
        assert_eq!(tun.name, "tun0", "no label: the link's name");
        assert_eq!((tun.addr, tun.netmask), (v4([10, 9, 0, 1]), v4([255; 4])));
        assert_eq!(tun.dstaddr(), v4([10, 9, 0, 2]).as_ref());

        // IPv6 addresses: only IFA_ADDRESS, so no ifu; link-local scoped.
        assert_eq!((r[8].addr, r[8].ifu), (v6("::1", 0), None));
        assert_eq!(
            r[8].netmask,
            v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0)
        );
        assert_eq!(r[9].addr, v6("fe80::1", 2));
        assert_eq!(r[9].netmask, v6("ffff:ffff:ffff:ffff::", 0));
        assert_eq!(r[10].addr, v6("2001:db8::1", 0));
    }

    #[test]
    fn scope_ids() {
        for (a, scoped) in [
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", false),
            ("ff02::1", true),
            ("ff12::1", true),
            ("ff05::1", false),
            ("2001:db8::1", false),
        ] {
            let sa = SockAddr::ip(IpAddr::V6(a.parse().unwrap()), 7);
            assert!(
                matches!(sa, SockAddr::Inet6 { scope_id, .. } if (scope_id == 7) == scoped),
                "{a}"
            );
        }
    }

    #[test]
    fn addresses_of_unknown_links_are_dropped() {
        let mut s = fixture();
        s.addrs[0].header.index = 42;
        let r = getifaddrs(&s).unwrap();
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|r| r.name != "lo" || r.family != AF_INET));
    }

    #[test]
    fn failing_dumps() {
        struct LinksOnly;
        impl Stack for LinksOnly {
            fn links(&self, _: usize, _: Visit<'_, LinkRepr>) -> StackResult<()> {
                Ok(())
            }
        }
        assert_eq!(getifaddrs(&LinksOnly), Err(Errno::EOPNOTSUPP));
    }
}
