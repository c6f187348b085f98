//! # nlq-smoltcp: rtnetlink for a smoltcp interface
//!
//! [`SmolStack`] owns a smoltcp [`Interface`] and its device and
//! implements [`nlq::stack::Stack`] for them: put it under an
//! [`nlq::server::Server`] (or a [`Shared`](nlq::server::Shared) one) and
//! the interface is configured with the same rtnetlink requests, and the
//! same `nlinline` calls, that configure the kernel; `ip monitor`-style
//! subscribers hear every change.
//!
//! ```
//! use nlq::server::Shared;
//! use nlq_smoltcp::SmolStack;
//! use smoltcp::iface::{Config, SocketSet};
//! use smoltcp::phy::{Loopback, Medium};
//! use smoltcp::time::Instant;
//! use smoltcp::wire::EthernetAddress;
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let device = Loopback::new(Medium::Ethernet);
//! let config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 1]).into());
//! let stack = SmolStack::new(device, config, Instant::ZERO, "eth0", 2)?;
//! let shared = Shared::new(stack);
//!
//! // Configuration over rtnetlink, as on the kernel.
//! let mut h = nlinline::Handle::in_process(&shared);
//! h.link_set_up("eth0", true)?;
//! h.addr_add(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 24, 2)?;
//! h.route_add(&nlinline::Route::default_via(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))))?;
//!
//! // smoltcp has it, and runs with it.
//! let mut server = shared.lock();
//! let stack = server.stack_mut();
//! assert!(stack.iface().has_ip_addr(smoltcp::wire::Ipv4Address::new(192, 0, 2, 2)));
//! let mut sockets = SocketSet::new(vec![]);
//! stack.poll(Instant::from_millis(1), &mut sockets);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What maps to what
//!
//! | rtnetlink | smoltcp |
//! | --- | --- |
//! | the link (one, its index and name chosen at [`SmolStack::new`]) | the interface and its device |
//! | `ip link set up` / `down` | the device passes frames, or drops them ([`LinkDevice`]) |
//! | `ip link set mtu` (68 up to what the device reported) | frames longer than the MTU are not sent (smoltcp sizes its segments by the MTU the device reported when the interface was made: below it, longer frames are dropped, not made smaller) |
//! | `ip link set address` | [`Interface::set_hardware_addr`] |
//! | addresses, IPv4 and IPv6 | [`Interface::update_ip_addrs`] (IPv6 ones once out of duplicate address detection) |
//! | routes via a gateway, main table | [`Interface::routes_mut`] |
//! | the kernel's routes of an address (prefix, local, broadcast; IPv6 link-local and multicast) | kept by the adapter, as Linux reports them: smoltcp reaches an address's prefix on-link by itself |
//! | link statistics (`IFLA_STATS64`) | frames and bytes counted by [`LinkDevice`] |
//!
//! The semantics are nlq-mem's, the reference stack checked against the
//! kernel: the same requests get the same answers and the same
//! notifications, in the same order (this crate's tests compare the two on
//! generated request sequences; the link differs only in naming no kind in
//! `IFLA_LINKINFO` and in counting real frames). The link behaves as a tap
//! device with carrier; it starts down, as a new link does on Linux. The
//! neighbour dump is empty: smoltcp's neighbour cache is not public.
//!
//! ## What smoltcp cannot do
//!
//! Requests that the kernel (and nlq-mem) would carry out but smoltcp
//! cannot express are refused, before anything changes, with
//! `EOPNOTSUPP` and an extended-ACK text that says why:
//!
//! - routes other than unicast via a gateway of the route's family in the
//!   main table: device routes (smoltcp reaches only its addresses'
//!   prefixes on-link), other tables, blackhole/unreachable/prohibit and
//!   the other types, multipath, TOS, source prefixes, preferred sources,
//!   `RTA_METRICS`, expiry;
//! - a second route to a prefix (a different metric, an ECMP sibling):
//!   smoltcp has no metrics;
//! - replacing or deleting the kernel's routes of an address (they follow
//!   the address, as smoltcp's on-link prefixes do);
//! - addresses whose prefix smoltcp would treat differently from Linux:
//!   point-to-point peers, `noprefixroute`, an IPv4 address in the zero
//!   network (`/0` included), an IPv4 broadcast other than the subnet's;
//! - creating or deleting links (there is one).
//!
//! An IPv4 address that is not unicast (multicast, broadcast, `0.0.0.0`)
//! is `EINVAL`, as is a gateway that is not unicast; IPv6 ones are refused
//! as the kernel refuses them (`EADDRNOTAVAIL`).
//!
//! ## Table sizes
//!
//! smoltcp keeps addresses and routes in fixed-capacity tables sized when
//! it is built: `IFACE_MAX_ADDR_COUNT` and `IFACE_MAX_ROUTE_COUNT` (2 each
//! by default; set them with the environment variables
//! `SMOLTCP_IFACE_MAX_ADDR_COUNT` and `SMOLTCP_IFACE_MAX_ROUTE_COUNT`, as
//! this workspace does in `.cargo/config.toml`). A request that would
//! overflow one is refused with `ENOBUFS`, what Linux answers when it
//! cannot allocate an address or a route. One address slot is kept for the
//! IPv6 link-local address the link gets when it comes up.
//!
//! ## No panics
//!
//! smoltcp panics on a non-unicast address or hardware address and on a
//! prefix longer than its family's; every request is checked before it
//! reaches smoltcp, including requests that do not come through the
//! server's checks (this crate's property tests throw arbitrary ones at
//! [`SmolStack`]).

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod addr;
mod device;
mod hash;
mod link;
mod model;
mod route;
mod sync;

