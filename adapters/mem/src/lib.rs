//! # nlq-mem: the Linux model, as an engine and as an in-memory stack
//!
//! The network configuration (links, addresses, routes) with the kernel's
//! rules, checked against the kernel by the proof tests of this workspace:
//!
//! - links: `lo` at index 1; the kernel's cyclic ifindex allocation; kinds
//!   `bridge`, `dummy`, `ifb` (no ARP, a queue of 32, any MTU, the MAC it
//!   was made with), `tap` (a tap-like link with carrier) and `veth`
//!   pairs (carrier while both ends are up, deleted together), `vxlan`
//!   (over a lower link whose MTU bounds its own, and gone with it),
//!   `macvlan` in modes private, VEPA and bridge (on a lower link whose
//!   carrier it copies and whose MTU bounds its own, which it makes
//!   promiscuous while open, and with which it goes), and bridge ports
//!   (veth, VXLAN and macvlan links under a bridge: promiscuous, numbered,
//!   forwarding while both are up, giving the bridge its carrier, MAC,
//!   MTU, limits and features; `AF_BRIDGE` messages of their own); up/down,
//!   MTU within the kind's limits, MAC, rename;
//! - addresses: IPv4 and IPv6, primary and secondary, labels; the kernel's
//!   prefix routes and local-table routes while the link is up; routes and
//!   IPv6 addresses removed when the link goes down;
//! - routes: main and other tables, gateways that must be reachable,
//!   devices that must be up, metrics, multipath, replace and append.
//!
//! [`MemStack`] implements [`nlq::stack::Stack`]; share one among many
//! clients with [`nlinline::Shared`]:
//!
//! ```
//! use nlinline::Shared;
//! use nlq_mem::MemStack;
//!
//! let shared = Shared::new(MemStack::new());
//! let a = shared.connect();
//! let b = shared.connect();
//! assert_ne!(a.port(), b.port());
//! ```
//!
//! # How to add netlink to your stack
//!
//! Plug the stack under the engine as a [`DataPlane`]: the engine keeps
//! the tables and applies the kernel's rules, the plane admits what it
//! can carry and mirrors what changes (see [`DataPlane`] for the
//! contract). [`MemStack::new`] is the engine with nothing plugged in
//! ([`ConfigOnly`]). Then run the conformance kit (the
//! `nlq-conformance` crate) against `MemStack<YourPlane>`: the answers are
//! the engine's, the refusals yours.
//!
//! ```
//! use std::net::IpAddr;
//! use nlq::errno::EOPNOTSUPP;
//! use nlq::stack::{CreateFlags, Stack, StackError, StackResult};
//! use nlq::wire::consts::*;
//! use nlq::wire::{AddrRepr, IfName, RouteRepr};
//! use nlq_mem::{Change, DataPlane, DeviceLink, MemStack, RouteAdmission};
//!
//! /// A forwarding table that takes gateway routes of the main table only.
//! #[derive(Default)]
//! struct Fib {
//!     entries: Vec<(IpAddr, u8, IpAddr)>,
//! }
//!
//! impl DataPlane for Fib {
//!     fn admit_route(_: &MemStack<Self>, change: RouteAdmission<'_>, _: &RouteRepr) -> StackResult<()> {
//!         let new = match change {
//!             RouteAdmission::Insert(new) | RouteAdmission::Replace { new, .. } => new,
//!             RouteAdmission::Join { .. } => {
//!                 return Err(StackError::with_message(EOPNOTSUPP, "fib: one route per prefix"))
//!             }
//!         };
//!         if new.table() != RT_TABLE_MAIN || new.gateway().is_none() {
//!             return Err(StackError::with_message(EOPNOTSUPP, "fib: gateway routes of main only"));
//!         }
//!         Ok(())
//!     }
//!
//!     fn mirror(&mut self, change: Change<'_>) {
//!         let entry = |r: &nlq_mem::RouteRef<'_>| {
//!             let (dst, len) = r.dst();
//!             Some((dst, len, r.gateway()?)).filter(|_| r.table() == RT_TABLE_MAIN)
//!         };
//!         match change {
//!             Change::RouteAdded(r) => self.entries.extend(entry(&r)),
//!             Change::RouteRemoved(r) => self.entries.retain(|e| Some(*e) != entry(&r)),
//!             Change::RouteReplaced { old, new } => {
//!                 self.entries.retain(|e| Some(*e) != entry(&old));
//!                 self.entries.extend(entry(&new));
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//!
//! let mut engine = MemStack::bare(Fib::default());
//! let name = IfName::try_from_str("eth0").unwrap();
//! let mac = [2, 0, 0, 0, 0, 1];
//! engine.attach(DeviceLink { index: 2, name, mac, mtu: 1500, max_mtu: 9000 })?;
//! engine.set_carrier(2, true, &mut |_| {})?;
//! let up = nlq::stack::LinkChange { flags: IFF_UP, flags_mask: IFF_UP, ..Default::default() };
//! engine.set_link(2, &up, &mut |_| {})?;
//! let ip = |s: &str| s.parse::<IpAddr>().unwrap();
//! let excl = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);
//! engine.add_addr(&AddrRepr::new(ip("10.0.0.2"), 24, 2).with_local(ip("10.0.0.2")), excl, &mut |_| {})?;
//! let mut r = RouteRepr::new(ip("0.0.0.0"), 0);
//! r.gateway = Some(ip("10.0.0.1"));
//! engine.add_route(&r, excl, &mut |_| {})?;
//! assert_eq!(engine.plane().entries, [(ip("0.0.0.0"), 0, ip("10.0.0.1"))]);
//! // The link going down takes the route with it, silently, as on Linux:
//! // the plane hears of it all the same.
//! let down = nlq::stack::LinkChange { flags: 0, flags_mask: IFF_UP, ..Default::default() };
//! engine.set_link(2, &down, &mut |_| {})?;
//! assert!(engine.plane().entries.is_empty());
//! # Ok::<(), StackError>(())
//! ```
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

