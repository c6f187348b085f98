//! Turning request messages into typed requests, with the kernel's checks
//! and its extended-ACK texts.

use crate::errno::{EINVAL, ENODEV, EOPNOTSUPP, ERANGE};
use crate::stack::StackError;
use crate::wire::consts::*;
use crate::wire::{
    AddrMessage, Attrs, FamilyHeader, IfAddrMsg, IfInfoMsg, LinkMessage, NdMsg, NlMsg, Part,
    RouteMessage, RtMsg,
};

/// Why a request failed: the errno, the extended-ACK text, and the offset
/// of the offending attribute in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub errno: i32,
    pub message: Option<&'static str>,
    pub offset: Option<u32>,
}

impl Failure {
    pub const fn new(errno: i32, message: &'static str) -> Self {
        Failure {
            errno,
            message: Some(message),
            offset: None,
        }
    }

    pub const fn errno(errno: i32) -> Self {
        Failure {
            errno,
            message: None,
            offset: None,
        }
    }

    /// A malformed message: `EINVAL` with the kernel's wording for the part
    /// that broke.
    pub fn malformed(e: crate::wire::Error) -> Self {
        let message = match e.part {
            Part::Header | Part::Body => "Invalid header length",
            Part::Attr(_) | Part::Nested(..) | Part::NextHop => {
                "Attribute failed policy validation"
            }
            Part::Buffer => "Message too long",
        };
        Failure::new(EINVAL, message)
    }

    /// A malformed request of family header `H`, as the kernel's attribute
    /// policy answers it: a value too short for its type, or a string too
    /// long for its room, is `ERANGE` "Attribute failed policy
    /// validation" with the offending attribute's offset; the rest as
    /// [`Failure::malformed`].
    pub fn malformed_in<H: FamilyHeader>(e: crate::wire::Error, msg: &NlMsg<'_>) -> Self {
        use crate::wire::ErrorKind::{TooLong, TooShort};
        match (e.part, e.kind) {
            (Part::Attr(_) | Part::Nested(..), TooShort | TooLong) => Failure {
                errno: ERANGE,
                message: Some("Attribute failed policy validation"),
                offset: attr_offset::<H>(msg, e.part),
            },
            _ => Failure::malformed(e),
        }
    }
}

/// The offset in `msg` (a request with family header `H`) of the first
/// attribute `part` names: a top-level one, or one nested in the first
/// of its parent's type.
fn attr_offset<H: FamilyHeader>(msg: &NlMsg<'_>, part: Part) -> Option<u32> {
    match part {
        Part::Attr(t) => attr_path_offset::<H>(msg, &[t]),
        Part::Nested(p, t) => attr_path_offset::<H>(msg, &[p, t]),
        _ => None,
    }
}

/// The offset in `msg` (a request with family header `H`) of the
/// attribute at `path`: the first of the path's first type at the top,
/// then the first of the next type inside it, and so on.
pub(crate) fn attr_path_offset<H: FamilyHeader>(msg: &NlMsg<'_>, path: &[u16]) -> Option<u32> {
    let header = H::LEN.next_multiple_of(4);
    let mut attrs = msg.payload().get(header..)?;
    let mut base = NLMSG_HDRLEN.saturating_add(header);
    let mut at = None;
    for t in path {
        let (offset, a) = attrs_at(attrs, base)
            .map_while(|(at, a)| a.ok().map(|a| (at, a)))
            .find(|(_, a)| a.attr_type() == *t)?;
        at = Some(offset);
        attrs = a.value();
        base = offset.saturating_add(NLA_HDRLEN);
    }
    u32::try_from(at?).ok()
}

impl From<StackError> for Failure {
    fn from(e: StackError) -> Self {
        Failure {
            errno: e.errno.get(),
            message: e.message,
            offset: None,
        }
    }
}

pub(crate) type Checked<T> = Result<T, Failure>;

