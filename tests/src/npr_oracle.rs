//! The `netlink-packet-route` (npr) oracle.
//!
//! - [`npr_normalize`] parses one message with `netlink-packet-route` 0.34 and
//!   maps the result to the neutral [`NormMsg`], for differential tests;
//! - [`npr_visit_datagram`] and [`npr_build_newaddr`] are the npr contenders
//!   of the parse and build benchmarks.
//!
//! # What the normal form keeps
//!
//! Header vectors (raw wire numbers, npr enums converted back with their
//! `From` impls):
//!
//! | family | `header` |
//! |---|---|
//! | link | `[ifi_family, ifi_type, ifi_index, ifi_flags, ifi_change]` |
//! | address | `[ifa_family, ifa_prefixlen, ifa_flags, ifa_scope, ifa_index]` |
//! | route | `[rtm_family, rtm_dst_len, rtm_src_len, rtm_tos, rtm_table, rtm_protocol, rtm_scope, rtm_type, rtm_flags]` |
//! | neighbour | `[ndm_family, ndm_ifindex, ndm_state, ndm_flags, ndm_type]` |
//!
//! Only the attributes listed in the mapping functions below are kept, in
//! wire order; every other attribute is omitted.
//!
//! # Where npr loses information
//!
//! The oracle is exact on the fixtures, but npr 0.34 cannot reproduce the
//! wire value in a few corner cases that a differential test on arbitrary
//! (e.g. generated) input must avoid or tolerate:
//!
//! - `ifi_type` (link header): npr maps every `ARPHRD_*` value it does not
//!   know to `LinkLayerType::Void`, so an unknown type reads back as `0xffff`
//!   (`ARPHRD_VOID`). It is in the header, so it cannot be omitted.
//! - `IFLA_STATS` / `IFLA_STATS64`: npr zero-fills a payload shorter than
//!   `struct rtnl_link_stats{,64}` and ignores bytes beyond it, so the lists
//!   always have 24 / 25 entries whatever the payload length.
//! - `RTA_VIA`: npr reads `rtvia_family` (a `u16` on the wire) as a `u8`,
//!   dropping its high byte. Only the `AF_INET` / `AF_INET6` forms are kept.
//! - Address attributes of routes and neighbours (`RTA_DST`, `RTA_SRC`,
//!   `RTA_GATEWAY`, `RTA_PREFSRC`, `NDA_DST`) are decoded by npr according to
//!   the message family; they are kept only when npr decoded them as IPv4 or
//!   IPv6 (family `AF_INET` / `AF_INET6`), and omitted otherwise (MPLS labels,
//!   raw bytes of other families).
//! - Strings lose one trailing NUL if there is one (`parse_string`), which is
//!   what [`Norm::Str`] means anyway.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, Nla, NLA_TYPE_MASK, NLM_F_ACK, NLM_F_CREATE,
    NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::{
    address::{AddressAttribute, AddressHeader, AddressHeaderFlags, AddressMessage, AddressScope},
    link::{LinkAttribute, LinkInfo, LinkMessage},
    neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage},
    route::{RouteAddress, RouteAttribute, RouteMessage, RouteMetric, RouteNextHop, RouteVia},
    rule::{RuleAttribute, RuleMessage},
    AddressFamily, RouteNetlinkMessage,
};

use crate::norm::{Norm, NormMsg};

// Link attributes (`IFLA_*`).
const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_STATS: u16 = 7;
const IFLA_MASTER: u16 = 10;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_LINKINFO: u16 = 18;
const IFLA_IFALIAS: u16 = 20;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_NEW_IFINDEX: u16 = 49;
// Nested in `IFLA_LINKINFO`.
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_SLAVE_KIND: u16 = 4;

// Address attributes (`IFA_*`).
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_ANYCAST: u16 = 5;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;

// Route attributes (`RTA_*`).
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_IIF: u16 = 3;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_MARK: u16 = 16;
const RTA_VIA: u16 = 18;
const RTA_PREF: u16 = 20;
const RTA_EXPIRES: u16 = 23;
// Nested in `RTA_METRICS`.
const RTAX_CC_ALGO: u16 = 16;

// Neighbour attributes (`NDA_*`).
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NDA_CACHEINFO: u16 = 3;

