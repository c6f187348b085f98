//! One client netlink socket through the proxy: a thread reads the
//! client's datagrams, judges each request and sends the admitted ones
//! upstream; another reads the upstream and relays answers and
//! notifications through the peer's view.
//!
//! Order is kept as on one kernel socket: a refusal made by the proxy
//! waits in [`Pending`] behind the requests before it until their answers
//! are relayed. For that, every forwarded request that is not a dump
//! carries `NLM_F_ACK` upstream (the ACKs the client did not ask for are
//! dropped), so that each one ends with exactly one answer.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nlq::wire::consts::*;
use nlq::wire::{ErrorMessage, Messages, NlMsg, NlMsgHeader};
use nlq_remote::DataHeader;

use super::audit::Record;
use super::judge::{self, Verdict};
use super::message::{self, Direction};
use super::policy::{Peer, View};
use super::upstream::{Received, UpSocket};
use super::Shared;
use crate::sys;

/// `NETLINK_PKTINFO`, `NETLINK_LISTEN_ALL_NSID`, `NETLINK_CAP_ACK`,
/// `NETLINK_EXT_ACK`.
const NETLINK_PKTINFO: i32 = 3;
const NETLINK_LISTEN_ALL_NSID: i32 = 8;
const NETLINK_CAP_ACK: i32 = 10;
const NETLINK_EXT_ACK: i32 = 11;
/// `NLM_F_CAPPED` on an error.
const NLM_F_CAPPED: u16 = 0x100;

/// The kernel's `NLMSG_GOODSIZE` on 4 KiB pages: what dump datagrams are
/// cut to until the reader says it reads more.
const GOODSIZE: usize = 3776;

/// How long the relay waits for a client to say how large its reads are
/// before it reads a dump.
const READER_WAIT: Duration = Duration::from_millis(100);

/// How long a `Sync` waits for the socket's requests to be answered.
const SYNC_WAIT: Duration = Duration::from_secs(10);

/// A request sent upstream, or a refusal waiting for its turn.
#[derive(Debug)]
enum Entry {
    Forwarded(Sent),
    Refusal { bytes: Vec<u8> },
}

/// Bytes for the client, then the requests (upstream seq, errno) whose
/// answers they end.
type Segment = (Vec<u8>, Vec<(u32, i32)>);

/// A request sent upstream, until its answer is relayed.
#[derive(Debug)]
struct Sent {
    /// Its `nlmsg_seq` upstream: the client's, unless another request in
    /// flight has that one.
    up_seq: u32,
    /// The client's `nlmsghdr`: its seq and flags go back in the
    /// answers, the whole of it in an answer the proxy makes.
    head: NlMsgHeader,
    dump: bool,
    /// The ACK is the proxy's (dropped).
    forced: bool,
    /// The client's bytes, when the view rewrote them.
    original: Option<Vec<u8>>,
    record: Option<Record>,
}

#[derive(Debug, Default)]
struct Pending {
    queue: VecDeque<Entry>,
    /// The upstream seqs of the requests in `queue`.
    in_flight: HashSet<u32>,
    /// Where substitute seqs come from.
    next_seq: u32,
    /// Requests in `queue` (not dumps) whose answer the view hid: their
    /// ACK, in a later datagram perhaps, becomes "absent".
    hid: HashSet<u32>,
    closed: bool,
}

impl Pending {
    /// Removes the request `up_seq` (its answer was relayed); returns
    /// its record.
    fn complete(&mut self, up_seq: u32) -> Option<Option<Record>> {
        let at = self
            .queue
            .iter()
            .position(|e| matches!(e, Entry::Forwarded(s) if s.up_seq == up_seq))?;
        self.in_flight.remove(&up_seq);
        self.hid.remove(&up_seq);
        match self.queue.remove(at) {
            Some(Entry::Forwarded(s)) => Some(s.record),
            _ => None,
        }
    }

    /// The refusals now at the front, in order.
    fn ready_refusals(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(Entry::Refusal { .. }) = self.queue.front() {
            if let Some(Entry::Refusal { bytes }) = self.queue.pop_front() {
                out.push(bytes);
            }
        }
        out
    }
}

