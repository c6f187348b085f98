//! Connections to the daemon (`nlq_remote`): the socket connection behind
//! each netlink socket, and one short control connection per request.
//!
//! Control requests open a fresh connection, send the request, read its
//! one reply and close: no state is shared between threads or with a child
//! after `fork`. Everything goes through [`crate::sys::os`], and every blocking
//! step is retried on `EINTR` (a control request is one step of the
//! program's call, as the kernel's work inside a syscall is).
//!
//! Connecting, the hello and its welcome, and a control request's reply
//! each wait at most [`timeout_ms`] (10 s, or `NLQ_TIMEOUT_MS`; 0 waits
//! forever): a stalled daemon, or a listener that never answers, fails the
//! program's call with `ETIMEDOUT` instead of hanging it. A netlink
//! socket's own reads, once connected, wait as the program asked.

use std::sync::OnceLock;

use libc::c_int;
use nlq_remote::{self as remote, Hello, Request, Role, Welcome, WELCOME_LEN};

use crate::c_convention::errno;
use crate::config;
use crate::sys::os;

/// A descriptor the shim owns, closed on drop.
struct Conn(c_int);

impl Drop for Conn {
    fn drop(&mut self) {
        // The descriptor is ours and closed once.
        os::close(self.0);
    }
}

impl Conn {
    /// Hands the descriptor over (it is no longer closed on drop).
    fn into_raw(self) -> c_int {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }
}

/// The errno an unreachable daemon becomes: `ECONNREFUSED` when nothing
/// listens at the path (no file, a directory missing, or a stale file), the
/// connect's own errno otherwise (`EACCES`, ...).
pub(crate) fn connect_errno(e: c_int) -> c_int {
    match e {
        libc::ENOENT | libc::ENOTDIR | libc::ECONNREFUSED | libc::ENOTSOCK => libc::ECONNREFUSED,
        e => e,
    }
}

/// How long connecting, the hello and a control reply may take, in
/// milliseconds (0: no limit): `NLQ_TIMEOUT_MS`, else 10 s.
pub(crate) fn timeout_ms() -> u64 {
    static MS: OnceLock<u64> = OnceLock::new();
    *MS.get_or_init(|| {
        std::env::var("NLQ_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(10_000)
    })
}

/// Sets the socket's send and receive timeouts (`SO_SNDTIMEO`, which also
/// bounds a unix `connect`, and `SO_RCVTIMEO`); 0 clears them.
fn set_timeouts(fd: c_int, ms: u64) -> Result<(), c_int> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(ms / 1000).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::try_from((ms % 1000).saturating_mul(1000)).unwrap_or(0),
    };
    for name in [libc::SO_SNDTIMEO, libc::SO_RCVTIMEO] {
        if os::set_timeval_option(fd, name, &tv) != 0 {
            return Err(errno());
        }
    }
    Ok(())
}

/// A timeout of a socket with `SO_*TIMEO` is `EAGAIN`: `ETIMEDOUT` says it.
fn timed_out(e: c_int) -> c_int {
    if e == libc::EAGAIN || e == libc::EWOULDBLOCK {
        libc::ETIMEDOUT
    } else {
        e
    }
}

/// A connected `SOCK_SEQPACKET` socket to the daemon that has sent its
/// hello.
fn connect(role: Role, cloexec: bool) -> Result<Conn, c_int> {
    let daemon = match config::daemon() {
        Some(Ok(d)) => d,
        Some(Err(e)) => return Err(e),
        None => return Err(libc::ENOTCONN),
    };
    connect_to(daemon, role, cloexec, timeout_ms())
}

/// [`connect`] to `daemon`, each step waiting at most `ms` (0: forever).
fn connect_to(daemon: &config::Daemon, role: Role, cloexec: bool, ms: u64) -> Result<Conn, c_int> {
    let flags = if cloexec { libc::SOCK_CLOEXEC } else { 0 };
    let fd = os::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | flags, 0);
    if fd < 0 {
        return Err(errno());
    }
    let conn = Conn(fd);
    if ms > 0 {
        set_timeouts(fd, ms)?;
    }
    let (addr, len) = daemon.sockaddr();
    loop {
        if os::connect_unix(fd, addr, len) == 0 {
            break;
        }
        match errno() {
            libc::EINTR => continue,
            // An interrupted connect of a unix socket completes on its own.
            libc::EISCONN => break,
            e => return Err(timed_out(connect_errno(e))),
        }
    }
    send(fd, &Hello { role }.to_bytes())?;
    Ok(conn)
}

