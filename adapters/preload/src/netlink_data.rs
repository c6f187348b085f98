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

use libc::{
    c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t, timespec,
};
use nlq::remote::{DataHeader, Request, DATA_HEADER_LEN};
use nlq::server::Sender;

use crate::control;
use crate::fdtable::{self, NetlinkFd};
use crate::ffi::{errno, fail, finish, guard};
use crate::netlink_socket::{address_bytes, parse_sockaddr_nl, sockaddr_nl, SOCKADDR_NL_LEN};
use crate::real;

/// `IOV_MAX`: the most buffers one call takes.
const IOV_MAX: usize = 1024;

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

fn cmsg_align(n: usize) -> usize {
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

/// The caller's buffers as a slice (`EFAULT` for a null array with a
/// length, `EMSGSIZE` past `IOV_MAX`).
///
/// # Safety
///
/// `iov` is null or valid for `n` entries.
unsafe fn iovecs<'a>(iov: *const iovec, n: usize) -> Result<&'a [iovec], c_int> {
    if n == 0 {
        return Ok(&[]);
    }
    if n > IOV_MAX {
        return Err(libc::EMSGSIZE);
    }
    if iov.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(iov, n) })
}

/// Receives one datagram on an emulated netlink socket into `msg` (the
/// caller's `msghdr`: its buffers, name and control buffer), as
/// `recvmsg(2)` on netlink would.
///
/// # Safety
///
/// `msg` describes valid buffers, as for `recvmsg(2)`.
unsafe fn recv_netlink(
    fd: c_int,
    entry: NetlinkFd,
    msg: &mut msghdr,
    flags: c_int,
) -> Result<usize, c_int> {
    // SAFETY: the caller's promise on `msg`.
    let user = unsafe { iovecs(msg.msg_iov, msg.msg_iovlen) }?;
    let total = user.iter().fold(0usize, |t, v| t.saturating_add(v.iov_len));
    report_reader_size(fd, total);

    let mut header = [0u8; DATA_HEADER_LEN];
    let mut iov = Vec::with_capacity(user.len().saturating_add(1));
    iov.push(iovec {
        iov_base: header.as_mut_ptr().cast(),
        iov_len: header.len(),
    });
    iov.extend_from_slice(user);
    // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
    let mut real_msg: msghdr = unsafe { std::mem::zeroed() };
    real_msg.msg_iov = iov.as_mut_ptr();
    real_msg.msg_iovlen = iov.len();
    let control_capacity = if msg.msg_control.is_null() {
        0
    } else {
        msg.msg_controllen
    };
    real_msg.msg_control = msg.msg_control;
    real_msg.msg_controllen = control_capacity;

    // A datagram already there is read first, in any mode: whatever
    // settling could add (below) would be queued after it. This spares
    // the mode's `fcntl` when the answer has come.
    // SAFETY: every buffer is the caller's or `header`, valid for its length.
    let mut n = unsafe { real::recvmsg(fd, &mut real_msg, flags | libc::MSG_DONTWAIT) };
    if n < 0 && errno() == libc::EAGAIN {
        real_msg.msg_controllen = control_capacity;
        real_msg.msg_flags = 0;
        let nonblocking = flags & libc::MSG_DONTWAIT != 0 || is_nonblocking(fd);
        if nonblocking {
            // What is there to read now must include the answers to what
            // any socket of this process sent, and the notifications it
            // caused: the kernel handles a request inside `sendmsg`.
            control::settle_all(None);
        }
        // SAFETY: as above.
        n = unsafe { spin_then_recvmsg(fd, &mut real_msg, flags, nonblocking) };
    }
    let n = usize::try_from(n).map_err(|_| errno())?;
    match interpret(n, &header) {
        Received::Closed => {
            msg.msg_flags = real_msg.msg_flags;
            msg.msg_controllen = 0;
            Ok(0)
        }
        Received::Error(e) => {
            if flags & libc::MSG_PEEK != 0 {
                // Consume the error as the kernel does (it clears sk_err).
                // SAFETY: `header` is valid for its length.
                unsafe {
                    real::recv(
                        fd,
                        header.as_mut_ptr().cast(),
                        header.len(),
                        libc::MSG_DONTWAIT,
                    )
                };
            }
            Err(e)
        }
        Received::Data { len, group, sender } => {
            let h = DataHeader::data(group, sender);
            if !msg.msg_name.is_null() {
                let sa = sockaddr_nl(sender.port, h.groups_mask());
                let room = usize::try_from(msg.msg_namelen)
                    .unwrap_or(0)
                    .min(SOCKADDR_NL_LEN);
                // SAFETY: `msg_name` has `msg_namelen >= room` bytes.
                unsafe {
                    std::ptr::copy_nonoverlapping(sa.as_ptr(), msg.msg_name.cast::<u8>(), room)
                };
                msg.msg_namelen = SOCKADDR_NL_LEN as socklen_t;
            }
            msg.msg_flags = real_msg.msg_flags;
            msg.msg_controllen = real_msg.msg_controllen;
            // In `netlink_recvmsg`'s order: the group, then the sender's
            // credentials.
            if entry.pktinfo {
                // SAFETY: `msg_control` has `control_capacity` bytes.
                unsafe { append_cmsg(msg, control_capacity, &pktinfo_cmsg(group).0) };
            }
            if entry.passcred {
                // SAFETY: `msg_control` has `control_capacity` bytes.
                unsafe { append_cmsg(msg, control_capacity, &credentials_cmsg(sender).0) };
            }
            Ok(len)
        }
    }
}

