//! Routes: `fib_table_insert` / `fib_table_delete` for IPv4,
//! `fib6_add_rt2node` / `ip6_route_del` for IPv6, and the kernel routes
//! addresses bring.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::lookup::prefix_contains;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{NextHopList, NextHopRepr, RouteMetrics, RouteRepr, RtMsg};

use crate::MemStack;

/// `RTNH_F_DEAD`.
const RTNH_F_DEAD: u32 = 1;
/// `RTNH_F_LINKDOWN`: the nexthop's link has no carrier.
const RTNH_F_LINKDOWN: u32 = 16;
/// `RT_TABLE_COMPAT`: what `rtm_table` says of tables above 255.
const RT_TABLE_COMPAT: u8 = 252;
/// `IP6_RT_PRIO_USER`: the metric of IPv6 routes that give none.
const IP6_RT_PRIO_USER: u32 = 1024;

/// What identifies a prefix in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RouteKey {
    family: u8,
    table: u32,
    dst: u128,
    dst_len: u8,
}

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
    pub kind: u8,
    /// `RTNH_F_*` of a single nexthop.
    pub flags: u32,
    pub prefsrc: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub oif: u32,
    pub multipath: Option<Box<[NextHopRepr]>>,
    pub metrics: Option<Box<RouteMetrics>>,
}

fn bits(ip: &Option<IpAddr>) -> u128 {
    match ip {
        Some(IpAddr::V4(a)) => u128::from(u32::from(*a)),
        Some(IpAddr::V6(a)) => u128::from(*a),
        None => 0,
    }
}

fn masked(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
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
            kind,
            flags: 0,
            prefsrc,
            gateway: None,
            oif,
            multipath: None,
            metrics: None,
        }
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
        self.multipath
            .as_ref()
            .map_or(0, |m| m.len() * std::mem::size_of::<NextHopRepr>())
            + self
                .metrics
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<RouteMetrics>())
    }

    /// The links the route goes through.
    fn uses(&self, index: u32) -> bool {
        self.oif == index
            || self
                .multipath
                .as_ref()
                .is_some_and(|m| m.iter().any(|h| h.ifindex == index))
    }

    /// Same destination, kind and nexthops: what makes an add `EEXIST`.
    fn same_info(&self, o: &Route) -> bool {
        self.kind == o.kind
            && self.scope == o.scope
            && self.protocol == o.protocol
            && self.prefsrc == o.prefsrc
            && self.gateway == o.gateway
            && self.oif == o.oif
            && self.multipath == o.multipath
            && self.metrics == o.metrics
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
            kind: self.kind,
            flags: self.flags,
        };
        r.dst = self.dst;
        r.src = None;
        r.iif = None;
        r.oif = (self.oif != 0).then_some(self.oif);
        r.gateway = self.gateway;
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
        r.pref = (self.family == AF_INET6).then_some(0);
        r.via = None;
        r.expires = None;
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
            dst: req.dst.map(|d| masked(d, req.header.dst_len)),
            dst_len: req.header.dst_len,
            tos: req.header.tos,
            priority: req.priority.unwrap_or(if family == AF_INET6 {
                IP6_RT_PRIO_USER
            } else {
                0
            }),
            protocol: req.header.protocol,
            scope: req.header.scope,
            kind: req.header.kind,
            flags: req.header.flags & 0xff & !(RTNH_F_DEAD | RTNH_F_LINKDOWN),
            prefsrc: req.prefsrc,
            gateway: req.gateway.or(req.via),
            oif: req.oif.unwrap_or(0),
            multipath: req
                .multipath
                .as_ref()
                .map(|m| m.as_slice().to_vec().into_boxed_slice()),
            metrics: req.metrics.clone().map(Box::new),
        }
    }
}

impl MemStack {
    pub(crate) fn routes_of(&self, family: u8) -> &Vec<Route> {
        if family == AF_INET6 {
            &self.routes6
        } else {
            &self.routes4
        }
    }

    fn routes_of_mut(&mut self, family: u8) -> &mut Vec<Route> {
        if family == AF_INET6 {
            &mut self.routes6
        } else {
            &mut self.routes4
        }
    }

