//! Creating emulated netlink sockets, and their addresses and options.
//!
//! `socket(AF_NETLINK, type, NETLINK_ROUTE)` connects to the daemon and
//! returns that connection's descriptor; `bind`, `getsockname` and the
//! options the daemon keeps (`SOL_NETLINK`, `SO_RCVBUF`) are control
//! requests naming the connection by its cookie. Calls on descriptors that
//! are not emulated netlink sockets go to libc unchanged.
//!
//! Each call takes `original`: the libc function being interposed, called
//! with the program's arguments unchanged (see `crate::sys::exports`).

use libc::c_int;
use nlq::wire::consts::NETLINK_LIST_MEMBERSHIPS;
use nlq_remote::{self as remote, Request};

use crate::c_convention::{errno, fail, finish};
use crate::config;
use crate::control;
use crate::fdtable::{self, NetlinkFd};
use crate::sys::caller_memory::{AddrIn, AddrOut, OptIn, OptOut};
use crate::sys::os;

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

/// Opens an emulated netlink socket.
fn open(kind: c_int, cloexec: bool, nonblock: bool) -> Result<c_int, c_int> {
    let (fd, welcome) = control::open_socket(cloexec)?;
    if nonblock {
        let r = {
            let fl = os::get_status_flags(fd);
            if fl < 0 {
                fl
            } else {
                os::set_status_flags(fd, fl | libc::O_NONBLOCK)
            }
        };
        if r < 0 {
            let e = errno();
            // `fd` is ours, closed once.
            os::close(fd);
            return Err(e);
        }
    }
    fdtable::insert(fd, NetlinkFd::new(welcome.cookie, kind));
    Ok(fd)
}

/// `socket(2)`.
pub(crate) fn socket(
    domain: c_int,
    ty: c_int,
    protocol: c_int,
    original: impl FnOnce() -> c_int,
) -> c_int {
    let plan = if config::enabled() {
        socket_plan(domain, ty, protocol)
    } else {
        SocketPlan::PassThrough
    };
    match plan {
        SocketPlan::PassThrough => fdtable::fresh(original()),
        SocketPlan::Refuse(e) => fail(e, -1),
        SocketPlan::Emulate {
            kind,
            cloexec,
            nonblock,
        } => finish(open(kind, cloexec, nonblock), -1),
    }
}

/// Sends a control request and maps its answer to the C convention.
fn control(req: Request) -> Result<Vec<u8>, c_int> {
    control::request(&req)
}

/// `bind(2)`.
pub(crate) fn bind(fd: c_int, addr: AddrIn<'_>, original: impl FnOnce() -> c_int) -> c_int {
    let Some(e) = fdtable::get(fd) else {
        let named = addr.bytes().is_ok_and(crate::host_links::names_a_link);
        if named && config::enabled() {
            return fail(crate::host_links::REFUSAL, -1);
        }
        return original();
    };
    let r = (|| {
        let (port, groups) = parse_sockaddr_nl(addr.bytes()?)?;
        control(Request::Bind {
            cookie: e.cookie,
            port,
            groups,
        })
        .map(|_| 0)
    })();
    finish(r, -1)
}

/// `connect(2)`: a netlink socket's default destination, for sends
/// without an address (`AF_UNSPEC` makes it the kernel again). A
/// destination other than the kernel without `CAP_NET_ADMIN` fails with
/// `EPERM` at the first send rather than here.
pub(crate) fn connect(fd: c_int, addr: AddrIn<'_>, original: impl FnOnce() -> c_int) -> c_int {
    if fdtable::get(fd).is_none() {
        return original();
    }
    let r = (|| {
        let b = addr.bytes()?;
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
}

/// `getsockname(2)`: the port and groups 1–32 the daemon reports.
pub(crate) fn getsockname(
    fd: c_int,
    mut out: AddrOut<'_>,
    original: impl FnOnce() -> c_int,
) -> c_int {
    let Some(e) = fdtable::get(fd) else {
        return original();
    };
    let r = control(Request::Name { cookie: e.cookie }).and_then(|reply| {
        let (port, rest) = remote::parse_u32(&reply).map_err(|e| e.0)?;
        let (groups, _) = remote::parse_u32(rest).map_err(|e| e.0)?;
        Ok(sockaddr_nl(port, groups))
    });
    match r {
        Ok(sa) => {
            if !out.has_len() {
                return fail(libc::EFAULT, -1);
            }
            out.write(&sa);
            0
        }
        Err(e) => fail(e, -1),
    }
}

/// `getpeername(2)`: the kernel (port 0, no group).
pub(crate) fn getpeername(
    fd: c_int,
    mut out: AddrOut<'_>,
    original: impl FnOnce() -> c_int,
) -> c_int {
    if fdtable::get(fd).is_none() {
        return original();
    }
    if !out.has_len() {
        return fail(libc::EFAULT, -1);
    }
    out.write(&sockaddr_nl(0, 0));
    0
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

/// `setsockopt(2)`.
pub(crate) fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: OptIn<'_>,
    original: impl FnOnce() -> c_int,
) -> c_int {
    let Some(e) = fdtable::get(fd) else {
        let bytes = value.bytes();
        if config::enabled() && crate::host_links::option_names_a_link(level, name, bytes) {
            return fail(crate::host_links::REFUSAL, -1);
        }
        return original();
    };
    let plan = set_option_plan(level, name);
    match plan {
        OptionPlan::PassThrough => return original(),
        OptionPlan::Refuse(err) => return fail(err, -1),
        OptionPlan::Shim => {
            // As `sk_setsockopt` reads it: an `int`, `EINVAL` if shorter.
            let v = match value.socket_int() {
                Ok(v) => v,
                Err(err) => return fail(err, -1),
            };
            fdtable::update(fd, |e| e.passcred = v != 0);
            return 0;
        }
        OptionPlan::Both => {
            if original() < 0 {
                return -1;
            }
        }
        OptionPlan::Daemon | OptionPlan::Constant(_) => {}
    }
    let r = value.netlink_int().and_then(|v| {
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
}

/// `getsockopt(2)`.
pub(crate) fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    mut out: OptOut<'_>,
    original: impl FnOnce() -> c_int,
) -> c_int {
    let Some(e) = fdtable::get(fd) else {
        return original();
    };
    let r = match get_option_plan(e.kind, level, name) {
        OptionPlan::PassThrough => return original(),
        OptionPlan::Refuse(err) => Err(err),
        OptionPlan::Constant(v) => out.write(&v.to_ne_bytes(), 0),
        OptionPlan::Shim => out.write(&c_int::from(e.passcred).to_ne_bytes(), 0),
        OptionPlan::Daemon | OptionPlan::Both => control(Request::GetOption {
            cookie: e.cookie,
            level,
            name,
        })
        .and_then(|reply| {
            if (level, name) == (libc::SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS) {
                // A bitmap of groups: as much as fits, and its full size.
                out.write_memberships(&reply)
            } else {
                let (v, _) = remote::parse_u32(&reply).map_err(|e| e.0)?;
                let min = if level == libc::SOL_NETLINK { 4 } else { 0 };
                out.write(&v.to_ne_bytes(), min)
            }
        }),
    };
    finish(r.map(|()| 0), -1)
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
}