/// Appends a control message (its `CMSG_SPACE` bytes) after what is
/// there, or sets `MSG_CTRUNC` when it does not fit.
///
/// # Safety
///
/// `msg.msg_control` is null or valid for `capacity` bytes.
unsafe fn append_cmsg(msg: &mut msghdr, capacity: usize, cmsg: &[u8]) {
    let used = cmsg_align(msg.msg_controllen);
    let end = used.saturating_add(cmsg.len());
    if msg.msg_control.is_null() || end > capacity {
        msg.msg_flags |= libc::MSG_CTRUNC;
        return;
    }
    // SAFETY: `used..end` lies within the caller's `capacity` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(
            cmsg.as_ptr(),
            msg.msg_control.cast::<u8>().add(used),
            cmsg.len(),
        )
    };
    msg.msg_controllen = end;
}

static AT_EXIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// At `exit`: what was sent is handled before the process goes. Gives up
/// rather than wait when the table's lock is held (`exit` called from a
/// signal handler that interrupted the shim).
extern "C" fn settle_at_exit() {
    if let Some(cookies) = fdtable::try_take_all_sent() {
        for cookie in cookies {
            control::settle(cookie);
        }
    }
}

/// `O_NONBLOCK` is set on `fd`.
fn is_nonblocking(fd: c_int) -> bool {
    // SAFETY: F_GETFL reads the descriptor's flags; no memory is passed.
    let fl = unsafe { real::fcntl(fd, libc::F_GETFL, 0) };
    fl >= 0 && fl & libc::O_NONBLOCK != 0
}

/// How long a read that would wait first polls for the daemon's answer,
/// in microseconds ([`nlq::remote::spin_micros`]).
fn spin_us() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Worked out once (an atomic, not a `OnceLock`, so that a child
    // forked meanwhile never waits on it); `u64::MAX`: not yet.
    static US: AtomicU64 = AtomicU64::new(u64::MAX);
    let us = US.load(Ordering::Relaxed);
    if us != u64::MAX {
        return us;
    }
    let asked = std::env::var(nlq::remote::SPIN_ENV).ok();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let us = nlq::remote::spin_micros(asked.as_deref(), cpus).min(u64::MAX - 1);
    US.store(us, Ordering::Relaxed);
    us
}

