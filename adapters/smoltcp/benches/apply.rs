//! Configuring smoltcp through rtnetlink against configuring it directly.
//!
//! One criterion group, `smoltcp_apply`: 1,000 IPv4 addresses
//! (`10.x.y.1/24`, each in a subnet of its own) and 1,000 routes
//! (`172.x.y.0/24 via 10.0.0.254`) on an interface whose link is up and
//! holds none of them, the same values for both contenders:
//!
//! - `nlq`: nlinline builds the 2,000 requests into one [`Batch`] and
//!   applies it through a [`Handle`] on an in-process [`Shared`] server
//!   over [`SmolStack`] (pipelined, one ACK per datagram); the stack checks
//!   each request, keeps the kernel's view (each address brings its local,
//!   prefix and broadcast routes, 4,000 routes in all), and applies it to
//!   the interface, one smoltcp call per address and per gateway route.
//! - `direct`: the same addresses and routes given to the interface with
//!   smoltcp's own calls, one call per address
//!   ([`Interface::update_ip_addrs`]) and one per route
//!   ([`smoltcp::iface::Routes::update`]), as a program that configures
//!   one item at a time.
//!
//! Each contender keeps one stack (one interface) across iterations;
//! between two iterations, outside the timed part, it is emptied (for
//! `nlq`, the 1,000 routes and 1,000 addresses deleted over rtnetlink; for
//! `direct`, both smoltcp tables cleared). So the figures are the steady
//! cost of the work, not the first touch of fresh memory.
//!
//! A second group, `smoltcp_apply_fresh`, does the same on a new stack
//! (a new interface) each iteration, made outside the timed part: `nlq`
//! then also pays for its tables' first growth into memory the allocator
//! just got from the kernel (page faults), which a node pays once.
//!
//! The interface tables
//! must be large enough: the workspace's `.cargo/config.toml` sets them to
//! 1,024 entries. Before timing, the benchmark checks that both contenders
//! leave smoltcp with the same addresses and routes. Throughput is in
//! configured items (2,000).
//!
//! `cargo bench -p nlq-smoltcp --bench apply`

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use nlinline::Shared;
use nlinline::{Batch, Handle, Route};
use nlq::stack::{LinkChange, Stack};
use nlq::wire::consts::IFF_UP;
use nlq_smoltcp::SmolStack;
use smoltcp::iface::{Config, Interface, Route as SmolRoute};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Cidr};

/// Addresses, and routes.
const N: u32 = 1_000;
const INDEX: u32 = 2;
const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

/// Address `i`: `10.x.y.1`, in `10.x.y.0/24`.
fn addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0001 + (i << 8))
}

/// Route `i` goes to `172.x.y.0/24`, from `172.16.0.0`.
fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xac10_0000 + (i << 8))
}

fn route(i: u32) -> Route {
    Route::to(IpAddr::V4(dst(i)), 24).via(IpAddr::V4(GATEWAY))
}

fn config() -> Config {
    Config::new(EthernetAddress(MAC).into())
}

/// A stack with its link up, shared for in-process clients.
fn shared_stack() -> Shared<SmolStack<Loopback>> {
    let device = Loopback::new(Medium::Ethernet);
    let mut s = SmolStack::new(device, config(), Instant::ZERO, "eth0", INDEX).expect("stack");
    let up = LinkChange {
        flags: IFF_UP,
        flags_mask: IFF_UP,
        ..LinkChange::default()
    };
    s.set_link(INDEX, &up, &mut |_| {}).expect("link up");
    Shared::new(s)
}

/// The `nlq` contender: build the batch, apply it; every request must
/// succeed.
fn through_nlq(shared: &Shared<SmolStack<Loopback>>) {
    let mut h = Handle::in_process(shared);
    let mut batch = Batch::new();
    for i in 0..N {
        batch
            .addr_add(IpAddr::V4(addr(i)), 24, INDEX)
            .expect("address request");
    }
    for i in 0..N {
        batch.route_add(&route(i)).expect("route request");
    }
    let results = h.apply(&batch);
    assert!(results.iter().all(|r| r.is_ok()), "every request applied");
}

