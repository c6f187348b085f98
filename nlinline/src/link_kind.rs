//! Typed link kinds for [`Handle::link_create`]: the `IFLA_INFO_DATA` (and
//! the parent link) of bridges, veth pairs, macvlans, VXLANs, VLANs and
//! dummies written for you, as `ip link add … type KIND …` writes them.

use std::net::IpAddr;

use nlq::wire::consts::*;
use nlq::wire::{FamilyHeader, IfInfoMsg, Writer};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// `IFLA_BR_FORWARD_DELAY`, `IFLA_BR_AGEING_TIME`, `IFLA_BR_STP_STATE`,
/// `IFLA_BR_VLAN_FILTERING`.
const IFLA_BR_FORWARD_DELAY: u16 = 1;
const IFLA_BR_AGEING_TIME: u16 = 4;
const IFLA_BR_STP_STATE: u16 = 5;
const IFLA_BR_VLAN_FILTERING: u16 = 7;
/// `VETH_INFO_PEER`: the peer's `ifinfomsg` and attributes.
const VETH_INFO_PEER: u16 = 1;
/// `IFLA_MACVLAN_MODE`.
const IFLA_MACVLAN_MODE: u16 = 1;
/// `IFLA_VXLAN_*`.
const IFLA_VXLAN_ID: u16 = 1;
const IFLA_VXLAN_GROUP: u16 = 2;
const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_VXLAN_LOCAL: u16 = 4;
const IFLA_VXLAN_LEARNING: u16 = 7;
const IFLA_VXLAN_PORT: u16 = 15;
const IFLA_VXLAN_GROUP6: u16 = 16;
const IFLA_VXLAN_LOCAL6: u16 = 17;
/// `IFLA_VLAN_ID`, `IFLA_VLAN_PROTOCOL`.
const IFLA_VLAN_ID: u16 = 1;
const IFLA_VLAN_PROTOCOL: u16 = 5;
/// `ETH_P_8021Q`, `ETH_P_8021AD`.
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// A bridge's settings (`ip link add … type bridge …`); `None` leaves the
/// kernel's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeOptions {
    /// Spanning tree on (`stp_state 1`).
    pub stp: Option<bool>,
    /// `forward_delay`, in hundredths of a second.
    pub forward_delay: Option<u32>,
    /// `ageing_time`, in hundredths of a second.
    pub ageing_time: Option<u32>,
    /// `vlan_filtering`.
    pub vlan_filtering: Option<bool>,
}

/// How a macvlan shares its parent (`IFLA_MACVLAN_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacvlanMode {
    /// `private`: no traffic between macvlans of the parent.
    Private,
    /// `vepa`: traffic between them goes out through the parent.
    Vepa,
    /// `bridge`: the macvlans of the parent reach one another directly.
    Bridge,
    /// `passthru`: one macvlan takes the parent over.
    Passthru,
    /// `source`: traffic chosen by source MAC.
    Source,
}

impl MacvlanMode {
    fn value(self) -> u32 {
        match self {
            MacvlanMode::Private => 1,
            MacvlanMode::Vepa => 2,
            MacvlanMode::Bridge => 4,
            MacvlanMode::Passthru => 8,
            MacvlanMode::Source => 16,
        }
    }
}

/// A VXLAN's settings (`ip link add … type vxlan id N …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vxlan {
    /// The VXLAN network identifier (24 bits).
    pub id: u32,
    /// The remote end (`remote`) or multicast group (`group`), IPv4 or
    /// IPv6.
    pub remote: Option<IpAddr>,
    /// The local address.
    pub local: Option<IpAddr>,
    /// The link it sends through (`dev`).
    pub dev: Option<u32>,
    /// The UDP destination port (`dstport`; the kernel's default is 8472).
    pub port: Option<u16>,
    /// Learning of remote MACs (`learning` / `nolearning`).
    pub learning: Option<bool>,
}

/// The kind of a link to create, with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkKind<'a> {
    /// An Ethernet bridge.
    Bridge(BridgeOptions),
    /// A veth pair: the new link and its peer, named `peer` (`None`: the
    /// stack names it, `veth%d`).
    Veth {
        /// The peer's name.
        peer: Option<&'a str>,
    },
    /// A macvlan on link `parent`.
    Macvlan {
        /// The parent link's index.
        parent: u32,
        /// How it shares the parent.
        mode: MacvlanMode,
    },
    /// A VXLAN tunnel.
    Vxlan(Vxlan),
    /// An 802.1Q VLAN (802.1ad with `qinq`) on link `parent`.
    Vlan {
        /// The parent link's index.
        parent: u32,
        /// The VLAN id, 1 to 4094.
        id: u16,
        /// 802.1ad (`protocol 802.1ad`) instead of 802.1Q.
        qinq: bool,
    },
    /// A dummy link.
    Dummy,
}

