//! A concurrent workload through a daemon, and its check against a serial
//! replay on an in-process server: shared by the `concurrent` test and the
//! `daemon_concurrent` benchmark (which includes this file by path).
//!
//! Each client owns a bridge (created up front, up, with `10.C.0.1/16`)
//! and sends a mix of requests on it, each with `NLM_F_ACK`: address add
//! and delete, route add and delete (via `10.C.0.254`), MTU changes, link
//! up, `RTM_GETLINK` by index, `RTM_GETROUTE` for a destination. A monitor
//! bound to `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV4_ROUTE`
//! reads everything. Because the clients' objects are disjoint, the run
//! must give exactly what a serial replay gives: per request the same
//! answer, in order; per client the same notifications in the same order;
//! the same final dumps.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nlq::server::{ConnId, Server, SockOpt};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, Message, Messages, NlMsg, RouteRepr, Writer};
use nlq_daemon::client::SocketClient;
use nlq_mem::MemStack;

/// Requests a client keeps in flight.
pub const WINDOW: usize = 8;

/// How long any wait may last before the run is declared broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// `nl_groups` of the monitor: links, IPv4 addresses, IPv4 routes.
pub const MONITOR_GROUPS: u32 =
    (1 << (RTNLGRP_LINK - 1)) | (1 << (RTNLGRP_IPV4_IFADDR - 1)) | (1 << (RTNLGRP_IPV4_ROUTE - 1));

/// A message with the port replaced by who sent the request (`None`:
/// port 0, the stack itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Norm {
    pub message_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub origin: Option<usize>,
    pub group: u32,
    pub payload: Vec<u8>,
}

/// What a run gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Per client, per request: the messages of its answer (the last is
    /// its `NLMSG_ERROR`).
    pub answers: Vec<Vec<Vec<Norm>>>,
    /// Per client: the notifications about its bridge, in arrival order.
    pub heard: Vec<Vec<Norm>>,
    /// The monitor saw `ENOBUFS`.
    pub overrun: bool,
    /// Final link, address and route dumps.
    pub dumps: Vec<Vec<Norm>>,
}

/// The requests of every client, built once.
pub struct Plan {
    pub clients: usize,
    pub requests: usize,
    /// Per client: its bridge's index and its requests (seq = position + 1).
    pub per_client: Vec<(u32, Vec<Vec<u8>>)>,
}

fn msg(
    kind: u16,
    flags: u16,
    seq: u32,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0, body)
        .expect("a request encodes");
    w.into_inner()
}

fn bridge_name(c: usize) -> String {
    format!("nlqb{c}")
}

/// The most clients a plan takes (each has 10.C.0.0/16, C from 1).
pub const MAX_CLIENTS: usize = 250;

fn ip(c: usize, third: u8, fourth: u8) -> IpAddr {
    let b = u8::try_from(c + 1).expect("at most MAX_CLIENTS clients");
    IpAddr::V4(Ipv4Addr::new(10, b, third, fourth))
}

/// The setup requests of client `c` (bridge creation, up, base address).
fn setup_requests(c: usize, index: Option<u32>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match index {
        None => {
            let l = LinkRepr {
                name: nlq::wire::IfName::try_from_str(&bridge_name(c)),
                info: Some(nlq::wire::LinkInfoRepr {
                    kind: nlq::wire::InlineStr::try_from_str("bridge"),
                    ..Default::default()
                }),
                ..LinkRepr::default()
            };
            out.push(msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 1, |w| {
                l.emit(w)
            }));
        }
        Some(index) => {
            let mut l = LinkRepr::default();
            l.header.index = index;
            l.header.flags = IFF_UP;
            l.header.change = IFF_UP;
            out.push(msg(RTM_NEWLINK, 0, 2, |w| l.emit(w)));
            let a = ip(c, 0, 1);
            out.push(msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 3, |w| {
                AddrRepr::new(a, 16, index).with_local(a).emit(w)
            }));
        }
    }
    out
}

