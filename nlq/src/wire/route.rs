//! Routes: `rtmsg` + `RTA_*` (RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE),
//! with `RTA_METRICS` and `RTA_MULTIPATH` (a list of `rtnexthop`).

use core::net::IpAddr;

use super::attr::{Attr, AttrDecode, Attrs, IpBytes, TypedAttrs};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::inline::InlineStr;
use super::parse::{align, ne16, ne32};
use super::repr::{check_ip, check_prefix, family_of};
use super::writer::{Buffer, Writer};
use super::{Error, ErrorKind, Part, Reader, Result, Short};

/// `struct rtmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RtMsg {
    /// `rtm_family`.
    pub family: u8,
    /// `rtm_dst_len`: destination prefix length.
    pub dst_len: u8,
    /// `rtm_src_len`: source prefix length.
    pub src_len: u8,
    /// `rtm_tos`.
    pub tos: u8,
    /// `rtm_table`: the table id when below 256 (else `RT_TABLE_UNSPEC` and
    /// `RTA_TABLE` carries it).
    pub table: u8,
    /// `rtm_protocol`: `RTPROT_*`.
    pub protocol: u8,
    /// `rtm_scope`: `RT_SCOPE_*`.
    pub scope: u8,
    /// `rtm_type`: `RTN_*`.
    pub route_type: u8,
    /// `rtm_flags`: `RTM_F_*` and `RTNH_F_*`.
    pub flags: u32,
}

impl FamilyHeader for RtMsg {
    const LEN: usize = RTMSG_LEN;
    type Attr<'a> = RouteAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWROUTE | RTM_DELROUTE | RTM_GETROUTE)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let [family, dst_len, src_len, tos, table, protocol, scope, kind, f0, f1, f2, f3] =
            r.array()?;
        Ok(RtMsg {
            family,
            dst_len,
            src_len,
            tos,
            table,
            protocol,
            scope,
            route_type: kind,
            flags: ne32(f0, f1, f2, f3),
        })
    }

    #[inline]
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        let [f0, f1, f2, f3] = self.flags.to_ne_bytes();
        w.put(&[
            self.family,
            self.dst_len,
            self.src_len,
            self.tos,
            self.table,
            self.protocol,
            self.scope,
            self.route_type,
            f0,
            f1,
            f2,
            f3,
        ])
    }

    #[inline]
    fn family(&self) -> u8 {
        self.family
    }
}

/// A view of a route message.
pub type RouteMessage<'a> = FamilyMessage<'a, RtMsg>;

/// Reads `RTA_VIA` (`struct rtvia`: a `u16` family, then the address).
#[inline]
fn parse_via<'a>(a: &Attr<'a>) -> Result<IpBytes<'a>> {
    let bad = || a.error(ErrorKind::BadFamily);
    let mut r = Reader::new(a.value());
    let family = r.u16().map_err(|_| a.error(ErrorKind::BadValue))?;
    match u8::try_from(family) {
        Ok(f @ (AF_INET | AF_INET6)) => IpBytes::new(r.rest(), f).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Appends `RTA_VIA` for `ip`.
fn emit_via<B: Buffer>(w: &mut Writer<B>, ip: IpAddr) -> Result<()> {
    let mut b = [0u8; 18];
    let fam = u16::from(family_of(&ip)).to_ne_bytes();
    let len = match ip {
        IpAddr::V4(a) => copy_after(&mut b, &fam, &a.octets()),
        IpAddr::V6(a) => copy_after(&mut b, &fam, &a.octets()),
    };
    w.attr(RTA_VIA, b.get(..len).unwrap_or_default())
}

/// Writes `head` then `tail` into `out`; returns the length used.
fn copy_after(out: &mut [u8], head: &[u8], tail: &[u8]) -> usize {
    out.iter_mut()
        .zip(head.iter().chain(tail))
        .map(|(d, s)| *d = *s)
        .count()
}

/// One `RTA_METRICS` entry.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Metric<'a> {
    /// `RTAX_*` with a `u32` value.
    Value(u16, u32),
    /// `RTAX_CC_ALGO`: the congestion control algorithm's name.
    CcAlgo(&'a str),
}

impl<'a> AttrDecode<'a> for Metric<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, _family: u8) -> Result<Self> {
        match a.attr_type() {
            RTAX_CC_ALGO => a.str().map(Metric::CcAlgo),
            k => a.u32().map(|v| Metric::Value(k, v)),
        }
    }
}

