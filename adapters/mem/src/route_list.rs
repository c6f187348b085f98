//! A family's routes in the kernel's dump order, held in chunks so that
//! adding or removing one in the middle of a large table moves at most
//! one chunk, and finding a position is a binary search.
//!
//! The routes themselves live in a slab and keep their place there for
//! their life; the chunks hold their handles. A hash of each prefix
//! (table, destination, length) to the first of its routes, with the
//! routes of one prefix chained in dump order, makes a lookup by prefix
//! one probe instead of a binary search over cold memory.
//!
//! Every handle in the chunks and in the chains comes from [`store`]
//! (RouteList::store), so it names a slot of the slab. The slab is read
//! with `get` all the same: a handle that is not there (a bug) reads as
//! the vacant route (no link, no heap) where one route is asked for, and
//! is skipped where routes are walked; debug builds stop on it. Counts
//! are of routes held in memory (fewer than 2^32, the handles): they do
//! not overflow.

use std::ops::Range;

use nlq::wire::consts::AF_INET6;

use crate::fenwick::Fenwick;
use crate::prefix_map::{Key4, Key6, PrefixMap};
use crate::route::{Route, RouteKey, RouteOrder};
use crate::slab::Slab;

/// Routes a chunk holds at most before it is split in two, in a large
/// table.
const CHUNK: usize = 1024;

/// The end of a chain of routes with one prefix.
const END: u32 = u32::MAX;

/// The most routes a chunk holds in a list of `len`: about twice the
/// square root, from 64 to [`CHUNK`], so that an insert moves few routes
/// in a small table (the chunk) and recounts few chunks in a large one.
fn chunk_limit(len: usize) -> usize {
    len.isqrt().saturating_mul(2).clamp(64, CHUNK)
}

/// A route in the slab, and the next route with its prefix.
#[derive(Debug, Clone)]
struct Slot {
    route: Route,
    /// The handle of the next route of the same prefix in dump order, or
    /// [`END`].
    next: u32,
}

/// An ordered sequence of routes addressed by position (as a `Vec`), with
/// inserts and removals in O(chunk + chunks) rather than O(n), and the
/// routes of a prefix found in O(1).
#[derive(Debug, Clone)]
pub(crate) struct RouteList {
    /// The routes; a vacant slot is listed in `vacant` (its route is a
    /// placeholder without heap).
    slots: Slab<Slot>,
    vacant: Vec<u32>,
    /// Never empty chunks of routes (their handles and order summaries),
    /// in order.
    chunks: Vec<Vec<Entry>>,
    /// For each chunk, the links its routes go through, as bits
    /// (`ifindex % 64`; a bit may stay set after its routes went), so
    /// that the routes of one link are found without a walk of the others.
    links: Vec<u64>,
    /// The chunks' sizes, so that a position's chunk and a chunk's start
    /// are found in O(log chunks).
    sizes: Fenwick,
    /// The summary and order of each chunk's last route, so that a
    /// search by order runs over these instead of over the routes.
    lasts: Vec<(u32, RouteOrder)>,
    len: usize,
    /// [`chunk_limit`] of the length at the last recount (chunks coming
    /// or going), so that an insert does not take a square root.
    limit: usize,
    /// How many routes have each prefix length (a route's length is never
    /// changed in place), so that lookups probe only lengths in use.
    lengths: [usize; 129],
    /// The lengths in use, as bits (bit `l % 64` of word `l / 64`).
    used: [u64; 3],
    /// The same, per table: (table, counts), a few tables.
    table_lengths: Vec<(u32, Box<[u32; 129]>)>,
    /// The first route of each prefix, by family (a list holds one).
    heads4: PrefixMap<Key4>,
    heads6: PrefixMap<Key6>,
    /// What a handle missing from the slab reads as (see the module
    /// docs): a vacant slot's route.
    none: Route,
}

