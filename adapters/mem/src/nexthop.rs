//! Nexthop objects (`net/ipv4/nexthop.c`): single nexthops (a link, a
//! gateway through a link, a blackhole) and groups of them with weights,
//! kept by id; the routes that name one by `RTA_NH_ID` take their next
//! hops from it (expanded into the route, as the kernel's compatibility
//! mode shows them), and go with it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use nlq::errno::*;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{GroupList, GroupMember, NextHopRepr, NexthopRepr, NhMsg};

use crate::route::Route;
use crate::route_check::Hop;
use crate::{DataPlane, MemStack};

fn fail(errno: i32, text: &'static str) -> StackError {
    StackError::with_message(errno, text)
}

/// What a nexthop is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// Through a link, to a gateway or to the link itself.
    Single { oif: u32, gateway: Option<IpAddr> },
    /// Drops what it is given (`lo` inside the kernel).
    Blackhole,
    /// A multipath group of other nexthops, with weights.
    Group(Vec<GroupMember>),
}

/// One nexthop object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nexthop {
    /// `AF_INET` or `AF_INET6` (`AF_UNSPEC` for a group).
    pub family: u8,
    pub protocol: u8,
    /// `RTNH_F_ONLINK`, or nothing.
    pub flags: u32,
    pub scope: u8,
    pub body: Body,
    /// When it was made, or joined its groups last: the kernel lists a
    /// nexthop's groups newest first.
    pub serial: u64,
}

impl Nexthop {
    /// As `nh_fill_node` writes it.
    pub fn repr(&self, id: u32) -> NexthopRepr {
        let mut r = NexthopRepr {
            header: NhMsg {
                family: self.family,
                scope: self.scope,
                protocol: self.protocol,
                resvd: 0,
                flags: self.flags,
            },
            id: Some(id),
            ..NexthopRepr::default()
        };
        match &self.body {
            Body::Single { oif, gateway } => {
                r.oif = Some(*oif);
                r.gateway = *gateway;
            }
            Body::Blackhole => r.blackhole = true,
            Body::Group(members) => {
                let mut list = GroupList::default();
                for m in members {
                    let _ = list.push(*m);
                }
                r.header = NhMsg {
                    protocol: self.protocol,
                    ..NhMsg::default()
                };
                r.group_type = Some(0);
                r.group = Some(list);
                r.op_flags = Some(NHA_OP_FLAG_RESP_GRP_RESVD_0);
            }
        }
        r
    }

    fn is_group(&self) -> bool {
        matches!(self.body, Body::Group(_))
    }

    fn members(&self) -> &[GroupMember] {
        match &self.body {
            Body::Group(m) => m,
            _ => &[],
        }
    }
}

/// The nexthop a request describes, before its checks against the stack.
fn from_request(req: &NexthopRepr) -> Nexthop {
    let body = if let Some(g) = &req.group {
        Body::Group(g.as_slice().to_vec())
    } else if req.blackhole {
        Body::Blackhole
    } else {
        Body::Single {
            oif: req.oif.unwrap_or(0),
            // An unspecified gateway is none (a link-only nexthop).
            gateway: req.gateway.filter(|g| !g.is_unspecified()),
        }
    };
    Nexthop {
        family: req.header.family,
        protocol: req.header.protocol,
        flags: req.header.flags,
        scope: RT_SCOPE_UNIVERSE,
        body,
        serial: 0,
    }
}

impl<D: DataPlane> MemStack<D> {
    /// Nexthop `id`, as a dump shows it.
    pub(crate) fn nexthop_repr(&self, id: u32) -> Option<NexthopRepr> {
        self.nexthops.get(&id).map(|n| n.repr(id))
    }