mod addr;
mod addr_index;
mod bridge;
mod bridge_port;
mod cursor;
mod devconf;
mod fenwick;
pub mod hash;
mod indexes;
mod link;
mod macvlan;
mod neigh;
mod nexthop;
mod plane;
mod prefix_map;
mod route;
mod route_check;
mod route_list;
mod rule;
mod shape;
mod slab;
mod tables;
mod veth;
mod vxlan;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::ControlFlow;

use nlq::stack::{
    CreateFlags, Cursor, Event, Events, LinkChange, LinkKey, Listeners, NewLink, Stack,
    StackResult, Visit,
};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, NeighRepr, NexthopRepr, RouteRepr, RuleRepr};

pub use link::{valid_ether, valid_name, DeviceLink, Kind};
pub use plane::{AddrRef, Change, ConfigOnly, DataPlane, LinkRef, RouteAdmission, RouteRef};
pub use tables::Tables;

use addr::Addr;
use addr_index::AddrIndex;
use indexes::{SourceCount, SubnetIndex};
use link::Link;
use route::Route;
use route_list::RouteList;

/// The Linux model: links, addresses and routes with the kernel's rules,
/// over a [`DataPlane`] that admits and mirrors what changes. With the
/// default [`ConfigOnly`], an in-memory network stack.
#[derive(Debug, Clone)]
pub struct MemStack<D: DataPlane = ConfigOnly> {
    links: BTreeMap<u32, Link>,
    /// The last index handed out (the kernel's cyclic `net->ifindex`).
    last_index: u32,
    /// Ordered by link index, then by insertion.
    addrs: Vec<Addr>,
    /// `addrs` by local address (changed only through
    /// [`MemStack::addr_insert`] and [`MemStack::addr_remove`]).
    addr_index: AddrIndex,
    /// IPv4 `addrs` by subnet.
    subnets: SubnetIndex,
    /// The preferred sources of the main table's IPv4 routes.
    sources: SourceCount,
    /// IPv4 routes and IPv6 routes, each in the kernel's dump order.
    routes4: RouteList,
    routes6: RouteList,
    /// Route tables that exist (IPv4: a route or a rule created them;
    /// IPv6: main, local and those rules look up; they never go).
    tables: BTreeSet<(u8, u32)>,
    /// The policy rules.
    rules: nlq::rule_rules::RuleTable,
    /// The neighbours (ARP and NDP entries).
    neighs: BTreeMap<neigh::NeighKey, neigh::Neigh>,
    /// The nexthop objects, by id.
    nexthops: BTreeMap<u32, nexthop::Nexthop>,
    /// The last nexthop id handed out (`last_id_allocated`).
    nh_last_id: u32,
    /// Nexthops made so far (see [`nexthop::Nexthop::serial`]).
    nh_serial: u64,
    /// Family devices made so far (see [`Link::born`](link::Link)).
    births: u64,
    generation: u64,
    /// Seed of the MAC addresses of new links.
    mac_seed: u32,
    /// Macvlans whose carrier changed under them, for the link watcher's
    /// next run.
    stacked_pending: Vec<u32>,
    /// While set, links made ready wait here for their duplicate address
    /// detection (the link watcher runs first).
    dad_deferred: Option<Vec<u32>>,
    /// While set, the links the link watcher is to look at wait here
    /// for the end of the request (`link_set`).
    watch_deferred: Option<link::WatchLater>,
    /// The groups someone hears the events of (see
    /// `Stack::set_listeners`): route events of the others are not built.
    listeners: Listeners,
    /// The stack under the engine.
    plane: D,
}

