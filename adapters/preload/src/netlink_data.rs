//! Sending and receiving on emulated netlink sockets.
//!
//! A request datagram goes to the daemon as it is. Every datagram the
//! daemon sends starts with a [`DataHeader`] (status, group, sender): a
//! receive reads it into a scratch buffer placed before the caller's
//! buffers (so `MSG_PEEK`, `MSG_TRUNC` and `MSG_DONTWAIT` keep their
//! datagram meaning on the real socket), takes its size from the length,
//! turns a queued errno into the call's failure (consuming the datagram
//! even when peeking, as the kernel clears `sk_err`), and fills in the
//! sender's `sockaddr_nl`. Before a receive with a larger buffer than any
//! before, the daemon is told the reader's size, as the kernel sizes dump
//! datagrams to it (`max_recvmsg_len`).
//!
//! The program's bytes are never copied on the way to or from the daemon:
//! a send hands the caller's `iovec`s to the real `sendmsg`, a receive puts
//! the caller's buffers after the header's in the real `recvmsg` (see
//! [`crate::sys::caller_memory`]). Only a datagram for other sockets is
//! copied, into its control request.
//!
//! Each call takes `original`: the libc function being interposed, called
//! with the program's arguments unchanged (see `crate::sys::exports`).

use libc::{c_int, c_uint, ssize_t};
use nlq::server::Sender;
use nlq_remote::{DataHeader, Request, DATA_HEADER_LEN};

use crate::c_convention::{errno, fail, finish};
use crate::control;
use crate::fdtable::{self, NetlinkFd};
use crate::netlink_socket::{parse_sockaddr_nl, sockaddr_nl};
use crate::sys::caller_memory::{
    AddrIn, Bufs, DaemonRecv, IoVecs, MsgArray, MsgIn, MsgOut, RecvBuf, IOV_MAX,
};
use crate::sys::os;

/// What a datagram read from the daemon means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// Netlink messages: the call returns `len`; `group` gives the
    /// sender's `nl_groups` and the `NETLINK_PKTINFO` message.
    Data {
        /// The payload's length (the full length under `MSG_TRUNC`).
        len: usize,
        /// `DataHeader::group`.
        group: u32,
        /// `DataHeader::sender`.
        sender: Sender,
    },
    /// The call fails with this errno.
    Error(c_int),
    /// The daemon closed the connection: the call returns 0.
    Closed,
}

/// Interprets a real receive that returned `n` bytes (header included)
/// with `header` read into the scratch buffer.
pub(crate) fn interpret(n: usize, header: &[u8; DATA_HEADER_LEN]) -> Received {
    if n == 0 {
        return Received::Closed;
    }
    let Some(len) = n.checked_sub(DATA_HEADER_LEN) else {
        return Received::Error(libc::EIO);
    };
    let Ok(h) = DataHeader::parse(header) else {
        return Received::Error(libc::EIO);
    };
    if h.error != 0 {
        // A Linux errno is below 4096; anything else is a broken daemon.
        return Received::Error(
            c_int::try_from(h.error)
                .ok()
                .filter(|e| *e < 4096)
                .unwrap_or(libc::EIO),
        );
    }
    Received::Data {
        len,
        group: h.group,
        sender: h.sender,
    }
}

/// The size of a `cmsghdr` and the alignment of control messages.
const CMSG_HDR: usize = std::mem::size_of::<libc::cmsghdr>();
const CMSG_ALIGN: usize = std::mem::size_of::<usize>();

/// `CMSG_ALIGN(n)`.
pub(crate) fn cmsg_align(n: usize) -> usize {
    n.saturating_add(CMSG_ALIGN - 1) & !(CMSG_ALIGN - 1)
}

/// The `NETLINK_PKTINFO` control message (`struct nl_pktinfo { u32 group }`)
/// as the kernel writes it: the bytes (its `CMSG_SPACE`) and its
/// `cmsg_len`.
pub(crate) fn pktinfo_cmsg(group: u32) -> (Vec<u8>, usize) {
    cmsg(
        libc::SOL_NETLINK,
        libc::NETLINK_PKTINFO,
        &group.to_ne_bytes(),
    )
}

