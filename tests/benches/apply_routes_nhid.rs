//! `apply_routes_nhid`: 100,000 IPv4 routes (`/24`s) that all go through
//! one nexthop group of two paths, the way routing daemons install a full
//! table, applied as one pipelined nlinline [`Batch`]. The group (a link
//! nexthop and a gateway nexthop on `lo`) is made before the clock starts,
//! on a fresh stack each iteration. Contenders:
//!
//! - `nlq`: the in-memory engine in process ([`Handle::in_process`]);
//! - `kernel`: a fresh network namespace per iteration (root only; without
//!   it the contender is skipped, saying so).
//!
//! Run with `cargo bench -p nlkit-tests --bench apply_routes_nhid`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nlinline::Shared;
use nlinline::{Batch, Handle, KernelSocket, Nexthop, Route, Transport};
use nlq_mem::MemStack;

const ROUTES: u32 = 100_000;
const GROUP: u32 = 10;

/// `lo` up with `10.0.0.1/24`, nexthop 1 (`dev lo`), nexthop 2 (`via
/// 10.0.0.2 dev lo`) and group [`GROUP`] of both (weights 1 and 3).
fn prepare<T: Transport>(h: &mut Handle<T>) {
    h.link_set_up(1, true).expect("lo up");
    h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, 1)
        .expect("lo address");
    h.nexthop_add(&Nexthop::on_link(1, 1)).expect("nexthop 1");
    let gw = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    h.nexthop_add(&Nexthop::via(2, gw).dev(1))
        .expect("nexthop 2");
    let group = Nexthop::group(GROUP, &[(1, 1), (2, 3)]).expect("group");
    h.nexthop_add(&group).expect("nexthop group");
}

/// The batch: route `i` is `11.x.y.0/24 nhid GROUP`.
fn batch() -> Batch {
    let mut b = Batch::new();
    for i in 0..ROUTES {
        let dst = Ipv4Addr::from(0x0b00_0000u32 + (i << 8));
        b.route_add(&Route::to(IpAddr::V4(dst), 24).nhid(GROUP))
            .expect("route request");
    }
    b
}

fn applied<T: Transport>(h: &mut Handle<T>, b: &Batch) {
    let results = h.apply(b);
    if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
        panic!("a route was refused: {e:?}");
    }
    black_box(results);
}

fn apply_routes_nhid(c: &mut Criterion) {
    let b = batch();
    let mut g = c.benchmark_group("apply_routes_nhid");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(u64::from(ROUTES)));

    g.bench_function("nlq", |bench| {
        bench.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let shared = Shared::new(MemStack::new());
                let mut h = Handle::in_process(&shared);
                prepare(&mut h);
                let t = Instant::now();
                applied(&mut h, &b);
                total += t.elapsed();
            }
            total
        })
    });

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("apply_routes_nhid/kernel: skipped, needs root to create network namespaces");
    } else {
        g.bench_function("kernel", |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // SAFETY: unshare(2) moves only the benchmark thread
                    // into a fresh namespace; the last one goes when
                    // nothing uses it.
                    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
                    let mut h = Handle::new(KernelSocket::new().expect("netlink socket"));
                    prepare(&mut h);
                    let t = Instant::now();
                    applied(&mut h, &b);
                    total += t.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, apply_routes_nhid);
criterion_main!(benches);