/// The requests of client `c` on its bridge `index`.
fn client_requests(c: usize, index: u32, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    let mut addrs: VecDeque<IpAddr> = VecDeque::new();
    let mut routes: VecDeque<IpAddr> = VecDeque::new();
    let (mut next_addr, mut next_route) = (0u32, 0u32);
    let gw = ip(c, 0, 254);
    for k in 0..n {
        let seq = u32::try_from(k + 1).unwrap_or(u32::MAX);
        let m = match k % 8 {
            0 => {
                let a = ip(c, 1, (next_addr % 250) as u8 + 2);
                next_addr += 1;
                addrs.push_back(a);
                msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, |w| {
                    AddrRepr::new(a, 32, index).with_local(a).emit(w)
                })
            }
            1 => {
                let mut l = LinkRepr::default();
                l.header.index = index;
                msg(RTM_GETLINK, 0, seq, |w| l.emit(w))
            }
            2 => {
                let d = ip(c, 128 + (next_route % 100) as u8, 0);
                next_route += 1;
                routes.push_back(d);
                let mut r = RouteRepr::new(d, 24);
                r.gateway = Some(gw);
                msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, seq, |w| r.emit(w))
            }
            3 => {
                // The oldest address, or one that is not there.
                let a = addrs.pop_front().unwrap_or(ip(c, 2, 1));
                msg(RTM_DELADDR, 0, seq, |w| {
                    AddrRepr::new(a, 32, index).with_local(a).emit(w)
                })
            }
            4 => {
                let mut l = LinkRepr::default();
                l.header.index = index;
                l.mtu = Some(1400 + (k % 100) as u32);
                msg(RTM_NEWLINK, 0, seq, |w| l.emit(w))
            }
            5 => {
                let d = routes.pop_front().unwrap_or(ip(c, 250, 0));
                let mut r = RouteRepr::new(d, 24);
                r.gateway = Some(gw);
                r.header.protocol = RTPROT_UNSPEC;
                r.header.scope = RT_SCOPE_NOWHERE;
                r.header.route_type = RTN_UNSPEC;
                msg(RTM_DELROUTE, 0, seq, |w| r.emit(w))
            }
            6 => {
                let mut r = RouteRepr::default();
                r.header.family = AF_INET;
                r.header.dst_len = 32;
                r.dst = Some(ip(c, 128 + (k % 100) as u8, 5));
                msg(RTM_GETROUTE, 0, seq, |w| r.emit(w))
            }
            _ => {
                let mut l = LinkRepr::default();
                l.header.index = index;
                l.header.flags = IFF_UP;
                l.header.change = IFF_UP;
                msg(RTM_NEWLINK, 0, seq, |w| l.emit(w))
            }
        };
        out.push(m);
    }
    out
}

/// The link, address and route dump requests.
fn dump_requests() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, kind) in [RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE]
        .into_iter()
        .enumerate()
    {
        let mut w = Writer::new(Vec::new());
        w.message(
            kind,
            NLM_F_REQUEST | NLM_F_DUMP,
            900_000 + i as u32,
            0,
            |w| w.put(&[AF_UNSPEC]),
        )
        .expect("a dump request encodes");
        out.push(w.into_inner());
    }
    out
}

/// The object's link index (whose client it is).
fn link_of(m: &NlMsg<'_>) -> Option<u32> {
    match m.typed().ok()? {
        Message::Link(l) => Some(l.header().index),
        Message::Addr(a) => Some(a.header().index),
        Message::Route(r) => RouteRepr::parse(&r).ok()?.oif,
        _ => None,
    }
}

fn norm(m: &NlMsg<'_>, ports: &[u32], group: u32) -> Norm {
    Norm {
        message_type: m.message_type(),
        flags: m.flags(),
        seq: m.seq(),
        origin: ports.iter().position(|p| *p == m.port() && *p != 0),
        group,
        payload: m.payload().to_vec(),
    }
}

/// Files a monitor datagram's notifications under their clients.
fn hear(heard: &mut [Vec<Norm>], indexes: &[u32], ports: &[u32], d: &[u8], group: u32) -> bool {
    let mut end = false;
    for m in Messages::new(d).flatten() {
        if let Ok(Message::Link(l)) = m.typed() {
            if m.message_type() == RTM_NEWLINK
                && LinkRepr::parse(&l)
                    .ok()
                    .and_then(|l| l.name)
                    .is_some_and(|n| n.as_str() == "nlqend")
            {
                end = true;
                continue;
            }
        }
        if let Some(c) = link_of(&m).and_then(|i| indexes.iter().position(|x| *x == i)) {
            if let Some(h) = heard.get_mut(c) {
                h.push(norm(&m, ports, group));
            }
        }
    }
    end
}

