//! A family's per-link configuration: `netconfmsg` + `NETCONFA_*`
//! (RTM_NEWNETCONF, RTM_DELNETCONF, RTM_GETNETCONF), and namespace ids:
//! `rtgenmsg` + `NETNSA_*` (RTM_NEWNSID, RTM_DELNSID, RTM_GETNSID). Both
//! headers hold one family byte, which the kernel pads to four.

use super::attr::{Attr, AttrDecode};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::writer::{Buffer, Writer};
use super::{Reader, Result, Short};

/// A one-byte family header padded to four bytes (`struct netconfmsg`,
/// `struct rtgenmsg`), as the kernel writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FamilyByte {
    /// `ncm_family` / `rtgen_family`.
    pub family: u8,
}

fn parse_family_byte(r: &mut Reader<'_>) -> core::result::Result<FamilyByte, Short> {
    let [family, _, _, _] = r.array::<4>()?;
    Ok(FamilyByte { family })
}

/// `struct netconfmsg` (its family, padded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetconfMsg(pub FamilyByte);

impl FamilyHeader for NetconfMsg {
    const LEN: usize = 4;
    type Attr<'a> = NetconfAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWNETCONF | RTM_DELNETCONF | RTM_GETNETCONF)
    }

    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        parse_family_byte(r).map(NetconfMsg)
    }

    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        w.put(&[self.0.family, 0, 0, 0])
    }

    fn family(&self) -> u8 {
        self.0.family
    }
}

/// A view of a netconf message.
pub type NetconfMessage<'a> = FamilyMessage<'a, NetconfMsg>;

/// A typed netconf attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetconfAttr<'a> {
    /// `NETCONFA_IFINDEX`.
    Ifindex(i32),
    /// `NETCONFA_FORWARDING`.
    Forwarding(i32),
    /// `NETCONFA_RP_FILTER`.
    RpFilter(i32),
    /// `NETCONFA_MC_FORWARDING`.
    McForwarding(i32),
    /// `NETCONFA_PROXY_NEIGH`.
    ProxyNeigh(i32),
    /// `NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN`.
    IgnoreRoutesWithLinkdown(i32),
    /// `NETCONFA_INPUT`.
    Input(i32),
    /// `NETCONFA_BC_FORWARDING`.
    BcForwarding(i32),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for NetconfAttr<'a> {
    fn decode(a: Attr<'a>, _family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            NETCONFA_IFINDEX => NetconfAttr::Ifindex(a.i32()?),
            NETCONFA_FORWARDING => NetconfAttr::Forwarding(a.i32()?),
            NETCONFA_RP_FILTER => NetconfAttr::RpFilter(a.i32()?),
            NETCONFA_MC_FORWARDING => NetconfAttr::McForwarding(a.i32()?),
            NETCONFA_PROXY_NEIGH => NetconfAttr::ProxyNeigh(a.i32()?),
            NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN => NetconfAttr::IgnoreRoutesWithLinkdown(a.i32()?),
            NETCONFA_INPUT => NetconfAttr::Input(a.i32()?),
            NETCONFA_BC_FORWARDING => NetconfAttr::BcForwarding(a.i32()?),
            _ => NetconfAttr::Other(a),
        })
    }
}

/// One family's configuration of a link (or of all links, or of new
/// ones), owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetconfRepr {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// `NETCONFA_IFINDEX`.
    pub ifindex: Option<i32>,
    /// `NETCONFA_FORWARDING`.
    pub forwarding: Option<i32>,
    /// `NETCONFA_RP_FILTER`.
    pub rp_filter: Option<i32>,
    /// `NETCONFA_MC_FORWARDING`.
    pub mc_forwarding: Option<i32>,
    /// `NETCONFA_BC_FORWARDING`.
    pub bc_forwarding: Option<i32>,
    /// `NETCONFA_PROXY_NEIGH`.
    pub proxy_neigh: Option<i32>,
    /// `NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN`.
    pub ignore_routes_with_linkdown: Option<i32>,
    /// `NETCONFA_INPUT`.
    pub input: Option<i32>,
}

