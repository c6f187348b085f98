//! Running a sequence on one side (a fresh kernel namespace, or a fresh
//! daemon through the preload shim) and recording everything it shows:
//! each `ip` run's exit status, stdout and stderr; every notification a
//! listener subscribed to the link, address and route groups hears; and
//! after each step the whole link, address and route tables, as dumped.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nlinline::wire::consts::*;
use nlinline::wire::{Messages, NlMsgHeader};
use nlinline::{KernelSocket, Transport};
use nlq::server::SockOpt;
use nlq_daemon::client::SocketClient;

/// The groups the listener joins.
pub const GROUPS: &[u32] = &[
    RTNLGRP_LINK,
    RTNLGRP_NEIGH,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE,
];

/// One message as received: its bytes, and whether it came alone in its
/// datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// The message (header included).
    pub bytes: Vec<u8>,
    /// It was the only message of its datagram.
    pub alone: bool,
}

/// What one step showed.
#[derive(Debug, Clone, Default)]
pub struct StepTrace {
    /// `ip`'s exit status.
    pub status: i32,
    /// `ip`'s standard output.
    pub stdout: String,
    /// `ip`'s standard error.
    pub stderr: String,
    /// `ip`'s process id (its first socket's port).
    pub pid: u32,
    /// What the listener heard, in order.
    pub notifications: Vec<Msg>,
    /// The tables afterwards: links, addresses, IPv4 routes, IPv6 routes.
    pub dumps: Vec<Msg>,
}

/// A place where `ip` runs and whose tables can be read.
pub trait Side {
    /// Runs `ip ARGS`.
    fn ip(&mut self, args: &[String]) -> (i32, String, String, u32);
    /// The socket that dumps.
    fn observer(&mut self) -> &mut dyn Transport;
    /// The socket subscribed to [`GROUPS`].
    fn listener(&mut self) -> &mut dyn Transport;
}

fn run_ip(mut cmd: Command) -> (i32, String, String, u32) {
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ip");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for ip");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    )
}

/// The kernel side: sockets in the calling thread's namespace.
pub struct KernelSide {
    observer: KernelSocket,
    listener: KernelSocket,
}

impl KernelSide {
    /// Opens the sockets (call it in the namespace's thread).
    pub fn new() -> io::Result<Self> {
        let observer = KernelSocket::new()?;
        let listener = KernelSocket::new()?;
        listener.set_buffers(4 << 20)?;
        for g in GROUPS {
            listener.socket().add_membership(*g)?;
        }
        Ok(KernelSide { observer, listener })
    }
}

impl Side for KernelSide {
    fn ip(&mut self, args: &[String]) -> (i32, String, String, u32) {
        let mut c = Command::new("ip");
        c.args(args);
        run_ip(c)
    }
    fn observer(&mut self) -> &mut dyn Transport {
        &mut self.observer
    }
    fn listener(&mut self) -> &mut dyn Transport {
        &mut self.listener
    }
}

/// The nlq side: `ip` through the shim, sockets on the daemon.
pub struct NlqSide<'a> {
    socket: &'a Path,
    shim: &'a Path,
    observer: SocketClient,
    listener: SocketClient,
}

impl<'a> NlqSide<'a> {
    /// Connects to the daemon at `socket`.
    pub fn new(socket: &'a Path, shim: &'a Path) -> io::Result<Self> {
        let observer = SocketClient::connect(socket)?;
        // The options the kernel side's sockets have.
        for opt in [
            SockOpt::ExtAck(true),
            SockOpt::CapAck(true),
            SockOpt::StrictCheck(true),
        ] {
            observer.set_sockopt(opt)?;
        }
        let mut listener = SocketClient::connect(socket)?;
        let bits = GROUPS.iter().fold(0u32, |b, g| b | (1 << (g - 1)));
        listener.bind(0, bits)?;
        let _ = listener.reserve_replies(4 << 20);
        Ok(NlqSide {
            socket,
            shim,
            observer,
            listener,
        })
    }
}

