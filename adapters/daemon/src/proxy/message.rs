//! One request or answer as the proxy sees it: checked with the nlq
//! codec, classified into [`Facts`] for the policy, rewritten for a
//! peer's [`View`] (tables, interface names), and tested against what the
//! view hides.

use std::net::IpAddr;

use nlq::wire::consts::*;
use nlq::wire::{
    AddrMessage, Attr, Attrs, ExtAck, LinkMessage, NeighMessage, NextHops, NlMsg, RouteMessage,
    Writer,
};

use super::policy::{Facts, Iface, Object, Verb, View};

/// The size of `nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;

/// `RTM_NEWRULE`, `RTM_DELRULE`, `RTM_GETRULE`.
const RTM_NEWRULE: u16 = 32;
const RTM_GETRULE: u16 = 34;
/// `RTM_NEWNETCONF`..`RTM_DELNETCONF`.
const RTM_NEWNETCONF: u16 = 80;
const RTM_DELNETCONF: u16 = 83;
/// `FRA_TABLE`, `FRA_DST`, `FRA_IIFNAME`, `FRA_OIFNAME`.
const FRA_DST: u16 = 1;
const FRA_IIFNAME: u16 = 3;
const FRA_TABLE: u16 = 15;
const FRA_OIFNAME: u16 = 17;
/// `IFLA_ALT_IFNAME`.
const IFLA_ALT_IFNAME: u16 = 53;
/// `NETCONFA_IFINDEX`.
const NETCONFA_IFINDEX: u16 = 1;

/// Why a request is refused before it goes anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Positive errno.
    pub errno: i32,
    /// The extended-ACK text.
    pub text: Option<String>,
}

impl Refusal {
    fn new(errno: i32, text: &str) -> Self {
        Refusal {
            errno,
            text: Some(text.to_string()),
        }
    }
}

/// What the proxy knows of an upstream link: its name and kind.
pub trait Links {
    /// The name and kind of link `index`, if it exists.
    fn by_index(&self, index: u32) -> Option<(String, Option<String>)>;
    /// The index of the link named `name`, if it exists.
    fn by_name(&self, name: &str) -> Option<u32>;
}

/// The size of the fixed header after `nlmsghdr` for the message type,
/// if it is one the proxy classifies.
fn family_header_len(kind: u16) -> Option<usize> {
    Some(match object_of(kind) {
        Object::Link => 16,
        Object::Address => 8,
        Object::Route | Object::Neighbour | Object::Rule => 12,
        Object::Other => return None,
    })
}

fn object_of(kind: u16) -> Object {
    match kind {
        RTM_NEWLINK..=RTM_SETLINK => Object::Link,
        RTM_NEWADDR..=RTM_GETADDR => Object::Address,
        RTM_NEWROUTE..=RTM_GETROUTE => Object::Route,
        RTM_NEWNEIGH..=RTM_GETNEIGH => Object::Neighbour,
        RTM_NEWRULE..=RTM_GETRULE => Object::Rule,
        _ => Object::Other,
    }
}

fn verb_of(kind: u16, flags: u16) -> Verb {
    if kind < 16 {
        return Verb::Get;
    }
    match kind.wrapping_sub(16) % 4 {
        0 if flags & NLM_F_CREATE != 0 => Verb::New,
        0 | 3 => Verb::Set,
        1 => Verb::Delete,
        _ => Verb::Get,
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4))
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn str_of(a: &Attr<'_>) -> Option<String> {
    let v = a.value();
    let v = v.split(|&b| b == 0).next().unwrap_or(v);
    std::str::from_utf8(v).ok().map(str::to_string)
}

fn ip_of(v: &[u8]) -> Option<IpAddr> {
    match v.len() {
        4 => <[u8; 4]>::try_from(v).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(v).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The attributes after the fixed header, checked for framing: an
/// attribute cut short or running past the message is the kernel's
/// `EINVAL`.
fn attrs_of<'a>(msg: &NlMsg<'a>, hdr: usize) -> Result<Vec<Attr<'a>>, Refusal> {
    let body = msg.payload().get(hdr..).unwrap_or_default();
    Attrs::new(body)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Refusal::new(libc::EINVAL, "bytes leftover after parsing attributes"))
}

