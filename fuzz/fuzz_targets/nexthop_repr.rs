//! Fuzz target `nexthop_repr`: the NexthopRepr round trip.
//!
//! The input is a message payload (the bytes after `nlmsghdr`) of an
//! `RTM_NEWNEXTHOP`. `NexthopRepr::parse_payload` must not panic; when it
//! succeeds, the repr is emitted into a `Vec` inside one message (which must
//! succeed), and that message, read back through `Messages` and `typed()`,
//! must parse to an equal repr: `parse(emit(parse(x))) == parse(x)`.
//! Emitting the re-parsed repr must give the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq::wire::NexthopRepr;

#[path = "common/mod.rs"]
mod common;

fuzz_target!(|payload: &[u8]| {
    common::payload_round_trip::<NexthopRepr>(payload);
});
