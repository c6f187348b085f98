//! The whole state of a [`MemStack`] as plain data, and a stack restored
//! exactly from it: what a persistent server (the nlq daemon's state
//! file) needs, since replaying requests cannot rebuild every history
//! (a route whose gateway became reachable only later, a kernel route the
//! user deleted or replaced).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use nlq::errno::EINVAL;
use nlq::stack::{StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, NeighRepr, NexthopRepr, RouteRepr, RuleRepr};

use crate::addr::Addr;
use crate::link::{valid_name, Kind, Link, IPV6_MIN_MTU};
use crate::route::Route;
use crate::route_list::RouteList;
use crate::{DataPlane, MemStack};

/// `IF_OPER_UP` / `IF_OPER_DOWN`: how [`Tables::links`] tells the carrier.
const CARRIER_ON: u8 = 6;
const CARRIER_OFF: u8 = 2;

/// Everything a [`MemStack`] holds, as [`MemStack::tables`] gives it and
/// [`MemStack::from_tables`] takes it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tables {
    /// Every link in index order, as a dump shows it except that
    /// `header.flags` holds only the flags the user controls (`IFF_UP`,
    /// ...) and `operstate` is `IF_OPER_UP` (6) when the link has carrier,
    /// `IF_OPER_DOWN` (2) when not. The kind is `info.kind` (no `info`:
    /// the loopback link).
    pub links: Vec<LinkRepr>,
    /// Every address, in the stack's order (by link; primaries, then
    /// secondaries), with `local`, `address` and `flags` all present.
    pub addrs: Vec<AddrRepr>,
    /// Every route, IPv4 then IPv6, each in dump order, as a dump shows
    /// it (kernel routes and nexthop flags included).
    pub routes: Vec<RouteRepr>,
    /// The last interface index handed out.
    pub last_index: u32,
    /// The seed of the next link's MAC address.
    pub mac_seed: u32,
    /// The `(family, table)` pairs that exist.
    pub route_tables: Vec<(u8, u32)>,
    /// Every policy rule, IPv4's then IPv6's, each in priority order, with
    /// the flags the user gave (not those a dump adds); `None`: the
    /// default rules (a state saved before rules were kept).
    pub rules: Option<Vec<RuleRepr>>,
    /// Every neighbour entry, IPv4's then IPv6's, by link and address, as
    /// a dump shows it (the link-layer address only in a valid state).
    pub neighs: Vec<NeighRepr>,
    /// Every nexthop object, by id, as a dump shows it.
    pub nexthops: Vec<NexthopRepr>,
    /// The last nexthop id handed out.
    pub last_nexthop_id: u32,
}

fn invalid(what: &'static str) -> StackError {
    StackError::with_message(EINVAL, what)
}

fn same_family(a: Option<IpAddr>, family: u8) -> bool {
    match a {
        None => true,
        Some(IpAddr::V4(_)) => family == AF_INET,
        Some(IpAddr::V6(_)) => family == AF_INET6,
    }
}

impl<D: DataPlane> MemStack<D> {
    /// The stack's whole state (see [`Tables`]).
    pub fn tables(&self) -> Tables {
        let links = self
            .links
            .values()
            .map(|l| {
                let mut r = l.repr();
                r.header.flags = l.flags;
                r.operstate = Some(if l.carrier { CARRIER_ON } else { CARRIER_OFF });
                r.stats = None;
                r.stats64 = None;
                r
            })
            .collect();
        let addrs = self
            .addrs
            .iter()
            .map(|a| {
                let mut r = a.repr();
                r.local = Some(a.local);
                r.address = Some(a.peer);
                r.flags = Some(a.flags);
                r.cache_info = None;
                r
            })
            .collect();
        let routes = self
            .routes4
            .iter()
            .chain(self.routes6.iter())
            .map(|r| {
                let mut repr = RouteRepr::default();
                r.fill(&mut repr);
                repr
            })
            .collect();
        Tables {
            links,
            addrs,
            routes,
            last_index: self.last_index,
            mac_seed: self.mac_seed,
            neighs: self.neighs_of(AF_UNSPEC).collect(),
            nexthops: self.nexthop_reprs(),
            last_nexthop_id: self.nh_last_id,
            route_tables: self.tables.iter().copied().collect(),
            rules: Some(
                [AF_INET, AF_INET6]
                    .iter()
                    .flat_map(|f| self.rules.rules(*f))
                    .copied()
                    .collect(),
            ),
        }
    }
}

