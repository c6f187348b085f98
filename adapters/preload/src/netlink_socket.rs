//! Creating emulated netlink sockets, and their addresses and options.
//!
//! `socket(AF_NETLINK, type, NETLINK_ROUTE)` connects to the daemon and
//! returns that connection's descriptor; `bind`, `getsockname` and the
//! options the daemon keeps (`SOL_NETLINK`, `SO_RCVBUF`) are control
//! requests naming the connection by its cookie. Calls on descriptors that
//! are not emulated netlink sockets go to libc unchanged.

use libc::{c_int, c_void, sockaddr, socklen_t};
use nlq::remote::{self, Request};
use nlq::wire::consts::NETLINK_LIST_MEMBERSHIPS;

use crate::control;
use crate::fdtable::{self, NetlinkFd};
use crate::ffi::{copy_address_out, errno, fail, finish, guard};
use crate::{config, real};

/// `sizeof(struct sockaddr_nl)`.
pub(crate) const SOCKADDR_NL_LEN: usize = 12;

/// `NETLINK_ROUTE`.
const NETLINK_ROUTE: c_int = 0;

/// The type bits of a `socket()` type (the rest are flags).
const SOCK_TYPE_MASK: c_int = 0xf;

/// `SOCK_MAX`: types at or above it are `EINVAL`.
const SOCK_MAX: c_int = 11;

/// What `socket()` does with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketPlan {
    /// Not emulated: the kernel's socket.
    PassThrough,
    /// An emulated netlink socket of this type.
    Emulate {
        /// `SOCK_RAW` or `SOCK_DGRAM`.
        kind: c_int,
        /// `SOCK_CLOEXEC` was given.
        cloexec: bool,
        /// `SOCK_NONBLOCK` was given.
        nonblock: bool,
    },
    /// Fails with this errno, as the kernel's netlink would.
    Refuse(c_int),
}

/// Decides `socket(domain, ty, protocol)` when emulation is on: only
/// `NETLINK_ROUTE` is emulated, with the kernel's checks of the type.
pub(crate) fn socket_plan(domain: c_int, ty: c_int, protocol: c_int) -> SocketPlan {
    if domain != libc::AF_NETLINK || protocol != NETLINK_ROUTE {
        return SocketPlan::PassThrough;
    }
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) != 0 {
        return SocketPlan::Refuse(libc::EINVAL);
    }
    match ty & SOCK_TYPE_MASK {
        kind @ (libc::SOCK_RAW | libc::SOCK_DGRAM) => SocketPlan::Emulate {
            kind,
            cloexec: flags & libc::SOCK_CLOEXEC != 0,
            nonblock: flags & libc::SOCK_NONBLOCK != 0,
        },
        t if !(0..SOCK_MAX).contains(&t) => SocketPlan::Refuse(libc::EINVAL),
        _ => SocketPlan::Refuse(libc::ESOCKTNOSUPPORT),
    }
}

/// The bytes of a `sockaddr_nl`.
pub(crate) fn sockaddr_nl(pid: u32, groups: u32) -> [u8; SOCKADDR_NL_LEN] {
    let mut b = [0u8; SOCKADDR_NL_LEN];
    let family = (libc::AF_NETLINK as u16).to_ne_bytes();
    for (d, s) in b.iter_mut().zip(
        family
            .iter()
            .chain(&[0, 0])
            .chain(&pid.to_ne_bytes())
            .chain(&groups.to_ne_bytes()),
    ) {
        *d = *s;
    }
    b
}

/// Checks a `sockaddr_nl` given to `bind` / `connect` / `sendto` as the
/// kernel does: `(nl_pid, nl_groups)`, or `EINVAL` when it is shorter than a
/// `sockaddr_nl` or not `AF_NETLINK`.
pub(crate) fn parse_sockaddr_nl(b: &[u8]) -> Result<(u32, u32), c_int> {
    let field = |at: usize| -> Result<[u8; 4], c_int> {
        b.get(at..at.saturating_add(4))
            .and_then(|s| s.try_into().ok())
            .ok_or(libc::EINVAL)
    };
    if b.len() < SOCKADDR_NL_LEN {
        return Err(libc::EINVAL);
    }
    let family = field(0)?;
    if u16::from_ne_bytes([family[0], family[1]]) != libc::AF_NETLINK as u16 {
        return Err(libc::EINVAL);
    }
    Ok((u32::from_ne_bytes(field(4)?), u32::from_ne_bytes(field(8)?)))
}

