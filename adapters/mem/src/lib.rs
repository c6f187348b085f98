//! # nlq-mem: the reference in-memory stack
//!
//! A network stack that holds only configuration (links, addresses,
//! routes) and answers rtnetlink with Linux semantics, checked against the
//! kernel by the proof tests of this workspace:
//!
//! - links: `lo` at index 1; the kernel's cyclic ifindex allocation; kinds
//!   `bridge`, `dummy` and `tap` (a tap-like link with carrier); up/down,
//!   MTU within the kind's limits, MAC, rename;
//! - addresses: IPv4 and IPv6, primary and secondary, labels; the kernel's
//!   prefix routes and local-table routes while the link is up; routes and
//!   IPv6 addresses removed when the link goes down;
//! - routes: main and other tables, gateways that must be reachable,
//!   devices that must be up, metrics, multipath, replace and append.
//!
//! [`MemStack`] implements [`nlq::stack::Stack`]; share one among many
//! clients with [`nlq::server::Shared`]:
//!
//! ```
//! use nlq::server::Shared;
//! use nlq_mem::MemStack;
//!
//! let shared = Shared::new(MemStack::new());
//! let a = shared.connect();
//! let b = shared.connect();
//! assert_ne!(a.port(), b.port());
//! ```

mod addr;
mod addr_index;
mod bridge;
mod devconf;
mod link;
mod route;
mod route_check;
mod route_list;
mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::ops::ControlFlow;

use nlq::stack::{CreateFlags, Events, LinkChange, LinkKey, NewLink, Stack, StackResult, Visit};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, NeighRepr, RouteRepr};

pub use link::Kind;
pub use tables::Tables;

use addr::Addr;
use addr_index::AddrIndex;
use link::Link;
use route::Route;
use route_list::RouteList;

/// An in-memory network stack with Linux semantics.
#[derive(Debug, Clone)]
pub struct MemStack {
    links: BTreeMap<u32, Link>,
    /// The last index handed out (the kernel's cyclic `net->ifindex`).
    last_index: u32,
    /// Ordered by link index, then by insertion.
    addrs: Vec<Addr>,
    /// `addrs` by local address (changed only through
    /// [`MemStack::addr_insert`] and [`MemStack::addr_remove`]).
    addr_index: AddrIndex,
    /// IPv4 routes and IPv6 routes, each in the kernel's dump order.
    routes4: RouteList,
    routes6: RouteList,
    /// IPv4 tables that exist (a route created them; they never go).
    tables: BTreeSet<(u8, u32)>,
    generation: u64,
    /// Seed of the MAC addresses of new links.
    mac_seed: u32,
}

impl Default for MemStack {
    fn default() -> Self {
        MemStack::new()
    }
}

impl MemStack {
    /// A stack with only `lo` (index 1, down), as a fresh network namespace.
    pub fn new() -> Self {
        let mut links = BTreeMap::new();
        links.insert(1, Link::loopback());
        MemStack {
            links,
            last_index: 1,
            addrs: Vec::new(),
            addr_index: AddrIndex::default(),
            routes4: RouteList::default(),
            routes6: RouteList::default(),
            // IPv4 tables appear with their first route; IPv6 has main and
            // local from the start.
            tables: [(AF_INET6, RT_TABLE_MAIN), (AF_INET6, RT_TABLE_LOCAL)]
                .into_iter()
                .collect(),
            generation: 0,
            mac_seed: 0,
        }
    }

    /// The number of routes, all tables and families.
    pub fn route_count(&self) -> usize {
        self.routes4.len() + self.routes6.len()
    }

    /// The number of addresses.
    pub fn addr_count(&self) -> usize {
        self.addrs.len()
    }

    /// The bytes the tables occupy (links, addresses, routes, indexes),
    /// for memory accounting.
    pub fn table_bytes(&self) -> usize {
        use std::mem::size_of;
        self.links.len() * (size_of::<Link>() + 4 * size_of::<usize>())
            + self.addrs.capacity() * size_of::<Addr>()
            + self.addr_index.heap_bytes()
            + (self.routes4.capacity() + self.routes6.capacity()) * size_of::<Route>()
            + self
                .routes4
                .iter()
                .chain(self.routes6.iter())
                .map(Route::heap_bytes)
                .sum::<usize>()
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
        self.link_set_carrier(index, carrier, events)
    }

    fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Inserts an address at `pos` of the table (keeping the index).
    fn addr_insert(&mut self, pos: usize, a: Addr) {
        self.addrs.insert(pos, a);
        self.addr_index.invalidate();
    }

    /// Removes the address at `pos` of the table (keeping the index).
    fn addr_remove(&mut self, pos: usize) -> Addr {
        let a = self.addrs.remove(pos);
        self.addr_index.invalidate();
        a
    }
}

impl Stack for MemStack {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        for l in self.links.values().skip(start) {
            if visit(&l.repr()).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        self.find_link(key).map(Link::repr).ok_or(link::NO_DEVICE)
    }

    fn has_link(&self, index: u32) -> bool {
        self.links.contains_key(&index)
    }

    fn add_link(&mut self, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        self.touch();
        self.link_add(new, events)
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        self.touch();
        self.link_set(index, change, events)
    }

    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        self.touch();
        self.link_del(index, events)
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
        self.addr_add(addr, flags, events)
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.touch();
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
        self.route_add(route, flags, events)
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.touch();
        self.route_del(route, events)
    }

    fn neighbours(
        &self,
        _family: u8,
        _start: usize,
        _visit: Visit<'_, NeighRepr>,
    ) -> StackResult<()> {
        // Configuration only: no neighbour is ever resolved here.
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation
    }
}
