//! Fuzz target `repr_round_trip`: structured emit → parse of the owned reprs.
//!
//! The input is not wire bytes: a tiny cursor reads it as choices to build
//! an `AddrRepr`, `RouteRepr`, `NeighRepr` or `LinkRepr` field by field
//! (family, prefix lengths, which optional attributes are present, their
//! addresses, names, metrics, multipath next hops, nested link info data...).
//! Reading past the end of the input gives zeros, so every input builds a
//! repr.
//!
//! The repr is emitted into one message (which must succeed: `emit` does not
//! validate and a `Vec` has room), then parsed back through `Messages`,
//! `typed()` and `XRepr::parse`. A small oracle here says whether the repr is
//! valid for the codec:
//! - valid (family IPv4, IPv6 or `AF_UNSPEC`; prefix lengths within 32, 128
//!   or 0; every address of the family): the parse must succeed and give an
//!   equal repr, and emitting that must give the same bytes;
//! - invalid (an unknown family, a prefix too long for the family, an address
//!   of the other family, any address with `AF_UNSPEC`): the parse must fail
//!   (not panic) with the matching error (`BadFamily` / `BadPrefix` on the
//!   body, or `BadFamily` on one of the offending attributes).
#![no_main]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use nlq::wire::consts::*;
use nlq::wire::{
    AddrCacheInfo, AddrRepr, Attr, Error, ErrorKind, HwAddr, IfAddrMsg, IfInfoMsg, IfName,
    InlineBytes, InlineStr, LinkDetails, LinkInfoRepr, LinkRepr, LinkStats, LinkStats64, NdMsg,
    NeighCacheInfo, NeighRepr, NextHopList, NextHopRepr, Part, RouteMetrics, RouteRepr, RtMsg,
    Writer, AF_SPEC_CAPACITY, INFO_DATA_CAPACITY, MAX_NEXTHOPS,
};

#[path = "common/mod.rs"]
mod common;
use common::Repr;

/// Reads the fuzzer's bytes as choices; zeros once they run out.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        for b in &mut a {
            *b = self.u8();
        }
        a
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    fn opt_u32(&mut self) -> Option<u32> {
        self.bool().then(|| self.u32())
    }
    fn opt_u8(&mut self) -> Option<u8> {
        self.bool().then(|| self.u8())
    }
    /// Up to `max` bytes (fewer if the input runs out).
    fn bytes(&mut self, max: usize) -> &[u8] {
        let n = usize::from(self.u8()) % (max + 1);
        let (b, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        b
    }
    /// A string of up to `max` bytes: printable ASCII and some two-byte
    /// UTF-8, never a NUL.
    fn string(&mut self, max: usize) -> String {
        let mut s = String::new();
        for &b in self.bytes(max) {
            if b >= 0xf0 {
                s.push('é');
            } else {
                s.push(char::from(b'!' + b % 94));
            }
        }
        s
    }
    /// A family: mostly IPv4 or IPv6, sometimes `AF_UNSPEC` or any byte.
    fn family(&mut self) -> u8 {
        match self.u8() % 8 {
            0..=2 => AF_INET,
            3..=5 => AF_INET6,
            6 => AF_UNSPEC,
            _ => self.u8(),
        }
    }
    /// A prefix length: mostly within the family's width, sometimes any byte.
    fn prefix(&mut self, family: u8) -> u8 {
        let sel = self.u8();
        let v = self.u8();
        match (sel % 4, max_prefix(family)) {
            (0, _) | (_, None) => v,
            (1, Some(m)) => m.saturating_add(1 + v % 4),
            (_, Some(m)) => v % (m + 1),
        }
    }
    fn ip_of(&mut self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()))
        }
    }
    /// An optional address: mostly of `family`, sometimes of the other one.
    fn opt_ip(&mut self, family: u8) -> Option<IpAddr> {
        match self.u8() % 8 {
            0..=3 => None,
            4..=6 => Some(self.ip_of(family == AF_INET6)),
            _ => Some(self.ip_of(family != AF_INET6)),
        }
    }
    fn hwaddr(&mut self) -> Option<HwAddr> {
        if self.bool() {
            HwAddr::try_from_slice(self.bytes(MAX_ADDR_LEN))
        } else {
            None
        }
    }
}

fn max_prefix(family: u8) -> Option<u8> {
    match family {
        AF_INET => Some(32),
        AF_INET6 => Some(128),
        AF_UNSPEC => Some(0),
        _ => None,
    }
}

