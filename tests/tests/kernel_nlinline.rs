//! Every nlinline helper against the real kernel, each test in a fresh
//! network namespace of its own (`unshare -n`), IPv4 and IPv6, success and
//! the errors the kernel gives. Results are checked with nlinline's own
//! dumps and with `ip -j`.
#![cfg(target_os = "linux")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use nlinline::wire::consts::*;
use nlinline::{AddrOptions, Batch, Handle, KernelSocket, NextHop, Route};
use nlkit_tests::netns::{in_netns, ip};
use serde_json::Value;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn json(args: &[&str]) -> Value {
    let mut a = vec!["-j"];
    a.extend_from_slice(args);
    serde_json::from_str(&ip(&a)).expect("ip -j output is JSON")
}

/// A handle on the namespace, with `br0` (a bridge) created and up.
fn setup() -> (Handle<KernelSocket>, u32) {
    let mut h = Handle::kernel().unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    (h, br)
}

fn errno<T: std::fmt::Debug>(r: nlinline::Result<T>) -> nlinline::Errno {
    r.expect_err("the kernel refuses this").errno()
}

#[test]
fn names_and_indexes() {
    in_netns("names_and_indexes", || {
        let mut h = Handle::kernel().unwrap();
        assert_eq!(h.if_nametoindex("lo").unwrap(), 1);
        assert_eq!(h.if_indextoname(1).unwrap(), "lo");
        assert_eq!(errno(h.if_nametoindex("nosuch0")), libc::ENODEV);
        assert_eq!(errno(h.if_indextoname(4242)), libc::ENODEV);
        assert_eq!(
            h.if_nametoindex("much-too-long-name").unwrap_err().errno(),
            libc::EINVAL
        );
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        let list = h.if_nameindex().unwrap();
        let names: Vec<_> = list.iter().map(|e| (e.index, e.name.as_str())).collect();
        assert_eq!(names, vec![(1, "lo"), (br, "br0")]);
        // The free functions with the C names agree.
        assert_eq!(nlinline::c::if_nametoindex("br0").unwrap(), br);
        assert_eq!(nlinline::c::if_indextoname(br).unwrap(), "br0");
        assert_eq!(nlinline::c::if_nameindex().unwrap().len(), 2);
    });
}