/// The bytes a caller passed as a socket address (`EFAULT` for a null
/// pointer with a length).
///
/// # Safety
///
/// `addr` is null or valid for `len` bytes.
pub(crate) unsafe fn address_bytes<'a>(
    addr: *const sockaddr,
    len: socklen_t,
) -> Result<&'a [u8], c_int> {
    let len = usize::try_from(len).map_err(|_| libc::EINVAL)?;
    if len == 0 {
        return Ok(&[]);
    }
    if addr.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len) })
}

/// Opens an emulated netlink socket.
fn open(kind: c_int, cloexec: bool, nonblock: bool) -> Result<c_int, c_int> {
    let (fd, welcome) = control::open_socket(cloexec)?;
    if nonblock {
        // SAFETY: `fd` is ours; F_GETFL / F_SETFL take an int.
        let r = unsafe {
            let fl = real::fcntl(fd, libc::F_GETFL, 0);
            if fl < 0 {
                fl
            } else {
                real::fcntl(fd, libc::F_SETFL, (fl | libc::O_NONBLOCK) as usize)
            }
        };
        if r < 0 {
            let e = errno();
            // SAFETY: `fd` is ours, closed once.
            unsafe { real::close(fd) };
            return Err(e);
        }
    }
    fdtable::insert(fd, NetlinkFd::new(welcome.cookie, kind));
    Ok(fd)
}

/// `socket(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    guard(-1, || {
        let plan = if config::enabled() {
            socket_plan(domain, ty, protocol)
        } else {
            SocketPlan::PassThrough
        };
        match plan {
            // SAFETY: the caller's arguments, unchanged.
            SocketPlan::PassThrough => {
                fdtable::fresh(unsafe { real::socket(domain, ty, protocol) })
            }
            SocketPlan::Refuse(e) => fail(e, -1),
            SocketPlan::Emulate {
                kind,
                cloexec,
                nonblock,
            } => finish(open(kind, cloexec, nonblock), -1),
        }
    })
}

/// Sends a control request and maps its answer to the C convention.
fn control(req: Request) -> Result<Vec<u8>, c_int> {
    control::request(&req)
}

/// `bind(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            // SAFETY: the caller's promise on `addr` / `len`.
            let named =
                unsafe { address_bytes(addr, len) }.is_ok_and(crate::host_links::names_a_link);
            if named && config::enabled() {
                return fail(crate::host_links::REFUSAL, -1);
            }
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::bind(fd, addr, len) };
        };
        let r = (|| {
            // SAFETY: the caller's promise on `addr` / `len`.
            let (port, groups) = parse_sockaddr_nl(unsafe { address_bytes(addr, len) }?)?;
            control(Request::Bind {
                cookie: e.cookie,
                port,
                groups,
            })
            .map(|_| 0)
        })();
        finish(r, -1)
    })
}

/// `connect(2)`: a netlink socket's default destination, for sends
/// without an address (`AF_UNSPEC` makes it the kernel again). A
/// destination other than the kernel without `CAP_NET_ADMIN` fails with
/// `EPERM` at the first send rather than here.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::connect(fd, addr, len) };
        }
        let r = (|| {
            // SAFETY: the caller's promise on `addr` / `len`.
            let b = unsafe { address_bytes(addr, len) }?;
            let family = b
                .get(..2)
                .and_then(|f| f.try_into().ok())
                .map(u16::from_ne_bytes)
                .ok_or(libc::EINVAL)?;
            let dest = if family == libc::AF_UNSPEC as u16 {
                (0, 0)
            } else {
                parse_sockaddr_nl(b)?
            };
            fdtable::update(fd, |e| e.dest = dest);
            Ok(0)
        })();
        finish(r, -1)
    })
}

/// `getsockname(2)`: the port and groups 1–32 the daemon reports.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::getsockname(fd, addr, len) };
        };
        let r = control(Request::Name { cookie: e.cookie }).and_then(|reply| {
            let (port, rest) = remote::parse_u32(&reply)?;
            let (groups, _) = remote::parse_u32(rest)?;
            Ok(sockaddr_nl(port, groups))
        });
        match r {
            Ok(sa) => {
                if len.is_null() {
                    return fail(libc::EFAULT, -1);
                }
                // SAFETY: the caller's promise on `addr` / `len`.
                unsafe { copy_address_out(&sa, addr.cast(), len) };
                0
            }
            Err(e) => fail(e, -1),
        }
    })
}

/// `getpeername(2)`: the kernel (port 0, no group).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    guard(-1, || {
        if fdtable::get(fd).is_none() {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::getpeername(fd, addr, len) };
        }
        if len.is_null() {
            return fail(libc::EFAULT, -1);
        }
        // SAFETY: the caller's promise on `addr` / `len`.
        unsafe { copy_address_out(&sockaddr_nl(0, 0), addr.cast(), len) };
        0
    })
}