impl NetconfRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &NetconfMessage<'_>) -> Result<Self> {
        let mut r = NetconfRepr {
            family: msg.header().0.family,
            ..NetconfRepr::default()
        };
        for a in msg.raw_attrs() {
            match NetconfAttr::decode(a?, r.family)? {
                NetconfAttr::Ifindex(v) => r.ifindex = Some(v),
                NetconfAttr::Forwarding(v) => r.forwarding = Some(v),
                NetconfAttr::RpFilter(v) => r.rp_filter = Some(v),
                NetconfAttr::McForwarding(v) => r.mc_forwarding = Some(v),
                NetconfAttr::ProxyNeigh(v) => r.proxy_neigh = Some(v),
                NetconfAttr::IgnoreRoutesWithLinkdown(v) => r.ignore_routes_with_linkdown = Some(v),
                NetconfAttr::Input(v) => r.input = Some(v),
                NetconfAttr::BcForwarding(v) => r.bc_forwarding = Some(v),
                NetconfAttr::Other(_) => {}
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload.
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&NetconfMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes in the kernel's order
    /// (`inet_netconf_fill_devconf`: link, forwarding, reverse-path
    /// filter, multicast and broadcast forwarding, proxy neighbours,
    /// routes over links down, input).
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        NetconfMsg(FamilyByte {
            family: self.family,
        })
        .emit(w)?;
        let attrs = [
            (NETCONFA_IFINDEX, self.ifindex),
            (NETCONFA_FORWARDING, self.forwarding),
            (NETCONFA_RP_FILTER, self.rp_filter),
            (NETCONFA_MC_FORWARDING, self.mc_forwarding),
            (NETCONFA_BC_FORWARDING, self.bc_forwarding),
            (NETCONFA_PROXY_NEIGH, self.proxy_neigh),
            (
                NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN,
                self.ignore_routes_with_linkdown,
            ),
            (NETCONFA_INPUT, self.input),
        ];
        for (kind, v) in attrs {
            if let Some(v) = v {
                w.attr_i32(kind, v)?;
            }
        }
        Ok(())
    }
}

/// `struct rtgenmsg` of a namespace id message (its family, padded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NsidMsg(pub FamilyByte);

impl FamilyHeader for NsidMsg {
    const LEN: usize = 4;
    type Attr<'a> = NsidAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWNSID | RTM_DELNSID | RTM_GETNSID)
    }

    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        parse_family_byte(r).map(NsidMsg)
    }

    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        w.put(&[self.0.family, 0, 0, 0])
    }

    fn family(&self) -> u8 {
        self.0.family
    }
}

/// A view of a namespace id message.
pub type NsidMessage<'a> = FamilyMessage<'a, NsidMsg>;

/// A typed namespace id attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NsidAttr<'a> {
    /// `NETNSA_NSID`: the id (`NETNSA_NSID_NOT_ASSIGNED`: none).
    Nsid(i32),
    /// `NETNSA_PID`: the namespace of this process.
    Pid(u32),
    /// `NETNSA_FD`: the namespace of this file.
    Fd(u32),
    /// `NETNSA_TARGET_NSID`: ids as another namespace sees them.
    TargetNsid(i32),
    /// `NETNSA_CURRENT_NSID`.
    CurrentNsid(i32),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for NsidAttr<'a> {
    fn decode(a: Attr<'a>, _family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            NETNSA_NSID => NsidAttr::Nsid(a.i32()?),
            NETNSA_PID => NsidAttr::Pid(a.u32()?),
            NETNSA_FD => NsidAttr::Fd(a.u32()?),
            NETNSA_TARGET_NSID => NsidAttr::TargetNsid(a.i32()?),
            NETNSA_CURRENT_NSID => NsidAttr::CurrentNsid(a.i32()?),
            _ => NsidAttr::Other(a),
        })
    }
}

/// A namespace id message, owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NsidRepr {
    /// `rtgen_family` (`AF_UNSPEC` in the kernel's answers).
    pub family: u8,
    /// `NETNSA_NSID`.
    pub nsid: Option<i32>,
    /// `NETNSA_PID`.
    pub pid: Option<u32>,
    /// `NETNSA_FD`.
    pub fd: Option<u32>,
    /// `NETNSA_TARGET_NSID`.
    pub target_nsid: Option<i32>,
    /// `NETNSA_CURRENT_NSID`.
    pub current_nsid: Option<i32>,
}