    /// `RTM_NEWNEXTHOP` (`rtm_new_nexthop` from its checks under RTNL on).
    pub(crate) fn nexthop_add(
        &mut self,
        req: &NexthopRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        if req.fdb {
            return Err(fail(EOPNOTSUPP, "nlq: FDB nexthops are not supported"));
        }
        if req.group_type.is_some_and(|t| t != 0) {
            return Err(fail(
                EOPNOTSUPP,
                "nlq: resilient nexthop groups are not supported",
            ));
        }
        let mut nh = from_request(req);
        let group = matches!(nh.body, Body::Group(_));
        if group {
            // `nh_check_attr_group_rtnl` runs before an id is looked for.
            self.check_nexthop(&mut nh)?;
        }
        // `nexthop_add` hands out an id before it makes the nexthop: a
        // nexthop that then fails its checks has used it up.
        let id = match req.id.unwrap_or(0) {
            0 => self.unused_nexthop_id()?,
            id => id,
        };
        if !group {
            self.check_nexthop(&mut nh)?;
        }
        let exists = id != 0 && self.nexthops.contains_key(&id);
        if exists && !flags.replace() {
            return Err(StackError::new(EEXIST));
        }
        if !exists && flags.replace() && !flags.create() {
            return Err(fail(
                ENOENT,
                "Replace specified without create and no entry exists",
            ));
        }
        if exists {
            return self.replace_nexthop(id, nh, events);
        }
        // One per nexthop made: a 64-bit count does not wrap.
        self.nh_serial = self.nh_serial.wrapping_add(1);
        nh.serial = self.nh_serial;
        events(Event::NewNexthop(&nh.repr(id)));
        self.nexthops.insert(id, nh);
        Ok(())
    }

    /// `nh_find_unused_id`: after the last id handed out, skipping those
    /// taken.
    fn unused_nexthop_id(&mut self) -> StackResult<u32> {
        for _ in 0..=self.nexthops.len() {
            self.nh_last_id = match self.nh_last_id.wrapping_add(1) {
                0 => 1,
                n => n,
            };
            if !self.nexthops.contains_key(&self.nh_last_id) {
                return Ok(self.nh_last_id);
            }
        }
        Err(fail(EINVAL, "No unused id"))
    }

    /// The checks of a new nexthop against the stack, in the kernel's
    /// order (`nh_check_attr_group_rtnl`, then `nexthop_create`), and its
    /// scope.
    fn check_nexthop(&self, nh: &mut Nexthop) -> StackResult<()> {
        match &nh.body {
            Body::Group(members) => {
                for m in members {
                    let member = self
                        .nexthops
                        .get(&m.id)
                        .ok_or(fail(EINVAL, "Invalid nexthop id"))?;
                    if member.is_group() {
                        return Err(fail(
                            EINVAL,
                            "Hash-threshold group can not be a nexthop within a group",
                        ));
                    }
                    if member.body == Body::Blackhole && members.len() > 1 {
                        return Err(fail(
                            EINVAL,
                            "Blackhole nexthop can not be used in a group with more than 1 path",
                        ));
                    }
                }
                nh.scope = RT_SCOPE_UNIVERSE;
                nh.flags = 0;
                Ok(())
            }
            Body::Blackhole => {
                if nh.family == AF_INET && nh.flags & u32::from(RTNH_F_ONLINK) != 0 {
                    return Err(fail(
                        EINVAL,
                        "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set",
                    ));
                }
                // A blackhole goes through `lo`, which must be up: IPv4
                // checks it as a link-only next hop (`fib_check_nh_nongw`),
                // IPv6 as the nexthop's device.
                let lo = self.links.get(&crate::link::LOOPBACK_INDEX);
                // IPv4 wants `lo`'s IPv4 device first (gone below 68 bytes).
                if nh.family == AF_INET && lo.is_none_or(|l| !l.inet4_dev) {
                    return Err(StackError::new(ENODEV));
                }
                let lo_up = lo.is_some_and(|l| l.is_up());
                if !lo_up {
                    return Err(fail(
                        ENETDOWN,
                        if nh.family == AF_INET {
                            "Device for nexthop is not up"
                        } else {
                            "Nexthop device is not up"
                        },
                    ));
                }
                nh.scope = RT_SCOPE_UNIVERSE;
                Ok(())
            }
            Body::Single { oif, gateway } => {
                let (oif, gateway) = (*oif, *gateway);
                let link = self
                    .links
                    .get(&oif)
                    .filter(|_| oif != 0)
                    .ok_or(fail(EINVAL, "Invalid device index"))?;
                if !link.is_up() {
                    return Err(fail(ENETDOWN, "Nexthop device is not up"));
                }
                if !link.carrier {
                    return Err(fail(ENETDOWN, "Carrier for nexthop device is down"));
                }
                let hop = Hop {
                    gateway,
                    oif,
                    flags: nh.flags,
                };
                if nh.family == AF_INET6 {
                    self.check_nh6(RTN_UNICAST, hop, 0)?;
                    nh.scope = RT_SCOPE_LINK;
                    return Ok(());
                }
                self.check_nh4(hop, RT_TABLE_MAIN, RT_SCOPE_UNIVERSE)?;
                nh.scope = match gateway {
                    None => RT_SCOPE_HOST,
                    Some(gw)
                        if nh.flags & u32::from(RTNH_F_ONLINK) == 0
                            && self.addr_type4(gw, RT_TABLE_LOCAL) == RTN_LOCAL =>
                    {
                        RT_SCOPE_HOST
                    }
                    Some(_) => RT_SCOPE_LINK,
                };
                Ok(())
            }
        }
    }

