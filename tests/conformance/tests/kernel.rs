//! The kit against the Linux kernel, each check in a fresh network
//! namespace of its own (as root; skipped otherwise, except under
//! `CI=true`): what the kit expects is what the kernel answers.

use nlq_conformance::{self as conformance, Setup};

fn check(kind: &str) {
    let Some(report) = conformance::run_on_kernel_or_skip(&Setup::create_link(kind)) else {
        return;
    };
    println!("{report}");
    assert_eq!(
        report.passed().count(),
        conformance::checks().count(),
        "{report}"
    );
}

#[test]
fn the_kernel_conforms_with_a_bridge() {
    check("bridge");
}

#[test]
fn the_kernel_conforms_with_a_veth_link() {
    check("veth");
}
