//! Safe wrappers around the few libc calls the daemon and its clients need:
//! `AF_UNIX` `SOCK_SEQPACKET` sockets, `SO_PEERCRED`, `sendmsg` with two
//! buffers, `poll`, `epoll`, `flock`, `fallocate`, and a stop flag set by
//! `SIGINT` / `SIGTERM`.
//!
//! This is the only module with `unsafe` code. Every function takes and
//! returns owned or borrowed file descriptors and slices, checks lengths
//! before handing pointers to the kernel, and turns `-1` into the
//! `io::Error` of `errno`.

use std::ffi::{c_int, c_void};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `-1` becomes the last OS error.
fn check(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `-1` becomes the last OS error (for calls returning `ssize_t`).
fn check_size(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// A `sockaddr_un` for `path` and its length; `ENAMETOOLONG` when the path
/// does not fit (108 bytes with the terminating NUL), `EINVAL` for an empty
/// path or one holding a NUL byte.
fn sockaddr_un(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() || bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { MaybeUninit::zeroed().assume_init() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = size_of::<libc::sa_family_t>()
        .saturating_add(bytes.len())
        .saturating_add(1);
    let len =
        libc::socklen_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    Ok((addr, len))
}

/// A new `AF_UNIX` `SOCK_SEQPACKET` socket (close-on-exec; non-blocking if
/// asked).
fn seqpacket(nonblocking: bool) -> io::Result<OwnedFd> {
    let mut kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    if nonblocking {
        kind |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: socket(2) takes no pointers.
    let fd = check(unsafe { libc::socket(libc::AF_UNIX, kind, 0) })?;
    // SAFETY: the descriptor was just created and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A non-blocking listening `SOCK_SEQPACKET` socket bound to `path` (which
/// must not exist), with the mode the umask gives.
pub fn listen_seqpacket(path: &Path, backlog: i32) -> io::Result<OwnedFd> {
    listen_seqpacket_mode(path, backlog, None)
}

/// [`listen_seqpacket`], the socket file created with exactly `mode`
/// (`Some`): the mode is set on the socket before `bind` (`fchmod`), and
/// the `bind` is made by a thread of its own with its own file system
/// attributes (`unshare(CLONE_FS)`) and its umask cleared, so that no path
/// is ever followed to set the mode (a `chmod` after `bind` could be sent
/// elsewhere by a link swapped in) and the process's umask never changes
/// (other threads may be creating files meanwhile).
pub fn listen_seqpacket_mode(path: &Path, backlog: i32, mode: Option<u32>) -> io::Result<OwnedFd> {
    let (addr, len) = sockaddr_un(path)?;
    let fd = seqpacket(true)?;
    let raw = fd.as_raw_fd();
    let bind = move || {
        // SAFETY: `addr` is a valid sockaddr_un of `len` bytes, alive for
        // the call; `raw` is kept open by `fd` until the bind returns.
        check(unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_un).cast::<libc::sockaddr>(),
                len,
            )
        })
    };
    match mode {
        Some(m) => {
            // SAFETY: fchmod(2) on a descriptor we own; no pointers.
            check(unsafe { libc::fchmod(fd.as_raw_fd(), m as libc::mode_t) })?;
            let bound = std::thread::scope(|s| {
                s.spawn(|| {
                    // SAFETY: unshare(2) with CLONE_FS gives this thread,
                    // which ends after the bind, its own cwd, root and
                    // umask (copies); no pointers.
                    check(unsafe { libc::unshare(libc::CLONE_FS) })?;
                    // SAFETY: umask(2) cannot fail and takes no pointers;
                    // it is this thread's alone now.
                    unsafe { libc::umask(0) };
                    bind()
                })
                .join()
            });
            bound.map_err(|_| io::Error::other("the bind thread panicked"))??;
        }
        None => {
            bind()?;
        }
    }
    // SAFETY: listen(2) takes no pointers.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(fd)
}

/// A blocking `SOCK_SEQPACKET` connection to the socket at `path`.
pub fn connect_seqpacket(path: &Path) -> io::Result<OwnedFd> {
    let (addr, len) = sockaddr_un(path)?;
    let fd = seqpacket(false)?;
    loop {
        // SAFETY: `addr` is a valid sockaddr_un of `len` bytes, alive for
        // the call.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_un).cast::<libc::sockaddr>(),
                len,
            )
        };
        match check(r) {
            Ok(_) => return Ok(fd),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Accepts one connection, non-blocking and close-on-exec. `WouldBlock`
/// when none is waiting.
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: null address pointers are allowed: the peer address is not
    // wanted.
    let fd = check(unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: the descriptor was just created and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The credentials of a unix socket's peer, as they were when it connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Its process id.
    pub pid: i32,
    /// Its user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
}

/// `SO_PEERCRED`.
pub fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<PeerCred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the
    // size of `cred`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast::<c_void>(),
            &mut len,
        )
    })?;
    Ok(PeerCred {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// `SO_PEERPIDFD` (Linux 6.5): a pidfd of the peer that connected.
const SO_PEERPIDFD: c_int = 77;

/// A pidfd of the process that connected the socket's peer end
/// (`SO_PEERPIDFD`): while it is open, that process's pid cannot be
/// reused. `ENOPROTOOPT` on kernels before 6.5.
pub fn peer_pidfd(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut pidfd: c_int = -1;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `pidfd` and `len` are valid for writes and `len` holds the
    // size of `pidfd`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut pidfd as *mut c_int).cast::<c_void>(),
            &mut len,
        )
    })?;
    if pidfd < 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns
    // it.
    Ok(unsafe { OwnedFd::from_raw_fd(pidfd) })
}

