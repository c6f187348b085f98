//! `/proc/net/igmp`, `/proc/net/igmp6` and `/proc/net/dev_mcast`: the
//! multicast groups each link has joined, as `ip maddr` reads them, made
//! from the links and IPv6 addresses the stack lists, by the kernel's
//! rules:
//!
//! - a link with IPv4 that is up has joined 224.0.0.1 (`ip_mc_up`); a
//!   bridge that is up also 224.0.0.106 and ff02::6a (its multicast
//!   router discovery), just before;
//! - a link with IPv6 has joined ff01::1 and ff02::1 from its start, and
//!   the solicited-node group of each of its IPv6 addresses when the
//!   address came (not `lo`, nor a link without ARP);
//! - a link that is not `lo` has the link-layer address of each group it
//!   joined (but interface-local ones), once, in the order it joined them.
//!
//! The kernel lists each link's IP groups newest first and its link-layer
//! addresses oldest first; here the addresses' groups are taken as joined
//! in the order the addresses came (the stack lists them newest first, as
//! Linux does), after what a link's start and its going up brought.
//! A sequence where addresses came before the link went up lists the
//! link-layer addresses of going up first rather than last.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{IpAddr, Ipv6Addr};

use super::{collect_addrs, collect_links, link_name};
use crate::errno::Errno;
use crate::stack::{Mc6Load, Stack};
use crate::wire::consts::*;
use crate::wire::{Attrs, LinkRepr};

/// Whether the link has its IPv4 (`in_device`) or IPv6 (`inet6_dev`)
/// device: what its `IFLA_AF_SPEC` says, else by its MTU.
fn has_family(l: &LinkRepr, family: u8) -> bool {
    if let Some(spec) = &l.af_spec {
        return Attrs::new(spec)
            .find(u16::from(family))
            .ok()
            .flatten()
            .is_some();
    }
    let mtu = l.mtu.unwrap_or(0);
    match family {
        AF_INET => mtu >= 68,
        _ => mtu >= 1280 || is_loopback(l),
    }
}

fn is_loopback(l: &LinkRepr) -> bool {
    l.header.flags & IFF_LOOPBACK != 0
}

fn is_up(l: &LinkRepr) -> bool {
    l.header.flags & IFF_UP != 0
}

fn is_bridge(l: &LinkRepr) -> bool {
    l.info
        .as_ref()
        .and_then(|i| i.kind.as_ref())
        .is_some_and(|k| k.as_str() == "bridge")
}

/// `ff02::1:ffXX:XXXX` of `a`.
fn solicited(a: &Ipv6Addr) -> Ipv6Addr {
    let low = u128::from(*a) & 0xff_ffff;
    Ipv6Addr::from(0xff02_0000_0000_0000_0000_0001_ff00_0000u128 | low)
}

/// A link's IPv6 groups, newest first, with their users.
fn groups6(l: &LinkRepr, addrs: &[Ipv6Addr]) -> Vec<(Ipv6Addr, u32)> {
    // Joined oldest first (the stack lists addresses newest first); a
    // group joined again gains a user and keeps its place.
    let mut joined: Vec<(Ipv6Addr, u32)> = Vec::new();
    if !is_loopback(l) && l.header.flags & IFF_NOARP == 0 {
        for a in addrs.iter().rev() {
            let g = solicited(a);
            match joined.iter_mut().find(|(x, _)| *x == g) {
                Some((_, users)) => *users = users.saturating_add(1),
                None => joined.push((g, 1)),
            }
        }
    }
    let mut out: Vec<(Ipv6Addr, u32)> = joined.into_iter().rev().collect();
    if is_bridge(l) && is_up(l) {
        out.push((Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x6a), 1));
    }
    out.push((Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 1));
    out.push((Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 1), 1));
    out
}

/// A link's IPv4 groups, newest first.
fn groups4(l: &LinkRepr) -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    if is_up(l) && has_family(l, AF_INET) {
        out.push([224, 0, 0, 1]);
        if is_bridge(l) {
            out.push([224, 0, 0, 106]);
        }
    }
    out
}

/// The IPv6 addresses of each link, in the stack's order.
fn v6_addrs<S: Stack + ?Sized>(stack: &S) -> Result<Vec<(u32, Ipv6Addr)>, Errno> {
    Ok(collect_addrs(stack, AF_INET6)?
        .iter()
        .filter_map(|a| match a.local.or(a.address) {
            Some(IpAddr::V6(ip)) => Some((a.header.index, ip)),
            _ => None,
        })
        .collect())
}

fn addrs_of(all: &[(u32, Ipv6Addr)], index: u32) -> Vec<Ipv6Addr> {
    all.iter()
        .filter(|(i, _)| *i == index)
        .map(|(_, a)| *a)
        .collect()
}

