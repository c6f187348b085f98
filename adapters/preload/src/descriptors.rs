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
use crate::ffi::guard;
use crate::real;

/// `close(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    guard(-1, || {
        if let Some(e) = fdtable::remove(fd) {
            // What it sent is handled before it goes, as in the kernel.
            if fdtable::take_sent(e.cookie) {
                crate::control::settle(e.cookie);
            }
        }
        // SAFETY: the caller's argument, unchanged.
        unsafe { real::close(fd) }
    })
}

/// `close_range(2)` (with `CLOSE_RANGE_CLOEXEC` nothing is closed).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    guard(-1, || {
        // What the sockets in the range sent is handled before they go.
        crate::control::settle_all(None);
        // SAFETY: the caller's arguments, unchanged.
        let r = unsafe { real::close_range(first, last, flags) };
        if r == 0 && flags & (libc::CLOSE_RANGE_CLOEXEC as c_int) == 0 {
            let fd = |v: c_uint| c_int::try_from(v).unwrap_or(c_int::MAX);
            fdtable::remove_range(fd(first), fd(last));
        }
        r
    })
}

/// `closefrom(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn closefrom(lowfd: c_int) {
    guard((), || {
        // What the sockets closed sent is handled before they go.
        crate::control::settle_all(None);
        fdtable::remove_range(lowfd.max(0), c_int::MAX);
        // SAFETY: the caller's argument, unchanged.
        unsafe { real::closefrom(lowfd) }
    })
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
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: the caller's argument, unchanged.
    guard(-1, || duplicated(fd, unsafe { real::dup(fd) }))
}

/// `dup2(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup2(fd: c_int, newfd: c_int) -> c_int {
    guard(-1, || {
        settle_replaced(fd, newfd);
        // SAFETY: the caller's arguments, unchanged.
        duplicated(fd, unsafe { real::dup2(fd, newfd) })
    })
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

/// `dup3(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup3(fd: c_int, newfd: c_int, flags: c_int) -> c_int {
    guard(-1, || {
        settle_replaced(fd, newfd);
        // SAFETY: the caller's arguments, unchanged.
        duplicated(fd, unsafe { real::dup3(fd, newfd, flags) })
    })
}

/// True for the `fcntl` commands that duplicate a descriptor.
fn is_dup_command(cmd: c_int) -> bool {
    cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC
}

/// `fcntl(2)`. Variadic in C: the optional argument is taken as a
/// pointer-sized integer (see the crate docs).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        let r = unsafe { real::fcntl(fd, cmd, arg) };
        if is_dup_command(cmd) {
            duplicated(fd, r)
        } else {
            r
        }
    })
}

/// `fcntl64`: glibc's name of `fcntl` for programs built with 64-bit
/// `off_t` on 32-bit and for newer builds. See [`fcntl`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        let r = unsafe { real::fcntl64(fd, cmd, arg) };
        if is_dup_command(cmd) {
            duplicated(fd, r)
        } else {
            r
        }
    })
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