/// True while the process of `pidfd` has not exited (signal 0 through
/// `pidfd_send_signal`; `EPERM` means it is there).
pub fn pidfd_alive(pidfd: BorrowedFd<'_>) -> bool {
    // SAFETY: pidfd_send_signal(2) with signal 0 sends nothing; the
    // descriptor is kept open by the borrow; the info pointer may be null.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// `setsockopt` of an `int` option.
pub fn set_int_option(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: c_int,
) -> io::Result<()> {
    // SAFETY: `value` is an int, valid for reads of its size for the call.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const c_int).cast::<c_void>(),
            size_of::<c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `getsockopt` of an `int` option.
pub fn get_int_option(fd: BorrowedFd<'_>, level: c_int, name: c_int) -> io::Result<c_int> {
    let mut value: c_int = 0;
    let mut len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes; `len` holds the size
    // of `value`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut c_int).cast::<c_void>(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Sets a socket's send and receive buffers to `bytes`, forcing past the
/// system limits when the process may (`SO_*BUFFORCE` needs
/// `CAP_NET_ADMIN`), else as far as the limits allow.
pub fn grow_buffers(fd: BorrowedFd<'_>, bytes: usize) {
    let v = c_int::try_from(bytes).unwrap_or(c_int::MAX);
    for (force, plain) in [
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
    ] {
        if set_int_option(fd, libc::SOL_SOCKET, force, v).is_err() {
            // Best effort: the default buffer works, only with less room.
            let _ = set_int_option(fd, libc::SOL_SOCKET, plain, v);
        }
    }
}

/// Sets how much a socket may have sent and not yet read by its peer to
/// `bytes` (what `SO_SNDBUF` reports), at least 64 KiB so that a 32 KiB
/// dump datagram always fits. Best effort, like [`grow_buffers`].
pub fn set_send_buffer(fd: BorrowedFd<'_>, bytes: usize) {
    // The kernel doubles what it is given.
    let v = c_int::try_from(bytes.max(64 << 10) / 2).unwrap_or(c_int::MAX);
    if set_int_option(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, v).is_err() {
        let _ = set_int_option(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, v);
    }
}

/// Flags of [`recv`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// `MSG_PEEK`: leave the datagram queued.
    pub peek: bool,
    /// `MSG_DONTWAIT`: `WouldBlock` instead of waiting.
    pub dontwait: bool,
}

/// `recv(2)` of one datagram into `buf` with `MSG_TRUNC`: returns the
/// datagram's whole length, which is more than `buf.len()` when it did not
/// fit (the rest is lost unless `peek`). 0 is an empty datagram or the end
/// of the connection.
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: RecvFlags) -> io::Result<usize> {
    let mut f = libc::MSG_TRUNC;
    if flags.peek {
        f |= libc::MSG_PEEK;
    }
    if flags.dontwait {
        f |= libc::MSG_DONTWAIT;
    }
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let r = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast::<c_void>(),
                buf.len(),
                f,
            )
        };
        match check_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `send(2)` of one datagram, without `SIGPIPE`; non-blocking if asked.
