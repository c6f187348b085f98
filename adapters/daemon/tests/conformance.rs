//! The whole conformance kit through a daemon serving `MemStack`: every
//! check runs on a fresh daemon and talks to it over the socket protocol.

use nlq_conformance::{self as conformance, Endpoint, Settled, Setup};
use nlq_daemon::client::SocketClient;
use nlq_daemon::endpoint::DaemonEndpoint;
use nlq_mem::MemStack;

/// A fresh daemon, as the kit's endpoint.
struct Daemon(DaemonEndpoint<MemStack>);

impl Endpoint for Daemon {
    type Socket = SocketClient;

    fn connect(&mut self) -> std::io::Result<SocketClient> {
        self.0.connect()
    }
}

/// Every check, each on a fresh daemon.
fn through_the_daemon(setup: &Setup) -> conformance::Report {
    conformance::run_on(setup, || {
        let daemon = DaemonEndpoint::spawn(MemStack::new()).map_err(|e| e.to_string())?;
        Ok(Settled::new(Daemon(daemon)))
    })
}

fn check(setup: &Setup) {
    let report = through_the_daemon(setup);
    println!("{report}");
    let failed: Vec<_> = report
        .failed()
        .map(|c| format!("{}: {:?}", c.name, c.outcome))
        .collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
    // The same checks pass as on the in-process server: none unsupported.
    let unsupported: Vec<_> = report.unsupported().map(|c| c.name).collect();
    assert!(unsupported.is_empty(), "unsupported: {unsupported:?}");
    assert_eq!(report.passed().count(), conformance::checks().count());
}

#[test]
fn mem_stack_conforms_through_the_daemon_with_a_dummy_link() {
    check(&Setup::create_link("dummy"));
}

#[test]
fn mem_stack_conforms_through_the_daemon_with_a_bridge() {
    check(&Setup::create_link("bridge"));
}

/// The same checks on the kernel (as root, each in a fresh network
/// namespace) come out as through the daemon: all pass.
#[test]
fn the_kernel_answers_as_the_daemon_does() {
    let setup = Setup::create_link("bridge");
    let Some(kernel) = conformance::run_on_kernel_or_skip(&setup) else {
        return;
    };
    let daemon = through_the_daemon(&setup);
    let outcomes = |r: &conformance::Report| {
        r.checks
            .iter()
            .map(|c| (c.name, c.outcome.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(outcomes(&kernel), outcomes(&daemon), "{kernel}");
}
