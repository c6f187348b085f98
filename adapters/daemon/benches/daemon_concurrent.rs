//! `daemon_concurrent`: 16 clients × 10,000 mixed requests at once through
//! one daemon serving the in-memory stack; throughput in requests per
//! second. Contender: `nlq`.
//!
//! Each client owns a bridge (made before the timing) and sends, with
//! `NLM_F_ACK` and up to 8 in flight, address adds and deletes, route adds
//! and deletes, MTU changes, link up, `RTM_GETLINK` and `RTM_GETROUTE`
//! (see `tests/common/workload.rs`). A monitor reads every notification.
//! Timed: from the start signal to the last client's last answer.
//!
//! Verified once, outside the timing: every request answered in order
//! with what a serial replay on a fresh `MemStack` answers, the monitor's
//! notifications per client in that client's order with none lost, and
//! the final dumps equal the replay's.
//!
//! Run: `cargo bench -p nlq-daemon --bench daemon_concurrent`.

#[path = "../tests/common/workload.rs"]
mod workload;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use nlq_daemon::testing::TempDir;
use nlq_daemon::{Daemon, Options};
use nlq_mem::MemStack;

const CLIENTS: usize = 16;
const REQUESTS: usize = 10_000;

/// A fresh daemon with the clients' bridges, and the plan.
fn fresh() -> (TempDir, nlq_daemon::DaemonHandle<MemStack>, workload::Plan) {
    let dir = TempDir::new("bench");
    let path = dir.path().join("nlq.sock");
    let daemon = Daemon::bind(&path, MemStack::new(), Options::default())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let plan = workload::setup_daemon(&path, CLIENTS, REQUESTS);
    (dir, daemon, plan)
}

fn daemon_concurrent(c: &mut Criterion) {
    {
        let (_dir, daemon, plan) = fresh();
        let (run, _) = workload::run_daemon(daemon.path(), &plan, true);
        let serial = workload::run_serial(&plan);
        workload::verify(&run, &serial).expect("the daemon answers as a serial replay");
    }
    let mut g = c.benchmark_group("daemon_concurrent");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements((CLIENTS * REQUESTS) as u64));
    g.bench_function("nlq", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_dir, daemon, plan) = fresh();
                let (_, t) = workload::run_daemon(daemon.path(), &plan, false);
                total += t;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, daemon_concurrent);
criterion_main!(benches);