/// Parses one whole netlink message (16-byte `nlmsghdr` included) with
/// `NetlinkMessage::<RouteNetlinkMessage>::deserialize` and maps it to the
/// normal form.
///
/// Returns:
/// - `Ok(Some(_))` for link, address, route, neighbour and rule messages
///   (`RTM_{NEW,DEL,GET,SET}LINK`, `RTM_{NEW,DEL,GET}ADDR`,
///   `RTM_{NEW,DEL,GET}ROUTE`, `RTM_{NEW,DEL,GET}NEIGH`,
///   `RTM_{NEW,DEL,GET}RULE`), with `kind` the raw
///   `nlmsg_type`; see the [module documentation](self) for the header
///   vectors, the attributes kept and npr's lossy corner cases;
/// - `Ok(None)` for the netlink control messages, which carry no rtnetlink
///   payload (`NLMSG_NOOP`, `NLMSG_ERROR`, `NLMSG_DONE`, `NLMSG_OVERRUN`);
/// - `Err(_)` when npr fails to parse the message, and for the other
///   rtnetlink families (tc, nsid, ...), which this oracle does not map.
pub fn npr_normalize(msg: &[u8]) -> Result<Option<NormMsg>, String> {
    let parsed =
        NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg).map_err(|e| e.to_string())?;
    let kind = parsed.header.message_type;
    let NetlinkPayload::InnerMessage(inner) = &parsed.payload else {
        return Ok(None);
    };
    let (header, attrs) = match inner {
        RouteNetlinkMessage::NewLink(m)
        | RouteNetlinkMessage::DelLink(m)
        | RouteNetlinkMessage::GetLink(m)
        | RouteNetlinkMessage::SetLink(m) => (link_header(m), map_attrs(&m.attributes, link_attr)),
        RouteNetlinkMessage::NewAddress(m)
        | RouteNetlinkMessage::DelAddress(m)
        | RouteNetlinkMessage::GetAddress(m) => {
            (addr_header(m), map_attrs(&m.attributes, addr_attr))
        }
        RouteNetlinkMessage::NewRoute(m)
        | RouteNetlinkMessage::DelRoute(m)
        | RouteNetlinkMessage::GetRoute(m) => {
            (route_header(m), map_attrs(&m.attributes, route_attr))
        }
        RouteNetlinkMessage::NewNeighbour(m)
        | RouteNetlinkMessage::DelNeighbour(m)
        | RouteNetlinkMessage::GetNeighbour(m) => {
            (neigh_header(m), map_attrs(&m.attributes, neigh_attr))
        }
        RouteNetlinkMessage::NewRule(m)
        | RouteNetlinkMessage::DelRule(m)
        | RouteNetlinkMessage::GetRule(m) => (rule_header(m), map_attrs(&m.attributes, rule_attr)),
        _ => {
            return Err(format!(
                "nlmsg_type {kind}: rtnetlink message not mapped by the npr oracle"
            ))
        }
    };
    Ok(Some(NormMsg {
        kind,
        header,
        attrs,
    }))
}

fn map_attrs<A>(attrs: &[A], f: fn(&A) -> Option<(u16, Norm)>) -> Vec<(u16, Norm)> {
    attrs.iter().filter_map(f).collect()
}

fn u(v: impl Into<u64>) -> Norm {
    Norm::U(v.into())
}

/// The counters of npr's `Stats` or `Stats64` as a list in wire order: the
/// 24 that `struct rtnl_link_stats` and `struct rtnl_link_stats64` share,
/// then the fields named after `stats` (those only the 64-bit one has).
macro_rules! link_stats {
    ($stats:expr $(, $extra:ident)*) => {{
        let s = $stats;
        Norm::List(
            [
                s.rx_packets,
                s.tx_packets,
                s.rx_bytes,
                s.tx_bytes,
                s.rx_errors,
                s.tx_errors,
                s.rx_dropped,
                s.tx_dropped,
                s.multicast,
                s.collisions,
                s.rx_length_errors,
                s.rx_over_errors,
                s.rx_crc_errors,
                s.rx_frame_errors,
                s.rx_fifo_errors,
                s.rx_missed_errors,
                s.tx_aborted_errors,
                s.tx_carrier_errors,
                s.tx_fifo_errors,
                s.tx_heartbeat_errors,
                s.tx_window_errors,
                s.rx_compressed,
                s.tx_compressed,
                s.rx_nohandler,
                $(s.$extra,)*
            ]
            .into_iter()
            .map(u)
            .collect(),
        )
    }};
}

// ---------------------------------------------------------------------------
// Link

fn link_header(m: &LinkMessage) -> Vec<u64> {
    let h = &m.header;
    vec![
        u8::from(h.interface_family).into(),
        // Lossy in npr for unknown ARPHRD_* values (read back as 0xffff).
        u16::from(h.link_layer_type).into(),
        h.index.into(),
        h.flags.bits().into(),
        h.change_mask.bits().into(),
    ]
}

