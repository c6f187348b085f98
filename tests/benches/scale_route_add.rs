//! `scale_route_add/{10k,100k,1m}` and `scale_route_add_v6/{10k,200k}`:
//! IPv4 routes (half `/32`, half `/24`) or IPv6 routes (half `/128`, half
//! `/64`), all via one gateway on `br0`, added with nlinline batches until
//! the table holds N of them, in one run against two contenders:
//!
//! - `nlq`: an `nlq-mem` stack in this process ([`Handle::in_process`]);
//! - `kernel`: a fresh network namespace (needs root; skipped without).
//!
//! Fills are timed by hand (criterion's repeated sampling does not fit a table
//! of a million routes); the rate printed is routes per second over the
//! whole fill, and the rate of the last tenth shows whether adding gets
//! slower as the table grows; then the median rate of several fills, each
//! on a fresh table (`NLKIT_SCALE_RUNS`, 5 below a million routes, 3 from
//! there), the one to compare; nlq's table bytes per route follow
//! (`MemStack::table_bytes`). Sizes: `NLKIT_SCALE=10k,100k,1m` and
//! `NLKIT_SCALE_V6=10k,200k` (default `10k,100k` each; empty skips). Run with
//! `cargo bench -p nlkit-tests --bench scale_route_add`.
//!
//! Also, on each full table: `scale_route_get` (random destinations),
//! `scale_route_dump` (a full dump; for nlq, the most memory allocated
//! above what was allocated before a dump read message by message, from a
//! counting allocator) and `scale_link_flush` (a second link with ten
//! routes through it goes down, then away: what it costs should follow
//! what it removes, not the table's size).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use nlinline::Shared;
use nlinline::{AddrOptions, Batch, Handle, KernelSocket, Route, Transport};
use nlq::stack::lookup::RouteQuery;
use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{FamilyHeader, RouteRepr, Writer};
use nlq_mem::MemStack;

/// The system allocator; while `COUNTING`, it counts the bytes allocated
/// less those freed (`NOW`) and their most (`PEAK`). Off, it costs one
/// load per call, so that the timed parts are not slowed.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static NOW: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; the
// counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let now = NOW.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        // SAFETY: the caller's layout, as given.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            NOW.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Routes per batch (one pipelined `apply`) at most.
const BATCH: u32 = 5_000;

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn group(self) -> &'static str {
        match self {
            Family::V4 => "scale_route_add",
            Family::V6 => "scale_route_add_v6",
        }
    }

    fn gateway(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
        }
    }

    /// The `i`-th route: even ones a network (`/24`, `/64`), odd ones a
    /// host (`/32`, `/128`), no two alike, none over the gateway's subnet.
    fn route(self, i: u32) -> Route {
        let half = i / 2;
        let (dst, len) = match (self, i & 1 == 0) {
            (Family::V4, true) => (IpAddr::V4(Ipv4Addr::from(0x0b00_0000u32 + (half << 8))), 24),
            (Family::V4, false) => (IpAddr::V4(Ipv4Addr::from(0x6400_0000u32 + half)), 32),
            (Family::V6, true) => (
                IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8u128 << 96) | (u128::from(half) << 64),
                )),
                64,
            ),
            (Family::V6, false) => (
                IpAddr::V6(Ipv6Addr::from((0x2001_0db9u128 << 96) | u128::from(half))),
                128,
            ),
        };
        Route::to(dst, len).via(self.gateway())
    }

    /// `br0` up with an address beside the gateway, through `h`.
    fn prepare<T: Transport>(self, h: &mut Handle<T>) {
        let br = h.link_add("br0", "bridge", &[], None).expect("br0");
        h.link_set_up(br, true).expect("br0 up");
        let (local, len) = match self {
            Family::V4 => (IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2)), 16),
            // No duplicate address detection to wait for.
            Family::V6 => (IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)), 64),
        };
        match self {
            Family::V4 => h.addr_add(local, len, br).expect("br0 address"),
            Family::V6 => h
                .addr_add_with(
                    local,
                    len,
                    br,
                    AddrOptions {
                        flags: IFA_F_NODAD,
                        scope: None,
                    },
                )
                .expect("br0 address"),
        }
    }
}