/// The entries of `RTA_METRICS`.
pub type Metrics<'a> = TypedAttrs<'a, Metric<'a>>;

/// One `struct rtnexthop` of `RTA_MULTIPATH`, with its own attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop<'a> {
    /// The 8 bytes of `struct rtnexthop`, read on access.
    header: [u8; RTNH_LEN],
    attrs: &'a [u8],
    family: u64,
}

impl<'a> NextHop<'a> {
    /// `rtnh_flags`: `RTNH_F_*`.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.header[2]
    }

    /// `rtnh_hops`: the weight minus one.
    #[inline]
    pub fn hops(&self) -> u8 {
        self.header[3]
    }

    /// `rtnh_ifindex`.
    #[inline]
    pub fn ifindex(&self) -> u32 {
        let [_, _, _, _, a, b, c, d] = self.header;
        u32::from_ne_bytes([a, b, c, d])
    }

    /// Its attributes (`RTA_GATEWAY`, `RTA_VIA`, ...), typed.
    #[inline]
    pub fn attrs(&self) -> TypedAttrs<'a, RouteAttr<'a>> {
        TypedAttrs::new(Attrs::new(self.attrs), self.family as u8)
    }
}

/// Iterates over the `rtnexthop` entries of `RTA_MULTIPATH`. A bad entry
/// length yields one error and ends the iteration.
#[derive(Debug, Clone)]
pub struct NextHops<'a> {
    rest: Reader<'a>,
    family: u64,
}

impl<'a> NextHops<'a> {
    /// The entries in `bytes` (an `RTA_MULTIPATH` value), addresses of `family`.
    #[inline]
    pub fn new(bytes: &'a [u8], family: u8) -> Self {
        NextHops {
            rest: Reader::new(bytes),
            family: u64::from(family),
        }
    }
}

impl<'a> Iterator for NextHops<'a> {
    type Item = Result<NextHop<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        // Left empty on an error: the rest cannot be framed.
        let mut r = core::mem::take(&mut self.rest);
        let err = |k| Some(Err(Error::new(Part::NextHop, k)));
        let Ok([l0, l1, ..]) = r.peek::<RTNH_LEN>() else {
            return err(ErrorKind::Truncated);
        };
        let len = usize::from(ne16(l0, l1));
        if len < RTNH_LEN {
            return err(ErrorKind::BadLength);
        }
        let Ok(mut entry) = r.sub(len) else {
            return err(ErrorKind::Truncated);
        };
        let Ok(header) = entry.array::<RTNH_LEN>() else {
            return err(ErrorKind::Truncated);
        };
        // Past the padding, which the last entry may lack.
        r.skip_up_to(align(len).saturating_sub(len));
        self.rest = r;
        Some(Ok(NextHop {
            header,
            attrs: entry.rest(),
            family: self.family,
        }))
    }
}

impl core::iter::FusedIterator for NextHops<'_> {}