impl Default for MemStack {
    fn default() -> Self {
        MemStack::new()
    }
}

impl MemStack {
    /// A stack with only `lo` (index 1, down), as a fresh network namespace.
    pub fn new() -> Self {
        MemStack::with_plane(ConfigOnly)
    }
}

impl<D: DataPlane> MemStack<D> {
    /// The engine over `plane`, with only `lo` (index 1, down), as a
    /// fresh network namespace.
    pub fn with_plane(plane: D) -> Self {
        let mut s = MemStack::bare(plane);
        s.links.insert(1, Link::loopback());
        s.last_index = 1;
        s
    }

    /// The engine over `plane`, without any link, not even `lo`: the
    /// plane brings its own with [`MemStack::attach`].
    pub fn bare(plane: D) -> Self {
        MemStack {
            links: BTreeMap::new(),
            last_index: 0,
            addrs: Vec::new(),
            addr_index: AddrIndex::default(),
            subnets: SubnetIndex::default(),
            sources: SourceCount::default(),
            routes4: RouteList::default(),
            routes6: RouteList::default(),
            // IPv4 tables appear with their first route; IPv6 has main and
            // local from the start.
            tables: [(AF_INET6, RT_TABLE_MAIN), (AF_INET6, RT_TABLE_LOCAL)]
                .into_iter()
                .collect(),
            rules: nlq::rule_rules::RuleTable::default(),
            neighs: BTreeMap::new(),
            nexthops: BTreeMap::new(),
            nh_last_id: 0,
            nh_serial: 0,
            births: 0,
            generation: 0,
            listeners: Listeners::ALL,
            mac_seed: 0,
            stacked_pending: Vec::new(),
            dad_deferred: None,
            watch_deferred: None,
            plane,
        }
    }

