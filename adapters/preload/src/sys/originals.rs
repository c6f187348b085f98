//! The functions the shim replaces, as the next object in the lookup order
//! (libc) defines them.
//!
//! Only [`crate::sys`] calls these (they take the caller's raw pointers);
//! the rest of the shim reaches them through the safe wrappers of
//! [`super::os`] and the pass-through closures of [`super::exports`].
//! Inside the shim every interposed function is called through here, never
//! through `libc::name`: that symbol is the shim's own export, and calling
//! it would re-enter the shim. Each original is looked up with
//! `dlsym(RTLD_NEXT, name)` on first use and kept in an atomic (no lock, so
//! this is safe after `fork` and from any thread). A missing original (not a
//! glibc system) makes the call fail with `ENOSYS`.

use std::ffi::CStr;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use libc::{
    c_char, c_int, c_uint, c_ulong, c_void, ifaddrs, iovec, mmsghdr, msghdr, size_t, sockaddr,
    socklen_t, ssize_t, timespec, FILE,
};

/// The address of `name` in the objects after this one; null if none has it.
fn resolve(slot: &AtomicPtr<c_void>, name: &[u8]) -> *mut c_void {
    let p = slot.load(Ordering::Acquire);
    if !p.is_null() {
        return p;
    }
    let Ok(name) = CStr::from_bytes_with_nul(name) else {
        return null_mut();
    };
    // SAFETY: `name` is NUL-terminated; `RTLD_NEXT` is valid from a shared
    // object (and from an executable, for the unit tests).
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    slot.store(p, Ordering::Release);
    p
}

/// Defines `real::name(args)` calling the original `name`, failing with
/// `ENOSYS` and `$missing` when there is none.
macro_rules! originals {
    ($($name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty, else $missing:expr)?;)*) => {$(
        #[doc = concat!("The original `", stringify!($name), "`.")]
        ///
        /// # Safety
        ///
        /// As for the C function.
        pub(in crate::sys) unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            static SLOT: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
            let p = resolve(&SLOT, concat!(stringify!($name), "\0").as_bytes());
            if p.is_null() {
                crate::sys::os::set_errno(libc::ENOSYS);
                return $($missing)?;
            }
            // SAFETY: `p` is the C function `name`, whose type this is.
            let f = unsafe {
                std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty),*) $(-> $ret)?>(p)
            };
            // SAFETY: the caller's promise.
            unsafe { f($($arg),*) }
        }
    )*};
}

/// Like `originals!` for C variadic functions: the fixed arguments, then one
/// argument passed in the variadic part.
macro_rules! variadic_originals {
    ($($name:ident($($arg:ident: $ty:ty),*; $va:ident: $vty:ty) -> $ret:ty;)*) => {$(
        #[doc = concat!("The original `", stringify!($name), "` (variadic in C).")]
        ///
        /// # Safety
        ///
        /// As for the C function.
        pub(in crate::sys) unsafe fn $name($($arg: $ty,)* $va: $vty) -> $ret {
            static SLOT: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
            let p = resolve(&SLOT, concat!(stringify!($name), "\0").as_bytes());
            if p.is_null() {
                crate::sys::os::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `p` is the C function `name`, whose type this is.
            let f = unsafe {
                std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty,)* ...) -> $ret>(p)
            };
            // SAFETY: the caller's promise.
            unsafe { f($($arg,)* $va) }
        }
    )*};
}

originals! {
    socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int, else -1;
    bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int, else -1;
    connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int, else -1;
    getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int, else -1;
    getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int, else -1;
    setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int, else -1;
    getsockopt(fd: c_int, level: c_int, name: c_int, value: *mut c_void, len: *mut socklen_t) -> c_int, else -1;
    send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t, else -1;
    sendto(fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr, addrlen: socklen_t) -> ssize_t, else -1;
    sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t, else -1;
    sendmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int, else -1;
    write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t, else -1;
    writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t, else -1;
    recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t, else -1;
    recvfrom(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t, else -1;
    recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t, else -1;
    recvmmsg(fd: c_int, msgs: *mut mmsghdr, vlen: c_uint, flags: c_int, timeout: *mut timespec) -> c_int, else -1;
    read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t, else -1;
    readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t, else -1;
    __read_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t) -> ssize_t, else -1;
    __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int) -> ssize_t, else -1;
    __recvfrom_chk(fd: c_int, buf: *mut c_void, len: size_t, buflen: size_t, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> ssize_t, else -1;
    close(fd: c_int) -> c_int, else -1;
    close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int, else -1;
    closefrom(lowfd: c_int);
    dup(fd: c_int) -> c_int, else -1;
    dup2(fd: c_int, newfd: c_int) -> c_int, else -1;
    dup3(fd: c_int, newfd: c_int, flags: c_int) -> c_int, else -1;
    getifaddrs(ifap: *mut *mut ifaddrs) -> c_int, else -1;
    freeifaddrs(ifa: *mut ifaddrs);
    if_nametoindex(name: *const c_char) -> c_uint, else 0;
    if_indextoname(index: c_uint, name: *mut c_char) -> *mut c_char, else null_mut();
    if_nameindex() -> *mut libc::if_nameindex, else null_mut();
    if_freenameindex(ptr: *mut libc::if_nameindex);
    fopen(path: *const c_char, mode: *const c_char) -> *mut FILE, else null_mut();
    fopen64(path: *const c_char, mode: *const c_char) -> *mut FILE, else null_mut();
    __open_2(path: *const c_char, flags: c_int) -> c_int, else -1;
    __open64_2(path: *const c_char, flags: c_int) -> c_int, else -1;
    __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int, else -1;
    __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int, else -1;
}

variadic_originals! {
    ioctl(fd: c_int, request: c_ulong; arg: *mut c_void) -> c_int;
    fcntl(fd: c_int, cmd: c_int; arg: usize) -> c_int;
    fcntl64(fd: c_int, cmd: c_int; arg: usize) -> c_int;
    open(path: *const c_char, flags: c_int; mode: c_uint) -> c_int;
    open64(path: *const c_char, flags: c_int; mode: c_uint) -> c_int;
    openat(dirfd: c_int, path: *const c_char, flags: c_int; mode: c_uint) -> c_int;
    openat64(dirfd: c_int, path: *const c_char, flags: c_int; mode: c_uint) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originals_are_libc_s() {
        // SAFETY: plain libc calls with valid arguments.
        unsafe {
            let fd = socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let flags = fcntl(fd, libc::F_GETFD, 0);
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
            let d = dup(fd);
            assert!(d > fd);
            assert_eq!(close(d), 0);
            assert_eq!(close(fd), 0);
            assert_eq!(close(fd), -1);
            assert_eq!(crate::sys::os::errno(), libc::EBADF);
        }
    }
}
