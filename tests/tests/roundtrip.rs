//! Property tests: for every family, `parse(emit(repr)) == repr`, and what
//! nlq emits, netlink-packet-route reads back identically.
#![cfg(target_endian = "little")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlkit_tests::nlq_norm::nlq_normalize;
use nlkit_tests::npr_oracle::npr_normalize;
use nlq::wire::{
    consts::*, AddrCacheInfo, AddrMessage, AddrRepr, HwAddr, IfAddrMsg, IfInfoMsg, IfName,
    InlineBytes, InlineStr, LinkDetails, LinkInfoRepr, LinkMessage, LinkRepr, LinkStats,
    LinkStats64, Messages, NdMsg, NeighCacheInfo, NeighMessage, NeighRepr, NextHopRepr,
    RouteMessage, RouteMetrics, RouteRepr, RtMsg, Writer, LINK_MAP_LEN,
};
use proptest::option::of;
use proptest::prelude::*;

fn ip_of(family: u8) -> BoxedStrategy<IpAddr> {
    if family == AF_INET {
        any::<[u8; 4]>()
            .prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
            .boxed()
    } else {
        any::<[u8; 16]>()
            .prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
            .boxed()
    }
}

fn family() -> impl Strategy<Value = u8> {
    prop_oneof![Just(AF_INET), Just(AF_INET6)]
}

fn max_prefix(family: u8) -> u8 {
    if family == AF_INET {
        32
    } else {
        128
    }
}

fn name() -> impl Strategy<Value = IfName> {
    "[a-z][a-z0-9.-]{0,14}".prop_map(|s| IfName::try_from_str(&s).unwrap())
}

fn addr_repr() -> impl Strategy<Value = AddrRepr> {
    family().prop_flat_map(|f| {
        (
            (0..=max_prefix(f), any::<u8>(), any::<u8>(), 1u32..100_000),
            (of(ip_of(f)), of(ip_of(f)), of(ip_of(f)), of(ip_of(f))),
            (
                of(name()),
                of(any::<[u32; 4]>()),
                of(any::<u32>()),
                of(any::<u32>()),
                of(any::<u8>()),
            ),
        )
            .prop_map(
                move |((prefix_len, flags, scope, index), ips, rest)| AddrRepr {
                    header: IfAddrMsg {
                        family: f,
                        prefix_len,
                        flags,
                        scope,
                        index,
                    },
                    address: ips.0,
                    local: ips.1,
                    broadcast: ips.2,
                    anycast: ips.3,
                    label: rest.0,
                    cache_info: rest
                        .1
                        .map(|[preferred, valid, created, updated]| AddrCacheInfo {
                            preferred,
                            valid,
                            created,
                            updated,
                        }),
                    flags: rest.2,
                    priority: rest.3,
                    proto: rest.4,
                },
            )
    })
}

fn metrics() -> impl Strategy<Value = RouteMetrics> {
    (
        proptest::collection::vec((1u16..=RTAX_MAX, any::<u32>()), 0..5),
        of("[a-z]{1,15}"),
    )
        .prop_map(|(vals, cc)| {
            let mut m = RouteMetrics::default();
            for (k, v) in vals {
                m.set(k, v);
            }
            m.cc_algo = cc.map(|s| InlineStr::try_from_str(&s).unwrap());
            m
        })
}

fn next_hops(f: u8) -> impl Strategy<Value = Vec<NextHopRepr>> {
    let hop = (
        any::<u8>(),
        any::<u8>(),
        1u32..1000,
        of(ip_of(f)),
        of(ip_of(AF_INET6)),
    )
        .prop_map(|(flags, hops, ifindex, gateway, via)| NextHopRepr {
            flags,
            hops,
            ifindex,
            gateway,
            via,
        });
    proptest::collection::vec(hop, 1..5)
}

