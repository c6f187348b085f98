//! What `rtnl_newlink` asks of a link kind before it looks for the link a
//! request names (`rtnl_link_ops::validate`, and the peer's attributes of
//! a kind that makes pairs): a request that fails here fails the same way
//! whether the link exists or not.

use crate::errno::{EADDRNOTAVAIL, EINVAL, ERANGE};
use crate::stack::StackError;
use crate::wire::{Attrs, LinkInfoRepr, LinkRepr};

/// `VETH_INFO_PEER`: the peer's `ifinfomsg` and attributes, in a veth's
/// `IFLA_INFO_DATA`.
pub const VETH_INFO_PEER: u16 = 1;

/// `veth_validate`: an address of six bytes, unicast and not zero, and an
/// MTU from 68 to 65,535 (`ETH_MIN_MTU`, `ETH_MAX_MTU`); errors without a
/// message.
pub fn veth_validate(address: Option<&[u8]>, mtu: Option<u32>) -> Result<(), StackError> {
    if let Some(mac) = address {
        if mac.len() != 6 {
            return Err(StackError::new(EINVAL));
        }
        let multicast = mac.first().is_some_and(|b| b & 1 != 0);
        if multicast || mac.iter().all(|b| *b == 0) {
            return Err(StackError::new(EADDRNOTAVAIL));
        }
    }
    if mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
        return Err(StackError::new(EINVAL));
    }
    Ok(())
}

/// The peer a veth request describes (`VETH_INFO_PEER`), if any;
/// `EINVAL` when it does not parse.
pub fn veth_peer(info: Option<&LinkInfoRepr>) -> Result<Option<LinkRepr>, StackError> {
    let Some(data) = info.and_then(|i| i.data.as_ref()) else {
        return Ok(None);
    };
    let peer = Attrs::new(data)
        .find(VETH_INFO_PEER)
        .map_err(|_| StackError::new(EINVAL))?;
    peer.map(|a| LinkRepr::parse_payload(a.value()).map_err(|_| StackError::new(EINVAL)))
        .transpose()
}

/// A kind's refusal of a request: the error, and the attribute of the
/// kind's `IFLA_INFO_DATA` it is about (its type), when the kernel names
/// one by its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindRefusal {
    /// The errno and text.
    pub error: StackError,
    /// The `IFLA_INFO_DATA` attribute the kernel's extended ACK points at.
    pub data_attr: Option<u16>,
}

impl From<StackError> for KindRefusal {
    fn from(error: StackError) -> Self {
        KindRefusal {
            error,
            data_attr: None,
        }
    }
}

/// `IFLA_VXLAN_ID`, `IFLA_VXLAN_PORT_RANGE`.
const IFLA_VXLAN_ID: u16 = 1;
const IFLA_VXLAN_PORT_RANGE: u16 = 10;

/// The least length `vxlan_policy` takes for an `IFLA_VXLAN_*` value:
/// the addresses' (4, 16), the port range's (4), an integer's width.
fn vxlan_min_len(attr: u16) -> usize {
    match attr {
        // ID, GROUP, LINK, LOCAL, AGEING, LIMIT, PORT_RANGE, LABEL,
        // LABEL_POLICY.
        1..=4 | 8..=10 | 26 | 32 => 4,
        // GROUP6, LOCAL6.
        16 | 17 => 16,
        // PORT.
        15 => 2,
        // TTL, TOS, LEARNING, PROXY, RSC, L2MISS, L3MISS, the checksum
        // flags, COLLECT_METADATA, DF, VNIFILTER, LOCALBYPASS.
        5..=7 | 11..=14 | 18..=22 | 25 | 29..=31 => 1,
        _ => 0,
    }
}

