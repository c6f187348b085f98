//! Nexthop objects: `nhmsg` + `NHA_*` (RTM_NEWNEXTHOP, RTM_DELNEXTHOP,
//! RTM_GETNEXTHOP), a gateway or a link, a blackhole, or a group of other
//! nexthops with weights.

use core::net::IpAddr;

use super::attr::{Attr, AttrDecode, IpBytes};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::parse::ne32;
use super::repr::{check_ip, check_prefix};
use super::writer::{Buffer, Writer};
use super::{ErrorKind, Part, Reader, Result, Short};

/// Size of `struct nexthop_grp`.
const GRP_LEN: usize = 8;

/// `struct nhmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NhMsg {
    /// `nh_family`.
    pub family: u8,
    /// `nh_scope`.
    pub scope: u8,
    /// `nh_protocol`: `RTPROT_*`.
    pub protocol: u8,
    /// `resvd`.
    pub resvd: u8,
    /// `nh_flags`: `RTNH_F_*`.
    pub flags: u32,
}

impl FamilyHeader for NhMsg {
    const LEN: usize = NHMSG_LEN;
    type Attr<'a> = NexthopAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWNEXTHOP | RTM_DELNEXTHOP | RTM_GETNEXTHOP)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let h = r.array::<NHMSG_LEN>()?;
        let [family, scope, protocol, resvd, f0, f1, f2, f3] = h;
        Ok(NhMsg {
            family,
            scope,
            protocol,
            resvd,
            flags: ne32(f0, f1, f2, f3),
        })
    }

    #[inline]
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        let [f0, f1, f2, f3] = self.flags.to_ne_bytes();
        w.put(&[
            self.family,
            self.scope,
            self.protocol,
            self.resvd,
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

/// A view of a nexthop message.
pub type NexthopMessage<'a> = FamilyMessage<'a, NhMsg>;

/// One member of a group (`struct nexthop_grp`): a nexthop id and its
/// weight, 1 to 65,535 (the kernel keeps weight − 1 in two bytes, and
/// refuses 65,536).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupMember {
    /// The member's nexthop id.
    pub id: u32,
    /// Its weight, from 1.
    pub weight: u32,
}

impl GroupMember {
    fn bytes(self) -> [u8; GRP_LEN] {
        let [w0, w1, _, _] = self.weight.saturating_sub(1).min(0xffff).to_le_bytes();
        let [i0, i1, i2, i3] = self.id.to_ne_bytes();
        [i0, i1, i2, i3, w0, w1, 0, 0]
    }
}

/// The members of `NHA_GROUP`, read from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupMembers<'a>(&'a [u8]);

impl<'a> GroupMembers<'a> {
    /// Checks that the value holds whole members.
    fn new(a: &Attr<'a>) -> Result<Self> {
        let v = a.value();
        if v.is_empty() || !v.len().is_multiple_of(GRP_LEN) {
            return Err(a.error(ErrorKind::BadLength));
        }
        Ok(GroupMembers(v))
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = GroupMember> + 'a {
        self.0.chunks_exact(GRP_LEN).map(|c| {
            let b = |i: usize| c.get(i).copied().unwrap_or(0);
            GroupMember {
                id: ne32(b(0), b(1), b(2), b(3)),
                weight: (u32::from(b(4)) | u32::from(b(5)) << 8).saturating_add(1),
            }
        })
    }
}

/// A typed nexthop attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NexthopAttr<'a> {
    /// `NHA_ID`.
    Id(u32),
    /// `NHA_GROUP`.
    Group(GroupMembers<'a>),
    /// `NHA_GROUP_TYPE`.
    GroupType(u16),
    /// `NHA_BLACKHOLE`.
    Blackhole,
    /// `NHA_OIF`.
    Oif(u32),
    /// `NHA_GATEWAY`.
    Gateway(IpBytes<'a>),
    /// `NHA_FDB`: a nexthop for the bridge's forwarding database.
    Fdb,
    /// `NHA_GROUPS`: a dump of groups only.
    Groups,
    /// `NHA_MASTER`: a dump of the nexthops of a master link.
    Master(u32),
    /// `NHA_OP_FLAGS`.
    OpFlags(u32),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for NexthopAttr<'a> {
    #[inline]
    fn decode(a: Attr<'a>, family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            NHA_ID => NexthopAttr::Id(a.u32()?),
            NHA_GROUP => NexthopAttr::Group(GroupMembers::new(&a)?),
            NHA_GROUP_TYPE => NexthopAttr::GroupType(a.u16()?),
            NHA_BLACKHOLE => NexthopAttr::Blackhole,
            NHA_OIF => NexthopAttr::Oif(a.u32()?),
            NHA_GATEWAY => NexthopAttr::Gateway(a.ip_bytes(family)?),
            NHA_FDB => NexthopAttr::Fdb,
            NHA_GROUPS => NexthopAttr::Groups,
            NHA_MASTER => NexthopAttr::Master(a.u32()?),
            NHA_OP_FLAGS => NexthopAttr::OpFlags(a.u32()?),
            _ => NexthopAttr::Other(a),
        })
    }
}