    /// The groups holding nexthop `id`, newest membership first.
    fn groups_of(&self, id: u32) -> Vec<u32> {
        let mut groups: Vec<(u64, u32)> = self
            .nexthops
            .iter()
            .filter(|(_, n)| n.members().iter().any(|m| m.id == id))
            .map(|(&g, n)| (n.serial, g))
            .collect();
        groups.sort_unstable_by(|a, b| b.cmp(a));
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// `replace_nexthop`: the checks of a replacement, then the routes
    /// through it follow, each notified (`nexthop_replace_notify`).
    fn replace_nexthop(
        &mut self,
        id: u32,
        mut new: Nexthop,
        events: Events<'_>,
    ) -> StackResult<()> {
        let Some(old) = self.nexthops.get(&id) else {
            return Err(StackError::new(ENOENT));
        };
        match (old.is_group(), new.is_group()) {
            (true, false) => {
                return Err(fail(
                    EINVAL,
                    "Can not replace a nexthop group with a nexthop.",
                ))
            }
            (false, true) => {
                return Err(fail(
                    EINVAL,
                    "Can not replace a nexthop with a nexthop group.",
                ))
            }
            _ => {}
        }
        let groups = self.groups_of(id);
        if new.body == Body::Blackhole
            && groups
                .iter()
                .any(|g| self.nexthops.get(g).is_some_and(|n| n.members().len() > 1))
        {
            return Err(fail(
                EINVAL,
                "Blackhole nexthop can not be a member of a group with more than one path",
            ));
        }
        let mut users = vec![id];
        users.extend(&groups);
        let v4_paths = match &new.body {
            Body::Group(m) => m.iter().any(|m| {
                self.nexthops
                    .get(&m.id)
                    .is_some_and(|x| x.family == AF_INET)
            }),
            _ => new.family == AF_INET,
        };
        if v4_paths && self.routes6.iter().any(|r| users.contains(&r.nh_id)) {
            return Err(fail(EINVAL, "IPv6 routes can not use an IPv4 nexthop"));
        }
        if new.is_group() {
            // A group keeps its protocol.
            new.protocol = old.protocol;
        }
        new.serial = old.serial;
        // The routes' scopes against what they would go through.
        let after = |n: u32| {
            if n == id {
                Some(&new)
            } else {
                self.nexthops.get(&n)
            }
        };
        for r in self.routes4.iter().filter(|r| users.contains(&r.nh_id)) {
            if let Some(nh) = after(r.nh_id) {
                check_route_scope(nh, after, r.scope)?;
            }
        }
        events(Event::NewNexthop(&new.repr(id)));
        self.nexthops.insert(id, new);
        // The routes through it, then through each group holding it.
        let listeners = self.listeners;
        for user in users {
            self.reexpand_routes(user, |r| {
                if listeners.hears_routes(r.family) {
                    events(Event::NewRoute(&Self::repr_of(r), NLM_F_REPLACE));
                }
            });
        }
        Ok(())
    }

    /// Expands anew the routes through nexthop `id`, in one walk of each
    /// family's list, each reported to `notify` (IPv4's in dump order,
    /// then IPv6's) and to the data plane.
    fn reexpand_routes(&mut self, id: u32, mut notify: impl FnMut(&Route)) {
        let nexthops = &self.nexthops;
        let mut changed: Vec<(Route, Route)> = Vec::new();
        for list in [&mut self.routes4, &mut self.routes6] {
            list.update_matching(
                |r| r.nh_id == id,
                |r| {
                    let old = r.clone();
                    expand(nexthops, r);
                    changed.push((old, r.clone()));
                },
            );
        }
        self.routes_changed(&changed);
        for (_, new) in &changed {
            notify(new);
        }
    }

    /// `RTM_DELNEXTHOP` of `id`.
    pub(crate) fn nexthop_del(&mut self, id: u32, events: Events<'_>) -> StackResult<()> {
        if !self.nexthops.contains_key(&id) {
            return Err(StackError::new(ENOENT));
        }
        self.remove_nexthop(id, true, events);
        Ok(())
    }

    /// `remove_nexthop`: it goes (told when `notify`: a request), its
    /// IPv6 routes go told, its IPv4 routes silently, and each group
    /// holding it loses it (told when `notify`), or goes with it when it
    /// was the last.
    fn remove_nexthop(&mut self, id: u32, notify: bool, events: Events<'_>) {
        let Some(nh) = self.nexthops.remove(&id) else {
            return;
        };
        if notify {
            events(Event::DelNexthop(&nh.repr(id)));
        }
        self.drop_routes_through(id, events);
        if nh.is_group() {
            return;
        }
        for g in self.groups_of(id) {
            let last = self
                .nexthops
                .get(&g)
                .is_some_and(|n| n.members().len() == 1);
            if last {
                self.remove_nexthop(g, notify, events);
                continue;
            }
            if let Some(Body::Group(m)) = self.nexthops.get_mut(&g).map(|n| &mut n.body) {
                m.retain(|m| m.id != id);
            }
            if notify {
                if let Some(r) = self.nexthop_repr(g) {
                    events(Event::NewNexthop(&r));
                }
            }
            self.reexpand_routes(g, |_| {});
        }
    }

    /// The routes through nexthop `id` go: IPv6's told, as
    /// `ip6_del_rt` tells in the kernel's compatibility mode; IPv4's
    /// silently (`fib_flush`).
    fn drop_routes_through(&mut self, id: u32, events: Events<'_>) {
        let removed4 = self.routes4.remove_matching(|r| r.nh_id == id);
        let removed6 = self.routes6.remove_matching(|r| r.nh_id == id);
        for r in removed4.iter().chain(&removed6) {
            self.route_gone(r);
        }
        for r in &removed6 {
            self.tell_del_route(events, r);
        }
    }

    /// `nexthop_flush_dev`: link `index` went down, lost its carrier or
    /// (`unregister`) goes: its nexthops go, untold (blackholes stay but
    /// for an unregister).
    pub(crate) fn nexthop_flush_dev(&mut self, index: u32, unregister: bool, events: Events<'_>) {
        let gone: Vec<u32> = self
            .nexthops
            .iter()
            .filter(|(_, n)| match n.body {
                Body::Single { oif, .. } => oif == index,
                Body::Blackhole => unregister && index == crate::link::LOOPBACK_INDEX,
                Body::Group(_) => false,
            })
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            self.remove_nexthop(id, false, events);
        }
    }