use std::fmt;

use nlq::errno::*;
use nlq::stack::{
    CreateFlags, Event, Events, LinkChange, LinkKey, NewLink, Stack, StackError, StackResult, Visit,
};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, IfName, LinkRepr, NeighRepr, RouteRepr};
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{Device, Medium};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::HardwareAddress;

pub use device::LinkDevice;

use link::{valid_ether, valid_name, Link, ETH_MIN_MTU};
use model::{Limits, Model};

/// The largest MTU the link takes (an Ethernet device's `max_mtu`).
const MAX_MTU: u32 = 65535;

/// Why [`SmolStack::new`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewError {
    /// The device's medium is not Ethernet (or does not match the
    /// configuration's hardware address).
    Medium,
    /// The hardware address is not a unicast, non-zero Ethernet address.
    HardwareAddr,
    /// The interface index is 0 or above `i32::MAX`.
    Index(u32),
    /// The name is not a valid interface name (empty, 16 bytes or more,
    /// `.`, `..`, or with `/`, `:` or white space).
    Name,
    /// The device's MTU leaves less than 68 bytes for IP.
    Mtu(usize),
}

impl fmt::Display for NewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewError::Medium => f.write_str("the device is not an Ethernet device"),
            NewError::HardwareAddr => {
                f.write_str("the hardware address is not a unicast Ethernet address")
            }
            NewError::Index(i) => write!(f, "interface index {i} is out of range"),
            NewError::Name => f.write_str("not a valid interface name"),
            NewError::Mtu(m) => write!(f, "the device's MTU ({m} bytes) is too small"),
        }
    }
}

impl std::error::Error for NewError {}

/// A smoltcp interface, its device, and its configuration as rtnetlink
/// sees it. See the [crate documentation](crate) for what it maps and what
/// it refuses.
///
/// The configuration (addresses, routes, link state) lives here and is
/// applied to the interface as each request changes it; configure the
/// interface through rtnetlink, not through [`SmolStack::iface_mut`].
pub struct SmolStack<D: Device> {
    model: Model,
    iface: Interface,
    device: LinkDevice<D>,
    held: sync::Held,
}

impl<D: Device> fmt::Debug for SmolStack<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmolStack")
            .field("index", &self.model.index)
            .field("name", &self.model.name().as_str())
            .field("up", &self.model.link.is_up())
            .field("addrs", &(self.model.v4.len() + self.model.v6.len()))
            .field("routes", &self.model.routes.count(AF_UNSPEC))
            .finish_non_exhaustive()
    }
}

