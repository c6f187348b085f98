//! Routes: `fib_table_insert` / `fib_table_delete` for IPv4,
//! `fib6_add_rt2node` / `ip6_route_del` for IPv6, and the kernel routes
//! addresses bring, as nlq-mem has them; plus what smoltcp cannot express,
//! refused before anything changes.
//!
//! smoltcp routes by gateway only: its table maps a prefix to a router,
//! and the prefixes of the interface's addresses are on-link. So the
//! routes it can take are unicast routes via a gateway of the same family,
//! in the main table, one per destination prefix (it has no metrics), with
//! no multipath, TOS, source prefix, preferred source, metrics or expiry.
//! The kernel's own routes (prefix, local, broadcast) are kept here, as
//! Linux reports them, and follow the addresses.

use std::cell::{Ref, RefCell};
use std::collections::hash_map::Entry;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;

use nlq::errno::*;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{RouteRepr, RtMsg};

use crate::addr::{mask4, prefix6, v4};
use crate::hash::FastMap;
use crate::model::Model;

/// `RTNH_F_DEAD`.
const RTNH_F_DEAD: u32 = 1;
/// `RTNH_F_LINKDOWN`.
const RTNH_F_LINKDOWN: u32 = 16;
/// `RT_TABLE_COMPAT`: what `rtm_table` says of tables above 255.
const RT_TABLE_COMPAT: u8 = 252;
/// `IP6_RT_PRIO_USER`: the metric of IPv6 routes that give none.
const IP6_RT_PRIO_USER: u32 = 1024;

/// A table wildcard in [`Model::del_kernel_routes`]: every table.
pub(crate) const KEY_ANY_TABLE: Option<u32> = None;

/// Where a prefix sits in a family's dump order: tables by id modulo 256;
/// IPv4 (LC-trie) by prefix ascending, longer masks first; IPv6 (a binary
/// tree walked children first) by the prefix padded with ones, longer
/// masks first. Packed into integers so that comparing two is cheap: the
/// table (id modulo 256, then id), the prefix, and the prefix length
/// complemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    table: u64,
    /// The prefix's high and low halves (two words rather than a `u128`,
    /// whose alignment would make the key half as large again).
    dst_hi: u64,
    dst_lo: u64,
    len: u8,
}

fn bits(ip: &Option<IpAddr>) -> u128 {
    match ip {
        Some(IpAddr::V4(a)) => u128::from(u32::from(*a)),
        Some(IpAddr::V6(a)) => u128::from(*a),
        None => 0,
    }
}

fn key_of(family: u8, table: u32, dst: &Option<IpAddr>, dst_len: u8) -> Key {
    let d = bits(dst);
    let d = if family == AF_INET6 {
        d | u128::MAX.checked_shr(u32::from(dst_len)).unwrap_or(0)
    } else {
        d
    };
    Key {
        table: (u64::from(table as u8) << 32) | u64::from(table),
        dst_hi: (d >> 64) as u64,
        dst_lo: d as u64,
        len: u8::MAX - dst_len,
    }
}

fn masked(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask4(len))),
        IpAddr::V6(a) => IpAddr::V6(prefix6(&a, len)),
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub family: u8,
    pub table: u32,
    pub dst: Option<IpAddr>,
    pub dst_len: u8,
    pub tos: u8,
    pub priority: u32,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    /// `RTNH_F_*`.
    pub flags: u32,
    pub prefsrc: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub oif: u32,
    /// IPv6 router preference (`RTA_PREF`: 0 medium, 1 high, 3 low).
    pub pref: u8,
}

impl Route {
    /// A route the kernel makes itself (`proto kernel`).
    pub fn kernel(
        table: u32,
        dst: IpAddr,
        dst_len: u8,
        kind: u8,
        scope: u8,
        oif: u32,
        prefsrc: Option<IpAddr>,
    ) -> Route {
        Route {
            family: if dst.is_ipv4() { AF_INET } else { AF_INET6 },
            table,
            dst: Some(dst),
            dst_len,
            tos: 0,
            priority: 0,
            protocol: RTPROT_KERNEL,
            scope,
            kind,
            flags: 0,
            prefsrc,
            gateway: None,
            oif,
            pref: 0,
        }
    }

    /// The route a request describes, with the kernel's defaults.
    fn from_request(req: &RouteRepr) -> Route {
        let family = req.header.family;
        let v6 = family == AF_INET6;
        Route {
            family,
            table: match req.table_id() {
                0 => RT_TABLE_MAIN,
                t => t,
            },
            dst: req.dst.map(|d| masked(d, req.header.dst_len)),
            dst_len: req.header.dst_len,
            tos: req.header.tos,
            // IPv6 stores metric 0 as the user default.
            priority: match req.priority {
                Some(p) if p != 0 || !v6 => p,
                _ if v6 => IP6_RT_PRIO_USER,
                _ => 0,
            },
            protocol: req.header.protocol,
            // IPv6 keeps no scope: it reports universe for every route.
            scope: if v6 {
                RT_SCOPE_UNIVERSE
            } else {
                req.header.scope
            },
            kind: req.header.kind,
            flags: req.header.flags & 0xff & !(RTNH_F_DEAD | RTNH_F_LINKDOWN),
            prefsrc: req.prefsrc,
            gateway: req.gateway.or(req.via),
            oif: req.oif.unwrap_or(0),
            // Anything but high (1) or low (3) is medium.
            // Reject routes have no preference.
            pref: match req.pref {
                Some(p @ (1 | 3)) if v6 && !nlq::route_rules::is_reject(req.header.kind) => p,
                _ => 0,
            },
        }
    }

    fn key(&self) -> Key {
        key_of(self.family, self.table, &self.dst, self.dst_len)
    }

    /// Same kind and next hop: what makes an add `EEXIST`.
    fn same_info(&self, o: &Route) -> bool {
        self.kind == o.kind
            && self.scope == o.scope
            && self.protocol == o.protocol
            && self.prefsrc == o.prefsrc
            && self.gateway == o.gateway
            && self.oif == o.oif
    }