impl Default for RouteList {
    fn default() -> Self {
        RouteList {
            slots: Slab::default(),
            vacant: Vec::new(),
            chunks: Vec::new(),
            links: Vec::new(),
            sizes: Fenwick::default(),
            lasts: Vec::new(),
            len: 0,
            limit: chunk_limit(0),
            lengths: [0; 129],
            used: [0; 3],
            table_lengths: Vec::new(),
            heads4: PrefixMap::default(),
            heads6: PrefixMap::default(),
            none: placeholder(),
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

/// What a vacant slot holds: no heap, no link.
fn placeholder() -> Route {
    let any = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    Route::kernel(0, any, 0, 0, 0, 0, None)
}

/// The hash key of `key`, by family.
enum HeadKey {
    V4(Key4),
    V6(Key6),
}

fn head_key(key: &RouteKey) -> HeadKey {
    let (v6, table, dst, len) = key.parts();
    if v6 {
        let words = [
            (dst >> 96) as u32,
            (dst >> 64) as u32,
            (dst >> 32) as u32,
            dst as u32,
        ];
        HeadKey::V6((table, words, len))
    } else {
        HeadKey::V4((table, dst as u32, len))
    }
}

/// A chunk's entry: a route's handle (low 32 bits) under a summary of
/// its order (high 32 bits, see [`summary`]), so that a search by order
/// compares summaries and reads a route only where two tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry(u64);

impl Entry {
    fn new(h: u32, r: &Route) -> Entry {
        Entry(u64::from(summary(r)) << 32 | u64::from(h))
    }

    fn handle(self) -> u32 {
        self.0 as u32
    }

    fn summary(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// 32 bits that never decrease along the dump order of one family
/// ([`Route::order`]: table as a byte, table, destination, ...): the
/// table's byte, then the top 24 bits of the destination for a table
/// below 256 (whose byte is the table), else all ones (tables from 256 on
/// share their byte with a smaller one, and sort after it; among
/// themselves they tie). Two routes whose summaries differ are in the
/// summaries' order; equal ones must be compared whole.
fn summary(r: &Route) -> u32 {
    let (t8, table, dst, ..) = r.order();
    let top = if r.family == AF_INET6 {
        (dst >> 104) as u32
    } else {
        (dst as u32) >> 8
    };
    let low = if table < 256 { top } else { 0xff_ffff };
    u32::from(t8) << 24 | low
}

impl RouteList {
    /// The list of `routes`, in the order given (fewer than 2^32: those
    /// past that have no handle, and are left out).
    pub fn from_vec(routes: Vec<Route>) -> Self {
        let mut list = RouteList::default();
        let limit = chunk_limit(routes.len());
        let per_chunk = (limit.saturating_mul(3) / 4).max(1);
        let mut chunk: Vec<Entry> = Vec::new();
        let mut last: Option<u32> = None;
        for r in routes {
            let Some(h) = list.store(r) else {
                break;
            };
            list.count_handle(h, true);
            match last.filter(|&l| list.route(l).key() == list.route(h).key()) {
                // Routes in order: a prefix's routes follow one another.
                Some(l) => list.set_next(l, h),
                None => list.link_after_last(h),
            }
            last = Some(h);
            chunk.push(list.entry(h));
            if chunk.len() == per_chunk {
                list.push_chunk(std::mem::take(&mut chunk), limit);
            }
        }
        if !chunk.is_empty() {
            list.push_chunk(chunk, limit);
        }
        list.recount();
        list
    }

    /// Appends `chunk` as the last chunk.
    fn push_chunk(&mut self, mut chunk: Vec<Entry>, limit: usize) {
        chunk.reserve_exact(limit.saturating_add(1).saturating_sub(chunk.len()));
        self.links.push(self.links_of(&chunk));
        if let Some(e) = chunk.last() {
            self.lasts.push(self.last_of(e.handle()));
        }
        self.chunks.push(chunk);
    }

    /// What `lasts` holds of the route in slot `h`, the last of its
    /// chunk: its summary and order.
    fn last_of(&self, h: u32) -> (u32, RouteOrder) {
        let r = self.route(h);
        (summary(r), r.order())
    }

    /// The chunk entry of the route in slot `h`.
    fn entry(&self, h: u32) -> Entry {
        Entry::new(h, self.route(h))
    }

    /// The route after `h` in its prefix's chain, or [`END`].
    fn next(&self, h: u32) -> u32 {
        self.slots.get(h).map_or(END, |s| s.next)
    }

    fn set_next(&mut self, h: u32, next: u32) {
        if let Some(s) = self.slots.get_mut(h) {
            s.next = next;
        }
    }

    /// `h` follows the last route of its prefix.
    fn link_after_last(&mut self, h: u32) {
        let key = self.route(h).key();
        match self.head(&key) {
            None => self.set_head(&key, Some(h)),
            Some(mut at) => {
                while self.next(at) != END {
                    at = self.next(at);
                }
                self.set_next(at, h);
            }
        }
    }

    /// Room for one more route: a handle below [`END`] is free.
    pub fn has_room(&self) -> bool {
        !self.vacant.is_empty() || self.slots.len() < END as usize
    }

    /// Puts `r` in a slot, and returns its handle; `None` when the
    /// handles are all taken (see [`has_room`](Self::has_room)).
    fn store(&mut self, route: Route) -> Option<u32> {
        let slot = Slot { route, next: END };
        match self.vacant.pop() {
            Some(h) => {
                if let Some(s) = self.slots.get_mut(h) {
                    *s = slot;
                }
                Some(h)
            }
            None => {
                let h = u32::try_from(self.slots.len()).ok().filter(|&h| h != END)?;
                self.slots.push(slot);
                Some(h)
            }
        }
    }

    /// Takes the route out of slot `h`, which becomes vacant.
    fn release(&mut self, h: u32) -> Route {
        match self.slots.get_mut(h) {
            Some(slot) => {
                self.vacant.push(h);
                slot.next = END;
                std::mem::replace(&mut slot.route, placeholder())
            }
            None => {
                debug_assert!(false, "route handle {h} is not in the slab");
                placeholder()
            }
        }
    }

    /// The route in slot `h` (see the module docs for a missing one).
    fn route(&self, h: u32) -> &Route {
        match self.slots.get(h) {
            Some(s) => &s.route,
            None => {
                debug_assert!(false, "route handle {h} is not in the slab");
                &self.none
            }
        }
    }

    /// The route of entry `e`, if its handle is in the slab (walks skip
    /// one that is not).
    fn entry_route(&self, e: &Entry) -> Option<&Route> {
        let s = self.slots.get(e.handle());
        debug_assert!(
            s.is_some(),
            "route handle {} is not in the slab",
            e.handle()
        );
        s.map(|s| &s.route)
    }

    fn links_of(&self, chunk: &[Entry]) -> u64 {
        chunk
            .iter()
            .fold(0, |b, e| b | route_links(self.route(e.handle())))
    }

    /// The handle of the first route with `key`.
    fn head(&self, key: &RouteKey) -> Option<u32> {
        match head_key(key) {
            HeadKey::V4(k) => self.heads4.get(&k),
            HeadKey::V6(k) => self.heads6.get(&k),
        }
    }

    fn set_head(&mut self, key: &RouteKey, h: Option<u32>) {
        match (head_key(key), h) {
            (HeadKey::V4(k), Some(h)) => {
                self.heads4.insert(k, h);
            }
            (HeadKey::V4(k), None) => {
                self.heads4.remove(&k);
            }
            (HeadKey::V6(k), Some(h)) => {
                self.heads6.insert(k, h);
            }
            (HeadKey::V6(k), None) => {
                self.heads6.remove(&k);
            }
        }
    }

    /// Makes `h` the first route with `key`; returns the one that was
    /// (one hash probe).
    fn replace_head(&mut self, key: &RouteKey, h: u32) -> Option<u32> {
        match head_key(key) {
            HeadKey::V4(k) => self.heads4.insert(k, h),
            HeadKey::V6(k) => self.heads6.insert(k, h),
        }
    }

    /// Some route has `key`.
    pub fn has_key(&self, key: &RouteKey) -> bool {
        self.head(key).is_some()
    }

    /// The routes with `key`, in dump order: one hash probe, then the
    /// chain.
    pub fn with_key(&self, key: &RouteKey) -> impl Iterator<Item = &Route> + Clone {
        let mut at = self.head(key).unwrap_or(END);
        std::iter::from_fn(move || {
            let slot = self.slots.get(at)?;
            at = slot.next;
            Some(&slot.route)
        })
    }

    /// Takes `h` out of the chain of its prefix.
    fn unlink(&mut self, h: u32) {
        let key = self.route(h).key();
        let next = self.next(h);
        let Some(first) = self.head(&key) else {
            return;
        };
        if first == h {
            self.set_head(&key, (next != END).then_some(next));
            return;
        }
        let mut at = first;
        loop {
            let after = self.next(at);
            if after == END {
                return;
            }
            if after == h {
                self.set_next(at, next);
                return;
            }
            at = after;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// [`count`](Self::count) for the route in slot `h`.
    fn count_handle(&mut self, h: u32, added: bool) {
        let (len, table) = {
            let r = self.route(h);
            (r.dst_len, r.table)
        };
        self.count_length(len, table, added);
    }

    fn count(&mut self, r: &Route, added: bool) {
        self.count_length(r.dst_len, r.table, added);
    }

    /// A route of `table` with prefix length `len` came (`added`) or
    /// went.
    fn count_length(&mut self, len: u8, table: u32, added: bool) {
        let len = usize::from(len);
        // Routes in memory: the counts do not overflow; one going that
        // was not counted would be a bug, and leaves its count at 0.
        if let Some(n) = self.lengths.get_mut(len) {
            *n = if added {
                n.wrapping_add(1)
            } else {
                n.saturating_sub(1)
            };
            let bit = 1u64 << (len % 64);
            if let Some(word) = self.used.get_mut(len / 64) {
                if *n == 0 {
                    *word &= !bit;
                } else {
                    *word |= bit;
                }
            }
        }
        let counts = match self.table_lengths.iter().position(|(t, _)| *t == table) {
            Some(at) => self.table_lengths.get_mut(at),
            None => {
                self.table_lengths.push((table, Box::new([0; 129])));
                self.table_lengths.last_mut()
            }
        };
        if let Some(n) = counts.and_then(|(_, counts)| counts.get_mut(len)) {
            *n = if added {
                n.wrapping_add(1)
            } else {
                n.saturating_sub(1)
            };
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
        // Word `w` holds lengths `64 w ..`: its base ORed with a bit's
        // place.
        let words = self.used.iter().zip([0u8, 64, 128]).rev();
        words.flat_map(|(&bits, base)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                let top = bits.checked_ilog2()?;
                bits &= !(1u64 << top);
                Some(base | top as u8)
            })
        })
    }

    /// The chunk holding position `i` (`i < len`), and where in it.
    fn locate(&self, i: usize) -> (usize, usize) {
        self.sizes.find(i)
    }

    /// As [`locate`](Self::locate), and the end of the last chunk for
    /// `i == len` (the list is not empty).
    #[cfg(test)]
    fn locate_end(&self, i: usize) -> (usize, usize) {
        if i < self.len {
            return self.locate(i);
        }
        let last = self.chunks.len() - 1;
        (last, self.chunks[last].len())
    }

    /// Recounts the chunks' sizes after chunks came or went, in O(chunks).
    fn recount(&mut self) {
        self.sizes = Fenwick::new(self.chunks.iter().map(Vec::len));
        self.len = self.chunks.iter().map(Vec::len).sum();
        self.limit = chunk_limit(self.len);
    }

    /// Notes the order of chunk `c`'s last route again.
    fn relast(&mut self, c: usize) {
        let last = self.chunks.get(c).and_then(|ch| ch.last());
        let Some(order) = last.map(|e| self.last_of(e.handle())) else {
            return;
        };
        if let Some(l) = self.lasts.get_mut(c) {
            *l = order;
        }
    }

    /// The handle at position `i`.
    fn handle(&self, i: usize) -> Option<u32> {
        if i >= self.len {
            return None;
        }
        let (c, o) = self.locate(i);
        self.chunks.get(c)?.get(o).map(|e| e.handle())
    }

    pub fn get(&self, i: usize) -> Option<&Route> {
        self.handle(i).map(|h| self.route(h))
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Route> {
        let h = self.handle(i)?;
        self.slots.get_mut(h).map(|s| &mut s.route)
    }

    /// Inserts `r` at position `i` (`i <= len`).
    #[cfg(test)]
    pub fn insert(&mut self, i: usize, r: Route) {
        assert!(i <= self.len, "insert at {i} of {}", self.len);
        let place = if self.chunks.is_empty() {
            (0, 0)
        } else {
            self.locate_end(i)
        };
        self.insert_at(place, r);
    }

    /// Inserts `r` in the dump order: before the routes of its order, or
    /// after them (`after_equals`, an append). Its place (chunk, offset)
    /// is found once, by the chunks' last orders, then by the summaries
    /// in the chunk, reading only the routes whose summary ties with
    /// `r`'s. Without [room](Self::has_room), `r` is dropped.
    pub fn insert_by_order(&mut self, r: Route, after_equals: bool) {
        let o = r.order();
        let before = |x: &RouteOrder| if after_equals { *x <= o } else { *x < o };
        let ts = summary(&r);
        let goes_after = |(s, x): &(u32, RouteOrder)| *s < ts || (*s == ts && before(x));
        // Past the last route (a table loaded in order) without a search.
        let c = match self.lasts.last() {
            Some(last) if goes_after(last) => self.lasts.len(),
            _ => self.lasts.partition_point(goes_after),
        };
        let place = match self.chunks.get(c) {
            Some(ch) => {
                // The entries whose summary ties with `r`'s: from `lo`,
                // `ties` of them.
                let lo = ch.partition_point(|e| e.summary() < ts);
                let rest = ch.get(lo..).unwrap_or_default();
                let ties = rest.partition_point(|e| e.summary() == ts);
                let ties = rest.get(..ties).unwrap_or_default();
                let at = ties.partition_point(|e| before(&self.route(e.handle()).order()));
                // Within the chunk: the sum does not wrap.
                (c, lo.wrapping_add(at))
            }
            None => match self.chunks.len().checked_sub(1) {
                Some(last) => (last, self.chunks.get(last).map_or(0, Vec::len)),
                None => (0, 0),
            },
        };
        self.insert_ordered_at(place, r, (ts, o));
    }

    /// Inserts `r` at `place` (chunk, offset; (0, 0) in an empty list).
    /// An impossible place (past the chunks) drops `r`, as does a full
    /// slab.
    #[cfg(test)]
    fn insert_at(&mut self, place: (usize, usize), r: Route) {
        let last = (summary(&r), r.order());
        self.insert_ordered_at(place, r, last);
    }

    /// [`insert_at`](Self::insert_at) of a route whose summary and order
    /// are known.
    fn insert_ordered_at(
        &mut self,
        place: (usize, usize),
        r: Route,
        (sum, order): (u32, RouteOrder),
    ) {
        if !self.has_room() {
            return;
        }
        self.count(&r, true);
        let key = r.key();
        let bits = route_links(&r);
        // Its chain: after the route before it when that has its prefix,
        // else first (before the route after it, which then has it).
        let (c, o) = place;
        let prev = match o.checked_sub(1) {
            None => c
                .checked_sub(1)
                .and_then(|c| self.chunks.get(c))
                .and_then(|ch| ch.last()),
            Some(o) => self.chunks.get(c).and_then(|ch| ch.get(o)),
        }
        .copied();
        let Some(h) = self.store(r) else {
            return;
        };
        let entry = Entry(u64::from(sum) << 32 | u64::from(h));
        // The summary is the key's: another one is another prefix, told
        // without a read of the slab.
        let same_prefix = |e: &Entry| e.summary() == sum && self.route(e.handle()).key() == key;
        match prev.filter(same_prefix).map(Entry::handle) {
            Some(p) => {
                self.set_next(h, self.next(p));
                self.set_next(p, h);
            }
            None => {
                let next = self.replace_head(&key, h).unwrap_or(END);
                self.set_next(h, next);
            }
        }
        if self.chunks.is_empty() {
            self.links.push(bits);
            self.lasts.push((sum, order));
            self.chunks.push(vec![entry]);
            self.recount();
            return;
        }
        let limit = self.limit;
        let (c, o) = match place {
            // Between two chunks: the end of the first, while it has room.
            (c, 0) => match c
                .checked_sub(1)
                .and_then(|p| Some((p, self.chunks.get(p)?.len())))
            {
                Some((p, n)) if n < limit => (p, n),
                _ => place,
            },
            at => at,
        };
        let (Some(chunk), Some(links)) = (self.chunks.get_mut(c), self.links.get_mut(c)) else {
            // Not a place in the list: `r` leaves again.
            debug_assert!(false, "insert at chunk {c} of {}", self.chunks.len());
            self.unlink(h);
            let r = self.release(h);
            self.count(&r, false);
            return;
        };
        *links |= bits;
        if chunk.len() == chunk.capacity() {
            // Grown by doubling, to the limit + 1 at most: no chunk holds
            // more than twice what it needs, a full one nothing more.
            let want = chunk
                .capacity()
                .saturating_mul(2)
                .clamp(4, limit.saturating_add(1));
            chunk.reserve_exact(want.saturating_sub(chunk.len()));
        }
        let o = o.min(chunk.len());
        chunk.insert(o, entry);
        if chunk.len() > limit {
            // Where a run of routes added in order goes on, the chunk is
            // cut beside the new route, so that the run fills chunks;
            // elsewhere it is halved. (`o < len <= limit + 1`: the sums
            // do not wrap, and `at` is within the chunk.)
            let at = if o >= limit.saturating_mul(3) / 4 {
                o.wrapping_add(1).min(limit)
            } else if o < limit / 4 {
                o.max(1)
            } else {
                chunk.len() / 2
            };
            let mut tail = Vec::with_capacity(limit.saturating_add(1));
            tail.extend(chunk.drain(at.min(chunk.len())..));
            let next = c.wrapping_add(1);
            let head_links = self.chunks.get(c).map_or(0, |ch| self.links_of(ch));
            let tail_links = self.links_of(&tail);
            // The tail keeps the chunk's last route.
            let last = self
                .lasts
                .get(c)
                .copied()
                .unwrap_or_else(|| self.last_of(h));
            if let Some(l) = self.links.get_mut(c) {
                *l = head_links;
            }
            // The three lists run in step: `next <= chunks.len()`, and
            // the others are as long.
            self.links.insert(next.min(self.links.len()), tail_links);
            self.lasts.insert(next.min(self.lasts.len()), last);
            self.chunks.insert(next, tail);
            self.relast(c);
            self.relast(next);
            self.recount();
            return;
        }
        let at_end = o.wrapping_add(1) == chunk.len();
        self.sizes.grow(c);
        self.len = self.len.wrapping_add(1);
        if at_end {
            if let Some(l) = self.lasts.get_mut(c) {
                *l = (sum, order);
            }
        }
    }

    /// Removes and returns the route at position `i`, if there is one.
    pub fn take(&mut self, i: usize) -> Option<Route> {
        if i >= self.len {
            return None;
        }
        let (c, o) = self.locate(i);
        let chunk = self.chunks.get_mut(c)?;
        if o >= chunk.len() {
            return None;
        }
        let h = chunk.remove(o).handle();
        let emptied = chunk.is_empty();
        let was_last = o == chunk.len();
        self.unlink(h);
        let r = self.release(h);
        self.count(&r, false);
        if emptied {
            self.chunks.remove(c);
            if c < self.links.len() {
                self.links.remove(c);
            }
            if c < self.lasts.len() {
                self.lasts.remove(c);
            }
            self.recount();
            return Some(r);
        }
        self.sizes.shrink(c);
        self.len = self.len.saturating_sub(1);
        if was_last {
            self.relast(c);
        }
        Some(r)
    }

    /// The route at position `i` changed in place: its links are noted.
    pub fn changed(&mut self, i: usize) {
        if i >= self.len {
            return;
        }
        let (c, o) = self.locate(i);
        let Some(h) = self
            .chunks
            .get(c)
            .and_then(|ch| ch.get(o))
            .map(|e| e.handle())
        else {
            return;
        };
        let bits = route_links(self.route(h));
        // Its place in the order stays; its summary follows it anyway.
        let entry = self.entry(h);
        if let Some(l) = self.links.get_mut(c) {
            *l |= bits;
        }
        if let Some(e) = self.chunks.get_mut(c).and_then(|ch| ch.get_mut(o)) {
            *e = entry;
        }
        self.relast(c);
    }

    /// Runs `f` on every route that may go through link `index` (only the
    /// chunks holding one are walked; `f` must not change links).
    pub fn for_link_mut(&mut self, index: u32, mut f: impl FnMut(&mut Route)) {
        let bit = link_bit(index);
        for (chunk, links) in self.chunks.iter().zip(&self.links) {
            if links & bit != 0 {
                for e in chunk {
                    if let Some(s) = self.slots.get_mut(e.handle()) {
                        f(&mut s.route);
                    }
                }
            }
        }
    }

    /// Removes the routes through link `index` that `pred` selects, and
    /// returns them in order. Only the chunks holding a route through the
    /// link are walked.
    pub fn drain_link(&mut self, index: u32, pred: impl Fn(&Route) -> bool) -> Vec<Route> {
        let bit = link_bit(index);
        self.drain(|links| links & bit != 0, pred)
    }

    /// Removes every route `pred` selects, and returns them in order.
    pub fn remove_matching(&mut self, pred: impl Fn(&Route) -> bool) -> Vec<Route> {
        self.drain(|_| true, pred)
    }

    /// Changes in place (`f`; not their places in the order) the routes
    /// `pred` selects.
    pub fn update_matching(
        &mut self,
        pred: impl Fn(&Route) -> bool,
        mut f: impl FnMut(&mut Route),
    ) {
        for c in 0..self.chunks.len() {
            let Some(chunk) = self.chunks.get(c) else {
                break;
            };
            let mut touched = false;
            for e in chunk {
                if let Some(s) = self.slots.get_mut(e.handle()) {
                    if pred(&s.route) {
                        f(&mut s.route);
                        touched = true;
                    }
                }
            }
            if touched {
                let links = self.links_of(chunk);
                if let Some(l) = self.links.get_mut(c) {
                    *l = links;
                }
                self.relast(c);
            }
        }
    }

    /// Removes the routes `pred` selects in the chunks whose link bits
    /// `walk` accepts, and returns them in order.
    fn drain(&mut self, walk: impl Fn(u64) -> bool, pred: impl Fn(&Route) -> bool) -> Vec<Route> {
        let mut removed = Vec::new();
        // Some chunk lost routes; some chunk lost them all.
        let (mut touched, mut emptied) = (false, false);
        let slots = &self.slots;
        let lists = self
            .chunks
            .iter_mut()
            .zip(&mut self.links)
            .zip(&mut self.lasts);
        for ((chunk, links), last) in lists {
            if !walk(*links) {
                continue;
            }
            let before = removed.len();
            chunk.retain(|e| {
                // A handle not in the slab (a bug) stays.
                let out = slots.get(e.handle()).is_some_and(|s| pred(&s.route));
                if out {
                    removed.push(e.handle());
                }
                !out
            });
            let route = |e: &Entry| slots.get(e.handle()).map(|s| &s.route);
            *links = chunk
                .iter()
                .filter_map(route)
                .fold(0, |b, r| b | route_links(r));
            if removed.len() > before {
                touched = true;
                emptied |= chunk.is_empty();
                if let Some(r) = chunk.last().and_then(route) {
                    *last = (summary(r), r.order());
                }
            }
        }
        let removed: Vec<Route> = removed
            .into_iter()
            .map(|h| {
                self.unlink(h);
                self.release(h)
            })
            .collect();
        for r in &removed {
            self.count(r, false);
        }
        if emptied {
            // The emptied chunks go, with their links and last orders.
            let mut keep = self.chunks.iter().map(|ch| !ch.is_empty());
            self.links.retain(|_| keep.next().unwrap_or(true));
            let mut keep = self.chunks.iter().map(|ch| !ch.is_empty());
            self.lasts.retain(|_| keep.next().unwrap_or(true));
            self.chunks.retain(|ch| !ch.is_empty());
        }
        if touched {
            self.recount();
        }
        removed
    }

    /// The first position where `before` is false (it must be true for a
    /// prefix of the list and false after), as `slice::partition_point`.
    #[cfg(test)]
    pub fn partition_point(&self, mut before: impl FnMut(&Route) -> bool) -> usize {
        let c = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(|e| before(self.route(e.handle()))));
        match self.chunks.get(c) {
            Some(ch) => {
                self.sizes.start(c) + ch.partition_point(|e| before(self.route(e.handle())))
            }
            None => self.len,
        }
    }

    /// The first position whose route's order is not `before` (true for
    /// the orders of a prefix of the list, false after): the chunk found
    /// among the chunks' last orders, held together, then the route in it.
    pub fn partition_by_order(&self, mut before: impl FnMut(&RouteOrder) -> bool) -> usize {
        let c = self.lasts.partition_point(|(_, x)| before(x));
        match self.chunks.get(c) {
            Some(ch) => {
                let at = ch.partition_point(|e| before(&self.route(e.handle()).order()));
                // A position in the list: below its length.
                self.sizes.start(c).wrapping_add(at)
            }
            None => self.len,
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Route> + Clone {
        self.chunks
            .iter()
            .flatten()
            .filter_map(|e| self.entry_route(e))
    }

    /// Every route, in no particular order, to change in place (not
    /// their prefixes).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut Route)) {
        for chunk in &self.chunks {
            for e in chunk {
                if let Some(s) = self.slots.get_mut(e.handle()) {
                    f(&mut s.route);
                }
            }
        }
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
        let first = self
            .chunks
            .get(c)
            .and_then(|ch| ch.get(o..))
            .unwrap_or_default();
        let rest = self.chunks.get(c.saturating_add(1)..).unwrap_or_default();
        first
            .iter()
            .chain(rest.iter().flatten())
            .take(end.saturating_sub(start))
            .filter_map(|e| self.entry_route(e))
    }

    /// Entries allocated in the chunks (their capacity).
    pub fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    /// The bytes the list occupies, without the routes' own heap.
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        const PER_CHUNK: usize = size_of::<Vec<Entry>>() + 8 + size_of::<usize>();
        [
            self.slots.bytes(),
            self.vacant.capacity().saturating_mul(4),
            self.capacity().saturating_mul(size_of::<Entry>()),
            self.chunks.capacity().saturating_mul(PER_CHUNK),
            self.lasts
                .capacity()
                .saturating_mul(size_of::<(u32, RouteOrder)>()),
            self.heads4.bytes(),
            self.heads6.bytes(),
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }
}

/// Indexing and removal by position, for the tests (the crate reads with
/// `get` and removes with `take`).
#[cfg(test)]
impl std::ops::Index<usize> for RouteList {
    type Output = Route;
    fn index(&self, i: usize) -> &Route {
        match self.get(i) {
            Some(r) => r,
            None => panic!("route {i} of {}", self.len),
        }
    }
}

#[cfg(test)]
impl RouteList {
    /// Removes and returns the route at position `i` (`i < len`).
    pub fn remove(&mut self, i: usize) -> Route {
        let len = self.len;
        self.take(i)
            .unwrap_or_else(|| panic!("remove at {i} of {len}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::consts::*;
    use std::net::IpAddr;

    /// A pseudo-random draw below `m` (xorshift64 from `seed`).
    fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |m| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        }
    }

    fn route(n: u32) -> Route {
        let any = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let mut r = Route::kernel(RT_TABLE_MAIN, any, 0, RTN_UNICAST, RT_SCOPE_LINK, 1, None);
        r.priority = n;
        r
    }

    fn ids(l: &RouteList) -> Vec<u32> {
        l.iter().map(|r| r.priority).collect()
    }

    /// Inserts by order, before or after the routes of equal order, land
    /// where a sorted `Vec` puts them, whatever the tables (those from 256
    /// share a byte with a smaller one) and families: the summaries never
    /// contradict the order.
    #[test]
    fn inserts_by_order_land_where_a_sorted_vec_puts_them() {
        let mut next = xorshift(0x0fed_cba9_8765_4321);
        const TABLES: [u32; 9] = [1, 44, 254, 255, 256, 300, 1000, 1 << 24, (1 << 24) + 44];
        for v6 in [false, true] {
            let mut list = RouteList::default();
            let mut model: Vec<Route> = Vec::new();
            for n in 0..4_000u32 {
                let table = TABLES[next(TABLES.len() as u64) as usize];
                let hi = next(4) as u32;
                let (ip, len) = if v6 {
                    let a = u128::from(hi) << 120 | u128::from(next(3) as u32) << 64;
                    (
                        IpAddr::V6(std::net::Ipv6Addr::from(a)),
                        [0u8, 8, 64, 128][next(4) as usize],
                    )
                } else {
                    let a = hi << 30 | (next(3) as u32) << 8;
                    (
                        IpAddr::V4(std::net::Ipv4Addr::from(a)),
                        [0u8, 8, 24, 32][next(4) as usize],
                    )
                };
                let mut r = Route::kernel(table, ip, len, RTN_UNICAST, 0, 1, None);
                r.priority = next(3) as u32;
                r.tos = n as u8;
                let o = r.order();
                let append = next(2) == 0;
                let at = if append {
                    model.partition_point(|m| m.order() <= o)
                } else {
                    model.partition_point(|m| m.order() < o)
                };
                model.insert(at, r.clone());
                list.insert_by_order(r, append);
                if n % 500 == 0 {
                    list.remove(next(list.len() as u64) as usize);
                    model.clear();
                    model.extend(list.iter().cloned());
                }
            }
            let got: Vec<(RouteOrder, u8)> = list.iter().map(|r| (r.order(), r.tos)).collect();
            let want: Vec<(RouteOrder, u8)> = model.iter().map(|r| (r.order(), r.tos)).collect();
            assert_eq!(got, want, "v6: {v6}");
            let sums: Vec<u32> = model.iter().map(summary).collect();
            assert!(sums.windows(2).all(|w| w[0] <= w[1]), "summaries in order");
        }
    }

    /// After inserts in dump order, removals and drains, each prefix's
    /// chain holds exactly its routes, in list order, and a prefix with
    /// none has no head.
    #[test]
    fn prefix_chains_follow_the_list() {
        let mut next = xorshift(0x1234_5678_9abc_def1);
        let keyed = |dst: u32, len: u8, prio: u32, oif: u32| {
            let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::from(dst));
            let mut r = Route::kernel(RT_TABLE_MAIN, ip, len, RTN_UNICAST, 0, oif, None);
            r.priority = prio;
            r
        };
        let mut list = RouteList::from_vec(
            (0..300u32)
                .map(|n| keyed((n / 3) << 8, 24, n % 3, 1 + n % 7))
                .collect(),
        );
        for n in 0..6_000u32 {
            match next(5) {
                0 if list.len() > 0 => {
                    list.remove(next(list.len() as u64) as usize);
                }
                1 if n % 50 == 0 => {
                    let link = 1 + next(7) as u32;
                    list.drain_link(link, |r| r.priority % 2 == 0);
                }
                _ => {
                    let r = keyed(
                        (next(200) as u32) << 8,
                        24,
                        next(4) as u32,
                        1 + next(7) as u32,
                    );
                    let o = r.order();
                    let at = list.partition_point(|x| x.order() < o);
                    // The chunks' last orders stay those of their routes.
                    assert_eq!(list.partition_by_order(|x| *x < o), at);
                    assert_eq!(list.partition_by_order(|x| *x <= o), {
                        list.partition_point(|x| x.order() <= o)
                    });
                    // By position or by order: the same place.
                    if n % 2 == 0 {
                        list.insert(at, r);
                    } else {
                        list.insert_by_order(r, false);
                    }
                    assert_eq!(list.get(at).map(Route::order), Some(o));
                }
            }
        }
        for d in 0..200u32 {
            let key = keyed(d << 8, 24, 0, 0).key();
            let walked: Vec<(u32, u32)> = list
                .iter()
                .filter(|r| r.key() == key)
                .map(|r| (r.priority, r.oif))
                .collect();
            let chained: Vec<(u32, u32)> =
                list.with_key(&key).map(|r| (r.priority, r.oif)).collect();
            assert_eq!(chained, walked, "prefix {d}");
            assert_eq!(list.has_key(&key), !walked.is_empty());
        }
        let rebuilt = RouteList::from_vec(list.iter().cloned().collect());
        let key = keyed(7 << 8, 24, 0, 0).key();
        assert!(rebuilt
            .with_key(&key)
            .map(|r| r.priority)
            .eq(list.with_key(&key).map(|r| r.priority)));
    }

    /// Inserts and removals at pseudo-random positions agree with a `Vec`
    /// across many chunk splits and merges.
    #[test]
    fn behaves_as_a_vec() {
        let mut list = RouteList::default();
        let mut model: Vec<u32> = Vec::new();
        let mut draw = xorshift(0x2545_f491_4f6c_dd1d);
        let mut next = |m: usize| draw(m.max(1) as u64) as usize;
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
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
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