#[test]
fn link_up_down_mtu_mac() {
    in_netns("link_up_down_mtu_mac", || {
        let mut h = Handle::kernel().unwrap();
        h.link_set_up(1, true).unwrap();
        let lo = h.link_get(1).unwrap();
        assert_ne!(lo.header.flags & IFF_UP, 0);
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        h.link_set_mtu(br, 1400).unwrap();
        h.link_set_mac(br, [0x02, 0, 0, 0, 0, 0x42]).unwrap();
        assert_eq!(h.link_get_mac(br).unwrap(), [0x02, 0, 0, 0, 0, 0x42]);
        h.link_set_up("br0", true).unwrap();
        let j = json(&["link", "show", "br0"]);
        assert_eq!(j[0]["mtu"], 1400);
        assert_eq!(j[0]["address"], "02:00:00:00:00:42");
        assert!(j[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
        h.link_set_up(br, false).unwrap();
        let j = json(&["link", "show", "br0"]);
        assert!(!j[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
        // Errors: no such link; an MTU the bridge refuses; a multicast MAC.
        assert_eq!(errno(h.link_set_mtu(4242, 1500)), libc::ENODEV);
        assert_eq!(errno(h.link_set_up(4242, true)), libc::ENODEV);
        assert_eq!(errno(h.link_set_mtu(br, 70_000)), libc::EINVAL);
        assert_eq!(
            errno(h.link_set_mac(br, [0x01, 0, 0, 0, 0, 1])),
            libc::EADDRNOTAVAIL
        );
    });
}

#[test]
fn link_add_and_del() {
    in_netns("link_add_and_del", || {
        let mut h = Handle::kernel().unwrap();
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        assert!(br > 1);
        let chosen = h.link_add("br1", "bridge", &[], Some(77)).unwrap();
        assert_eq!(chosen, 77);
        assert_eq!(h.if_nametoindex("br1").unwrap(), 77);
        // INFO_DATA: IFLA_BR_STP_STATE (5) = 1.
        let stp = 1u32.to_ne_bytes();
        h.link_add("br2", "bridge", &[(5, &stp[..])], None).unwrap();
        let j = json(&["-d", "link", "show", "br2"]);
        assert_eq!(j[0]["linkinfo"]["info_data"]["stp_state"], 1);
        assert_eq!(errno(h.link_add("br0", "bridge", &[], None)), libc::EEXIST);
        assert_eq!(
            errno(h.link_add("x0", "nosuchkind", &[], None)),
            libc::EOPNOTSUPP
        );
        let kinds: Vec<_> = h
            .links()
            .unwrap()
            .into_iter()
            .filter_map(|l| l.info.and_then(|i| i.kind).map(|k| k.to_string()))
            .collect();
        assert_eq!(kinds, vec!["bridge", "bridge", "bridge"]);
        h.link_del("br1").unwrap();
        h.link_del(br).unwrap();
        assert_eq!(errno(h.link_del("br1")), libc::ENODEV);
        assert_eq!(errno(h.link_del(4242)), libc::ENODEV);
        assert_eq!(h.if_nameindex().unwrap().len(), 2);
    });
}

#[test]
fn addresses_v4_and_v6() {
    in_netns("addresses_v4_and_v6", || {
        let (mut h, br) = setup();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        let nodad = AddrOptions {
            flags: IFA_F_NODAD,
            scope: None,
        };
        h.addr_add_with(v6("2001:db8::1"), 64, br, nodad).unwrap();
        assert_eq!(errno(h.addr_add(v4(10, 0, 0, 1), 24, br)), libc::EEXIST);
        assert_eq!(errno(h.addr_add(v4(10, 0, 0, 2), 24, 4242)), libc::ENODEV);
        assert_eq!(errno(h.addr_add(v4(10, 0, 0, 3), 33, br)), libc::EINVAL);
        assert_eq!(errno(h.addr_add(v6("2001:db8::2"), 129, br)), libc::EINVAL);

        let a4 = h.addrs(AF_INET).unwrap();
        assert!(a4
            .iter()
            .any(|a| a.local == Some(v4(10, 0, 0, 1)) && a.header.prefix_len == 24));
        let a6 = h.addrs(AF_INET6).unwrap();
        let ours = a6
            .iter()
            .find(|a| a.address == Some(v6("2001:db8::1")))
            .unwrap();
        assert_ne!(ours.all_flags() & IFA_F_NODAD, 0);
        let j = json(&["addr", "show", "dev", "br0"]);
        let infos = j[0]["addr_info"].as_array().unwrap();
        assert!(infos
            .iter()
            .any(|i| i["local"] == "10.0.0.1" && i["prefixlen"] == 24));
        assert!(infos
            .iter()
            .any(|i| i["local"] == "2001:db8::1" && i["prefixlen"] == 64));

        h.addr_del(v4(10, 0, 0, 1), 24, br).unwrap();
        h.addr_del(v6("2001:db8::1"), 64, br).unwrap();
        assert_eq!(
            errno(h.addr_del(v4(10, 0, 0, 1), 24, br)),
            libc::EADDRNOTAVAIL
        );
        assert_eq!(
            errno(h.addr_del(v6("2001:db8::1"), 64, br)),
            libc::EADDRNOTAVAIL
        );
        assert!(h
            .addrs(AF_INET)
            .unwrap()
            .iter()
            .all(|a| a.header.index != br));
        // The C names.
        nlinline::c::ipaddr_add(v4(10, 9, 0, 1), 16, br).unwrap();
        nlinline::c::ipaddr_del(v4(10, 9, 0, 1), 16, br).unwrap();
    });
}

#[test]
fn routes_v4() {
    in_netns("routes_v4", || {
        let (mut h, br) = setup();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        // Through a reachable gateway, on a device, in another table, metric.
        h.route_add(&Route::to(v4(10, 1, 0, 0), 16).via(v4(10, 0, 0, 254)))
            .unwrap();
        h.route_add(&Route::to(v4(10, 2, 0, 0), 16).dev(br))
            .unwrap();
        h.route_add(&Route::to(v4(10, 3, 0, 0), 16).dev(br).table(100).metric(7))
            .unwrap();
        h.route_add(&Route::default_via(v4(10, 0, 0, 254))).unwrap();
        h.route_add(&Route::to(v4(192, 0, 2, 0), 24).route_type(RTN_BLACKHOLE))
            .unwrap();
        // Errors.
        assert_eq!(
            errno(h.route_add(&Route::to(v4(10, 1, 0, 0), 16).via(v4(10, 0, 0, 254)))),
            libc::EEXIST
        );
        let unreachable = h.route_add(&Route::to(v4(10, 4, 0, 0), 16).via(v4(172, 16, 0, 1)));
        assert_eq!(errno(unreachable), libc::ENETUNREACH);
        assert_eq!(
            errno(h.route_add(&Route::to(v4(10, 5, 0, 0), 16).dev(4242))),
            libc::ENODEV
        );
        assert_eq!(
            errno(h.route_add(&Route::to(v4(10, 5, 0, 0), 33).dev(br))),
            libc::EINVAL
        );
        assert_eq!(
            errno(h.route_del(&Route::to(v4(10, 6, 0, 0), 16).dev(br))),
            libc::ESRCH
        );

        let main = h.routes(AF_INET, Some(RT_TABLE_MAIN)).unwrap();
        assert!(main
            .iter()
            .any(|r| r.dst == Some(v4(10, 1, 0, 0)) && r.gateway == Some(v4(10, 0, 0, 254))));
        assert!(main
            .iter()
            .any(|r| r.dst.is_none() && r.header.dst_len == 0));
        assert!(main.iter().any(|r| r.header.route_type == RTN_BLACKHOLE));
        let t100 = h.routes(AF_INET, Some(100)).unwrap();
        assert_eq!(t100.len(), 1);
        assert_eq!(t100[0].priority, Some(7));
        let j = json(&["route", "show", "table", "100"]);
        assert_eq!(j[0]["dst"], "10.3.0.0/16");
        assert_eq!(j[0]["metric"], 7);
        let j = json(&["route", "show", "10.1.0.0/16"]);
        assert_eq!(j[0]["gateway"], "10.0.0.254");

        h.route_del(&Route::to(v4(10, 1, 0, 0), 16).via(v4(10, 0, 0, 254)))
            .unwrap();
        h.route_del(&Route::to(v4(10, 3, 0, 0), 16).dev(br).table(100).metric(7))
            .unwrap();
        assert!(h.routes(AF_INET, Some(100)).unwrap().is_empty());
        assert_eq!(
            errno(h.route_del(&Route::to(v4(10, 1, 0, 0), 16).via(v4(10, 0, 0, 254)))),
            libc::ESRCH
        );
    });
}

#[test]
fn routes_v6_and_multipath() {
    in_netns("routes_v6_and_multipath", || {
        let (mut h, br) = setup();
        let nodad = AddrOptions {
            flags: IFA_F_NODAD,
            scope: None,
        };
        h.addr_add_with(v6("2001:db8::1"), 64, br, nodad).unwrap();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        h.route_add(&Route::to(v6("2001:db8:1::"), 48).via(v6("2001:db8::fe")))
            .unwrap();
        h.route_add(&Route::default_via(v6("2001:db8::fe")))
            .unwrap();
        let j = json(&["-6", "route", "show", "2001:db8:1::/48"]);
        assert_eq!(j[0]["gateway"], "2001:db8::fe");
        let mp = Route::to(v4(10, 7, 0, 0), 16).multipath(vec![
            NextHop {
                gateway: Some(v4(10, 0, 0, 2)),
                ifindex: br,
                weight: 1,
            },
            NextHop {
                gateway: Some(v4(10, 0, 0, 3)),
                ifindex: br,
                weight: 3,
            },
        ]);
        h.route_add(&mp).unwrap();
        let routes = h.routes(AF_INET, Some(RT_TABLE_MAIN)).unwrap();
        let r = routes
            .iter()
            .find(|r| r.dst == Some(v4(10, 7, 0, 0)))
            .unwrap();
        let hops = r.multipath.clone().unwrap();
        assert_eq!(hops.as_slice().len(), 2);
        assert_eq!(hops.as_slice()[1].hops, 2);
        let j = json(&["route", "show", "10.7.0.0/16"]);
        assert_eq!(j[0]["nexthops"].as_array().unwrap().len(), 2);
        // A device that is down: the kernel's text comes through.
        h.link_set_up(br, false).unwrap();
        let e = h
            .route_add(&Route::to(v4(10, 8, 0, 0), 16).dev(br))
            .unwrap_err();
        assert_eq!(e.errno(), libc::ENETDOWN);
        assert!(e.message().is_some_and(|m| m.contains("not up")), "{e}");
        let io: std::io::Error = e.into();
        assert!(io.to_string().contains("not up"));
    });
}

/// `10.9.0.0/16` through `n` next hops `10.1.x.y` on `dev` (which has
/// `10.1.0.1/16`), each of weight 1 to 4: added, then read back.
fn wide_multipath<T: nlinline::Transport>(
    h: &mut Handle<T>,
    dev: u32,
    n: u32,
) -> (
    Result<(), nlinline::Errno>,
    Option<nlinline::wire::RouteRepr>,
) {
    h.addr_add(v4(10, 1, 0, 1), 16, dev).unwrap();
    let hops = (0..n)
        .map(|i| NextHop {
            gateway: Some(v4(10, 1, (i / 200) as u8, (i % 200 + 2) as u8)),
            ifindex: dev,
            weight: (i % 4 + 1) as u16,
        })
        .collect();
    let added = h
        .route_add(&Route::to(v4(10, 9, 0, 0), 16).multipath(hops))
        .map_err(|e| e.errno());
    let found = h
        .routes(AF_INET, Some(RT_TABLE_MAIN))
        .unwrap()
        .into_iter()
        .find(|r| r.dst == Some(v4(10, 9, 0, 0)));
    (added, found)
}

/// More next hops than the 32 nlq once held: the kernel takes them (as
/// many as fit the attribute), and so does nlq over the mem stack, with
/// the same route read back.
#[test]
fn a_multipath_route_of_many_next_hops_as_the_kernel() {
    let Some(kernel) = in_netns("a_multipath_route_of_many_next_hops", || {
        let (mut h, br) = setup();
        [100, 240].map(|n| {
            let r = wide_multipath(&mut h, br, n);
            h.route_del(&Route::to(v4(10, 9, 0, 0), 16)).unwrap();
            h.addr_del(v4(10, 1, 0, 1), 16, br).unwrap();
            r
        })
    }) else {
        return;
    };
    let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
    let mut h = Handle::in_process(&shared);
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    for (n, kernel) in [100, 240].into_iter().zip(kernel) {
        let mem = wide_multipath(&mut h, br, n);
        h.route_del(&Route::to(v4(10, 9, 0, 0), 16)).unwrap();
        h.addr_del(v4(10, 1, 0, 1), 16, br).unwrap();
        assert_eq!(kernel.0, Ok(()), "{n} next hops");
        assert_eq!(mem.0, Ok(()), "{n} next hops");
        let hops = mem.1.as_ref().and_then(|r| r.multipath.as_ref());
        assert_eq!(hops.map(|m| m.as_slice().len()), Some(n as usize));
        if n == 100 {
            assert_eq!(mem, kernel, "{n} next hops");
        }
        // 240 next hops (a 3,908-byte RTA_MULTIPATH): the kernel takes the
        // route but its dump leaves it out (the message does not fit the
        // first dump buffer, NLMSG_GOODSIZE; `ip route` says "Buffer too
        // small for object"), which nlq does not mimic.
    }
}

#[test]
fn batch_applies_in_order_with_one_result_each() {
    in_netns("batch_applies_in_order_with_one_result_each", || {
        let (mut h, br) = setup();
        let mut b = Batch::new();
        for i in 0..2000u32 {
            let dst = v4(10, (i / 256) as u8 + 1, (i % 256) as u8, 0);
            b.route_add(&Route::to(dst, 24).dev(br)).unwrap();
        }
        // A duplicate and a bad device in the middle, then more good ones.
        b.route_add(&Route::to(v4(10, 1, 0, 0), 24).dev(br))
            .unwrap();
        b.route_add(&Route::to(v4(10, 200, 0, 0), 24).dev(4242))
            .unwrap();
        b.addr_add(v4(10, 250, 0, 1), 24, br).unwrap();
        let results = h.apply(&b);
        assert_eq!(results.len(), 2003);
        assert!(results[..2000].iter().all(|r| matches!(r, Ok(0))));
        assert_eq!(results[2000].as_ref().unwrap_err().errno(), libc::EEXIST);
        assert_eq!(results[2001].as_ref().unwrap_err().errno(), libc::ENODEV);
        assert!(results[2002].is_ok());
        let n = h.routes(AF_INET, Some(RT_TABLE_MAIN)).unwrap().len();
        assert_eq!(n, 2000 + 1); // plus the prefix route of 10.250.0.1/24
    });
}

#[test]
fn dialog_passes_a_caller_built_message() {
    in_netns("dialog_passes_a_caller_built_message", || {
        let mut h = Handle::kernel().unwrap();
        // RTM_SETLINK lo up, built by hand.
        let mut w = nlinline::wire::Writer::new(Vec::new());
        w.message(RTM_SETLINK, 0, 0, 0, |w| {
            w.put(&[0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
        })
        .unwrap();
        assert_eq!(h.dialog(w.buffer(), |_| Ok(())).unwrap(), 0);
        assert_ne!(h.link_get("lo").unwrap().header.flags & IFF_UP, 0);
        assert_eq!(nlinline::c::nldialog(w.buffer()).unwrap(), 0);
    });
}

#[test]
fn socket_in_another_namespace_leaves_the_thread_where_it_is() {
    in_netns("socket_in_another_namespace", || {
        // This thread's namespace has a bridge; another thread's does not.
        let mut here = Handle::kernel().unwrap();
        here.link_add("brhere", "bridge", &[], None).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            // SAFETY: moves only this new thread into a new namespace.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0);
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::gettid() };
            tx.send(format!("/proc/self/task/{tid}/ns/net")).unwrap();
            done_rx.recv().unwrap();
        });
        let path = rx.recv().unwrap();
        let mut there = Handle::new(KernelSocket::in_namespace(&path).unwrap());
        assert_eq!(there.if_nameindex().unwrap().len(), 1);
        assert_eq!(errno(there.if_nametoindex("brhere")), libc::ENODEV);
        // And this thread did not move.
        assert!(here.if_nametoindex("brhere").is_ok());
        done_tx.send(()).unwrap();
        other.join().unwrap();
    });
}

#[test]
fn every_wait_has_a_timeout() {
    // A transport that never answers.
    struct Silent;
    impl nlinline::Transport for Silent {
        fn send(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn recv(&mut self, _: &mut Vec<u8>, t: Option<Duration>) -> std::io::Result<()> {
            std::thread::sleep(t.unwrap_or_default().min(Duration::from_millis(20)));
            Err(std::io::ErrorKind::TimedOut.into())
        }
        fn port(&self) -> u32 {
            7
        }
    }
    let mut h = Handle::new(Silent).with_timeout(Duration::from_millis(50));
    assert!(matches!(
        h.if_nametoindex("lo"),
        Err(nlinline::Error::Timeout)
    ));
    let mut b = Batch::new();
    b.link_set_up(1, true).unwrap();
    assert!(matches!(h.apply(&b)[0], Err(nlinline::Error::Timeout)));
}

#[test]
fn enobufs_is_reported_not_swallowed() {
    in_netns("enobufs_is_reported_not_swallowed", || {
        let sock = KernelSocket::new().unwrap();
        sock.socket().set_rx_buf_sz(0usize).unwrap(); // the kernel's minimum
        let mut h = Handle::new(sock);
        // 300 acknowledged requests in one datagram, answers left unread.
        let mut w = nlinline::wire::Writer::new(Vec::new());
        for seq in 1000..1300 {
            w.message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0, |w| {
                w.put(&[0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
            })
            .unwrap();
        }
        nlinline::Transport::send(h.transport(), w.buffer()).unwrap();
        let e = h.link_set_up(1, true).unwrap_err();
        assert_eq!(e.errno(), libc::ENOBUFS, "{e}");
    });
}

#[test]
fn neighbour_dump() {
    in_netns("neighbour_dump", || {
        let (mut h, br) = setup();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        ip(&[
            "neigh",
            "add",
            "10.0.0.2",
            "lladdr",
            "02:00:00:00:00:02",
            "dev",
            "br0",
            "nud",
            "permanent",
        ]);
        ip(&[
            "-6",
            "neigh",
            "add",
            "fe80::2",
            "lladdr",
            "02:00:00:00:00:03",
            "dev",
            "br0",
            "nud",
            "permanent",
        ]);
        // The kernel may add entries of its own (multicast, NOARP): find ours.
        let n4 = h.neighbours(AF_INET).unwrap();
        assert!(n4.iter().all(|n| n.header.family == AF_INET));
        let ours = n4.iter().find(|n| n.dst == Some(v4(10, 0, 0, 2))).unwrap();
        assert_eq!(&ours.lladdr.unwrap()[..], &[2, 0, 0, 0, 0, 2]);
        assert_eq!(ours.header.state, NUD_PERMANENT);
        assert_eq!(ours.header.ifindex, br);
        let all = h.neighbours(AF_UNSPEC).unwrap();
        assert!(all.iter().any(|n| n.dst == Some(v6("fe80::2"))));
    });
}

/// The rule helpers on `h`: what each answered, then the rules of both
/// families.
fn rule_story<T: nlinline::Transport>(h: &mut Handle<T>) -> Vec<String> {
    use nlinline::Rule;
    let ten = v4(10, 0, 0, 0);
    let db8 = v6("2001:db8::");
    let steps = [
        Rule::lookup(100).from(ten, 8).pref(100),
        Rule::lookup(100).from(ten, 8).pref(100),
        Rule::lookup(200)
            .to(v4(192, 168, 0, 0), 16)
            .fwmark(5, Some(0xff)),
        Rule::goto(300).pref(200),
        Rule::goto(100).pref(200),
        Rule::prohibit().iif("lo").invert(),
        Rule::lookup(0),
        Rule::lookup(1000).from(db8, 32),
        Rule::lookup(0).family(AF_INET6),
        Rule::blackhole().from(ten, 40),
    ];
    let mut out: Vec<String> = steps
        .iter()
        .map(|r| format!("add {:?}", h.rule_add(r).map_err(|e| e.errno())))
        .collect();
    for del in [
        Rule::any().pref(32767),
        Rule::any().pref(32767),
        Rule::lookup(200),
    ] {
        out.push(format!("del {:?}", h.rule_del(&del).map_err(|e| e.errno())));
    }
    for r in h.rules(AF_UNSPEC).unwrap() {
        out.push(format!("{r:?}"));
    }
    out
}

#[test]
fn rules_answer_as_the_kernel_does() {
    let nlq = {
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&shared);
        rule_story(&mut h)
    };
    in_netns("rules_answer_as_the_kernel_does", move || {
        let mut h = Handle::kernel().unwrap();
        let kernel = rule_story(&mut h);
        assert_eq!(kernel, nlq);
        assert!(kernel.len() > 13, "{kernel:?}");
    });
}

/// One line per event: what identifies it, nothing that holds a time.
fn event_line(e: &nlinline::Event) -> String {
    use nlinline::Event;
    match e {
        Event::NewLink(l) | Event::DelLink(l) => {
            let kind = if matches!(e, Event::NewLink(_)) {
                "+"
            } else {
                "-"
            };
            let name = l.name.as_ref().map(|n| n.to_string());
            format!(
                "{kind}link {name:?} flags {:#x} mtu {:?}",
                l.header.flags, l.mtu
            )
        }
        Event::NewAddr(a) | Event::DelAddr(a) => {
            let kind = if matches!(e, Event::NewAddr(_)) {
                "+"
            } else {
                "-"
            };
            format!(
                "{kind}addr {:?}/{} local {:?}",
                a.address, a.header.prefix_len, a.local
            )
        }
        Event::NewRoute(r) | Event::DelRoute(r) => {
            let kind = if matches!(e, Event::NewRoute(_)) {
                "+"
            } else {
                "-"
            };
            format!(
                "{kind}route table {} {:?}/{} via {:?} type {} scope {} proto {} flags {:#x}",
                r.table_id(),
                r.dst,
                r.header.dst_len,
                r.gateway,
                r.header.route_type,
                r.header.scope,
                r.header.protocol,
                r.header.flags
            )
        }
        Event::NewRule(r) | Event::DelRule(r) => {
            let kind = if matches!(e, Event::NewRule(_)) {
                "+"
            } else {
                "-"
            };
            format!("{kind}rule {r:?}")
        }
        Event::NewNetconf(c) => format!("+netconf {c:?}"),
        Event::DelNetconf(c) => format!("-netconf {c:?}"),
        other => format!("{other:?}"),
    }
}

/// Configures `br0` (up before the monitor joined) and a bridge `br1`,
/// and after each acknowledged change takes every event already queued
/// (the stack sends them before its acknowledgement).
fn monitor_story<T: nlinline::Transport, M: nlinline::Transport>(
    h: &mut Handle<T>,
    monitor: &mut nlinline::Monitor<M>,
    br: u32,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut drain = |what: &str, monitor: &mut nlinline::Monitor<M>| {
        out.push(format!("# {what}"));
        while let Some(e) = monitor.next(Duration::ZERO).expect("event") {
            out.push(event_line(&e));
        }
    };
    h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
    drain("addr add", monitor);
    let r = Route::to(v4(10, 1, 0, 0), 16).via(v4(10, 0, 0, 254));
    h.route_add(&r).unwrap();
    drain("route add", monitor);
    h.route_del(&r).unwrap();
    drain("route del", monitor);
    let rule = nlinline::Rule::lookup(100)
        .from(v4(10, 0, 0, 0), 8)
        .pref(100);
    h.rule_add(&rule).unwrap();
    drain("rule add", monitor);
    h.rule_del(&rule).unwrap();
    drain("rule del", monitor);
    h.addr_del(v4(10, 0, 0, 1), 24, br).unwrap();
    drain("addr del", monitor);
    let br1 = h.link_add("br1", "bridge", &[], None).unwrap();
    drain("link add", monitor);
    h.link_set_mtu(br1, 1400).unwrap();
    drain("link mtu", monitor);
    h.link_del(br1).unwrap();
    drain("link del", monitor);
    out
}

const STORY_GROUPS: [nlinline::Group; 5] = [
    nlinline::Group::Link,
    nlinline::Group::Ipv4Addr,
    nlinline::Group::Ipv4Route,
    nlinline::Group::Ipv4Rule,
    nlinline::Group::Ipv4Netconf,
];

#[test]
fn a_monitor_sees_what_the_kernel_sends() {
    let nlq = {
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&shared);
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        h.link_set_up(br, true).unwrap();
        let mut m = nlinline::Monitor::new(shared.connect(), &STORY_GROUPS).unwrap();
        monitor_story(&mut h, &mut m, br)
    };
    in_netns("a_monitor_sees_what_the_kernel_sends", move || {
        // IPv6 off: its address configuration is asynchronous.
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").unwrap();
        let (mut h, br) = setup();
        let mut m = nlinline::Monitor::new(KernelSocket::new().unwrap(), &STORY_GROUPS).unwrap();
        let kernel = monitor_story(&mut h, &mut m, br);
        assert_eq!(kernel, nlq);
        // A link's IPv4 device coming and going, typed.
        assert!(
            kernel.iter().any(|l| l.starts_with("+netconf")),
            "{kernel:#?}"
        );
        assert!(
            kernel.iter().any(|l| l.starts_with("-netconf")),
            "{kernel:#?}"
        );
        assert!(
            kernel.iter().filter(|l| !l.starts_with('#')).count() > 10,
            "{kernel:#?}"
        );
    });
}

/// Events left unread until the receive buffer overflows: the monitor
/// says so once, then goes on with the events after the loss.
fn overflow_story<M: nlinline::Transport>(
    configure: &mut dyn FnMut(u32),
    monitor: &mut nlinline::Monitor<M>,
) {
    for i in 0..400 {
        configure(i);
    }
    let mut missed = 0;
    let mut after = 0;
    while let Some(e) = monitor.next(Duration::ZERO).unwrap() {
        match e {
            nlinline::Event::Missed => missed += 1,
            _ if missed > 0 => after += 1,
            _ => {}
        }
    }
    assert_eq!(missed, 1, "one loss reported");
    configure(1000);
    let e = monitor.next(Duration::from_secs(5)).unwrap();
    assert!(
        matches!(e, Some(nlinline::Event::NewRoute(_))),
        "{e:?} ({after} after the loss)"
    );
}

#[test]
fn a_monitor_reports_lost_events() {
    let route = |i: u32| {
        Route::to(IpAddr::V4(Ipv4Addr::from(0x0a80_0000 + (i << 8))), 24).via(v4(10, 0, 0, 254))
    };
    {
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&shared);
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        h.link_set_up(br, true).unwrap();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        let client = shared.connect();
        client.set_option(nlq::server::SockOpt::RcvBuf(0)).unwrap();
        let mut m = nlinline::Monitor::new(client, &[nlinline::Group::Ipv4Route]).unwrap();
        overflow_story(&mut |i| h.route_add(&route(i)).unwrap(), &mut m);
    }
    in_netns("a_monitor_reports_lost_events", move || {
        let (mut h, br) = setup();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        let sock = KernelSocket::new().unwrap();
        sock.socket().set_rx_buf_sz(0usize).unwrap(); // the kernel's minimum
        let mut m = nlinline::Monitor::new(sock, &[nlinline::Group::Ipv4Route]).unwrap();
        overflow_story(&mut |i| h.route_add(&route(i)).unwrap(), &mut m);
    });
}

/// What the kernel makes of its own traffic (IGMP and MLD reports create
/// `NOARP` entries for the groups they go to, after random delays): not
/// configuration, left out of the comparison.
fn kernel_made(n: &nlinline::wire::NeighRepr) -> bool {
    n.header.state == NUD_NOARP
        && n.dst.is_some_and(|d| d.is_multicast())
        && n.lladdr
            .is_some_and(|l| matches!(l.first(), Some(0x01 | 0x33)))
}

fn neigh_line(n: &nlinline::wire::NeighRepr) -> String {
    let h = n.header;
    format!(
        "family {} dev {} {:?} lladdr {:?} state {:#x} type {} flags {:#x} proto {:?} probes {:?}",
        h.family,
        h.ifindex,
        n.dst,
        n.lladdr.map(|l| l.to_vec()),
        h.state,
        h.address_type,
        h.flags,
        n.protocol,
        n.probes
    )
}

/// Neighbours added, replaced, changed and deleted on a link down and up,
/// on `lo`, for addresses of every type, then flushed by a MAC change, a
/// link going down and a link going away: each answer, each event (runs
/// of deletions sorted: the kernel walks its hash table) and the table
/// after each step.
fn neigh_story<T: nlinline::Transport, M: nlinline::Transport>(
    h: &mut Handle<T>,
    monitor: &mut nlinline::Monitor<M>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mac = |b: u8| Some([2, 0, 0, 0, 0, b]);
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    while monitor.next(Duration::ZERO).unwrap().is_some() {}
    let mut step =
        |what: &str, r: nlinline::Result<()>, h: &mut Handle<T>, out: &mut Vec<String>| {
            out.push(format!(
                "# {what}: {:?}",
                r.map_err(|e| (e.errno(), e.message().map(str::to_string)))
            ));
            let mut events: Vec<String> = Vec::new();
            while let Some(e) = monitor.next(Duration::ZERO).unwrap() {
                let line = match &e {
                    nlinline::Event::NewNeigh(n) if !kernel_made(n) => {
                        format!("+neigh {}", neigh_line(n))
                    }
                    nlinline::Event::DelNeigh(n) if !kernel_made(n) => {
                        format!("-neigh {}", neigh_line(n))
                    }
                    nlinline::Event::NewNeigh(_) | nlinline::Event::DelNeigh(_) => continue,
                    // The bridge's forwarding entries (not modelled).
                    nlinline::Event::Other { kind, .. }
                        if *kind == RTM_NEWNEIGH || *kind == RTM_DELNEIGH =>
                    {
                        continue
                    }
                    other => event_line(other),
                };
                events.push(line);
            }
            // Deletions in a row come in hash order.
            let mut i = 0;
            while i < events.len() {
                let j = (i..events.len())
                    .find(|&j| !events[j].starts_with("-neigh"))
                    .unwrap_or(events.len());
                events[i..j].sort();
                i = j.max(i + 1);
            }
            out.extend(events);
            let mut table: Vec<String> = h
                .neighbours(AF_UNSPEC)
                .unwrap()
                .iter()
                .filter(|n| !kernel_made(n))
                .map(|n| format!("  {}", neigh_line(n)))
                .collect();
            table.sort();
            out.extend(table);
        };
    let ten = |d: u8| v4(10, 0, 0, d);
    let r = h.neigh_add(ten(2), br, mac(1), NUD_PERMANENT);
    step("add on a link down", r, h, &mut out);
    let r = h.neigh_add(ten(2), br, mac(2), NUD_PERMANENT);
    step("add again", r, h, &mut out);
    let r = h.neigh_replace(ten(2), br, mac(2), NUD_PERMANENT);
    step("replace", r, h, &mut out);
    let r = h.neigh_change(ten(2), br, mac(2), NUD_STALE);
    step("change to stale", r, h, &mut out);
    let r = h.neigh_change(ten(9), br, mac(2), NUD_STALE);
    step("change a missing one", r, h, &mut out);
    let r = h.neigh_add(ten(2), br, mac(7), NUD_REACHABLE);
    step("add over a stale one", r, h, &mut out);
    let r = h.neigh_add(ten(3), br, None, NUD_PERMANENT);
    step("add without an address, no local table", r, h, &mut out);
    let r = h.neigh_add(v6("2001:db8::1"), br, mac(3), NUD_PERMANENT);
    step("add IPv6", r, h, &mut out);
    let r = h.neigh_add(ten(8), 1, mac(8), NUD_PERMANENT);
    step("add on lo", r, h, &mut out);
    let r = h.neigh_add(ten(7), 1, mac(7), NUD_STALE);
    step("add another on lo: the same entry", r, h, &mut out);
    let r = h.neigh_del(ten(7), 1);
    step("delete it by its address", r, h, &mut out);
    let r = h.neigh_add(v4(224, 0, 0, 5), br, mac(9), NUD_PERMANENT);
    step("add multicast", r, h, &mut out);
    let r = h.neigh_add(v6("ff02::5"), br, None, NUD_NOARP);
    step("add IPv6 multicast without an address", r, h, &mut out);
    let r = h
        .addr_add(ten(1), 24, br)
        .and_then(|()| h.link_set_up(br, true));
    step("address, link up", r, h, &mut out);
    let r = h.neigh_add(ten(4), br, None, NUD_PERMANENT);
    step("add unicast without an address", r, h, &mut out);
    let r = h.neigh_add(ten(5), br, mac(5), NUD_REACHABLE);
    step("add reachable", r, h, &mut out);
    let r = h.neigh_add(v4(10, 9, 9, 9), br, mac(4), NUD_PERMANENT);
    step("add off every route", r, h, &mut out);
    let r = h.neigh_add(ten(255), br, None, NUD_PERMANENT);
    step("add the broadcast address", r, h, &mut out);
    let r = h.neigh_add(ten(1), br, mac(4), NUD_PERMANENT);
    step("add the local address", r, h, &mut out);
    let r = h.neigh_add(ten(6), br, mac(6), NUD_INCOMPLETE);
    step("add incomplete", r, h, &mut out);
    let r = h.neigh_del(ten(2), br);
    step("delete", r, h, &mut out);
    let r = h.neigh_del(ten(2), br);
    step("delete again", r, h, &mut out);
    let r = h.neigh_del(ten(6), br);
    step("delete the incomplete one", r, h, &mut out);
    let r = h.neigh_del(v4(0, 0, 0, 0), 1);
    step("delete lo's entry by its key", r, h, &mut out);
    let r = h.neigh_add(ten(7), 99, mac(7), NUD_PERMANENT);
    step("add on no link", r, h, &mut out);
    let r = h
        .neigh_add(ten(2), br, mac(1), NUD_PERMANENT)
        .and_then(|()| h.neigh_add(ten(4), br, mac(4), NUD_STALE))
        .and_then(|()| h.neigh_add(v6("2001:db8::2"), br, mac(2), NUD_PERMANENT));
    step("three more", r, h, &mut out);
    let r = h.link_set_up(br, false);
    step("link down", r, h, &mut out);
    let r = h
        .neigh_add(ten(2), br, mac(1), NUD_PERMANENT)
        .and_then(|()| h.neigh_add(v6("2001:db8::2"), br, mac(2), NUD_PERMANENT));
    step("two on the link down", r, h, &mut out);
    // Down, so that no carrier change is left for the kernel's linkwatch.
    let r = h.link_set_mac(br, [2, 0, 0, 0, 0, 0x0b]);
    step("MAC change", r, h, &mut out);
    let r = h
        .neigh_add(ten(2), br, mac(1), NUD_PERMANENT)
        .and_then(|()| h.neigh_add(v6("2001:db8::2"), br, mac(2), NUD_PERMANENT));
    step("two again", r, h, &mut out);
    let r = h.link_del(br);
    step("link deleted", r, h, &mut out);
    out
}

#[test]
fn neighbours_answer_as_the_kernel_does() {
    let groups = [
        nlinline::Group::Neigh,
        nlinline::Group::Link,
        nlinline::Group::Ipv4Addr,
        nlinline::Group::Ipv4Route,
    ];
    let nlq = {
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&shared);
        let mut m = nlinline::Monitor::new(shared.connect(), &groups).unwrap();
        neigh_story(&mut h, &mut m)
    };
    in_netns("neighbours_answer_as_the_kernel_does", move || {
        let mut h = Handle::kernel().unwrap();
        let mut m = nlinline::Monitor::new(KernelSocket::new().unwrap(), &groups).unwrap();
        let kernel = neigh_story(&mut h, &mut m);
        if kernel != nlq {
            let width = kernel.len().max(nlq.len());
            for i in 0..width {
                let (k, n) = (kernel.get(i), nlq.get(i));
                if k != n {
                    panic!("first difference at line {i}:\n kernel: {k:?}\n nlq:    {n:?}\n\nkernel:\n{}", kernel.join("\n"));
                }
            }
        }
        assert!(kernel.len() > 60, "{kernel:#?}");
    });
}

/// The typed kinds write what `ip link add … type KIND …` writes: the
/// kernel reports back each setting (`ip -d -j link show`).
#[test]
fn typed_link_kinds_create_what_they_say() {
    use nlinline::{BridgeOptions, LinkKind, MacvlanMode, Vxlan};
    in_netns("typed_link_kinds_create_what_they_say", || {
        let mut h = Handle::kernel().unwrap();
        let info = |name: &str| {
            let v = json(&["-d", "link", "show", "dev", name]);
            v[0].clone()
        };
        let opts = BridgeOptions {
            stp: Some(true),
            forward_delay: Some(400),
            ageing_time: Some(1000),
            // This kernel is built without VLAN filtering (EOPNOTSUPP).
            vlan_filtering: None,
        };
        h.link_create("br0", &LinkKind::Bridge(opts)).unwrap();
        let d = &info("br0")["linkinfo"]["info_data"];
        assert_eq!(
            (&d["stp_state"], &d["forward_delay"], &d["ageing_time"]),
            (&Value::from(1), &Value::from(400), &Value::from(1000)),
            "{d}"
        );
        let v0 = h
            .link_create("v0", &LinkKind::Veth { peer: Some("v1") })
            .unwrap();
        let v1 = h.if_nametoindex("v1").unwrap();
        assert_eq!(info("v0")["link"], "v1");
        assert_eq!(info("v1")["link"], "v0");
        assert!(v1 < v0, "the peer is registered first");
        let lone = h.link_create("v2", &LinkKind::Veth { peer: None }).unwrap();
        assert_eq!(info("v2")["link"], "veth0", "{lone}");
        let mv = h
            .link_create(
                "mv0",
                &LinkKind::Macvlan {
                    parent: v0,
                    mode: MacvlanMode::Bridge,
                },
            )
            .unwrap();
        let m = info("mv0");
        assert_eq!(
            (&m["link"], &m["linkinfo"]["info_data"]["mode"]),
            (&Value::from("v0"), &Value::from("bridge")),
            "{m} {mv}"
        );
        let vx = Vxlan {
            id: 42,
            remote: Some(v4(10, 0, 0, 9)),
            local: Some(v4(10, 0, 0, 1)),
            dev: Some(v0),
            port: Some(4789),
            learning: Some(false),
        };
        h.link_create("vx0", &LinkKind::Vxlan(vx)).unwrap();
        let d = &info("vx0")["linkinfo"]["info_data"];
        assert_eq!(
            (
                &d["id"],
                &d["remote"],
                &d["local"],
                &d["link"],
                &d["port"],
                &d["learning"]
            ),
            (
                &Value::from(42),
                &Value::from("10.0.0.9"),
                &Value::from("10.0.0.1"),
                &Value::from("v0"),
                &Value::from(4789),
                &Value::from(false)
            ),
            "{d}"
        );
        let group = Vxlan {
            id: 7,
            remote: Some(v6("ff05::100")),
            dev: Some(v0),
            ..Vxlan::default()
        };
        h.link_create("vx1", &LinkKind::Vxlan(group)).unwrap();
        assert_eq!(info("vx1")["linkinfo"]["info_data"]["group6"], "ff05::100");
        // Refused before anything is sent.
        let e = h.link_create(
            "vx2",
            &LinkKind::Vxlan(Vxlan {
                id: 1 << 24,
                ..Vxlan::default()
            }),
        );
        assert!(matches!(e, Err(nlinline::Error::Invalid(_))), "{e:?}");
        let e = h.link_create(
            "vl0",
            &LinkKind::Vlan {
                parent: v0,
                id: 0,
                qinq: false,
            },
        );
        assert!(matches!(e, Err(nlinline::Error::Invalid(_))), "{e:?}");
    });
}

/// Nexthop objects through nlinline on the kernel: a gateway, a blackhole,
/// a weighted group of them, read back as the kernel reports them; a
/// member in use cannot go without its group changing; deletes.
#[test]
fn nexthop_objects_on_the_kernel() {
    use nlinline::Nexthop;
    in_netns("nexthop_objects_on_the_kernel", || {
        // A link with carrier: a veth pair, both ends up.
        let mut h = Handle::kernel().unwrap();
        let br = h
            .link_create("v0", &nlinline::LinkKind::Veth { peer: Some("v1") })
            .unwrap();
        h.link_set_up("v1", true).unwrap();
        h.link_set_up(br, true).unwrap();
        h.addr_add(v4(10, 0, 0, 1), 24, br).unwrap();
        // A blackhole nexthop sits on `lo`, which must be up.
        h.link_set_up("lo", true).unwrap();
        let mut monitor =
            nlinline::Monitor::new(KernelSocket::new().unwrap(), &[nlinline::Group::Nexthop])
                .unwrap();
        h.nexthop_add(&Nexthop::via(1, v4(10, 0, 0, 254)).dev(br))
            .unwrap();
        match monitor.next(Duration::from_secs(5)).unwrap() {
            Some(nlinline::Event::NewNexthop(n)) => assert_eq!(n.id, Some(1)),
            other => panic!("{other:?}"),
        }
        h.nexthop_add(&Nexthop::via(2, v4(10, 0, 0, 253)).dev(br))
            .unwrap();
        h.nexthop_add(&Nexthop::blackhole(3)).unwrap();
        let group = Nexthop::group(10, &[(1, 1), (2, 300)]).unwrap();
        h.nexthop_add(&group).unwrap();
        let e = h.nexthop_add(&Nexthop::blackhole(3)).unwrap_err();
        assert_eq!(e.errno(), libc::EEXIST);
        let all = h.nexthops().unwrap();
        let ids: Vec<u32> = all.iter().filter_map(|n| n.id).collect();
        assert_eq!(ids, [1, 2, 3, 10]);
        let gw = &all[0];
        assert_eq!((gw.gateway, gw.oif), (Some(v4(10, 0, 0, 254)), Some(br)));
        assert!(all[2].blackhole);
        let members: Vec<(u32, u32)> = all[3]
            .group
            .as_ref()
            .unwrap()
            .as_slice()
            .iter()
            .map(|m| (m.id, m.weight))
            .collect();
        assert_eq!(members, [(1, 1), (2, 300)]);
        // `ip` reads the low byte of a weight only: another group, of
        // weights below 256, for its text.
        h.nexthop_add(&Nexthop::group(11, &[(1, 2), (2, 3)]).unwrap())
            .unwrap();
        let text = ip(&["nexthop", "show", "id", "11"]);
        assert!(text.contains("group 1,2/2,3"), "{text}");
        h.nexthop_del(11).unwrap();
        // Deleting a member takes it out of its group.
        h.nexthop_del(1).unwrap();
        let g = h
            .nexthops()
            .unwrap()
            .into_iter()
            .find(|n| n.id == Some(10))
            .unwrap();
        assert_eq!(g.group.unwrap().as_slice().len(), 1);
        let e = h.nexthop_del(1).unwrap_err();
        assert_eq!(e.errno(), libc::ENOENT);
        let e = Nexthop::group(12, &[(2, 0)]).unwrap_err();
        assert!(matches!(e, nlinline::Error::Invalid(_)));
    });
}

/// Routes through nexthop objects (`Route::nhid`), on the kernel and on
/// the in-memory engine in process, read back the same: a link nexthop, a
/// gateway, a blackhole and a weighted group of two; the group losing a
/// member keeps its routes on the other; the group going takes its
/// routes.
#[test]
fn routes_through_nexthops_read_back_as_on_the_kernel() {
    use nlinline::wire::{NexthopRepr, RouteRepr};
    use nlinline::{Nexthop, Transport};

    fn run<T: Transport>(h: &mut Handle<T>) -> Vec<(Vec<NexthopRepr>, Vec<RouteRepr>)> {
        let mut seen = Vec::new();
        let mut look = |h: &mut Handle<T>| {
            let routes = h.routes(AF_INET, Some(RT_TABLE_MAIN)).unwrap();
            seen.push((h.nexthops().unwrap(), routes));
        };
        h.link_set_up(1, true).unwrap();
        h.addr_add(v4(10, 0, 0, 1), 24, 1).unwrap();
        h.nexthop_add(&Nexthop::on_link(1, 1)).unwrap();
        h.nexthop_add(&Nexthop::via(2, v4(10, 0, 0, 2)).dev(1))
            .unwrap();
        h.nexthop_add(&Nexthop::blackhole(3)).unwrap();
        h.nexthop_add(&Nexthop::group(10, &[(1, 1), (2, 3)]).unwrap())
            .unwrap();
        for (i, id) in [10, 2, 3].into_iter().enumerate() {
            let dst = v4(11, i as u8, 0, 0);
            h.route_add(&Route::to(dst, 16).nhid(id)).unwrap();
        }
        let e = h
            .route_add(&Route::to(v4(12, 0, 0, 0), 8).nhid(99))
            .unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        look(h);
        h.nexthop_del(1).unwrap();
        look(h);
        h.nexthop_del(10).unwrap();
        look(h);
        seen
    }

    in_netns("routes_through_nexthops_read_back_as_on_the_kernel", || {
        let kernel = run(&mut Handle::kernel().unwrap());
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let nlq = run(&mut Handle::in_process(&shared));
        assert_eq!(kernel.len(), 3);
        for (i, (k, n)) in kernel.iter().zip(&nlq).enumerate() {
            assert_eq!(k.0, n.0, "nexthops at look {i}");
            assert_eq!(k.1, n.1, "routes at look {i}");
        }
        // Through the group, the route has two paths; after its member
        // went, one.
        let through_group = |l: &(Vec<NexthopRepr>, Vec<RouteRepr>)| {
            l.1.iter()
                .find(|r| r.dst == Some(v4(11, 0, 0, 0)))
                .map(|r| r.multipath.as_ref().map_or(1, |m| m.as_slice().len()))
        };
        assert_eq!(through_group(&kernel[0]), Some(2));
        assert_eq!(through_group(&kernel[1]), Some(1));
        assert_eq!(through_group(&kernel[2]), None);
    });
}

/// veth pairs and VXLAN links through nlinline's typed kinds: what each
/// request answers and what the links then are (names, kinds, the link
/// each names, MTU, flags, operational state, carrier changes, a VXLAN's
/// data), all but the MACs (random on the kernel).
/// A link's `IFLA_INFO_DATA` as (type, value) pairs, a bridge's ids
/// (`IFLA_BR_ROOT_ID`, `IFLA_BR_BRIDGE_ID`, which hold a port's random
/// MAC) reduced to whether they hold one.
fn without_random_ids(data: &[u8], bridge: bool) -> Vec<(u16, Vec<u8>)> {
    nlq::wire::Attrs::new(data)
        .flatten()
        .map(|a| match a.attr_type() {
            10 | 11 if bridge => (
                a.attr_type(),
                vec![u8::from(a.value().iter().skip(2).any(|b| *b != 0))],
            ),
            k => (k, a.value().to_vec()),
        })
        .collect()
}

fn link_kind_story<T: nlinline::Transport>(h: &mut Handle<T>) -> Vec<String> {
    use nlinline::{LinkKind, Vxlan};
    let mut out = Vec::new();
    let note = |out: &mut Vec<String>, what: &str, r: nlinline::Result<u32>| {
        out.push(format!(
            "{what}: {:?}",
            r.map(|_| ()).map_err(|e| e.errno())
        ));
    };
    note(
        &mut out,
        "veth",
        h.link_create("v0", &LinkKind::Veth { peer: Some("v1") }),
    );
    note(
        &mut out,
        "veth again",
        h.link_create("v0", &LinkKind::Veth { peer: Some("v2") }),
    );
    note(
        &mut out,
        "peer taken",
        h.link_create("v3", &LinkKind::Veth { peer: Some("v1") }),
    );
    note(
        &mut out,
        "peer unnamed",
        h.link_create("v4", &LinkKind::Veth { peer: None }),
    );
    let v0 = h.if_nametoindex("v0").unwrap();
    let vx = |id, remote, dev, port, learning| {
        LinkKind::Vxlan(Vxlan {
            id,
            remote,
            local: None,
            dev,
            port,
            learning,
        })
    };
    note(
        &mut out,
        "vxlan",
        h.link_create("x0", &vx(42, None, None, Some(4789), None)),
    );
    note(
        &mut out,
        "vni taken",
        h.link_create("x1", &vx(42, None, None, Some(4789), None)),
    );
    note(
        &mut out,
        "vxlan over v0",
        h.link_create(
            "x1",
            &vx(43, Some(v4(10, 0, 0, 9)), Some(v0), None, Some(false)),
        ),
    );
    note(
        &mut out,
        "vxlan over nothing",
        h.link_create("x2", &vx(44, None, Some(4242), None, None)),
    );
    let up = |h: &mut Handle<T>, name: &str| h.link_set_up(name, true).map(|()| 0);
    let r = up(h, "v0");
    note(&mut out, "v0 up", r);
    let r = up(h, "v1");
    note(&mut out, "v1 up", r);
    let r = up(h, "x1");
    note(&mut out, "x1 up", r);
    let r = h.link_set_mtu("x1", 1451).map(|()| 0);
    note(&mut out, "x1 mtu above v0's less 50", r);
    let mv = |parent| LinkKind::Macvlan {
        parent,
        mode: nlinline::MacvlanMode::Bridge,
    };
    note(&mut out, "macvlan over v0", h.link_create("m0", &mv(v0)));
    note(
        &mut out,
        "macvlan over nothing",
        h.link_create("m1", &mv(4242)),
    );
    note(&mut out, "bridge", h.link_add("b0", "bridge", &[], None));
    let b0 = h.if_nametoindex("b0").unwrap();
    let r = h.link_set_master("v4", Some(b0)).map(|()| 0);
    note(&mut out, "v4 master b0", r);
    let r = h.link_set_master("v0", Some(b0)).map(|()| 0);
    note(&mut out, "v0 (a macvlan's lower link) master b0", r);
    let r = h.link_set_master("x0", Some(v0)).map(|()| 0);
    note(&mut out, "x0 master v0 (no bridge)", r);
    // The kernel's link watcher runs after the request: wait until both
    // ends run (at once on the in-memory stack).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let links = h.links().unwrap();
        let running = links
            .iter()
            .filter(|l| {
                l.name
                    .is_some_and(|n| n.as_str() == "v0" || n.as_str() == "v1")
            })
            .all(|l| l.header.flags & IFF_RUNNING != 0);
        if running {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let render =
        |h: &mut Handle<T>, out: &mut Vec<String>| {
            let links = h.links().unwrap();
            let name_of = |i: u32| {
                links
                    .iter()
                    .find(|l| l.header.index == i)
                    .and_then(|l| l.name)
                    .map_or(format!("#{i}"), |n| n.to_string())
            };
            for l in &links {
                let info = l.info.as_ref();
                out.push(format!(
                "{} kind {:?} link {:?} master {:?} port of {:?} mtu {:?} flags {:#x} oper {:?} \
                 carrier {:?}/{:?} data {:?}",
                l.name.map(|n| n.to_string()).unwrap_or_default(),
                info.and_then(|i| i.kind).map(|k| k.to_string()),
                l.link.map(name_of),
                l.master.map(name_of),
                info.and_then(|i| i.slave_kind).map(|k| k.to_string()),
                l.mtu,
                l.header.flags,
                l.operstate,
                l.details.carrier_up_count,
                l.details.carrier_down_count,
                info.and_then(|i| i.data).map(|d| {
                    let bridge = info.and_then(|i| i.kind).is_some_and(|k| k.as_str() == "bridge");
                    without_random_ids(d.as_slice(), bridge)
                }),
            ));
            }
        };
    render(h, &mut out);
    // One end goes, with its peer; the tunnel over it goes too.
    let r = h.link_del("v1").map(|()| 0);
    note(&mut out, "v1 deleted", r);
    render(h, &mut out);
    out
}

#[test]
fn link_kinds_answer_as_the_kernel_does() {
    let nlq = {
        let shared = nlinline::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&shared);
        link_kind_story(&mut h)
    };
    in_netns("link_kinds_answer_as_the_kernel_does", move || {
        // IPv6 off: its address configuration is asynchronous.
        std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1").unwrap();
        let mut h = Handle::kernel().unwrap();
        let kernel = link_kind_story(&mut h);
        assert_eq!(kernel, nlq);
        assert!(
            kernel.iter().any(|l| l.starts_with("x1 kind")),
            "{kernel:#?}"
        );
    });
}
