//! Running a sequence on one side (a fresh kernel namespace, or a fresh
//! daemon through the preload shim) and recording everything it shows:
//! each `ip` run's exit status, stdout and stderr; every notification a
//! listener subscribed to the link, address, route, rule, netconf,
//! neighbour and nexthop groups hears; and after each step the whole
//! link, address, route, rule, nexthop and neighbour tables, as dumped.

use std::io;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nlinline::wire::consts::*;
use nlinline::wire::{Messages, NlMsgHeader};
use nlinline::{KernelSocket, Transport};
use nlq::server::SockOpt;
use nlq_daemon::client::SocketClient;

/// The groups the listener joins. The kernel's own neighbour entries
/// (made by the IGMP and MLD reports of links that come up) are left out
/// of the comparison (`compare::kernel_made`).
pub const GROUPS: &[u32] = &[
    RTNLGRP_LINK,
    RTNLGRP_NEIGH,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE,
    RTNLGRP_IPV4_RULE,
    RTNLGRP_IPV6_RULE,
    RTNLGRP_IPV4_NETCONF,
    RTNLGRP_IPV6_NETCONF,
    RTNLGRP_NEXTHOP,
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
    /// The tables afterwards: links (all, their IPv6 view, bridge ports),
    /// addresses, IPv4 routes, IPv6 routes.
    pub dumps: Vec<Msg>,
    /// For `route get`, the answer to the same question asked directly.
    pub answer: Vec<Msg>,
}