/// True for a GET with `NLM_F_DUMP` (either of its bits, as the kernel
/// tests it).
/// The attributes of a request that start `base` bytes into its message,
/// each with its offset there (what an extended ACK names); a walk ends at
/// what does not hold a whole attribute, with that error.
pub(crate) fn attrs_at(
    attrs: &[u8],
    base: usize,
) -> impl Iterator<Item = (usize, crate::wire::Result<crate::wire::Attr<'_>>)> {
    let mut walk = crate::wire::Attrs::new(attrs);
    core::iter::from_fn(move || {
        let at = base.saturating_add(attrs.len().saturating_sub(walk.remaining().len()));
        walk.next().map(|a| (at, a))
    })
}

pub(crate) fn is_dump(msg: &NlMsg<'_>) -> bool {
    msg.flags() & NLM_F_DUMP != 0
}

/// The fixed header of a request that must carry it whole.
pub(crate) fn full_header<H: FamilyHeader>(msg: &NlMsg<'_>, what: &'static str) -> Checked<H> {
    H::parse(msg.payload())
        .map(|(h, _)| h)
        .map_err(|_| Failure::new(EINVAL, what))
}

/// Every attribute of the request is one of `allowed`; else `EINVAL` with
/// `what`, as strict checking answers.
fn only_attrs(attrs: &[u8], allowed: &[u16], what: &'static str) -> Checked<()> {
    for a in Attrs::new(attrs) {
        let a = a.map_err(Failure::malformed)?;
        if !allowed.contains(&a.attr_type()) {
            return Err(Failure::new(EINVAL, what));
        }
    }
    Ok(())
}

/// The attribute bytes after a header of `len` bytes (empty if shorter).
fn attrs_after<'a>(msg: &NlMsg<'a>, len: usize) -> &'a [u8] {
    msg.payload().get(len..).unwrap_or_default()
}

/// `ifinfomsg.__ifi_pad`, which strict checking wants zero.
fn ifi_pad(msg: &NlMsg<'_>) -> u8 {
    msg.payload().get(1).copied().unwrap_or(0)
}

/// Filters of a link dump.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LinkFilter {
    /// `AF_INET6`: the IPv6 view of each link (`inet6_dump_ifinfo`);
    /// `AF_BRIDGE`: bridge ports only; anything else: every link.
    pub family: u8,
    pub master: Option<u32>,
    pub kind: Option<crate::wire::InlineStr<32>>,
}

