//! Addresses: IPv4 as `devinet.c` keeps them (primaries, secondaries,
//! labels, the routes `fib_add_ifaddr` derives), IPv6 as `addrconf.c` does
//! (prefix and local routes, gone when the link goes down).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::errno::*;
use nlq::prefix::{eui64_link_local, mask4, mask6};
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrCacheInfo, AddrRepr, IfAddrMsg, IfName};

use crate::link::Kind;
use crate::route::{Route, RoutesAt};
use crate::{DataPlane, MemStack};

const INFINITY_LIFE: u32 = u32::MAX;

/// The IPv6 address flags a request may set.
const IFA6_SETTABLE: u32 = IFA_F_NODAD
    | IFA_F_HOMEADDRESS
    | IFA_F_MANAGETEMPADDR
    | IFA_F_NOPREFIXROUTE
    | IFA_F_MCAUTOJOIN
    | IFA_F_OPTIMISTIC;

/// One address.
#[derive(Debug, Clone)]
pub(crate) struct Addr {
    pub ifindex: u32,
    pub prefix_len: u8,
    pub local: IpAddr,
    /// `IFA_ADDRESS`: the peer, or the local address again.
    pub peer: IpAddr,
    pub broadcast: Option<IpAddr>,
    pub label: Option<IfName>,
    pub flags: u32,
    pub scope: u8,
    /// `IFA_RT_PRIORITY`: the metric of its prefix route (0: none given).
    pub metric: u32,
    /// `IFA_PROTO`: who added it (0: not said).
    pub proto: u8,
}

/// `IFAPROT_KERNEL_LO`: `::1`, added when `lo` comes up.
const IFAPROT_KERNEL_LO: u8 = 1;
/// `IFAPROT_KERNEL_LL`: a link-local address the kernel made.
const IFAPROT_KERNEL_LL: u8 = 3;

impl Addr {
    /// An address the stack gives itself (127.0.0.1, ::1, link-local):
    /// permanent, no peer, no broadcast.
    fn automatic(
        ifindex: u32,
        ip: IpAddr,
        prefix_len: u8,
        scope: u8,
        label: Option<IfName>,
    ) -> Addr {
        Addr {
            ifindex,
            prefix_len,
            local: ip,
            peer: ip,
            broadcast: None,
            label,
            flags: IFA_F_PERMANENT,
            scope,
            metric: 0,
            proto: match ip {
                IpAddr::V6(a) if a.is_loopback() => IFAPROT_KERNEL_LO,
                IpAddr::V6(_) => IFAPROT_KERNEL_LL,
                IpAddr::V4(_) => 0,
            },
        }
    }

    pub fn family(&self) -> u8 {
        if self.local.is_ipv4() {
            AF_INET
        } else {
            AF_INET6
        }
    }

    pub fn repr(&self) -> AddrRepr {
        let v4 = self.local.is_ipv4();
        AddrRepr {
            header: IfAddrMsg {
                family: self.family(),
                prefix_len: self.prefix_len,
                flags: self.flags as u8,
                scope: self.scope,
                index: self.ifindex,
            },
            address: Some(self.peer),
            local: (v4 || self.peer != self.local).then_some(self.local),
            label: self.label,
            broadcast: self.broadcast,
            anycast: None,
            cache_info: Some(AddrCacheInfo {
                preferred: INFINITY_LIFE,
                valid: INFINITY_LIFE,
                created: 0,
                updated: 0,
            }),
            flags: Some(self.flags),
            priority: (self.metric != 0).then_some(self.metric),
            proto: (self.proto != 0).then_some(self.proto),
        }
    }
}

fn v4(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(_) => 0,
    }
}

/// `inet_ifa_match`: `a` lies in the subnet of `ifa`.
fn in_subnet(a: &IpAddr, ifa: &Addr) -> bool {
    (v4(a) ^ v4(&ifa.peer)) & mask4(ifa.prefix_len) == 0
}

fn prefix6(a: &Ipv6Addr, len: u8) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(*a) & mask6(len))
}

/// The scope IPv6 gives an address by its type.
fn scope6(a: &Ipv6Addr) -> u8 {
    if a.is_loopback() {
        RT_SCOPE_HOST
    } else if a.is_unicast_link_local() {
        RT_SCOPE_LINK
    } else {
        RT_SCOPE_UNIVERSE
    }
}

impl<D: DataPlane> MemStack<D> {
    fn v4_addrs(&self, index: u32) -> impl Iterator<Item = &Addr> {
        self.addrs
            .iter()
            .filter(move |a| a.ifindex == index && a.local.is_ipv4())
    }