/// The `SCM_CREDENTIALS` control message (`struct ucred`) of a datagram
/// from `sender`, as `scm_recv` writes it: the bytes and its `cmsg_len`.
pub(crate) fn credentials_cmsg(sender: Sender) -> (Vec<u8>, usize) {
    let mut data = Vec::with_capacity(12);
    data.extend_from_slice(&sender.pid.to_ne_bytes());
    data.extend_from_slice(&sender.uid.to_ne_bytes());
    data.extend_from_slice(&sender.gid.to_ne_bytes());
    cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &data)
}

/// A control message as the kernel lays it out (`put_cmsg`): the bytes
/// (its `CMSG_SPACE`) and its `cmsg_len`.
fn cmsg(level: c_int, kind: c_int, data: &[u8]) -> (Vec<u8>, usize) {
    let len = cmsg_align(CMSG_HDR).saturating_add(data.len());
    let mut b = vec![0u8; cmsg_align(len)];
    let fields = [
        &len.to_ne_bytes()[..],
        &level.to_ne_bytes(),
        &kind.to_ne_bytes(),
    ];
    for (d, s) in b.iter_mut().zip(fields.into_iter().flatten()) {
        *d = *s;
    }
    if let Some(d) = b.get_mut(cmsg_align(CMSG_HDR)..len) {
        d.copy_from_slice(data);
    }
    (b, len)
}

/// Tells the daemon the reader's buffer size if it grew (errors ignored:
/// the size only tunes how dumps are cut).
fn report_reader_size(fd: c_int, len: usize) {
    if let Some((cookie, len)) = fdtable::raise_reader_size(fd, len) {
        let _ = control::request(&Request::ReaderSize { cookie, len });
    }
}

/// Receives one datagram on an emulated netlink socket into `msg` (the
/// caller's `msghdr`: its buffers, name and control buffer), as
/// `recvmsg(2)` on netlink would.
pub(crate) fn recv_netlink(
    fd: c_int,
    entry: NetlinkFd,
    msg: &mut MsgOut<'_>,
    flags: c_int,
) -> Result<usize, c_int> {
    let user = msg.bufs().check()?;
    report_reader_size(fd, user.total_len());

    let control_capacity = msg.control_capacity();
    let mut header = [0u8; DATA_HEADER_LEN];
    let (n, real_flags, real_control_len) = {
        // The header into `header`, the payload straight into the caller's
        // buffers.
        let mut real = msg.daemon_recv(&mut header, user);
        // A datagram already there is read first, in any mode: whatever
        // settling could add (below) would be queued after it. This spares
        // the mode's `fcntl` when the answer has come.
        let mut n = real.recv(fd, flags | libc::MSG_DONTWAIT);
        if n < 0 && errno() == libc::EAGAIN {
            real.reset();
            let nonblocking = flags & libc::MSG_DONTWAIT != 0 || is_nonblocking(fd);
            if nonblocking {
                // What is there to read now must include the answers to what
                // any socket of this process sent, and the notifications it
                // caused: the kernel handles a request inside `sendmsg`.
                control::settle_all(None);
            }
            n = spin_then_recvmsg(fd, &mut real, flags, nonblocking);
        }
        let n = usize::try_from(n).map_err(|_| errno());
        (n, real.flags(), real.control_len())
    };
    let n = n?;
    match interpret(n, &header) {
        Received::Closed => {
            msg.set_flags(real_flags);
            msg.set_control_len(0);
            Ok(0)
        }
        Received::Error(e) => {
            if flags & libc::MSG_PEEK != 0 {
                // Consume the error as the kernel does (it clears sk_err).
                os::recv(fd, &mut header, libc::MSG_DONTWAIT);
            }
            Err(e)
        }
        Received::Data { len, group, sender } => {
            let h = DataHeader::data(group, sender);
            msg.write_name(&sockaddr_nl(sender.port, h.groups_mask()));
            msg.set_flags(real_flags);
            msg.set_control_len(real_control_len);
            // In `netlink_recvmsg`'s order: the group, then the sender's
            // credentials.
            if entry.pktinfo {
                msg.append_control(control_capacity, &pktinfo_cmsg(group).0);
            }
            if entry.passcred {
                msg.append_control(control_capacity, &credentials_cmsg(sender).0);
            }
            Ok(len)
        }
    }
}

