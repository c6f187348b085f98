//! The event loop: one thread, one epoll instance, non-blocking
//! `SOCK_SEQPACKET` connections, one [`Server`] over the stack.
//!
//! Each turn of the loop:
//!
//! 1. waits for readiness;
//! 2. accepts new connections (within the per-user cap and the reserve
//!    kept for root; those that say no hello in time are closed), and
//!    reads at most [`Options::reads_per_turn`] datagrams and handles at
//!    most [`Options::requests_per_turn`] requests from each ready
//!    connection, what is left of a datagram waiting for the next turns
//!    (round robin: a client that floods, even with one datagram of
//!    thousands of requests, cannot starve the others), handing socket
//!    data to the server and answering control requests;
//! 3. if the stack changed and a state file is kept, appends the turn's
//!    records and syncs them (before any reply of the turn leaves, so that
//!    an acknowledged change is durable; see [`crate::state`]);
//! 4. writes what every connection has to read, as long as its socket
//!    takes it. A datagram the socket refuses (`EAGAIN`) waits, and the
//!    connection with it, for `EPOLLOUT`; meanwhile the server's own queue
//!    for it is bounded by its receive buffer (`ENOBUFS` for the reader, as
//!    on the kernel), so a client that stops reading only loses its own
//!    messages.
//!
//! # A stack that panics
//!
//! Each request is handed to the stack under [`panics::catch`]. A request
//! on which the stack (or the server) panics is answered with an
//! `NLMSG_ERROR` of [`EIO`] carrying its sequence number and port, so that
//! the client's dialog ends as for any failure; it is not recorded in the
//! state file, and the daemon serves on: the rest of the datagram, the
//! same client, the others. `EIO` because the failure is the provider's,
//! not the request's: `EINVAL` or `EOPNOTSUPP` would tell the client its
//! request is wrong, `ENOMEM` or `ENOBUFS` that it may just try again,
//! `EFAULT` that it passed a bad address; the kernel answers `EIO` when a
//! driver fails an operation it accepted. A control request (a netdevice
//! ioctl, `getifaddrs`...) is answered `EIO` the same way; a dump that
//! panics after its first datagram costs its client the connection (its
//! answer has begun, nothing else can end it cleanly).
//!
//! The panic may have left the stack half-changed (what
//! `AssertUnwindSafe` around the call asserts is only that the daemon
//! deals with that, below). With a state file, the stack is rebuilt as the
//! turn acknowledged it, from the file and the turn's records, as a
//! restart would rebuild it (see [`StateFile::restore_acknowledged`]), so
//! that the state served is the one restored later; as the cut-short
//! change may have been notified, every subscriber gets `ENOBUFS` after
//! what is queued for it (as a reader that lost messages: it reads the
//! stack again). Without a state file nothing can rebuild the stack: it
//! is served as the panic left it. The panic is logged once, on standard
//! error, with the request and what was done (see [`crate::panics`]: the
//! process's panic hook does not print it as a crash).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::panic::AssertUnwindSafe;

use crate::panics::{self, Caught};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nlq::errno::{Errno, ENOBUFS};
use nlq::server::{ConnId, Delivery, Server, DEFAULT_RCVBUF};
use nlq::stack::Stack;
use nlq::wire::consts::SOL_SOCKET;
use nlq::wire::Messages;
use nlq_remote::{self as remote, DataHeader, Hello, Request, Role, Welcome};

use crate::control::{rmem_max, Sockets};
use crate::state::{Guarded, Persist, Restored, StateFile};
use crate::sys::{self, Epoll, Interest, Ready};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep the configuration in this file (see [`crate::state`]): read at
    /// start, every change appended before it is acknowledged. Needs
    /// [`Daemon::bind_with_state`].
    pub state: Option<PathBuf>,
    /// The most datagrams read from one connection per turn of the loop.
    pub reads_per_turn: usize,
    /// The most requests handled for one connection per turn of the loop
    /// (the rest of a datagram waits for the next turns): a client
    /// sending thousands of requests per datagram cannot hold the others.
    pub requests_per_turn: usize,
    /// The send and receive buffers asked for each accepted socket.
    pub socket_buffer: usize,
    /// Print connections and errors on standard error.
    pub verbose: bool,
    /// A connection that has not said hello by then is closed.
    pub hello_timeout: Duration,
    /// The most connections one user other than root may hold.
    pub max_connections_per_user: usize,
    /// The most connections in all: by default what the descriptor limit
    /// (`RLIMIT_NOFILE`, read at bind) leaves, less 32 for the daemon's
    /// own files.
    pub max_connections: Option<usize>,
    /// The daemon's own user may change the stack even without
    /// `CAP_NET_ADMIN` (anyone else needs it, see [`crate::caps`]). Root
    /// is always judged by its capabilities, as the kernel judges it.
    pub owner_may_change: bool,
    /// Connections that only root may take, out of
    /// [`max_connections`](Options::max_connections): whoever fills the
    /// rest, root is still served.
    pub root_reserve: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            state: None,
            reads_per_turn: 16,
            requests_per_turn: 64,
            socket_buffer: 4 << 20,
            verbose: false,
            hello_timeout: Duration::from_secs(10),
            max_connections_per_user: 1024,
            max_connections: None,
            root_reserve: 64,
            owner_may_change: true,
        }
    }
}

/// The token of the listening socket; connections get their slot + 1.
const LISTENER: u64 = 0;

