//! Fuzz target `netconf_repr`: the NetconfRepr round trip (a family's per-link configuration).
//!
//! The input is a message payload (the bytes after `nlmsghdr`) of an
//! `RTM_NEWNETCONF`. `NetconfRepr::parse_payload` must not panic; when it succeeds,
//! `parse(emit(parse(x))) == parse(x)` and emitting again gives the same
//! bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq::wire::NetconfRepr;

#[path = "common/mod.rs"]
mod common;

fuzz_target!(|payload: &[u8]| {
    common::payload_round_trip::<NetconfRepr>(payload);
});
