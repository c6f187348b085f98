//! No request can make nlq-smoltcp (or smoltcp under it) panic: edge
//! cases one by one, then arbitrary requests straight to the `Stack`
//! methods (not through the server's checks), with the interface polled
//! and sending between them. After each, smoltcp must hold exactly what
//! the dumps say.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::errno::*;
use nlq::stack::{CreateFlags, LinkChange, Stack};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, HwAddr, IfName, NextHopList, NextHopRepr, RouteMetrics, RouteRepr};
use nlq_smoltcp::SmolStack;
use proptest::prelude::*;
use smoltcp::iface::SocketSet;
use smoltcp::phy::Loopback;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::IpAddress;

mod common;

use common::{in_step, loopback_stack, INDEX};

const EXCL: CreateFlags = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);

/// A stack with the link up, polled with a TCP socket that keeps trying
/// to connect somewhere, so that routes and addresses are used.
struct Rig {
    stack: SmolStack<Loopback>,
    sockets: SocketSet<'static>,
    tcp: smoltcp::iface::SocketHandle,
    now: i64,
    round: u16,
}

impl Rig {
    fn new() -> Rig {
        let mut stack = loopback_stack();
        let up = LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..LinkChange::default()
        };
        stack.set_link(INDEX, &up, &mut |_| {}).expect("up");
        let mut sockets = SocketSet::new(vec![]);
        let tcp = sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 1024]),
            tcp::SocketBuffer::new(vec![0; 1024]),
        ));
        Rig {
            stack,
            sockets,
            tcp,
            now: 0,
            round: 0,
        }
    }

    /// Polls after a request, and checks smoltcp holds the configuration.
    fn poll(&mut self) -> Result<(), String> {
        const TO: [IpAddr; 5] = [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
            IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, 1)),
        ];
        self.round = self.round.wrapping_add(1);
        let to = TO[usize::from(self.round) % TO.len()];
        let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp);
        if !socket.is_open() {
            let cx = self.stack.iface_mut().context();
            let _ = socket.connect(cx, (IpAddress::from(to), 80), 49152 + self.round % 1000);
        }
        for _ in 0..3 {
            self.now += 250;
            self.stack
                .poll(Instant::from_millis(self.now), &mut self.sockets);
        }
        in_step(&mut self.stack)
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn addr(s: &str, len: u8) -> AddrRepr {
    let a = ip(s);
    let r = AddrRepr::new(a, len, INDEX);
    if a.is_ipv4() {
        r.with_local(a)
    } else {
        r
    }
}

#[test]
fn address_edge_cases() {
    let cases: &[(&str, u8, i32)] = &[
        ("10.0.0.1", 33, EINVAL),
        ("2001:db8::1", 129, EINVAL),
        ("2001:db8::1", 255, EINVAL),
        ("0.0.0.0", 0, EINVAL),
        ("0.0.0.0", 32, EINVAL),
        ("255.255.255.255", 32, EINVAL),
        ("224.0.0.1", 4, EINVAL),
        ("239.1.2.3", 32, EINVAL),
        ("10.0.0.1", 0, EOPNOTSUPP),
        ("0.1.2.3", 8, EOPNOTSUPP),
        ("::", 0, EADDRNOTAVAIL),
        ("::", 128, EADDRNOTAVAIL),
        ("ff02::1", 64, EADDRNOTAVAIL),
        ("::1", 128, EADDRNOTAVAIL),
        ("10.0.0.1", 32, 0),
        ("10.0.1.1", 31, 0),
        ("127.0.0.2", 8, 0),
        ("2001:db8::1", 128, 0),
        ("2001:db8:1::1", 0, 0),
        ("::ffff:10.0.0.1", 96, 0),
        ("fe80::5", 64, 0),
    ];
    let mut rig = Rig::new();
    for &(a, len, errno) in cases {
        let got = rig.stack.add_addr(&addr(a, len), EXCL, &mut |_| {});
        assert_eq!(got.err().map_or(0, |e| e.errno.get()), errno, "{a}/{len}");
        rig.poll()
            .unwrap_or_else(|e| panic!("after {a}/{len}: {e}"));
    }
    // Families and addresses that disagree, as no server would send.
    let mut r = addr("10.0.0.9", 24);
    r.header.family = AF_INET6;
    assert!(rig.stack.add_addr(&r, EXCL, &mut |_| {}).is_err());
    r.header.family = 7;
    assert_eq!(
        rig.stack.add_addr(&r, EXCL, &mut |_| {}).unwrap_err().errno,
        EOPNOTSUPP
    );
    let mut r = addr("10.0.0.9", 24);
    r.address = None;
    r.local = None;
    assert_eq!(
        rig.stack.add_addr(&r, EXCL, &mut |_| {}).unwrap_err().errno,
        EINVAL
    );
    // An IPv4 delete that names no address takes the first one, as on
    // Linux.
    let before = common::addrs(&rig.stack).len();
    rig.stack.del_addr(&r, &mut |_| {}).unwrap();
    assert_eq!(common::addrs(&rig.stack).len(), before - 1);
    rig.poll().unwrap();
}