impl<D: Device> SmolStack<D> {
    /// Makes the interface for `device` with `config` at time `now`
    /// (smoltcp's [`Interface::new`]) and wraps both as link `name` with
    /// index `index`. The link starts down, without addresses or routes;
    /// its MTU is what the device reports (less the Ethernet header, at
    /// most 65,535), and it cannot grow beyond it.
    pub fn new(
        mut device: D,
        config: Config,
        now: Instant,
        name: &str,
        index: u32,
    ) -> Result<Self, NewError> {
        let caps = device.capabilities();
        if caps.medium != Medium::Ethernet {
            return Err(NewError::Medium);
        }
        #[allow(unreachable_patterns)] // other media exist with other features
        let mac = match config.hardware_addr {
            HardwareAddress::Ethernet(e) => e.0,
            _ => return Err(NewError::Medium),
        };
        if !valid_ether(&mac) {
            return Err(NewError::HardwareAddr);
        }
        if index == 0 || index > i32::MAX as u32 {
            return Err(NewError::Index(index));
        }
        let name = IfName::try_from_str(name)
            .filter(|n| valid_name(n.as_str()))
            .ok_or(NewError::Name)?;
        let mtu = caps
            .max_transmission_unit
            .saturating_sub(device::ETHERNET_HEADER);
        let mtu = u32::try_from(mtu).unwrap_or(MAX_MTU).min(MAX_MTU);
        if mtu < ETH_MIN_MTU {
            return Err(NewError::Mtu(caps.max_transmission_unit));
        }
        let iface = Interface::new(config, &mut device, now);
        let limits = Limits {
            addrs: smoltcp::config::IFACE_MAX_ADDR_COUNT,
            routes: smoltcp::config::IFACE_MAX_ROUTE_COUNT,
        };
        let mut stack = SmolStack {
            model: Model::new(index, Link::new(name, mac, mtu, mtu), limits),
            iface,
            device: LinkDevice::new(device),
            held: sync::Held::default(),
        };
        stack.resync();
        Ok(stack)
    }

    /// The link's interface index.
    pub fn index(&self) -> u32 {
        self.model.index
    }

    /// The link's name.
    pub fn name(&self) -> &str {
        self.model.name().as_str()
    }

    /// The interface.
    pub fn iface(&self) -> &Interface {
        &self.iface
    }

    /// The interface, mutable: for what sockets need
    /// ([`Interface::context`]) and for smoltcp settings rtnetlink has no
    /// word for. Addresses and routes changed here are not seen by
    /// rtnetlink, and the next link change puts the configured ones back.
    pub fn iface_mut(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// The device.
    pub fn device(&self) -> &D {
        self.device.inner()
    }

    /// The device, mutable.
    pub fn device_mut(&mut self) -> &mut D {
        self.device.inner_mut()
    }

    /// The interface and the device as smoltcp polls them, for the
    /// `Interface` methods that take a device ([`Interface::poll_egress`],
    /// ...).
    pub fn parts_mut(&mut self) -> (&mut Interface, &mut LinkDevice<D>) {
        (&mut self.iface, &mut self.device)
    }

    /// Polls the interface ([`Interface::poll`]) at time `now` with
    /// `sockets`.
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) -> PollResult {
        self.iface.poll(now, &mut self.device, sockets)
    }

    /// How long until the interface needs polling again
    /// ([`Interface::poll_delay`]); `None`: not before something arrives.
    pub fn poll_delay(&mut self, now: Instant, sockets: &SocketSet<'_>) -> Option<Duration> {
        self.iface.poll_delay(now, sockets)
    }

    /// The interface and the device, unwrapped.
    pub fn into_parts(self) -> (Interface, D) {
        (self.iface, self.device.into_inner())
    }

    /// The link as rtnetlink reports it, with the device's counters.
    fn link_repr(&self) -> LinkRepr {
        let mut l = self.model.link.repr(self.model.index);
        sync::set_stats(&mut l, self.device.counters());
        l
    }

    /// Runs a change on the model; each event it reports is applied to
    /// the interface, then passed on.
    fn change<T>(
        &mut self,
        events: Events<'_>,
        f: impl FnOnce(&mut Model, Events<'_>) -> StackResult<T>,
    ) -> StackResult<T> {
        let SmolStack {
            model,
            iface,
            device,
            held,
        } = self;
        model.touch();
        let index = model.index;
        let counters = device.counters();
        f(model, &mut |e: Event<'_>| {
            sync::apply(iface, held, index, &e);
            match e {
                Event::NewLink(l) => {
                    let mut l = l.clone();
                    sync::set_stats(&mut l, counters);
                    events(Event::NewLink(&l));
                }
                e => events(e),
            }
        })
    }

    /// Puts the whole configuration on the interface and the device.
    fn resync(&mut self) {
        sync::full(
            &mut self.iface,
            &mut self.held,
            &mut self.device,
            &self.model,
        );
    }
}

