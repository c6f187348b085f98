//! `socket`, `bind`, `connect`, `getsockname`, `getpeername`,
//! `setsockopt` and `getsockopt` (see [`crate::netlink_socket`]).

use libc::{c_int, c_void, sockaddr, socklen_t};

use crate::c_convention::guard;
use crate::netlink_socket;
use crate::sys::caller_memory::{AddrIn, AddrOut, OptIn, OptOut};
use crate::sys::originals as real;

/// `socket(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    guard(-1, || {
        netlink_socket::socket(domain, ty, protocol, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::socket(domain, ty, protocol) }
        })
    })
}

/// `bind(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's promise for `bind(2)`: `addr` is null or valid
    // for `len` bytes.
    let view = unsafe { AddrIn::new(addr, len) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_socket::bind(fd, view, || unsafe { real::bind(fd, addr, len) })
    })
}

/// `connect(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's promise for `connect(2)`: `addr` is null or
    // valid for `len` bytes.
    let view = unsafe { AddrIn::new(addr, len) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_socket::connect(fd, view, || unsafe { real::connect(fd, addr, len) })
    })
}

/// `getsockname(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: the caller's promise for `getsockname(2)`: `len` is null or
    // valid, `addr` null or valid for `*len` bytes.
    let view = unsafe { AddrOut::new(addr, len) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_socket::getsockname(fd, view, || unsafe { real::getsockname(fd, addr, len) })
    })
}

/// `getpeername(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: as for `getsockname`.
    let view = unsafe { AddrOut::new(addr, len) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        netlink_socket::getpeername(fd, view, || unsafe { real::getpeername(fd, addr, len) })
    })
}

/// `setsockopt(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    // SAFETY: the caller's promise for `setsockopt(2)`: `value` is null or
    // valid for `len` bytes.
    let view = unsafe { OptIn::new(value, len) };
    guard(-1, || {
        netlink_socket::setsockopt(fd, level, name, view, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::setsockopt(fd, level, name, value, len) }
        })
    })
}

/// `getsockopt(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    // SAFETY: the caller's promise for `getsockopt(2)`: `len` is null or
    // valid, `value` null or valid for `*len` bytes.
    let view = unsafe { OptOut::new(value, len) };
    guard(-1, || {
        netlink_socket::getsockopt(fd, level, name, view, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::getsockopt(fd, level, name, value, len) }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_convention::errno;
    use crate::fdtable;
    use crate::netlink_socket::{parse_sockaddr_nl, sockaddr_nl};
    use nlq_remote::Request;

    /// Through the exported functions, against `fake_daemon`.
    mod with_a_daemon {
        use super::*;
        use crate::fake_daemon;
        use crate::sys::exports::descriptors::close;

        fn get_int(fd: c_int, level: c_int, name: c_int) -> Result<c_int, c_int> {
            let mut v: c_int = -1;
            let mut len: socklen_t = 4;
            // SAFETY: `v` has `len` bytes.
            let r =
                unsafe { getsockopt(fd, level, name, std::ptr::from_mut(&mut v).cast(), &mut len) };
            if r == 0 {
                Ok(v)
            } else {
                Err(errno())
            }
        }

        #[test]
        fn creation_addresses_and_options() {
            fake_daemon::start();
            // SAFETY: valid pointers and lengths throughout.
            unsafe {
                let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK;
                let fd = socket(libc::AF_NETLINK, ty, 0);
                assert!(fd >= 0);
                assert_ne!(real::fcntl(fd, libc::F_GETFL, 0) & libc::O_NONBLOCK, 0);
                assert_eq!(
                    get_int(fd, libc::SOL_SOCKET, libc::SO_TYPE),
                    Ok(libc::SOCK_DGRAM)
                );
                assert_eq!(
                    get_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN),
                    Ok(libc::AF_NETLINK)
                );
                assert_eq!(get_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL), Ok(0));
                assert_eq!(get_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF), Ok(42));
                assert_eq!(get_int(fd, libc::SOL_SOCKET, libc::SO_ERROR), Ok(0));
                assert_eq!(
                    get_int(fd, libc::SOL_NETLINK, libc::NETLINK_EXT_ACK),
                    Ok(42)
                );
                assert_eq!(get_int(fd, libc::IPPROTO_IP, 1), Err(libc::ENOPROTOOPT));

                let mut sa = sockaddr_nl(0, 0x11);
                assert_eq!(bind(fd, sa.as_ptr().cast(), 8), -1);
                assert_eq!(errno(), libc::EINVAL);
                sa[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                assert_eq!(bind(fd, sa.as_ptr().cast(), 12), -1);
                assert_eq!(errno(), libc::EINVAL);
                let sa = sockaddr_nl(0, 0x11);
                assert_eq!(bind(fd, sa.as_ptr().cast(), 12), 0);

                let mut out = [0u8; 16];
                let mut len: socklen_t = 16;
                assert_eq!(getsockname(fd, out.as_mut_ptr().cast(), &mut len), 0);
                assert_eq!(
                    (len, parse_sockaddr_nl(&out)),
                    (12, Ok((fake_daemon::PORT, 0x11)))
                );
                len = 16;
                assert_eq!(getpeername(fd, out.as_mut_ptr().cast(), &mut len), 0);
                assert_eq!((len, parse_sockaddr_nl(&out)), (12, Ok((0, 0))));
                assert_eq!(connect(fd, sa.as_ptr().cast(), 12), 0);

                let one: c_int = 1;
                let r = setsockopt(fd, libc::IPPROTO_IP, 1, std::ptr::from_ref(&one).cast(), 4);
                assert_eq!((r, errno()), (-1, libc::ENOPROTOOPT));
                assert!(fake_daemon::requests().iter().any(|r| matches!(
                    r,
                    Request::Bind {
                        port: 0,
                        groups: 0x11,
                        ..
                    }
                )));
                close(fd);

                let r = socket(libc::AF_NETLINK, libc::SOCK_STREAM, 0);
                assert_eq!((r, errno()), (-1, libc::ESOCKTNOSUPPORT));
                // Generic netlink is the kernel's.
                let g = socket(libc::AF_NETLINK, libc::SOCK_RAW, 16);
                assert!(g >= 0);
                assert!(fdtable::get(g).is_none());
                assert_eq!(get_int(g, libc::SOL_SOCKET, libc::SO_PROTOCOL), Ok(16));
                close(g);
            }
        }
    }
}
