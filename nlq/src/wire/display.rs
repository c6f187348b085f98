//! Messages for people: one line each, with the names `ip` uses
//! (`RTM_NEWROUTE`, `REQUEST|ACK`, `proto static`, `scope link`, and link
//! names when a [`LinkNames`] is given).
//!
//! `format!("{msg}")` on an [`NlMsg`] gives its header (type, flags,
//! sequence number, port, length) and what it says; [`NlMsg::display`]
//! gives the same with options: link names instead of indexes, or what it
//! says without the header. Nothing is allocated (this works without
//! `alloc`), and nothing panics on any message: an attribute that cannot
//! be read shows as `<bad attribute: ...>`, a body that cannot be read as
//! `cannot be read: ...`.
//!
//! ```
//! use nlq::wire::consts::*;
//! use nlq::wire::{Messages, RouteRepr, Writer};
//! use std::net::{IpAddr, Ipv4Addr};
//!
//! let mut w = Writer::new(Vec::new());
//! let dst = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0));
//! let mut route = RouteRepr::new(dst, 16);
//! route.header.protocol = RTPROT_STATIC;
//! route.oif = Some(2);
//! w.message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE, 1, 0, |w| route.emit(w)).unwrap();
//! let bytes = w.into_inner();
//! let msg = Messages::new(&bytes).next().unwrap().unwrap();
//! let names = [(2, "br0")];
//! assert_eq!(
//!     msg.display().body_only().with_names(&names[..]).to_string(),
//!     "route inet 10.1.0.0/16 dev br0 table main proto static scope global"
//! );
//! ```

use core::fmt::{self, Display, Formatter};

use super::consts::*;
use super::{
    AddrAttr, AddrMessage, LinkAttr, LinkInfoAttr, LinkMessage, Message, NeighAttr, NeighMessage,
    NetconfRepr, NexthopMessage, NexthopRepr, NlMsg, NsidRepr, RouteAttr, RouteMessage,
    RuleMessage, RuleRepr,
};

/// Link names by index, so that a message shows `dev br0` rather than
/// `index 2`.
pub trait LinkNames {
    /// The name of link `index`, if known.
    fn link_name(&self, index: u32) -> Option<&str>;
}

/// No names: links show by index.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNames;

impl LinkNames for NoNames {
    fn link_name(&self, _: u32) -> Option<&str> {
        None
    }
}

impl<S: AsRef<str>> LinkNames for [(u32, S)] {
    fn link_name(&self, index: u32) -> Option<&str> {
        self.iter()
            .find(|(i, _)| *i == index)
            .map(|(_, name)| name.as_ref())
    }
}

#[cfg(feature = "alloc")]
impl<S: AsRef<str>> LinkNames for alloc::collections::BTreeMap<u32, S> {
    fn link_name(&self, index: u32) -> Option<&str> {
        self.get(&index).map(AsRef::as_ref)
    }
}

#[cfg(feature = "std")]
impl<S: AsRef<str>, H: core::hash::BuildHasher> LinkNames for std::collections::HashMap<u32, S, H> {
    fn link_name(&self, index: u32) -> Option<&str> {
        self.get(&index).map(AsRef::as_ref)
    }
}

/// A message as one line: its header, then what it says, links by index
/// or by name; made by [`NlMsg::display`].
#[derive(Clone, Copy)]
pub struct ShowMessage<'m, 'a, N: ?Sized = NoNames> {
    msg: &'m NlMsg<'a>,
    names: &'m N,
    header: bool,
}

impl<'a> NlMsg<'a> {
    /// This message as one line, header first; see [`ShowMessage`] for the
    /// options.
    pub fn display(&self) -> ShowMessage<'_, 'a> {
        ShowMessage {
            msg: self,
            names: &NoNames,
            header: true,
        }
    }
}

impl<'m, 'a, N: LinkNames + ?Sized> ShowMessage<'m, 'a, N> {
    /// Links shown by their names in `names` (their index when missing).
    pub fn with_names<M: LinkNames + ?Sized>(self, names: &'m M) -> ShowMessage<'m, 'a, M> {
        ShowMessage {
            msg: self.msg,
            names,
            header: self.header,
        }
    }