impl NsidRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &NsidMessage<'_>) -> Result<Self> {
        let mut r = NsidRepr {
            family: msg.header().0.family,
            ..NsidRepr::default()
        };
        for a in msg.raw_attrs() {
            match NsidAttr::decode(a?, r.family)? {
                NsidAttr::Nsid(v) => r.nsid = Some(v),
                NsidAttr::Pid(v) => r.pid = Some(v),
                NsidAttr::Fd(v) => r.fd = Some(v),
                NsidAttr::TargetNsid(v) => r.target_nsid = Some(v),
                NsidAttr::CurrentNsid(v) => r.current_nsid = Some(v),
                NsidAttr::Other(_) => {}
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload.
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&NsidMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes in the kernel's order
    /// (`rtnl_net_fill`: the id, then the current id when asked).
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        NsidMsg(FamilyByte {
            family: self.family,
        })
        .emit(w)?;
        if let Some(v) = self.nsid {
            w.attr_i32(NETNSA_NSID, v)?;
        }
        if let Some(v) = self.pid {
            w.attr_u32(NETNSA_PID, v)?;
        }
        if let Some(v) = self.fd {
            w.attr_u32(NETNSA_FD, v)?;
        }
        if let Some(v) = self.target_nsid {
            w.attr_i32(NETNSA_TARGET_NSID, v)?;
        }
        if let Some(v) = self.current_nsid {
            w.attr_i32(NETNSA_CURRENT_NSID, v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Messages, Writer};

    /// What the kernel sends for `ip netconf show dev lo` (IPv4), and an
    /// id message, read back the same; every truncation is an error, not
    /// a panic.
    #[test]
    fn round_trip_and_truncation() {
        let netconf = NetconfRepr {
            family: AF_INET,
            ifindex: Some(1),
            forwarding: Some(0),
            rp_filter: Some(0),
            mc_forwarding: Some(0),
            bc_forwarding: Some(0),
            proxy_neigh: Some(0),
            ignore_routes_with_linkdown: Some(0),
            input: None,
        };
        let mut w = Writer::new(alloc::vec::Vec::new());
        w.message(RTM_NEWNETCONF, 0, 0, 0, |w| netconf.emit(w))
            .unwrap();
        let bytes = w.into_inner();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        let kinds: [u16; 7] = [1, 2, 3, 4, 8, 5, 6];
        let seen: alloc::vec::Vec<u16> = NetconfMessage::parse_payload(m.payload())
            .unwrap()
            .raw_attrs()
            .map(|a| a.unwrap().attr_type())
            .collect();
        assert_eq!(seen, kinds, "the kernel's order");
        assert_eq!(NetconfRepr::parse_payload(m.payload()).unwrap(), netconf);
        for cut in 0..m.payload().len() {
            let _ = NetconfRepr::parse_payload(&m.payload()[..cut]);
        }
        assert!(NetconfRepr::parse_payload(&m.payload()[..3]).is_err());
        let nsid = NsidRepr {
            family: AF_UNSPEC,
            nsid: Some(NETNSA_NSID_NOT_ASSIGNED),
            current_nsid: Some(3),
            ..NsidRepr::default()
        };
        let mut w = Writer::new(alloc::vec::Vec::new());
        w.message(RTM_NEWNSID, 0, 0, 0, |w| nsid.emit(w)).unwrap();
        let bytes = w.into_inner();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert_eq!(NsidRepr::parse_payload(m.payload()).unwrap(), nsid);
        for cut in 0..m.payload().len() {
            let _ = NsidRepr::parse_payload(&m.payload()[..cut]);
        }
        // A wrong size is an error.
        let mut w = Writer::new(alloc::vec::Vec::new());
        w.message(RTM_NEWNSID, 0, 0, 0, |w| {
            w.put(&[0, 0, 0, 0])?;
            w.attr(NETNSA_NSID, &[1, 2])
        })
        .unwrap();
        let bytes = w.into_inner();
        let m = Messages::new(&bytes).next().unwrap().unwrap();
        assert!(NsidRepr::parse_payload(m.payload()).is_err());
    }
}
