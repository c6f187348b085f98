//! nlq's reading of a message in the neutral [`NormMsg`] form, to compare
//! with [`npr_normalize`](crate::npr_oracle::npr_normalize). The attributes
//! kept are the same as the oracle's, in wire order.

use nlq::wire::{
    consts::*, AddrAttr, Attrs, Error, LinkAttr, LinkInfoAttr, Message, Messages, Metric,
    NeighAttr, NextHops, RouteAttr, RuleAttr,
};

use crate::norm::{Norm, NormMsg};

fn u(v: impl Into<u64>) -> Norm {
    Norm::U(v.into())
}

/// The fields of a family header, as raw wire numbers in the order named.
macro_rules! header_fields {
    ($header:expr; $($field:ident),+) => {{
        let h = $header;
        vec![$(u64::from(h.$field)),+]
    }};
}

/// nlq's reading of one whole message (`nlmsghdr` included): `Ok(None)` for
/// control messages, `Err` for any parse error of the message or of any
/// attribute it has (nested ones included).
pub fn nlq_normalize(msg: &[u8]) -> Result<Option<NormMsg>, Error> {
    let m = Messages::new(msg).next().unwrap_or(Err(Error::new(
        nlq::wire::Part::Header,
        nlq::wire::ErrorKind::Truncated,
    )))?;
    let kind = m.message_type();
    let (header, attrs) = match m.typed()? {
        Message::Link(l) => (
            header_fields!(l.header(); family, hardware_type, index, flags, change),
            kept_attrs(l.attrs(), link_attr)?,
        ),
        Message::Addr(a) => (
            header_fields!(a.header(); family, prefix_len, flags, scope, index),
            kept_attrs(a.attrs(), |a| Ok(addr_attr(a)))?,
        ),
        Message::Route(r) => {
            let family = r.header().family;
            (
                header_fields!(
                    r.header();
                    family, dst_len, src_len, tos, table, protocol, scope, route_type, flags
                ),
                kept_attrs(r.attrs(), |a| route_attr(a, family))?,
            )
        }
        Message::Neigh(n) => (
            header_fields!(n.header(); family, ifindex, state, flags, address_type),
            kept_attrs(n.attrs(), |a| Ok(neigh_attr(a)))?,
        ),
        Message::Rule(r) => (
            header_fields!(r.header(); family, dst_len, src_len, tos, table, action, flags),
            kept_attrs(r.attrs(), |a| Ok(rule_attr(a)))?,
        ),
        Message::Error(_) | Message::Done(_) | Message::Noop | Message::Overrun => return Ok(None),
        Message::Other(_) | Message::Nexthop(_) | Message::Netconf(_) | Message::Nsid(_) => {
            return Ok(None)
        }
        other => panic!("nlq_norm has no normal form for {other:?}: add one"),
    };
    Ok(Some(NormMsg {
        kind,
        header,
        attrs,
    }))
}

/// The normal forms of the attributes `attrs` yields, in wire order:
/// `norm` maps each to its `(type, value)`, or to `None` to leave it out.
/// The first parse error, of an attribute or inside one, is the result.
fn kept_attrs<A>(
    attrs: impl IntoIterator<Item = Result<A, Error>>,
    mut norm: impl FnMut(A) -> Result<Option<(u16, Norm)>, Error>,
) -> Result<Vec<(u16, Norm)>, Error> {
    let mut kept = vec![];
    for a in attrs {
        kept.extend(norm(a?)?);
    }
    Ok(kept)
}

