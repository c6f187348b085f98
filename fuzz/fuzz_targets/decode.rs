//! Fuzz target `decode`: `nlq decode`'s input parsing and printing
//! (`nlq_daemon::decode`), and the daemon's state-file reader
//! (`nlq_daemon::state::requests`), on arbitrary bytes.
//!
//! The input is the file. Checks, besides no panic:
//! - `detect` agrees with `capture` on the format; an input that is not a
//!   capture is an error only for an empty input or a pcap-like one (raw
//!   bytes always decode, hex only when it is hex);
//! - the printed summary counts at most one line per message and the lines
//!   it printed;
//! - a state file that reads back yields only link, address and route
//!   requests, each within the file.
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
    if let Ok(reqs) = nlq_daemon::state::requests(data) {
        for m in reqs {
            assert!(m.as_bytes().len() <= data.len());
            assert!((16..=30).contains(&m.kind()));
        }
    }
});
