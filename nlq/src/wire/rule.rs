//! Policy routing rules: `fib_rule_hdr` + `FRA_*` (RTM_NEWRULE,
//! RTM_DELRULE, RTM_GETRULE).

use core::net::IpAddr;

use super::attr::{Attr, AttrDecode, IpBytes};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::inline::IfName;
use super::parse::ne32;
use super::repr::{check_ip, check_prefix};
use super::writer::{Buffer, Writer};
use super::{ErrorKind, Reader, Result, Short};

/// `struct fib_rule_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FibRuleHdr {
    /// `family`.
    pub family: u8,
    /// `dst_len`: the destination prefix length.
    pub dst_len: u8,
    /// `src_len`: the source prefix length.
    pub src_len: u8,
    /// `tos`.
    pub tos: u8,
    /// `table`: the table id, `RT_TABLE_COMPAT` (252) above 255.
    pub table: u8,
    /// `res1`.
    pub res1: u8,
    /// `res2`.
    pub res2: u8,
    /// `action`: `FR_ACT_*`.
    pub action: u8,
    /// `flags`: `FIB_RULE_*`.
    pub flags: u32,
}

impl FamilyHeader for FibRuleHdr {
    const LEN: usize = FIB_RULE_HDR_LEN;
    type Attr<'a> = RuleAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWRULE | RTM_DELRULE | RTM_GETRULE)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let h = r.array::<FIB_RULE_HDR_LEN>()?;
        let [family, dst_len, src_len, tos, table, res1, res2, action, f0, f1, f2, f3] = h;
        Ok(FibRuleHdr {
            family,
            dst_len,
            src_len,
            tos,
            table,
            res1,
            res2,
            action,
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
            self.res1,
            self.res2,
            self.action,
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

/// A view of a rule message.
pub type RuleMessage<'a> = FamilyMessage<'a, FibRuleHdr>;

/// `struct fib_rule_uid_range`: the uids a rule matches, both ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UidRange {
    /// The first uid.
    pub start: u32,
    /// The last uid.
    pub end: u32,
}

/// `struct fib_rule_port_range`: the ports a rule matches, both ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortRange {
    /// The first port.
    pub start: u16,
    /// The last port.
    pub end: u16,
}

/// A typed rule attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleAttr<'a> {
    /// `FRA_DST`: the destination prefix's address.
    Dst(IpBytes<'a>),
    /// `FRA_SRC`.
    Src(IpBytes<'a>),
    /// `FRA_IIFNAME`: the input link's name.
    IifName(&'a str),
    /// `FRA_OIFNAME`.
    OifName(&'a str),
    /// `FRA_TABLE`, `FRA_PRIORITY`, `FRA_GOTO`, `FRA_FWMARK`, `FRA_FWMASK`
    /// and the other 32-bit attributes, as (kind, value).
    U32(u16, u32),
    /// `FRA_PROTOCOL`, `FRA_L3MDEV`, `FRA_IP_PROTO`, `FRA_DSCP`,
    /// `FRA_DSCP_MASK`, as (kind, value).
    U8(u16, u8),
    /// `FRA_TUN_ID` (network order on the wire).
    TunId(u64),
    /// `FRA_UID_RANGE`.
    UidRange(UidRange),
    /// `FRA_SPORT_RANGE`, `FRA_DPORT_RANGE`, as (kind, range).
    PortRange(u16, PortRange),
    /// `FRA_SPORT_MASK`, `FRA_DPORT_MASK`, as (kind, mask).
    U16(u16, u16),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

/// Reads a network-order `u32` (`FRA_FLOWLABEL`, `FRA_FLOWLABEL_MASK`).
fn be32(a: &Attr<'_>) -> Result<u32> {
    match a.value() {
        &[b0, b1, b2, b3] => Ok(u32::from_be_bytes([b0, b1, b2, b3])),
        _ => Err(a.error(ErrorKind::BadValue)),
    }
}

impl<'a> AttrDecode<'a> for RuleAttr<'a> {
    #[inline]
    fn decode(a: Attr<'a>, family: u8) -> Result<Self> {
        let k = a.attr_type();
        Ok(match k {
            FRA_DST => RuleAttr::Dst(a.ip_bytes(family)?),
            FRA_SRC => RuleAttr::Src(a.ip_bytes(family)?),
            FRA_IIFNAME => RuleAttr::IifName(a.str()?),
            FRA_OIFNAME => RuleAttr::OifName(a.str()?),
            FRA_GOTO
            | FRA_PRIORITY
            | FRA_FWMARK
            | FRA_FLOW
            | FRA_SUPPRESS_IFGROUP
            | FRA_SUPPRESS_PREFIXLEN
            | FRA_TABLE
            | FRA_FWMASK => RuleAttr::U32(k, a.u32()?),
            FRA_FLOWLABEL | FRA_FLOWLABEL_MASK => RuleAttr::U32(k, be32(&a)?),
            FRA_PROTOCOL | FRA_L3MDEV | FRA_IP_PROTO | FRA_DSCP | FRA_DSCP_MASK => {
                RuleAttr::U8(k, a.u8()?)
            }
            FRA_SPORT_MASK | FRA_DPORT_MASK => RuleAttr::U16(k, a.u16()?),
            FRA_TUN_ID => RuleAttr::TunId(u64::from_be(a.u64()?)),
            FRA_UID_RANGE => match a.value() {
                &[s0, s1, s2, s3, e0, e1, e2, e3] => RuleAttr::UidRange(UidRange {
                    start: u32::from_ne_bytes([s0, s1, s2, s3]),
                    end: u32::from_ne_bytes([e0, e1, e2, e3]),
                }),
                _ => return Err(a.error(ErrorKind::BadValue)),
            },
            FRA_SPORT_RANGE | FRA_DPORT_RANGE => match a.value() {
                &[s0, s1, e0, e1] => RuleAttr::PortRange(
                    k,
                    PortRange {
                        start: u16::from_ne_bytes([s0, s1]),
                        end: u16::from_ne_bytes([e0, e1]),
                    },
                ),
                _ => return Err(a.error(ErrorKind::BadValue)),
            },
            _ => RuleAttr::Other(a),
        })
    }
}

/// A rule, owned and validated: IPv4 or IPv6 (`AF_UNSPEC` in dump
/// requests), prefix lengths within the family, `FRA_DST`/`FRA_SRC` of
/// the family, link names within `IFNAMSIZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RuleRepr {
    /// The fixed header.
    pub header: FibRuleHdr,
    /// `FRA_TABLE`.
    pub table: Option<u32>,
    /// `FRA_SUPPRESS_PREFIXLEN` (`u32::MAX`: none).
    pub suppress_prefixlen: Option<u32>,
    /// `FRA_PROTOCOL`: who added the rule (`RTPROT_*`).
    pub protocol: Option<u8>,
    /// `FRA_IIFNAME`.
    pub iifname: Option<IfName>,
    /// `FRA_OIFNAME`.
    pub oifname: Option<IfName>,
    /// `FRA_PRIORITY`.
    pub priority: Option<u32>,
    /// `FRA_FWMARK`.
    pub fwmark: Option<u32>,
    /// `FRA_FWMASK`.
    pub fwmask: Option<u32>,
    /// `FRA_GOTO`: the priority a `goto` rule jumps to.
    pub goto: Option<u32>,
    /// `FRA_TUN_ID`.
    pub tun_id: Option<u64>,
    /// `FRA_SUPPRESS_IFGROUP`.
    pub suppress_ifgroup: Option<u32>,
    /// `FRA_L3MDEV`.
    pub l3mdev: Option<u8>,
    /// `FRA_UID_RANGE`.
    pub uid_range: Option<UidRange>,
    /// `FRA_IP_PROTO`.
    pub ip_proto: Option<u8>,
    /// `FRA_SPORT_RANGE`.
    pub sport_range: Option<PortRange>,
    /// `FRA_DPORT_RANGE`.
    pub dport_range: Option<PortRange>,
    /// `FRA_SPORT_MASK`.
    pub sport_mask: Option<u16>,
    /// `FRA_DPORT_MASK`.
    pub dport_mask: Option<u16>,
    /// `FRA_DSCP`.
    pub dscp: Option<u8>,
    /// `FRA_DSCP_MASK`.
    pub dscp_mask: Option<u8>,
    /// `FRA_FLOWLABEL` (IPv6, host order here).
    pub flowlabel: Option<u32>,
    /// `FRA_FLOWLABEL_MASK`.
    pub flowlabel_mask: Option<u32>,
    /// `FRA_DST`.
    pub dst: Option<IpAddr>,
    /// `FRA_SRC`.
    pub src: Option<IpAddr>,
    /// `FRA_FLOW`: the IPv4 routing realms.
    pub flow: Option<u32>,
}

impl RuleRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &RuleMessage<'_>) -> Result<Self> {
        let h = msg.header();
        check_prefix(h.family, h.dst_len.max(h.src_len), true)?;
        let mut r = RuleRepr {
            header: h,
            ..RuleRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match RuleAttr::decode(a, h.family)? {
                RuleAttr::Dst(ip) => r.dst = Some(check_ip(&a, h.family, ip.ip())?),
                RuleAttr::Src(ip) => r.src = Some(check_ip(&a, h.family, ip.ip())?),
                RuleAttr::IifName(s) => r.iifname = Some(IfName::new(s, a.part())?),
                RuleAttr::OifName(s) => r.oifname = Some(IfName::new(s, a.part())?),
                RuleAttr::U32(k, v) => {
                    let slot = match k {
                        FRA_TABLE => &mut r.table,
                        FRA_SUPPRESS_PREFIXLEN => &mut r.suppress_prefixlen,
                        FRA_PRIORITY => &mut r.priority,
                        FRA_FWMARK => &mut r.fwmark,
                        FRA_FWMASK => &mut r.fwmask,
                        FRA_GOTO => &mut r.goto,
                        FRA_SUPPRESS_IFGROUP => &mut r.suppress_ifgroup,
                        FRA_FLOWLABEL => &mut r.flowlabel,
                        FRA_FLOWLABEL_MASK => &mut r.flowlabel_mask,
                        _ => &mut r.flow,
                    };
                    *slot = Some(v);
                }
                RuleAttr::U8(k, v) => {
                    let slot = match k {
                        FRA_PROTOCOL => &mut r.protocol,
                        FRA_L3MDEV => &mut r.l3mdev,
                        FRA_IP_PROTO => &mut r.ip_proto,
                        FRA_DSCP => &mut r.dscp,
                        _ => &mut r.dscp_mask,
                    };
                    *slot = Some(v);
                }
                RuleAttr::U16(k, v) => {
                    let slot = if k == FRA_SPORT_MASK {
                        &mut r.sport_mask
                    } else {
                        &mut r.dport_mask
                    };
                    *slot = Some(v);
                }
                RuleAttr::TunId(v) => r.tun_id = Some(v),
                RuleAttr::UidRange(u) => r.uid_range = Some(u),
                RuleAttr::PortRange(k, p) => {
                    if k == FRA_SPORT_RANGE {
                        r.sport_range = Some(p);
                    } else {
                        r.dport_range = Some(p);
                    }
                }
                RuleAttr::Other(_) => {}
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&RuleMessage::parse_payload(payload)?)
    }

    /// The table the rule names: `FRA_TABLE`, else the header's.
    pub fn table_id(&self) -> u32 {
        self.table.unwrap_or(u32::from(self.header.table))
    }

    /// Appends the header and attributes in the kernel's order
    /// (`fib_nl_fill_rule`: table, suppressors' prefix length, protocol,
    /// links, priority, mark, goto, tunnel, l3mdev, uids, ports, IP
    /// protocol, suppressed group; then the family's `fill`: DSCP, flow
    /// label, prefixes, realms).
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        for (kind, v) in [
            (FRA_TABLE, self.table),
            (FRA_SUPPRESS_PREFIXLEN, self.suppress_prefixlen),
        ] {
            if let Some(v) = v {
                w.attr_u32(kind, v)?;
            }
        }
        if let Some(p) = self.protocol {
            w.attr_u8(FRA_PROTOCOL, p)?;
        }
        if let Some(n) = &self.iifname {
            w.attr_str(FRA_IIFNAME, n)?;
        }
        if let Some(n) = &self.oifname {
            w.attr_str(FRA_OIFNAME, n)?;
        }
        for (kind, v) in [
            (FRA_PRIORITY, self.priority),
            (FRA_FWMARK, self.fwmark),
            (FRA_FWMASK, self.fwmask),
            (FRA_GOTO, self.goto),
        ] {
            if let Some(v) = v {
                w.attr_u32(kind, v)?;
            }
        }
        if let Some(t) = self.tun_id {
            w.attr_u64(FRA_TUN_ID, t.to_be())?;
        }
        if let Some(l) = self.l3mdev {
            w.attr_u8(FRA_L3MDEV, l)?;
        }
        if let Some(u) = self.uid_range {
            let [s0, s1, s2, s3] = u.start.to_ne_bytes();
            let [e0, e1, e2, e3] = u.end.to_ne_bytes();
            w.attr(FRA_UID_RANGE, &[s0, s1, s2, s3, e0, e1, e2, e3])?;
        }
        for (kind, p, mask_kind, m) in [
            (
                FRA_SPORT_RANGE,
                self.sport_range,
                FRA_SPORT_MASK,
                self.sport_mask,
            ),
            (
                FRA_DPORT_RANGE,
                self.dport_range,
                FRA_DPORT_MASK,
                self.dport_mask,
            ),
        ] {
            if let Some(p) = p {
                let [s0, s1] = p.start.to_ne_bytes();
                let [e0, e1] = p.end.to_ne_bytes();
                w.attr(kind, &[s0, s1, e0, e1])?;
            }
            if let Some(m) = m {
                w.attr_u16(mask_kind, m)?;
            }
        }
        if let Some(p) = self.ip_proto {
            w.attr_u8(FRA_IP_PROTO, p)?;
        }
        if let Some(g) = self.suppress_ifgroup {
            w.attr_u32(FRA_SUPPRESS_IFGROUP, g)?;
        }
        self.emit_family(w)
    }

    /// What `fib4_rule_fill` / `fib6_rule_fill` append.
    fn emit_family<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        if let Some(d) = self.dscp {
            w.attr_u8(FRA_DSCP, d)?;
        }
        if let Some(d) = self.dscp_mask {
            w.attr_u8(FRA_DSCP_MASK, d)?;
        }
        for (kind, v) in [
            (FRA_FLOWLABEL, self.flowlabel),
            (FRA_FLOWLABEL_MASK, self.flowlabel_mask),
        ] {
            if let Some(v) = v {
                w.attr(kind, &v.to_be_bytes())?;
            }
        }
        if let Some(ip) = self.dst {
            w.attr_ip(FRA_DST, ip)?;
        }
        if let Some(ip) = self.src {
            w.attr_ip(FRA_SRC, ip)?;
        }
        if let Some(f) = self.flow {
            w.attr_u32(FRA_FLOW, f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Error, Messages, Part};
    use core::net::Ipv4Addr;

    /// `ip rule add from 10.0.0.0/8 lookup 100 pref 100 proto boot`, as
    /// the kernel dumps it: table, suppress_prefixlen, protocol, priority,
    /// source.
    #[rustfmt::skip]
    const NEWRULE: [u8; 68] = [
        68, 0, 0, 0,  32, 0,  0, 0,  0, 0, 0, 0,  0, 0, 0, 0, // nlmsghdr: RTM_NEWRULE
        2, 0, 8, 0,  100, 0, 0, 1,  0, 0, 0, 0,               // AF_INET, src_len 8, table 100, FR_ACT_TO_TBL
        8, 0, 15, 0,  100, 0, 0, 0,                           // FRA_TABLE 100
        8, 0, 14, 0,  0xff, 0xff, 0xff, 0xff,                 // FRA_SUPPRESS_PREFIXLEN -1
        5, 0, 21, 0,  3, 0, 0, 0,                             // FRA_PROTOCOL boot
        8, 0, 6, 0,  100, 0, 0, 0,                            // FRA_PRIORITY 100
        8, 0, 2, 0,  10, 0, 0, 0,                             // FRA_SRC 10.0.0.0
    ];

    #[test]
    fn deconstruct_and_round_trip() {
        assert!(Messages::new(&NEWRULE[..60]).next().unwrap().is_err());
        let msg = Messages::new(&NEWRULE).next().unwrap().unwrap();
        let m = RuleMessage::parse(&msg).unwrap();
        assert_eq!(m.header().src_len, 8);
        assert_eq!(m.header().action, FR_ACT_TO_TBL);
        let r = RuleRepr::parse(&m).unwrap();
        assert_eq!(r.table_id(), 100);
        assert_eq!(r.priority, Some(100));
        assert_eq!(r.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0))));
        assert_eq!(r.suppress_prefixlen, Some(u32::MAX));
        assert_eq!(r.protocol, Some(RTPROT_BOOT));
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWRULE, 0, 0, 0, |w| r.emit(w)).unwrap();
        assert_eq!(w.buffer().as_slice(), &NEWRULE[..]);
    }

    #[test]
    fn every_attribute_round_trips() {
        let r = RuleRepr {
            header: FibRuleHdr {
                family: AF_INET6,
                dst_len: 64,
                src_len: 48,
                action: FR_ACT_GOTO,
                flags: FIB_RULE_INVERT,
                ..FibRuleHdr::default()
            },
            table: Some(1000),
            suppress_prefixlen: Some(0),
            protocol: Some(RTPROT_STATIC),
            iifname: IfName::try_from_str("eth0"),
            oifname: IfName::try_from_str("a-fifteen-chars"),
            priority: Some(7),
            fwmark: Some(0x10),
            fwmask: Some(0xff),
            goto: Some(9),
            tun_id: Some(0x0102_0304_0506_0708),
            suppress_ifgroup: Some(3),
            l3mdev: Some(1),
            uid_range: Some(UidRange { start: 5, end: 10 }),
            ip_proto: Some(6),
            sport_range: Some(PortRange { start: 1, end: 2 }),
            dport_range: Some(PortRange { start: 80, end: 80 }),
            sport_mask: Some(0xff00),
            dport_mask: Some(0x00ff),
            dscp: Some(46),
            dscp_mask: Some(0x3f),
            flowlabel: Some(0xabcde),
            flowlabel_mask: Some(0xfffff),
            dst: Some("2001:db8::".parse().unwrap()),
            src: Some("2001:db8:1::".parse().unwrap()),
            flow: None,
        };
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWRULE, 0, 0, 0, |w| r.emit(w)).unwrap();
        let bytes = w.into_inner();
        let msg = Messages::new(&bytes).next().unwrap().unwrap();
        let back = RuleRepr::parse(&RuleMessage::parse(&msg).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn validation() {
        let mut b = NEWRULE;
        b[16] = AF_INET6;
        assert_eq!(
            RuleRepr::parse_payload(&b[16..]),
            Err(Error::new(Part::Attr(FRA_SRC), ErrorKind::TooShort))
        );
        let mut b = NEWRULE;
        b[18] = 33;
        assert_eq!(
            RuleRepr::parse_payload(&b[16..]),
            Err(Error::new(Part::Body, ErrorKind::BadPrefix))
        );
        for end in 16..28 {
            assert_eq!(
                RuleRepr::parse_payload(&NEWRULE[16..end]),
                Err(Error::new(Part::Body, ErrorKind::Truncated)),
                "{end}"
            );
        }
    }
}