    fn count_key(&mut self, key: RouteKey, add: bool) {
        if add {
            *self.route_keys.entry(key).or_insert(0) += 1;
        } else if let Some(n) = self.route_keys.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.route_keys.remove(&key);
            }
        }
    }

    fn has_key(&self, key: &RouteKey) -> bool {
        self.route_keys.contains_key(key)
    }

    fn insert_route(&mut self, pos: Option<usize>, r: Route) {
        self.count_key(r.key(), true);
        let v = self.routes_of_mut(r.family);
        match pos {
            Some(p) if p <= v.len() => v.insert(p, r),
            _ => v.push(r),
        }
    }

    fn remove_route(&mut self, family: u8, pos: usize) -> Route {
        let r = self.routes_of_mut(family).remove(pos);
        self.count_key(r.key(), false);
        r
    }

    fn linkdown(&self, oif: u32) -> bool {
        self.links.get(&oif).is_some_and(|l| !l.carrier)
    }

    /// Adds a route the kernel makes (an address's); an identical one
    /// already there is left alone, as `fib_magic` ignores `EEXIST`.
    pub(crate) fn add_kernel_route(&mut self, mut r: Route, events: Events<'_>) {
        let key = r.key();
        if self.has_key(&key)
            && self
                .routes_of(r.family)
                .iter()
                .any(|o| o.key() == key && o.priority == r.priority && o.same_info(&r))
        {
            return;
        }
        if self.linkdown(r.oif) && r.kind != RTN_LOCAL {
            r.flags |= RTNH_F_LINKDOWN;
        }
        self.tables.insert((r.family, r.table));
        events(Event::NewRoute(
            &Self::repr_of(&r),
            NLM_F_CREATE | NLM_F_APPEND,
        ));
        self.insert_route(None, r);
    }

    fn repr_of(r: &Route) -> RouteRepr {
        let mut repr = RouteRepr::default();
        r.fill(&mut repr);
        repr
    }

    /// Removes the routes `pred` selects, notifying each if `notify`.
    pub(crate) fn del_kernel_routes(
        &mut self,
        pred: impl Fn(&Route) -> bool,
        notify: bool,
        events: Events<'_>,
    ) {
        for family in [AF_INET, AF_INET6] {
            while let Some(p) = self.routes_of(family).iter().position(&pred) {
                let r = self.remove_route(family, p);
                if notify {
                    events(Event::DelRoute(&Self::repr_of(&r)));
                }
            }
        }
    }

    /// A link that goes down or away loses the routes through it: IPv4
    /// drops them silently (`fib_flush`), IPv6 notifies each.
    pub(crate) fn flush_link_routes(
        &mut self,
        family: u8,
        index: u32,
        notify: bool,
        events: Events<'_>,
    ) {
        let families: &[u8] = match family {
            AF_INET => &[AF_INET],
            AF_INET6 => &[AF_INET6],
            _ => &[AF_INET, AF_INET6],
        };
        for &f in families {
            let all_through = |r: &Route| {
                r.oif == index
                    || r.multipath
                        .as_ref()
                        .is_some_and(|m| m.iter().all(|h| h.ifindex == index))
            };
            while let Some(p) = self.routes_of(f).iter().position(all_through) {
                let r = self.remove_route(f, p);
                if notify || f == AF_INET6 {
                    events(Event::DelRoute(&Self::repr_of(&r)));
                }
            }
        }
    }

    /// Marks the routes through a link `linkdown` (or clears the mark).
    pub(crate) fn set_linkdown(&mut self, index: u32, down: bool) {
        for r in self.routes4.iter_mut().chain(self.routes6.iter_mut()) {
            if r.oif == index && r.kind != RTN_LOCAL {
                if down {
                    r.flags |= RTNH_F_LINKDOWN;
                } else {
                    r.flags &= !RTNH_F_LINKDOWN;
                }
            }
        }
    }

    /// Resolves a gateway as the kernel checks nexthops: a route of scope
    /// link or host (not through another gateway) must cover it, through
    /// `oif` if one is given. Returns the link it goes through.
    fn resolve_gateway(&self, gw: IpAddr, oif: u32) -> StackResult<u32> {
        let family = if gw.is_ipv4() { AF_INET } else { AF_INET6 };
        if let IpAddr::V6(a) = gw {
            if a.segments()[0] & 0xffc0 == 0xfe80 {
                return if oif != 0 {
                    Ok(oif)
                } else {
                    Err(StackError::with_message(
                        EINVAL,
                        "Nexthop has invalid gateway",
                    ))
                };
            }
        }
        let best = self
            .routes_of(family)
            .iter()
            .filter(|r| {
                (r.table == RT_TABLE_MAIN || r.table == RT_TABLE_LOCAL)
                    && r.gateway.is_none()
                    && r.multipath.is_none()
                    && (family == AF_INET6 || r.scope >= RT_SCOPE_LINK)
                    && (r.kind == RTN_UNICAST || r.kind == RTN_LOCAL)
                    && (oif == 0 || r.oif == oif)
                    && prefix_contains(r.dst, r.dst_len, gw)
            })
            .max_by_key(|r| (r.table == RT_TABLE_LOCAL, r.dst_len));
        match best {
            Some(r) if r.kind == RTN_LOCAL && family == AF_INET6 => {
                Err(StackError::with_message(EINVAL, "Invalid gateway address"))
            }
            Some(r) => Ok(r.oif),
            None if family == AF_INET6 => Err(StackError::with_message(
                EHOSTUNREACH,
                "Nexthop has invalid gateway",
            )),
            None => Err(StackError::with_message(
                ENETUNREACH,
                "Nexthop has invalid gateway",
            )),
        }
    }

    /// Checks one nexthop; returns its output link.
    fn check_nexthop(&self, gw: Option<IpAddr>, oif: u32, kind: u8) -> StackResult<u32> {
        if oif != 0 {
            let link = self.link_ref(oif)?;
            if !link.is_up() && matches!(kind, RTN_UNICAST | RTN_UNSPEC) && gw.is_none() {
                return Err(StackError::with_message(
                    ENETDOWN,
                    "Nexthop device is not up",
                ));
            }
        }
        match gw {
            Some(g) => {
                let out = self.resolve_gateway(g, oif)?;
                if !self.link_ref(out)?.is_up() {
                    return Err(StackError::with_message(
                        ENETDOWN,
                        "Nexthop device is not up",
                    ));
                }
                Ok(out)
            }
            None if oif == 0 && matches!(kind, RTN_UNICAST | RTN_UNSPEC) => Err(
                StackError::with_message(ENODEV, "Nexthop device required for onlink"),
            ),
            None => Ok(oif),
        }
    }

    pub(crate) fn route_add(
        &mut self,
        req: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let mut r = Route::from_request(req);
        if let (Some(d), Some(given)) = (r.dst, req.dst) {
            if r.family == AF_INET && d != given {
                return Err(StackError::with_message(
                    EINVAL,
                    "Invalid prefix for given prefix length",
                ));
            }
        }
        if r.kind == RTN_UNSPEC || r.kind > 12 {
            return Err(StackError::with_message(EINVAL, "Invalid route type"));
        }
        // Nexthops.
        if let Some(hops) = r.multipath.as_mut() {
            for h in hops.iter_mut() {
                h.ifindex = self.check_nexthop(h.gateway.or(h.via), h.ifindex, r.kind)?;
                h.flags &= !(RTNH_F_LINKDOWN as u8);
                if self.linkdown(h.ifindex) {
                    h.flags |= RTNH_F_LINKDOWN as u8;
                }
            }
        } else if matches!(
            r.kind,
            RTN_UNICAST | RTN_LOCAL | RTN_BROADCAST | RTN_MULTICAST | RTN_ANYCAST
        ) {
            r.oif = self.check_nexthop(r.gateway, r.oif, r.kind)?;
            if self.linkdown(r.oif) && r.kind != RTN_LOCAL {
                r.flags |= RTNH_F_LINKDOWN;
            }
        }
        if r.family == AF_INET {
            self.fib4_insert(r, flags, events)
        } else {
            self.fib6_insert(r, flags, events)
        }
    }

    fn fib4_insert(&mut self, r: Route, flags: CreateFlags, events: Events<'_>) -> StackResult<()> {
        let key = r.key();
        let mut first = None;
        if self.has_key(&key) {
            let v = self.routes_of(AF_INET);
            for (i, o) in v.iter().enumerate() {
                if o.key() != key || o.tos != r.tos || o.priority != r.priority {
                    continue;
                }
                if flags.excl() {
                    return Err(StackError::new(EEXIST));
                }
                if flags.replace() {
                    self.remove_route(AF_INET, i);
                    events(Event::NewRoute(&Self::repr_of(&r), NLM_F_REPLACE));
                    self.tables.insert((AF_INET, r.table));
                    self.insert_route(Some(i), r);
                    return Ok(());
                }
                if o.same_info(&r) {
                    return Err(StackError::new(EEXIST));
                }
                first.get_or_insert(i);
            }
        }
        if !flags.create() {
            return Err(StackError::new(ENOENT));
        }
        let pos = if flags.append() { None } else { first };
        let nlflags = NLM_F_CREATE
            | if flags.append() {
                NLM_F_APPEND
            } else {
                NLM_F_EXCL
            };
        events(Event::NewRoute(&Self::repr_of(&r), nlflags));
        self.tables.insert((AF_INET, r.table));
        self.insert_route(pos, r);
        Ok(())
    }

    fn fib6_insert(
        &mut self,
        mut r: Route,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let key = r.key();
        if self.has_key(&key) {
            let found = self
                .routes_of(AF_INET6)
                .iter()
                .position(|o| o.key() == key && o.priority == r.priority);
            if let Some(i) = found {
                if flags.excl() {
                    return Err(StackError::new(EEXIST));
                }
                let o = &self.routes6[i];
                if flags.replace() {
                    self.remove_route(AF_INET6, i);
                    events(Event::NewRoute(&Self::repr_of(&r), NLM_F_REPLACE));
                    self.insert_route(Some(i), r);
                    return Ok(());
                }
                let hops = |x: &Route| -> Vec<(Option<IpAddr>, u32)> {
                    match &x.multipath {
                        Some(m) => m.iter().map(|h| (h.gateway.or(h.via), h.ifindex)).collect(),
                        None => vec![(x.gateway, x.oif)],
                    }
                };
                let (old, new) = (hops(o), hops(&r));
                if new.iter().any(|h| old.contains(h)) {
                    return Err(StackError::new(EEXIST));
                }
                // Gateway routes with the same metric become one multipath
                // route (ECMP siblings).
                let ecmp = |v: &[(Option<IpAddr>, u32)]| v.iter().all(|(g, _)| g.is_some());
                if ecmp(&old) && ecmp(&new) && o.protocol != RTPROT_KERNEL {
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
                    let o = &mut self.routes6[i];
                    o.gateway = None;
                    o.oif = 0;
                    o.flags &= !RTNH_F_LINKDOWN;
                    o.multipath = Some(all.into_boxed_slice());
                    let merged = Self::repr_of(o);
                    events(Event::NewRoute(&merged, NLM_F_CREATE | NLM_F_APPEND));
                    return Ok(());
                }
            } else if flags.replace() && !flags.create() {
                return Err(StackError::new(ENOENT));
            }
        } else if flags.replace() && !flags.create() {
            return Err(StackError::new(ENOENT));
        }
        r.flags &= !RTNH_F_DEAD;
        events(Event::NewRoute(
            &Self::repr_of(&r),
            NLM_F_CREATE | NLM_F_EXCL,
        ));
        self.tables.insert((AF_INET6, r.table));
        self.insert_route(None, r);
        Ok(())
    }

    pub(crate) fn route_del(&mut self, req: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        let family = req.header.family;
        let table = match req.table_id() {
            0 => RT_TABLE_MAIN,
            t => t,
        };
        if !self.tables.contains(&(family, table)) {
            return Err(StackError::with_message(ESRCH, "FIB table does not exist"));
        }
        let want = Route::from_request(req);
        let key = RouteKey {
            table,
            ..want.key()
        };
        let not_found = StackError::with_message(ESRCH, "No such process");
        if !self.has_key(&key) {
            return Err(not_found);
        }
        let gw = req.gateway.or(req.via);
        let v = self.routes_of(family);
        let pos = v.iter().position(|o| {
            o.key() == key
                && (family == AF_INET6 || o.tos == req.header.tos)
                && (req.header.kind == 0 || family == AF_INET6 || o.kind == req.header.kind)
                && (req.header.scope == RT_SCOPE_NOWHERE
                    || family == AF_INET6
                    || o.scope == req.header.scope)
                && req.prefsrc.is_none_or(|p| o.prefsrc == Some(p))
                && (req.header.protocol == 0 || o.protocol == req.header.protocol)
                && req.priority.is_none_or(|p| o.priority == p)
                && req.oif.is_none_or(|i| o.uses(i))
                && gw.is_none_or(|g| {
                    o.gateway == Some(g)
                        || o.multipath
                            .as_ref()
                            .is_some_and(|m| m.iter().any(|h| h.gateway == Some(g)))
                })
        });
        let i = pos.ok_or(not_found)?;
        // Deleting one gateway of an IPv6 multipath route removes only
        // that sibling.
        if family == AF_INET6 {
            if let (Some(g), Some(m)) = (gw, self.routes6[i].multipath.as_ref()) {
                if m.len() > 1 {
                    let gone: Vec<NextHopRepr> =
                        m.iter().filter(|h| h.gateway == Some(g)).copied().collect();
                    let rest: Vec<NextHopRepr> =
                        m.iter().filter(|h| h.gateway != Some(g)).copied().collect();
                    let mut sibling = self.routes6[i].clone();
                    sibling.multipath = None;
                    if let Some(h) = gone.first() {
                        sibling.gateway = h.gateway;
                        sibling.oif = h.ifindex;
                    }
                    let o = &mut self.routes6[i];
                    if rest.len() == 1 {
                        o.gateway = rest[0].gateway;
                        o.oif = rest[0].ifindex;
                        o.multipath = None;
                    } else {
                        o.multipath = Some(rest.into_boxed_slice());
                    }
                    events(Event::DelRoute(&Self::repr_of(&sibling)));
                    return Ok(());
                }
            }
        }
        let r = self.remove_route(family, i);
        events(Event::DelRoute(&Self::repr_of(&r)));
        Ok(())
    }
}