pub fn send(fd: BorrowedFd<'_>, data: &[u8], dontwait: bool) -> io::Result<usize> {
    let mut f = libc::MSG_NOSIGNAL;
    if dontwait {
        f |= libc::MSG_DONTWAIT;
    }
    loop {
        // SAFETY: `data` is valid for reads of `data.len()` bytes.
        let r = unsafe {
            libc::send(
                fd.as_raw_fd(),
                data.as_ptr().cast::<c_void>(),
                data.len(),
                f,
            )
        };
        match check_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `sendmsg(2)` of one datagram made of `head` then `body` (no copy),
/// non-blocking, without `SIGPIPE`.
pub fn send2(fd: BorrowedFd<'_>, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let mut iov = [
        libc::iovec {
            iov_base: head.as_ptr() as *mut c_void,
            iov_len: head.len(),
        },
        libc::iovec {
            iov_base: body.as_ptr() as *mut c_void,
            iov_len: body.len(),
        },
    ];
    // SAFETY: msghdr is plain old data; all zeroes is a valid value (no
    // name, no control data).
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len() as _;
    loop {
        // SAFETY: `msg` points at two iovecs describing `head` and `body`,
        // which outlive the call; the kernel only reads through them.
        let r = unsafe {
            libc::sendmsg(
                fd.as_raw_fd(),
                &msg,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        match check_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Waits until `fd` is readable (or hung up), at most `timeout` (`None`:
/// forever). Returns false on timeout.
pub fn poll_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
    loop {
        let ms: c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                // Round up so that a short wait is not a busy loop.
                let ms = left.as_micros().div_ceil(1000);
                c_int::try_from(ms).unwrap_or(c_int::MAX)
            }
        };
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `p` is one valid pollfd for the call.
        match check(unsafe { libc::poll(&mut p, 1, ms) }) {
            Ok(0) => {
                if deadline.is_some_and(|d| std::time::Instant::now() < d) {
                    continue;
                }
                return Ok(false);
            }
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The effective user id of the process.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and takes no pointers.
    unsafe { libc::geteuid() }
}

/// Takes an exclusive `flock` on the file without waiting: `WouldBlock`
/// when another open file description holds it.
pub fn lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<()> {
    loop {
        // SAFETY: flock(2) takes a descriptor the borrow keeps open and no
        // pointers.
        match check(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

/// The number of names a file has (0: it was removed), asked with
/// `statx` for `STATX_NLINK` only. Unlike `fstat`, this does not ask for
/// the file's times, which would make the kernel (multigrain timestamps)
/// give the next write a fine-grained time, so that every write changed
/// the inode and `fdatasync` had to write it.
pub fn link_count(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut st = MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: statx(2) with AT_EMPTY_PATH and an empty C string looks at
    // the descriptor (kept open by the borrow) and writes one statx into
    // the buffer, which lives across the call.
    check(unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_NLINK,
            st.as_mut_ptr(),
        )
    })?;
    // SAFETY: the call succeeded, so the struct is filled (and it was
    // zeroed before).
    let st = unsafe { st.assume_init() };
    Ok(st.stx_nlink)
}

/// What `fstatvfs` says of the file system holding a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSpace {
    /// Mounted read-only.
    pub read_only: bool,
    /// Bytes free for an unprivileged user.
    pub available: u64,
}

/// The file system of the file: read-only or not, and its free bytes
/// (`fstatvfs`).
pub fn fs_space(fd: BorrowedFd<'_>) -> io::Result<FsSpace> {
    let mut st = MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: fstatvfs(2) writes one statvfs into the buffer, which lives
    // across the call; the descriptor is kept open by the borrow.
    check(unsafe { libc::fstatvfs(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: the call succeeded, so the struct is filled (and it was
    // zeroed before).
    let st = unsafe { st.assume_init() };
    // The field types are narrower on some targets.
    #[allow(clippy::useless_conversion)]
    Ok(FsSpace {
        read_only: st.f_flag & libc::ST_RDONLY != 0,
        available: u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)),
    })
}

/// The soft limit of open files (`RLIMIT_NOFILE`); 1024 if unknown.
pub fn nofile_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes one rlimit into `lim`, alive for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    }
}

/// Raises the soft limit of open files to the hard limit (many clients
/// means many descriptors). Best effort.
pub fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid for writes.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur < lim.rlim_max
    {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is valid for reads.
        let _ = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    }
}

/// Readiness reported by [`Epoll::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// The token given to [`Epoll::add`].
    pub token: u64,
    /// Data to read (or the end of the connection).
    pub readable: bool,
    /// Room to write.
    pub writable: bool,
    /// The peer closed or shut down its side, or the socket failed.
    pub hangup: bool,
}

/// Interest of a registered descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    /// Wake for input.
    pub read: bool,
    /// Wake for room to write.
    pub write: bool,
}

impl Interest {
    fn events(self) -> u32 {
        let mut e = (libc::EPOLLRDHUP) as u32;
        if self.read {
            e |= libc::EPOLLIN as u32;
        }
        if self.write {
            e |= libc::EPOLLOUT as u32;
        }
        e
    }
}

/// An epoll instance (level-triggered).
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<libc::epoll_event>,
}

impl Epoll {
    /// A new instance reporting up to `max_events` descriptors per wait.
    pub fn new(max_events: usize) -> io::Result<Self> {
        // SAFETY: epoll_create1(2) takes no pointers.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        Ok(Epoll {
            // SAFETY: the descriptor was just created and is owned by
            // nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; max_events.max(1)],
        })
    }

    fn ctl(&self, op: c_int, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: interest.events(),
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the call.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Watches `fd`, reporting it with `token`.
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_raw_fd(), token, interest)
    }

    /// Changes what `fd` is watched for.
    pub fn modify(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), token, interest)
    }

    /// Stops watching `fd` (closing it does too).
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.ctl(
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            0,
            Interest {
                read: false,
                write: false,
            },
        )
    }

    /// Waits at most `timeout` (`None`: forever) and appends what is ready
    /// to `out`. An interrupted wait returns with nothing.
    pub fn wait(&mut self, out: &mut Vec<Ready>, timeout: Option<Duration>) -> io::Result<()> {
        let ms = timeout.map_or(-1, |t| {
            c_int::try_from(t.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX)
        });
        let max = c_int::try_from(self.events.len()).unwrap_or(c_int::MAX);
        // A client usually sends its next request within microseconds of
        // an answer: polling for it that long saves a sleep and wake-up
        // that would cost more than the request.
        let spin = Duration::from_micros(spin_us());
        let mut r = 0;
        if ms != 0 && !spin.is_zero() {
            let start = std::time::Instant::now();
            while r == 0 && start.elapsed() < spin {
                // SAFETY: `events` is valid for writes of `max` entries.
                r = unsafe {
                    libc::epoll_wait(self.fd.as_raw_fd(), self.events.as_mut_ptr(), max, 0)
                };
                std::hint::spin_loop();
            }
        }
        if r == 0 {
            // SAFETY: `events` is valid for writes of `max` entries.
            r = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), self.events.as_mut_ptr(), max, ms) };
        }
        let n = match check(r) {
            Ok(n) => usize::try_from(n).unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        for ev in self.events.iter().take(n) {
            let e = ev.events;
            out.push(Ready {
                token: ev.u64,
                readable: e & (libc::EPOLLIN as u32) != 0,
                writable: e & (libc::EPOLLOUT as u32) != 0,
                hangup: e & ((libc::EPOLLHUP | libc::EPOLLRDHUP | libc::EPOLLERR) as u32) != 0,
            });
        }
        Ok(())
    }
}

