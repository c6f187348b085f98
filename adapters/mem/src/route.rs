//! Routes: `fib_table_insert` / `fib_table_delete` for IPv4,
//! `fib6_add_rt2node` / `ip6_route_del` for IPv6, and the kernel routes
//! addresses bring.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::route_rules::metrics_match;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{NextHopList, NextHopRepr, RouteMetrics, RouteRepr, RtMsg};

use crate::plane::{Change, RouteAdmission, RouteRef};
use crate::route_list::RouteList;
use crate::{DataPlane, MemStack};

/// `RTNH_F_DEAD`.
const RTNH_F_DEAD: u32 = 1;
/// `RTNH_F_LINKDOWN`: the nexthop's link has no carrier.
pub(crate) const RTNH_F_LINKDOWN: u32 = 16;
/// `RT_TABLE_COMPAT`: what `rtm_table` says of tables above 255.
const RT_TABLE_COMPAT: u8 = 252;
/// `IP6_RT_PRIO_USER`: the metric of IPv6 routes that give none.
const IP6_RT_PRIO_USER: u32 = 1024;

/// `ICMPV6_ROUTER_PREF_HIGH`.
const ICMPV6_ROUTER_PREF_HIGH: u8 = 1;
/// `ICMPV6_ROUTER_PREF_LOW`.
const ICMPV6_ROUTER_PREF_LOW: u8 = 3;

/// What identifies a prefix in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RouteKey {
    family: u8,
    table: u32,
    dst: u128,
    dst_len: u8,
}

impl RouteKey {
    /// Whether it is IPv6, its table, destination and length.
    pub(crate) fn parts(&self) -> (bool, u32, u128, u8) {
        (self.family == AF_INET6, self.table, self.dst, self.dst_len)
    }

    /// The prefix of `addr` of length `len` in `table`.
    pub(crate) fn prefix_of(table: u32, addr: IpAddr, len: u8) -> Self {
        RouteKey {
            family: if addr.is_ipv4() { AF_INET } else { AF_INET6 },
            table,
            dst: bits(&Some(nlq::prefix::network(addr, len))),
            dst_len: len,
        }
    }

    /// The kernel's dump order within a family: tables by id modulo 256;
    /// IPv4 (LC-trie) by prefix ascending, longer masks first; IPv6 (a
    /// binary tree walked children first) by the prefix padded with ones,
    /// longer masks first.
    fn order(&self) -> (u8, u32, u128, std::cmp::Reverse<u8>) {
        let dst = if self.family == AF_INET6 {
            self.dst | u128::MAX.checked_shr(u32::from(self.dst_len)).unwrap_or(0)
        } else {
            self.dst
        };
        (
            self.table as u8,
            self.table,
            dst,
            std::cmp::Reverse(self.dst_len),
        )
    }
}

/// Where a route sorts in the kernel's dump order ([`Route::order`]).
pub(crate) type RouteOrder = (u8, u32, u128, std::cmp::Reverse<u8>, u8, u32);

/// One route, compact (the dump turns it into a `RouteRepr`).
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
    pub route_type: u8,
    /// `RTNH_F_*` of a single nexthop.
    pub flags: u32,
    pub prefsrc: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub oif: u32,
    pub multipath: Option<Box<[NextHopRepr]>>,
    pub metrics: Option<Box<RouteMetrics>>,
    /// IPv6 router preference (`RTA_PREF`: 0 medium, 1 high, 3 low).
    pub pref: u8,
    /// The nexthop object it goes through (`RTA_NH_ID`; 0: none); its
    /// next hops are then copies of that nexthop's.
    pub nh_id: u32,
    /// The type asked for, for a route through a nexthop object (a
    /// blackhole nexthop makes it a blackhole while it is one).
    pub nh_route_type: u8,
}

