//! Where a dump resumes ([`Cursor`]): a key of the entry, not a position.
//!
//! - links: the index of the next link (the table is ordered by index);
//! - addresses: the family being listed and the position in the table
//!   (the kernel resumes address dumps by position too);
//! - routes: the family being listed, the route's place in the dump order
//!   (table, prefix, length, TOS, metric) and how many routes of the same
//!   place come before it; a datagram starts with a binary search, and a
//!   route added or removed elsewhere shifts nothing.
//!
//! The first byte tells the family (1: IPv4, 2: IPv6, or for links 1); 0
//! is [`Cursor::START`].

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

use nlq::stack::{Cursor, StackResult, Visit};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, RouteRepr};

use crate::route::Route;
use crate::route_list::RouteList;
use crate::{DataPlane, MemStack};

/// A place in the dump order.
type Order = (u8, u32, u128, Reverse<u8>, u8, u32);

const V4: u8 = 1;
const V6: u8 = 2;

/// A cursor of phase `phase` holding `fields`, in order.
fn encode(phase: u8, fields: &[&[u8]]) -> Cursor {
    let mut k = [0; Cursor::LEN];
    k[0] = phase;
    // What is left of the key after the phase and the fields so far; the
    // fields that do not fit are left out.
    let mut free = k.get_mut(1..).unwrap_or_default();
    for f in fields {
        let Some((dst, rest)) = std::mem::take(&mut free).split_at_mut_checked(f.len()) else {
            break;
        };
        dst.copy_from_slice(f);
        free = rest;
    }
    Cursor::new(k)
}

/// Reads `N` bytes at `at` of a cursor's key.
fn field<const N: usize>(c: &Cursor, at: usize) -> [u8; N] {
    let mut b = [0; N];
    if let Some(src) = c.key().get(at..at.saturating_add(N)) {
        b.copy_from_slice(src);
    }
    b
}

fn route_cursor(phase: u8, order: Order, rank: u32) -> Cursor {
    let (t, table, dst, Reverse(len), tos, prio) = order;
    encode(
        phase,
        &[
            &[t],
            &table.to_be_bytes(),
            &dst.to_be_bytes(),
            &[len, tos],
            &prio.to_be_bytes(),
            &rank.to_be_bytes(),
        ],
    )
}

fn route_place(c: &Cursor) -> (Order, u32) {
    let [t] = field::<1>(c, 1);
    let table = u32::from_be_bytes(field(c, 2));
    let dst = u128::from_be_bytes(field(c, 6));
    let [len, tos] = field::<2>(c, 22);
    let prio = u32::from_be_bytes(field(c, 24));
    let rank = u32::from_be_bytes(field(c, 28));
    ((t, table, dst, Reverse(len), tos, prio), rank)
}

/// The cursor of position `i` of `list` (its length: after the last).
fn route_cursor_at(phase: u8, list: &RouteList, i: usize) -> Cursor {
    let start = route_cursor(phase, (0, 0, 0, Reverse(u8::MAX), 0, 0), 0);
    // The place of the entry before, and one more than the routes of that
    // place before it: resuming finds the first route after it. (`i` is
    // at most the length: the entry before is there; were it not, the
    // phase would start over.)
    let Some(order) = i
        .checked_sub(1)
        .and_then(|last| list.get(last))
        .map(Route::order)
    else {
        return start;
    };
    let mut rank = 1u32;
    let mut j = i.saturating_sub(1);
    while let Some(prev) = j.checked_sub(1) {
        if list.get(prev).map(Route::order) != Some(order) {
            break;
        }
        j = prev;
        rank = rank.saturating_add(1);
    }
    route_cursor(phase, order, rank)
}

/// The position a route cursor resumes at in `list`.
fn route_position(list: &RouteList, c: &Cursor) -> usize {
    let (order, rank) = route_place(c);
    let from = list.partition_by_order(|o| *o < order);
    // Routes of the same place, up to `rank` of them (a position in the
    // list: the sum does not wrap).
    let same = list
        .range(from..usize::MAX)
        .take(rank as usize)
        .take_while(|r| r.order() == order)
        .count();
    from.wrapping_add(same)
}