    /// Adds a link the data plane provides (a device of its own), down,
    /// silently, as the namespace's links are there before anyone
    /// listens. `EEXIST` if the index or the name is taken, `EINVAL` for
    /// an index of 0 or above `i32::MAX`, an invalid name, a MAC that is
    /// not unicast or an MTU outside `68..=max_mtu`.
    pub fn attach(&mut self, device: DeviceLink) -> StackResult<LinkRef<'_>> {
        let link = self.device_link(device)?;
        let index = link.index;
        self.links.insert(index, link);
        self.last_index = self.last_index.max(index);
        let link = self.links.get(&index).ok_or(link::NO_DEVICE)?;
        self.plane.mirror(Change::Link(LinkRef(link)));
        Ok(LinkRef(link))
    }

    /// The data plane, unwrapped (the tables are dropped).
    pub fn into_plane(self) -> D {
        self.plane
    }

    /// The data plane.
    pub fn plane(&self) -> &D {
        &self.plane
    }

    /// The data plane, mutable (for its own state: the engine's tables
    /// change only through requests).
    pub fn plane_mut(&mut self) -> &mut D {
        &mut self.plane
    }

    /// The link with index `index`.
    pub fn link_of(&self, index: u32) -> Option<LinkRef<'_>> {
        self.links.get(&index).map(LinkRef)
    }

    /// The links, by index.
    pub fn links_iter(&self) -> impl Iterator<Item = LinkRef<'_>> {
        self.links.values().map(LinkRef)
    }

    /// The addresses of link `index`, IPv4 then IPv6, in dump order.
    pub fn addrs_on(&self, index: u32) -> impl Iterator<Item = AddrRef<'_>> {
        self.addrs
            .iter()
            .filter(move |a| a.ifindex == index)
            .map(AddrRef)
    }

    /// The routes of `table` to exactly `dst/len` (any metric, TOS,
    /// nexthop), in dump order.
    pub fn routes_to(
        &self,
        family: u8,
        table: u32,
        dst: IpAddr,
        len: u8,
    ) -> impl Iterator<Item = RouteRef<'_>> {
        let key = route::RouteKey::prefix_of(table, dst, len);
        let same_family = (family == AF_INET) == dst.is_ipv4();
        self.routes_at(&key)
            .filter(move |_| same_family)
            .map(RouteRef)
    }

    /// Every route of `family` (`AF_UNSPEC`: both), in dump order.
    pub fn routes_iter(&self, family: u8) -> impl Iterator<Item = RouteRef<'_>> {
        let v4 = (family != AF_INET6).then(|| self.routes4.iter());
        let v6 = (family != AF_INET).then(|| self.routes6.iter());
        v4.into_iter()
            .flatten()
            .chain(v6.into_iter().flatten())
            .map(RouteRef)
    }

    /// The number of routes, all tables and families.
    pub fn route_count(&self) -> usize {
        // Routes in memory: the sum does not overflow.
        self.routes4.len().saturating_add(self.routes6.len())
    }

    /// The number of addresses.
    pub fn addr_count(&self) -> usize {
        self.addrs.len()
    }

    /// The bytes the tables occupy (links, addresses, routes, indexes),
    /// for memory accounting.
    pub fn table_bytes(&self) -> usize {
        use std::mem::size_of;
        const PER_LINK: usize = size_of::<Link>() + 4 * size_of::<usize>();
        let routes_heap = self.routes4.iter().chain(self.routes6.iter());
        [
            self.links.len().saturating_mul(PER_LINK),
            self.addrs.capacity().saturating_mul(size_of::<Addr>()),
            self.addr_index.heap_bytes(),
            self.subnets.heap_bytes(),
            self.routes4.bytes(),
            self.routes6.bytes(),
            routes_heap
                .map(Route::heap_bytes)
                .fold(0, usize::saturating_add),
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }

    /// Sets a link's carrier (a cable plugged or pulled, a tap opened),
    /// reporting the change through `events` as the kernel's link watch
    /// does. `ENODEV` for an unknown link.
    pub fn set_carrier(
        &mut self,
        index: u32,
        carrier: bool,
        events: Events<'_>,
    ) -> StackResult<()> {
        let decorate = self.plane.link_decorator();
        let r = self.link_set_carrier(index, carrier, &mut decorated(&decorate, events));
        self.mirror_link(index);
        r
    }

    /// Tells the plane of link `index` as it is now.
    fn mirror_link(&mut self, index: u32) {
        if let Some(l) = self.links.get(&index) {
            self.plane.mirror(Change::Link(LinkRef(l)));
        }
    }

    fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Inserts an address at `pos` of the table (keeping the index).
    fn addr_insert(&mut self, pos: usize, a: Addr) {
        self.plane.mirror(Change::AddrAdded(AddrRef(&a)));
        self.subnets.insert(&a);
        // A position at most the length (as `insert_addr` finds it).
        self.addrs.insert(pos.min(self.addrs.len()), a);
        self.addr_index.invalidate();
    }

    /// Removes the address at `pos` of the table (keeping the index).
    fn addr_remove(&mut self, pos: usize) -> Addr {
        // Callers name a position they found in the table.
        let a = self.addrs.remove(pos);
        self.addr_index.invalidate();
        self.subnets.remove(&a);
        self.plane.mirror(Change::AddrRemoved(AddrRef(&a)));
        a
    }

    /// Removes the addresses `gone` selects, in table order.
    fn addr_remove_where(&mut self, gone: impl Fn(&Addr) -> bool) -> Vec<Addr> {
        let mut removed = Vec::new();
        let mut pos = 0;
        while let Some(a) = self.addrs.get(pos) {
            if gone(a) {
                removed.push(self.addr_remove(pos));
            } else {
                // A position in the table: below its length.
                pos = pos.saturating_add(1);
            }
        }
        removed
    }

    /// Changes the address at `pos` in place.
    fn addr_update(&mut self, pos: usize, change: impl FnOnce(&mut Addr)) -> Option<Addr> {
        let a = self.addrs.get_mut(pos)?;
        let old = a.clone();
        change(a);
        if (a.local, a.peer, a.prefix_len, a.scope)
            != (old.local, old.peer, old.prefix_len, old.scope)
        {
            self.subnets.remove(&old);
            self.subnets.insert(a);
        }
        self.plane.mirror(Change::AddrReplaced {
            old: AddrRef(&old),
            new: AddrRef(a),
        });
        Some(a.clone())
    }
}