fn link_attr(a: LinkAttr<'_>) -> Result<Option<(u16, Norm)>, Error> {
    Ok(Some(match a {
        LinkAttr::IfName(s) => (IFLA_IFNAME, Norm::Str(s.into())),
        LinkAttr::Address(b) => (IFLA_ADDRESS, Norm::Bytes(b.to_vec())),
        LinkAttr::Broadcast(b) => (IFLA_BROADCAST, Norm::Bytes(b.to_vec())),
        LinkAttr::Mtu(v) => (IFLA_MTU, u(v)),
        LinkAttr::TxQueueLen(v) => (IFLA_TXQLEN, u(v)),
        LinkAttr::OperState(v) => (IFLA_OPERSTATE, u(v)),
        LinkAttr::LinkMode(v) => (IFLA_LINKMODE, u(v)),
        LinkAttr::Master(v) => (IFLA_MASTER, u(v)),
        LinkAttr::Link(v) => (IFLA_LINK, u(v)),
        LinkAttr::Group(v) => (IFLA_GROUP, u(v)),
        LinkAttr::IfAlias(s) => (IFLA_IFALIAS, Norm::Str(s.into())),
        LinkAttr::Stats(s) => (IFLA_STATS, Norm::List(s.to_array().map(u).to_vec())),
        LinkAttr::Stats64(s) => (IFLA_STATS64, Norm::List(s.to_array().map(u).to_vec())),
        LinkAttr::NewIfIndex(v) => (IFLA_NEW_IFINDEX, u(v as u32)),
        LinkAttr::ExtMask(v) => (IFLA_EXT_MASK, u(v)),
        LinkAttr::LinkInfo(info) => {
            let kept = kept_attrs(info, |i| {
                Ok(match i {
                    LinkInfoAttr::Kind(k) => Some((IFLA_INFO_KIND, Norm::Str(k.into()))),
                    LinkInfoAttr::SlaveKind(k) => Some((IFLA_INFO_SLAVE_KIND, Norm::Str(k.into()))),
                    LinkInfoAttr::Data(d) | LinkInfoAttr::SlaveData(d) => {
                        walk(d)?;
                        None
                    }
                    LinkInfoAttr::Other(_) => None,
                    other => panic!("nlq_norm has no normal form for {other:?}: add one"),
                })
            })?;
            (IFLA_LINKINFO, Norm::Nest(kept))
        }
        LinkAttr::AfSpec(attrs) => {
            walk(attrs)?;
            return Ok(None);
        }
        LinkAttr::Other(_) => return Ok(None),
        other => panic!("nlq_norm has no normal form for {other:?}: add one"),
    }))
}

/// Walks raw nested attributes (recursing where flagged nested) so that any
/// framing error shows.
pub fn walk(attrs: Attrs<'_>) -> Result<usize, Error> {
    let mut n = 0;
    for a in attrs {
        let a = a?;
        n += 1;
        if a.is_nested() {
            n += walk(a.nested())?;
        }
    }
    Ok(n)
}

fn addr_attr(a: AddrAttr<'_>) -> Option<(u16, Norm)> {
    match a {
        AddrAttr::Address(ip) => Some((IFA_ADDRESS, Norm::Ip(ip.ip()))),
        AddrAttr::Local(ip) => Some((IFA_LOCAL, Norm::Ip(ip.ip()))),
        AddrAttr::Label(s) => Some((IFA_LABEL, Norm::Str(s.into()))),
        AddrAttr::Broadcast(ip) => Some((IFA_BROADCAST, Norm::Ip(ip.ip()))),
        AddrAttr::Anycast(ip) => Some((IFA_ANYCAST, Norm::Ip(ip.ip()))),
        AddrAttr::CacheInfo(c) => Some((
            IFA_CACHEINFO,
            Norm::List(vec![u(c.preferred), u(c.valid), u(c.created), u(c.updated)]),
        )),
        AddrAttr::Flags(f) => Some((IFA_FLAGS, u(f))),
        AddrAttr::Other(_) => None,
        other => panic!("nlq_norm has no normal form for {other:?}: add one"),
    }
}