impl MemStack {
    /// A stack holding exactly `tables`, checked: `EINVAL` (with a message
    /// saying what) for tables no history of this stack can produce in
    /// the ways checked here (duplicate or missing links, a name that is
    /// not one, an address or route on a link that does not exist,
    /// routes out of order, families that do not match).
    pub fn from_tables(t: &Tables) -> StackResult<MemStack> {
        let mut links = BTreeMap::new();
        let mut names = BTreeSet::new();
        for r in &t.links {
            let l = link_of(r)?;
            if !names.insert(l.name.as_str().to_owned()) {
                return Err(invalid("two links have the same name"));
            }
            if links.insert(l.index, l).is_some() {
                return Err(invalid("two links have the same index"));
            }
        }
        match links.get(&1) {
            Some(l) if l.kind == Kind::Loopback => {}
            _ => return Err(invalid("link 1 is not the loopback link")),
        }
        for l in links.values() {
            if l.kind == Kind::Veth
                && l.peer != 0
                && !links
                    .get(&l.peer)
                    .is_some_and(|p| p.kind == Kind::Veth && p.peer == l.index)
            {
                return Err(invalid("a veth's peer is not its pair"));
            }
            if l.vxlan
                .as_ref()
                .is_some_and(|c| c.lower != 0 && !links.contains_key(&c.lower))
            {
                return Err(invalid("a VXLAN link's lower link does not exist"));
            }
            if l.macvlan.as_ref().is_some_and(|c| {
                !links
                    .get(&c.lower)
                    .is_some_and(|x| x.index != l.index && x.macvlan.is_none())
            }) {
                return Err(invalid("a macvlan's lower link does not exist"));
            }
            if l.master != 0 && (l.master == l.index || !links.contains_key(&l.master)) {
                return Err(invalid("a link's master does not exist"));
            }
        }
        // A VXLAN link offloads what its lower link does.
        let tso: Vec<(u32, u32)> = links
            .values()
            .filter_map(|l| {
                let c = l.vxlan.as_ref()?;
                let lower = links.get(&c.lower).filter(|_| c.lower != 0);
                Some((
                    l.index,
                    lower
                        .and_then(|x| x.repr().details.tso_max_size)
                        .unwrap_or(65536),
                ))
            })
            .collect();
        for (i, t) in tso {
            if let Some(c) = links.get_mut(&i).and_then(|l| l.vxlan.as_mut()) {
                c.tso_max_size = t;
            }
        }
        // A macvlan offloads what its lower link does.
        let tso: Vec<(u32, u32)> = links
            .values()
            .filter_map(|l| {
                let c = l.macvlan.as_ref()?;
                let lower = links.get(&c.lower)?;
                Some((l.index, lower.repr().details.tso_max_size.unwrap_or(65536)))
            })
            .collect();
        for (i, t) in tso {
            if let Some(c) = links.get_mut(&i).and_then(|l| l.macvlan.as_mut()) {
                c.tso_max_size = t;
            }
        }
        let mut addrs = Vec::with_capacity(t.addrs.len());
        for r in &t.addrs {
            let a = addr_of(r)?;
            if !links.contains_key(&a.ifindex) {
                return Err(invalid("an address is on a link that does not exist"));
            }
            addrs.push(a);
        }
        let mut routes4 = Vec::new();
        let mut routes6 = Vec::new();
        for r in &t.routes {
            let route = route_of(r)?;
            let hops_exist = route
                .multipath
                .iter()
                .flat_map(|m| m.iter())
                .all(|h| links.contains_key(&h.ifindex));
            if (route.oif != 0 && !links.contains_key(&route.oif)) || !hops_exist {
                return Err(invalid("a route goes through a link that does not exist"));
            }
            if route.family == AF_INET {
                routes4.push(route);
            } else {
                routes6.push(route);
            }
        }
        for v in [&routes4, &routes6] {
            if v.windows(2)
                .any(|w| matches!(w, [a, b] if a.order() > b.order()))
            {
                return Err(invalid("routes are not in dump order"));
            }
        }
        let tables: BTreeSet<(u8, u32)> = t.route_tables.iter().copied().collect();
        if tables.iter().any(|(f, _)| *f != AF_INET && *f != AF_INET6) {
            return Err(invalid("a route table of an unknown family"));
        }
        if routes4
            .iter()
            .chain(&routes6)
            .any(|r| !tables.contains(&(r.family, r.table)))
        {
            return Err(invalid("a route is in a table that does not exist"));
        }
        let rules = match &t.rules {
            Some(rules) => nlq::rule_rules::RuleTable::from_rules(rules)?,
            None => nlq::rule_rules::RuleTable::default(),
        };
        let last_index = t.last_index.max(1);
        let mut subnets = crate::indexes::SubnetIndex::default();
        for a in &addrs {
            subnets.insert(a);
        }
        let mut sources = crate::indexes::SourceCount::default();
        for r in &routes4 {
            sources.note(&crate::Change::RouteAdded(crate::RouteRef(r)));
        }
        let neighs = t
            .neighs
            .iter()
            .map(|n| crate::neigh::restored(n, |i| links.contains_key(&i)))
            .collect::<StackResult<_>>()?;
        let mut s = MemStack {
            links,
            last_index,
            addrs,
            addr_index: Default::default(),
            subnets,
            sources,
            routes4: RouteList::from_vec(routes4),
            routes6: RouteList::from_vec(routes6),
            tables,
            rules,
            neighs,
            nexthops: BTreeMap::new(),
            nh_last_id: t.last_nexthop_id,
            nh_serial: 0,
            // Devices restored in index order.
            births: u64::from(last_index),
            generation: 0,
            mac_seed: t.mac_seed,
            stacked_pending: Vec::new(),
            dad_deferred: None,
            watch_deferred: None,
            listeners: nlq::stack::Listeners::ALL,
            plane: crate::ConfigOnly,
        };
        // Single nexthops first: a group may have a smaller id than its
        // members.
        let (groups, singles): (Vec<&NexthopRepr>, Vec<&NexthopRepr>) =
            t.nexthops.iter().partition(|n| n.group.is_some());
        for n in singles.into_iter().chain(groups) {
            let ok =
                n.group.is_some() || n.blackhole || n.oif.is_some_and(|i| s.links.contains_key(&i));
            if !ok {
                return Err(invalid("a nexthop on a link that does not exist"));
            }
            s.restore_nexthop(n)?;
        }
        s.restore_ports()?;
        let saved: Vec<(u32, u32)> = t
            .links
            .iter()
            .map(|l| (l.header.index, l.details.promiscuity.unwrap_or(0)))
            .collect();
        s.restore_rx_flags(&saved);
        let through = |r: &Route| r.nh_id == 0 || s.nexthops.contains_key(&r.nh_id);
        if !(s.routes4.iter().all(through) && s.routes6.iter().all(through)) {
            return Err(invalid("a route through a nexthop that does not exist"));
        }
        Ok(s)
    }
}