#[test]
fn link_edge_cases() {
    let mut rig = Rig::new();
    let mtu = |m| LinkChange {
        mtu: Some(m),
        ..LinkChange::default()
    };
    for (m, errno) in [
        (0, EINVAL),
        (67, EINVAL),
        (u32::MAX, EINVAL),
        (68, 0),
        (65521, 0),
    ] {
        let got = rig.stack.set_link(INDEX, &mtu(m), &mut |_| {});
        assert_eq!(got.err().map_or(0, |e| e.errno.get()), errno, "mtu {m}");
        rig.poll().unwrap();
    }
    let mac = |b: &[u8]| LinkChange {
        address: HwAddr::try_from_slice(b),
        ..LinkChange::default()
    };
    for (m, errno) in [
        (&[0x01, 0, 0, 0, 0, 1][..], EADDRNOTAVAIL),
        (&[0xff; 6][..], EADDRNOTAVAIL),
        (&[0; 6][..], EADDRNOTAVAIL),
        (&[0x02, 0][..], EINVAL),
        (&[0x02, 0, 0, 0, 0, 9, 9, 9][..], 0),
    ] {
        let got = rig.stack.set_link(INDEX, &mac(m), &mut |_| {});
        assert_eq!(
            got.err().map_or(0, |e| e.errno.get()),
            errno,
            "mac {m:02x?}"
        );
        rig.poll().unwrap();
    }
    let other = rig.stack.set_link(INDEX + 1, &mtu(1500), &mut |_| {});
    assert_eq!(other.unwrap_err().errno, ENODEV);
    let rename = LinkChange {
        name: IfName::try_from_str("a b"),
        ..LinkChange::default()
    };
    assert_eq!(
        rig.stack
            .set_link(INDEX, &rename, &mut |_| {})
            .unwrap_err()
            .errno,
        EINVAL
    );
    assert_eq!(
        rig.stack.del_link(INDEX, &mut |_| {}).unwrap_err().errno,
        EOPNOTSUPP
    );
    rig.poll().unwrap();
}

#[test]
fn route_edge_cases() {
    let mut rig = Rig::new();
    rig.stack
        .add_addr(&addr("10.0.0.1", 24), EXCL, &mut |_| {})
        .unwrap();
    let via = |dst: &str, len: u8, gw: &str| {
        let mut r = RouteRepr::new(ip(dst), len);
        r.gateway = Some(ip(gw));
        r
    };
    let cases: Vec<(RouteRepr, i32)> = vec![
        (via("0.0.0.0", 0, "10.0.0.254"), 0),
        (via("10.9.0.0", 33, "10.0.0.254"), EINVAL),
        (via("10.9.0.0", 16, "224.0.0.1"), ENETUNREACH),
        // A subnet's broadcast address is no gateway (its best route is
        // the broadcast route), as on Linux.
        (via("10.9.0.0", 16, "10.0.0.255"), EINVAL),
        (via("10.8.0.0", 16, "255.255.255.255"), ENETUNREACH),
        (via("10.7.0.1", 32, "10.0.0.254"), 0),
        (via("10.7.0.1", 16, "10.0.0.254"), EINVAL),
        (via("2001:db8::", 200, "2001:db8::1"), EINVAL),
        (via("::ffff:0.0.0.0", 96, "fe80::1"), EINVAL),
    ];
    for (r, errno) in cases {
        let got = rig.stack.add_route(&r, EXCL, &mut |_| {});
        assert_eq!(got.err().map_or(0, |e| e.errno.get()), errno, "{r:?}");
        rig.poll().unwrap();
    }
    let mut mixed = via("10.6.0.0", 16, "10.0.0.254");
    mixed.gateway = Some(ip("2001:db8::1"));
    assert!(rig.stack.add_route(&mixed, EXCL, &mut |_| {}).is_err());
    let mut odd = via("10.6.0.0", 16, "10.0.0.254");
    odd.header.family = 0;
    assert_eq!(
        rig.stack
            .add_route(&odd, EXCL, &mut |_| {})
            .unwrap_err()
            .errno,
        EOPNOTSUPP
    );
    rig.poll().unwrap();
}

