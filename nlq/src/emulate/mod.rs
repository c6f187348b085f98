//! Emulations of the other interfaces programs read the network
//! configuration through, on top of [`Stack`]: the text of `/proc/net/dev`
//! and its neighbours, the `if_nameindex` family of `<net/if.h>`, the
//! records of `getifaddrs`, and the netdevice ioctls ([`ioctl`]).
//!
//! Each function reads the stack through its dumps and answers what Linux
//! and glibc would answer for the same tables, so that a shim interposing
//! the libc functions (or serving `/proc/net/dev`) only has to convert the
//! result to C.

use alloc::vec::Vec;
use core::ops::ControlFlow;

use crate::errno::Errno;
use crate::stack::Stack;
use crate::wire::{AddrRepr, LinkRepr};

mod ifaddrs;
mod ifname;
pub mod ioctl;
mod mcast;
mod procfs;
#[cfg(test)]
pub(crate) mod testing;

pub use ifaddrs::{getifaddrs, IfAddrRecord, SockAddr};
pub use ifname::{if_indextoname, if_nameindex, if_nametoindex};
pub use mcast::{proc_dev_mcast, proc_igmp, proc_igmp6};
pub use procfs::{proc_if_inet6, proc_net_dev};

/// Every link, in the stack's order; the stack's errno on failure.
pub(crate) fn collect_links<S: Stack + ?Sized>(stack: &S) -> Result<Vec<LinkRepr>, Errno> {
    let mut out = Vec::new();
    stack.links(0, &mut |l: &LinkRepr| {
        out.push(l.clone());
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Every address of `family` (`AF_UNSPEC`: all), in the stack's order; the
/// stack's errno on failure. Entries of another family than asked are
/// dropped, in case the stack does not filter.
pub(crate) fn collect_addrs<S: Stack + ?Sized>(
    stack: &S,
    family: u8,
) -> Result<Vec<AddrRepr>, Errno> {
    let mut out = Vec::new();
    stack.addrs(family, 0, &mut |a: &AddrRepr| {
        if family == crate::wire::consts::AF_UNSPEC || a.header.family == family {
            out.push(*a);
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// The name of a link, "" when it has none.
pub(crate) fn link_name(link: &LinkRepr) -> &str {
    link.name.as_ref().map_or("", |n| n.as_str())
}
