//! `shim_route_show`: `ip -4 route show` over a table of 10,000 routes
//! (`10.x.y.0/24 dev br0`, plus the routes of `br0`'s address), the whole
//! process timed: start, dump, formatting, exit. Contenders:
//!
//! - `nlq`: `ip` with the preload shim (`LD_PRELOAD` and `NLQ_SOCKET`, what
//!   `nlq exec` sets) against a daemon serving the in-memory stack;
//! - `kernel`: the same `ip` on a fresh kernel network namespace.
//!
//! Both tables are loaded the same way, with `ip -batch`, and the two
//! outputs are checked to be equal before timing. `ip`'s output goes to
//! `/dev/null`.
//!
//! Needs root (for the namespace) and `cargo build --release -p
//! nlq-preload` first; without them the benchmark says so and does nothing.
//! Run with `cargo bench -p nlq-daemon --bench shim_route_show`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{shim_or_skip, NlqServe};
use criterion::{criterion_group, criterion_main, Criterion};

const ROUTES: u32 = 10_000;

/// The `ip -batch` file that builds the table.
fn batch() -> String {
    let mut s =
        String::from("link add br0 type bridge\nlink set br0 up\naddr add 10.255.0.1/16 dev br0\n");
    for i in 0..ROUTES {
        s.push_str(&format!(
            "route add 10.{}.{}.0/24 dev br0\n",
            i / 256,
            i % 256
        ));
    }
    s
}

/// `ip ARGS` through the shim (when `socket` is given) or on the kernel.
fn ip(socket: Option<&Path>, shim: &Path, args: &[&str]) -> Command {
    match socket {
        Some(s) => {
            // What `nlq exec` sets up, without its own exec in the timing.
            let mut c = Command::new("ip");
            c.env("LD_PRELOAD", shim).env("NLQ_SOCKET", s).args(args);
            c
        }
        None => {
            let mut c = Command::new("ip");
            c.args(args);
            c
        }
    }
}

fn output(mut c: Command) -> String {
    let out = c.output().expect("run ip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn load(socket: Option<&Path>, shim: &Path, file: &Path) {
    let file = file.display().to_string();
    output(ip(socket, shim, &["-batch", &file]));
}

fn shim_route_show(c: &mut Criterion) {
    let Some(shim) = shim_or_skip("shim_route_show") else {
        return;
    };
    // SAFETY: unshare(2) moves only this (the benchmark's) thread, which
    // spawns every `ip` of the kernel contender, into a fresh namespace.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());

    let scratch = std::env::temp_dir().join(format!("nlkit-shim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let socket = scratch.join("nlq.sock");
    let file = scratch.join("routes.batch");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(batch().as_bytes()))
        .expect("write the batch file");
    let _daemon = NlqServe::start(&socket);
    load(Some(&socket), &shim, &file);
    load(None, &shim, &file);
    let show = ["-4", "route", "show"];
    let (n, k) = (
        output(ip(Some(&socket), &shim, &show)),
        output(ip(None, &shim, &show)),
    );
    assert_eq!(n.lines().count(), k.lines().count(), "route counts differ");
    assert!(
        n == k,
        "`ip -4 route show` differs between nlq and the kernel"
    );
    eprintln!(
        "shim_route_show: {} lines, equal on both",
        n.lines().count()
    );

    let mut g = c.benchmark_group("shim_route_show");
    g.sample_size(30);
    for (name, socket) in [("nlq", Some(socket.as_path())), ("kernel", None)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let st = ip(socket, &shim, &show)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run ip");
                assert!(st.success());
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&scratch);
}

criterion_group!(benches, shim_route_show);
criterion_main!(benches);
