//! `nlq decode` on captures built here: pcap files (both byte orders, µs
//! and ns magics, link types NETLINK, LINUX_SLL and LINUX_SLL2) holding
//! the real kernel dumps of `tests/fixtures/kernel-dumps`, hex text, raw
//! bytes; and every truncation of them gives output or an error, never a
//! panic.
#![cfg(target_endian = "little")]

use std::io::Write;
use std::process::{Command, Stdio};

use nlq_daemon::decode::{self, Format};

const DUMPS: [&[u8]; 3] = [
    include_bytes!("../../../tests/fixtures/kernel-dumps/link_dump.bin"),
    include_bytes!("../../../tests/fixtures/kernel-dumps/addr_dump.bin"),
    include_bytes!("../../../tests/fixtures/kernel-dumps/route_dump.bin"),
];

/// The datagrams of a fixture (records of u32 LE length + datagram).
fn datagrams(mut b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = b.split_first_chunk::<4>() {
        let (d, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        out.push(d);
        b = rest;
    }
    out
}

fn message_count(d: &[&[u8]]) -> usize {
    d.iter().map(|d| nlq::wire::Messages::new(d).count()).sum()
}

#[derive(Clone, Copy)]
enum Link {
    Netlink,
    Sll,
    Sll2,
}

/// A pcap file of `packets`.
fn pcap(packets: &[&[u8]], big_endian: bool, nanos: bool, link: Link) -> Vec<u8> {
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut f = Vec::new();
    f.extend(w32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    f.extend(w16(2));
    f.extend(w16(4));
    f.extend(w32(0));
    f.extend(w32(0));
    f.extend(w32(262_144));
    f.extend(w32(match link {
        Link::Netlink => 253,
        Link::Sll => 113,
        Link::Sll2 => 276,
    }));
    for (i, p) in packets.iter().enumerate() {
        let mut hdr = Vec::new();
        match link {
            Link::Netlink | Link::Sll => {
                hdr.extend(4u16.to_be_bytes()); // sent by us
                hdr.extend(824u16.to_be_bytes()); // ARPHRD_NETLINK
                hdr.extend([0u8; 10]);
                hdr.extend(0u16.to_be_bytes()); // NETLINK_ROUTE
            }
            Link::Sll2 => {
                hdr.extend(0u16.to_be_bytes()); // NETLINK_ROUTE
                hdr.extend([0u8; 2]);
                hdr.extend(7u32.to_be_bytes()); // ifindex
                hdr.extend(824u16.to_be_bytes());
                hdr.push(4);
                hdr.push(0);
                hdr.extend([0u8; 8]);
            }
        }
        let len = (hdr.len() + p.len()) as u32;
        f.extend(w32(i as u32));
        f.extend(w32(0));
        f.extend(w32(len));
        f.extend(w32(len));
        f.extend(hdr);
        f.extend_from_slice(p);
    }
    f
}

#[test]
fn pcaps_of_the_kernel_dumps() {
    for dump in DUMPS {
        let d = datagrams(dump);
        let want = message_count(&d);
        for (be, ns, link) in [
            (false, false, Link::Netlink),
            (true, true, Link::Netlink),
            (false, true, Link::Sll),
            (false, false, Link::Sll2),
        ] {
            let file = pcap(&d, be, ns, link);
            assert_eq!(decode::detect(&file), Format::Pcap);
            let cap = decode::capture(&file).unwrap();
            assert_eq!(cap.datagrams.len(), d.len());
            assert_eq!(cap.warnings.is_empty(), !be);
            let mut text = String::new();
            let sum = decode::render(&cap, &mut text);
            assert_eq!((sum.messages, sum.errors), (want, 0));
            assert_eq!(text.lines().filter(|l| l.starts_with("  ")).count(), want);
        }
    }
}

#[test]
fn raw_records_and_hex() {
    let d = datagrams(DUMPS[1]);
    // The fixture itself: length-prefixed records.
    let cap = decode::capture(DUMPS[1]).unwrap();
    assert_eq!(cap.format, Format::Raw);
    assert_eq!(cap.datagrams.len(), d.len());
    // One datagram, raw.
    let cap = decode::capture(d[0]).unwrap();
    assert_eq!((cap.format, cap.datagrams.len()), (Format::Raw, 1));
    // Hex, one block per datagram.
    let hex: String = d
        .iter()
        .take(2)
        .map(|d| {
            let mut s: String = d
                .chunks(16)
                .map(|c| c.iter().map(|b| format!("{b:02x} ")).collect::<String>() + "\n")
                .collect();
            s.push('\n');
            s
        })
        .collect();
    let cap = decode::capture(hex.as_bytes()).unwrap();
    assert_eq!(cap.format, Format::Hex);
    assert_eq!(cap.datagrams.len(), 2);
    assert_eq!(cap.datagrams[1].bytes, d[1]);
}

/// A small capture of a few messages of each dump.
fn small() -> Vec<Vec<u8>> {
    DUMPS
        .iter()
        .map(|dump| {
            let first = datagrams(dump)[0];
            // Its first messages (up to three).
            let mut end = 0;
            for m in nlq::wire::Messages::new(first).take(3) {
                end += m.unwrap().as_bytes().len();
            }
            first[..end].to_vec()
        })
        .collect()
}

#[test]
fn every_truncation_decodes_or_fails_cleanly() {
    let packets = small();
    let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
    let hex: String = refs
        .iter()
        .map(|p| p.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n\n")
        .collect();
    let inputs = [
        pcap(&refs, false, false, Link::Netlink),
        pcap(&refs, true, true, Link::Sll2),
        refs.concat(),
        hex.into_bytes(),
    ];
    for input in &inputs {
        let whole = decode::capture(input).unwrap();
        let mut text = String::new();
        let all = decode::render(&whole, &mut text);
        assert_eq!(all.errors, 0);
        for cut in 0..input.len() {
            let mut out = Vec::new();
            // Output or an error; a panic fails the test.
            if let Ok(sum) = decode::print(&input[..cut], &mut out) {
                assert!(sum.messages <= all.messages, "cut at {cut}");
                assert!(sum.datagrams == 0 || !out.is_empty(), "cut at {cut}");
            }
        }
    }
    // A truncated message is reported, and the next packet still decoded.
    let mut cut = refs.clone();
    let short = &packets[0][..packets[0].len() - 5];
    cut[0] = short;
    let cap = decode::capture(&pcap(&cut, false, false, Link::Netlink)).unwrap();
    let mut text = String::new();
    let sum = decode::render(&cap, &mut text);
    assert_eq!(sum.errors, 1);
    assert!(text.contains("truncated"), "{text}");
    // All but the one cut short.
    let whole = message_count(&refs);
    assert_eq!(sum.messages, whole - 1, "{text}");
}

#[test]
fn the_binary_decodes_standard_input() {
    let packets = small();
    let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
    let file = pcap(&refs, false, true, Link::Sll);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&file).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("pcap input, 3 datagrams"), "{text}");
    assert!(text.contains("RTM_NEWLINK flags=MULTI"), "{text}");
    assert!(text.contains("RTM_NEWROUTE"), "{text}");
    // Not a capture: a clear error.
    let dir = nlq_daemon::testing::TempDir::new("decode");
    let out = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .arg("decode")
        .arg(dir.path().join("nlq-capture"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nlq-capture"));
}