// ------------------------------------------------------- arbitrary ones

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
        any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
        // Addresses that collide with each other.
        (0u8..4).prop_map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i))),
        (0u16..4).prop_map(|i| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))),
    ]
}

/// `ip` made to fit `family`, so that most requests get past the shape
/// checks.
fn fit(ip: IpAddr, family: u8) -> IpAddr {
    match (family, ip) {
        (AF_INET, IpAddr::V6(a)) => IpAddr::V4(Ipv4Addr::from(u128::from(a) as u32)),
        (AF_INET6, IpAddr::V4(a)) => IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8u128 << 96) | u128::from(u32::from(a)),
        )),
        _ => ip,
    }
}

/// A prefix length `len` made to fit `family`.
fn fit_len(len: u8, family: u8) -> u8 {
    match family {
        AF_INET => len % 33,
        AF_INET6 => len % 129,
        _ => len,
    }
}

/// `ip` made to fit `family` when `fits`, as it is otherwise.
fn fit_if(fits: bool, ip: Option<IpAddr>, family: u8) -> Option<IpAddr> {
    ip.map(|i| if fits { fit(i, family) } else { i })
}

/// A prefix length `len` made to fit `family` when `fits`, any one below
/// 160 otherwise.
fn fit_len_if(fits: bool, len: u8, family: u8) -> u8 {
    if fits {
        fit_len(len, family)
    } else {
        len % 160
    }
}

/// `ip` masked to `len`.
fn fit_mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        v6 => v6,
    }
}

fn family() -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(AF_INET), 4 => Just(AF_INET6), 1 => any::<u8>()]
}

fn index() -> impl Strategy<Value = u32> {
    prop_oneof![8 => Just(INDEX), 1 => any::<u32>()]
}