/// The most members a [`NexthopRepr`] holds without `alloc`.
#[cfg(not(feature = "alloc"))]
pub const MAX_GROUP: usize = 32;
/// The most members a [`NexthopRepr`] holds with `alloc`: as many as fit
/// in `NHA_GROUP`.
#[cfg(feature = "alloc")]
pub const MAX_GROUP: usize = (u16::MAX as usize - 4) / GRP_LEN;

/// A group's members: on the heap with `alloc`, inline (at most
/// [`MAX_GROUP`]) without.
pub type GroupList = super::list::BoundedList<GroupMember, MAX_GROUP, MAX_GROUP>;

impl GroupList {
    /// Appends a member; `TooLong` beyond [`MAX_GROUP`].
    pub fn push(&mut self, m: GroupMember) -> Result<()> {
        self.push_or(m, Part::Attr(NHA_GROUP))
    }
}

/// A nexthop object, owned and validated: a gateway of the header's
/// family (IPv4 or IPv6; `AF_UNSPEC` for a group or a blackhole).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NexthopRepr {
    /// The fixed header.
    pub header: NhMsg,
    /// `NHA_ID`.
    pub id: Option<u32>,
    /// `NHA_GROUP_TYPE`.
    pub group_type: Option<u16>,
    /// `NHA_GROUP`.
    pub group: Option<GroupList>,
    /// `NHA_BLACKHOLE`.
    pub blackhole: bool,
    /// `NHA_FDB`.
    pub fdb: bool,
    /// `NHA_OIF`.
    pub oif: Option<u32>,
    /// `NHA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `NHA_GROUPS` (dump requests).
    pub groups_only: bool,
    /// `NHA_MASTER` (dump requests).
    pub master: Option<u32>,
    /// `NHA_OP_FLAGS`: what a request asks for; in the kernel's answers
    /// about groups, `NHA_OP_FLAG_RESP_GRP_RESVD_0` (the reserved bytes of
    /// the members are zero).
    pub op_flags: Option<u32>,
}

