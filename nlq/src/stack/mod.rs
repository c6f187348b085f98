//! The adapter traits: what a network stack implements to get rtnetlink.
//!
//! A stack author implements [`Stack`] with typed values only (the reprs of
//! [`crate::wire`]); the [`server`](crate::server) turns requests into calls
//! and answers into bytes, exactly as the kernel would. Every method has a
//! default answer, `EOPNOTSUPP`, so a stack starts with what it has.
//!
//! # How to add netlink to your stack
//!
//! "Answer like Linux" is a large contract: the order of notifications,
//! the routes an address brings, what a link going down takes with it,
//! the errno and extended-ACK text of each refusal. Two paths:
//!
//! - **Plug your stack under the engine** (the path to take). The crate
//!   `nlq-mem` holds the Linux model as an engine, `MemStack<D:
//!   DataPlane>`, checked against the kernel by this workspace's proofs.
//!   Implement its `DataPlane` trait: *admission* (refuse, with an errno
//!   and a text, what your stack cannot express; the engine asks where the
//!   kernel commits the change, so the kernel's own errors still come
//!   first) and *mirroring* (apply each change of the tables, silent ones
//!   included, to your data plane). Report your stack's own changes
//!   (carrier, DHCP) through the engine (`MemStack::set_carrier`, the
//!   `Stack` methods), so that subscribers hear of them. `MemStack<D>`
//!   implements [`Stack`]: put it under a [`Server`](crate::server::Server)
//!   and run the conformance kit (the `nlq-conformance` crate) against it. The
//!   smoltcp adapter (`nlq-smoltcp`) is built this way.
//! - **Implement [`Stack`] yourself**, for a stack that must keep its own
//!   tables: the dump methods hand entries to a callback (no allocation),
//!   the change methods validate, apply and report what changed through
//!   [`Events`] (the server turns each event into the kernel's
//!   notification for subscribers). Wrap it in a
//!   [`Server`](crate::server::Server), open one connection per client,
//!   feed it request datagrams and hand back the reply datagrams; report
//!   changes your stack makes on its own with
//!   [`Server::notify`](crate::server::Server::notify). Every method has a
//!   default answer, `EOPNOTSUPP`, so a stack starts with what it has
//!   (the policy rules default to the kernel's three, unchangeable); the
//!   kernel's rules of policy routing are whole in
//!   [`RuleTable`](crate::rule_rules::RuleTable), which a stack can keep
//!   its rules in.
//!
//! A complete minimal stack with one link that can go up and down:
//!
//! ```
//! use core::ops::ControlFlow;
//! use nlq::server::Server;
//! use nlq::stack::{Event, Events, LinkChange, Stack, StackResult, Visit};
//! use nlq::wire::{consts::*, IfName, LinkRepr, Messages, Message, Writer};
//!
//! struct OneLink { up: bool }
//!
//! impl OneLink {
//!     fn repr(&self) -> LinkRepr {
//!         let mut l = LinkRepr::default();
//!         l.header.index = 1;
//!         l.header.hardware_type = ARPHRD_ETHER;
//!         l.header.flags = if self.up { IFF_UP } else { 0 };
//!         l.name = IfName::try_from_str("eth0");
//!         l.mtu = Some(1500);
//!         l
//!     }
//! }
//!
//! impl Stack for OneLink {
//!     fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
//!         if start == 0 {
//!             let _ = visit(&self.repr());
//!         }
//!         Ok(())
//!     }
//!     fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
//!         if let Some(flags) = change.flags(if self.up { IFF_UP } else { 0 }) {
//!             self.up = flags & IFF_UP != 0;
//!         }
//!         events(Event::NewLink(&self.repr()));
//!         Ok(())
//!     }
//! }
//!
//! let mut server = Server::new(OneLink { up: false });
//! let conn = server.connect();
//! // `ip link set eth0 up`, as bytes (the server never needs a socket).
//! let mut req = Writer::new(Vec::new());
//! let mut l = LinkRepr::default();
//! l.header.index = 1;
//! l.header.flags = IFF_UP;
//! l.header.change = IFF_UP;
//! req.message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 7, 0, |w| l.emit(w)).unwrap();
//! server.handle_datagram(conn, req.buffer());
//! let reply = server.next_datagram(conn, 32 * 1024).unwrap().unwrap();
//! let msg = Messages::new(&reply.bytes).next().unwrap().unwrap();
//! let Message::Error(ack) = msg.typed().unwrap() else { panic!() };
//! assert!(ack.is_ack());
//! assert!(server.stack().up);
//! ```

