//! Fuzz target `messages`: the datagram → message iterator and the full
//! attribute walk.
//!
//! The input is one datagram. For every message of [`Messages`] it calls
//! `typed()` and then iterates every attribute of every family (link,
//! address, route, neighbour), descending into every nested part: route
//! metrics, multipath next hops and their attributes, `IFLA_LINKINFO` and its
//! `IFLA_INFO_DATA` / `IFLA_INFO_SLAVE_DATA` (walked with [`Attrs`],
//! recursively where `NLA_F_NESTED` is set), and `IFLA_AF_SPEC` (recursively
//! where `is_nested()`). Error and Done messages have their extended ACK read.
//! The owned reprs' `parse` is called on every family view too.
//!
//! It checks that nothing panics, and that:
//! - every iterator (messages, attributes, typed attributes, next hops) is
//!   fused (after `None`, `next()` is `None` again) and terminates within a
//!   bound set by its input length (each item consumes at least one header);
//! - the typed attribute iterator and its raw iterator agree item by item:
//!   a framing error is the same error in both, and a value error of a typed
//!   attribute names that attribute's part;
//! - the fixed-size accessors of [`Attr`] succeed exactly for their sizes,
//!   and `ip_bytes` agrees with `ip`;
//! - a message's payload is exactly `nlmsg_len - 16` bytes;
//! - an Error's `error()`, `request()` and `ext_ack()` match the payload
//!   bytes they come from (the TLVs follow the aligned echoed request, and
//!   only with `NLM_F_ACK_TLVS`); a Done's `ext_ack()` likewise.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use nlq::wire::consts::{AF_INET, AF_INET6, AF_UNSPEC, NLMSG_HDRLEN, NLM_F_ACK_TLVS};
use nlq::wire::{
    AddrAttr, AddrRepr, Attr, AttrDecode, Attrs, ExtAck, LinkAttr, LinkInfoAttr, LinkRepr, Message,
    Messages, Metric, NeighAttr, NeighRepr, NextHops, NlMsgHeader, RouteAttr, RouteRepr,
    TypedAttrs,
};

/// How deep route attributes nested in multipath next hops (themselves
/// multipath, which no kernel sends) are followed. Raw nested attributes are
/// walked with an explicit stack and have no such limit.
const MAX_ROUTE_DEPTH: usize = 256;

/// Drains `it`, calling `f` on each item; asserts it yields at most `bound`
/// items and is fused.
fn drain<I: Iterator>(mut it: I, bound: usize, what: &str, mut f: impl FnMut(I::Item)) {
    let mut n = 0usize;
    while let Some(x) = it.next() {
        n += 1;
        assert!(
            n <= bound,
            "{what}: more than {bound} items, iteration does not terminate"
        );
        f(x);
    }
    assert!(it.next().is_none(), "{what}: not fused (Some after None)");
    assert!(
        it.next().is_none(),
        "{what}: not fused (Some after two Nones)"
    );
}

/// At most one attribute per 4 bytes, plus one final error.
fn attr_bound(bytes: &[u8]) -> usize {
    bytes.len() / 4 + 1
}

/// Reads one attribute every way the codec offers and checks the sizes.
fn touch_attr(a: &Attr<'_>) {
    let v = a.value();
    black_box((
        a.attr_type(),
        a.type_with_flags(),
        a.is_nested(),
        a.is_net_byteorder(),
        a.part(),
    ));
    assert_eq!(a.u8().is_ok(), v.len() == 1);
    assert_eq!(a.u16().is_ok(), v.len() == 2);
    assert_eq!(a.u32().is_ok(), v.len() == 4);
    assert_eq!(a.i32().is_ok(), v.len() == 4);
    assert_eq!(a.u64().is_ok(), v.len() == 8);
    assert_eq!(a.ip(AF_INET).is_ok(), v.len() == 4);
    assert_eq!(a.ip(AF_INET6).is_ok(), v.len() == 16);
    assert_eq!(a.ip(AF_UNSPEC).is_ok(), v.len() == 4 || v.len() == 16);
    for family in [AF_INET, AF_INET6, AF_UNSPEC] {
        let b = a.ip_bytes(family);
        assert_eq!(b.map(|b| b.ip()), a.ip(family), "ip_bytes and ip disagree");
        if let Ok(b) = b {
            assert_eq!(b.as_bytes(), v);
            assert_eq!(b.is_ipv4(), v.len() == 4);
        }
    }
    if let Ok(s) = a.str() {
        assert!(s.len() <= v.len());
        black_box(s);
    }
    if let Err(e) = a.u32() {
        assert_eq!(e.part, a.part());
        black_box(e.to_string());
    }
}

/// Walks a run of raw attributes, descending (with an explicit stack, so
/// that deep nesting cannot overflow this harness's stack) into every
/// attribute flagged `NLA_F_NESTED`.
fn walk_raw(attrs: Attrs<'_>) {
    let mut stack = vec![attrs];
    while let Some(attrs) = stack.pop() {
        let bound = attr_bound(attrs.remaining());
        drain(attrs, bound, "Attrs", |a| {
            if let Ok(a) = a {
                touch_attr(&a);
                if a.is_nested() {
                    stack.push(a.nested());
                }
            }
        });
    }
}