/// A place where `ip` runs and whose tables can be read.
pub trait Side {
    /// Runs `ip ARGS`.
    fn ip(&mut self, args: &[String]) -> (i32, String, String, u32);
    /// The socket that dumps.
    fn observer(&mut self) -> &mut dyn Transport;
    /// The socket subscribed to [`GROUPS`].
    fn listener(&mut self) -> &mut dyn Transport;
    /// Waits until what a step started on timers has finished (duplicate
    /// address detection on the kernel).
    fn settle(&mut self) -> io::Result<()> {
        Ok(())
    }
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
    fn settle(&mut self) -> io::Result<()> {
        let start = std::time::Instant::now();
        loop {
            let (probing, unrouted) = pending(&mut self.observer)?;
            // An address can lose its local route by hand: that wait ends
            // after a while; detection must end.
            if !probing && (!unrouted || start.elapsed() > Duration::from_secs(1)) {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(5) {
                return Err(io::Error::other("duplicate address detection did not end"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
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

/// What the kernel still has to do after a step, in its work queues:
/// `(probing, unrouted)`.
///
/// `probing`: an IPv6 address tentative on a link ready for IPv6 or on
/// `lo` (duplicate address detection running), or a link up and
/// running that has lost its carrier (linkwatch has not updated its
/// operational state yet).
///
/// `unrouted`: an IPv6 address out of detection (`nodad`, or just done)
/// whose local route is not in yet: its detection work has not run.
fn pending(t: &mut dyn Transport) -> io::Result<(bool, bool)> {
    let mut links = Vec::new();
    let mut addrs = Vec::new();
    let mut routes = Vec::new();
    let (seq_l, seq_a, seq_r) = (0x5e77_0001, 0x5e77_0002, 0x5e77_0003);
    let ifi = [0u8; 16];
    exchange(
        t,
        &request(RTM_GETLINK, NLM_F_DUMP, seq_l, &ifi),
        seq_l,
        &mut links,
        &mut Vec::new(),
    )?;
    let ifa = [AF_INET6, 0, 0, 0, 0, 0, 0, 0];
    exchange(
        t,
        &request(RTM_GETADDR, NLM_F_DUMP, seq_a, &ifa),
        seq_a,
        &mut addrs,
        &mut Vec::new(),
    )?;
    let rtm = [AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    exchange(
        t,
        &request(RTM_GETROUTE, NLM_F_DUMP, seq_r, &rtm),
        seq_r,
        &mut routes,
        &mut Vec::new(),
    )?;
    let word = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map_or(0, |w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    };
    let of_kind = |m: &Msg, kind: u16| word(&m.bytes, 4) & 0xffff == u32::from(kind);
    // Links where detection runs: ready for IPv6 (`IF_READY`, kept when
    // the carrier goes), or loopback (where it ends at once, up or not,
    // but still in the kernel's work queue).
    let inet6_ready = |m: &Msg| {
        m.bytes
            .get(32..)
            .and_then(|a| attr_of(a, IFLA_AF_SPEC))
            .and_then(|a| attr_of(a, u16::from(AF_INET6)))
            .and_then(|a| attr_of(a, IFLA_INET6_FLAGS))
            .is_some_and(|f| word(f, 0) & IF_READY != 0)
    };
    let ready: Vec<u32> = links
        .iter()
        .filter(|m| of_kind(m, RTM_NEWLINK))
        .filter(|m| inet6_ready(m) || word(&m.bytes, 24) & IFF_LOOPBACK != 0)
        .map(|m| word(&m.bytes, 20))
        .collect();
    let linkwatch = links.iter().any(|m| {
        of_kind(m, RTM_NEWLINK)
            && word(&m.bytes, 24) & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP) == IFF_UP | IFF_RUNNING
    });
    let tentative = |m: &Msg| {
        m.bytes
            .get(18)
            .is_some_and(|f| u32::from(*f) & IFA_F_TENTATIVE != 0)
    };
    let probing = linkwatch
        || addrs.iter().any(|m| {
            of_kind(m, RTM_NEWADDR) && tentative(m) && ready.contains(&word(&m.bytes, 20))
        });
    // The local table's host routes: (link, address).
    let local: Vec<(u32, &[u8])> = routes
        .iter()
        .filter(|m| of_kind(m, RTM_NEWROUTE))
        .filter(|m| m.bytes.get(23) == Some(&RTN_LOCAL) && m.bytes.get(17) == Some(&128))
        .filter_map(|m| {
            let attrs = m.bytes.get(28..)?;
            Some((word(attr_of(attrs, RTA_OIF)?, 0), attr_of(attrs, RTA_DST)?))
        })
        .collect();
    let unrouted = addrs.iter().any(|m| {
        of_kind(m, RTM_NEWADDR)
            && !tentative(m)
            && m.bytes
                .get(24..)
                .and_then(|attrs| attr_of(attrs, IFA_ADDRESS))
                .is_some_and(|a| !local.contains(&(word(&m.bytes, 20), a)))
    });
    Ok((probing, unrouted))
}

/// The value of the first attribute of `kind` in `attrs`.
fn attr_of(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let k = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff;
        let value = attrs.get(4..len)?;
        if k == kind {
            return Some(value);
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    None
}

/// The sequence number the listener's barrier request uses.
const BARRIER_SEQ: u32 = 0x7ead_0001;

fn request(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let len = (NLMSG_HDRLEN + body.len()) as u32;
    let h = NlMsgHeader {
        len,
        message_type: kind,
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
                done |= m.message_type() == NLMSG_DONE || m.message_type() == NLMSG_ERROR || !multi;
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

fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// The index of link `name` (0 if none), asked on `t`.
fn index_of(t: &mut dyn Transport, name: &str, seq: u32) -> io::Result<u32> {
    let mut body = vec![0u8; 16];
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    attr(&mut body, IFLA_IFNAME, &n);
    let mut answer = Vec::new();
    exchange(
        t,
        &request(RTM_GETLINK, 0, seq, &body),
        seq,
        &mut answer,
        &mut Vec::new(),
    )?;
    Ok(answer
        .first()
        .filter(|m| {
            m.bytes.len() >= 24 && u16::from_ne_bytes([m.bytes[4], m.bytes[5]]) == RTM_NEWLINK
        })
        .map_or(0, |m| {
            u32::from_ne_bytes([m.bytes[20], m.bytes[21], m.bytes[22], m.bytes[23]])
        }))
}

/// The `RTM_GETROUTE` an `ip route get` step asks (destination, source,
/// output link), or `None` for other steps.
fn route_get_request(
    t: &mut dyn Transport,
    args: &[String],
    seq: u32,
) -> io::Result<Option<Vec<u8>>> {
    let v6 = args.first().is_some_and(|a| a == "-6");
    let rest: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .skip(usize::from(v6))
        .collect();
    if rest.get(..2) != Some(&["route", "get"][..]) {
        return Ok(None);
    }
    let Some(Ok(dst)) = rest.get(2).map(|d| d.parse::<std::net::IpAddr>()) else {
        return Ok(None);
    };
    let family = if dst.is_ipv4() { AF_INET } else { AF_INET6 };
    let full = if dst.is_ipv4() { 32 } else { 128 };
    let mut body = vec![family, full, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let bytes = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    attr(&mut body, RTA_DST, &bytes(dst));
    let mut words = rest[3..].iter();
    while let Some(w) = words.next() {
        match (*w, words.next()) {
            ("oif", Some(dev)) => {
                let index = index_of(t, dev, seq ^ 0x8000_0000)?;
                attr(&mut body, RTA_OIF, &index.to_ne_bytes());
            }
            ("mark", Some(mark)) => {
                let m = match mark.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => mark.parse(),
                };
                if let Ok(m) = m {
                    attr(&mut body, RTA_MARK, &m.to_ne_bytes());
                }
            }
            ("from", Some(src)) => {
                if let Ok(ip) = src.parse() {
                    body[2] = full;
                    attr(&mut body, RTA_SRC, &bytes(ip));
                }
            }
            _ => {}
        }
    }
    Ok(Some(request(RTM_GETROUTE, 0, seq, &body)))
}

/// Runs `steps` on `side` and records what each showed.
///
/// `expect` holds, per step, how many notifications the other side heard
/// that the comparison looks at (empty: nothing expected). Some of the kernel's come from its work
/// queues (linkwatch may wait up to a second after its last run): while
/// fewer have come, the listener is read again, up to a deadline; a
/// divergence in number then shows as it is.
pub fn trace(
    side: &mut dyn Side,
    steps: &[Vec<String>],
    expect: &[usize],
) -> io::Result<Vec<StepTrace>> {
    let mut out = Vec::with_capacity(steps.len());
    for (i, args) in steps.iter().enumerate() {
        let (status, stdout, stderr, pid) = side.ip(args);
        side.settle()?;
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
        let want = expect.get(i).copied().unwrap_or(0);
        let deadline = std::time::Instant::now() + Duration::from_millis(2500);
        for round in 0u32.. {
            let seq = BARRIER_SEQ.wrapping_add((i as u32) << 8 | round);
            let mut ignored = Vec::new();
            exchange(
                side.listener(),
                &request(RTM_GETLINK, 0, seq, &ifi),
                seq,
                &mut ignored,
                &mut t.notifications,
            )?;
            let heard = t
                .notifications
                .iter()
                .filter(|m| crate::compare::modelled(m))
                .count();
            if heard >= want || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(req) = route_get_request(side.observer(), args, 0x7e7e_0000 + i as u32)? {
            let mut stray = Vec::new();
            let seq = 0x7e7e_0000 + i as u32;
            exchange(side.observer(), &req, seq, &mut t.answer, &mut stray)?;
        }
        let dumps: [(u16, u8); 9] = [
            (RTM_GETLINK, AF_UNSPEC),
            (RTM_GETLINK, AF_INET6),
            (RTM_GETLINK, AF_BRIDGE),
            (RTM_GETADDR, AF_UNSPEC),
            (RTM_GETROUTE, AF_INET),
            (RTM_GETROUTE, AF_INET6),
            (RTM_GETRULE, AF_UNSPEC),
            (RTM_GETNEXTHOP, AF_UNSPEC),
            (RTM_GETNEIGH, AF_UNSPEC),
        ];
        for (n, (kind, family)) in dumps.into_iter().enumerate() {
            let seq = 1000 * (i as u32 + 1) + n as u32;
            let body: &[u8] = if kind == RTM_GETLINK {
                &[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            } else if kind == RTM_GETADDR || kind == RTM_GETNEXTHOP {
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