/// How long a turn waits at most, so that a stop flag is seen.
const TICK: Duration = Duration::from_millis(100);

/// A datagram for a socket connection: the header and the messages.
#[derive(Debug)]
struct Out {
    header: [u8; remote::DATA_HEADER_LEN],
    bytes: Bytes,
}

#[derive(Debug)]
enum Kind {
    /// Accepted; its hello has not come yet.
    Hello,
    /// A netlink socket.
    Socket {
        cookie: u64,
        conn: ConnId,
        /// A datagram the socket refused for lack of room.
        pending: Option<Out>,
        /// Errors for the reader (`EMSGSIZE` for a datagram too large),
        /// each after the datagrams that were queued for it when it came:
        /// (errno, datagrams of the server's queue still ahead of it).
        errors: VecDeque<(i32, usize)>,
    },
    /// Control requests.
    Control {
        /// Replies not yet sent.
        replies: VecDeque<Vec<u8>>,
    },
}

#[derive(Debug)]
struct Conn {
    fd: OwnedFd,
    kind: Kind,
    /// The peer may change the stack (`CAP_NET_ADMIN`, or the daemon's own
    /// user).
    allowed: bool,
    /// The peer's user id (`u32::MAX` if unknown; route lookups report
    /// it).
    uid: u32,
    /// When it was accepted.
    since: Instant,
    /// The peer's process id (0 if unknown): a socket connection's port,
    /// as the kernel's autobind gives it.
    pid: u32,
    /// The peer's group id (`u32::MAX` if unknown).
    gid: u32,
    /// Waiting for room to write (registered for `EPOLLOUT`).
    blocked: bool,
    /// Registered for input (a control connection with replies waiting
    /// is not read).
    reading: bool,
    /// What is left of a datagram whose requests did not all fit in a
    /// turn (a socket connection's).
    backlog: Vec<u8>,
    /// What the epoll instance watches it for now.
    registered: Interest,
}

impl Conn {
    /// Tells epoll what the connection waits for now, if that changed.
    fn update_interest(&mut self, epoll: &Epoll, slot: usize) {
        let want = Interest {
            read: self.reading,
            write: self.blocked,
        };
        if want != self.registered && epoll.modify(self.fd.as_fd(), token_of(slot), want).is_ok() {
            self.registered = want;
        }
    }
}

/// A daemon serving one stack on a unix socket. See the [module](self).
#[derive(Debug)]
pub struct Daemon<S: Stack> {
    path: PathBuf,
    listener: OwnedFd,
    _file: SocketFile,
    listening: bool,
    epoll: Epoll,
    server: Server<Guarded<S>>,
    sockets: Sockets,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    closed: Vec<usize>,
    ready: Vec<Ready>,
    rx: Vec<u8>,
    euid: u32,
    random: std::fs::File,
    state: Option<StateFile<S>>,
    /// Connections per user id (root's too).
    per_user: HashMap<u32, usize>,
    /// Connections waiting for their hello, in the order they came.
    hellos: VecDeque<(usize, Instant)>,
    max_connections: usize,
    /// Slots of the connections with a backlog of requests.
    backlogged: Vec<usize>,
    /// Slots of the connections whose requests changed the stack this
    /// turn.
    changed: Vec<usize>,
    /// Control connections waiting for the answer to a `Sync` or a
    /// `SendTo` (its errno, if it failed), given once the turn's replies
    /// are written.
    synced: Vec<(usize, Option<Errno>)>,
    /// The turn's changes were undone (a panic left the stack in a state
    /// its records cannot rebuild): handled as a failed commit.
    turn_undone: bool,
    options: Options,
}