/// Checks `msg` with the nlq codec (the kernel's `EINVAL` and text when
/// it is malformed) and classifies it.
pub fn facts(msg: &NlMsg<'_>, links: &dyn Links) -> Result<Facts, Refusal> {
    let kind = msg.message_type();
    let flags = msg.flags();
    let object = object_of(kind);
    let verb = verb_of(kind, flags);
    let mut f = Facts {
        object,
        verb,
        message_type: kind,
        flags,
        ifaces: Vec::new(),
        prefix: None,
        table: None,
        link_kind: None,
        attrs: Vec::new(),
    };
    let Some(hdr) = family_header_len(kind) else {
        return Ok(f);
    };
    let p = msg.payload();
    if p.len() < hdr {
        if verb == Verb::Get {
            // The 1- or 4-byte GET bodies of iproute2 and glibc.
            return Ok(f);
        }
        return Err(Refusal::new(libc::EINVAL, "Invalid header length"));
    }
    if verb != Verb::Get {
        typed_check(msg)?;
    }
    let attrs = attrs_of(msg, hdr)?;
    f.attrs = attrs.iter().map(Attr::attr_type).collect();
    let find = |k: u16| attrs.iter().find(|a| a.attr_type() == k);
    let add_index = |f: &mut Facts, index: u32| {
        if index != 0 && !f.ifaces.iter().any(|i| i.index == index) {
            let known = links.by_index(index);
            if f.link_kind.is_none() {
                f.link_kind = known.as_ref().and_then(|k| k.1.clone());
            }
            f.ifaces.push(Iface {
                index,
                name: known.map(|k| k.0),
            });
        }
    };
    let family = p.first().copied().unwrap_or(0);
    match object {
        Object::Link => {
            if find(IFLA_NET_NS_FD).is_some() {
                return Err(Refusal::new(
                    libc::EOPNOTSUPP,
                    "IFLA_NET_NS_FD names a descriptor of the client, which the nlq proxy \
                     cannot pass upstream",
                ));
            }
            let index = u32_at(p, 4);
            if let Some(kind) = find(IFLA_LINKINFO).and_then(|li| {
                li.nested()
                    .flatten()
                    .find(|a| a.attr_type() == IFLA_INFO_KIND)
            }) {
                f.link_kind = str_of(&kind);
            }
            add_index(&mut f, index);
            if let Some(name) = find(IFLA_IFNAME).and_then(str_of) {
                if !f.ifaces.iter().any(|i| i.name.as_deref() == Some(&name)) {
                    let known = links.by_name(&name);
                    f.ifaces.push(Iface {
                        index: if index == 0 { known.unwrap_or(0) } else { 0 },
                        name: Some(name),
                    });
                    if index == 0 && f.link_kind.is_none() {
                        f.link_kind = known.and_then(|i| links.by_index(i)).and_then(|k| k.1);
                    }
                }
            }
            for k in [IFLA_MASTER, IFLA_LINK] {
                if let Some(i) = find(k).and_then(|a| a.u32().ok()) {
                    add_index(&mut f, i);
                }
            }
        }
        Object::Address => {
            add_index(&mut f, u32_at(p, 4));
            let len = p.get(1).copied().unwrap_or(0);
            f.prefix = find(IFA_LOCAL)
                .or_else(|| find(IFA_ADDRESS))
                .and_then(|a| ip_of(a.value()))
                .map(|a| (a, len));
        }
        Object::Route | Object::Rule => {
            let (table_attr, dst_attr) = if object == Object::Route {
                (RTA_TABLE, RTA_DST)
            } else {
                (FRA_TABLE, FRA_DST)
            };
            let table = find(table_attr)
                .and_then(|a| a.u32().ok())
                .unwrap_or_else(|| p.get(4).copied().map_or(0, u32::from));
            f.table = (table != 0).then_some(table);
            let len = p.get(1).copied().unwrap_or(0);
            f.prefix = match find(dst_attr).map(|a| ip_of(a.value())) {
                Some(a) => a.map(|a| (a, len)),
                None if family == AF_INET => Some((IpAddr::from([0u8; 4]), 0)),
                None if family == AF_INET6 => Some((IpAddr::from([0u8; 16]), 0)),
                None => None,
            };
            if object == Object::Route {
                for k in [RTA_OIF, RTA_IIF] {
                    if let Some(i) = find(k).and_then(|a| a.u32().ok()) {
                        add_index(&mut f, i);
                    }
                }
                if let Some(mp) = find(RTA_MULTIPATH) {
                    for index in hop_indexes(mp.value()) {
                        add_index(&mut f, index);
                    }
                }
            } else {
                for k in [FRA_IIFNAME, FRA_OIFNAME] {
                    if let Some(name) = find(k).and_then(str_of) {
                        f.ifaces.push(Iface {
                            index: links.by_name(&name).unwrap_or(0),
                            name: Some(name),
                        });
                    }
                }
            }
        }
        Object::Neighbour => {
            add_index(&mut f, u32_at(p, 4));
            f.prefix = find(NDA_DST)
                .and_then(|a| ip_of(a.value()))
                .map(|a| (a, if a.is_ipv4() { 32 } else { 128 }));
        }
        Object::Other => {}
    }
    Ok(f)
}

