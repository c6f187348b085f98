//! The main job: a user-space stack (nlq's in-memory reference stack) gets
//! a complete rtnetlink interface, configured with the same nlinline calls
//! that configure the kernel. No root, no socket.
//!
//! It creates a bridge, brings it up, gives it addresses and routes, shows
//! what a subscriber (`ip monitor`) hears, prints the tables as `ip addr`
//! and `ip route` would, asks for a route (`ip route get`), shows the errors
//! the kernel would give, and the emulations (`getifaddrs`,
//! `/proc/net/dev`) that work on the same stack.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use nlinline::wire::consts::*;
use nlinline::wire::{FamilyName, Messages, ProtocolName, RouteTypeName, ScopeName, TableName};
use nlinline::Shared;
use nlinline::{AddrOptions, Handle, Route};
use nlq::server::SockOpt;
use nlq_mem::MemStack;

fn main() -> Result<(), nlinline::Error> {
    let stack = Shared::new(MemStack::new());

    // A subscriber, as `ip monitor link address route` joins groups.
    let monitor = stack.connect();
    for g in [
        RTNLGRP_LINK,
        RTNLGRP_IPV4_IFADDR,
        RTNLGRP_IPV6_IFADDR,
        RTNLGRP_IPV4_ROUTE,
        RTNLGRP_IPV6_ROUTE,
    ] {
        monitor
            .set_option(SockOpt::AddMembership(g))
            .expect("join group");
    }

    // Configuration, through nlinline, exactly as on the kernel.
    let mut h = Handle::in_process(&stack);
    h.link_set_up("lo", true)?;
    let br = h.link_add("br0", "bridge", &[], None)?;
    h.link_set_mtu(br, 9000)?;
    h.link_set_up(br, true)?;
    h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)?;
    let v6: IpAddr = "2001:db8::1".parse().expect("address");
    h.addr_add_with(
        v6,
        64,
        br,
        AddrOptions {
            flags: IFA_F_NODAD,
            scope: None,
        },
    )?;
    h.route_add(&Route::default_via(IpAddr::V4(Ipv4Addr::new(
        10, 0, 0, 254,
    ))))?;
    h.route_add(
        &Route::to(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 0)), 16)
            .via(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 253)))
            .metric(10),
    )?;

    // Link names by index, so that what follows reads as `ip` prints it.
    let names: BTreeMap<u32, String> = h
        .links()?
        .into_iter()
        .filter_map(|l| Some((l.header.index, l.name?.as_str().to_string())))
        .collect();

    println!("== what `ip monitor` heard");
    while let Ok(Some(d)) = monitor.try_recv(32 * 1024) {
        for m in Messages::new(&d.bytes).flatten() {
            let verb = if m.message_type() & 3 == 1 {
                "deleted"
            } else {
                "new"
            };
            let what = m.display().body_only().with_names(&names);
            println!("  group {:2}  {verb} {what}", d.group);
        }
    }

    println!("\n== ip link");
    for l in h.links()? {
        let name = l.name.map(|n| n.as_str().to_string()).unwrap_or_default();
        let up = if l.header.flags & IFF_UP != 0 {
            "UP"
        } else {
            "DOWN"
        };
        println!(
            "  {}: {name}: mtu {} {up} link/{}",
            l.header.index,
            l.mtu.unwrap_or(0),
            mac(l.address.as_deref())
        );
    }

    println!("\n== ip addr");
    for a in h.addrs(AF_UNSPEC)? {
        let ip = a.local.or(a.address).expect("address");
        let fam = FamilyName(a.header.family);
        let secondary = if a.all_flags() & IFA_F_SECONDARY != 0 {
            " secondary"
        } else {
            ""
        };
        println!(
            "  {}: {fam} {ip}/{} scope {}{secondary}",
            dev(&names, a.header.index),
            a.header.prefix_len,
            ScopeName(a.header.scope)
        );
    }

    println!("\n== ip route show table all");
    for family in [AF_INET, AF_INET6] {
        for r in h.routes(family, None)? {
            let dst = match r.dst {
                Some(d) => format!("{d}/{}", r.header.dst_len),
                None => "default".into(),
            };
            let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            let metric = r
                .priority
                .map(|m| format!(" metric {m}"))
                .unwrap_or_default();
            println!(
                "  {}{dst}{via} dev {} table {} proto {} scope {}{metric}",
                RouteTypeName(r.header.route_type),
                dev(&names, r.oif.unwrap_or(0)),
                TableName(r.table_id()),
                ProtocolName(r.header.protocol),
                ScopeName(r.header.scope),
            );
        }
    }

    println!("\n== answers the kernel would give");
    let again = h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br);
    println!("  addr add 10.0.0.1/24 again     -> {}", result(again));
    let far = h.route_add(
        &Route::to(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16)
            .via(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1))),
    );
    println!("  route via an unreachable gw    -> {}", result(far));
    let mtu = h.link_set_mtu(br, 70000);
    println!("  link set br0 mtu 70000         -> {}", result(mtu));
    let gone = h.link_del("nosuch");
    println!("  link del nosuch                -> {}", result(gone));

    let server = stack.lock();
    println!("\n== getifaddrs()");
    for r in nlq::emulate::getifaddrs(server.stack()).expect("getifaddrs") {
        println!("  {:6} family {:2} {:?}", r.name, r.family, r.addr);
    }
    println!("\n== /proc/net/dev");
    print!(
        "{}",
        nlq::emulate::proc_net_dev(server.stack()).expect("proc_net_dev")
    );
    Ok(())
}

fn result(r: nlinline::Result<impl Sized>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} ({})", e.errno(), e),
    }
}

fn mac(b: Option<&[u8]>) -> String {
    b.unwrap_or_default()
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Link `index` by its name, as `ip` shows it.
fn dev(names: &BTreeMap<u32, String>, index: u32) -> &str {
    names.get(&index).map_or("?", String::as_str)
}
