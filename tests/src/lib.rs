//! Cross-crate test support for nlkit.
//!
//! This crate holds what the differential tests and benchmarks share:
//!
//! - [`fixtures`]: loaders for the captured kernel dumps in
//!   `tests/fixtures/kernel-dumps`, and an independent splitter of a datagram
//!   into netlink messages;
//! - [`norm`]: a neutral normal form ([`norm::NormMsg`]) that every parser
//!   under test can be mapped to, so that their results can be compared;
//! - [`npr_oracle`]: the `netlink-packet-route` oracle: normalization of its
//!   parse result, and the `netlink-packet-route` contenders of the
//!   benchmarks.
//!
//! Netlink uses host byte order and the fixtures were captured on a
//! little-endian host: the tests built on them only run on little-endian
//! targets.

pub mod fixtures;
pub mod netns;
pub mod nlq_norm;
pub mod norm;
pub mod npr_oracle;
pub mod proof;