/// How long a wait for clients first polls, in microseconds
/// ([`nlq_remote::spin_micros`]).
pub fn spin_us() -> u64 {
    static US: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *US.get_or_init(|| {
        let asked = std::env::var(nlq_remote::SPIN_ENV).ok();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        nlq_remote::spin_micros(asked.as_deref(), cpus)
    })
}

/// Set by the handler [`on_stop_signals`] installs.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn stop_handler(_signal: c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes `SIGINT` and `SIGTERM` set a flag instead of killing the process,
/// and returns the flag. A wait in [`Epoll::wait`] returns early when one
/// arrives.
pub fn on_stop_signals() -> io::Result<&'static AtomicBool> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain old data; all zeroes is a valid value.
        let mut act: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        act.sa_sigaction = stop_handler as extern "C" fn(c_int) as usize;
        // SAFETY: `act.sa_mask` is valid for writes.
        check(unsafe { libc::sigemptyset(&mut act.sa_mask) })?;
        // SAFETY: `act` is a valid sigaction whose handler only stores to
        // an atomic (async-signal-safe); the old action is not wanted.
        check(unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) })?;
    }
    Ok(&STOP)
}

/// A `NETLINK_ROUTE` socket of the calling thread's network namespace,
/// not bound yet, with `NETLINK_PKTINFO` on (so that [`netlink_recv`]
/// reports the multicast group of every datagram).
pub fn netlink_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    })?;
    // SAFETY: `fd` is a new descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_int_option(fd.as_fd(), libc::SOL_NETLINK, libc::NETLINK_PKTINFO, 1)?;
    Ok(fd)
}

