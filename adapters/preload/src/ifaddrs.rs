//! `getifaddrs` / `freeifaddrs` from the daemon's records.
//!
//! The list is built in ONE `malloc` block, as glibc builds its own: the
//! `struct ifaddrs` nodes first, then each node's name, socket addresses
//! (`sockaddr_ll` for link entries, `sockaddr_in` / `sockaddr_in6` for
//! address entries) and, for link entries, `ifa_data` (`struct
//! rtnl_link_stats`). Freeing the first node frees everything, so both
//! this `freeifaddrs` and glibc's (which just calls `free`) release it.
//!
//! [`layout`] computes the block as bytes plus the places where pointers
//! go (offsets into the block, relocated once it is allocated by
//! [`crate::sys::c_lists::materialize`]), so the layout is tested without
//! allocating.

use std::mem::{offset_of, size_of};

use libc::{c_int, ifaddrs};
use nlq::emulate::{IfAddrRecord, SockAddr};
use nlq::wire::LinkStats;
use nlq_remote::{self as remote, Request};

use crate::control;

/// A list laid out in one block: its bytes, and the pointers to patch
/// (`(at, target)`: write the address of byte `target` at offset `at`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Image {
    /// The block, pointers left zero.
    pub(crate) bytes: Vec<u8>,
    /// The pointers, as offsets into the block.
    pub(crate) pointers: Vec<(usize, usize)>,
}

/// Alignment of every part (pointers, `u32` counters, socket addresses).
const ALIGN: usize = 8;

fn align(n: usize) -> usize {
    n.saturating_add(ALIGN - 1) & !(ALIGN - 1)
}

/// `sockaddr_ll` with room for the longest hardware address (glibc's
/// `sockaddr_ll_max` has 24 bytes of `sll_addr`, the kernel's
/// `MAX_ADDR_LEN` is 32).
const SOCKADDR_LL_MAX: usize = 12 + nlq::wire::consts::MAX_ADDR_LEN;

/// The bytes of a socket address as the C structure.
pub(crate) fn sockaddr_bytes(sa: &SockAddr) -> Vec<u8> {
    match sa {
        SockAddr::Packet {
            ifindex,
            hatype,
            addr,
        } => {
            let hw = addr.as_slice();
            // struct sockaddr_ll: family, protocol 0, ifindex, hatype,
            // pkttype 0, halen, addr (at least 8 bytes).
            let mut b = Vec::with_capacity(SOCKADDR_LL_MAX);
            b.extend_from_slice(&(libc::AF_PACKET as u16).to_ne_bytes());
            b.extend_from_slice(&0u16.to_ne_bytes());
            b.extend_from_slice(&ifindex.to_ne_bytes());
            b.extend_from_slice(&hatype.to_ne_bytes());
            b.push(0);
            b.push(u8::try_from(hw.len()).unwrap_or(u8::MAX));
            b.extend_from_slice(hw);
            b.resize(b.len().max(size_of::<libc::sockaddr_ll>()), 0);
            b
        }
        SockAddr::Inet(a) => {
            // struct sockaddr_in: family, port 0, address, 8 zero bytes.
            let mut b = vec![0u8; size_of::<libc::sockaddr_in>()];
            put(&mut b, 0, &(libc::AF_INET as u16).to_ne_bytes());
            put(&mut b, 4, &a.octets());
            b
        }
        SockAddr::Inet6 { addr, scope_id } => {
            // struct sockaddr_in6: family, port 0, flowinfo 0, address,
            // scope id.
            let mut b = vec![0u8; size_of::<libc::sockaddr_in6>()];
            put(&mut b, 0, &(libc::AF_INET6 as u16).to_ne_bytes());
            put(&mut b, 8, &addr.octets());
            put(&mut b, 24, &scope_id.to_ne_bytes());
            b
        }
    }
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(at..at.saturating_add(v.len())) {
        d.copy_from_slice(v);
    }
}

/// Appends `part` to the image (aligned) and returns its offset.
fn append(bytes: &mut Vec<u8>, part: &[u8]) -> usize {
    let at = align(bytes.len());
    bytes.resize(at, 0);
    bytes.extend_from_slice(part);
    at
}

/// Lays out the `getifaddrs` list of `records` (empty: an empty image, the
/// list is NULL).
pub(crate) fn layout(records: &[IfAddrRecord]) -> Image {
    let node = size_of::<ifaddrs>();
    let mut img = Image {
        bytes: vec![0u8; node.saturating_mul(records.len())],
        pointers: Vec::new(),
    };
    for (i, rec) in records.iter().enumerate() {
        let base = node.saturating_mul(i);
        let field = |off: usize| base.saturating_add(off);
        if i.saturating_add(1) < records.len() {
            img.pointers.push((
                field(offset_of!(ifaddrs, ifa_next)),
                base.saturating_add(node),
            ));
        }
        let mut name = rec.name.as_bytes().to_vec();
        name.retain(|&b| b != 0);
        name.push(0);
        let at = append(&mut img.bytes, &name);
        img.pointers
            .push((field(offset_of!(ifaddrs, ifa_name)), at));
        put(
            &mut img.bytes,
            field(offset_of!(ifaddrs, ifa_flags)),
            &rec.flags.to_ne_bytes(),
        );
        let sockaddrs = [
            (offset_of!(ifaddrs, ifa_addr), &rec.addr),
            (offset_of!(ifaddrs, ifa_netmask), &rec.netmask),
            (offset_of!(ifaddrs, ifa_ifu), &rec.ifu),
        ];
        for (off, sa) in sockaddrs {
            if let Some(sa) = sa {
                let at = append(&mut img.bytes, &sockaddr_bytes(sa));
                img.pointers.push((field(off), at));
            }
        }
        if let Some(stats) = &rec.stats {
            let mut b = Vec::with_capacity(LinkStats::LEN);
            for v in stats.to_array() {
                b.extend_from_slice(&v.to_ne_bytes());
            }
            let at = append(&mut img.bytes, &b);
            img.pointers
                .push((field(offset_of!(ifaddrs, ifa_data)), at));
        }
    }
    img
}