    /// A route IPv4 gateways resolve through: not via a gateway, unicast
    /// or local, of scope link or narrower, in the main or local table.
    fn is_onlink4(&self) -> bool {
        self.family == AF_INET
            && (self.table == RT_TABLE_MAIN || self.table == RT_TABLE_LOCAL)
            && self.gateway.is_none()
            && self.scope >= RT_SCOPE_LINK
            && matches!(self.kind, RTN_UNICAST | RTN_LOCAL)
    }

    /// A route smoltcp holds: main table, unicast, via a gateway.
    pub fn is_gateway(&self) -> bool {
        self.table == RT_TABLE_MAIN && self.kind == RTN_UNICAST && self.gateway.is_some()
    }

    /// Writes the route into a reused repr.
    pub fn fill(&self, r: &mut RouteRepr) {
        let v6 = self.family == AF_INET6;
        r.header = RtMsg {
            family: self.family,
            dst_len: self.dst_len,
            src_len: 0,
            tos: self.tos,
            table: u8::try_from(self.table).unwrap_or(RT_TABLE_COMPAT),
            protocol: self.protocol,
            scope: self.scope,
            kind: self.kind,
            flags: self.flags,
        };
        // A default route has no RTA_DST.
        r.dst = self.dst.filter(|_| self.dst_len != 0);
        r.src = None;
        r.iif = None;
        r.oif = (self.oif != 0).then_some(self.oif);
        r.gateway = self.gateway;
        r.priority = (self.priority != 0 || v6).then_some(self.priority);
        r.prefsrc = self.prefsrc;
        r.metrics = None;
        r.multipath = None;
        r.table = Some(self.table);
        r.mark = None;
        r.pref = v6.then_some(self.pref);
        r.via = None;
        r.expires = None;
    }

    pub fn repr(&self) -> RouteRepr {
        let mut r = RouteRepr::default();
        self.fill(&mut r);
        r
    }
}

/// The routes of one prefix, by TOS then metric, in the order they came
/// within equals; nearly always one, kept without an allocation.
#[derive(Debug, Clone)]
enum Group {
    One(Route),
    Many(Vec<Route>),
}

impl Group {
    fn as_slice(&self) -> &[Route] {
        match self {
            Group::One(r) => std::slice::from_ref(r),
            Group::Many(v) => v,
        }
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut Route> {
        match self {
            Group::One(r) => (i == 0).then_some(r),
            Group::Many(v) => v.get_mut(i),
        }
    }

    /// Inserts before the routes that compare equal, or after them with
    /// `append`.
    fn insert(&mut self, r: Route, append: bool) {
        let mut v = match std::mem::replace(self, Group::Many(Vec::new())) {
            Group::One(x) => vec![x],
            Group::Many(v) => v,
        };
        let o = (r.tos, r.priority);
        let pos = if append {
            v.partition_point(|x| (x.tos, x.priority) <= o)
        } else {
            v.partition_point(|x| (x.tos, x.priority) < o)
        };
        v.insert(pos, r);
        *self = Group::Many(v);
    }

    /// Removes route `i`, if there is one.
    fn remove(&mut self, i: usize) -> Option<Route> {
        match self {
            Group::One(_) if i == 0 => match std::mem::replace(self, Group::Many(Vec::new())) {
                Group::One(r) => Some(r),
                Group::Many(_) => None,
            },
            Group::One(_) => None,
            Group::Many(v) => (i < v.len()).then(|| v.remove(i)),
        }
    }

    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// One family's routes: grouped by prefix for the lookups, and the groups'
/// dump order, sorted when a dump needs it (a configuration of thousands
/// of routes pays for one sort, not for an ordered insert each). The
/// groups sit in a slab, the map holds only their places: a small map
/// grows (and copies itself) cheaply.
#[derive(Debug, Clone, Default)]
struct Fib {
    /// Where each prefix's group is in `groups`.
    slots: FastMap<Key, u32>,
    groups: Vec<Group>,
    /// Places in `groups` that a removed group left.
    free: Vec<u32>,
    count: usize,
    /// The keys of `slots` in dump order; `None` when stale.
    order: RefCell<Option<Vec<Key>>>,
}

impl Fib {
    fn group(&self, key: &Key) -> &[Route] {
        self.slots
            .get(key)
            .and_then(|s| self.groups.get(*s as usize))
            .map_or(&[], Group::as_slice)
    }

    fn group_mut(&mut self, key: &Key) -> Option<&mut Group> {
        let s = *self.slots.get(key)?;
        self.groups.get_mut(s as usize)
    }

    /// Adds `r` to its prefix's group (see [`Group::insert`]), unless a
    /// route of the group is a `duplicate`; true if it was added.
    fn add(
        &mut self,
        key: Key,
        r: Route,
        append: bool,
        duplicate: impl Fn(&Route) -> bool,
    ) -> bool {
        match self.slots.entry(key) {
            Entry::Occupied(e) => {
                let Some(g) = self.groups.get_mut(*e.get() as usize) else {
                    return false;
                };
                if g.as_slice().iter().any(duplicate) {
                    return false;
                }
                g.insert(r, append);
            }
            Entry::Vacant(e) => {
                let slot = match self.free.pop() {
                    Some(s) => {
                        if let Some(g) = self.groups.get_mut(s as usize) {
                            *g = Group::One(r);
                        }
                        s
                    }
                    None => {
                        self.groups.push(Group::One(r));
                        u32::try_from(self.groups.len() - 1).unwrap_or(u32::MAX)
                    }
                };
                e.insert(slot);
                *self.order.get_mut() = None;
            }
        }
        self.count += 1;
        true
    }

    /// Removes route `i` of a prefix.
    fn remove(&mut self, key: &Key, i: usize) -> Option<Route> {
        let g = self.group_mut(key)?;
        let r = g.remove(i)?;
        if g.is_empty() {
            if let Some(s) = self.slots.remove(key) {
                self.free.push(s);
            }
            *self.order.get_mut() = None;
        }
        self.count = self.count.saturating_sub(1);
        Some(r)
    }

    /// The keys in dump order.
    fn order(&self) -> Ref<'_, [Key]> {
        if self.order.borrow().is_none() {
            let mut keys: Vec<Key> = self.slots.keys().copied().collect();
            keys.sort_unstable();
            *self.order.borrow_mut() = Some(keys);
        }
        Ref::map(self.order.borrow(), |o| o.as_deref().unwrap_or_default())
    }
}

/// Both families' routes and what the lookups need.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    v4: Fib,
    v6: Fib,
    /// The tables that exist: IPv6 main and local from the start, IPv4 ones
    /// with their first route (they never go).
    pub tables: BTreeSet<(u8, u32)>,
    /// The routes IPv4 gateways resolve through, by `(prefix, length)`.
    onlink4: FastMap<(u32, u8), u32>,
    /// How many of those there are of each length.
    onlink4_lens: [u32; 33],
    /// How many main-table IPv6 unicast routes there are of each length.
    unicast6_lens: [u32; 129],
    /// How many routes smoltcp holds ([`Route::is_gateway`]).
    gateways: usize,
    /// The repr events are written into: one, reused (a `RouteRepr` has
    /// room for 32 nexthops and every metric; making one per event cost a
    /// fifth of a request's time).
    scratch: Box<RouteRepr>,
}