    /// What the message says, without its header.
    pub fn body_only(self) -> Self {
        ShowMessage {
            header: false,
            ..self
        }
    }

    /// Only the header: type, flags, sequence number, port, length.
    pub fn header(&self) -> impl Display + 'm {
        Header(*self.msg)
    }
}

impl<N: LinkNames + ?Sized> Display for ShowMessage<'_, '_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.header {
            write!(f, "{}: ", Header(*self.msg))?;
        }
        body(f, self.msg, self.names)
    }
}

impl Display for NlMsg<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.display().fmt(f)
    }
}

/// The header line of a message.
struct Header<'a>(NlMsg<'a>);

impl Display for Header<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(
            f,
            "{} flags={} seq={} port={} len={}",
            TypeName(m.message_type()),
            FlagNames::new(m.message_type(), m.flags()),
            m.seq(),
            m.port(),
            m.len()
        )
    }
}

/// A message type's name (`RTM_NEWLINK`), or `type N`.
#[derive(Debug, Clone, Copy)]
pub struct TypeName(pub u16);

impl Display for TypeName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match message_type_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// The `NLM_F_*` names of a message's flags, as `REQUEST|ACK|CREATE`: the
/// names of a flag shared by several meanings follow the message type
/// (`NLM_F_DUMP` for a GET, `NLM_F_CREATE` for a NEW, `NLM_F_CAPPED` for
/// an error); bits with no name show in hex; no flags shows `0`.
#[derive(Debug, Clone, Copy)]
pub struct FlagNames {
    kind: u16,
    flags: u16,
}

impl FlagNames {
    /// The flags of a message of type `kind`.
    pub fn new(kind: u16, flags: u16) -> Self {
        FlagNames { kind, flags }
    }
}

impl Display for FlagNames {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        const COMMON: &[(u16, &str)] = &[
            (NLM_F_REQUEST, "REQUEST"),
            (NLM_F_MULTI, "MULTI"),
            (NLM_F_ACK, "ACK"),
            (NLM_F_ECHO, "ECHO"),
            (NLM_F_DUMP_INTR, "DUMP_INTR"),
            (NLM_F_DUMP_FILTERED, "DUMP_FILTERED"),
        ];
        let kind = self.kind;
        let by_type: &[(u16, &str)] = if kind == NLMSG_ERROR {
            &[(NLM_F_CAPPED, "CAPPED"), (NLM_F_ACK_TLVS, "ACK_TLVS")]
        } else if kind < NLMSG_MIN_TYPE {
            &[]
        } else {
            match kind & 3 {
                2 => &[
                    (NLM_F_DUMP, "DUMP"),
                    (NLM_F_ROOT, "ROOT"),
                    (NLM_F_MATCH, "MATCH"),
                    (NLM_F_ATOMIC, "ATOMIC"),
                ],
                0 => &[
                    (NLM_F_REPLACE, "REPLACE"),
                    (NLM_F_EXCL, "EXCL"),
                    (NLM_F_CREATE, "CREATE"),
                    (NLM_F_APPEND, "APPEND"),
                ],
                1 => &[(NLM_F_NONREC, "NONREC"), (NLM_F_BULK, "BULK")],
                _ => &[],
            }
        };
        let mut left = self.flags;
        let mut sep = "";
        for (bit, name) in COMMON.iter().chain(by_type) {
            if *bit != 0 && left & bit == *bit {
                write!(f, "{sep}{name}")?;
                sep = "|";
                left &= !bit;
            }
        }
        match (left, sep) {
            (0, "") => f.write_str("0"),
            (0, _) => Ok(()),
            (left, sep) => write!(f, "{sep}{left:#x}"),
        }
    }
}

