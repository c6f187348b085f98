//! A family's routes in the kernel's dump order, held in chunks so that
//! adding or removing one in the middle of a large table moves at most
//! one chunk, and finding a position is a binary search.

use std::ops::{Index, IndexMut, Range};

use crate::route::Route;

/// Routes a chunk holds at most before it is split in two, in a large
/// table.
const CHUNK: usize = 1024;

/// The most routes a chunk holds in a list of `len`: about twice the
/// square root, from 64 to [`CHUNK`], so that an insert moves few routes
/// in a small table (the chunk) and recounts few chunks in a large one.
fn chunk_limit(len: usize) -> usize {
    (2 * len.isqrt()).clamp(64, CHUNK)
}

/// An ordered sequence of routes addressed by position (as a `Vec`), with
/// inserts and removals in O(chunk + chunks) rather than O(n).
#[derive(Debug, Clone)]
pub(crate) struct RouteList {
    /// Never empty chunks, in order.
    chunks: Vec<Vec<Route>>,
    /// For each chunk, the links its routes go through, as bits
    /// (`ifindex % 64`; a bit may stay set after its routes went), so
    /// that the routes of one link are found without a walk of the others.
    links: Vec<u64>,
    /// How many routes come before each chunk.
    starts: Vec<usize>,
    len: usize,
    /// How many routes have each prefix length (a route's length is never
    /// changed in place), so that lookups probe only lengths in use.
    lengths: [usize; 129],
    /// The lengths in use, as bits (bit `l % 64` of word `l / 64`).
    used: [u64; 3],
    /// The same, per table: (table, counts), a few tables.
    table_lengths: Vec<(u32, Box<[u32; 129]>)>,
}

impl Default for RouteList {
    fn default() -> Self {
        RouteList {
            chunks: Vec::new(),
            links: Vec::new(),
            starts: Vec::new(),
            len: 0,
            lengths: [0; 129],
            used: [0; 3],
            table_lengths: Vec::new(),
        }
    }
}

/// The bit of link `index`.
fn link_bit(index: u32) -> u64 {
    1 << (index % 64)
}

/// The bits of the links `r` goes through.
fn route_links(r: &Route) -> u64 {
    let hops = r.multipath.iter().flat_map(|m| m.iter());
    hops.fold(link_bit(r.oif), |b, h| b | link_bit(h.ifindex))
}

fn links_of(chunk: &[Route]) -> u64 {
    chunk.iter().fold(0, |b, r| b | route_links(r))
}

impl RouteList {
    /// The list of `routes`, in the order given.
    pub fn from_vec(routes: Vec<Route>) -> Self {
        let mut list = RouteList::default();
        for r in &routes {
            list.count(r, true);
        }
        let limit = chunk_limit(routes.len());
        let mut it = routes.into_iter().peekable();
        while it.peek().is_some() {
            let mut chunk = Vec::with_capacity(limit + 1);
            chunk.extend(it.by_ref().take(limit * 3 / 4));
            list.links.push(links_of(&chunk));
            list.chunks.push(chunk);
        }
        list.restart(0);
        list
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn count(&mut self, r: &Route, added: bool) {
        let len = usize::from(r.dst_len);
        if let Some(n) = self.lengths.get_mut(len) {
            *n = if added { *n + 1 } else { n.saturating_sub(1) };
            let bit = 1u64 << (len % 64);
            if *n == 0 {
                self.used[len / 64] &= !bit;
            } else {
                self.used[len / 64] |= bit;
            }
        }
        let at = match self.table_lengths.iter().position(|(t, _)| *t == r.table) {
            Some(at) => at,
            None => {
                self.table_lengths.push((r.table, Box::new([0; 129])));
                self.table_lengths.len() - 1
            }
        };
        if let Some(n) = self.table_lengths[at].1.get_mut(len) {
            *n = if added { *n + 1 } else { n.saturating_sub(1) };
        }
    }

    /// Some route of `table` has prefix length `len`.
    pub fn has_length(&self, table: u32, len: u8) -> bool {
        self.table_lengths
            .iter()
            .find(|(t, _)| *t == table)
            .and_then(|(_, n)| n.get(usize::from(len)))
            .is_some_and(|n| *n != 0)
    }

    /// The prefix lengths some route has, longest first.
    pub fn lengths(&self) -> impl Iterator<Item = u8> + '_ {
        let mut word = 3;
        let mut bits = 0u64;
        std::iter::from_fn(move || loop {
            if bits != 0 {
                let top = 63 - bits.leading_zeros();
                bits &= !(1u64 << top);
                return u8::try_from(word * 64 + top as usize).ok();
            }
            word = word.checked_sub(1)?;
            bits = self.used[word];
        })
    }