/// The marker the monitor stops at: a link created after every client is
/// done.
fn end_marker() -> Vec<u8> {
    let l = LinkRepr {
        name: nlq::wire::IfName::try_from_str("nlqend"),
        info: Some(nlq::wire::LinkInfoRepr {
            kind: nlq::wire::InlineStr::try_from_str("dummy"),
            ..Default::default()
        }),
        ..LinkRepr::default()
    };
    msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 77, |w| l.emit(w))
}

fn sockopts() -> [SockOpt; 3] {
    [
        SockOpt::ExtAck(true),
        SockOpt::CapAck(true),
        SockOpt::StrictCheck(true),
    ]
}

/// Sends `req` on a socket client and returns every message up to its
/// answer for `seq`.
fn exchange(c: &mut SocketClient, req: &[u8], seq: u32) -> Vec<Vec<u8>> {
    c.send(req).expect("send");
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        c.recv(&mut buf, Some(PATIENCE)).expect("an answer");
        let done = Messages::new(&buf)
            .flatten()
            .any(|m| m.seq() == seq && matches!(m.message_type(), NLMSG_ERROR | NLMSG_DONE));
        out.push(buf.clone());
        if done {
            return out;
        }
    }
}

fn first_errno(datagrams: &[Vec<u8>]) -> Option<i32> {
    datagrams.iter().find_map(|d| {
        Messages::new(d).flatten().find_map(|m| match m.typed() {
            Ok(Message::Error(e)) => Some(e.errno()),
            _ => None,
        })
    })
}

/// Creates the bridges through an admin connection to the daemon and
/// builds the plan.
pub fn setup_daemon(path: &Path, clients: usize, requests: usize) -> Plan {
    assert!(clients <= MAX_CLIENTS);
    let mut admin = SocketClient::connect(path).expect("admin connects");
    let mut per_client = Vec::new();
    for c in 0..clients {
        let req = setup_requests(c, None).remove(0);
        assert_eq!(
            first_errno(&exchange(&mut admin, &req, 1)),
            Some(0),
            "bridge {c}"
        );
    }
    let mut h = SocketClient::handle(path).expect("a handle");
    for c in 0..clients {
        let index = h
            .if_nametoindex(&bridge_name(c))
            .expect("the bridge exists");
        for (i, req) in setup_requests(c, Some(index)).iter().enumerate() {
            let seq = 2 + i as u32;
            assert_eq!(
                first_errno(&exchange(&mut admin, req, seq)),
                Some(0),
                "setup of {c}"
            );
        }
        per_client.push((index, client_requests(c, index, requests)));
    }
    Plan {
        clients,
        requests,
        per_client,
    }
}

