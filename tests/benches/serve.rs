//! Serving rtnetlink: nlq's sans-IO server over the in-memory stack
//! (`nlq_mem::MemStack`) against the Linux kernel.
//!
//! One criterion group per case, one function per contender:
//!
//! - `serve_route_dump`: a dump (`RTM_GETROUTE`, `NLM_F_DUMP`, `AF_INET`) of
//!   a table of 10,000 routes `10.x.y.0/24 via 192.168.0.2` (through `br0`,
//!   up, with `192.168.0.1/24`), read into a 32 KiB buffer until the
//!   datagram holding `NLMSG_DONE`; every message is counted. Throughput in
//!   messages (`NLMSG_DONE` left out).
//!   - `nlq`: a [`Server`] over `MemStack`, in-process: `send` the request,
//!     then `recv(conn, 32768)` one datagram at a time;
//!   - `kernel`: the same table in a fresh network namespace, read through
//!     a netlink socket (`netlink-sys`, under nlinline's [`KernelSocket`]).
//! - `serve_newaddr_deladdr`: `RTM_NEWADDR` then `RTM_DELADDR` of
//!   `172.16.0.1/24` on `br0`, both with `NLM_F_ACK`, from prebuilt request
//!   bytes, each ACK read and checked. Throughput in requests (two per
//!   iteration).
//!   - `nlq`: the server over `MemStack` (`br0` up with `192.168.0.1/24`,
//!     no other route), in-process;
//!   - `kernel`: the same in a fresh network namespace, for reference.
//!
//! Both tables are filled the same way: nlinline's [`Handle`] with one
//! pipelined [`Batch`] for the routes, over the kernel socket or over a
//! [`Shared`] server's connection.
//!
//! - `serve_getaddr_one`: one IPv6 `RTM_GETADDR` lookup (not a dump) of
//!   the last address of `d0`'s 1,000 or 240,000; `nlq/1000` and
//!   `nlq/240000`, the server over `MemStack`: the cost of a lookup must
//!   not grow with the table.
//!
//! The `kernel` contenders need root (to create network namespaces); without
//! it they are skipped with a notice and `nlq` runs alone. Run with
//! `cargo bench -p nlkit-tests --bench serve`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nlinline::Shared;
use nlinline::{Batch, Handle, KernelSocket, Route, Transport};
use nlkit_tests::netns::{in_netns, is_root};
use nlq::server::{ConnId, Server, SockOpt};
use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, FamilyHeader, Messages, RtMsg, Writer};
use nlq_mem::MemStack;

/// Routes in the dumped table.
const ROUTES: u32 = 10_000;
/// The reader's buffer, as `ip` reads.
const READ: usize = 32 * 1024;
/// `br0`'s address (a `/24`).
const BR_ADDR: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The routes' gateway, on `br0`'s subnet.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);
/// The address added and deleted by `serve_newaddr_deladdr`.
const CHURN_ADDR: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);

/// The destination of route `i`: consecutive `/24`s from `10.0.0.0`.
fn dst(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 + (i << 8))
}

/// Creates `br0`, brings it up and gives it `192.168.0.1/24`; returns its
/// index.
fn bridge<T: Transport>(h: &mut Handle<T>) -> u32 {
    let br = h.link_add("br0", "bridge", &[], None).expect("br0");
    h.link_set_up(br, true).expect("br0 up");
    h.addr_add(IpAddr::V4(BR_ADDR), 24, br)
        .expect("br0 address");
    br
}

/// [`bridge`], then the [`ROUTES`] routes via [`GATEWAY`] in one batch.
fn route_table<T: Transport>(h: &mut Handle<T>) {
    bridge(h);
    let mut batch = Batch::new();
    for i in 0..ROUTES {
        let r = Route::to(IpAddr::V4(dst(i)), 24).via(IpAddr::V4(GATEWAY));
        batch.route_add(&r).expect("route request");
    }
    let results = h.apply(&batch);
    assert!(results.iter().all(|r| r.is_ok()), "every route added");
}

/// A `MemStack` set up by `setup` through a connection to a server over
/// it, as any client would set it up; the stack is then taken out of that
/// server.
fn mem_stack(setup: impl FnOnce(&mut Handle<nlinline::in_process::Client<MemStack>>)) -> MemStack {
    let shared = Shared::new(MemStack::new());
    let mut h = Handle::new(shared.connect());
    setup(&mut h);
    drop(h);
    let mut server = shared.lock();
    std::mem::take(server.stack_mut())
}

/// A connection with the options [`KernelSocket`] sets on its socket
/// (`NETLINK_EXT_ACK`, `NETLINK_CAP_ACK`, `NETLINK_GET_STRICT_CHK`).
fn connect<S: Stack>(server: &mut Server<S>) -> ConnId {
    let conn = server.connect();
    for opt in [
        SockOpt::ExtAck(true),
        SockOpt::CapAck(true),
        SockOpt::StrictCheck(true),
    ] {
        server.set_option(conn, opt).expect("socket option");
    }
    conn
}