impl LinkKind<'_> {
    /// `IFLA_INFO_KIND`.
    pub fn name(&self) -> &'static str {
        match self {
            LinkKind::Bridge(_) => "bridge",
            LinkKind::Veth { .. } => "veth",
            LinkKind::Macvlan { .. } => "macvlan",
            LinkKind::Vxlan(_) => "vxlan",
            LinkKind::Vlan { .. } => "vlan",
            LinkKind::Dummy => "dummy",
        }
    }

    /// The parent link (`IFLA_LINK`), for kinds that sit on one.
    fn parent(&self) -> Option<u32> {
        match self {
            LinkKind::Macvlan { parent, .. } | LinkKind::Vlan { parent, .. } => Some(*parent),
            _ => None,
        }
    }

    fn check(&self) -> Result<()> {
        match self {
            LinkKind::Veth { peer: Some(p) } => crate::link::check_name(p),
            LinkKind::Vxlan(v) if v.id >= 1 << 24 => Err(Error::Invalid("a VXLAN id has 24 bits")),
            LinkKind::Vlan { id, .. } if *id == 0 || *id >= 4095 => {
                Err(Error::Invalid("a VLAN id is 1 to 4094"))
            }
            _ => Ok(()),
        }
    }

    /// Writes `IFLA_INFO_DATA`, if the kind has any.
    fn emit_data(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
        let flag = |b: bool| u8::from(b);
        match self {
            LinkKind::Bridge(o) if *o != BridgeOptions::default() => {
                let mut d = w.begin_nested(IFLA_INFO_DATA)?;
                if let Some(v) = o.forward_delay {
                    d.attr_u32(IFLA_BR_FORWARD_DELAY, v)?;
                }
                if let Some(v) = o.ageing_time {
                    d.attr_u32(IFLA_BR_AGEING_TIME, v)?;
                }
                if let Some(v) = o.stp {
                    d.attr_u32(IFLA_BR_STP_STATE, u32::from(v))?;
                }
                if let Some(v) = o.vlan_filtering {
                    d.attr_u8(IFLA_BR_VLAN_FILTERING, flag(v))?;
                }
                d.finish()
            }
            LinkKind::Veth { peer } => {
                let mut d = w.begin_nested(IFLA_INFO_DATA)?;
                let mut p = d.begin_nested(VETH_INFO_PEER)?;
                IfInfoMsg::default().emit(&mut p)?;
                if let Some(name) = peer {
                    p.attr_str(IFLA_IFNAME, name)?;
                }
                p.finish()?;
                d.finish()
            }
            LinkKind::Macvlan { mode, .. } => {
                let mut d = w.begin_nested(IFLA_INFO_DATA)?;
                d.attr_u32(IFLA_MACVLAN_MODE, mode.value())?;
                d.finish()
            }
            LinkKind::Vxlan(v) => {
                let mut d = w.begin_nested(IFLA_INFO_DATA)?;
                d.attr_u32(IFLA_VXLAN_ID, v.id)?;
                match v.remote {
                    Some(ip @ IpAddr::V4(_)) => d.attr_ip(IFLA_VXLAN_GROUP, ip)?,
                    Some(ip @ IpAddr::V6(_)) => d.attr_ip(IFLA_VXLAN_GROUP6, ip)?,
                    None => {}
                }
                match v.local {
                    Some(ip @ IpAddr::V4(_)) => d.attr_ip(IFLA_VXLAN_LOCAL, ip)?,
                    Some(ip @ IpAddr::V6(_)) => d.attr_ip(IFLA_VXLAN_LOCAL6, ip)?,
                    None => {}
                }
                if let Some(dev) = v.dev {
                    d.attr_u32(IFLA_VXLAN_LINK, dev)?;
                }
                if let Some(port) = v.port {
                    d.attr(IFLA_VXLAN_PORT, &port.to_be_bytes())?;
                }
                if let Some(l) = v.learning {
                    d.attr_u8(IFLA_VXLAN_LEARNING, flag(l))?;
                }
                d.finish()
            }
            LinkKind::Vlan { id, qinq, .. } => {
                let mut d = w.begin_nested(IFLA_INFO_DATA)?;
                d.attr_u16(IFLA_VLAN_ID, *id)?;
                let proto = if *qinq { ETH_P_8021AD } else { ETH_P_8021Q };
                d.attr(IFLA_VLAN_PROTOCOL, &proto.to_be_bytes())?;
                d.finish()
            }
            LinkKind::Bridge(_) | LinkKind::Dummy => Ok(()),
        }
    }
}

impl<T: Transport> Handle<T> {
    /// Creates link `name` of `kind` with its settings; returns its index.
    /// A veth pair's peer is created too (find it by its name).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// use nlinline::{LinkKind, MacvlanMode};
    /// let mut h = nlinline::Handle::kernel()?;
    /// let v0 = h.link_create("v0", &LinkKind::Veth { peer: Some("v1") })?;
    /// let mv = h.link_create("mv0", &LinkKind::Macvlan { parent: v0, mode: MacvlanMode::Bridge })?;
    /// assert_eq!(h.if_indextoname(mv)?, "mv0");
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_create(&mut self, name: &str, kind: &LinkKind<'_>) -> Result<u32> {
        crate::link::check_name(name)?;
        kind.check()?;
        self.request(
            RTM_NEWLINK,
            NLM_F_CREATE | NLM_F_EXCL,
            |w| {
                IfInfoMsg::default().emit(w)?;
                w.attr_str(IFLA_IFNAME, name)?;
                if let Some(parent) = kind.parent() {
                    w.attr_u32(IFLA_LINK, parent)?;
                }
                let mut info = w.begin_nested(IFLA_LINKINFO)?;
                info.attr_str(IFLA_INFO_KIND, kind.name())?;
                kind.emit_data(&mut info)?;
                info.finish()
            },
            |_| Ok(()),
        )?;
        self.if_nametoindex(name)
    }
}