/// A typed route attribute.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RouteAttr<'a> {
    /// `RTA_DST`: the destination prefix.
    Dst(IpBytes<'a>),
    /// `RTA_SRC`: the source prefix.
    Src(IpBytes<'a>),
    /// `RTA_IIF`: input interface.
    Iif(u32),
    /// `RTA_OIF`: output interface.
    Oif(u32),
    /// `RTA_GATEWAY`.
    Gateway(IpBytes<'a>),
    /// `RTA_PRIORITY`: the metric.
    Priority(u32),
    /// `RTA_PREFSRC`: preferred source address.
    PrefSrc(IpBytes<'a>),
    /// `RTA_METRICS` (nested `RTAX_*`).
    Metrics(Metrics<'a>),
    /// `RTA_MULTIPATH`: the next hops.
    Multipath(NextHops<'a>),
    /// `RTA_TABLE`: the table id (all 32 bits).
    Table(u32),
    /// `RTA_MARK`: firewall mark (route lookups).
    Mark(u32),
    /// `RTA_PREF`: IPv6 router preference.
    Pref(u8),
    /// `RTA_VIA`: gateway of another family.
    Via(IpBytes<'a>),
    /// `RTA_EXPIRES`: time until expiry (`u32`, or `u64` as multicast
    /// routes carry it).
    Expires(u64),
    /// `RTA_NH_ID`: the nexthop object the route goes through.
    NhId(u32),
    /// Any other attribute, raw (also addresses of non-IP families).
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for RouteAttr<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, family: u8) -> Result<Self> {
        let ip_family = matches!(family, AF_INET | AF_INET6 | AF_UNSPEC);
        Ok(match a.attr_type() {
            RTA_DST if ip_family => RouteAttr::Dst(a.ip_bytes(family)?),
            RTA_SRC if ip_family => RouteAttr::Src(a.ip_bytes(family)?),
            RTA_IIF => RouteAttr::Iif(a.u32()?),
            RTA_OIF => RouteAttr::Oif(a.u32()?),
            RTA_GATEWAY if ip_family => RouteAttr::Gateway(a.ip_bytes(family)?),
            RTA_PRIORITY => RouteAttr::Priority(a.u32()?),
            RTA_PREFSRC if ip_family => RouteAttr::PrefSrc(a.ip_bytes(family)?),
            RTA_METRICS => RouteAttr::Metrics(TypedAttrs::new(a.nested(), family)),
            // Its policy's length: one `rtnexthop` at least.
            RTA_MULTIPATH if a.value().len() < RTNH_LEN => return Err(a.error(ErrorKind::TooShort)),
            RTA_MULTIPATH => RouteAttr::Multipath(NextHops::new(a.value(), family)),
            RTA_TABLE => RouteAttr::Table(a.u32()?),
            RTA_MARK => RouteAttr::Mark(a.u32()?),
            RTA_PREF => RouteAttr::Pref(a.u8()?),
            RTA_VIA => RouteAttr::Via(parse_via(&a)?),
            RTA_EXPIRES => RouteAttr::Expires(a.u32().map(u64::from).or_else(|_| a.u64())?),
            RTA_NH_ID => RouteAttr::NhId(a.u32()?),
            _ => RouteAttr::Other(a),
        })
    }
}

/// `RTA_METRICS`, owned: every known `RTAX_*` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouteMetrics {
    values: [Option<u32>; RTAX_MAX as usize + 1],
    /// `RTAX_CC_ALGO` (at most 15 bytes, `TCP_CA_NAME_MAX`).
    pub cc_algo: Option<InlineStr<16>>,
}

impl RouteMetrics {
    /// The value of metric `kind` (`RTAX_MTU`, ...), if set.
    pub fn get(&self, kind: u16) -> Option<u32> {
        self.values.get(usize::from(kind)).copied().flatten()
    }

    /// Sets metric `kind`; `false` (and nothing set) if this crate does not
    /// know it or it is `RTAX_CC_ALGO` (a string: set `cc_algo`).
    pub fn set(&mut self, kind: u16, value: u32) -> bool {
        match self.values.get_mut(usize::from(kind)) {
            Some(slot) if kind != RTAX_CC_ALGO && kind != RTAX_UNSPEC => {
                *slot = Some(value);
                true
            }
            _ => false,
        }
    }

    /// The `u32` metrics that are set, in type order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u32)> + '_ {
        (0u16..)
            .zip(self.values.iter())
            .filter_map(|(k, v)| v.map(|v| (k, v)))
    }

    /// Appends `RTA_METRICS` as a plain nest, the way the kernel writes it
    /// (iproute2 drops every metric of one that carries `NLA_F_NESTED`).
    pub(crate) fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        w.nested_noflag(RTA_METRICS, |w| {
            for (k, v) in self.iter() {
                w.attr_u32(k, v)?;
            }
            if let Some(cc) = &self.cc_algo {
                w.attr_str(RTAX_CC_ALGO, cc)?;
            }
            Ok(())
        })
    }
}

/// One next hop of a multipath route, owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NextHopRepr {
    /// `rtnh_flags`.
    pub flags: u8,
    /// `rtnh_hops`: the weight minus one.
    pub hops: u8,
    /// `rtnh_ifindex`.
    pub ifindex: u32,
    /// `RTA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `RTA_VIA`.
    pub via: Option<IpAddr>,
}

/// The most next hops a [`RouteRepr`] holds with `alloc`: as many as fit
/// in `RTA_MULTIPATH` (its length is 16 bits and a next hop takes at least
/// the 8 bytes of `rtnexthop`), as the kernel accepts them.
#[cfg(feature = "alloc")]
pub const MAX_NEXTHOPS: usize = (u16::MAX as usize - 4) / 8;

/// The most next hops a [`RouteRepr`] holds without `alloc`: its inline
/// capacity.
#[cfg(not(feature = "alloc"))]
pub const MAX_NEXTHOPS: usize = 32;

/// The next hops of a multipath route: on the heap with `alloc`, inline
/// (at most [`MAX_NEXTHOPS`]) without.
pub type NextHopList = super::list::BoundedList<NextHopRepr, MAX_NEXTHOPS, MAX_NEXTHOPS>;

impl NextHopList {
    /// Appends a next hop; `TooLong` beyond [`MAX_NEXTHOPS`].
    pub fn push(&mut self, nh: NextHopRepr) -> Result<()> {
        self.push_or(nh, Part::Attr(RTA_MULTIPATH))
    }
}

impl FromIterator<NextHopRepr> for Option<NextHopList> {
    /// Collects at most [`MAX_NEXTHOPS`]; `None` if there were more.
    fn from_iter<I: IntoIterator<Item = NextHopRepr>>(iter: I) -> Self {
        let mut l = NextHopList::default();
        for nh in iter {
            l.push(nh).ok()?;
        }
        Some(l)
    }
}

/// A route, owned and validated: IPv4 or IPv6 (or `AF_UNSPEC` without
/// addresses), prefixes that fit the family, addresses of the family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RouteRepr {
    /// The fixed header.
    pub header: RtMsg,
    /// `RTA_DST`.
    pub dst: Option<IpAddr>,
    /// `RTA_SRC`.
    pub src: Option<IpAddr>,
    /// `RTA_IIF`.
    pub iif: Option<u32>,
    /// `RTA_OIF`.
    pub oif: Option<u32>,
    /// `RTA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `RTA_PRIORITY`.
    pub priority: Option<u32>,
    /// `RTA_PREFSRC`.
    pub prefsrc: Option<IpAddr>,
    /// `RTA_METRICS`.
    pub metrics: Option<RouteMetrics>,
    /// `RTA_MULTIPATH`.
    pub multipath: Option<NextHopList>,
    /// `RTA_TABLE`.
    pub table: Option<u32>,
    /// `RTA_MARK`.
    pub mark: Option<u32>,
    /// `RTA_PREF`.
    pub pref: Option<u8>,
    /// `RTA_VIA`.
    pub via: Option<IpAddr>,
    /// `RTA_EXPIRES`.
    pub expires: Option<u64>,
    /// `RTA_NH_ID`.
    pub nh_id: Option<u32>,
}