/// Runs the plan through the daemon: one thread per client, all started
/// together, plus a monitor. Returns the outcome and how long the
/// requests took (from the start signal to the last answer).
pub fn run_daemon(path: &Path, plan: &Plan, collect: bool) -> (Outcome, Duration) {
    let mut monitor = SocketClient::connect(path).expect("monitor connects");
    monitor.bind(0, MONITOR_GROUPS).expect("monitor binds");
    monitor
        .set_sockopt(SockOpt::RcvBuf(1 << 30))
        .expect("a large receive buffer");
    monitor.reader_size(32_768).expect("reader size");
    let mut clients = Vec::new();
    for _ in 0..plan.clients {
        let mut c = SocketClient::connect(path).expect("client connects");
        for o in sockopts() {
            c.set_sockopt(o).expect("options");
        }
        c.reader_size(32_768).expect("reader size");
        clients.push(c);
    }
    let ports: Vec<u32> = clients.iter().map(SocketClient::port).collect();
    let indexes: Vec<u32> = plan.per_client.iter().map(|(i, _)| *i).collect();
    let start = Arc::new(Barrier::new(plan.clients + 1));
    let (elapsed, answers) = std::thread::scope(|s| {
        let mon_ports = ports.clone();
        let mon_indexes = indexes.clone();
        let mon = s.spawn(move || {
            let mut heard = vec![Vec::new(); mon_indexes.len()];
            let mut overrun = false;
            let mut buf = Vec::new();
            loop {
                match monitor.recv(&mut buf, Some(PATIENCE)) {
                    Ok(r) => {
                        if !collect {
                            if Messages::new(&buf).flatten().any(|m| m.seq() == 77) {
                                break;
                            }
                            continue;
                        }
                        if hear(&mut heard, &mon_indexes, &mon_ports, &buf, r.group) {
                            break;
                        }
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => overrun = true,
                    Err(e) => panic!("the monitor failed: {e}"),
                }
            }
            (heard, overrun)
        });
        let mut threads = Vec::new();
        for (c, mut client) in clients.into_iter().enumerate() {
            let reqs = &plan.per_client[c].1;
            let ports = &ports;
            let start = Arc::clone(&start);
            threads.push(s.spawn(move || {
                start.wait();
                let mut answers: Vec<Vec<Norm>> =
                    Vec::with_capacity(if collect { reqs.len() } else { 0 });
                let mut cur: Vec<Norm> = Vec::new();
                let mut sent = 0usize;
                let mut done = 0usize;
                let mut buf = Vec::new();
                while done < reqs.len() {
                    while sent < reqs.len() && sent - done < WINDOW {
                        client.send(&reqs[sent]).expect("send");
                        sent += 1;
                    }
                    client
                        .recv(&mut buf, Some(PATIENCE))
                        .expect("an answer in time");
                    for m in Messages::new(&buf).flatten() {
                        assert_eq!(m.port(), client.port(), "a reply names the client's port");
                        let is_answer = m.message_type() == NLMSG_ERROR;
                        let expected = u32::try_from(done + 1).unwrap_or(0);
                        assert_eq!(m.seq(), expected, "answers come in order");
                        if collect {
                            cur.push(norm(&m, ports, 0));
                        }
                        if is_answer {
                            if collect {
                                answers.push(std::mem::take(&mut cur));
                            }
                            done += 1;
                        }
                    }
                }
                answers
            }));
        }
        start.wait();
        let t0 = Instant::now();
        let answers: Vec<Vec<Vec<Norm>>> = threads
            .into_iter()
            .map(|t| t.join().expect("a client thread"))
            .collect();
        let elapsed = t0.elapsed();
        // Every client is done: the marker comes after all they caused.
        let mut admin = SocketClient::connect(path).expect("admin connects");
        assert_eq!(
            first_errno(&exchange(&mut admin, &end_marker(), 77)),
            Some(0)
        );
        let (heard, overrun) = mon.join().expect("the monitor");
        (elapsed, (answers, heard, overrun))
    });
    let (answers, heard, overrun) = answers;
    let mut dumps = Vec::new();
    if collect {
        let mut c = SocketClient::connect(path).expect("connect");
        c.reader_size(32_768).expect("reader size");
        for (i, req) in dump_requests().iter().enumerate() {
            let seq = 900_000 + i as u32;
            let mut msgs = Vec::new();
            for d in exchange(&mut c, req, seq) {
                msgs.extend(Messages::new(&d).flatten().map(|m| norm(&m, &[], 0)));
            }
            dumps.push(msgs);
        }
    }
    (
        Outcome {
            answers,
            heard,
            overrun,
            dumps,
        },
        elapsed,
    )
}

fn drain(server: &mut Server<MemStack>, conn: ConnId) -> Vec<nlq::server::Datagram> {
    let mut out = Vec::new();
    loop {
        match server.next_datagram(conn, 32_768) {
            Ok(Some(d)) => out.push(d),
            Ok(None) => return out,
            Err(e) => panic!("the serial replay lost messages: {e}"),
        }
    }
}

/// The plan replayed serially (client after client) on a fresh in-process
/// server.
pub fn run_serial(plan: &Plan) -> Outcome {
    let mut s = Server::new(MemStack::new());
    let admin = s.connect();
    for c in 0..plan.clients {
        s.handle_datagram(admin, &setup_requests(c, None).remove(0));
    }
    for (c, (index, _)) in plan.per_client.iter().enumerate() {
        for req in setup_requests(c, Some(*index)) {
            s.handle_datagram(admin, &req);
        }
    }
    drain(&mut s, admin);
    for (c, (index, _)) in plan.per_client.iter().enumerate() {
        let l = nlq::stack::Stack::link(s.stack(), nlq::stack::LinkKey::Name(&bridge_name(c)))
            .expect("the bridge exists");
        assert_eq!(
            l.header.index, *index,
            "the replay gives bridge {c} the same index"
        );
    }
    let monitor = s.connect();
    s.bind(monitor, 0, MONITOR_GROUPS).expect("bind");
    s.set_option(monitor, SockOpt::RcvBuf(usize::MAX / 2))
        .expect("rcvbuf");
    let conns: Vec<ConnId> = (0..plan.clients)
        .map(|_| {
            let c = s.connect();
            for o in sockopts() {
                s.set_option(c, o).expect("options");
            }
            c
        })
        .collect();
    let ports: Vec<u32> = conns.iter().map(|c| s.port(*c)).collect();
    let indexes: Vec<u32> = plan.per_client.iter().map(|(i, _)| *i).collect();
    let mut answers = Vec::new();
    let mut heard = vec![Vec::new(); plan.clients];
    for (c, (_, reqs)) in plan.per_client.iter().enumerate() {
        let mut mine = Vec::new();
        for req in reqs {
            s.handle_datagram(conns[c], req);
            let mut msgs = Vec::new();
            for d in drain(&mut s, conns[c]) {
                msgs.extend(
                    Messages::new(&d.bytes)
                        .flatten()
                        .map(|m| norm(&m, &ports, 0)),
                );
            }
            mine.push(msgs);
            for d in drain(&mut s, monitor) {
                hear(&mut heard, &indexes, &ports, &d.bytes, d.group);
            }
        }
        answers.push(mine);
    }
    s.handle_datagram(admin, &end_marker());
    drain(&mut s, admin);
    drain(&mut s, monitor);
    let reader = s.connect();
    let mut dumps = Vec::new();
    for req in dump_requests() {
        s.handle_datagram(reader, &req);
        let mut msgs = Vec::new();
        for d in drain(&mut s, reader) {
            msgs.extend(Messages::new(&d.bytes).flatten().map(|m| norm(&m, &[], 0)));
        }
        dumps.push(msgs);
    }
    Outcome {
        answers,
        heard,
        overrun: false,
        dumps,
    }
}

/// Compares a daemon run with the serial replay; `Err` says where they
/// part.
pub fn verify(run: &Outcome, serial: &Outcome) -> Result<(), String> {
    if run.overrun {
        return Err("the monitor lost notifications (ENOBUFS)".into());
    }
    for (c, (got, want)) in run.answers.iter().zip(&serial.answers).enumerate() {
        if got.len() != want.len() {
            return Err(format!(
                "client {c}: {} answers, expected {}",
                got.len(),
                want.len()
            ));
        }
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            if g != w {
                return Err(format!(
                    "client {c}, request {}: answer {g:?}, expected {w:?}",
                    k + 1
                ));
            }
        }
    }
    if run.answers.len() != serial.answers.len() {
        return Err("a client is missing".into());
    }
    for (c, (got, want)) in run.heard.iter().zip(&serial.heard).enumerate() {
        if got.len() != want.len() {
            return Err(format!(
                "the monitor heard {} notifications about client {c}, expected {}",
                got.len(),
                want.len()
            ));
        }
        if let Some(k) = got.iter().zip(want).position(|(g, w)| g != w) {
            return Err(format!(
                "client {c}, notification {k}: {:?}, expected {:?}",
                got[k], want[k]
            ));
        }
    }
    for (i, (got, want)) in run.dumps.iter().zip(&serial.dumps).enumerate() {
        let what = ["link", "address", "route"].get(i).copied().unwrap_or("?");
        if got.len() != want.len() {
            return Err(format!(
                "the {what} dump has {} messages, expected {}",
                got.len(),
                want.len()
            ));
        }
        let strip = |n: &Norm| (n.message_type, n.flags, n.payload.clone());
        if let Some(k) = got.iter().zip(want).position(|(g, w)| strip(g) != strip(w)) {
            return Err(format!(
                "{what} dump, message {k}: {:?}, expected {:?}",
                got[k], want[k]
            ));
        }
    }
    Ok(())
}