/// `events`, with each link completed by `decorate` (the plane's view of
/// it).
fn decorated<'a>(
    decorate: &'a impl Fn(&mut LinkRepr),
    events: Events<'a>,
) -> impl FnMut(Event<'_>) + 'a {
    move |e| match e {
        Event::NewLink(l) => {
            let mut l = l.clone();
            decorate(&mut l);
            events(Event::NewLink(&l));
        }
        Event::DelLink(l) => {
            let mut l = l.clone();
            decorate(&mut l);
            events(Event::DelLink(&l));
        }
        e => events(e),
    }
}

impl<D: DataPlane> Stack for MemStack<D> {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        let decorate = self.plane.link_decorator();
        for l in self.links.values().skip(start) {
            let mut r = l.repr();
            decorate(&mut r);
            if visit(&r).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        let mut r = self.find_link(key).map(Link::repr).ok_or(link::NO_DEVICE)?;
        self.plane.link_decorator()(&mut r);
        Ok(r)
    }

    fn has_link(&self, index: u32) -> bool {
        self.links.contains_key(&index)
    }

    fn link_state(&self, index: u32) -> Option<nlq::stack::LinkState> {
        self.links.get(&index).map(|l| nlq::stack::LinkState {
            flags: l.iff(),
            mtu: Some(l.mtu),
        })
    }

    fn add_link(&mut self, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        self.touch();
        let decorate = self.plane.link_decorator();
        let index = self.link_add(new, &mut decorated(&decorate, events))?;
        self.mirror_link(index);
        Ok(index)
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        self.touch();
        let decorate = self.plane.link_decorator();
        let r = self.link_set(index, change, &mut decorated(&decorate, events));
        // A failure leaves the earlier changes made.
        self.mirror_link(index);
        r
    }

    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        self.touch();
        let decorate = self.plane.link_decorator();
        self.link_del(index, &mut decorated(&decorate, events))?;
        self.plane.mirror(Change::LinkRemoved(index));
        Ok(())
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        // An AF_UNSPEC dump lists IPv4, then IPv6, as the kernel's
        // per-family dumps follow each other.
        let families: &[u8] = match family {
            AF_INET => &[AF_INET],
            AF_INET6 => &[AF_INET6],
            _ => &[AF_INET, AF_INET6],
        };
        let all = families
            .iter()
            .flat_map(|f| self.addrs.iter().filter(move |a| a.family() == *f));
        for a in all.skip(start) {
            if visit(&a.repr()).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn find_addr(&self, family: u8, local: IpAddr, index: u32) -> StackResult<Option<AddrRepr>> {
        let found = self.addr_index.find(&self.addrs, local, |a| {
            (family == AF_UNSPEC || a.family() == family) && (index == 0 || a.ifindex == index)
        });
        Ok(found.and_then(|p| self.addrs.get(p)).map(Addr::repr))
    }

    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.touch();
        shape::addr(addr, false)?;
        self.addr_add(addr, flags, events)
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.touch();
        shape::addr(addr, true)?;
        self.addr_del(addr, events)
    }

    fn routes(&self, family: u8, start: usize, visit: Visit<'_, RouteRepr>) -> StackResult<()> {
        let (v4, v6) = (family != AF_INET6, family != AF_INET);
        let skipped4 = if v4 { self.routes4.len() } else { 0 };
        let from4 = v4.then(|| self.routes4.range(start..usize::MAX));
        let from6 = v6.then(|| {
            self.routes6
                .range(start.saturating_sub(skipped4)..usize::MAX)
        });
        let mut repr = RouteRepr::default();
        for r in from4
            .into_iter()
            .flatten()
            .chain(from6.into_iter().flatten())
        {
            r.fill(&mut repr);
            if visit(&repr) == ControlFlow::Break(()) {
                break;
            }
        }
        Ok(())
    }

    fn best_route(&self, dst: IpAddr, tables: &[u32], oif: u32) -> StackResult<Option<RouteRepr>> {
        Ok(self.best_route_indexed(dst, tables, oif))
    }

    fn links_from(&self, from: &Cursor, visit: Visit<'_, LinkRepr>) -> StackResult<Cursor> {
        self.links_after(from, visit)
    }

    fn addrs_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, AddrRepr>,
    ) -> StackResult<Cursor> {
        self.addrs_after(family, from, visit)
    }

    fn routes_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RouteRepr>,
    ) -> StackResult<Cursor> {
        self.routes_after(family, from, visit)
    }

    fn route_table_exists(&self, family: u8, table: u32) -> bool {
        self.tables.contains(&(family, table))
    }

    fn add_route(
        &mut self,
        route: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.touch();
        shape::route(route)?;
        self.route_add(route, flags, events)
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.touch();
        shape::route(route)?;
        self.route_del(route, events)
    }

    fn nexthops_from(&self, from: &Cursor, visit: Visit<'_, NexthopRepr>) -> StackResult<Cursor> {
        Ok(cursor::by_id(
            &self.nexthops,
            from,
            |id, n| n.repr(id),
            visit,
        ))
    }

    fn nexthop(&self, id: u32) -> Option<NexthopRepr> {
        self.nexthop_repr(id)
    }

    fn add_nexthop(
        &mut self,
        nexthop: &NexthopRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.touch();
        self.nexthop_add(nexthop, flags, events)
    }

    fn del_nexthop(&mut self, id: u32, events: Events<'_>) -> StackResult<()> {
        self.touch();
        self.nexthop_del(id, events)
    }

    fn neighbours(&self, family: u8, start: usize, visit: Visit<'_, NeighRepr>) -> StackResult<()> {
        for n in self.neighs_of(family).skip(start) {
            if visit(&n).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn add_neigh(
        &mut self,
        neigh: &NeighRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.neigh_add(neigh, flags, events)
    }

    fn del_neigh(&mut self, neigh: &NeighRepr, events: Events<'_>) -> StackResult<()> {
        self.neigh_del(neigh, events)
    }

    fn family_device_age(&self, family: u8, index: u32) -> u64 {
        let f = usize::from(family == AF_INET6);
        self.links
            .get(&index)
            .and_then(|l| l.born.get(f).copied())
            .unwrap_or(0)
    }

    fn bridge_port_view(&self, index: u32) -> Option<LinkRepr> {
        self.bridge_port_repr(index)
    }

    fn ipv6_mc_load(&self, index: u32) -> nlq::stack::Mc6Load {
        self.links
            .get(&index)
            .map_or_else(Default::default, |l| l.mc6)
    }

    fn rules_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RuleRepr>,
    ) -> StackResult<Cursor> {
        self.rules_after(family, from, visit)
    }

    fn add_rule(
        &mut self,
        rule: &RuleRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.touch();
        self.rule_change(rule, Some(flags), events)
    }

    fn del_rule(&mut self, rule: &RuleRepr, events: Events<'_>) -> StackResult<()> {
        self.touch();
        self.rule_change(rule, None, events)
    }

    fn custom_rules(&self, family: u8) -> bool {
        self.rules.custom_rules(family)
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn set_listeners(&mut self, listeners: Listeners) {
        self.listeners = listeners;
    }
}

#[cfg(test)]
mod tests {
    use nlq::stack::{LinkState, NewLink};
    use nlq::wire::IfName;

    use super::*;

    /// The link state lookups use is the one the link answer reports.
    #[test]
    fn link_state_is_what_the_link_reports() {
        let mut s = MemStack::new();
        for kind in ["bridge", "dummy", "tap"] {
            let new = NewLink {
                index: 0,
                name: IfName::try_from_str(&format!("{kind}9")),
                kind,
                info: None,
                change: LinkChange {
                    mtu: Some(1400),
                    ..LinkChange::default()
                },
            };
            let index = s.add_link(&new, &mut |_| {}).unwrap();
            let up = LinkChange {
                flags: IFF_UP,
                flags_mask: IFF_UP,
                ..LinkChange::default()
            };
            s.set_link(index, &up, &mut |_| {}).unwrap();
        }
        for l in s.links_iter().map(|l| l.repr()).collect::<Vec<_>>() {
            let want = LinkState {
                flags: l.header.flags,
                mtu: l.mtu,
            };
            assert_eq!(s.link_state(l.header.index), Some(want));
        }
        assert_eq!(s.link_state(99), None);
    }
}