/// The typed parse of a change request (every attribute the codec knows
/// decoded): what it cannot read is `EINVAL` with the kernel's texts.
fn typed_check(msg: &NlMsg<'_>) -> Result<(), Refusal> {
    let bad = |e: nlq::wire::Error| {
        let text = match e.part {
            nlq::wire::Part::Header | nlq::wire::Part::Body => "Invalid header length",
            _ => "Attribute failed policy validation",
        };
        Refusal::new(libc::EINVAL, text)
    };
    match object_of(msg.message_type()) {
        Object::Link => {
            for a in LinkMessage::parse(msg).map_err(bad)?.attrs() {
                a.map_err(bad)?;
            }
        }
        Object::Address => {
            for a in AddrMessage::parse(msg).map_err(bad)?.attrs() {
                a.map_err(bad)?;
            }
        }
        Object::Route => {
            for a in RouteMessage::parse(msg).map_err(bad)?.attrs() {
                a.map_err(bad)?;
            }
        }
        Object::Neighbour => {
            for a in NeighMessage::parse(msg).map_err(bad)?.attrs() {
                a.map_err(bad)?;
            }
        }
        Object::Rule | Object::Other => {}
    }
    Ok(())
}

/// The interface indexes of an `RTA_MULTIPATH` value (`rtnexthop`s), read
/// by the codec's walk up to an entry it cannot frame (the kernel refuses a
/// value with one, so every value it takes is read whole).
fn hop_indexes(v: &[u8]) -> impl Iterator<Item = u32> + '_ {
    NextHops::new(v, AF_UNSPEC)
        .map_while(Result::ok)
        .map(|hop| hop.ifindex())
}

/// A request naming a link the view hides: `ENODEV`, as in a namespace
/// without it.
pub fn names_hidden(f: &Facts, view: &View, links: &dyn Links) -> bool {
    f.ifaces.iter().any(|i| {
        let known = if i.index != 0 {
            links.by_index(i.index)
        } else {
            i.name
                .as_deref()
                .and_then(|n| links.by_name(n))
                .and_then(|x| links.by_index(x))
        };
        match known {
            Some((name, kind)) => view.hides(i.index, Some(&name), kind.as_deref()),
            // A name the upstream does not know: a new link's; the prefix
            // rule still holds.
            None => i.index == 0 && view.prefix.is_some() && view.hides(0, i.name.as_deref(), None),
        }
    })
}

/// Rebuilds one message, replacing attribute values as `f` says
/// (`Some(new value)`) and the fixed header by `header`.
fn rebuild(
    msg: &[u8],
    hdr: usize,
    header: impl FnOnce(&mut [u8]),
    mut f: impl FnMut(u16, &[u8]) -> Option<Vec<u8>>,
) -> Vec<u8> {
    let fixed_end = NLMSG_HDRLEN.saturating_add(hdr).min(msg.len());
    let mut out = msg.get(..fixed_end).unwrap_or_default().to_vec();
    if let Some(h) = out.get_mut(NLMSG_HDRLEN..) {
        header(h);
    }
    let body = msg.get(fixed_end..).unwrap_or_default();
    let mut it = Attrs::new(body);
    for a in it.by_ref() {
        let Ok(a) = a else { break };
        let value = f(a.attr_type(), a.value());
        let v = value.as_deref().unwrap_or(a.value());
        let len = u16::try_from(v.len().saturating_add(4)).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&a.type_with_flags().to_ne_bytes());
        out.extend_from_slice(v);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let total = u32::try_from(out.len()).unwrap_or(u32::MAX);
    if let Some(l) = out.get_mut(..4) {
        l.copy_from_slice(&total.to_ne_bytes());
    }
    out
}

