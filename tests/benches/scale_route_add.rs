//! `scale_route_add/{10k,100k,1m}`: IPv4 routes (half `/32`, half `/24`,
//! all via one gateway on `br0`) added with nlinline batches until the
//! table holds N of them, in one run against two contenders:
//!
//! - `nlq`: an `nlq-mem` stack in this process ([`Handle::in_process`]);
//! - `kernel`: a fresh network namespace (needs root; skipped without).
//!
//! One pass per size (criterion's repeated sampling does not fit a table
//! of a million routes); the rate printed is routes per second over the
//! whole fill, and the rate of the last tenth shows whether adding gets
//! slower as the table grows; nlq's table bytes per route follow
//! (`MemStack::table_bytes`). Sizes: `NLKIT_SCALE=10k,100k,1m` (default
//! `10k,100k`). Run with
//! `cargo bench -p nlkit-tests --bench scale_route_add`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use nlinline::{Batch, Handle, KernelSocket, Route, Transport};
use nlq::server::Shared;
use nlq_mem::MemStack;

/// Routes per batch (one pipelined `apply`) at most.
const BATCH: u32 = 5_000;
const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);

/// The `i`-th route: even ones `/24` from 11.0.0.0 up, odd ones `/32`
/// from 100.0.0.0 up (no two alike, none over the gateway's subnet).
fn route(i: u32) -> Route {
    let half = i / 2;
    let (dst, len) = if i & 1 == 0 {
        (Ipv4Addr::from(0x0b00_0000u32 + (half << 8)), 24)
    } else {
        (Ipv4Addr::from(0x6400_0000u32 + half), 32)
    };
    Route::to(IpAddr::V4(dst), len).via(IpAddr::V4(GATEWAY))
}

/// `br0` up with `192.168.0.2/16`, through `h`.
fn prepare<T: Transport>(h: &mut Handle<T>) {
    let br = h.link_add("br0", "bridge", &[], None).expect("br0");
    h.link_set_up(br, true).expect("br0 up");
    h.addr_add(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2)), 16, br)
        .expect("br0 address");
}

/// Adds `n` routes; the time of the whole fill and of its last tenth.
fn fill<T: Transport>(h: &mut Handle<T>, n: u32) -> (Duration, Duration) {
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
            batch.route_add(&route(j)).expect("route request");
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

fn report(size: &str, contender: &str, n: u32, (all, tail): (Duration, Duration)) {
    let rate = f64::from(n) / all.as_secs_f64();
    let tail_rate = f64::from(n / 10) / tail.as_secs_f64().max(1e-9);
    println!(
        "scale_route_add/{size}/{contender}: {n} routes in {:.3} s = {:.0} adds/s (last tenth {:.0} adds/s)",
        all.as_secs_f64(),
        rate,
        tail_rate
    );
}

/// The fill's times, and the bytes the stack's tables hold per route.
fn nlq(n: u32) -> ((Duration, Duration), usize) {
    let shared = Shared::new(MemStack::new());
    let mut h = Handle::in_process(&shared);
    prepare(&mut h);
    let times = fill(&mut h, n);
    let server = shared.lock();
    let stack = server.stack();
    (times, stack.table_bytes() / stack.route_count().max(1))
}

fn kernel(n: u32) -> Option<(Duration, Duration)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    // A thread of its own: the namespace goes with it.
    std::thread::spawn(move || {
        // SAFETY: unshare(2) moves only this thread into a new namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        let mut h = Handle::new(KernelSocket::new().expect("netlink socket"));
        prepare(&mut h);
        fill(&mut h, n)
    })
    .join()
    .ok()
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
    let sizes = std::env::var("NLKIT_SCALE").unwrap_or_else(|_| "10k,100k".into());
    for size in sizes.split(',') {
        let Some(n) = parse_size(size) else {
            eprintln!("scale_route_add: {size:?} is not a size (10k, 1m, 5000)");
            std::process::exit(2);
        };
        let size = size.trim();
        let (times, per_route) = nlq(n);
        report(size, "nlq", n, times);
        println!("scale_route_add/{size}/nlq: {per_route} bytes per route");
        match kernel(n) {
            Some(t) => report(size, "kernel", n, t),
            None => println!("scale_route_add/{size}/kernel: skipped, needs root"),
        }
    }
}
