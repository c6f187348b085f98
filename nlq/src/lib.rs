//! # nlq: parse and answer rtnetlink
//!
//! `nlq` is the codec (and, in later layers, the server) half of nlkit, a
//! toolkit for Linux `NETLINK_ROUTE` (RFC 3549).
//!
//! [`wire`] holds the codec: checked zero-copy views over datagrams, messages
//! and attributes; typed access to links, addresses, routes, neighbours and
//! control messages; validated owned reprs with `parse` and `emit`; and a
//! writer that builds requests into a caller buffer without allocating.
//!
//! ## Features
//!
//! - `std` (default): implies `alloc`, and `std::error::Error` for the error.
//! - `alloc`: the writer can also append to a `Vec<u8>` or a `bytes::BytesMut`.
//!
//! With default features off the crate is `no_std` without `alloc` and still
//! has the whole codec.
//!
//! ## Example
//!
//! ```
//! use nlq::wire::{consts::*, AddrRepr, Buffer, Message, Messages, SliceBuffer, Writer};
//! use core::net::{IpAddr, Ipv4Addr};
//!
//! // Build "ip addr add 10.0.0.1/24 dev <ifindex 2>" into a stack buffer.
//! let mut storage = [0u8; 64];
//! let mut w = Writer::new(SliceBuffer::new(&mut storage));
//! let addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
//! let repr = AddrRepr::new(addr, 24, 2).with_local(addr);
//! let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
//! let len = w.message(RTM_NEWADDR, flags, 1, 0, |w| repr.emit(w)).unwrap();
//! assert_eq!(len, 40);
//!
//! // Parse it back.
//! for msg in Messages::new(w.buffer().as_bytes()) {
//!     let Message::Addr(addr_msg) = msg.unwrap().typed().unwrap() else { panic!() };
//!     assert_eq!(AddrRepr::parse(&addr_msg).unwrap(), repr);
//! }
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod addr_rules;
pub mod devconf;
#[cfg(feature = "alloc")]
pub mod emulate;
pub mod errno;
pub mod prefix;
pub mod route_rules;
pub mod rule_rules;
#[cfg(feature = "alloc")]
pub mod server;
pub mod stack;
pub mod wire;