/// `vxlan_validate`, after `vxlan_policy`: no value shorter than its
/// type (`ERANGE`, naming it); an Ethernet address, an MTU from 68 to
/// 65,535, a VNI below 2^24 (naming it), a source port range that is not
/// upside down.
pub fn vxlan_validate(req: &LinkRepr) -> Result<(), KindRefusal> {
    let data = req.info.as_ref().and_then(|i| i.data.as_ref());
    for a in data.into_iter().flat_map(|d| Attrs::new(d).flatten()) {
        if a.value().len() < vxlan_min_len(a.attr_type()) {
            return Err(KindRefusal {
                error: StackError::with_message(ERANGE, "Attribute failed policy validation"),
                data_attr: Some(a.attr_type()),
            });
        }
    }
    if let Some(mac) = &req.address {
        if mac.len() != 6 {
            return Err(StackError::with_message(
                EINVAL,
                "Provided link layer address is not Ethernet",
            )
            .into());
        }
        let multicast = mac.first().is_some_and(|b| b & 1 != 0);
        if multicast || mac.iter().all(|b| *b == 0) {
            return Err(StackError::with_message(
                EADDRNOTAVAIL,
                "Provided Ethernet address is not unicast",
            )
            .into());
        }
    }
    if req.mtu.is_some_and(|m| !(68..=65535).contains(&m)) {
        return Err(StackError::with_message(EINVAL, "MTU must be between 68 and 65535").into());
    }
    let Some(data) = req.info.as_ref().and_then(|i| i.data.as_ref()) else {
        return Ok(());
    };
    for a in Attrs::new(data).flatten() {
        let v = a.value();
        match a.attr_type() {
            IFLA_VXLAN_ID if a.u32().is_ok_and(|id| id >= 1 << 24) => {
                return Err(KindRefusal {
                    error: StackError::with_message(ERANGE, "VXLAN ID must be lower than 16777216"),
                    data_attr: Some(IFLA_VXLAN_ID),
                });
            }
            IFLA_VXLAN_PORT_RANGE => {
                let port = |i: usize| {
                    v.get(i..i.saturating_add(2))
                        .and_then(|b| <[u8; 2]>::try_from(b).ok())
                        .map(u16::from_be_bytes)
                };
                if let (Some(low), Some(high)) = (port(0), port(2)) {
                    if high < low {
                        return Err(
                            StackError::with_message(EINVAL, "Invalid source port range").into(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `IFLA_MACVLAN_*` that `macvlan_validate` checks.
const IFLA_MACVLAN_MODE: u16 = 1;
const IFLA_MACVLAN_FLAGS: u16 = 2;
const IFLA_MACVLAN_MACADDR_MODE: u16 = 3;
const IFLA_MACVLAN_MACADDR: u16 = 4;
const IFLA_MACVLAN_MACADDR_COUNT: u16 = 6;

/// `macvlan_validate`: an Ethernet address; known flags
/// (`MACVLAN_FLAG_NOPROMISC`, `_NODST`), modes (private, VEPA, bridge,
/// passthru, source) and source-list operations; no count of sources.
/// No texts.
pub fn macvlan_validate(req: &LinkRepr) -> Result<(), StackError> {
    let ether = |mac: &[u8]| {
        if mac.len() != 6 {
            return Err(StackError::new(EINVAL));
        }
        let multicast = mac.first().is_some_and(|b| b & 1 != 0);
        if multicast || mac.iter().all(|b| *b == 0) {
            return Err(StackError::new(EADDRNOTAVAIL));
        }
        Ok(())
    };
    if let Some(mac) = &req.address {
        ether(mac.as_slice())?;
    }
    let Some(data) = req.info.as_ref().and_then(|i| i.data.as_ref()) else {
        return Ok(());
    };
    let attrs = |kind: u16| {
        Attrs::new(data)
            .flatten()
            .filter(move |a| a.attr_type() == kind)
    };
    if attrs(IFLA_MACVLAN_FLAGS).any(|a| a.u16().is_ok_and(|f| f & !3 != 0)) {
        return Err(StackError::new(EINVAL));
    }
    if attrs(IFLA_MACVLAN_MODE).any(|a| a.u32().is_ok_and(|m| ![1, 2, 4, 8, 16].contains(&m))) {
        return Err(StackError::new(EINVAL));
    }
    if attrs(IFLA_MACVLAN_MACADDR_MODE).any(|a| a.u32().is_ok_and(|m| m > 3)) {
        return Err(StackError::new(EINVAL));
    }
    for a in attrs(IFLA_MACVLAN_MACADDR) {
        ether(a.value())?;
    }
    if attrs(IFLA_MACVLAN_MACADDR_COUNT).next().is_some() {
        return Err(StackError::new(EINVAL));
    }
    Ok(())
}

/// The kind's checks of a `RTM_NEWLINK` request (the link's attributes,
/// then a peer's), for the kinds that have them.
pub fn validate(req: &LinkRepr) -> Result<(), KindRefusal> {
    let kind = req.info.as_ref().and_then(|i| i.kind.as_ref());
    match kind.map(|k| k.as_str()) {
        Some("veth") => {
            veth_validate(req.address.as_ref().map(|a| a.as_slice()), req.mtu)?;
            if let Some(peer) = veth_peer(req.info.as_ref())? {
                veth_validate(peer.address.as_ref().map(|a| a.as_slice()), peer.mtu)?;
            }
            Ok(())
        }
        Some("vxlan") => vxlan_validate(req),
        Some("macvlan") => Ok(macvlan_validate(req)?),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_addresses_and_mtus() {
        assert!(veth_validate(Some(&[2, 0, 0, 0, 0, 1]), Some(1500)).is_ok());
        let e = |r: Result<(), StackError>| r.unwrap_err().errno;
        assert_eq!(e(veth_validate(Some(&[2, 0, 0, 0, 1]), None)), EINVAL);
        assert_eq!(
            e(veth_validate(Some(&[1, 0, 0x5e, 0, 0, 1]), None)),
            EADDRNOTAVAIL
        );
        assert_eq!(e(veth_validate(Some(&[0; 6]), None)), EADDRNOTAVAIL);
        assert_eq!(e(veth_validate(None, Some(67))), EINVAL);
        assert_eq!(e(veth_validate(None, Some(65536))), EINVAL);
        assert!(veth_validate(None, Some(68)).is_ok());
        assert!(veth_validate(None, Some(65535)).is_ok());
    }

    #[test]
    fn vxlan_requests_are_checked_before_the_link_is_looked_up() {
        let req = |data: &[u8], mtu: Option<u32>| LinkRepr {
            mtu,
            info: Some(LinkInfoRepr {
                kind: crate::wire::InlineStr::try_from_str("vxlan"),
                data: crate::wire::InlineBytes::try_from_slice(data),
                ..LinkInfoRepr::default()
            }),
            ..LinkRepr::default()
        };
        let text = |r: Result<(), KindRefusal>| r.unwrap_err().error.message;
        // IFLA_VXLAN_ID 1 << 24, named.
        let id = [8, 0, 1, 0, 0, 0, 0, 1];
        assert_eq!(
            text(validate(&req(&id, None))),
            Some("VXLAN ID must be lower than 16777216")
        );
        assert_eq!(validate(&req(&id, None)).unwrap_err().data_attr, Some(1));
        // IFLA_VXLAN_ID of two bytes, IFLA_VXLAN_GROUP6 of four: ERANGE,
        // named, before any other check.
        for short in [&[6, 0, 1, 0, 1, 0, 0, 0][..], &[8, 0, 16, 0, 10, 0, 0, 1]] {
            let r = validate(&req(short, Some(65536))).unwrap_err();
            assert_eq!(r.error.errno, ERANGE);
            assert_eq!(r.error.message, Some("Attribute failed policy validation"));
            assert_eq!(r.data_attr, short.get(2).map(|t| u16::from(*t)));
        }
        // IFLA_VXLAN_PORT_RANGE 2000-1000.
        let range = [8, 0, 10, 0, 0x07, 0xd0, 0x03, 0xe8];
        assert_eq!(
            text(validate(&req(&range, None))),
            Some("Invalid source port range")
        );
        assert_eq!(
            text(validate(&req(&[], Some(65536)))),
            Some("MTU must be between 68 and 65535")
        );
        assert!(validate(&req(&[8, 0, 1, 0, 42, 0, 0, 0], Some(1500))).is_ok());
    }

    #[test]
    fn a_peer_that_does_not_parse_is_invalid() {
        // VETH_INFO_PEER holding three bytes: no `ifinfomsg`.
        let info = LinkInfoRepr {
            data: crate::wire::InlineBytes::try_from_slice(&[7, 0, 1, 0, 1, 2, 3, 0]),
            ..LinkInfoRepr::default()
        };
        assert_eq!(veth_peer(Some(&info)).unwrap_err().errno, EINVAL);
        assert!(veth_peer(None).unwrap().is_none());
    }
}
