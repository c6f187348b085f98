//! Links: `ifinfomsg` + `IFLA_*` (RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK,
//! RTM_SETLINK), with `IFLA_LINKINFO` and the statistics structures.

use super::attr::{Attr, AttrDecode, Attrs, TypedAttrs};
use super::consts::*;
use super::family::{FamilyHeader, FamilyMessage};
use super::inline::{HwAddr, IfName, InlineBytes, InlineStr};
use super::link_details::{DetailsAt, LinkDetails};
use super::parse::{ne16, ne32};
use super::writer::{Buffer, Writer};
use super::{ErrorKind, Reader, Result, Short};

/// `struct ifinfomsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IfInfoMsg {
    /// `ifi_family` (usually `AF_UNSPEC`).
    pub family: u8,
    /// `ifi_type`: `ARPHRD_*`, the link's hardware type.
    pub hardware_type: u16,
    /// `ifi_index`.
    pub index: u32,
    /// `ifi_flags`: `IFF_*`.
    pub flags: u32,
    /// `ifi_change`: which flags a request changes.
    pub change: u32,
}

impl FamilyHeader for IfInfoMsg {
    const LEN: usize = IFINFOMSG_LEN;
    type Attr<'a> = LinkAttr<'a>;

    #[inline]
    fn accepts(kind: u16) -> bool {
        matches!(kind, RTM_NEWLINK | RTM_DELLINK | RTM_GETLINK | RTM_SETLINK)
    }

    #[inline(always)]
    fn parse_fields(r: &mut Reader<'_>) -> core::result::Result<Self, Short> {
        let h = r.array::<IFINFOMSG_LEN>()?;
        let [family, _pad, k0, k1, i0, i1, i2, i3, f0, f1, f2, f3, c0, c1, c2, c3] = h;
        Ok(IfInfoMsg {
            family,
            hardware_type: ne16(k0, k1),
            index: ne32(i0, i1, i2, i3),
            flags: ne32(f0, f1, f2, f3),
            change: ne32(c0, c1, c2, c3),
        })
    }

    #[inline]
    fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        let mut b = [0u8; IFINFOMSG_LEN];
        let parts: [&[u8]; 6] = [
            &[self.family],
            &[0],
            &self.hardware_type.to_ne_bytes(),
            &self.index.to_ne_bytes(),
            &self.flags.to_ne_bytes(),
            &self.change.to_ne_bytes(),
        ];
        for (d, s) in b.iter_mut().zip(parts.into_iter().flatten()) {
            *d = *s;
        }
        w.put(&b)
    }

    #[inline]
    fn family(&self) -> u8 {
        self.family
    }
}

/// A view of a link message.
pub type LinkMessage<'a> = FamilyMessage<'a, IfInfoMsg>;