/// Adds `n` routes; the time of the whole fill and of its last tenth.
fn fill<T: Transport>(family: Family, h: &mut Handle<T>, n: u32) -> (Duration, Duration) {
    let start = Instant::now();
    let mut last_tenth = None;
    // Batches small enough that the last tenth starts at one.
    let step = (n / 20).clamp(1, BATCH);
    let mut i = 0;
    while i < n {
        if last_tenth.is_none() && i >= n - n / 10 {
            last_tenth = Some(Instant::now());
        }
        let mut batch = Batch::new();
        for j in i..(i + step).min(n) {
            batch.route_add(&family.route(j)).expect("route request");
        }
        let results = h.apply(&batch);
        if let Some((k, Err(e))) = results.iter().enumerate().find(|(_, r)| r.is_err()) {
            panic!("route {} of {n}: {e:?}", i as usize + k);
        }
        i = (i + step).min(n);
    }
    let tail = last_tenth.map_or(Duration::ZERO, |t| t.elapsed());
    (start.elapsed(), tail)
}

/// What a contender measured on its full table.
struct Measured {
    /// The whole fill and its last tenth, of each fill (the first on the
    /// table measured below, the others on fresh tables).
    fills: Vec<(Duration, Duration)>,
    /// `route get` for random destinations through nlinline, each.
    gets: Vec<Duration>,
    /// A full dump of the family: its time and the routes it gave.
    dump: (Duration, usize),
    /// A link with ten routes through it going down, then away.
    flush: (Duration, Duration),
}

/// `GETS` random destinations inside the table's routes.
const GETS: u32 = 20_000;

/// A destination inside the `k`-th route of `n` (`k` from `dice`).
fn destination(family: Family, n: u32, dice: &mut u64) -> IpAddr {
    *dice ^= *dice << 13;
    *dice ^= *dice >> 7;
    *dice ^= *dice << 17;
    let k = (*dice % u64::from(n)) as u32;
    let host = (*dice >> 32) as u8;
    match (family.route(k).dst, k & 1 == 0) {
        (IpAddr::V4(a), true) => IpAddr::V4(Ipv4Addr::from(u32::from(a) | u32::from(host))),
        (IpAddr::V6(a), true) => IpAddr::V6(Ipv6Addr::from(u128::from(a) | u128::from(host))),
        (d, false) => d,
    }
}

/// `RTM_GETROUTE` for `dst` (as `ip route get` sends it).
fn get_request(dst: IpAddr) -> Vec<u8> {
    let mut r = RouteRepr::new(dst, if dst.is_ipv4() { 32 } else { 128 });
    r.header.table = 0;
    r.header.protocol = 0;
    r.header.scope = 0;
    r.header.route_type = 0;
    let mut w = Writer::new(Vec::new());
    w.message(RTM_GETROUTE, NLM_F_REQUEST, 0, 0, |w| r.emit(w))
        .expect("route get request");
    w.into_inner()
}

/// Each of `GETS` lookups through `h`, timed.
fn gets<T: Transport>(family: Family, h: &mut Handle<T>, n: u32) -> Vec<Duration> {
    let mut dice = 0x2545_f491_4f6c_dd1d;
    let requests: Vec<Vec<u8>> = (0..GETS)
        .map(|_| get_request(destination(family, n, &mut dice)))
        .collect();
    requests
        .iter()
        .map(|req| {
            let t = Instant::now();
            let mut answered = false;
            h.dialog(req, |_| {
                answered = true;
                Ok(())
            })
            .expect("route get");
            assert!(answered, "route get answered");
            t.elapsed()
        })
        .collect()
}

/// A full dump of `family`, timed: the datagrams read from the
/// transport as they come, their messages counted (not parsed), so that
/// the figure is the stack's and the transport's, not a client's.
fn dump<T: Transport>(family: Family, h: &mut Handle<T>) -> (Duration, usize) {
    let af = match family {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    };
    let mut w = Writer::new(Vec::new());
    w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 77, 0, |w| {
        nlq::wire::RtMsg {
            family: af,
            ..nlq::wire::RtMsg::default()
        }
        .emit(w)
    })
    .expect("dump request");
    let t = Instant::now();
    let transport = h.transport();
    transport.send(w.buffer()).expect("dump request sent");
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut routes = 0;
    loop {
        transport
            .recv(&mut buf, Some(Duration::from_secs(30)))
            .expect("dump datagram");
        let mut done = false;
        for m in nlq::wire::Messages::new(&buf).filter_map(Result::ok) {
            match m.header().message_type {
                RTM_NEWROUTE => routes += 1,
                NLMSG_DONE | NLMSG_ERROR => done = true,
                _ => {}
            }
        }
        if done {
            break;
        }
    }
    (t.elapsed(), routes)
}

