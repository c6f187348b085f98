//! Putting the configuration on smoltcp: each change of the engine's
//! tables as it comes, or the whole of it. Nothing here can make smoltcp panic:
//! only unicast addresses and prefixes within their family's length are
//! handed over, and a full table drops the entry (the model's admission
//! keeps that from happening).

use std::net::IpAddr;

use nlq::wire::consts::*;
use nlq::wire::{LinkRepr, LinkStats, LinkStats64};
use nlq_mem::{AddrRef, Change, LinkRef, MemStack, RouteRef};
use smoltcp::iface::{Interface, Route};
use smoltcp::phy::Device;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Cidr, Ipv6Cidr};

use crate::device::{Counters, LinkDevice};
use nlq_mem::hash::FastSet;

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

/// The address smoltcp holds for `a`, and whether it holds it now
/// (IPv6 addresses once out of duplicate address detection).
fn addr_cidr(a: &AddrRef<'_>) -> Option<(IpCidr, bool)> {
    Some((cidr(a.local(), a.prefix_len())?, !a.is_tentative()))
}

/// The smoltcp route of an engine route, if it is one smoltcp holds: a
/// unicast route of the main table through the link, via a gateway of its
/// family.
pub(crate) fn route_of(r: &RouteRef<'_>, index: u32) -> Option<Route> {
    let gw = r.gateway()?;
    let family_ok = gw.is_ipv4() == (r.family() == AF_INET);
    if r.table() != RT_TABLE_MAIN
        || r.route_type() != RTN_UNICAST
        || r.oif() != index
        || r.is_multipath()
        || !family_ok
    {
        return None;
    }
    let (dst, len) = r.dst();
    Some(Route {
        cidr: prefix(dst, len)?,
        via_router: IpAddress::from(gw),
        preferred_until: None,
        expires_at: None,
    })
}

/// What the interface holds, for lookups that do not scan its tables.
#[derive(Debug, Default)]
pub(crate) struct Held {
    addrs: FastSet<IpCidr>,
    /// The number of routes in its table.
    pub routes: usize,
    /// The IPv6 link-local addresses the engine has on the link (usable
    /// or not).
    link_locals: FastSet<IpAddr>,
    /// Address changes are held back (the server is handing over a
    /// datagram's requests) ...
    defer: bool,
    /// ... and the interface's address list as they leave it, to be put
    /// on it in one step (`Interface::update_ip_addrs` checks every
    /// address and flushes the neighbour cache at each call).
    pending: Option<Vec<IpCidr>>,
}

impl Held {
    /// The engine has `ip` on the link, as a link-local address.
    pub fn has_link_local(&self, ip: &IpAddr) -> bool {
        self.link_locals.contains(ip)
    }

    /// Holds address changes back until [`Held::settle`].
    pub fn defer(&mut self) {
        self.defer = true;
    }

    /// Puts the address changes held back on the interface, in one step,
    /// and stops holding them back.
    pub fn settle(&mut self, iface: &mut Interface) {
        self.defer = false;
        if let Some(list) = self.pending.take() {
            iface.update_ip_addrs(|addrs| {
                addrs.clear();
                for c in list {
                    // The list was kept within the table's size.
                    let _ = addrs.push(c);
                }
            });
        }
    }

    /// Follows the engine's link-local addresses.
    fn track(&mut self, a: &AddrRef<'_>, present: bool) {
        let IpAddr::V6(v6) = a.local() else { return };
        if v6.is_unicast_link_local() {
            if present {
                self.link_locals.insert(a.local());
            } else {
                self.link_locals.remove(&a.local());
            }
        }
    }
}

/// Sets or removes one address; nothing happens (no neighbour cache
/// flush either) when smoltcp has it as asked already.
fn set_addr(iface: &mut Interface, held: &mut Held, c: IpCidr, present: bool) {
    if held.addrs.contains(&c) == present {
        return;
    }
    let mut done = false;
    if held.defer {
        // The same steps on the list the interface will get.
        let list = held
            .pending
            .get_or_insert_with(|| iface.ip_addrs().to_vec());
        if !present {
            list.retain(|x| *x != c);
            done = true;
        } else if list.len() < smoltcp::config::IFACE_MAX_ADDR_COUNT {
            list.push(c);
            done = true;
        }
    } else {
        iface.update_ip_addrs(|addrs| {
            if present {
                done = addrs.push(c).is_ok();
            } else {
                addrs.retain(|x| *x != c);
                done = true;
            }
        });
    }
    if done && present {
        held.addrs.insert(c);
    } else if done {
        held.addrs.remove(&c);
    }
}

/// Adds a route, or puts it in the place of the one with the same
/// prefix.
fn set_route(iface: &mut Interface, held: &mut Held, new: Route) {
    let mut added = false;
    iface.routes_mut().update(
        |routes| match routes.iter_mut().find(|x| x.cidr == new.cidr) {
            Some(x) => *x = new,
            None => added = routes.push(new).is_ok(),
        },
    );
    held.routes += usize::from(added);
}

fn remove_route(iface: &mut Interface, held: &mut Held, old: &Route) {
    let mut removed = 0;
    iface.routes_mut().update(|routes| {
        let before = routes.len();
        routes.retain(|x| !(x.cidr == old.cidr && x.via_router == old.via_router));
        removed = before - routes.len();
    });
    held.routes = held.routes.saturating_sub(removed);
}

