//! Addresses: IPv4 as `devinet.c` keeps them (primaries, secondaries,
//! labels, the routes `fib_add_ifaddr` derives), IPv6 as `addrconf.c` does
//! (prefix and local routes, gone when the link goes down).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::errno::*;
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrCacheInfo, AddrRepr, IfAddrMsg, IfName};

use crate::link::{Kind, IPV6_MIN_MTU};
use crate::route::Route;
use crate::MemStack;

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
}

impl Addr {
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
        }
    }
}

fn v4(ip: &IpAddr) -> u32 {
    match ip {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(_) => 0,
    }
}

fn mask4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

/// `inet_ifa_match`: `a` lies in the subnet of `ifa`.
fn in_subnet(a: &IpAddr, ifa: &Addr) -> bool {
    (v4(a) ^ v4(&ifa.peer)) & mask4(ifa.prefix_len) == 0
}

fn prefix6(a: &Ipv6Addr, len: u8) -> Ipv6Addr {
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

impl MemStack {
    fn v4_addrs(&self, index: u32) -> impl Iterator<Item = &Addr> {
        self.addrs
            .iter()
            .filter(move |a| a.ifindex == index && a.local.is_ipv4())
    }

    /// Inserts keeping the list ordered by link; IPv4 primaries go after
    /// the link's last primary, everything else at the link's end.
    fn insert_addr(&mut self, a: Addr) {
        let same = |x: &Addr| x.ifindex == a.ifindex && x.family() == a.family();
        let pos = if a.local.is_ipv4() && a.flags & IFA_F_SECONDARY == 0 {
            self.addrs
                .iter()
                .rposition(|x| same(x) && x.flags & IFA_F_SECONDARY == 0)
                .map(|p| p + 1)
                .or_else(|| self.addrs.iter().position(same))
        } else {
            self.addrs.iter().rposition(same).map(|p| p + 1)
        };
        let pos = pos.unwrap_or_else(|| {
            self.addrs
                .iter()
                .position(|x| x.ifindex > a.ifindex)
                .unwrap_or(self.addrs.len())
        });
        self.addrs.insert(pos, a);
    }

    pub(crate) fn addr_add(
        &mut self,
        req: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let index = req.header.index;
        self.link_ref(index)?;
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
        };
        // find_matching_ifa: the same subnet, mask and local address.
        if let Some(pos) = self.addrs.iter().position(|a| {
            a.ifindex == index
                && a.local.is_ipv4()
                && a.prefix_len == new.prefix_len
                && in_subnet(&a.peer, &new)
                && a.local == local
        }) {
            if flags.excl() || !flags.replace() {
                return Err(StackError::new(EEXIST));
            }
            let a = &mut self.addrs[pos];
            a.flags = (new.flags & !IFA_F_SECONDARY) | (a.flags & IFA_F_SECONDARY);
            events(Event::NewAddr(&a.repr()));
            return Ok(());
        }
        // __inet_insert_ifa: a second address in a subnet is secondary.
        for a in self.v4_addrs(index) {
            if a.prefix_len == new.prefix_len && in_subnet(&a.peer, &new) {
                if a.local == local {
                    return Err(StackError::new(EEXIST));
                }
                if a.scope != new.scope {
                    return Err(StackError::new(EINVAL));
                }
                new.flags |= IFA_F_SECONDARY;
            }
        }
        self.insert_addr(new.clone());
        events(Event::NewAddr(&new.repr()));
        self.fib_add_ifaddr(&new, events);
        Ok(())
    }

    /// The routes an IPv4 address brings: its local route always; while
    /// the link is up, its broadcast and (for a primary) prefix route.
    fn fib_add_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let Ok(link) = self.link_ref(a.ifindex) else {
            return;
        };
        let (up, lo) = (link.is_up(), link.kind == Kind::Loopback);
        let src = a.local;
        let local = Route::kernel(
            RT_TABLE_LOCAL,
            a.local,
            32,
            RTN_LOCAL,
            RT_SCOPE_HOST,
            a.ifindex,
            Some(src),
        );
        self.add_kernel_route(local, events);
        if !up {
            return;
        }
        if let Some(b) = a.broadcast.filter(|b| v4(b) != u32::MAX) {
            let r = Route::kernel(
                RT_TABLE_LOCAL,
                b,
                32,
                RTN_BROADCAST,
                RT_SCOPE_LINK,
                a.ifindex,
                Some(src),
            );
            self.add_kernel_route(r, events);
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
                let r = Route::kernel(table, dst, a.prefix_len, kind, scope, a.ifindex, Some(src));
                self.add_kernel_route(r, events);
            }
            if a.prefix_len < 31 {
                let b = IpAddr::V4(Ipv4Addr::from(prefix | !mask4(a.prefix_len)));
                let r = Route::kernel(
                    RT_TABLE_LOCAL,
                    b,
                    32,
                    RTN_BROADCAST,
                    RT_SCOPE_LINK,
                    a.ifindex,
                    Some(src),
                );
                self.add_kernel_route(r, events);
            }
        }
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
        if self.v4_addrs(index).any(|a| a.local == lo) {
            return;
        }
        let a = Addr {
            ifindex: index,
            prefix_len: 8,
            local: lo,
            peer: lo,
            broadcast: None,
            label: self.link_ref(index).ok().map(|l| l.name),
            flags: IFA_F_PERMANENT,
            scope: RT_SCOPE_HOST,
        };
        self.insert_addr(a.clone());
        events(Event::NewAddr(&a.repr()));
        // Its routes come with the link's NETDEV_UP, right after.
    }

    /// `lo` going up gets ::1/128.
    pub(crate) fn loopback_v6_up(&mut self, index: u32, events: Events<'_>) {
        let lo = IpAddr::V6(Ipv6Addr::LOCALHOST);
        if self
            .addrs
            .iter()
            .any(|a| a.ifindex == index && a.local == lo)
        {
            return;
        }
        let a = Addr {
            ifindex: index,
            prefix_len: 128,
            local: lo,
            peer: lo,
            broadcast: None,
            label: None,
            flags: IFA_F_PERMANENT,
            scope: RT_SCOPE_HOST,
        };
        self.insert_addr(a.clone());
        self.addr6_routes(&a, events);
        events(Event::NewAddr(&a.repr()));
    }

    /// Renames the labels that carried the link's old name.
    pub(crate) fn relabel(&mut self, index: u32, old: &IfName, new: &IfName) {
        for a in self.addrs.iter_mut().filter(|a| a.ifindex == index) {
            if let Some(l) = &a.label {
                if let Some(rest) = l.as_str().strip_prefix(old.as_str()) {
                    let renamed = format!("{}{}", new.as_str(), rest);
                    a.label = IfName::try_from_str(&renamed).or(Some(*new));
                }
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
            .ok_or(StackError::new(EADDRNOTAVAIL))?;
        self.del_ifa4(pos, events);
        Ok(())
    }

    /// `__inet_del_ifa` without promotion: deleting a primary deletes the
    /// secondaries of its subnet first.
    fn del_ifa4(&mut self, pos: usize, events: Events<'_>) {
        let a = self.addrs[pos].clone();
        if a.flags & IFA_F_SECONDARY == 0 {
            while let Some(p) = self.addrs.iter().position(|s| {
                s.ifindex == a.ifindex
                    && s.local.is_ipv4()
                    && s.flags & IFA_F_SECONDARY != 0
                    && s.prefix_len == a.prefix_len
                    && in_subnet(&s.peer, &a)
            }) {
                let s = self.addrs.remove(p);
                events(Event::DelAddr(&s.repr()));
                self.fib_del_ifaddr(&s, events);
            }
        }
        if let Some(p) = self.addrs.iter().position(|x| {
            x.ifindex == a.ifindex && x.local == a.local && x.prefix_len == a.prefix_len
        }) {
            self.addrs.remove(p);
        }
        events(Event::DelAddr(&a.repr()));
        self.fib_del_ifaddr(&a, events);
    }

    /// The routes an IPv4 address brought go with it (those another
    /// address of the same link still justifies stay).
    fn fib_del_ifaddr(&mut self, a: &Addr, events: Events<'_>) {
        let still = |s: &MemStack, dst: &IpAddr| {
            s.v4_addrs(a.ifindex)
                .any(|o| o.local == *dst && o.local != a.local)
        };
        let local = a.local;
        let keep_local = still(self, &local);
        let index = a.ifindex;
        self.del_kernel_routes(
            |r| {
                r.family == AF_INET
                    && r.protocol == RTPROT_KERNEL
                    && r.oif == index
                    && r.prefsrc == Some(local)
                    && !(keep_local && r.kind == RTN_LOCAL && r.dst == Some(local))
            },
            true,
            events,
        );
    }

    /// A deleted link's IPv4 addresses go (`inetdev_destroy`).
    pub(crate) fn ipv4_forget(&mut self, index: u32, events: Events<'_>) {
        while let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.ifindex == index && a.local.is_ipv4())
        {
            self.del_ifa4(pos, events);
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
        let (lo, noarp, mtu) = (
            link.kind == Kind::Loopback,
            link.flags & IFF_NOARP != 0,
            link.mtu,
        );
        let pfx = match req.local.or(req.address) {
            Some(IpAddr::V6(a)) => a,
            _ => return Err(StackError::new(EINVAL)),
        };
        if mtu < IPV6_MIN_MTU {
            return Err(StackError::new(EINVAL));
        }
        let asked = req.flags.unwrap_or(u32::from(req.header.flags)) & IFA6_SETTABLE;
        if pfx.is_unspecified() || pfx.is_multicast() || (pfx.is_loopback() && !lo) {
            return Err(StackError::new(EADDRNOTAVAIL));
        }
        let ip = IpAddr::V6(pfx);
        if let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.ifindex == index && a.local == ip)
        {
            if flags.excl() || !flags.replace() {
                return Err(StackError::new(EEXIST));
            }
            let a = &mut self.addrs[pos];
            a.flags = (a.flags & !IFA6_SETTABLE) | asked;
            events(Event::NewAddr(&a.repr()));
            return Ok(());
        }
        let dad = asked & IFA_F_NODAD == 0 && !lo && !noarp;
        let a = Addr {
            ifindex: index,
            prefix_len: req.header.prefix_len,
            local: ip,
            peer: ip,
            broadcast: None,
            label: None,
            flags: asked | IFA_F_PERMANENT | if dad { IFA_F_TENTATIVE } else { 0 },
            scope: scope6(&pfx),
        };
        self.insert_addr(a.clone());
        self.addr6_routes(&a, events);
        events(Event::NewAddr(&a.repr()));
        Ok(())
    }

    /// The prefix route of an IPv6 address (main table, metric 256), and
    /// its local route once it is usable (not tentative).
    fn addr6_routes(&mut self, a: &Addr, events: Events<'_>) {
        let IpAddr::V6(addr) = a.local else { return };
        if a.flags & IFA_F_NOPREFIXROUTE == 0 {
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
            r.priority = 256;
            self.add_kernel_route(r, events);
        }
        if a.flags & IFA_F_TENTATIVE == 0 {
            self.addr6_local_route(a, events);
        }
    }

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

    /// A link that became ready (up with carrier) completes duplicate
    /// address detection at once: its tentative addresses become usable.
    pub(crate) fn ipv6_ready(&mut self, index: u32, events: Events<'_>) {
        if !self.link_ref(index).is_ok_and(|l| l.is_ready()) {
            return;
        }
        let ready: Vec<usize> = (0..self.addrs.len())
            .filter(|&i| {
                let a = &self.addrs[i];
                a.ifindex == index && !a.local.is_ipv4() && a.flags & IFA_F_TENTATIVE != 0
            })
            .collect();
        for i in ready {
            self.addrs[i].flags &= !IFA_F_TENTATIVE;
            let a = self.addrs[i].clone();
            self.addr6_local_route(&a, events);
            events(Event::NewAddr(&a.repr()));
        }
    }

    fn addr6_del(&mut self, req: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let index = req.header.index;
        let want = req.local.or(req.address).ok_or(StackError::new(EINVAL))?;
        let pos = self
            .addrs
            .iter()
            .position(|a| {
                a.ifindex == index && a.local == want && a.prefix_len == req.header.prefix_len
            })
            .ok_or(StackError::new(EADDRNOTAVAIL))?;
        self.del_ifa6(pos, events);
        Ok(())
    }

    fn del_ifa6(&mut self, pos: usize, events: Events<'_>) {
        let a = self.addrs.remove(pos);
        events(Event::DelAddr(&a.repr()));
        let (index, local, plen) = (a.ifindex, a.local, a.prefix_len);
        let IpAddr::V6(addr) = local else { return };
        let prefix = IpAddr::V6(prefix6(&addr, plen));
        let shared = self.addrs.iter().any(|o| {
            o.ifindex == index
                && matches!(o.local, IpAddr::V6(x) if o.prefix_len == plen && IpAddr::V6(prefix6(&x, plen)) == prefix)
        });
        self.del_kernel_routes(
            |r| {
                r.family == AF_INET6
                    && r.oif == index
                    && r.protocol == RTPROT_KERNEL
                    && ((r.kind == RTN_LOCAL && r.dst == Some(local))
                        || (!shared
                            && r.kind == RTN_UNICAST
                            && r.dst == Some(prefix)
                            && r.dst_len == plen))
            },
            true,
            events,
        );
    }

    /// IPv6 leaves the link (it went down, or its MTU fell below 1280):
    /// every IPv6 address goes, with its routes.
    pub(crate) fn ipv6_down(&mut self, index: u32, events: Events<'_>) {
        while let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.ifindex == index && !a.local.is_ipv4())
        {
            self.del_ifa6(pos, events);
        }
        self.flush_link_routes(AF_INET6, index, true, events);
    }
}