static AT_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// At `exit`: what was sent is handled before the process goes. Gives up
/// rather than wait when the table's lock is held (`exit` called from a
/// signal handler that interrupted the shim).
fn settle_at_exit() {
    if let Some(cookies) = fdtable::try_take_all_sent() {
        for cookie in cookies {
            control::settle(cookie);
        }
    }
}

/// `O_NONBLOCK` is set on `fd`.
fn is_nonblocking(fd: c_int) -> bool {
    let fl = os::get_status_flags(fd);
    fl >= 0 && fl & libc::O_NONBLOCK != 0
}

/// How long a read that would wait first polls for the daemon's answer,
/// in microseconds ([`nlq_remote::spin_micros`]).
fn spin_us() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Worked out once (an atomic, not a `OnceLock`, so that a child
    // forked meanwhile never waits on it); `u64::MAX`: not yet.
    static US: AtomicU64 = AtomicU64::new(u64::MAX);
    let us = US.load(Ordering::Relaxed);
    if us != u64::MAX {
        return us;
    }
    let asked = std::env::var(nlq_remote::SPIN_ENV).ok();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let us = nlq_remote::spin_micros(asked.as_deref(), cpus).min(u64::MAX - 1);
    US.store(us, Ordering::Relaxed);
    us
}

/// `recvmsg` on the daemon connection; a read that would wait polls
/// first for [`spin_us`].
fn spin_then_recvmsg(
    fd: c_int,
    real: &mut DaemonRecv<'_>,
    flags: c_int,
    nonblocking: bool,
) -> ssize_t {
    let us = spin_us();
    if !nonblocking && us > 0 {
        let start = std::time::Instant::now();
        let limit = std::time::Duration::from_micros(us);
        loop {
            let n = real.recv(fd, flags | libc::MSG_DONTWAIT);
            // An answer, or an error (a one-time one, such as a reset,
            // must not be swallowed by a second call).
            if n >= 0 || errno() != libc::EAGAIN {
                return n;
            }
            if start.elapsed() >= limit {
                break;
            }
            std::hint::spin_loop();
        }
    }
    real.recv(fd, flags)
}

/// Sends one datagram of the caller's buffers to the daemon. A destination
/// address is checked as netlink checks it; one naming a port or groups
/// goes as a control request (see [`send_to_peers`]); control messages
/// are dropped.
fn send_netlink(fd: c_int, bufs: IoVecs<'_>, dest: &[u8], flags: c_int) -> Result<usize, c_int> {
    let entry = fdtable::get(fd);
    let dest = match dest {
        [] => entry.map_or((0, 0), |e| e.dest),
        d => parse_sockaddr_nl(d)?,
    };
    if let (Some(e), (port, groups)) = (entry, dest) {
        if port != 0 || groups != 0 {
            return send_to_peers(e.cookie, bufs.check()?, port, groups);
        }
    }
    // What other sockets of this process sent is handled first, as the
    // kernel handled it in their `sendmsg`.
    if let Some(e) = entry {
        control::settle_all(Some(e.cookie));
    }
    let bufs = bufs.check()?;
    // The caller's buffers go to the daemon where they are.
    let n = bufs.sendmsg(fd, flags | libc::MSG_NOSIGNAL);
    let sent = usize::try_from(n).map_err(|_| match errno() {
        libc::EPIPE | libc::ECONNRESET => libc::ECONNREFUSED,
        e => e,
    })?;
    // The kernel handles a request inside `sendmsg`: its replies are
    // queued when the call returns. The daemon is told to catch up only
    // when that could show: before a read that must not wait, before any
    // other exchange with the daemon, at close and at exit (see
    // `control::settle_all`); a read that waits sees the answers anyway.
    if let Some(e) = entry {
        fdtable::sent(e.cookie);
        // Once per process (an atomic, not a `Once`: a child forked while
        // another thread registers must not wait on it).
        if !AT_EXIT.swap(true, std::sync::atomic::Ordering::AcqRel) {
            // If it fails (ENOMEM), requests sent just before a bare exit
            // may be handled after.
            let _ = os::at_exit(settle_at_exit);
        }
    }
    Ok(sent)
}