/// Where a socket option of an emulated netlink socket is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionPlan {
    /// The daemon keeps it.
    Daemon,
    /// The daemon keeps it, and the `AF_UNIX` socket gets it too (buffer
    /// sizes).
    Both,
    /// An `int` the shim knows (`SO_TYPE`, `SO_DOMAIN`, `SO_PROTOCOL`).
    Constant(c_int),
    /// The shim keeps it: `SO_PASSCRED`, whose credentials the shim
    /// writes (the `AF_UNIX` socket's would be the daemon's).
    Shim,
    /// The `AF_UNIX` socket's answer is right.
    PassThrough,
    /// Fails with this errno.
    Refuse(c_int),
}

/// Plans `setsockopt(level, name)` on an emulated netlink socket.
pub(crate) fn set_option_plan(level: c_int, name: c_int) -> OptionPlan {
    match (level, name) {
        (libc::SOL_NETLINK, _) => OptionPlan::Daemon,
        (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_RCVBUFFORCE) => OptionPlan::Both,
        (libc::SOL_SOCKET, libc::SO_PASSCRED) => OptionPlan::Shim,
        (libc::SOL_SOCKET, _) => OptionPlan::PassThrough,
        _ => OptionPlan::Refuse(libc::ENOPROTOOPT),
    }
}

/// Plans `getsockopt(level, name)` on an emulated netlink socket of type
/// `kind`.
pub(crate) fn get_option_plan(kind: c_int, level: c_int, name: c_int) -> OptionPlan {
    match (level, name) {
        (libc::SOL_NETLINK, _) => OptionPlan::Daemon,
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => OptionPlan::Daemon,
        (libc::SOL_SOCKET, libc::SO_TYPE) => OptionPlan::Constant(kind),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => OptionPlan::Constant(libc::AF_NETLINK),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => OptionPlan::Constant(NETLINK_ROUTE),
        (libc::SOL_SOCKET, libc::SO_PASSCRED) => OptionPlan::Shim,
        (libc::SOL_SOCKET, _) => OptionPlan::PassThrough,
        _ => OptionPlan::Refuse(libc::ENOPROTOOPT),
    }
}

/// The `int` value of a `setsockopt`, as netlink reads it: 0 when shorter
/// than an `int`.
///
/// # Safety
///
/// `value` is null or valid for `len` bytes.
unsafe fn option_int(value: *const c_void, len: socklen_t) -> Result<u32, c_int> {
    if usize::try_from(len).map_or(true, |l| l < 4) {
        return Ok(0);
    }
    if value.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: `value` has at least 4 bytes (the caller's promise).
    Ok(unsafe { value.cast::<u32>().read_unaligned() })
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
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            let bytes = match usize::try_from(len) {
                // SAFETY: the caller's promise on `value` / `len`.
                Ok(n) if n > 0 && !value.is_null() => unsafe {
                    std::slice::from_raw_parts(value.cast::<u8>(), n)
                },
                _ => &[],
            };
            if config::enabled() && crate::host_links::option_names_a_link(level, name, bytes) {
                return fail(crate::host_links::REFUSAL, -1);
            }
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::setsockopt(fd, level, name, value, len) };
        };
        let plan = set_option_plan(level, name);
        match plan {
            // SAFETY: the caller's arguments, unchanged.
            OptionPlan::PassThrough => {
                return unsafe { real::setsockopt(fd, level, name, value, len) }
            }
            OptionPlan::Refuse(err) => return fail(err, -1),
            OptionPlan::Shim => {
                // As `sk_setsockopt` reads it: an `int`, `EINVAL` if shorter.
                if usize::try_from(len).map_or(true, |l| l < 4) {
                    return fail(libc::EINVAL, -1);
                }
                if value.is_null() {
                    return fail(libc::EFAULT, -1);
                }
                // SAFETY: `value` has at least four bytes (checked above).
                let v = unsafe { std::ptr::read_unaligned(value.cast::<c_int>()) };
                fdtable::update(fd, |e| e.passcred = v != 0);
                return 0;
            }
            OptionPlan::Both => {
                // SAFETY: the caller's arguments, unchanged.
                if unsafe { real::setsockopt(fd, level, name, value, len) } < 0 {
                    return -1;
                }
            }
            OptionPlan::Daemon | OptionPlan::Constant(_) => {}
        }
        // SAFETY: the caller's promise on `value` / `len`.
        let r = unsafe { option_int(value, len) }.and_then(|v| {
            control(Request::SetOption {
                cookie: e.cookie,
                level,
                name,
                value: v,
            })
            .map(|_| v)
        });
        match r {
            Ok(v) => {
                if (level, name) == (libc::SOL_NETLINK, libc::NETLINK_PKTINFO) {
                    fdtable::update(fd, |e| e.pktinfo = v != 0);
                }
                0
            }
            Err(err) => fail(err, -1),
        }
    })
}

