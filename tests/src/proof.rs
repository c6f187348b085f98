//! The proof that nlq over the `mem` stack answers like the kernel:
//! operation sequences, run through nlinline against both, with the
//! results, tables and notifications normalised for comparison.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use nlinline::in_process::{Client, Shared};
use nlinline::wire::consts::*;
use nlinline::wire::{Message, Messages};
use nlinline::{Handle, KernelSocket, Route, Transport};
use nlq::server::SockOpt;
use nlq_mem::MemStack;
use proptest::prelude::*;

/// The links a sequence plays with (`lo` and three bridges).
pub const NAMES: [&str; 4] = ["lo", "pb0", "pb1", "pb2"];

/// The IPv4 and IPv6 addresses a sequence assigns.
pub const ADDRS: [&str; 8] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.1.1",
    "10.0.0.254",
    "2001:db8::1",
    "2001:db8::2",
    "2001:db8:1::1",
    "fe80::1",
];

/// Route destinations: (prefix, length), including one with host bits set.
pub const DSTS: [(&str, u8); 8] = [
    ("10.1.0.0", 16),
    ("10.2.0.0", 16),
    ("10.3.0.1", 16),
    ("0.0.0.0", 0),
    ("2001:db8:10::", 48),
    ("2001:db8:20::", 48),
    ("::", 0),
    ("10.0.0.0", 24),
];

/// Gateways: reachable or not, depending on the addresses present.
pub const GATEWAYS: [&str; 6] = [
    "10.0.0.254",
    "10.0.1.254",
    "10.9.9.9",
    "2001:db8::fe",
    "2001:db8:1::fe",
    "2001:db8:9::9",
];

/// MAC addresses: two valid, one multicast, one zero.
pub const MACS: [[u8; 6]; 4] = [
    [0x02, 0, 0, 0, 0, 1],
    [0x02, 0, 0, 0, 0, 2],
    [0x01, 0, 0x5e, 0, 0, 1],
    [0; 6],
];

/// MTUs around the limits that matter (68, 1280, 65535).
pub const MTUS: [u32; 7] = [67, 68, 1000, 1280, 1500, 9000, 65536];

/// How a route is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `NLM_F_CREATE | NLM_F_EXCL`.
    Add,
    /// `NLM_F_CREATE | NLM_F_REPLACE`.
    Replace,
    /// `NLM_F_CREATE | NLM_F_APPEND`.
    Append,
}

/// Where a route goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Through a gateway of [`GATEWAYS`].
    Gateway(usize),
    /// Straight out of a link of [`NAMES`].
    Dev(usize),
    /// Two gateways (multipath).
    Multipath(usize, usize),
}