/// An address the codec accepts in a message of `family`.
fn ip_fits(family: u8, ip: &Option<IpAddr>) -> bool {
    match (family, ip) {
        (_, None) | (AF_INET, Some(IpAddr::V4(_))) | (AF_INET6, Some(IpAddr::V6(_))) => true,
        _ => false,
    }
}

/// What parsing the emitted repr must give.
#[derive(Debug)]
enum Expect {
    /// An equal repr.
    Equal,
    /// This error on the body (the fixed header).
    Body(ErrorKind),
    /// An error on one of these attributes: `TooShort` for an address
    /// shorter than the family's (IPv4 in an IPv6 message) or an empty
    /// `RTA_MULTIPATH`, `BadFamily` for an address of another family.
    BadAddr(Vec<(Part, ErrorKind)>),
}

/// The header checks the reprs share: family, then prefix lengths.
fn expect_header(family: u8, prefixes: &[u8]) -> Option<Expect> {
    match max_prefix(family) {
        None => Some(Expect::Body(ErrorKind::BadFamily)),
        Some(m) if prefixes.iter().any(|&p| p > m) => Some(Expect::Body(ErrorKind::BadPrefix)),
        Some(_) => None,
    }
}

/// Addresses that do not fit `family`, as (part, address).
fn expect_addrs(family: u8, addrs: &[(Part, Option<IpAddr>)]) -> Expect {
    let bad: Vec<(Part, ErrorKind)> = addrs
        .iter()
        .filter(|(_, ip)| !ip_fits(family, ip))
        .map(|(p, ip)| match (family, ip) {
            (AF_INET6, Some(IpAddr::V4(_))) => (*p, ErrorKind::TooShort),
            _ => (*p, ErrorKind::BadFamily),
        })
        .collect();
    if bad.is_empty() {
        Expect::Equal
    } else {
        Expect::BadAddr(bad)
    }
}

/// Emits `r`, parses it back and checks the outcome against `expect`.
fn check<R: Repr>(r: &R, expect: Expect) {
    let bytes = common::emit(r);
    let parsed: Result<R, Error> = common::reparse(&bytes);
    match (&expect, parsed) {
        (Expect::Equal, Ok(p)) => {
            assert_eq!(&p, r, "round trip changed the repr");
            assert_eq!(common::emit(&p), bytes, "emit is not stable");
        }
        (Expect::Body(k), Err(e)) if e == Error::new(Part::Body, *k) => {}
        (Expect::BadAddr(parts), Err(e)) if parts.contains(&(e.part, e.kind)) => {}
        (_, got) => panic!("expected {expect:?}, got {got:?}\nrepr {r:?}\nbytes {bytes:?}"),
    }
}

fn addr(c: &mut Cursor<'_>) {
    let family = c.family();
    let header = IfAddrMsg {
        family,
        prefix_len: c.prefix(family),
        flags: c.u8(),
        scope: c.u8(),
        index: c.u32(),
    };
    let r = AddrRepr {
        header,
        address: c.opt_ip(family),
        local: c.opt_ip(family),
        label: if c.bool() {
            IfName::try_from_str(&c.string(IFNAMSIZ))
        } else {
            None
        },
        broadcast: c.opt_ip(family),
        anycast: c.opt_ip(family),
        cache_info: c.bool().then(|| AddrCacheInfo {
            preferred: c.u32(),
            valid: c.u32(),
            created: c.u32(),
            updated: c.u32(),
        }),
        flags: c.opt_u32(),
        priority: c.opt_u32(),
        proto: c.opt_u8(),
    };
    let expect = expect_header(family, &[header.prefix_len]).unwrap_or_else(|| {
        expect_addrs(
            family,
            &[
                (Part::Attr(IFA_ADDRESS), r.address),
                (Part::Attr(IFA_LOCAL), r.local),
                (Part::Attr(IFA_BROADCAST), r.broadcast),
                (Part::Attr(IFA_ANYCAST), r.anycast),
            ],
        )
    });
    check(&r, expect);
}

