//! `nlq proxy`: a netlink firewall between a group of processes and a
//! real network stack.
//!
//! Clients connect exactly as to `nlq serve` (the preload shim and
//! [`crate::client::SocketClient`] work unchanged). Every request is
//! parsed by the nlq codec, judged by a [`Policy`] (allow, deny with
//! `EPERM` and the rule's name as extended-ACK text, log), rewritten for
//! the peer's [`View`] (table ids, interface name prefixes), and the
//! admitted ones go to the [`Upstream`]: the kernel of a network
//! namespace, or another nlq daemon. Answers, dumps (datagram by
//! datagram, never buffered whole) and notifications come back through
//! the view, which hides what the peer may not see. An [`Audit`] trail
//! keeps one JSON line per request and, if asked, a pcap of everything.
//!
//! Each client connection has a thread (two for a netlink socket: one
//! reads the client, one the upstream); the policy is shared and
//! replaced whole by [`ProxyHandle::reload`] or `SIGHUP`.

pub mod audit;
pub mod directory;
pub mod judge;
pub mod message;
pub mod policy;
pub mod socket;
pub mod upstream;

use std::collections::HashMap;
use std::io;
use std::ops::ControlFlow;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use nlq::emulate::ioctl::{IfReq, IFREQ_SIZE};
use nlq::stack::{Stack, StackResult, Visit};
use nlq::wire::{AddrRepr, LinkRepr};
use nlq_remote::{self as remote, Hello, Request, Role, Welcome};

pub use audit::Audit;
pub use policy::{Peer, Policy, PolicyError, View};
pub use upstream::Upstream;

use directory::Directory;
use message::Links;
use socket::SocketSession;

use crate::sys;

/// How a proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Where admitted requests go.
    pub upstream: Upstream,
    /// The policy file, read again on reload (`None`: the policy given to
    /// [`Proxy::bind`] stays).
    pub policy_file: Option<PathBuf>,
    /// The JSON-lines audit log (appended).
    pub log: Option<PathBuf>,
    /// A pcap of every datagram (made afresh).
    pub pcap: Option<PathBuf>,
    /// Print connections and errors on standard error.
    pub verbose: bool,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            upstream: Upstream::Kernel,
            policy_file: None,
            log: None,
            pcap: None,
            verbose: false,
        }
    }
}

/// What the proxy's threads share.
#[derive(Debug)]
pub struct Shared {
    upstream: Upstream,
    policy: RwLock<(u64, Arc<Policy>)>,
    policy_file: Option<PathBuf>,
    audit: Audit,
    directory: Arc<Directory>,
    sockets: Mutex<HashMap<u64, Arc<SocketSession>>>,
    next_cookie: AtomicU64,
    buckets: Mutex<HashMap<u32, (f64, Instant)>>,
    /// Connections held per user.
    connections: Mutex<HashMap<u32, usize>>,
    /// Client ports in use, and the session holding each.
    ports: Mutex<HashMap<u32, u64>>,
    /// Upstream socket ports to the ports their clients know.
    up_ports: RwLock<HashMap<u32, u32>>,
    /// The next port for a socket whose process has one already (as
    /// the kernel's autobind: from -4096 down).
    rover: std::sync::atomic::AtomicU32,
    /// A socket for netdevice ioctls (kernel upstreams).
    ioctl_fd: Option<OwnedFd>,
    verbose: bool,
    stop: AtomicBool,
}

impl Shared {
    /// The policy and its generation.
    fn policy(&self) -> (u64, Arc<Policy>) {
        match self.policy.read() {
            Ok(p) => (p.0, Arc::clone(&p.1)),
            Err(_) => (u64::MAX, Arc::new(Policy::default())),
        }
    }

