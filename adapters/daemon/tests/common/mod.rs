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
pub mod workload;
