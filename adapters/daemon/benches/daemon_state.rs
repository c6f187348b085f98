//! `daemon_state`: what keeping a state file (`--state`) costs.
//!
//! - `daemon_state_batch_10k`: 10,000 route adds, one request per
//!   datagram, each waiting for its ACK (as `ip -batch` sends them), on a
//!   fresh daemon. Contenders: `no_state` (no state file), `state` (the
//!   state file in the temporary directory, on disk), `state_tmpfs` (the
//!   state file in `/dev/shm`, where a sync costs nothing: the daemon's
//!   own cost without the disk's).
//! - `daemon_state_one_change`: one acknowledged route add on a daemon
//!   keeping a state file whose stack holds 1,000 (`routes_1k`) or
//!   100,000 (`routes_100k`) routes.
//!
//! Run: `cargo bench -p nlq-daemon --bench daemon_state`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use nlinline::Shared;
use nlinline::{Handle, Route};
use nlq::wire::consts::RT_SCOPE_LINK;
use nlq_daemon::client::SocketClient;
use nlq_daemon::testing::TempDir;
use nlq_daemon::{Daemon, DaemonHandle, Options};
use nlq_mem::MemStack;

/// The i-th route: 11.0.0.0/24, 11.0.1.0/24, ... (ascending).
fn route(i: u32, dev: u32) -> Route {
    let dst = Ipv4Addr::from(0x0b00_0000u32 + (i << 8));
    Route::to(IpAddr::V4(dst), 24).dev(dev).scope(RT_SCOPE_LINK)
}

/// A stack with `d0` (index 2) up and `routes` routes through it.
fn stack_with(routes: u32) -> MemStack {
    let shared = Shared::new(MemStack::new());
    let mut h = Handle::in_process(&shared);
    let d = h.link_add("d0", "dummy", &[], None).unwrap();
    h.link_set_up(d, true).unwrap();
    h.addr_add("10.0.0.1".parse().unwrap(), 8, d).unwrap();
    for i in 0..routes {
        h.route_add(&route(i, d)).unwrap();
    }
    drop(h);
    shared.with(|s| s.stack().clone())
}

/// A daemon over `stack`, keeping its state in `state` if given.
fn daemon(dir: &TempDir, stack: MemStack, state: Option<PathBuf>) -> DaemonHandle<MemStack> {
    let options = Options {
        state,
        ..Options::default()
    };
    Daemon::bind_with_state(dir.path().join("nlq.sock"), stack, options)
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A state directory on tmpfs, removed when dropped.
struct ShmDir(PathBuf);

impl ShmDir {
    fn new() -> Option<ShmDir> {
        let p = Path::new("/dev/shm").join(format!("nlq-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p).ok()?;
        Some(ShmDir(p))
    }
}

impl Drop for ShmDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// 10,000 route adds, one at a time, on a fresh daemon: the time taken.
fn batch_10k(state: Option<PathBuf>) -> Duration {
    let dir = TempDir::new("bench-state");
    if let Some(s) = &state {
        let _ = std::fs::remove_file(s);
    }
    let d = daemon(&dir, stack_with(0), state);
    let mut h = SocketClient::handle(d.path()).unwrap();
    let t0 = Instant::now();
    for i in 0..10_000 {
        h.route_add(&route(i, 2)).unwrap();
    }
    let t = t0.elapsed();
    drop(h);
    drop(d);
    t
}

fn daemon_state_batch_10k(c: &mut Criterion) {
    let mut g = c.benchmark_group("daemon_state_batch_10k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(10_000));
    g.bench_function("no_state", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| batch_10k(None)).sum())
    });
    let disk = TempDir::new("bench-state-disk");
    g.bench_function("state", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| batch_10k(Some(disk.path().join("state"))))
                .sum()
        })
    });
    if let Some(shm) = ShmDir::new() {
        g.bench_function("state_tmpfs", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| batch_10k(Some(shm.0.join("state"))))
                    .sum()
            })
        });
    }
    g.finish();
}

fn daemon_state_one_change(c: &mut Criterion) {
    let mut g = c.benchmark_group("daemon_state_one_change");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    for (name, routes) in [("routes_1k", 1_000u32), ("routes_100k", 100_000)] {
        let dir = TempDir::new("bench-state-one");
        let d = daemon(&dir, stack_with(routes), Some(dir.path().join("state")));
        let mut h = SocketClient::handle(d.path()).unwrap();
        // New routes after the table's, one per change.
        let mut next = 200_000u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                h.route_add(&route(next, 2)).unwrap();
                next += 1;
            })
        });
        drop(h);
        drop(d);
    }
    g.finish();
}

criterion_group!(benches, daemon_state_batch_10k, daemon_state_one_change);
criterion_main!(benches);
