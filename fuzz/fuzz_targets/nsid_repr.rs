//! Fuzz target `nsid_repr`: the NsidRepr round trip (a namespace id message).
//!
//! The input is a message payload (the bytes after `nlmsghdr`) of an
//! `RTM_NEWNSID`. `NsidRepr::parse_payload` must not panic; when it succeeds,
//! `parse(emit(parse(x))) == parse(x)` and emitting again gives the same
//! bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq::wire::NsidRepr;

#[path = "common/mod.rs"]
mod common;

fuzz_target!(|payload: &[u8]| {
    common::payload_round_trip::<NsidRepr>(payload);
});