/// `recvmsg` on the daemon connection; a read that would wait polls
/// first for [`spin_us`].
///
/// # Safety
///
/// `msg` describes valid buffers.
unsafe fn spin_then_recvmsg(
    fd: c_int,
    msg: &mut msghdr,
    flags: c_int,
    nonblocking: bool,
) -> ssize_t {
    let us = spin_us();
    if !nonblocking && us > 0 {
        let start = std::time::Instant::now();
        let limit = std::time::Duration::from_micros(us);
        loop {
            // SAFETY: the caller's promise.
            let n = unsafe { real::recvmsg(fd, msg, flags | libc::MSG_DONTWAIT) };
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
    // SAFETY: the caller's promise.
    unsafe { real::recvmsg(fd, msg, flags) }
}

/// Sends one datagram of the caller's buffers to the daemon. A destination
/// address is checked as netlink checks it; one naming a port or groups
/// goes as a control request (see [`send_to_peers`]); control messages
/// are dropped.
///
/// # Safety
///
/// `iov` is null or valid for `iovlen` entries describing valid buffers.
unsafe fn send_netlink(
    fd: c_int,
    iov: *const iovec,
    iovlen: usize,
    dest: &[u8],
    flags: c_int,
) -> Result<usize, c_int> {
    let entry = fdtable::get(fd);
    let dest = match dest {
        [] => entry.map_or((0, 0), |e| e.dest),
        d => parse_sockaddr_nl(d)?,
    };
    if let (Some(e), (port, groups)) = (entry, dest) {
        if port != 0 || groups != 0 {
            // SAFETY: the caller's promise.
            return send_to_peers(e.cookie, unsafe { iovecs(iov, iovlen) }?, port, groups);
        }
    }
    // What other sockets of this process sent is handled first, as the
    // kernel handled it in their `sendmsg`.
    if let Some(e) = entry {
        control::settle_all(Some(e.cookie));
    }
    // SAFETY: the caller's promise.
    let bufs = unsafe { iovecs(iov, iovlen) }?;
    // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = bufs.as_ptr().cast_mut();
    m.msg_iovlen = bufs.len();
    // SAFETY: `m` describes the caller's buffers only.
    let n = unsafe { real::sendmsg(fd, &m, flags | libc::MSG_NOSIGNAL) };
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
            // SAFETY: registers a plain function. If it fails (ENOMEM),
            // requests sent just before a bare exit may be handled after.
            let _ = unsafe { libc::atexit(settle_at_exit) };
        }
    }
    Ok(sent)
}

/// Sends a datagram to a port or groups (`nl_pid`, `nl_groups`) rather
/// than to the kernel alone: the daemon delivers it as the kernel does
/// (`EPERM` without `CAP_NET_ADMIN`, `ECONNREFUSED` for a port no socket
/// has) and answers once it is delivered, and handled when port 0 is a
/// destination too.
fn send_to_peers(cookie: u64, bufs: &[iovec], port: u32, groups: u32) -> Result<usize, c_int> {
    let total = bufs.iter().fold(0usize, |t, v| t.saturating_add(v.iov_len));
    let mut datagram = Vec::with_capacity(total);
    for v in bufs.iter().filter(|v| v.iov_len > 0) {
        if v.iov_base.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: the caller described `iov_len` readable bytes at
        // `iov_base` (`iovecs`' promise).
        datagram.extend_from_slice(unsafe {
            std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len)
        });
    }
    let req = Request::SendTo {
        cookie,
        port,
        groups,
    };
    control::request_with_payload(&req, &datagram).map(|_| datagram.len())
}

/// Receives into one buffer, with an optional sender address.
///
/// # Safety
///
/// `buf` is valid for `len` bytes; `addr` / `addrlen` as for `recvfrom(2)`.
unsafe fn recv_one(
    fd: c_int,
    entry: NetlinkFd,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> Result<usize, c_int> {
    let mut v = iovec {
        iov_base: buf,
        iov_len: len,
    };
    // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
    let mut m: msghdr = unsafe { std::mem::zeroed() };
    m.msg_iov = &mut v;
    m.msg_iovlen = 1;
    if !addr.is_null() && !addrlen.is_null() {
        m.msg_name = addr.cast();
        // SAFETY: `addrlen` is valid (the caller's promise).
        m.msg_namelen = unsafe { *addrlen };
    }
    // SAFETY: `m` describes the caller's buffers.
    let n = unsafe { recv_netlink(fd, entry, &mut m, flags) }?;
    if !m.msg_name.is_null() {
        // SAFETY: as above.
        unsafe { *addrlen = m.msg_namelen };
    }
    Ok(n)
}

/// `ssize_t` of a byte count.
fn ssize(n: usize) -> ssize_t {
    ssize_t::try_from(n).unwrap_or(ssize_t::MAX)
}

/// The result of a netlink call in the C convention.
fn done(r: Result<usize, c_int>) -> ssize_t {
    finish(r.map(ssize), -1)
}

/// `send(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::send(fd, buf, len, flags) };
        }
        let v = iovec {
            iov_base: buf.cast_mut(),
            iov_len: len,
        };
        // SAFETY: one buffer, the caller's.
        done(unsafe { send_netlink(fd, &v, 1, &[], flags) })
    })
}

