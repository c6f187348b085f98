//! `/proc/net/dev`, `/proc/net/if_inet6`, `/proc/net/igmp`,
//! `/proc/net/igmp6` and `/proc/net/dev_mcast` from the daemon (part of
//! the netdevice emulation).
//!
//! net-tools' `ifconfig` lists interfaces and their counters from
//! `/proc/net/dev` and their IPv6 addresses from `/proc/net/if_inet6`;
//! `ip maddr` reads the multicast groups from the other three; all would
//! show the host's. Opening one for reading (through
//! `fopen`, `fopen64`, `open`, `open64`, `openat`, `openat64` or the
//! `_FORTIFY_SOURCE` `__open*_2`), also spelled `/proc/self/net/...`,
//! `/proc/thread-self/net/...` or `/proc/<own pid>/net/...`, returns a
//! memory file (`memfd_create`) holding the daemon's text instead:
//! each file is the daemon's answer to its `Request` (`ProcNetDev`,
//! `ProcIfInet6`, `ProcIgmp`, `ProcIgmp6`, `ProcDevMcast`). Any other
//! path, and any open for writing, goes to libc unchanged. A relative path
//! (after `chdir("/proc")`) is not recognised.

use std::ffi::CStr;

use libc::{c_char, c_int, c_uint, c_void, FILE};
use nlq::remote::Request;

use crate::config;
use crate::control;
use crate::fdtable;
use crate::ffi::{errno, fail, guard};
use crate::real;

/// An emulated `/proc` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcFile {
    /// `/proc/net/dev`.
    NetDev,
    /// `/proc/net/if_inet6`.
    IfInet6,
    /// `/proc/net/igmp`.
    Igmp,
    /// `/proc/net/igmp6`.
    Igmp6,
    /// `/proc/net/dev_mcast`.
    DevMcast,
}

/// Which emulated file `path` names, for a process with id `pid`.
pub(crate) fn proc_file(path: &[u8], pid: u32) -> Option<ProcFile> {
    let rest = path.strip_prefix(b"/proc/")?;
    let pid = format!("{pid}/");
    let rest = [&b""[..], b"self/", b"thread-self/", pid.as_bytes()]
        .iter()
        .find_map(|p| rest.strip_prefix(*p)?.strip_prefix(b"net/"))?;
    match rest {
        b"dev" => Some(ProcFile::NetDev),
        b"if_inet6" => Some(ProcFile::IfInet6),
        b"igmp" => Some(ProcFile::Igmp),
        b"igmp6" => Some(ProcFile::Igmp6),
        b"dev_mcast" => Some(ProcFile::DevMcast),
        _ => None,
    }
}

/// The text of an emulated file, from the daemon.
fn contents(file: ProcFile) -> Result<Vec<u8>, c_int> {
    match file {
        ProcFile::NetDev => control::request(&Request::ProcNetDev),
        ProcFile::IfInet6 => control::request(&Request::ProcIfInet6),
        ProcFile::Igmp => control::request(&Request::ProcIgmp),
        ProcFile::Igmp6 => control::request(&Request::ProcIgmp6),
        ProcFile::DevMcast => control::request(&Request::ProcDevMcast),
    }
}

/// A memory file holding `file`'s text, positioned at its start.
fn memory_file(file: ProcFile, cloexec: bool) -> Result<c_int, c_int> {
    let text = contents(file)?;
    let flags = if cloexec { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(c"nlq-proc".as_ptr(), flags) };
    if fd < 0 {
        return Err(errno());
    }
    let fail_with = |e: c_int| {
        // SAFETY: `fd` is ours, closed once.
        unsafe { real::close(fd) };
        Err(e)
    };
    let mut rest = &text[..];
    while !rest.is_empty() {
        // SAFETY: `rest` is valid for its length.
        let n = unsafe { real::write(fd, rest.as_ptr().cast::<c_void>(), rest.len()) };
        match usize::try_from(n) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(_) if errno() == libc::EINTR => {}
            Err(_) => return fail_with(errno()),
        }
    }
    // SAFETY: `fd` is ours.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return fail_with(errno());
    }
    Ok(fdtable::fresh(fd))
}

/// The emulated file a C path names, when emulation is on.
///
/// # Safety
///
/// `path` is null or a C string.
unsafe fn emulated(path: *const c_char) -> Option<ProcFile> {
    if path.is_null() || !config::enabled() {
        return None;
    }
    // SAFETY: the caller's promise.
    let path = unsafe { CStr::from_ptr(path) }.to_bytes();
    if !path.starts_with(b"/proc/") {
        return None;
    }
    proc_file(path, std::process::id())
}

/// True when `open` flags only read (and ask for a file, not a path).
fn reads_only(flags: c_int) -> bool {
    flags & libc::O_ACCMODE == libc::O_RDONLY && flags & (libc::O_PATH | libc::O_DIRECTORY) == 0
}

/// An `fopen` mode that only reads: `(reads, close-on-exec)`.
fn fopen_mode(mode: &[u8]) -> (bool, bool) {
    let flags = mode.split(|&b| b == b',').next().unwrap_or_default();
    let reads = flags.first() == Some(&b'r') && !flags.contains(&b'+');
    (reads, flags.contains(&b'e'))
}

