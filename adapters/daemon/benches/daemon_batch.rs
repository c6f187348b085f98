//! `daemon_batch/{10k,100k}`: `ip -batch` with N `route add` lines (half
//! `/24`, half `/32`, via a gateway on `br0`), the whole `ip` run timed,
//! once per contender in the same run (criterion's repeated sampling does
//! not fit a fill of 100,000 routes):
//!
//! - `nlq`: `ip` with the preload shim against `nlq serve` (the in-memory
//!   stack), as `nlq exec` runs it;
//! - `kernel`: `ip -n NS` on a fresh kernel network namespace.
//!
//! `ip -batch` sends each line and waits for its answer, so this measures
//! the round trip of one request through the shim and the daemon.
//! Needs root (for the namespace) and `cargo build --release -p
//! nlq-preload` first; without them it says so and does nothing. Sizes:
//! `NLKIT_BATCH=10k,100k` (the default). Run with
//! `cargo bench -p nlq-daemon --bench daemon_batch`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{shim_or_skip, Netns, NlqServe};

const SETUP: &str = "link add br0 type bridge\nlink set br0 up\naddr add 192.168.0.2/16 dev br0\n";

/// `n` route adds: even ones `/24` from 11.0.0.0 up, odd ones `/32` from
/// 100.0.0.0 up, all via 192.168.0.1.
fn routes(n: u32) -> String {
    let mut s = String::new();
    for i in 0..n {
        let half = i / 2;
        let (a, len) = if i & 1 == 0 {
            (0x0b00_0000u32 + (half << 8), 24)
        } else {
            (0x6400_0000u32 + half, 32)
        };
        let [x, y, z, w] = a.to_be_bytes();
        s.push_str(&format!(
            "route add {x}.{y}.{z}.{w}/{len} via 192.168.0.1\n"
        ));
    }
    s
}

fn run(mut c: Command) -> Duration {
    let t = Instant::now();
    let out = c.stderr(Stdio::piped()).output().expect("run ip");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn write(path: &Path, text: &str) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write a batch file");
}

fn parse_size(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_lowercase();
    match s.strip_suffix('k') {
        Some(d) => d.parse::<u32>().ok()?.checked_mul(1_000),
        None => s.parse().ok(),
    }
}

fn main() {
    let Some(shim) = shim_or_skip("daemon_batch") else {
        return;
    };
    let sizes = std::env::var("NLKIT_BATCH").unwrap_or_else(|_| "10k,100k".into());
    let scratch = std::env::temp_dir().join(format!("nlkit-daemon-batch-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let setup = scratch.join("setup.batch");
    write(&setup, SETUP);
    for (k, size) in sizes.split(',').enumerate() {
        let Some(n) = parse_size(size) else {
            eprintln!("daemon_batch: {size:?} is not a size (10k, 5000)");
            std::process::exit(2);
        };
        let size = size.trim();
        let file = scratch.join(format!("routes-{n}.batch"));
        write(&file, &routes(n));

        let socket = scratch.join(format!("nlq-{k}.sock"));
        let _daemon = NlqServe::start(&socket);
        let shimmed = |batch: &Path| {
            let mut c = Command::new("ip");
            c.env("LD_PRELOAD", &shim)
                .env("NLQ_SOCKET", &socket)
                .arg("-batch")
                .arg(batch);
            c
        };
        run(shimmed(&setup));
        let nlq_time = run(shimmed(&file));

        let ns = Netns::add(format!("nlkit-batch-{}-{k}", std::process::id()));
        let in_ns = |batch: &Path| {
            let mut c = Command::new("ip");
            c.args(["-n", &ns.0, "-batch"]).arg(batch);
            c
        };
        run(in_ns(&setup));
        let kernel_time = run(in_ns(&file));
        for (name, t) in [("nlq", nlq_time), ("kernel", kernel_time)] {
            println!(
                "daemon_batch/{size}/{name}: {n} route adds in {:.3} s ({:.1} µs each)",
                t.as_secs_f64(),
                t.as_secs_f64() * 1e6 / f64::from(n)
            );
        }
        println!(
            "daemon_batch/{size}: nlq / kernel = {:.2}",
            nlq_time.as_secs_f64() / kernel_time.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