/// The list from the daemon, laid out (see [`layout`]).
pub(crate) fn list_image() -> Result<Image, c_int> {
    let reply = control::request(&Request::IfAddrs)?;
    let records = remote::decode_ifaddrs(&reply).map_err(|_| libc::EIO)?;
    Ok(layout(&records))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nlq::wire::HwAddr;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Three records: a link, an IPv4 and an IPv6 address.
    pub(crate) fn records() -> Vec<IfAddrRecord> {
        let stats = LinkStats {
            rx_packets: 11,
            rx_nohandler: 24,
            ..LinkStats::default()
        };
        let mac = HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 1]).unwrap();
        vec![
            IfAddrRecord {
                name: "eth0".into(),
                flags: 0x1043,
                family: libc::AF_PACKET as u8,
                addr: Some(SockAddr::Packet {
                    ifindex: 2,
                    hatype: 1,
                    addr: mac,
                }),
                netmask: None,
                ifu: Some(SockAddr::Packet {
                    ifindex: 2,
                    hatype: 1,
                    addr: HwAddr::try_from_slice(&[0xff; 6]).unwrap(),
                }),
                stats: Some(stats),
            },
            IfAddrRecord {
                name: "eth0:1".into(),
                flags: 0x1043,
                family: libc::AF_INET as u8,
                addr: Some(SockAddr::Inet(Ipv4Addr::new(10, 1, 2, 3))),
                netmask: Some(SockAddr::Inet(Ipv4Addr::new(255, 255, 255, 0))),
                ifu: Some(SockAddr::Inet(Ipv4Addr::new(10, 1, 2, 255))),
                stats: None,
            },
            IfAddrRecord {
                name: "eth0".into(),
                flags: 0x1043,
                family: libc::AF_INET6 as u8,
                addr: Some(SockAddr::Inet6 {
                    addr: "fe80::1".parse::<Ipv6Addr>().unwrap(),
                    scope_id: 2,
                }),
                netmask: Some(SockAddr::Inet6 {
                    addr: "ffff:ffff:ffff:ffff::".parse::<Ipv6Addr>().unwrap(),
                    scope_id: 0,
                }),
                ifu: None,
                stats: None,
            },
        ]
    }

    #[test]
    fn sockaddrs_are_the_c_structures() {
        let sa = sockaddr_bytes(&SockAddr::Inet(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(sa.len(), 16);
        assert_eq!(sa[..2], 2u16.to_ne_bytes());
        assert_eq!(sa[2..8], [0, 0, 10, 1, 2, 3]);
        let sa = sockaddr_bytes(&SockAddr::Inet6 {
            addr: Ipv6Addr::LOCALHOST,
            scope_id: 9,
        });
        assert_eq!(sa.len(), 28);
        assert_eq!(sa[..2], 10u16.to_ne_bytes());
        assert_eq!(sa[23], 1);
        assert_eq!(sa[24..], 9u32.to_ne_bytes());
        let long = HwAddr::try_from_slice(&[7; 20]).unwrap();
        let sa = sockaddr_bytes(&SockAddr::Packet {
            ifindex: 3,
            hatype: 772,
            addr: long,
        });
        assert_eq!(sa.len(), 32);
        assert_eq!(sa[..2], 17u16.to_ne_bytes());
        assert_eq!(sa[4..8], 3i32.to_ne_bytes());
        assert_eq!(sa[8..10], 772u16.to_ne_bytes());
        assert_eq!(sa[11], 20);
        let short = sockaddr_bytes(&SockAddr::Packet {
            ifindex: 1,
            hatype: 772,
            addr: HwAddr::try_from_slice(&[0; 6]).unwrap(),
        });
        assert_eq!(short.len(), 20);
    }

    #[test]
    fn every_pointer_lands_inside_the_block() {
        let img = layout(&records());
        for &(at, target) in &img.pointers {
            assert!(at + 8 <= img.bytes.len() && target < img.bytes.len());
            assert_eq!(at % 8, 0);
            assert_eq!(target % 8, 0);
        }
        // Nodes, then per record name and sockaddrs: 3 nodes x 56 bytes.
        assert!(img.bytes.len() > 3 * 56);
    }
}