/// Empties a stack `through_nlq` configured (untimed).
fn unconfigure(shared: &Shared<SmolStack<Loopback>>) {
    let mut h = Handle::in_process(shared);
    let mut batch = Batch::new();
    for i in 0..N {
        batch.route_del(&route(i)).expect("route request");
    }
    for i in 0..N {
        batch
            .addr_del(IpAddr::V4(addr(i)), 24, INDEX)
            .expect("address request");
    }
    let results = h.apply(&batch);
    assert!(results.iter().all(|r| r.is_ok()), "every request applied");
}

fn new_iface() -> Interface {
    Interface::new(
        config(),
        &mut Loopback::new(Medium::Ethernet),
        Instant::ZERO,
    )
}

/// The `direct` contender.
fn direct(iface: &mut Interface) {
    for i in 0..N {
        let cidr = IpCidr::Ipv4(Ipv4Cidr::new(addr(i), 24));
        iface.update_ip_addrs(|a| {
            a.push(cidr).expect("room for the address");
        });
    }
    for i in 0..N {
        let route = SmolRoute {
            cidr: IpCidr::Ipv4(Ipv4Cidr::new(dst(i), 24)),
            via_router: IpAddress::Ipv4(GATEWAY),
            preferred_until: None,
            expires_at: None,
        };
        iface.routes_mut().update(|r| {
            r.push(route).expect("room for the route");
        });
    }
}

/// Empties an interface `direct` configured (untimed).
fn clear(iface: &mut Interface) {
    iface.update_ip_addrs(|a| a.clear());
    iface.routes_mut().update(|r| r.clear());
}

/// What smoltcp holds: IPv4 addresses and routes, sorted.
fn tables(iface: &mut Interface) -> (Vec<String>, Vec<String>) {
    let mut addrs: Vec<String> = iface
        .ip_addrs()
        .iter()
        .filter(|c| matches!(c, IpCidr::Ipv4(_)))
        .map(|c| c.to_string())
        .collect();
    let mut routes = Vec::new();
    iface.routes_mut().update(|t| {
        routes = t
            .iter()
            .map(|r| format!("{} via {}", r.cidr, r.via_router))
            .collect();
    });
    addrs.sort();
    routes.sort();
    (addrs, routes)
}

fn smoltcp_apply(c: &mut Criterion) {
    // Both contenders leave smoltcp with the same tables, and the nlq
    // stack empties to where it started.
    let shared = shared_stack();
    through_nlq(&shared);
    let mut iface = new_iface();
    direct(&mut iface);
    let want = tables(&mut iface);
    assert_eq!(want.0.len(), N as usize);
    assert_eq!(want.1.len(), N as usize);
    assert_eq!(
        tables(shared.lock().stack_mut().iface_mut()),
        want,
        "same tables"
    );
    unconfigure(&shared);
    let (addrs, routes) = tables(shared.lock().stack_mut().iface_mut());
    assert!(addrs.is_empty() && routes.is_empty(), "emptied");

    let mut g = c.benchmark_group("smoltcp_apply");
    g.throughput(Throughput::Elements(u64::from(2 * N)));
    // One stack, emptied before each iteration.
    let stack = RefCell::new(Some(shared));
    g.bench_function("nlq", |b| {
        b.iter_batched(
            || {
                let s = stack.borrow_mut().take().unwrap_or_else(shared_stack);
                if s.lock().stack().iface().ip_addrs().len() > 1 {
                    unconfigure(&s);
                }
                s
            },
            |s| {
                through_nlq(&s);
                stack.replace(Some(s));
            },
            BatchSize::PerIteration,
        )
    });
    // One interface, emptied before each iteration.
    let iface = RefCell::new(Some(iface));
    g.bench_function("direct", |b| {
        b.iter_batched(
            || {
                let mut i = iface.borrow_mut().take().unwrap_or_else(new_iface);
                clear(&mut i);
                i
            },
            |mut i| {
                direct(&mut i);
                iface.replace(Some(i));
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("smoltcp_apply_fresh");
    g.throughput(Throughput::Elements(u64::from(2 * N)));
    g.bench_function("nlq", |b| {
        b.iter_batched(
            shared_stack,
            |s| {
                through_nlq(&s);
                s
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("direct", |b| {
        b.iter_batched(
            new_iface,
            |mut i| {
                direct(&mut i);
                i
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, smoltcp_apply);
criterion_main!(benches);