/// What a message says.
fn body<N: LinkNames + ?Sized>(f: &mut Formatter<'_>, m: &NlMsg<'_>, names: &N) -> fmt::Result {
    match m.typed() {
        Ok(Message::Link(l)) => link(f, &l, names),
        Ok(Message::Addr(a)) => addr(f, &a, names),
        Ok(Message::Route(r)) => route(f, &r, names),
        Ok(Message::Neigh(n)) => neigh(f, &n, names),
        Ok(Message::Rule(r)) => rule(f, &r),
        Ok(Message::Nexthop(n)) => nexthop(f, &n, names),
        Ok(Message::Netconf(n)) => match NetconfRepr::parse(&n) {
            Ok(r) => write!(f, "{r:?}"),
            Err(e) => write!(f, "malformed: {e}"),
        },
        Ok(Message::Nsid(n)) => match NsidRepr::parse(&n) {
            Ok(r) => write!(f, "{r:?}"),
            Err(e) => write!(f, "malformed: {e}"),
        },
        Ok(Message::Error(e)) => {
            let req = e.request();
            if e.is_ack() {
                f.write_str("ACK")?;
            } else {
                let errno = e.errno();
                write!(f, "error {} ({errno})", crate::errno::Errno(errno))?;
            }
            write!(f, " (to {} seq={})", TypeName(req.message_type), req.seq)?;
            let ack = e.ext_ack();
            if let Some(msg) = ack.msg {
                write!(f, ": {msg:?}")?;
            }
            if let Some(off) = ack.offset {
                write!(f, " at offset {off}")?;
            }
            Ok(())
        }
        Ok(Message::Done(d)) => {
            write!(f, "done, status {}", d.error)?;
            if let Some(msg) = d.ext_ack().msg {
                write!(f, ": {msg:?}")?;
            }
            Ok(())
        }
        Ok(Message::Noop) => write!(f, "noop, {} bytes of payload", m.payload().len()),
        Ok(Message::Overrun) => f.write_str("overrun"),
        Ok(Message::Other(_)) => write!(f, "{} bytes of payload", m.payload().len()),
        Err(e) => write!(f, "cannot be read: {e}"),
    }
}

/// Bytes as `aa:bb:cc`.
struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A link: its name when known, else its index.
struct Dev<'n, N: ?Sized>(u32, &'n N);

impl<N: LinkNames + ?Sized> Display for Dev<'_, N> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.1.link_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// ` dev NAME` when the link has a known name, else ` index N`.
fn link_of<N: LinkNames + ?Sized>(f: &mut Formatter<'_>, index: u32, names: &N) -> fmt::Result {
    match names.link_name(index) {
        Some(name) => write!(f, " dev {name}"),
        None => write!(f, " index {index}"),
    }
}

/// An address family's name (`inet`, `inet6`, `bridge`, ...).
#[derive(Debug, Clone, Copy)]
pub struct FamilyName(pub u8);

impl Display for FamilyName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            AF_UNSPEC => "unspec",
            AF_INET => "inet",
            AF_INET6 => "inet6",
            AF_BRIDGE => "bridge",
            AF_PACKET => "packet",
            AF_MPLS => "mpls",
            other => return write!(f, "family {other}"),
        })
    }
}

/// A route or address scope as `ip` names it (`global`, `link`, `host`).
#[derive(Debug, Clone, Copy)]
pub struct ScopeName(pub u8);

impl Display for ScopeName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            RT_SCOPE_UNIVERSE => "global",
            RT_SCOPE_SITE => "site",
            RT_SCOPE_LINK => "link",
            RT_SCOPE_HOST => "host",
            RT_SCOPE_NOWHERE => "nowhere",
            other => return write!(f, "{other}"),
        })
    }
}

/// A route's protocol as `ip` names it (iproute2's `rt_protos`:
/// `kernel`, `boot`, `static`, `dhcp`, `bgp`, ...), else its number.
#[derive(Debug, Clone, Copy)]
pub struct ProtocolName(pub u8);

impl Display for ProtocolName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            RTPROT_UNSPEC => "unspec",
            RTPROT_REDIRECT => "redirect",
            RTPROT_KERNEL => "kernel",
            RTPROT_BOOT => "boot",
            RTPROT_STATIC => "static",
            8 => "gated",
            9 => "ra",
            10 => "mrt",
            11 => "zebra",
            12 => "bird",
            13 => "dnrouted",
            14 => "xorp",
            15 => "ntk",
            16 => "dhcp",
            18 => "keepalived",
            42 => "babel",
            99 => "openr",
            186 => "bgp",
            187 => "isis",
            188 => "ospf",
            189 => "rip",
            192 => "eigrp",
            other => return write!(f, "{other}"),
        })
    }
}