/// What the interface and the device take of the link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkState {
    mac: [u8; 6],
    up: bool,
    mtu: u32,
}

impl LinkState {
    pub fn of(l: &LinkRef<'_>) -> LinkState {
        let mut mac = [0; 6];
        if let Some(m) = l.mac().as_slice().get(..6) {
            mac.copy_from_slice(m);
        }
        LinkState {
            mac,
            up: l.is_up(),
            mtu: l.mtu(),
        }
    }
}

fn set_link<D: Device>(iface: &mut Interface, device: &mut LinkDevice<D>, l: &LinkState) {
    let mac = EthernetAddress(l.mac);
    if mac.is_unicast() && iface.hardware_addr() != HardwareAddress::Ethernet(mac) {
        iface.set_hardware_addr(HardwareAddress::Ethernet(mac));
    }
    device.set_up(l.up);
    device.set_mtu(l.mtu as usize);
}

/// Applies one change of the engine's tables to the interface and the
/// device.
pub(crate) fn apply<D: Device>(
    iface: &mut Interface,
    device: &mut LinkDevice<D>,
    held: &mut Held,
    index: u32,
    change: Change<'_>,
) {
    match change {
        Change::Link(l) if l.index() == index => {
            set_link(iface, device, &LinkState::of(&l));
        }
        Change::AddrAdded(a) if a.index() == index => {
            held.track(&a, true);
            if let Some((c, usable)) = addr_cidr(&a) {
                set_addr(iface, held, c, usable);
            }
        }
        Change::AddrRemoved(a) if a.index() == index => {
            held.track(&a, false);
            if let Some((c, _)) = addr_cidr(&a) {
                set_addr(iface, held, c, false);
            }
        }
        Change::AddrReplaced { old, new } if new.index() == index => {
            let (old, new) = (addr_cidr(&old), addr_cidr(&new));
            if let Some((c, _)) = old.filter(|(c, _)| new.is_none_or(|(n, _)| n != *c)) {
                set_addr(iface, held, c, false);
            }
            if let Some((c, usable)) = new {
                set_addr(iface, held, c, usable);
            }
        }
        Change::RouteAdded(r) => {
            if let Some(new) = route_of(&r, index) {
                // Admission keeps one route per prefix: a new one is not
                // there yet.
                let mut added = false;
                iface
                    .routes_mut()
                    .update(|routes| added = routes.push(new).is_ok());
                held.routes += usize::from(added);
            }
        }
        Change::RouteRemoved(r) => {
            if let Some(old) = route_of(&r, index) {
                remove_route(iface, held, &old);
            }
        }
        Change::RouteReplaced { old, new } => {
            let (old, new) = (route_of(&old, index), route_of(&new, index));
            match (old, new) {
                (Some(o), Some(n)) if o.cidr == n.cidr => set_route(iface, held, n),
                (o, n) => {
                    if let Some(o) = o {
                        remove_route(iface, held, &o);
                    }
                    if let Some(n) = n {
                        set_route(iface, held, n);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Puts the whole configuration of link `index` on the interface and the
/// device: its state, the addresses out of duplicate address detection,
/// the gateway routes.
pub(crate) fn full<D: Device>(
    iface: &mut Interface,
    device: &mut LinkDevice<D>,
    held: &mut Held,
    link: &LinkState,
    addrs: Vec<IpCidr>,
    routes: Vec<Route>,
) {
    set_link(iface, device, link);
    if iface.ip_addrs() != addrs.as_slice() {
        iface.update_ip_addrs(|table| {
            table.clear();
            for c in addrs {
                let _ = table.push(c);
            }
        });
    }
    held.addrs = iface.ip_addrs().iter().copied().collect();
    iface.routes_mut().update(|table| {
        table.clear();
        for r in routes {
            let _ = table.push(r);
        }
        held.routes = table.len();
    });
}

/// The addresses and routes of link `index` that smoltcp holds, as the
/// engine has them.
pub(crate) fn wanted<P: nlq_mem::DataPlane>(
    engine: &MemStack<P>,
    index: u32,
) -> (Vec<IpCidr>, Vec<Route>) {
    let addrs = engine
        .addrs_on(index)
        .filter_map(|a| addr_cidr(&a))
        .filter_map(|(c, usable)| usable.then_some(c))
        .collect();
    let routes = engine
        .routes_iter(AF_UNSPEC)
        .filter_map(|r| route_of(&r, index))
        .collect();
    (addrs, routes)
}

/// The device's counters as a link reports them.
pub(crate) fn stats(c: &Counters) -> LinkStats64 {
    LinkStats64 {
        rx_packets: c.rx_packets.get(),
        rx_bytes: c.rx_bytes.get(),
        rx_dropped: c.rx_dropped.get(),
        tx_packets: c.tx_packets.get(),
        tx_bytes: c.tx_bytes.get(),
        tx_dropped: c.tx_dropped.get(),
        ..LinkStats64::default()
    }
}

/// Puts the counters in a link's repr.
pub(crate) fn set_stats(l: &mut LinkRepr, s: &LinkStats64) {
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
    l.stats64 = Some(*s);
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
}