impl<S: Stack> Daemon<S> {
    /// Binds the socket at `path` (made connectable by every user, who get
    /// `EPERM` for changes unless they have `CAP_NET_ADMIN` or are the
    /// daemon's user, see [`Options::owner_may_change`]) and returns the
    /// daemon, ready to [`run`](Daemon::run_until).
    ///
    /// A stale socket file (nothing listening) is replaced; a live one is
    /// `AddrInUse`. A state file needs [`Daemon::bind_with_state`]: here
    /// it is `InvalidInput`.
    pub fn bind(path: impl AsRef<Path>, stack: S, options: Options) -> io::Result<Self> {
        if let Some(file) = &options.state {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "state file {}: this stack cannot be kept in a state file \
                     (Daemon::bind_with_state takes stacks that implement Persist)",
                    file.display()
                ),
            ));
        }
        Self::bind_server(
            path.as_ref(),
            Server::new(Guarded::new(stack)),
            None,
            options,
        )
    }

    fn bind_server(
        path: &Path,
        server: Server<Guarded<S>>,
        state: Option<StateFile<S>>,
        options: Options,
    ) -> io::Result<Self> {
        panics::install_hook();
        let path = path.to_path_buf();
        remove_stale_socket(&path)?;
        // Connectable by every user; the mode is set without following
        // the path.
        let listener = sys::listen_seqpacket_mode(&path, 1024, Some(0o666))?;
        let file = SocketFile(path.clone());
        let epoll = Epoll::new(256)?;
        epoll.add(
            listener.as_fd(),
            LISTENER,
            Interest {
                read: true,
                write: false,
            },
        )?;
        Ok(Daemon {
            _file: file,
            path,
            listener,
            listening: true,
            epoll,
            server,
            sockets: Sockets::new(rmem_max()),
            conns: Vec::new(),
            free: Vec::new(),
            closed: Vec::new(),
            ready: Vec::new(),
            rx: vec![0; remote::MAX_REQUEST.saturating_add(1)],
            euid: sys::geteuid(),
            random: std::fs::File::open("/dev/urandom")?,
            state,
            per_user: HashMap::new(),
            hellos: VecDeque::new(),
            max_connections: options
                .max_connections
                .unwrap_or_else(|| sys::nofile_limit().saturating_sub(32)),
            changed: Vec::new(),
            synced: Vec::new(),
            backlogged: Vec::new(),
            turn_undone: false,
            options,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stack.
    pub fn stack(&self) -> &S {
        self.server.stack().inner()
    }

    /// The number of open connections (sockets, control, and those whose
    /// hello has not come).
    pub fn connections(&self) -> usize {
        self.conns.iter().flatten().count()
    }

    /// Runs until `stop` is set (seen within 100 ms).
    pub fn run_until(&mut self, stop: &AtomicBool) -> io::Result<()> {
        while !stop.load(Ordering::SeqCst) {
            self.turn(Some(TICK))?;
        }
        Ok(())
    }

    /// One turn of the loop, waiting at most `timeout` for something to
    /// happen (`None`: until something does).
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        // Requests left from the last turn do not wait for an event.
        let backlogged = std::mem::take(&mut self.backlogged);
        let timeout = if backlogged.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        self.epoll.wait(&mut ready, timeout)?;
        if !self.listening {
            // Descriptors ran out; try again now and then.
            self.set_listening(true);
        }
        for r in &ready {
            if r.token == LISTENER {
                self.accept_all();
                continue;
            }
            let Some(slot) = usize::try_from(r.token.saturating_sub(1)).ok() else {
                continue;
            };
            if r.writable {
                self.unblock(slot);
            }
            if r.readable {
                self.read(slot, r.hangup);
            } else if r.hangup {
                self.close(slot);
            }
        }
        for slot in backlogged {
            let read_already = ready
                .iter()
                .any(|r| r.token == token_of(slot) && r.readable);
            if !read_already {
                self.read(slot, false);
            }
        }
        self.ready = ready;
        self.expire_hellos();
        self.commit();
        self.flush_all();
        self.answer_syncs();
        self.free.append(&mut self.closed);
        Ok(())
    }

    /// `Sync` from a control connection: everything the socket connection
    /// `cookie` has sent is handled now, whatever the turn's budget (the
    /// sender waits, as in the kernel's `sendmsg`); the answer leaves after
    /// the replies ([`Daemon::answer_syncs`]).
    fn sync(&mut self, control: usize, cookie: u64) {
        if let Some((slot, _)) = self.socket_of(cookie) {
            self.catch_up(slot);
        }
        self.answer_after_turn(control, None);
    }

    /// The slot and server connection of the socket connection `cookie`.
    fn socket_of(&self, cookie: u64) -> Option<(usize, ConnId)> {
        self.conns.iter().enumerate().find_map(|(slot, c)| match c {
            Some(Conn {
                kind: Kind::Socket {
                    cookie: k, conn, ..
                },
                ..
            }) if *k == cookie => Some((slot, *conn)),
            _ => None,
        })
    }

    /// Handles everything the socket connection in `slot` has sent,
    /// whatever the turn's budget.
    fn catch_up(&mut self, slot: usize) {
        let (reads, requests) = (self.options.reads_per_turn, self.options.requests_per_turn);
        self.options.reads_per_turn = usize::MAX;
        self.options.requests_per_turn = usize::MAX;
        self.read(slot, false);
        self.options.reads_per_turn = reads;
        self.options.requests_per_turn = requests;
    }

    /// The control connection in `control` is answered (`error`: the
    /// errno, if any) once the turn's replies are written; it is not read
    /// until then.
    fn answer_after_turn(&mut self, control: usize, error: Option<Errno>) {
        if let Some(c) = self.conns.get_mut(control).and_then(Option::as_mut) {
            // One reply waits at a time.
            c.reading = false;
            c.update_interest(&self.epoll, control);
        }
        self.synced.push((control, error));
    }

    /// `SendTo` from a control connection: the socket connection
    /// `cookie` sends `datagram` to a port or groups, after everything it
    /// sent before (see `Server::send_to`). What goes to the kernel is
    /// handled and recorded as the connection's own requests.
    fn send_to(&mut self, control: usize, cookie: u64, port: u32, groups: u32, datagram: &[u8]) {
        let result = match self.socket_of(cookie) {
            None => Err(Errno::EBADF),
            Some((slot, conn)) => {
                // Catching up may close the connection: looked up again.
                self.catch_up(slot);
                match self.socket_of(cookie) {
                    None => Err(Errno::EBADF),
                    Some(_) => self
                        .server
                        .send_to(conn, port, groups, datagram)
                        .map(|delivery| {
                            if delivery == Delivery::ToKernel {
                                let mut budget = usize::MAX;
                                self.socket_requests(slot, conn, datagram, &mut budget);
                            }
                        }),
                }
            }
        };
        self.answer_after_turn(control, result.err());
    }

    /// Answers the turn's `Sync` requests, after every reply of the turn
    /// was written.
    fn answer_syncs(&mut self) {
        let synced = std::mem::take(&mut self.synced);
        for &(slot, error) in &synced {
            if let Some(Kind::Control { replies }) = self
                .conns
                .get_mut(slot)
                .and_then(Option::as_mut)
                .map(|c| &mut c.kind)
            {
                let mut reply = Vec::new();
                remote::emit_reply(&mut reply, error.map_or(Ok(&[]), Err));
                replies.push_back(reply);
            }
            self.flush(slot);
        }
        self.synced = synced;
        self.synced.clear();
    }

    /// Makes the turn's changes durable. If that fails, the stack is
    /// back to what the file holds, and the connections that would hear
    /// of the undone changes (their senders, and subscribers) are closed
    /// before anything of the turn is sent.
    fn commit(&mut self) {
        let mut changed = std::mem::take(&mut self.changed);
        let undone = std::mem::take(&mut self.turn_undone);
        let failed = undone
            || match &mut self.state {
                Some(st) => match st.commit(&mut self.server) {
                    Ok(()) => false,
                    Err(e) => {
                        eprintln!("nlq: {e}; the turn's changes are undone");
                        true
                    }
                },
                None => false,
            };
        if failed {
            for slot in 0..self.conns.len() {
                let subscriber = matches!(
                    self.conns.get(slot).and_then(Option::as_ref).map(|c| &c.kind),
                    Some(Kind::Socket { conn, .. }) if self.server.groups(*conn) != 0
                );
                if subscriber || changed.contains(&slot) {
                    self.close(slot);
                }
            }
        }
        changed.clear();
        self.changed = changed;
    }

    fn set_listening(&mut self, on: bool) {
        let r = self.epoll.modify(
            self.listener.as_fd(),
            LISTENER,
            Interest {
                read: on,
                write: false,
            },
        );
        if r.is_ok() {
            self.listening = on;
        }
    }

    fn accept_all(&mut self) {
        // Bounded, so that a storm of connections cannot hold the loop.
        for _ in 0..64 {
            match sys::accept(self.listener.as_fd()) {
                Ok(fd) => self.add_conn(fd),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: stop listening for a tick rather
                    // than spin on a connection that cannot be taken.
                    if self.options.verbose {
                        eprintln!("nlq: accept: {e}");
                    }
                    self.set_listening(false);
                    return;
                }
            }
        }
    }

    fn add_conn(&mut self, fd: OwnedFd) {
        let (allowed, pid, uid, gid) = match sys::peer_cred(fd.as_fd()) {
            Ok(c) => (
                (self.options.owner_may_change && c.uid == self.euid && c.uid != 0)
                    || crate::caps::peer_has_net_admin(fd.as_fd(), c.pid, c.uid),
                u32::try_from(c.pid).unwrap_or(0),
                c.uid,
                c.gid,
            ),
            Err(_) => (false, 0, u32::MAX, u32::MAX),
        };
        let total = self.connections();
        let mine = self.per_user.get(&uid).copied().unwrap_or(0);
        let over = uid != 0
            && (mine >= self.options.max_connections_per_user
                || total.saturating_add(self.options.root_reserve) >= self.max_connections);
        if over || total >= self.max_connections {
            // Refused: the peer sees the connection closed.
            if self.options.verbose {
                eprintln!("nlq: connection of uid {uid} refused ({mine} held, {total} in all)");
            }
            return;
        }
        sys::grow_buffers(fd.as_fd(), self.options.socket_buffer);
        let slot = self.free.pop().unwrap_or(self.conns.len());
        let token = u64::try_from(slot).unwrap_or(u64::MAX).saturating_add(1);
        let interest = Interest {
            read: true,
            write: false,
        };
        if self.epoll.add(fd.as_fd(), token, interest).is_err() {
            return;
        }
        let since = Instant::now();
        let conn = Conn {
            fd,
            kind: Kind::Hello,
            allowed,
            uid,
            since,
            pid,
            gid,
            blocked: false,
            reading: true,
            backlog: Vec::new(),
            registered: interest,
        };
        if slot == self.conns.len() {
            self.conns.push(Some(conn));
        } else if let Some(s) = self.conns.get_mut(slot) {
            *s = Some(conn);
        }
        let held = self.per_user.entry(uid).or_insert(0);
        *held = held.saturating_add(1);
        self.hellos.push_back((slot, since));
    }

    /// Closes the connections that did not say hello in time.
    fn expire_hellos(&mut self) {
        let now = Instant::now();
        while let Some(&(slot, since)) = self.hellos.front() {
            if now.saturating_duration_since(since) < self.options.hello_timeout {
                return;
            }
            self.hellos.pop_front();
            let waiting = self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|c| matches!(c.kind, Kind::Hello) && c.since == since);
            if waiting {
                if self.options.verbose {
                    eprintln!("nlq: a connection said no hello in time");
                }
                self.close(slot);
            }
        }
    }

    /// Reads up to `reads_per_turn` datagrams from the connection.
    /// Reads up to `reads_per_turn` datagrams from the connection, and
    /// handles up to `requests_per_turn` requests (what is left of a
    /// datagram first).
    fn read(&mut self, slot: usize, hangup: bool) {
        let mut budget = self.options.requests_per_turn.max(1);
        if !self.drain_backlog(slot, &mut budget) {
            return;
        }
        for _ in 0..self.options.reads_per_turn.max(1) {
            if budget == 0 {
                return;
            }
            let Some(c) = self.conns.get(slot).and_then(Option::as_ref) else {
                return;
            };
            if !c.reading {
                return;
            }
            let flags = sys::RecvFlags {
                peek: false,
                dontwait: true,
            };
            // The buffer is taken while a datagram is handled; a read
            // nested in that (a control connection's `Sync` catching its
            // socket connection up) gets one of its own.
            let mut data = std::mem::take(&mut self.rx);
            if data.is_empty() {
                data = vec![0; remote::MAX_REQUEST.saturating_add(1)];
            }
            let n = match sys::recv(c.fd.as_fd(), &mut data, flags) {
                Ok(n) => n,
                Err(e) => {
                    self.rx = data;
                    if e.kind() != io::ErrorKind::WouldBlock {
                        self.close(slot);
                    }
                    return;
                }
            };
            if n == 0 && hangup {
                // The end of the connection (an empty datagram comes
                // without the hang-up).
                self.rx = data;
                self.close(slot);
                return;
            }
            if n > remote::MAX_REQUEST {
                // Larger than any netlink socket takes: not handled, as
                // the kernel refuses it; the sender's next read fails with
                // EMSGSIZE rather than wait for an answer that never comes.
                self.rx = data;
                self.refuse_oversize(slot);
                continue;
            }
            let datagram = data.get(..n).unwrap_or_default();
            let used = self.datagram(slot, datagram, &mut budget);
            if let Some(rest) = datagram.get(used..).filter(|r| !r.is_empty()) {
                if let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                    c.backlog.extend_from_slice(rest);
                    self.backlogged.push(slot);
                }
                self.rx = data;
                return;
            }
            self.rx = data;
        }
    }

    /// Handles what is left of the connection's last datagram, within
    /// `budget`; true when nothing is left.
    fn drain_backlog(&mut self, slot: usize, budget: &mut usize) -> bool {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return false;
        };
        if c.backlog.is_empty() {
            return true;
        }
        let Kind::Socket { conn, .. } = c.kind else {
            c.backlog.clear();
            return true;
        };
        let backlog = std::mem::take(&mut c.backlog);
        let used = self.socket_requests(slot, conn, &backlog, budget);
        match backlog.get(used..).filter(|r| !r.is_empty()) {
            Some(rest) => {
                if let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                    c.backlog = rest.to_vec();
                    self.backlogged.push(slot);
                }
                false
            }
            None => true,
        }
    }

    /// Answers a datagram too large to handle: `EMSGSIZE` for a socket
    /// connection's reader, the end for any other connection.
    fn refuse_oversize(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        match &mut c.kind {
            Kind::Socket { errors, conn, .. } => {
                errors.push_back((libc::EMSGSIZE, self.server.queued_datagrams(*conn)));
            }
            _ => self.close(slot),
        }
    }

    /// Handles one datagram from the connection in `slot`, spending
    /// `budget` (a request each); returns the bytes handled (the rest
    /// waits for the next turn).
    fn datagram(&mut self, slot: usize, data: &[u8], budget: &mut usize) -> usize {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return data.len();
        };
        if let Kind::Socket { conn, .. } = &c.kind {
            let conn = *conn;
            return self.socket_requests(slot, conn, data, budget);
        }
        *budget = budget.saturating_sub(1);
        // The control requests the loop answers itself (it needs the
        // connections), parsed once.
        if matches!(c.kind, Kind::Control { .. }) {
            match Request::parse_with_payload(data) {
                Ok((Request::Sync { cookie }, _)) => {
                    self.sync(slot, cookie);
                    return data.len();
                }
                Ok((
                    Request::SendTo {
                        cookie,
                        port,
                        groups,
                    },
                    datagram,
                )) => {
                    self.send_to(slot, cookie, port, groups, datagram);
                    return data.len();
                }
                _ => {}
            }
        }
        match &mut c.kind {
            Kind::Hello => match Hello::parse(data) {
                Ok(Hello { role: Role::Socket }) => {
                    self.open_socket(slot);
                }
                Ok(Hello {
                    role: Role::Control,
                }) => {
                    c.kind = Kind::Control {
                        replies: VecDeque::new(),
                    };
                }
                Err(_) => {
                    self.close(slot);
                }
            },
            Kind::Socket { .. } => {}
            Kind::Control { replies } => {
                let mut out = Vec::new();
                // A change here (a netdevice ioctl) is kept as a new
                // snapshot: refused with the errno of why it could not be.
                if let Some(st) = &mut self.state {
                    let refusal = st.prepare_snapshot().err();
                    self.server.stack_mut().refuse(refusal);
                }
                let (sockets, server, allowed) = (&mut self.sockets, &mut self.server, c.allowed);
                // Unwind safety: see the module's doc (`after_stack_panic`).
                let handled = panics::catch(AssertUnwindSafe(|| {
                    sockets.handle(server, allowed, data, &mut out);
                }));
                self.server.stack_mut().refuse(None);
                let changed = !self.server.stack_mut().take_outcomes().is_empty();
                let panicked = handled.err();
                if panicked.is_some() {
                    out.clear();
                    remote::emit_reply(&mut out, Err(Errno::EIO));
                } else if changed {
                    if let Some(st) = &mut self.state {
                        st.record_snapshot();
                    }
                    self.changed.push(slot);
                }
                replies.push_back(out);
                // One reply waits at a time: read the next request once it
                // is sent.
                c.reading = false;
                c.update_interest(&self.epoll, slot);
                if let Ok(Request::SetOption {
                    cookie,
                    level: SOL_SOCKET,
                    ..
                }) = Request::parse(data)
                {
                    self.size_send_buffer(cookie);
                }
                if let Some(caught) = panicked {
                    let what = match Request::parse(data) {
                        Ok(r) => format!("a control request ({r:?})"),
                        Err(_) => "a control request".to_string(),
                    };
                    self.after_stack_panic(&what, changed, &caught);
                }
            }
        }
        data.len()
    }

    /// Deals with what a panic of the stack on a request (`what` names
    /// it; `changed`: a change method had returned before it) may have
    /// left, once the request is answered `EIO`: see the
    /// [module](self)'s doc. Logs it in one line.
    fn after_stack_panic(&mut self, what: &str, changed: bool, caught: &Caught) {
        let interrupted = self.server.stack_mut().take_interrupted();
        let aftermath = if !interrupted && !changed {
            "the stack was not changed".to_string()
        } else if let Some(st) = &mut self.state {
            let server = &mut self.server;
            // Unwind safety: rebuilding replays requests that were
            // handled before; if that panics, the stack stays as it is.
            match panics::catch(AssertUnwindSafe(|| st.restore_acknowledged(server))) {
                Ok(Ok(Restored::Acknowledged)) => {
                    self.tell_subscribers_to_resync();
                    "the stack is rebuilt as acknowledged; subscribers get ENOBUFS".to_string()
                }
                Ok(Ok(Restored::TurnUndone)) => {
                    self.turn_undone = true;
                    "the turn's changes are undone (a snapshot was due); its changers and \
                     subscribers are closed"
                        .to_string()
                }
                Ok(Err(e)) => format!("the stack may be half-changed ({e})"),
                Err(again) => {
                    format!("the stack may be half-changed (rebuilding it panicked: {again})")
                }
            }
        } else if interrupted {
            "the stack may be half-changed (no state file to rebuild it from)".to_string()
        } else {
            "its change was made".to_string()
        };
        caught.log(&format!(
            "nlq: the stack panicked on {what}: {caught}; answered EIO; {aftermath}"
        ));
    }

    /// Every socket connection in a group gets `ENOBUFS` after what is
    /// queued for it, as a reader that lost messages does: it must read
    /// the stack again.
    fn tell_subscribers_to_resync(&mut self) {
        for c in self.conns.iter_mut().flatten() {
            if let Kind::Socket { conn, errors, .. } = &mut c.kind {
                if self.server.groups(*conn) != 0 {
                    errors.push_back((ENOBUFS, self.server.queued_datagrams(*conn)));
                }
            }
        }
    }

    /// Hands a socket connection's requests to the server, one at a time
    /// and at most `budget` of them; returns the bytes handled. With a
    /// state file, room for the records of the changes is made first (or
    /// they are refused with the errno of why not), and each request that
    /// changed the stack is recorded.
    fn socket_requests(
        &mut self,
        slot: usize,
        conn: ConnId,
        data: &[u8],
        budget: &mut usize,
    ) -> usize {
        if let Some(st) = &mut self.state {
            let mut room = 0usize;
            for m in Messages::new(data).flatten() {
                if is_change(m.message_type()) {
                    room = room
                        .saturating_add(m.as_bytes().len())
                        .saturating_add(crate::state::RECORD_OVERHEAD + 16);
                }
            }
            let refusal = if room > 0 {
                st.prepare(room).err()
            } else {
                None
            };
            self.server.stack_mut().refuse(refusal);
        }
        let mut it = Messages::new(data);
        while *budget > 0 {
            // The end, or a message that does not frame: what follows
            // is dropped, as the kernel does.
            let Some(Ok(m)) = it.next() else {
                self.server.stack_mut().refuse(None);
                return data.len();
            };
            *budget = budget.saturating_sub(1);
            let server = &mut self.server;
            // Unwind safety: see the module's doc (`after_stack_panic`).
            let handled = panics::catch(AssertUnwindSafe(|| {
                server.handle_datagram(conn, m.as_bytes());
            }));
            let outcomes = self.server.stack_mut().take_outcomes();
            if let Err(caught) = handled {
                // Answered, not recorded (replaying it would panic again).
                self.server.answer_unhandled(conn, m.as_bytes(), Errno::EIO);
                let what = format!(
                    "{} from port {}",
                    crate::decode::describe(&m),
                    self.server.port(conn)
                );
                self.after_stack_panic(&what, !outcomes.is_empty(), &caught);
                continue;
            }
            if !outcomes.is_empty() {
                if let Some(st) = &mut self.state {
                    st.record(m.as_bytes(), &outcomes);
                }
                if !self.changed.contains(&slot) {
                    self.changed.push(slot);
                }
            }
        }
        self.server.stack_mut().refuse(None);
        let rest = it.remaining();
        if Messages::new(rest).next().is_none() {
            // Only padding is left.
            return data.len();
        }
        data.len().saturating_sub(rest.len())
    }

    /// A hello for a socket connection: a server connection, a cookie, the
    /// welcome.
    fn open_socket(&mut self, slot: usize) {
        let cookie = self.new_cookie();
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let conn = self.server.connect_as(c.pid);
        self.server.set_admin(conn, c.allowed);
        self.server.set_credentials(conn, c.pid, c.uid, c.gid);
        // What the daemon's end may hold for this reader: its receive
        // buffer (the kernel's default until it sets one), less for a peer
        // without rights (see `socket_buffer_for`).
        sys::set_send_buffer(c.fd.as_fd(), socket_buffer_for(c.allowed, DEFAULT_RCVBUF));
        let welcome = Welcome {
            port: self.server.port(conn),
            cookie,
        };
        // A fresh socket has room for twelve bytes; if not, the client is
        // gone.
        if sys::send(c.fd.as_fd(), &welcome.to_bytes(), true).is_err() {
            self.server.disconnect(conn);
            self.close(slot);
            return;
        }
        c.kind = Kind::Socket {
            cookie,
            conn,
            pending: None,
            errors: VecDeque::new(),
        };
        self.sockets.insert(cookie, conn);
        if self.options.verbose {
            eprintln!("nlq: socket {} (port {})", cookie, welcome.port);
        }
    }

    /// Sizes the daemon's end of a socket connection to the receive
    /// buffer its reader set, so that a reader that stops reading gets
    /// `ENOBUFS` after about what the kernel would queue. For a peer
    /// without the right to change the stack the socket holds at most
    /// [`UNPRIVILEGED_SOCKET_BUFFER`]: what waits for it is counted once,
    /// in the server's queue.
    fn size_send_buffer(&mut self, cookie: u64) {
        let Some(conn) = self.sockets.get(cookie) else {
            return;
        };
        for c in self.conns.iter().flatten() {
            if matches!(c.kind, Kind::Socket { cookie: k, .. } if k == cookie) {
                let bytes = self.server.rcvbuf(conn);
                sys::set_send_buffer(c.fd.as_fd(), socket_buffer_for(c.allowed, bytes));
                return;
            }
        }
    }

    /// An unguessable cookie no connection has (never 0).
    fn new_cookie(&mut self) -> u64 {
        let mut b = [0u8; 8];
        loop {
            if self.random.read_exact(&mut b).is_err() {
                // /dev/urandom does not fail; if it did, mix the clock in
                // rather than stop serving.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                b = (u64::from_ne_bytes(b) ^ t ^ 0x9e37_79b9_7f4a_7c15).to_ne_bytes();
            }
            let c = u64::from_ne_bytes(b);
            if c != 0 && !self.sockets.contains(c) {
                return c;
            }
        }
    }

    /// Room to write came back.
    fn unblock(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        c.blocked = false;
        c.update_interest(&self.epoll, slot);
    }

    /// Writes what every connection has to read.
    fn flush_all(&mut self) {
        for slot in 0..self.conns.len() {
            self.flush(slot);
        }
    }

    fn flush(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if c.blocked {
            return;
        }
        let result = match &mut c.kind {
            Kind::Hello => Ok(()),
            Kind::Socket {
                conn,
                pending,
                errors,
                ..
            } => {
                let reader_max = self.server.reader_size(*conn);
                flush_socket(&c.fd, &mut self.server, *conn, reader_max, pending, errors)
            }
            Kind::Control { replies } => {
                let r = flush_control(&c.fd, replies);
                if r.is_ok() && replies.is_empty() && !c.reading {
                    c.reading = true;
                }
                r
            }
        };
        match result {
            Ok(()) => c.update_interest(&self.epoll, slot),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.blocked = true;
                c.update_interest(&self.epoll, slot);
            }
            Err(_) => self.close(slot),
        }
    }

    /// Closes the connection in `slot` (its slot is reused after this
    /// turn, so that events already read for it find nothing).
    fn close(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let _ = self.epoll.delete(c.fd.as_fd());
        if let Some(n) = self.per_user.get_mut(&c.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_user.remove(&c.uid);
            }
        }
        if let Kind::Socket { cookie, conn, .. } = c.kind {
            self.server.disconnect(conn);
            self.sockets.remove(cookie);
            if self.options.verbose {
                eprintln!("nlq: socket {cookie} closed");
            }
        }
        self.closed.push(slot);
        if !self.listening {
            self.set_listening(true);
        }
    }

    /// Stops serving (the socket file goes) and returns the stack.
    pub fn into_stack(self) -> S {
        self.server.into_stack().into_inner()
    }
}