fn route(c: &mut Cursor<'_>) {
    let family = c.family();
    let header = RtMsg {
        family,
        dst_len: c.prefix(family),
        src_len: c.prefix(family),
        tos: c.u8(),
        table: c.u8(),
        protocol: c.u8(),
        scope: c.u8(),
        route_type: c.u8(),
        flags: c.u32(),
    };
    let metrics = c.bool().then(|| {
        let mut m = RouteMetrics::default();
        for _ in 0..c.u8() % 8 {
            let kind = u16::from(c.u8()) % (RTAX_MAX + 2);
            let v = c.u32();
            m.set(kind, v);
        }
        if c.bool() {
            m.cc_algo = InlineStr::try_from_str(&c.string(16));
        }
        m
    });
    let mut nexthop_gateways = Vec::new();
    let multipath = c.bool().then(|| {
        let n = match c.u8() % 8 {
            7 => usize::from(c.u8()) % (MAX_NEXTHOPS + 1),
            k => usize::from(k),
        };
        let mut l = NextHopList::default();
        for _ in 0..n {
            let nh = NextHopRepr {
                flags: c.u8(),
                hops: c.u8(),
                ifindex: c.u32(),
                gateway: c.opt_ip(family),
                via: c.bool().then(|| {
                    let v6 = c.bool();
                    c.ip_of(v6)
                }),
            };
            nexthop_gateways.push((Part::Nested(RTA_MULTIPATH, RTA_GATEWAY), nh.gateway));
            l.push(nh).expect("at most MAX_NEXTHOPS next hops");
        }
        l
    });
    let r = RouteRepr {
        header,
        dst: c.opt_ip(family),
        src: c.opt_ip(family),
        iif: c.opt_u32(),
        oif: c.opt_u32(),
        gateway: c.opt_ip(family),
        priority: c.opt_u32(),
        prefsrc: c.opt_ip(family),
        metrics,
        multipath,
        table: c.opt_u32(),
        mark: c.opt_u32(),
        pref: c.opt_u8(),
        via: c.bool().then(|| {
            let v6 = c.bool();
            c.ip_of(v6)
        }),
        expires: c.bool().then(|| {
            if c.bool() {
                u64::from_le_bytes(c.array())
            } else {
                u64::from(c.u32())
            }
        }),
        nh_id: c.opt_u32(),
    };
    let expect = expect_header(family, &[header.dst_len, header.src_len]).unwrap_or_else(|| {
        let mut addrs = vec![
            (Part::Attr(RTA_DST), r.dst),
            (Part::Attr(RTA_SRC), r.src),
            (Part::Attr(RTA_GATEWAY), r.gateway),
            (Part::Attr(RTA_PREFSRC), r.prefsrc),
        ];
        addrs.extend(nexthop_gateways);
        // An empty RTA_MULTIPATH is shorter than one `rtnexthop`, as the
        // kernel's policy refuses it.
        let empty = r
            .multipath
            .as_ref()
            .is_some_and(|l| l.as_slice().is_empty());
        let short = (Part::Attr(RTA_MULTIPATH), ErrorKind::TooShort);
        match (expect_addrs(family, &addrs), empty) {
            (Expect::Equal, true) => Expect::BadAddr(vec![short]),
            (Expect::BadAddr(mut bad), true) => {
                bad.push(short);
                Expect::BadAddr(bad)
            }
            (e, _) => e,
        }
    });
    check(&r, expect);
}

fn neigh(c: &mut Cursor<'_>) {
    let family = c.family();
    let header = NdMsg {
        family,
        ifindex: c.u32(),
        state: c.u16(),
        flags: c.u8(),
        address_type: c.u8(),
    };
    let r = NeighRepr {
        header,
        dst: c.opt_ip(family),
        lladdr: c.hwaddr(),
        cache_info: c.bool().then(|| NeighCacheInfo {
            confirmed: c.u32(),
            used: c.u32(),
            updated: c.u32(),
            refcnt: c.u32(),
        }),
        probes: c.opt_u32(),
        protocol: c.opt_u8(),
        flags_ext: c.opt_u32(),
    };
    let expect = expect_header(family, &[])
        .unwrap_or_else(|| expect_addrs(family, &[(Part::Attr(NDA_DST), r.dst)]));
    check(&r, expect);
}

/// Well-formed nested attributes (what `IFLA_INFO_DATA` and `IFLA_AF_SPEC`
/// hold): leaves with any value, nests flagged `NLA_F_NESTED`.
fn nested_attrs(c: &mut Cursor<'_>, w: &mut Writer<Vec<u8>>, depth: u32) {
    for _ in 0..c.u8() % 5 {
        let kind = c.u16() & NLA_TYPE_MASK;
        if depth < 4 && c.u8() % 4 == 0 {
            w.nested(kind, |w| {
                nested_attrs(c, w, depth + 1);
                Ok(())
            })
            .expect("nest into a Vec");
        } else {
            let flags = if c.u8() % 8 == 0 {
                NLA_F_NET_BYTEORDER
            } else {
                0
            };
            w.attr(kind | flags, c.bytes(24)).expect("attr into a Vec");
        }
    }
}