    /// A route naming nexthop `r.nh_id`: the checks of `fib_create_info`
    /// (IPv4) or `ip6_route_info_create` (IPv6) once the id is known to
    /// exist, then its next hops taken from the nexthop.
    pub(crate) fn route_through_nexthop(&self, r: &mut Route) -> StackResult<()> {
        let Some(nh) = self.nexthops.get(&r.nh_id) else {
            return Err(fail(EINVAL, "Nexthop id does not exist"));
        };
        if r.family == AF_INET6 {
            let v4 = match &nh.body {
                Body::Group(_) => paths_of(&self.nexthops, r.nh_id)
                    .iter()
                    .any(|(n, _)| n.family == AF_INET),
                _ => nh.family == AF_INET,
            };
            if v4 {
                return Err(fail(EINVAL, "IPv6 routes can not use an IPv4 nexthop"));
            }
        } else {
            check_route_scope(nh, |m| self.nexthops.get(&m), r.scope)?;
        }
        r.nh_route_type = r.route_type;
        expand(&self.nexthops, r);
        Ok(())
    }

    /// Every nexthop in id order, for [`crate::Tables`].
    pub(crate) fn nexthop_reprs(&self) -> Vec<NexthopRepr> {
        self.nexthops.iter().map(|(&id, n)| n.repr(id)).collect()
    }

    /// Restores nexthop `r` as saved (its checks made when it was added).
    pub(crate) fn restore_nexthop(&mut self, r: &NexthopRepr) -> StackResult<()> {
        let id =
            r.id.filter(|&id| id != 0)
                .ok_or(fail(EINVAL, "a nexthop without an id"))?;
        let mut nh = from_request(r);
        nh.scope = r.header.scope;
        if let Body::Group(members) = &nh.body {
            if members.iter().any(|m| !self.nexthops.contains_key(&m.id)) {
                return Err(fail(
                    EINVAL,
                    "a nexthop group with a member that is not there",
                ));
            }
        }
        // One per nexthop made: a 64-bit count does not wrap.
        self.nh_serial = self.nh_serial.wrapping_add(1);
        nh.serial = self.nh_serial;
        if self.nexthops.insert(id, nh).is_some() {
            return Err(fail(EINVAL, "two nexthops with one id"));
        }
        Ok(())
    }
}

