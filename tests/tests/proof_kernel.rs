//! The proof against the kernel: generated operation sequences run through
//! nlinline on a fresh kernel namespace and on nlq over the `mem` stack;
//! per operation the result and the address and route notifications must
//! match, and at the end the tables and the link notifications.
//!
//! `PROOF_CASES` sets the number of sequences (200 by default).

use nlkit_tests::netns::{in_netns, is_root};
use nlkit_tests::proof::{divergence, sequence, trace_kernel, trace_mem, Op};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn cases() -> u32 {
    std::env::var("PROOF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

fn compare(ops: &[Op]) -> Result<(), String> {
    let owned = ops.to_vec();
    let Some(kernel) = in_netns("proof", move || trace_kernel(&owned)) else {
        return Ok(());
    };
    let mem = trace_mem(ops);
    match divergence(ops, &kernel, &mem) {
        None => Ok(()),
        Some(d) => Err(format!("{d}\nsequence: {ops:#?}")),
    }
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    })]

    #[test]
    fn mem_answers_like_the_kernel(ops in sequence()) {
        if !is_root() {
            // in_netns prints why (and fails under CI).
            let _ = in_netns("proof", || ());
            return Ok(());
        }
        if let Err(d) = compare(&ops) {
            prop_assert!(false, "{}", d);
        }
    }
}