    /// The chunk holding position `i` (`i < len`), and where in it.
    fn locate(&self, i: usize) -> (usize, usize) {
        let c = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        (c, i - self.starts.get(c).copied().unwrap_or(0))
    }

    /// As [`locate`](Self::locate), and the end of the last chunk for
    /// `i == len` (the list is not empty).
    fn locate_end(&self, i: usize) -> (usize, usize) {
        if i < self.len {
            return self.locate(i);
        }
        let last = self.chunks.len() - 1;
        (last, self.chunks[last].len())
    }

    /// Recounts the starts of the chunks from `c` on.
    fn restart(&mut self, c: usize) {
        self.starts.truncate(c);
        let mut at = match c.checked_sub(1) {
            Some(p) => self.starts[p] + self.chunks[p].len(),
            None => 0,
        };
        for ch in &self.chunks[c..] {
            self.starts.push(at);
            at += ch.len();
        }
        self.len = at;
    }

    pub fn get(&self, i: usize) -> Option<&Route> {
        if i >= self.len {
            return None;
        }
        let (c, o) = self.locate(i);
        self.chunks.get(c)?.get(o)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Route> {
        if i >= self.len {
            return None;
        }
        let (c, o) = self.locate(i);
        self.chunks.get_mut(c)?.get_mut(o)
    }

    /// Inserts `r` at position `i` (`i <= len`).
    pub fn insert(&mut self, i: usize, r: Route) {
        assert!(i <= self.len, "insert at {i} of {}", self.len);
        self.count(&r, true);
        if self.chunks.is_empty() {
            self.links.push(route_links(&r));
            self.chunks.push(vec![r]);
            self.restart(0);
            return;
        }
        let limit = chunk_limit(self.len);
        let (c, o) = match self.locate_end(i) {
            // Between two chunks: the end of the first, while it has room.
            (c, 0) if c > 0 && self.chunks[c - 1].len() < limit => {
                (c - 1, self.chunks[c - 1].len())
            }
            at => at,
        };
        self.links[c] |= route_links(&r);
        let chunk = &mut self.chunks[c];
        if chunk.len() == chunk.capacity() {
            // Grown by doubling, to the limit + 1 at most: no chunk holds
            // more than twice what it needs, a full one nothing more.
            let want = (chunk.capacity() * 2).clamp(4, limit + 1);
            chunk.reserve_exact(want.saturating_sub(chunk.len()));
        }
        chunk.insert(o, r);
        if chunk.len() > limit {
            // Where a run of routes added in order goes on, the chunk is
            // cut beside the new route, so that the run fills chunks;
            // elsewhere it is halved.
            let at = if o >= limit * 3 / 4 {
                (o + 1).min(limit)
            } else if o < limit / 4 {
                o.max(1)
            } else {
                chunk.len() / 2
            };
            let tail: Vec<Route> = chunk.drain(at..).collect();
            self.links[c] = links_of(chunk);
            self.links.insert(c + 1, links_of(&tail));
            self.chunks.insert(c + 1, tail);
        }
        self.restart(c);
    }

    /// Removes and returns the route at position `i` (`i < len`).
    pub fn remove(&mut self, i: usize) -> Route {
        assert!(i < self.len, "remove at {i} of {}", self.len);
        let (c, o) = self.locate(i);
        let r = self.chunks[c].remove(o);
        self.count(&r, false);
        if self.chunks[c].is_empty() {
            self.chunks.remove(c);
            self.links.remove(c);
        }
        self.restart(c);
        r
    }

    /// The route at position `i` changed in place: its links are noted.
    pub fn changed(&mut self, i: usize) {
        if i < self.len {
            let (c, o) = self.locate(i);
            self.links[c] |= route_links(&self.chunks[c][o]);
        }
    }

    /// Runs `f` on every route that may go through link `index` (only the
    /// chunks holding one are walked; `f` must not change links).
    pub fn for_link_mut(&mut self, index: u32, mut f: impl FnMut(&mut Route)) {
        let bit = link_bit(index);
        for (chunk, links) in self.chunks.iter_mut().zip(&self.links) {
            if links & bit != 0 {
                chunk.iter_mut().for_each(&mut f);
            }
        }
    }

    /// Removes the routes through link `index` that `pred` selects, and
    /// returns them in order. Only the chunks holding a route through the
    /// link are walked.
    pub fn drain_link(&mut self, index: u32, pred: impl Fn(&Route) -> bool) -> Vec<Route> {
        let bit = link_bit(index);
        let mut removed = Vec::new();
        let mut first = None;
        for c in 0..self.chunks.len() {
            if self.links[c] & bit == 0 {
                continue;
            }
            let chunk = &mut self.chunks[c];
            let before = removed.len();
            let mut kept = Vec::with_capacity(chunk.capacity());
            for r in chunk.drain(..) {
                if pred(&r) {
                    removed.push(r);
                } else {
                    kept.push(r);
                }
            }
            *chunk = kept;
            self.links[c] = links_of(chunk);
            if removed.len() > before {
                first.get_or_insert(c);
            }
        }
        for r in &removed {
            self.count(r, false);
        }
        if let Some(first) = first {
            let mut c = first;
            while c < self.chunks.len() {
                if self.chunks[c].is_empty() {
                    self.chunks.remove(c);
                    self.links.remove(c);
                } else {
                    c += 1;
                }
            }
            self.restart(first);
        }
        removed
    }

    /// The first position where `before` is false (it must be true for a
    /// prefix of the list and false after), as `slice::partition_point`.
    pub fn partition_point(&self, mut before: impl FnMut(&Route) -> bool) -> usize {
        let c = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(&mut before));
        match self.chunks.get(c) {
            Some(ch) => self.starts[c] + ch.partition_point(before),
            None => self.len,
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Route> + Clone {
        self.chunks.iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Route> {
        self.chunks.iter_mut().flatten()
    }

    /// The routes at positions `range` (clamped to the list).
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = &Route> + Clone {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        let (c, o) = if start < self.len {
            self.locate(start)
        } else {
            (self.chunks.len(), 0)
        };
        let first = self.chunks.get(c).map_or(&[][..], |ch| &ch[o..]);
        let rest = self.chunks.get(c + 1..).unwrap_or_default();
        first.iter().chain(rest.iter().flatten()).take(end - start)
    }

    /// Routes allocated for (the list's capacity).
    pub fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }
}

impl Index<usize> for RouteList {
    type Output = Route;
    fn index(&self, i: usize) -> &Route {
        match self.get(i) {
            Some(r) => r,
            None => panic!("route {i} of {}", self.len),
        }
    }
}

impl IndexMut<usize> for RouteList {
    fn index_mut(&mut self, i: usize) -> &mut Route {
        let len = self.len;
        match self.get_mut(i) {
            Some(r) => r,
            None => panic!("route {i} of {len}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::consts::*;

    fn route(n: u32) -> Route {
        let any = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let mut r = Route::kernel(RT_TABLE_MAIN, any, 0, RTN_UNICAST, RT_SCOPE_LINK, 1, None);
        r.priority = n;
        r
    }

    fn ids(l: &RouteList) -> Vec<u32> {
        l.iter().map(|r| r.priority).collect()
    }

    /// Inserts and removals at pseudo-random positions agree with a `Vec`
    /// across many chunk splits and merges.
    #[test]
    fn behaves_as_a_vec() {
        let mut list = RouteList::default();
        let mut model: Vec<u32> = Vec::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % (m as u64).max(1)).unwrap()
        };
        for n in 0..20_000u32 {
            if model.len() > 10 && next(3) == 0 {
                let i = next(model.len());
                assert_eq!(list.remove(i).priority, model.remove(i));
            } else {
                let i = next(model.len() + 1);
                list.insert(i, route(n));
                model.insert(i, n);
            }
        }
        assert_eq!(list.len(), model.len());
        assert_eq!(ids(&list), model);
        for i in (0..model.len()).step_by(97) {
            assert_eq!(list[i].priority, model[i]);
            let got: Vec<u32> = list.range(i..i + 300).map(|r| r.priority).collect();
            assert_eq!(got, model[i..(i + 300).min(model.len())]);
        }
        assert_eq!(list.range(model.len()..model.len() + 5).count(), 0);
        let back: Vec<u32> = list.iter().rev().map(|r| r.priority).collect();
        assert!(back.iter().eq(model.iter().rev()));
    }

    /// A table filled in order (here: two interleaved runs, as `/24`s
    /// and `/32`s of a full table are) keeps its chunks nearly full; one
    /// filled at random wastes at most about as much as it holds.
    #[test]
    fn chunks_stay_full() {
        let mut list = RouteList::default();
        for n in 0..50_000u32 {
            // Even ones go before all the odd ones, each run ascending.
            let i = if n & 1 == 0 {
                (n / 2) as usize
            } else {
                list.len()
            };
            list.insert(i, route(n));
        }
        assert!(
            list.capacity() <= list.len() + list.len() / 20,
            "{}",
            list.capacity()
        );
        let mut random = RouteList::default();
        let mut x: u32 = 7;
        for n in 0..50_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            random.insert(x as usize % (random.len() + 1), route(n));
        }
        assert!(
            random.capacity() <= 2 * random.len(),
            "{}",
            random.capacity()
        );
    }

    #[test]
    fn partition_point_finds_the_boundary() {
        let list = RouteList::from_vec((0..5_000).map(route).collect());
        for k in [0, 1, 511, 512, 513, 2_500, 4_999, 5_000, 9_000] {
            assert_eq!(
                list.partition_point(|r| r.priority < k),
                k.min(5_000) as usize
            );
        }
        assert_eq!(RouteList::default().partition_point(|_| true), 0);
    }

    /// Draining a link's routes removes exactly what a filter of the
    /// whole list would, keeps the rest in order, and leaves the list
    /// usable (positions, lengths, later drains) whatever the chunks.
    #[test]
    fn drain_link_is_a_filter() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut all: Vec<Route> = (0..6_000u32)
            .map(|n| {
                let mut r = route(n);
                // Links 1 to 200: bits shared by links 64 apart.
                r.oif = 1 + next(200) as u32;
                r.dst_len = next(33) as u8;
                r
            })
            .collect();
        let mut list = RouteList::from_vec(all.clone());
        for (i, r) in all.iter().enumerate().take(500) {
            list.insert(i * 3, r.clone());
        }
        all = list.iter().cloned().collect();
        for link in [5u32, 69, 133, 200, 7, 5] {
            let odd = |r: &Route| r.oif == link && r.priority % 2 == 1;
            let want: Vec<u32> = all.iter().filter(|r| odd(r)).map(|r| r.priority).collect();
            let got: Vec<u32> = list
                .drain_link(link, odd)
                .iter()
                .map(|r| r.priority)
                .collect();
            assert_eq!(got, want, "link {link}");
            all.retain(|r| !odd(r));
            assert_eq!(
                ids(&list),
                all.iter().map(|r| r.priority).collect::<Vec<_>>()
            );
            assert_eq!(list.len(), all.len());
            let lengths: Vec<u8> = list.lengths().collect();
            let mut expect: Vec<u8> = all.iter().map(|r| r.dst_len).collect();
            expect.sort_unstable_by(|a, b| b.cmp(a));
            expect.dedup();
            assert_eq!(lengths, expect);
        }
        let everything = list.drain_link(5, |r| r.oif == 5);
        assert!(everything.iter().all(|r| r.oif == 5));
        assert!(list.iter().all(|r| r.oif != 5));
    }
}