fn route_attr(a: RouteAttr<'_>, family: u8) -> Result<Option<(u16, Norm)>, Error> {
    let ip_family = matches!(family, AF_INET | AF_INET6);
    Ok(Some(match a {
        RouteAttr::Dst(ip) if ip_family => (RTA_DST, Norm::Ip(ip.ip())),
        RouteAttr::Src(ip) if ip_family => (RTA_SRC, Norm::Ip(ip.ip())),
        RouteAttr::Gateway(ip) if ip_family => (RTA_GATEWAY, Norm::Ip(ip.ip())),
        RouteAttr::PrefSrc(ip) if ip_family => (RTA_PREFSRC, Norm::Ip(ip.ip())),
        RouteAttr::Iif(v) => (RTA_IIF, u(v)),
        RouteAttr::Oif(v) => (RTA_OIF, u(v)),
        RouteAttr::Priority(v) => (RTA_PRIORITY, u(v)),
        RouteAttr::Table(v) => (RTA_TABLE, u(v)),
        RouteAttr::Mark(v) => (RTA_MARK, u(v)),
        RouteAttr::Expires(v) => (RTA_EXPIRES, u(v)),
        RouteAttr::Pref(v) => (RTA_PREF, u(v)),
        RouteAttr::Via(v) => (RTA_VIA, via(v.ip())),
        RouteAttr::Metrics(ms) => {
            let kept = kept_attrs(ms, |m| {
                Ok(Some(match m {
                    Metric::Value(k, v) => (k, u(v)),
                    Metric::CcAlgo(s) => (RTAX_CC_ALGO, Norm::Str(s.into())),
                    other => panic!("nlq_norm has no normal form for {other:?}: add one"),
                }))
            })?;
            (RTA_METRICS, Norm::Nest(kept))
        }
        RouteAttr::Multipath(hops) => (RTA_MULTIPATH, next_hops(hops)?),
        _ => return Ok(None),
    }))
}

fn via(ip: std::net::IpAddr) -> Norm {
    let family = if ip.is_ipv4() { AF_INET } else { AF_INET6 };
    Norm::List(vec![u(family), Norm::Ip(ip)])
}

fn next_hops(hops: NextHops<'_>) -> Result<Norm, Error> {
    let mut out = vec![];
    for nh in hops {
        let nh = nh?;
        let attrs = kept_attrs(nh.attrs(), |a| {
            Ok(match a {
                RouteAttr::Gateway(ip) => Some((RTA_GATEWAY, Norm::Ip(ip.ip()))),
                RouteAttr::Via(v) => Some((RTA_VIA, via(v.ip()))),
                _ => None,
            })
        })?;
        out.push(Norm::List(vec![
            u(nh.flags()),
            u(nh.hops()),
            u(nh.ifindex()),
            Norm::Nest(attrs),
        ]));
    }
    Ok(Norm::List(out))
}

fn neigh_attr(a: NeighAttr<'_>) -> Option<(u16, Norm)> {
    match a {
        NeighAttr::Dst(ip) => Some((NDA_DST, Norm::Ip(ip.ip()))),
        NeighAttr::LlAddr(b) => Some((NDA_LLADDR, Norm::Bytes(b.to_vec()))),
        NeighAttr::CacheInfo(c) => Some((
            NDA_CACHEINFO,
            Norm::List(vec![u(c.confirmed), u(c.used), u(c.updated), u(c.refcnt)]),
        )),
        NeighAttr::Other(_) => None,
        other => panic!("nlq_norm has no normal form for {other:?}: add one"),
    }
}

fn rule_attr(a: RuleAttr<'_>) -> Option<(u16, Norm)> {
    match a {
        RuleAttr::Dst(ip) => Some((FRA_DST, Norm::Ip(ip.ip()))),
        RuleAttr::Src(ip) => Some((FRA_SRC, Norm::Ip(ip.ip()))),
        RuleAttr::IifName(n) => Some((FRA_IIFNAME, Norm::Str(n.into()))),
        RuleAttr::OifName(n) => Some((FRA_OIFNAME, Norm::Str(n.into()))),
        RuleAttr::U32(k, v) => {
            (!matches!(k, FRA_FLOW | FRA_FLOWLABEL | FRA_FLOWLABEL_MASK)).then_some((k, u(v)))
        }
        RuleAttr::U8(k, v) => {
            matches!(k, FRA_L3MDEV | FRA_PROTOCOL | FRA_IP_PROTO).then_some((k, u(v)))
        }
        RuleAttr::UidRange(r) => Some((FRA_UID_RANGE, Norm::List(vec![u(r.start), u(r.end)]))),
        RuleAttr::PortRange(k, r) => Some((k, Norm::List(vec![u(r.start), u(r.end)]))),
        RuleAttr::TunId(_) | RuleAttr::U16(..) | RuleAttr::Other(_) => None,
        other => panic!("nlq_norm has no normal form for {other:?}: add one"),
    }
}
