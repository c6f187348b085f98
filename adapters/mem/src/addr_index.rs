//! An index of the address table by local address, for single lookups
//! (`RTM_GETADDR` without a dump, [`Stack::find_addr`]).
//!
//! It is built on the first lookup after the table changed: many lookups
//! cost O(log n) each, and a change (already O(n): the table is a `Vec`
//! kept in order) costs at most one rebuild more.
//!
//! [`Stack::find_addr`]: nlq::stack::Stack::find_addr

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use crate::addr::Addr;

/// Positions in the address table, sorted by (local address, position).
type Sorted = Vec<(IpAddr, u32)>;

/// See the [module](self).
#[derive(Default)]
pub(crate) struct AddrIndex {
    /// The index and the table length it was built for; `None`: stale.
    built: Mutex<Option<(usize, Sorted)>>,
}

impl AddrIndex {
    /// The table changed: the next lookup rebuilds the index.
    pub fn invalidate(&mut self) {
        *self.built.get_mut().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The first position in `addrs` (in table order) whose local address
    /// is `local` and for which `want` holds.
    pub fn find(
        &self,
        addrs: &[Addr],
        local: IpAddr,
        want: impl Fn(&Addr) -> bool,
    ) -> Option<usize> {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if built.as_ref().is_none_or(|(len, _)| *len != addrs.len()) {
            let mut sorted: Sorted = (0u32..).zip(addrs).map(|(pos, a)| (a.local, pos)).collect();
            sorted.sort_unstable();
            *built = Some((addrs.len(), sorted));
        }
        let (_, sorted) = built.as_ref()?;
        let from = sorted.partition_point(|(ip, _)| *ip < local);
        sorted
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|(ip, _)| *ip == local)
            .map(|(_, pos)| *pos as usize)
            .find(|pos| addrs.get(*pos).is_some_and(|a| a.local == local && want(a)))
    }

    /// The bytes the index occupies.
    pub fn heap_bytes(&self) -> usize {
        let built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        built.as_ref().map_or(0, |(_, s)| {
            s.capacity()
                .saturating_mul(std::mem::size_of::<(IpAddr, u32)>())
        })
    }
}

impl Clone for AddrIndex {
    /// An index to build again (it is a cache).
    fn clone(&self) -> Self {
        AddrIndex::default()
    }
}

impl std::fmt::Debug for AddrIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddrIndex")
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::ops::ControlFlow;

    use nlq::stack::{CreateFlags, LinkChange, NewLink, Stack};
    use nlq::wire::consts::*;
    use nlq::wire::AddrRepr;

    use crate::MemStack;

    /// What a walk of the table finds: the first match in dump order.
    fn scan(s: &MemStack, family: u8, local: IpAddr, index: u32) -> Option<AddrRepr> {
        let mut found = None;
        s.addrs(family, 0, &mut |a: &AddrRepr| {
            if a.local.or(a.address) == Some(local) && (index == 0 || a.header.index == index) {
                found = Some(*a);
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        found
    }

    fn link(s: &mut MemStack, name: &str) -> u32 {
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str(name),
            kind: "dummy",
            info: None,
            change: LinkChange::default(),
        };
        let i = s.add_link(&new, &mut |_| {}).unwrap();
        let up = LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..Default::default()
        };
        s.set_link(i, &up, &mut |_| {}).unwrap();
        i
    }

    fn v6(i: u16) -> IpAddr {
        IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, i])
    }

    /// Single lookups answer what a walk of the table answers, through
    /// adds and deletes, an address on two links, and both families.
    #[test]
    fn lookups_match_a_walk_of_the_table() {
        let mut s = MemStack::new();
        let (a, b) = (link(&mut s, "a"), link(&mut s, "b"));
        let add = |s: &mut MemStack, ip: IpAddr, len: u8, dev: u32| {
            let r = AddrRepr::new(ip, len, dev).with_local(ip);
            let flags = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);
            s.add_addr(&r, flags, &mut |_| {}).unwrap();
        };
        let check = |s: &MemStack| {
            for ip in (0..40).map(v6).chain(["10.0.0.1".parse().unwrap()]) {
                for family in [AF_INET6, AF_INET, AF_UNSPEC] {
                    for index in [0, a, b, 99] {
                        assert_eq!(
                            s.find_addr(family, ip, index).unwrap(),
                            scan(s, family, ip, index),
                            "{ip} family {family} link {index}"
                        );
                    }
                }
            }
        };
        check(&s);
        for i in (1..30).rev() {
            add(&mut s, v6(i), 64, if i % 3 == 0 { b } else { a });
        }
        add(&mut s, v6(7), 64, b);
        add(&mut s, "10.0.0.1".parse().unwrap(), 8, b);
        check(&s);
        for i in (1..30).step_by(4) {
            let dev = if i % 3 == 0 { b } else { a };
            s.del_addr(&AddrRepr::new(v6(i), 64, dev), &mut |_| {})
                .unwrap();
        }
        check(&s);
        let copy = s.clone();
        check(&copy);
    }
}