/// A client's netlink socket. See the [module](self).
#[derive(Debug)]
pub struct SocketSession {
    /// Names it in control requests.
    pub cookie: u64,
    client: OwnedFd,
    peer: Peer,
    up: Mutex<Option<Arc<UpSocket>>>,
    /// The port the client knows (its replies are addressed to it); the
    /// upstream socket's own port is the proxy's business.
    port: AtomicU32,
    /// The client's socket is bound (by `bind` or its first send).
    bound: AtomicBool,
    pending: Mutex<Pending>,
    progress: Condvar,
    reader_size: AtomicUsize,
    /// The client said how large its reads are.
    reader_known: AtomicBool,
    ext_ack: AtomicBool,
    cap_ack: AtomicBool,
    busy: AtomicBool,
    /// Options set before the upstream socket exists: (level, name,
    /// value), applied when it opens.
    early_options: Mutex<Vec<(i32, i32, u32)>>,
    view: Mutex<(u64, Arc<View>)>,
}

impl SocketSession {
    /// A session for the client connection `client` of `peer`.
    pub fn new(cookie: u64, client: OwnedFd, peer: Peer, port: u32) -> Self {
        SocketSession {
            cookie,
            client,
            peer,
            up: Mutex::new(None),
            port: AtomicU32::new(port),
            bound: AtomicBool::new(false),
            pending: Mutex::new(Pending::default()),
            progress: Condvar::new(),
            reader_size: AtomicUsize::new(GOODSIZE),
            reader_known: AtomicBool::new(false),
            ext_ack: AtomicBool::new(false),
            cap_ack: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            early_options: Mutex::new(Vec::new()),
            view: Mutex::new((u64::MAX, Arc::new(View::default()))),
        }
    }

    /// The view of the current policy for this peer.
    fn view(&self, shared: &Shared) -> Arc<View> {
        let (generation, policy) = shared.policy();
        let Ok(mut v) = self.view.lock() else {
            return Arc::new(policy.view(&self.peer));
        };
        if v.0 != generation {
            *v = (generation, Arc::new(policy.view(&self.peer)));
        }
        Arc::clone(&v.1)
    }

    /// The port the client knows.
    pub fn port(&self) -> u32 {
        self.port.load(Ordering::SeqCst)
    }

    /// The upstream socket, opened on first use (bound to whatever port
    /// the upstream gives), with its reader thread.
    fn upstream(self: &Arc<Self>, shared: &Arc<Shared>) -> io::Result<Arc<UpSocket>> {
        let mut up = self.up.lock().map_err(|_| io::Error::other("poisoned"))?;
        if let Some(u) = up.as_ref() {
            return Ok(Arc::clone(u));
        }
        let sock = UpSocket::open(&shared.upstream)?;
        let early = std::mem::take(
            &mut *self
                .early_options
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?,
        );
        for (level, name, value) in early {
            sock.set_option(level, name, value)?;
        }
        let (up_port, _) = sock.name()?;
        shared.map_port(up_port, self.port());
        let sock = Arc::new(sock);
        *up = Some(Arc::clone(&sock));
        let (me, shared, reader) = (Arc::clone(self), Arc::clone(shared), Arc::clone(&sock));
        std::thread::Builder::new()
            .name("nlq-proxy-up".into())
            .spawn(move || me.relay(&shared, &reader))?;
        Ok(sock)
    }

    fn opened(&self) -> Option<Arc<UpSocket>> {
        self.up.lock().ok()?.as_ref().map(Arc::clone)
    }

    /// Sends the client its welcome.
    pub fn welcome(&self, w: &nlq_remote::Welcome) -> io::Result<()> {
        sys::send(self.client.as_fd(), &w.to_bytes(), false).map(|_| ())
    }

    /// Sends to the client: a header, then the messages.
    fn to_client(&self, group: u32, error: u32, bytes: &[u8]) -> io::Result<()> {
        // The proxy relays the kernel's messages only (see
        // `Upstream::recv`): the sender is the kernel.
        let head = DataHeader {
            error,
            group,
            ..DataHeader::default()
        }
        .to_bytes();
        sys::send2(self.client.as_fd(), &head, bytes).map(|_| ())
    }