fn bump(n: &mut u32, up: bool) {
    *n = if up {
        n.saturating_add(1)
    } else {
        n.saturating_sub(1)
    };
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            v4: Fib::default(),
            v6: Fib::default(),
            tables: [(AF_INET6, RT_TABLE_MAIN), (AF_INET6, RT_TABLE_LOCAL)]
                .into_iter()
                .collect(),
            onlink4: FastMap::default(),
            onlink4_lens: [0; 33],
            unicast6_lens: [0; 129],
            gateways: 0,
            scratch: Box::default(),
        }
    }

    /// `r` as a repr, for an event.
    fn repr_of(&mut self, r: &Route) -> &RouteRepr {
        r.fill(&mut self.scratch);
        &self.scratch
    }

    fn fib(&self, family: u8) -> &Fib {
        if family == AF_INET6 {
            &self.v6
        } else {
            &self.v4
        }
    }

    fn fib_mut(&mut self, family: u8) -> &mut Fib {
        if family == AF_INET6 {
            &mut self.v6
        } else {
            &mut self.v4
        }
    }

    fn index(&mut self, r: &Route, up: bool) {
        if r.is_onlink4() {
            let dst = r.dst.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let k = (v4(&dst), r.dst_len);
            let n = self.onlink4.entry(k).or_insert(0);
            bump(n, up);
            if *n == 0 {
                self.onlink4.remove(&k);
            }
            if let Some(n) = self.onlink4_lens.get_mut(usize::from(r.dst_len)) {
                bump(n, up);
            }
        }
        if r.family == AF_INET6 && r.table == RT_TABLE_MAIN && r.kind == RTN_UNICAST {
            if let Some(n) = self.unicast6_lens.get_mut(usize::from(r.dst_len)) {
                bump(n, up);
            }
        }
        if r.is_gateway() {
            self.gateways = if up {
                self.gateways.saturating_add(1)
            } else {
                self.gateways.saturating_sub(1)
            };
        }
    }

    /// Visits the routes of `family` (`AF_UNSPEC`: IPv4, then IPv6) in
    /// dump order from the `start`th on, until `f` breaks.
    pub fn visit(&self, family: u8, start: usize, mut f: impl FnMut(&Route) -> ControlFlow<()>) {
        let fibs: &[&Fib] = match family {
            AF_INET => &[&self.v4],
            AF_INET6 => &[&self.v6],
            _ => &[&self.v4, &self.v6],
        };
        let mut skip = start;
        for fib in fibs {
            if skip >= fib.count {
                skip -= fib.count;
                continue;
            }
            let order = fib.order();
            for key in order.iter() {
                let group = fib.group(key);
                if skip >= group.len() {
                    skip -= group.len();
                    continue;
                }
                for r in group.iter().skip(skip) {
                    if f(r).is_break() {
                        return;
                    }
                }
                skip = 0;
            }
        }
    }

    pub fn count(&self, family: u8) -> usize {
        match family {
            AF_INET => self.v4.count,
            AF_INET6 => self.v6.count,
            _ => self.v4.count + self.v6.count,
        }
    }

    /// The routes of one prefix, in order.
    fn group(&self, family: u8, key: &Key) -> &[Route] {
        self.fib(family).group(key)
    }

    /// Inserts in dump order: before the routes that compare equal, or
    /// after them with `append`.
    fn insert(&mut self, r: Route, append: bool) {
        self.insert_unless(r, append, |_| false);
    }

    /// [`Routes::insert`], unless a route of the same prefix is a
    /// `duplicate`; true if it was added.
    fn insert_unless(
        &mut self,
        r: Route,
        append: bool,
        duplicate: impl Fn(&Route) -> bool,
    ) -> bool {
        let key = r.key();
        let family = r.family;
        let indexed = r.clone();
        let added = self.fib_mut(family).add(key, r, append, duplicate);
        if added {
            self.index(&indexed, true);
        }
        added
    }

    /// Removes route `i` of a prefix.
    fn remove(&mut self, family: u8, key: &Key, i: usize) -> Option<Route> {
        let r = self.fib_mut(family).remove(key, i)?;
        self.index(&r, false);
        Some(r)
    }

    /// Puts `r` in the place of route `i` of its prefix (of the same TOS
    /// and metric).
    fn replace(&mut self, family: u8, key: &Key, i: usize, r: Route) {
        let Some(old) = self
            .fib_mut(family)
            .group_mut(key)
            .and_then(|g| g.get_mut(i))
            .map(|x| std::mem::replace(x, r.clone()))
        else {
            return;
        };
        self.index(&old, false);
        self.index(&r, true);
    }

    /// Removes the routes `pick` selects from a family, returning them in
    /// dump order.
    pub(crate) fn take(&mut self, family: u8, pick: impl Fn(&Route) -> bool) -> Vec<Route> {
        let keys: Vec<Key> = self.fib(family).order().to_vec();
        let mut gone = Vec::new();
        for key in keys {
            let mut i = 0;
            while let Some(r) = self.group(family, &key).get(i) {
                if pick(r) {
                    gone.extend(self.remove(family, &key, i));
                } else {
                    i += 1;
                }
            }
        }
        gone
    }

    /// The routes smoltcp holds, both families, in dump order.
    pub fn gateway_routes(&self) -> Vec<Route> {
        let mut v = Vec::with_capacity(self.gateways);
        self.visit(AF_UNSPEC, 0, |r| {
            if r.is_gateway() {
                v.push(r.clone());
            }
            ControlFlow::Continue(())
        });
        v
    }
}

