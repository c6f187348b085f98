//! # nlq: parse and answer rtnetlink
//!
//! `nlq` is the protocol core of nlkit, a toolkit for Linux `NETLINK_ROUTE`
//! (RFC 3549): it reads and writes rtnetlink messages, and answers them
//! the way the kernel does over any network stack. It does no I/O: bytes
//! come in, bytes go out, and whoever holds the socket (or the pipe, or the
//! function call) decides when.
//!
//! | module | what it is |
//! |---|---|
//! | [`wire`] | the codec: checked zero-copy views over datagrams, messages and attributes; typed links, addresses, routes, neighbours, rules, nexthops, netconf; validated owned reprs with `parse` and `emit`; a writer that allocates nothing; `Display` for messages. `no_std`, no `alloc` needed, every parser fuzzed |
//! | [`stack`] | the adapter trait a stack implements ([`stack::Stack`]: typed dumps resumed from a cursor, changes that report events) and the kernel's route lookup over it ([`stack::lookup`]) |
//! | [`server`] | a sans-IO rtnetlink server over a `Stack`: connections, ACK and extended-ACK rules, dumps cut to the reader's buffer, notifications to group members. No threads, no clock, no IPC |
//! | [`emulate`] | the other ways programs read network configuration, answered from the same `Stack`: netdevice ioctls ([`emulate::ioctl`]), `/proc/net` files, `getifaddrs`, `if_nameindex` |
//! | [`route_rules`], [`rule_rules`], [`addr_rules`], [`devconf`] | the kernel's table-free rules, for every stack to share |
//! | [`prefix`], [`errno`] | prefixes and IPv6 address kinds; Linux errno values and names |
//!
//! What it is not, and where that lives:
//!
//! - **Sending requests** to a stack (the kernel, an nlq server in this
//!   process, a daemon): `nlinline`, which also holds the thread-safe
//!   in-process handle (`nlinline::Shared`).
//! - **A stack**: `nlq-mem` (`adapters/mem`) is the Linux model as an
//!   engine any data plane plugs into; `nlq-smoltcp` plugs smoltcp in.
//! - **Serving other processes**: `nlq-daemon` (`nlq serve`, `nlq proxy`),
//!   the shim `nlq-preload` for unmodified programs, and the protocol
//!   between them, `nlq-remote`.
//! - **Checking a stack** against Linux: `nlq-conformance`.
//!
//! ## Features
//!
//! - `std` (default): implies `alloc`, and `std::error::Error` for the error.
//! - `alloc`: the writer can also append to a `Vec<u8>` or a `bytes::BytesMut`;
//!   the server and the emulations.
//!
//! With default features off the crate is `no_std` without `alloc` and still
//! has the whole codec, the `Stack` trait and the rules.
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
