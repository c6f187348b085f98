//! Neighbours: `ndmsg` + `NDA_*` (RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH).

use core::net::IpAddr;

use super::addr::words;
use super::attr::{Attr, AttrDecode, IpBytes};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::inline::HwAddr;
use super::parse::{ne16, ne32};
use super::repr::{check_ip, check_prefix};
use super::writer::{Buffer, Writer};
use super::{Reader, Result, Short};

/// `struct ndmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NdMsg {
    /// `ndm_family`.
    pub family: u8,
    /// `ndm_ifindex`.
    pub ifindex: u32,
    /// `ndm_state`: `NUD_*`.
    pub state: u16,
    /// `ndm_flags`: `NTF_*`.
    pub flags: u8,
    /// `ndm_type`: what the address is to the link (`RTN_*`).
    pub address_type: u8,
}

impl FamilyHeader for NdMsg {
    const LEN: usize = NDMSG_LEN;
    type Attr<'a> = NeighAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWNEIGH | RTM_DELNEIGH | RTM_GETNEIGH)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let h = r.array::<NDMSG_LEN>()?;
        let [family, _p1, _p2, _p3, i0, i1, i2, i3, s0, s1, flags, kind] = h;
        Ok(NdMsg {
            family,
            ifindex: ne32(i0, i1, i2, i3),
            state: ne16(s0, s1),
            flags,
            address_type: kind,
        })
    }

    #[inline]
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        let [i0, i1, i2, i3] = self.ifindex.to_ne_bytes();
        let [s0, s1] = self.state.to_ne_bytes();
        w.put(&[
            self.family,
            0,
            0,
            0,
            i0,
            i1,
            i2,
            i3,
            s0,
            s1,
            self.flags,
            self.address_type,
        ])
    }

    #[inline]
    fn family(&self) -> u8 {
        self.family
    }
}

/// A view of a neighbour message.
pub type NeighMessage<'a> = FamilyMessage<'a, NdMsg>;

/// `struct nda_cacheinfo`: ages in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighCacheInfo {
    /// `ndm_confirmed`.
    pub confirmed: u32,
    /// `ndm_used`.
    pub used: u32,
    /// `ndm_updated`.
    pub updated: u32,
    /// `ndm_refcnt`.
    pub refcnt: u32,
}

impl NeighCacheInfo {
    #[inline(always)]
    fn parse(a: &Attr<'_>) -> Result<Self> {
        let [confirmed, used, updated, refcnt] = super::addr::read_words(a)?;
        Ok(NeighCacheInfo {
            confirmed,
            used,
            updated,
            refcnt,
        })
    }
}

/// A typed neighbour attribute.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NeighAttr<'a> {
    /// `NDA_DST`: the neighbour's network address.
    Dst(IpBytes<'a>),
    /// `NDA_LLADDR`: its link-layer address.
    LlAddr(&'a [u8]),
    /// `NDA_CACHEINFO`.
    CacheInfo(NeighCacheInfo),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for NeighAttr<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            NDA_DST => NeighAttr::Dst(a.ip_bytes(family)?),
            NDA_LLADDR => NeighAttr::LlAddr(a.value()),
            NDA_CACHEINFO => NeighAttr::CacheInfo(NeighCacheInfo::parse(&a)?),
            _ => NeighAttr::Other(a),
        })
    }
}

/// A neighbour, owned and validated: IPv4 or IPv6 (or `AF_UNSPEC` without an
/// address), `NDA_DST` of the family, `NDA_LLADDR` within `MAX_ADDR_LEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighRepr {
    /// The fixed header.
    pub header: NdMsg,
    /// `NDA_DST`.
    pub dst: Option<IpAddr>,
    /// `NDA_LLADDR`.
    pub lladdr: Option<HwAddr>,
    /// `NDA_CACHEINFO`.
    pub cache_info: Option<NeighCacheInfo>,
    /// `NDA_PROBES`: the solicitations sent since the last confirmation.
    pub probes: Option<u32>,
    /// `NDA_PROTOCOL`: who installed the entry (`RTPROT_*`).
    pub protocol: Option<u8>,
    /// `NDA_FLAGS_EXT`: the flags beyond `ndm_flags` (`NTF_EXT_*`).
    pub flags_ext: Option<u32>,
}

