//! Bad input never panics: every truncated prefix of every fixture message is
//! an error, and arbitrary bytes (proptest) go through every parser safely.
#![cfg(target_endian = "little")]

use nlkit_tests::fixtures::{all_messages, FIXTURES};
use nlkit_tests::nlq_norm::{nlq_normalize, walk};
use nlq::wire::{AddrRepr, ErrorKind, LinkRepr, Messages, NeighRepr, NlMsgHeader, Part, RouteRepr};
use proptest::prelude::*;

/// Offsets (from the message start) where a message may end cleanly: right
/// after its family header, or after any top-level attribute (with or
/// without its padding).
fn clean_ends(msg: &[u8]) -> Vec<usize> {
    let kind = u16::from_ne_bytes([msg[4], msg[5]]);
    let mut pos = 16
        + match kind {
            16..=19 => 16,
            20..=22 => 8,
            24..=26 | 28..=30 => 12,
            // NLMSG_DONE without its status reads as 0, as older senders send it.
            3 => return vec![16],
            _ => return vec![],
        };
    let mut ends = vec![pos];
    while pos + 4 <= msg.len() {
        let len = u16::from_ne_bytes([msg[pos], msg[pos + 1]]) as usize;
        let aligned = (len + 3) & !3;
        ends.extend(pos + len..=(pos + aligned).min(msg.len()));
        pos += aligned;
    }
    ends
}

/// Parses a message every way nlq can: the deep typed walk, then the repr of
/// its family.
fn parse_all_ways(msg: &[u8]) -> Result<(), nlq::wire::Error> {
    nlq_normalize(msg)?;
    let m = Messages::new(msg).next().expect("one message")?;
    let p = m.payload();
    match m.message_type() {
        16..=19 => LinkRepr::parse_payload(p).map(drop),
        20..=22 => AddrRepr::parse_payload(p).map(drop),
        24..=26 => RouteRepr::parse_payload(p).map(drop),
        28..=30 => NeighRepr::parse_payload(p).map(drop),
        _ => Ok(()),
    }
}

#[test]
fn every_truncated_prefix_is_an_error() {
    for name in FIXTURES {
        for msg in all_messages(name) {
            // Cut without fixing the length: the header now lies.
            for n in 0..msg.len() {
                let r: Vec<_> = Messages::new(&msg[..n]).collect();
                assert!(r.iter().all(|m| m.is_err()), "{name}: prefix {n}");
                assert_eq!(r.len(), usize::from(n > 0), "{name}: prefix {n}");
            }
            // Cut and fix the length: the header is consistent, the body is
            // cut. Clean cuts parse; every other cut is an error.
            let clean = clean_ends(&msg);
            for n in 16..msg.len() {
                let mut cut = msg[..n].to_vec();
                cut[..4].copy_from_slice(&(n as u32).to_ne_bytes());
                let r = parse_all_ways(&cut);
                if clean.contains(&n) {
                    r.unwrap_or_else(|e| panic!("{name}: clean cut at {n}: {e}"));
                } else {
                    assert!(r.is_err(), "{name}: cut at {n} parsed");
                }
            }
        }
    }
}

#[test]
fn cut_inside_the_family_header_names_the_body() {
    let msg = &all_messages("route_dump.bin")[0];
    let mut cut = msg[..20].to_vec();
    cut[..4].copy_from_slice(&20u32.to_ne_bytes());
    let e = parse_all_ways(&cut).unwrap_err();
    assert_eq!((e.part, e.kind), (Part::Body, ErrorKind::Truncated));
}

/// A datagram of arbitrary messages: random headers of rtnetlink types with
/// random payloads, so that the attribute walkers see framed input.
fn framed_datagram() -> impl Strategy<Value = Vec<u8>> {
    let msg = (
        prop_oneof![Just(2u16), Just(3), 16u16..=30],
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(kind, flags, payload)| {
            let h = NlMsgHeader {
                len: 16 + payload.len() as u32,
                message_type: kind,
                flags,
                seq: 1,
                port: 0,
            };
            let mut v = h.to_bytes().to_vec();
            v.extend(payload);
            while !v.len().is_multiple_of(4) {
                v.push(0);
            }
            v
        });
    proptest::collection::vec(msg, 1..4).prop_map(|ms| ms.concat())
}

fn parse_datagram(d: &[u8]) {
    for m in Messages::new(d) {
        let Ok(m) = m else { break };
        let mut bytes = m.header().to_bytes().to_vec();
        bytes.extend_from_slice(m.payload());
        let _ = parse_all_ways(&bytes);
        // Every payload also read as a bare attribute run, nested included.
        let _ = walk(nlq::wire::Attrs::new(m.payload()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(d in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_datagram(&d);
    }

    #[test]
    fn arbitrary_framed_messages_never_panic(d in framed_datagram()) {
        parse_datagram(&d);
    }
}