/// The dump request: `RTM_GETROUTE`, `NLM_F_DUMP`, `AF_INET`.
fn dump_request() -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    let h = RtMsg {
        family: AF_INET,
        ..RtMsg::default()
    };
    w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
        h.emit(w)
    })
    .expect("dump request");
    w.into_inner()
}

/// The two requests of `serve_newaddr_deladdr`: add, then delete,
/// `172.16.0.1/24` on link `index`, each with `NLM_F_ACK`.
fn churn_requests(index: u32) -> (Vec<u8>, Vec<u8>) {
    let ip = IpAddr::V4(CHURN_ADDR);
    let a = AddrRepr::new(ip, 24, index).with_local(ip);
    let build = |kind, flags| {
        let mut w = Writer::new(Vec::new());
        w.message(kind, NLM_F_REQUEST | NLM_F_ACK | flags, 1, 0, |w| a.emit(w))
            .expect("address request");
        w.into_inner()
    };
    (
        build(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL),
        build(RTM_DELADDR, 0),
    )
}

/// What a reader got from one dump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    /// Route messages (`NLMSG_DONE` left out).
    messages: u64,
    /// Datagrams, the last one (with `NLMSG_DONE`) included.
    datagrams: u64,
    /// Bytes of every datagram.
    bytes: u64,
}

impl Tally {
    /// Counts one dump datagram; true when it ends the dump (`NLMSG_DONE`).
    #[inline]
    fn add(&mut self, datagram: &[u8]) -> bool {
        self.datagrams += 1;
        self.bytes += datagram.len() as u64;
        for m in Messages::new(datagram) {
            let m = m.expect("well-formed dump message");
            match m.message_type() {
                RTM_NEWROUTE => self.messages += 1,
                NLMSG_DONE => return true,
                other => panic!("unexpected message type {other} in the dump"),
            }
        }
        false
    }
}

/// True when `datagram` starts with a successful ACK (`NLMSG_ERROR`, 0).
#[inline]
fn acked(datagram: &[u8]) -> bool {
    match (datagram.get(4..6), datagram.get(16..20)) {
        (Some(kind), Some(error)) => {
            u16::from_ne_bytes([kind[0], kind[1]]) == NLMSG_ERROR
                && i32::from_ne_bytes([error[0], error[1], error[2], error[3]]) == 0
        }
        _ => false,
    }
}

/// One whole dump from the server.
fn nlq_dump<S: Stack>(server: &mut Server<S>, conn: ConnId, request: &[u8]) -> Tally {
    server.handle_datagram(conn, request);
    let mut t = Tally::default();
    loop {
        let d = server
            .next_datagram(conn, READ)
            .expect("no error")
            .expect("a dump datagram");
        if t.add(&d.bytes) {
            return t;
        }
    }
}

/// One whole dump from the kernel.
fn kernel_dump(sock: &KernelSocket, request: &[u8], buf: &mut Vec<u8>) -> Tally {
    let s = sock.socket();
    s.send(request, 0).expect("send the dump request");
    let mut t = Tally::default();
    loop {
        buf.clear();
        s.recv(buf, 0).expect("a dump datagram");
        if t.add(buf) {
            return t;
        }
    }
}

/// One request to the server, its ACK read and checked.
#[inline]
fn nlq_request<S: Stack>(server: &mut Server<S>, conn: ConnId, request: &[u8]) {
    server.handle_datagram(conn, request);
    let d = server
        .next_datagram(conn, READ)
        .expect("no error")
        .expect("an ACK");
    assert!(acked(&d.bytes), "request acknowledged");
}

/// One request to the kernel, its ACK read and checked.
#[inline]
fn kernel_request(sock: &KernelSocket, request: &[u8], buf: &mut Vec<u8>) {
    let s = sock.socket();
    s.send(request, 0).expect("send the request");
    buf.clear();
    s.recv(buf, 0).expect("an ACK");
    assert!(acked(buf), "request acknowledged");
}

/// Says why a `kernel` contender does not run; true when it can.
fn kernel_available(group: &str) -> bool {
    if is_root() {
        return true;
    }
    eprintln!("{group}: `kernel` skipped, needs root to create a network namespace");
    false
}

/// A socket in a fresh network namespace (kept alive by the socket) whose
/// tables `setup` filled through another handle.
fn kernel_namespace<R: Send + 'static>(
    name: &str,
    setup: impl FnOnce(&mut Handle<KernelSocket>) -> R + Send + 'static,
) -> (KernelSocket, R) {
    in_netns(name, move || {
        let mut h = Handle::kernel().expect("netlink socket");
        let r = setup(&mut h);
        (KernelSocket::new().expect("netlink socket"), r)
    })
    .expect("running as root")
}