/// Checks a link dump request and reads its filters.
pub(crate) fn link_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<LinkFilter> {
    let payload = msg.payload();
    if payload.len() < IfInfoMsg::LEN {
        if strict {
            return Err(Failure::new(EINVAL, "Invalid header for link dump"));
        }
        return Ok(LinkFilter::default());
    }
    let h = IfInfoMsg::parse_short(payload);
    let family = h.family;
    if strict {
        if ifi_pad(msg) != 0 || h.hardware_type != 0 || h.flags != 0 || h.change != 0 {
            return Err(Failure::new(
                EINVAL,
                "Invalid values in header for link dump request",
            ));
        }
        if h.index != 0 {
            return Err(Failure::new(
                EINVAL,
                "Filter by device index not supported for link dumps",
            ));
        }
        only_attrs(
            attrs_after(msg, IfInfoMsg::LEN),
            &[
                IFLA_TARGET_NETNSID,
                IFLA_EXT_MASK,
                IFLA_MASTER,
                IFLA_LINKINFO,
            ],
            "Unsupported attribute in link dump request",
        )?;
    }
    let mut f = LinkFilter {
        family,
        ..LinkFilter::default()
    };
    let Ok(m) = LinkMessage::parse(msg) else {
        return Ok(f);
    };
    for a in m.raw_attrs().flatten() {
        match a.attr_type() {
            IFLA_MASTER => f.master = a.u32().ok(),
            IFLA_LINKINFO => {
                for i in a.nested().flatten() {
                    if i.attr_type() == IFLA_INFO_KIND {
                        f.kind = i.str().ok().and_then(crate::wire::InlineStr::try_from_str);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// Checks a `RTM_GETLINK` for one link (the kernel's
/// `rtnl_valid_getlink_req`).
pub(crate) fn link_get(msg: &NlMsg<'_>, strict: bool) -> Checked<()> {
    let h: IfInfoMsg = full_header(msg, "Invalid header for get link")?;
    if strict {
        if ifi_pad(msg) != 0 || h.hardware_type != 0 || h.flags != 0 || h.change != 0 {
            return Err(Failure::new(
                EINVAL,
                "Invalid values in header for get link request",
            ));
        }
        only_attrs(
            attrs_after(msg, IfInfoMsg::LEN),
            &[
                IFLA_IFNAME,
                IFLA_ALT_IFNAME,
                IFLA_EXT_MASK,
                IFLA_TARGET_NETNSID,
            ],
            "Unsupported attribute in get link request",
        )?;
    }
    Ok(())
}

/// Filters of an address dump.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AddrFilter {
    pub family: u8,
    pub index: u32,
}

/// Checks an address dump request (`inet_valid_dump_ifaddr_req`).
pub(crate) fn addr_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<AddrFilter> {
    let payload = msg.payload();
    let h = IfAddrMsg::parse_short(payload);
    let mut f = AddrFilter {
        family: h.family,
        index: 0,
    };
    if !strict {
        return Ok(f);
    }
    let v6 = h.family == AF_INET6;
    if payload.len() < IfAddrMsg::LEN {
        return Err(Failure::new(
            EINVAL,
            if v6 {
                "ipv6: Invalid header for address dump request"
            } else {
                "ipv4: Invalid header for address dump request"
            },
        ));
    }
    if h.prefix_len != 0 || h.flags != 0 || h.scope != 0 {
        return Err(Failure::new(
            EINVAL,
            if v6 {
                "ipv6: Invalid values in header for address dump request"
            } else {
                "ipv4: Invalid values in header for address dump request"
            },
        ));
    }
    only_attrs(
        attrs_after(msg, IfAddrMsg::LEN),
        &[IFA_TARGET_NETNSID],
        if v6 {
            "ipv6: Unsupported attribute in dump request"
        } else {
            "ipv4: Unsupported attribute in dump request"
        },
    )?;
    f.index = h.index;
    Ok(f)
}

/// Filters of a route dump.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RouteFilter {
    pub family: u8,
    pub table: u32,
    pub protocol: u8,
    pub route_type: u8,
    pub oif: u32,
    /// `RTM_F_CLONED`: the route cache, which holds nothing here.
    pub cache: bool,
    /// Strict checking was on: the kernel then marks every message of the
    /// dump `NLM_F_DUMP_FILTERED` (`ip_valid_fib_dump_req`).
    pub strict: bool,
}

impl RouteFilter {
    /// True when strict filters were given (`NLM_F_DUMP_FILTERED`).
    pub fn is_set(&self) -> bool {
        self.table != 0 || self.protocol != 0 || self.route_type != 0 || self.oif != 0 || self.cache
    }

    /// True when the dump's messages carry `NLM_F_DUMP_FILTERED`.
    pub fn marks_filtered(&self) -> bool {
        self.strict || self.is_set()
    }
}

/// Checks a route dump request (`ip_valid_fib_dump_req`).
pub(crate) fn route_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<RouteFilter> {
    let payload = msg.payload();
    let h = RtMsg::parse_short(payload);
    let mut f = RouteFilter {
        family: h.family,
        ..RouteFilter::default()
    };
    if !strict {
        if payload.len() >= RtMsg::LEN {
            f.cache = h.flags & RTM_F_CLONED != 0;
        }
        return Ok(f);
    }
    if payload.len() < RtMsg::LEN {
        return Err(Failure::new(EINVAL, "Invalid header for FIB dump request"));
    }
    if h.dst_len != 0 || h.src_len != 0 || h.tos != 0 || h.scope != 0 {
        return Err(Failure::new(
            EINVAL,
            "Invalid values in header for FIB dump request",
        ));
    }
    if h.flags & !(RTM_F_CLONED | RTM_F_PREFIX) != 0 {
        return Err(Failure::new(EINVAL, "Invalid flags for FIB dump request"));
    }
    f.cache = h.flags & RTM_F_CLONED != 0;
    f.strict = true;
    f.protocol = h.protocol;
    f.route_type = h.route_type;
    f.table = u32::from(h.table);
    for a in Attrs::new(attrs_after(msg, RtMsg::LEN)) {
        let a = a.map_err(Failure::malformed)?;
        match a.attr_type() {
            RTA_TABLE => f.table = a.u32().map_err(Failure::malformed)?,
            RTA_OIF => f.oif = a.u32().map_err(Failure::malformed)?,
            _ => {
                return Err(Failure::new(
                    EINVAL,
                    "Unsupported attribute in dump request",
                ))
            }
        }
    }
    Ok(f)
}

/// Filters of a neighbour dump.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NeighFilter {
    pub family: u8,
    pub index: u32,
}

/// Checks a neighbour dump request (`neigh_valid_dump_req`).
pub(crate) fn neigh_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<NeighFilter> {
    let payload = msg.payload();
    let h = NdMsg::parse_short(payload);
    let mut f = NeighFilter {
        family: h.family,
        index: 0,
    };
    if !strict {
        return Ok(f);
    }
    if payload.len() < NdMsg::LEN {
        return Err(Failure::new(
            EINVAL,
            "Invalid header for neighbor dump request",
        ));
    }
    if h.state != 0 || h.address_type != 0 {
        return Err(Failure::new(
            EINVAL,
            "Invalid values in header for neighbor dump request",
        ));
    }
    f.index = h.ifindex;
    Ok(f)
}

/// The address family of an address or route change: only IPv4 and IPv6
/// have handlers; anything else is `EOPNOTSUPP`, as the kernel answers when
/// no family registered the message type.
pub(crate) fn inet_family(family: u8) -> Checked<()> {
    match family {
        AF_INET | AF_INET6 => Ok(()),
        _ => Err(Failure::errno(EOPNOTSUPP)),
    }
}

/// The payload view of an address request.
pub(crate) fn addr_message<'a>(msg: &NlMsg<'a>) -> Checked<AddrMessage<'a>> {
    AddrMessage::parse(msg).map_err(Failure::malformed)
}

/// The payload view of a route request.
pub(crate) fn route_message<'a>(msg: &NlMsg<'a>) -> Checked<RouteMessage<'a>> {
    RouteMessage::parse(msg).map_err(Failure::malformed)
}