/// A route's type as `ip` puts it before the destination: nothing for a
/// unicast route, else its name and a space (`local `, `broadcast `,
/// `blackhole `, ...).
#[derive(Debug, Clone, Copy)]
pub struct RouteTypeName(pub u8);

impl Display for RouteTypeName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            RTN_UNSPEC | RTN_UNICAST => "",
            RTN_LOCAL => "local ",
            RTN_BROADCAST => "broadcast ",
            RTN_ANYCAST => "anycast ",
            RTN_MULTICAST => "multicast ",
            RTN_BLACKHOLE => "blackhole ",
            RTN_UNREACHABLE => "unreachable ",
            RTN_PROHIBIT => "prohibit ",
            RTN_THROW => "throw ",
            _ => "other-type ",
        })
    }
}

/// A routing table as `ip` names it (`main`, `local`, `default`), else
/// its number.
#[derive(Debug, Clone, Copy)]
pub struct TableName(pub u32);

impl Display for TableName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            RT_TABLE_MAIN => "main",
            RT_TABLE_LOCAL => "local",
            RT_TABLE_DEFAULT => "default",
            other => return write!(f, "{other}"),
        })
    }
}

/// ` <bad attribute: ...>`.
fn bad(f: &mut Formatter<'_>, e: super::Error) -> fmt::Result {
    write!(f, " <bad attribute: {e}>")
}

/// Names of the set bits of `flags` from `table`, `sep` between them;
/// whether any was written.
fn bit_names(
    f: &mut Formatter<'_>,
    flags: u32,
    table: &[(u32, &str)],
    first: &str,
    sep: &str,
) -> Result<bool, fmt::Error> {
    let mut any = false;
    for (bit, name) in table {
        if flags & bit != 0 {
            f.write_str(if any { sep } else { first })?;
            f.write_str(name)?;
            any = true;
        }
    }
    Ok(any)
}

fn link<N: LinkNames + ?Sized>(
    f: &mut Formatter<'_>,
    l: &LinkMessage<'_>,
    names: &N,
) -> fmt::Result {
    let h = l.header();
    write!(
        f,
        "link {} index {} type {} <",
        FamilyName(h.family),
        h.index,
        h.hardware_type
    )?;
    bit_names(
        f,
        h.flags,
        &[
            (IFF_UP, "UP"),
            (IFF_BROADCAST, "BROADCAST"),
            (IFF_LOOPBACK, "LOOPBACK"),
            (IFF_POINTOPOINT, "POINTOPOINT"),
            (IFF_RUNNING, "RUNNING"),
            (IFF_NOARP, "NOARP"),
            (IFF_PROMISC, "PROMISC"),
            (IFF_MULTICAST, "MULTICAST"),
            (IFF_LOWER_UP, "LOWER_UP"),
        ],
        "",
        ",",
    )?;
    f.write_str(">")?;
    if h.change != 0 {
        write!(f, " change {:#x}", h.change)?;
    }
    for a in l.attrs() {
        match a {
            Ok(LinkAttr::IfName(n)) => write!(f, " name {n}")?,
            Ok(LinkAttr::Mtu(v)) => write!(f, " mtu {v}")?,
            Ok(LinkAttr::Address(m)) => write!(f, " address {}", Hex(m))?,
            Ok(LinkAttr::Broadcast(m)) => write!(f, " brd {}", Hex(m))?,
            Ok(LinkAttr::TxQueueLen(v)) => write!(f, " qlen {v}")?,
            Ok(LinkAttr::OperState(o)) => match o {
                IF_OPER_UP => f.write_str(" state UP")?,
                IF_OPER_DOWN => f.write_str(" state DOWN")?,
                IF_OPER_LOWERLAYERDOWN => f.write_str(" state LOWERLAYERDOWN")?,
                0 => f.write_str(" state UNKNOWN")?,
                o => write!(f, " state {o}")?,
            },
            Ok(LinkAttr::Master(m)) => write!(f, " master {}", Dev(m, names))?,
            Ok(LinkAttr::Link(m)) => write!(f, " link {}", Dev(m, names))?,
            Ok(LinkAttr::Group(g)) if g != 0 => write!(f, " group {g}")?,
            Ok(LinkAttr::IfAlias(a)) => write!(f, " alias {a:?}")?,
            Ok(LinkAttr::NewIfIndex(i)) => write!(f, " new index {i}")?,
            Ok(LinkAttr::ExtMask(m)) => write!(f, " ext mask {m:#x}")?,
            Ok(LinkAttr::LinkInfo(info)) => {
                for i in info {
                    match i {
                        Ok(LinkInfoAttr::Kind(k)) => write!(f, " kind {k}")?,
                        Ok(LinkInfoAttr::SlaveKind(k)) => write!(f, " port of {k}")?,
                        Ok(_) => {}
                        Err(e) => bad(f, e)?,
                    }
                }
            }
            Ok(_) => {}
            Err(e) => bad(f, e)?,
        }
    }
    Ok(())
}