/// `sendto(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's promise on `addr` / `addrlen`.
            let named =
                unsafe { address_bytes(addr, addrlen) }.is_ok_and(crate::host_links::names_a_link);
            if named && crate::config::enabled() {
                return fail(crate::host_links::REFUSAL, -1);
            }
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::sendto(fd, buf, len, flags, addr, addrlen) };
        }
        let v = iovec {
            iov_base: buf.cast_mut(),
            iov_len: len,
        };
        // SAFETY: the caller's buffer and address.
        done(unsafe { address_bytes(addr, addrlen) }.and_then(|dest| {
            // SAFETY: one buffer, the caller's.
            unsafe { send_netlink(fd, &v, 1, dest, flags) }
        }))
    })
}

/// `sendmsg` on an emulated netlink socket.
///
/// # Safety
///
/// `msg` is null or a valid `msghdr`.
unsafe fn sendmsg_netlink(fd: c_int, msg: *const msghdr, flags: c_int) -> Result<usize, c_int> {
    // SAFETY: the caller's promise.
    let m = unsafe { msg.as_ref() }.ok_or(libc::EFAULT)?;
    // SAFETY: the caller's name and buffers.
    let dest = unsafe { address_bytes(m.msg_name.cast(), m.msg_namelen) }?;
    // SAFETY: as above.
    unsafe { send_netlink(fd, m.msg_iov, m.msg_iovlen, dest, flags) }
}

/// `sendmsg(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's promise: `msg` is null or a `msghdr`.
            let named = unsafe { msg.as_ref() }.is_some_and(|m| {
                // SAFETY: the caller's name.
                unsafe { address_bytes(m.msg_name.cast(), m.msg_namelen) }
                    .is_ok_and(crate::host_links::names_a_link)
            });
            if named && crate::config::enabled() {
                return fail(crate::host_links::REFUSAL, -1);
            }
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::sendmsg(fd, msg, flags) };
        }
        // SAFETY: the caller's message.
        done(unsafe { sendmsg_netlink(fd, msg, flags) })
    })
}

/// `sendmmsg(2)`: one datagram per message, stopping at the first failure
/// (which is the call's only when no message was sent).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendmmsg(
    fd: c_int,
    msgs: *mut mmsghdr,
    vlen: c_uint,
    flags: c_int,
) -> c_int {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::sendmmsg(fd, msgs, vlen, flags) };
        }
        let vlen = vlen.min(IOV_MAX as c_uint);
        if msgs.is_null() && vlen > 0 {
            return fail(libc::EFAULT, -1);
        }
        let mut sent: c_int = 0;
        for i in 0..vlen as usize {
            // SAFETY: `msgs` has `vlen` entries (the caller's promise).
            let m = unsafe { &mut *msgs.add(i) };
            // SAFETY: as above.
            match unsafe { sendmsg_netlink(fd, &m.msg_hdr, flags) } {
                Ok(n) => {
                    m.msg_len = c_uint::try_from(n).unwrap_or(c_uint::MAX);
                    sent = sent.saturating_add(1);
                }
                Err(e) if sent == 0 => return fail(e, -1),
                Err(_) => break,
            }
        }
        sent
    })
}

