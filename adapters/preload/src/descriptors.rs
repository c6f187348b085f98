//! Keeping the table of netlink descriptors right: `close`, `close_range`,
//! `closefrom`, `dup`, `dup2`, `dup3` and `fcntl(F_DUPFD*)`.
//!
//! A closed descriptor leaves the table before the real close (so its
//! number, once reused, is never mistaken for a netlink socket); a
//! duplicate shares its original's entry (both name one connection, as
//! both would name one netlink socket). `fork` needs nothing: the child
//! inherits the table with the descriptors.

use libc::{c_int, c_uint};

use crate::fdtable;

// Each function takes `original`: the libc function being interposed,
// called with the program's arguments unchanged (see `crate::sys::exports`).

/// `close(2)`.
pub(crate) fn close(fd: c_int, original: impl FnOnce() -> c_int) -> c_int {
    if let Some(e) = fdtable::remove(fd) {
        // What it sent is handled before it goes, as in the kernel.
        if fdtable::take_sent(e.cookie) {
            crate::control::settle(e.cookie);
        }
    }
    original()
}

/// `close_range(2)` (with `CLOSE_RANGE_CLOEXEC` nothing is closed).
pub(crate) fn close_range(
    first: c_uint,
    last: c_uint,
    flags: c_int,
    original: impl FnOnce() -> c_int,
) -> c_int {
    // What the sockets in the range sent is handled before they go.
    crate::control::settle_all(None);
    let r = original();
    if r == 0 && flags & (libc::CLOSE_RANGE_CLOEXEC as c_int) == 0 {
        let fd = |v: c_uint| c_int::try_from(v).unwrap_or(c_int::MAX);
        fdtable::remove_range(fd(first), fd(last));
    }
    r
}

/// `closefrom(3)`.
pub(crate) fn closefrom(lowfd: c_int, original: impl FnOnce()) {
    // What the sockets closed sent is handled before they go.
    crate::control::settle_all(None);
    fdtable::remove_range(lowfd.max(0), c_int::MAX);
    original()
}

/// Records a successful duplication `from` → `to` (a result `to < 0` is a
/// failure and changes nothing).
fn duplicated(from: c_int, to: c_int) -> c_int {
    if to >= 0 && to != from {
        fdtable::duplicate(from, to);
    }
    to
}

/// `dup(2)`.
pub(crate) fn dup(fd: c_int, original: impl FnOnce() -> c_int) -> c_int {
    duplicated(fd, original())
}

/// `dup2(2)` and `dup3(2)`.
pub(crate) fn dup2(fd: c_int, newfd: c_int, original: impl FnOnce() -> c_int) -> c_int {
    settle_replaced(fd, newfd);
    duplicated(fd, original())
}

/// Before `newfd` is closed by a `dup2`/`dup3` onto it: what it sent (as
/// a netlink socket) is handled first, as at `close`.
fn settle_replaced(fd: c_int, newfd: c_int) {
    if fd == newfd {
        return;
    }
    if let Some(e) = fdtable::get(newfd) {
        if fdtable::take_sent(e.cookie) {
            crate::control::settle(e.cookie);
        }
    }
}

/// True for the `fcntl` commands that duplicate a descriptor.
fn is_dup_command(cmd: c_int) -> bool {
    cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC
}

/// `fcntl(2)` and `fcntl64`: `result` is what the original returned.
pub(crate) fn after_fcntl(fd: c_int, cmd: c_int, result: c_int) -> c_int {
    if is_dup_command(cmd) {
        duplicated(fd, result)
    } else {
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dup_commands() {
        assert!(is_dup_command(libc::F_DUPFD));
        assert!(is_dup_command(libc::F_DUPFD_CLOEXEC));
        assert!(!is_dup_command(libc::F_SETFL));
    }
}
