//! smoltcp's interface always holds exactly the engine's configuration:
//! generated sequences of link, address and route requests run on
//! nlq-smoltcp, and after each one the interface must hold exactly the
//! addresses the engine has out of duplicate address detection and the
//! main table's gateway routes (the silent changes included: the routes a
//! link takes with it when it goes down, those of a link's last address).
//! A request refused by smoltcp's admission (`EOPNOTSUPP`, `ENOBUFS`, or
//! `EINVAL` with a text naming smoltcp) must change nothing and report
//! nothing.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::stack::{CreateFlags, Event, LinkChange, LinkKey, Stack, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, HwAddr, IfName, NextHopList, NextHopRepr, RouteMetrics, RouteRepr};
use nlq_smoltcp::SmolStack;
use proptest::prelude::*;
use smoltcp::phy::Loopback;

mod common;

use common::{addrs, in_step, routes, INDEX, MAC};

/// One request.
#[derive(Debug, Clone)]
enum Op {
    Link(LinkChange),
    AddrAdd(AddrRepr, u16),
    AddrDel(AddrRepr),
    RouteAdd(RouteRepr, u16),
    RouteDel(RouteRepr),
}

fn run(s: &mut SmolStack<Loopback>, op: &Op) -> (StackResult<()>, Vec<String>) {
    let mut ev = Vec::new();
    let mut sink = |e: Event<'_>| ev.push(format!("{e:?}"));
    let r = match op {
        Op::Link(c) => s.set_link(INDEX, c, &mut sink),
        Op::AddrAdd(a, f) => s.add_addr(a, CreateFlags(*f), &mut sink),
        Op::AddrDel(a) => s.del_addr(a, &mut sink),
        Op::RouteAdd(r, f) => s.add_route(r, CreateFlags(*f), &mut sink),
        Op::RouteDel(r) => s.del_route(r, &mut sink),
    };
    (r, ev)
}

/// Everything rtnetlink sees of the stack.
fn config(s: &SmolStack<Loopback>) -> String {
    let mut link = s.link(LinkKey::Index(INDEX)).expect("the link");
    link.stats = None;
    link.stats64 = None;
    format!("{link:?}\n{:?}\n{:?}", addrs(s), routes(s))
}