impl NexthopRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &NexthopMessage<'_>) -> Result<Self> {
        let h = msg.header();
        check_prefix(h.family, 0, true)?;
        let mut r = NexthopRepr {
            header: h,
            ..NexthopRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match NexthopAttr::decode(a, h.family)? {
                NexthopAttr::Id(v) => r.id = Some(v),
                NexthopAttr::Group(g) => {
                    let mut list = GroupList::default();
                    for m in g.iter() {
                        list.push(m)?;
                    }
                    r.group = Some(list);
                }
                NexthopAttr::GroupType(t) => r.group_type = Some(t),
                NexthopAttr::Blackhole => r.blackhole = true,
                NexthopAttr::Oif(v) => r.oif = Some(v),
                NexthopAttr::Gateway(ip) => r.gateway = Some(check_ip(&a, h.family, ip.ip())?),
                NexthopAttr::Fdb => r.fdb = true,
                NexthopAttr::Groups => r.groups_only = true,
                NexthopAttr::Master(v) => r.master = Some(v),
                NexthopAttr::OpFlags(v) => r.op_flags = Some(v),
                NexthopAttr::Other(_) => {}
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&NexthopMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes in the kernel's order
    /// (`nh_fill_node`: id; a group's type, members and operation flags;
    /// the blackhole flag; the link; the gateway; then a dump's filters).
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(id) = self.id {
            w.attr_u32(NHA_ID, id)?;
        }
        if let Some(t) = self.group_type {
            w.attr_u16(NHA_GROUP_TYPE, t)?;
        }
        if let Some(g) = &self.group {
            // A plain attribute whose value is the members, written in
            // place.
            w.nested_noflag(NHA_GROUP, |w| {
                g.as_slice().iter().try_for_each(|m| w.put(&m.bytes()))
            })?;
        }
        if let Some(f) = self.op_flags {
            w.attr_u32(NHA_OP_FLAGS, f)?;
        }
        if self.blackhole {
            w.attr(NHA_BLACKHOLE, &[])?;
        }
        if self.fdb {
            w.attr(NHA_FDB, &[])?;
        }
        if let Some(oif) = self.oif {
            w.attr_u32(NHA_OIF, oif)?;
        }
        if let Some(gw) = self.gateway {
            w.attr_ip(NHA_GATEWAY, gw)?;
        }
        if self.groups_only {
            w.attr(NHA_GROUPS, &[])?;
        }
        if let Some(m) = self.master {
            w.attr_u32(NHA_MASTER, m)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Messages;
    use core::net::Ipv4Addr;

    fn round_trip(r: &NexthopRepr) -> NexthopRepr {
        let mut w = Writer::new(alloc::vec::Vec::new());
        w.message(RTM_NEWNEXTHOP, 0, 0, 0, |w| r.emit(w)).unwrap();
        let b = w.into_inner();
        let m = Messages::new(&b).next().unwrap().unwrap();
        NexthopRepr::parse(&NexthopMessage::parse(&m).unwrap()).unwrap()
    }

    #[test]
    fn gateways_groups_and_blackholes_round_trip() {
        let gw = NexthopRepr {
            header: NhMsg {
                family: AF_INET,
                protocol: RTPROT_STATIC,
                ..NhMsg::default()
            },
            id: Some(5),
            oif: Some(2),
            gateway: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254))),
            ..NexthopRepr::default()
        };
        assert_eq!(round_trip(&gw), gw);
        let mut members = GroupList::default();
        members.push(GroupMember { id: 5, weight: 1 }).unwrap();
        members.push(GroupMember { id: 6, weight: 300 }).unwrap();
        let group = NexthopRepr {
            id: Some(10),
            group_type: Some(0),
            group: Some(members),
            ..NexthopRepr::default()
        };
        assert_eq!(round_trip(&group), group);
        let hole = NexthopRepr {
            id: Some(1),
            blackhole: true,
            ..NexthopRepr::default()
        };
        assert_eq!(round_trip(&hole), hole);
    }

    /// `ip nexthop add id 10 group 5/6,300` as iproute2 writes it: the
    /// weight is kept less one, over two bytes.
    #[test]
    fn group_members_as_the_kernel_lays_them_out() {
        #[rustfmt::skip]
        let payload: [u8; 36] = [
            0, 0, 0, 0, 0, 0, 0, 0,            // nhmsg: AF_UNSPEC
            8, 0, 1, 0, 10, 0, 0, 0,           // NHA_ID 10
            20, 0, 2, 0,                       // NHA_GROUP
            5, 0, 0, 0, 0, 0, 0, 0,            //   id 5, weight 1
            6, 0, 0, 0, 43, 1, 0, 0,           //   id 6, weight 300
        ];
        let r = NexthopRepr::parse_payload(&payload).unwrap();
        let g = r.group.unwrap();
        assert_eq!(
            g.as_slice(),
            [
                GroupMember { id: 5, weight: 1 },
                GroupMember { id: 6, weight: 300 }
            ]
        );
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        // A group of 7 bytes, a gateway of the wrong family, an id of 2.
        let cases: [&[u8]; 3] = [
            &[0, 0, 0, 0, 0, 0, 0, 0, 11, 0, 2, 0, 1, 2, 3, 4, 5, 6, 7, 0],
            &[
                2, 0, 0, 0, 0, 0, 0, 0, 20, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            ],
            &[0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1, 0, 1, 2, 0, 0],
        ];
        for p in cases {
            assert!(NexthopRepr::parse_payload(p).is_err(), "{p:?}");
        }
        for n in 0..cases[1].len() {
            let _ = NexthopRepr::parse_payload(&cases[1][..n]);
        }
    }
}