impl Side for NlqSide<'_> {
    fn ip(&mut self, args: &[String]) -> (i32, String, String, u32) {
        let mut c = Command::new("ip");
        c.args(args)
            .env("LD_PRELOAD", self.shim)
            .env("NLQ_SOCKET", self.socket);
        run_ip(c)
    }
    fn observer(&mut self) -> &mut dyn Transport {
        &mut self.observer
    }
    fn listener(&mut self) -> &mut dyn Transport {
        &mut self.listener
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// The sequence number the listener's barrier request uses.
const BARRIER_SEQ: u32 = 0x7ead_0001;

fn request(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = (NLMSG_HDRLEN + body.len()) as u32;
    let h = NlMsgHeader {
        len,
        kind,
        flags: NLM_F_REQUEST | flags,
        seq,
        port: 0,
    };
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// Sends `req` and collects messages until the one answering `seq` that
/// ends it (a DONE, an error, or a non-multi reply); messages with other
/// sequence numbers (notifications) go to `others`.
fn exchange(
    t: &mut dyn Transport,
    req: &[u8],
    seq: u32,
    answer: &mut Vec<Msg>,
    others: &mut Vec<Msg>,
) -> io::Result<()> {
    t.send(req)?;
    let mut buf = Vec::new();
    loop {
        t.recv(&mut buf, Some(TIMEOUT))?;
        let msgs: Vec<_> = Messages::new(&buf).filter_map(Result::ok).collect();
        let alone = msgs.len() == 1;
        let mut done = false;
        for m in msgs {
            let rec = Msg {
                bytes: m.as_bytes().to_vec(),
                alone,
            };
            if m.seq() == seq {
                let multi = m.flags() & NLM_F_MULTI != 0;
                done |= m.kind() == NLMSG_DONE || m.kind() == NLMSG_ERROR || !multi;
                answer.push(rec);
            } else {
                others.push(rec);
            }
        }
        if done {
            return Ok(());
        }
    }
}

/// Runs `steps` on `side` and records what each showed.
pub fn trace(side: &mut dyn Side, steps: &[Vec<String>]) -> io::Result<Vec<StepTrace>> {
    let mut out = Vec::with_capacity(steps.len());
    for (i, args) in steps.iter().enumerate() {
        let (status, stdout, stderr, pid) = side.ip(args);
        let mut t = StepTrace {
            status,
            stdout,
            stderr,
            pid,
            ..StepTrace::default()
        };
        // A barrier: the listener's own request is answered after every
        // notification already queued for it.
        let mut ifi = [0u8; 16];
        ifi[4..8].copy_from_slice(&1i32.to_ne_bytes());
        let seq = BARRIER_SEQ.wrapping_add(i as u32);
        let mut ignored = Vec::new();
        exchange(
            side.listener(),
            &request(RTM_GETLINK, 0, seq, &ifi),
            seq,
            &mut ignored,
            &mut t.notifications,
        )?;
        let dumps: [(u16, u8); 4] = [
            (RTM_GETLINK, AF_UNSPEC),
            (RTM_GETADDR, AF_UNSPEC),
            (RTM_GETROUTE, AF_INET),
            (RTM_GETROUTE, AF_INET6),
        ];
        for (n, (kind, family)) in dumps.into_iter().enumerate() {
            let seq = 1000 * (i as u32 + 1) + n as u32;
            let body: &[u8] = if kind == RTM_GETLINK {
                &[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            } else if kind == RTM_GETADDR {
                &[family, 0, 0, 0, 0, 0, 0, 0]
            } else {
                &[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            };
            let mut stray = Vec::new();
            exchange(
                side.observer(),
                &request(kind, NLM_F_DUMP, seq, body),
                seq,
                &mut t.dumps,
                &mut stray,
            )?;
        }
        out.push(t);
    }
    Ok(out)
}