/// The most bytes allocated, above what was allocated before, while nlq
/// answers a dump of `family`, datagram by datagram as a reader takes
/// them (each dropped once read).
fn dump_memory(family: Family, shared: &Shared<MemStack>) -> usize {
    let af = match family {
        Family::V4 => AF_INET,
        Family::V6 => AF_INET6,
    };
    let mut w = Writer::new(Vec::new());
    w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
        nlq::wire::RtMsg {
            family: af,
            ..nlq::wire::RtMsg::default()
        }
        .emit(w)
    })
    .expect("dump request");
    let mut server = shared.lock();
    let conn = server.connect();
    NOW.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    server.handle_datagram(conn, w.buffer());
    let mut done = false;
    while !done {
        let Ok(Some(reply)) = server.next_datagram(conn, 32 * 1024) else {
            panic!("the dump ended without NLMSG_DONE");
        };
        done = nlq::wire::Messages::new(&reply.bytes)
            .filter_map(Result::ok)
            .any(|m| m.header().message_type == NLMSG_DONE);
    }
    COUNTING.store(false, Ordering::Relaxed);
    server.disconnect(conn);
    usize::try_from(PEAK.load(Ordering::Relaxed)).unwrap_or(0)
}

/// `br1` with an address and ten routes through it goes down, then is
/// deleted: the time of each.
fn flush<T: Transport>(family: Family, h: &mut Handle<T>) -> (Duration, Duration) {
    let br = h.link_add("br1", "bridge", &[], None).expect("br1");
    h.link_set_up(br, true).expect("br1 up");
    let (local, gw, len) = match family {
        Family::V4 => (
            IpAddr::V4(Ipv4Addr::new(172, 31, 0, 2)),
            IpAddr::V4(Ipv4Addr::new(172, 31, 0, 1)),
            24,
        ),
        Family::V6 => (
            IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 2)),
            IpAddr::V6(Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, 1)),
            64,
        ),
    };
    let nodad = AddrOptions {
        flags: IFA_F_NODAD,
        scope: None,
    };
    h.addr_add_with(local, len, br, nodad).expect("br1 address");
    for i in 0..10u8 {
        let dst = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(172, 30, i, 0)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfd02, u16::from(i), 0, 0, 0, 0, 0, 0)),
        };
        let plen = if family == Family::V4 { 24 } else { 64 };
        h.route_add(&Route::to(dst, plen).via(gw))
            .expect("br1 route");
    }
    let t = Instant::now();
    h.link_set_up(br, false).expect("br1 down");
    let down = t.elapsed();
    let t = Instant::now();
    h.link_del(br).expect("br1 deleted");
    (down, t.elapsed())
}

fn measure<T: Transport>(family: Family, h: &mut Handle<T>, n: u32) -> Measured {
    family.prepare(h);
    let fill = fill(family, h, n);
    Measured {
        fills: vec![fill],
        gets: gets(family, h, n),
        dump: dump(family, h),
        flush: flush(family, h),
    }
}

/// nlq's measures, the bytes its tables hold per route, and the medians
/// of `Stack::route_get` and of `Stack::best_route` (the table lookup
/// alone) called on the stack itself (no messages).
fn nlq(family: Family, n: u32) -> (Measured, usize, (Duration, Duration), usize) {
    let shared = Shared::new(MemStack::new());
    let mut h = Handle::in_process(&shared);
    let mut m = measure(family, &mut h, n);
    for _ in 1..runs(n) {
        let fresh = Shared::new(MemStack::new());
        let mut h = Handle::in_process(&fresh);
        family.prepare(&mut h);
        m.fills.push(fill(family, &mut h, n));
    }
    let above = dump_memory(family, &shared);
    let server = shared.lock();
    let stack = server.stack();
    let mut dice = 0x2545_f491_4f6c_dd1d;
    let mut direct: Vec<Duration> = (0..GETS)
        .map(|_| {
            let q = RouteQuery {
                dst: destination(family, n, &mut dice),
                src: None,
                oif: 0,
                mark: None,
            };
            let t = Instant::now();
            let answer = stack.route_get(&q);
            let took = t.elapsed();
            assert!(answer.is_ok(), "route get {}", q.dst);
            took
        })
        .collect();
    let mut dice = 0x2545_f491_4f6c_dd1d;
    let mut best: Vec<Duration> = (0..GETS)
        .map(|_| {
            let dst = destination(family, n, &mut dice);
            let t = Instant::now();
            let answer = stack.best_route(dst, &[RT_TABLE_LOCAL, RT_TABLE_MAIN], 0);
            let took = t.elapsed();
            assert!(answer.is_ok_and(|a| a.is_some()));
            took
        })
        .collect();
    (
        m,
        stack.table_bytes() / stack.route_count().max(1),
        (median(&mut direct), median(&mut best)),
        above,
    )
}