impl RouteRepr {
    /// A unicast route to `dst/dst_len` in the main table, protocol boot,
    /// scope universe (what `ip route add` sends). `dst_len` 0 is a default
    /// route and leaves `RTA_DST` out.
    pub fn new(dst: IpAddr, dst_len: u8) -> Self {
        RouteRepr {
            header: RtMsg {
                family: family_of(&dst),
                dst_len,
                table: RT_TABLE_MAIN as u8,
                protocol: RTPROT_BOOT,
                scope: RT_SCOPE_UNIVERSE,
                route_type: RTN_UNICAST,
                ..RtMsg::default()
            },
            dst: (dst_len > 0).then_some(dst),
            ..RouteRepr::default()
        }
    }

    /// The table: `RTA_TABLE` if present, else `rtm_table`.
    pub fn table_id(&self) -> u32 {
        self.table.unwrap_or(u32::from(self.header.table))
    }

    /// Parses and validates a view.
    pub fn parse(msg: &RouteMessage<'_>) -> Result<Self> {
        let h = msg.header();
        check_prefix(h.family, h.dst_len, true)?;
        check_prefix(h.family, h.src_len, true)?;
        let mut r = RouteRepr {
            header: h,
            ..RouteRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match RouteAttr::decode(a, h.family)? {
                RouteAttr::Dst(ip) => r.dst = Some(check_ip(&a, h.family, ip.ip())?),
                RouteAttr::Src(ip) => r.src = Some(check_ip(&a, h.family, ip.ip())?),
                RouteAttr::Iif(v) => r.iif = Some(v),
                RouteAttr::Oif(v) => r.oif = Some(v),
                RouteAttr::Gateway(ip) => r.gateway = Some(check_ip(&a, h.family, ip.ip())?),
                RouteAttr::Priority(v) => r.priority = Some(v),
                RouteAttr::PrefSrc(ip) => r.prefsrc = Some(check_ip(&a, h.family, ip.ip())?),
                RouteAttr::Metrics(m) => r.metrics = Some(parse_metrics(m)?),
                RouteAttr::Multipath(nh) => r.multipath = Some(parse_multipath(nh, h.family)?),
                RouteAttr::Table(v) => r.table = Some(v),
                RouteAttr::Mark(v) => r.mark = Some(v),
                RouteAttr::Pref(v) => r.pref = Some(v),
                RouteAttr::Via(ip) => r.via = Some(ip.ip()),
                RouteAttr::Expires(v) => r.expires = Some(v),
                RouteAttr::NhId(v) => r.nh_id = Some(v),
                RouteAttr::Other(_) => {}
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&RouteMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes.
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(t) = self.table {
            w.attr_u32(RTA_TABLE, t)?;
        }
        if let Some(ip) = self.dst {
            w.attr_ip(RTA_DST, ip)?;
        }
        if let Some(ip) = self.src {
            w.attr_ip(RTA_SRC, ip)?;
        }
        if let Some(v) = self.priority {
            w.attr_u32(RTA_PRIORITY, v)?;
        }
        if let Some(v) = self.iif {
            w.attr_u32(RTA_IIF, v)?;
        }
        if let Some(ip) = self.prefsrc {
            w.attr_ip(RTA_PREFSRC, ip)?;
        }
        if let Some(ip) = self.gateway {
            w.attr_ip(RTA_GATEWAY, ip)?;
        }
        if let Some(ip) = self.via {
            emit_via(w, ip)?;
        }
        if let Some(v) = self.oif {
            w.attr_u32(RTA_OIF, v)?;
        }
        if let Some(v) = self.nh_id {
            w.attr_u32(RTA_NH_ID, v)?;
        }
        if let Some(m) = &self.metrics {
            m.emit(w)?;
        }
        if let Some(l) = &self.multipath {
            emit_multipath(w, l)?;
        }
        if let Some(v) = self.mark {
            w.attr_u32(RTA_MARK, v)?;
        }
        if let Some(v) = self.pref {
            w.attr_u8(RTA_PREF, v)?;
        }
        if let Some(v) = self.expires {
            // Multicast routes carry a u64 (as ipmr does), others a u32.
            match u32::try_from(v) {
                Ok(v32) if self.header.route_type != RTN_MULTICAST => {
                    w.attr_u32(RTA_EXPIRES, v32)?
                }
                _ => w.attr_u64(RTA_EXPIRES, v)?,
            }
        }
        Ok(())
    }
}

impl RouteRepr {
    /// Appends the header and attributes in the order the kernel answers
    /// with: `fib_dump_info` for IPv4 (table, destination, priority,
    /// metrics, preferred source, then the next hop or hops) and
    /// `rt6_fill_node` for IPv6 (table, destination, source, preferred
    /// source, metrics, priority, next hops, expiry, cache info,
    /// preference); a nexthop object's id comes just before the next
    /// hops. IPv6 answers always carry `RTA_CACHEINFO` (zeros here: no use
    /// counts).
    pub fn emit_reply<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        if self.header.family != AF_INET && self.header.family != AF_INET6 {
            return self.emit(w);
        }
        self.header.emit(w)?;
        let v6 = self.header.family == AF_INET6;
        if let Some(t) = self.table {
            w.attr_u32(RTA_TABLE, t)?;
        }
        if let Some(ip) = self.dst {
            w.attr_ip(RTA_DST, ip)?;
        }
        if let Some(ip) = self.src {
            w.attr_ip(RTA_SRC, ip)?;
        }
        if let Some(v) = self.iif {
            w.attr_u32(RTA_IIF, v)?;
        }
        if !v6 {
            if let Some(v) = self.priority {
                w.attr_u32(RTA_PRIORITY, v)?;
            }
            if let Some(m) = &self.metrics {
                m.emit(w)?;
            }
        }
        if let Some(ip) = self.prefsrc {
            w.attr_ip(RTA_PREFSRC, ip)?;
        }
        if v6 {
            if let Some(m) = &self.metrics {
                m.emit(w)?;
            }
            if let Some(v) = self.priority {
                w.attr_u32(RTA_PRIORITY, v)?;
            }
        }
        // A nexthop object's id, then (the kernel's compatibility mode)
        // what it expands to.
        if let Some(v) = self.nh_id {
            w.attr_u32(RTA_NH_ID, v)?;
        }
        if let Some(l) = &self.multipath {
            emit_multipath(w, l)?;
        } else {
            if let Some(ip) = self.gateway {
                w.attr_ip(RTA_GATEWAY, ip)?;
            }
            if let Some(ip) = self.via {
                emit_via(w, ip)?;
            }
            if let Some(v) = self.oif {
                w.attr_u32(RTA_OIF, v)?;
            }
        }
        if let Some(v) = self.mark {
            w.attr_u32(RTA_MARK, v)?;
        }
        if let Some(v) = self.expires {
            match u32::try_from(v) {
                Ok(v32) if self.header.route_type != RTN_MULTICAST => {
                    w.attr_u32(RTA_EXPIRES, v32)?
                }
                _ => w.attr_u64(RTA_EXPIRES, v)?,
            }
        }
        if v6 {
            w.attr(RTA_CACHEINFO, &[0u8; 32])?;
        }
        if let Some(v) = self.pref {
            w.attr_u8(RTA_PREF, v)?;
        }
        Ok(())
    }
}

fn parse_metrics(m: Metrics<'_>) -> Result<RouteMetrics> {
    let mut out = RouteMetrics::default();
    for metric in m {
        match metric? {
            Metric::Value(k, v) => {
                out.set(k, v);
            }
            Metric::CcAlgo(s) => {
                out.cc_algo = Some(InlineStr::new(s, Part::Nested(RTA_METRICS, RTAX_CC_ALGO))?)
            }
        }
    }
    Ok(out)
}

fn parse_multipath(hops: NextHops<'_>, family: u8) -> Result<NextHopList> {
    let mut out = NextHopList::default();
    for nh in hops {
        let nh = nh?;
        let mut r = NextHopRepr {
            flags: nh.flags(),
            hops: nh.hops(),
            ifindex: nh.ifindex(),
            ..NextHopRepr::default()
        };
        for a in nh.attrs() {
            match a.map_err(|e| e.inside(RTA_MULTIPATH))? {
                RouteAttr::Gateway(ip) => {
                    let part = Part::Nested(RTA_MULTIPATH, RTA_GATEWAY);
                    r.gateway = Some(
                        check_ip(&Attr::new(RTA_GATEWAY, &[]), family, ip.ip())
                            .map_err(|e| Error::new(part, e.kind))?,
                    )
                }
                RouteAttr::Via(ip) => r.via = Some(ip.ip()),
                _ => {}
            }
        }
        out.push(r)?;
    }
    Ok(out)
}

fn emit_multipath<B: Buffer>(w: &mut Writer<B>, list: &NextHopList) -> Result<()> {
    let mut mp = w.begin_len16(&[0, 0, RTA_MULTIPATH as u8, 0], RTA_MULTIPATH)?;
    for nh in list.as_slice() {
        let [i0, i1, i2, i3] = nh.ifindex.to_ne_bytes();
        let mut g = mp.begin_len16(&[0, 0, nh.flags, nh.hops, i0, i1, i2, i3], RTA_MULTIPATH)?;
        if let Some(ip) = nh.gateway {
            g.attr_ip(RTA_GATEWAY, ip)?;
        }
        if let Some(ip) = nh.via {
            emit_via(&mut g, ip)?;
        }
        g.finish()?;
    }
    mp.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Messages;
    use core::net::{Ipv4Addr, Ipv6Addr};

    /// The first message of the kernel's route dump fixture shape:
    /// 10.1.0.0/24 dev 2 in the main table.
    #[rustfmt::skip]
    const NEWROUTE: [u8; 64] = [
        64, 0, 0, 0,  24, 0,  2, 0,  1, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr: RTM_NEWROUTE, NLM_F_MULTI
        2, 24, 0, 0,  254, 3, 0, 1,  0, 0, 0, 0,             // rtmsg: AF_INET /24, main, boot, universe, unicast
        8, 0, 15, 0,  254, 0, 0, 0,                          // RTA_TABLE 254
        8, 0, 1, 0,   10, 1, 0, 0,                           // RTA_DST 10.1.0.0
        8, 0, 4, 0,   2, 0, 0, 0,                            // RTA_OIF 2
        12, 0, 8, 0,                                         // RTA_METRICS, a plain nest (as the kernel writes it)
            8, 0, 2, 0,  0xdc, 0x05, 0, 0,                   //   RTAX_MTU 1500
    ];

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn deconstruct() {
        let msg = Messages::new(&NEWROUTE).next().unwrap().unwrap();
        let m = RouteMessage::parse(&msg).unwrap();
        let h = m.header();
        assert_eq!(
            (h.family, h.dst_len, h.table, h.protocol, h.route_type),
            (AF_INET, 24, 254, 3, 1)
        );
        let mut it = m.attrs();
        assert!(matches!(it.next(), Some(Ok(RouteAttr::Table(254)))));
        assert!(matches!(it.next(), Some(Ok(RouteAttr::Dst(ip))) if ip == v4(10, 1, 0, 0)));
        assert!(matches!(it.next(), Some(Ok(RouteAttr::Oif(2)))));
        let Some(Ok(RouteAttr::Metrics(metrics))) = it.next() else {
            panic!()
        };
        assert_eq!(
            metrics.collect::<Vec<_>>(),
            vec![Ok(Metric::Value(RTAX_MTU, 1500))]
        );
        assert!(it.next().is_none());
    }

    #[test]
    fn construct_matches_bytes() {
        let mut r = RouteRepr::new(v4(10, 1, 0, 0), 24);
        r.table = Some(254);
        r.oif = Some(2);
        let mut m = RouteMetrics::default();
        assert!(m.set(RTAX_MTU, 1500));
        assert!(!m.set(RTAX_CC_ALGO, 1));
        r.metrics = Some(m);
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWROUTE, NLM_F_MULTI, 1, 0, |w| r.emit(w))
            .unwrap();
        assert_eq!(w.buffer().as_slice(), &NEWROUTE[..]);
        assert_eq!(RouteRepr::parse_payload(&NEWROUTE[16..]), Ok(r.clone()));
        assert_eq!(r.table_id(), 254);
    }

