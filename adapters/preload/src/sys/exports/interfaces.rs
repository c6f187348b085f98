//! `ioctl`, `getifaddrs`, `freeifaddrs`, `if_nametoindex`,
//! `if_indextoname`, `if_nameindex` and `if_freenameindex` (see
//! [`crate::netdevice`], [`crate::ifaddrs`], [`crate::nameindex`]).

use libc::{c_char, c_int, c_uint, c_ulong, c_void, if_nameindex as IfNameIndex, ifaddrs};
use nlq::emulate::ioctl::IfReq;
use nlq::wire::consts::IFNAMSIZ;

use crate::c_convention::{fail, finish, guard};
use crate::netdevice::IoctlPlan;
use crate::sys::c_lists;
use crate::sys::caller_memory::CStrArg;
use crate::sys::originals as real;
use crate::{config, nameindex, netdevice};

/// `struct ifconf`.
#[repr(C)]
struct IfConf {
    ifc_len: c_int,
    ifc_buf: *mut c_char,
}

/// `ioctl(2)`. Variadic in C: the argument is taken as a pointer (see the
/// crate docs).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    guard(-1, || match netdevice::plan(request) {
        // SAFETY: the caller's arguments, unchanged.
        IoctlPlan::PassThrough => unsafe { real::ioctl(fd, request, arg) },
        IoctlPlan::Refuse => fail(libc::EOPNOTSUPP, -1),
        IoctlPlan::IfReq(r) => {
            // SAFETY: for a netdevice request `arg` is null or a `struct
            // ifreq` of `IFREQ_SIZE` bytes (the caller's promise).
            let Some(ifr) = (unsafe { arg.cast::<IfReq>().as_mut() }) else {
                return fail(libc::EFAULT, -1);
            };
            finish(netdevice::ifreq_ioctl(r, ifr).map(|()| 0), -1)
        }
        IoctlPlan::IfConf => {
            // SAFETY: for `SIOCGIFCONF` `arg` is null or a `struct ifconf`
            // (the caller's promise).
            let Some(conf) = (unsafe { arg.cast::<IfConf>().as_mut() }) else {
                return fail(libc::EFAULT, -1);
            };
            let buf = (!conf.ifc_buf.is_null()).then(|| {
                let len = usize::try_from(conf.ifc_len).unwrap_or(0);
                // SAFETY: a non-null `ifc_buf` has `ifc_len` bytes (the
                // caller's promise).
                unsafe { std::slice::from_raw_parts_mut(conf.ifc_buf.cast::<u8>(), len) }
            });
            let r = netdevice::ifconf_ioctl(buf).map(|len| conf.ifc_len = len);
            finish(r.map(|()| 0), -1)
        }
    })
}

/// `getifaddrs(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getifaddrs(ifap: *mut *mut ifaddrs) -> c_int {
    guard(-1, || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::getifaddrs(ifap) };
        }
        if ifap.is_null() {
            return fail(libc::EFAULT, -1);
        }
        match crate::ifaddrs::list_image().and_then(|img| c_lists::materialize(&img)) {
            Ok(head) => {
                // SAFETY: `ifap` is valid (the caller's promise).
                unsafe { *ifap = head };
                0
            }
            Err(e) => fail(e, -1),
        }
    })
}

/// `freeifaddrs(3)`: the list is one block (see [`crate::ifaddrs`]).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn freeifaddrs(ifa: *mut ifaddrs) {
    guard((), || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::freeifaddrs(ifa) };
        }
        // SAFETY: `ifa` is NULL or a list from `getifaddrs`, one block.
        unsafe { c_lists::free_ifaddrs(ifa) }
    })
}

/// `if_nametoindex(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn if_nametoindex(name: *const c_char) -> c_uint {
    // SAFETY: `name` is null or a C string (the caller's promise).
    let arg = unsafe { CStrArg::new(name) };
    guard(0, || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::if_nametoindex(name) };
        }
        let Some(name) = arg.bytes() else {
            return fail(libc::ENODEV, 0);
        };
        nameindex::name_to_index(name).unwrap_or_else(|e| fail(e, 0))
    })
}