/// `write(2)`: on an emulated netlink socket, a `send`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    guard(-1, || {
        if fdtable::get(fd).is_some() {
            let v = iovec {
                iov_base: buf.cast_mut(),
                iov_len: len,
            };
            // SAFETY: one buffer, the caller's.
            match unsafe { send_netlink(fd, &v, 1, &[], 0) } {
                Err(libc::ENOTSOCK) => {
                    fdtable::remove(fd);
                }
                r => return done(r),
            }
        }
        // SAFETY: the caller's arguments, unchanged.
        unsafe { real::write(fd, buf, len) }
    })
}

/// `writev(2)`: on an emulated netlink socket, a `sendmsg`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    guard(-1, || {
        if fdtable::get(fd).is_some() {
            let Ok(n) = usize::try_from(iovcnt) else {
                return fail(libc::EINVAL, -1);
            };
            // SAFETY: the caller's buffers.
            match unsafe { send_netlink(fd, iov, n, &[], 0) } {
                Err(libc::ENOTSOCK) => {
                    fdtable::remove(fd);
                }
                r => return done(r),
            }
        }
        // SAFETY: the caller's arguments, unchanged.
        unsafe { real::writev(fd, iov, iovcnt) }
    })
}

/// `recv(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    guard(-1, || match fdtable::get(fd) {
        // SAFETY: the caller's buffer.
        Some(e) => done(unsafe {
            recv_one(
                fd,
                e,
                buf,
                len,
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }),
        // SAFETY: the caller's arguments, unchanged.
        None => unsafe { real::recv(fd, buf, len, flags) },
    })
}

/// `recvfrom(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    guard(-1, || match fdtable::get(fd) {
        // SAFETY: the caller's buffer and address.
        Some(e) => done(unsafe { recv_one(fd, e, buf, len, flags, addr, addrlen) }),
        // SAFETY: the caller's arguments, unchanged.
        None => unsafe { real::recvfrom(fd, buf, len, flags, addr, addrlen) },
    })
}

/// `recvmsg(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::recvmsg(fd, msg, flags) };
        };
        // SAFETY: the caller's message.
        let Some(m) = (unsafe { msg.as_mut() }) else {
            return fail(libc::EFAULT, -1);
        };
        // SAFETY: the caller's message.
        done(unsafe { recv_netlink(fd, e, m, flags) })
    })
}

/// `recvmmsg(2)`: one datagram per message; with `MSG_WAITFORONE` only the
/// first may block. Stops at the first failure (the call's only when no
/// message was received). The timeout is ignored.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvmmsg(
    fd: c_int,
    msgs: *mut mmsghdr,
    vlen: c_uint,
    flags: c_int,
    timeout: *mut timespec,
) -> c_int {
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::recvmmsg(fd, msgs, vlen, flags, timeout) };
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
            // SAFETY: `msgs` has `vlen` entries (the caller's promise).
            let m = unsafe { &mut *msgs.add(i) };
            // SAFETY: the caller's message.
            match unsafe { recv_netlink(fd, e, &mut m.msg_hdr, f) } {
                Ok(n) => {
                    m.msg_len = c_uint::try_from(n).unwrap_or(c_uint::MAX);
                    got = got.saturating_add(1);
                }
                Err(err) if got == 0 => return fail(err, -1),
                Err(_) => break,
            }
        }
        got
    })
}

/// `read(2)`: on an emulated netlink socket, a `recv` without flags (but,
/// as on any socket, reading 0 bytes returns 0 and leaves the datagram).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    guard(-1, || {
        if let Some(e) = fdtable::get(fd) {
            if len == 0 {
                return 0;
            }
            let (addr, addrlen) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: the caller's buffer.
            match unsafe { recv_one(fd, e, buf, len, 0, addr, addrlen) } {
                Err(libc::ENOTSOCK) => {
                    fdtable::remove(fd);
                }
                r => return done(r),
            }
        }
        // SAFETY: the caller's arguments, unchanged.
        unsafe { real::read(fd, buf, len) }
    })
}