fn bits(ip: &Option<IpAddr>) -> u128 {
    match ip {
        Some(IpAddr::V4(a)) => u128::from(u32::from(*a)),
        Some(IpAddr::V6(a)) => u128::from(*a),
        None => 0,
    }
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
            route_type: kind,
            flags: 0,
            prefsrc,
            gateway: None,
            oif,
            multipath: None,
            metrics: None,
            pref: 0,
            nh_id: 0,
            nh_route_type: 0,
        }
    }

    /// The kernel's dump order: tables by id modulo 256, then prefixes
    /// ascending, longer masks first, then TOS, then metric.
    pub fn order(&self) -> RouteOrder {
        let (t, tt, d, l) = self.key().order();
        (t, tt, d, l, self.tos, self.priority)
    }

    pub fn key(&self) -> RouteKey {
        RouteKey {
            family: self.family,
            table: self.table,
            dst: bits(&self.dst),
            dst_len: self.dst_len,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        let hops = self.multipath.as_ref().map_or(0, |m| {
            m.len().saturating_mul(std::mem::size_of::<NextHopRepr>())
        });
        let metrics = self
            .metrics
            .as_ref()
            .map_or(0, |_| std::mem::size_of::<RouteMetrics>());
        hops.saturating_add(metrics)
    }

    /// The links the route goes through.
    pub(crate) fn uses(&self, index: u32) -> bool {
        self.oif == index
            || self
                .multipath
                .as_ref()
                .is_some_and(|m| m.iter().any(|h| h.ifindex == index))
    }

    /// Same destination, kind and nexthops: what makes an add `EEXIST`.
    fn same_info(&self, o: &Route) -> bool {
        self.route_type == o.route_type
            && self.scope == o.scope
            && self.protocol == o.protocol
            && self.prefsrc == o.prefsrc
            && self.gateway == o.gateway
            && self.oif == o.oif
            && self.multipath == o.multipath
            && self.metrics == o.metrics
            && self.nh_id == o.nh_id
    }

    /// Writes the route into a reused repr (no allocation).
    pub fn fill(&self, r: &mut RouteRepr) {
        r.header = RtMsg {
            family: self.family,
            dst_len: self.dst_len,
            src_len: 0,
            tos: self.tos,
            table: u8::try_from(self.table).unwrap_or(RT_TABLE_COMPAT),
            protocol: self.protocol,
            scope: self.scope,
            route_type: self.route_type,
            flags: self.flags,
        };
        // A default route has no RTA_DST.
        r.dst = self.dst.filter(|_| self.dst_len != 0);
        r.src = None;
        r.iif = None;
        r.oif = (self.oif != 0).then_some(self.oif);
        // A gateway of the other family is `RTA_VIA`.
        let other = self
            .gateway
            .filter(|g| g.is_ipv6() != (self.family == AF_INET6));
        r.gateway = self.gateway.filter(|_| other.is_none());
        r.priority = (self.priority != 0 || self.family == AF_INET6).then_some(self.priority);
        r.prefsrc = self.prefsrc;
        r.metrics = self.metrics.as_deref().cloned();
        r.multipath = self.multipath.as_ref().map(|hops| {
            let mut l = NextHopList::default();
            for h in hops.iter() {
                let _ = l.push(*h);
            }
            l
        });
        r.table = Some(self.table);
        r.mark = None;
        r.pref = (self.family == AF_INET6).then_some(self.pref);
        r.via = other;
        r.expires = None;
        r.nh_id = (self.nh_id != 0).then_some(self.nh_id);
    }

    /// The route a request describes, with the kernel's defaults.
    fn from_request(req: &RouteRepr) -> Route {
        let family = req.header.family;
        let table = match req.table_id() {
            0 => RT_TABLE_MAIN,
            t => t,
        };
        Route {
            family,
            table,
            dst: req.dst.map(|d| nlq::prefix::network(d, req.header.dst_len)),
            dst_len: req.header.dst_len,
            tos: req.header.tos,
            // IPv6 stores metric 0 as the user default.
            priority: match req.priority {
                Some(p) if p != 0 || family != AF_INET6 => p,
                _ if family == AF_INET6 => IP6_RT_PRIO_USER,
                _ => 0,
            },
            protocol: req.header.protocol,
            // IPv6 keeps no scope: it reports universe for every route.
            scope: if family == AF_INET6 {
                RT_SCOPE_UNIVERSE
            } else {
                req.header.scope
            },
            route_type: req.header.route_type,
            flags: req.header.flags & 0xff & !(RTNH_F_DEAD | RTNH_F_LINKDOWN),
            prefsrc: req.prefsrc,
            gateway: req.gateway.or(req.via),
            oif: req.oif.unwrap_or(0),
            multipath: req
                .multipath
                .as_ref()
                .map(|m| m.as_slice().to_vec().into_boxed_slice()),
            metrics: req.metrics.map(Box::new),
            // `rtm_to_fib6_config`: anything but high or low is medium;
            // reject routes have none.
            pref: match req.pref {
                Some(p @ (ICMPV6_ROUTER_PREF_HIGH | ICMPV6_ROUTER_PREF_LOW))
                    if family == AF_INET6
                        && !nlq::route_rules::is_reject(req.header.route_type) =>
                {
                    p
                }
                _ => 0,
            },
            nh_id: req.nh_id.unwrap_or(0),
            nh_route_type: req.header.route_type,
        }
    }
}

/// Where the routes to remove are, for
/// [`MemStack::del_kernel_routes`]: among the routes through a link, or
/// among the routes to given prefixes (in every table).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RoutesAt<'a> {
    Link(u32),
    Prefixes(&'a [(IpAddr, u8)]),
}

/// `rtm_to_fib_config` and `rtm_to_fib6_config`: a route names a
/// nexthop object or gives its next hops, not both (IPv4 tolerates a
/// link or gateway of 0 and an id of 0; IPv6 does not).
fn check_nexthop_spec(req: &RouteRepr) -> StackResult<()> {
    let v6 = req.header.family == AF_INET6;
    let named = if v6 {
        req.nh_id.is_some()
    } else {
        req.nh_id.is_some_and(|n| n != 0)
    };
    let given = if v6 {
        req.oif.is_some() || req.gateway.is_some() || req.multipath.is_some()
    } else {
        req.oif.is_some_and(|o| o != 0)
            || req.gateway.is_some_and(|g| !g.is_unspecified())
            || req.via.is_some()
            || req.multipath.is_some()
    };
    if named && given {
        return Err(StackError::with_message(
            EINVAL,
            "Nexthop specification and nexthop id are mutually exclusive",
        ));
    }
    Ok(())
}

/// IPv4 refuses a destination with bits beyond its prefix length (IPv6
/// masks them silently).
fn check_host_bits(req: &RouteRepr) -> StackResult<()> {
    match req.dst {
        Some(d @ IpAddr::V4(_)) if nlq::prefix::network(d, req.header.dst_len) != d => Err(
            StackError::with_message(EINVAL, "Invalid prefix for given prefix length"),
        ),
        _ => Ok(()),
    }
}

impl<D: DataPlane> MemStack<D> {
    pub(crate) fn routes_of(&self, family: u8) -> &RouteList {
        if family == AF_INET6 {
            &self.routes6
        } else {
            &self.routes4
        }
    }