fn any_addr() -> impl Strategy<Value = AddrRepr> {
    (
        (family(), any::<u8>(), any::<u8>(), any::<u8>(), index()),
        proptest::option::of(any_ip()),
        proptest::option::of(any_ip()),
        proptest::option::of(any_ip()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |((family, len, hflags, scope, index), address, local, brd, flags)| {
                let mut a = AddrRepr::default();
                a.header.family = family;
                let fits = hflags % 8 != 0;
                a.header.prefix_len = fit_len_if(fits, len, family);
                let f = |x: Option<IpAddr>| fit_if(fits, x, family);
                let (address, local, brd) = (f(address), f(local), f(brd));
                a.header.flags = hflags;
                a.header.scope = scope;
                a.header.index = index;
                a.address = address;
                a.local = local;
                a.broadcast = brd;
                a.flags = flags;
                a
            },
        )
}

fn any_route() -> impl Strategy<Value = RouteRepr> {
    (
        (family(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u32>()),
        (
            proptest::option::of(any_ip()),
            proptest::option::of(any_ip()),
            proptest::option::of(any_ip()),
            proptest::option::of(any_ip()),
        ),
        (
            proptest::option::of(index()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                (family, dst_len, src_len, tos, table),
                (protocol, scope, kind, flags),
                (dst, src, gateway, prefsrc),
                (oif, priority, table32, extra),
            )| {
                let mut r = RouteRepr::default();
                r.header.family = family;
                let fits = extra % 8 != 0;
                r.header.dst_len = fit_len_if(fits, dst_len, family);
                let f = |x: Option<IpAddr>| fit_if(fits, x, family);
                let (dst, src, gateway, prefsrc) = (
                    f(dst).map(|d| {
                        if fits {
                            fit_mask(d, r.header.dst_len)
                        } else {
                            d
                        }
                    }),
                    f(src),
                    f(gateway),
                    f(prefsrc),
                );
                r.header.src_len = if extra % 7 == 0 { src_len } else { 0 };
                r.header.tos = if extra % 5 == 0 { tos } else { 0 };
                r.header.table = if extra % 4 == 0 {
                    table
                } else {
                    RT_TABLE_MAIN as u8
                };
                r.header.protocol = protocol;
                r.header.scope = scope;
                r.header.route_type = if extra % 3 == 0 {
                    kind % 14
                } else {
                    RTN_UNICAST
                };
                r.header.flags = flags;
                r.dst = dst;
                r.src = src.filter(|_| extra % 11 == 0);
                r.gateway = gateway;
                r.prefsrc = prefsrc.filter(|_| extra % 13 == 0);
                r.oif = oif;
                r.priority = priority;
                r.table = table32.filter(|_| extra % 2 == 0);
                if extra % 17 == 0 {
                    let mut m = RouteMetrics::default();
                    m.set(RTAX_MTU, 1280);
                    r.metrics = Some(m);
                }
                if extra % 19 == 0 {
                    let mut hops = NextHopList::default();
                    let _ = hops.push(NextHopRepr {
                        gateway,
                        ifindex: INDEX,
                        ..NextHopRepr::default()
                    });
                    let _ = hops.push(NextHopRepr::default());
                    r.multipath = Some(hops);
                }
                if extra % 23 == 0 {
                    r.expires = Some(u64::from(extra));
                }
                r
            },
        )
}

fn any_link() -> impl Strategy<Value = LinkChange> {
    (
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(prop_oneof![any::<u32>(), 60u32..9100]),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
        proptest::option::of("[a-z0-9/: .]{0,16}"),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(flags, mask, mtu, mac, name, txqlen)| LinkChange {
            flags,
            flags_mask: mask,
            mtu,
            address: mac.and_then(|m| HwAddr::try_from_slice(&m)),
            name: name.and_then(|n| IfName::try_from_str(&n)),
            txqlen,
            ..LinkChange::default()
        })
}

#[derive(Debug, Clone)]
enum Req {
    AddrAdd(AddrRepr, u16),
    AddrDel(AddrRepr),
    RouteAdd(RouteRepr, u16),
    RouteDel(RouteRepr),
    Link(u32, LinkChange),
}

fn req() -> impl Strategy<Value = Req> {
    prop_oneof![
        3 => (any_addr(), any::<u16>()).prop_map(|(a, f)| Req::AddrAdd(a, f)),
        1 => any_addr().prop_map(Req::AddrDel),
        3 => (any_route(), any::<u16>()).prop_map(|(r, f)| Req::RouteAdd(r, f)),
        1 => any_route().prop_map(Req::RouteDel),
        1 => (index(), any_link()).prop_map(|(i, c)| Req::Link(i, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic(reqs in proptest::collection::vec(req(), 1..40)) {
        let mut rig = Rig::new();
        // Somewhere for gateways to be.
        rig.stack.add_addr(&addr("10.0.0.1", 24), EXCL, &mut |_| {}).unwrap();
        let mut v6 = addr("2001:db8::1", 64);
        v6.flags = Some(IFA_F_NODAD);
        rig.stack.add_addr(&v6, EXCL, &mut |_| {}).unwrap();
        for r in &reqs {
            let mut sink = |_: nlq::stack::Event<'_>| {};
            let _ = match r {
                Req::AddrAdd(a, f) => rig.stack.add_addr(a, CreateFlags(*f), &mut sink),
                Req::AddrDel(a) => rig.stack.del_addr(a, &mut sink),
                Req::RouteAdd(x, f) => rig.stack.add_route(x, CreateFlags(*f), &mut sink),
                Req::RouteDel(x) => rig.stack.del_route(x, &mut sink),
                Req::Link(i, c) => rig.stack.set_link(*i, c, &mut sink),
            };
            if let Err(e) = rig.poll() {
                return Err(TestCaseError::fail(format!("after {r:?}: {e}")));
            }
        }
    }
}
