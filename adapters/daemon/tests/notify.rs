//! Notifications fan out to every member of a group, whichever client
//! made the change, with the group in the data header (`nl_groups` of the
//! sender address as `recvmsg` reports it).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nlq::server::SockOpt;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, Messages, RouteRepr};
use nlq_daemon::client::SocketClient;
use nlq_remote::DataHeader;

/// Everything a client has been sent so far: a request of its own goes
/// last, and its answer comes after all that was queued before it.
fn heard(c: &mut SocketClient) -> Vec<(u32, u16, u32, u32)> {
    const BARRIER: u32 = 9999;
    c.send(&common::request(RTM_GETLINK, 0, BARRIER, |w| {
        let mut l = nlq::wire::LinkRepr::default();
        l.header.index = 1;
        l.emit(w)
    }))
    .unwrap();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        let r = c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
        for m in Messages::new(&buf).flatten() {
            if m.seq() == BARRIER {
                return out;
            }
            out.push((r.group, m.message_type(), m.seq(), m.port()));
        }
    }
}

#[test]
fn monitors_hear_another_clients_changes() {
    let d = common::spawn("notify");
    // Half the monitors bind to the groups, half join them by option.
    let mut monitors: Vec<SocketClient> = (0..8)
        .map(|i| {
            let mut m = SocketClient::connect(d.path()).unwrap();
            if i % 2 == 0 {
                let groups = (1 << (RTNLGRP_LINK - 1))
                    | (1 << (RTNLGRP_IPV4_IFADDR - 1))
                    | (1 << (RTNLGRP_IPV4_ROUTE - 1));
                assert_eq!(m.bind(0, groups).unwrap(), (m.port(), groups));
            } else {
                for g in [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE] {
                    m.set_sockopt(SockOpt::AddMembership(g)).unwrap();
                }
            }
            m
        })
        .collect();
    let mut quiet = SocketClient::connect(d.path()).unwrap();
    let mut h = SocketClient::handle(d.path()).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    // Address and route from a raw connection, to know seq and port.
    let mut c = SocketClient::connect(d.path()).unwrap();
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    c.send(&common::request(
        RTM_NEWADDR,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        41,
        |w| AddrRepr::new(ip, 24, br).with_local(ip).emit(w),
    ))
    .unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut c, 41), 41), Some(0));
    let mut r = RouteRepr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0)), 24);
    r.gateway = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)));
    c.send(&common::request(
        RTM_NEWROUTE,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        42,
        |w| r.emit(w),
    ))
    .unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut c, 42), 42), Some(0));
    for (i, m) in monitors.iter_mut().enumerate() {
        let got = heard(m);
        let link = got
            .iter()
            .find(|n| n.1 == RTM_NEWLINK)
            .unwrap_or_else(|| panic!("monitor {i} heard no link: {got:?}"));
        assert_eq!(link.0, RTNLGRP_LINK);
        let addr = got.iter().find(|n| n.1 == RTM_NEWADDR).expect("an address");
        assert_eq!(*addr, (RTNLGRP_IPV4_IFADDR, RTM_NEWADDR, 41, c.port()));
        let route = got
            .iter()
            .find(|n| n.1 == RTM_NEWROUTE && n.2 == 42)
            .expect("the route");
        assert_eq!(*route, (RTNLGRP_IPV4_ROUTE, RTM_NEWROUTE, 42, c.port()));
        // The sender address's nl_groups, as the shim reports it.
        let mask = |g| DataHeader::data(g, Default::default()).groups_mask();
        assert_eq!(mask(addr.0), 0x10);
        assert_eq!(mask(route.0), 0x40);
        assert!(got
            .iter()
            .all(|n| [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE].contains(&n.0)));
    }
    assert!(
        heard(&mut quiet).is_empty(),
        "a socket in no group hears nothing"
    );
    // Leaving a group: no more of it.
    let m = &mut monitors[1];
    m.set_sockopt(SockOpt::DropMembership(RTNLGRP_IPV4_IFADDR))
        .unwrap();
    h.addr_add(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 24, br)
        .unwrap();
    let got = heard(m);
    assert!(got.iter().all(|n| n.0 != RTNLGRP_IPV4_IFADDR), "{got:?}");
    assert!(heard(&mut monitors[0]).iter().any(|n| n.1 == RTM_NEWADDR));
}

/// nlinline's monitor works over a daemon connection as over the kernel:
/// it joins by option and types what arrives.
#[test]
fn an_nlinline_monitor_hears_the_daemon() {
    use nlinline::{Event, Group, Monitor};
    let d = common::spawn("nlinline-monitor");
    let c = SocketClient::connect(d.path()).unwrap();
    let mut m = Monitor::new(c, &[Group::Link, Group::Ipv4Addr]).unwrap();
    let mut h = SocketClient::handle(d.path()).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)
        .unwrap();
    let wait = Duration::from_secs(10);
    match m.next(wait).unwrap() {
        Some(Event::NewLink(l)) => assert_eq!(l.header.index, br),
        other => panic!("{other:?}"),
    }
    match m.next(wait).unwrap() {
        Some(Event::NewAddr(a)) => {
            assert_eq!(a.local, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.next(Duration::from_millis(50)).unwrap(), None);
}