macro_rules! stats_struct {
    ($(#[$m:meta])* $name:ident, $t:ty, $read:ident, [$($f:ident),* $(,)?]) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[allow(missing_docs)]
        pub struct $name { $(pub $f: $t),* }

        impl $name {
            /// The size of the structure on this kernel version.
            pub const LEN: usize = [$(stringify!($f)),*].len() * core::mem::size_of::<$t>();

            /// Reads the counters. Older kernels send fewer (missing ones
            /// read 0), newer ones more (ignored); the size must be a
            /// multiple of the counter width.
            pub fn parse(a: &Attr<'_>) -> Result<Self> {
                let v = a.value();
                if v.len().checked_rem(core::mem::size_of::<$t>()) != Some(0) {
                    return Err(a.error(ErrorKind::BadValue));
                }
                let mut s = Self::default();
                let mut r = Reader::new(v);
                $(
                    if let Ok(x) = r.$read() {
                        s.$f = x;
                    }
                )*
                Ok(s)
            }

            /// The counters in kernel order.
            pub fn to_array(&self) -> [$t; Self::LEN / core::mem::size_of::<$t>()] {
                [$(self.$f),*]
            }

            /// The counters from an array in kernel order (the inverse of
            /// `to_array`).
            pub fn from_array(a: [$t; Self::LEN / core::mem::size_of::<$t>()]) -> Self {
                let [$($f),*] = a;
                Self { $($f),* }
            }

            pub(crate) fn emit<B: Buffer>(&self, w: &mut Writer<B>, kind: u16) -> Result<()> {
                let mut b = [0u8; Self::LEN];
                for (d, v) in b.chunks_exact_mut(core::mem::size_of::<$t>()).zip(self.to_array()) {
                    d.copy_from_slice(&v.to_ne_bytes());
                }
                w.attr(kind, &b)
            }
        }
    };
}

stats_struct!(
    /// `struct rtnl_link_stats` (`IFLA_STATS`), 32-bit counters.
    LinkStats, u32, u32, [
    rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped,
    multicast, collisions, rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors,
    rx_fifo_errors, rx_missed_errors, tx_aborted_errors, tx_carrier_errors, tx_fifo_errors,
    tx_heartbeat_errors, tx_window_errors, rx_compressed, tx_compressed, rx_nohandler,
]);

stats_struct!(
    /// `struct rtnl_link_stats64` (`IFLA_STATS64`), 64-bit counters.
    LinkStats64, u64, u64, [
    rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors, rx_dropped, tx_dropped,
    multicast, collisions, rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors,
    rx_fifo_errors, rx_missed_errors, tx_aborted_errors, tx_carrier_errors, tx_fifo_errors,
    tx_heartbeat_errors, tx_window_errors, rx_compressed, tx_compressed, rx_nohandler,
    rx_otherhost_dropped,
]);

/// An `IFLA_LINKINFO` entry.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LinkInfoAttr<'a> {
    /// `IFLA_INFO_KIND`: `"bridge"`, `"tun"`, `"vxlan"`, ...
    Kind(&'a str),
    /// `IFLA_INFO_DATA`: kind-specific attributes, raw.
    Data(Attrs<'a>),
    /// `IFLA_INFO_SLAVE_KIND`: the master's kind, for a port.
    SlaveKind(&'a str),
    /// `IFLA_INFO_SLAVE_DATA`: port attributes, raw.
    SlaveData(Attrs<'a>),
    /// Any other entry, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for LinkInfoAttr<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, _family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            IFLA_INFO_KIND => LinkInfoAttr::Kind(a.str()?),
            IFLA_INFO_DATA => LinkInfoAttr::Data(a.nested()),
            IFLA_INFO_SLAVE_KIND => LinkInfoAttr::SlaveKind(a.str()?),
            IFLA_INFO_SLAVE_DATA => LinkInfoAttr::SlaveData(a.nested()),
            _ => LinkInfoAttr::Other(a),
        })
    }
}

/// The entries of `IFLA_LINKINFO`.
pub type LinkInfo<'a> = TypedAttrs<'a, LinkInfoAttr<'a>>;

/// A typed link attribute.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LinkAttr<'a> {
    /// `IFLA_IFNAME`.
    IfName(&'a str),
    /// `IFLA_ADDRESS`: the link-layer address.
    Address(&'a [u8]),
    /// `IFLA_BROADCAST`: the link-layer broadcast address.
    Broadcast(&'a [u8]),
    /// `IFLA_MTU`.
    Mtu(u32),
    /// `IFLA_TXQLEN`.
    TxQueueLen(u32),
    /// `IFLA_OPERSTATE`: `IF_OPER_*`.
    OperState(u8),
    /// `IFLA_LINKMODE`.
    LinkMode(u8),
    /// `IFLA_MASTER`: the master's index.
    Master(u32),
    /// `IFLA_LINK`: the underlying link's index.
    Link(u32),
    /// `IFLA_GROUP`.
    Group(u32),
    /// `IFLA_IFALIAS`.
    IfAlias(&'a str),
    /// `IFLA_LINKINFO` (nested).
    LinkInfo(LinkInfo<'a>),
    /// `IFLA_STATS`.
    Stats(LinkStats),
    /// `IFLA_STATS64`.
    Stats64(LinkStats64),
    /// `IFLA_NEW_IFINDEX`: the index a new link should get.
    NewIfIndex(i32),
    /// `IFLA_EXT_MASK`: `RTEXT_FILTER_*` (in requests).
    ExtMask(u32),
    /// `IFLA_AF_SPEC`: per-family data, nested and kept raw.
    AfSpec(Attrs<'a>),
    /// Any other attribute, raw.
    Other(Attr<'a>),
}

impl<'a> AttrDecode<'a> for LinkAttr<'a> {
    #[inline(always)]
    fn decode(a: Attr<'a>, _family: u8) -> Result<Self> {
        Ok(match a.attr_type() {
            IFLA_IFNAME => LinkAttr::IfName(a.str()?),
            IFLA_ADDRESS => LinkAttr::Address(a.value()),
            IFLA_BROADCAST => LinkAttr::Broadcast(a.value()),
            IFLA_MTU => LinkAttr::Mtu(a.u32()?),
            IFLA_TXQLEN => LinkAttr::TxQueueLen(a.u32()?),
            IFLA_OPERSTATE => LinkAttr::OperState(a.u8()?),
            IFLA_LINKMODE => LinkAttr::LinkMode(a.u8()?),
            IFLA_MASTER => LinkAttr::Master(a.u32()?),
            IFLA_LINK => LinkAttr::Link(a.u32()?),
            IFLA_GROUP => LinkAttr::Group(a.u32()?),
            IFLA_IFALIAS => LinkAttr::IfAlias(a.str()?),
            IFLA_LINKINFO => LinkAttr::LinkInfo(TypedAttrs::new(a.nested(), 0)),
            IFLA_STATS => LinkAttr::Stats(LinkStats::parse(&a)?),
            IFLA_STATS64 => LinkAttr::Stats64(LinkStats64::parse(&a)?),
            IFLA_NEW_IFINDEX => LinkAttr::NewIfIndex(a.i32()?),
            IFLA_EXT_MASK => LinkAttr::ExtMask(a.u32()?),
            IFLA_AF_SPEC => LinkAttr::AfSpec(a.nested()),
            _ => LinkAttr::Other(a),
        })
    }
}

/// Capacity of the raw `IFLA_INFO_DATA` / `IFLA_INFO_SLAVE_DATA` in a repr.
pub const INFO_DATA_CAPACITY: usize = 1024;
/// Capacity of the raw `IFLA_AF_SPEC` in a repr.
pub const AF_SPEC_CAPACITY: usize = 2048;

/// `IFLA_LINKINFO`, owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkInfoRepr {
    /// `IFLA_INFO_KIND`.
    pub kind: Option<InlineStr<32>>,
    /// `IFLA_INFO_DATA`, raw nested attributes.
    pub data: Option<InlineBytes<INFO_DATA_CAPACITY>>,
    /// `IFLA_INFO_SLAVE_KIND`.
    pub slave_kind: Option<InlineStr<32>>,
    /// `IFLA_INFO_SLAVE_DATA`, raw nested attributes.
    pub slave_data: Option<InlineBytes<INFO_DATA_CAPACITY>>,
}

/// A link, owned and validated (names within `IFNAMSIZ`, link-layer
/// addresses within `MAX_ADDR_LEN`, well-formed nested attributes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LinkRepr {
    /// The fixed header.
    pub header: IfInfoMsg,
    /// `IFLA_IFNAME`.
    pub name: Option<IfName>,
    /// `IFLA_ADDRESS`.
    pub address: Option<HwAddr>,
    /// `IFLA_BROADCAST`.
    pub broadcast: Option<HwAddr>,
    /// `IFLA_MTU`.
    pub mtu: Option<u32>,
    /// `IFLA_TXQLEN`.
    pub txqlen: Option<u32>,
    /// `IFLA_OPERSTATE`.
    pub operstate: Option<u8>,
    /// `IFLA_LINKMODE`.
    pub linkmode: Option<u8>,
    /// `IFLA_MASTER`.
    pub master: Option<u32>,
    /// `IFLA_LINK`.
    pub link: Option<u32>,
    /// `IFLA_GROUP`.
    pub group: Option<u32>,
    /// `IFLA_IFALIAS`.
    pub alias: Option<InlineStr<IFALIASZ>>,
    /// `IFLA_LINKINFO`.
    pub info: Option<LinkInfoRepr>,
    /// `IFLA_STATS`.
    pub stats: Option<LinkStats>,
    /// `IFLA_STATS64`.
    pub stats64: Option<LinkStats64>,
    /// `IFLA_NEW_IFINDEX`.
    pub new_ifindex: Option<i32>,
    /// `IFLA_EXT_MASK`.
    pub ext_mask: Option<u32>,
    /// `IFLA_AF_SPEC`, raw nested attributes.
    pub af_spec: Option<InlineBytes<AF_SPEC_CAPACITY>>,
    /// `IFLA_PROTINFO`, raw: a bridge port's attributes in its `AF_BRIDGE`
    /// messages ([`LinkRepr::emit_bridge_port`]); a link message of
    /// `AF_UNSPEC` never has it.
    pub protinfo: Option<InlineBytes<INFO_DATA_CAPACITY>>,
    /// `IFLA_CARRIER`.
    pub carrier: Option<u8>,
    /// `IFLA_QDISC`: the queueing discipline's name (`noop`, `noqueue`).
    pub qdisc: Option<InlineStr<IFNAMSIZ>>,
    /// Limits, counters and hooks (`IFLA_MIN_MTU`, `IFLA_PROMISCUITY`,
    /// `IFLA_NUM_TX_QUEUES`, `IFLA_CARRIER_CHANGES`, ...).
    pub details: LinkDetails,
}

impl LinkRepr {
    /// Parses and validates a view.
    pub fn parse(msg: &LinkMessage<'_>) -> Result<Self> {
        let mut r = LinkRepr {
            header: msg.header(),
            ..LinkRepr::default()
        };
        for a in msg.raw_attrs() {
            let a = a?;
            match LinkAttr::decode(a, 0)? {
                LinkAttr::IfName(s) => r.name = Some(IfName::new(s, a.part())?),
                LinkAttr::Address(b) => r.address = Some(HwAddr::new(b, a.part())?),
                LinkAttr::Broadcast(b) => r.broadcast = Some(HwAddr::new(b, a.part())?),
                LinkAttr::Mtu(v) => r.mtu = Some(v),
                LinkAttr::TxQueueLen(v) => r.txqlen = Some(v),
                LinkAttr::OperState(v) => r.operstate = Some(v),
                LinkAttr::LinkMode(v) => r.linkmode = Some(v),
                LinkAttr::Master(v) => r.master = Some(v),
                LinkAttr::Link(v) => r.link = Some(v),
                LinkAttr::Group(v) => r.group = Some(v),
                LinkAttr::IfAlias(s) => r.alias = Some(InlineStr::new(s, a.part())?),
                LinkAttr::LinkInfo(info) => r.info = Some(parse_info(info)?),
                LinkAttr::Stats(s) => r.stats = Some(s),
                LinkAttr::Stats64(s) => r.stats64 = Some(s),
                LinkAttr::NewIfIndex(v) => r.new_ifindex = Some(v),
                LinkAttr::ExtMask(v) => r.ext_mask = Some(v),
                LinkAttr::AfSpec(n) => {
                    check_nested(n.clone())?;
                    r.af_spec = Some(InlineBytes::new(n.remaining(), a.part())?)
                }
                LinkAttr::Other(o) => match o.attr_type() {
                    IFLA_CARRIER => r.carrier = Some(o.u8()?),
                    IFLA_QDISC => r.qdisc = Some(InlineStr::new(o.str()?, o.part())?),
                    IFLA_PROTINFO => {
                        check_nested(o.nested())?;
                        r.protinfo = Some(InlineBytes::new(o.value(), o.part())?)
                    }
                    _ => {
                        r.details.take(&o)?;
                    }
                },
            }
        }
        Ok(r)
    }

    /// Parses and validates a message payload (everything after `nlmsghdr`).
    pub fn parse_payload(payload: &[u8]) -> Result<Self> {
        Self::parse(&LinkMessage::parse_payload(payload)?)
    }

    /// Appends the header and attributes.
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(n) = &self.name {
            w.attr_str(IFLA_IFNAME, n)?;
        }
        if let Some(v) = self.txqlen {
            w.attr_u32(IFLA_TXQLEN, v)?;
        }
        if let Some(v) = self.operstate {
            w.attr_u8(IFLA_OPERSTATE, v)?;
        }
        if let Some(v) = self.linkmode {
            w.attr_u8(IFLA_LINKMODE, v)?;
        }
        self.details.emit(w, DetailsAt::AfterLinkMode)?;
        if let Some(v) = self.mtu {
            w.attr_u32(IFLA_MTU, v)?;
        }
        self.details.emit(w, DetailsAt::AfterMtu)?;
        if let Some(v) = self.group {
            w.attr_u32(IFLA_GROUP, v)?;
        }
        self.details.emit(w, DetailsAt::AfterGroup)?;
        if let Some(v) = self.master {
            w.attr_u32(IFLA_MASTER, v)?;
        }
        if let Some(v) = self.carrier {
            w.attr_u8(IFLA_CARRIER, v)?;
        }
        if let Some(a) = &self.alias {
            w.attr_str(IFLA_IFALIAS, a)?;
        }
        self.details.emit(w, DetailsAt::AfterCarrier)?;
        if let Some(a) = &self.address {
            w.attr(IFLA_ADDRESS, a)?;
        }
        if let Some(a) = &self.broadcast {
            w.attr(IFLA_BROADCAST, a)?;
        }
        if let Some(s) = &self.stats64 {
            s.emit(w, IFLA_STATS64)?;
        }
        if let Some(s) = &self.stats {
            s.emit(w, IFLA_STATS)?;
        }
        self.details.emit(w, DetailsAt::AfterStats)?;
        if let Some(info) = &self.info {
            // Plain nests, as the kernel writes them (`nla_nest_start_noflag`),
            // the data nests too.
            w.nested_noflag(IFLA_LINKINFO, |w| {
                if let Some(k) = &info.kind {
                    w.attr_str(IFLA_INFO_KIND, k)?;
                }
                if let Some(d) = &info.data {
                    w.attr(IFLA_INFO_DATA, d)?;
                }
                if let Some(k) = &info.slave_kind {
                    w.attr_str(IFLA_INFO_SLAVE_KIND, k)?;
                }
                if let Some(d) = &info.slave_data {
                    w.attr(IFLA_INFO_SLAVE_DATA, d)?;
                }
                Ok(())
            })?;
        }
        // `nla_put_iflink`, after the kind's information.
        if let Some(v) = self.link {
            w.attr_u32(IFLA_LINK, v)?;
        }
        if let Some(q) = &self.qdisc {
            w.attr_str(IFLA_QDISC, q)?;
        }
        if let Some(v) = self.new_ifindex {
            w.attr_i32(IFLA_NEW_IFINDEX, v)?;
        }
        if let Some(v) = self.ext_mask {
            w.attr_u32(IFLA_EXT_MASK, v)?;
        }
        if let Some(d) = &self.af_spec {
            // A plain nest too (`nla_nest_start_noflag`).
            w.attr(IFLA_AF_SPEC, d)?;
        }
        self.details.emit(w, DetailsAt::AtEnd)?;
        if let Some(p) = &self.protinfo {
            w.attr(IFLA_PROTINFO | NLA_F_NESTED, p)?;
        }
        Ok(())
    }

    /// Writes the link as a bridge port's `AF_BRIDGE` message
    /// (`br_fill_ifinfo`): the header (family as given), name, master,
    /// MTU, operational state, address, the underlying link when it is
    /// another, and `IFLA_PROTINFO` (a flagged nest) with the port's
    /// attributes.
    pub fn emit_bridge_port<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        self.header.emit(w)?;
        if let Some(n) = &self.name {
            w.attr_str(IFLA_IFNAME, n)?;
        }
        if let Some(v) = self.master {
            w.attr_u32(IFLA_MASTER, v)?;
        }
        if let Some(v) = self.mtu {
            w.attr_u32(IFLA_MTU, v)?;
        }
        if let Some(v) = self.operstate {
            w.attr_u8(IFLA_OPERSTATE, v)?;
        }
        if let Some(a) = &self.address {
            w.attr(IFLA_ADDRESS, a)?;
        }
        if let Some(v) = self.link.filter(|v| *v != self.header.index) {
            w.attr_u32(IFLA_LINK, v)?;
        }
        if let Some(p) = &self.protinfo {
            w.attr(IFLA_PROTINFO | NLA_F_NESTED, p)?;
        }
        Ok(())
    }
}

/// Checks the framing of the attributes of a raw nested blob (one level: the
/// blob is kept raw, and a bounded check cannot be led into deep recursion).
fn check_nested(mut attrs: Attrs<'_>) -> Result<()> {
    attrs.try_for_each(|a| a.map(drop))
}

fn parse_info(info: LinkInfo<'_>) -> Result<LinkInfoRepr> {
    let mut r = LinkInfoRepr::default();
    for a in info.raw() {
        let a = a?;
        match LinkInfoAttr::decode(a, 0)? {
            LinkInfoAttr::Kind(s) => r.kind = Some(InlineStr::new(s, a.part())?),
            LinkInfoAttr::SlaveKind(s) => r.slave_kind = Some(InlineStr::new(s, a.part())?),
            LinkInfoAttr::Data(n) => {
                check_nested(n.clone())?;
                r.data = Some(InlineBytes::new(n.remaining(), a.part())?)
            }
            LinkInfoAttr::SlaveData(n) => {
                check_nested(n.clone())?;
                r.slave_data = Some(InlineBytes::new(n.remaining(), a.part())?)
            }
            LinkInfoAttr::Other(_) => {}
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Error, Messages, Part};

    /// A short RTM_NEWLINK: br0 (index 3), up, MTU 1500, MAC, kind bridge.
    #[rustfmt::skip]
    const NEWLINK: [u8; 84] = [
        84, 0, 0, 0,  16, 0,  0, 0,  0, 0, 0, 0,  0, 0, 0, 0,      // nlmsghdr: RTM_NEWLINK
        0, 0, 1, 0,   3, 0, 0, 0,  0x43, 0x10, 0, 0,  0, 0, 0, 0,  // ifinfomsg: ARPHRD_ETHER, index 3, UP|BROADCAST|RUNNING|MULTICAST
        8, 0, 3, 0,   b'b', b'r', b'0', 0,                         // IFLA_IFNAME "br0"
        8, 0, 4, 0,   0xdc, 0x05, 0, 0,                            // IFLA_MTU 1500
        10, 0, 1, 0,  2, 0, 0, 0, 0, 1,  0, 0,                     // IFLA_ADDRESS 02:00:00:00:00:01 + pad
        16, 0, 18, 0,                                              // IFLA_LINKINFO (no NLA_F_NESTED, as the kernel sends)
            11, 0, 1, 0,  b'b', b'r', b'i', b'd', b'g', b'e', 0, 0, //   IFLA_INFO_KIND "bridge" + pad
        5, 0, 16, 0,  6, 0, 0, 0,                                  // IFLA_OPERSTATE IF_OPER_UP + pad
    ];

    #[test]
    fn deconstruct() {
        let msg = Messages::new(&NEWLINK).next().unwrap().unwrap();
        let m = LinkMessage::parse(&msg).unwrap();
        assert_eq!(m.header().index, 3);
        assert_eq!(m.header().hardware_type, ARPHRD_ETHER);
        assert_eq!(m.header().flags & IFF_UP, IFF_UP);
        let attrs: Vec<_> = m.attrs().map(|a| a.unwrap()).collect();
        assert!(matches!(attrs[0], LinkAttr::IfName("br0")));
        assert!(matches!(attrs[1], LinkAttr::Mtu(1500)));
        assert!(matches!(attrs[2], LinkAttr::Address(&[2, 0, 0, 0, 0, 1])));
        let LinkAttr::LinkInfo(info) = attrs[3].clone() else {
            panic!()
        };
        let kinds: Vec<_> = info.map(|a| a.unwrap()).collect();
        assert!(matches!(kinds[..], [LinkInfoAttr::Kind("bridge")]));
        assert!(matches!(attrs[4], LinkAttr::OperState(IF_OPER_UP)));
    }

    #[test]
    fn repr_round_trip() {
        let r = LinkRepr::parse_payload(&NEWLINK[16..]).unwrap();
        assert_eq!(r.name.unwrap(), "br0");
        assert_eq!(r.info.unwrap().kind.unwrap(), "bridge");
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWLINK, 0, 0, 0, |w| r.emit(w)).unwrap();
        let msg = Messages::new(w.buffer()).next().unwrap().unwrap();
        assert_eq!(LinkRepr::parse(&LinkMessage::parse(&msg).unwrap()), Ok(r));
    }

    #[test]
    fn name_too_long_is_rejected_by_the_repr_only() {
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWLINK, 0, 0, 0, |w| {
            w.put(&[0; 16])?;
            w.attr_str(IFLA_IFNAME, "a-name-of-sixteen")
        })
        .unwrap();
        let payload = &w.buffer()[16..];
        assert!(matches!(
            LinkMessage::parse_payload(payload).unwrap().attrs().next(),
            Some(Ok(LinkAttr::IfName("a-name-of-sixteen")))
        ));
        assert_eq!(
            LinkRepr::parse_payload(payload),
            Err(Error::new(Part::Attr(IFLA_IFNAME), ErrorKind::TooLong))
        );
    }

    #[test]
    fn stats_accept_older_sizes() {
        let v: Vec<u8> = (1u32..=23).flat_map(|x| x.to_ne_bytes()).collect();
        let s = LinkStats::parse(&Attr::new(IFLA_STATS, &v)).unwrap();
        assert_eq!((s.rx_packets, s.tx_compressed, s.rx_nohandler), (1, 23, 0));
        assert!(LinkStats::parse(&Attr::new(IFLA_STATS, &v[..5])).is_err());
        assert_eq!(LinkStats64::LEN, 200);
        assert_eq!(LinkStats::LEN, 96);
    }
}