/// The text of `/proc/net/igmp` (`igmp_mc_seq_show`): its header, then
/// per link with groups a line (index, name, count, querier `V3`) and a
/// line per group (the address as the kernel prints a `__be32` with
/// `%08X` on a little-endian machine, one user, no timer).
pub fn proc_igmp<S: Stack + ?Sized>(stack: &S) -> Result<String, Errno> {
    let mut out = String::from("Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n");
    for l in collect_links(stack)? {
        let groups = groups4(&l);
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}\t{:<10}: {:>5} {:>7}",
            l.header.index,
            link_name(&l),
            groups.len(),
            "V3"
        );
        for g in groups {
            let _ = writeln!(
                out,
                "\t\t\t\t{:08X} {:>5} 0:00000000\t\t0",
                u32::from_le_bytes(g),
                1
            );
        }
    }
    Ok(out)
}

/// The text of `/proc/net/igmp6` (`igmp6_mc_seq_show`): per link with
/// IPv6 and per group, newest first: index, name, the group without
/// colons, users, flags (loaded into the device, and no reports for
/// ff02::1 and ff01::1), no timer.
pub fn proc_igmp6<S: Stack + ?Sized>(stack: &S) -> Result<String, Errno> {
    let addrs = v6_addrs(stack)?;
    let mut out = String::new();
    for l in collect_links(stack)? {
        if !has_family(&l, AF_INET6) {
            continue;
        }
        for (g, users) in groups6(&l, &addrs_of(&addrs, l.header.index)) {
            let flags: u32 = match g.segments() {
                [0xff02, 0, 0, 0, 0, 0, 0, 1] => 0x0c,
                [0xff01, ..] => 0x08,
                _ => 0x04,
            };
            let _ = writeln!(
                out,
                "{:<4} {:<15} {:032x} {:>5} {:08X} 0",
                l.header.index,
                link_name(&l),
                u128::from(g),
                users,
                flags
            );
        }
    }
    Ok(out)
}

/// The text of `/proc/net/dev_mcast` (`dev_mc_seq_show`): per link but
/// `lo` and per link-layer address of its groups, oldest first: index,
/// name, one reference, not global, the address in hex.
pub fn proc_dev_mcast<S: Stack + ?Sized>(stack: &S) -> Result<String, Errno> {
    let addrs = v6_addrs(stack)?;
    let links = collect_links(stack)?;
    let mut lists: Vec<(u32, McList)> = links
        .iter()
        .map(|l| {
            let load = stack.ipv6_mc_load(l.header.index);
            let own = link_macs(l, &addrs_of(&addrs, l.header.index), load);
            (l.header.index, own.into_iter().map(|m| (m, 1)).collect())
        })
        .collect();
    // `dev_mc_sync`: an open macvlan's addresses are on its lower link's
    // list too (a new one last, one there gaining a user), and each
    // gains a user on its own list.
    for l in links.iter().filter(|l| is_macvlan(l) && is_up(l)) {
        let (index, lower) = (l.header.index, l.link.unwrap_or(0));
        let mut synced = Vec::new();
        if let Some((_, own)) = lists.iter_mut().find(|(i, _)| *i == index) {
            for (m, users) in own.iter_mut() {
                *users = users.saturating_add(1);
                synced.push(*m);
            }
        }
        if let Some((_, list)) = lists.iter_mut().find(|(i, _)| *i == lower) {
            for m in synced {
                match list.iter_mut().find(|(x, _)| *x == m) {
                    Some((_, users)) => *users = users.saturating_add(1),
                    None => list.push((m, 1)),
                }
            }
        }
    }
    let mut out = String::new();
    for (l, (_, macs)) in links.iter().zip(&lists) {
        for (m, users) in macs {
            let _ = writeln!(
                out,
                "{:<4} {:<15} {:<5} {:<5} {:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                l.header.index,
                link_name(l),
                users,
                0,
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5]
            );
        }
    }
    Ok(out)
}

/// A link's link-layer multicast addresses, with their users.
type McList = Vec<([u8; 6], u32)>;

fn is_macvlan(l: &LinkRepr) -> bool {
    l.info
        .as_ref()
        .and_then(|i| i.kind.as_ref())
        .is_some_and(|k| k.as_str() == "macvlan")
}