/// `if_indextoname(3)`: writes the name (at most `IF_NAMESIZE` bytes with
/// its NUL) to `buf`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn if_indextoname(index: c_uint, buf: *mut c_char) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        if !config::enabled() {
            // SAFETY: the caller's arguments, unchanged.
            return unsafe { real::if_indextoname(index, buf) };
        }
        match nameindex::name_field(index) {
            Ok(field) => {
                if buf.is_null() {
                    return fail(libc::EFAULT, std::ptr::null_mut());
                }
                // SAFETY: `buf` has IF_NAMESIZE bytes (the caller's promise).
                unsafe {
                    std::ptr::copy_nonoverlapping(field.as_ptr(), buf.cast::<u8>(), IFNAMSIZ)
                };
                buf
            }
            Err(e) => fail(e, std::ptr::null_mut()),
        }
    })
}

/// `if_nameindex(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn if_nameindex() -> *mut IfNameIndex {
    guard(std::ptr::null_mut(), || {
        if !config::enabled() {
            // SAFETY: no arguments.
            return unsafe { real::if_nameindex() };
        }
        let r = nameindex::links().and_then(|links| c_lists::build_nameindex(&links));
        r.unwrap_or_else(|e| fail(e, std::ptr::null_mut()))
    })
}

/// `if_freenameindex(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn if_freenameindex(list: *mut IfNameIndex) {
    guard((), || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::if_freenameindex(list) };
        }
        // SAFETY: a list from `if_nameindex` (ours or glibc's: same scheme).
        unsafe { c_lists::free_nameindex(list) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::emulate::ioctl::SIOCGIFINDEX;
    use std::ffi::CStr;

    #[test]
    fn ifconf_is_the_c_structure() {
        assert_eq!(
            std::mem::size_of::<IfConf>(),
            std::mem::size_of::<libc::ifconf>()
        );
    }

    #[test]
    fn ioctls_through_the_daemon_refused_or_passed() {
        crate::fake_daemon::start();
        // SAFETY: valid arguments for each request.
        unsafe {
            let mut ifr = nlq::emulate::ioctl::ifreq("lo");
            assert_eq!(
                ioctl(0, SIOCGIFINDEX as c_ulong, ifr.as_mut_ptr().cast()),
                0
            );
            assert_eq!(nlq::emulate::ioctl::ifreq_int(&ifr), 7);
            let mut ifr = nlq::emulate::ioctl::ifreq("nosuch");
            assert_eq!(
                ioctl(0, SIOCGIFINDEX as c_ulong, ifr.as_mut_ptr().cast()),
                -1
            );
            assert_eq!(crate::c_convention::errno(), libc::ENODEV);
            assert_eq!(ioctl(0, 0x8946, ifr.as_mut_ptr().cast()), -1); // SIOCETHTOOL
            assert_eq!(crate::c_convention::errno(), libc::EOPNOTSUPP);
            let mut fds = [0; 2];
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            let mut n: c_int = -1;
            assert_eq!(
                ioctl(
                    fds[0],
                    libc::FIONREAD as c_ulong,
                    std::ptr::from_mut(&mut n).cast()
                ),
                0
            );
            assert_eq!(n, 0);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn through_the_daemon() {
        crate::fake_daemon::start();
        // SAFETY: C strings and a valid list.
        unsafe {
            assert_eq!(if_nametoindex(c"lo".as_ptr()), 7);
            assert_eq!(if_nametoindex(c"nosuch".as_ptr()), 0);
            assert_eq!(crate::c_convention::errno(), libc::ENODEV);
            let list = if_nameindex();
            assert!(!list.is_null());
            assert_eq!(CStr::from_ptr((*list.add(1)).if_name).to_bytes(), b"br0");
            if_freenameindex(list);
        }
    }
}