/// Writes an option's bytes to the caller as the kernel does: at most
/// `*len` bytes, `*len` = the bytes written. `min` is the smallest buffer
/// the option accepts (`EINVAL` below it).
///
/// # Safety
///
/// `len` is null or valid; `value` is null or valid for `*len` bytes.
unsafe fn option_out(
    bytes: &[u8],
    min: usize,
    value: *mut c_void,
    len: *mut socklen_t,
) -> Result<(), c_int> {
    if len.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: `len` is valid.
    let have = usize::try_from(unsafe { *len } as c_int).map_err(|_| libc::EINVAL)?;
    if have < min {
        return Err(libc::EINVAL);
    }
    let n = have.min(bytes.len());
    if n > 0 {
        if value.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: `value` has `have >= n` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value.cast::<u8>(), n) };
    }
    // SAFETY: `len` is valid.
    unsafe { *len = socklen_t::try_from(n).unwrap_or(0) };
    Ok(())
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
    guard(-1, || {
        let Some(e) = fdtable::get(fd) else {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::getsockopt(fd, level, name, value, len) };
        };
        let r = match get_option_plan(e.kind, level, name) {
            // SAFETY: the caller's arguments, unchanged.
            OptionPlan::PassThrough => {
                return unsafe { real::getsockopt(fd, level, name, value, len) }
            }
            OptionPlan::Refuse(err) => Err(err),
            // SAFETY: the caller's promise on `value` / `len`.
            OptionPlan::Constant(v) => unsafe { option_out(&v.to_ne_bytes(), 0, value, len) },
            // SAFETY: the caller's promise on `value` / `len`.
            OptionPlan::Shim => unsafe {
                option_out(&c_int::from(e.passcred).to_ne_bytes(), 0, value, len)
            },
            OptionPlan::Daemon | OptionPlan::Both => control(Request::GetOption {
                cookie: e.cookie,
                level,
                name,
            })
            .and_then(|reply| {
                if (level, name) == (libc::SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS) {
                    // A bitmap of groups: as much as fits, and its full size.
                    // SAFETY: the caller's promise on `value` / `len`.
                    unsafe { list_memberships_out(&reply, value, len) }
                } else {
                    let (v, _) = remote::parse_u32(&reply)?;
                    let min = if level == libc::SOL_NETLINK { 4 } else { 0 };
                    // SAFETY: the caller's promise on `value` / `len`.
                    unsafe { option_out(&v.to_ne_bytes(), min, value, len) }
                }
            }),
        };
        finish(r.map(|()| 0), -1)
    })
}