    fn routes_of_mut(&mut self, family: u8) -> &mut RouteList {
        if family == AF_INET6 {
            &mut self.routes6
        } else {
            &mut self.routes4
        }
    }

    /// The routes with `key`, in dump order.
    pub(crate) fn routes_at(&self, key: &RouteKey) -> impl Iterator<Item = &Route> + Clone {
        self.routes_of(key.family).with_key(key)
    }

    /// The longest-prefix match for `addr` over `tables` taken as one:
    /// among the routes `counts` accepts, the longest prefix, then the
    /// lowest metric, then the first in dump order.
    pub(crate) fn longest_match(
        &self,
        addr: IpAddr,
        tables: &[u32],
        counts: impl Fn(&Route) -> bool,
    ) -> Option<&Route> {
        self.longest_match_by(addr, tables, |r| {
            counts(r).then_some(std::cmp::Reverse(r.priority))
        })
    }

    /// The longest-prefix match for `addr` over `tables` taken as one:
    /// per prefix length in use, longest first, one probe per table in
    /// dump order; within the first length that has one, the route of
    /// the highest `rank` (`None`: it does not count), the first of equals.
    fn longest_match_by<K: Ord>(
        &self,
        addr: IpAddr,
        tables: &[u32],
        rank: impl Fn(&Route) -> Option<K>,
    ) -> Option<&Route> {
        // In dump order; a table given twice is probed twice, to no
        // effect (the first of equals is kept). Few tables need no heap.
        let mut small = [0u32; 4];
        let mut owned = Vec::new();
        let order: &mut [u32] = match small.get_mut(..tables.len()) {
            Some(s) => s,
            None => {
                owned.resize(tables.len(), 0);
                &mut owned
            }
        };
        order.copy_from_slice(tables);
        order.sort_unstable_by_key(|&t| (t as u8, t));
        let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
        let list = self.routes_of(family);
        for len in list.lengths() {
            let mut best: Option<(K, &Route)> = None;
            for &t in order.iter().filter(|&&t| list.has_length(t, len)) {
                for r in self.routes_at(&RouteKey::prefix_of(t, addr, len)) {
                    let Some(k) = rank(r) else { continue };
                    if best.as_ref().is_none_or(|(b, _)| k > *b) {
                        best = Some((k, r));
                    }
                }
            }
            if let Some((_, r)) = best {
                return Some(r);
            }
        }
        None
    }

    /// [`Stack::best_route`](nlq::stack::Stack::best_route) from the
    /// index: the longest prefix; within it IPv4's local table first,
    /// then the lowest metric, then the first in dump order; among the
    /// reject routes (IPv4) and the routes with a next hop through `oif`.
    pub(crate) fn best_route_indexed(
        &self,
        dst: IpAddr,
        tables: &[u32],
        oif: u32,
    ) -> Option<RouteRepr> {
        let v4 = dst.is_ipv4();
        let counts = |r: &Route| {
            (v4 && nlq::route_rules::is_reject(r.route_type))
                || match &r.multipath {
                    Some(m) => m.iter().any(|h| oif == 0 || h.ifindex == oif),
                    None => oif == 0 || r.oif == oif,
                }
        };
        self.longest_match_by(dst, tables, |r| {
            counts(r).then_some((
                v4 && r.table == RT_TABLE_LOCAL,
                std::cmp::Reverse(r.priority),
            ))
        })
        .map(Self::repr_of)
    }

    /// Where routes with `key` sit in the sorted list.
    fn key_range(&self, key: &RouteKey) -> std::ops::Range<usize> {
        let v = self.routes_of(key.family);
        if !v.has_key(key) {
            return 0..0;
        }
        let k = key.order();
        let lo = v.partition_by_order(|&(t, tt, d, l, _, _)| (t, tt, d, l) < k);
        // The routes of one key are few: counted from the first.
        let n = v
            .range(lo..usize::MAX)
            .take_while(|r| r.key().order() == k)
            .count();
        // Positions in the list: the sum does not overflow.
        lo..lo.saturating_add(n)
    }

    /// Inserts in the kernel's dump order: before the routes that compare
    /// equal, or after them with `append`.
    fn insert_route(&mut self, r: Route, append: bool) {
        self.sources.note(&Change::RouteAdded(RouteRef(&r)));
        self.plane.mirror(Change::RouteAdded(RouteRef(&r)));
        let v = self.routes_of_mut(r.family);
        v.insert_by_order(r, append);
    }

    /// Removes the route at `pos` (none past the end).
    pub(crate) fn remove_route(&mut self, family: u8, pos: usize) -> Option<Route> {
        let r = self.routes_of_mut(family).take(pos)?;
        self.route_gone(&r);
        Some(r)
    }

    /// Routes changed in place (`(old, new)` each): the indexes and the
    /// data plane follow.
    pub(crate) fn routes_changed(&mut self, changed: &[(Route, Route)]) {
        for (old, new) in changed {
            let change = Change::RouteReplaced {
                old: RouteRef(old),
                new: RouteRef(new),
            };
            self.sources.note(&change);
            self.plane.mirror(change);
        }
    }

    /// `r` left the tables: the indexes and the data plane follow.
    pub(crate) fn route_gone(&mut self, r: &Route) {
        self.sources.note(&Change::RouteRemoved(RouteRef(r)));
        self.plane.mirror(Change::RouteRemoved(RouteRef(r)));
    }

