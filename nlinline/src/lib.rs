//! # nlinline
//!
//! Synchronous helpers that build and send rtnetlink configuration requests
//! to any network stack. This crate is being built on top of the `nlq` codec;
//! for now it re-exports the codec so that requests can be built with it.
#![forbid(unsafe_code)]

pub use nlq::wire;
