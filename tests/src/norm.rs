//! A neutral normal form of rtnetlink messages.
//!
//! Every parser under test is mapped to [`NormMsg`] by its own adapter (see
//! [`crate::npr_oracle`] for `netlink-packet-route`), and the differential
//! tests compare the results. The form only keeps what both sides can express
//! exactly: numbers, strings, IP addresses, raw bytes, lists and nests.

use std::net::IpAddr;

/// A normalized attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Norm {
    /// An unsigned number (any integer width, signed values cast to their
    /// unsigned wire representation first).
    U(u64),
    /// A string, without its trailing NUL.
    Str(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Raw bytes (e.g. a link-layer address).
    Bytes(Vec<u8>),
    /// A fixed sequence of values (e.g. the fields of a C struct).
    List(Vec<Norm>),
    /// Nested attributes as `(type, value)`, in wire order.
    Nest(Vec<(u16, Norm)>),
}

/// A normalized netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormMsg {
    /// The raw `nlmsg_type` (e.g. 24 for `RTM_NEWROUTE`).
    pub kind: u16,
    /// The fields of the family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`,
    /// `ndmsg`) as raw wire numbers, in the order documented by each adapter.
    pub header: Vec<u64>,
    /// The selected top-level attributes as `(type, value)`, in wire order.
    pub attrs: Vec<(u16, Norm)>,
}
