//! # nlinline
//!
//! Tiny synchronous helpers that configure a network stack over rtnetlink:
//! names and indexes, links up and down, MAC, MTU, addresses and routes
//! (IPv4 and IPv6), link creation and deletion, raw dialogs, typed dumps,
//! pipelined batches, and a [`Monitor`] of notifications. No async runtime.
//!
//! The stack is behind a [`Transport`]: the Linux kernel
//! ([`KernelSocket`], optionally in another network namespace), an nlq
//! stack in the same process ([`Handle::in_process`]), a scripted server
//! in a test ([`Loopback`] over a [`Serve`]), or anything that can send and
//! receive netlink datagrams.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use nlinline::{Handle, Route};
//!
//! # if !nlinline::sandbox::enter_or_skip("the crate example") { return Ok(()) }
//! let mut h = Handle::kernel()?;
//! let br = h.link_add("br0", "bridge", &[], None)?;
//! h.link_set_up(br, true)?;
//! h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)?;
//! h.route_add(&Route::to(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)), 16).via(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254))))?;
//! # Ok::<(), nlinline::Error>(())
//! ```
//!
//! The examples run on the kernel in a private network namespace
//! ([`sandbox::enter`]: no root needed where unprivileged user namespaces
//! are allowed), so they change nothing on the host.
//!
//! Errors carry the errno and the stack's extended-ACK text, and convert to
//! `std::io::Error`. The free functions of [`c`] have the C `nlinline.h`
//! names and work on the kernel.
#![deny(unsafe_op_in_unsafe_fn)]
// Answers come from any stack, a buggy or hostile one too: nothing read
// from one may panic here.
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

mod addr;
mod batch;
mod error;
pub mod free;
mod handle;
pub mod in_process;
mod kernel;
mod link;
mod link_kind;
mod monitor;
mod neigh;
mod nexthop;
mod route;
mod rule;
pub mod sandbox;
mod transport;

pub use addr::AddrOptions;
pub use batch::Batch;
pub use error::{Error, Result};
pub use free as c;
pub use handle::{Handle, DUMP_RETRIES};
pub use in_process::Shared;
pub use kernel::{KernelSocket, DEFAULT_TIMEOUT};
pub use link::{LinkRef, NameIndex};
pub use link_kind::{BridgeOptions, LinkKind, MacvlanMode, Vxlan};
pub use monitor::{Event, Group, Monitor};
pub use nexthop::Nexthop;
pub use nlq::errno::Errno;
pub use nlq::wire;
pub use route::{NextHop, Route};
pub use rule::Rule;
pub use transport::{Loopback, Serve, Transport, LOOPBACK_READ_SIZE};