/// The link-layer addresses of link `l`'s own groups (`addrs`: its IPv6
/// addresses, newest first), oldest first; none on `lo`. `load`: how its
/// IPv6 groups stand there (off after a link that was ready went down; put
/// back newest first, after what its opening brought, once ready again).
fn link_macs(l: &LinkRepr, addrs: &[Ipv6Addr], load: Mc6Load) -> Vec<[u8; 6]> {
    if is_loopback(l) {
        return Vec::new();
    }
    let mut macs: Vec<[u8; 6]> = Vec::new();
    let mut push = |m: [u8; 6]| {
        if !macs.contains(&m) {
            macs.push(m);
        }
    };
    let v6 = |g: Ipv6Addr| {
        let o = g.octets();
        [0x33, 0x33, o[12], o[13], o[14], o[15]]
    };
    let v4 = |g: [u8; 4]| [0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]];
    let all_nodes = v6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1));
    let inet6 = has_family(l, AF_INET6);
    if inet6 && load == Mc6Load::Initial {
        push(all_nodes);
    }
    if is_up(l) && is_bridge(l) {
        if has_family(l, AF_INET) {
            push(v4([224, 0, 0, 106]));
        }
        if inet6 {
            push(v6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x6a)));
        }
    }
    if is_up(l) && has_family(l, AF_INET) {
        push(v4([224, 0, 0, 1]));
    }
    if !inet6 {
        return macs;
    }
    match load {
        Mc6Load::Unloaded => {}
        Mc6Load::Reloaded => {
            // The groups that stayed (those of the addresses that stayed:
            // not link-local ones), newest first, then the link-local
            // addresses' as they came back.
            let resolves = l.header.flags & IFF_NOARP == 0;
            for a in addrs
                .iter()
                .filter(|a| resolves && !a.is_unicast_link_local())
            {
                push(v6(solicited(a)));
            }
            push(all_nodes);
            for a in addrs
                .iter()
                .rev()
                .filter(|a| resolves && a.is_unicast_link_local())
            {
                push(v6(solicited(a)));
            }
        }
        _ => {
            for (g, _) in groups6(l, addrs).iter().rev() {
                if g.segments()[0] == 0xff02 {
                    push(v6(*g));
                }
            }
        }
    }
    macs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IfName, LinkInfoRepr};

    fn link(index: u32, name: &str, flags: u32, bridge: bool) -> LinkRepr {
        let mut l = LinkRepr::default();
        l.header.index = index;
        l.header.flags = flags;
        l.name = IfName::new(name, crate::wire::Part::Body).ok();
        l.mtu = Some(if index == 1 { 65536 } else { 1500 });
        if bridge {
            l.info = Some(LinkInfoRepr {
                kind: crate::wire::InlineStr::new("bridge", crate::wire::Part::Body).ok(),
                ..LinkInfoRepr::default()
            });
        }
        l
    }

    #[test]
    fn a_bridge_that_is_up_with_addresses_as_the_kernel_shows_it() {
        let b0 = link(2, "b0", IFF_UP | IFF_BROADCAST | IFF_MULTICAST, true);
        assert_eq!(groups4(&b0), [[224, 0, 0, 1], [224, 0, 0, 106]]);
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let groups = groups6(&b0, &[a("2001:db9::1"), a("2001:db8::2"), a("2001:db8::1")]);
        let shown: Vec<(String, u32)> = groups
            .iter()
            .map(|(g, u)| (alloc::format!("{g}"), *u))
            .collect();
        assert_eq!(
            shown,
            [
                ("ff02::1:ff00:2".into(), 1),
                ("ff02::1:ff00:1".into(), 2),
                ("ff02::6a".into(), 1),
                ("ff02::1".into(), 1),
                ("ff01::1".into(), 1),
            ]
        );
        let lo = link(1, "lo", IFF_UP | IFF_LOOPBACK, false);
        assert_eq!(groups6(&lo, &[a("::1")]).len(), 2);
        let down = link(3, "b1", 0, true);
        assert!(groups4(&down).is_empty());
    }

    #[test]
    fn groups_leave_the_link_layer_list_with_readiness_and_come_back_newest_first() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        // Newest first, as the stack lists them.
        let addrs = [a("fe80::1:2:3"), a("2001:db8::2"), a("2001:db8::1")];
        let hex = |macs: Vec<[u8; 6]>| -> Vec<String> {
            macs.iter()
                .map(|m| m.iter().map(|b| alloc::format!("{b:02x}")).collect())
                .collect()
        };
        let up = link(2, "b0", IFF_UP | IFF_BROADCAST | IFF_MULTICAST, true);
        assert_eq!(
            hex(link_macs(&up, &addrs, Mc6Load::Initial)),
            [
                "333300000001",
                "01005e00006a",
                "33330000006a",
                "01005e000001",
                "3333ff000001",
                "3333ff000002",
                "3333ff020003"
            ]
        );
        assert_eq!(
            hex(link_macs(&up, &addrs, Mc6Load::Reloaded)),
            [
                "01005e00006a",
                "33330000006a",
                "01005e000001",
                "3333ff000002",
                "3333ff000001",
                "333300000001",
                "3333ff020003"
            ]
        );
        let down = link(2, "b0", IFF_BROADCAST | IFF_MULTICAST, true);
        assert!(link_macs(&down, &addrs[1..], Mc6Load::Unloaded).is_empty());
        assert_eq!(
            hex(link_macs(&down, &addrs[1..], Mc6Load::Initial)),
            ["333300000001", "3333ff000001", "3333ff000002"]
        );
    }
}