fn sockaddr_nl(port: u32, groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain old data; all zeroes is valid.
    let mut a: libc::sockaddr_nl = unsafe { MaybeUninit::zeroed().assume_init() };
    a.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    a.nl_pid = port;
    a.nl_groups = groups;
    a
}

/// `bind(2)` of a netlink socket to `port` (0: the kernel picks one) and
/// groups 1 to 32.
pub fn netlink_bind(fd: BorrowedFd<'_>, port: u32, groups: u32) -> io::Result<()> {
    let a = sockaddr_nl(port, groups);
    // SAFETY: `a` is a valid sockaddr_nl of the given size.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&a as *const libc::sockaddr_nl).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `getsockname(2)` of a netlink socket: its port and groups 1 to 32.
pub fn netlink_name(fd: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    let mut a = sockaddr_nl(0, 0);
    let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `a` and `len` are valid for writes; `len` holds `a`'s size.
    check(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut a as *mut libc::sockaddr_nl).cast::<libc::sockaddr>(),
            &mut len,
        )
    })?;
    Ok((a.nl_pid, a.nl_groups))
}

/// `setsockopt(2)` with an opaque value.
pub fn set_option_bytes(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` is valid for reads of `len` bytes.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            value.as_ptr().cast::<c_void>(),
            len,
        )
    })?;
    Ok(())
}

/// `getsockopt(2)` into a buffer of `max` bytes; returns what the kernel
/// wrote.
pub fn get_option_bytes(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; max];
    let mut len = libc::socklen_t::try_from(max).unwrap_or(libc::socklen_t::MAX);
    // SAFETY: `buf` is valid for writes of `len` bytes; `len` is writable.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    })?;
    buf.truncate(usize::try_from(len).unwrap_or(0));
    Ok(buf)
}

/// What [`netlink_recv`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkDatagram {
    /// The datagram's whole length (more than the buffer when cut).
    pub len: usize,
    /// The multicast group it was sent to, 0 for a unicast reply.
    pub group: u32,
    /// The sender's port: 0 for the kernel, else another socket's.
    pub port: u32,
}

/// `recvmsg(2)` of one netlink datagram with `MSG_TRUNC` (and `MSG_PEEK`
/// if asked), with the group from `NETLINK_PKTINFO`.
pub fn netlink_recv(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool) -> io::Result<NetlinkDatagram> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast::<c_void>(),
        iov_len: buf.len(),
    };
    // Room for one cmsg holding a u32 (nl_pktinfo), 8-aligned.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain old data; all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    // SAFETY: sockaddr_nl is plain old data; all zeroes is valid.
    let mut from: libc::sockaddr_nl = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_nl).cast::<c_void>();
    msg.msg_namelen = size_of::<libc::sockaddr_nl>() as _;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast::<c_void>();
    msg.msg_controllen = size_of::<[u64; 8]>() as _;
    let flags = libc::MSG_TRUNC | if peek { libc::MSG_PEEK } else { 0 };
    let len = loop {
        // SAFETY: `msg` points at `iov` (valid for writes of `buf.len()`
        // bytes), at `from` and at `control` (valid for writes of their
        // sizes); all outlive the call.
        let r = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
        match check_size(r) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    let mut group = 0;
    // SAFETY: the cmsg macros walk the control buffer the kernel filled,
    // within `msg_controllen`; the data read is a u32 of a cmsg of type
    // NETLINK_PKTINFO, which holds one.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_NETLINK && (*c).cmsg_type == libc::NETLINK_PKTINFO {
                group = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<u32>());
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(NetlinkDatagram {
        len,
        group,
        port: from.nl_pid,
    })
}

/// Moves the calling thread into the network namespace of `ns` (an open
/// `/run/netns/NAME` or `/proc/PID/ns/net`). Threads it starts later are
/// born there.
pub fn enter_netns(ns: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns(2) on a valid descriptor; it changes only this thread.
    check(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })?;
    Ok(())
}

/// An `AF_INET` datagram socket for netdevice ioctls.
pub fn inet_dgram_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A netdevice ioctl (`SIOCGIFFLAGS`...) on `fd` with `ifreq`, which the
/// kernel may change.
pub fn ifreq_ioctl(fd: BorrowedFd<'_>, request: u32, ifreq: &mut [u8; 40]) -> io::Result<()> {
    // SAFETY: `ifreq` is 40 bytes, the size of `struct ifreq` on Linux,
    // valid for reads and writes for the call; only netdevice requests
    // (which take a `struct ifreq`) reach here.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, ifreq.as_mut_ptr()) })?;
    Ok(())
}

/// Makes a descriptor's reads and writes wait (clears `O_NONBLOCK`).
pub fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on a valid descriptor.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) })?;
    Ok(())
}

/// Shuts a socket down both ways (a thread blocked reading it wakes).
pub fn shutdown(fd: BorrowedFd<'_>) {
    // SAFETY: plain shutdown(2) on a valid descriptor.
    let _ = unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) };
}

/// Set by the handler [`on_reload_signal`] installs.
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn reload_handler(_signal: c_int) {
    RELOAD.store(true, Ordering::SeqCst);
}

/// Makes `SIGHUP` set a flag instead of ending the process, and returns
/// the flag.
pub fn on_reload_signal() -> io::Result<&'static AtomicBool> {
    // SAFETY: sigaction is plain old data; all zeroes is a valid value.
    let mut act: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
    act.sa_sigaction = reload_handler as extern "C" fn(c_int) as usize;
    // SAFETY: `act.sa_mask` is valid for writes.
    check(unsafe { libc::sigemptyset(&mut act.sa_mask) })?;
    // SAFETY: `act` is a valid sigaction whose handler only stores to an
    // atomic (async-signal-safe); the old action is not wanted.
    check(unsafe { libc::sigaction(libc::SIGHUP, &act, std::ptr::null_mut()) })?;
    Ok(&RELOAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    /// The process's umask, read without changing it.
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).unwrap()
    }

    /// Sockets bound with a mode get it exactly, and the process's umask
    /// never changes meanwhile (watched by another thread).
    #[test]
    fn binding_with_a_mode_leaves_the_process_umask_alone() {
        let dir = crate::testing::TempDir::new("sys-umask");
        let before = umask();
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeSet::new();
                while !stop.load(Ordering::SeqCst) {
                    seen.insert(umask());
                }
                seen
            })
        };
        for i in 0..300 {
            let path = dir.path().join(format!("s{i}"));
            let _fd = listen_seqpacket_mode(&path, 1, Some(0o666)).unwrap();
            let mode = std::fs::symlink_metadata(&path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o666);
        }
        stop.store(true, Ordering::SeqCst);
        let seen = watcher.join().unwrap();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![before]);
    }
}