    /// Serves the client's datagrams until it goes. `first` is a datagram
    /// already read.
    pub fn serve(self: &Arc<Self>, shared: &Arc<Shared>) {
        let mut buf = vec![0u8; nlq_remote::MAX_REQUEST.saturating_add(1)];
        loop {
            let n = match sys::recv(self.client.as_fd(), &mut buf, sys::RecvFlags::default()) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            self.busy.store(true, Ordering::SeqCst);
            if n > nlq_remote::MAX_REQUEST {
                let _ = self.to_client(0, libc::EMSGSIZE as u32, &[]);
            } else if let Some(d) = buf.get(..n) {
                if let Err(e) = self.requests(shared, d) {
                    if shared.verbose {
                        eprintln!("nlq proxy: uid {}: upstream: {e}", self.peer.uid);
                    }
                    let _ = self.to_client(0, e.raw_os_error().unwrap_or(libc::EIO) as u32, &[]);
                }
            }
            // Under the lock, so that a `Sync` checking it cannot miss
            // the wake-up.
            if let Ok(_p) = self.pending.lock() {
                self.busy.store(false, Ordering::SeqCst);
            }
            self.progress.notify_all();
        }
        if let Some(up) = self.opened() {
            up.shutdown();
        }
        if let Ok(mut p) = self.pending.lock() {
            p.closed = true;
        }
        self.progress.notify_all();
    }

    /// Judges the requests of one datagram, answers the refused ones and
    /// sends the others upstream in one datagram.
    fn requests(self: &Arc<Self>, shared: &Arc<Shared>, datagram: &[u8]) -> io::Result<()> {
        let up = self.upstream(shared)?;
        self.bound.store(true, Ordering::SeqCst);
        let view = self.view(shared);
        let (_, policy) = shared.policy();
        let mut rate = || shared.admit_rate(self.peer.uid, &policy);
        let mut judged = judge::judge(
            datagram,
            &mut judge::Context {
                peer: self.peer,
                view: &view,
                policy: &policy,
                links: &*shared.directory,
                port: self.port.load(Ordering::SeqCst),
                ext_ack: self.ext_ack.load(Ordering::SeqCst),
                cap_ack: self.cap_ack.load(Ordering::SeqCst),
                admit: &mut rate,
                records: shared.audit.logs(),
            },
        );
        {
            let mut p = self
                .pending
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            for v in judged.verdicts {
                match v {
                    Verdict::Refused {
                        bytes,
                        record,
                        errno,
                    } => {
                        if let Some(r) = &record {
                            shared.audit.write(r, errno);
                        }
                        if p.queue.is_empty() {
                            self.to_client(0, 0, &bytes)?;
                        } else {
                            p.queue.push_back(Entry::Refusal { bytes });
                        }
                    }
                    Verdict::Forwarded {
                        at,
                        head,
                        dump,
                        forced,
                        original,
                        record,
                        ..
                    } => {
                        // Answers are matched by seq: each request in
                        // flight has its own upstream.
                        let mut up_seq = head.seq;
                        while p.in_flight.contains(&up_seq) {
                            p.next_seq = p.next_seq.wrapping_add(1);
                            up_seq = p.next_seq | 0x8000_0000;
                        }
                        if up_seq != head.seq {
                            let field = judged
                                .upward
                                .get_mut(at.saturating_add(8)..at.saturating_add(12));
                            if let Some(f) = field {
                                f.copy_from_slice(&up_seq.to_ne_bytes());
                            }
                        }
                        p.in_flight.insert(up_seq);
                        p.queue.push_back(Entry::Forwarded(Sent {
                            up_seq,
                            head,
                            dump,
                            forced,
                            original,
                            record,
                        }));
                    }
                }
            }
        }
        if !judged.upward.is_empty() {
            shared.audit.capture(&judged.upward, true);
            up.send(&judged.upward)?;
        }
        Ok(())
    }