fn link_of(r: &LinkRepr) -> StackResult<Link> {
    let index = r.header.index;
    if index == 0 || index > i32::MAX as u32 {
        return Err(invalid("a link index out of range"));
    }
    let name = r.name.ok_or(invalid("a link without a name"))?;
    if !valid_name(name.as_str()) {
        return Err(invalid("a link name that is not valid"));
    }
    let kind = match r.info.as_ref().and_then(|i| i.kind) {
        None if r.header.hardware_type == ARPHRD_LOOPBACK && index == 1 => Kind::Loopback,
        // A data plane's device names no kind.
        None if r.header.hardware_type == ARPHRD_ETHER => Kind::Device,
        Some(k) => Kind::parse(k.as_str()).ok_or(invalid("a link of an unknown kind"))?,
        None => return Err(invalid("a link without a kind")),
    };
    let carrier = match r.operstate {
        Some(CARRIER_ON) => true,
        Some(CARRIER_OFF) => false,
        _ => return Err(invalid("a link's carrier is not given")),
    };
    let mut link = match kind {
        Kind::Loopback => Link::loopback(),
        _ => Link::new(kind, index, name, [0; 6]),
    };
    link.flags = r.header.flags;
    link.carrier = carrier;
    link.carrier_ups = r.details.carrier_up_count.unwrap_or(0);
    link.carrier_downs = r.details.carrier_down_count.unwrap_or(0);
    link.mtu = r.mtu.ok_or(invalid("a link without an MTU"))?;
    if kind == Kind::Device {
        link.max_mtu = r
            .details
            .max_mtu
            .filter(|m| *m >= link.mtu)
            .ok_or(invalid("a device link without its largest MTU"))?;
    }
    link.mac = r.address.unwrap_or_default();
    link.broadcast = r.broadcast.unwrap_or_default();
    link.txqlen = r.txqlen.unwrap_or(0);
    link.alias = r.alias;
    link.master = r.master.unwrap_or(0);
    link.group = r.group.unwrap_or(0);
    link.qdisc_attached = r.qdisc.is_some_and(|q| q.as_str() != "noop");
    link.inet4_dev = link.mtu >= 68;
    link.inet6_dev = link.mtu >= IPV6_MIN_MTU || kind == Kind::Loopback;
    link.mtu6 = link.mtu;
    if let Some(spec) = &r.af_spec {
        let conf = nlq::devconf::DevConf::from_af_spec(spec, kind == Kind::Loopback);
        link.inet6_flags = conf.inet6_flags;
        if conf.inet6 {
            link.mtu6 = conf.mtu6;
        }
        link.inet4_dev = conf.inet4;
        link.inet6_dev = conf.inet6;
        link.noarp6 = conf.noarp6;
    }
    if kind == Kind::Vxlan {
        let data = r.info.as_ref().and_then(|i| i.data);
        let conf = crate::vxlan::Vxlan::parse(data.as_ref().map_or(&[][..], |d| d.as_slice()))
            .map_err(|_| invalid("a VXLAN link's configuration does not parse"))?;
        link.vxlan = Some(Box::new(conf));
    }
    if kind == Kind::Macvlan {
        let data = r.info.as_ref().and_then(|i| i.data);
        let lower = r.link.ok_or(invalid("a macvlan without its lower link"))?;
        let conf =
            crate::macvlan::Macvlan::parse(data.as_ref().map_or(&[][..], |d| d.as_slice()), lower)
                .map_err(|_| invalid("a macvlan's configuration does not parse"))?;
        link.macvlan = Some(Box::new(conf));
        link.max_mtu = r.details.max_mtu.unwrap_or(65535);
        link.oper = if carrier {
            IF_OPER_UP
        } else {
            IF_OPER_LOWERLAYERDOWN
        };
    }
    link.uc_promisc = r.details.promiscuity.is_some_and(|p| p != 0);
    if kind == Kind::Veth {
        link.peer = r.link.unwrap_or(0);
        link.oper = match (carrier, link.peer) {
            (true, _) => IF_OPER_UP,
            (false, 0) => IF_OPER_DOWN,
            _ => IF_OPER_LOWERLAYERDOWN,
        };
    }
    link.mac_given = r
        .info
        .and_then(|i| i.data)
        .is_some_and(|d| crate::bridge::id_holds_mac(&d));
    if kind == Kind::Bridge {
        // The link watcher's state: never run on a bridge that has had
        // carrier from its start; a bridge with ports gets it below.
        link.oper = if carrier {
            IF_OPER_UNKNOWN
        } else {
            IF_OPER_DOWN
        };
    }
    if link.master != 0 {
        // A bridge port: its number as saved; the rest follows its bridge
        // (`MemStack::restore_ports`).
        let no = r
            .info
            .and_then(|i| i.slave_data)
            .and_then(|d| crate::bridge_port::saved_port_no(&d))
            .ok_or(invalid("a bridge port without its number"))?;
        link.port = Some(Box::new(crate::bridge_port::Port {
            no,
            state: crate::bridge_port::STATE_DISABLED,
            cost: 100,
            bridge_id: [0; 8],
            joined: u64::from(index),
        }));
        link.br_promisc = 1;
        link.allmulti = 1;
    }
    Ok(link)
}