impl<S: Persist> Daemon<S> {
    /// [`Daemon::bind`], keeping the stack in the state file the options
    /// name, if any (see [`crate::state`]): an existing file replaces
    /// `stack` with the state it holds. The daemon refuses to start when
    /// the file cannot be trusted, read back, or written, or when another
    /// daemon keeps it.
    pub fn bind_with_state(path: impl AsRef<Path>, stack: S, options: Options) -> io::Result<Self> {
        let mut server = Server::new(Guarded::new(stack));
        // The state first: a bad file must not leave a socket behind.
        let state = match &options.state {
            Some(file) => Some(StateFile::open(file, &mut server)?),
            None => None,
        };
        Self::bind_server(path.as_ref(), server, state, options)
    }
}

/// The most the daemon's end of an unprivileged peer's socket connection
/// holds (the rest waits in the server's queue, bounded by the reader's
/// receive buffer).
pub const UNPRIVILEGED_SOCKET_BUFFER: usize = 64 << 10;

/// The send buffer of the daemon's end of a socket connection whose reader
/// has a receive buffer of `rcvbuf` bytes.
fn socket_buffer_for(allowed: bool, rcvbuf: usize) -> usize {
    if allowed {
        rcvbuf
    } else {
        rcvbuf.min(UNPRIVILEGED_SOCKET_BUFFER)
    }
}

