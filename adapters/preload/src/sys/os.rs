//! Safe wrappers of the calls the shim makes on its own behalf: on
//! descriptors it owns (daemon connections, memory files) and buffers it
//! owns. None of them takes a pointer from the program.
//!
//! Interposed functions are called through [`super::originals`] (the
//! shim's own exports would re-enter it); the others (`memfd_create`,
//! `lseek`, `atexit`, ...) straight from `libc`.

use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{c_int, c_uint, c_void, off_t, sockaddr_un, socklen_t, ssize_t};

use super::originals;

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(e: c_int) {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the thread's lifetime.
    unsafe { *libc::__errno_location() = e }
}

/// The calling thread's `errno`.
pub(crate) fn errno() -> c_int {
    // SAFETY: as in `set_errno`.
    unsafe { *libc::__errno_location() }
}

/// `socket(2)` (the original): a new descriptor or -1.
pub(crate) fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    // SAFETY: no pointers are passed.
    unsafe { originals::socket(domain, ty, protocol) }
}

/// `close(2)` (the original) of a descriptor the shim owns.
pub(crate) fn close(fd: c_int) -> c_int {
    // SAFETY: no pointers are passed.
    unsafe { originals::close(fd) }
}

/// `fcntl(fd, F_GETFL)`: the descriptor's status flags or -1.
pub(crate) fn get_status_flags(fd: c_int) -> c_int {
    // SAFETY: F_GETFL takes no argument; no memory is passed.
    unsafe { originals::fcntl(fd, libc::F_GETFL, 0) }
}

/// `fcntl(fd, F_SETFL, flags)`.
pub(crate) fn set_status_flags(fd: c_int, flags: c_int) -> c_int {
    // SAFETY: F_SETFL takes an int; no memory is passed.
    unsafe { originals::fcntl(fd, libc::F_SETFL, flags as usize) }
}

/// `setsockopt(fd, SOL_SOCKET, name, &tv)` for a `timeval` option
/// (`SO_SNDTIMEO`, `SO_RCVTIMEO`).
pub(crate) fn set_timeval_option(fd: c_int, name: c_int, tv: &libc::timeval) -> c_int {
    // SAFETY: `tv` is a timeval, valid for reads of its size.
    unsafe {
        originals::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            std::ptr::from_ref(tv).cast::<c_void>(),
            std::mem::size_of::<libc::timeval>() as socklen_t,
        )
    }
}

/// `connect(2)` (the original) to an `AF_UNIX` address of `len` bytes.
pub(crate) fn connect_unix(fd: c_int, addr: &sockaddr_un, len: socklen_t) -> c_int {
    let len = len.min(std::mem::size_of::<sockaddr_un>() as socklen_t);
    // SAFETY: `addr` is a `sockaddr_un`, valid for `len` bytes.
    unsafe { originals::connect(fd, std::ptr::from_ref(addr).cast(), len) }
}

/// `bind(2)` (the original) to an `AF_UNIX` address of `len` bytes.
#[cfg(test)]
pub(crate) fn bind_unix(fd: c_int, addr: &sockaddr_un, len: socklen_t) -> c_int {
    let len = len.min(std::mem::size_of::<sockaddr_un>() as socklen_t);
    // SAFETY: `addr` is a `sockaddr_un`, valid for `len` bytes.
    unsafe { originals::bind(fd, std::ptr::from_ref(addr).cast(), len) }
}

/// `listen(2)`.
#[cfg(test)]
pub(crate) fn listen(fd: c_int, backlog: c_int) -> c_int {
    // SAFETY: no pointers are passed.
    unsafe { libc::listen(fd, backlog) }
}

/// `accept4(fd, NULL, NULL, flags)`.
#[cfg(test)]
pub(crate) fn accept(fd: c_int, flags: c_int) -> c_int {
    // SAFETY: null address pointers ask for no address.
    unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) }
}

/// `send(2)` (the original) of `bytes`.
pub(crate) fn send(fd: c_int, bytes: &[u8], flags: c_int) -> ssize_t {
    // SAFETY: `bytes` is valid for its length.
    unsafe { originals::send(fd, bytes.as_ptr().cast::<c_void>(), bytes.len(), flags) }
}

/// `recv(2)` (the original) into `buf`.
pub(crate) fn recv(fd: c_int, buf: &mut [u8], flags: c_int) -> ssize_t {
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { originals::recv(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len(), flags) }
}

/// `write(2)` (the original) of `bytes`.
pub(crate) fn write(fd: c_int, bytes: &[u8]) -> ssize_t {
    // SAFETY: `bytes` is valid for its length.
    unsafe { originals::write(fd, bytes.as_ptr().cast::<c_void>(), bytes.len()) }
}

/// `memfd_create(2)`.
pub(crate) fn memfd_create(name: &CStr, flags: c_uint) -> c_int {
    // SAFETY: `name` is NUL-terminated.
    unsafe { libc::memfd_create(name.as_ptr(), flags) }
}

/// `lseek(2)`.
pub(crate) fn lseek(fd: c_int, offset: off_t, whence: c_int) -> off_t {
    // SAFETY: no pointers are passed.
    unsafe { libc::lseek(fd, offset, whence) }
}

/// The function [`at_exit`] registered (a `fn()` as an address; 0: none).
/// An atomic, not a lock: `exit` may run in a child forked at any moment.
static EXIT_HOOK: AtomicUsize = AtomicUsize::new(0);

extern "C" fn run_exit_hook() {
    let f = EXIT_HOOK.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: only `at_exit` stores here, the address of a `fn()`.
        let f = unsafe { std::mem::transmute::<usize, fn()>(f) };
        f();
    }
}

/// `atexit(3)`: runs `f` at `exit`; 0 on success. The shim registers one
/// such function (a second call replaces the first one's function).
pub(crate) fn at_exit(f: fn()) -> c_int {
    EXIT_HOOK.store(f as usize, Ordering::Release);
    // SAFETY: registers a plain function taking no arguments.
    unsafe { libc::atexit(run_exit_hook) }
}

/// `CMSG_SPACE(len)` and `CMSG_LEN(len)`: the room and the `cmsg_len` of
/// a control message of `len` data bytes.
#[cfg(test)]
pub(crate) fn cmsg_space_and_len(len: c_uint) -> (c_uint, c_uint) {
    // SAFETY: pure arithmetic macros.
    unsafe { (libc::CMSG_SPACE(len), libc::CMSG_LEN(len)) }
}
