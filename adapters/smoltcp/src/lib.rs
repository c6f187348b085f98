//! # nlq-smoltcp: rtnetlink for a smoltcp interface
//!
//! [`SmolStack`] owns a smoltcp [`Interface`] and its device and
//! implements [`nlq::stack::Stack`] for them: put it under an
//! [`nlq::server::Server`] (or a [`Shared`](nlinline::Shared) one) and
//! the interface is configured with the same rtnetlink requests, and the
//! same `nlinline` calls, that configure the kernel; `ip monitor`-style
//! subscribers hear every change.
//!
//! ```
//! use nlinline::Shared;
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
//! The semantics are nlq-mem's: the link, address and route rules are
//! its engine ([`MemStack`]), checked against the kernel; this crate plugs
//! smoltcp under it as a [`DataPlane`]: admission refuses what smoltcp
//! cannot express, mirroring puts every change of the engine's tables
//! (the silent ones included) on the interface. The link is the engine's
//! device link: an Ethernet link with carrier that names no kind in
//! `IFLA_LINKINFO` and counts real frames; it starts down, as a new link
//! does on Linux. The neighbour dump is empty: smoltcp's neighbour cache
//! is not public.
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

mod admit;
mod device;
mod sync;

use std::fmt;

use nlq::errno::EOPNOTSUPP;
use nlq::stack::{
    CreateFlags, Cursor, Events, LinkChange, LinkKey, NewLink, Stack, StackError, StackResult,
    Visit,
};
use nlq::wire::{AddrRepr, IfName, LinkRepr, NeighRepr, RouteRepr};
use nlq_mem::{Change, DataPlane, DeviceLink, MemStack, RouteAdmission, RouteRef};
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{Device, Medium};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::HardwareAddress;

pub use device::LinkDevice;

use admit::Limits;

/// The smallest MTU an Ethernet link takes (`ETH_MIN_MTU`).
const ETH_MIN_MTU: u32 = 68;

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

/// smoltcp under the engine: the interface, its device, what it holds.
struct SmolPlane<D: Device> {
    iface: Interface,
    device: LinkDevice<D>,
    held: sync::Held,
    /// The link's index.
    index: u32,
    limits: Limits,
}

impl<D: Device> DataPlane for SmolPlane<D> {
    fn admit_rule(&self, _: &nlq::wire::RuleRepr, _: bool) -> StackResult<()> {
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: routes by destination alone; policy rules cannot change",
        ))
    }

    fn admit_new_link(_: &MemStack<Self>, _: &NewLink<'_>) -> StackResult<()> {
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: one interface; links cannot be created",
        ))
    }

    fn admit_del_link(_: &MemStack<Self>, _: u32) -> StackResult<()> {
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: the interface cannot be deleted",
        ))
    }

    fn admit_addr(engine: &MemStack<Self>, req: &AddrRepr) -> StackResult<()> {
        let p = engine.plane();
        admit::addr(engine, p.index, &p.held, p.limits, req)
    }

    fn admit_route(
        engine: &MemStack<Self>,
        change: RouteAdmission<'_>,
        req: &RouteRepr,
    ) -> StackResult<()> {
        let p = engine.plane();
        admit::route(engine, p.held.routes, p.limits, change, req)
    }

    fn admit_route_del(_: &MemStack<Self>, route: RouteRef<'_>) -> StackResult<()> {
        admit::route_del(&route)
    }

    fn mirror(&mut self, change: Change<'_>) {
        sync::apply(
            &mut self.iface,
            &mut self.device,
            &mut self.held,
            self.index,
            change,
        );
    }

    fn link_decorator(&self) -> impl Fn(&mut LinkRepr) + 'static {
        let (index, stats) = (self.index, sync::stats(self.device.counters()));
        move |l: &mut LinkRepr| {
            if l.header.index == index {
                sync::set_stats(l, &stats);
            }
        }
    }
}

/// A smoltcp interface, its device, and its configuration as rtnetlink
/// sees it. See the [crate documentation](crate) for what it maps and what
/// it refuses.
///
/// The configuration (addresses, routes, link state) lives in the engine
/// and is applied to the interface as each request changes it; configure
/// the interface through rtnetlink, not through [`SmolStack::iface_mut`].
pub struct SmolStack<D: Device> {
    engine: MemStack<SmolPlane<D>>,
}