fn addr<N: LinkNames + ?Sized>(
    f: &mut Formatter<'_>,
    a: &AddrMessage<'_>,
    names: &N,
) -> fmt::Result {
    let h = a.header();
    write!(f, "addr {}", FamilyName(h.family))?;
    link_of(f, h.index, names)?;
    // The address first, then the other attributes in their order.
    let (mut local, mut address, mut flags) = (None, None, u32::from(h.flags));
    for x in a.attrs().flatten() {
        match x {
            AddrAttr::Local(ip) => local = Some(ip.ip()),
            AddrAttr::Address(ip) => address = Some(ip.ip()),
            AddrAttr::Flags(v) => flags = v,
            _ => {}
        }
    }
    match (local, address) {
        (Some(l), Some(p)) if l != p => write!(f, " {l} peer {p}/{}", h.prefix_len)?,
        (Some(ip), _) | (None, Some(ip)) => write!(f, " {ip}/{}", h.prefix_len)?,
        (None, None) => write!(f, " /{}", h.prefix_len)?,
    }
    for x in a.attrs() {
        match x {
            Ok(AddrAttr::Label(l)) => write!(f, " label {l}")?,
            Ok(AddrAttr::Broadcast(b)) => write!(f, " brd {b}")?,
            Ok(AddrAttr::Anycast(b)) => write!(f, " anycast {b}")?,
            Ok(AddrAttr::CacheInfo(c)) => {
                f.write_str(" valid ")?;
                lifetime(f, c.valid)?;
                f.write_str(" preferred ")?;
                lifetime(f, c.preferred)?;
            }
            Ok(_) => {}
            Err(e) => bad(f, e)?,
        }
    }
    write!(f, " scope {}", ScopeName(h.scope))?;
    bit_names(
        f,
        flags,
        &[
            (IFA_F_SECONDARY, "secondary"),
            (IFA_F_NODAD, "nodad"),
            (IFA_F_OPTIMISTIC, "optimistic"),
            (IFA_F_DADFAILED, "dadfailed"),
            (IFA_F_HOMEADDRESS, "home"),
            (IFA_F_DEPRECATED, "deprecated"),
            (IFA_F_TENTATIVE, "tentative"),
            (IFA_F_PERMANENT, "permanent"),
            (IFA_F_MANAGETEMPADDR, "mngtmpaddr"),
            (IFA_F_NOPREFIXROUTE, "noprefixroute"),
            (IFA_F_MCAUTOJOIN, "autojoin"),
            (IFA_F_STABLE_PRIVACY, "stable-privacy"),
        ],
        " ",
        " ",
    )?;
    Ok(())
}

/// An address lifetime: `forever` or seconds.
fn lifetime(f: &mut Formatter<'_>, v: u32) -> fmt::Result {
    if v == u32::MAX {
        f.write_str("forever")
    } else {
        write!(f, "{v}s")
    }
}