    /// Inserts keeping the list ordered by link. IPv4 as
    /// `__inet_insert_ifa`: a primary after the last primary of the same
    /// or a narrower scope (so host and link scope before global, and
    /// first when there is none), a secondary at the end. IPv6: by scope
    /// (global first), newest first within a scope.
    fn insert_addr(&mut self, a: Addr) {
        let same = |x: &Addr| x.ifindex == a.ifindex && x.family() == a.family();
        let pos = if a.local.is_ipv4() {
            if a.flags & IFA_F_SECONDARY == 0 {
                self.addrs
                    .iter()
                    .rposition(|x| same(x) && x.flags & IFA_F_SECONDARY == 0 && a.scope <= x.scope)
                    .map(|p| p.saturating_add(1))
                    .or_else(|| self.addrs.iter().position(same))
            } else {
                self.addrs
                    .iter()
                    .rposition(same)
                    .map(|p| p.saturating_add(1))
            }
        } else {
            // `ipv6_link_dev_addr` sorts by source scope, where `::1`
            // counts as link-local.
            let scope = |x: &Addr| match x.scope {
                RT_SCOPE_UNIVERSE => 0,
                RT_SCOPE_HOST => u16::from(RT_SCOPE_LINK),
                s => u16::from(s),
            };
            self.addrs
                .iter()
                .position(|x| same(x) && scope(x) >= scope(&a))
                .or_else(|| {
                    self.addrs
                        .iter()
                        .rposition(same)
                        .map(|p| p.saturating_add(1))
                })
        };
        let pos = pos.unwrap_or_else(|| {
            self.addrs
                .iter()
                .position(|x| {
                    x.ifindex > a.ifindex || (x.ifindex == a.ifindex && x.family() > a.family())
                })
                .unwrap_or(self.addrs.len())
        });
        self.addr_insert(pos, a);
    }

