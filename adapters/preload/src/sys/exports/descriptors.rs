//! `close`, `close_range`, `closefrom`, `dup`, `dup2`, `dup3`, `fcntl`
//! and `fcntl64` (see [`crate::descriptors`]).

use libc::{c_int, c_uint};

use crate::c_convention::guard;
use crate::descriptors;
use crate::sys::originals as real;

/// `close(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    // SAFETY: the caller's argument, unchanged.
    guard(-1, || descriptors::close(fd, || unsafe { real::close(fd) }))
}

/// `close_range(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    guard(-1, || {
        descriptors::close_range(first, last, flags, || {
            // SAFETY: the caller's arguments, unchanged.
            unsafe { real::close_range(first, last, flags) }
        })
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
        // SAFETY: the caller's argument, unchanged.
        descriptors::closefrom(lowfd, || unsafe { real::closefrom(lowfd) })
    })
}

/// `dup(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: the caller's argument, unchanged.
    guard(-1, || descriptors::dup(fd, || unsafe { real::dup(fd) }))
}

/// `dup2(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup2(fd: c_int, newfd: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        descriptors::dup2(fd, newfd, || unsafe { real::dup2(fd, newfd) })
    })
}

/// `dup3(2)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn dup3(fd: c_int, newfd: c_int, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        descriptors::dup2(fd, newfd, || unsafe { real::dup3(fd, newfd, flags) })
    })
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
        descriptors::after_fcntl(fd, cmd, r)
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
        descriptors::after_fcntl(fd, cmd, r)
    })
}