fn route<N: LinkNames + ?Sized>(
    f: &mut Formatter<'_>,
    r: &RouteMessage<'_>,
    names: &N,
) -> fmt::Result {
    let h = r.header();
    write!(
        f,
        "route {} {}",
        FamilyName(h.family),
        RouteTypeName(h.route_type)
    )?;
    // The destination and table first, the rest in their order.
    let (mut dst, mut table) = (None, u32::from(h.table));
    for x in r.attrs().flatten() {
        match x {
            RouteAttr::Dst(ip) => dst = Some(ip),
            RouteAttr::Table(t) => table = t,
            _ => {}
        }
    }
    match dst {
        Some(ip) => write!(f, "{ip}/{}", h.dst_len)?,
        None if h.dst_len == 0 => f.write_str("default")?,
        None => write!(f, "?/{}", h.dst_len)?,
    }
    for x in r.attrs() {
        match x {
            Ok(RouteAttr::Src(ip)) => write!(f, " from {ip}/{}", h.src_len)?,
            Ok(RouteAttr::Gateway(ip) | RouteAttr::Via(ip)) => write!(f, " via {ip}")?,
            Ok(RouteAttr::Oif(i)) => write!(f, " dev {}", Dev(i, names))?,
            Ok(RouteAttr::Iif(i)) => write!(f, " iif {}", Dev(i, names))?,
            Ok(RouteAttr::PrefSrc(ip)) => write!(f, " src {ip}")?,
            Ok(RouteAttr::Priority(p)) => write!(f, " metric {p}")?,
            Ok(RouteAttr::Mark(m)) => write!(f, " mark {m}")?,
            Ok(RouteAttr::Pref(p)) => write!(f, " pref {p}")?,
            Ok(RouteAttr::Expires(e)) => write!(f, " expires {e}")?,
            Ok(RouteAttr::Metrics(_)) => f.write_str(" metrics")?,
            Ok(RouteAttr::NhId(id)) => write!(f, " nhid {id}")?,
            Ok(RouteAttr::Multipath(hops)) => {
                for hop in hops {
                    let hop = match hop {
                        Ok(hop) => hop,
                        Err(e) => {
                            bad(f, e)?;
                            continue;
                        }
                    };
                    write!(f, " nexthop dev {}", Dev(hop.ifindex(), names))?;
                    for a in hop.attrs() {
                        match a {
                            Ok(RouteAttr::Gateway(g) | RouteAttr::Via(g)) => write!(f, " via {g}")?,
                            Ok(_) => {}
                            Err(e) => bad(f, e)?,
                        }
                    }
                    write!(f, " weight {}", u32::from(hop.hops()).saturating_add(1))?;
                }
            }
            Ok(_) => {}
            Err(e) => bad(f, e)?,
        }
    }
    write!(
        f,
        " table {} proto {} scope {}",
        TableName(table),
        ProtocolName(h.protocol),
        ScopeName(h.scope)
    )
}

fn neigh<N: LinkNames + ?Sized>(
    f: &mut Formatter<'_>,
    n: &NeighMessage<'_>,
    names: &N,
) -> fmt::Result {
    let h = n.header();
    write!(f, "neigh {}", FamilyName(h.family))?;
    link_of(f, h.ifindex, names)?;
    for x in n.attrs() {
        match x {
            Ok(NeighAttr::Dst(ip)) => write!(f, " {ip}")?,
            Ok(NeighAttr::LlAddr(m)) => write!(f, " lladdr {}", Hex(m))?,
            Ok(_) => {}
            Err(e) => bad(f, e)?,
        }
    }
    write!(f, " state {:#x}", h.state)
}

fn nexthop<N: LinkNames + ?Sized>(
    f: &mut Formatter<'_>,
    m: &NexthopMessage<'_>,
    names: &N,
) -> fmt::Result {
    let r = match NexthopRepr::parse(m) {
        Ok(r) => r,
        Err(e) => return write!(f, "nexthop that cannot be read: {e}"),
    };
    write!(f, "nexthop id {}", r.id.unwrap_or(0))?;
    if let Some(g) = &r.group {
        for (i, m) in g.as_slice().iter().enumerate() {
            let sep = if i == 0 { " group " } else { "," };
            write!(f, "{sep}{}/{}", m.id, m.weight)?;
        }
    }
    if let Some(gw) = r.gateway {
        write!(f, " via {gw}")?;
    }
    if let Some(oif) = r.oif {
        write!(f, " dev {}", Dev(oif, names))?;
    }
    if r.blackhole {
        f.write_str(" blackhole")?;
    }
    Ok(())
}