/// True for a request type that may change the stack (not a GET).
fn is_change(kind: u16) -> bool {
    kind >= nlq::wire::consts::RTM_NEWLINK && kind & 3 != 2
}

/// Removes the socket file when the daemon goes.
#[derive(Debug)]
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn token_of(slot: usize) -> u64 {
    u64::try_from(slot).unwrap_or(u64::MAX).saturating_add(1)
}

/// Sends the server's datagrams for `conn` while the socket takes them.
/// `WouldBlock`: one waits in `pending`.
fn flush_socket<S: Stack>(
    fd: &OwnedFd,
    server: &mut Server<S>,
    conn: ConnId,
    reader_max: usize,
    pending: &mut Option<Out>,
    errors: &mut VecDeque<(i32, usize)>,
) -> io::Result<()> {
    loop {
        let error_due = errors.front().is_some_and(|(_, ahead)| *ahead == 0);
        let out = match pending.take() {
            Some(o) => o,
            None if error_due => match errors.pop_front() {
                Some((errno, _)) => error_out(Errno(errno)),
                None => continue,
            },
            None => {
                // Unwind safety: a dump only reads the stack; the
                // connection whose dump it was is closed.
                let next =
                    panics::catch(AssertUnwindSafe(|| server.next_datagram(conn, reader_max)))
                        .map_err(|caught| {
                            caught.log(&format!(
                                "nlq: the stack panicked in a dump for port {}: {caught}; \
                             its connection is closed",
                                server.port(conn)
                            ));
                            io::Error::other("the stack panicked in a dump")
                        })?;
                match next {
                    Ok(None) => return Ok(()),
                    Ok(Some(d)) => {
                        for (_, ahead) in errors.iter_mut() {
                            *ahead = ahead.saturating_sub(1);
                        }
                        Out {
                            header: DataHeader::data(d.group, d.sender).to_bytes(),
                            bytes: d.bytes,
                        }
                    }
                    Err(errno) => error_out(errno),
                }
            }
        };
        match sys::send2(fd.as_fd(), &out.header, &out.bytes) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *pending = Some(out);
                return Err(e);
            }
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                // Larger than the socket can ever take: lost, as a datagram
                // the reader had no room for.
                *pending = Some(error_out(Errno::ENOBUFS));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A datagram that makes the reader's `recv` fail with `errno`.
fn error_out(errno: Errno) -> Out {
    Out {
        header: DataHeader::failure(errno).to_bytes(),
        bytes: Bytes::new(),
    }
}

/// Sends the control replies while the socket takes them.
fn flush_control(fd: &OwnedFd, replies: &mut VecDeque<Vec<u8>>) -> io::Result<()> {
    while let Some(r) = replies.front() {
        sys::send(fd.as_fd(), r, true)?;
        replies.pop_front();
    }
    Ok(())
}

/// Removes a socket file nothing listens on; `AddrInUse` if a daemon
/// answers there, `AlreadyExists` if the path is not a socket.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match sys::connect_seqpacket(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a daemon is serving on {} already", path.display()),
        )),
        Err(_) => std::fs::remove_file(path),
    }
}

