//! Addresses: `ifaddrmsg` + `IFA_*` (RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR).

use core::net::IpAddr;

use super::attr::{Attr, AttrDecode, IpBytes};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::inline::IfName;
use super::parse::ne32;
use super::repr::{check_ip, check_prefix};
use super::writer::{Buffer, Writer};
use super::{ErrorKind, Reader, Result, Short};

/// `struct ifaddrmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IfAddrMsg {
    /// `ifa_family`: `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// `ifa_prefixlen`.
    pub prefix_len: u8,
    /// `ifa_flags`: the low 8 bits of `IFA_F_*`.
    pub flags: u8,
    /// `ifa_scope`: `RT_SCOPE_*`.
    pub scope: u8,
    /// `ifa_index`: the interface index.
    pub index: u32,
}

impl FamilyHeader for IfAddrMsg {
    const LEN: usize = IFADDRMSG_LEN;
    type Attr<'a> = AddrAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWADDR | RTM_DELADDR | RTM_GETADDR)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let [family, prefix_len, flags, scope, i0, i1, i2, i3] = r.array()?;
        let index = ne32(i0, i1, i2, i3);
        Ok(IfAddrMsg {
            family,
            prefix_len,
            flags,
            scope,
            index,
        })
    }

    #[inline]
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        let [i0, i1, i2, i3] = self.index.to_ne_bytes();
        w.put(&[
            self.family,
            self.prefix_len,
            self.flags,
            self.scope,
            i0,
            i1,
            i2,
            i3,
        ])
    }

    #[inline]
    fn family(&self) -> u8 {
        self.family
    }
}

/// A view of an address message.
pub type AddrMessage<'a> = FamilyMessage<'a, IfAddrMsg>;

/// `struct ifa_cacheinfo`: lifetimes in seconds, timestamps in 1/100 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrCacheInfo {
    /// `ifa_prefered`: preferred lifetime (`u32::MAX` = forever).
    pub preferred: u32,
    /// `ifa_valid`: valid lifetime (`u32::MAX` = forever).
    pub valid: u32,
    /// `cstamp`: creation time.
    pub created: u32,
    /// `tstamp`: last update time.
    pub updated: u32,
}

impl AddrCacheInfo {
    #[inline(always)]
    fn parse(a: &Attr<'_>) -> Result<Self> {
        let [preferred, valid, created, updated] = read_words(a)?;
        Ok(AddrCacheInfo {
            preferred,
            valid,
            created,
            updated,
        })
    }

    fn to_bytes(self) -> [u8; 16] {
        words([self.preferred, self.valid, self.created, self.updated])
    }
}

/// Four host-order `u32`s from a 16-byte attribute value (the cache-info
/// structures).
#[inline(always)]
pub(crate) fn read_words(a: &Attr<'_>) -> Result<[u32; 4]> {
    let Ok(&[a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3]) =
        <&[u8; 16]>::try_from(a.value())
    else {
        let kind = match a.value().len() < 16 {
            true => ErrorKind::TooShort,
            false => ErrorKind::BadValue,
        };
        return Err(a.error(kind));
    };
    Ok([
        ne32(a0, a1, a2, a3),
        ne32(b0, b1, b2, b3),
        ne32(c0, c1, c2, c3),
        ne32(d0, d1, d2, d3),
    ])
}

