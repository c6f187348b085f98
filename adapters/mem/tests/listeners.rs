//! The engine builds route events only for groups someone hears
//! (`Stack::set_listeners`): whoever joins, echoes, and changes made
//! outside a request must still hear everything they would on the kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::server::{ConnId, Server, SockOpt};
use nlq::stack::{CreateFlags, Event, Stack};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, Messages, RouteRepr, Writer};
use nlq_mem::MemStack;

fn request(kind: u16, flags: u16, seq: u32, body: impl FnOnce(&mut Writer<Vec<u8>>)) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, flags | NLM_F_REQUEST, seq, 0, |w| {
        body(w);
        Ok(())
    })
    .unwrap();
    w.into_inner()
}

fn up(index: u32, seq: u32) -> Vec<u8> {
    request(RTM_NEWLINK, NLM_F_ACK, seq, |w| {
        let mut l = LinkRepr::default();
        l.header.index = index;
        l.header.flags = IFF_UP;
        l.header.change = IFF_UP;
        l.emit(w).unwrap();
    })
}

fn addr(ip: IpAddr, len: u8, seq: u32) -> Vec<u8> {
    request(
        RTM_NEWADDR,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
        |w| {
            let mut a = AddrRepr::new(ip, len, 1).with_local(ip);
            if ip.is_ipv6() {
                a.flags = Some(IFA_F_NODAD);
            }
            a.emit(w).unwrap();
        },
    )
}

fn route(dst: IpAddr, len: u8, flags: u16, seq: u32) -> Vec<u8> {
    request(
        RTM_NEWROUTE,
        flags | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
        |w| {
            let mut r = RouteRepr::new(dst, len);
            r.oif = Some(1);
            r.header.scope = RT_SCOPE_LINK;
            r.emit(w).unwrap();
        },
    )
}

/// The types of the messages the connection has, with the seq of each.
fn heard(s: &mut Server<MemStack>, c: ConnId) -> Vec<(u16, u32)> {
    let mut out = Vec::new();
    while let Ok(Some(d)) = s.next_datagram(c, 1 << 16) {
        for m in Messages::new(&d.bytes).flatten() {
            if m.message_type() != NLMSG_ERROR {
                out.push((m.message_type(), m.seq()));
            }
        }
    }
    out
}

#[test]
fn whoever_listens_hears_the_routes_it_would_on_the_kernel() {
    let mut s = Server::new(MemStack::new());
    let a = s.connect();
    let v4 = |x| IpAddr::V4(Ipv4Addr::new(10, 1, x, 0));
    let v6 = |x| IpAddr::V6(Ipv6Addr::new(0xfd00, x, 0, 0, 0, 0, 0, 0));
    s.handle_datagram(a, &up(1, 1));
    s.handle_datagram(a, &addr(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)), 24, 2));
    s.handle_datagram(a, &addr("fd09::1".parse().unwrap(), 64, 3));
    // Nobody listens: nothing but the answers.
    s.handle_datagram(a, &route(v4(1), 24, 0, 4));
    assert!(heard(&mut s, a).is_empty());

    // A member of the IPv4 route group joins after that: it hears the next
    // IPv4 route, not an IPv6 one.
    let m4 = s.connect();
    s.set_option(m4, SockOpt::AddMembership(RTNLGRP_IPV4_ROUTE))
        .unwrap();
    s.handle_datagram(a, &route(v4(2), 24, 0, 5));
    s.handle_datagram(a, &route(v6(2), 64, 0, 6));
    assert_eq!(heard(&mut s, m4), [(RTM_NEWROUTE, 5)]);

    // It leaves; one joins the IPv6 group by bind (group 11 is bit 10).
    s.set_option(m4, SockOpt::DropMembership(RTNLGRP_IPV4_ROUTE))
        .unwrap();
    let m6 = s.connect();
    s.bind(m6, 0, 1 << (RTNLGRP_IPV6_ROUTE - 1)).unwrap();
    s.handle_datagram(a, &route(v4(3), 24, 0, 7));
    s.handle_datagram(a, &route(v6(3), 64, 0, 8));
    assert!(heard(&mut s, m4).is_empty());
    assert_eq!(heard(&mut s, m6), [(RTM_NEWROUTE, 8)]);

    // The IPv6 member goes: an echo is still heard by the requester.
    s.disconnect(m6);
    s.handle_datagram(a, &route(v4(4), 24, NLM_F_ECHO, 9));
    assert_eq!(heard(&mut s, a), [(RTM_NEWROUTE, 9)]);

    // A change made outside a request, after requests nobody heard,
    // reports every event to whoever made it.
    s.handle_datagram(a, &route(v4(5), 24, 0, 10));
    let mut events = Vec::new();
    let mut r = RouteRepr::new(v4(6), 24);
    r.oif = Some(1);
    r.header.scope = RT_SCOPE_LINK;
    s.stack_mut()
        .add_route(
            &r,
            CreateFlags(NLM_F_CREATE | NLM_F_EXCL),
            &mut |e: Event<'_>| events.push(matches!(e, Event::NewRoute(..))),
        )
        .unwrap();
    assert_eq!(events, [true]);
}