/// Runs `ops` one by one (`datagram` 0) or in datagrams of `datagram`
/// requests, as the server hands them over (between
/// `Stack::begin_requests` and `Stack::end_requests`, which may put
/// address changes on the interface only at the end): the interface is
/// checked after each request, or after each datagram.
fn check(ops: &[Op], datagram: usize) -> Result<(), String> {
    let mut s = common::loopback_stack();
    for (i, op) in ops.iter().enumerate() {
        if datagram > 0 && i % datagram == 0 {
            s.begin_requests();
        }
        let before = config(&s);
        let (r, events) = run(&mut s, op);
        let at = || format!("request {i} {op:?}");
        let refused = r.as_ref().err().is_some_and(|e| {
            matches!(e.errno, Errno::EOPNOTSUPP | Errno::ENOBUFS)
                || e.message.is_some_and(|m| m.starts_with("smoltcp:"))
        });
        if refused && (!events.is_empty() || config(&s) != before) {
            return Err(format!(
                "{}: refused ({r:?}) but changed: {events:#?}",
                at()
            ));
        }
        let last = i + 1 == ops.len();
        if datagram == 0 || (i + 1) % datagram == 0 || last {
            if datagram > 0 {
                s.end_requests();
            }
            in_step(&mut s).map_err(|e| format!("{}: {e}", at()))?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------ generators

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// One of `common` mostly, one of `rare` sometimes.
fn pick<T: Clone + std::fmt::Debug + 'static>(
    common: &'static [T],
    rare: &'static [T],
) -> impl Strategy<Value = T> {
    prop_oneof![
        6 => proptest::sample::select(common),
        1 => proptest::sample::select(rare),
    ]
}

const V4: &[&str] = &["10.0.0.1", "10.0.0.2", "10.0.1.1"];
const V4_RARE: &[&str] = &[
    "10.0.0.255",
    "224.0.0.5",
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.2",
    "255.255.255.255",
];
const V4_LENS: &[u8] = &[24, 16];
const V4_LENS_RARE: &[u8] = &[0, 8, 31, 32];
const V6: &[&str] = &["2001:db8::1", "2001:db8::2", "2001:db8:1::1", "fe80::1"];
const V6_RARE: &[&str] = &["ff02::1", "::1", "::", "::ffff:10.0.0.1"];
const V6_LENS: &[u8] = &[64];
const V6_LENS_RARE: &[u8] = &[0, 48, 127, 128];
const CREATE: &[u16] = &[NLM_F_CREATE | NLM_F_EXCL];
const CREATE_RARE: &[u16] = &[
    NLM_F_CREATE | NLM_F_REPLACE,
    NLM_F_CREATE | NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_REPLACE,
    0,
];
/// Rare address extras: 1 noprefixroute, 2 nodad, 3 a broadcast, 4 another
/// broadcast, 5 a peer, 6 scope link.
const EXTRA: &[u8] = &[0];
const EXTRA_RARE: &[u8] = &[1, 2, 3, 4, 5, 6];

fn addr_op() -> impl Strategy<Value = Op> {
    let v4 = (
        pick(V4, V4_RARE),
        pick(V4_LENS, V4_LENS_RARE),
        pick(EXTRA, EXTRA_RARE),
        pick(CREATE, CREATE_RARE),
        0..5usize,
    )
        .prop_map(|(a, len, extra, f, del)| {
            let local = ip(a);
            let mut r = AddrRepr::new(local, len, INDEX).with_local(local);
            match extra {
                1 => r.flags = Some(IFA_F_NOPREFIXROUTE),
                2 => r.flags = Some(IFA_F_NODAD),
                3 => r.broadcast = Some(ip("10.0.0.255")),
                4 => r.broadcast = Some(ip("10.0.0.77")),
                5 => r.address = Some(ip("10.0.0.9")),
                6 => r.header.scope = RT_SCOPE_LINK,
                _ => {}
            }
            match del {
                0 => Op::AddrDel(r),
                1 => {
                    // `ip addr del` naming the address only.
                    r.local = None;
                    Op::AddrDel(r)
                }
                _ => Op::AddrAdd(r, f),
            }
        });
    let v6 = (
        pick(V6, V6_RARE),
        pick(V6_LENS, V6_LENS_RARE),
        pick(EXTRA, EXTRA_RARE),
        pick(CREATE, CREATE_RARE),
        0..3usize,
    )
        .prop_map(|(a, len, extra, f, del)| {
            let local = ip(a);
            let mut r = AddrRepr::new(local, len, INDEX);
            match extra {
                1 => r.flags = Some(IFA_F_NOPREFIXROUTE),
                2 | 3 => r.flags = Some(IFA_F_NODAD),
                5 => r.local = Some(ip("2001:db8::99")),
                _ => {}
            }
            if del == 0 {
                Op::AddrDel(r)
            } else {
                Op::AddrAdd(r, f)
            }
        });
    prop_oneof![3 => v4, 2 => v6]
}

const DST4: &[(&str, u8)] = &[("0.0.0.0", 0), ("10.1.0.0", 16)];
const DST4_RARE: &[(&str, u8)] = &[("10.0.0.0", 24), ("10.0.0.0", 16), ("10.1.2.3", 16)];
const GW4: &[Option<&str>] = &[Some("10.0.0.254"), Some("10.0.0.253")];
const GW4_RARE: &[Option<&str>] = &[
    None,
    Some("10.9.9.9"),
    Some("10.0.0.1"),
    Some("224.0.0.1"),
    Some("10.0.0.255"),
];
const DST6: &[(&str, u8)] = &[("::", 0), ("2001:db8:5::", 48)];
const DST6_RARE: &[(&str, u8)] = &[("2001:db8::", 64), ("fe80::", 64)];
const GW6: &[Option<&str>] = &[Some("2001:db8::fe"), Some("2001:db8::fd")];
const GW6_RARE: &[Option<&str>] = &[None, Some("fe80::1"), Some("2001:db8::1")];
const METRICS: &[Option<u32>] = &[None];
const METRICS_RARE: &[Option<u32>] = &[Some(0), Some(100), Some(256), Some(1024)];
const OIFS: &[Option<u32>] = &[None, Some(INDEX)];
const OIFS_RARE: &[Option<u32>] = &[Some(7)];
/// Rare route extras: 1 a table, 2 a type, 3 a preferred source, 4
/// metrics, 5 multipath, 6 protocol kernel, 7 scope link.
const TABLES: &[u32] = &[100, RT_TABLE_LOCAL, RT_TABLE_MAIN];
const KINDS: &[u8] = &[RTN_BLACKHOLE, RTN_UNSPEC, RTN_LOCAL];

fn route_op() -> impl Strategy<Value = Op> {
    let v4 = (pick(DST4, DST4_RARE), pick(GW4, GW4_RARE));
    let v6 = (pick(DST6, DST6_RARE), pick(GW6, GW6_RARE));
    (
        prop_oneof![3 => v4.prop_map(|x| (false, x)), 2 => v6.prop_map(|x| (true, x))],
        pick(METRICS, METRICS_RARE),
        pick(OIFS, OIFS_RARE),
        pick(CREATE, CREATE_RARE),
        pick(EXTRA, EXTRA_RARE),
        0..3usize,
        0..3usize,
    )
        .prop_map(
            |((v6, ((dst, len), gw)), metric, oif, f, extra, which, del)| {
                let mut r = RouteRepr::new(ip(dst), len);
                r.gateway = gw.map(ip);
                r.priority = metric;
                r.oif = oif;
                match extra {
                    1 => r.table = Some(TABLES[which]),
                    2 => r.header.route_type = KINDS[which],
                    3 => r.prefsrc = Some(ip(if v6 { "2001:db8::1" } else { "10.0.0.1" })),
                    4 => {
                        let mut mx = RouteMetrics::default();
                        mx.set(RTAX_MTU, 1400);
                        r.metrics = Some(mx);
                    }
                    5 => {
                        let mut hops = NextHopList::default();
                        let gws = if v6 { GW6 } else { GW4 };
                        for gw in gws {
                            let _ = hops.push(NextHopRepr {
                                gateway: gw.map(ip),
                                ..NextHopRepr::default()
                            });
                        }
                        r.gateway = None;
                        r.multipath = Some(hops);
                    }
                    6 => r.header.protocol = RTPROT_KERNEL,
                    7 if !v6 => r.header.scope = RT_SCOPE_LINK,
                    _ => {}
                }
                if del == 0 {
                    // `ip route del`: protocol, scope and type are wildcards.
                    if extra != 6 {
                        r.header.protocol = RTPROT_UNSPEC;
                    }
                    r.header.scope = RT_SCOPE_NOWHERE;
                    if extra != 2 {
                        r.header.route_type = RTN_UNSPEC;
                    }
                    Op::RouteDel(r)
                } else {
                    Op::RouteAdd(r, f)
                }
            },
        )
}

fn link_op() -> impl Strategy<Value = Op> {
    (0..8usize, 0..7usize).prop_map(|(what, v)| {
        let mut c = LinkChange::default();
        match what {
            0..=2 => {
                c.flags = if v % 3 == 0 { 0 } else { IFF_UP };
                c.flags_mask = IFF_UP;
            }
            3 => c.mtu = Some([68, 1000, 1279, 1280, 1500, 9000, 70000][v]),
            4 => {
                let macs: [[u8; 6]; 4] = [MAC, [2, 0, 0, 0, 0, 2], [0; 6], [1, 0, 0, 0, 0, 1]];
                c.address = HwAddr::try_from_slice(&macs[v % 4]);
            }
            5 => c.name = IfName::try_from_str(["eth0", "eth1", "a/b"][v % 3]),
            6 => {
                c.flags = [IFF_UP | IFF_NOARP, IFF_UP | IFF_PROMISC, IFF_UP][v % 3];
                c.flags_mask = 0;
            }
            _ => {
                c.txqlen = Some(500);
                c.master = (v == 0).then_some(3);
            }
        }
        Op::Link(c)
    })
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Usually the link comes up and gets an address first, so that routes
    // have something to go through.
    let up = Op::Link(LinkChange {
        flags: IFF_UP,
        flags_mask: IFF_UP,
        ..LinkChange::default()
    });
    let v4 = Op::AddrAdd(
        AddrRepr::new(ip("10.0.0.1"), 24, INDEX).with_local(ip("10.0.0.1")),
        NLM_F_CREATE | NLM_F_EXCL,
    );
    let v6 = Op::AddrAdd(
        AddrRepr {
            flags: Some(IFA_F_NODAD),
            ..AddrRepr::new(ip("2001:db8::1"), 64, INDEX)
        },
        NLM_F_CREATE | NLM_F_EXCL,
    );
    let start = prop_oneof![
        4 => Just(vec![up.clone(), v4.clone(), v6.clone()]),
        1 => Just(vec![v4, v6, up]),
        1 => Just(vec![]),
    ];
    let op = prop_oneof![3 => addr_op(), 5 => route_op(), 1 => link_op()];
    (start, proptest::collection::vec(op, 1..60)).prop_map(|(mut s, rest)| {
        s.extend(rest);
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn the_interface_holds_what_the_engine_holds(ops in ops()) {
        if let Err(e) = check(&ops, 0) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn the_interface_holds_it_after_each_datagram(ops in ops(), datagram in 1usize..20) {
        if let Err(e) = check(&ops, datagram) {
            return Err(TestCaseError::fail(e));
        }
    }
}