/// A daemon running on its own thread; dropping it stops the daemon and
/// removes its socket.
#[derive(Debug)]
pub struct DaemonHandle<S: Stack + Send + 'static> {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<Daemon<S>>>>,
}

impl<S: Stack + Send + 'static> Daemon<S> {
    /// Runs the daemon on a new thread.
    pub fn spawn(mut self) -> io::Result<DaemonHandle<S>> {
        let stop = Arc::new(AtomicBool::new(false));
        let path = self.path.clone();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("nlq-daemon".into())
            .spawn(move || {
                self.run_until(&flag)?;
                Ok(self)
            })?;
        Ok(DaemonHandle {
            path,
            stop,
            thread: Some(thread),
        })
    }
}

impl<S: Stack + Send + 'static> DaemonHandle<S> {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops the daemon and returns it (its socket is still bound until it
    /// is dropped), or the error that ended its loop.
    pub fn stop(mut self) -> io::Result<Daemon<S>> {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> io::Result<Daemon<S>> {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the loop now rather than at its next tick.
        let _ = sys::connect_seqpacket(&self.path);
        let t = self
            .thread
            .take()
            .ok_or_else(|| io::Error::other("the daemon was stopped already"))?;
        t.join()
            .map_err(|_| io::Error::other("the daemon thread panicked"))?
    }
}

impl<S: Stack + Send + 'static> Drop for DaemonHandle<S> {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop_thread();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_socket_is_not_replaced_and_a_stale_one_is() {
        let dir = crate::testing::TempDir::new("daemon-bind");
        let path = dir.path().join("s");
        let d = Daemon::bind(&path, nlq_mem::MemStack::new(), Options::default()).unwrap();
        let again = Daemon::bind(&path, nlq_mem::MemStack::new(), Options::default());
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        // A socket file nobody listens on (a daemon killed before it could
        // remove it).
        let stale = dir.path().join("stale");
        let fd = sys::listen_seqpacket(&stale, 1).unwrap();
        drop(fd);
        let d2 = Daemon::bind(&stale, nlq_mem::MemStack::new(), Options::default());
        assert!(d2.is_ok());
        drop(d);
        assert!(!path.exists(), "the socket is removed when the daemon goes");
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let e = Daemon::bind(&file, nlq_mem::MemStack::new(), Options::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    }
}
