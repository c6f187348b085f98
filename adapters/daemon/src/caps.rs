//! Whether a peer may change the stack, decided as the kernel decides it
//! for netlink: by `CAP_NET_ADMIN`, not by uid.
//!
//! The kernel checks the capability of both the socket's opener and the
//! sending task in the network namespace's user namespace
//! (`__netlink_ns_capable`). The daemon checks the opener's, at connect:
//! its effective capabilities (`CapEff` of `/proc/PID/status`), counted
//! only when it is in the daemon's user namespace. The process is named by
//! a pidfd (`SO_PEERPIDFD`) held across the read, so that a pid reused by
//! another process cannot be taken for the peer; on kernels without
//! `SO_PEERPIDFD` the pid of `SO_PEERCRED` is used as it is.
//!
//! What remains different from the kernel: the sender of each request is
//! not checked (a unix socket passed to another process keeps its
//! opener's right), and capabilities gained or dropped after connecting
//! are not seen; a thread that dropped its own capabilities (but not its
//! uid) is judged by its process's.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use crate::sys;

/// `CAP_NET_ADMIN`.
const CAP_NET_ADMIN: u32 = 12;

/// The effective user id in `/proc/PID/status` text.
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The effective capability set in `/proc/PID/status` text.
fn effective(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// True when the process `pid` has `CAP_NET_ADMIN` in its effective set,
/// lives in the daemon's user namespace, and its effective uid is `uid`
/// (the connecting thread's, from `SO_PEERCRED`: credentials are per
/// thread, and a thread that changed its own is not judged by its
/// process's).
fn pid_has_net_admin(pid: i32, uid: u32) -> io::Result<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    if effective_uid(&status) != Some(uid) {
        return Ok(false);
    }
    let caps = effective(&status).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
    if caps & (1 << CAP_NET_ADMIN) == 0 {
        return Ok(false);
    }
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/user"))?;
    let ours = std::fs::read_link("/proc/self/ns/user")?;
    Ok(theirs == ours)
}

/// True when the process that connected `fd` (process id `pid` and user
/// id `uid`, from `SO_PEERCRED`) had `CAP_NET_ADMIN` in the daemon's user
/// namespace. Any doubt (the process is gone, `/proc` cannot be read, the
/// process's user is not the connecting thread's) is `false`.
pub fn peer_has_net_admin(fd: BorrowedFd<'_>, pid: i32, uid: u32) -> bool {
    match sys::peer_pidfd(fd) {
        Ok(pidfd) => {
            let has = pid_has_net_admin(pid, uid).unwrap_or(false);
            // The pid was still the peer's while we read: its pidfd pins
            // the number, and the process had not exited.
            has && sys::pidfd_alive(pidfd.as_fd())
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
            pid_has_net_admin(pid, uid).unwrap_or(false)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_set_is_read() {
        let status = "Name:\tip\nCapInh:\t0000000000000000\nCapEff:\t0000000000001000\n";
        assert_eq!(effective(status), Some(1 << CAP_NET_ADMIN));
        assert_eq!(effective("Name:\tx\n"), None);
        assert_eq!(effective("CapEff:\tzz\n"), None);
        assert_eq!(effective_uid("Uid:\t0\t65534\t0\t0\n"), Some(65534));
    }

    #[test]
    fn this_process_is_judged_by_its_capabilities() {
        let me = std::process::id() as i32;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let has = effective(&status).unwrap() & (1 << CAP_NET_ADMIN) != 0;
        let uid = sys::geteuid();
        assert_eq!(pid_has_net_admin(me, uid).unwrap(), has);
        assert!(!pid_has_net_admin(me, uid.wrapping_add(1)).unwrap());
        // A pair of sockets: the peer is this process.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_has_net_admin(a.as_fd(), me, uid), has);
    }
}
