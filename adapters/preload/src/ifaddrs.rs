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
//! go (offsets into the block, relocated once it is allocated), so the
//! layout is tested without allocating.

use std::mem::{offset_of, size_of};

use libc::{c_int, ifaddrs};
use nlq::emulate::{IfAddrRecord, SockAddr};
use nlq::remote::{self, Request};
use nlq::wire::LinkStats;

use crate::config;
use crate::control;
use crate::ffi::{fail, guard};
use crate::real;

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

/// Copies an image into one `malloc` block and relocates its pointers:
/// the list's head (NULL for an empty image).
fn materialize(img: &Image) -> Result<*mut ifaddrs, c_int> {
    if img.bytes.is_empty() {
        return Ok(std::ptr::null_mut());
    }
    // SAFETY: plain allocation.
    let p = unsafe { libc::malloc(img.bytes.len()) }.cast::<u8>();
    if p.is_null() {
        return Err(libc::ENOMEM);
    }
    // SAFETY: `p` has `img.bytes.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(img.bytes.as_ptr(), p, img.bytes.len()) };
    for &(at, target) in &img.pointers {
        let fits = at
            .checked_add(size_of::<usize>())
            .is_some_and(|end| end <= img.bytes.len())
            && target < img.bytes.len();
        if fits {
            // SAFETY: `at..at + 8` and `target` lie inside the block.
            unsafe {
                p.add(at)
                    .cast::<usize>()
                    .write_unaligned(p.add(target) as usize)
            };
        }
    }
    Ok(p.cast())
}

/// The list from the daemon.
fn build() -> Result<*mut ifaddrs, c_int> {
    let reply = control::request(&Request::IfAddrs)?;
    let records = remote::decode_ifaddrs(&reply).map_err(|_| libc::EIO)?;
    materialize(&layout(&records))
}

/// `getifaddrs(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getifaddrs(ifap: *mut *mut ifaddrs) -> c_int {
    guard(-1, || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::getifaddrs(ifap) };
        }
        if ifap.is_null() {
            return fail(libc::EFAULT, -1);
        }
        match build() {
            Ok(head) => {
                // SAFETY: `ifap` is valid (the caller's promise).
                unsafe { *ifap = head };
                0
            }
            Err(e) => fail(e, -1),
        }
    })
}

/// `freeifaddrs(3)`: the list is one block (see the module docs).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn freeifaddrs(ifa: *mut ifaddrs) {
    guard((), || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::freeifaddrs(ifa) };
        }
        // SAFETY: `ifa` is NULL or a list from `getifaddrs`, one block.
        unsafe { libc::free(ifa.cast()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::HwAddr;
    use std::ffi::CStr;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn records() -> Vec<IfAddrRecord> {
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
    fn empty_list_is_null() {
        assert_eq!(layout(&[]), Image::default());
        assert!(materialize(&layout(&[])).unwrap().is_null());
    }

    #[test]
    fn the_block_reads_back_as_a_c_list_and_frees_with_one_free() {
        let recs = records();
        let head = materialize(&layout(&recs)).unwrap();
        // SAFETY: `head` is the list just built; read as C would.
        unsafe {
            let mut seen = Vec::new();
            let mut p = head;
            while let Some(ifa) = p.as_ref() {
                seen.push((
                    CStr::from_ptr(ifa.ifa_name).to_str().unwrap().to_string(),
                    ifa.ifa_flags,
                    ifa.ifa_addr.as_ref().map(|a| a.sa_family),
                    !ifa.ifa_data.is_null(),
                ));
                p = ifa.ifa_next;
            }
            assert_eq!(
                seen,
                vec![
                    ("eth0".to_string(), 0x1043, Some(17), true),
                    ("eth0:1".to_string(), 0x1043, Some(2), false),
                    ("eth0".to_string(), 0x1043, Some(10), false),
                ]
            );
            let first = &*head;
            let ll = &*first.ifa_addr.cast::<libc::sockaddr_ll>();
            assert_eq!((ll.sll_ifindex, ll.sll_hatype, ll.sll_halen), (2, 1, 6));
            assert_eq!(ll.sll_addr[..6], [2, 0, 0, 0, 0, 1]);
            let stats = std::slice::from_raw_parts(first.ifa_data.cast::<u32>(), 24);
            assert_eq!((stats[0], stats[23]), (11, 24));
            let second = &*first.ifa_next;
            let sin = &*second.ifa_netmask.cast::<libc::sockaddr_in>();
            assert_eq!(sin.sin_addr.s_addr, u32::from_ne_bytes([255, 255, 255, 0]));
            let bcast = &*second.ifa_ifu.cast::<libc::sockaddr_in>();
            assert_eq!(bcast.sin_addr.s_addr, u32::from_ne_bytes([10, 1, 2, 255]));
            let third = &*second.ifa_next;
            let sin6 = &*third.ifa_addr.cast::<libc::sockaddr_in6>();
            assert_eq!(sin6.sin6_scope_id, 2);
            assert!(third.ifa_ifu.is_null());
            assert!(third.ifa_next.is_null());
            libc::free(head.cast());
        }
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