/// Sends a datagram to a port or groups (`nl_pid`, `nl_groups`) rather
/// than to the kernel alone: the daemon delivers it as the kernel does
/// (`EPERM` without `CAP_NET_ADMIN`, `ECONNREFUSED` for a port no socket
/// has) and answers once it is delivered, and handled when port 0 is a
/// destination too.
fn send_to_peers(cookie: u64, bufs: Bufs<'_>, port: u32, groups: u32) -> Result<usize, c_int> {
    let datagram = bufs.gather()?;
    let req = Request::SendTo {
        cookie,
        port,
        groups,
    };
    control::request_with_payload(&req, &datagram).map(|_| datagram.len())
}

/// Receives into one buffer, with an optional sender address.
fn recv_one(
    fd: c_int,
    entry: NetlinkFd,
    buf: &mut RecvBuf<'_>,
    flags: c_int,
) -> Result<usize, c_int> {
    buf.as_message(|m| recv_netlink(fd, entry, m, flags))
}

/// `ssize_t` of a byte count.
fn ssize(n: usize) -> ssize_t {
    ssize_t::try_from(n).unwrap_or(ssize_t::MAX)
}

/// The result of a netlink call in the C convention.
fn done(r: Result<usize, c_int>) -> ssize_t {
    finish(r.map(ssize), -1)
}

/// `send(2)` of `bufs` (one buffer).
pub(crate) fn send(
    fd: c_int,
    bufs: IoVecs<'_>,
    flags: c_int,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    if fdtable::get(fd).is_none() {
        return original();
    }
    done(send_netlink(fd, bufs, &[], flags))
}

/// `sendto(2)` of `bufs` (one buffer).
pub(crate) fn sendto(
    fd: c_int,
    bufs: IoVecs<'_>,
    dest: AddrIn<'_>,
    flags: c_int,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    if fdtable::get(fd).is_none() {
        let named = dest.bytes().is_ok_and(crate::host_links::names_a_link);
        if named && crate::config::enabled() {
            return fail(crate::host_links::REFUSAL, -1);
        }
        return original();
    }
    done(
        dest.bytes()
            .and_then(|dest| send_netlink(fd, bufs, dest, flags)),
    )
}

/// `sendmsg` on an emulated netlink socket.
fn sendmsg_netlink(fd: c_int, msg: Option<MsgIn<'_>>, flags: c_int) -> Result<usize, c_int> {
    let m = msg.ok_or(libc::EFAULT)?;
    let dest = m.name().bytes()?;
    send_netlink(fd, m.bufs(), dest, flags)
}

/// `sendmsg(2)` (`None`: a NULL `msg`).
pub(crate) fn sendmsg(
    fd: c_int,
    msg: Option<MsgIn<'_>>,
    flags: c_int,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    if fdtable::get(fd).is_none() {
        let named =
            msg.is_some_and(|m| m.name().bytes().is_ok_and(crate::host_links::names_a_link));
        if named && crate::config::enabled() {
            return fail(crate::host_links::REFUSAL, -1);
        }
        return original();
    }
    done(sendmsg_netlink(fd, msg, flags))
}

