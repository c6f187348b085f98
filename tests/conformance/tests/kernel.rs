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

/// On an ifb the kernel refuses a new MAC (no `ndo_set_mac_address`:
/// `EOPNOTSUPP`), so `set_mac` is unsupported and every other check
/// passes; the reference stack comes out the same, check by check.
#[test]
fn the_kernel_and_mem_agree_on_an_ifb_link() {
    let setup = Setup::create_link("ifb");
    let Some(kernel) = conformance::run_on_kernel_or_skip(&setup) else {
        return;
    };
    println!("{kernel}");
    let unsupported: Vec<_> = kernel.unsupported().map(|c| c.name).collect();
    assert_eq!(unsupported, ["set_mac"], "{kernel}");
    assert_eq!(kernel.passed().count(), conformance::checks().count() - 1);
    let mem = conformance::run(&setup, nlq_mem::MemStack::new);
    let outcomes = |r: &conformance::Report| {
        r.checks
            .iter()
            .map(|c| (c.name, c.outcome.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(outcomes(&mem), outcomes(&kernel), "{mem}");
}