/// `fib_check_nexthop`: an IPv4 route of `scope` may go through `nh`
/// (whose members `member` finds).
fn check_route_scope<'a>(
    nh: &'a Nexthop,
    member: impl Fn(u32) -> Option<&'a Nexthop>,
    scope: u8,
) -> StackResult<()> {
    if scope == RT_SCOPE_HOST && nh.is_group() {
        return Err(fail(
            EINVAL,
            "Route with host scope can not have multiple nexthops",
        ));
    }
    let singles: Vec<&Nexthop> = match &nh.body {
        Body::Group(m) => m.iter().filter_map(|m| member(m.id)).collect(),
        _ => vec![nh],
    };
    for n in singles {
        if let Body::Single {
            gateway: Some(_), ..
        } = n.body
        {
            if scope == RT_SCOPE_HOST {
                return Err(fail(EINVAL, "Route with host scope can not have a gateway"));
            }
        }
        if n.flags & u32::from(RTNH_F_ONLINK) != 0 && scope >= RT_SCOPE_LINK {
            return Err(fail(EINVAL, "Scope mismatch with nexthop"));
        }
    }
    Ok(())
}

/// Writes the next hops of `r`'s nexthop into it, as the kernel's
/// compatibility mode dumps them: IPv4 one path as a gateway and a
/// link, more as multipath; IPv6 any group as multipath; a blackhole
/// through `lo`, the route then a blackhole.
fn expand(table: &BTreeMap<u32, Nexthop>, r: &mut Route) {
    let Some(nh) = table.get(&r.nh_id) else {
        return;
    };
    let paths = paths_of(table, r.nh_id);
    let v6 = r.family == AF_INET6;
    let onlink = |n: &Nexthop| n.flags & u32::from(RTNH_F_ONLINK) != 0;
    let link_of = |n: &Nexthop| match n.body {
        Body::Single { oif, .. } => oif,
        _ => crate::link::LOOPBACK_INDEX,
    };
    let gateway_of = |n: &Nexthop| match n.body {
        Body::Single { gateway, .. } => gateway,
        _ => None,
    };
    let blackhole = paths.len() == 1 && paths.iter().all(|(n, _)| n.body == Body::Blackhole);
    r.route_type = if blackhole {
        RTN_BLACKHOLE
    } else {
        r.nh_route_type
    };
    r.flags &= !u32::from(RTNH_F_ONLINK);
    if paths.len() > 1 || (v6 && nh.is_group()) {
        let hops: Vec<NextHopRepr> = paths
            .iter()
            .map(|(n, w)| {
                let gw = gateway_of(n);
                let other = gw.is_some_and(|g| g.is_ipv6() != v6);
                NextHopRepr {
                    flags: if onlink(n) { RTNH_F_ONLINK } else { 0 },
                    // `rtnh_hops` is a byte: the kernel keeps the low one.
                    hops: (w.saturating_sub(1) & 0xff) as u8,
                    ifindex: link_of(n),
                    gateway: gw.filter(|_| !other),
                    via: gw.filter(|_| other),
                }
            })
            .collect();
        r.gateway = None;
        r.oif = 0;
        r.multipath = Some(hops.into_boxed_slice());
    } else if let Some((n, _)) = paths.first() {
        r.multipath = None;
        r.gateway = gateway_of(n);
        r.oif = link_of(n);
        if onlink(n) {
            r.flags |= u32::from(RTNH_F_ONLINK);
        }
    }
}

/// The single nexthops `id` stands for (itself, or a group's members),
/// each with its weight.
fn paths_of(table: &BTreeMap<u32, Nexthop>, id: u32) -> Vec<(&Nexthop, u32)> {
    match table.get(&id) {
        Some(n) if n.is_group() => n
            .members()
            .iter()
            .filter_map(|m| table.get(&m.id).map(|x| (x, m.weight)))
            .collect(),
        Some(n) => vec![(n, 1)],
        None => Vec::new(),
    }
}