impl NeighRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &NeighMessage<'_>) -> Result<Self> {
        let h = msg.header();
        check_prefix(h.family, 0, true)?;
        let mut r = NeighRepr {
            header: h,
            ..NeighRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match NeighAttr::decode(a, h.family)? {
                NeighAttr::Dst(ip) => r.dst = Some(check_ip(&a, h.family, ip.ip())?),
                NeighAttr::LlAddr(b) => r.lladdr = Some(HwAddr::new(b, a.part())?),
                NeighAttr::CacheInfo(c) => r.cache_info = Some(c),
                NeighAttr::Other(o) => match o.attr_type() {
                    NDA_PROBES => r.probes = Some(o.u32()?),
                    NDA_PROTOCOL => r.protocol = Some(o.u8()?),
                    NDA_FLAGS_EXT => r.flags_ext = Some(o.u32()?),
                    _ => {}
                },
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&NeighMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes, in the kernel's order
    /// (`neigh_fill_info`).
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(ip) = self.dst {
            w.attr_ip(NDA_DST, ip)?;
        }
        if let Some(l) = &self.lladdr {
            w.attr(NDA_LLADDR, l)?;
        }
        if let Some(p) = self.probes {
            w.attr_u32(NDA_PROBES, p)?;
        }
        if let Some(c) = self.cache_info {
            w.attr(
                NDA_CACHEINFO,
                &words([c.confirmed, c.used, c.updated, c.refcnt]),
            )?;
        }
        if let Some(p) = self.protocol {
            w.attr_u8(NDA_PROTOCOL, p)?;
        }
        if let Some(f) = self.flags_ext {
            w.attr_u32(NDA_FLAGS_EXT, f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Error, ErrorKind, Messages, Part};
    use core::net::Ipv4Addr;

    /// A permanent ARP entry: 10.0.0.2 is 02:00:00:00:00:02 on ifindex 2.
    #[rustfmt::skip]
    const NEWNEIGH: [u8; 48] = [
        48, 0, 0, 0,  28, 0,  0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr: RTM_NEWNEIGH
        2, 0, 0, 0,   2, 0, 0, 0,   0x80, 0, 0, 1,           // ndmsg: AF_INET, ifindex 2, NUD_PERMANENT, flags 0, type 1
        8, 0, 1, 0,   10, 0, 0, 2,                           // NDA_DST 10.0.0.2
        10, 0, 2, 0,  2, 0, 0, 0, 0, 2,  0, 0,               // NDA_LLADDR + pad
    ];

    #[test]
    fn deconstruct_and_round_trip() {
        let msg = Messages::new(&NEWNEIGH).next().unwrap().unwrap();
        let m = NeighMessage::parse(&msg).unwrap();
        assert_eq!(
            m.header(),
            NdMsg {
                family: AF_INET,
                ifindex: 2,
                state: NUD_PERMANENT,
                flags: 0,
                address_type: 1
            }
        );
        let attrs: Vec<_> = m.attrs().map(|a| a.unwrap()).collect();
        let ten = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert!(
            matches!(attrs[..], [NeighAttr::Dst(d), NeighAttr::LlAddr(&[2, 0, 0, 0, 0, 2])] if d == ten)
        );
        let r = NeighRepr::parse(&m).unwrap();
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWNEIGH, 0, 0, 0, |w| r.emit(w)).unwrap();
        assert_eq!(w.buffer().as_slice(), &NEWNEIGH[..]);
    }

    #[test]
    fn validation() {
        let mut b = NEWNEIGH;
        b[16] = AF_INET6;
        assert_eq!(
            NeighRepr::parse_payload(&b[16..]),
            Err(Error::new(Part::Attr(NDA_DST), ErrorKind::TooShort))
        );
        assert_eq!(
            NeighRepr::parse_payload(&NEWNEIGH[16..27]),
            Err(Error::new(Part::Body, ErrorKind::Truncated))
        );
    }
}
