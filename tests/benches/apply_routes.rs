//! `apply_10k_routes`: add 10,000 routes `10.x.y.0/24 dev br0` to the
//! kernel, in a fresh network namespace per iteration (its creation, `br0`
//! and the connection set-up are not timed). Contenders:
//!
//! - `nlinline`: one [`Batch`] applied with [`Handle::apply`] (pipelined);
//! - `nlinline_serial`: [`Handle::route_add`] one route at a time;
//! - `ip_batch`: `ip -batch FILE`;
//! - `rtnetlink`: the rtnetlink crate, one awaited request at a time, as
//!   its users write it.
//!
//! Needs root (to create namespaces); without it the benchmark says so and
//! does nothing. Run with `cargo bench -p nlkit-tests --bench apply_routes`.

use std::hint::black_box;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nlinline::{Batch, Handle, KernelSocket, Route};

const ROUTES: u32 = 10_000;

fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, 0)
}

/// Moves this thread into a fresh network namespace with `br0` up; returns
/// a handle on it and `br0`'s index.
fn fresh_namespace() -> (Handle<KernelSocket>, u32) {
    // SAFETY: unshare(2) moves only the calling (benchmark) thread; the
    // previous namespace is released when nothing uses it any more.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
    let mut h = Handle::kernel().expect("netlink socket");
    let br = h.link_add("br0", "bridge", &[], None).expect("br0");
    h.link_set_up(br, true).expect("br0 up");
    (h, br)
}

/// Times `run` over `iters` fresh namespaces.
fn timed<S>(iters: u64, mut setup: impl FnMut() -> S, mut run: impl FnMut(S)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let s = setup();
        let t = Instant::now();
        run(s);
        total += t.elapsed();
    }
    total
}

fn apply_10k_routes(c: &mut Criterion) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("apply_10k_routes: skipped, needs root to create network namespaces");
        return;
    }
    let routes: Vec<Route> = (0..ROUTES)
        .map(|i| Route::to(IpAddr::V4(dst(i)), 24))
        .collect();
    let batch_file = std::env::temp_dir().join(format!("nlkit-apply-{}.batch", std::process::id()));
    {
        let mut f = std::fs::File::create(&batch_file).expect("batch file");
        for i in 0..ROUTES {
            writeln!(f, "route add {}/24 dev br0", dst(i)).expect("write batch file");
        }
    }

    let mut g = c.benchmark_group("apply_10k_routes");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(u64::from(ROUTES)));

    g.bench_function("nlinline", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || {
                    let (h, br) = fresh_namespace();
                    let mut batch = Batch::new();
                    for r in &routes {
                        batch.route_add(&r.clone().dev(br)).expect("route request");
                    }
                    (h, batch)
                },
                |(mut h, batch)| {
                    let results = h.apply(&batch);
                    assert!(results.iter().all(|r| r.is_ok()));
                    black_box(results);
                },
            )
        })
    });

    g.bench_function("nlinline_serial", |b| {
        b.iter_custom(|iters| {
            timed(iters, fresh_namespace, |(mut h, br)| {
                for r in &routes {
                    h.route_add(&r.clone().dev(br)).expect("route added");
                }
            })
        })
    });

    g.bench_function("ip_batch", |b| {
        b.iter_custom(|iters| {
            timed(iters, fresh_namespace, |_| {
                let st = Command::new("ip")
                    .arg("-batch")
                    .arg(&batch_file)
                    .status()
                    .expect("run ip");
                assert!(st.success());
            })
        })
    });

    g.bench_function("rtnetlink", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || {
                    let (_h, br) = fresh_namespace();
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    let handle = rt.block_on(async {
                        let (conn, handle, _) = rtnetlink::new_connection().expect("connection");
                        tokio::spawn(conn);
                        handle
                    });
                    (rt, handle, br)
                },
                |(rt, handle, br)| {
                    rt.block_on(async {
                        for i in 0..ROUTES {
                            let msg = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
                                .destination_prefix(dst(i), 24)
                                .output_interface(br)
                                .build();
                            handle
                                .route()
                                .add(msg)
                                .execute()
                                .await
                                .expect("route added");
                        }
                    });
                },
            )
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&batch_file);
}

criterion_group!(benches, apply_10k_routes);
criterion_main!(benches);
