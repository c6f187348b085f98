//! `send`, `sendto`, `sendmsg`, `sendmmsg`, `write`, `writev`, `recv`,
//! `recvfrom`, `recvmsg`, `recvmmsg`, `read`, `readv` and the
//! `_FORTIFY_SOURCE` `__read_chk`, `__recv_chk`, `__recvfrom_chk` (see
//! [`crate::netlink_data`]).
//!
//! The program's buffers are wrapped, not copied: the views hand the same
//! `iovec`s to the real `sendmsg` / `recvmsg`.

use libc::{
    c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t, timespec,
};

use crate::c_convention::guard;
use crate::fdtable;
use crate::netlink_data;
use crate::sys::caller_memory::{AddrIn, IoVecs, MsgArray, MsgIn, MsgOut, RecvBuf};
use crate::sys::originals as real;

/// `send(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    let v = iovec {
        iov_base: buf.cast_mut(),
        iov_len: len,
    };
    // SAFETY: one buffer, the caller's: valid for `len` bytes (the caller's
    // promise); `v` outlives the view.
    let bufs = unsafe { IoVecs::new(&v, 1) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::send(fd, bufs, flags, || unsafe {
            real::send(fd, buf, len, flags)
        })
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
    let v = iovec {
        iov_base: buf.cast_mut(),
        iov_len: len,
    };
    // SAFETY: one buffer, the caller's: valid for `len` bytes (the caller's
    // promise); `v` outlives the view.
    let bufs = unsafe { IoVecs::new(&v, 1) };
    // SAFETY: `addr` is null or valid for `addrlen` bytes (the caller's
    // promise).
    let dest = unsafe { AddrIn::new(addr, addrlen) };
    guard(-1, || {
        netlink_data::sendto(fd, bufs, dest, flags, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::sendto(fd, buf, len, flags, addr, addrlen) }
        })
    })
}

/// `sendmsg(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    // SAFETY: `msg` is null or a `msghdr` describing valid buffers (the
    // caller's promise).
    let view = unsafe { MsgIn::new(msg) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::sendmsg(fd, view, flags, || unsafe { real::sendmsg(fd, msg, flags) })
    })
}

/// `sendmmsg(2)`.
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
    // SAFETY: `msgs` is null or has `vlen` messages describing valid
    // buffers (the caller's promise).
    let view = unsafe { MsgArray::new(msgs, vlen) };
    guard(-1, || {
        netlink_data::sendmmsg(fd, view, vlen, flags, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::sendmmsg(fd, msgs, vlen, flags) }
        })
    })
}

/// `write(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    let v = iovec {
        iov_base: buf.cast_mut(),
        iov_len: len,
    };
    // SAFETY: one buffer, the caller's: valid for `len` bytes (the caller's
    // promise); `v` outlives the view.
    let bufs = unsafe { IoVecs::new(&v, 1) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::write(fd, bufs, || unsafe { real::write(fd, buf, len) })
    })
}

/// `writev(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    // SAFETY: `iov` is null or has `iovcnt` valid buffers (the caller's
    // promise).
    let bufs = usize::try_from(iovcnt)
        .ok()
        .map(|n| unsafe { IoVecs::new(iov, n) });
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::writev(fd, bufs, || unsafe { real::writev(fd, iov, iovcnt) })
    })
}

/// `recv(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: `buf` is valid for `len` bytes (the caller's promise); no
    // address.
    let view = unsafe { RecvBuf::new(buf, len, std::ptr::null_mut(), std::ptr::null_mut()) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::recv(fd, view, flags, || unsafe {
            real::recv(fd, buf, len, flags)
        })
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
    // SAFETY: `buf` is valid for `len` bytes, `addr` / `addrlen` as for
    // `recvfrom(2)` (the caller's promise).
    let view = unsafe { RecvBuf::new(buf, len, addr, addrlen) };
    guard(-1, || {
        netlink_data::recv(fd, view, flags, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::recvfrom(fd, buf, len, flags, addr, addrlen) }
        })
    })
}

/// `recvmsg(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    // SAFETY: `msg` is null or a `msghdr` describing valid buffers (the
    // caller's promise).
    let view = unsafe { MsgOut::new(msg) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::recvmsg(fd, view, flags, || unsafe { real::recvmsg(fd, msg, flags) })
    })
}

/// `recvmmsg(2)`. The timeout is ignored on an emulated netlink socket.
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
    // SAFETY: `msgs` is null or has `vlen` messages describing valid
    // buffers (the caller's promise).
    let view = unsafe { MsgArray::new(msgs, vlen) };
    guard(-1, || {
        netlink_data::recvmmsg(fd, view, vlen, flags, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::recvmmsg(fd, msgs, vlen, flags, timeout) }
        })
    })
}

/// `read(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    // SAFETY: `buf` is valid for `len` bytes (the caller's promise); no
    // address.
    let view = unsafe { RecvBuf::new(buf, len, std::ptr::null_mut(), std::ptr::null_mut()) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::read(fd, view, || unsafe { real::read(fd, buf, len) })
    })
}

/// `readv(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t {
    // SAFETY: `iov` is null or has `iovcnt` valid buffers (the caller's
    // promise).
    let bufs = usize::try_from(iovcnt)
        .ok()
        .map(|n| unsafe { IoVecs::new(iov, n) });
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_data::readv(fd, bufs, || unsafe { real::readv(fd, iov, iovcnt) })
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
    use crate::c_convention::errno;
    use nlq_remote::Request;

    /// End to end through the exported functions, against the scripted
    /// daemon of `fake_daemon`.
    mod with_a_daemon {
        use super::*;
        use crate::fake_daemon;
        use crate::sys::exports::descriptors::{close, dup};

        use crate::sys::exports::sockets::{setsockopt, socket};

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
