//! 16 clients × 500 mixed requests at once through one daemon: every
//! answer in order and as a serial replay gives it, a monitor hears every
//! client's notifications in that client's order with none lost, and the
//! final dumps equal the replay's (the benchmark `daemon_concurrent` runs
//! the same with 10,000 requests per client).

mod common;

use common::workload;

#[test]
fn sixteen_clients_match_a_serial_replay() {
    let d = common::spawn("concurrent");
    let plan = workload::setup_daemon(d.path(), 16, 500);
    let (run, _elapsed) = workload::run_daemon(d.path(), &plan, true);
    let serial = workload::run_serial(&plan);
    // The replay is not empty: the comparison means something.
    let heard: Vec<usize> = serial.heard.iter().map(Vec::len).collect();
    assert!(heard.iter().all(|n| *n > 250), "{heard:?}");
    assert!(serial.dumps.iter().all(|d| d.len() > 16));
    workload::verify(&run, &serial).unwrap();
}
