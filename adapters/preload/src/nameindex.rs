//! `if_nametoindex`, `if_indextoname`, `if_nameindex`, `if_freenameindex`
//! answered by the daemon, with glibc's errnos and allocation.
//!
//! glibc's `if_nametoindex` fails with `ENODEV` (also for a name of
//! `IFNAMSIZ` bytes or more, without asking), `if_indextoname` with `ENXIO`
//! for an unknown index (it turns `SIOCGIFNAME`'s `ENODEV` into POSIX's
//! `ENXIO`). `if_nameindex` returns a `malloc`'d array ended by `{0, NULL}`
//! whose names are separate `malloc`'d strings; `if_freenameindex` frees
//! each name then the array, exactly as glibc's does, so either frees a
//! list made by the other.

use std::ffi::CStr;
use std::mem::size_of;

use libc::{c_char, c_int, c_uint, if_nameindex as IfNameIndex};
use nlq::ioctl::{
    ifreq, ifreq_int, ifreq_name, ifreq_set_int, ifreq_set_name, SIOCGIFINDEX, SIOCGIFNAME,
};
use nlq::remote::{self, Request};
use nlq::wire::consts::IFNAMSIZ;

use crate::config;
use crate::control;
use crate::ffi::{fail, guard};
use crate::netdevice::ifreq_request;
use crate::real;

/// `if_nametoindex` of a name given as bytes.
pub(crate) fn name_to_index(name: &[u8]) -> Result<c_uint, c_int> {
    if name.len() >= IFNAMSIZ {
        return Err(libc::ENODEV);
    }
    let mut ifr = ifreq("");
    ifreq_set_name(&mut ifr, name);
    match ifreq_request(SIOCGIFINDEX, ifr) {
        Ok(out) => c_uint::try_from(ifreq_int(&out)).map_err(|_| libc::ENODEV),
        // glibc: an EINVAL of the ioctl is reported as ENOSYS.
        Err(libc::EINVAL) => Err(libc::ENOSYS),
        Err(e) => Err(e),
    }
}

/// `if_indextoname`: the name's bytes (without NUL).
pub(crate) fn index_to_name(index: c_uint) -> Result<Vec<u8>, c_int> {
    let mut ifr = ifreq("");
    ifreq_set_int(&mut ifr, index as c_int);
    match ifreq_request(SIOCGIFNAME, ifr) {
        Ok(out) => Ok(ifreq_name(&out).to_vec()),
        Err(libc::ENODEV) => Err(libc::ENXIO),
        Err(e) => Err(e),
    }
}

/// `if_nametoindex(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn if_nametoindex(name: *const c_char) -> c_uint {
    guard(0, || {
        if !config::enabled() {
            // SAFETY: the caller's argument, unchanged.
            return unsafe { real::if_nametoindex(name) };
        }
        if name.is_null() {
            return fail(libc::ENODEV, 0);
        }
        // SAFETY: `name` is a C string (the caller's promise).
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        name_to_index(name).unwrap_or_else(|e| fail(e, 0))
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
        match index_to_name(index) {
            Ok(name) => {
                if buf.is_null() {
                    return fail(libc::EFAULT, std::ptr::null_mut());
                }
                // As glibc's strncpy of the IFNAMSIZ field: the name, then
                // NULs up to IFNAMSIZ.
                let mut field = [0u8; IFNAMSIZ];
                for (d, s) in field.iter_mut().take(IFNAMSIZ - 1).zip(&name) {
                    *d = *s;
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

/// Frees what [`build_nameindex`] (or glibc's `if_nameindex`) allocated.
///
/// # Safety
///
/// `list` is NULL or an `if_nameindex` list ended by `{0, NULL}`.
unsafe fn free_nameindex(list: *mut IfNameIndex) {
    if list.is_null() {
        return;
    }
    let mut p = list;
    // SAFETY: the list is ended by an entry with index 0 and no name.
    unsafe {
        while (*p).if_index != 0 || !(*p).if_name.is_null() {
            libc::free((*p).if_name.cast());
            p = p.add(1);
        }
        libc::free(list.cast());
    }
}

/// Allocates an `if_nameindex` list as glibc does (`ENOBUFS` when memory
/// runs out, like glibc).
fn build_nameindex(links: &[(u32, String)]) -> Result<*mut IfNameIndex, c_int> {
    let count = links.len().checked_add(1).ok_or(libc::ENOBUFS)?;
    let size = count
        .checked_mul(size_of::<IfNameIndex>())
        .ok_or(libc::ENOBUFS)?;
    // SAFETY: plain allocation; zeroed, so every entry is `{0, NULL}` and
    // the list is always ended.
    let list = unsafe { libc::calloc(1, size) }.cast::<IfNameIndex>();
    if list.is_null() {
        return Err(libc::ENOBUFS);
    }
    for (i, (index, name)) in links.iter().enumerate() {
        let bytes: Vec<u8> = name.bytes().take_while(|&b| b != 0).collect();
        // SAFETY: plain allocation.
        let s = unsafe { libc::malloc(bytes.len().saturating_add(1)) }.cast::<u8>();
        if s.is_null() {
            // SAFETY: the entries so far are complete and the rest zero.
            unsafe { free_nameindex(list) };
            return Err(libc::ENOBUFS);
        }
        // SAFETY: `s` has `bytes.len() + 1` bytes; entry `i` is inside the
        // array of `count` entries.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), s, bytes.len());
            *s.add(bytes.len()) = 0;
            let e = &mut *list.add(i);
            e.if_index = *index;
            e.if_name = s.cast();
        }
    }
    Ok(list)
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
        let r = control::request(&Request::NameIndex)
            .and_then(|reply| remote::decode_nameindex(&reply).map_err(|_| libc::EIO))
            .and_then(|links| build_nameindex(&links));
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
        unsafe { free_nameindex(list) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_fail_without_asking() {
        assert_eq!(name_to_index(&[b'a'; 16]), Err(libc::ENODEV));
    }

    #[test]
    fn lists_are_built_and_freed_like_glibc_s() {
        let links = vec![(1, "lo".to_string()), (7, "br0".to_string())];
        let list = build_nameindex(&links).unwrap();
        // SAFETY: the list just built.
        unsafe {
            let e = std::slice::from_raw_parts(list, 3);
            assert_eq!(e[0].if_index, 1);
            assert_eq!(CStr::from_ptr(e[0].if_name).to_bytes(), b"lo");
            assert_eq!(e[1].if_index, 7);
            assert_eq!(CStr::from_ptr(e[1].if_name).to_bytes(), b"br0");
            assert_eq!(e[2].if_index, 0);
            assert!(e[2].if_name.is_null());
            free_nameindex(list);
        }
        let empty = build_nameindex(&[]).unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!((*empty).if_index, 0);
            free_nameindex(empty);
            free_nameindex(std::ptr::null_mut());
        }
    }

    #[test]
    fn through_the_daemon() {
        crate::fake_daemon::start();
        // SAFETY: C strings and a valid list.
        unsafe {
            assert_eq!(if_nametoindex(c"lo".as_ptr()), 7);
            assert_eq!(if_nametoindex(c"nosuch".as_ptr()), 0);
            assert_eq!(crate::ffi::errno(), libc::ENODEV);
            let list = if_nameindex();
            assert!(!list.is_null());
            assert_eq!(CStr::from_ptr((*list.add(1)).if_name).to_bytes(), b"br0");
            if_freenameindex(list);
        }
    }
}
