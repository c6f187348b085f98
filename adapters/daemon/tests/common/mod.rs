//! Helpers shared by the daemon's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use nlq::wire::consts::*;
use nlq::wire::{Message, Messages, NlMsg, Writer};
use nlq_daemon::client::SocketClient;
use nlq_daemon::testing::TempDir;
use nlq_daemon::{Daemon, DaemonHandle, Options};
use nlq_mem::MemStack;

/// A daemon over a fresh `MemStack` in a temporary directory.
pub struct Running {
    pub daemon: DaemonHandle<MemStack>,
    pub dir: TempDir,
}

impl Running {
    pub fn path(&self) -> &std::path::Path {
        self.daemon.path()
    }
}

pub fn spawn(tag: &str) -> Running {
    spawn_with(tag, Options::default())
}

pub fn spawn_with(tag: &str, options: Options) -> Running {
    let dir = TempDir::new(tag);
    let path = dir.path().join("nlq.sock");
    let daemon = Daemon::bind_with_state(&path, MemStack::new(), options)
        .expect("bind")
        .spawn()
        .expect("spawn");
    Running { daemon, dir }
}

/// One request message.
pub fn request(
    kind: u16,
    flags: u16,
    seq: u32,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, flags | NLM_F_REQUEST, seq, 0, body)
        .unwrap();
    w.into_inner()
}

/// Datagrams until one holds an answer (ERROR or DONE) for `seq`.
pub fn answers(c: &mut SocketClient, seq: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        c.recv(&mut buf, Some(Duration::from_secs(10)))
            .expect("an answer in time");
        let done = Messages::new(&buf)
            .flatten()
            .any(|m| m.seq() == seq && matches!(m.message_type(), NLMSG_ERROR | NLMSG_DONE));
        out.push(buf.clone());
        if done {
            return out;
        }
    }
}

/// The errno of the NLMSG_ERROR for `seq` in `datagrams` (0 = ACK).
pub fn errno_of(datagrams: &[Vec<u8>], seq: u32) -> Option<i32> {
    datagrams.iter().find_map(|d| {
        Messages::new(d).flatten().find_map(|m: NlMsg<'_>| {
            if m.seq() != seq {
                return None;
            }
            match m.typed() {
                Ok(Message::Error(e)) => Some(e.errno()),
                _ => None,
            }
        })
    })
}

/// The user a test acts as when it must not be root (`nobody`).
pub const NOBODY: u32 = 65534;

/// True when `test` may use root's powers. Off root it says that it skips
/// and why (`why`: what it needs root for, as in "needs root {why}"),
/// except under `CI=true`, where a test may not be skipped: it fails.
pub fn root_or_skip(test: &str, why: &str) -> bool {
    if nlq_daemon::sys::geteuid() == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} needs root {why}, and CI=true: it may not be skipped"
    );
    eprintln!("{test}: skipped, it needs root {why}");
    false
}

/// Why a test that calls [`as_nobody`] needs root, for [`root_or_skip`].
pub const TO_ACT_AS_ANOTHER_USER: &str = "to act as another user";

/// Runs `f` on a thread whose user is [`NOBODY`], and returns what it
/// returns. The thread drops to it with the raw `setresuid` system call:
/// credentials are per thread on Linux (glibc's wrapper would change
/// every thread), so the rest of the test stays root. Needs root.
pub fn as_nobody<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: a raw setresuid changes the credentials of this
            // thread only; it takes no pointers.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_setresuid,
                    NOBODY as libc::c_long,
                    NOBODY as libc::c_long,
                    NOBODY as libc::c_long,
                )
            };
            assert_eq!(r, 0, "setresuid: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("the nobody thread")
    })
}

pub mod workload;
