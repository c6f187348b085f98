//! Running a test inside a fresh network namespace of its own.
//!
//! Tests that need the kernel call [`in_netns`]: as root it runs the body on
//! a new thread that has unshared its network namespace (so the body, and
//! any command it spawns, sees only a fresh `lo`), and the namespace goes
//! away with the thread. Without root the test is skipped with a printed
//! reason, except under `CI=true`, where that is a failure.

use std::process::Command;

/// True when running as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `body` in a fresh network namespace; `None` if skipped.
pub fn in_netns<R: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name}: kernel tests must run as root under CI"
        );
        eprintln!("skipping {name}: needs root to create a network namespace");
        return None;
    }
    let t = std::thread::spawn(move || {
        // SAFETY: unshare(2) with CLONE_NEWNET moves only this thread, which
        // nothing else uses, into a new namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        body()
    });
    match t.join() {
        Ok(r) => Some(r),
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Runs `ip ARGS...` (in the calling thread's namespace) and returns its
/// standard output; panics if it fails.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
