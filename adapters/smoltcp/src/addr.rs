//! Addresses: IPv4 as `devinet.c` keeps them (primaries, secondaries,
//! labels, the routes `fib_add_ifaddr` derives), IPv6 as `addrconf.c` does
//! (prefix and local routes, gone when the link goes down), the same way
//! nlq-mem does; plus what smoltcp cannot hold, refused before anything
//! changes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::errno::*;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrCacheInfo, AddrRepr, IfAddrMsg, IfName};

use crate::hash::{FastMap, FastSet};
use crate::model::Model;
use crate::route::{Route, KEY_ANY_TABLE};

const INFINITY_LIFE: u32 = u32::MAX;

/// The IPv6 address flags a request may set.
const IFA6_SETTABLE: u32 = IFA_F_NODAD
    | IFA_F_HOMEADDRESS
    | IFA_F_MANAGETEMPADDR
    | IFA_F_NOPREFIXROUTE
    | IFA_F_MCAUTOJOIN
    | IFA_F_OPTIMISTIC;

/// One address of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addr {
    pub prefix_len: u8,
    /// `IFA_LOCAL`; the peer (`IFA_ADDRESS`) is always the same address:
    /// point-to-point peers are refused.
    pub local: IpAddr,
    pub broadcast: Option<IpAddr>,
    pub label: Option<IfName>,
    pub flags: u32,
    pub scope: u8,
    /// `IFA_RT_PRIORITY`: the metric of its prefix route (0: none given).
    pub metric: u32,
    /// `IFA_PROTO`: who added it (0: not said).
    pub proto: u8,
}

impl Addr {
    /// An address the stack gives itself (the IPv6 link-local address):
    /// permanent, no label, no broadcast.
    fn automatic(ip: IpAddr, prefix_len: u8, scope: u8) -> Addr {
        Addr {
            prefix_len,
            local: ip,
            broadcast: None,
            label: None,
            flags: IFA_F_PERMANENT,
            scope,
            metric: 0,
            proto: match ip {
                IpAddr::V6(a) if a.is_loopback() => 1,
                // IFAPROT_KERNEL_LL.
                IpAddr::V6(_) => 3,
                IpAddr::V4(_) => 0,
            },
        }
    }

    pub fn is_tentative(&self) -> bool {
        self.flags & IFA_F_TENTATIVE != 0
    }

    pub fn repr(&self, index: u32) -> AddrRepr {
        let v4 = self.local.is_ipv4();
        AddrRepr {
            header: IfAddrMsg {
                family: if v4 { AF_INET } else { AF_INET6 },
                prefix_len: self.prefix_len,
                flags: self.flags as u8,
                scope: self.scope,
                index,
            },
            address: Some(self.local),
            local: v4.then_some(self.local),
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

pub(crate) fn v4(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(_) => 0,
    }
}

pub(crate) fn mask4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

pub(crate) fn prefix6(a: &Ipv6Addr, len: u8) -> Ipv6Addr {
    let m = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(u128::from(*a) & m)
}

/// The scope IPv6 gives an address by its type.
fn scope6(a: &Ipv6Addr) -> u8 {
    if a.is_loopback() {
        RT_SCOPE_HOST
    } else if a.segments()[0] & 0xffc0 == 0xfe80 {
        RT_SCOPE_LINK
    } else {
        RT_SCOPE_UNIVERSE
    }
}

/// The modified EUI-64 link-local address of a MAC.
pub(crate) fn link_local_of(mac: &[u8; 6]) -> Ipv6Addr {
    let [m0, m1, m2, m3, m4, m5] = mac.map(u16::from);
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        ((m0 ^ 2) << 8) | m1,
        (m2 << 8) | 0xff,
        0xfe00 | m3,
        (m4 << 8) | m5,
    )
}

/// A unicast IPv4 address as smoltcp counts them (its `update_ip_addrs`
/// panics on any other).
fn smoltcp_unicast4(a: u32) -> bool {
    let a = Ipv4Addr::from(a);
    !(a.is_broadcast() || a.is_multicast() || a.is_unspecified())
}

/// The IPv4 addresses: primaries in the order they came, then secondaries
/// (the dump order of `devinet.c`), with indexes for the lookups an add
/// makes.
#[derive(Debug, Clone, Default)]
pub(crate) struct V4Addrs {
    primaries: Vec<Addr>,
    secondaries: Vec<Addr>,
    /// `(local, prefix length)` of every address.
    exact: FastSet<(u32, u8)>,
    /// `(network, prefix length)` of every primary: its local address and
    /// scope (the secondaries of a subnet share it).
    subnets: FastMap<(u32, u8), (u32, u8)>,
    /// How many addresses have each local address.
    locals: FastMap<u32, u32>,
}

impl V4Addrs {
    pub fn len(&self) -> usize {
        self.primaries.len() + self.secondaries.len()
    }

