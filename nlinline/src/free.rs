//! The C `nlinline` functions, by their C names, on the kernel: each opens
//! a netlink socket in the calling thread's network namespace, sends one
//! request, reads the answer and closes the socket.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use nlinline::c::*;
//!
//! # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
//! let br = iplink_add("br0", "bridge", &[], None)?;
//! linksetupdown(br, true)?;
//! linksetmtu(br, 1400)?;
//! ipaddr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)?;
//! assert_eq!(if_nametoindex("br0")?, br);
//! assert_eq!(if_indextoname(br)?, "br0");
//! iplink_del("br0")?;
//! assert_eq!(if_nametoindex("br0").unwrap_err().raw_os_error(), Some(libc::ENODEV));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::IpAddr;

use crate::handle::Handle;
use crate::kernel::KernelSocket;
use crate::link::{LinkRef, NameIndex};
use crate::route::Route;

fn kernel() -> io::Result<Handle<KernelSocket>> {
    Ok(Handle::new(KernelSocket::new()?))
}

/// The index of the interface `name`.
pub fn if_nametoindex(name: &str) -> io::Result<u32> {
    Ok(kernel()?.if_nametoindex(name)?)
}

/// The name of the interface with index `index`.
pub fn if_indextoname(index: u32) -> io::Result<String> {
    Ok(kernel()?.if_indextoname(index)?)
}

/// Every interface's index and name.
pub fn if_nameindex() -> io::Result<Vec<NameIndex>> {
    Ok(kernel()?.if_nameindex()?)
}

/// Sets interface `index` up or down.
pub fn linksetupdown(index: u32, up: bool) -> io::Result<()> {
    Ok(kernel()?.link_set_up(index, up)?)
}

/// Sets the MAC address of interface `index`.
pub fn linksetaddr(index: u32, mac: [u8; 6]) -> io::Result<()> {
    Ok(kernel()?.link_set_mac(index, mac)?)
}

/// The MAC address of interface `index`.
pub fn linkgetaddr(index: u32) -> io::Result<[u8; 6]> {
    Ok(kernel()?.link_get_mac(index)?)
}

/// Sets the MTU of interface `index`.
pub fn linksetmtu(index: u32, mtu: u32) -> io::Result<()> {
    Ok(kernel()?.link_set_mtu(index, mtu)?)
}

/// Adds `addr/prefix_len` to interface `index`.
pub fn ipaddr_add(addr: IpAddr, prefix_len: u8, index: u32) -> io::Result<()> {
    Ok(kernel()?.addr_add(addr, prefix_len, index)?)
}

/// Deletes `addr/prefix_len` from interface `index`.
pub fn ipaddr_del(addr: IpAddr, prefix_len: u8, index: u32) -> io::Result<()> {
    Ok(kernel()?.addr_del(addr, prefix_len, index)?)
}

/// Adds a route.
pub fn iproute_add(route: &Route) -> io::Result<()> {
    Ok(kernel()?.route_add(route)?)
}

/// Deletes a route.
pub fn iproute_del(route: &Route) -> io::Result<()> {
    Ok(kernel()?.route_del(route)?)
}

/// Creates an interface of `kind` named `name` (`IFLA_INFO_DATA`
/// attributes `data`), at `index` or where the kernel chooses; returns its
/// index.
pub fn iplink_add(
    name: &str,
    kind: &str,
    data: &[(u16, &[u8])],
    index: Option<u32>,
) -> io::Result<u32> {
    Ok(kernel()?.link_add(name, kind, data, index)?)
}

/// Deletes an interface, by name or by index.
pub fn iplink_del<'a>(link: impl Into<LinkRef<'a>>) -> io::Result<()> {
    Ok(kernel()?.link_del(link)?)
}

/// Sends a caller-built message; returns the answer's value (0 or a
/// positive pass-through value).
pub fn nldialog(message: &[u8]) -> io::Result<i32> {
    Ok(kernel()?.dialog(message, |_| Ok(()))?)
}