pub mod lookup;
mod rule_lookup;

use core::net::IpAddr;
use core::ops::ControlFlow;

use crate::errno::{Errno, EOPNOTSUPP};
use crate::wire::consts::{
    AF_INET6, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE,
};
use crate::wire::{
    AddrRepr, HwAddr, IfName, InlineStr, LinkInfoRepr, LinkRepr, NeighRepr, NexthopRepr, RouteRepr,
    RuleRepr,
};

/// Why a stack refused: an errno (positive) and an optional extended-ACK
/// message for the client (`ip` prints it after "Error:").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackError {
    /// The errno, e.g. `Errno::EEXIST`.
    pub errno: Errno,
    /// The extended-ACK text.
    pub message: Option<&'static str>,
}

impl StackError {
    /// An error without text; `errno` as in [`errno`](crate::errno), e.g.
    /// `errno::EEXIST`.
    pub const fn new(errno: i32) -> Self {
        StackError {
            errno: Errno(errno),
            message: None,
        }
    }

    /// An error with extended-ACK text.
    pub const fn with_message(errno: i32, message: &'static str) -> Self {
        StackError {
            errno: Errno(errno),
            message: Some(message),
        }
    }

    /// The default answer of every method: the stack does not do this.
    pub const NOT_SUPPORTED: StackError = StackError::new(EOPNOTSUPP);
}

/// An error without text.
impl From<Errno> for StackError {
    fn from(errno: Errno) -> Self {
        StackError {
            errno,
            message: None,
        }
    }
}

/// Its errno (the text is dropped).
impl From<StackError> for Errno {
    fn from(e: StackError) -> Self {
        e.errno
    }
}

/// What the adapter methods return.
pub type StackResult<T> = Result<T, StackError>;

/// The callback a dump hands its entries to. `Break` means "the reply is
/// full, stop here": the entry passed when it broke was *not* taken, and the
/// next call restarts from it.
pub type Visit<'a, T> = &'a mut dyn FnMut(&T) -> ControlFlow<()>;

/// Where a dump resumes: an opaque key that the stack chose for the first
/// entry not yet delivered, handed back to it for the next datagram.
///
/// A stack that keeps a table in an ordered map makes it the entry's key,
/// so that each datagram starts with a lookup (O(log n)) and an entry
/// added or removed before it during the dump shifts nothing. The
/// defaults of the `*_from` methods use a position instead
/// ([`Cursor::at`]): the number of entries delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cursor([u8; Cursor::LEN]);

impl Cursor {
    /// The size of a key.
    pub const LEN: usize = 32;

    /// The start of a table (all zeros: a stack's own keys must differ
    /// from it).
    pub const START: Cursor = Cursor([0; Cursor::LEN]);

    /// A cursor holding `key`.
    pub const fn new(key: [u8; Cursor::LEN]) -> Cursor {
        Cursor(key)
    }

    /// The key.
    pub const fn key(&self) -> &[u8; Cursor::LEN] {
        &self.0
    }

    /// A position: `n` entries delivered.
    pub fn at(n: usize) -> Cursor {
        let mut k = [0; Cursor::LEN];
        if let Some(head) = k.get_mut(..8) {
            head.copy_from_slice(&(n as u64).to_le_bytes());
        }
        Cursor(k)
    }

    /// The position of a cursor made by [`Cursor::at`].
    pub fn position(&self) -> usize {
        let mut n = [0; 8];
        if let Some(head) = self.0.get(..8) {
            n.copy_from_slice(head);
        }
        usize::try_from(u64::from_le_bytes(n)).unwrap_or(usize::MAX)
    }
}

