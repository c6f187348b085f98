//! What the daemon's benchmarks that race `ip` through the preload shim
//! against the kernel share: their preconditions, the daemon they start
//! and the network namespaces they make.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The preload shim for benchmark `bench`, or `None` once it said why it
/// skips: it needs root (for a network namespace) and the shim built
/// beside the `nlq` binary (`cargo build --release -p nlq-preload`).
pub fn shim_or_skip(bench: &str) -> Option<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("{bench}: skipped, needs root to create a network namespace");
        return None;
    }
    let shim = Path::new(env!("CARGO_BIN_EXE_nlq"))
        .parent()
        .map(|d| d.join("libnlq_preload.so"))
        .filter(|p| p.exists());
    if shim.is_none() {
        eprintln!("{bench}: skipped, run `cargo build --release -p nlq-preload` first");
    }
    shim
}

/// `nlq serve --socket SOCKET` (the in-memory stack), killed on drop.
pub struct NlqServe(Child);

impl NlqServe {
    /// Starts it, and waits for its socket (10 s at most).
    pub fn start(socket: &Path) -> NlqServe {
        let daemon = NlqServe(
            Command::new(env!("CARGO_BIN_EXE_nlq"))
                .args(["serve", "--socket"])
                .arg(socket)
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn nlq serve"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "the daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

impl Drop for NlqServe {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A named network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    /// Makes the namespace `name` (`ip netns add`).
    pub fn add(name: String) -> Netns {
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(st.success(), "ip netns add {name}");
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}