    /// `NLM_F_REPLACE`: `r` takes the place of the route at `pos`, if the
    /// plane admits it.
    fn replace_route(
        &mut self,
        family: u8,
        pos: usize,
        r: Route,
        req: &RouteRepr,
        events: Events<'_>,
    ) -> StackResult<()> {
        let old = self
            .routes_of(family)
            .get(pos)
            .ok_or(StackError::new(ENOENT))?;
        let old = RouteRef(old);
        D::admit_route(
            self,
            RouteAdmission::Replace {
                old,
                new: RouteRef(&r),
            },
            req,
        )?;
        self.tell_new_route(events, &r, NLM_F_REPLACE);
        self.update_route(family, pos, |o| *o = r);
        Ok(())
    }

    /// Changes the route at `pos` in place (its key and metric stay).
    fn update_route(&mut self, family: u8, pos: usize, change: impl FnOnce(&mut Route)) {
        let list = if family == AF_INET6 {
            &mut self.routes6
        } else {
            &mut self.routes4
        };
        // A position found just before: there is a route there.
        let Some(r) = list.get_mut(pos) else {
            return;
        };
        let old = r.clone();
        change(r);
        list.changed(pos);
        let Some(new) = list.get(pos) else {
            return;
        };
        let change = Change::RouteReplaced {
            old: RouteRef(&old),
            new: RouteRef(new),
        };
        self.sources.note(&change);
        self.plane.mirror(change);
    }

    pub(crate) fn linkdown(&self, oif: u32) -> bool {
        self.links.get(&oif).is_some_and(|l| !l.carrier)
    }

    /// Adds a route the kernel makes (an address's); an identical one
    /// already there is left alone, as `fib_magic` ignores `EEXIST`.
    pub(crate) fn add_kernel_route(&mut self, mut r: Route, events: Events<'_>) {
        if !self.routes_of(r.family).has_room() {
            // No handle left: the kernel's insert fails, and `fib_magic`
            // goes on.
            return;
        }
        let same = |o: &Route| o.priority == r.priority && (r.family == AF_INET6 || o.tos == r.tos);
        // Its prefix's routes: one probe, then their chain.
        let key = r.key();
        let routes = self.routes_at(&key);
        if routes.clone().any(|o| same(o) && o.same_info(&r)) {
            return;
        }
        let any_same = routes.clone().any(same);
        drop(routes);
        // The notification flags: EXCL unless a route of the same key and
        // priority was there; then APPEND for IPv4 (`fib_magic` appends),
        // nothing for IPv6 (addrconf does not).
        let nlflags = match (any_same, r.family) {
            (false, _) => NLM_F_CREATE | NLM_F_EXCL,
            (true, AF_INET) => NLM_F_CREATE | NLM_F_APPEND,
            (true, _) => NLM_F_CREATE,
        };
        if self.linkdown(r.oif) && r.route_type != RTN_LOCAL {
            r.flags |= RTNH_F_LINKDOWN;
        }
        self.create_table(r.family, r.table);
        // `fib_valid_prefsrc`: an IPv4 source must be local, as the local
        // table says (its own local route, or another's); the kernel's
        // insert fails silently otherwise (the local table was flushed).
        if let (AF_INET, Some(src)) = (r.family, r.prefsrc) {
            let own = r.route_type == RTN_LOCAL && r.dst == Some(src);
            if !own && self.addr_type4(src, r.table) != RTN_LOCAL {
                return;
            }
        }
        self.tell_new_route(events, &r, nlflags);
        self.insert_route(r, true);
    }

    /// Reports `r` as added (or changed) with `nlflags`, its repr built
    /// only if someone hears its family's route group.
    pub(crate) fn tell_new_route(&self, events: Events<'_>, r: &Route, nlflags: u16) {
        if self.listeners.hears_routes(r.family) {
            events(Event::NewRoute(&Self::repr_of(r), nlflags));
        }
    }

    /// Reports `r` as removed, as [`MemStack::tell_new_route`] does.
    pub(crate) fn tell_del_route(&self, events: Events<'_>, r: &Route) {
        if self.listeners.hears_routes(r.family) {
            events(Event::DelRoute(&Self::repr_of(r)));
        }
    }

    pub(crate) fn repr_of(r: &Route) -> RouteRepr {
        let mut repr = RouteRepr::default();
        r.fill(&mut repr);
        repr
    }

    /// Removes the routes of `family` that `pred` selects among those
    /// `at` says where to find, in dump order, notifying each if `notify`.
    pub(crate) fn del_kernel_routes(
        &mut self,
        family: u8,
        at: RoutesAt<'_>,
        pred: impl Fn(&Route) -> bool,
        notify: bool,
        events: Events<'_>,
    ) {
        let removed = match at {
            RoutesAt::Link(index) => {
                let list = if family == AF_INET6 {
                    &mut self.routes6
                } else {
                    &mut self.routes4
                };
                list.drain_link(index, pred)
            }
            RoutesAt::Prefixes(prefixes) => {
                let tables: Vec<u32> = self
                    .tables
                    .iter()
                    .filter(|(f, _)| *f == family)
                    .map(|(_, t)| *t)
                    .collect();
                let mut hits: Vec<usize> = Vec::new();
                for &t in &tables {
                    for &(dst, len) in prefixes {
                        let key = RouteKey::prefix_of(t, dst, len);
                        let list = self.routes_of(family);
                        hits.extend(
                            self.key_range(&key)
                                .filter(|&i| list.get(i).is_some_and(&pred)),
                        );
                    }
                }
                hits.sort_unstable();
                hits.dedup();
                let mut removed: Vec<Route> = hits
                    .iter()
                    .rev()
                    .filter_map(|&i| self.routes_of_mut(family).take(i))
                    .collect();
                removed.reverse();
                removed
            }
        };
        for r in &removed {
            self.route_gone(r);
            if notify {
                self.tell_del_route(events, r);
            }
        }
    }