/// `readv(2)`: on an emulated netlink socket, a `recvmsg` without flags
/// (reading 0 bytes returns 0, as for [`read`]).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    guard(-1, || {
        if let Some(e) = fdtable::get(fd) {
            let Ok(n) = usize::try_from(iovcnt) else {
                return fail(libc::EINVAL, -1);
            };
            // SAFETY: the caller's buffers.
            match unsafe { iovecs(iov, n) } {
                Ok(v) if v.iter().all(|v| v.iov_len == 0) => return 0,
                Ok(_) => {}
                Err(err) => return fail(err, -1),
            }
            // SAFETY: `msghdr` is plain data; all zeros is a valid one.
            let mut m: msghdr = unsafe { std::mem::zeroed() };
            m.msg_iov = iov.cast_mut();
            m.msg_iovlen = n;
            // SAFETY: the caller's buffers.
            match unsafe { recv_netlink(fd, e, &mut m, 0) } {
                Err(libc::ENOTSOCK) => {
                    fdtable::remove(fd);
                }
                r => return done(r),
            }
        }
        // SAFETY: the caller's arguments, unchanged.
        unsafe { real::readv(fd, iov, iovcnt) }
    })
}

/// `__read_chk`: `read` compiled with `_FORTIFY_SOURCE`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    buflen: size_t,
) -> ssize_t {
    if len > buflen || fdtable::get(fd).is_none() {
        // SAFETY: the caller's arguments, unchanged (libc aborts on overflow).
        return unsafe { real::__read_chk(fd, buf, len, buflen) };
    }
    // SAFETY: as for `read`.
    unsafe { read(fd, buf, len) }
}

/// `__recv_chk`: `recv` compiled with `_FORTIFY_SOURCE`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    buflen: size_t,
    flags: c_int,
) -> ssize_t {
    if len > buflen || fdtable::get(fd).is_none() {
        // SAFETY: the caller's arguments, unchanged (libc aborts on overflow).
        return unsafe { real::__recv_chk(fd, buf, len, buflen, flags) };
    }
    // SAFETY: as for `recv`.
    unsafe { recv(fd, buf, len, flags) }
}