    /// In dump order.
    pub fn iter(&self) -> impl Iterator<Item = &Addr> {
        self.primaries.iter().chain(&self.secondaries)
    }

    fn insert(&mut self, a: Addr) {
        let (l, len) = (v4(&a.local), a.prefix_len);
        self.exact.insert((l, len));
        *self.locals.entry(l).or_insert(0) += 1;
        if a.flags & IFA_F_SECONDARY == 0 {
            self.subnets.insert((l & mask4(len), len), (l, a.scope));
            // `__inet_insert_ifa`: after the last primary of the same or a
            // narrower scope, first when there is none.
            let pos = self
                .primaries
                .iter()
                .rposition(|x| a.scope <= x.scope)
                .map_or(0, |p| p + 1);
            self.primaries.insert(pos, a);
        } else {
            self.secondaries.push(a);
        }
    }

    fn remove(&mut self, local: u32, len: u8) -> Option<Addr> {
        let hit = |a: &Addr| v4(&a.local) == local && a.prefix_len == len;
        let a = if let Some(p) = self.primaries.iter().position(hit) {
            let a = self.primaries.remove(p);
            let net = (local & mask4(len), len);
            if self.subnets.get(&net).is_some_and(|(l, _)| *l == local) {
                self.subnets.remove(&net);
            }
            a
        } else {
            let p = self.secondaries.iter().position(hit)?;
            self.secondaries.remove(p)
        };
        self.exact.remove(&(local, len));
        if let Some(n) = self.locals.get_mut(&local) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.locals.remove(&local);
            }
        }
        Some(a)
    }

    fn get_mut(&mut self, local: u32, len: u8) -> Option<&mut Addr> {
        self.primaries
            .iter_mut()
            .chain(self.secondaries.iter_mut())
            .find(|a| v4(&a.local) == local && a.prefix_len == len)
    }

    /// The local address of the primary `a` depends on (its own for a
    /// primary).
    fn primary_local(&self, a: &Addr) -> u32 {
        let (l, len) = (v4(&a.local), a.prefix_len);
        if a.flags & IFA_F_SECONDARY == 0 {
            return l;
        }
        self.subnets
            .get(&(l & mask4(len), len))
            .map_or(l, |(p, _)| *p)
    }
}

/// The IPv6 addresses: by scope (global first), newest first within a
/// scope (the dump order of `addrconf.c`).
#[derive(Debug, Clone, Default)]
pub(crate) struct V6Addrs {
    /// Scope to its addresses, oldest first.
    buckets: BTreeMap<u8, Vec<Addr>>,
    /// Local address to scope.
    by_local: FastMap<u128, u8>,
    /// How many addresses have each `(prefix, prefix length)`.
    prefixes: FastMap<(u128, u8), u32>,
}

fn v6bits(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V6(a) => u128::from(*a),
        IpAddr::V4(_) => 0,
    }
}

fn prefix_key(a: &Addr) -> (u128, u8) {
    let bits = v6bits(&a.local);
    let m = u128::MAX
        .checked_shl(128 - u32::from(a.prefix_len.min(128)))
        .unwrap_or(0);
    (bits & m, a.prefix_len)
}

impl V6Addrs {
    pub fn len(&self) -> usize {
        self.by_local.len()
    }

    /// In dump order.
    pub fn iter(&self) -> impl Iterator<Item = &Addr> {
        self.buckets.values().flat_map(|b| b.iter().rev())
    }

    fn insert(&mut self, a: Addr) {
        self.by_local.insert(v6bits(&a.local), a.scope);
        *self.prefixes.entry(prefix_key(&a)).or_insert(0) += 1;
        self.buckets.entry(a.scope).or_default().push(a);
    }