/// Walks typed attributes in lockstep with their raw iterator, checking that
/// they agree, and hands each raw attribute with its decoding to `f`.
fn walk_typed<'a, T: AttrDecode<'a>>(
    typed: TypedAttrs<'a, T>,
    what: &str,
    mut f: impl FnMut(Attr<'a>, Result<T, nlq::wire::Error>),
) {
    let mut raw = typed.raw();
    let bound = attr_bound(raw.remaining());
    drain(typed, bound, what, |t| {
        let r = raw
            .next()
            .unwrap_or_else(|| panic!("{what}: typed iterator longer than its raw one"));
        match r {
            Ok(a) => {
                touch_attr(&a);
                if let Err(e) = &t {
                    assert_eq!(e.part, a.part(), "{what}: value error names another part");
                }
                f(a, t)
            }
            Err(e) => assert_eq!(t.err(), Some(e), "{what}: framing errors differ"),
        }
    });
    assert!(
        raw.next().is_none(),
        "{what}: raw iterator longer than the typed one"
    );
}

fn walk_link(msg: &nlq::wire::LinkMessage<'_>) {
    let h = msg.header();
    black_box((h.family, h.hardware_type, h.index, h.flags, h.change));
    walk_typed(msg.attrs(), "LinkAttr", |_, t| match t {
        Ok(LinkAttr::LinkInfo(info)) => walk_typed(info, "LinkInfoAttr", |_, t| match t {
            Ok(LinkInfoAttr::Data(d)) | Ok(LinkInfoAttr::SlaveData(d)) => walk_raw(d),
            Ok(LinkInfoAttr::Kind(s)) | Ok(LinkInfoAttr::SlaveKind(s)) => {
                black_box(s);
            }
            Ok(LinkInfoAttr::Other(a)) => walk_raw(a.nested()),
            Err(_) => {}
            Ok(other) => {
                black_box(other);
            }
        }),
        Ok(LinkAttr::AfSpec(spec)) => walk_raw(spec),
        Ok(LinkAttr::Stats(s)) => {
            black_box(s.to_array());
        }
        Ok(LinkAttr::Stats64(s)) => {
            black_box(s.to_array());
        }
        Ok(LinkAttr::Other(a)) if a.is_nested() => walk_raw(a.nested()),
        Ok(other) => {
            black_box(other);
        }
        Err(_) => {}
    });
    black_box(LinkRepr::parse(msg).ok());
}

fn walk_addr(msg: &nlq::wire::AddrMessage<'_>) {
    let h = msg.header();
    black_box((h.family, h.prefix_len, h.flags, h.scope, h.index));
    walk_typed(msg.attrs(), "AddrAttr", |_, t| {
        if let Ok(AddrAttr::Other(a)) = &t {
            if a.is_nested() {
                walk_raw(a.nested());
            }
        }
        black_box(t.ok());
    });
    black_box(AddrRepr::parse(msg).ok());
}

fn walk_route_attrs<'a>(attrs: TypedAttrs<'a, RouteAttr<'a>>, depth: usize) {
    walk_typed(attrs, "RouteAttr", |a, t| match t {
        Ok(RouteAttr::Metrics(m)) => walk_typed(m, "Metric", |_, t| match t {
            Ok(Metric::Value(k, v)) => {
                black_box((k, v));
            }
            Ok(Metric::CcAlgo(s)) => {
                black_box(s);
            }
            Err(_) => {}
            Ok(other) => {
                black_box(other);
            }
        }),
        Ok(RouteAttr::Multipath(hops)) => walk_nexthops(hops, a.value(), depth),
        Ok(RouteAttr::Other(a)) if a.is_nested() => walk_raw(a.nested()),
        Ok(other) => {
            black_box(other);
        }
        Err(_) => {}
    });
}

/// `value` is the `RTA_MULTIPATH` value `hops` iterates (for the bound).
fn walk_nexthops(hops: NextHops<'_>, value: &[u8], depth: usize) {
    // An rtnexthop is at least 8 bytes.
    drain(hops, value.len() / 8 + 1, "NextHops", |nh| {
        if let Ok(nh) = nh {
            black_box((nh.flags(), nh.hops(), nh.ifindex()));
            if depth < MAX_ROUTE_DEPTH {
                walk_route_attrs(nh.attrs(), depth + 1);
            }
        }
    });
}

fn walk_route(msg: &nlq::wire::RouteMessage<'_>) {
    let h = msg.header();
    black_box((
        h.family,
        h.dst_len,
        h.src_len,
        h.tos,
        h.table,
        h.protocol,
        h.scope,
        h.route_type,
    ));
    walk_route_attrs(msg.attrs(), 0);
    black_box(RouteRepr::parse(msg).ok());
}

