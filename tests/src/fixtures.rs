//! Loaders for the kernel dump fixtures in `tests/fixtures/kernel-dumps`.
//!
//! Each `*_dump.bin` file is a sequence of records, one per datagram received
//! from the kernel: a `u32` little-endian length `N`, then the `N` bytes of the
//! datagram. A datagram holds one or more netlink messages, each aligned to 4
//! bytes; the last datagram of every file ends with `NLMSG_DONE`.
//!
//! These helpers are for tests and benchmarks only: they panic on a missing or
//! malformed file.

use std::path::PathBuf;

/// The dump fixtures, in the order route, address, link.
pub const FIXTURES: [&str; 3] = ["route_dump.bin", "addr_dump.bin", "link_dump.bin"];

/// Length of a `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;

/// Path of the fixture file `name` (e.g. `"route_dump.bin"`) in
/// `tests/fixtures/kernel-dumps/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("kernel-dumps")
        .join(name)
}

/// The datagrams of the dump fixture `name`, in arrival order.
///
/// # Panics
///
/// If the file cannot be read or a record is truncated.
pub fn datagrams(name: &str) -> Vec<Vec<u8>> {
    let path = fixture_path(name);
    let data = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        assert!(
            rest.len() >= 4,
            "{name}: truncated record length ({} bytes left)",
            rest.len()
        );
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        assert!(
            tail.len() >= len,
            "{name}: record of {len} bytes but only {} bytes left",
            tail.len()
        );
        let (datagram, tail) = tail.split_at(len);
        out.push(datagram.to_vec());
        rest = tail;
    }
    out
}

/// Splits a datagram into its whole netlink messages (each slice is exactly
/// `nlmsg_len` bytes, header included, without the alignment padding).
///
/// This is a deliberately simple splitter, independent of every parser under
/// test: it reads `nlmsg_len` (native-endian `u32` at offset 0) and advances by
/// that length rounded up to 4.
///
/// # Panics
///
/// If a message header is truncated, `nlmsg_len` is smaller than the header
/// or larger than what is left of the datagram.
pub fn messages(datagram: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        assert!(
            rest.len() >= NLMSG_HDRLEN,
            "truncated netlink header at offset {offset}: {} bytes left",
            rest.len()
        );
        let len = u32::from_ne_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        assert!(
            (NLMSG_HDRLEN..=rest.len()).contains(&len),
            "bad nlmsg_len {len} at offset {offset} ({} bytes left)",
            rest.len()
        );
        out.push(&rest[..len]);
        offset += (len + 3) & !3;
    }
    out
}

/// Every message of every datagram of the dump fixture `name`, in order, each
/// copied into its own buffer.
///
/// # Panics
///
/// As [`datagrams`] and [`messages`].
pub fn all_messages(name: &str) -> Vec<Vec<u8>> {
    datagrams(name)
        .iter()
        .flat_map(|d| messages(d).into_iter().map(<[u8]>::to_vec))
        .collect()
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    /// Datagram and message counts from the fixtures' README.
    #[test]
    fn counts_match_readme() {
        let expected = [
            ("route_dump.bin", 18, 10_004, 520_200),
            ("addr_dump.bin", 5, 1_002, 76_096),
            ("link_dump.bin", 19, 303, 515_168),
        ];
        for (name, n_datagrams, n_messages, n_bytes) in expected {
            let dgs = datagrams(name);
            assert_eq!(dgs.len(), n_datagrams, "{name}: datagrams");
            let bytes: usize = dgs.iter().map(Vec::len).sum();
            assert_eq!(bytes, n_bytes, "{name}: bytes");
            assert_eq!(all_messages(name).len(), n_messages, "{name}: messages");
        }
    }

    #[test]
    fn last_message_is_done() {
        const NLMSG_DONE: u16 = 3;
        for name in FIXTURES {
            let all = all_messages(name);
            let last = all.last().expect("non-empty fixture");
            assert_eq!(u16::from_ne_bytes([last[4], last[5]]), NLMSG_DONE, "{name}");
            let dones = all
                .iter()
                .filter(|m| u16::from_ne_bytes([m[4], m[5]]) == NLMSG_DONE)
                .count();
            assert_eq!(dones, 1, "{name}");
        }
    }
}