    fn remove(&mut self, local: &IpAddr) -> Option<Addr> {
        let scope = self.by_local.remove(&v6bits(local))?;
        let bucket = self.buckets.get_mut(&scope)?;
        let p = bucket.iter().position(|a| a.local == *local)?;
        let a = bucket.remove(p);
        if bucket.is_empty() {
            self.buckets.remove(&scope);
        }
        let k = prefix_key(&a);
        if let Some(n) = self.prefixes.get_mut(&k) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.prefixes.remove(&k);
            }
        }
        Some(a)
    }

    fn get(&self, local: &IpAddr) -> Option<&Addr> {
        let scope = self.by_local.get(&v6bits(local))?;
        self.buckets.get(scope)?.iter().find(|a| a.local == *local)
    }

    fn get_mut(&mut self, local: &IpAddr) -> Option<&mut Addr> {
        let scope = self.by_local.get(&v6bits(local))?;
        self.buckets
            .get_mut(scope)?
            .iter_mut()
            .find(|a| a.local == *local)
    }

    pub fn contains(&self, local: &IpAddr) -> bool {
        local.is_ipv6() && self.by_local.contains_key(&v6bits(local))
    }

    fn clear(&mut self) -> Vec<Addr> {
        let gone: Vec<Addr> = self.iter().cloned().collect();
        *self = V6Addrs::default();
        gone
    }
}

/// Checks what the server checks before an address request reaches a
/// stack, for requests that come some other way: a family of IP, a prefix
/// length within it, addresses of that family.
fn check_shape(req: &AddrRepr) -> StackResult<()> {
    let (v4, max) = match req.header.family {
        AF_INET => (true, 32),
        AF_INET6 => (false, 128),
        _ => return Err(StackError::NOT_SUPPORTED),
    };
    if req.header.prefix_len > max {
        return Err(StackError::with_message(EINVAL, "Invalid prefix length"));
    }
    let family_ok = |ip: &Option<IpAddr>| ip.is_none_or(|i| i.is_ipv4() == v4);
    if !family_ok(&req.local) || !family_ok(&req.address) {
        return Err(StackError::with_message(EINVAL, "Invalid address family"));
    }
    Ok(())
}

