//! The conformance kit against nlq-smoltcp on a loopback device, with the
//! exact outcome of every check: a check that changes outcome (a pass that
//! fails, an unsupported one that starts to pass, a new check) fails this
//! test, so that the table in the README stays true. Run with
//! `--nocapture` to print the table.

use nlq_conformance::{self as conformance, Outcome, Setup};

mod common;

use common::{loopback_stack, INDEX, NAME};

/// The checks nlq-smoltcp does not support, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("create_link", "the setup names an existing link"),
    ("delete_link", "the setup names an existing link"),
    ("vxlan_refusals", "EOPNOTSUPP"),
    ("ipv4_device_route", "EOPNOTSUPP"),
];

#[test]
fn smoltcp_stack_conforms() {
    let report = conformance::run(&Setup::existing_link(INDEX, NAME), loopback_stack);
    println!("{report}");
    let failed: Vec<_> = report
        .failed()
        .map(|c| format!("{}: {:?}", c.name, c.outcome))
        .collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
    let unsupported: Vec<&str> = report.unsupported().map(|c| c.name).collect();
    let expected: Vec<&str> = UNSUPPORTED.iter().map(|(n, _)| *n).collect();
    assert_eq!(unsupported, expected, "the unsupported checks changed");
    for (name, why) in UNSUPPORTED {
        match &report.get(name).expect("a known check").outcome {
            Outcome::Unsupported(text) => assert!(text.contains(why), "{name}: {text}"),
            o => panic!("{name}: {o:?}"),
        }
    }
    // Every other check of the kit passes: 56 of its 60.
    assert_eq!(
        report.passed().count(),
        conformance::checks().count() - UNSUPPORTED.len()
    );
    assert_eq!(report.passed().count(), 56);
}