fn walk_neigh(msg: &nlq::wire::NeighMessage<'_>) {
    let h = msg.header();
    black_box((h.family, h.ifindex, h.state, h.flags, h.address_type));
    walk_typed(msg.attrs(), "NeighAttr", |_, t| {
        if let Ok(NeighAttr::Other(a)) = &t {
            if a.is_nested() {
                walk_raw(a.nested());
            }
        }
        black_box(t.ok());
    });
    black_box(NeighRepr::parse(msg).ok());
}

fn walk_rule(msg: &nlq::wire::RuleMessage<'_>) {
    let h = msg.header();
    black_box((
        h.family, h.dst_len, h.src_len, h.tos, h.table, h.action, h.flags,
    ));
    walk_typed(msg.attrs(), "RuleAttr", |_, t| {
        black_box(t.ok());
    });
    black_box(nlq::wire::RuleRepr::parse(msg).ok());
}

fn walk_nexthop(msg: &nlq::wire::NexthopMessage<'_>) {
    let h = msg.header();
    black_box((h.family, h.scope, h.protocol, h.flags));
    walk_typed(msg.attrs(), "NexthopAttr", |_, t| {
        if let Ok(nlq::wire::NexthopAttr::Group(g)) = t {
            g.iter().for_each(|m| {
                black_box(m);
            });
        }
    });
    black_box(nlq::wire::NexthopRepr::parse(msg).ok());
}

fn touch_ext_ack(e: &nlq::wire::ExtAck<'_>) {
    black_box((
        e.msg,
        e.offset,
        e.missing_type,
        e.missing_nest,
        e.cookie,
        e.is_empty(),
    ));
}

fuzz_target!(|data: &[u8]| {
    let bound = data.len() / NLMSG_HDRLEN + 1;
    drain(Messages::new(data), bound, "Messages", |m| {
        let msg = match m {
            Ok(m) => m,
            Err(e) => {
                black_box(e.to_string());
                return;
            }
        };
        let h = msg.header();
        assert_eq!(
            msg.payload().len() as u64 + NLMSG_HDRLEN as u64,
            u64::from(h.len)
        );
        assert_eq!(NlMsgHeader::parse(&h.to_bytes()).map(|(h2, _)| h2), Ok(h));
        assert_eq!(msg.family(), msg.payload().first().copied());
        black_box((msg.message_type(), msg.flags(), msg.seq(), msg.port()));
        black_box((msg.is_control(), msg.ends_reply()));
        match msg.typed() {
            Ok(Message::Link(l)) => walk_link(&l),
            Ok(Message::Addr(a)) => walk_addr(&a),
            Ok(Message::Route(r)) => walk_route(&r),
            Ok(Message::Neigh(n)) => walk_neigh(&n),
            Ok(Message::Rule(r)) => walk_rule(&r),
            Ok(Message::Nexthop(n)) => walk_nexthop(&n),
            Ok(Message::Netconf(n)) => {
                black_box(nlq::wire::NetconfRepr::parse(&n).ok());
            }
            Ok(Message::Nsid(n)) => {
                black_box(nlq::wire::NsidRepr::parse(&n).ok());
            }
            Ok(Message::Error(e)) => {
                let p = msg.payload();
                let rp = e.request_payload();
                assert!(rp.len() <= p.len());
                assert_eq!(
                    Some(e.error()),
                    p.get(..4)
                        .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                );
                assert_eq!(Ok(e.request()), NlMsgHeader::parse(&p[4..]).map(|(h, _)| h));
                assert!(e.errno() >= 0);
                assert_eq!(e.is_ack(), e.error() == 0);
                let ack = e.ext_ack();
                if msg.flags() & NLM_F_ACK_TLVS != 0 {
                    // The TLVs start after the error code, the echoed header
                    // and the echoed payload, aligned; typed() checked them.
                    let start = (4 + NLMSG_HDRLEN + rp.len() + 3) & !3;
                    let tlvs = p.get(start..).unwrap_or_default();
                    assert_eq!(
                        ExtAck::parse(tlvs),
                        Ok(ack),
                        "ext_ack() differs from its TLVs"
                    );
                } else {
                    assert!(ack.is_empty(), "ext_ack without NLM_F_ACK_TLVS");
                }
                touch_ext_ack(&ack);
            }
            Ok(Message::Done(d)) => {
                let p = msg.payload();
                black_box(d.error);
                let ack = d.ext_ack();
                if msg.flags() & NLM_F_ACK_TLVS != 0 && p.len() >= 4 {
                    assert_eq!(
                        ExtAck::parse(&p[4..]),
                        Ok(ack),
                        "ext_ack() differs from its TLVs"
                    );
                } else {
                    assert!(ack.is_empty(), "ext_ack without NLM_F_ACK_TLVS");
                }
                touch_ext_ack(&ack);
            }
            Ok(Message::Noop) | Ok(Message::Overrun) => {}
            Ok(Message::Other(o)) => {
                assert_eq!(o, msg);
            }
            Err(e) => {
                black_box(e.to_string());
            }
            Ok(other) => {
                black_box(other);
            }
        }
    });
});