/// Runs a positional dump (`start` = entries delivered) as a cursor one:
/// the cursor returned counts what `visit` took.
fn positional<T>(
    from: &Cursor,
    visit: Visit<'_, T>,
    dump: impl FnOnce(usize, Visit<'_, T>) -> StackResult<()>,
) -> StackResult<Cursor> {
    let start = from.position();
    let mut taken = 0usize;
    dump(start, &mut |e| {
        let flow = visit(e);
        if flow.is_continue() {
            taken = taken.saturating_add(1);
        }
        flow
    })?;
    Ok(Cursor::at(start.saturating_add(taken)))
}

/// A change the stack made, reported so that subscribers hear of it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A link appeared or changed (`RTM_NEWLINK`, group `RTNLGRP_LINK`).
    NewLink(&'a LinkRepr),
    /// A link went away (`RTM_DELLINK`).
    DelLink(&'a LinkRepr),
    /// An address appeared or changed (`RTM_NEWADDR`).
    NewAddr(&'a AddrRepr),
    /// An address went away (`RTM_DELADDR`).
    DelAddr(&'a AddrRepr),
    /// A route appeared (`RTM_NEWROUTE`); the flags are the notification's
    /// `NLM_F_CREATE` / `EXCL` / `REPLACE` / `APPEND`, as the kernel sets them.
    NewRoute(&'a RouteRepr, u16),
    /// A route went away (`RTM_DELROUTE`).
    DelRoute(&'a RouteRepr),
    /// A neighbour appeared or changed (`RTM_NEWNEIGH`).
    NewNeigh(&'a NeighRepr),
    /// A neighbour went away (`RTM_DELNEIGH`).
    DelNeigh(&'a NeighRepr),
    /// A nexthop object appeared or was replaced (`RTM_NEWNEXTHOP`, group
    /// `RTNLGRP_NEXTHOP`).
    NewNexthop(&'a NexthopRepr),
    /// A nexthop object went away (`RTM_DELNEXTHOP`).
    DelNexthop(&'a NexthopRepr),
    /// A policy rule appeared (`RTM_NEWRULE`, group `RTNLGRP_IPV4_RULE` or
    /// `RTNLGRP_IPV6_RULE`).
    NewRule(&'a RuleRepr),
    /// A policy rule went away (`RTM_DELRULE`).
    DelRule(&'a RuleRepr),
    /// A link gained its IPv4 or IPv6 device (`RTM_NEWNETCONF`, group
    /// `RTNLGRP_IPV4_NETCONF` or `RTNLGRP_IPV6_NETCONF`): created, or its
    /// MTU large enough again. The configuration is a fresh namespace's.
    NewNetconf {
        /// `AF_INET` or `AF_INET6`.
        family: u8,
        /// The link.
        index: u32,
    },
    /// A link lost its IPv4 or IPv6 device (`RTM_DELNETCONF`): deleted, or
    /// its MTU too small for the family.
    DelNetconf {
        /// `AF_INET` or `AF_INET6`.
        family: u8,
        /// The link.
        index: u32,
    },
}

/// Where the change methods report their events.
pub type Events<'a> = &'a mut dyn FnMut(Event<'_>);

/// The notification groups someone hears the events of, as the server
/// tells a stack before a change ([`Stack::set_listeners`]): bit `g - 1`
/// for `RTNLGRP_*` group `g` (1 to 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listeners(pub u64);

impl Listeners {
    /// Every group: what a stack assumes unless told otherwise.
    pub const ALL: Listeners = Listeners(u64::MAX);

    /// Someone hears `group`.
    pub fn hears(self, group: u32) -> bool {
        (1..=64).contains(&group) && self.0 & (1u64 << group.saturating_sub(1)) != 0
    }

    /// Someone hears the address events of `family`
    /// (`RTNLGRP_IPV6_IFADDR` for IPv6, else `RTNLGRP_IPV4_IFADDR`).
    pub fn hears_addrs(self, family: u8) -> bool {
        self.hears(if family == AF_INET6 {
            RTNLGRP_IPV6_IFADDR
        } else {
            RTNLGRP_IPV4_IFADDR
        })
    }

    /// Someone hears the route events of `family`
    /// (`RTNLGRP_IPV6_ROUTE` for IPv6, else `RTNLGRP_IPV4_ROUTE`).
    pub fn hears_routes(self, family: u8) -> bool {
        self.hears(if family == AF_INET6 {
            RTNLGRP_IPV6_ROUTE
        } else {
            RTNLGRP_IPV4_ROUTE
        })
    }
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners::ALL
    }
}

/// How a link is named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKey<'a> {
    /// By interface index.
    Index(u32),
    /// By name.
    Name(&'a str),
}

/// The `NLM_F_CREATE` / `EXCL` / `REPLACE` / `APPEND` bits of a `NEW`
/// request, which decide what happens when the object exists or not. Each
/// family applies them its own way on Linux; the `mem` adapter shows how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateFlags(pub u16);

impl CreateFlags {
    /// `NLM_F_CREATE`: create if missing.
    pub fn create(self) -> bool {
        self.0 & crate::wire::consts::NLM_F_CREATE != 0
    }
    /// `NLM_F_EXCL`: fail if it exists.
    pub fn excl(self) -> bool {
        self.0 & crate::wire::consts::NLM_F_EXCL != 0
    }
    /// `NLM_F_REPLACE`: replace if it exists.
    pub fn replace(self) -> bool {
        self.0 & crate::wire::consts::NLM_F_REPLACE != 0
    }
    /// `NLM_F_APPEND`: add after the existing ones.
    pub fn append(self) -> bool {
        self.0 & crate::wire::consts::NLM_F_APPEND != 0
    }
}

/// The changes a `RTM_NEWLINK` / `RTM_SETLINK` asks of an existing link (or
/// of one being created). `None` leaves a property as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkChange {
    /// `ifi_flags` of the request.
    pub flags: u32,
    /// `ifi_change`: which flags to change; 0 with non-zero `flags` means
    /// all of them (the kernel's rule).
    pub flags_mask: u32,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_ADDRESS`.
    pub address: Option<HwAddr>,
    /// `IFLA_IFNAME` when it renames (the link was named by index).
    pub name: Option<IfName>,
    /// `IFLA_TXQLEN`.
    pub txqlen: Option<u32>,
    /// `IFLA_IFALIAS`.
    pub alias: Option<InlineStr<{ crate::wire::consts::IFALIASZ }>>,
    /// `IFLA_MASTER` (0 releases).
    pub master: Option<u32>,
    /// `IFLA_GROUP`.
    pub group: Option<u32>,
    /// `IFLA_LINK` of a link being created: the link it is stacked on
    /// (a macvlan's lower link). A change of an existing link never
    /// carries it.
    pub link: Option<u32>,
}

impl LinkChange {
    /// The link's new `IFF_*` flags given its current ones, or `None` when
    /// the request does not touch the flags (the kernel's
    /// `rtnl_dev_combine_flags`).
    pub fn flags(&self, current: u32) -> Option<u32> {
        if self.flags == 0 && self.flags_mask == 0 {
            return None;
        }
        if self.flags_mask == 0 {
            return Some(self.flags);
        }
        Some((self.flags & self.flags_mask) | (current & !self.flags_mask))
    }

    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == LinkChange::default()
    }
}

/// How a link's IPv6 groups stand on its list of link-layer multicast
/// addresses ([`Stack::ipv6_mc_load`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mc6Load {
    /// Loaded as each group was joined, since the IPv6 device was made.
    #[default]
    Initial,
    /// Taken off as the link went down after IPv6 was ready on it
    /// (`ipv6_mc_down`); the groups stay joined.
    Unloaded,
    /// Put back as the link became ready again (`ipv6_mc_up`): after what
    /// its opening loaded, newest group first.
    Reloaded,
}

/// A `RTM_NEWLINK` that creates a link.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    /// The requested index; 0 lets the stack choose.
    pub index: u32,
    /// The requested name; `None` lets the stack choose (the kernel names it
    /// after the kind: `bridge0`).
    pub name: Option<IfName>,
    /// `IFLA_INFO_KIND`, "" when missing.
    pub kind: &'a str,
    /// The whole `IFLA_LINKINFO`, for kind-specific data.
    pub info: Option<&'a LinkInfoRepr>,
    /// Properties to set on the new link (`name` is not used here).
    pub change: LinkChange,
}

/// What a route lookup needs of a link ([`Stack::link_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkState {
    /// `IFF_*` as the link reports them.
    pub flags: u32,
    /// Its MTU, if it has one.
    pub mtu: Option<u32>,
}

/// A network stack as rtnetlink sees it. Implement what your stack has; the
/// rest answers `EOPNOTSUPP`.
///
/// Dumps take `start`, the number of entries already delivered by earlier
/// calls of the same dump (the server resumes long dumps one datagram at a
/// time); deliver entries from that position on, in a stable order, until
/// `visit` breaks. Change methods validate, apply, and report every change
/// they made (including consequences, such as the prefix route an address
/// brings) through `events`, in the order they happened.
pub trait Stack {
    /// Every link, ordered by index.
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        let _ = (start, visit);
        Err(StackError::NOT_SUPPORTED)
    }

    /// One link; `ENODEV` when there is none. The default scans
    /// [`Stack::links`].
    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        let mut found = None;
        self.links(0, &mut |l: &LinkRepr| {
            let hit = match key {
                LinkKey::Index(i) => l.header.index == i,
                LinkKey::Name(n) => l.name.as_ref().map(|s| s.as_str()) == Some(n),
            };
            if hit {
                found = Some(l.clone());
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        found.ok_or(StackError::new(crate::errno::ENODEV))
    }

    /// True when link `index` exists: a cheaper [`Stack::link`] for the
    /// checks the server makes before address and route changes.
    fn has_link(&self, index: u32) -> bool {
        self.link(LinkKey::Index(index)).is_ok()
    }

    /// The flags and MTU of link `index`, for route lookups. The default
    /// takes them from [`Stack::link`]; a stack whose link answers are
    /// costly to build gives them directly.
    fn link_state(&self, index: u32) -> Option<LinkState> {
        let l = self.link(LinkKey::Index(index)).ok()?;
        Some(LinkState {
            flags: l.header.flags,
            mtu: l.mtu,
        })
    }

    /// Creates a link; returns its index.
    fn add_link(&mut self, link: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        let _ = (link, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Changes an existing link.
    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        let _ = (index, change, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Deletes a link (with its addresses and routes).
    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        let _ = (index, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Every address of `family` (`AF_UNSPEC`: all), ordered by link.
    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        let _ = (family, start, visit);
        Err(StackError::NOT_SUPPORTED)
    }

    /// The first address of `family` (in the order of
    /// [`addrs`](Stack::addrs)) whose local address is `local`, on link
    /// `index` (0: any link): a single `RTM_GETADDR`. The default walks
    /// [`addrs`](Stack::addrs); a stack that may hold many addresses
    /// answers from an index.
    fn find_addr(&self, family: u8, local: IpAddr, index: u32) -> StackResult<Option<AddrRepr>> {
        let mut found = None;
        self.addrs(family, 0, &mut |a: &AddrRepr| {
            if a.local.or(a.address) == Some(local) && (index == 0 || a.header.index == index) {
                found = Some(*a);
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(found)
    }

    /// Adds (or, with `REPLACE`, changes) an address.
    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let _ = (addr, flags, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Deletes an address.
    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let _ = (addr, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Every route of `family` (`AF_UNSPEC`: all), every table.
    fn routes(&self, family: u8, start: usize, visit: Visit<'_, RouteRepr>) -> StackResult<()> {
        let _ = (family, start, visit);
        Err(StackError::NOT_SUPPORTED)
    }

    /// True when routing table `table` of `family` exists. A dump filtered
    /// to a table that does not fails with `ENOENT`, as on Linux, where
    /// IPv4 tables come into being with their first route. The default says
    /// every table exists.
    fn route_table_exists(&self, family: u8, table: u32) -> bool {
        let _ = (family, table);
        true
    }

    /// Adds, replaces or appends a route.
    fn add_route(
        &mut self,
        route: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let _ = (route, flags, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Deletes a route.
    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        let _ = (route, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// The route of `tables` (taken as one) that a lookup of `dst`
    /// through link `oif` (0: any) stops at: the longest prefix, then, for
    /// IPv4, the local table's, then the lowest metric, then the first in
    /// dump order; among the reject routes (IPv4) and the routes with a
    /// next hop through `oif`. [`Stack::route_get`]'s default asks it.
    /// The default walks [`Stack::routes`]; a stack that may hold many
    /// routes answers from an index.
    fn best_route(&self, dst: IpAddr, tables: &[u32], oif: u32) -> StackResult<Option<RouteRepr>> {
        crate::stack::lookup::best_route_walk(self, dst, tables, oif)
    }

    /// The path a packet would take (`ip route get`), as the answer to
    /// send. The default, [`crate::stack::lookup::route_get`], looks it up in
    /// [`Stack::routes`] and [`Stack::addrs`] as the kernel does.
    fn route_get(&self, query: &crate::stack::lookup::RouteQuery) -> StackResult<RouteRepr> {
        crate::stack::lookup::route_get(self, query)
    }

    /// Every neighbour of `family` (`AF_UNSPEC`: all).
    fn neighbours(&self, family: u8, start: usize, visit: Visit<'_, NeighRepr>) -> StackResult<()> {
        let _ = (family, start, visit);
        Err(StackError::NOT_SUPPORTED)
    }

    /// The links from `from` on, as a dump resumes them. Returns where the
    /// next datagram resumes: at the entry `visit` broke on (not taken),
    /// or after the last entry when the table was exhausted (a later call
    /// lists what was added since). The default counts positions over
    /// [`Stack::links`].
    fn links_from(&self, from: &Cursor, visit: Visit<'_, LinkRepr>) -> StackResult<Cursor> {
        positional(from, visit, |start, v| self.links(start, v))
    }

    /// The addresses of `family` from `from` on (see
    /// [`Stack::links_from`]).
    fn addrs_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, AddrRepr>,
    ) -> StackResult<Cursor> {
        positional(from, visit, |start, v| self.addrs(family, start, v))
    }

    /// The routes of `family` from `from` on (see [`Stack::links_from`]).
    fn routes_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RouteRepr>,
    ) -> StackResult<Cursor> {
        positional(from, visit, |start, v| self.routes(family, start, v))
    }

    /// The neighbours of `family` from `from` on (see
    /// [`Stack::links_from`]).
    fn neighbours_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, NeighRepr>,
    ) -> StackResult<Cursor> {
        positional(from, visit, |start, v| self.neighbours(family, start, v))
    }

    /// The policy rules of `family` (`AF_UNSPEC`: IPv4's, then IPv6's)
    /// from `from` on (see [`Stack::links_from`]), as the kernel dumps
    /// them. The default lists the kernel's default rules
    /// ([`crate::rule_rules::default_rules`]): a stack without policy
    /// routing looks up the local, main and default tables, in that order.
    fn rules_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RuleRepr>,
    ) -> StackResult<Cursor> {
        use crate::rule_rules::{default_rules, list};
        use crate::wire::consts::{AF_INET, AF_INET6};
        list(
            default_rules(AF_INET),
            default_rules(AF_INET6),
            family,
            from,
            &|_| true,
            visit,
        )
    }

    /// Lookups of `family` follow the policy rules: an IPv4 rule was ever
    /// added or deleted (`fib_has_custom_rules`; `fib_unmerge` split the
    /// local table from main), an IPv6 rule ever added
    /// (`fib6_has_custom_rules`). Before, IPv4 looks up local and main as
    /// one table, then the default table, and the local table brings main
    /// with it; IPv6 looks up local, then main; neither reads the rules.
    /// The default: never.
    fn custom_rules(&self, family: u8) -> bool {
        let _ = family;
        false
    }

    /// Adds a policy rule (`RTM_NEWRULE`), checked as
    /// [`crate::rule_rules::RuleTable::add`] checks it.
    fn add_rule(
        &mut self,
        rule: &RuleRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let _ = (rule, flags, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// Deletes the first policy rule `rule` selects (`RTM_DELRULE`).
    fn del_rule(&mut self, rule: &RuleRepr, events: Events<'_>) -> StackResult<()> {
        let _ = (rule, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// When link `index` got its device of `family` (IPv4's `in_device`,
    /// IPv6's `inet6_dev`), as a number that grows with time: the kernel
    /// lists each link's neighbour parameters newest first (`ip ntable`).
    /// The default takes the index (devices made with their links).
    fn family_device_age(&self, family: u8, index: u32) -> u64 {
        let _ = family;
        u64::from(index)
    }

    /// The `AF_BRIDGE` view of link `index` when it is a bridge port
    /// (`br_fill_ifinfo`: its header with family `AF_BRIDGE`, name, master,
    /// MTU, operational state, address, underlying link, and the port's
    /// attributes as `protinfo`), for `bridge link show`. The default: none.
    fn bridge_port_view(&self, index: u32) -> Option<LinkRepr> {
        let _ = index;
        None
    }

    /// How link `index`'s IPv6 groups stand on its list of link-layer
    /// multicast addresses (`/proc/net/dev_mcast`, `ip maddr`). The
    /// default: as loaded when its IPv6 device was made.
    fn ipv6_mc_load(&self, index: u32) -> Mc6Load {
        let _ = index;
        Mc6Load::Initial
    }

    /// `RTM_NEWNEIGH`: adds or changes a neighbour entry. The server has
    /// checked the request as `neigh_add` does up to the table lookup: an
    /// address of the family, an existing link, a link-layer address at
    /// least as long as the link's.
    fn add_neigh(
        &mut self,
        neigh: &NeighRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let _ = (neigh, flags, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// `RTM_DELNEIGH`: removes the neighbour entry (checked as for
    /// [`add_neigh`](Stack::add_neigh)).
    fn del_neigh(&mut self, neigh: &NeighRepr, events: Events<'_>) -> StackResult<()> {
        let _ = (neigh, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// The nexthop objects from `from` on, by id (`RTM_GETNEXTHOP` dump;
    /// see [`Stack::links_from`]), as `nh_fill_node` writes them. The
    /// default lists none, as a kernel where none was added.
    fn nexthops_from(&self, from: &Cursor, visit: Visit<'_, NexthopRepr>) -> StackResult<Cursor> {
        let _ = visit;
        Ok(*from)
    }

    /// The nexthop object `id` (`RTM_GETNEXTHOP` of one id). The default:
    /// none.
    fn nexthop(&self, id: u32) -> Option<NexthopRepr> {
        let _ = id;
        None
    }

    /// `RTM_NEWNEXTHOP`: adds or replaces a nexthop object. The server has
    /// checked the message as `rtm_to_nh_config` does before it looks at
    /// the stack's links and nexthops.
    fn add_nexthop(
        &mut self,
        nexthop: &NexthopRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let _ = (nexthop, flags, events);
        Err(StackError::NOT_SUPPORTED)
    }

    /// `RTM_DELNEXTHOP`: removes nexthop `id`, the routes through it and
    /// its place in the groups holding it. The default: `ENOENT`, there is
    /// none.
    fn del_nexthop(&mut self, id: u32, events: Events<'_>) -> StackResult<()> {
        let _ = (id, events);
        Err(StackError::new(crate::errno::ENOENT))
    }

    /// A counter that changes whenever the tables change. A dump that sees
    /// it move between two datagrams is marked `NLM_F_DUMP_INTR`, as the
    /// kernel marks a dump that raced with a change. The default never moves.
    fn generation(&self) -> u64 {
        0
    }

    /// Before each change it hands over, the server says which groups
    /// anyone hears (the requester's echo counts as every group), and
    /// after it, [`Listeners::ALL`] again. A stack may skip building the
    /// events of groups nobody hears: no one would see them. Building
    /// them anyway is always right, and so the default ignores this.
    fn set_listeners(&mut self, listeners: Listeners) {
        let _ = listeners;
    }

    /// The server is about to hand over the requests of one datagram.
    /// Until [`Stack::end_requests`], a stack may defer what only its
    /// data plane needs (putting a run of address changes on its
    /// interface in one step, say): every answer must still be as if
    /// each request was applied at once. The default: nothing.
    fn begin_requests(&mut self) {}

    /// The datagram's requests are handled: whatever
    /// [`Stack::begin_requests`] let the stack defer is done now. The
    /// default: nothing.
    fn end_requests(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_flags_like_the_kernel() {
        let up = LinkChange {
            flags: 1,
            flags_mask: 1,
            ..LinkChange::default()
        };
        assert_eq!(up.flags(0x1002), Some(0x1003));
        let down = LinkChange {
            flags: 0,
            flags_mask: 1,
            ..LinkChange::default()
        };
        assert_eq!(down.flags(0x1003), Some(0x1002));
        // ifi_change 0 with flags set: the flags replace all.
        let all = LinkChange {
            flags: 1,
            ..LinkChange::default()
        };
        assert_eq!(all.flags(0x1002), Some(1));
        assert_eq!(LinkChange::default().flags(0x1003), None);
    }

    #[test]
    fn defaults_answer_eopnotsupp() {
        struct Nothing;
        impl Stack for Nothing {}
        let mut s = Nothing;
        assert_eq!(
            s.links(0, &mut |_| ControlFlow::Continue(())),
            Err(StackError::NOT_SUPPORTED)
        );
        assert_eq!(s.link(LinkKey::Index(1)), Err(StackError::NOT_SUPPORTED));
        assert_eq!(s.del_link(1, &mut |_| {}), Err(StackError::NOT_SUPPORTED));
    }
}