fn raw_nest<const N: usize>(c: &mut Cursor<'_>) -> Option<InlineBytes<N>> {
    if !c.bool() {
        return None;
    }
    let mut w = Writer::new(Vec::new());
    nested_attrs(c, &mut w, 0);
    InlineBytes::try_from_slice(w.buffer())
}

fn link(c: &mut Cursor<'_>) {
    let header = IfInfoMsg {
        family: c.u8(),
        hardware_type: c.u16(),
        index: c.u32(),
        flags: c.u32(),
        change: c.u32(),
    };
    let info = c.bool().then(|| LinkInfoRepr {
        kind: if c.bool() {
            InlineStr::try_from_str(&c.string(32))
        } else {
            None
        },
        data: raw_nest::<INFO_DATA_CAPACITY>(c),
        slave_kind: if c.bool() {
            InlineStr::try_from_str(&c.string(32))
        } else {
            None
        },
        slave_data: raw_nest::<INFO_DATA_CAPACITY>(c),
    });
    let stats = c.bool().then(|| {
        let v: [u8; LinkStats::LEN] = c.array();
        LinkStats::parse(&Attr::new(IFLA_STATS, &v)).expect("full-size stats")
    });
    let stats64 = c.bool().then(|| {
        let v: [u8; LinkStats64::LEN] = c.array();
        LinkStats64::parse(&Attr::new(IFLA_STATS64, &v)).expect("full-size stats64")
    });
    let r = LinkRepr {
        header,
        name: if c.bool() {
            IfName::try_from_str(&c.string(IFNAMSIZ))
        } else {
            None
        },
        address: c.hwaddr(),
        broadcast: c.hwaddr(),
        mtu: c.opt_u32(),
        txqlen: c.opt_u32(),
        operstate: c.opt_u8(),
        linkmode: c.opt_u8(),
        master: c.opt_u32(),
        link: c.opt_u32(),
        group: c.opt_u32(),
        alias: if c.bool() {
            InlineStr::try_from_str(&c.string(IFALIASZ))
        } else {
            None
        },
        info,
        stats,
        stats64,
        new_ifindex: c.opt_u32().map(|v| v as i32),
        ext_mask: c.opt_u32(),
        af_spec: raw_nest::<AF_SPEC_CAPACITY>(c),
        carrier: c.opt_u8(),
        qdisc: if c.bool() {
            InlineStr::try_from_str(&c.string(IFNAMSIZ))
        } else {
            None
        },
        details: link_details(c),
        protinfo: raw_nest::<INFO_DATA_CAPACITY>(c),
    };
    // Any family and header are fine for a link; names and nested data are
    // built within their capacities and well framed.
    check(&r, Expect::Equal);
}

/// Limits, counters and hooks, each present or not; the pacing horizon
/// on both sides of 32 bits.
fn link_details(c: &mut Cursor<'_>) -> LinkDetails {
    let u16_of = |c: &mut Cursor<'_>| c.opt_u32().map(|v| v as u16);
    LinkDetails {
        netns_immutable: c.opt_u8(),
        min_mtu: c.opt_u32(),
        max_mtu: c.opt_u32(),
        promiscuity: c.opt_u32(),
        allmulti: c.opt_u32(),
        num_tx_queues: c.opt_u32(),
        gso_max_segs: c.opt_u32(),
        gso_max_size: c.opt_u32(),
        gro_max_size: c.opt_u32(),
        gso_ipv4_max_size: c.opt_u32(),
        gro_ipv4_max_size: c.opt_u32(),
        tso_max_size: c.opt_u32(),
        tso_max_segs: c.opt_u32(),
        max_pacing_offload_horizon: c.opt_u32().map(|v| {
            if v & 1 == 0 {
                u64::from(v)
            } else {
                u64::from(v) << 32
            }
        }),
        num_rx_queues: c.opt_u32(),
        carrier_changes: c.opt_u32(),
        carrier_up_count: c.opt_u32(),
        carrier_down_count: c.opt_u32(),
        headroom: u16_of(c),
        tailroom: u16_of(c),
        proto_down: c.opt_u8(),
        xdp_attached: c.opt_u8(),
        map: c.bool().then(|| c.array()),
        devlink_port: c.bool(),
        dpll_pin: c.bool(),
        event: c.opt_u32(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor(data);
    match c.u8() % 4 {
        0 => addr(&mut c),
        1 => route(&mut c),
        2 => neigh(&mut c),
        _ => link(&mut c),
    }
});