/// One operation of a sequence.
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// `ip link add NAME type bridge`.
    LinkAdd(usize),
    /// `ip link del NAME`.
    LinkDel(usize),
    /// `ip link set NAME up|down`.
    LinkUp(usize, bool),
    /// `ip link set NAME mtu M`.
    LinkMtu(usize, u32),
    /// `ip link set NAME address MAC`.
    LinkMac(usize, usize),
    /// `ip addr add ADDR/LEN dev NAME`.
    AddrAdd(usize, usize, u8),
    /// `ip addr del ADDR/LEN dev NAME`.
    AddrDel(usize, usize, u8),
    /// `ip route add|replace|append DST via|dev ... [metric M]`.
    RouteAdd(usize, Via, Option<u32>, Mode),
    /// `ip route del DST via|dev ... [metric M]`.
    RouteDel(usize, Via, Option<u32>),
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let via = |v: &Via| match v {
            Via::Gateway(g) => format!("via {}", GATEWAYS[*g]),
            Via::Dev(d) => format!("dev {}", NAMES[*d]),
            Via::Multipath(a, b) => {
                format!("nexthop via {} nexthop via {}", GATEWAYS[*a], GATEWAYS[*b])
            }
        };
        let metric = |m: &Option<u32>| m.map(|m| format!(" metric {m}")).unwrap_or_default();
        match self {
            Op::LinkAdd(n) => write!(f, "link add {} type bridge", NAMES[*n]),
            Op::LinkDel(n) => write!(f, "link del {}", NAMES[*n]),
            Op::LinkUp(n, up) => write!(
                f,
                "link set {} {}",
                NAMES[*n],
                if *up { "up" } else { "down" }
            ),
            Op::LinkMtu(n, m) => write!(f, "link set {} mtu {m}", NAMES[*n]),
            Op::LinkMac(n, m) => write!(f, "link set {} address {:02x?}", NAMES[*n], MACS[*m]),
            Op::AddrAdd(n, a, l) => write!(f, "addr add {}/{l} dev {}", ADDRS[*a], NAMES[*n]),
            Op::AddrDel(n, a, l) => write!(f, "addr del {}/{l} dev {}", ADDRS[*a], NAMES[*n]),
            Op::RouteAdd(d, v, m, mode) => write!(
                f,
                "route {} {}/{} {}{}",
                format!("{mode:?}").to_lowercase(),
                DSTS[*d].0,
                DSTS[*d].1,
                via(v),
                metric(m)
            ),
            Op::RouteDel(d, v, m) => write!(
                f,
                "route del {}/{} {}{}",
                DSTS[*d].0,
                DSTS[*d].1,
                via(v),
                metric(m)
            ),
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// A prefix length that fits the address (mostly) or not.
fn prefix_for(addr: usize) -> impl Strategy<Value = u8> {
    if ADDRS[addr].contains(':') {
        prop::sample::select(vec![64u8, 64, 128, 48, 129]).boxed()
    } else {
        prop::sample::select(vec![24u8, 24, 16, 32, 33]).boxed()
    }
}

fn via() -> impl Strategy<Value = Via> {
    prop_oneof![
        4 => (0..GATEWAYS.len()).prop_map(Via::Gateway),
        3 => (0..NAMES.len()).prop_map(Via::Dev),
        1 => (0..GATEWAYS.len(), 0..GATEWAYS.len()).prop_map(|(a, b)| Via::Multipath(a, b)),
    ]
}

/// One operation, weighted towards the interesting ones.
pub fn op() -> impl Strategy<Value = Op> {
    let link = 0..NAMES.len();
    let bridge = 1..NAMES.len();
    let metric = prop::option::weighted(0.3, prop::sample::select(vec![5u32, 7, 1024]));
    let mode = prop::sample::select(vec![
        Mode::Add,
        Mode::Add,
        Mode::Add,
        Mode::Replace,
        Mode::Append,
    ]);
    prop_oneof![
        3 => bridge.clone().prop_map(Op::LinkAdd),
        1 => bridge.clone().prop_map(Op::LinkDel),
        4 => (link.clone(), any::<bool>()).prop_map(|(n, up)| Op::LinkUp(n, up)),
        1 => (bridge.clone(), prop::sample::select(MTUS.to_vec())).prop_map(|(n, m)| Op::LinkMtu(n, m)),
        1 => (link.clone(), 0..MACS.len()).prop_map(|(n, m)| Op::LinkMac(n, m)),
        6 => (link.clone(), 0..ADDRS.len())
            .prop_flat_map(|(n, a)| prefix_for(a).prop_map(move |l| Op::AddrAdd(n, a, l))),
        2 => (link, 0..ADDRS.len())
            .prop_flat_map(|(n, a)| prefix_for(a).prop_map(move |l| Op::AddrDel(n, a, l))),
        6 => (0..DSTS.len(), via(), metric.clone(), mode).prop_map(|(d, v, m, mo)| Op::RouteAdd(d, v, m, mo)),
        2 => (0..DSTS.len(), via(), metric).prop_map(|(d, v, m)| Op::RouteDel(d, v, m)),
    ]
}

/// A sequence: mostly links first, so that addresses and routes find them.
pub fn sequence() -> impl Strategy<Value = Vec<Op>> {
    (prop::collection::vec(op(), 4..24), 0..3usize).prop_map(|(mut ops, pre)| {
        // Start most sequences with a bridge that is up and addressed.
        let mut head = vec![Op::LinkAdd(1), Op::LinkUp(1, true), Op::AddrAdd(1, 0, 24)];
        head.truncate(pre);
        head.append(&mut ops);
        head
    })
}

/// What an operation returned: 0 or the errno.
pub type Outcome = i32;

fn errno<T>(r: nlinline::Result<T>) -> Outcome {
    match r {
        Ok(_) => 0,
        Err(e) => e.errno().get(),
    }
}

fn index_of<T: Transport>(h: &mut Handle<T>, n: usize) -> u32 {
    h.if_nametoindex(NAMES[n]).unwrap_or(9999)
}

fn hop(gw: &str) -> nlinline::NextHop {
    nlinline::NextHop {
        gateway: Some(ip(gw)),
        ifindex: 0,
        weight: 1,
    }
}

fn route_of<T: Transport>(h: &mut Handle<T>, d: usize, v: Via, metric: Option<u32>) -> Route {
    let (dst, len) = DSTS[d];
    let mut r = Route::to(ip(dst), len);
    r = match v {
        Via::Gateway(g) => r.via(ip(GATEWAYS[g])),
        Via::Dev(n) => r.dev(index_of(h, n)),
        Via::Multipath(a, b) => r.multipath(vec![hop(GATEWAYS[a]), hop(GATEWAYS[b])]),
    };
    if let Some(m) = metric {
        r = r.metric(m);
    }
    r
}

/// Runs one operation.
pub fn run<T: Transport>(h: &mut Handle<T>, op: &Op) -> Outcome {
    match *op {
        Op::LinkAdd(n) => errno(h.link_add(NAMES[n], "bridge", &[], None)),
        Op::LinkDel(n) => errno(h.link_del(NAMES[n])),
        Op::LinkUp(n, up) => errno(h.link_set_up(NAMES[n], up)),
        Op::LinkMtu(n, m) => errno(h.link_set_mtu(NAMES[n], m)),
        Op::LinkMac(n, m) => errno(h.link_set_mac(NAMES[n], MACS[m])),
        Op::AddrAdd(n, a, l) => {
            let i = index_of(h, n);
            let addr = ip(ADDRS[a]);
            // IPv6 without duplicate address detection: the kernel ends DAD
            // a second or two later, which a step-by-step comparison of
            // notifications cannot wait for.
            let flags = if addr.is_ipv6() { IFA_F_NODAD } else { 0 };
            let opts = nlinline::AddrOptions { flags, scope: None };
            errno(h.addr_add_with(addr, l, i, opts))
        }
        Op::AddrDel(n, a, l) => {
            let i = index_of(h, n);
            errno(h.addr_del(ip(ADDRS[a]), l, i))
        }
        Op::RouteAdd(d, v, m, mode) => {
            let r = route_of(h, d, v, m);
            errno(match mode {
                Mode::Add => h.route_add(&r),
                Mode::Replace => h.route_replace(&r),
                Mode::Append => h.route_append(&r),
            })
        }
        Op::RouteDel(d, v, m) => {
            let r = route_of(h, d, v, m);
            errno(h.route_del(&r))
        }
    }
}

/// A link as compared: name, index, up, MTU, and the MAC if the sequence
/// set one.
pub type LinkKey = (String, u32, bool, u32, Option<Vec<u8>>);

/// The tables, normalised: what must be equal after a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// (name, index, up, mtu, MAC if the sequence set one).
    pub links: BTreeSet<LinkKey>,
    /// (index, address, prefix, secondary), IPv6 link-local left out.
    pub addrs: BTreeSet<(u32, IpAddr, u8, bool)>,
    /// Main-table routes: (dst/len, nexthops, metric, protocol, type, scope, prefsrc).
    pub routes: BTreeSet<String>,
}