fn route_repr() -> impl Strategy<Value = RouteRepr> {
    family().prop_flat_map(|f| {
        let header = (
            (
                0..=max_prefix(f),
                0..=max_prefix(f),
                any::<u8>(),
                any::<u8>(),
            ),
            (
                any::<u8>(),
                any::<u8>(),
                prop_oneof![Just(RTN_UNICAST), Just(RTN_LOCAL), Just(RTN_BLACKHOLE)],
                any::<u32>(),
            ),
        )
            .prop_map(
                move |((dst_len, src_len, tos, table), (protocol, scope, kind, flags))| RtMsg {
                    family: f,
                    dst_len,
                    src_len,
                    tos,
                    table,
                    protocol,
                    scope,
                    route_type: kind,
                    flags,
                },
            );
        (
            header,
            (of(ip_of(f)), of(ip_of(f)), of(ip_of(f)), of(ip_of(f))),
            (
                of(any::<u32>()),
                of(any::<u32>()),
                of(any::<u32>()),
                of(any::<u32>()),
            ),
            (
                of(any::<u32>()),
                of(any::<u8>()),
                of(ip_of(AF_INET)),
                of(any::<u32>()),
            ),
            (of(metrics()), of(next_hops(f)), of(any::<u32>())),
        )
            .prop_map(|(header, ips, nums, more, nested)| RouteRepr {
                header,
                dst: ips.0,
                src: ips.1,
                gateway: ips.2,
                prefsrc: ips.3,
                iif: nums.0,
                oif: nums.1,
                priority: nums.2,
                table: nums.3,
                mark: more.0,
                pref: more.1,
                via: more.2,
                expires: more.3.map(u64::from),
                metrics: nested.0,
                multipath: nested
                    .1
                    .map(|v| v.into_iter().collect::<Option<_>>().unwrap()),
                nh_id: nested.2,
            })
    })
}

fn hwaddr() -> impl Strategy<Value = HwAddr> {
    proptest::collection::vec(any::<u8>(), 0..=32).prop_map(|v| HwAddr::try_from_slice(&v).unwrap())
}

/// A run of well-framed u32 attributes, as raw nested content.
fn raw_nest<const N: usize>() -> impl Strategy<Value = InlineBytes<N>> {
    proptest::collection::vec((1u16..200, any::<u32>()), 0..8).prop_map(|attrs| {
        let mut w = Writer::new(Vec::new());
        for (k, v) in attrs {
            w.attr_u32(k, v).unwrap();
        }
        InlineBytes::try_from_slice(&w.into_inner()).unwrap()
    })
}

/// `npr_safe`: only what netlink-packet-route reads without loss (known
/// ARPHRD types, a non-empty IFLA_LINKINFO with an INFO_KIND it keeps raw,
/// no AF_SPEC or INFO_DATA it would parse).
fn link_repr(npr_safe: bool) -> impl Strategy<Value = LinkRepr> {
    let kind = if npr_safe {
        prop_oneof![Just(ARPHRD_ETHER), Just(ARPHRD_LOOPBACK), Just(ARPHRD_NONE)].boxed()
    } else {
        any::<u16>().boxed()
    };
    let info = (
        of("[a-z]{1,20}"),
        of(raw_nest()),
        of("[a-z]{1,20}"),
        of(raw_nest()),
    )
        .prop_map(move |(kind, data, slave_kind, slave_data)| LinkInfoRepr {
            kind: kind
                .or_else(|| npr_safe.then(|| "x".to_string()))
                .map(|k| InlineStr::try_from_str(&format!("nlkit{k}")).unwrap()),
            data: if npr_safe { None } else { data },
            slave_kind: slave_kind.map(|k| InlineStr::try_from_str(&format!("nlkit{k}")).unwrap()),
            slave_data: if npr_safe { None } else { slave_data },
        });
    (
        (kind, any::<u32>(), any::<u32>(), any::<u32>()),
        (of(name()), of(hwaddr()), of(hwaddr()), of("[ -~]{0,255}")),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u8>()),
            of(any::<u8>()),
            of(any::<u8>()),
            of("[a-z_]{1,15}"),
        ),
        (
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<u32>()),
            of(any::<i32>()),
            of(any::<u32>()),
        ),
        (
            of(info),
            of(any::<[u32; 24]>()),
            of(any::<[u64; 25]>()),
            of(raw_nest()),
            link_details(),
            of(raw_nest()),
        ),
    )
        .prop_map(move |(h, names, nums, more, nested)| LinkRepr {
            header: IfInfoMsg {
                family: AF_UNSPEC,
                hardware_type: h.0,
                index: h.1,
                flags: h.2,
                change: h.3,
            },
            name: names.0,
            address: names.1,
            broadcast: names.2,
            alias: names.3.map(|s| InlineStr::try_from_str(&s).unwrap()),
            mtu: nums.0,
            txqlen: nums.1,
            operstate: nums.2,
            linkmode: nums.3,
            master: more.0,
            link: more.1,
            group: more.2,
            new_ifindex: more.3,
            ext_mask: more.4,
            info: nested.0,
            stats: nested.1.map(stats32),
            stats64: nested.2.map(stats64),
            af_spec: if npr_safe { None } else { nested.3 },
            carrier: nums.4,
            qdisc: nums.5.map(|s| InlineStr::try_from_str(&s).unwrap()),
            details: if npr_safe {
                LinkDetails::default()
            } else {
                nested.4
            },
            protinfo: if npr_safe { None } else { nested.5 },
        })
}

