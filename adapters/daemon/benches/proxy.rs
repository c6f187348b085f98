//! The cost of `nlq proxy` in front of the kernel, in one network
//! namespace of 10,000 routes (`10.x.y.0/24 dev br0`). Two groups:
//!
//! - `proxy_route_show`: `ip -4 route show`, the whole process timed
//!   (start, dump, formatting, exit). `kernel`: `ip` on the namespace;
//!   `proxy`: the same `ip` with the preload shim, through a proxy whose
//!   upstream is that namespace.
//! - `proxy_apply_10k`: an nlinline [`Batch`] of 10,000 route adds
//!   ([`Handle::apply`], pipelined). `kernel`: a socket of the namespace;
//!   `proxy`: a socket of the proxy. Before each iteration (not timed)
//!   `br0` is made afresh, which takes its routes with it.
//!
//! The proxy runs a policy of five rules (a view for another user, a
//! table map for another user, allows on routes and addresses, a log
//! rule), without audit files. Needs root (for the namespace) and
//! `cargo build --release -p nlq-preload` first; without them the
//! benchmark says so and does nothing. Run with `cargo bench -p
//! nlq-daemon --bench proxy`.

mod common;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{shim_or_skip, Netns};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nlinline::{Batch, Handle, KernelSocket, Route, Transport};
use nlq_daemon::client::SocketClient;
use nlq_daemon::proxy::{Policy, Proxy, ProxyOptions, Upstream};
use nlq_daemon::testing::tenant_view_rules;

const ROUTES: u32 = 10_000;

/// The benchmarks' policy: changes are denied by default; user 65534 is a
/// tenant that sees only the `tap*` links and `lo`, with upstream table 100
/// as its `main`; root may change routes and addresses in 10.0.0.0/8, and
/// links; link requests are logged.
fn policy() -> String {
    let view = tenant_view_rules(65534, &["tap*", "lo"], 100);
    format!("[defaults]\nchanges = \"deny\"\n{view}{ADMIN_RULES}")
}

/// The rules of [`policy`] after the tenant's view.
const ADMIN_RULES: &str = r#"
[[rule]]
name = "watch-links"
ops = ["link:*"]
action = "log"

[[rule]]
name = "admin-routes"
uid = [0]
ops = ["route:*", "address:*"]
prefixes = ["10.0.0.0/8"]
action = "allow"

[[rule]]
name = "admin-links"
uid = [0]
ops = ["link:*"]
action = "allow"
"#;

fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, 0)
}

/// `br0` made afresh (up); its index.
fn fresh_bridge<T: Transport>(h: &mut Handle<T>) -> u32 {
    let _ = h.link_del("br0");
    let br = h.link_add("br0", "bridge", &[], None).expect("br0");
    h.link_set_up(br, true).expect("br0 up");
    br
}

fn batch(br: u32) -> Batch {
    let mut b = Batch::new();
    for i in 0..ROUTES {
        b.route_add(&Route::to(IpAddr::V4(dst(i)), 24).dev(br))
            .expect("route request");
    }
    b
}

fn proxy_benches(c: &mut Criterion) {
    let Some(shim) = shim_or_skip("proxy") else {
        return;
    };
    let ns = Netns::add(format!("nlkit-proxy-bench-{}", std::process::id()));
    let ns_path = PathBuf::from("/run/netns").join(&ns.0);
    let scratch = nlq_daemon::testing::TempDir::new("proxy-bench");
    let socket = scratch.path().join("proxy.sock");
    let _proxy = Proxy::spawn(
        &socket,
        Policy::parse(&policy()).expect("policy"),
        ProxyOptions {
            upstream: Upstream::Netns(ns_path.clone()),
            ..ProxyOptions::default()
        },
    )
    .expect("proxy");
    // This thread (and the `ip`s it starts) joins the namespace too.
    let f = std::fs::File::open(&ns_path).expect("namespace");
    nlq_daemon::sys::enter_netns(f.as_fd()).expect("setns");
    let mut kernel = Handle::new(KernelSocket::new().expect("netlink socket"));
    let mut proxied = SocketClient::handle(&socket).expect("proxy socket");
    kernel.link_set_up("lo", true).expect("lo up");

    // The table for `route show`.
    let br = fresh_bridge(&mut kernel);
    assert!(kernel.apply(&batch(br)).iter().all(|r| r.is_ok()));
    let show = |via_proxy: bool| {
        let mut c = Command::new("ip");
        if via_proxy {
            c.env("LD_PRELOAD", &shim).env("NLQ_SOCKET", &socket);
        }
        c.args(["-4", "route", "show"]);
        c
    };
    let (k, p) = (
        show(false).output().expect("ip"),
        show(true).output().expect("ip"),
    );
    assert!(k.status.success() && p.status.success());
    assert_eq!(k.stdout, p.stdout, "`ip -4 route show` differs");
    eprintln!(
        "proxy_route_show: {} lines, equal on both",
        k.stdout.split(|&b| b == b'\n').count() - 1
    );

    let mut g = c.benchmark_group("proxy_route_show");
    g.sample_size(30);
    for (name, via) in [("kernel", false), ("proxy", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let st = show(via).stdout(Stdio::null()).status().expect("run ip");
                assert!(st.success());
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("proxy_apply_10k");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(u64::from(ROUTES)));
    for (name, via_proxy) in [("kernel", false), ("proxy", true)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch = batch(fresh_bridge(&mut kernel));
                    let t = Instant::now();
                    let results = if via_proxy {
                        proxied.apply(&batch)
                    } else {
                        kernel.apply(&batch)
                    };
                    total += t.elapsed();
                    assert!(
                        results.iter().all(|r| r.is_ok()),
                        "{:?}",
                        results.iter().find(|r| r.is_err())
                    );
                    black_box(results);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, proxy_benches);
criterion_main!(benches);
