//! The kit against the Linux kernel, each check in a fresh network
//! namespace of its own (as root; skipped otherwise, except under
//! `CI=true`): what the kit expects is what the kernel answers.

use nlq_conformance::{self as conformance, Setup};

fn check(kind: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the kernel conformance run must run as root under CI"
        );
        eprintln!("skipping the kernel conformance run: needs root");
        return;
    }
    let report = conformance::run_on_kernel(&Setup::create_link(kind)).expect("a kernel run");
    println!("{report}");
    let failed: Vec<_> = report
        .failed()
        .map(|c| format!("{}: {:?}", c.name, c.outcome))
        .collect();
    assert!(failed.is_empty(), "failed on the kernel: {failed:#?}");
    let unsupported: Vec<_> = report.unsupported().map(|c| c.name).collect();
    assert!(unsupported.is_empty(), "unsupported: {unsupported:?}");
}

#[test]
fn the_kernel_conforms_with_a_bridge() {
    check("bridge");
}

#[test]
fn the_kernel_conforms_with_a_veth_link() {
    check("veth");
}