/// The entries of `map` (by a 32-bit id) from `from` on, each as `repr`
/// makes it; the cursor holds the next id, wide enough to go past
/// `u32::MAX`.
pub(crate) fn by_id<T, R>(
    map: &BTreeMap<u32, T>,
    from: &Cursor,
    repr: impl Fn(u32, &T) -> R,
    visit: Visit<'_, R>,
) -> Cursor {
    let start = if *from == Cursor::START {
        0
    } else {
        u64::from_be_bytes(field(from, 1))
    };
    let mut next = start;
    let first = u32::try_from(start).unwrap_or(u32::MAX);
    let entries = map.range(first..).filter(|(&i, _)| u64::from(i) >= start);
    for (&id, e) in entries {
        if visit(&repr(id, e)).is_break() {
            return encode(1, &[&u64::from(id).to_be_bytes()]);
        }
        next = u64::from(id) + 1;
    }
    encode(1, &[&next.to_be_bytes()])
}

impl<D: DataPlane> MemStack<D> {
    pub(crate) fn links_after(
        &self,
        from: &Cursor,
        visit: Visit<'_, LinkRepr>,
    ) -> StackResult<Cursor> {
        let decorate = self.plane.link_decorator();
        let repr = |_, l: &crate::link::Link| {
            let mut r = l.repr();
            decorate(&mut r);
            r
        };
        Ok(by_id(&self.links, from, repr, visit))
    }

    pub(crate) fn addrs_after(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, AddrRepr>,
    ) -> StackResult<Cursor> {
        let phases: &[(u8, u8)] = match family {
            AF_INET => &[(V4, AF_INET)],
            AF_INET6 => &[(V6, AF_INET6)],
            _ => &[(V4, AF_INET), (V6, AF_INET6)],
        };
        let (phase, pos) = if *from == Cursor::START {
            (0, 0)
        } else {
            let [p] = field::<1>(from, 0);
            let pos = u64::from_be_bytes(field(from, 1));
            (p, usize::try_from(pos).unwrap_or(usize::MAX))
        };
        let at = |p: u8, i: usize| encode(p, &[&(i as u64).to_be_bytes()]);
        let mut end = at(phases.first().map_or(V4, |&(p, _)| p), 0);
        for &(p, f) in phases.iter().filter(|(p, _)| *p >= phase) {
            let first = if p == phase { pos } else { 0 };
            let rest = self.addrs.get(first..).unwrap_or_default();
            for (i, a) in (first..).zip(rest) {
                if a.family() == f && visit(&a.repr()).is_break() {
                    return Ok(at(p, i));
                }
            }
            end = at(p, self.addrs.len());
        }
        Ok(end)
    }

