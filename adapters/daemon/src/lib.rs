//! # nlq-daemon: one stack's rtnetlink, served to many processes
//!
//! [`Daemon`] serves an [`nlq::stack::Stack`] over an `AF_UNIX`
//! `SOCK_SEQPACKET` socket speaking the protocol of [`nlq_remote`]: each
//! client connection is a netlink socket of the stack (requests in, replies
//! and notifications out) or a channel for control requests (socket
//! options, `bind`, ioctls, `getifaddrs`...). The preload shim
//! (`libnlq_preload.so`) gives unmodified programs (`ip`, `ifconfig`,
//! glibc's `getifaddrs`) such connections; [`client`] gives Rust code
//! the same.
//!
//! The binary `nlq` wraps it:
//!
//! - `nlq serve --socket PATH [--stack mem] [--state FILE]`
//! - `nlq exec --socket PATH -- CMD ARGS...`
//! - `nlq decode [FILE]`
//!
//! Like the kernel, only a peer with `CAP_NET_ADMIN` (see [`caps`]) may
//! change the stack, and the daemon's own user if
//! [`Options::owner_may_change`] says so; anyone else can read it and gets
//! `EPERM` for changes.
//!
//! ```
//! use nlq_daemon::{Daemon, Options};
//!
//! let dir = nlq_daemon::testing::TempDir::new("doc");
//! let path = dir.path().join("nlq.sock");
//! let running = Daemon::bind(&path, nlq_mem::MemStack::new(), Options::default())?.spawn()?;
//! let mut h = nlq_daemon::client::SocketClient::handle(&path)?;
//! let br = h.link_add("br0", "bridge", &[], None)?;
//! h.link_set_up(br, true)?;
//! assert_eq!(h.if_nametoindex("br0")?, br);
//! drop(running); // stops the daemon, removes the socket
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unsafe_code)]
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

pub mod caps;
pub mod client;
pub mod control;
pub mod daemon;
pub mod decode;
pub mod endpoint;
pub mod panics;
pub mod proxy;
pub mod state;
#[allow(unsafe_code)]
pub mod sys;
pub mod testing;

pub use daemon::{Daemon, DaemonHandle, Options};