fn with_nul(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Which way a message goes through the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the peer, upstream: the peer's names and tables become the
    /// upstream's.
    Up,
    /// From the upstream to the peer.
    Down,
}

/// `msg` with the view's rewrites, or `None` when nothing changes.
pub fn rewrite(msg: &NlMsg<'_>, view: &View, dir: Direction) -> Option<Vec<u8>> {
    if view.table_swap.is_none() && view.prefix.is_none() {
        return None;
    }
    let kind = msg.message_type();
    let object = object_of(kind);
    let hdr = family_header_len(kind)?;
    if msg.payload().len() < hdr {
        return None;
    }
    let name = |v: &[u8]| -> Option<Vec<u8>> {
        let p = view.prefix.as_deref()?;
        let s = v.split(|&b| b == 0).next().unwrap_or(v);
        let s = std::str::from_utf8(s).ok()?;
        match dir {
            Direction::Up => Some(with_nul(&format!("{p}{s}"))),
            Direction::Down => s.strip_prefix(p).map(with_nul),
        }
    };
    let table = |t: u32| match dir {
        Direction::Up => view.table_up(t),
        Direction::Down => view.table_down(t),
    };
    let bytes = msg.as_bytes();
    let out = match object {
        Object::Link => rebuild(
            bytes,
            hdr,
            |_| {},
            |k, v| match k {
                IFLA_IFNAME | IFLA_ALT_IFNAME => name(v),
                _ => None,
            },
        ),
        Object::Address => rebuild(
            bytes,
            hdr,
            |_| {},
            |k, v| (k == IFA_LABEL).then(|| name(v)).flatten(),
        ),
        Object::Route | Object::Rule => {
            let table_attr = if object == Object::Route {
                RTA_TABLE
            } else {
                FRA_TABLE
            };
            rebuild(
                bytes,
                hdr,
                |h| {
                    if let Some(t) = h.get_mut(4) {
                        if *t != 0 {
                            *t = u8::try_from(table(u32::from(*t))).unwrap_or(RT_TABLE_COMPAT);
                        }
                    }
                },
                |k, v| {
                    if k == table_attr {
                        let t = u32::from_ne_bytes(v.try_into().ok()?);
                        return Some(table(t).to_ne_bytes().to_vec());
                    }
                    if object == Object::Rule && (k == FRA_IIFNAME || k == FRA_OIFNAME) {
                        return name(v);
                    }
                    None
                },
            )
        }
        Object::Neighbour | Object::Other => return None,
    };
    Some(out)
}

/// `RT_TABLE_COMPAT`: `rtm_table` of a route in a table above 255.
const RT_TABLE_COMPAT: u8 = 252;

/// An answer or notification the view hides from the peer.
pub fn hidden(msg: &NlMsg<'_>, view: &View, links: &dyn Links) -> bool {
    let kind = msg.message_type();
    let p = msg.payload();
    let hides_index = |i: u32| -> bool {
        if i == 0 {
            return false;
        }
        match links.by_index(i) {
            Some((name, kind)) => view.hides(i, Some(&name), kind.as_deref()),
            // Gone or not yet known: not shown.
            None => true,
        }
    };
    let Some(hdr) = family_header_len(kind) else {
        if (RTM_NEWNETCONF..=RTM_DELNETCONF).contains(&kind) {
            let attrs = Attrs::new(p.get(4..).unwrap_or_default());
            return attrs
                .flatten()
                .find(|a| a.attr_type() == NETCONFA_IFINDEX)
                .and_then(|a| a.i32().ok())
                .is_some_and(|i| i > 0 && hides_index(i.unsigned_abs()));
        }
        return false;
    };
    if p.len() < hdr {
        return false;
    }
    let attrs = || Attrs::new(p.get(hdr..).unwrap_or_default()).flatten();
    match object_of(kind) {
        Object::Link => {
            let name = attrs()
                .find(|a| a.attr_type() == IFLA_IFNAME)
                .and_then(|a| str_of(&a));
            let kind = attrs()
                .find(|a| a.attr_type() == IFLA_LINKINFO)
                .and_then(|li| {
                    li.nested()
                        .flatten()
                        .find(|a| a.attr_type() == IFLA_INFO_KIND)
                })
                .and_then(|a| str_of(&a));
            view.hides(u32_at(p, 4), name.as_deref(), kind.as_deref())
        }
        Object::Address | Object::Neighbour => hides_index(u32_at(p, 4)),
        Object::Route => attrs().any(|a| match a.attr_type() {
            RTA_OIF => a.u32().is_ok_and(hides_index),
            RTA_MULTIPATH => hop_indexes(a.value()).any(hides_index),
            _ => false,
        }),
        Object::Rule | Object::Other => false,
    }
}