    pub(crate) fn routes_after(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RouteRepr>,
    ) -> StackResult<Cursor> {
        let phases = [
            (V4, &self.routes4, family != AF_INET6),
            (V6, &self.routes6, family != AF_INET),
        ];
        let phase = if *from == Cursor::START {
            0
        } else {
            field::<1>(from, 0)[0]
        };
        let mut repr = RouteRepr::default();
        let mut end = Cursor::START;
        for &(p, list, _) in phases.iter().filter(|(p, _, on)| *on && *p >= phase) {
            let first = if p == phase {
                route_position(list, from)
            } else {
                0
            };
            for (i, r) in (first..).zip(list.range(first..usize::MAX)) {
                r.fill(&mut repr);
                if visit(&repr) == ControlFlow::Break(()) {
                    return Ok(route_cursor_at(p, list, i));
                }
            }
            end = route_cursor_at(p, list, list.len());
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use nlq::stack::{CreateFlags, Stack};

    use super::*;

    fn route(dst: &str, len: u8, metric: u32) -> RouteRepr {
        let mut r = RouteRepr::new(dst.parse::<IpAddr>().unwrap(), len);
        r.header.route_type = RTN_BLACKHOLE;
        r.priority = Some(metric);
        r
    }

    /// Dumps `family` in datagrams of at most `per` routes, running
    /// `between` after each.
    fn dump(
        s: &mut MemStack,
        family: u8,
        per: usize,
        mut between: impl FnMut(&mut MemStack, usize),
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = Cursor::START;
        for round in 0.. {
            let mut n = 0;
            let before = out.len();
            at = s
                .routes_from(family, &at, &mut |r| {
                    if n == per {
                        return ControlFlow::Break(());
                    }
                    n += 1;
                    out.push(format!("{:?}/{} {:?}", r.dst, r.header.dst_len, r.priority));
                    ControlFlow::Continue(())
                })
                .unwrap();
            if out.len() == before {
                break;
            }
            between(s, round);
        }
        out
    }

    #[test]
    fn a_dump_in_pieces_lists_each_route_once_whatever_changes_elsewhere() {
        let mut s = MemStack::new();
        let add = |s: &mut MemStack, r: &RouteRepr| {
            let flags = CreateFlags(NLM_F_CREATE | NLM_F_APPEND);
            s.add_route(r, flags, &mut |_| {}).unwrap();
        };
        for i in 0..50u32 {
            add(&mut s, &route(&format!("10.{}.0.0", i * 2), 16, 0));
            // Same place, three times (appended routes of one prefix).
            for m in 0..3 {
                add(
                    &mut s,
                    &route(&format!("2001:db8:{:x}::", i * 2), 64, 1024 + m),
                );
            }
        }
        let whole = dump(&mut s, AF_UNSPEC, usize::MAX, |_, _| {});
        assert_eq!(whole.len(), 200);
        for per in [1, 2, 3, 7, 64] {
            assert_eq!(
                dump(&mut s.clone(), AF_UNSPEC, per, |_, _| {}),
                whole,
                "{per}"
            );
        }
        // Routes added before the cursor during the dump are not listed
        // and shift nothing: every route there at the start comes once.
        let mut t = s.clone();
        let got = dump(&mut t, AF_UNSPEC, 5, |t, round| {
            add(t, &route(&format!("10.{}.0.0", round * 2 + 1), 16, 0));
        });
        for r in &whole {
            assert_eq!(got.iter().filter(|g| *g == r).count(), 1, "{r}");
        }
    }

    #[test]
    fn links_and_addresses_resume_where_they_stopped() {
        let mut s = MemStack::new();
        let mut links = Vec::new();
        let at = s
            .links_from(&Cursor::START, &mut |l| {
                links.push(l.header.index);
                ControlFlow::Break(())
            })
            .unwrap();
        assert_eq!(links, [1]);
        let mut more = Vec::new();
        s.links_from(&at, &mut |l| {
            more.push(l.header.index);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(more, [1]);
        let excl = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);
        for i in 1..5u8 {
            let ip: IpAddr = format!("127.0.0.{}", i + 1).parse().unwrap();
            let a = AddrRepr::new(ip, 8, 1).with_local(ip);
            s.add_addr(&a, excl, &mut |_| {}).unwrap();
        }
        let mut seen = Vec::new();
        let mut at = Cursor::START;
        loop {
            let before = seen.len();
            at = s
                .addrs_from(AF_UNSPEC, &at, &mut |a| {
                    if seen.len() > before {
                        return ControlFlow::Break(());
                    }
                    seen.push(a.local);
                    ControlFlow::Continue(())
                })
                .unwrap();
            if seen.len() == before {
                break;
            }
        }
        assert_eq!(seen.len(), s.addr_count());
    }

    /// A link at the last index ends its dump like any other.
    #[test]
    fn a_link_at_the_last_index_ends_the_dump() {
        let mut s = MemStack::new();
        let new = nlq::stack::NewLink {
            index: u32::MAX,
            name: nlq::wire::IfName::try_from_str("b0"),
            kind: "bridge",
            info: None,
            change: nlq::stack::LinkChange::default(),
        };
        s.add_link(&new, &mut |_| {}).unwrap();
        let mut at = Cursor::START;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let before = seen.len();
            at = s
                .links_from(&at, &mut |l| {
                    if seen.len() > before {
                        return ControlFlow::Break(());
                    }
                    seen.push(l.header.index);
                    ControlFlow::Continue(())
                })
                .unwrap();
            if seen.len() == before {
                break;
            }
        }
        assert_eq!(seen, [1, u32::MAX]);
    }
}