/// Checks what the server checks before a route request reaches a stack,
/// for requests that come some other way.
fn check_shape(req: &RouteRepr) -> StackResult<()> {
    let (v4, max) = match req.header.family {
        AF_INET => (true, 32),
        AF_INET6 => (false, 128),
        _ => return Err(StackError::NOT_SUPPORTED),
    };
    if req.header.dst_len > max || req.header.src_len > max {
        return Err(StackError::with_message(EINVAL, "Invalid prefix length"));
    }
    if req.header.kind > RTN_NAT.saturating_add(1) {
        return Err(StackError::with_message(EINVAL, "Invalid route type"));
    }
    let family_ok = |ip: &Option<IpAddr>| ip.is_none_or(|i| i.is_ipv4() == v4);
    if !family_ok(&req.dst) || !family_ok(&req.src) || !family_ok(&req.prefsrc) {
        return Err(StackError::with_message(EINVAL, "Invalid address family"));
    }
    Ok(())
}

/// IPv4 refuses a destination with bits beyond its prefix length (IPv6
/// masks them silently).
fn check_host_bits(req: &RouteRepr) -> StackResult<()> {
    match req.dst {
        Some(d @ IpAddr::V4(_)) if masked(d, req.header.dst_len) != d => Err(
            StackError::with_message(EINVAL, "Invalid prefix for given prefix length"),
        ),
        _ => Ok(()),
    }
}

/// A unicast gateway as smoltcp counts them.
fn smoltcp_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_broadcast() || a.is_multicast() || a.is_unspecified()),
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

fn refuse(text: &'static str) -> StackError {
    StackError::with_message(EOPNOTSUPP, text)
}

/// What smoltcp can express of a route to add: see the module docs.
fn expressible(r: &Route, req: &RouteRepr) -> StackResult<()> {
    if req.multipath.is_some() {
        return Err(refuse("smoltcp: no multipath routes"));
    }
    if r.table != RT_TABLE_MAIN {
        return Err(refuse("smoltcp: one routing table (main)"));
    }
    if r.kind != RTN_UNICAST {
        return Err(refuse("smoltcp: unicast routes only"));
    }
    let Some(gw) = r.gateway else {
        return Err(refuse(
            "smoltcp: a route needs a gateway (only the prefixes of the addresses are on-link)",
        ));
    };
    if gw.is_ipv4() != (r.family == AF_INET) {
        return Err(refuse("smoltcp: the gateway must be of the route's family"));
    }
    if !smoltcp_unicast(&gw) {
        return Err(StackError::with_message(
            EINVAL,
            "Nexthop has invalid gateway",
        ));
    }
    if r.tos != 0 {
        return Err(refuse("smoltcp: no TOS routing"));
    }
    if req.metrics.is_some() {
        return Err(refuse("smoltcp: no route metrics (RTA_METRICS)"));
    }
    if req.prefsrc.is_some() {
        return Err(refuse(
            "smoltcp: chooses the source address itself (no preferred source)",
        ));
    }
    if req.src.is_some() || req.header.src_len != 0 {
        return Err(refuse("smoltcp: no source routing"));
    }
    if req.expires.is_some() {
        return Err(refuse("smoltcp: no route expiry"));
    }
    Ok(())
}

/// A request carries nothing that an existing route lacks (multipath or
/// metrics make it differ from every route here, which have neither).
fn plain(req: &RouteRepr) -> bool {
    req.multipath.is_none() && req.metrics.is_none()
}

impl Model {
    /// Adds a route the kernel makes (an address's); an identical one
    /// already there is left alone, as `fib_magic` ignores `EEXIST`.
    pub(crate) fn add_kernel_route(&mut self, r: Route, events: Events<'_>) {
        // `fib_valid_prefsrc`: an IPv4 source must be local as the local
        // table says; the kernel's insert fails silently otherwise.
        if let (AF_INET, Some(src)) = (r.family, r.prefsrc) {
            let own = r.kind == RTN_LOCAL && r.dst == Some(src);
            if !own && self.local_type4(src) != Some(RTN_LOCAL) {
                return;
            }
        }
        let table = (r.family, r.table);
        let same = r.clone();
        self.routes.repr_of(&r);
        let duplicate = |o: &Route| o.priority == same.priority && o.same_info(&same);
        // `fib_table_insert`'s notification flags: EXCL unless a route of
        // the same key and priority was there, then APPEND.
        let key = same.key();
        let shared =
            self.routes.group(same.family, &key).iter().any(|o| {
                o.priority == same.priority && (same.family == AF_INET6 || o.tos == same.tos)
            });
        if !self.routes.insert_unless(r, true, duplicate) {
            return;
        }
        self.routes.tables.insert(table);
        if table == (AF_INET, RT_TABLE_LOCAL) {
            // `fib_new_table`: local and main are created together.
            self.routes.tables.insert((AF_INET, RT_TABLE_MAIN));
        }
        // APPEND for IPv4 (`fib_magic` appends), nothing for IPv6.
        let nlflags = match (shared, same.family) {
            (false, _) => NLM_F_CREATE | NLM_F_EXCL,
            (true, AF_INET) => NLM_F_CREATE | NLM_F_APPEND,
            (true, _) => NLM_F_CREATE,
        };
        events(Event::NewRoute(&self.routes.scratch, nlflags));
    }