impl Model {
    /// The addresses of `family` (`AF_UNSPEC`: IPv4, then IPv6).
    pub(crate) fn addr_iter(&self, family: u8) -> Box<dyn Iterator<Item = &Addr> + '_> {
        match family {
            AF_INET => Box::new(self.v4.iter()),
            AF_INET6 => Box::new(self.v6.iter()),
            _ => Box::new(self.v4.iter().chain(self.v6.iter())),
        }
    }

    pub(crate) fn addr_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        check_shape(req)?;
        self.check_index(req.header.index)?;
        match req.header.family {
            AF_INET => self.addr4_add(req, flags, events),
            _ => self.addr6_add(req, flags, events),
        }
    }

    pub(crate) fn addr_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        check_shape(req)?;
        self.check_index(req.header.index)?;
        match req.header.family {
            AF_INET => self.addr4_del(req, events),
            _ => self.addr6_del(req, events),
        }
    }

    /// Room for one more address in smoltcp's table, keeping one slot for
    /// the IPv6 link-local address the link gets when it comes up (unless
    /// it has it already). A full table is `ENOBUFS`, what Linux answers
    /// when it cannot allocate an address.
    fn addr_room(&self) -> StackResult<()> {
        let ll = IpAddr::V6(link_local_of(&self.link.mac));
        let reserve = usize::from(!self.v6.contains(&ll));
        let wanted = self.v4.len() + self.v6.len() + reserve + 1;
        if wanted > self.limits.addrs {
            return Err(StackError::with_message(
                ENOBUFS,
                "smoltcp: the interface's address table is full (IFACE_MAX_ADDR_COUNT)",
            ));
        }
        Ok(())
    }

    fn addr4_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let local = req.local.ok_or(StackError::new(EINVAL))?;
        let peer = req.address.unwrap_or(local);
        let (l, p, len) = (v4(&local), v4(&peer), req.header.prefix_len);
        let mut new = Addr {
            prefix_len: len,
            local,
            broadcast: req.broadcast.filter(IpAddr::is_ipv4),
            label: Some(req.label.unwrap_or(self.link.name)),
            flags: (req.flags.unwrap_or(u32::from(req.header.flags)) & !IFA_F_SECONDARY)
                | IFA_F_PERMANENT,
            scope: req.header.scope,
            metric: req.priority.unwrap_or(0),
            proto: req.proto.unwrap_or(0),
        };
        let mask = mask4(len);
        // find_matching_ifa: the same subnet (of the request's peer), mask
        // and local address.
        if self.v4.exact.contains(&(l, len)) && (l ^ p) & mask == 0 {
            if flags.excl() || !flags.replace() {
                return Err(StackError::with_message(
                    EEXIST,
                    "ipv4: Address already assigned",
                ));
            }
            if let Some(a) = self.v4.get_mut(l, len) {
                // The flags stay (`inet_rtm_newaddr` replaces metric,
                // protocol and lifetimes only).
                a.metric = new.metric;
                a.proto = new.proto;
                events(Event::NewAddr(&a.repr(self.index)));
            }
            return Ok(());
        }
        // __inet_insert_ifa: a second address in a subnet is secondary.
        // (An address of the subnet with the same local address was found
        // above; the others all have the scope of its primary.)
        if let Some((_, scope)) = self.v4.subnets.get(&(p & mask, len)) {
            if *scope != new.scope {
                return Err(StackError::with_message(
                    EINVAL,
                    "ipv4: Invalid scope value",
                ));
            }
            new.flags |= IFA_F_SECONDARY;
        }
        self.admit_addr4(&new, p)?;
        self.v4.insert(new.clone());
        events(Event::NewAddr(&new.repr(self.index)));
        self.fib_add_ifaddr(&new, events);
        Ok(())
    }

    /// What smoltcp can hold of a new IPv4 address: a unicast address
    /// (else `EINVAL`), whose prefix is on-link as the kernel makes it
    /// (else `EOPNOTSUPP`), in a table with room.
    fn admit_addr4(&self, a: &Addr, peer: u32) -> StackResult<()> {
        let l = v4(&a.local);
        let mask = mask4(a.prefix_len);
        if !smoltcp_unicast4(l) {
            return Err(StackError::with_message(
                EINVAL,
                "smoltcp: an address must be unicast",
            ));
        }
        if peer != l {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "smoltcp: no point-to-point peer addresses",
            ));
        }
        if a.flags & IFA_F_NOPREFIXROUTE != 0 {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "smoltcp: an address's prefix is always on-link (no noprefixroute)",
            ));
        }
        if l & mask == 0 {
            // Linux makes no route for a zero network; smoltcp would reach
            // the whole prefix (for /0, everything) on-link.
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "smoltcp: an address in the zero network would make all of it on-link",
            ));
        }
        if let Some(b) = a.broadcast {
            let subnet = (l & mask) | !mask;
            let b = v4(&b);
            if b != u32::MAX && !(a.prefix_len < 31 && b == subnet) {
                return Err(StackError::with_message(
                    EOPNOTSUPP,
                    "smoltcp: the broadcast address is the subnet's",
                ));
            }
        }
        self.addr_room()
    }

    /// The primary address a secondary depends on (itself for a primary).
    fn primary_of(&self, a: &Addr) -> IpAddr {
        if a.flags & IFA_F_SECONDARY == 0 {
            return a.local;
        }
        let l = v4(&a.local);
        self.v4
            .subnets
            .get(&(l & mask4(a.prefix_len), a.prefix_len))
            .map_or(a.local, |(p, _)| IpAddr::V4(Ipv4Addr::from(*p)))
    }

    /// The routes an IPv4 address brings (`fib_add_ifaddr`): its local
    /// route always; while the link is up, its broadcast and (for a
    /// primary) prefix and subnet broadcast routes. A secondary's routes
    /// take the primary as source.
    fn fib_add_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let up = self.link.is_up();
        let src = Some(self.primary_of(a));
        let index = self.index;
        let kernel =
            |table, dst, len, kind, scope| Route::kernel(table, dst, len, kind, scope, index, src);
        self.add_kernel_route(
            kernel(RT_TABLE_LOCAL, a.local, 32, RTN_LOCAL, RT_SCOPE_HOST),
            events,
        );
        if !up {
            return;
        }
        if let Some(b) = a.broadcast.filter(|b| v4(b) != u32::MAX) {
            self.add_kernel_route(
                kernel(RT_TABLE_LOCAL, b, 32, RTN_BROADCAST, RT_SCOPE_LINK),
                events,
            );
        }
        let l = v4(&a.local);
        let prefix = l & mask4(a.prefix_len);
        if prefix != 0 && a.flags & IFA_F_SECONDARY == 0 && (prefix != l || a.prefix_len < 32) {
            if a.flags & IFA_F_NOPREFIXROUTE == 0 {
                let dst = IpAddr::V4(Ipv4Addr::from(prefix));
                let mut r = kernel(RT_TABLE_MAIN, dst, a.prefix_len, RTN_UNICAST, RT_SCOPE_LINK);
                r.priority = a.metric;
                self.add_kernel_route(r, events);
            }
            if a.prefix_len < 31 {
                let b = IpAddr::V4(Ipv4Addr::from(prefix | !mask4(a.prefix_len)));
                self.add_kernel_route(
                    kernel(RT_TABLE_LOCAL, b, 32, RTN_BROADCAST, RT_SCOPE_LINK),
                    events,
                );
            }
        }
    }

    /// `NETDEV_UP` for IPv4: every address gets its routes.
    pub(crate) fn ipv4_routes_up(&mut self, events: Events<'_>) {
        let addrs: Vec<Addr> = self.v4.iter().cloned().collect();
        for a in &addrs {
            self.fib_add_ifaddr(a, events);
        }
    }

    /// `inetdev_changename`: the first IPv4 address takes the new name as
    /// its label; each later one the new name with its old `:alias`
    /// suffix, or `:N` (its position, from 2); each is notified.
    pub(crate) fn relabel(&mut self, new: &IfName, events: Events<'_>) {
        let index = self.index;
        let all = self
            .v4
            .primaries
            .iter_mut()
            .chain(self.v4.secondaries.iter_mut());
        for (named, a) in (1usize..).zip(all) {
            a.label = Some(nlq::addr_rules::renamed_label(new, a.label.as_ref(), named));
            events(Event::NewAddr(&a.repr(index)));
        }
    }

    /// `inet_rtm_deladdr`: the first address matching what the request
    /// names (local, label, and subnet when `IFA_ADDRESS` is given).
    fn addr4_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let found = self
            .v4
            .iter()
            .find(|a| {
                req.local.is_none_or(|l| l == a.local)
                    && req.label.is_none_or(|l| Some(l) == a.label)
                    && req.address.is_none_or(|p| {
                        req.header.prefix_len == a.prefix_len
                            && (v4(&p) ^ v4(&a.local)) & mask4(a.prefix_len) == 0
                    })
            })
            .map(|a| (v4(&a.local), a.prefix_len))
            .ok_or(StackError::with_message(
                EADDRNOTAVAIL,
                "ipv4: Address not found",
            ))?;
        self.del_ifa4(found.0, found.1, events);
        Ok(())
    }

    /// `__inet_del_ifa` without promotion: deleting a primary deletes the
    /// secondaries of its subnet first.
    fn del_ifa4(&mut self, local: u32, len: u8, events: Events<'_>) {
        let Some(a) = self.v4.get_mut(local, len).map(|a| a.clone()) else {
            return;
        };
        if a.flags & IFA_F_SECONDARY == 0 {
            let mask = mask4(len);
            while let Some(s) = self
                .v4
                .secondaries
                .iter()
                .find(|s| s.prefix_len == len && (v4(&s.local) ^ local) & mask == 0)
                .map(|s| v4(&s.local))
            {
                if let Some(s) = self.v4.remove(s, len) {
                    events(Event::DelAddr(&s.repr(self.index)));
                    self.fib_del_ifaddr(&s, events);
                    self.fib_forget_source(s.local, events);
                }
            }
        }
        self.v4.remove(local, len);
        events(Event::DelAddr(&a.repr(self.index)));
        self.fib_del_ifaddr(&a, events);
        self.fib_forget_source(a.local, events);
        if self.v4.len() == 0 {
            // `fib_disable_ip`: the link's last IPv4 address is gone, and
            // so is every IPv4 route through it, silently.
            let index = self.index;
            self.routes.take(AF_INET, |r| r.oif == index);
        }
    }

    /// `fib_sync_down_addr` then `fib_flush`: once `local` is no address
    /// here, the main table's routes that named it as preferred source
    /// go, notified, highest destination (then longest prefix) first.
    fn fib_forget_source(&mut self, local: IpAddr, events: Events<'_>) {
        if self.v4.iter().any(|x| x.local == local) {
            return;
        }
        let mut gone = self.routes.take(AF_INET, |r| {
            r.table == RT_TABLE_MAIN && r.prefsrc == Some(local)
        });
        gone.sort_by_key(|r| std::cmp::Reverse((r.dst.map_or(0, |d| v4(&d)), r.dst_len)));
        for r in &gone {
            events(Event::DelRoute(&r.repr()));
        }
    }

    /// The routes an IPv4 address brought go with it, notified: a
    /// primary's prefix and broadcast routes, then its local route unless
    /// another address has the same local address.
    fn fib_del_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let l = v4(&a.local);
        let plen = a.prefix_len;
        let mask = mask4(plen);
        let prefix = l & mask;
        let subnet_brd = prefix | !mask;
        let ip = |x: u32| Some(IpAddr::V4(Ipv4Addr::from(x)));
        let kernel = |r: &Route| r.protocol == RTPROT_KERNEL;
        if a.flags & IFA_F_SECONDARY == 0 {
            self.del_kernel_routes(
                AF_INET,
                &[(KEY_ANY_TABLE, ip(prefix), plen)],
                |r| kernel(r) && r.kind != RTN_BROADCAST && !(r.kind == RTN_LOCAL && plen == 32),
                events,
            );
            let other_primary = self.v4.subnets.contains_key(&(prefix, plen));
            if !other_primary {
                let brd = a.broadcast;
                let mut keys = vec![(KEY_ANY_TABLE, ip(subnet_brd), 32)];
                if let Some(b) = brd.filter(|b| Some(*b) != ip(subnet_brd)) {
                    keys.push((KEY_ANY_TABLE, Some(b), 32));
                }
                self.del_kernel_routes(
                    AF_INET,
                    &keys,
                    |r| kernel(r) && r.kind == RTN_BROADCAST,
                    events,
                );
            }
        }
        // The local route of this address and primary goes unless another
        // address with the same local address and primary needs it.
        let prim = self.v4.primary_local(a);
        if !self
            .v4
            .iter()
            .any(|o| v4(&o.local) == l && self.v4.primary_local(o) == prim)
        {
            let src = ip(prim);
            self.del_kernel_routes(
                AF_INET,
                &[(KEY_ANY_TABLE, Some(a.local), 32)],
                |r| kernel(r) && r.kind == RTN_LOCAL && r.prefsrc == src,
                events,
            );
        }
    }

    fn addr6_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let pfx = match req.local.or(req.address) {
            Some(IpAddr::V6(a)) => a,
            _ => return Err(StackError::new(EINVAL)),
        };
        if !self.link.inet6() {
            return Err(StackError::new(EINVAL));
        }
        let asked = req.flags.unwrap_or(u32::from(req.header.flags)) & IFA6_SETTABLE;
        let ip = IpAddr::V6(pfx);
        let valid = !(pfx.is_unspecified() || pfx.is_multicast() || pfx.is_loopback());
        if valid && !self.v6.contains(&ip) {
            // What smoltcp cannot hold is refused before anything changes
            // (the multicast route below included).
            self.admit_addr6(req, asked)?;
        }
        // addrconf_add_dev: the link's multicast route comes first, even
        // when the address is then refused; on a link that is down the
        // route is refused and nothing comes.
        if self.link.is_up() {
            self.add_mroute6(events);
        }
        if !valid {
            return Err(StackError::new(EADDRNOTAVAIL));
        }
        if self.v6.contains(&ip) {
            if flags.excl() || !flags.replace() {
                return Err(StackError::with_message(
                    EEXIST,
                    "ipv6: address already assigned",
                ));
            }
            if let Some(a) = self.v6.get_mut(&ip) {
                let had_prefix_route = a.flags & IFA_F_NOPREFIXROUTE == 0;
                a.flags = (a.flags & !IFA6_SETTABLE) | asked;
                // `inet6_addr_modify`: the request's protocol and metric.
                a.proto = req.proto.unwrap_or(0);
                if let Some(m) = req.priority {
                    a.metric = m;
                }
                let a = a.clone();
                // A tentative address is told of once its detection ends.
                if !a.is_tentative() {
                    events(Event::NewAddr(&a.repr(self.index)));
                }
                if self.link.is_up() {
                    self.addr6_prefix_route(&a, events);
                }
                if had_prefix_route && a.flags & IFA_F_NOPREFIXROUTE != 0 {
                    // Now without one: the prefix route goes unless
                    // another address keeps it.
                    self.cleanup_prefix_route6(&a, events);
                }
            }
            return Ok(());
        }
        // Tentative unless `nodad` (`ipv6_add_addr`), and notified so.
        let dad = asked & IFA_F_NODAD == 0;
        let noarp = self.link.flags & IFF_NOARP != 0;
        let a = Addr {
            prefix_len: req.header.prefix_len,
            local: ip,
            broadcast: None,
            label: None,
            flags: asked | IFA_F_PERMANENT | if dad { IFA_F_TENTATIVE } else { 0 },
            scope: scope6(&pfx),
            metric: req.priority.unwrap_or(0),
            proto: req.proto.unwrap_or(0),
        };
        self.v6.insert(a.clone());
        if self.link.is_up() {
            self.addr6_prefix_route(&a, events);
        }
        events(Event::NewAddr(&a.repr(self.index)));
        if !dad {
            self.addr6_local_route(&a, events);
            self.solicit_routers(&a);
        } else if noarp || self.link.is_up() {
            // Duplicate address detection succeeds at once here (without
            // probes on a NOARP link).
            self.dad_complete(ip, events);
        }
        Ok(())
    }

    /// What smoltcp can hold of a new IPv6 address: no peer, its prefix
    /// on-link (`EOPNOTSUPP` otherwise), in a table with room.
    fn admit_addr6(&self, req: &AddrRepr, asked: u32) -> StackResult<()> {
        if req.local.zip(req.address).is_some_and(|(l, p)| l != p) {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "smoltcp: no point-to-point peer addresses",
            ));
        }
        if asked & IFA_F_NOPREFIXROUTE != 0 {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "smoltcp: an address's prefix is always on-link (no noprefixroute)",
            ));
        }
        self.addr_room()
    }

    /// `addrconf_add_mroute`: `multicast ff00::/8 dev LINK table local
    /// metric 256` (nothing if the link has it).
    fn add_mroute6(&mut self, events: Events<'_>) {
        let mut mcast = Route::kernel(
            RT_TABLE_LOCAL,
            IpAddr::V6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)),
            8,
            RTN_MULTICAST,
            RT_SCOPE_UNIVERSE,
            self.index,
            None,
        );
        mcast.priority = 256;
        self.add_kernel_route(mcast, events);
    }

    /// The prefix route of an IPv6 address: main table, metric 256.
    fn addr6_prefix_route(&mut self, a: &Addr, events: Events<'_>) {
        let IpAddr::V6(addr) = a.local else { return };
        if a.flags & IFA_F_NOPREFIXROUTE != 0 {
            return;
        }
        let dst = IpAddr::V6(prefix6(&addr, a.prefix_len));
        let mut r = Route::kernel(
            RT_TABLE_MAIN,
            dst,
            a.prefix_len,
            RTN_UNICAST,
            RT_SCOPE_UNIVERSE,
            self.index,
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
            self.index,
            None,
        );
        self.add_kernel_route(r, events);
    }

    fn dad_complete(&mut self, ip: IpAddr, events: Events<'_>) {
        let Some(a) = self.v6.get_mut(&ip) else {
            return;
        };
        a.flags &= !IFA_F_TENTATIVE;
        let a = a.clone();
        events(Event::NewAddr(&a.repr(self.index)));
        self.addr6_local_route(&a, events);
        self.solicit_routers(&a);
    }

    /// The link's only ready link-local address solicits routers
    /// (`addrconf_dad_completed`), up or not.
    fn solicit_routers(&mut self, a: &Addr) {
        let lonely = !self
            .v6
            .iter()
            .any(|o| o.local != a.local && o.scope == RT_SCOPE_LINK && !o.is_tentative());
        if a.scope == RT_SCOPE_LINK && lonely {
            self.link.inet6_flags |= nlq::devconf::IF_RS_SENT;
        }
    }

    /// `NETDEV_UP` for IPv6: the prefix routes of the link's addresses,
    /// then what a link with carrier gets.
    pub(crate) fn ipv6_up(&mut self, events: Events<'_>) {
        if !self.link.inet6() {
            return;
        }
        let addrs: Vec<Addr> = self.v6.iter().cloned().collect();
        for a in &addrs {
            self.addr6_prefix_route(a, events);
        }
        self.ipv6_ready(events);
    }

    /// A link up (the device always has carrier) with IPv6: the multicast
    /// and link-local routes, its link-local address, and the end of
    /// duplicate address detection for its tentative addresses.
    pub(crate) fn ipv6_ready(&mut self, events: Events<'_>) {
        if !self.link.is_up() || !self.link.inet6() {
            return;
        }
        let index = self.index;
        self.link.inet6_flags |= IF_READY;
        // Addresses that waited for the link end their detection before
        // the new link-local address, which starts its own.
        let tentative: Vec<IpAddr> = self
            .v6
            .iter()
            .filter(|a| a.is_tentative())
            .map(|a| a.local)
            .collect();
        self.add_mroute6(events);
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
        for ip in tentative {
            self.dad_complete(ip, events);
        }
        let lladdr = IpAddr::V6(link_local_of(&self.link.mac));
        if !self.v6.contains(&lladdr) {
            let a = Addr::automatic(lladdr, 64, RT_SCOPE_LINK);
            self.v6.insert(a.clone());
            events(Event::NewAddr(&a.repr(index)));
            self.addr6_local_route(&a, events);
            self.solicit_routers(&a);
        }
    }

    fn addr6_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        if !self.link.inet6() {
            // No inet6 device on the link.
            return Err(StackError::new(ENXIO));
        }
        let want = req.local.or(req.address).ok_or(StackError::new(EINVAL))?;
        let not_found = StackError::with_message(EADDRNOTAVAIL, "ipv6: address not found");
        if self
            .v6
            .get(&want)
            .is_none_or(|a| a.prefix_len != req.header.prefix_len)
        {
            return Err(not_found);
        }
        let a = self.v6.remove(&want).ok_or(not_found)?;
        events(Event::DelAddr(&a.repr(self.index)));
        let kernel = |r: &Route| r.protocol == RTPROT_KERNEL;
        self.del_kernel_routes(
            AF_INET6,
            &[(KEY_ANY_TABLE, Some(a.local), 128)],
            |r| kernel(r) && r.kind == RTN_LOCAL,
            events,
        );
        if a.flags & IFA_F_NOPREFIXROUTE == 0 {
            self.cleanup_prefix_route6(&a, events);
        }
        Ok(())
    }

    /// `cleanup_prefix_route`: the prefix route of `a` (no longer in the
    /// table) goes unless another address keeps the prefix.
    fn cleanup_prefix_route6(&mut self, a: &Addr, events: Events<'_>) {
        let IpAddr::V6(addr) = a.local else { return };
        let plen = a.prefix_len;
        let prefix = prefix6(&addr, plen);
        let others = self
            .v6
            .prefixes
            .get(&(u128::from(prefix), plen))
            .copied()
            .unwrap_or(0);
        // A modified address is still counted.
        let own = u32::from(self.v6.contains(&a.local));
        if others > own {
            return;
        }
        self.del_kernel_routes(
            AF_INET6,
            &[(KEY_ANY_TABLE, Some(IpAddr::V6(prefix)), plen)],
            |r| r.protocol == RTPROT_KERNEL && r.kind == RTN_UNICAST,
            events,
        );
    }

    /// IPv6 leaves the link (it went down, or its MTU fell below 1280):
    /// every route through it goes, then every IPv6 address, each notified.
    pub(crate) fn ipv6_down(&mut self, events: Events<'_>) {
        self.link.inet6_flags = 0;
        self.flush_routes6(events);
        for a in self.v6.clear() {
            events(Event::DelAddr(&a.repr(self.index)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local() {
        let ll = link_local_of(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(ll, "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn masks() {
        assert_eq!(mask4(0), 0);
        assert_eq!(mask4(24), 0xffff_ff00);
        assert_eq!(mask4(32), u32::MAX);
        assert_eq!(mask4(200), u32::MAX);
        let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(prefix6(&a, 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(prefix6(&a, 128), a);
        assert_eq!(prefix6(&a, 32), "2001:db8::".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn v4_table_keeps_primaries_before_secondaries() {
        let mut t = V4Addrs::default();
        let a = |ip: [u8; 4], sec: bool| Addr {
            prefix_len: 24,
            local: IpAddr::V4(ip.into()),
            broadcast: None,
            label: None,
            flags: if sec { IFA_F_SECONDARY } else { 0 },
            scope: 0,
            metric: 0,
            proto: 0,
        };
        t.insert(a([10, 0, 0, 1], false));
        t.insert(a([10, 0, 0, 2], true));
        t.insert(a([10, 0, 1, 1], false));
        let order: Vec<_> = t.iter().map(|a| a.local).collect();
        assert_eq!(
            order,
            [[10, 0, 0, 1], [10, 0, 1, 1], [10, 0, 0, 2]].map(|o| IpAddr::V4(o.into()))
        );
        assert!(t
            .remove(u32::from(Ipv4Addr::new(10, 0, 0, 1)), 24)
            .is_some());
        assert!(!t.subnets.contains_key(&(0x0a00_0000, 24)));
        assert!(t
            .remove(u32::from(Ipv4Addr::new(10, 0, 0, 1)), 24)
            .is_none());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn v6_table_lists_global_first_newest_first() {
        let mut t = V6Addrs::default();
        let a = |s: &str, scope| Addr {
            prefix_len: 64,
            local: s.parse().unwrap(),
            broadcast: None,
            label: None,
            flags: 0,
            scope,
            metric: 0,
            proto: 0,
        };
        t.insert(a("fe80::1", RT_SCOPE_LINK));
        t.insert(a("2001:db8::1", 0));
        t.insert(a("2001:db8::2", 0));
        let order: Vec<String> = t.iter().map(|a| a.local.to_string()).collect();
        assert_eq!(order, ["2001:db8::2", "2001:db8::1", "fe80::1"]);
        assert!(t.remove(&"2001:db8::2".parse().unwrap()).is_some());
        assert_eq!(t.prefixes.get(&(0x2001_0db8 << 96, 64)), Some(&1));
        assert_eq!(t.clear().len(), 2);
        assert_eq!(t.len(), 0);
    }
}