/// Appends the `NLMSG_ERROR` the kernel would send for `request` failing
/// with `errno` and `text`, on a socket with these options.
pub fn emit_refusal(
    out: &mut Vec<u8>,
    request: &NlMsg<'_>,
    errno: i32,
    text: Option<&str>,
    ext_ack: bool,
    cap_ack: bool,
    port: u32,
) {
    let ack = ExtAck {
        msg: text.filter(|_| ext_ack),
        ..ExtAck::default()
    };
    let mut w = Writer::new(std::mem::take(out));
    let _ = nlq::wire::emit_error(&mut w, request, errno, cap_ack, &ack, port);
    *out = w.into_inner();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::policy::Policy;
    use nlq::wire::{AddrRepr, RouteRepr};
    use std::collections::HashMap;
    use std::net::Ipv4Addr;

    /// An `rtnexthop`: length, flags, hops, index, then `attrs`.
    fn hop(index: u32, attrs: &[u8]) -> Vec<u8> {
        let len = u16::try_from(8 + attrs.len()).unwrap();
        let mut b = len.to_ne_bytes().to_vec();
        b.extend([0, 0]);
        b.extend(index.to_ne_bytes());
        b.extend(attrs);
        b
    }

    #[test]
    fn multipath_indexes_are_every_hop_the_kernel_would_take() {
        // Two hops, the first with an RTA_GATEWAY: 3 and 7.
        let gateway = [8, 0, 5, 0, 10, 0, 0, 1];
        let mut v = hop(3, &gateway);
        v.extend(hop(7, &[]));
        assert_eq!(hop_indexes(&v).collect::<Vec<_>>(), [3, 7]);
        // A last hop without the padding of its attribute still counts.
        let mut v = hop(3, &[]);
        v.extend(hop(9, &[6, 0, 1, 0, 0xaa, 0xbb]));
        assert_eq!(hop_indexes(&v).collect::<Vec<_>>(), [3, 9]);
        // A hop that cannot be framed ends the walk (the kernel refuses
        // the request): a length below the header's, or beyond the value.
        let mut v = hop(3, &[]);
        v.extend([4, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(hop_indexes(&v).collect::<Vec<_>>(), [3]);
        let mut v = hop(3, &[]);
        v.extend([16, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(hop_indexes(&v).collect::<Vec<_>>(), [3]);
    }

    struct Table(HashMap<u32, (String, Option<String>)>);

    impl Links for Table {
        fn by_index(&self, index: u32) -> Option<(String, Option<String>)> {
            self.0.get(&index).cloned()
        }
        fn by_name(&self, name: &str) -> Option<u32> {
            self.0.iter().find(|(_, v)| v.0 == name).map(|(k, _)| *k)
        }
    }

    fn links() -> Table {
        Table(HashMap::from([
            (1, ("lo".to_string(), None)),
            (2, ("eth0".to_string(), None)),
            (3, ("t1-tap0".to_string(), Some("tun".to_string()))),
        ]))
    }

    fn message(kind: u16, flags: u16, body: impl FnOnce(&mut Writer<Vec<u8>>)) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(kind, flags, 7, 0, |w| {
            body(w);
            Ok(())
        })
        .unwrap();
        w.into_inner()
    }

    fn route_add(table: u32, oif: u32) -> Vec<u8> {
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        message(RTM_NEWROUTE, flags, |w| {
            let mut r = RouteRepr::new(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16);
            r.table = Some(table);
            r.oif = Some(oif);
            r.emit(w).unwrap();
        })
    }

    #[test]
    fn classifies_a_route_add() {
        let b = route_add(254, 3);
        let (m, _) = NlMsg::parse(&b).unwrap();
        let f = facts(&m, &links()).unwrap();
        assert_eq!((f.object, f.verb), (Object::Route, Verb::New));
        assert_eq!(f.table, Some(254));
        assert_eq!(f.prefix, Some((IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16)));
        assert_eq!(f.ifaces[0].name.as_deref(), Some("t1-tap0"));
        assert_eq!(f.link_kind.as_deref(), Some("tun"));
    }

    #[test]
    fn tables_swap_both_ways() {
        let p = Policy::parse(
            "[[rule]]\nname = \"t\"\nfrom = \"main\"\nto = 100\naction = \"map-table\"\n",
        )
        .unwrap();
        let view = p.view(&crate::proxy::policy::Peer {
            uid: 1,
            gid: 1,
            pid: 1,
        });
        let b = route_add(254, 3);
        let (m, _) = NlMsg::parse(&b).unwrap();
        let up = rewrite(&m, &view, Direction::Up).unwrap();
        let (mu, _) = NlMsg::parse(&up).unwrap();
        assert_eq!(facts(&mu, &links()).unwrap().table, Some(100));
        let down = rewrite(&mu, &view, Direction::Down).unwrap();
        assert_eq!(down, b);
    }

    #[test]
    fn names_get_and_lose_the_prefix() {
        let p =
            Policy::parse("[[rule]]\nname = \"n\"\nprefix = \"t1-\"\naction = \"prefix-names\"\n")
                .unwrap();
        let view = p.view(&crate::proxy::policy::Peer {
            uid: 1,
            gid: 1,
            pid: 1,
        });
        let b = message(RTM_GETLINK, NLM_F_REQUEST, |w| {
            w.put(&[0u8; 16]).unwrap();
            w.attr(IFLA_IFNAME, b"tap0\0").unwrap();
        });
        let (m, _) = NlMsg::parse(&b).unwrap();
        let up = rewrite(&m, &view, Direction::Up).unwrap();
        let (mu, _) = NlMsg::parse(&up).unwrap();
        let f = facts(&mu, &links()).unwrap();
        assert_eq!(f.ifaces[0].name.as_deref(), Some("t1-tap0"));
        assert_eq!(f.ifaces[0].index, 3);
        assert_eq!(rewrite(&mu, &view, Direction::Down).unwrap(), b);
        // eth0 lacks the prefix: hidden; naming it is ENODEV.
        assert!(view.hides(2, Some("eth0"), None));
        let addr = message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE, |w| {
            let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
            AddrRepr::new(ip, 24, 2).with_local(ip).emit(w).unwrap();
        });
        let (m, _) = NlMsg::parse(&addr).unwrap();
        let f = facts(&m, &links()).unwrap();
        assert!(names_hidden(&f, &view, &links()));
        assert!(hidden(&m, &view, &links()));
    }

    #[test]
    fn malformed_requests_are_einval_at_every_cut() {
        let b = route_add(254, 3);
        for cut in 16..b.len() {
            let mut m = b[..cut].to_vec();
            m[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            let (msg, _) = NlMsg::parse(&m).unwrap();
            match facts(&msg, &links()) {
                Err(r) => assert_eq!(r.errno, libc::EINVAL, "cut at {cut}"),
                Ok(_) => assert_eq!((cut - 16 - 12) % 4, 0, "cut at {cut} accepted"),
            }
        }
    }

    #[test]
    fn namespace_descriptors_never_go_upstream() {
        let b = message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, |w| {
            w.put(&[0u8; 16]).unwrap();
            w.attr(IFLA_NET_NS_FD, &3u32.to_ne_bytes()).unwrap();
        });
        let (m, _) = NlMsg::parse(&b).unwrap();
        assert_eq!(facts(&m, &links()).unwrap_err().errno, libc::EOPNOTSUPP);
    }
}
