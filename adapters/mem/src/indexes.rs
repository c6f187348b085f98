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
    subnets: FastMap<Subnet, Vec<(IpAddr, u8)>>,
}

/// The subnet of an IPv4 address (`None` for IPv6).
fn subnet_of(a: &Addr) -> Option<Subnet> {
    let IpAddr::V4(peer) = a.peer else {
        return None;
    };
    let mask = u32::MAX
        .checked_shl(32 - u32::from(a.prefix_len.min(32)))
        .unwrap_or(0);
    Some((a.ifindex, u32::from(peer) & mask, a.prefix_len))
}

impl SubnetIndex {
    /// `a` joined the table.
    pub fn insert(&mut self, a: &Addr) {
        if let Some(s) = subnet_of(a) {
            self.subnets.entry(s).or_default().push((a.local, a.scope));
        }
    }

    /// `a` left the table.
    pub fn remove(&mut self, a: &Addr) {
        let Some(s) = subnet_of(a) else { return };
        if let Some(v) = self.subnets.get_mut(&s) {
            if let Some(i) = v.iter().position(|x| *x == (a.local, a.scope)) {
                v.swap_remove(i);
            }
            if v.is_empty() {
                self.subnets.remove(&s);
            }
        }
    }

    /// The local addresses and scopes of the addresses in `a`'s subnet
    /// (same link, same prefix length, its peer in the subnet).
    pub fn beside(&self, a: &Addr) -> &[(IpAddr, u8)] {
        subnet_of(a)
            .and_then(|s| self.subnets.get(&s))
            .map_or(&[], Vec::as_slice)
    }

    /// The bytes the index occupies, roughly.
    pub fn heap_bytes(&self) -> usize {
        self.subnets.capacity() * std::mem::size_of::<(Subnet, Vec<(IpAddr, u8)>)>()
            + self
                .subnets
                .values()
                .map(|v| v.capacity() * std::mem::size_of::<(IpAddr, u8)>())
                .sum::<usize>()
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
            *n += 1;
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