fn route_key(r: &nlq::wire::RouteRepr) -> String {
    let mut hops: Vec<String> = match &r.multipath {
        Some(m) => m
            .as_slice()
            .iter()
            .map(|h| format!("{:?}@{}", h.gateway, h.ifindex))
            .collect(),
        None => vec![format!("{:?}@{}", r.gateway, r.oif.unwrap_or(0))],
    };
    hops.sort();
    format!(
        "{:?}/{} [{}] metric {} proto {} type {} scope {} src {:?}",
        r.dst,
        r.header.dst_len,
        hops.join(" "),
        r.priority.unwrap_or(0),
        r.header.protocol,
        r.header.route_type,
        r.header.scope,
        r.prefsrc
    )
}

/// Reads the tables through `h`.
pub fn tables<T: Transport>(h: &mut Handle<T>, macs: &BTreeSet<String>) -> Tables {
    let links = h
        .links()
        .expect("link dump")
        .iter()
        .map(|l| {
            let name = l.name.map(|n| n.as_str().to_string()).unwrap_or_default();
            let mac = macs
                .contains(&name)
                .then(|| l.address.map(|a| a.to_vec()).unwrap_or_default());
            (
                name,
                l.header.index,
                l.header.flags & IFF_UP != 0,
                l.mtu.unwrap_or(0),
                mac,
            )
        })
        .collect();
    let addrs = h
        .addrs(AF_UNSPEC)
        .expect("address dump")
        .iter()
        .filter_map(|a| {
            let ip = a.local.or(a.address)?;
            (!nlq::prefix::is_link_local6(&ip)).then_some((
                a.header.index,
                ip,
                a.header.prefix_len,
                a.all_flags() & IFA_F_SECONDARY != 0,
            ))
        })
        .collect();
    let mut routes = BTreeSet::new();
    for family in [AF_INET, AF_INET6] {
        let dump = match h.routes(family, Some(RT_TABLE_MAIN)) {
            // An IPv4 main table that never had a route does not exist.
            Err(e) if e.errno() == libc::ENOENT => Vec::new(),
            r => r.expect("route dump"),
        };
        for r in dump {
            if r.table_id() == RT_TABLE_MAIN {
                routes.insert(route_key(&r));
            }
        }
    }
    Tables {
        links,
        addrs,
        routes,
    }
}