fn rule(f: &mut Formatter<'_>, m: &RuleMessage<'_>) -> fmt::Result {
    let h = m.header();
    let r = match RuleRepr::parse(m) {
        Ok(r) => r,
        Err(e) => return write!(f, "rule {}: cannot be read: {e}", FamilyName(h.family)),
    };
    write!(
        f,
        "rule {} pref {}",
        FamilyName(h.family),
        r.priority.unwrap_or(0)
    )?;
    if let Some(ip) = r.src {
        write!(f, " from {ip}/{}", h.src_len)?;
    }
    if let Some(ip) = r.dst {
        write!(f, " to {ip}/{}", h.dst_len)?;
    }
    if let Some(n) = &r.iifname {
        write!(f, " iif {n}")?;
    }
    if let Some(n) = &r.oifname {
        write!(f, " oif {n}")?;
    }
    if let Some(mark) = r.fwmark {
        write!(f, " fwmark {mark:#x}/{:#x}", r.fwmask.unwrap_or(u32::MAX))?;
    }
    match h.action {
        FR_ACT_TO_TBL => write!(f, " lookup {}", TableName(r.table_id()))?,
        FR_ACT_GOTO => write!(f, " goto {}", r.goto.unwrap_or(0))?,
        FR_ACT_NOP => f.write_str(" nop")?,
        FR_ACT_BLACKHOLE => f.write_str(" blackhole")?,
        FR_ACT_UNREACHABLE => f.write_str(" unreachable")?,
        FR_ACT_PROHIBIT => f.write_str(" prohibit")?,
        a => write!(f, " action {a}")?,
    }
    if h.flags != 0 {
        write!(f, " flags {:#x}", h.flags)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::ENODEV;
    use crate::wire::{emit_error, AddrRepr, ExtAck, Messages, Writer};
    use std::net::{IpAddr, Ipv4Addr};

    fn one(
        kind: u16,
        flags: u16,
        emit: impl FnOnce(&mut Writer<Vec<u8>>) -> crate::wire::Result<()>,
    ) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(kind, flags, 7, 0, emit).unwrap();
        w.into_inner()
    }

    fn show(bytes: &[u8]) -> String {
        Messages::new(bytes).next().unwrap().unwrap().to_string()
    }

    #[test]
    fn an_address_request_reads_as_ip_names_it() {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let m = one(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            |w| AddrRepr::new(ip, 24, 2).with_local(ip).emit(w),
        );
        assert_eq!(
            show(&m),
            format!(
                "RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=7 port=0 len={}: \
                 addr inet index 2 10.0.0.1/24 scope global",
                m.len()
            )
        );
        let msg = Messages::new(&m).next().unwrap().unwrap();
        let names = [(2u32, "br0")];
        assert_eq!(
            msg.display().body_only().with_names(&names[..]).to_string(),
            "addr inet dev br0 10.0.0.1/24 scope global"
        );
        // An error answering it names the errno, the request and the text.
        let request = Messages::new(&m).next().unwrap().unwrap();
        let mut w = Writer::new(Vec::new());
        let text = ExtAck {
            msg: Some("no such device"),
            ..ExtAck::default()
        };
        emit_error(&mut w, &request, ENODEV, true, &text, 0).unwrap();
        assert!(show(&w.into_inner())
            .ends_with("error ENODEV (19) (to RTM_NEWADDR seq=7): \"no such device\""),);
    }

    #[test]
    fn flag_names_follow_the_type() {
        let names = |kind, flags| FlagNames::new(kind, flags).to_string();
        assert_eq!(
            names(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP),
            "REQUEST|DUMP"
        );
        assert_eq!(names(NLMSG_ERROR, NLM_F_CAPPED), "CAPPED");
        assert_eq!(names(RTM_DELADDR, 0x1000), "0x1000");
        assert_eq!(names(RTM_DELADDR, NLM_F_ACK | 0x1000), "ACK|0x1000");
        assert_eq!(names(NLMSG_DONE, NLM_F_MULTI), "MULTI");
        assert_eq!(names(RTM_NEWLINK, 0), "0");
    }

    #[test]
    fn a_body_cut_short_says_so() {
        // A route message whose body is one byte: the body cannot be read.
        let mut m = one(RTM_NEWROUTE, NLM_F_REQUEST, |_| Ok(()));
        m.push(0);
        let len = m.len() as u32;
        m[..4].copy_from_slice(&len.to_ne_bytes());
        assert!(
            show(&m).ends_with(": cannot be read: message body: truncated"),
            "{}",
            show(&m)
        );
    }
}