fn kernel(family: Family, n: u32) -> Option<Measured> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    // A thread of its own per table: the namespace goes with it.
    let in_namespace = |work: fn(Family, &mut Handle<KernelSocket>, u32) -> Measured| {
        std::thread::spawn(move || {
            // SAFETY: unshare(2) moves only this thread into a new namespace.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            let mut h = Handle::new(KernelSocket::new().expect("netlink socket"));
            work(family, &mut h, n)
        })
        .join()
        .ok()
    };
    let mut m = in_namespace(measure)?;
    for _ in 1..runs(n) {
        let again = in_namespace(|family, h, n| {
            family.prepare(h);
            Measured {
                fills: vec![fill(family, h, n)],
                gets: Vec::new(),
                dump: (Duration::ZERO, 0),
                flush: (Duration::ZERO, Duration::ZERO),
            }
        })?;
        m.fills.extend(again.fills);
    }
    Some(m)
}

/// How many times a table of `n` routes is filled (each time fresh), for
/// a median: `NLKIT_SCALE_RUNS`, else 5 below a million routes and 3 from
/// there (a small fill takes milliseconds, and one alone is noise).
fn runs(n: u32) -> usize {
    std::env::var("NLKIT_SCALE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if n < 1_000_000 { 5 } else { 3 })
        .max(1)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Prints what `contender` measured.
fn report(family: Family, size: &str, contender: &str, n: u32, m: &mut Measured) {
    let add = family.group();
    let v6 = if family == Family::V6 { "_v6" } else { "" };
    let rate = |(all, _): &(Duration, Duration)| f64::from(n) / all.as_secs_f64();
    let mut rates: Vec<f64> = m.fills.iter().map(rate).collect();
    rates.sort_by(f64::total_cmp);
    let (all, tail) = m.fills[0];
    println!(
        "{add}/{size}/{contender}: {n} routes in {:.3} s = {:.0} adds/s (last tenth {:.0} adds/s)",
        all.as_secs_f64(),
        f64::from(n) / all.as_secs_f64(),
        f64::from(n / 10) / tail.as_secs_f64().max(1e-9),
    );
    if let [lo, .., hi] = rates[..] {
        println!(
            "{add}/{size}/{contender}: median of {} fills {:.0} adds/s (from {lo:.0} to {hi:.0})",
            rates.len(),
            rates[rates.len() / 2],
        );
    }
    println!(
        "scale_route_get{v6}/{size}/{contender}: median {:.2} µs per route get (nlinline, {GETS} random destinations)",
        median(&mut m.gets).as_secs_f64() * 1e6
    );
    let (took, routes) = m.dump;
    println!(
        "scale_route_dump{v6}/{size}/{contender}: {routes} routes in {:.3} s = {:.0} routes/s",
        took.as_secs_f64(),
        routes as f64 / took.as_secs_f64()
    );
    let (down, del) = m.flush;
    println!(
        "scale_link_flush{v6}/{size}/{contender}: a link with 10 routes down in {:.1} µs, deleted in {:.1} µs",
        down.as_secs_f64() * 1e6,
        del.as_secs_f64() * 1e6
    );
}

fn parse_size(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_lowercase();
    let (digits, unit) = match s.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => match s.strip_suffix('m') {
            Some(d) => (d, 1_000_000),
            None => (s.as_str(), 1),
        },
    };
    digits.parse::<u32>().ok()?.checked_mul(unit)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let families = [
        (Family::V4, "NLKIT_SCALE", "10k,100k"),
        (Family::V6, "NLKIT_SCALE_V6", "10k,100k"),
    ];
    for (family, var, default) in families {
        let group = family.group();
        let sizes = std::env::var(var).unwrap_or_else(|_| default.into());
        for size in sizes.split(',').filter(|s| !s.trim().is_empty()) {
            let Some(n) = parse_size(size) else {
                eprintln!("{group}: {size:?} is not a size (10k, 1m, 5000)");
                std::process::exit(2);
            };
            let size = size.trim();
            let (mut m, per_route, (get, best), above) = nlq(family, n);
            report(family, size, "nlq", n, &mut m);
            println!("{group}/{size}/nlq: {per_route} bytes per route");
            let v6 = if family == Family::V6 { "_v6" } else { "" };
            println!(
                "scale_route_dump{v6}/{size}/nlq: {above} bytes allocated above the table during a dump"
            );
            println!(
                "scale_route_get{v6}/{size}/nlq: median {:.3} µs per Stack::route_get, {:.3} µs per Stack::best_route",
                get.as_secs_f64() * 1e6,
                best.as_secs_f64() * 1e6
            );
            match kernel(family, n) {
                Some(mut m) => report(family, size, "kernel", n, &mut m),
                None => println!("{group}/{size}/kernel: skipped, needs root"),
            }
        }
    }
}
