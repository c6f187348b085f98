//! Connections to the daemon (`nlq::remote`): the socket connection behind
//! each netlink socket, and one short control connection per request.
//!
//! Control requests open a fresh connection, send the request, read its
//! one reply and close: no state is shared between threads or with a child
//! after `fork`. Everything goes through [`crate::real`], and every blocking
//! step is retried on `EINTR` (a control request is one step of the
//! program's call, as the kernel's work inside a syscall is).

use libc::{c_int, c_void};
use nlq::remote::{self, Hello, Request, Role, Welcome, WELCOME_LEN};

use crate::config;
use crate::ffi::errno;
use crate::real;

/// A descriptor the shim owns, closed on drop.
struct Conn(c_int);

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { real::close(self.0) };
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

/// A connected `SOCK_SEQPACKET` socket to the daemon that has sent its
/// hello.
fn connect(role: Role, cloexec: bool) -> Result<Conn, c_int> {
    let daemon = match config::daemon() {
        Some(Ok(d)) => d,
        Some(Err(e)) => return Err(e),
        None => return Err(libc::ENOTCONN),
    };
    let flags = if cloexec { libc::SOCK_CLOEXEC } else { 0 };
    // SAFETY: plain socket creation.
    let fd = unsafe { real::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | flags, 0) };
    if fd < 0 {
        return Err(errno());
    }
    let conn = Conn(fd);
    let (addr, len) = daemon.sockaddr();
    loop {
        // SAFETY: `addr` points to a `sockaddr_un` of `len` bytes.
        if unsafe { real::connect(fd, addr, len) } == 0 {
            break;
        }
        match errno() {
            libc::EINTR => continue,
            // An interrupted connect of a unix socket completes on its own.
            libc::EISCONN => break,
            e => return Err(connect_errno(e)),
        }
    }
    send(fd, &Hello { role }.to_bytes())?;
    Ok(conn)
}

/// Sends one datagram (never raising `SIGPIPE`).
fn send(fd: c_int, bytes: &[u8]) -> Result<(), c_int> {
    loop {
        // SAFETY: `bytes` is valid for its length.
        let n = unsafe {
            real::send(
                fd,
                bytes.as_ptr().cast::<c_void>(),
                bytes.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        match errno() {
            libc::EINTR => continue,
            libc::EPIPE | libc::ECONNRESET => return Err(libc::ECONNREFUSED),
            e => return Err(e),
        }
    }
}

/// Receives one whole datagram. A closed connection is `ECONNREFUSED` (the
/// daemon hung up on us: it refused the request's connection).
fn recv(fd: c_int) -> Result<Vec<u8>, c_int> {
    let mut probe = [0u8; 1];
    let len = loop {
        // SAFETY: `probe` is valid for one byte.
        let n = unsafe {
            real::recv(
                fd,
                probe.as_mut_ptr().cast::<c_void>(),
                0,
                libc::MSG_PEEK | libc::MSG_TRUNC,
            )
        };
        match usize::try_from(n) {
            Ok(n) => break n,
            Err(_) if errno() == libc::EINTR => continue,
            Err(_) => return Err(errno()),
        }
    };
    let mut buf = vec![0u8; len.max(1)];
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { real::recv(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len(), 0) };
        match usize::try_from(n) {
            Ok(0) if len == 0 => return Err(libc::ECONNREFUSED),
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(_) if errno() == libc::EINTR => continue,
            Err(_) => return Err(errno()),
        }
    }
}

/// Sends `req` on a fresh control connection: the reply's payload, or the
/// errno the daemon answered (or the connection's).
pub(crate) fn request(req: &Request) -> Result<Vec<u8>, c_int> {
    let conn = connect(Role::Control, true)?;
    let mut bytes = Vec::new();
    req.emit(&mut bytes);
    send(conn.0, &bytes)?;
    let reply = recv(conn.0)?;
    remote::parse_reply(&reply).map(<[u8]>::to_vec)
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
    Ok((conn.into_raw(), welcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_daemons_are_refused_connections() {
        assert_eq!(connect_errno(libc::ENOENT), libc::ECONNREFUSED);
        assert_eq!(connect_errno(libc::ECONNREFUSED), libc::ECONNREFUSED);
        assert_eq!(connect_errno(libc::EACCES), libc::EACCES);
    }
}
