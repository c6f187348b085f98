//! Indexes that spare walks of the tables: the IPv4 addresses by subnet
//! (link, prefix of the peer, prefix length), what `__inet_insert_ifa` and
//! `find_matching_ifa` look for when an address is added; the preferred
//! sources of the main table's IPv4 routes.

use std::net::IpAddr;

use nlq::wire::consts::RT_TABLE_MAIN;

use crate::addr::Addr;
use crate::hash::FastMap;
use crate::plane::{Change, RouteRef};

/// A subnet of a link: `(ifindex, prefix, prefix length)`.
type Subnet = (u32, u32, u8);

/// See the [module](self).
#[derive(Debug, Clone, Default)]
pub(crate) struct SubnetIndex {
    /// The local addresses and scopes of each subnet's addresses.
    subnets: FastMap<Subnet, Members>,
}

/// The addresses of one subnet: most subnets have one, held without a
/// heap allocation.
#[derive(Debug, Clone)]
enum Members {
    One([(IpAddr, u8); 1]),
    Many(Vec<(IpAddr, u8)>),
}

impl Members {
    fn as_slice(&self) -> &[(IpAddr, u8)] {
        match self {
            Members::One(one) => one,
            Members::Many(v) => v,
        }
    }

    fn push(&mut self, m: (IpAddr, u8)) {
        match self {
            Members::One([first]) => *self = Members::Many(vec![*first, m]),
            Members::Many(v) => v.push(m),
        }
    }

    /// Removes `m`; true when none is left.
    fn remove(&mut self, m: (IpAddr, u8)) -> bool {
        match self {
            Members::One([first]) => *first == m,
            Members::Many(v) => {
                if let Some(i) = v.iter().position(|x| *x == m) {
                    v.swap_remove(i);
                }
                v.is_empty()
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Members::One(_) => 0,
            Members::Many(v) => v
                .capacity()
                .saturating_mul(std::mem::size_of::<(IpAddr, u8)>()),
        }
    }
}

/// The subnet of an IPv4 address (`None` for IPv6).
fn subnet_of(a: &Addr) -> Option<Subnet> {
    let IpAddr::V4(peer) = a.peer else {
        return None;
    };
    let mask = u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(a.prefix_len)))
        .unwrap_or(0);
    Some((a.ifindex, u32::from(peer) & mask, a.prefix_len))
}

impl SubnetIndex {
    /// `a` joined the table.
    pub fn insert(&mut self, a: &Addr) {
        if let Some(s) = subnet_of(a) {
            let m = (a.local, a.scope);
            match self.subnets.entry(s) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(m),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Members::One([m]));
                }
            }
        }
    }

    /// `a` left the table.
    pub fn remove(&mut self, a: &Addr) {
        let Some(s) = subnet_of(a) else { return };
        if self
            .subnets
            .get_mut(&s)
            .is_some_and(|m| m.remove((a.local, a.scope)))
        {
            self.subnets.remove(&s);
        }
    }

    /// The local addresses and scopes of the addresses in `a`'s subnet
    /// (same link, same prefix length, its peer in the subnet).
    pub fn beside(&self, a: &Addr) -> &[(IpAddr, u8)] {
        subnet_of(a)
            .and_then(|s| self.subnets.get(&s))
            .map_or(&[], Members::as_slice)
    }

    /// The bytes the index occupies, roughly.
    pub fn heap_bytes(&self) -> usize {
        let members = self.subnets.values().map(Members::heap_bytes);
        self.subnets
            .capacity()
            .saturating_mul(std::mem::size_of::<(Subnet, Members)>())
            .saturating_add(members.fold(0, usize::saturating_add))
    }
}

/// How many IPv4 routes of the main table have each preferred source, so
/// that an address that goes finds the routes naming it (`fib_sync_down_addr`)
/// without a walk of the table when there are none.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceCount {
    counts: FastMap<IpAddr, usize>,
}

impl SourceCount {
    fn count(&mut self, r: &RouteRef<'_>, added: bool) {
        let Some(src) = r.prefsrc() else { return };
        if r.family() != nlq::wire::consts::AF_INET || r.table() != RT_TABLE_MAIN {
            return;
        }
        let n = self.counts.entry(src).or_default();
        if added {
            // Routes in memory: the count does not overflow.
            *n = n.saturating_add(1);
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.counts.remove(&src);
            }
        }
    }

    /// Follows a change of the route tables.
    pub fn note(&mut self, change: &Change<'_>) {
        match change {
            Change::RouteAdded(r) => self.count(r, true),
            Change::RouteRemoved(r) => self.count(r, false),
            Change::RouteReplaced { old, new } => {
                self.count(old, false);
                self.count(new, true);
            }
            _ => {}
        }
    }

    /// Some main-table route has `src` as its preferred source.
    pub fn used(&self, src: IpAddr) -> bool {
        self.counts.contains_key(&src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(last: u8, len: u8) -> Addr {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
        Addr {
            ifindex: 2,
            prefix_len: len,
            local: ip,
            peer: ip,
            broadcast: None,
            label: None,
            flags: 0,
            scope: 0,
            metric: 0,
            proto: 0,
        }
    }

    #[test]
    fn a_subnet_keeps_its_members_whatever_the_order_they_go() {
        let mut idx = SubnetIndex::default();
        let (a, b, c) = (addr(1, 24), addr(2, 24), addr(3, 24));
        let other = addr(4, 25);
        for x in [&a, &b, &c, &other] {
            idx.insert(x);
        }
        let members = |idx: &SubnetIndex, x: &Addr| {
            let mut v: Vec<IpAddr> = idx.beside(x).iter().map(|m| m.0).collect();
            v.sort();
            v
        };
        assert_eq!(members(&idx, &a), [a.local, b.local, c.local]);
        assert_eq!(members(&idx, &other), [other.local]);
        idx.remove(&b);
        assert_eq!(members(&idx, &c), [a.local, c.local]);
        idx.remove(&a);
        idx.remove(&a);
        assert_eq!(members(&idx, &c), [c.local]);
        idx.remove(&c);
        assert!(idx.beside(&c).is_empty());
        // One member, removed by another's address: it stays.
        idx.remove(&addr(9, 25));
        assert_eq!(members(&idx, &other), [other.local]);
        idx.remove(&other);
        assert_eq!(
            idx.heap_bytes(),
            idx.subnets.capacity() * std::mem::size_of::<(Subnet, Members)>()
        );
        assert!(idx.subnets.is_empty());
    }
}