/// Sends one datagram (never raising `SIGPIPE`).
fn send(fd: c_int, bytes: &[u8]) -> Result<(), c_int> {
    loop {
        let n = os::send(fd, bytes, libc::MSG_NOSIGNAL);
        if n >= 0 {
            return Ok(());
        }
        match errno() {
            libc::EINTR => continue,
            libc::EPIPE | libc::ECONNRESET => return Err(libc::ECONNREFUSED),
            e => return Err(timed_out(e)),
        }
    }
}

/// Receives one whole datagram. A closed connection is `ECONNREFUSED` (the
/// daemon hung up on us: it refused the request's connection).
fn recv(fd: c_int) -> Result<Vec<u8>, c_int> {
    let len = loop {
        // An empty buffer: only the datagram's length is wanted.
        let n = os::recv(fd, &mut [], libc::MSG_PEEK | libc::MSG_TRUNC);
        match usize::try_from(n) {
            Ok(n) => break n,
            Err(_) if errno() == libc::EINTR => continue,
            Err(_) => return Err(timed_out(errno())),
        }
    };
    let mut buf = vec![0u8; len.max(1)];
    loop {
        let n = os::recv(fd, &mut buf, 0);
        match usize::try_from(n) {
            Ok(0) if len == 0 => return Err(libc::ECONNREFUSED),
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(_) if errno() == libc::EINTR => continue,
            Err(_) => return Err(timed_out(errno())),
        }
    }
}

/// Sends `req` on a fresh control connection: the reply's payload, or the
/// errno the daemon answered (or the connection's).
pub(crate) fn request(req: &Request) -> Result<Vec<u8>, c_int> {
    request_with_payload(req, &[])
}

/// [`request`] with `payload` after the request's fields (the datagram of
/// a `SendTo`).
pub(crate) fn request_with_payload(req: &Request, payload: &[u8]) -> Result<Vec<u8>, c_int> {
    // Whatever this process's netlink sockets sent is handled first, as
    // the kernel handled it in their `sendmsg` (a `SendTo`'s own socket
    // the daemon catches up itself).
    match req {
        Request::Sync { .. } => {}
        Request::SendTo { cookie, .. } => settle_all(Some(*cookie)),
        _ => settle_all(None),
    }
    let conn = connect(Role::Control, true)?;
    let mut bytes = Vec::with_capacity(payload.len().saturating_add(32));
    req.emit(&mut bytes);
    bytes.extend_from_slice(payload);
    send(conn.0, &bytes)?;
    let reply = recv(conn.0)?;
    remote::parse_reply(&reply)
        .map(<[u8]>::to_vec)
        .map_err(|e| e.0)
}

/// Waits until the daemon has handled everything the socket connection
/// `cookie` sent (a daemon that cannot answer leaves it at that).
pub(crate) fn settle(cookie: u64) {
    let _ = request(&Request::Sync { cookie });
}

/// [`settle`]s every socket connection of this process that sent since it
/// was last settled, but `keep`.
pub(crate) fn settle_all(keep: Option<u64>) {
    for cookie in crate::fdtable::take_all_sent(keep) {
        settle(cookie);
    }
}

/// Opens the connection behind a new netlink socket: a descriptor connected
/// to the daemon (close-on-exec as asked, blocking) and its welcome.
/// `EPROTO` when the peer does not answer with a welcome.
pub(crate) fn open_socket(cloexec: bool) -> Result<(c_int, Welcome), c_int> {
    let conn = connect(Role::Socket, cloexec)?;
    let reply = recv(conn.0)?;
    if reply.len() != WELCOME_LEN {
        return Err(libc::EPROTO);
    }
    let welcome = Welcome::parse(&reply).map_err(|_| libc::EPROTO)?;
    // From now on the program's own reads: they wait as it asks.
    set_timeouts(conn.0, 0)?;
    Ok((conn.into_raw(), welcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that never accepts nor answers: the hello's welcome and
    /// a control reply time out with `ETIMEDOUT`.
    #[test]
    fn a_daemon_that_never_answers_times_out() {
        let dir = std::env::temp_dir().join(format!("nlq-preload-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let daemon =
            config::daemon_addr(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())).unwrap();
        let listener = {
            let fd = os::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
            let (addr, len) = daemon.sockaddr();
            assert_eq!(os::bind_unix(fd, addr, len), 0);
            assert_eq!(os::listen(fd, 8), 0);
            Conn(fd)
        };
        let conn = connect_to(&daemon, Role::Socket, true, 200).unwrap();
        assert_eq!(recv(conn.0), Err(libc::ETIMEDOUT));
        drop(listener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unreachable_daemons_are_refused_connections() {
        assert_eq!(connect_errno(libc::ENOENT), libc::ECONNREFUSED);
        assert_eq!(connect_errno(libc::ECONNREFUSED), libc::ECONNREFUSED);
        assert_eq!(connect_errno(libc::EACCES), libc::EACCES);
    }
}
