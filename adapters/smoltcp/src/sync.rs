//! Putting the configuration on smoltcp: each event as it comes, or the
//! whole of it after a link change. Nothing here can make smoltcp panic:
//! only unicast addresses and prefixes within their family's length are
//! handed over, and a full table drops the entry (the model's admission
//! keeps that from happening).

use std::net::IpAddr;

use nlq::stack::Event;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, LinkStats, LinkStats64, RouteRepr};
use smoltcp::iface::{Interface, Route};
use smoltcp::phy::Device;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Cidr, Ipv6Cidr};

use crate::device::{Counters, LinkDevice};
use crate::hash::FastSet;
use crate::model::Model;

/// An address smoltcp takes: unicast, a valid prefix.
fn cidr(ip: IpAddr, len: u8) -> Option<IpCidr> {
    match ip {
        IpAddr::V4(a) => {
            let ok = len <= 32 && !(a.is_broadcast() || a.is_multicast() || a.is_unspecified());
            ok.then(|| IpCidr::Ipv4(Ipv4Cidr::new(a, len)))
        }
        IpAddr::V6(a) => {
            let ok = len <= 128 && !(a.is_multicast() || a.is_unspecified());
            ok.then(|| IpCidr::Ipv6(Ipv6Cidr::new(a, len)))
        }
    }
}

/// A prefix: any address, a valid length.
fn prefix(ip: IpAddr, len: u8) -> Option<IpCidr> {
    match ip {
        IpAddr::V4(a) => (len <= 32).then(|| IpCidr::Ipv4(Ipv4Cidr::new(a, len))),
        IpAddr::V6(a) => (len <= 128).then(|| IpCidr::Ipv6(Ipv6Cidr::new(a, len))),
    }
}

/// The address of an address event, if smoltcp holds it (IPv6 addresses
/// once out of duplicate address detection).
fn addr_cidr(a: &AddrRepr) -> Option<(IpCidr, bool)> {
    let ip = a.local.or(a.address)?;
    let tentative = a.flags.unwrap_or(u32::from(a.header.flags)) & IFA_F_TENTATIVE != 0;
    Some((cidr(ip, a.header.prefix_len)?, !tentative))
}

/// The smoltcp route of a route event, if it is one smoltcp holds.
fn route_of(r: &RouteRepr, index: u32) -> Option<Route> {
    let gw = r.gateway?;
    let family_ok = gw.is_ipv4() == (r.header.family == AF_INET);
    if r.table_id() != RT_TABLE_MAIN
        || r.header.kind != RTN_UNICAST
        || r.oif != Some(index)
        || r.multipath.is_some()
        || !family_ok
    {
        return None;
    }
    let any = if gw.is_ipv4() {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    };
    let cidr = prefix(r.dst.unwrap_or(any), r.header.dst_len)?;
    Some(Route {
        cidr,
        via_router: IpAddress::from(gw),
        preferred_until: None,
        expires_at: None,
    })
}

/// The addresses the interface holds, for lookups that do not scan its
/// table.
#[derive(Debug, Default)]
pub(crate) struct Held {
    addrs: FastSet<IpCidr>,
}

/// Sets or removes one address; nothing happens (no neighbour cache
/// flush either) when smoltcp has it as asked already.
fn set_addr(iface: &mut Interface, held: &mut Held, c: IpCidr, present: bool) {
    if held.addrs.contains(&c) == present {
        return;
    }
    let mut done = false;
    iface.update_ip_addrs(|addrs| {
        if present {
            done = addrs.push(c).is_ok();
        } else {
            addrs.retain(|x| *x != c);
            done = true;
        }
    });
    if done && present {
        held.addrs.insert(c);
    } else if done {
        held.addrs.remove(&c);
    }
}

/// Applies one event to the interface.
pub(crate) fn apply(iface: &mut Interface, held: &mut Held, index: u32, e: &Event<'_>) {
    match e {
        Event::NewAddr(a) if a.header.index == index => {
            if let Some((c, usable)) = addr_cidr(a) {
                set_addr(iface, held, c, usable);
            }
        }
        Event::DelAddr(a) if a.header.index == index => {
            if let Some((c, _)) = addr_cidr(a) {
                set_addr(iface, held, c, false);
            }
        }
        Event::NewRoute(r, flags) => {
            let Some(new) = route_of(r, index) else {
                return;
            };
            // There is one route per prefix: a new one is not there yet.
            iface.routes_mut().update(|routes| {
                let old = if flags & NLM_F_REPLACE != 0 {
                    routes.iter_mut().find(|x| x.cidr == new.cidr)
                } else {
                    None
                };
                match old {
                    Some(x) => *x = new,
                    None => {
                        let _ = routes.push(new);
                    }
                }
            });
        }
        Event::DelRoute(r) => {
            if let Some(old) = route_of(r, index) {
                iface.routes_mut().update(|routes| {
                    routes.retain(|x| !(x.cidr == old.cidr && x.via_router == old.via_router));
                });
            }
        }
        _ => {}
    }
}

