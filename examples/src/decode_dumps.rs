//! Builds an RTM_NEWADDR request, then parses real kernel dumps (links,
//! addresses, routes captured from Linux 6.18) and prints them as `ip`
//! names things (the codec's `Display`, with the links' names).
//!
//! Run: `cargo run -p nlkit-examples --bin decode_dumps [-- --all]`
//! (`--all` prints every message instead of the first few of each dump).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use nlq::wire::{consts::*, AddrRepr, Buffer, LinkRepr, Message, Messages, SliceBuffer, Writer};

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
    let mut names = BTreeMap::new();
    for (name, bytes) in DUMPS {
        decode_dump(name, bytes, all, &mut names)?;
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
        println!("   {}", msg?);
    }
    Ok(())
}

/// Parses a fixture (records of `u32` length + datagram) and prints it,
/// links by the names `names` learnt from the dumps before (and learns
/// the names of the links this one holds).
fn decode_dump(
    name: &str,
    mut bytes: &[u8],
    all: bool,
    names: &mut BTreeMap<u32, String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (mut datagrams, mut messages, mut attrs) = (0, 0, 0);
    println!("== {name}");
    while let Some((len, rest)) = bytes.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (dgram, rest) = rest.split_at_checked(len).ok_or("truncated record")?;
        bytes = rest;
        datagrams += 1;
        for msg in Messages::new(dgram) {
            let msg = msg?;
            let typed = msg.typed()?;
            attrs += count_attrs(&typed)?;
            if let Message::Link(l) = &typed {
                let repr = LinkRepr::parse(l)?;
                if let Some(n) = repr.name {
                    names.insert(repr.header.index, n.as_str().to_string());
                }
            }
            if all || messages < SHOWN {
                println!("   {}", msg.display().body_only().with_names(names));
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
