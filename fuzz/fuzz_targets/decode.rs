//! Fuzz target `decode`: `nlq decode`'s input parsing and printing
//! (`nlq_daemon::decode`), and the daemon's state-file reader
//! (`nlq_daemon::state::parse`, then the `mem` stack's restore from the
//! snapshot), on arbitrary bytes.
//!
//! The input is the file. Checks, besides no panic:
//! - `detect` agrees with `capture` on the format; an input that is not a
//!   capture is an error only for an empty input or a pcap-like one (raw
//!   bytes always decode, hex only when it is hex);
//! - the printed summary counts at most one line per message and the lines
//!   it printed;
//! - a state file that reads back yields journal records of link, address,
//!   route and rule requests only, each within the file, and a snapshot the
//!   `mem` stack restores or refuses with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq_daemon::decode::{self, Format};

fuzz_target!(|data: &[u8]| {
    let format = decode::detect(data);
    match decode::capture(data) {
        Ok(cap) => {
            assert_eq!(cap.format, format);
            let mut text = String::new();
            let sum = decode::render(&cap, &mut text);
            assert_eq!(sum.datagrams, cap.datagrams.len());
            let lines = text.lines().count();
            assert!(sum.messages + sum.errors + sum.datagrams <= lines);
        }
        Err(_) => assert!(data.is_empty() || format != Format::Raw),
    }
    if let Ok(parsed) = nlq_daemon::state::parse(data) {
        assert!(parsed.valid_len + parsed.torn == data.len());
        for r in &parsed.records {
            assert!(r.request.as_bytes().len() <= data.len());
            assert!((16..=33).contains(&r.request.message_type()));
            assert!(r.outcomes.len() <= nlq_daemon::state::MAX_OUTCOMES);
        }
        use nlq_daemon::state::Persist;
        let _ = nlq_mem::MemStack::restore(&parsed.snapshot);
    }
});