    /// `inet_addr_type_table` on the local table: the kind of the route
    /// there that covers `addr` (longest prefix, then the first).
    fn local_type4(&self, addr: IpAddr) -> Option<u8> {
        let mut best: Option<(u8, u8)> = None;
        self.routes.visit(AF_INET, 0, |r| {
            if r.table == RT_TABLE_LOCAL
                && nlq::lookup::prefix_contains(r.dst, r.dst_len, addr)
                && best.is_none_or(|(len, _)| r.dst_len > len)
            {
                best = Some((r.dst_len, r.kind));
            }
            ControlFlow::Continue(())
        });
        best.map(|(_, kind)| kind)
    }

    /// Removes, notified and in dump order, the routes of `family` to the
    /// given `(table, dst, dst_len)` ([`KEY_ANY_TABLE`]: any table) that
    /// `pred` selects.
    pub(crate) fn del_kernel_routes(
        &mut self,
        family: u8,
        keys: &[(Option<u32>, Option<IpAddr>, u8)],
        pred: impl Fn(&Route) -> bool,
        events: Events<'_>,
    ) {
        let mut at: Vec<(Key, Option<IpAddr>, u8)> = Vec::new();
        for (table, dst, len) in keys {
            let tables: Vec<u32> = match table {
                Some(t) => vec![*t],
                None => self
                    .routes
                    .tables
                    .iter()
                    .filter(|(f, _)| *f == family)
                    .map(|(_, t)| *t)
                    .collect(),
            };
            for t in tables {
                at.push((key_of(family, t, dst, *len), *dst, *len));
            }
        }
        at.sort_by_key(|a| a.0);
        at.dedup_by(|a, b| a.0 == b.0);
        let index = self.index;
        for (key, dst, len) in at {
            let mut i = 0;
            while let Some(r) = self.routes.group(family, &key).get(i) {
                if r.dst == dst && r.dst_len == len && r.oif == index && pred(r) {
                    if let Some(r) = self.routes.remove(family, &key, i) {
                        events(Event::DelRoute(self.routes.repr_of(&r)));
                    }
                } else {
                    i += 1;
                }
            }
        }
    }

    /// A link that goes down loses its IPv4 routes but the local ones,
    /// silently (`fib_sync_down_dev` + `fib_flush`).
    pub(crate) fn flush_routes4_silently(&mut self) {
        let index = self.index;
        self.routes
            .take(AF_INET, |r| r.oif == index && r.scope != RT_SCOPE_HOST);
    }

    /// IPv6 leaves the link: every route through it goes, notified.
    pub(crate) fn flush_routes6(&mut self, events: Events<'_>) {
        let index = self.index;
        for r in self.routes.take(AF_INET6, |r| r.oif == index) {
            events(Event::DelRoute(self.routes.repr_of(&r)));
        }
    }

    /// An IPv4 gateway is reachable: a route it resolves through covers it.
    fn onlink4_covers(&self, gw: u32) -> bool {
        (0..=32u8).any(|len| {
            self.routes
                .onlink4_lens
                .get(usize::from(len))
                .is_some_and(|n| *n > 0)
                && self.routes.onlink4.contains_key(&(gw & mask4(len), len))
        })
    }

    /// Resolves a gateway as the kernel checks nexthops; returns the link
    /// it goes through.
    fn resolve_gateway(&self, gw: IpAddr, oif: u32) -> StackResult<u32> {
        match gw {
            IpAddr::V6(a) => {
                let local = StackError::with_message(EINVAL, "Gateway can not be a local address");
                let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
                // `ipv6_chk_addr_and_flags`: an address of the named link,
                // or a global one (all addresses here are on the one link).
                let ours = self.v6.contains(&gw);
                if oif != 0 && ours && (oif == self.index || !link_local) {
                    return Err(local);
                }
                if link_local {
                    if oif == 0 {
                        return Err(StackError::with_message(
                            EINVAL,
                            "Egress device not specified",
                        ));
                    }
                    return Ok(oif);
                }
                let dev = self.resolve_gateway6(&a)?;
                if oif == 0 && ours {
                    return Err(local);
                }
                Ok(dev)
            }
            IpAddr::V4(a) => {
                // The best route to a subnet's broadcast address is its
                // broadcast route: not a gateway.
                let key = key_of(AF_INET, RT_TABLE_LOCAL, &Some(gw), 32);
                if self
                    .routes
                    .group(AF_INET, &key)
                    .first()
                    .is_some_and(|r| r.kind == RTN_BROADCAST)
                {
                    return Err(StackError::with_message(
                        EINVAL,
                        "Nexthop has invalid gateway",
                    ));
                }
                if self.onlink4_covers(u32::from(a)) {
                    Ok(self.index)
                } else {
                    Err(StackError::with_message(
                        ENETUNREACH,
                        "Nexthop has invalid gateway",
                    ))
                }
            }
        }
    }

    /// IPv6 looks the gateway up like a packet (`ip6_route_check_nh`): the
    /// best main-table route (longest prefix, then lowest metric, then the
    /// first) must not itself go through a gateway.
    fn resolve_gateway6(&self, gw: &Ipv6Addr) -> StackResult<u32> {
        // The route's table (main) first; then as a lookup goes: the
        // local table (whose only unicast entries are host routes), then
        // main again.
        let main = self.best_main6(gw);
        if let Some(r) = main.filter(|r| r.gateway.is_none()) {
            return Ok(r.oif);
        }
        let host = Some(IpAddr::V6(*gw));
        let key = key_of(AF_INET6, RT_TABLE_LOCAL, &host, 128);
        let found = match self.routes.group(AF_INET6, &key).first() {
            Some(local) => Some(local),
            None => main,
        };
        match found {
            Some(r) if r.gateway.is_none() => Ok(r.oif),
            _ => Err(StackError::new(EHOSTUNREACH)),
        }
    }