    pub(crate) fn addr_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.link_ref(req.header.index)?;
        match req.header.family {
            AF_INET => self.addr4_add(req, flags, events),
            _ => self.addr6_add(req, flags, events),
        }
    }

    fn addr4_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let index = req.header.index;
        if !self.link_ref(index)?.inet4_dev {
            // IPv4 left the link with its MTU: no in_device
            // (`rtm_to_ifaddr`).
            return Err(StackError::new(ENOBUFS));
        }
        let local = req.local.ok_or(StackError::new(EINVAL))?;
        let peer = req.address.unwrap_or(local);
        let mut new = Addr {
            ifindex: index,
            prefix_len: req.header.prefix_len,
            local,
            peer,
            broadcast: req.broadcast.filter(IpAddr::is_ipv4),
            label: Some(req.label.unwrap_or(self.link_ref(index)?.name)),
            flags: (req.flags.unwrap_or(u32::from(req.header.flags)) & !IFA_F_SECONDARY)
                | IFA_F_PERMANENT,
            scope: req.header.scope,
            metric: req.priority.unwrap_or(0),
            proto: req.proto.unwrap_or(0),
        };
        // find_matching_ifa: the same subnet, mask and local address.
        let beside = self.subnets.beside(&new);
        let matching = beside.iter().any(|(l, _)| *l == local).then(|| {
            self.addrs.iter().position(|a| {
                a.ifindex == index
                    && a.local.is_ipv4()
                    && a.prefix_len == new.prefix_len
                    && in_subnet(&a.peer, &new)
                    && a.local == local
            })
        });
        if let Some(pos) = matching.flatten() {
            if flags.excl() || !flags.replace() {
                return Err(StackError::with_message(
                    EEXIST,
                    "ipv4: Address already assigned",
                ));
            }
            // Found just above: it is there.
            let old = self
                .addrs
                .get(pos)
                .cloned()
                .ok_or(StackError::new(EADDRNOTAVAIL))?;
            if old.metric != new.metric {
                // `fib_modify_prefix_metric`: the prefix route with the new
                // metric comes, then the old one goes.
                self.modify_prefix_metric(&old, new.metric, events);
            }
            // The flags stay (`inet_rtm_newaddr` replaces metric, protocol
            // and lifetimes only).
            let changed = self.addr_update(pos, |a| {
                a.metric = new.metric;
                a.proto = new.proto;
            });
            if let Some(a) = changed {
                self.tell_addr(events, &a, true);
            }
            return Ok(());
        }
        // __inet_insert_ifa: a second address in a subnet is secondary.
        // (The table order decides which error comes first: the subnet's
        // addresses in table order.)
        if !beside.is_empty() {
            for a in self.v4_addrs(index) {
                if a.prefix_len == new.prefix_len && in_subnet(&a.peer, &new) {
                    if a.local == local {
                        return Err(StackError::with_message(
                            EEXIST,
                            "ipv4: Address already assigned",
                        ));
                    }
                    if a.scope != new.scope {
                        return Err(StackError::with_message(
                            EINVAL,
                            "ipv4: Invalid scope value",
                        ));
                    }
                    new.flags |= IFA_F_SECONDARY;
                }
            }
        }
        D::admit_addr(self, req)?;
        self.insert_addr(new.clone());
        self.tell_addr(events, &new, true);
        self.fib_add_ifaddr(&new, events);
        Ok(())
    }

    /// `fib_modify_prefix_metric`: a primary's prefix route on an up link
    /// is replaced by one with `metric` (added first, then the old one
    /// deleted).
    fn modify_prefix_metric(&mut self, a: &Addr, metric: u32, events: Events<'_>) {
        let up = self.link_ref(a.ifindex).is_ok_and(|l| l.is_up());
        let lo = self
            .link_ref(a.ifindex)
            .is_ok_and(|l| l.kind == Kind::Loopback);
        let prefix = v4(&a.peer) & mask4(a.prefix_len);
        if !up
            || a.flags & (IFA_F_SECONDARY | IFA_F_NOPREFIXROUTE) != 0
            || prefix == 0
            || (prefix == v4(&a.local) && a.prefix_len == 32)
        {
            return;
        }
        let dst = IpAddr::V4(Ipv4Addr::from(prefix));
        // On a loopback link the prefix route is local, as
        // `fib_add_ifaddr` made it.
        let (table, kind, scope) = if lo {
            (RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST)
        } else {
            (RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK)
        };
        let mut r = Route::kernel(
            table,
            dst,
            a.prefix_len,
            kind,
            scope,
            a.ifindex,
            Some(a.local),
        );
        r.priority = metric;
        self.add_kernel_route(r, events);
        let (index, len, old) = (a.ifindex, a.prefix_len, a.metric);
        self.del_kernel_routes(
            AF_INET,
            RoutesAt::Prefixes(&[(dst, len)]),
            |r| {
                r.family == AF_INET
                    && r.table == table
                    && r.route_type == kind
                    && r.protocol == RTPROT_KERNEL
                    && r.oif == index
                    && r.dst == Some(dst)
                    && r.dst_len == len
                    && r.priority == old
            },
            true,
            events,
        );
    }

    /// The primary address a secondary depends on (itself for a primary).
    fn primary_of(&self, a: &Addr) -> IpAddr {
        if a.flags & IFA_F_SECONDARY == 0 {
            return a.local;
        }
        self.v4_addrs(a.ifindex)
            .find(|p| {
                p.flags & IFA_F_SECONDARY == 0
                    && p.prefix_len == a.prefix_len
                    && in_subnet(&a.peer, p)
            })
            .map_or(a.local, |p| p.local)
    }

    /// Reports `a` as added or changed (`present`) or removed, its repr
    /// built only if someone hears its family's address group.
    fn tell_addr(&self, events: Events<'_>, a: &Addr, present: bool) {
        let family = if a.local.is_ipv4() { AF_INET } else { AF_INET6 };
        if !self.listeners.hears_addrs(family) {
            return;
        }
        let repr = a.repr();
        events(if present {
            Event::NewAddr(&repr)
        } else {
            Event::DelAddr(&repr)
        });
    }

    /// The routes an IPv4 address brings (`fib_add_ifaddr`): its local
    /// route always; while the link is up, its broadcast and (for a
    /// primary) prefix and subnet broadcast routes. A secondary's routes
    /// take the primary as source.
    fn fib_add_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let Ok(link) = self.link_ref(a.ifindex) else {
            return;
        };
        let (up, lo) = (link.is_up(), link.kind == Kind::Loopback);
        let src = Some(self.primary_of(a));
        let local = Route::kernel(
            RT_TABLE_LOCAL,
            a.local,
            32,
            RTN_LOCAL,
            RT_SCOPE_HOST,
            a.ifindex,
            src,
        );
        self.add_kernel_route(local, events);
        if !up {
            return;
        }
        if let Some(b) = a.broadcast.filter(|b| v4(b) != u32::MAX) {
            self.add_broadcast_route(b, a.ifindex, src, events);
        }
        let prefix = v4(&a.peer) & mask4(a.prefix_len);
        if prefix != 0
            && a.flags & IFA_F_SECONDARY == 0
            && (prefix != v4(&a.local) || a.prefix_len < 32)
        {
            if a.flags & IFA_F_NOPREFIXROUTE == 0 {
                let (table, kind, scope) = if lo {
                    (RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST)
                } else {
                    (RT_TABLE_MAIN, RTN_UNICAST, RT_SCOPE_LINK)
                };
                let dst = IpAddr::V4(Ipv4Addr::from(prefix));
                let mut r = Route::kernel(table, dst, a.prefix_len, kind, scope, a.ifindex, src);
                r.priority = a.metric;
                self.add_kernel_route(r, events);
            }
            if a.prefix_len < 31 {
                let b = IpAddr::V4(Ipv4Addr::from(prefix | !mask4(a.prefix_len)));
                self.add_broadcast_route(b, a.ifindex, src, events);
            }
        }
    }

    /// `broadcast B dev LINK table local scope link`, then B's neighbour
    /// entry invalidated (`arp_invalidate`).
    fn add_broadcast_route(
        &mut self,
        b: IpAddr,
        ifindex: u32,
        src: Option<IpAddr>,
        events: Events<'_>,
    ) {
        let r = Route::kernel(
            RT_TABLE_LOCAL,
            b,
            32,
            RTN_BROADCAST,
            RT_SCOPE_LINK,
            ifindex,
            src,
        );
        self.add_kernel_route(r, events);
        self.arp_invalidate(ifindex, b, events);
    }

    /// `NETDEV_UP` for IPv4: every address of the link gets its routes.
    pub(crate) fn ipv4_routes_up(&mut self, index: u32, events: Events<'_>) {
        let addrs: Vec<Addr> = self.v4_addrs(index).cloned().collect();
        for a in &addrs {
            self.fib_add_ifaddr(a, events);
        }
    }

    /// `lo` going up gets 127.0.0.1/8 (if it has no such address yet).
    pub(crate) fn loopback_v4_up(&mut self, index: u32, events: Events<'_>) {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        if self.v4_addrs(index).any(|a| a.local == lo)
            || self.link_ref(index).is_ok_and(|l| !l.inet4_dev)
        {
            return;
        }
        let label = self.link_ref(index).ok().map(|l| l.name);
        let mut a = Addr::automatic(index, lo, 8, RT_SCOPE_HOST, label);
        // `__inet_insert_ifa`: an address of the same subnet and scope
        // makes it a secondary; one of another scope keeps it out.
        let same_subnet = self
            .v4_addrs(index)
            .find(|o| o.prefix_len == 8 && in_subnet(&o.peer, &a))
            .map(|o| o.scope);
        if let Some(scope) = same_subnet {
            if scope != a.scope {
                return;
            }
            a.flags |= IFA_F_SECONDARY;
        }
        self.insert_addr(a.clone());
        self.tell_addr(events, &a, true);
        // The link is up: its routes come at once (`fib_inetaddr_event`),
        // before those of the link's other addresses.
        self.fib_add_ifaddr(&a, events);
    }

    /// `inetdev_changename`: the link's first IPv4 address takes the new
    /// name as its label; each later one the new name with its old
    /// `:alias` suffix, or `:N` (its position, from 2) when it had none;
    /// each is notified.
    pub(crate) fn relabel(&mut self, index: u32, new: &IfName, events: Events<'_>) {
        let mut named = 0usize;
        for pos in 0..self.addrs.len() {
            let ours = |a: &Addr| a.local.is_ipv4() && a.ifindex == index;
            if !self.addrs.get(pos).is_some_and(ours) {
                continue;
            }
            named = named.saturating_add(1);
            let label = |a: &mut Addr| {
                a.label = Some(nlq::addr_rules::renamed_label(new, a.label.as_ref(), named));
            };
            if let Some(a) = self.addr_update(pos, label) {
                self.tell_addr(events, &a, true);
            }
        }
    }

    pub(crate) fn addr_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.link_ref(req.header.index)?;
        match req.header.family {
            AF_INET => self.addr4_del(req, events),
            _ => self.addr6_del(req, events),
        }
    }

    /// `inet_rtm_deladdr`: the first address matching what the request
    /// names (local, label, and subnet when `IFA_ADDRESS` is given).
    fn addr4_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let index = req.header.index;
        if !self.link_ref(index)?.inet4_dev {
            return Err(StackError::with_message(ENODEV, "ipv4: Device not found"));
        }
        let pos = self
            .addrs
            .iter()
            .position(|a| {
                a.ifindex == index
                    && a.local.is_ipv4()
                    && req.local.is_none_or(|l| l == a.local)
                    && req.label.is_none_or(|l| Some(l) == a.label)
                    && req
                        .address
                        .is_none_or(|p| req.header.prefix_len == a.prefix_len && in_subnet(&p, a))
            })
            .ok_or(StackError::with_message(
                EADDRNOTAVAIL,
                "ipv4: Address not found",
            ))?;
        self.del_ifa4(pos, events);
        Ok(())
    }

    /// `__inet_del_ifa` without promotion: deleting a primary deletes the
    /// secondaries of its subnet first.
    fn del_ifa4(&mut self, pos: usize, events: Events<'_>) {
        let Some(a) = self.addrs.get(pos).cloned() else {
            return;
        };
        if a.flags & IFA_F_SECONDARY == 0 {
            while let Some(p) = self.addrs.iter().position(|s| {
                s.ifindex == a.ifindex
                    && s.local.is_ipv4()
                    && s.flags & IFA_F_SECONDARY != 0
                    && s.prefix_len == a.prefix_len
                    && in_subnet(&s.peer, &a)
            }) {
                let s = self.addr_remove(p);
                self.tell_addr(events, &s, false);
                self.fib_del_ifaddr(&s, events);
                self.fib_forget_source(s.local, events);
            }
        }
        if let Some(p) = self.addrs.iter().position(|x| {
            x.ifindex == a.ifindex && x.local == a.local && x.prefix_len == a.prefix_len
        }) {
            self.addr_remove(p);
        }
        self.tell_addr(events, &a, false);
        self.fib_del_ifaddr(&a, events);
        self.fib_forget_source(a.local, events);
        if self.v4_addrs(a.ifindex).next().is_none() {
            // `fib_disable_ip`: the link's last IPv4 address is gone, and
            // so is every IPv4 route through it, in every table, silently,
            // then every ARP entry of the link (`arp_ifdown`).
            self.flush_link_routes(AF_INET, a.ifindex, true, events);
            self.neigh_flush(AF_INET, a.ifindex, false, events);
        }
    }

    /// `fib_sync_down_addr` then `fib_flush`: once `local` is no address
    /// of this host, the main table's routes that named it as preferred
    /// source go, each notified, in the order the flush walks the table
    /// (highest destination first, longest prefix first).
    fn fib_forget_source(&mut self, local: IpAddr, events: Events<'_>) {
        if !self.sources.used(local) || self.addrs.iter().any(|x| x.local == local) {
            return;
        }
        let mut gone = Vec::new();
        // From the end, so that positions still to visit stay valid.
        for i in (0..self.routes4.len()).rev() {
            let named = |r: &Route| r.table == RT_TABLE_MAIN && r.prefsrc == Some(local);
            if self.routes4.get(i).is_some_and(named) {
                gone.extend(self.remove_route(AF_INET, i));
            }
        }
        gone.reverse();
        // A stable sort: entries of one prefix keep their order.
        gone.sort_by_key(|r| std::cmp::Reverse((r.dst.map_or(0, |d| v4(&d)), r.dst_len)));
        for r in &gone {
            self.tell_del_route(events, r);
        }
    }

    /// The routes an IPv4 address brought go with it, notified: a
    /// primary's prefix and broadcast routes, then its local route unless
    /// another address of the link with the same local address and the
    /// same primary still needs it.
    fn fib_del_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let index = a.ifindex;
        let local = a.local;
        let primary = a.flags & IFA_F_SECONDARY == 0;
        let prefix = IpAddr::V4(Ipv4Addr::from(v4(&a.peer) & mask4(a.prefix_len)));
        let subnet_brd = IpAddr::V4(Ipv4Addr::from(v4(&prefix) | !mask4(a.prefix_len)));
        let plen = a.prefix_len;
        let brd = a.broadcast;
        let kernel =
            |r: &Route| r.family == AF_INET && r.protocol == RTPROT_KERNEL && r.oif == index;
        if primary {
            self.prefix_route_table(a);
            self.del_kernel_routes(
                AF_INET,
                RoutesAt::Prefixes(&[(prefix, plen)]),
                |r| {
                    kernel(r)
                        && r.dst == Some(prefix)
                        && r.dst_len == plen
                        && r.route_type != RTN_BROADCAST
                        && !(r.route_type == RTN_LOCAL && plen == 32)
                },
                true,
                events,
            );
            let other_primary = self.v4_addrs(index).any(|o| {
                o.flags & IFA_F_SECONDARY == 0 && o.prefix_len == plen && in_subnet(&o.peer, a)
            });
            if !other_primary {
                let mut at = vec![(subnet_brd, 32)];
                at.extend(brd.map(|b| (b, 32)));
                self.del_kernel_routes(
                    AF_INET,
                    RoutesAt::Prefixes(&at),
                    |r| {
                        kernel(r)
                            && r.dst_len == 32
                            && r.route_type == RTN_BROADCAST
                            && (r.dst == Some(subnet_brd) || (brd.is_some() && r.dst == brd))
                    },
                    true,
                    events,
                );
            }
        }
        // The local route of this address and primary goes unless another
        // address with the same local address and the same primary still
        // needs it (`LOCAL_OK`).
        let prim = self.primary_of(a);
        if !self
            .v4_addrs(index)
            .any(|o| o.local == local && self.primary_of(o) == prim)
        {
            self.del_kernel_routes(
                AF_INET,
                RoutesAt::Prefixes(&[(local, 32)]),
                |r| {
                    kernel(r)
                        && r.route_type == RTN_LOCAL
                        && r.dst == Some(local)
                        && r.dst_len == 32
                        && r.prefsrc == Some(prim)
                },
                true,
                events,
            );
        }
    }

    /// IPv4 leaves the link (`inetdev_destroy`): every address goes, in
    /// list order, with no promotion. When the link is being unregistered,
    /// only each primary's local route is notified (the rest go silently
    /// with the link); otherwise (an MTU below 68) each primary takes its
    /// routes with it, notified, a secondary finds its primary gone and
    /// takes nothing, and what is left through the link goes silently
    /// (`fib_disable_ip`).
    /// `fib_magic` deletes a primary address's prefix route whether it is
    /// there or not, and makes its table first (main, or local for `lo`):
    /// the table exists from then on.
    fn prefix_route_table(&mut self, a: &Addr) {
        let prefix = IpAddr::V4(Ipv4Addr::from(v4(&a.peer) & mask4(a.prefix_len)));
        let deletes = !prefix.is_unspecified()
            && (prefix != a.local || a.prefix_len < 32)
            && a.flags & IFA_F_NOPREFIXROUTE == 0;
        if deletes {
            let lo = self
                .links
                .get(&a.ifindex)
                .is_some_and(|l| l.kind == Kind::Loopback);
            self.create_table(AF_INET, if lo { RT_TABLE_LOCAL } else { RT_TABLE_MAIN });
        }
    }

    pub(crate) fn ipv4_forget(&mut self, index: u32, unregister: bool, events: Events<'_>) {
        if !unregister {
            let mut had_any = false;
            while let Some(pos) = self
                .addrs
                .iter()
                .position(|a| a.ifindex == index && a.local.is_ipv4())
            {
                had_any = true;
                let a = self.addr_remove(pos);
                self.tell_addr(events, &a, false);
                if a.flags & IFA_F_SECONDARY == 0 {
                    self.fib_del_ifaddr(&a, events);
                    self.fib_forget_source(a.local, events);
                }
            }
            // The last address going takes the rest (none: nothing goes),
            // and the link's ARP entries (`fib_disable_ip`).
            if had_any {
                self.flush_link_routes(AF_INET, index, true, events);
                self.neigh_flush(AF_INET, index, false, events);
            }
            return;
        }
        let gone = self.addr_remove_where(|a| a.ifindex == index && a.local.is_ipv4());
        for a in &gone {
            self.tell_addr(events, a, false);
            if a.flags & IFA_F_SECONDARY == 0 {
                self.prefix_route_table(a);
                let local = a.local;
                self.del_kernel_routes(
                    AF_INET,
                    RoutesAt::Prefixes(&[(local, 32)]),
                    |r| {
                        r.family == AF_INET
                            && r.route_type == RTN_LOCAL
                            && r.oif == index
                            && r.dst == Some(local)
                            && r.dst_len == 32
                    },
                    true,
                    events,
                );
                // `fib_del_ifaddr`'s end: the routes preferring it go.
                self.fib_forget_source(local, events);
            }
        }
        if !gone.is_empty() {
            // The last address's `fib_disable_ip`.
            self.neigh_flush(AF_INET, index, false, events);
        }
    }

    fn addr6_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let index = req.header.index;
        let link = self.link_ref(index)?;
        let (lo, noarp, up) = (
            link.kind == Kind::Loopback,
            link.flags & IFF_NOARP != 0,
            link.is_up(),
        );
        let pfx = match req.local.or(req.address) {
            Some(IpAddr::V6(a)) => a,
            _ => return Err(StackError::new(EINVAL)),
        };
        if !self.inet6(index) {
            return Err(StackError::new(EINVAL));
        }
        let ip = IpAddr::V6(pfx);
        let valid = !(pfx.is_unspecified() || pfx.is_multicast() || (pfx.is_loopback() && !lo));
        if valid
            && !self
                .addrs
                .iter()
                .any(|a| a.ifindex == index && a.local == ip)
        {
            // What the plane cannot hold is refused before anything
            // changes (the multicast route below included).
            D::admit_addr(self, req)?;
        }
        // addrconf_add_dev: the link's multicast route comes first, even
        // when the address is then refused; on a link that is down the
        // route is refused ("Nexthop device is not up") and nothing comes.
        if !lo && up {
            self.add_mroute6(index, events);
        }
        let asked = req.flags.unwrap_or(u32::from(req.header.flags)) & IFA6_SETTABLE;
        if pfx.is_unspecified() || pfx.is_multicast() {
            return Err(StackError::new(EADDRNOTAVAIL));
        }
        if pfx.is_loopback() && !lo {
            return Err(StackError::with_message(
                EADDRNOTAVAIL,
                "ipv6: Cannot assign loopback address on this device",
            ));
        }
        if let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.ifindex == index && a.local == ip)
        {
            if flags.excl() || !flags.replace() {
                return Err(StackError::with_message(
                    EEXIST,
                    "ipv6: address already assigned",
                ));
            }
            let had_prefix_route = self
                .addrs
                .get(pos)
                .is_some_and(|a| a.flags & IFA_F_NOPREFIXROUTE == 0);
            let changed = self.addr_update(pos, |a| {
                a.flags = (a.flags & !IFA6_SETTABLE) | asked;
                // `inet6_addr_modify`: the request's protocol, and its
                // metric when it gives one other than 0.
                a.proto = req.proto.unwrap_or(0);
                if let Some(m) = req.priority.filter(|m| *m != 0) {
                    a.metric = m;
                }
            });
            let Some(a) = changed else { return Ok(()) };
            // A tentative address is told of once its detection ends.
            if a.flags & IFA_F_TENTATIVE == 0 {
                self.tell_addr(events, &a, true);
            }
            if up && a.flags & IFA_F_NOPREFIXROUTE == 0 {
                // `modify_prefix_route`: the prefix route found with
                // another metric is replaced, deleted then added.
                let prio = if a.metric != 0 { a.metric } else { 256 };
                if let Some(i) = self.prefix_route6(&a) {
                    if self.routes6.get(i).is_some_and(|r| r.priority != prio) {
                        if let Some(old) = self.remove_route(AF_INET6, i) {
                            self.tell_del_route(events, &old);
                        }
                    }
                }
                self.addr6_prefix_route(&a, events);
            }
            if had_prefix_route && a.flags & IFA_F_NOPREFIXROUTE != 0 {
                // Now without one: the prefix route goes unless another
                // address keeps it (`cleanup_prefix_route`).
                self.cleanup_prefix_route6(&a, events);
            }
            return Ok(());
        }
        // Tentative unless `nodad` (`ipv6_add_addr`), and notified so.
        let dad = asked & IFA_F_NODAD == 0;
        let a = Addr {
            ifindex: index,
            prefix_len: req.header.prefix_len,
            local: ip,
            peer: ip,
            broadcast: None,
            label: None,
            flags: asked | IFA_F_PERMANENT | if dad { IFA_F_TENTATIVE } else { 0 },
            scope: scope6(&pfx),
            metric: req.priority.unwrap_or(0),
            proto: req.proto.unwrap_or(0),
        };
        self.insert_addr(a.clone());
        if up {
            self.addr6_prefix_route(&a, events);
        }
        self.tell_addr(events, &a, true);
        if !dad {
            self.addr6_local_route(&a, events);
            self.solicit_routers(&a);
        } else if lo
            || noarp
            || self
                .link_ref(index)
                .is_ok_and(|l| l.inet6_flags & IF_READY != 0)
        {
            // Duplicate address detection succeeds at once here (without
            // probes on `lo` and NOARP links, as `addrconf_dad_begin`).
            self.dad_complete(index, ip, events);
        }
        Ok(())
    }

    /// The prefix route of an IPv6 address: main table, metric 256.
    fn addr6_prefix_route(&mut self, a: &Addr, events: Events<'_>) {
        let IpAddr::V6(addr) = a.local else { return };
        // The `::1` that `lo` gives itself has none; one added by hand has.
        if a.flags & IFA_F_NOPREFIXROUTE != 0 || a.proto == IFAPROT_KERNEL_LO {
            return;
        }
        let dst = IpAddr::V6(prefix6(&addr, a.prefix_len));
        let mut r = Route::kernel(
            RT_TABLE_MAIN,
            dst,
            a.prefix_len,
            RTN_UNICAST,
            RT_SCOPE_UNIVERSE,
            a.ifindex,
            None,
        );
        r.priority = if a.metric != 0 { a.metric } else { 256 };
        self.add_kernel_route(r, events);
    }

    /// The local-table route of a usable IPv6 address.
    fn addr6_local_route(&mut self, a: &Addr, events: Events<'_>) {
        let r = Route::kernel(
            RT_TABLE_LOCAL,
            a.local,
            128,
            RTN_LOCAL,
            RT_SCOPE_UNIVERSE,
            a.ifindex,
            None,
        );
        self.add_kernel_route(r, events);
    }

    fn dad_complete(&mut self, index: u32, ip: IpAddr, events: Events<'_>) {
        let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.ifindex == index && a.local == ip)
        else {
            return;
        };
        let Some(a) = self.addr_update(pos, |a| a.flags &= !IFA_F_TENTATIVE) else {
            return;
        };
        self.tell_addr(events, &a, true);
        self.addr6_local_route(&a, events);
        self.solicit_routers(&a);
    }

    /// The link's only ready link-local address solicits routers
    /// (`addrconf_dad_completed`), up or not, but not on `lo`.
    fn solicit_routers(&mut self, a: &Addr) {
        let lonely = !self.addrs.iter().any(|o| {
            o.ifindex == a.ifindex
                && !o.local.is_ipv4()
                && o.local != a.local
                && o.scope == RT_SCOPE_LINK
                && o.flags & IFA_F_TENTATIVE == 0
        });
        if a.scope != RT_SCOPE_LINK || !lonely {
            return;
        }
        if let Ok(l) = self.link_mut(a.ifindex) {
            if l.kind != Kind::Loopback {
                l.inet6_flags |= nlq::devconf::IF_RS_SENT;
            }
        }
    }

    /// `NETDEV_UP` for IPv6: the prefix routes of the link's addresses;
    /// `lo` gets ::1; a link with carrier configures itself.
    pub(crate) fn ipv6_up(&mut self, index: u32, events: Events<'_>) {
        if !self.inet6(index) {
            return;
        }
        let addrs: Vec<Addr> = self
            .addrs
            .iter()
            .filter(|a| a.ifindex == index && !a.local.is_ipv4())
            .cloned()
            .collect();
        for a in &addrs {
            self.addr6_prefix_route(a, events);
        }
        if self.link_ref(index).is_ok_and(|l| l.kind == Kind::Loopback) {
            if let Ok(l) = self.link_mut(index) {
                l.inet6_flags |= IF_READY;
            }
            let lo = IpAddr::V6(Ipv6Addr::LOCALHOST);
            self.add_auto_addr6(Addr::automatic(index, lo, 128, RT_SCOPE_HOST, None), events);
            return;
        }
        self.ipv6_ready(index, events);
    }

    /// `addrconf_add_mroute`: `multicast ff00::/8 dev LINK table local
    /// metric 256` (nothing if the link has it).
    fn add_mroute6(&mut self, index: u32, events: Events<'_>) {
        let mut mcast = Route::kernel(
            RT_TABLE_LOCAL,
            IpAddr::V6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)),
            8,
            RTN_MULTICAST,
            RT_SCOPE_UNIVERSE,
            index,
            None,
        );
        mcast.priority = 256;
        self.add_kernel_route(mcast, events);
    }

    /// Adds an automatic IPv6 address unless the link has it: the address,
    /// then its local route.
    fn add_auto_addr6(&mut self, a: Addr, events: Events<'_>) {
        if self
            .addrs
            .iter()
            .any(|x| x.ifindex == a.ifindex && x.local == a.local)
        {
            return;
        }
        self.insert_addr(a.clone());
        self.tell_addr(events, &a, true);
        self.addr6_local_route(&a, events);
        self.solicit_routers(&a);
    }

    /// A link up with carrier (and IPv6): the multicast and link-local
    /// routes, its link-local address, and the end of duplicate address
    /// detection for its tentative addresses.
    pub(crate) fn ipv6_ready(&mut self, index: u32, events: Events<'_>) {
        if self.ipv6_config(index, events) {
            match &mut self.dad_deferred {
                Some(waiting) => waiting.push(index),
                None => self.ipv6_dad_run(index, events),
            }
        }
    }

    /// `addrconf_dev_config` on a link up with carrier (and IPv6): ready,
    /// the multicast and link-local routes. Whether it was configured.
    pub(crate) fn ipv6_config(&mut self, index: u32, events: Events<'_>) -> bool {
        let Ok(link) = self.link_ref(index) else {
            return false;
        };
        // Configured already: a carrier that came back changes nothing
        // (NETDEV_CHANGE on a device that is `IF_READY`).
        if !link.is_ready()
            || link.kind == Kind::Loopback
            || !self.inet6(index)
            || link.inet6_flags & IF_READY != 0
        {
            return false;
        }
        if let Ok(l) = self.link_mut(index) {
            l.inet6_flags |= IF_READY;
            if l.mc6 == nlq::stack::Mc6Load::Unloaded {
                // `ipv6_mc_up`: back on the list.
                l.mc6 = nlq::stack::Mc6Load::Reloaded;
            }
        }
        self.add_mroute6(index, events);
        let mut ll = Route::kernel(
            RT_TABLE_MAIN,
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)),
            64,
            RTN_UNICAST,
            RT_SCOPE_UNIVERSE,
            index,
            None,
        );
        ll.priority = 256;
        self.add_kernel_route(ll, events);
        true
    }

    /// Duplicate address detection on a link just configured: addresses
    /// that waited for the link end theirs before the new link-local
    /// address, which starts its own (`addrconf_dad_run` after
    /// `addrconf_dev_config`).
    pub(crate) fn ipv6_dad_run(&mut self, index: u32, events: Events<'_>) {
        let Ok(link) = self.link_ref(index) else {
            return;
        };
        let mac = link.mac;
        let tentative: Vec<IpAddr> = self
            .addrs
            .iter()
            .filter(|a| a.ifindex == index && !a.local.is_ipv4() && a.flags & IFA_F_TENTATIVE != 0)
            .map(|a| a.local)
            .collect();
        for ip in tentative {
            self.dad_complete(index, ip, events);
        }
        let lladdr = IpAddr::V6(eui64_link_local(&mac));
        self.add_auto_addr6(
            Addr::automatic(index, lladdr, 64, RT_SCOPE_LINK, None),
            events,
        );
    }

    fn addr6_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let index = req.header.index;
        if !self.inet6(index) {
            // No inet6 device on the link.
            return Err(StackError::with_message(
                ENXIO,
                "ipv6: IPv6 is disabled on this device",
            ));
        }
        let want = req.local.or(req.address).ok_or(StackError::new(EINVAL))?;
        let pos = self
            .addrs
            .iter()
            .position(|a| {
                a.ifindex == index && a.local == want && a.prefix_len == req.header.prefix_len
            })
            .ok_or(StackError::with_message(
                EADDRNOTAVAIL,
                "ipv6: address not found",
            ))?;
        let a = self.addr_remove(pos);
        self.tell_addr(events, &a, false);
        let local = a.local;
        let kernel =
            |r: &Route| r.family == AF_INET6 && r.oif == index && r.protocol == RTPROT_KERNEL;
        self.del_kernel_routes(
            AF_INET6,
            RoutesAt::Prefixes(&[(local, 128)]),
            |r| kernel(r) && r.route_type == RTN_LOCAL && r.dst == Some(local) && r.dst_len == 128,
            true,
            events,
        );
        if a.flags & IFA_F_NOPREFIXROUTE == 0 {
            self.cleanup_prefix_route6(&a, events);
        }
        self.remove_prefsrc6(local);
        Ok(())
    }

    /// `rt6_remove_prefsrc`: the IPv6 routes (but those through nexthop
    /// objects) that prefer `local` as their source forget it, silently,
    /// unless their link still has it or another link has it with a
    /// scope wider than the link (`ipv6_chk_addr`, not strict).
    fn remove_prefsrc6(&mut self, local: IpAddr) {
        let addrs = &self.addrs;
        let still = |dev: u32| {
            addrs
                .iter()
                .any(|a| a.local == local && (a.ifindex == dev || a.scope < RT_SCOPE_LINK))
        };
        let mut changed = Vec::new();
        self.routes6.update_matching(
            |r| r.nh_id == 0 && r.prefsrc == Some(local) && !still(r.oif),
            |r| {
                let old = r.clone();
                r.prefsrc = None;
                changed.push((old, r.clone()));
            },
        );
        self.routes_changed(&changed);
    }

    /// `cleanup_prefix_route`: whatever route the prefix lookup finds for
    /// `a` goes, unless another address of the link keeps the prefix.
    fn cleanup_prefix_route6(&mut self, a: &Addr, events: Events<'_>) {
        let IpAddr::V6(addr) = a.local else { return };
        let (index, plen) = (a.ifindex, a.prefix_len);
        let prefix = prefix6(&addr, plen);
        let shared = self.addrs.iter().any(|o| {
            o.ifindex == index
                && o.local != a.local
                && matches!(o.local, IpAddr::V6(x) if o.prefix_len == plen && prefix6(&x, plen) == prefix)
        });
        if shared {
            return;
        }
        if let Some(old) = self
            .prefix_route6(a)
            .and_then(|i| self.remove_route(AF_INET6, i))
        {
            self.tell_del_route(events, &old);
        }
    }

    /// `addrconf_get_prefix_route`: the first main-table route to the
    /// prefix of `a` through its link without a gateway, of any kind or
    /// protocol.
    fn prefix_route6(&self, a: &Addr) -> Option<usize> {
        let IpAddr::V6(addr) = a.local else {
            return None;
        };
        let prefix = IpAddr::V6(prefix6(&addr, a.prefix_len));
        self.routes6.iter().position(|r| {
            r.table == RT_TABLE_MAIN
                && r.dst == Some(prefix)
                && r.dst_len == a.prefix_len
                && r.oif == a.ifindex
                && r.gateway.is_none()
                && r.multipath.is_none()
        })
    }

    /// IPv6 leaves the link (it went down, or its MTU fell below 1280):
    /// every route through it goes, then every IPv6 address, each notified.
    pub(crate) fn ipv6_down(&mut self, index: u32, events: Events<'_>) {
        if let Ok(l) = self.link_mut(index) {
            if l.inet6_flags & IF_READY != 0 {
                // `ipv6_mc_down`: its groups off the link-layer list.
                l.mc6 = nlq::stack::Mc6Load::Unloaded;
            }
            l.inet6_flags = 0;
        }
        // `rt6_disable_ip`: routes, then neighbours.
        self.flush_link_routes(AF_INET6, index, true, events);
        self.neigh_flush(AF_INET6, index, false, events);
        let gone = self.addr_remove_where(|a| a.ifindex == index && !a.local.is_ipv4());
        for a in &gone {
            self.tell_addr(events, a, false);
        }
    }
}
