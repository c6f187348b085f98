//! The rtnetlink wire codec.
//!
//! # Shape
//!
//! - [`Messages`] splits a datagram into [`NlMsg`] views; [`NlMsg::typed`]
//!   gives a [`Message`]: a family view ([`LinkMessage`], [`AddrMessage`],
//!   [`RouteMessage`], [`NeighMessage`]) or a control message
//!   ([`ErrorMessage`], [`DoneMessage`], ...).
//! - A family view has its fixed header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`,
//!   `ndmsg`) and an iterator of typed attributes ([`LinkAttr`],
//!   [`AddrAttr`], [`RouteAttr`], [`NeighAttr`]), each borrowing the
//!   datagram. Unknown attributes come as the raw `Other(Attr)` variant.
//! - Owned reprs ([`LinkRepr`], [`AddrRepr`], [`RouteRepr`], [`NeighRepr`])
//!   validate meaning, not only lengths (prefix within 32 or 128, address
//!   length matching the family), and `emit` into a [`Writer`].
//! - [`Writer`] appends into any [`Buffer`]: a [`SliceBuffer`] over
//!   `&mut [u8]` (no allocation), or `Vec<u8>` / `BytesMut` with `alloc`.
//! - [`Reader`] is the checked cursor the views read with: integers,
//!   arrays, and [`Reader::sub`] for a nested structure of known length.
//!
//! # The no-panic promise
//!
//! No function of this module panics on any input. Every length is checked
//! once when a view is built; after that, accessors only read within the
//! checked bounds. Bad input gives an [`Error`] that names the part (header,
//! body, which attribute) and what was wrong with it:
//!
//! - a message or attribute length that is too small or runs past its
//!   container ends the iteration with one error (the rest cannot be framed);
//! - a malformed value of a known attribute yields an error for that
//!   attribute only: the iteration continues with the next one;
//! - zero bytes after the last message or attribute are padding.
//!
//! Netlink uses host byte order, and so does this module.

mod addr;
mod attr;
pub mod consts;
mod control;
mod display;
mod error;
mod family;
mod inline;
mod link;
mod link_details;
mod list;
mod message;
mod neigh;
mod netconf;
mod nexthop;
mod nlmsg;
mod parse;
mod reader;
mod repr;
mod route;
mod rule;
mod writer;

pub use addr::{AddrAttr, AddrCacheInfo, AddrMessage, AddrRepr, IfAddrMsg};
pub use attr::{Attr, AttrDecode, Attrs, IpBytes, TypedAttrs};
pub use control::{emit_done, emit_error, DoneMessage, ErrorMessage, ExtAck};
pub use display::{
    FamilyName, FlagNames, LinkNames, NoNames, ProtocolName, RouteTypeName, ScopeName, ShowMessage,
    TableName, TypeName,
};
pub use error::{Error, ErrorKind, Part, Result};
pub use family::{FamilyHeader, FamilyMessage};
pub use inline::{HwAddr, IfName, InlineBytes, InlineStr};
pub use link::{
    IfInfoMsg, LinkAttr, LinkInfo, LinkInfoAttr, LinkInfoRepr, LinkMessage, LinkRepr, LinkStats,
    LinkStats64, AF_SPEC_CAPACITY, INFO_DATA_CAPACITY,
};
pub use link_details::{DetailsAt, LinkDetails, LINK_MAP_LEN};
pub use list::BoundedList;
pub use message::Message;
pub use neigh::{NdMsg, NeighAttr, NeighCacheInfo, NeighMessage, NeighRepr};
pub use netconf::{
    FamilyByte, NetconfAttr, NetconfMessage, NetconfMsg, NetconfRepr, NsidAttr, NsidMessage,
    NsidMsg, NsidRepr,
};
pub use nexthop::{
    GroupList, GroupMember, GroupMembers, NexthopAttr, NexthopMessage, NexthopRepr, NhMsg,
    MAX_GROUP,
};
pub use nlmsg::{Messages, NlMsg, NlMsgHeader};
pub use reader::{Reader, Short};
pub use route::{
    Metric, Metrics, NextHop, NextHopList, NextHopRepr, NextHops, RouteAttr, RouteMessage,
    RouteMetrics, RouteRepr, RtMsg, MAX_NEXTHOPS,
};
pub use rule::{FibRuleHdr, PortRange, RuleAttr, RuleMessage, RuleRepr, UidRange};
pub use writer::{Buffer, NestGuard, SliceBuffer, Writer};