    #[test]
    fn multipath_ipv6_round_trip() {
        let gw1 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
        let gw2 = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
        let mut r = RouteRepr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);
        let hops = [
            NextHopRepr {
                ifindex: 2,
                gateway: Some(gw1),
                ..Default::default()
            },
            NextHopRepr {
                ifindex: 3,
                hops: 4,
                gateway: Some(gw2),
                ..Default::default()
            },
        ];
        r.multipath = hops.iter().copied().collect();
        r.via = Some(v4(192, 0, 2, 1));
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWROUTE, 0, 1, 0, |w| r.emit(w)).unwrap();
        let msg = Messages::new(w.buffer()).next().unwrap().unwrap();
        let parsed = RouteRepr::parse(&RouteMessage::parse(&msg).unwrap()).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.multipath.unwrap().as_slice(), &hops);
        assert_eq!(parsed.dst, None);
    }

    #[test]
    fn bad_nexthop_length_is_an_error() {
        #[rustfmt::skip]
        let mp = [
            4, 0, 0, 0,  2, 0, 0, 0, // rtnh_len 4: below the 8-byte rtnexthop
        ];
        let r: Vec<_> = NextHops::new(&mp, AF_INET).collect();
        assert_eq!(
            r,
            vec![Err(Error::new(Part::NextHop, ErrorKind::BadLength))]
        );
        let r: Vec<_> = NextHops::new(&mp[..5], AF_INET).collect();
        assert_eq!(
            r,
            vec![Err(Error::new(Part::NextHop, ErrorKind::Truncated))]
        );
    }

    #[test]
    fn validation() {
        let mut b = NEWROUTE;
        b[17] = 33;
        assert_eq!(
            RouteRepr::parse_payload(&b[16..]).unwrap_err().kind,
            ErrorKind::BadPrefix
        );
        let mut b = NEWROUTE;
        b[16] = AF_INET6;
        assert_eq!(
            RouteRepr::parse_payload(&b[16..]).unwrap_err(),
            Error::new(Part::Attr(RTA_DST), ErrorKind::TooShort)
        );
        // An MPLS route keeps its label as a raw attribute.
        let mut b = NEWROUTE;
        b[16] = AF_MPLS;
        let m = RouteMessage::parse_payload(&b[16..]).unwrap();
        assert!(matches!(m.attrs().nth(1), Some(Ok(RouteAttr::Other(_)))));
    }
}