/// `NETLINK_LIST_MEMBERSHIPS`: copies what fits of the bitmap, and sets
/// `*len` to the bitmap's full size (so a caller learns how much to pass).
///
/// # Safety
///
/// As for [`option_out`].
unsafe fn list_memberships_out(
    bitmap: &[u8],
    value: *mut c_void,
    len: *mut socklen_t,
) -> Result<(), c_int> {
    // SAFETY: the caller's promise.
    unsafe { option_out(bitmap, 0, value, len) }?;
    // SAFETY: `option_out` checked `len`.
    unsafe { *len = socklen_t::try_from(bitmap.len()).unwrap_or(0) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_netlink_route_is_emulated_with_the_kernel_s_type_checks() {
        use SocketPlan::*;
        let nl = libc::AF_NETLINK;
        assert_eq!(socket_plan(libc::AF_INET, libc::SOCK_DGRAM, 0), PassThrough);
        assert_eq!(socket_plan(nl, libc::SOCK_RAW, 16), PassThrough); // generic
        assert_eq!(
            socket_plan(nl, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0),
            Emulate {
                kind: libc::SOCK_RAW,
                cloexec: true,
                nonblock: false
            }
        );
        assert_eq!(
            socket_plan(nl, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0),
            Emulate {
                kind: libc::SOCK_DGRAM,
                cloexec: false,
                nonblock: true
            }
        );
        assert_eq!(
            socket_plan(nl, libc::SOCK_STREAM, 0),
            Refuse(libc::ESOCKTNOSUPPORT)
        );
        assert_eq!(
            socket_plan(nl, libc::SOCK_SEQPACKET, 0),
            Refuse(libc::ESOCKTNOSUPPORT)
        );
        assert_eq!(socket_plan(nl, 12, 0), Refuse(libc::EINVAL));
        assert_eq!(
            socket_plan(nl, libc::SOCK_RAW | 0x100, 0),
            Refuse(libc::EINVAL)
        );
    }

    #[test]
    fn sockaddr_nl_layout() {
        // family 16 (native u16), pad, nl_pid 0x01020304, nl_groups 5.
        let b = sockaddr_nl(0x0102_0304, 5);
        assert_eq!(b[..2], 16u16.to_ne_bytes());
        assert_eq!(b[2..4], [0, 0]);
        assert_eq!(b[4..8], 0x0102_0304u32.to_ne_bytes());
        assert_eq!(b[8..], 5u32.to_ne_bytes());
        assert_eq!(parse_sockaddr_nl(&b), Ok((0x0102_0304, 5)));
        assert_eq!(parse_sockaddr_nl(&b[..11]), Err(libc::EINVAL));
        let mut inet = b;
        inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        assert_eq!(parse_sockaddr_nl(&inet), Err(libc::EINVAL));
        // A longer buffer (sockaddr_storage) is fine.
        let mut long = [0u8; 128];
        long[..12].copy_from_slice(&b);
        assert_eq!(parse_sockaddr_nl(&long), Ok((0x0102_0304, 5)));
        assert_eq!(std::mem::size_of::<libc::sockaddr_nl>(), SOCKADDR_NL_LEN);
    }

    #[test]
    fn option_plans() {
        use OptionPlan::*;
        let raw = libc::SOCK_RAW;
        assert_eq!(
            set_option_plan(libc::SOL_NETLINK, libc::NETLINK_ADD_MEMBERSHIP),
            Daemon
        );
        assert_eq!(
            set_option_plan(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE),
            Both
        );
        assert_eq!(
            set_option_plan(libc::SOL_SOCKET, libc::SO_SNDBUF),
            PassThrough
        );
        assert_eq!(set_option_plan(libc::SOL_SOCKET, libc::SO_PASSCRED), Shim);
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_PASSCRED),
            Shim
        );
        assert_eq!(
            set_option_plan(libc::IPPROTO_IP, 1),
            Refuse(libc::ENOPROTOOPT)
        );
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_TYPE),
            Constant(raw)
        );
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_DOMAIN),
            Constant(16)
        );
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_PROTOCOL),
            Constant(0)
        );
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_RCVBUF),
            Daemon
        );
        assert_eq!(
            get_option_plan(raw, libc::SOL_SOCKET, libc::SO_ERROR),
            PassThrough
        );
    }

    #[test]
    fn option_values_are_cut_like_the_kernel_s() {
        let mut v = [0u8; 8];
        let mut len: socklen_t = 8;
        // SAFETY: `v` has `len` bytes.
        unsafe { option_out(&7u32.to_ne_bytes(), 4, v.as_mut_ptr().cast(), &mut len) }.unwrap();
        assert_eq!((len, &v[..4]), (4, &7u32.to_ne_bytes()[..]));
        len = 2;
        // SAFETY: as above.
        let r = unsafe { option_out(&7u32.to_ne_bytes(), 4, v.as_mut_ptr().cast(), &mut len) };
        assert_eq!(r, Err(libc::EINVAL));
        // SAFETY: as above.
        unsafe { option_out(&7u32.to_ne_bytes(), 0, v.as_mut_ptr().cast(), &mut len) }.unwrap();
        assert_eq!(len, 2);
        len = 4;
        // SAFETY: as above.
        unsafe { list_memberships_out(&[1, 2, 3, 4, 5, 6, 7, 8], v.as_mut_ptr().cast(), &mut len) }
            .unwrap();
        assert_eq!((len, &v[..4]), (8, &[1u8, 2, 3, 4][..]));
        // SAFETY: a null value with room 0... and a 4-byte int.
        assert_eq!(unsafe { option_int(std::ptr::null(), 0) }, Ok(0));
        assert_eq!(
            unsafe { option_int(std::ptr::null(), 4) },
            Err(libc::EFAULT)
        );
        let one = 1u32;
        assert_eq!(
            unsafe { option_int(std::ptr::from_ref(&one).cast(), 4) },
            Ok(1)
        );
    }

    /// Through the exported functions, against `fake_daemon`.
    mod with_a_daemon {
        use super::super::*;
        use crate::descriptors::close;
        use crate::fake_daemon;

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