/// `sendmmsg(2)`: one datagram per message, stopping at the first failure
/// (which is the call's only when no message was sent).
pub(crate) fn sendmmsg(
    fd: c_int,
    mut msgs: MsgArray<'_>,
    vlen: c_uint,
    flags: c_int,
    original: impl FnOnce() -> c_int,
) -> c_int {
    if fdtable::get(fd).is_none() {
        return original();
    }
    let vlen = vlen.min(IOV_MAX as c_uint);
    if msgs.is_null() && vlen > 0 {
        return fail(libc::EFAULT, -1);
    }
    let mut sent: c_int = 0;
    for i in 0..vlen as usize {
        let Some((m, msg_len)) = msgs.entry(i) else {
            break;
        };
        match sendmsg_netlink(fd, Some(m.as_sent()), flags) {
            Ok(n) => {
                *msg_len = c_uint::try_from(n).unwrap_or(c_uint::MAX);
                sent = sent.saturating_add(1);
            }
            Err(e) if sent == 0 => return fail(e, -1),
            Err(_) => break,
        }
    }
    sent
}

/// `write(2)` of `bufs` (one buffer): on an emulated netlink socket, a
/// `send`.
pub(crate) fn write(fd: c_int, bufs: IoVecs<'_>, original: impl FnOnce() -> ssize_t) -> ssize_t {
    if fdtable::get(fd).is_some() {
        match send_netlink(fd, bufs, &[], 0) {
            Err(libc::ENOTSOCK) => {
                fdtable::remove(fd);
            }
            r => return done(r),
        }
    }
    original()
}

/// `writev(2)` (`None`: a negative count): on an emulated netlink socket,
/// a `sendmsg`.
pub(crate) fn writev(
    fd: c_int,
    bufs: Option<IoVecs<'_>>,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    if fdtable::get(fd).is_some() {
        let Some(bufs) = bufs else {
            return fail(libc::EINVAL, -1);
        };
        match send_netlink(fd, bufs, &[], 0) {
            Err(libc::ENOTSOCK) => {
                fdtable::remove(fd);
            }
            r => return done(r),
        }
    }
    original()
}

/// `recv(2)` and `recvfrom(2)`.
pub(crate) fn recv(
    fd: c_int,
    mut buf: RecvBuf<'_>,
    flags: c_int,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    match fdtable::get(fd) {
        Some(e) => done(recv_one(fd, e, &mut buf, flags)),
        None => original(),
    }
}

/// `recvmsg(2)` (`None`: a NULL `msg`).
pub(crate) fn recvmsg(
    fd: c_int,
    msg: Option<MsgOut<'_>>,
    flags: c_int,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    let Some(e) = fdtable::get(fd) else {
        return original();
    };
    let Some(mut m) = msg else {
        return fail(libc::EFAULT, -1);
    };
    done(recv_netlink(fd, e, &mut m, flags))
}

/// `recvmmsg(2)`: one datagram per message; with `MSG_WAITFORONE` only the
/// first may block. Stops at the first failure (the call's only when no
/// message was received). The timeout is ignored.
pub(crate) fn recvmmsg(
    fd: c_int,
    mut msgs: MsgArray<'_>,
    vlen: c_uint,
    flags: c_int,
    original: impl FnOnce() -> c_int,
) -> c_int {
    let Some(e) = fdtable::get(fd) else {
        return original();
    };
    let vlen = vlen.min(IOV_MAX as c_uint);
    if msgs.is_null() && vlen > 0 {
        return fail(libc::EFAULT, -1);
    }
    let mut got: c_int = 0;
    for i in 0..vlen as usize {
        let mut f = flags & !libc::MSG_WAITFORONE;
        if got > 0 && flags & libc::MSG_WAITFORONE != 0 {
            f |= libc::MSG_DONTWAIT;
        }
        let Some((mut m, msg_len)) = msgs.entry(i) else {
            break;
        };
        match recv_netlink(fd, e, &mut m, f) {
            Ok(n) => {
                *msg_len = c_uint::try_from(n).unwrap_or(c_uint::MAX);
                got = got.saturating_add(1);
            }
            Err(err) if got == 0 => return fail(err, -1),
            Err(_) => break,
        }
    }
    got
}