    /// The main table's best unicast route to `gw`: longest prefix, then
    /// lowest metric, then the first.
    fn best_main6(&self, gw: &Ipv6Addr) -> Option<&Route> {
        for len in (0..=128u8).rev() {
            if self
                .routes
                .unicast6_lens
                .get(usize::from(len))
                .is_none_or(|n| *n == 0)
            {
                continue;
            }
            let dst = Some(IpAddr::V6(prefix6(gw, len)));
            let key = key_of(AF_INET6, RT_TABLE_MAIN, &dst, len);
            let best = self
                .routes
                .group(AF_INET6, &key)
                .iter()
                .filter(|r| r.kind == RTN_UNICAST)
                .fold(None::<&Route>, |b, r| match b {
                    Some(b) if b.priority <= r.priority => Some(b),
                    _ => Some(r),
                });
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// Checks one nexthop; returns its output link.
    fn check_nexthop(
        &self,
        family: u8,
        gw: Option<IpAddr>,
        oif: u32,
        kind: u8,
    ) -> StackResult<u32> {
        let unicast = matches!(kind, RTN_UNICAST | RTN_UNSPEC);
        if oif != 0 {
            if family == AF_INET && gw.is_some() && self.check_index(oif).is_err() {
                // `fib_check_nh_v4_gw` looks the gateway up through that
                // link, and finds nothing.
                return Err(StackError::with_message(
                    ENETUNREACH,
                    "Nexthop has invalid gateway",
                ));
            }
            self.check_index(oif)?;
            if family == AF_INET6 && !self.link.inet6() {
                // IPv6 left the link: it has no inet6 device.
                return Err(StackError::new(ENODEV));
            }
            if !self.link.is_up() && unicast && gw.is_none() {
                let text = if family == AF_INET {
                    "Device for nexthop is not up"
                } else {
                    "Nexthop device is not up"
                };
                return Err(StackError::with_message(ENETDOWN, text));
            }
        }
        match gw {
            Some(g) => {
                let out = self.resolve_gateway(g, oif)?;
                self.check_index(out)?;
                if !self.link.is_up() {
                    return Err(StackError::new(ENETDOWN));
                }
                Ok(out)
            }
            None if oif == 0 && unicast => Err(StackError::with_message(
                ENODEV,
                "Nexthop device required for onlink",
            )),
            None => Ok(oif),
        }
    }

    /// Admission of a new route: what smoltcp can express, one route per
    /// prefix, room in its table (`ENOBUFS`, what Linux answers when it
    /// cannot allocate a route).
    fn admit_insert(&self, r: &Route, req: &RouteRepr) -> StackResult<()> {
        expressible(r, req)?;
        if self
            .routes
            .group(r.family, &r.key())
            .iter()
            .any(Route::is_gateway)
        {
            return Err(refuse(
                "smoltcp: one route per destination prefix (it has no metrics)",
            ));
        }
        if self.routes.gateways >= self.limits.routes {
            return Err(StackError::with_message(
                ENOBUFS,
                "smoltcp: the interface's route table is full (IFACE_MAX_ROUTE_COUNT)",
            ));
        }
        Ok(())
    }

    /// Admission of a route that replaces `old`: only a route smoltcp
    /// holds can be replaced (the others follow the addresses).
    fn admit_replace(&self, old: &Route, r: &Route, req: &RouteRepr) -> StackResult<()> {
        expressible(r, req)?;
        if !old.is_gateway() {
            return Err(refuse(
                "smoltcp: the routes of an address cannot be replaced (they follow the address)",
            ));
        }
        Ok(())
    }

    pub(crate) fn route_add(
        &mut self,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        check_shape(req)?;
        let mut r = Route::from_request(req);
        check_host_bits(req)?;
        if r.kind == RTN_UNSPEC || r.kind > 12 {
            return Err(StackError::with_message(EINVAL, "Invalid route type"));
        }
        nlq::route_rules::check_new_route4(req)?;
        if r.family == AF_INET6 && r.oif != 0 && req.multipath.is_none() {
            // `fib6_nh_init` looks the link up first, whatever the type.
            self.check_index(r.oif)?;
            if !self.link.inet6() {
                return Err(StackError::new(ENODEV));
            }
        }
        if r.family == AF_INET6 && nlq::route_rules::is_reject(r.kind) {
            // `fib6_nh_init`: through `lo`, the gateway never looked at.
            r.oif = 1;
            r.gateway = None;
        }
        if r.family == AF_INET6
            && !nlq::route_rules::is_reject(r.kind)
            && r.oif == 0
            && r.gateway.is_none()
            && req.multipath.is_none()
        {
            // Neither a link nor a gateway to find one by.
            return Err(StackError::new(ENODEV));
        }
        if r.family == AF_INET6
            && !nlq::route_rules::is_reject(r.kind)
            && r.gateway.is_none()
            && req.multipath.is_none()
            && !self.link.is_up()
        {
            return Err(StackError::with_message(
                ENETDOWN,
                "Nexthop device is not up",
            ));
        }
        let mut hops = None;
        if let Some(m) = &req.multipath {
            let mut resolved = Vec::new();
            for h in m.as_slice() {
                let gw = h.gateway.or(h.via);
                resolved.push((gw, self.check_nexthop(r.family, gw, h.ifindex, r.kind)?));
            }
            hops = Some(resolved);
        } else if matches!(
            r.kind,
            RTN_UNICAST | RTN_LOCAL | RTN_BROADCAST | RTN_MULTICAST | RTN_ANYCAST
        ) {
            r.oif = self.check_nexthop(r.family, r.gateway, r.oif, r.kind)?;
        }
        if let (AF_INET, Some(src), false) =
            (r.family, r.prefsrc, nlq::route_rules::is_reject(r.kind))
        {
            // `fib_valid_prefsrc`: one of this host's addresses.
            let own = r.kind == RTN_LOCAL && r.dst == Some(src);
            if !own && !self.v4.iter().any(|a| a.local == src) {
                return Err(StackError::with_message(EINVAL, "Invalid prefsrc address"));
            }
        }
        if let (AF_INET6, Some(src)) = (r.family, r.prefsrc) {
            // `ipv6_chk_addr` on the next hop's link (`lo` for reject
            // routes, where only global addresses of other links count).
            let on_link = r.oif == self.index;
            let usable = self.v6.iter().any(|a| {
                a.local == src && !a.is_tentative() && (on_link || a.scope == RT_SCOPE_UNIVERSE)
            });
            if !usable {
                return Err(StackError::with_message(EINVAL, "Invalid source address"));
            }
        }
        if r.family == AF_INET {
            self.fib4_insert(r, req, flags, events)
        } else {
            self.fib6_insert(r, hops, req, flags, events)
        }
    }

    /// `fib_table_insert`.
    fn fib4_insert(
        &mut self,
        r: Route,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let key = r.key();
        let same: Vec<(usize, Route)> = self
            .routes
            .group(AF_INET, &key)
            .iter()
            .enumerate()
            .filter(|(_, o)| o.tos == r.tos && o.priority == r.priority)
            .map(|(i, o)| (i, o.clone()))
            .collect();
        if let Some((first, old)) = same.first() {
            if flags.excl() {
                return Err(StackError::new(EEXIST));
            }
            if flags.replace() {
                if old.same_info(&r) && plain(req) {
                    return Ok(());
                }
                self.admit_replace(old, &r, req)?;
                events(Event::NewRoute(self.routes.repr_of(&r), NLM_F_REPLACE));
                self.routes.replace(AF_INET, &key, *first, r);
                return Ok(());
            }
            if plain(req) && same.iter().any(|(_, o)| o.same_info(&r)) {
                return Err(StackError::new(EEXIST));
            }
        }
        if !flags.create() {
            return Err(StackError::new(ENOENT));
        }
        self.admit_insert(&r, req)?;
        // `fib_table_insert`: EXCL when no route of the same key and
        // priority was there; otherwise APPEND for an append, nothing for a
        // prepend.
        let nlflags = NLM_F_CREATE
            | match (same.is_empty(), flags.append()) {
                (true, _) => NLM_F_EXCL,
                (false, true) => NLM_F_APPEND,
                (false, false) => 0,
            };
        events(Event::NewRoute(self.routes.repr_of(&r), nlflags));
        self.routes.tables.insert((AF_INET, r.table));
        self.routes.insert(r, flags.append());
        Ok(())
    }

    /// `fib6_add_rt2node`: a route of the same prefix and metric is
    /// replaced, or is a duplicate, or would gain a sibling (an ECMP
    /// route) or a neighbour; smoltcp takes neither of the last two.
    fn fib6_insert(
        &mut self,
        r: Route,
        hops: Option<Vec<(Option<IpAddr>, u32)>>,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        // A multipath request adds its nexthops one by one as siblings: a
        // nexthop given twice collides with itself.
        if let Some(h) = &hops {
            if h.iter()
                .enumerate()
                .any(|(i, x)| h.iter().take(i).any(|y| y == x))
            {
                return Err(StackError::new(EEXIST));
            }
        }
        let key = r.key();
        let found = self
            .routes
            .group(AF_INET6, &key)
            .iter()
            .enumerate()
            .find(|(_, o)| o.priority == r.priority)
            .map(|(i, o)| (i, o.clone()));
        let Some((i, old)) = found else {
            if flags.replace() && !flags.create() {
                // The default prefix finds the null entry: no text.
                return Err(if r.dst_len == 0 {
                    StackError::new(ENOENT)
                } else {
                    StackError::with_message(ENOENT, "Can not replace route - no match found")
                });
            }
            self.admit_insert(&r, req)?;
            // `fib6_add_rt2node`: EXCL, and APPEND when asked.
            let append = if flags.append() { NLM_F_APPEND } else { 0 };
            events(Event::NewRoute(
                self.routes.repr_of(&r),
                NLM_F_CREATE | NLM_F_EXCL | append,
            ));
            self.routes.tables.insert((AF_INET6, r.table));
            self.routes.insert(r, true);
            return Ok(());
        };
        if flags.excl() {
            return Err(StackError::new(EEXIST));
        }
        if flags.replace() {
            self.admit_replace(&old, &r, req)?;
            events(Event::NewRoute(self.routes.repr_of(&r), NLM_F_REPLACE));
            self.routes.replace(AF_INET6, &key, i, r);
            return Ok(());
        }
        let new = hops.unwrap_or_else(|| vec![(r.gateway, r.oif)]);
        if new.contains(&(old.gateway, old.oif)) {
            return Err(StackError::new(EEXIST));
        }
        expressible(&r, req)?;
        let ecmp = old.gateway.is_some()
            && new.iter().all(|(g, _)| g.is_some())
            && old.protocol != RTPROT_KERNEL;
        Err(refuse(if ecmp {
            "smoltcp: no multipath routes (a second gateway for the prefix and metric)"
        } else {
            "smoltcp: one route per destination prefix (it has no metrics)"
        }))
    }

    /// `fib_table_delete` / `ip6_route_del`: the first route matching every
    /// field the request gives. Only routes smoltcp holds can go: the
    /// others follow the addresses.
    pub(crate) fn route_del(&mut self, req: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        check_shape(req)?;
        // IPv6 deletes each nexthop of a multipath request on its own and
        // answers with the last failure (`ip6_route_multipath_del`).
        if let (AF_INET6, Some(hops)) = (req.header.family, &req.multipath) {
            let mut last = Ok(());
            for h in hops.as_slice() {
                let mut one = req.clone();
                one.multipath = None;
                one.gateway = h.gateway.or(h.via);
                one.oif = (h.ifindex != 0).then_some(h.ifindex);
                if let Err(e) = self.route_del(&one, events) {
                    last = Err(e);
                }
            }
            return last;
        }
        let family = req.header.family;
        let v4 = family == AF_INET;
        let table = match req.table_id() {
            0 => RT_TABLE_MAIN,
            t => t,
        };
        check_host_bits(req)?;
        if !self.routes.tables.contains(&(family, table)) {
            return Err(StackError::with_message(ESRCH, "FIB table does not exist"));
        }
        let want = Route::from_request(req);
        let key = key_of(family, table, &want.dst, want.dst_len);
        let gw = req.gateway.or(req.via);
        let routes = self.routes.group(family, &key);
        let empty = routes.is_empty();
        let found = routes.iter().enumerate().find(|(_, o)| {
            (!v4 || o.tos == req.header.tos)
                && (!v4 || req.header.kind == 0 || o.kind == req.header.kind)
                && (!v4 || req.header.scope == RT_SCOPE_NOWHERE || o.scope == req.header.scope)
                // IPv6 looks at neither the kind nor the source.
                && (!v4 || req.prefsrc.is_none_or(|p| o.prefsrc == Some(p)))
                && (req.header.protocol == 0 || o.protocol == req.header.protocol)
                // Metric 0 matches any.
                && req.priority.is_none_or(|p| p == 0 || o.priority == p)
                && req.oif.is_none_or(|i| o.oif == i)
                // No route here has metrics: only zeros match.
                && (!v4 || nlq::route_rules::metrics_match(req.metrics.as_ref(), None))
                // No route here is multipath: only an empty list matches.
                && req.multipath.as_ref().is_none_or(|m| m.as_slice().is_empty())
                && gw.is_none_or(|g| o.gateway == Some(g))
        });
        let Some((i, gateway)) = found.map(|(i, o)| (i, o.is_gateway())) else {
            // Each IPv6 table's root holds a "null entry" (through lo,
            // index 1 on Linux, metric 0xffffffff, protocol kernel) while
            // it has no ::/0 route; a loose delete finds it and refuses to
            // delete it.
            let null_entry = !v4
                && want.dst_len == 0
                && empty
                && req.oif.is_none_or(|i| i == 1)
                && gw.is_none()
                && req.priority.is_none_or(|p| p == 0 || p == u32::MAX)
                && (req.header.protocol == 0 || req.header.protocol == RTPROT_KERNEL);
            return Err(StackError::new(if null_entry { ENOENT } else { ESRCH }));
        };
        if !gateway {
            return Err(refuse(
                "smoltcp: the routes of an address cannot be deleted (they follow the address)",
            ));
        }
        if let Some(r) = self.routes.remove(family, &key, i) {
            events(Event::DelRoute(self.routes.repr_of(&r)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw_route(dst: &str, len: u8, gw: &str, prio: u32) -> Route {
        let dst: IpAddr = dst.parse().unwrap();
        Route {
            gateway: Some(gw.parse().unwrap()),
            priority: prio,
            protocol: RTPROT_BOOT,
            scope: RT_SCOPE_UNIVERSE,
            ..Route::kernel(RT_TABLE_MAIN, dst, len, RTN_UNICAST, 0, 2, None)
        }
    }

    fn all(t: &Routes, family: u8) -> Vec<Route> {
        let mut v = Vec::new();
        t.visit(family, 0, |r| {
            v.push(r.clone());
            ControlFlow::Continue(())
        });
        v
    }

    #[test]
    fn dump_order_is_the_kernels() {
        let mut t = Routes::new();
        t.insert(gw_route("10.2.0.0", 16, "10.0.0.1", 0), true);
        t.insert(gw_route("10.1.0.0", 16, "10.0.0.1", 5), true);
        t.insert(gw_route("10.1.0.0", 16, "10.0.0.2", 1), true);
        t.insert(gw_route("10.1.0.0", 24, "10.0.0.2", 0), true);
        let order: Vec<_> = all(&t, AF_INET)
            .iter()
            .map(|r| (r.dst.unwrap().to_string(), r.dst_len, r.priority))
            .collect();
        assert_eq!(
            order,
            [
                ("10.1.0.0".into(), 24, 0),
                ("10.1.0.0".into(), 16, 1),
                ("10.1.0.0".into(), 16, 5),
                ("10.2.0.0".into(), 16, 0)
            ]
        );
        assert_eq!(t.gateways, 4);
        // Put before its equals.
        t.insert(gw_route("10.1.0.0", 16, "10.0.0.3", 1), false);
        let first = all(&t, AF_INET).swap_remove(1);
        assert_eq!(first.gateway, Some("10.0.0.3".parse().unwrap()));
        let gone = t.take(AF_INET, |r| r.priority == 5 || r.gateway == first.gateway);
        assert_eq!(gone.len(), 2);
        // A dump resumes anywhere, even inside a prefix's routes.
        let mut from2 = Vec::new();
        t.visit(AF_UNSPEC, 2, |r| {
            from2.push(r.priority);
            ControlFlow::Continue(())
        });
        assert_eq!(from2, [0]);
        assert_eq!(t.gateways, 3);
        assert_eq!(t.count(AF_UNSPEC), 3);
    }

    #[test]
    fn ipv6_keys_list_a_prefix_after_its_more_specifics() {
        let net: IpAddr = "2001:db8::".parse().unwrap();
        let sub: IpAddr = "2001:db8:1::".parse().unwrap();
        assert!(key_of(AF_INET6, 254, &Some(sub), 48) < key_of(AF_INET6, 254, &Some(net), 32));
        let k = key_of(AF_INET6, 254, &None, 0);
        assert_eq!((k.dst_hi, k.dst_lo), (u64::MAX, u64::MAX));
        // Tables by id modulo 256: 256 sorts with 0, before main (254).
        assert!(key_of(AF_INET, 256, &None, 0) < key_of(AF_INET, 254, &None, 0));
        assert!(key_of(AF_INET, 254, &None, 0) < key_of(AF_INET, 255, &None, 0));
    }

    #[test]
    fn what_smoltcp_cannot_express() {
        let ok = gw_route("10.1.0.0", 16, "10.0.0.1", 0);
        let req = ok.repr();
        assert_eq!(expressible(&ok, &req), Ok(()));
        let no_gw = Route {
            gateway: None,
            ..ok.clone()
        };
        assert_eq!(expressible(&no_gw, &req).unwrap_err().errno, EOPNOTSUPP);
        let bcast = Route {
            gateway: Some("255.255.255.255".parse().unwrap()),
            ..ok.clone()
        };
        assert_eq!(expressible(&bcast, &req).unwrap_err().errno, EINVAL);
        let mut with_src = req.clone();
        with_src.prefsrc = Some("10.0.0.2".parse().unwrap());
        assert_eq!(expressible(&ok, &with_src).unwrap_err().errno, EOPNOTSUPP);
        let v6gw = Route {
            gateway: Some("2001:db8::1".parse().unwrap()),
            ..ok
        };
        assert_eq!(expressible(&v6gw, &req).unwrap_err().errno, EOPNOTSUPP);
    }
}
