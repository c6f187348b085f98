//! `nlq exec`: the program runs with the shim preloaded and pointed at the
//! daemon, and its exit code is `nlq`'s.

mod common;

use std::process::Command;

fn nlq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlq"))
}

#[test]
fn the_program_gets_the_environment_and_its_code_comes_back() {
    let d = common::spawn("exec");
    // A stand-in for the shim: the dynamic loader warns about a file that
    // is no library and runs the program anyway.
    let shim = d.dir.path().join("libfake.so");
    std::fs::write(&shim, b"not a library").unwrap();
    let out = nlq()
        .env("NLQ_PRELOAD", &shim)
        .env("LD_PRELOAD", "")
        .arg("exec")
        .arg("--socket")
        .arg(d.path())
        .args(["--", "sh", "-c", "echo \"$NLQ_SOCKET|$LD_PRELOAD\"; exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let text = String::from_utf8(out.stdout).unwrap();
    let shim = std::fs::canonicalize(&shim).unwrap();
    assert_eq!(
        text.trim(),
        format!("{}|{}", d.path().display(), shim.display())
    );
}

#[test]
fn a_missing_shim_or_daemon_is_a_clear_error() {
    let d = common::spawn("exec-err");
    let out = nlq()
        .env("NLQ_PRELOAD", d.dir.path().join("nosuch.so"))
        .arg("exec")
        .arg("--socket")
        .arg(d.path())
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NLQ_PRELOAD names"));
    let out = nlq()
        .args(["exec", "--socket"])
        .arg(d.dir.path().join("nosuch.sock"))
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no nlq daemon"));
    let out = nlq().args(["exec", "--socket", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no command: usage");
}