    /// Takes one request from the peer user's token bucket.
    fn admit_rate(&self, uid: u32, policy: &Policy) -> bool {
        let Some((rate, burst)) = policy.rate else {
            return true;
        };
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let (tokens, at) = b.entry(uid).or_insert((f64::from(burst), now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * f64::from(rate);
        *tokens = (*tokens + refill).min(f64::from(burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// A port for a new socket of process `pid`: the pid if free, as the
    /// kernel's autobind tries first, else the next from the rover.
    fn claim_port(&self, pid: u32, cookie: u64) -> u32 {
        let Ok(mut ports) = self.ports.lock() else {
            return pid;
        };
        let mut port = pid;
        while port == 0 || ports.contains_key(&port) {
            port = self.rover.fetch_sub(1, Ordering::SeqCst);
        }
        ports.insert(port, cookie);
        port
    }

    /// A session's client port changes (`bind` to a chosen port).
    fn move_port(&self, cookie: u64, from: u32, to: u32) -> io::Result<()> {
        let mut ports = self
            .ports
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?;
        if ports.contains_key(&to) {
            return Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
        }
        ports.remove(&from);
        ports.insert(to, cookie);
        Ok(())
    }

    /// Records which client port an upstream port stands for.
    fn map_port(&self, up: u32, client: u32) {
        if let Ok(mut m) = self.up_ports.write() {
            m.insert(up, client);
        }
    }

    /// The client port an upstream port stands for (itself if none).
    fn client_port(&self, up: u32) -> u32 {
        if up == 0 {
            return 0;
        }
        self.up_ports
            .read()
            .ok()
            .and_then(|m| m.get(&up).copied())
            .unwrap_or(up)
    }

    /// Forgets a session's ports.
    fn release(&self, session: &SocketSession) {
        if let Ok(mut p) = self.ports.lock() {
            p.remove(&session.port());
        }
        if let Some(up) = session.upstream_port() {
            if let Ok(mut m) = self.up_ports.write() {
                m.remove(&up);
            }
        }
    }

    /// Reads the policy file again; a bad one is refused and the old one
    /// kept.
    fn reload(&self) -> Result<(), PolicyError> {
        let Some(path) = &self.policy_file else {
            return Ok(());
        };
        let new = Policy::load(path)?;
        if let Ok(mut p) = self.policy.write() {
            *p = (p.0.wrapping_add(1), Arc::new(new));
        }
        Ok(())
    }
}

/// A proxy bound to its socket. See the [module](self).
#[derive(Debug)]
pub struct Proxy {
    path: PathBuf,
    listener: OwnedFd,
    shared: Arc<Shared>,
    directory_thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Binds the socket at `path` (connectable by every user; what each
    /// may do is the policy's) and connects upstream. With a
    /// [`Upstream::Netns`] upstream, the calling thread enters that
    /// network namespace (and every thread the proxy starts is born
    /// there).
    pub fn bind(path: impl AsRef<Path>, policy: Policy, options: ProxyOptions) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Upstream::Netns(ns) = &options.upstream {
            let f = std::fs::File::open(ns)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", ns.display())))?;
            sys::enter_netns(f.as_fd())
                .map_err(|e| io::Error::new(e.kind(), format!("entering {}: {e}", ns.display())))?;
        }
        let audit = Audit::open(options.log.as_deref(), options.pcap.as_deref())?;
        let (directory, thread) = Directory::start(&options.upstream)?;
        let ioctl_fd = match options.upstream {
            Upstream::Kernel | Upstream::Netns(_) => Some(sys::inet_dgram_socket()?),
            Upstream::Daemon(_) => None,
        };
        if std::fs::symlink_metadata(&path).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_socket()
        }) && sys::connect_seqpacket(&path).is_err()
        {
            let _ = std::fs::remove_file(&path);
        }
        let listener = sys::listen_seqpacket_mode(&path, 1024, Some(0o666))?;
        Ok(Proxy {
            path,
            listener,
            shared: Arc::new(Shared {
                upstream: options.upstream,
                policy: RwLock::new((0, Arc::new(policy))),
                policy_file: options.policy_file,
                audit,
                directory,
                sockets: Mutex::new(HashMap::new()),
                next_cookie: AtomicU64::new(1),
                buckets: Mutex::new(HashMap::new()),
                connections: Mutex::new(HashMap::new()),
                ports: Mutex::new(HashMap::new()),
                up_ports: RwLock::new(HashMap::new()),
                rover: std::sync::atomic::AtomicU32::new(-4096i32 as u32),
                ioctl_fd,
                verbose: options.verbose,
                stop: AtomicBool::new(false),
            }),
            directory_thread: Some(thread),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until `stop` is set; `reload`, when set, reads the policy
    /// file again (and is cleared).
    pub fn run_until(&mut self, stop: &AtomicBool, reload: Option<&AtomicBool>) -> io::Result<()> {
        while !stop.load(Ordering::SeqCst) && !self.shared.stop.load(Ordering::SeqCst) {
            if reload.is_some_and(|r| r.swap(false, Ordering::SeqCst)) {
                match self.shared.reload() {
                    Ok(()) => eprintln!("nlq proxy: policy reloaded"),
                    Err(e) => {
                        eprintln!("nlq proxy: the new policy is refused, the old one stays: {e}")
                    }
                }
            }
            if !sys::poll_readable(self.listener.as_fd(), Some(Duration::from_millis(100)))? {
                continue;
            }
            // Everything waiting, within a bound.
            for _ in 0..64 {
                match sys::accept(self.listener.as_fd()) {
                    Ok(fd) => self.spawn_connection(fd),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        if self.shared.verbose {
                            eprintln!("nlq proxy: accept: {e}");
                        }
                        // Descriptors ran out: let some go first.
                        std::thread::sleep(Duration::from_millis(50));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes a new connection: what it has sent already is handled here
    /// when that is quick (the shim's control connections usually carry
    /// one short request, whose answer does not need a thread); the rest
    /// goes to a thread of its own.
    fn spawn_connection(&self, fd: OwnedFd) {
        let peer = match sys::peer_cred(fd.as_fd()) {
            Ok(c) => Peer {
                uid: c.uid,
                gid: c.gid,
                pid: u32::try_from(c.pid).unwrap_or(0),
            },
            Err(_) => return,
        };
        // Held until the connection ends (dropped with it, here or in its
        // thread).
        let Some(slot) = Slot::take(&self.shared, peer.uid) else {
            if self.shared.verbose {
                eprintln!(
                    "nlq proxy: a connection of uid {} refused: too many",
                    peer.uid
                );
            }
            return;
        };
        let now = sys::RecvFlags {
            peek: false,
            dontwait: true,
        };
        let mut buf = [0u8; 256];
        let mut first = None;
        let role = match sys::recv(fd.as_fd(), &mut buf, now) {
            Ok(n) => match buf.get(..n).map(Hello::parse) {
                Some(Ok(h)) => Some(h.role),
                _ => return,
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(_) => return,
        };
        if role == Some(Role::Control) {
            loop {
                match sys::recv(fd.as_fd(), &mut buf, now) {
                    Ok(0) => return,
                    Ok(n) if n <= buf.len() => {
                        let data = buf.get(..n).unwrap_or_default();
                        if !quick(data) {
                            first = Some(data.to_vec());
                            break;
                        }
                        let out = control_reply(&self.shared, peer, data);
                        if sys::send(fd.as_fd(), &out, true).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    _ => return,
                }
            }
        }
        if sys::set_blocking(fd.as_fd()).is_err() {
            return;
        }
        if role != Some(Role::Control) {
            sys::grow_buffers(fd.as_fd(), 4 << 20);
        }
        let shared = Arc::clone(&self.shared);
        let spawned = match role {
            // Welcomed at once; served by a thread of its own.
            Some(Role::Socket) => {
                let Some(session) = welcome(&shared, fd, peer) else {
                    return;
                };
                std::thread::Builder::new()
                    .name("nlq-proxy-client".into())
                    .spawn(move || {
                        serve_socket(&shared, &session);
                        drop(slot);
                    })
            }
            _ => std::thread::Builder::new()
                .name("nlq-proxy-client".into())
                .spawn(move || {
                    match role {
                        Some(Role::Control) => control(&shared, &fd, peer, first),
                        _ => connection(&shared, fd, peer),
                    }
                    drop(slot);
                }),
        };
        if let Err(e) = spawned {
            eprintln!("nlq proxy: cannot start a thread for a client: {e}");
        }
    }

    /// Runs the proxy on a thread of its own; the handle stops it.
    pub fn spawn(
        path: impl AsRef<Path>,
        policy: Policy,
        options: ProxyOptions,
    ) -> io::Result<ProxyHandle> {
        let path = path.as_ref().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let reload = Arc::new(AtomicBool::new(false));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&reload));
        let thread = std::thread::spawn(move || {
            let mut proxy = match Proxy::bind(&path, policy, options) {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let _ = tx.send(Ok(Arc::clone(&proxy.shared)));
            let _ = proxy.run_until(&s, Some(&r));
        });
        let shared = rx
            .recv()
            .map_err(|_| io::Error::other("the proxy thread ended"))??;
        Ok(ProxyHandle {
            stop,
            reload,
            shared,
            thread: Some(thread),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.directory.stop();
        if let Some(t) = self.directory_thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A proxy running on its own thread ([`Proxy::spawn`]); dropping it
/// stops the proxy and removes its socket.
#[derive(Debug)]
pub struct ProxyHandle {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProxyHandle {
    /// Reads the policy file again now: a bad one is refused (and
    /// returned), the old one kept.
    pub fn reload(&self) -> Result<(), PolicyError> {
        self.shared.reload()
    }

    /// Asks the proxy's loop to reload (as `SIGHUP` does).
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::SeqCst);
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection counted against its user (the policy's
/// `limits.connections`: each has a thread, two for a netlink socket),
/// until dropped.
struct Slot {
    shared: Arc<Shared>,
    uid: u32,
}

impl Slot {
    fn take(shared: &Arc<Shared>, uid: u32) -> Option<Self> {
        let most = shared.policy().1.connections;
        let mut held = shared.connections.lock().ok()?;
        let n = held.entry(uid).or_insert(0);
        if *n >= most {
            return None;
        }
        *n = n.saturating_add(1);
        Some(Slot {
            shared: Arc::clone(shared),
            uid,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.shared.connections.lock() {
            if let Some(n) = held.get_mut(&self.uid) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    held.remove(&self.uid);
                }
            }
        }
    }
}

/// Serves one client connection: its hello, then its role.
fn connection(shared: &Arc<Shared>, fd: OwnedFd, peer: Peer) {
    let mut buf = vec![0u8; 64];
    match sys::poll_readable(fd.as_fd(), Some(Duration::from_secs(10))) {
        Ok(true) => {}
        _ => return,
    }
    let Ok(n) = sys::recv(fd.as_fd(), &mut buf, sys::RecvFlags::default()) else {
        return;
    };
    match buf.get(..n).map(Hello::parse) {
        Some(Ok(Hello { role: Role::Socket })) => {
            sys::grow_buffers(fd.as_fd(), 4 << 20);
            socket_connection(shared, fd, peer);
        }
        Some(Ok(Hello {
            role: Role::Control,
        })) => control(shared, &fd, peer, None),
        _ => {}
    }
}

/// Serves a socket connection whose hello was read.
fn socket_connection(shared: &Arc<Shared>, fd: OwnedFd, peer: Peer) {
    if let Some(session) = welcome(shared, fd, peer) {
        serve_socket(shared, &session);
    }
}

/// Registers a socket connection and sends its welcome.
fn welcome(shared: &Arc<Shared>, fd: OwnedFd, peer: Peer) -> Option<Arc<SocketSession>> {
    let cookie = shared.next_cookie.fetch_add(1, Ordering::SeqCst);
    let port = shared.claim_port(peer.pid, cookie);
    let session = Arc::new(SocketSession::new(cookie, fd, peer, port));
    // Known before the client hears its cookie.
    if let Ok(mut s) = shared.sockets.lock() {
        s.insert(cookie, Arc::clone(&session));
    }
    if session.welcome(&Welcome { port, cookie }).is_ok() {
        return Some(session);
    }
    forget(shared, &session);
    None
}

/// Serves a welcomed socket connection until it goes.
fn serve_socket(shared: &Arc<Shared>, session: &Arc<SocketSession>) {
    session.serve(shared);
    forget(shared, session);
}

fn forget(shared: &Shared, session: &SocketSession) {
    shared.release(session);
    if let Ok(mut s) = shared.sockets.lock() {
        s.remove(&session.cookie);
    }
}

/// A control request answered at once, without reading upstream or
/// waiting: socket options, `bind`, names, the reader's size.
fn quick(data: &[u8]) -> bool {
    matches!(
        Request::parse(data),
        Ok(Request::Bind { .. }
            | Request::Name { .. }
            | Request::SetOption { .. }
            | Request::GetOption { .. }
            | Request::ReaderSize { .. })
            | Err(_)
    )
}

/// The reply to one control datagram.
fn control_reply(shared: &Arc<Shared>, peer: Peer, data: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    let result = Request::parse(data)
        .and_then(|req| answer(shared, peer, &req, &mut payload).map_err(nlq::errno::Errno));
    let mut out = Vec::new();
    remote::emit_reply(&mut out, result.map(|()| payload.as_slice()));
    out
}

/// Answers a control connection's requests (`first`, already read, then
/// the others) until it goes.
fn control(shared: &Arc<Shared>, fd: &OwnedFd, peer: Peer, first: Option<Vec<u8>>) {
    if let Some(d) = first {
        if sys::send(fd.as_fd(), &control_reply(shared, peer, &d), false).is_err() {
            return;
        }
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match sys::recv(fd.as_fd(), &mut buf, sys::RecvFlags::default()) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let data = buf.get(..n).unwrap_or_default();
        if sys::send(fd.as_fd(), &control_reply(shared, peer, data), false).is_err() {
            return;
        }
    }
}

fn os(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn session(shared: &Shared, cookie: u64) -> Result<Arc<SocketSession>, i32> {
    shared
        .sockets
        .lock()
        .ok()
        .and_then(|s| s.get(&cookie).cloned())
        .ok_or(libc::EBADF)
}

fn answer(
    shared: &Arc<Shared>,
    peer: Peer,
    req: &Request,
    payload: &mut Vec<u8>,
) -> Result<(), i32> {
    let words = |payload: &mut Vec<u8>, (a, b): (u32, u32)| {
        payload.extend_from_slice(&a.to_ne_bytes());
        payload.extend_from_slice(&b.to_ne_bytes());
    };
    match *req {
        Request::Bind {
            cookie,
            port,
            groups,
        } => words(
            payload,
            session(shared, cookie)?
                .bind(shared, port, groups)
                .map_err(os)?,
        ),
        Request::Name { cookie } => words(payload, session(shared, cookie)?.name().map_err(os)?),
        Request::SetOption {
            cookie,
            level,
            name,
            value,
        } => session(shared, cookie)?
            .set_option(level, name, value)
            .map_err(os)?,
        Request::GetOption {
            cookie,
            level,
            name,
        } => payload.extend_from_slice(
            &session(shared, cookie)?
                .get_option(level, name)
                .map_err(os)?,
        ),
        Request::ReaderSize { cookie, len } => session(shared, cookie)?.reader(len),
        Request::Sync { cookie } => {
            if let Ok(s) = session(shared, cookie) {
                s.sync();
            }
        }
        // A datagram to another socket or a group: the policy grants
        // requests to the kernel only.
        Request::SendTo { .. } => return Err(libc::EPERM),
        Request::Ioctl { request, ifreq } => {
            let ifr = ioctl(shared, peer, request, ifreq)?;
            payload.extend_from_slice(&ifr);
        }
        Request::IfConf { len } => {
            let snap = Snapshot::take(shared, peer)?;
            let len = len.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
            let conf = nlq::emulate::ioctl::ifconf(&snap, len)?;
            let n = u32::try_from(conf.len).map_err(|_| libc::EINVAL)?;
            payload.extend_from_slice(&n.to_ne_bytes());
            for r in &conf.records {
                payload.extend_from_slice(r);
            }
        }
        Request::IfAddrs => {
            let records = nlq::emulate::getifaddrs(&Snapshot::take(shared, peer)?)?;
            remote::encode_ifaddrs(payload, &records);
        }
        Request::NameIndex => {
            let links = nlq::emulate::if_nameindex(&Snapshot::take(shared, peer)?)?;
            remote::encode_nameindex(payload, &links);
        }
        Request::ProcNetDev => {
            let text = nlq::emulate::proc_net_dev(&Snapshot::take(shared, peer)?)?;
            payload.extend_from_slice(text.as_bytes());
        }
        Request::ProcIfInet6 => {
            let text = nlq::emulate::proc_if_inet6(&Snapshot::take(shared, peer)?)?;
            payload.extend_from_slice(text.as_bytes());
        }
        Request::ProcIgmp => {
            let text = nlq::emulate::proc_igmp(&Snapshot::take(shared, peer)?)?;
            payload.extend_from_slice(text.as_bytes());
        }
        Request::ProcIgmp6 => {
            let text = nlq::emulate::proc_igmp6(&Snapshot::take(shared, peer)?)?;
            payload.extend_from_slice(text.as_bytes());
        }
        Request::ProcDevMcast => {
            let text = nlq::emulate::proc_dev_mcast(&Snapshot::take(shared, peer)?)?;
            payload.extend_from_slice(text.as_bytes());
        }
    }
    Ok(())
}

/// A netdevice ioctl: the name mapped to the upstream's, hidden links
/// `ENODEV`, changes judged by the policy (as `link:set`, or
/// `address:set` for the address requests), then done upstream.
fn ioctl(shared: &Arc<Shared>, peer: Peer, request: u32, ifreq: IfReq) -> Result<IfReq, i32> {
    use nlq::emulate::ioctl as io;
    let req = u64::from(request);
    if !io::is_netdevice_request(req) {
        return Err(libc::ENOTTY);
    }
    let (_, policy) = shared.policy();
    let view = policy.view(&peer);
    let dir = &*shared.directory;
    let mut ifr = ifreq;
    let client_name = io::ifreq_name(&ifreq).to_vec();
    let up_name = |n: &[u8]| -> Vec<u8> {
        match &view.prefix {
            Some(p) => [p.as_bytes(), n].concat(),
            None => n.to_vec(),
        }
    };
    if req == io::SIOCGIFNAME {
        // By index: the answer's name is checked and mapped back.
        let index = u32::try_from(io::ifreq_int(&ifr)).unwrap_or(0);
        let (name, kind) = dir.by_index(index).ok_or(libc::ENODEV)?;
        if view.hides(index, Some(&name), kind.as_deref()) {
            return Err(libc::ENODEV);
        }
        ifr = upstream_ioctl(shared, request, ifr)?;
        let got = String::from_utf8_lossy(io::ifreq_name(&ifr)).into_owned();
        let shown = match &view.prefix {
            Some(p) => got
                .strip_prefix(p.as_str())
                .ok_or(libc::ENODEV)?
                .to_string(),
            None => got,
        };
        io::ifreq_set_name(&mut ifr, shown.as_bytes());
        return Ok(ifr);
    }
    let name = up_name(&client_name);
    if name.len() >= 16 {
        return Err(libc::ENODEV);
    }
    let name_str = String::from_utf8_lossy(&name).into_owned();
    let index = dir.by_name(&name_str);
    let hidden = match index.and_then(|i| dir.by_index(i).map(|e| (i, e))) {
        Some((i, (n, k))) => view.hides(i, Some(&n), k.as_deref()),
        None => view.prefix.is_some() && view.hides(0, Some(&name_str), None),
    };
    if hidden {
        return Err(libc::ENODEV);
    }
    io::ifreq_set_name(&mut ifr, &name);
    if io::is_set_request(req) {
        let address = matches!(
            req,
            io::SIOCSIFADDR | io::SIOCSIFDSTADDR | io::SIOCSIFBRDADDR | io::SIOCSIFNETMASK
        );
        let mut ifaces = vec![policy::Iface {
            index: index.unwrap_or(0),
            name: Some(name_str),
        }];
        if req == SIOCSIFNAME {
            let new = ifreq.get(16..32).unwrap_or_default();
            let new = new.split(|&b| b == 0).next().unwrap_or(new);
            let new_up = up_name(new);
            if new_up.len() >= 16 {
                return Err(libc::EINVAL);
            }
            if let Some(slot) = ifr.get_mut(16..32) {
                slot.fill(0);
                if let Some(d) = slot.get_mut(..new_up.len()) {
                    d.copy_from_slice(&new_up);
                }
            }
            ifaces.push(policy::Iface {
                index: 0,
                name: Some(String::from_utf8_lossy(&new_up).into_owned()),
            });
        }
        let facts = policy::Facts {
            object: if address {
                policy::Object::Address
            } else {
                policy::Object::Link
            },
            verb: policy::Verb::Set,
            message_type: 0,
            flags: 0,
            link_kind: index.and_then(|i| dir.by_index(i)).and_then(|e| e.1),
            ifaces,
            prefix: address.then(|| {
                let (_, a) = io::ifreq_addr(&ifreq);
                (std::net::IpAddr::V4(a), 32)
            }),
            table: None,
            attrs: Vec::new(),
        };
        let d = policy.decide(&peer, &facts);
        let mut rec = audit::Record::new(peer, Some(&facts), 0, request);
        rec.op = format!("ioctl:{request:#x} {}", rec.op);
        rec.rule = d.rule.clone();
        rec.logged = d.logged.clone();
        if !d.allow {
            rec.outcome = audit::Outcome::Denied;
            shared.audit.write(&rec, libc::EPERM);
            return Err(libc::EPERM);
        }
        let r = upstream_ioctl(shared, request, ifr);
        shared.audit.write(&rec, r.err().unwrap_or(0));
        ifr = r?;
    } else {
        ifr = upstream_ioctl(shared, request, ifr)?;
    }
    io::ifreq_set_name(&mut ifr, &client_name);
    Ok(ifr)
}

/// `SIOCSIFNAME`.
const SIOCSIFNAME: u64 = 0x8923;

fn upstream_ioctl(shared: &Shared, request: u32, ifreq: IfReq) -> Result<IfReq, i32> {
    match (&shared.upstream, &shared.ioctl_fd) {
        (Upstream::Daemon(path), _) => {
            let r =
                upstream::daemon_control(path, &Request::Ioctl { request, ifreq }).map_err(os)?;
            let mut out = [0u8; IFREQ_SIZE];
            let got = r.get(..IFREQ_SIZE).ok_or(libc::EPROTO)?;
            out.copy_from_slice(got);
            Ok(out)
        }
        (_, Some(fd)) => {
            let mut ifr = ifreq;
            sys::ifreq_ioctl(fd.as_fd(), request, &mut ifr).map_err(os)?;
            Ok(ifr)
        }
        (_, None) => Err(libc::ENOTTY),
    }
}

/// The links and addresses a peer sees, read from the upstream, with
/// the peer's names: the stack the emulations (`getifaddrs`,
/// `if_nameindex`, `/proc/net/dev`...) read.
#[derive(Debug)]
struct Snapshot {
    links: Vec<LinkRepr>,
    addrs: Vec<AddrRepr>,
}

impl Snapshot {
    fn take(shared: &Shared, peer: Peer) -> Result<Self, i32> {
        let (_, policy) = shared.policy();
        let view = policy.view(&peer);
        let mut h = nlinline::Handle::new(upstream::UpSocket::open(&shared.upstream).map_err(os)?);
        let err = |e: nlinline::Error| e.errno();
        let mut links = h.links().map_err(err)?;
        let mut addrs = h.addrs(libc::AF_UNSPEC as u8).map_err(err)?;
        let hidden: Vec<u32> = links
            .iter()
            .filter(|l| {
                let kind = l
                    .info
                    .as_ref()
                    .and_then(|i| i.kind.as_ref())
                    .map(|k| k.as_str());
                view.hides(l.header.index, l.name.as_ref().map(|n| n.as_str()), kind)
            })
            .map(|l| l.header.index)
            .collect();
        links.retain(|l| !hidden.contains(&l.header.index));
        addrs.retain(|a| !hidden.contains(&a.header.index));
        if let Some(p) = &view.prefix {
            let strip = |n: &nlq::wire::IfName| {
                n.as_str()
                    .strip_prefix(p.as_str())
                    .and_then(nlq::wire::IfName::try_from_str)
            };
            for l in &mut links {
                l.name = l.name.as_ref().and_then(strip);
            }
            for a in &mut addrs {
                a.label = a.label.as_ref().and_then(strip);
            }
        }
        Ok(Snapshot { links, addrs })
    }
}

impl Stack for Snapshot {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        for l in self.links.iter().skip(start) {
            if visit(l).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        let mut i = 0usize;
        for a in &self.addrs {
            if family != 0 && a.header.family != family {
                continue;
            }
            if i >= start {
                if let ControlFlow::Break(()) = visit(a) {
                    break;
                }
            }
            i = i.saturating_add(1);
        }
        Ok(())
    }
}