/// Puts the whole configuration on the interface and the device.
pub(crate) fn full<D: Device>(
    iface: &mut Interface,
    held: &mut Held,
    device: &mut LinkDevice<D>,
    model: &Model,
) {
    let mac = EthernetAddress(model.link.mac);
    if mac.is_unicast() && iface.hardware_addr() != HardwareAddress::Ethernet(mac) {
        iface.set_hardware_addr(HardwareAddress::Ethernet(mac));
    }
    device.set_up(model.link.is_up());
    device.set_mtu(model.link.mtu as usize);
    let want: Vec<IpCidr> = model
        .addr_iter(AF_UNSPEC)
        .filter(|a| !a.is_tentative())
        .filter_map(|a| cidr(a.local, a.prefix_len))
        .collect();
    if iface.ip_addrs() != want.as_slice() {
        iface.update_ip_addrs(|addrs| {
            addrs.clear();
            for c in want {
                let _ = addrs.push(c);
            }
        });
    }
    held.addrs = iface.ip_addrs().iter().copied().collect();
    let index = model.index;
    let routes: Vec<Route> = model
        .routes
        .gateway_routes()
        .iter()
        .filter_map(|r| route_of(&r.repr(), index))
        .collect();
    iface.routes_mut().update(|table| {
        table.clear();
        for r in routes {
            let _ = table.push(r);
        }
    });
}

/// Puts the device's counters in a link's repr.
pub(crate) fn set_stats(l: &mut LinkRepr, c: &Counters) {
    let s = LinkStats64 {
        rx_packets: c.rx_packets.get(),
        rx_bytes: c.rx_bytes.get(),
        rx_dropped: c.rx_dropped.get(),
        tx_packets: c.tx_packets.get(),
        tx_bytes: c.tx_bytes.get(),
        tx_dropped: c.tx_dropped.get(),
        ..LinkStats64::default()
    };
    // The 32-bit counters wrap, as the kernel's do.
    let w = |v: u64| v as u32;
    l.stats = Some(LinkStats {
        rx_packets: w(s.rx_packets),
        rx_bytes: w(s.rx_bytes),
        rx_dropped: w(s.rx_dropped),
        tx_packets: w(s.tx_packets),
        tx_bytes: w(s.tx_bytes),
        tx_dropped: w(s.tx_dropped),
        ..LinkStats::default()
    });
    l.stats64 = Some(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unicast_addresses_reach_smoltcp() {
        assert!(cidr("10.0.0.1".parse().unwrap(), 24).is_some());
        assert!(cidr("10.0.0.1".parse().unwrap(), 33).is_none());
        assert!(cidr("224.0.0.1".parse().unwrap(), 4).is_none());
        assert!(cidr("255.255.255.255".parse().unwrap(), 32).is_none());
        assert!(cidr("0.0.0.0".parse().unwrap(), 0).is_none());
        assert!(cidr("ff02::1".parse().unwrap(), 64).is_none());
        assert!(cidr("::".parse().unwrap(), 0).is_none());
        assert!(cidr("2001:db8::1".parse().unwrap(), 129).is_none());
        assert!(cidr("::ffff:10.0.0.1".parse().unwrap(), 128).is_some());
    }

    #[test]
    fn only_gateway_routes_of_the_main_table_reach_smoltcp() {
        let mut r = RouteRepr::new("10.1.0.0".parse().unwrap(), 16);
        r.gateway = Some("10.0.0.1".parse().unwrap());
        r.oif = Some(2);
        assert!(route_of(&r, 2).is_some());
        assert!(route_of(&r, 3).is_none());
        let mut other = r.clone();
        other.table = Some(100);
        assert!(route_of(&other, 2).is_none());
        let mut v6gw = r.clone();
        v6gw.gateway = Some("2001:db8::1".parse().unwrap());
        assert!(route_of(&v6gw, 2).is_none());
        let mut default = RouteRepr::new("0.0.0.0".parse().unwrap(), 0);
        default.gateway = r.gateway;
        default.oif = Some(2);
        let d = route_of(&default, 2).unwrap();
        assert_eq!(d.cidr.prefix_len(), 0);
    }
}