    /// A link that goes down loses its routes: IPv4 drops those that do
    /// not have host scope, silently (`fib_sync_down_dev` + `fib_flush`);
    /// IPv6 deletes every route through it, notifying each (and each
    /// nexthop of a multipath route). With `all`, the link is going away:
    /// every IPv4 route through it goes too, still silently.
    pub(crate) fn flush_link_routes(
        &mut self,
        family: u8,
        index: u32,
        all: bool,
        events: Events<'_>,
    ) {
        // Routes through nexthop objects follow their nexthops, not the
        // link (`fib_sync_down_dev` and `fib6_ifdown` skip them).
        let through = |r: &Route| {
            r.nh_id == 0
                && (r.oif == index
                    || r.multipath
                        .as_ref()
                        .is_some_and(|m| !m.is_empty() && m.iter().all(|h| h.ifindex == index)))
        };
        if family != AF_INET6 {
            self.del_kernel_routes(
                AF_INET,
                RoutesAt::Link(index),
                |r| through(r) && (all || r.scope != RT_SCOPE_HOST),
                false,
                events,
            );
        }
        if family != AF_INET {
            for r in self.routes6.drain_link(index, through) {
                self.route_gone(&r);
                match &r.multipath {
                    Some(m) => {
                        for h in m.iter() {
                            let mut one = r.clone();
                            one.multipath = None;
                            one.gateway = h.gateway;
                            one.oif = h.ifindex;
                            self.tell_del_route(events, &one);
                        }
                    }
                    None => self.tell_del_route(events, &r),
                }
            }
        }
    }

    /// Marks the routes through a link `linkdown` (or clears the mark),
    /// silently, as carrier changes do.
    pub(crate) fn set_linkdown(&mut self, index: u32, down: bool) {
        let mut mark = |r: &mut Route| {
            if r.nh_id != 0 {
                return;
            }
            if r.oif == index && r.route_type != RTN_LOCAL {
                if down {
                    r.flags |= RTNH_F_LINKDOWN;
                } else {
                    r.flags &= !RTNH_F_LINKDOWN;
                }
            }
            if let Some(m) = r.multipath.as_mut() {
                for h in m.iter_mut().filter(|h| h.ifindex == index) {
                    if down {
                        h.flags |= RTNH_F_LINKDOWN as u8;
                    } else {
                        h.flags &= !(RTNH_F_LINKDOWN as u8);
                    }
                }
            }
        };
        self.routes4.for_link_mut(index, &mut mark);
        self.routes6.for_link_mut(index, &mut mark);
    }

    /// `ip6_route_check_nh`: the link an IPv6 gateway is reached by,
    /// through `oif` when given: first in the route's `table`, then as a
    /// lookup does (the local table, then main). The route found must
    /// forward without a gateway of its own.
    pub(crate) fn resolve_gateway6(&self, gw: IpAddr, oif: u32, table: u32) -> StackResult<u32> {
        // Only IPv6 routes can reach an IPv6 gateway.
        let best_in = |t: u32| {
            gw.is_ipv6()
                .then(|| self.longest_match(gw, &[t], |r| oif == 0 || r.uses(oif)))
                .flatten()
        };
        // A route through `lo` that is not local is a reject route inside
        // the kernel (`fib6_is_reject`).
        let direct = |r: &&Route| {
            let via_lo = r.oif == crate::link::LOOPBACK_INDEX
                && !matches!(r.route_type, RTN_LOCAL | RTN_ANYCAST);
            !nlq::route_rules::is_reject(r.route_type)
                && !via_lo
                && r.gateway.is_none()
                && r.multipath.is_none()
        };
        let t = if table == 0 { RT_TABLE_MAIN } else { table };
        best_in(t)
            .filter(direct)
            .or_else(|| {
                best_in(RT_TABLE_LOCAL)
                    .or_else(|| best_in(RT_TABLE_MAIN))
                    .filter(direct)
            })
            .map(|r| r.oif)
            .ok_or(StackError::new(EHOSTUNREACH))
    }

    /// `rt6_mtu_change`: the IPv6 routes through link `index` whose MTU
    /// metric is not locked take the link's new MTU when theirs is at
    /// least that, or was the link's old IPv6 MTU (`old6`); silently.
    pub(crate) fn rt6_mtu_change(&mut self, index: u32, mtu: u32, old6: u32) {
        self.routes6.for_each_mut(|r| {
            if !r.uses(index) {
                return;
            }
            let Some(m) = r.metrics.as_deref_mut() else {
                return;
            };
            let locked = m.get(RTAX_LOCK).unwrap_or(0) & (1 << RTAX_MTU) != 0;
            let pmtu = m.get(RTAX_MTU).unwrap_or(0);
            if !locked && (pmtu >= mtu || pmtu == old6) {
                m.set(RTAX_MTU, mtu);
            }
        });
    }

    /// `fib_new_table`: creating the IPv4 local table creates main too
    /// (the kernel keeps them merged while no rule was added).
    pub(crate) fn create_table(&mut self, family: u8, table: u32) {
        // Made once: most calls find it there (one search, not two).
        if self.tables.contains(&(family, table)) {
            return;
        }
        self.tables.insert((family, table));
        if family == AF_INET && table == RT_TABLE_LOCAL && !self.rules.custom_rules(AF_INET) {
            self.tables.insert((AF_INET, RT_TABLE_MAIN));
        }
    }

