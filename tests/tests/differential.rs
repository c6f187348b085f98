//! Differential test: nlq and netlink-packet-route read every message of the
//! kernel-dump fixtures identically, for every attribute both understand.
#![cfg(target_endian = "little")]

use nlkit_tests::fixtures::{all_messages, FIXTURES};
use nlkit_tests::nlq_norm::nlq_normalize;
use nlkit_tests::npr_oracle::npr_normalize;

#[test]
fn nlq_reads_every_fixture_message_like_npr() {
    for name in FIXTURES {
        let msgs = all_messages(name);
        let mut compared = 0;
        for (i, m) in msgs.iter().enumerate() {
            let ours = nlq_normalize(m).unwrap_or_else(|e| panic!("{name} #{i}: nlq: {e}"));
            let theirs = npr_normalize(m).unwrap_or_else(|e| panic!("{name} #{i}: npr: {e}"));
            assert_eq!(ours, theirs, "{name} message #{i}");
            compared += usize::from(ours.is_some());
        }
        assert_eq!(compared + 1, msgs.len(), "{name}: all but DONE compared");
    }
}