impl<D: Device> fmt::Debug for SmolStack<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmolStack")
            .field("index", &self.index())
            .field("name", &self.name())
            .field("addrs", &self.engine.addr_count())
            .field("routes", &self.engine.route_count())
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
        if !nlq_mem::valid_ether(&mac) {
            return Err(NewError::HardwareAddr);
        }
        if index == 0 || index > i32::MAX as u32 {
            return Err(NewError::Index(index));
        }
        let name = IfName::try_from_str(name)
            .filter(|n| nlq_mem::valid_name(n.as_str()))
            .ok_or(NewError::Name)?;
        let mtu = caps
            .max_transmission_unit
            .saturating_sub(device::ETHERNET_HEADER);
        let mtu = u32::try_from(mtu).unwrap_or(MAX_MTU).min(MAX_MTU);
        if mtu < ETH_MIN_MTU {
            return Err(NewError::Mtu(caps.max_transmission_unit));
        }
        let iface = Interface::new(config, &mut device, now);
        let plane = SmolPlane {
            iface,
            device: LinkDevice::new(device),
            held: sync::Held::default(),
            index,
            limits: Limits {
                addrs: smoltcp::config::IFACE_MAX_ADDR_COUNT,
                routes: smoltcp::config::IFACE_MAX_ROUTE_COUNT,
            },
        };
        let mut engine = MemStack::bare(plane);
        let link = DeviceLink {
            index,
            name,
            mac,
            mtu,
            max_mtu: mtu,
        };
        engine
            .attach(link)
            .map_err(|_| NewError::Mtu(caps.max_transmission_unit))?;
        Ok(SmolStack { engine })
    }

    /// The link's interface index.
    pub fn index(&self) -> u32 {
        self.engine.plane().index
    }

    /// The link's name.
    pub fn name(&self) -> &str {
        self.engine
            .link_of(self.index())
            .map_or("", |l| l.name().as_str())
    }

    /// The engine: the configuration as rtnetlink sees it, read-only.
    pub fn engine(&self) -> &MemStack<impl DataPlane> {
        &self.engine
    }

    /// The interface.
    pub fn iface(&self) -> &Interface {
        &self.engine.plane().iface
    }

    /// The interface, mutable: for what sockets need
    /// ([`Interface::context`]) and for smoltcp settings rtnetlink has no
    /// word for. Addresses and routes changed here are not seen by
    /// rtnetlink; [`SmolStack::resync`] puts the configured ones back.
    pub fn iface_mut(&mut self) -> &mut Interface {
        &mut self.engine.plane_mut().iface
    }

    /// The device.
    pub fn device(&self) -> &D {
        self.engine.plane().device.inner()
    }

    /// The device, mutable.
    pub fn device_mut(&mut self) -> &mut D {
        self.engine.plane_mut().device.inner_mut()
    }

    /// The interface and the device as smoltcp polls them, for the
    /// `Interface` methods that take a device ([`Interface::poll_egress`],
    /// ...).
    pub fn parts_mut(&mut self) -> (&mut Interface, &mut LinkDevice<D>) {
        let p = self.engine.plane_mut();
        (&mut p.iface, &mut p.device)
    }

    /// Polls the interface ([`Interface::poll`]) at time `now` with
    /// `sockets`.
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) -> PollResult {
        let p = self.engine.plane_mut();
        p.iface.poll(now, &mut p.device, sockets)
    }

    /// How long until the interface needs polling again
    /// ([`Interface::poll_delay`]); `None`: not before something arrives.
    pub fn poll_delay(&mut self, now: Instant, sockets: &SocketSet<'_>) -> Option<Duration> {
        self.engine.plane_mut().iface.poll_delay(now, sockets)
    }

    /// The interface and the device, unwrapped.
    pub fn into_parts(self) -> (Interface, D) {
        let SmolPlane { iface, device, .. } = self.engine.into_plane();
        (iface, device.into_inner())
    }

    /// Puts the whole configuration back on the interface and the device
    /// (after changes made through [`SmolStack::iface_mut`]).
    pub fn resync(&mut self) {
        let index = self.index();
        let (addrs, routes) = sync::wanted(&self.engine, index);
        let Some(link) = self.engine.link_of(index).map(|l| sync::LinkState::of(&l)) else {
            return;
        };
        let p = self.engine.plane_mut();
        sync::full(
            &mut p.iface,
            &mut p.device,
            &mut p.held,
            &link,
            addrs,
            routes,
        );
    }
}

