//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::ControlFlow;

use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, RouteRepr};
use nlq_smoltcp::SmolStack;
use smoltcp::iface::Config;
use smoltcp::phy::{Device, Loopback, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpCidr};

/// The index and name of the test link.
pub const INDEX: u32 = 2;
pub const NAME: &str = "eth0";
pub const MAC: [u8; 6] = [0x02, 0x6e, 0x6c, 0, 0, 1];

/// A stack on a loopback device.
pub fn loopback_stack() -> SmolStack<Loopback> {
    let config = Config::new(EthernetAddress(MAC).into());
    SmolStack::new(
        Loopback::new(Medium::Ethernet),
        config,
        Instant::ZERO,
        NAME,
        INDEX,
    )
    .expect("a loopback device makes a stack")
}

/// The address dump.
pub fn addrs<S: Stack>(s: &S) -> Vec<AddrRepr> {
    let mut v = Vec::new();
    s.addrs(AF_UNSPEC, 0, &mut |a| {
        v.push(*a);
        ControlFlow::Continue(())
    })
    .expect("address dump");
    v
}

/// The route dump.
pub fn routes<S: Stack>(s: &S) -> Vec<RouteRepr> {
    let mut v = Vec::new();
    s.routes(AF_UNSPEC, 0, &mut |r| {
        v.push(r.clone());
        ControlFlow::Continue(())
    })
    .expect("route dump");
    v
}

/// The smoltcp interface holds exactly what the dumps say: the addresses
/// out of duplicate address detection, the main table's gateway routes.
pub fn in_step<D: Device>(s: &mut SmolStack<D>) -> Result<(), String> {
    let want: BTreeSet<String> = addrs(s)
        .iter()
        .filter(|a| a.flags.unwrap_or(0) & IFA_F_TENTATIVE == 0)
        .filter_map(|a| {
            Some(format!(
                "{}/{}",
                a.local.or(a.address)?,
                a.header.prefix_len
            ))
        })
        .collect();
    let have: BTreeSet<String> = s.iface().ip_addrs().iter().map(IpCidr::to_string).collect();
    if want != have || s.iface().ip_addrs().len() != have.len() {
        return Err(format!(
            "addresses: configured {want:?}, smoltcp {:?}",
            s.iface().ip_addrs()
        ));
    }
    let want: BTreeSet<String> = routes(s)
        .iter()
        .filter(|r| r.table_id() == RT_TABLE_MAIN && r.gateway.is_some())
        .filter_map(|r| {
            let any: IpAddr = if r.header.family == AF_INET {
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            };
            let dst = IpCidr::new(r.dst.unwrap_or(any).into(), r.header.dst_len);
            Some(format!("{dst} via {}", r.gateway?))
        })
        .collect();
    // `Routes` lists its entries only to `update`, which changes nothing
    // here.
    let mut have = Vec::new();
    s.iface_mut().routes_mut().update(|t| {
        have = t
            .iter()
            .map(|r| format!("{} via {}", r.cidr, r.via_router))
            .collect();
    });
    let n = have.len();
    let have: BTreeSet<String> = have.into_iter().collect();
    if want != have || n != have.len() {
        return Err(format!("routes: configured {want:?}, smoltcp {have:?}"));
    }
    Ok(())
}