/// `fopen` of an emulated file: a read-only stream over a memory file.
///
/// # Safety
///
/// `mode` is a C string.
unsafe fn fopen_emulated(file: ProcFile, mode: *const c_char) -> Option<*mut FILE> {
    if mode.is_null() {
        return None;
    }
    // SAFETY: the caller's promise.
    let (reads, cloexec) = fopen_mode(unsafe { CStr::from_ptr(mode) }.to_bytes());
    if !reads {
        return None;
    }
    let fd = match memory_file(file, cloexec) {
        Ok(fd) => fd,
        Err(e) => return Some(fail(e, std::ptr::null_mut())),
    };
    // SAFETY: `fd` is ours; the stream takes it over.
    let f = unsafe { libc::fdopen(fd, c"r".as_ptr()) };
    if f.is_null() {
        let e = errno();
        // SAFETY: `fd` is ours, closed once.
        unsafe { real::close(fd) };
        return Some(fail(e, std::ptr::null_mut()));
    }
    Some(f)
}

/// `open` of an emulated file with these flags, if it is one.
///
/// # Safety
///
/// `path` is null or a C string.
unsafe fn open_emulated(path: *const c_char, flags: c_int) -> Option<c_int> {
    // SAFETY: the caller's promise.
    let file = unsafe { emulated(path) }?;
    if !reads_only(flags) {
        return None;
    }
    Some(memory_file(file, flags & libc::O_CLOEXEC != 0).unwrap_or_else(|e| fail(e, -1)))
}

/// Forgets a stale table entry of a new stream's descriptor.
fn fresh_stream(f: *mut FILE) -> *mut FILE {
    if !f.is_null() {
        // SAFETY: `f` is an open stream.
        fdtable::fresh(unsafe { libc::fileno(f) });
    }
    f
}

/// `fopen(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments, and the original of this function.
    unsafe { open_stream(path, mode, real::fopen) }
}

/// `fopen64(3)`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments, and the original of this function.
    unsafe { open_stream(path, mode, real::fopen64) }
}

/// `fopen` and `fopen64`: an emulated file's stream, else what `original`
/// opens.
///
/// # Safety
///
/// As for `fopen`; `original` is the libc function being interposed.
unsafe fn open_stream(
    path: *const c_char,
    mode: *const c_char,
    original: unsafe fn(*const c_char, *const c_char) -> *mut FILE,
) -> *mut FILE {
    guard(std::ptr::null_mut(), || {
        // SAFETY: the caller's C strings.
        if let Some(f) =
            unsafe { emulated(path) }.and_then(|file| unsafe { fopen_emulated(file, mode) })
        {
            return f;
        }
        // SAFETY: the caller's arguments, unchanged.
        fresh_stream(unsafe { original(path, mode) })
    })
}

/// `open(2)`. Variadic in C: the mode is taken as a fixed argument (see the
/// crate docs).
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::open(path, flags, mode) }))
    })
}

/// `open64(2)`. See [`open`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::open64(path, flags, mode) }))
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
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::openat(dirfd, path, flags, mode) }))
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
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::openat64(dirfd, path, flags, mode) }))
    })
}

/// `__open_2`: `open` without a mode, compiled with `_FORTIFY_SOURCE`.
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::__open_2(path, flags) }))
    })
}

/// `__open64_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::__open64_2(path, flags) }))
    })
}

/// `__openat_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::__openat_2(dirfd, path, flags) }))
    })
}

/// `__openat64_2`. See [`__open_2`].
///
/// # Safety
///
/// As for the C function.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    guard(-1, || {
        // SAFETY: the caller's C string; then its arguments unchanged.
        unsafe { open_emulated(path, flags) }
            .unwrap_or_else(|| fdtable::fresh(unsafe { real::__openat64_2(dirfd, path, flags) }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        use ProcFile::*;
        assert_eq!(proc_file(b"/proc/net/dev", 42), Some(NetDev));
        assert_eq!(proc_file(b"/proc/self/net/dev", 42), Some(NetDev));
        assert_eq!(
            proc_file(b"/proc/thread-self/net/if_inet6", 42),
            Some(IfInet6)
        );
        assert_eq!(proc_file(b"/proc/42/net/dev", 42), Some(NetDev));
        assert_eq!(proc_file(b"/proc/43/net/dev", 42), None);
        assert_eq!(proc_file(b"/proc/421/net/dev", 42), None);
        assert_eq!(proc_file(b"/proc/net/dev_mcast", 42), Some(DevMcast));
        assert_eq!(proc_file(b"/proc/self/net/igmp6", 42), Some(Igmp6));
        assert_eq!(proc_file(b"/proc/net/igmp", 42), Some(Igmp));
        assert_eq!(proc_file(b"/proc/net/igmp4", 42), None);
        assert_eq!(proc_file(b"/proc/net/route", 42), None);
        assert_eq!(proc_file(b"/etc/passwd", 42), None);
    }

    #[test]
    fn modes_and_flags() {
        assert_eq!(fopen_mode(b"r"), (true, false));
        assert_eq!(fopen_mode(b"re"), (true, true));
        assert_eq!(fopen_mode(b"r,ccs=UTF-8"), (true, false));
        assert!(!fopen_mode(b"r+").0);
        assert!(!fopen_mode(b"w").0);
        assert!(reads_only(libc::O_RDONLY | libc::O_CLOEXEC));
        assert!(!reads_only(libc::O_RDWR));
        assert!(!reads_only(libc::O_PATH));
    }
}