/// `__recvfrom_chk`: `recvfrom` compiled with `_FORTIFY_SOURCE`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    buflen: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    if len > buflen || fdtable::get(fd).is_none() {
        // SAFETY: the caller's arguments, unchanged (libc aborts on overflow).
        return unsafe { real::__recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen) };
    }
    // SAFETY: as for `recvfrom`.
    unsafe { recvfrom(fd, buf, len, flags, addr, addrlen) }
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
        let enobufs = DataHeader::failure(105).to_bytes();
        assert_eq!(interpret(H, &enobufs), Received::Error(libc::ENOBUFS));
        let silly = DataHeader::failure(1 << 20).to_bytes();
        assert_eq!(interpret(H, &silly), Received::Error(libc::EIO));
        assert_eq!(interpret(0, &[0; H]), Received::Closed);
        assert_eq!(interpret(3, &[0; H]), Received::Error(libc::EIO));
    }

    #[test]
    fn pktinfo_is_laid_out_like_cmsg_macros_say() {
        let (b, len) = pktinfo_cmsg(36);
        // SAFETY: pure arithmetic macros.
        let (space, clen) = unsafe { (libc::CMSG_SPACE(4), libc::CMSG_LEN(4)) };
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
        // SAFETY: pure arithmetic macros.
        let (space, clen) = unsafe { (libc::CMSG_SPACE(12), libc::CMSG_LEN(12)) };
        assert_eq!((b.len(), len), (space as usize, clen as usize));
        assert_eq!(b[8..12], libc::SOL_SOCKET.to_ne_bytes());
        assert_eq!(b[12..16], libc::SCM_CREDENTIALS.to_ne_bytes());
        let words: Vec<u32> = b[16..28]
            .chunks(4)
            .map(|w| u32::from_ne_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(words, [2, 3, 4]);
    }

    #[test]
    fn pktinfo_is_appended_or_truncated() {
        let mut control = [0u64; 8];
        // SAFETY: `msghdr` is plain data.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_control = control.as_mut_ptr().cast();
        m.msg_controllen = 0;
        // SAFETY: `control` has 64 bytes.
        unsafe { append_cmsg(&mut m, 64, &pktinfo_cmsg(3).0) };
        assert_eq!(m.msg_controllen, 24);
        assert_eq!(m.msg_flags & libc::MSG_CTRUNC, 0);
        // SAFETY: as above.
        unsafe { append_cmsg(&mut m, 40, &pktinfo_cmsg(3).0) };
        assert_eq!(m.msg_controllen, 24);
        assert_ne!(m.msg_flags & libc::MSG_CTRUNC, 0);
        // SAFETY: a valid cmsg buffer written above.
        let first = unsafe { libc::CMSG_FIRSTHDR(&m) };
        assert!(!first.is_null());
        // SAFETY: as above.
        unsafe {
            assert_eq!((*first).cmsg_level, libc::SOL_NETLINK);
            assert_eq!(*libc::CMSG_DATA(first).cast::<u32>(), 3);
        }
    }

    /// End to end through the exported functions, against the scripted
    /// daemon of `fake_daemon`.
    mod with_a_daemon {
        use super::super::*;
        use crate::descriptors::{close, dup};
        use crate::fake_daemon;
        use crate::ffi::errno;
        use crate::netlink_socket::{setsockopt, socket};

        /// A new emulated netlink socket.
        fn netlink_socket() -> c_int {
            fake_daemon::start();
            // SAFETY: plain call.
            let fd = unsafe { socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
            assert!(fd >= 0, "socket: errno {}", errno());
            fd
        }

        fn send_str(fd: c_int, s: &str) {
            // SAFETY: `s` is valid for its length.
            let n = unsafe { send(fd, s.as_ptr().cast(), s.len(), 0) };
            assert_eq!(n, s.len() as ssize_t);
        }

        #[test]
        fn peek_trunc_names_and_reader_sizes() {
            let fd = netlink_socket();
            let cookie = fdtable::get(fd).unwrap().cookie;
            send_str(fd, "echo hello");
            let mut b = [0u8; 64];
            // SAFETY: `b`, `sa` and `len` are valid for what is passed.
            unsafe {
                // iproute2's probe: an empty buffer, MSG_PEEK | MSG_TRUNC.
                let n = recv(
                    fd,
                    b.as_mut_ptr().cast(),
                    0,
                    libc::MSG_PEEK | libc::MSG_TRUNC,
                );
                assert_eq!(n, 10);
                let mut sa: libc::sockaddr_storage = std::mem::zeroed();
                let mut len = std::mem::size_of_val(&sa) as socklen_t;
                let n = recvfrom(
                    fd,
                    b.as_mut_ptr().cast(),
                    4,
                    libc::MSG_TRUNC,
                    std::ptr::from_mut(&mut sa).cast(),
                    &mut len,
                );
                assert_eq!((n, &b[..4], len), (10, &b"echo"[..], 12));
                let nl = &*std::ptr::from_ref(&sa).cast::<libc::sockaddr_nl>();
                assert_eq!((nl.nl_family, nl.nl_pid, nl.nl_groups), (16, 0, 0));
                // The datagram is gone: nothing more to read.
                let n = recv(fd, b.as_mut_ptr().cast(), 64, libc::MSG_DONTWAIT);
                assert_eq!((n, errno()), (-1, libc::EAGAIN));
            }
            let sizes: Vec<u32> = fake_daemon::requests()
                .into_iter()
                .filter_map(|r| match r {
                    Request::ReaderSize { cookie: c, len } if c == cookie => Some(len),
                    _ => None,
                })
                .collect();
            // The empty peek does not count; the later sizes only grow.
            assert_eq!(sizes, vec![4, 64]);
            // SAFETY: our descriptor.
            unsafe { close(fd) };
        }

        #[test]
        fn groups_errors_and_read_write() {
            let fd = netlink_socket();
            let mut b = [0u8; 64];
            send_str(fd, "group 5");
            // SAFETY: `b`, `sa`, `v` and `m` are valid for what is passed.
            unsafe {
                let mut sa: libc::sockaddr_nl = std::mem::zeroed();
                let mut v = iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: b.len(),
                };
                let mut m: msghdr = std::mem::zeroed();
                m.msg_name = std::ptr::from_mut(&mut sa).cast();
                m.msg_namelen = 12;
                m.msg_iov = &mut v;
                m.msg_iovlen = 1;
                assert_eq!(recvmsg(fd, &mut m, 0), 7);
                assert_eq!((m.msg_namelen, sa.nl_groups, m.msg_flags), (12, 1 << 4, 0));

                // A queued errno fails the call, even a peek, and is gone.
                send_str(fd, "error 105");
                let n = recv(fd, b.as_mut_ptr().cast(), 64, libc::MSG_PEEK);
                assert_eq!((n, errno()), (-1, libc::ENOBUFS));
                assert_eq!(recv(fd, b.as_mut_ptr().cast(), 64, 0), 9);
                assert_eq!(&b[..9], b"error 105");

                // write / read are send / recv; an empty read leaves the
                // datagram.
                assert_eq!(write(fd, b"echo w".as_ptr().cast(), 6), 6);
                assert_eq!(read(fd, b.as_mut_ptr().cast(), 0), 0);
                assert_eq!(read(fd, b.as_mut_ptr().cast(), 64), 6);
                assert_eq!(&b[..6], b"echo w");

                // A short buffer: MSG_TRUNC in the flags, the copied length.
                send_str(fd, "echo 0123456789");
                let mut v = iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: 4,
                };
                let mut m: msghdr = std::mem::zeroed();
                m.msg_iov = &mut v;
                m.msg_iovlen = 1;
                assert_eq!(recvmsg(fd, &mut m, 0), 4);
                assert_ne!(m.msg_flags & libc::MSG_TRUNC, 0);
                close(fd);
            }
        }

        #[test]
        fn pktinfo_and_sendto_checks() {
            let fd = netlink_socket();
            let on: c_int = 1;
            // SAFETY: valid pointers and lengths throughout.
            unsafe {
                let r = setsockopt(
                    fd,
                    libc::SOL_NETLINK,
                    libc::NETLINK_PKTINFO,
                    std::ptr::from_ref(&on).cast(),
                    4,
                );
                assert_eq!(r, 0);
                // sendto checks the destination as netlink does.
                let kernel = crate::netlink_socket::sockaddr_nl(0, 0);
                let msg = b"group 3";
                let n = sendto(fd, msg.as_ptr().cast(), 7, 0, kernel.as_ptr().cast(), 8);
                assert_eq!((n, errno()), (-1, libc::EINVAL));
                let n = sendto(fd, msg.as_ptr().cast(), 7, 0, kernel.as_ptr().cast(), 12);
                assert_eq!(n, 7);
                let mut b = [0u8; 64];
                let mut control = [0u64; 8];
                let mut v = iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: b.len(),
                };
                let mut m: msghdr = std::mem::zeroed();
                m.msg_iov = &mut v;
                m.msg_iovlen = 1;
                m.msg_control = control.as_mut_ptr().cast();
                m.msg_controllen = 64;
                assert_eq!(recvmsg(fd, &mut m, 0), 7);
                let c = libc::CMSG_FIRSTHDR(&m);
                assert!(!c.is_null());
                assert_eq!(
                    ((*c).cmsg_level, (*c).cmsg_type),
                    (libc::SOL_NETLINK, libc::NETLINK_PKTINFO)
                );
                assert_eq!(*libc::CMSG_DATA(c).cast::<u32>(), 3);
                close(fd);
            }
        }

        #[test]
        fn duplicates_share_the_socket_and_close_forgets() {
            let fd = netlink_socket();
            // SAFETY: our descriptors.
            unsafe {
                let d = dup(fd);
                assert!(d >= 0);
                assert_eq!(fdtable::get(d), fdtable::get(fd));
                close(fd);
                assert_eq!(fdtable::get(fd), None);
                send_str(d, "echo via dup");
                let mut b = [0u8; 64];
                assert_eq!(recv(d, b.as_mut_ptr().cast(), 64, 0), 12);
                close(d);
                assert_eq!(fdtable::get(d), None);
            }
        }
    }
}