/// A notification, normalised to its type and key fields.
pub fn event_key(datagram: &[u8], links: &mut BTreeSet<String>, out: &mut Vec<String>) {
    for m in Messages::new(datagram).flatten() {
        let kind = m.message_type();
        match m.typed() {
            Ok(Message::Link(l)) => {
                let name = l
                    .attrs()
                    .flatten()
                    .find_map(|a| match a {
                        nlq::wire::LinkAttr::IfName(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default();
                links.insert(format!("{kind} {} {name}", l.header().index));
            }
            Ok(Message::Addr(a)) => {
                let Ok(r) = nlq::wire::AddrRepr::parse(&a) else {
                    continue;
                };
                let Some(ip) = r.local.or(r.address) else {
                    continue;
                };
                if !nlq::prefix::is_link_local6(&ip) {
                    out.push(format!(
                        "{kind} addr {ip}/{} dev {}",
                        r.header.prefix_len, r.header.index
                    ));
                }
            }
            Ok(Message::Route(rm)) => {
                let Ok(r) = nlq::wire::RouteRepr::parse(&rm) else {
                    continue;
                };
                if r.table_id() == RT_TABLE_MAIN {
                    out.push(format!("{kind} route {}", route_key(&r)));
                }
            }
            _ => {}
        }
    }
}

/// The groups a monitor joins: links, addresses and routes of both
/// families.
pub const GROUPS: [u32; 5] = [
    RTNLGRP_LINK,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_ROUTE,
];

/// A subscriber to the notifications of a stack.
pub trait Monitor {
    /// Everything received since the last call, waiting up to `first` for
    /// the first message.
    fn drain(&mut self, first: Duration) -> Vec<Vec<u8>>;
}

impl Monitor for KernelSocket {
    /// Waits a little for each next message: IPv6 address notifications
    /// come from a kernel work queue, a moment after the request's answer.
    fn drain(&mut self, first: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut wait = first;
        while self.recv(&mut buf, Some(wait)).is_ok() {
            out.push(std::mem::take(&mut buf));
            wait = Duration::from_millis(8);
        }
        out
    }
}

impl Monitor for Client<MemStack> {
    fn drain(&mut self, _first: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Ok(Some(d)) = self.try_recv(64 * 1024) {
            out.push(d.bytes.to_vec());
        }
        out
    }
}

/// A kernel monitor socket in the calling thread's namespace.
pub fn kernel_monitor() -> KernelSocket {
    let s = KernelSocket::new().expect("monitor socket");
    for g in GROUPS {
        s.socket().add_membership(g).expect("join group");
    }
    s
}

/// A monitor connection to the shared mem stack.
pub fn mem_monitor(shared: &Shared<MemStack>) -> Client<MemStack> {
    let c = shared.connect();
    for g in GROUPS {
        c.set_option(SockOpt::AddMembership(g)).expect("join group");
    }
    c
}

/// What a sequence did on one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Per operation: its outcome and the address and route notifications
    /// it caused, in order.
    pub steps: Vec<(Outcome, Vec<String>)>,
    /// The link notifications of the whole sequence, as a set (the kernel
    /// sends some of them late, from its link watch).
    pub link_events: BTreeSet<String>,
    /// The tables at the end.
    pub tables: Tables,
}

/// Runs `ops` through `h`, watching `monitor`.
pub fn trace<T: Transport, M: Monitor>(h: &mut Handle<T>, monitor: &mut M, ops: &[Op]) -> Trace {
    let mut steps = Vec::new();
    let mut link_events = BTreeSet::new();
    let mut macs = BTreeSet::new();
    for op in ops {
        let outcome = run(h, op);
        if let (Op::LinkMac(n, _), 0) = (op, outcome) {
            macs.insert(NAMES[*n].to_string());
        }
        if let (Op::LinkDel(n), 0) = (op, outcome) {
            macs.remove(NAMES[*n]);
        }
        // A new IPv6 address is announced from a kernel work queue, a
        // moment after the answer: wait for it.
        // (Link-local addresses are left out of the comparison: not awaited.)
        let v6_add = matches!(op, Op::AddrAdd(_, a, _)
            if ADDRS[*a].contains(':') && !ADDRS[*a].starts_with("fe80"));
        let awaited = outcome == 0 && v6_add;
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        let mut events = Vec::new();
        loop {
            for d in monitor.drain(Duration::from_millis(8)) {
                event_key(&d, &mut link_events, &mut events);
            }
            let heard = events
                .iter()
                .any(|e| e.starts_with(&format!("{RTM_NEWADDR} addr")));
            if !awaited || heard || std::time::Instant::now() > deadline {
                break;
            }
        }
        steps.push((outcome, events));
    }
    let tables = tables(h, &macs);
    // Late link events (link watch) still count.
    std::thread::sleep(Duration::from_millis(0));
    let mut rest = Vec::new();
    for d in monitor.drain(Duration::from_millis(8)) {
        event_key(&d, &mut link_events, &mut rest);
    }
    Trace {
        steps,
        link_events,
        tables,
    }
}

/// Runs `ops` on a fresh `mem` stack through the in-process server.
pub fn trace_mem(ops: &[Op]) -> Trace {
    let shared = Shared::new(MemStack::new());
    let mut monitor = mem_monitor(&shared);
    let mut h = Handle::in_process(&shared);
    trace(&mut h, &mut monitor, ops)
}

/// Runs `ops` on the kernel, in the calling thread's (fresh) namespace.
pub fn trace_kernel(ops: &[Op]) -> Trace {
    let mut monitor = kernel_monitor();
    let mut h = Handle::kernel().expect("kernel socket");
    trace(&mut h, &mut monitor, ops)
}

/// The differences between two traces, described for a human; `None`
/// when they agree.
pub fn divergence(ops: &[Op], kernel: &Trace, mem: &Trace) -> Option<String> {
    let mut out = Vec::new();
    for (i, (op, (k, m))) in ops
        .iter()
        .zip(kernel.steps.iter().zip(&mem.steps))
        .enumerate()
    {
        if k.0 != m.0 {
            out.push(format!(
                "step {i} `{op:?}`: kernel {} ({}), mem {} ({})",
                k.0,
                nlq::errno::Errno(k.0),
                m.0,
                nlq::errno::Errno(m.0)
            ));
        } else if k.1 != m.1 {
            out.push(format!(
                "step {i} `{op:?}`: notifications differ\n kernel: {:#?}\n mem:    {:#?}",
                k.1, m.1
            ));
        }
    }
    let t = (&kernel.tables, &mem.tables);
    if t.0.links != t.1.links {
        out.push(format!(
            "links differ\n kernel: {:#?}\n mem:    {:#?}",
            t.0.links, t.1.links
        ));
    }
    if t.0.addrs != t.1.addrs {
        out.push(format!(
            "addresses differ\n kernel: {:#?}\n mem:    {:#?}",
            t.0.addrs, t.1.addrs
        ));
    }
    if t.0.routes != t.1.routes {
        out.push(format!(
            "routes differ\n kernel: {:#?}\n mem:    {:#?}",
            t.0.routes, t.1.routes
        ));
    }
    if kernel.link_events != mem.link_events {
        out.push(format!(
            "link notifications differ\n kernel: {:#?}\n mem:    {:#?}",
            kernel.link_events, mem.link_events
        ));
    }
    (!out.is_empty()).then(|| out.join("\n"))
}