impl<D: Device> Stack for SmolStack<D> {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        self.engine.links(start, visit)
    }

    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        self.engine.link(key)
    }

    fn link_state(&self, index: u32) -> Option<nlq::stack::LinkState> {
        self.engine.link_state(index)
    }

    fn has_link(&self, index: u32) -> bool {
        self.engine.has_link(index)
    }

    fn add_link(&mut self, link: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        self.engine.add_link(link, events)
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        self.engine.set_link(index, change, events)
    }

    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        self.engine.del_link(index, events)
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        self.engine.addrs(family, start, visit)
    }

    fn find_addr(
        &self,
        family: u8,
        local: std::net::IpAddr,
        index: u32,
    ) -> StackResult<Option<AddrRepr>> {
        self.engine.find_addr(family, local, index)
    }

    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.engine.add_addr(addr, flags, events)
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.engine.del_addr(addr, events)
    }

    fn routes(&self, family: u8, start: usize, visit: Visit<'_, RouteRepr>) -> StackResult<()> {
        self.engine.routes(family, start, visit)
    }

    fn route_table_exists(&self, family: u8, table: u32) -> bool {
        self.engine.route_table_exists(family, table)
    }

    fn add_route(
        &mut self,
        route: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.engine.add_route(route, flags, events)
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.engine.del_route(route, events)
    }

    fn best_route(
        &self,
        dst: std::net::IpAddr,
        tables: &[u32],
        oif: u32,
    ) -> StackResult<Option<RouteRepr>> {
        self.engine.best_route(dst, tables, oif)
    }

    fn neighbours(&self, family: u8, start: usize, visit: Visit<'_, NeighRepr>) -> StackResult<()> {
        // smoltcp's neighbour cache is not public: nothing to list.
        self.engine.neighbours(family, start, visit)
    }

    fn generation(&self) -> u64 {
        self.engine.generation()
    }

    fn set_listeners(&mut self, listeners: nlq::stack::Listeners) {
        self.engine.set_listeners(listeners);
    }

    /// Address changes of the datagram's requests go on the interface
    /// in one step at [`Stack::end_requests`].
    fn begin_requests(&mut self) {
        self.engine.plane_mut().held.defer();
    }

    fn end_requests(&mut self) {
        let p = self.engine.plane_mut();
        p.held.settle(&mut p.iface);
    }

    fn links_from(&self, from: &Cursor, visit: Visit<'_, LinkRepr>) -> StackResult<Cursor> {
        self.engine.links_from(from, visit)
    }

    fn addrs_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, AddrRepr>,
    ) -> StackResult<Cursor> {
        self.engine.addrs_from(family, from, visit)
    }

    fn routes_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RouteRepr>,
    ) -> StackResult<Cursor> {
        self.engine.routes_from(family, from, visit)
    }

    fn neighbours_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, NeighRepr>,
    ) -> StackResult<Cursor> {
        self.engine.neighbours_from(family, from, visit)
    }

    fn rules_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, nlq::wire::RuleRepr>,
    ) -> StackResult<Cursor> {
        self.engine.rules_from(family, from, visit)
    }

    fn add_rule(
        &mut self,
        rule: &nlq::wire::RuleRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.engine.add_rule(rule, flags, events)
    }

    fn del_rule(&mut self, rule: &nlq::wire::RuleRepr, events: Events<'_>) -> StackResult<()> {
        self.engine.del_rule(rule, events)
    }

    fn family_device_age(&self, family: u8, index: u32) -> u64 {
        self.engine.family_device_age(family, index)
    }

    fn ipv6_mc_load(&self, index: u32) -> nlq::stack::Mc6Load {
        self.engine.ipv6_mc_load(index)
    }

    fn bridge_port_view(&self, index: u32) -> Option<nlq::wire::LinkRepr> {
        self.engine.bridge_port_view(index)
    }

    fn add_neigh(
        &mut self,
        _: &NeighRepr,
        _: nlq::stack::CreateFlags,
        _: Events<'_>,
    ) -> StackResult<()> {
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: its neighbour cache learns from traffic; entries cannot be set",
        ))
    }

    fn custom_rules(&self, family: u8) -> bool {
        self.engine.custom_rules(family)
    }

    fn add_nexthop(
        &mut self,
        _: &nlq::wire::NexthopRepr,
        _: nlq::stack::CreateFlags,
        _: Events<'_>,
    ) -> StackResult<()> {
        Err(StackError::with_message(
            EOPNOTSUPP,
            "smoltcp: routes hold their gateway; there are no nexthop objects",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::errno::{ENOBUFS, ENODEV};
    use nlq::stack::Event;
    use nlq::wire::consts::*;
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
        s.engine.plane_mut().limits = Limits {
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
        assert!(!s.engine.plane().device.is_up());
        up(&mut s, true);
        assert!(s.engine.plane().device.is_up());
        let c = LinkChange {
            mtu: Some(1400),
            address: nlq::wire::HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 7]),
            ..LinkChange::default()
        };
        s.set_link(2, &c, &mut |_| {}).unwrap();
        assert_eq!(s.engine.plane().device.mtu(), 1400);
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
        assert!(!s.engine.plane().device.is_up());
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
        assert_eq!(s.link(LinkKey::Index(1)).unwrap().mtu, Some(65521));
        assert!(NewError::Mtu(10).to_string().contains("10"));
    }
}
