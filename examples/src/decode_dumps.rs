//! Builds an RTM_NEWADDR request, then parses real kernel dumps (links,
//! addresses, routes captured from Linux 6.18) and prints them readably.
//!
//! Run: `cargo run -p nlkit-examples --bin decode_dumps [-- --all]`
//! (`--all` prints every message instead of the first few of each dump).

use std::net::{IpAddr, Ipv4Addr};

use nlq::wire::{
    consts::*, AddrAttr, AddrRepr, Buffer, LinkAttr, LinkInfoAttr, Message, Messages, RouteAttr,
    SliceBuffer, Writer,
};

const DUMPS: [(&str, &[u8]); 3] = [
    (
        "link_dump.bin",
        include_bytes!("../../tests/fixtures/kernel-dumps/link_dump.bin"),
    ),
    (
        "addr_dump.bin",
        include_bytes!("../../tests/fixtures/kernel-dumps/addr_dump.bin"),
    ),
    (
        "route_dump.bin",
        include_bytes!("../../tests/fixtures/kernel-dumps/route_dump.bin"),
    ),
];

/// How many messages of each dump to print without `--all`.
const SHOWN: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all = std::env::args().any(|a| a == "--all");
    build_request()?;
    for (name, bytes) in DUMPS {
        decode_dump(name, bytes, all)?;
    }
    Ok(())
}

/// `ip addr add 10.0.0.1/24 dev <ifindex 2>`, built without allocating.
fn build_request() -> Result<(), nlq::wire::Error> {
    let mut storage = [0u8; 64];
    let mut w = Writer::new(SliceBuffer::new(&mut storage));
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let len = w.message(RTM_NEWADDR, flags, 1, 0, |w| {
        AddrRepr::new(ip, 24, 2).with_local(ip).emit(w)
    })?;
    println!("== request: ip addr add 10.0.0.1/24 dev #2 ({len} bytes)");
    for chunk in w.buffer().as_bytes().chunks(16) {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        println!("   {}", hex.join(" "));
    }
    for msg in Messages::new(w.buffer().as_bytes()) {
        println!("   {}", describe(&msg?.typed()?)?);
    }
    Ok(())
}

/// Parses a fixture (records of `u32` length + datagram) and prints it.
fn decode_dump(name: &str, mut bytes: &[u8], all: bool) -> Result<(), Box<dyn std::error::Error>> {
    let (mut datagrams, mut messages, mut attrs) = (0, 0, 0);
    println!("== {name}");
    while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (dgram, rest) = rest.split_at_checked(len).ok_or("truncated record")?;
        bytes = rest;
        datagrams += 1;
        for msg in Messages::new(dgram) {
            let typed = msg?.typed()?;
            attrs += count_attrs(&typed)?;
            if all || messages < SHOWN {
                println!("   {}", describe(&typed)?);
            }
            messages += 1;
        }
    }
    if !all && messages > SHOWN {
        println!("   ... ({} more)", messages - SHOWN);
    }
    println!("   {datagrams} datagrams, {messages} messages, {attrs} attributes: no error");
    Ok(())
}

fn count_attrs(m: &Message<'_>) -> Result<usize, nlq::wire::Error> {
    Ok(match m {
        Message::Link(l) => l.raw_attrs().try_fold(0, |n, a| a.map(|_| n + 1))?,
        Message::Addr(a) => a.raw_attrs().try_fold(0, |n, a| a.map(|_| n + 1))?,
        Message::Route(r) => r.raw_attrs().try_fold(0, |n, a| a.map(|_| n + 1))?,
        Message::Neigh(n) => n.raw_attrs().try_fold(0, |k, a| a.map(|_| k + 1))?,
        _ => 0,
    })
}

/// One line in the spirit of `ip`'s output.
fn describe(m: &Message<'_>) -> Result<String, nlq::wire::Error> {
    Ok(match m {
        Message::Link(l) => {
            let h = l.header();
            let mut s = format!("link #{}", h.index);
            for a in l.attrs() {
                match a? {
                    LinkAttr::IfName(n) => s += &format!(" {n}"),
                    LinkAttr::Mtu(v) => s += &format!(" mtu {v}"),
                    LinkAttr::Address(mac) => s += &format!(" link/{} {}", h.kind, hex(mac)),
                    LinkAttr::OperState(o) => s += &format!(" state {}", operstate(o)),
                    LinkAttr::LinkInfo(info) => {
                        for i in info {
                            if let LinkInfoAttr::Kind(k) = i? {
                                s += &format!(" kind {k}");
                            }
                        }
                    }
                    _ => {}
                }
            }
            s + if h.flags & IFF_UP != 0 {
                " UP"
            } else {
                " DOWN"
            }
        }
        Message::Addr(a) => {
            let h = a.header();
            let mut s = format!("addr dev #{}", h.index);
            for x in a.attrs() {
                match x? {
                    AddrAttr::Local(ip) => s += &format!(" inet {ip}/{}", h.prefix_len),
                    AddrAttr::Label(l) => s += &format!(" label {l}"),
                    AddrAttr::Broadcast(b) => s += &format!(" brd {b}"),
                    _ => {}
                }
            }
            s + &format!(" scope {}", scope(h.scope))
        }
        Message::Route(r) => {
            let h = r.header();
            let (mut dst, mut rest) = ("default".to_string(), String::new());
            let mut table = u32::from(h.table);
            for x in r.attrs() {
                match x? {
                    RouteAttr::Dst(ip) => dst = format!("{ip}/{}", h.dst_len),
                    RouteAttr::Gateway(ip) => rest += &format!(" via {ip}"),
                    RouteAttr::Oif(i) => rest += &format!(" dev #{i}"),
                    RouteAttr::PrefSrc(ip) => rest += &format!(" src {ip}"),
                    RouteAttr::Priority(p) => rest += &format!(" metric {p}"),
                    RouteAttr::Table(t) => table = t,
                    _ => {}
                }
            }
            let kind = match h.kind {
                RTN_LOCAL => "local ",
                RTN_BROADCAST => "broadcast ",
                _ => "",
            };
            format!(
                "route {kind}{dst}{rest} table {table} scope {}",
                scope(h.scope)
            )
        }
        Message::Neigh(n) => format!("neighbour dev #{}", n.header().ifindex),
        Message::Rule(r) => {
            let h = r.header();
            format!(
                "rule family {} table {} action {}",
                h.family, h.table, h.action
            )
        }
        Message::Nexthop(n) => format!("nexthop family {}", n.header().family),
        Message::Netconf(n) => format!("netconf family {}", n.header().0.family),
        Message::Nsid(_) => "namespace id".to_string(),
        Message::Done(d) => format!("done (status {})", d.error),
        Message::Error(e) if e.is_ack() => "ack".to_string(),
        Message::Error(e) => format!("error {} {}", e.errno(), e.ext_ack().msg.unwrap_or("")),
        Message::Noop => "noop".to_string(),
        Message::Overrun => "overrun".to_string(),
        Message::Other(o) => format!("message type {}", o.kind()),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn scope(s: u8) -> String {
    match s {
        RT_SCOPE_UNIVERSE => "global".into(),
        RT_SCOPE_LINK => "link".into(),
        RT_SCOPE_HOST => "host".into(),
        other => other.to_string(),
    }
}

fn operstate(o: u8) -> &'static str {
    match o {
        IF_OPER_UP => "UP",
        IF_OPER_DOWN => "DOWN",
        IF_OPER_LOWERLAYERDOWN => "LOWERLAYERDOWN",
        _ => "UNKNOWN",
    }
}