fn link_attr(a: &LinkAttribute) -> Option<(u16, Norm)> {
    Some(match a {
        LinkAttribute::Address(b) => (IFLA_ADDRESS, Norm::Bytes(b.clone())),
        LinkAttribute::Broadcast(b) => (IFLA_BROADCAST, Norm::Bytes(b.clone())),
        LinkAttribute::IfName(s) => (IFLA_IFNAME, Norm::Str(s.clone())),
        LinkAttribute::Mtu(v) => (IFLA_MTU, u(*v)),
        LinkAttribute::Link(v) => (IFLA_LINK, u(*v)),
        LinkAttribute::Controller(v) => (IFLA_MASTER, u(*v)),
        LinkAttribute::TxQueueLen(v) => (IFLA_TXQLEN, u(*v)),
        LinkAttribute::Group(v) => (IFLA_GROUP, u(*v)),
        // npr splits the mask into known flags plus `Other(rest)`, where
        // `rest` holds exactly the unknown bits: OR-ing them back is exact.
        LinkAttribute::ExtMask(masks) => (
            IFLA_EXT_MASK,
            u(masks.iter().fold(0u32, |acc, m| acc | u32::from(*m))),
        ),
        LinkAttribute::NewIfIndex(v) => (IFLA_NEW_IFINDEX, u(*v as u32)),
        // Both enums keep unknown values in `Other(u8)`: exact.
        LinkAttribute::OperState(s) => (IFLA_OPERSTATE, u(u8::from(*s))),
        LinkAttribute::Mode(m) => (IFLA_LINKMODE, u(u8::from(*m))),
        LinkAttribute::IfAlias(s) => (IFLA_IFALIAS, Norm::Str(s.clone())),
        // Exact only for a payload of exactly sizeof(struct rtnl_link_stats):
        // npr zero-fills shorter payloads and drops trailing bytes.
        LinkAttribute::Stats(s) => (IFLA_STATS, link_stats!(s)),
        // Same caveat as IFLA_STATS, with sizeof(struct rtnl_link_stats64).
        LinkAttribute::Stats64(s) => (IFLA_STATS64, link_stats!(s, rx_otherhost_dropped)),
        // npr maps the kind strings to enums with an `Other(String)` fallback
        // and `Display` gives back the exact wire string.
        LinkAttribute::LinkInfo(infos) => (
            IFLA_LINKINFO,
            Norm::Nest(
                infos
                    .iter()
                    .filter_map(|i| match i {
                        LinkInfo::Kind(k) => Some((IFLA_INFO_KIND, Norm::Str(k.to_string()))),
                        LinkInfo::PortKind(k) => {
                            Some((IFLA_INFO_SLAVE_KIND, Norm::Str(k.to_string())))
                        }
                        _ => None,
                    })
                    .collect(),
            ),
        ),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Address

fn addr_header(m: &AddressMessage) -> Vec<u64> {
    let h = &m.header;
    vec![
        u8::from(h.family).into(),
        h.prefix_len.into(),
        h.flags.bits().into(),
        u8::from(h.scope).into(),
        h.index.into(),
    ]
}

fn addr_attr(a: &AddressAttribute) -> Option<(u16, Norm)> {
    Some(match a {
        AddressAttribute::Address(ip) => (IFA_ADDRESS, Norm::Ip(*ip)),
        AddressAttribute::Local(ip) => (IFA_LOCAL, Norm::Ip(*ip)),
        AddressAttribute::Label(s) => (IFA_LABEL, Norm::Str(s.clone())),
        AddressAttribute::Broadcast(ip) => (IFA_BROADCAST, Norm::Ip((*ip).into())),
        AddressAttribute::Anycast(ip) => (IFA_ANYCAST, Norm::Ip((*ip).into())),
        AddressAttribute::CacheInfo(c) => (
            IFA_CACHEINFO,
            Norm::List(vec![
                u(c.ifa_preferred),
                u(c.ifa_valid),
                u(c.cstamp),
                u(c.tstamp),
            ]),
        ),
        AddressAttribute::Flags(f) => (IFA_FLAGS, u(f.bits())),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Route

fn route_header(m: &RouteMessage) -> Vec<u64> {
    let h = &m.header;
    vec![
        u8::from(h.address_family).into(),
        h.destination_prefix_length.into(),
        h.source_prefix_length.into(),
        h.tos.into(),
        h.table.into(),
        u8::from(h.protocol).into(),
        u8::from(h.scope).into(),
        u8::from(h.kind).into(),
        h.flags.bits().into(),
    ]
}

/// An IPv4/IPv6 route address; `None` for the other families (omitted).
fn route_ip(a: &RouteAddress) -> Option<Norm> {
    match a {
        RouteAddress::Inet(ip) => Some(Norm::Ip((*ip).into())),
        RouteAddress::Inet6(ip) => Some(Norm::Ip((*ip).into())),
        _ => None,
    }
}

/// `RTA_VIA` as `[family, address]`; `None` unless IPv4/IPv6 (omitted): npr
/// truncates `rtvia_family` to a `u8` and keeps other families as raw bytes.
fn route_via(v: &RouteVia) -> Option<Norm> {
    let (family, ip): (AddressFamily, IpAddr) = match v {
        RouteVia::Inet(ip) => (AddressFamily::Inet, (*ip).into()),
        RouteVia::Inet6(ip) => (AddressFamily::Inet6, (*ip).into()),
        _ => return None,
    };
    Some(Norm::List(vec![u(u8::from(family)), Norm::Ip(ip)]))
}

fn route_metric(m: &RouteMetric) -> Option<(u16, Norm)> {
    Some(match m {
        RouteMetric::CcAlgo(s) => (RTAX_CC_ALGO, Norm::Str(s.clone())),
        RouteMetric::Lock(v)
        | RouteMetric::Mtu(v)
        | RouteMetric::Window(v)
        | RouteMetric::Rtt(v)
        | RouteMetric::RttVar(v)
        | RouteMetric::SsThresh(v)
        | RouteMetric::Cwnd(v)
        | RouteMetric::Advmss(v)
        | RouteMetric::Reordering(v)
        | RouteMetric::Hoplimit(v)
        | RouteMetric::InitCwnd(v)
        | RouteMetric::Features(v)
        | RouteMetric::RtoMin(v)
        | RouteMetric::InitRwnd(v)
        | RouteMetric::QuickAck(v)
        | RouteMetric::FastopenNoCookie(v) => (m.kind(), u(*v)),
        // A metric npr does not know: kept as a u32 when it has the size of
        // one (the kernel's RTAX_* values are all u32 but CC_ALGO), omitted
        // otherwise.
        RouteMetric::Other(nla) if nla.value_len() == 4 => {
            let mut value = [0u8; 4];
            nla.emit_value(&mut value);
            (nla.kind() & NLA_TYPE_MASK, u(u32::from_ne_bytes(value)))
        }
        _ => return None,
    })
}

fn next_hop(nh: &RouteNextHop) -> Norm {
    let attrs = nh
        .attributes
        .iter()
        .filter_map(|a| match a {
            RouteAttribute::Gateway(g) => route_ip(g).map(|n| (RTA_GATEWAY, n)),
            RouteAttribute::Via(v) => route_via(v).map(|n| (RTA_VIA, n)),
            _ => None,
        })
        .collect();
    Norm::List(vec![
        u(nh.flags.bits()),
        u(nh.hops),
        u(nh.interface_index),
        Norm::Nest(attrs),
    ])
}

fn route_attr(a: &RouteAttribute) -> Option<(u16, Norm)> {
    Some(match a {
        RouteAttribute::Destination(x) => (RTA_DST, route_ip(x)?),
        RouteAttribute::Source(x) => (RTA_SRC, route_ip(x)?),
        RouteAttribute::Gateway(x) => (RTA_GATEWAY, route_ip(x)?),
        RouteAttribute::PrefSource(x) => (RTA_PREFSRC, route_ip(x)?),
        RouteAttribute::Iif(v) => (RTA_IIF, u(*v)),
        RouteAttribute::Oif(v) => (RTA_OIF, u(*v)),
        RouteAttribute::Priority(v) => (RTA_PRIORITY, u(*v)),
        RouteAttribute::Table(v) => (RTA_TABLE, u(*v)),
        RouteAttribute::Mark(v) => (RTA_MARK, u(*v)),
        // npr reads RTA_EXPIRES as a u64 for RTN_MULTICAST routes, as a u32
        // otherwise.
        RouteAttribute::Expires(v) => (RTA_EXPIRES, u(*v)),
        RouteAttribute::MulticastExpires(v) => (RTA_EXPIRES, u(*v)),
        // `RoutePreference` keeps unknown values in `Other(u8)`: exact.
        RouteAttribute::Preference(p) => (RTA_PREF, u(u8::from(*p))),
        RouteAttribute::Metrics(ms) => (
            RTA_METRICS,
            Norm::Nest(ms.iter().filter_map(route_metric).collect()),
        ),
        RouteAttribute::MultiPath(nhs) => (
            RTA_MULTIPATH,
            Norm::List(nhs.iter().map(next_hop).collect()),
        ),
        RouteAttribute::Via(v) => (RTA_VIA, route_via(v)?),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Neighbour

fn neigh_header(m: &NeighbourMessage) -> Vec<u64> {
    let h = &m.header;
    vec![
        u8::from(h.family).into(),
        h.ifindex.into(),
        u16::from(h.state).into(),
        h.flags.bits().into(),
        u8::from(h.kind).into(),
    ]
}

fn neigh_attr(a: &NeighbourAttribute) -> Option<(u16, Norm)> {
    Some(match a {
        NeighbourAttribute::Destination(d) => (
            NDA_DST,
            match d {
                NeighbourAddress::Inet(ip) => Norm::Ip((*ip).into()),
                NeighbourAddress::Inet6(ip) => Norm::Ip((*ip).into()),
                _ => return None,
            },
        ),
        NeighbourAttribute::LinkLayerAddress(b) => (NDA_LLADDR, Norm::Bytes(b.clone())),
        NeighbourAttribute::CacheInfo(c) => (
            NDA_CACHEINFO,
            Norm::List(vec![u(c.confirmed), u(c.used), u(c.updated), u(c.refcnt)]),
        ),
        _ => return None,
    })
}

fn rule_header(m: &RuleMessage) -> Vec<u64> {
    let h = &m.header;
    vec![
        u8::from(h.family).into(),
        h.dst_len.into(),
        h.src_len.into(),
        h.tos.into(),
        h.table.into(),
        u8::from(h.action).into(),
        h.flags.bits().into(),
    ]
}

/// The rule attributes both readers type alike (npr reads realms, the
/// tunnel id and the newer DSCP, flow label and mask attributes its own
/// way or not at all).
fn rule_attr(a: &RuleAttribute) -> Option<(u16, Norm)> {
    use nlq::wire::consts::*;
    Some(match a {
        RuleAttribute::Destination(ip) => (FRA_DST, Norm::Ip(*ip)),
        RuleAttribute::Source(ip) => (FRA_SRC, Norm::Ip(*ip)),
        RuleAttribute::Iifname(n) => (FRA_IIFNAME, Norm::Str(n.clone())),
        RuleAttribute::Oifname(n) => (FRA_OIFNAME, Norm::Str(n.clone())),
        RuleAttribute::Goto(v) => (FRA_GOTO, u(*v)),
        RuleAttribute::Priority(v) => (FRA_PRIORITY, u(*v)),
        RuleAttribute::FwMark(v) => (FRA_FWMARK, u(*v)),
        RuleAttribute::FwMask(v) => (FRA_FWMASK, u(*v)),
        RuleAttribute::SuppressIfGroup(v) => (FRA_SUPPRESS_IFGROUP, u(*v)),
        RuleAttribute::SuppressPrefixLen(v) => (FRA_SUPPRESS_PREFIXLEN, u(*v)),
        RuleAttribute::Table(v) => (FRA_TABLE, u(*v)),
        RuleAttribute::L3MDev(v) => (FRA_L3MDEV, u(u8::from(*v))),
        RuleAttribute::Protocol(p) => (FRA_PROTOCOL, u(u8::from(*p))),
        RuleAttribute::IpProtocol(p) => (FRA_IP_PROTO, u(u8::from(*p))),
        RuleAttribute::UidRange(r) => (FRA_UID_RANGE, Norm::List(vec![u(r.start), u(r.end)])),
        RuleAttribute::SourcePortRange(r) => {
            (FRA_SPORT_RANGE, Norm::List(vec![u(r.start), u(r.end)]))
        }
        RuleAttribute::DestinationPortRange(r) => {
            (FRA_DPORT_RANGE, Norm::List(vec![u(r.start), u(r.end)]))
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Benchmark contenders

/// Visits a slice of parsed attributes: one `black_box` per attribute.
#[inline(always)]
fn visit<T>(attrs: &[T]) -> usize {
    attrs.iter().fold(0, |n, a| {
        black_box(a);
        n + 1
    })
}

/// Benchmark contender "npr: deserialize and visit every attribute".
///
/// Walks the messages of `datagram` with npr's own framing (deserialize a
/// `NetlinkMessage` at the current offset, advance by its `nlmsg_len`
/// rounded up to 4), fully deserializes each one and visits every top-level
/// attribute of the link, address, route and neighbour messages (nested
/// attributes have been parsed by npr too, but are not visited separately).
/// Returns the number of top-level attributes visited. Does not allocate
/// beyond what npr itself allocates, and does no normalization.
///
/// # Panics
///
/// If npr fails to parse a message of the datagram.
pub fn npr_visit_datagram(datagram: &[u8]) -> usize {
    let mut offset = 0;
    let mut visited = 0;
    while offset < datagram.len() {
        let msg = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..]) {
            Ok(msg) => msg,
            Err(e) => panic!("npr failed to parse the message at offset {offset}: {e}"),
        };
        if let NetlinkPayload::InnerMessage(inner) = &msg.payload {
            visited += match inner {
                RouteNetlinkMessage::NewLink(m)
                | RouteNetlinkMessage::DelLink(m)
                | RouteNetlinkMessage::GetLink(m)
                | RouteNetlinkMessage::SetLink(m) => visit(&m.attributes),
                RouteNetlinkMessage::NewAddress(m)
                | RouteNetlinkMessage::DelAddress(m)
                | RouteNetlinkMessage::GetAddress(m) => visit(&m.attributes),
                RouteNetlinkMessage::NewRoute(m)
                | RouteNetlinkMessage::DelRoute(m)
                | RouteNetlinkMessage::GetRoute(m) => visit(&m.attributes),
                RouteNetlinkMessage::NewNeighbour(m)
                | RouteNetlinkMessage::DelNeighbour(m)
                | RouteNetlinkMessage::GetNeighbour(m) => visit(&m.attributes),
                _ => 0,
            };
        }
        // `deserialize` checked 16 <= nlmsg_len <= remaining length.
        offset += (msg.header.length as usize + 3) & !3;
    }
    visited
}

/// Benchmark contender "npr: build an `RTM_NEWADDR` request".
///
/// Builds with npr, then serializes into `buf` (cleared, then resized to
/// `buffer_len()`), the 40-byte request `ip addr add 10.0.0.1/24 dev 2`:
/// `RTM_NEWADDR`, flags `NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
/// NLM_F_EXCL`, sequence 1, port 0, `ifaddrmsg { AF_INET, prefixlen 24,
/// flags 0, scope universe, index 2 }`, then `IFA_LOCAL 10.0.0.1` and
/// `IFA_ADDRESS 10.0.0.1`.
pub fn npr_build_newaddr(buf: &mut Vec<u8>) {
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut message = AddressMessage::default();
    message.header = AddressHeader {
        family: AddressFamily::Inet,
        prefix_len: 24,
        flags: AddressHeaderFlags::empty(),
        scope: AddressScope::Universe,
        index: 2,
    };
    message.attributes.push(AddressAttribute::Local(ip));
    message.attributes.push(AddressAttribute::Address(ip));

    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    header.sequence_number = 1;
    header.port_number = 0;

    let mut packet = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::NewAddress(message)),
    );
    packet.finalize();
    buf.clear();
    buf.resize(packet.buffer_len(), 0);
    packet.serialize(buf);
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::fixtures::{all_messages, datagrams, messages, FIXTURES};

    const NLMSG_DONE: u16 = 3;

    fn nlmsg_type(msg: &[u8]) -> u16 {
        u16::from_ne_bytes([msg[4], msg[5]])
    }

    /// Length of the family header after the `nlmsghdr`, by message type.
    fn family_header_len(kind: u16) -> usize {
        match kind {
            16..=19 => 16, // ifinfomsg
            20..=22 => 8,  // ifaddrmsg
            24..=26 => 12, // rtmsg
            28..=30 => 12, // ndmsg
            _ => unreachable!("unexpected message type {kind}"),
        }
    }

    /// An independent attribute walker: `(type without flags, payload)`.
    fn raw_attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
        let mut out = Vec::new();
        while buf.len() >= 4 {
            let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
            let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
            assert!((4..=buf.len()).contains(&len), "bad attribute length {len}");
            out.push((kind, &buf[4..len]));
            buf = &buf[((len + 3) & !3).min(buf.len())..];
        }
        assert!(buf.is_empty(), "trailing bytes after the attributes");
        out
    }

    fn raw_top_attrs(msg: &[u8]) -> Vec<(u16, &[u8])> {
        let len = u32::from_ne_bytes(msg[..4].try_into().unwrap()) as usize;
        raw_attrs(&msg[16 + family_header_len(nlmsg_type(msg))..len])
    }

    fn ne_uint(b: &[u8]) -> u64 {
        match b.len() {
            1 => b[0].into(),
            2 => u16::from_ne_bytes(b.try_into().unwrap()).into(),
            4 => u32::from_ne_bytes(b.try_into().unwrap()).into(),
            8 => u64::from_ne_bytes(b.try_into().unwrap()),
            n => panic!("no integer of {n} bytes"),
        }
    }

    /// Checks a normalized value against its raw payload, independently of
    /// npr, where the encoding is simple enough.
    fn check_against_wire(kind: u16, attr: u16, norm: &Norm, raw: &[u8]) {
        let ctx = || format!("message type {kind}, attribute {attr}");
        match norm {
            Norm::U(v) => assert_eq!(*v, ne_uint(raw), "{}", ctx()),
            Norm::Str(s) => {
                let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
                assert_eq!(s.as_bytes(), raw, "{}", ctx());
            }
            Norm::Ip(IpAddr::V4(ip)) => assert_eq!(&ip.octets()[..], raw, "{}", ctx()),
            Norm::Ip(IpAddr::V6(ip)) => assert_eq!(&ip.octets()[..], raw, "{}", ctx()),
            Norm::Bytes(b) => assert_eq!(b.as_slice(), raw, "{}", ctx()),
            // Structs of same-width integers (stats, cache info).
            Norm::List(items) if items.iter().all(|i| matches!(i, Norm::U(_))) => {
                let width = raw.len() / items.len();
                assert_eq!(width * items.len(), raw.len(), "{}", ctx());
                for (item, chunk) in items.iter().zip(raw.chunks(width)) {
                    assert_eq!(item, &Norm::U(ne_uint(chunk)), "{}", ctx());
                }
            }
            Norm::Nest(children) => {
                // Kept children are a wire-ordered subsequence of the raw ones.
                let mut raw_children = raw_attrs(raw).into_iter();
                for (t, child) in children {
                    let (_, payload) = raw_children
                        .find(|(rt, _)| rt == t)
                        .unwrap_or_else(|| panic!("{}: nested {t} not on the wire", ctx()));
                    check_against_wire(kind, *t, child, payload);
                }
            }
            Norm::List(_) => {}
        }
    }

    /// The attribute types each family keeps.
    fn kept_types(kind: u16) -> &'static [u16] {
        match kind {
            16..=19 => &[1, 2, 3, 4, 5, 7, 10, 13, 16, 17, 18, 20, 23, 27, 29, 49],
            20..=22 => &[1, 2, 3, 4, 5, 6, 8],
            24..=26 => &[1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 18, 20, 23],
            28..=30 => &[1, 2, 3],
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_fixture_message_normalizes() {
        for name in FIXTURES {
            let msgs = all_messages(name);
            for (i, msg) in msgs.iter().enumerate() {
                let kind = nlmsg_type(msg);
                let norm = npr_normalize(msg)
                    .unwrap_or_else(|e| panic!("{name} message {i} (type {kind}): {e}"));
                if kind == NLMSG_DONE {
                    assert_eq!(norm, None, "{name} message {i}");
                    continue;
                }
                let norm = norm.unwrap_or_else(|| panic!("{name} message {i}: None"));
                assert_eq!(norm.kind, kind);

                // Same attributes, same order as an independent walk of the
                // wire, restricted to the kept types.
                let raw: Vec<_> = raw_top_attrs(msg)
                    .into_iter()
                    .filter(|(t, _)| kept_types(kind).contains(t))
                    .collect();
                let types: Vec<u16> = norm.attrs.iter().map(|(t, _)| *t).collect();
                let raw_types: Vec<u16> = raw.iter().map(|(t, _)| *t).collect();
                assert_eq!(types, raw_types, "{name} message {i}");
                for ((t, n), (_, payload)) in norm.attrs.iter().zip(&raw) {
                    check_against_wire(kind, *t, n, payload);
                }

                // Header numbers are the raw wire numbers.
                let h = &msg[16..];
                let ne32 =
                    |o: usize| u64::from(u32::from_ne_bytes(h[o..o + 4].try_into().unwrap()));
                let wire_header: Vec<u64> = match kind {
                    16..=19 => vec![
                        h[0].into(),
                        u16::from_ne_bytes([h[2], h[3]]).into(),
                        ne32(4),
                        ne32(8),
                        ne32(12),
                    ],
                    20..=22 => vec![h[0].into(), h[1].into(), h[2].into(), h[3].into(), ne32(4)],
                    24..=26 => {
                        let mut v: Vec<u64> = h[..8].iter().map(|b| u64::from(*b)).collect();
                        v.push(ne32(8));
                        v
                    }
                    28..=30 => vec![
                        h[0].into(),
                        ne32(4),
                        u16::from_ne_bytes([h[8], h[9]]).into(),
                        h[10].into(),
                        h[11].into(),
                    ],
                    _ => unreachable!(),
                };
                assert_eq!(norm.header, wire_header, "{name} message {i}");
            }
        }
    }

    #[test]
    fn spot_checks() {
        // Route dump: AF_INET routes of the main or local table.
        let routes = all_messages("route_dump.bin");
        let first = npr_normalize(&routes[0]).unwrap().unwrap();
        assert_eq!(first.kind, 24);
        assert_eq!(first.header[0], 2, "AF_INET");
        let table = first.attrs.iter().find(|(t, _)| *t == RTA_TABLE);
        assert!(
            matches!(table, Some((_, Norm::U(254 | 255)))),
            "first route table: {table:?}"
        );
        let with_dst_24 = routes
            .iter()
            .filter_map(|m| npr_normalize(m).unwrap())
            .filter(|n| n.header[1] == 24 && n.header[4] == 254)
            .count();
        assert_eq!(with_dst_24, 10_000, "10.x.y.0/24 routes in the main table");

        // Address dump: 1,000 /32 addresses on br0 plus lo's.
        let addrs: Vec<NormMsg> = all_messages("addr_dump.bin")
            .iter()
            .filter_map(|m| npr_normalize(m).unwrap())
            .collect();
        assert_eq!(addrs.len(), 1_001);
        assert!(addrs.iter().all(|n| n.kind == 20 && n.header[0] == 2));
        assert!(addrs.iter().any(|n| n
            .attrs
            .contains(&(IFA_LOCAL, Norm::Ip(Ipv4Addr::LOCALHOST.into())))));
        assert_eq!(addrs.iter().filter(|n| n.header[1] == 32).count(), 1_000);

        // Link dump: lo, 151 bridges, 150 taps.
        let links: Vec<NormMsg> = all_messages("link_dump.bin")
            .iter()
            .filter_map(|m| npr_normalize(m).unwrap())
            .collect();
        assert_eq!(links.len(), 302);
        let name = |n: &NormMsg| {
            n.attrs.iter().find_map(|(t, v)| match (t, v) {
                (&IFLA_IFNAME, Norm::Str(s)) => Some(s.clone()),
                _ => None,
            })
        };
        let lo = links
            .iter()
            .find(|n| name(n).as_deref() == Some("lo"))
            .expect("lo");
        assert_eq!(lo.header[1], 772, "ARPHRD_LOOPBACK");
        let kind_count = |k: &str| {
            let want = (IFLA_INFO_KIND, Norm::Str(k.into()));
            links
                .iter()
                .filter(|n| {
                    n.attrs.iter().any(|(t, v)| {
                        *t == IFLA_LINKINFO && matches!(v, Norm::Nest(c) if c.contains(&want))
                    })
                })
                .count()
        };
        assert_eq!(kind_count("bridge"), 151);
        assert_eq!(kind_count("tun"), 150);
        // Every link carries the full 64-bit stats.
        for n in &links {
            let stats64 = n.attrs.iter().find(|(t, _)| *t == IFLA_STATS64);
            assert!(matches!(stats64, Some((_, Norm::List(l))) if l.len() == 25));
        }
    }

    #[test]
    fn visit_counts_every_top_level_attribute() {
        for name in FIXTURES {
            let mut visited = 0;
            let mut expected = 0;
            for dg in datagrams(name) {
                visited += npr_visit_datagram(&dg);
                expected += messages(&dg)
                    .into_iter()
                    .filter(|m| nlmsg_type(m) != NLMSG_DONE)
                    .map(|m| raw_top_attrs(m).len())
                    .sum::<usize>();
            }
            assert_eq!(visited, expected, "{name}");
            assert!(visited > 0, "{name}");
        }
    }

    #[test]
    fn build_newaddr_bytes() {
        #[rustfmt::skip]
        const EXPECTED: [u8; 40] = [
            // nlmsghdr
            40, 0, 0, 0,    // nlmsg_len = 40
            20, 0,          // nlmsg_type = RTM_NEWADDR
            0x05, 0x06,     // nlmsg_flags = REQUEST 0x1 | ACK 0x4 | EXCL 0x200 | CREATE 0x400
            1, 0, 0, 0,     // nlmsg_seq = 1
            0, 0, 0, 0,     // nlmsg_pid = 0
            // ifaddrmsg
            2,              // ifa_family = AF_INET
            24,             // ifa_prefixlen = 24
            0,              // ifa_flags = 0
            0,              // ifa_scope = RT_SCOPE_UNIVERSE
            2, 0, 0, 0,     // ifa_index = 2
            // IFA_LOCAL 10.0.0.1
            8, 0,           // rta_len = 8
            2, 0,           // rta_type = IFA_LOCAL
            10, 0, 0, 1,    // 10.0.0.1
            // IFA_ADDRESS 10.0.0.1
            8, 0,           // rta_len = 8
            1, 0,           // rta_type = IFA_ADDRESS
            10, 0, 0, 1,    // 10.0.0.1
        ];
        let mut buf = vec![0xAA; 100];
        npr_build_newaddr(&mut buf);
        assert_eq!(buf.len(), 40);
        assert_eq!(buf, EXPECTED);

        // And the oracle reads it back.
        let norm = npr_normalize(&buf).unwrap().unwrap();
        let ip = Norm::Ip(Ipv4Addr::new(10, 0, 0, 1).into());
        assert_eq!(
            norm,
            NormMsg {
                kind: 20,
                header: vec![2, 24, 0, 0, 2],
                attrs: vec![(IFA_LOCAL, ip.clone()), (IFA_ADDRESS, ip)],
            }
        );
    }

    /// The fixtures hold no metrics, multipath, via or neighbour: a
    /// hand-written route and neighbour message cover those mappings.
    #[test]
    fn synthetic_route_and_neighbour() {
        #[rustfmt::skip]
        const ROUTE: &[u8] = &[
            // nlmsghdr: len 148, RTM_NEWROUTE, no flags, seq 0, pid 0
            148, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            // rtmsg: AF_INET, dst_len 24, src_len 0, tos 0, table 254,
            // RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST, flags 0
            2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0,
            // RTA_TABLE 254
            8, 0, 15, 0, 254, 0, 0, 0,
            // RTA_DST 10.1.2.0
            8, 0, 1, 0, 10, 1, 2, 0,
            // RTA_METRICS { RTAX_MTU 1400, RTAX_CC_ALGO "cubic" }
            24, 0, 8, 0,
                8, 0, 2, 0, 0x78, 0x05, 0, 0,
                10, 0, 16, 0, b'c', b'u', b'b', b'i', b'c', 0, 0, 0,
            // RTA_MULTIPATH
            52, 0, 9, 0,
                // rtnexthop: len 16, flags 0, hops 0, ifindex 3
                16, 0, 0, 0, 3, 0, 0, 0,
                    // RTA_GATEWAY 10.0.0.1
                    8, 0, 5, 0, 10, 0, 0, 1,
                // rtnexthop: len 32, flags RTNH_F_ONLINK, hops 1, ifindex 4
                32, 0, 4, 1, 4, 0, 0, 0,
                    // RTA_VIA { AF_INET6, fe80::1 } (22 bytes + 2 padding)
                    22, 0, 18, 0, 10, 0,
                    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
            // RTA_OIF 2
            8, 0, 4, 0, 2, 0, 0, 0,
            // RTA_PREF 1 (5 bytes + 3 padding)
            5, 0, 20, 0, 1, 0, 0, 0,
            // RTA_VIA { AF_INET, 10.0.0.254 } (10 bytes + 2 padding)
            10, 0, 18, 0, 2, 0, 10, 0, 0, 254, 0, 0,
        ];
        assert_eq!(ROUTE.len(), 148);
        let ip = |s: &str| Norm::Ip(s.parse().unwrap());
        assert_eq!(
            npr_normalize(ROUTE).unwrap().unwrap(),
            NormMsg {
                kind: 24,
                header: vec![2, 24, 0, 0, 254, 4, 0, 1, 0],
                attrs: vec![
                    (RTA_TABLE, Norm::U(254)),
                    (RTA_DST, ip("10.1.2.0")),
                    (
                        RTA_METRICS,
                        Norm::Nest(vec![(2, Norm::U(1400)), (16, Norm::Str("cubic".into()))]),
                    ),
                    (
                        RTA_MULTIPATH,
                        Norm::List(vec![
                            Norm::List(vec![
                                Norm::U(0),
                                Norm::U(0),
                                Norm::U(3),
                                Norm::Nest(vec![(RTA_GATEWAY, ip("10.0.0.1"))]),
                            ]),
                            Norm::List(vec![
                                Norm::U(4),
                                Norm::U(1),
                                Norm::U(4),
                                Norm::Nest(vec![(
                                    RTA_VIA,
                                    Norm::List(vec![Norm::U(10), ip("fe80::1")]),
                                )]),
                            ]),
                        ]),
                    ),
                    (RTA_OIF, Norm::U(2)),
                    (RTA_PREF, Norm::U(1)),
                    (RTA_VIA, Norm::List(vec![Norm::U(2), ip("10.0.0.254")])),
                ],
            }
        );

        #[rustfmt::skip]
        const NEIGH: &[u8] = &[
            // nlmsghdr: len 76, RTM_NEWNEIGH, no flags, seq 0, pid 0
            76, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            // ndmsg: AF_INET, pad, ifindex 3, NUD_REACHABLE, flags 0, RTN_UNICAST
            2, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 1,
            // NDA_DST 192.168.1.1
            8, 0, 1, 0, 192, 168, 1, 1,
            // NDA_LLADDR 02:00:00:00:00:01 (10 bytes + 2 padding)
            10, 0, 2, 0, 2, 0, 0, 0, 0, 1, 0, 0,
            // NDA_CACHEINFO { confirmed 1, used 2, updated 3, refcnt 4 }
            20, 0, 3, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0,
            // NDA_PROBES 5 (not kept)
            8, 0, 4, 0, 5, 0, 0, 0,
        ];
        assert_eq!(NEIGH.len(), 76);
        assert_eq!(
            npr_normalize(NEIGH).unwrap().unwrap(),
            NormMsg {
                kind: 28,
                header: vec![2, 3, 2, 0, 1],
                attrs: vec![
                    (NDA_DST, ip("192.168.1.1")),
                    (NDA_LLADDR, Norm::Bytes(vec![2, 0, 0, 0, 0, 1])),
                    (
                        NDA_CACHEINFO,
                        Norm::List(vec![Norm::U(1), Norm::U(2), Norm::U(3), Norm::U(4)]),
                    ),
                ],
            }
        );
    }

    #[test]
    fn control_and_unmapped_messages() {
        // NLMSG_DONE with its 4-byte error code: no normal form.
        let done = [20, 0, 0, 0, 3, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(npr_normalize(&done), Ok(None));
        // A truncated message is an error, not a panic.
        assert!(npr_normalize(&done[..10]).is_err());
        // RTM_NEWRULE (32): the fixed header, in order.
        let rule = [
            28, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
        ];
        let norm = npr_normalize(&rule).unwrap().unwrap();
        assert_eq!(norm.header, vec![2, 0, 0, 0, 0, 0, 1]);
        // RTM_NEWNSID (88) is rtnetlink but not mapped.
        let nsid = [20, 0, 0, 0, 88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(npr_normalize(&nsid).is_err());
    }

    /// The npr enums that carry header numbers give the wire value back
    /// through their `From` impls.
    #[test]
    fn header_enums_round_trip() {
        use netlink_packet_route::{
            address::AddressScope,
            link::LinkLayerType,
            neighbour::NeighbourState,
            route::{RouteProtocol, RouteScope, RouteType},
        };
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(AddressFamily::from(v)), v);
            assert_eq!(u8::from(AddressScope::from(v)), v);
            assert_eq!(u8::from(RouteProtocol::from(v)), v);
            assert_eq!(u8::from(RouteScope::from(v)), v);
            assert_eq!(u8::from(RouteType::from(v)), v);
        }
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(NeighbourState::from(v)), v);
        }
        // ifi_type: the known ARPHRD_* values round-trip, the others read back
        // as ARPHRD_VOID (documented lossy case).
        for v in [1u16, 772, 776, 778, 65534, 65535] {
            assert_eq!(u16::from(LinkLayerType::from(v)), v);
        }
        assert_eq!(u16::from(LinkLayerType::from(12345)), 0xffff);
    }
}