impl<D: Device> Stack for SmolStack<D> {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        if start == 0 {
            let _ = visit(&self.link_repr());
        }
        Ok(())
    }

    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        let hit = match key {
            LinkKey::Index(i) => i == self.model.index,
            LinkKey::Name(n) => n == self.name(),
        };
        if hit {
            Ok(self.link_repr())
        } else {
            Err(StackError::new(ENODEV))
        }
    }

    fn has_link(&self, index: u32) -> bool {
        index == self.model.index
    }

    fn add_link(&mut self, _link: &NewLink<'_>, _events: Events<'_>) -> StackResult<u32> {
        self.model.touch();
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: one interface; links cannot be created",
        ))
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        self.model.check_index(index)?;
        let r = self.change(events, |m, ev| m.link_set(change, ev));
        // Link changes remove routes silently (IPv4 ones when the link
        // goes down): the interface gets the whole configuration again.
        self.resync();
        r
    }

    fn del_link(&mut self, index: u32, _events: Events<'_>) -> StackResult<()> {
        self.model.touch();
        self.model.check_index(index)?;
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: the interface cannot be deleted",
        ))
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        for a in self.model.addr_iter(family).skip(start) {
            if visit(&a.repr(self.model.index)).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.change(events, |m, ev| m.addr_add(addr, flags, ev))
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let r = self.change(events, |m, ev| m.addr_del(addr, ev));
        // The last IPv4 address takes the IPv4 routes with it, silently
        // (`fib_disable_ip`): the interface gets the whole configuration
        // again.
        self.resync();
        r
    }

    fn routes(&self, family: u8, start: usize, visit: Visit<'_, RouteRepr>) -> StackResult<()> {
        let mut repr = RouteRepr::default();
        self.model.routes.visit(family, start, |r| {
            r.fill(&mut repr);
            visit(&repr)
        });
        Ok(())
    }

    fn route_table_exists(&self, family: u8, table: u32) -> bool {
        self.model.routes.tables.contains(&(family, table))
    }

    fn add_route(
        &mut self,
        route: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.change(events, |m, ev| m.route_add(route, flags, ev))
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.change(events, |m, ev| m.route_del(route, ev))
    }

    fn neighbours(
        &self,
        _family: u8,
        _start: usize,
        _visit: Visit<'_, NeighRepr>,
    ) -> StackResult<()> {
        // smoltcp's neighbour cache is not public: nothing to list.
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.model.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::phy::Loopback;
    use smoltcp::wire::EthernetAddress;
    use std::net::IpAddr;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const EXCL: CreateFlags = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);

    fn stack() -> SmolStack<Loopback> {
        let config = Config::new(EthernetAddress(MAC).into());
        SmolStack::new(
            Loopback::new(Medium::Ethernet),
            config,
            Instant::ZERO,
            "eth0",
            2,
        )
        .unwrap()
    }

    fn up(s: &mut SmolStack<Loopback>, up: bool) {
        let c = LinkChange {
            flags: if up { IFF_UP } else { 0 },
            flags_mask: IFF_UP,
            ..LinkChange::default()
        };
        s.set_link(2, &c, &mut |_| {}).unwrap();
    }

    fn add(s: &mut SmolStack<Loopback>, ip: &str) -> StackResult<()> {
        let ip: IpAddr = ip.parse().unwrap();
        s.add_addr(&AddrRepr::new(ip, 24, 2).with_local(ip), EXCL, &mut |_| {})
    }

    fn via(s: &mut SmolStack<Loopback>, dst: &str, flags: u16) -> StackResult<()> {
        let mut r = RouteRepr::new(dst.parse().unwrap(), 16);
        r.gateway = Some("10.0.0.254".parse().unwrap());
        s.add_route(&r, CreateFlags(flags), &mut |_| {})
    }

    #[test]
    fn full_tables_are_enobufs_and_smoltcp_never_overflows() {
        let mut s = stack();
        s.model.limits = Limits {
            addrs: 3,
            routes: 2,
        };
        up(&mut s, true);
        // The link-local address takes one slot.
        assert_eq!(s.iface().ip_addrs().len(), 1);
        add(&mut s, "10.0.0.1").unwrap();
        add(&mut s, "10.0.0.2").unwrap();
        let e = add(&mut s, "10.0.0.3").unwrap_err();
        assert_eq!(e.errno, ENOBUFS);
        assert!(e.message.is_some());
        assert_eq!(s.iface().ip_addrs().len(), 3);
        // Down, the IPv6 address goes but its slot stays kept.
        up(&mut s, false);
        assert_eq!(s.iface().ip_addrs().len(), 2);
        assert_eq!(add(&mut s, "10.0.0.3").unwrap_err().errno, ENOBUFS);
        up(&mut s, true);
        assert_eq!(s.iface().ip_addrs().len(), 3);

        via(&mut s, "10.1.0.0", NLM_F_CREATE | NLM_F_EXCL).unwrap();
        via(&mut s, "10.2.0.0", NLM_F_CREATE | NLM_F_EXCL).unwrap();
        let e = via(&mut s, "10.3.0.0", NLM_F_CREATE | NLM_F_EXCL).unwrap_err();
        assert_eq!(e.errno, ENOBUFS);
        // Replacing takes no room.
        via(&mut s, "10.2.0.0", NLM_F_CREATE | NLM_F_REPLACE).unwrap();
    }

    #[test]
    fn link_state_reaches_the_interface_and_the_device() {
        let mut s = stack();
        assert!(!s.device.is_up());
        up(&mut s, true);
        assert!(s.device.is_up());
        let c = LinkChange {
            mtu: Some(1400),
            address: nlq::wire::HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 7]),
            ..LinkChange::default()
        };
        s.set_link(2, &c, &mut |_| {}).unwrap();
        assert_eq!(s.device.mtu(), 1400);
        assert_eq!(
            s.iface().hardware_addr(),
            HardwareAddress::Ethernet(EthernetAddress([2, 0, 0, 0, 0, 7]))
        );
        // A gateway route is in smoltcp's table while the link is up; it
        // goes silently with the link, as on Linux, and from smoltcp too.
        add(&mut s, "10.0.0.1").unwrap();
        via(&mut s, "10.1.0.0", NLM_F_CREATE | NLM_F_EXCL).unwrap();
        let mut n = 0;
        s.iface_mut().routes_mut().update(|t| n = t.len());
        assert_eq!(n, 1);
        up(&mut s, false);
        s.iface_mut().routes_mut().update(|t| n = t.len());
        assert_eq!(n, 0);
        assert!(!s.device.is_up());
    }

    #[test]
    fn link_events_carry_the_counters() {
        let mut s = stack();
        let mut got = Vec::new();
        let c = LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..LinkChange::default()
        };
        s.set_link(2, &c, &mut |e| {
            if let Event::NewLink(l) = e {
                got.push(l.stats64.is_some() && l.info.is_none());
            }
        })
        .unwrap();
        assert_eq!(got, [true]);
        assert_eq!(s.link(LinkKey::Name("eth0")).unwrap().header.index, 2);
        assert_eq!(s.link(LinkKey::Name("eth1")).unwrap_err().errno, ENODEV);
    }

    #[test]
    fn bad_construction_is_an_error_not_a_panic() {
        let dev = || Loopback::new(Medium::Ethernet);
        let cfg = |m: [u8; 6]| Config::new(EthernetAddress(m).into());
        let new = |m, name, index| SmolStack::new(dev(), cfg(m), Instant::ZERO, name, index);
        assert_eq!(new(MAC, "eth0", 0).unwrap_err(), NewError::Index(0));
        assert_eq!(
            new(MAC, "eth0", u32::MAX).unwrap_err(),
            NewError::Index(u32::MAX)
        );
        assert_eq!(new(MAC, "", 2).unwrap_err(), NewError::Name);
        assert_eq!(new(MAC, "a/b", 2).unwrap_err(), NewError::Name);
        assert_eq!(new(MAC, "sixteen-chars-xx", 2).unwrap_err(), NewError::Name);
        assert_eq!(
            new([1, 0, 0, 0, 0, 1], "eth0", 2).unwrap_err(),
            NewError::HardwareAddr
        );
        assert_eq!(new([0; 6], "eth0", 2).unwrap_err(), NewError::HardwareAddr);
        let s = new(MAC, "eth0", 1).unwrap();
        assert_eq!((s.index(), s.name()), (1, "eth0"));
        // A loopback device reports 65,535 bytes, Ethernet header included.
        assert_eq!(s.link_repr().mtu, Some(65521));
        assert!(NewError::Mtu(10).to_string().contains("10"));
    }
}
