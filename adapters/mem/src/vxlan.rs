//! VXLAN links (`drivers/net/vxlan`): their configuration as a request
//! gives it and as `vxlan_fill_info` reports it, the MTU their lower link
//! allows, the VNI each (port, family) may hold once, and their end with
//! their lower link.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::stack::{Events, NewLink, StackError, StackResult};
use nlq::wire::consts::IFF_UP;
use nlq::wire::{Attrs, InlineBytes, Writer, INFO_DATA_CAPACITY};

use crate::link::{Kind, Link};
use crate::{DataPlane, MemStack};

const IFLA_VXLAN_ID: u16 = 1;
const IFLA_VXLAN_GROUP: u16 = 2;
const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_VXLAN_LOCAL: u16 = 4;
const IFLA_VXLAN_TTL: u16 = 5;
const IFLA_VXLAN_TOS: u16 = 6;
const IFLA_VXLAN_LEARNING: u16 = 7;
const IFLA_VXLAN_AGEING: u16 = 8;
const IFLA_VXLAN_LIMIT: u16 = 9;
const IFLA_VXLAN_PORT_RANGE: u16 = 10;
const IFLA_VXLAN_PROXY: u16 = 11;
const IFLA_VXLAN_RSC: u16 = 12;
const IFLA_VXLAN_L2MISS: u16 = 13;
const IFLA_VXLAN_L3MISS: u16 = 14;
const IFLA_VXLAN_PORT: u16 = 15;
const IFLA_VXLAN_GROUP6: u16 = 16;
const IFLA_VXLAN_LOCAL6: u16 = 17;
const IFLA_VXLAN_UDP_CSUM: u16 = 18;
const IFLA_VXLAN_UDP_ZERO_CSUM6_TX: u16 = 19;
const IFLA_VXLAN_UDP_ZERO_CSUM6_RX: u16 = 20;
const IFLA_VXLAN_REMCSUM_TX: u16 = 21;
const IFLA_VXLAN_REMCSUM_RX: u16 = 22;
const IFLA_VXLAN_COLLECT_METADATA: u16 = 25;
const IFLA_VXLAN_LABEL: u16 = 26;
const IFLA_VXLAN_TTL_INHERIT: u16 = 28;
const IFLA_VXLAN_DF: u16 = 29;
const IFLA_VXLAN_LOCALBYPASS: u16 = 31;
const IFLA_VXLAN_LABEL_POLICY: u16 = 32;
const IFLA_VXLAN_RESERVED_BITS: u16 = 33;

/// The VXLAN header bits a receiver lets through by default
/// (`IFLA_VXLAN_RESERVED_BITS`, as this kernel reports them).
const RESERVED_BITS: [u8; 8] = [0xf7, 0xff, 0xff, 0xff, 0, 0, 0, 0xff];
/// The kernel's default destination port (not IANA's 4789).
const DEFAULT_PORT: u16 = 8472;
/// What the encapsulation takes of the lower link's MTU.
const HEADROOM_V4: u32 = 50;
const HEADROOM_V6: u32 = 70;

/// A VXLAN link's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vxlan {
    pub vni: u32,
    /// The remote address or multicast group.
    pub group: Option<IpAddr>,
    pub local: Option<IpAddr>,
    /// The lower link (0: none).
    pub lower: u32,
    pub ttl: u8,
    pub ttl_inherit: bool,
    pub tos: u8,
    pub df: u8,
    pub label: u32,
    pub label_policy: u32,
    pub learning: bool,
    pub proxy: bool,
    pub rsc: bool,
    pub l2miss: bool,
    pub l3miss: bool,
    pub collect_metadata: bool,
    pub ageing: u32,
    pub limit: u32,
    /// Destination port, host order.
    pub port: u16,
    pub udp_csum: bool,
    pub zero_csum6_tx: bool,
    pub zero_csum6_rx: bool,
    pub remcsum_tx: bool,
    pub remcsum_rx: bool,
    pub localbypass: bool,
    /// Source port range, host order.
    pub port_range: (u16, u16),
    /// The largest segment it offloads: its lower link's
    /// (`netif_inherit_tso_max`), not reported in its data.
    pub tso_max_size: u32,
}