fn serve_route_dump(c: &mut Criterion) {
    let request = dump_request();
    let mut g = c.benchmark_group("serve_route_dump");

    let mut server = Server::new(mem_stack(route_table));
    let conn = connect(&mut server);
    // Like the kernel, the server sizes dump datagrams after the reader's
    // largest read so far (the first datagram goes out with the request):
    // one dump first, so that every timed one is read alike.
    nlq_dump(&mut server, conn, &request);
    let tally = nlq_dump(&mut server, conn, &request);
    assert!(tally.messages > u64::from(ROUTES));
    eprintln!("serve_route_dump: nlq sends {tally:?}");
    g.throughput(Throughput::Elements(tally.messages));
    g.bench_function("nlq", |b| {
        b.iter(|| assert_eq!(nlq_dump(&mut server, conn, black_box(&request)), tally))
    });

    if kernel_available("serve_route_dump") {
        let (sock, ()) = kernel_namespace("serve_route_dump", route_table);
        let mut buf = Vec::with_capacity(READ);
        // The same first dump as for nlq.
        kernel_dump(&sock, &request, &mut buf);
        let tally = kernel_dump(&sock, &request, &mut buf);
        assert!(tally.messages > u64::from(ROUTES));
        eprintln!("serve_route_dump: the kernel sends {tally:?}");
        g.throughput(Throughput::Elements(tally.messages));
        g.bench_function("kernel", |b| {
            b.iter(|| assert_eq!(kernel_dump(&sock, black_box(&request), &mut buf), tally))
        });
    }
    g.finish();
}

fn serve_newaddr_deladdr(c: &mut Criterion) {
    let mut g = c.benchmark_group("serve_newaddr_deladdr");
    g.throughput(Throughput::Elements(2));

    let mut br = 0;
    let stack = mem_stack(|h| br = bridge(h));
    let (add, del) = churn_requests(br);
    let mut server = Server::new(stack);
    let conn = connect(&mut server);
    g.bench_function("nlq", |b| {
        b.iter(|| {
            nlq_request(&mut server, conn, black_box(&add));
            nlq_request(&mut server, conn, black_box(&del));
        })
    });

    if kernel_available("serve_newaddr_deladdr") {
        let (sock, br) = kernel_namespace("serve_newaddr_deladdr", bridge);
        let (add, del) = churn_requests(br);
        let mut buf = Vec::with_capacity(READ);
        g.bench_function("kernel", |b| {
            b.iter(|| {
                kernel_request(&sock, black_box(&add), &mut buf);
                kernel_request(&sock, black_box(&del), &mut buf);
            })
        });
    }
    g.finish();
}

/// A `MemStack` with `d0` (index 2) holding `n` IPv6 addresses
/// `2001:db8::<i>/64`, built from tables (adding them one by one costs
/// O(n) each).
fn v6_addr_stack(n: u32) -> MemStack {
    let mut template = None;
    let stack = mem_stack(|h| {
        let d = h.link_add("d0", "dummy", &[], None).expect("d0");
        h.addr_add(v6_addr(0), 64, d).expect("the first address");
        template = h
            .addrs(AF_INET6)
            .expect("address dump")
            .into_iter()
            .find(|a| a.header.index == d);
    });
    let template = template.expect("the first address");
    let mut t = stack.tables();
    let first = t
        .addrs
        .iter()
        .position(|a| a.header.index == 2)
        .expect("d0's");
    t.addrs.truncate(first);
    for i in 0..n {
        let mut a = template;
        a.address = Some(v6_addr(i));
        t.addrs.push(a);
    }
    MemStack::from_tables(&t).expect("tables")
}

/// The `i`-th address of [`v6_addr_stack`].
fn v6_addr(i: u32) -> IpAddr {
    let [a, b, c, d] = i.to_be_bytes();
    IpAddr::from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, a, b, c, d])
}

/// `serve_getaddr_one`: one IPv6 `RTM_GETADDR` that is not a dump (a
/// single lookup, `inet6_rtm_getaddr`) of the last address of a table of
/// 1,000 or 240,000 (the worst case for a walk of the table), the reply
/// read and checked. Contenders: `nlq/1000` and `nlq/240000`: the
/// lookup's cost must not grow with the table.
fn serve_getaddr_one(c: &mut Criterion) {
    let mut g = c.benchmark_group("serve_getaddr_one");
    g.throughput(Throughput::Elements(1));
    for n in [1_000u32, 240_000] {
        let mut server = Server::new(v6_addr_stack(n));
        let conn = connect(&mut server);
        let mut w = Writer::new(Vec::new());
        let want = AddrRepr::new(v6_addr(n - 1), 64, 0);
        w.message(RTM_GETADDR, NLM_F_REQUEST, 1, 0, |w| want.emit(w))
            .expect("request");
        let request = w.into_inner();
        g.bench_with_input(BenchmarkId::new("nlq", n), &request, |b, request| {
            b.iter(|| {
                server.handle_datagram(conn, black_box(request));
                let reply = server
                    .next_datagram(conn, READ)
                    .expect("recv")
                    .expect("a reply");
                let m = Messages::new(&reply.bytes).next().expect("a message");
                assert_eq!(m.expect("frames").message_type(), RTM_NEWADDR);
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    serve_route_dump,
    serve_newaddr_deladdr,
    serve_getaddr_one
);
criterion_main!(benches);
