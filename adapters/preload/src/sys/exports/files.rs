//! `fopen`, `fopen64`, `open`, `open64`, `openat`, `openat64` and the
//! `_FORTIFY_SOURCE` `__open*_2` (see [`crate::procfs`]).

use libc::{c_char, c_int, c_uint, FILE};

use crate::c_convention::{errno, fail, guard};
use crate::fdtable;
use crate::procfs;
use crate::sys::caller_memory::CStrArg;
use crate::sys::{originals as real, os};

/// A read-only stream over the memory file `fd` (which it takes over), or
/// NULL and `errno` (`fd` closed).
fn memory_stream(fd: c_int) -> *mut FILE {
    // SAFETY: `fd` is ours; the stream takes it over; the mode is a C
    // string.
    let f = unsafe { libc::fdopen(fd, c"r".as_ptr()) };
    if f.is_null() {
        let e = errno();
        // `fd` is ours, closed once.
        os::close(fd);
        return fail(e, std::ptr::null_mut());
    }
    f
}

/// Forgets a stale table entry of a new stream's descriptor.
fn fresh_stream(f: *mut FILE) -> *mut FILE {
    if !f.is_null() {
        // SAFETY: `f` is an open stream.
        fdtable::fresh(unsafe { libc::fileno(f) });
    }
    f
}

/// `fopen` and `fopen64`: an emulated file's stream, else what `original`
/// opens.
fn open_stream(
    path: CStrArg<'_>,
    mode: CStrArg<'_>,
    original: impl FnOnce() -> *mut FILE,
) -> *mut FILE {
    guard(std::ptr::null_mut(), || match procfs::fopen(path, mode) {
        Some(Ok(fd)) => memory_stream(fd),
        Some(Err(e)) => fail(e, std::ptr::null_mut()),
        None => fresh_stream(original()),
    })
}

/// `fopen(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: `path` and `mode` are null or C strings (the caller's promise).
    let (p, m) = unsafe { (CStrArg::new(path), CStrArg::new(mode)) };
    // SAFETY: the caller's arguments, unchanged.
    open_stream(p, m, || unsafe { real::fopen(path, mode) })
}

/// `fopen64(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: `path` and `mode` are null or C strings (the caller's promise).
    let (p, m) = unsafe { (CStrArg::new(path), CStrArg::new(mode)) };
    // SAFETY: the caller's arguments, unchanged.
    open_stream(p, m, || unsafe { real::fopen64(path, mode) })
}

/// `open(2)`. Variadic in C: the mode is taken as a fixed argument (see the
/// crate docs).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe { real::open(path, flags, mode) })
    })
}

/// `open64(2)`. See [`open`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe { real::open64(path, flags, mode) })
    })
}

/// `openat(2)`: only absolute paths can name an emulated file. See
/// [`open`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe {
            real::openat(dirfd, path, flags, mode)
        })
    })
}

/// `openat64(2)`. See [`openat`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe {
            real::openat64(dirfd, path, flags, mode)
        })
    })
}

/// `__open_2`: `open` without a mode, compiled with `_FORTIFY_SOURCE`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe { real::__open_2(path, flags) })
    })
}

/// `__open64_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe { real::__open64_2(path, flags) })
    })
}

/// `__openat_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe { real::__openat_2(dirfd, path, flags) })
    })
}

/// `__openat64_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: `path` is null or a C string (the caller's promise).
    let p = unsafe { CStrArg::new(path) };
    guard(-1, || {
        // SAFETY: the caller's arguments, unchanged.
        procfs::open(p, flags, || unsafe {
            real::__openat64_2(dirfd, path, flags)
        })
    })
}