fn addr_of(r: &AddrRepr) -> StackResult<Addr> {
    let family = r.header.family;
    let local = r
        .local
        .or(r.address)
        .ok_or(invalid("an address without IP"))?;
    let peer = r.address.unwrap_or(local);
    let max = if family == AF_INET { 32 } else { 128 };
    let ok = (family == AF_INET || family == AF_INET6)
        && same_family(Some(local), family)
        && same_family(Some(peer), family)
        && same_family(r.broadcast, family)
        && r.header.prefix_len <= max;
    if !ok {
        return Err(invalid("an address of mixed or unknown family"));
    }
    Ok(Addr {
        ifindex: r.header.index,
        prefix_len: r.header.prefix_len,
        local,
        peer,
        broadcast: r.broadcast,
        label: r.label,
        flags: r.flags.unwrap_or(u32::from(r.header.flags)),
        scope: r.header.scope,
        metric: r.priority.unwrap_or(0),
        proto: r.proto.unwrap_or(0),
    })
}

fn route_of(r: &RouteRepr) -> StackResult<Route> {
    let family = r.header.family;
    let max = if family == AF_INET { 32 } else { 128 };
    let ok = (family == AF_INET || family == AF_INET6)
        && same_family(r.dst, family)
        && same_family(r.prefsrc, family)
        && r.header.dst_len <= max
        && (r.dst.is_some() || r.header.dst_len == 0);
    if !ok {
        return Err(invalid("a route of mixed or unknown family"));
    }
    Ok(Route {
        family,
        table: r.table.unwrap_or(u32::from(r.header.table)),
        dst: r.dst,
        dst_len: r.header.dst_len,
        tos: r.header.tos,
        priority: r.priority.unwrap_or(0),
        protocol: r.header.protocol,
        scope: r.header.scope,
        route_type: r.header.route_type,
        flags: r.header.flags,
        prefsrc: r.prefsrc,
        gateway: r.gateway.or(r.via),
        oif: r.oif.unwrap_or(0),
        multipath: r
            .multipath
            .as_ref()
            .map(|m| m.as_slice().to_vec().into_boxed_slice()),
        metrics: r.metrics.map(Box::new),
        pref: r.pref.unwrap_or(0),
        nh_id: r.nh_id.unwrap_or(0),
        nh_route_type: r.header.route_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlinline::Shared;
    use nlq::stack::Stack;
    use std::ops::ControlFlow;

    fn dump(s: &MemStack) -> (Vec<LinkRepr>, Vec<AddrRepr>, Vec<RouteRepr>) {
        let mut l = Vec::new();
        let mut a = Vec::new();
        let mut r = Vec::new();
        s.links(0, &mut |x: &LinkRepr| {
            l.push(x.clone());
            ControlFlow::Continue(())
        })
        .unwrap();
        s.addrs(AF_UNSPEC, 0, &mut |x: &AddrRepr| {
            a.push(*x);
            ControlFlow::Continue(())
        })
        .unwrap();
        s.routes(AF_UNSPEC, 0, &mut |x: &RouteRepr| {
            r.push(x.clone());
            ControlFlow::Continue(())
        })
        .unwrap();
        (l, a, r)
    }

    fn configured() -> MemStack {
        use nlinline_free::*;
        let shared = Shared::new(MemStack::new());
        let c = shared.connect();
        for req in requests() {
            c.send(&req);
        }
        drop(c);
        shared.with(|s| s.stack().clone())
    }

    /// Requests built by hand (this crate does not depend on nlinline).
    mod nlinline_free {
        use nlq::wire::consts::*;
        use nlq::wire::{AddrRepr, LinkInfoRepr, LinkRepr, NexthopRepr, RouteRepr, Writer};

        fn msg(
            kind: u16,
            flags: u16,
            emit: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
        ) -> Vec<u8> {
            let mut w = Writer::new(Vec::new());
            w.message(kind, NLM_F_REQUEST | flags, 1, 0, emit).unwrap();
            w.into_inner()
        }

        pub fn requests() -> Vec<Vec<u8>> {
            let create = NLM_F_CREATE | NLM_F_EXCL;
            let mut out = Vec::new();
            let br = LinkRepr {
                name: nlq::wire::IfName::try_from_str("br0"),
                info: Some(LinkInfoRepr {
                    kind: nlq::wire::InlineStr::try_from_str("bridge"),
                    ..LinkInfoRepr::default()
                }),
                ..LinkRepr::default()
            };
            out.push(msg(RTM_NEWLINK, create, |w| br.emit(w)));
            for index in [1, 2] {
                let mut up = LinkRepr::default();
                up.header.index = index;
                up.header.flags = IFF_UP;
                up.header.change = IFF_UP;
                out.push(msg(RTM_NEWLINK, 0, |w| up.emit(w)));
            }
            let a = AddrRepr::new("192.0.2.1".parse().unwrap(), 24, 2);
            out.push(msg(RTM_NEWADDR, create, |w| a.emit(w)));
            let a6 = AddrRepr::new("2001:db8::1".parse().unwrap(), 64, 2);
            out.push(msg(RTM_NEWADDR, create, |w| a6.emit(w)));
            let mut r = RouteRepr::default();
            r.header.family = AF_INET;
            r.header.dst_len = 16;
            r.header.table = RT_TABLE_MAIN as u8;
            r.header.protocol = RTPROT_STATIC;
            r.header.route_type = RTN_UNICAST;
            r.dst = Some("10.1.0.0".parse().unwrap());
            r.gateway = Some("192.0.2.254".parse().unwrap());
            out.push(msg(RTM_NEWROUTE, create, |w| r.emit(w)));
            // Nexthops on `lo` (up, with carrier): a link, a local gateway,
            // a blackhole, a group; routes through the group and the
            // blackhole.
            let nh = |id: u32, oif: Option<u32>, gw: Option<&str>, blackhole: bool| {
                let mut n = NexthopRepr::default();
                n.header.family = AF_INET;
                n.id = Some(id);
                n.oif = oif;
                n.gateway = gw.map(|g| g.parse().unwrap());
                n.blackhole = blackhole;
                n
            };
            for n in [
                nh(5, Some(1), None, false),
                nh(9, Some(1), Some("127.0.0.2"), false),
                nh(6, None, None, true),
            ] {
                out.push(msg(RTM_NEWNEXTHOP, create, |w| n.emit(w)));
            }
            let mut g = NexthopRepr {
                id: Some(7),
                ..NexthopRepr::default()
            };
            let mut members = nlq::wire::GroupList::default();
            members
                .push(nlq::wire::GroupMember { id: 5, weight: 1 })
                .unwrap();
            members
                .push(nlq::wire::GroupMember { id: 9, weight: 3 })
                .unwrap();
            g.group = Some(members);
            out.push(msg(RTM_NEWNEXTHOP, create, |w| g.emit(w)));
            for (dst, id) in [("10.2.0.0", 7), ("10.3.0.0", 6)] {
                let mut r = r.clone();
                r.gateway = None;
                r.dst = Some(dst.parse().unwrap());
                r.nh_id = Some(id);
                out.push(msg(RTM_NEWROUTE, create, |w| r.emit(w)));
            }
            out
        }
    }

    #[test]
    fn a_stack_restored_from_its_tables_is_the_same() {
        let s = configured();
        let t = s.tables();
        assert!(
            t.links.len() == 2 && t.addrs.len() >= 4 && t.routes.len() >= 7,
            "{t:?}"
        );
        assert_eq!(t.nexthops.len(), 4, "{t:?}");
        assert!(t
            .routes
            .iter()
            .any(|r| r.nh_id == Some(7) && r.multipath.is_some()));
        let r = MemStack::from_tables(&t).unwrap();
        assert_eq!(dump(&s), dump(&r));
        assert_eq!(r.tables(), t);
        // Creating a link after the restore gives what it would have.
        let (mut a, mut b) = (s.clone(), r);
        let new = nlq::stack::NewLink {
            index: 0,
            name: None,
            kind: "dummy",
            info: None,
            change: Default::default(),
        };
        let i = a.add_link(&new, &mut |_| {}).unwrap();
        let j = b.add_link(&new, &mut |_| {}).unwrap();
        assert_eq!(i, j);
        assert_eq!(dump(&a), dump(&b));
    }

    #[test]
    fn inconsistent_tables_are_refused() {
        let t = configured().tables();
        let mut bad = t.clone();
        bad.links.remove(1);
        assert!(
            MemStack::from_tables(&bad).is_err(),
            "address on a missing link"
        );
        let mut bad = t.clone();
        bad.routes.swap(0, 1);
        assert!(MemStack::from_tables(&bad).is_err(), "out of order");
        let mut bad = t.clone();
        bad.links[1].name = nlq::wire::IfName::try_from_str("lo");
        assert!(MemStack::from_tables(&bad).is_err(), "same name");
        let mut bad = t.clone();
        bad.route_tables.clear();
        assert!(MemStack::from_tables(&bad).is_err(), "no table");
        let mut bad = t.clone();
        bad.nexthops.retain(|n| n.id != Some(6));
        assert!(MemStack::from_tables(&bad).is_err(), "missing nexthop");
        let mut bad = t;
        if let Some(r) = bad.routes.iter_mut().find(|r| r.oif.is_some()) {
            r.oif = Some(99);
        }
        assert!(MemStack::from_tables(&bad).is_err(), "missing oif");
    }
}