    pub(crate) fn route_add(
        &mut self,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let mut r = Route::from_request(req);
        if r.route_type == RTN_UNSPEC || r.route_type > 12 {
            return Err(StackError::with_message(EINVAL, "Invalid route type"));
        }
        check_nexthop_spec(req)?;
        if r.family == AF_INET6 && r.nh_id != 0 && !self.nexthops.contains_key(&r.nh_id) {
            // Before IPv6 makes the table.
            return Err(StackError::with_message(
                EINVAL,
                "Nexthop id does not exist",
            ));
        }
        if r.family == AF_INET {
            check_host_bits(req)?;
        }
        if !self.routes_of(r.family).has_room() {
            // Every route handle taken (2^32 - 1 routes of the family).
            return Err(StackError::new(ENOMEM));
        }
        // The table exists from here on, whatever the outcome
        // (`fib_new_table`, `fib6_new_table`).
        self.create_table(r.family, r.table);
        let rtm_flags = req.header.flags;
        if r.family == AF_INET {
            self.check_route4(&mut r, req)?;
            self.fib4_insert(r, req, flags, events)
        } else {
            self.check_route6(&mut r, rtm_flags)?;
            // One next hop given as a list is a route of its own: no
            // siblings, shown with its gateway and link.
            if let Some([hop]) = r.multipath.as_deref() {
                let hop = *hop;
                r.gateway = hop.gateway.or(hop.via);
                r.oif = hop.ifindex;
                r.flags |= u32::from(hop.flags) & !(RTNH_F_DEAD | RTNH_F_LINKDOWN);
                r.multipath = None;
            }
            self.fib6_insert(r, req, flags, events)
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
        let range = self.key_range(&r.key());
        let same: Vec<usize> = range
            .filter(|&i| {
                let o = self.routes4.get(i);
                o.is_some_and(|o| o.tos == r.tos && o.priority == r.priority)
            })
            .collect();
        if let Some(&first) = same.first() {
            if flags.excl() {
                return Err(StackError::new(EEXIST));
            }
            if flags.replace() {
                // `fa_match`: an identical route among the aliases makes the
                // replace a no-op when it is the first, EEXIST otherwise.
                let identical = |i: usize| self.routes4.get(i).is_some_and(|o| o.same_info(&r));
                match same.iter().position(|&i| identical(i)) {
                    Some(0) => return Ok(()),
                    Some(_) => return Err(StackError::new(EEXIST)),
                    None => return self.replace_route(AF_INET, first, r, req, events),
                }
            }
            if same
                .iter()
                .any(|&i| self.routes4.get(i).is_some_and(|o| o.same_info(&r)))
            {
                return Err(StackError::new(EEXIST));
            }
        }
        if !flags.create() {
            return Err(StackError::new(ENOENT));
        }
        // `fib_table_insert`: EXCL when no route of the same key and
        // priority was there; otherwise APPEND for an append, nothing for a
        // prepend.
        let nlflags = NLM_F_CREATE
            | match (same.is_empty(), flags.append()) {
                (true, _) => NLM_F_EXCL,
                (false, true) => NLM_F_APPEND,
                (false, false) => 0,
            };
        D::admit_route(self, RouteAdmission::Insert(RouteRef(&r)), req)?;
        self.tell_new_route(events, &r, nlflags);
        self.create_table(AF_INET, r.table);
        self.insert_route(r, flags.append());
        Ok(())
    }

    /// `fib6_add_rt2node`: gateway routes of the same prefix and metric
    /// merge into one multipath route (ECMP siblings).
    fn fib6_insert(
        &mut self,
        r: Route,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let multipath_request = req.multipath.is_some();
        // A multipath request adds its nexthops one by one as siblings: a
        // nexthop given twice collides with itself, and all is rolled back.
        if let Some(m) = &r.multipath {
            let dup = m.iter().enumerate().any(|(i, h)| {
                m.iter()
                    .take(i)
                    .any(|o| o.gateway.or(o.via) == h.gateway.or(h.via) && o.ifindex == h.ifindex)
            });
            if dup {
                return Err(StackError::new(EEXIST));
            }
        }
        let range = self.key_range(&r.key());
        let found = range.clone().find(|&i| {
            self.routes6
                .get(i)
                .is_some_and(|o| o.priority == r.priority)
        });
        let Some(i) = found else {
            if flags.replace() && !flags.create() {
                // Text only when no route has the prefix (`fib6_add_1`);
                // the default prefix always has a node (the null entry).
                let node = range.clone().next().is_some();
                return Err(if r.dst_len == 0 || node {
                    StackError::new(ENOENT)
                } else {
                    StackError::with_message(ENOENT, "Can not replace route - no match found")
                });
            }
            D::admit_route(self, RouteAdmission::Insert(RouteRef(&r)), req)?;
            // `fib6_add_rt2node`: EXCL, and APPEND when asked; a multipath
            // request tells once for all its next hops, without EXCL, and
            // as a replace when it is one, even of nothing
            // (`ip6_route_multipath_add`).
            let append = if flags.append() { NLM_F_APPEND } else { 0 };
            let nlflags = match (multipath_request, flags.replace()) {
                (true, true) => NLM_F_REPLACE,
                (true, false) => NLM_F_CREATE,
                (false, _) => NLM_F_CREATE | NLM_F_EXCL,
            };
            self.tell_new_route(events, &r, nlflags | append);
            self.create_table(AF_INET6, r.table);
            self.insert_route(r, true);
            return Ok(());
        };
        if flags.excl() {
            return Err(StackError::new(EEXIST));
        }
        if flags.replace() {
            return self.replace_route(AF_INET6, i, r, req, events);
        }
        let hops = |x: &Route| -> Vec<(Option<IpAddr>, u32)> {
            match &x.multipath {
                Some(m) => m.iter().map(|h| (h.gateway.or(h.via), h.ifindex)).collect(),
                None => vec![(x.gateway, x.oif)],
            }
        };
        let o = self.routes6.get(i).ok_or(StackError::new(ENOENT))?;
        let (old, new) = (hops(o), hops(&r));
        if new.iter().any(|h| old.contains(h)) {
            return Err(StackError::new(EEXIST));
        }
        D::admit_route(
            self,
            RouteAdmission::Join {
                old: RouteRef(o),
                new: RouteRef(&r),
            },
            req,
        )?;
        let ecmp = |v: &[(Option<IpAddr>, u32)]| v.iter().all(|(g, _)| g.is_some());
        if !(ecmp(&old) && ecmp(&new) && o.protocol != RTPROT_KERNEL) {
            // Not siblings: another route of the same prefix and metric.
            let append = if flags.append() { NLM_F_APPEND } else { 0 };
            self.tell_new_route(events, &r, NLM_F_CREATE | append);
            self.insert_route(r, true);
            return Ok(());
        }
        let mut all: Vec<NextHopRepr> = Vec::new();
        for (g, i) in old.iter().chain(&new) {
            all.push(NextHopRepr {
                flags: if self.linkdown(*i) {
                    RTNH_F_LINKDOWN as u8
                } else {
                    0
                },
                hops: 0,
                ifindex: *i,
                gateway: *g,
                via: None,
            });
        }
        self.update_route(AF_INET6, i, |o| {
            o.gateway = None;
            o.oif = 0;
            o.flags &= !RTNH_F_LINKDOWN;
            o.multipath = Some(all.into_boxed_slice());
        });
        let Some(merged) = self.routes6.get(i).map(Self::repr_of) else {
            return Ok(());
        };
        // A multipath request: APPEND only when asked.
        let append = if !multipath_request || flags.append() {
            NLM_F_APPEND
        } else {
            0
        };
        events(Event::NewRoute(&merged, NLM_F_CREATE | append));
        Ok(())
    }

    /// `fib_table_delete` / `ip6_route_del`: the first route matching every
    /// field the request gives.
    pub(crate) fn route_del(&mut self, req: &RouteRepr, events: Events<'_>) -> StackResult<()> {
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
        let table = match req.table_id() {
            0 => RT_TABLE_MAIN,
            t => t,
        };
        check_host_bits(req)?;
        if let Some(id) = req.nh_id.filter(|&id| id != 0) {
            if !self.nexthops.contains_key(&id) {
                return Err(StackError::with_message(
                    EINVAL,
                    "Nexthop id does not exist",
                ));
            }
        }
        if !self.tables.contains(&(family, table)) {
            return Err(StackError::with_message(ESRCH, "FIB table does not exist"));
        }
        let want = Route::from_request(req);
        let key = RouteKey {
            table,
            ..want.key()
        };
        let not_found = StackError::new(ESRCH);
        let gw = req.gateway.or(req.via);
        let v4 = family == AF_INET;
        let matches = |o: &Route| {
            (!v4 || o.tos == req.header.tos)
                && (!v4 || req.header.route_type == 0 || o.route_type == req.header.route_type)
                && (!v4 || req.header.scope == RT_SCOPE_NOWHERE || o.scope == req.header.scope)
                // IPv6 looks at neither the kind nor the source (`ip6_route_del`).
                && (!v4 || req.prefsrc.is_none_or(|p| o.prefsrc == Some(p)))
                && (req.header.protocol == 0 || o.protocol == req.header.protocol)
                // Metric 0 matches any.
                && req.priority.is_none_or(|p| p == 0 || o.priority == p)
                && req.oif.is_none_or(|i| o.uses(i))
                && req.nh_id.is_none_or(|n| n == 0 || o.nh_id == n)
                && (!v4 || metrics_match(req.metrics.as_ref(), o.metrics.as_deref()))
                && req.multipath.as_ref().is_none_or(|m| {
                    let mut want: Vec<Option<IpAddr>> =
                        m.as_slice().iter().map(|h| h.gateway.or(h.via)).collect();
                    let mut have: Vec<Option<IpAddr>> = o
                        .multipath
                        .as_ref()
                        .map(|x| x.iter().map(|h| h.gateway.or(h.via)).collect())
                        .unwrap_or_default();
                    want.sort();
                    have.sort();
                    want == have
                })
                && gw.is_none_or(|g| {
                    o.gateway == Some(g)
                        || o.multipath
                            .as_ref()
                            .is_some_and(|m| m.iter().any(|h| h.gateway == Some(g)))
                })
        };
        let list = self.routes_of(family);
        let pos = self
            .key_range(&key)
            .find(|&i| list.get(i).is_some_and(matches));
        let Some(i) = pos else {
            // Each IPv6 table's root holds a "null entry" (through lo,
            // metric 0xffffffff, protocol kernel) while it has no ::/0
            // route; a loose delete finds it and refuses to delete it.
            let null_entry = !v4
                && key.dst_len == 0
                && !self
                    .routes6
                    .iter()
                    .any(|o| o.table == table && o.dst_len == 0)
                && req.oif.is_none_or(|i| i == 1)
                && gw.is_none()
                // A delete by nexthop id passes over routes without one.
                && req.nh_id.is_none_or(|n| n == 0)
                // Metric 0 matches any.
                && req.priority.is_none_or(|p| p == 0 || p == u32::MAX)
                && (req.header.protocol == 0 || req.header.protocol == RTPROT_KERNEL);
            return Err(if null_entry {
                StackError::new(ENOENT)
            } else {
                not_found
            });
        };
        let found = self.routes_of(family).get(i).ok_or(not_found)?;
        D::admit_route_del(self, RouteRef(found))?;
        // One gateway of an IPv6 multipath route: only that sibling goes.
        if !v4 {
            let found = self.routes6.get(i);
            if let (Some(g), Some(found)) = (gw, found) {
                let m = found.multipath.as_deref().unwrap_or_default();
                if m.len() > 1 {
                    let rest: Vec<NextHopRepr> =
                        m.iter().filter(|h| h.gateway != Some(g)).copied().collect();
                    let mut sibling = found.clone();
                    sibling.multipath = None;
                    if let Some(h) = m.iter().find(|h| h.gateway == Some(g)) {
                        sibling.gateway = h.gateway;
                        sibling.oif = h.ifindex;
                    }
                    self.update_route(AF_INET6, i, |o| {
                        if let [only] = rest.as_slice() {
                            o.gateway = only.gateway;
                            o.oif = only.ifindex;
                            o.multipath = None;
                        } else {
                            o.multipath = Some(rest.into_boxed_slice());
                        }
                    });
                    self.tell_del_route(events, &sibling);
                    return Ok(());
                }
            }
        }
        let r = self.remove_route(family, i).ok_or(not_found)?;
        self.tell_del_route(events, &r);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use nlq::stack::{CreateFlags, LinkChange, NewLink, Stack};

    use super::*;

    /// A generator of small pseudo-random numbers (xorshift).
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Two dummy links up, with many device routes of both families, of
    /// every prefix length in a small range, in three tables, with
    /// metrics, reject kinds and multipath, some of them equal.
    fn crowded(dice: &mut Dice) -> MemStack {
        let mut s = MemStack::new();
        let mut quiet = |_: Event<'_>| {};
        for _ in 0..2 {
            let new = NewLink {
                index: 0,
                name: None,
                kind: "dummy",
                info: None,
                change: LinkChange::default(),
            };
            let i = s.add_link(&new, &mut quiet).unwrap();
            let up = LinkChange {
                flags: IFF_UP,
                flags_mask: IFF_UP,
                ..LinkChange::default()
            };
            s.set_link(i, &up, &mut quiet).unwrap();
        }
        for n in 0..3_000 {
            let v4 = n % 2 == 0;
            let mut r = RouteRepr::default();
            let len = if v4 {
                (20 + dice.below(13)) as u8
            } else {
                (112 + dice.below(17)) as u8
            };
            r.header.family = if v4 { AF_INET } else { AF_INET6 };
            r.header.dst_len = len;
            let bits = dice.below(1 << 12) as u32;
            r.dst = Some(if v4 {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (bits << 4)))
            } else {
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8u128 << 96) | u128::from(bits << 4),
                ))
            })
            .map(|d| nlq::prefix::network(d, len));
            let table = [RT_TABLE_MAIN, RT_TABLE_LOCAL, 100][dice.below(3) as usize];
            r.header.table = table as u8;
            r.table = Some(table);
            r.header.protocol = RTPROT_STATIC;
            r.header.scope = RT_SCOPE_LINK;
            r.header.route_type =
                [RTN_UNICAST, RTN_UNICAST, RTN_UNREACHABLE, RTN_BLACKHOLE][dice.below(4) as usize];
            r.priority = Some(dice.below(3) as u32 * 100);
            if r.header.route_type == RTN_UNICAST {
                if dice.below(5) == 0 {
                    let hops = [2, 3].map(|ifindex| NextHopRepr {
                        ifindex,
                        ..NextHopRepr::default()
                    });
                    r.multipath = hops.into_iter().collect();
                } else {
                    r.oif = Some(2 + dice.below(2) as u32);
                }
            } else {
                r.header.scope = RT_SCOPE_UNIVERSE;
            }
            let flags = CreateFlags(NLM_F_CREATE | NLM_F_APPEND);
            let _ = s.add_route(&r, flags, &mut quiet);
        }
        s
    }

    /// The indexed lookup answers as the walk of the dump does, for
    /// either family, any set of tables and any output link.
    #[test]
    fn indexed_lookups_match_a_walk_of_the_dump() {
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let s = crowded(&mut dice);
        assert!(s.route_count() > 2_000, "{}", s.route_count());
        let table_sets: [&[u32]; 4] = [
            &[RT_TABLE_LOCAL, RT_TABLE_MAIN],
            &[RT_TABLE_MAIN],
            &[100],
            &[100, RT_TABLE_LOCAL],
        ];
        let mut found = 0;
        for _ in 0..20_000 {
            let bits = dice.below(1 << 16) as u32;
            let dst = if dice.below(2) == 0 {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | bits))
            } else {
                IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(bits)))
            };
            let tables = table_sets[dice.below(4) as usize];
            let oif = dice.below(4) as u32;
            let walked = nlq::stack::lookup::best_route_walk(&s, dst, tables, oif).unwrap();
            assert_eq!(
                s.best_route(dst, tables, oif).unwrap(),
                walked,
                "{dst} {tables:?} oif {oif}"
            );
            found += usize::from(walked.is_some());
        }
        assert!(found > 5_000, "{found} lookups found a route");
    }
}