/// Limits and counters, with the variable-width pacing horizon on both
/// sides of 32 bits and a random `IFLA_MAP`.
fn link_details() -> impl Strategy<Value = LinkDetails> {
    (
        any::<[u32; 4]>(),
        any::<u64>(),
        any::<[u8; LINK_MAP_LEN]>(),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(v, pacing, map, xdp, hooks)| {
            let mut d = LinkDetails::linux(v[0], v[1], v[2], v[3]);
            d.max_pacing_offload_horizon = Some(pacing);
            d.map = Some(map);
            d.xdp_attached = Some(xdp);
            d.devlink_port = hooks;
            d.dpll_pin = !hooks;
            d.event = hooks.then_some(IFLA_EVENT_FEATURES);
            d
        })
}

fn stats32(v: [u32; 24]) -> LinkStats {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
    LinkStats::parse(&nlq::wire::Attr::new(IFLA_STATS, &bytes)).unwrap()
}

fn stats64(v: [u64; 25]) -> LinkStats64 {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
    LinkStats64::parse(&nlq::wire::Attr::new(IFLA_STATS64, &bytes)).unwrap()
}

fn neigh_repr() -> impl Strategy<Value = NeighRepr> {
    family().prop_flat_map(|f| {
        (
            (1u32..100_000, any::<u16>(), any::<u8>(), any::<u8>()),
            of(ip_of(f)),
            of(hwaddr()),
            of(any::<[u32; 4]>()),
            (of(any::<u32>()), of(any::<u8>()), of(any::<u32>())),
        )
            .prop_map(
                move |(
                    (ifindex, state, flags, kind),
                    dst,
                    lladdr,
                    ci,
                    (probes, protocol, flags_ext),
                )| NeighRepr {
                    header: NdMsg {
                        family: f,
                        ifindex,
                        state,
                        flags,
                        address_type: kind,
                    },
                    dst,
                    lladdr,
                    cache_info: ci.map(|[confirmed, used, updated, refcnt]| NeighCacheInfo {
                        confirmed,
                        used,
                        updated,
                        refcnt,
                    }),
                    probes,
                    protocol,
                    flags_ext,
                },
            )
    })
}

/// Emits one message of `kind` whose body `emit` writes.
fn emit(kind: u16, body: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, NLM_F_REQUEST, 1, 0, body).unwrap();
    w.into_inner()
}

/// npr reads the bytes nlq emitted exactly as nlq reads them.
fn npr_agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    let ours = nlq_normalize(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let theirs = npr_normalize(bytes).map_err(TestCaseError::fail)?;
    prop_assert_eq!(ours, theirs);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn addr_round_trip(r in addr_repr()) {
        let b = emit(RTM_NEWADDR, |w| r.emit(w));
        let m = Messages::new(&b).next().unwrap().unwrap();
        prop_assert_eq!(AddrRepr::parse(&AddrMessage::parse(&m).unwrap()), Ok(r));
        // npr reads IFA_BROADCAST as IPv4 only and IFA_ANYCAST as IPv6 only
        // (as the kernel sends them).
        let mut r = r;
        r.broadcast = r.broadcast.filter(IpAddr::is_ipv4);
        r.anycast = r.anycast.filter(IpAddr::is_ipv6);
        npr_agrees(&emit(RTM_NEWADDR, |w| r.emit(w)))?;
    }

    #[test]
    fn route_round_trip(r in route_repr()) {
        let b = emit(RTM_NEWROUTE, |w| r.emit(w));
        let m = Messages::new(&b).next().unwrap().unwrap();
        prop_assert_eq!(RouteRepr::parse(&RouteMessage::parse(&m).unwrap()), Ok(r));
        npr_agrees(&b)?;
    }

    #[test]
    fn neigh_round_trip(r in neigh_repr()) {
        let b = emit(RTM_NEWNEIGH, |w| r.emit(w));
        let m = Messages::new(&b).next().unwrap().unwrap();
        prop_assert_eq!(NeighRepr::parse(&NeighMessage::parse(&m).unwrap()), Ok(r));
        npr_agrees(&b)?;
    }

    #[test]
    fn link_round_trip(r in link_repr(false)) {
        let b = emit(RTM_NEWLINK, |w| r.emit(w));
        let m = Messages::new(&b).next().unwrap().unwrap();
        prop_assert_eq!(LinkRepr::parse(&LinkMessage::parse(&m).unwrap()), Ok(r));
    }

    #[test]
    fn link_npr_reads_back(r in link_repr(true)) {
        let b = emit(RTM_NEWLINK, |w| r.emit(w));
        npr_agrees(&b)?;
    }
}