/// The payload view of a link request.
pub(crate) fn link_message<'a>(msg: &NlMsg<'a>) -> Checked<LinkMessage<'a>> {
    LinkMessage::parse(msg).map_err(Failure::malformed)
}

/// `ENODEV` with the kernel's text.
pub(crate) const NO_DEVICE: Failure = Failure {
    errno: ENODEV,
    message: None,
    offset: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Messages, Writer};

    fn one(bytes: &[u8]) -> NlMsg<'_> {
        Messages::new(bytes).next().unwrap().unwrap()
    }

    #[test]
    fn short_dump_bodies_pass_only_without_strict_checking() {
        let mut w = Writer::new(Vec::new());
        w.message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
            w.put(&[0])
        })
        .unwrap();
        let m = one(w.buffer());
        assert!(link_dump(&m, false).is_ok());
        assert_eq!(link_dump(&m, true).unwrap_err().errno, EINVAL);
    }

    #[test]
    fn strict_route_dump_reads_table_and_refuses_other_attributes() {
        let mut w = Writer::new(Vec::new());
        let h = RtMsg {
            family: AF_INET,
            ..RtMsg::default()
        };
        w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
            h.emit(w)?;
            w.attr_u32(RTA_TABLE, 254)
        })
        .unwrap();
        let f = route_dump(&one(w.buffer()), true).unwrap();
        assert_eq!(f.table, 254);
        assert!(f.is_set());

        let mut w = Writer::new(Vec::new());
        w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
            h.emit(w)?;
            w.attr_u32(RTA_PRIORITY, 5)
        })
        .unwrap();
        let e = route_dump(&one(w.buffer()), true).unwrap_err();
        assert_eq!(e.message, Some("Unsupported attribute in dump request"));
        assert!(route_dump(&one(w.buffer()), false).is_ok());
    }
}