    /// Relays what the upstream sends until it closes.
    fn relay(&self, shared: &Arc<Shared>, up: &UpSocket) {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            self.await_reader();
            let size = self.reader_size.load(Ordering::SeqCst);
            match up.recv(&mut buf, size) {
                Ok(Received::Messages { len, group }) => {
                    let d = buf.get(..len).unwrap_or_default();
                    shared.audit.capture(d, false);
                    let ok = if group != 0 {
                        self.notification(shared, d, group)
                    } else {
                        self.answers(shared, d)
                    };
                    if ok.is_err() {
                        break;
                    }
                }
                Ok(Received::Error(e)) => {
                    if self.to_client(0, e.unsigned_abs(), &[]).is_err() {
                        break;
                    }
                }
                Ok(Received::Closed) | Err(_) => break,
            }
        }
        sys::shutdown(self.client.as_fd());
        if let Ok(mut p) = self.pending.lock() {
            p.closed = true;
        }
        self.progress.notify_all();
    }

    /// Relays a notification through the view; the port of the socket
    /// whose request caused it is the one its client knows.
    /// Before a dump is read for a client that has not said how large its
    /// reads are, waits a little for it to say so (the shim does at its
    /// first `recvmsg`): the kernel cuts the dump's datagrams by the reads
    /// it sees, and reading ahead with a smaller buffer would cut the whole
    /// dump small.
    fn await_reader(&self) {
        if self.reader_known.load(Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        let Ok(mut p) = self.pending.lock() else {
            return;
        };
        loop {
            let dumping = p
                .queue
                .iter()
                .any(|e| matches!(e, Entry::Forwarded(s) if s.dump));
            if !dumping || p.closed || self.reader_known.load(Ordering::SeqCst) {
                return;
            }
            let left = READER_WAIT.saturating_sub(started.elapsed());
            if left.is_zero() {
                return;
            }
            p = match self.progress.wait_timeout(p, left) {
                Ok((g, _)) => g,
                Err(_) => return,
            };
        }
    }

    fn notification(&self, shared: &Shared, d: &[u8], group: u32) -> io::Result<()> {
        let view = self.view(shared);
        let plain = view.is_plain();
        let mut out = Vec::with_capacity(d.len());
        for msg in Messages::new(d).flatten() {
            if !plain && message::hidden(&msg, &view, &*shared.directory) {
                continue;
            }
            let port = shared.client_port(msg.port());
            match message::rewrite(&msg, &view, Direction::Down).filter(|_| !plain) {
                Some(b) => push(&mut out, &b, port, None),
                None => push(&mut out, msg.as_bytes(), port, None),
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        self.to_client(group, 0, &out)
    }

    /// Relays a datagram of answers. The answer of a request (matched by
    /// seq) says that the quiet requests sent before it succeeded; each
    /// completion pops its requests after the messages before it are
    /// sent, and lets the refusals behind them go.
    fn answers(&self, shared: &Shared, d: &[u8]) -> io::Result<()> {
        let view = self.view(shared);
        let plain = view.is_plain();
        let port = self.port();
        // Each segment: bytes, then the requests (upstream seq, errno)
        // that completed at its end.
        let mut segments: Vec<Segment> = Vec::new();
        let mut chunk = Vec::with_capacity(d.len());
        let mut done: Vec<(u32, i32)> = Vec::new();
        let mut completed: HashSet<u32> = HashSet::new();
        {
            let mut guard = self
                .pending
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            let p = &mut *guard;
            let (queue, hid) = (&p.queue, &mut p.hid);
            for msg in Messages::new(d).flatten() {
                let x = msg.seq();
                let sent = queue.iter().filter_map(|e| match e {
                    Entry::Forwarded(s) if !completed.contains(&s.up_seq) => Some(s),
                    _ => None,
                });
                let mut before = Vec::new();
                let mut found = None;
                for s in sent {
                    if s.up_seq == x {
                        found = Some(s);
                        break;
                    }
                    before.push(s);
                }
                let Some(s) = found else {
                    push(&mut chunk, msg.as_bytes(), port, None);
                    continue;
                };
                let kind = msg.message_type();
                let errno = match kind {
                    NLMSG_ERROR => Some(
                        ErrorMessage::parse(msg.payload(), msg.flags())
                            .map(|e| e.errno())
                            .unwrap_or(libc::EIO),
                    ),
                    NLMSG_DONE if s.dump => Some(
                        nlq::wire::DoneMessage::parse(msg.payload(), msg.flags())
                            .map(|d| d.error.checked_neg().unwrap_or(0).max(0))
                            .unwrap_or(0),
                    ),
                    _ => None,
                };
                // Requests sent before it that are not dumps are done.
                for b in before.iter().filter(|b| !b.dump) {
                    if hid.contains(&b.up_seq) {
                        absent(b, port, &mut chunk);
                    }
                    completed.insert(b.up_seq);
                    done.push((b.up_seq, 0));
                }
                match errno {
                    Some(e) => {
                        if kind == NLMSG_ERROR {
                            if e == 0 && hid.contains(&s.up_seq) {
                                // What the client asked about is not in
                                // its view: as in a namespace without it.
                                absent(s, port, &mut chunk);
                            } else if e == 0 && s.forced {
                                // The ACK the proxy asked for.
                            } else if let Some(orig) = &s.original {
                                reanswer(&msg, orig, port, &mut chunk);
                            } else {
                                push(&mut chunk, msg.as_bytes(), port, Some(s));
                            }
                        } else {
                            push(&mut chunk, msg.as_bytes(), port, Some(s));
                        }
                        completed.insert(s.up_seq);
                        done.push((s.up_seq, e));
                        segments.push((std::mem::take(&mut chunk), std::mem::take(&mut done)));
                    }
                    None => {
                        if !plain && message::hidden(&msg, &view, &*shared.directory) {
                            if !s.dump {
                                hid.insert(s.up_seq);
                            }
                            continue;
                        }
                        match (plain, message::rewrite(&msg, &view, Direction::Down)) {
                            (false, Some(b)) => push(&mut chunk, &b, port, Some(s)),
                            _ => push(&mut chunk, msg.as_bytes(), port, Some(s)),
                        }
                    }
                }
            }
        }
        if !chunk.is_empty() || !done.is_empty() {
            segments.push((chunk, done));
        }
        for (bytes, completions) in segments {
            if !bytes.is_empty() {
                self.to_client(0, 0, &bytes)?;
            }
            if completions.is_empty() {
                continue;
            }
            let mut p = self
                .pending
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            for (up_seq, errno) in completions {
                if let Some(Some(rec)) = p.complete(up_seq) {
                    shared.audit.write(&rec, errno);
                }
            }
            for r in p.ready_refusals() {
                self.to_client(0, 0, &r)?;
            }
            drop(p);
            self.progress.notify_all();
        }
        Ok(())
    }

    /// `bind`: a port (0 keeps the one it has; another port once bound
    /// is `EINVAL`, a port taken is `EADDRINUSE`, as on Linux) and
    /// groups 1 to 32, joined upstream.
    pub fn bind(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
        port: u32,
        groups: u32,
    ) -> io::Result<(u32, u32)> {
        let mine = self.port();
        if port != 0 && port != mine {
            if self.bound.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            shared.move_port(self.cookie, mine, port)?;
            self.port.store(port, Ordering::SeqCst);
        }
        let up = self.upstream(shared)?;
        let (up_port, _) = up.name()?;
        shared.map_port(up_port, self.port());
        let (_, groups) = up.bind(0, groups)?;
        self.bound.store(true, Ordering::SeqCst);
        Ok((self.port(), groups))
    }

    /// `getsockname`: (0, 0) until the socket is bound, as on Linux.
    pub fn name(&self) -> io::Result<(u32, u32)> {
        if !self.bound.load(Ordering::SeqCst) {
            return Ok((0, 0));
        }
        let groups = match self.opened() {
            Some(up) => up.name()?.1,
            None => 0,
        };
        Ok((self.port(), groups))
    }

    /// The upstream socket's port, if it is open.
    pub fn upstream_port(&self) -> Option<u32> {
        self.opened().and_then(|u| u.name().ok()).map(|n| n.0)
    }

    /// `setsockopt`.
    pub fn set_option(&self, level: i32, name: i32, value: u32) -> io::Result<()> {
        let (level, name) = match (level, name) {
            (SOL_NETLINK, NETLINK_LISTEN_ALL_NSID) => {
                return Err(io::Error::from_raw_os_error(libc::EPERM))
            }
            // The proxy reads groups through it: kept on upstream.
            (SOL_NETLINK, NETLINK_PKTINFO) => return Ok(()),
            (SOL_NETLINK, NETLINK_EXT_ACK) => {
                self.ext_ack.store(value != 0, Ordering::SeqCst);
                (level, name)
            }
            (SOL_NETLINK, NETLINK_CAP_ACK) => {
                self.cap_ack.store(value != 0, Ordering::SeqCst);
                (level, name)
            }
            // The proxy's privilege is not the client's: no forcing.
            (SOL_SOCKET, SO_RCVBUFFORCE) => (SOL_SOCKET, SO_RCVBUF),
            other => other,
        };
        match self.opened() {
            Some(up) => up.set_option(level, name, value),
            None => {
                if let Ok(mut e) = self.early_options.lock() {
                    e.push((level, name, value));
                }
                Ok(())
            }
        }
    }

    /// `getsockopt`.
    pub fn get_option(&self, level: i32, name: i32) -> io::Result<Vec<u8>> {
        if let Some(up) = self.opened() {
            return up.get_option(level, name);
        }
        let early = self.early_options.lock().ok().and_then(|e| {
            e.iter()
                .rev()
                .find(|o| o.0 == level && o.1 == name)
                .map(|o| o.2)
        });
        let v = match (level, name, early) {
            (_, _, Some(v)) if level == SOL_SOCKET => v.saturating_mul(2),
            (_, _, Some(v)) => v,
            (SOL_SOCKET, SO_RCVBUF, None) => crate::control::rmem_max(),
            _ => 0,
        };
        Ok(v.to_ne_bytes().to_vec())
    }

    /// The reader read with a buffer of `len` bytes.
    pub fn reader(&self, len: u32) {
        let len = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .min(nlq::server::MAX_READER_SIZE);
        self.reader_size.fetch_max(len, Ordering::SeqCst);
        if let Ok(_p) = self.pending.lock() {
            self.reader_known.store(true, Ordering::SeqCst);
        }
        self.progress.notify_all();
    }

    /// Waits until everything the client has sent is handled and
    /// answered, dumps started (or the session ends).
    pub fn sync(&self) {
        let started = Instant::now();
        let Ok(mut p) = self.pending.lock() else {
            return;
        };
        loop {
            let unread = {
                let mut one = [0u8; 1];
                let flags = sys::RecvFlags {
                    peek: true,
                    dontwait: true,
                };
                sys::recv(self.client.as_fd(), &mut one, flags).is_ok()
            };
            // A dump counts as handled once it started (its first part
            // comes as the kernel's `sendmsg` returns); whatever waits
            // behind it waits for the reader, not for the sender.
            let answered = p
                .queue
                .front()
                .is_none_or(|e| matches!(e, Entry::Forwarded(s) if s.dump));
            if p.closed || (answered && !unread && !self.busy.load(Ordering::SeqCst)) {
                return;
            }
            let left = SYNC_WAIT.saturating_sub(started.elapsed());
            if left.is_zero() {
                return;
            }
            let wait = left.min(Duration::from_millis(20));
            p = match self.progress.wait_timeout(p, wait) {
                Ok((g, _)) => g,
                Err(_) => return,
            };
        }
    }
}

/// The upstream's error for a request, answered against the client's own
/// request (without the `NLM_F_ACK` the proxy added, and with the
/// client's names and tables).
fn reanswer(err: &NlMsg<'_>, original: &[u8], port: u32, out: &mut Vec<u8>) {
    let Ok((req, _)) = NlMsg::parse(original) else {
        push(out, err.as_bytes(), port, None);
        return;
    };
    let Ok(e) = ErrorMessage::parse(err.payload(), err.flags()) else {
        push(out, err.as_bytes(), port, None);
        return;
    };
    let ack = e.ext_ack();
    let capped = err.flags() & NLM_F_CAPPED != 0;
    let mut w = nlq::wire::Writer::new(std::mem::take(out));
    let _ = nlq::wire::emit_error(&mut w, &req, e.errno(), capped, &ack, port);
    *out = w.into_inner();
}

/// Appends the error for a request whose answer the view hides:
/// `ENETUNREACH` for a route lookup (no route in the view), `ENODEV`
/// otherwise. The request's header is echoed (capped).
fn absent(s: &Sent, port: u32, out: &mut Vec<u8>) {
    let errno = if s.head.message_type == RTM_GETROUTE {
        libc::ENETUNREACH
    } else {
        libc::ENODEV
    };
    let mut m = Vec::with_capacity(36);
    m.extend_from_slice(&36u32.to_ne_bytes());
    m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
    m.extend_from_slice(&NLM_F_CAPPED.to_ne_bytes());
    m.extend_from_slice(&s.head.seq.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(&errno.wrapping_neg().to_ne_bytes());
    m.extend_from_slice(&s.head.to_bytes());
    push(out, &m, port, None);
}

/// Appends one message, addressed to `port` (`nlmsg_pid`), with the
/// client's seq when it answers the request `sent` (and, for an error,
/// the client's seq and flags in the echoed request header).
fn push(out: &mut Vec<u8>, msg: &[u8], port: u32, sent: Option<&Sent>) {
    let start = out.len();
    out.extend_from_slice(msg);
    let field = |out: &mut Vec<u8>, at: usize, b: &[u8]| {
        let at = start.saturating_add(at);
        if let Some(f) = out.get_mut(at..at.saturating_add(b.len())) {
            f.copy_from_slice(b);
        }
    };
    field(out, 12, &port.to_ne_bytes());
    if let Some(s) = sent {
        field(out, 8, &s.head.seq.to_ne_bytes());
        let kind = msg
            .get(4..6)
            .and_then(|k| k.try_into().ok())
            .map(u16::from_ne_bytes);
        if kind == Some(NLMSG_ERROR) && msg.len() >= 36 {
            // The echoed nlmsghdr starts after the 4-byte error.
            field(out, 20 + 6, &s.head.flags.to_ne_bytes());
            field(out, 20 + 8, &s.head.seq.to_ne_bytes());
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}