/// Four host-order `u32`s as bytes.
pub(crate) fn words(w: [u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (dst, v) in out.chunks_exact_mut(4).zip(w) {
        dst.copy_from_slice(&v.to_ne_bytes());
    }
    out
}

/// A typed address attribute.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddrAttr<'a> {
    /// `IFA_ADDRESS`: the prefix address (the peer on point-to-point links).
    Address(IpBytes<'a>),
    /// `IFA_LOCAL`: the local address.
    Local(IpBytes<'a>),
    /// `IFA_LABEL`: the label (IPv4), e.g. `eth0:1`.
    Label(&'a str),
    /// `IFA_BROADCAST`.
    Broadcast(IpBytes<'a>),
    /// `IFA_ANYCAST`.
    Anycast(IpBytes<'a>),
    /// `IFA_CACHEINFO`.
    CacheInfo(AddrCacheInfo),
    /// `IFA_FLAGS`: all 32 bits of `IFA_F_*`.
    Flags(u32),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for AddrAttr<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            IFA_ADDRESS => AddrAttr::Address(a.ip_bytes(family)?),
            IFA_LOCAL => AddrAttr::Local(a.ip_bytes(family)?),
            IFA_LABEL => AddrAttr::Label(a.str()?),
            IFA_BROADCAST => AddrAttr::Broadcast(a.ip_bytes(family)?),
            IFA_ANYCAST => AddrAttr::Anycast(a.ip_bytes(family)?),
            IFA_CACHEINFO => AddrAttr::CacheInfo(AddrCacheInfo::parse(&a)?),
            IFA_FLAGS => AddrAttr::Flags(a.u32()?),
            _ => AddrAttr::Other(a),
        })
    }
}

/// An address, owned and validated: the family is `AF_INET` or `AF_INET6`
/// (or `AF_UNSPEC` without addresses, as in a dump request), the prefix
/// fits the family, and every address has the family's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrRepr {
    /// The fixed header.
    pub header: IfAddrMsg,
    /// `IFA_ADDRESS`.
    pub address: Option<IpAddr>,
    /// `IFA_LOCAL`.
    pub local: Option<IpAddr>,
    /// `IFA_LABEL`.
    pub label: Option<IfName>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<IpAddr>,
    /// `IFA_ANYCAST`.
    pub anycast: Option<IpAddr>,
    /// `IFA_CACHEINFO`.
    pub cache_info: Option<AddrCacheInfo>,
    /// `IFA_FLAGS`.
    pub flags: Option<u32>,
    /// `IFA_RT_PRIORITY`: the metric of the address's prefix route.
    pub priority: Option<u32>,
    /// `IFA_PROTO`: who added the address (`IFAPROT_*`).
    pub proto: Option<u8>,
}

impl AddrRepr {
    /// `addr/prefix_len` on interface `index`, scope universe: the family
    /// follows `addr`, which becomes `IFA_ADDRESS`.
    pub fn new(addr: IpAddr, prefix_len: u8, index: u32) -> Self {
        let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
        AddrRepr {
            header: IfAddrMsg {
                family,
                prefix_len,
                flags: 0,
                scope: RT_SCOPE_UNIVERSE,
                index,
            },
            address: Some(addr),
            ..AddrRepr::default()
        }
    }

    /// With `IFA_LOCAL` set.
    pub fn with_local(mut self, local: IpAddr) -> Self {
        self.local = Some(local);
        self
    }

    /// Parses and validates a view.
    pub fn parse(msg: &AddrMessage<'_>) -> Result<Self> {
        let header = msg.header();
        check_prefix(header.family, header.prefix_len, true)?;
        let mut r = AddrRepr {
            header,
            ..AddrRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match AddrAttr::decode(a, header.family)? {
                AddrAttr::Address(ip) => r.address = Some(check_ip(&a, header.family, ip.ip())?),
                AddrAttr::Local(ip) => r.local = Some(check_ip(&a, header.family, ip.ip())?),
                AddrAttr::Label(s) => r.label = Some(IfName::new(s, a.part())?),
                AddrAttr::Broadcast(ip) => {
                    r.broadcast = Some(check_ip(&a, header.family, ip.ip())?)
                }
                AddrAttr::Anycast(ip) => r.anycast = Some(check_ip(&a, header.family, ip.ip())?),
                AddrAttr::CacheInfo(c) => r.cache_info = Some(c),
                AddrAttr::Flags(f) => r.flags = Some(f),
                AddrAttr::Other(o) => match o.attr_type() {
                    IFA_RT_PRIORITY => r.priority = Some(o.u32()?),
                    IFA_PROTO => r.proto = Some(o.u8()?),
                    _ => {}
                },
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&AddrMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes (`IFA_LOCAL` first, as `ip` does).
    #[inline]
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(ip) = self.local {
            w.attr_ip(IFA_LOCAL, ip)?;
        }
        if let Some(ip) = self.address {
            w.attr_ip(IFA_ADDRESS, ip)?;
        }
        if let Some(ip) = self.broadcast {
            w.attr_ip(IFA_BROADCAST, ip)?;
        }
        if let Some(ip) = self.anycast {
            w.attr_ip(IFA_ANYCAST, ip)?;
        }
        if let Some(l) = &self.label {
            w.attr_str(IFA_LABEL, l)?;
        }
        if let Some(f) = self.flags {
            w.attr_u32(IFA_FLAGS, f)?;
        }
        if let Some(v) = self.priority {
            w.attr_u32(IFA_RT_PRIORITY, v)?;
        }
        if let Some(v) = self.proto {
            w.attr_u8(IFA_PROTO, v)?;
        }
        if let Some(c) = self.cache_info {
            w.attr(IFA_CACHEINFO, &c.to_bytes())?;
        }
        Ok(())
    }

    /// Appends the header and attributes in the order the kernel answers
    /// with: `inet_fill_ifaddr` for IPv4 (address, local, broadcast,
    /// label, flags, protocol, priority, cache info) and
    /// `inet6_fill_ifaddr` for IPv6 (local and address, priority, cache
    /// info, flags, protocol).
    pub fn emit_reply<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if self.header.family == AF_INET6 {
            if let Some(ip) = self.local {
                w.attr_ip(IFA_LOCAL, ip)?;
            }
            if let Some(ip) = self.address {
                w.attr_ip(IFA_ADDRESS, ip)?;
            }
            if let Some(v) = self.priority {
                w.attr_u32(IFA_RT_PRIORITY, v)?;
            }
            if let Some(c) = self.cache_info {
                w.attr(IFA_CACHEINFO, &c.to_bytes())?;
            }
            if let Some(f) = self.flags {
                w.attr_u32(IFA_FLAGS, f)?;
            }
            if let Some(v) = self.proto {
                w.attr_u8(IFA_PROTO, v)?;
            }
            return Ok(());
        }
        if let Some(ip) = self.address {
            w.attr_ip(IFA_ADDRESS, ip)?;
        }
        if let Some(ip) = self.local {
            w.attr_ip(IFA_LOCAL, ip)?;
        }
        if let Some(ip) = self.broadcast {
            w.attr_ip(IFA_BROADCAST, ip)?;
        }
        if let Some(ip) = self.anycast {
            w.attr_ip(IFA_ANYCAST, ip)?;
        }
        if let Some(l) = &self.label {
            w.attr_str(IFA_LABEL, l)?;
        }
        if let Some(f) = self.flags {
            w.attr_u32(IFA_FLAGS, f)?;
        }
        if let Some(v) = self.proto {
            w.attr_u8(IFA_PROTO, v)?;
        }
        if let Some(v) = self.priority {
            w.attr_u32(IFA_RT_PRIORITY, v)?;
        }
        if let Some(c) = self.cache_info {
            w.attr(IFA_CACHEINFO, &c.to_bytes())?;
        }
        Ok(())
    }

    /// All address flags: `IFA_FLAGS` when present, else `ifa_flags`.
    pub fn all_flags(&self) -> u32 {
        self.flags.unwrap_or(u32::from(self.header.flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Error, Messages, Part, SliceBuffer};
    use core::net::{Ipv4Addr, Ipv6Addr};

    /// RTM_NEWADDR 10.0.0.1/24 on ifindex 2, as `ip addr add` sends it.
    #[rustfmt::skip]
    const NEWADDR: [u8; 40] = [
        40, 0, 0, 0,   20, 0,   0x05, 0x06,   1, 0, 0, 0,   0, 0, 0, 0, // nlmsghdr: len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE, seq 1
        2, 24, 0, 0,   2, 0, 0, 0,                                        // ifaddrmsg: AF_INET /24 flags 0 scope 0, index 2
        8, 0, 2, 0,    10, 0, 0, 1,                                       // IFA_LOCAL 10.0.0.1
        8, 0, 1, 0,    10, 0, 0, 1,                                       // IFA_ADDRESS 10.0.0.1
    ];

    fn ten() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
    }

    #[test]
    fn deconstruct() {
        let msg = Messages::new(&NEWADDR).next().unwrap().unwrap();
        let m = AddrMessage::parse(&msg).unwrap();
        assert_eq!(
            m.header(),
            IfAddrMsg {
                family: AF_INET,
                prefix_len: 24,
                flags: 0,
                scope: 0,
                index: 2
            }
        );
        let attrs: Vec<_> = m.attrs().map(|a| a.unwrap()).collect();
        assert!(matches!(attrs[..],
            [AddrAttr::Local(l), AddrAttr::Address(a)] if l == ten() && a == ten()));
    }

    #[test]
    fn construct_and_emit() {
        let mut storage = [0u8; 64];
        let mut w = Writer::new(SliceBuffer::new(&mut storage));
        let repr = AddrRepr::new(ten(), 24, 2).with_local(ten());
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
        w.message(RTM_NEWADDR, flags, 1, 0, |w| repr.emit(w))
            .unwrap();
        assert_eq!(w.buffer().as_bytes(), &NEWADDR[..]);
    }

    #[test]
    fn parse_validates_prefix_and_family() {
        let mut b = NEWADDR;
        b[17] = 33; // prefix beyond 32
        assert_eq!(
            AddrRepr::parse_payload(&b[16..]),
            Err(Error::new(Part::Body, ErrorKind::BadPrefix))
        );
        let mut b = NEWADDR;
        b[16] = AF_INET6; // family says IPv6, addresses are 4 bytes: too short
        assert_eq!(
            AddrRepr::parse_payload(&b[16..]),
            Err(Error::new(Part::Attr(IFA_LOCAL), ErrorKind::TooShort))
        );
        let mut b = NEWADDR;
        b[16] = AF_UNSPEC; // no family, yet addresses
        b[17] = 0;
        assert_eq!(
            AddrRepr::parse_payload(&b[16..]).unwrap_err().kind,
            ErrorKind::BadFamily
        );
        assert_eq!(
            AddrRepr::parse_payload(&[AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0])
                .unwrap()
                .header
                .family,
            AF_UNSPEC
        );
    }

    #[test]
    fn ipv6_round_trip_with_every_attribute() {
        let a6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        let mut repr = AddrRepr::new(a6, 64, 7).with_local(a6);
        repr.anycast = Some(a6);
        repr.label = IfName::try_from_str("x");
        repr.flags = Some(IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
        repr.cache_info = Some(AddrCacheInfo {
            preferred: 1,
            valid: 2,
            created: 3,
            updated: 4,
        });
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWADDR, 0, 0, 0, |w| repr.emit(w)).unwrap();
        let msg = Messages::new(w.buffer()).next().unwrap().unwrap();
        assert_eq!(
            AddrRepr::parse(&AddrMessage::parse(&msg).unwrap()),
            Ok(repr)
        );
        assert_eq!(repr.all_flags(), IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
    }

    #[test]
    fn bad_value_degrades_one_attribute() {
        let mut b = NEWADDR;
        b[24] = 7; // IFA_LOCAL claims 3 bytes of value
        let m = AddrMessage::parse_payload(&b[16..]).unwrap();
        let r: Vec<_> = m.attrs().collect();
        assert_eq!(
            r[0],
            Err(Error::new(Part::Attr(IFA_LOCAL), ErrorKind::TooShort))
        );
        assert!(matches!(r[1], Ok(AddrAttr::Address(a)) if a == ten()));
    }

    #[test]
    fn short_get_body_reads_as_zero() {
        let h = IfAddrMsg::parse_short(&[AF_INET6]);
        assert_eq!(
            h,
            IfAddrMsg {
                family: AF_INET6,
                ..Default::default()
            }
        );
        assert!(IfAddrMsg::parse(&[AF_INET6]).is_err());
    }
}