/// `read(2)`: on an emulated netlink socket, a `recv` without flags (but,
/// as on any socket, reading 0 bytes returns 0 and leaves the datagram).
pub(crate) fn read(fd: c_int, mut buf: RecvBuf<'_>, original: impl FnOnce() -> ssize_t) -> ssize_t {
    if let Some(e) = fdtable::get(fd) {
        if buf.len() == 0 {
            return 0;
        }
        match recv_one(fd, e, &mut buf, 0) {
            Err(libc::ENOTSOCK) => {
                fdtable::remove(fd);
            }
            r => return done(r),
        }
    }
    original()
}

/// `readv(2)` (`None`: a negative count): on an emulated netlink socket,
/// a `recvmsg` without flags (reading 0 bytes returns 0, as for [`read`]).
pub(crate) fn readv(
    fd: c_int,
    bufs: Option<IoVecs<'_>>,
    original: impl FnOnce() -> ssize_t,
) -> ssize_t {
    if let Some(e) = fdtable::get(fd) {
        let Some(bufs) = bufs else {
            return fail(libc::EINVAL, -1);
        };
        match bufs.check() {
            Ok(v) if v.all_empty() => return 0,
            Ok(_) => {}
            Err(err) => return fail(err, -1),
        }
        match bufs.as_message(|m| recv_netlink(fd, e, m, 0)) {
            Err(libc::ENOTSOCK) => {
                fdtable::remove(fd);
            }
            r => return done(r),
        }
    }
    original()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_lengths_errors_or_eof() {
        const H: usize = DATA_HEADER_LEN;
        let sender = Sender {
            port: 9,
            pid: 10,
            uid: 11,
            gid: 12,
        };
        let data = DataHeader::data(5, sender).to_bytes();
        assert_eq!(
            interpret(H + 100, &data),
            Received::Data {
                len: 100,
                group: 5,
                sender
            }
        );
        assert_eq!(
            interpret(H, &data),
            Received::Data {
                len: 0,
                group: 5,
                sender
            }
        );
        let enobufs = DataHeader::failure(nlq::errno::Errno::ENOBUFS).to_bytes();
        assert_eq!(interpret(H, &enobufs), Received::Error(libc::ENOBUFS));
        let silly = DataHeader::failure(nlq::errno::Errno(1 << 20)).to_bytes();
        assert_eq!(interpret(H, &silly), Received::Error(libc::EIO));
        assert_eq!(interpret(0, &[0; H]), Received::Closed);
        assert_eq!(interpret(3, &[0; H]), Received::Error(libc::EIO));
    }

    #[test]
    fn pktinfo_is_laid_out_like_cmsg_macros_say() {
        let (b, len) = pktinfo_cmsg(36);
        let (space, clen) = crate::sys::os::cmsg_space_and_len(4);
        assert_eq!(b.len(), space as usize);
        assert_eq!(len, clen as usize);
        assert_eq!(b[..8], (clen as usize).to_ne_bytes()[..8]);
        assert_eq!(b[8..12], libc::SOL_NETLINK.to_ne_bytes());
        assert_eq!(b[12..16], libc::NETLINK_PKTINFO.to_ne_bytes());
        assert_eq!(b[16..20], 36u32.to_ne_bytes());
    }

    #[test]
    fn credentials_are_laid_out_as_a_ucred() {
        let (b, len) = credentials_cmsg(Sender {
            port: 1,
            pid: 2,
            uid: 3,
            gid: 4,
        });
        let (space, clen) = crate::sys::os::cmsg_space_and_len(12);
        assert_eq!((b.len(), len), (space as usize, clen as usize));
        assert_eq!(b[8..12], libc::SOL_SOCKET.to_ne_bytes());
        assert_eq!(b[12..16], libc::SCM_CREDENTIALS.to_ne_bytes());
        let words: Vec<u32> = b[16..28]
            .chunks(4)
            .map(|w| u32::from_ne_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(words, [2, 3, 4]);
    }
}