impl Default for Vxlan {
    fn default() -> Self {
        Vxlan {
            vni: 0,
            group: None,
            local: None,
            lower: 0,
            ttl: 0,
            ttl_inherit: false,
            tos: 0,
            df: 0,
            label: 0,
            label_policy: 0,
            learning: true,
            proxy: false,
            rsc: false,
            l2miss: false,
            l3miss: false,
            collect_metadata: false,
            ageing: 300,
            limit: 0,
            port: DEFAULT_PORT,
            udp_csum: true,
            zero_csum6_tx: false,
            zero_csum6_rx: false,
            remcsum_tx: false,
            remcsum_rx: false,
            localbypass: true,
            port_range: (0, 0),
            tso_max_size: 65536,
        }
    }
}

fn bad() -> StackError {
    StackError::new(EINVAL)
}

fn ip(v: &[u8]) -> StackResult<IpAddr> {
    match v.len() {
        4 => Ok(IpAddr::from(<[u8; 4]>::try_from(v).map_err(|_| bad())?)),
        16 => Ok(IpAddr::from(<[u8; 16]>::try_from(v).map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

impl Vxlan {
    /// The configuration an `IFLA_INFO_DATA` of `vxlan` gives (a request's,
    /// or a saved link's), over the kernel's defaults.
    pub(crate) fn parse(data: &[u8]) -> StackResult<Vxlan> {
        let mut c = Vxlan::default();
        for a in Attrs::new(data) {
            let a = a.map_err(|_| bad())?;
            let v = a.value();
            let u8v = || v.first().copied().ok_or_else(bad);
            let u32v = || a.u32().map_err(|_| bad());
            let be16 = |at: usize| {
                v.get(at..)
                    .and_then(|b| b.first_chunk::<2>())
                    .map(|b| u16::from_be_bytes(*b))
                    .ok_or_else(bad)
            };
            match a.attr_type() {
                IFLA_VXLAN_ID => c.vni = u32v()?,
                IFLA_VXLAN_GROUP | IFLA_VXLAN_GROUP6 => c.group = Some(ip(v)?),
                IFLA_VXLAN_LOCAL | IFLA_VXLAN_LOCAL6 => c.local = Some(ip(v)?),
                IFLA_VXLAN_LINK => c.lower = u32v()?,
                IFLA_VXLAN_TTL => c.ttl = u8v()?,
                // A flag in requests, a byte in answers.
                IFLA_VXLAN_TTL_INHERIT => c.ttl_inherit = v.first().is_none_or(|b| *b != 0),
                IFLA_VXLAN_TOS => c.tos = u8v()?,
                IFLA_VXLAN_DF => c.df = u8v()?,
                IFLA_VXLAN_LABEL => {
                    c.label = v
                        .first_chunk::<4>()
                        .map(|b| u32::from_be_bytes(*b))
                        .ok_or_else(bad)?
                }
                IFLA_VXLAN_LABEL_POLICY => c.label_policy = u32v()?,
                IFLA_VXLAN_LEARNING => c.learning = u8v()? != 0,
                IFLA_VXLAN_PROXY => c.proxy = u8v()? != 0,
                IFLA_VXLAN_RSC => c.rsc = u8v()? != 0,
                IFLA_VXLAN_L2MISS => c.l2miss = u8v()? != 0,
                IFLA_VXLAN_L3MISS => c.l3miss = u8v()? != 0,
                IFLA_VXLAN_COLLECT_METADATA => c.collect_metadata = u8v()? != 0,
                IFLA_VXLAN_AGEING => c.ageing = u32v()?,
                IFLA_VXLAN_LIMIT => c.limit = u32v()?,
                IFLA_VXLAN_PORT => {
                    c.port = match be16(0)? {
                        0 => DEFAULT_PORT,
                        p => p,
                    }
                }
                IFLA_VXLAN_UDP_CSUM => c.udp_csum = u8v()? != 0,
                IFLA_VXLAN_UDP_ZERO_CSUM6_TX => c.zero_csum6_tx = u8v()? != 0,
                IFLA_VXLAN_UDP_ZERO_CSUM6_RX => c.zero_csum6_rx = u8v()? != 0,
                IFLA_VXLAN_REMCSUM_TX => c.remcsum_tx = u8v()? != 0,
                IFLA_VXLAN_REMCSUM_RX => c.remcsum_rx = u8v()? != 0,
                IFLA_VXLAN_LOCALBYPASS => c.localbypass = u8v()? != 0,
                IFLA_VXLAN_PORT_RANGE => c.port_range = (be16(0)?, be16(2)?),
                IFLA_VXLAN_RESERVED_BITS => {}
                _ => {
                    return Err(StackError::with_message(
                        EOPNOTSUPP,
                        "nlq: this VXLAN attribute is not supported",
                    ))
                }
            }
        }
        Ok(c)
    }

    /// It encapsulates in IPv6.
    fn ipv6(&self) -> bool {
        matches!(self.group, Some(IpAddr::V6(_))) || matches!(self.local, Some(IpAddr::V6(_)))
    }

    fn headroom(&self) -> u32 {
        if self.ipv6() {
            HEADROOM_V6
        } else {
            HEADROOM_V4
        }
    }

    /// `needed_headroom`: an Ethernet header (the lower link's, or its
    /// own) and the encapsulation.
    pub(crate) fn needed_headroom(&self) -> u16 {
        // 14 and 50 or 70: well within a u16.
        self.headroom().saturating_add(14) as u16
    }

    /// `IFLA_INFO_DATA`, in `vxlan_fill_info`'s order.
    pub(crate) fn info_data(&self) -> Option<InlineBytes<INFO_DATA_CAPACITY>> {
        let mut w = Writer::new(Vec::new());
        self.emit(&mut w).ok()?;
        InlineBytes::try_from_slice(&w.into_inner())
    }

    fn emit(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
        let flag = |b: bool| u8::from(b);
        w.attr_u32(IFLA_VXLAN_ID, self.vni)?;
        match self.group {
            Some(IpAddr::V4(a)) => w.attr(IFLA_VXLAN_GROUP, &a.octets())?,
            Some(IpAddr::V6(a)) => w.attr(IFLA_VXLAN_GROUP6, &a.octets())?,
            None => {}
        }
        if self.lower != 0 {
            w.attr_u32(IFLA_VXLAN_LINK, self.lower)?;
        }
        match self.local {
            Some(IpAddr::V4(a)) => w.attr(IFLA_VXLAN_LOCAL, &a.octets())?,
            Some(IpAddr::V6(a)) => w.attr(IFLA_VXLAN_LOCAL6, &a.octets())?,
            None => {}
        }
        w.attr_u8(IFLA_VXLAN_TTL, self.ttl)?;
        w.attr_u8(IFLA_VXLAN_TTL_INHERIT, flag(self.ttl_inherit))?;
        w.attr_u8(IFLA_VXLAN_TOS, self.tos)?;
        w.attr_u8(IFLA_VXLAN_DF, self.df)?;
        w.attr(IFLA_VXLAN_LABEL, &self.label.to_be_bytes())?;
        w.attr_u32(IFLA_VXLAN_LABEL_POLICY, self.label_policy)?;
        w.attr_u8(IFLA_VXLAN_LEARNING, flag(self.learning))?;
        w.attr_u8(IFLA_VXLAN_PROXY, flag(self.proxy))?;
        w.attr_u8(IFLA_VXLAN_RSC, flag(self.rsc))?;
        w.attr_u8(IFLA_VXLAN_L2MISS, flag(self.l2miss))?;
        w.attr_u8(IFLA_VXLAN_L3MISS, flag(self.l3miss))?;
        w.attr_u8(IFLA_VXLAN_COLLECT_METADATA, flag(self.collect_metadata))?;
        w.attr_u32(IFLA_VXLAN_AGEING, self.ageing)?;
        w.attr_u32(IFLA_VXLAN_LIMIT, self.limit)?;
        w.attr(IFLA_VXLAN_PORT, &self.port.to_be_bytes())?;
        w.attr_u8(IFLA_VXLAN_UDP_CSUM, flag(self.udp_csum))?;
        w.attr_u8(IFLA_VXLAN_UDP_ZERO_CSUM6_TX, flag(self.zero_csum6_tx))?;
        w.attr_u8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX, flag(self.zero_csum6_rx))?;
        w.attr_u8(IFLA_VXLAN_REMCSUM_TX, flag(self.remcsum_tx))?;
        w.attr_u8(IFLA_VXLAN_REMCSUM_RX, flag(self.remcsum_rx))?;
        w.attr_u8(IFLA_VXLAN_LOCALBYPASS, flag(self.localbypass))?;
        let (lo, hi) = self.port_range;
        let mut range = [0u8; 4];
        range[..2].copy_from_slice(&lo.to_be_bytes());
        range[2..].copy_from_slice(&hi.to_be_bytes());
        w.attr(IFLA_VXLAN_PORT_RANGE, &range)?;
        w.attr(IFLA_VXLAN_RESERVED_BITS, &RESERVED_BITS)
    }
}

impl<D: DataPlane> MemStack<D> {
    /// `vxlan_newlink`: the configuration checked against the links
    /// (`vxlan_config_validate`), the MTU its lower link allows
    /// (`vxlan_config_apply`), then a link like any other.
    pub(crate) fn vxlan_add(&mut self, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        let data = new.info.and_then(|i| i.data);
        let data = data.as_ref().map_or(&[][..], |d| d.as_slice());
        // `vxlan_nl2conf`: a new tunnel names its VNI.
        if !Attrs::new(data)
            .flatten()
            .any(|a| a.attr_type() == IFLA_VXLAN_ID)
        {
            return Err(StackError::with_message(
                EINVAL,
                "Required attributes not provided to perform the operation",
            ));
        }
        let conf = Vxlan::parse(data)?;
        if conf.collect_metadata {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "nlq: VXLAN devices collecting metadata are not supported",
            ));
        }
        let lower_mtu = match conf.lower {
            0 => None,
            i => {
                let lower = self.links.get(&i).ok_or(StackError::with_message(
                    ENODEV,
                    "Invalid local interface, device not found",
                ))?;
                if lower.kind == Kind::Vxlan {
                    // Chains of tunnels would make unregistering recurse
                    // as deep as they are long.
                    return Err(StackError::with_message(
                        EOPNOTSUPP,
                        "nlq: a VXLAN link over a VXLAN link is not supported",
                    ));
                }
                Some(lower.mtu)
            }
        };
        let taken = self.links.values().any(|l| {
            l.vxlan.as_ref().is_some_and(|o| {
                o.vni == conf.vni && o.port == conf.port && o.ipv6() == conf.ipv6()
            })
        });
        if taken {
            return Err(StackError::with_message(
                EEXIST,
                "A VXLAN device with the specified VNI already exists",
            ));
        }
        let max = lower_mtu.map_or(65535, |m| m.saturating_sub(conf.headroom()).max(68));
        let mtu = match (new.change.mtu, lower_mtu) {
            (Some(m), _) => m.min(max),
            (None, Some(_)) => max,
            (None, None) => 1500,
        };
        let (name, index) = self.name_and_index(new, Kind::Vxlan)?;
        let mut conf = conf;
        conf.tso_max_size = self.tso_max_of(conf.lower);
        let mut link = self.made_link(Kind::Vxlan, index, name);
        link.apply_new(&new.change);
        link.set_initial_mtu(mtu);
        let lower = conf.lower;
        link.vxlan = Some(Box::new(conf));
        self.register(link, events);
        if lower != 0 {
            // `netdev_upper_dev_link`: the lower link is told of its new
            // upper (NETDEV_CHANGEUPPER).
            self.notify_link(lower, events);
        }
        // The driver tells of the link itself (`rtnl_configure_link`
        // without flags); opening it, if asked, is told apart.
        self.announce(index, false, events);
        if new.change.flags(0).is_some_and(|f| f & IFF_UP != 0) {
            self.bring_up(index, IFF_UP, events);
        }
        Ok(index)
    }

    /// The largest segment link `lower` offloads (65,536 without one).
    pub(crate) fn tso_max_of(&self, lower: u32) -> u32 {
        self.links
            .get(&lower)
            .and_then(|l| l.repr().details.tso_max_size)
            .unwrap_or(65536)
    }

    /// `vxlan_change_mtu`: no more than the lower link allows.
    pub(crate) fn vxlan_check_mtu(&self, l: &Link, mtu: u32) -> StackResult<()> {
        let Some(conf) = &l.vxlan else { return Ok(()) };
        match self.links.get(&conf.lower) {
            Some(lower) if conf.lower != 0 && mtu > lower.mtu.saturating_sub(conf.headroom()) => {
                Err(StackError::new(EINVAL))
            }
            _ => Ok(()),
        }
    }

    /// The VXLAN links over `lower`, newest first (the order of the
    /// driver's list), which go when it goes
    /// (`vxlan_handle_lowerdev_unregister`).
    pub(crate) fn vxlans_over(&self, lower: u32) -> Vec<u32> {
        let mut over: Vec<&Link> = self
            .links
            .values()
            .filter(|l| l.vxlan.as_ref().is_some_and(|c| c.lower == lower))
            .collect();
        over.sort_by_key(|l| std::cmp::Reverse(l.born[0]));
        over.iter().map(|l| l.index).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_report_as_the_kernel_reports_them() {
        let c = Vxlan {
            vni: 42,
            port: 4789,
            ..Vxlan::default()
        };
        let d = c.info_data().unwrap();
        let back = Vxlan::parse(d.as_slice()).unwrap();
        assert_eq!(back, c);
        // ID, TTL, ... as `vxlan_fill_info` writes them for a bare device.
        let kinds: Vec<u16> = Attrs::new(d.as_slice())
            .map(|a| a.unwrap().attr_type())
            .collect();
        assert_eq!(
            kinds,
            [
                1, 5, 28, 6, 29, 26, 32, 7, 11, 12, 13, 14, 25, 8, 9, 15, 18, 19, 20, 21, 22, 31,
                10, 33
            ]
        );
    }

    fn data(attrs: &[(u16, &[u8])]) -> nlq::wire::LinkInfoRepr {
        let mut w = Writer::new(Vec::new());
        for (k, v) in attrs {
            w.attr(*k, v).unwrap();
        }
        nlq::wire::LinkInfoRepr {
            kind: nlq::wire::InlineStr::try_from_str("vxlan"),
            data: InlineBytes::try_from_slice(&w.into_inner()),
            ..Default::default()
        }
    }

    fn add(s: &mut MemStack, name: &str, info: &nlq::wire::LinkInfoRepr) -> StackResult<u32> {
        use nlq::stack::Stack;
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str(name),
            kind: "vxlan",
            info: Some(info),
            change: nlq::stack::LinkChange::default(),
        };
        s.add_link(&new, &mut |_| {})
    }

    #[test]
    fn a_tunnel_fits_its_lower_link_and_goes_with_it() {
        use nlq::stack::{LinkKey, Stack};
        let mut s = MemStack::new();
        let b0 = nlq::wire::LinkInfoRepr {
            kind: nlq::wire::InlineStr::try_from_str("bridge"),
            ..Default::default()
        };
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str("b0"),
            kind: "bridge",
            info: Some(&b0),
            change: nlq::stack::LinkChange::default(),
        };
        let lower = s.add_link(&new, &mut |_| {}).unwrap();
        let x0 = add(
            &mut s,
            "x0",
            &data(&[
                (IFLA_VXLAN_ID, &42u32.to_ne_bytes()),
                (IFLA_VXLAN_LINK, &lower.to_ne_bytes()),
            ]),
        )
        .unwrap();
        let l = s.link(LinkKey::Index(x0)).unwrap();
        assert_eq!(l.mtu, Some(1450));
        assert_eq!(l.details.headroom, Some(64));
        // The same VNI on the same port is taken.
        let again = add(
            &mut s,
            "x1",
            &data(&[(IFLA_VXLAN_ID, &42u32.to_ne_bytes())]),
        );
        assert_eq!(again.unwrap_err().errno, EEXIST);
        // More than the lower link carries is refused.
        let big = nlq::stack::LinkChange {
            mtu: Some(1451),
            ..Default::default()
        };
        assert_eq!(s.set_link(x0, &big, &mut |_| {}).unwrap_err().errno, EINVAL);
        // It goes with its lower link, and is saved and restored.
        let back = MemStack::from_tables(&s.tables()).unwrap();
        assert_eq!(back.link(LinkKey::Index(x0)).unwrap(), l);
        s.del_link(lower, &mut |_| {}).unwrap();
        assert!(s.link(LinkKey::Index(x0)).is_err());
    }

    #[test]
    fn requests_that_do_not_parse_are_refused() {
        // IFLA_VXLAN_GROUP of three bytes.
        assert_eq!(
            Vxlan::parse(&[7, 0, 2, 0, 1, 2, 3, 0]).unwrap_err().errno,
            EINVAL
        );
        // An attribute this stack does not model.
        assert_eq!(Vxlan::parse(&[4, 0, 23, 0]).unwrap_err().errno, EOPNOTSUPP);
        // A new tunnel without its VNI.
        let mut s = MemStack::new();
        let e = add(&mut s, "vx0", &data(&[(IFLA_VXLAN_TTL, &[64])])).unwrap_err();
        assert_eq!(e.errno, EINVAL);
        assert_eq!(
            e.message,
            Some("Required attributes not provided to perform the operation")
        );
    }
}
