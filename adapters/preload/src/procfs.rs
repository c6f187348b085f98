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

use libc::c_int;
use nlq_remote::Request;

use crate::c_convention::{errno, fail};
use crate::config;
use crate::control;
use crate::fdtable;
use crate::sys::caller_memory::CStrArg;
use crate::sys::os;

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
    let fd = os::memfd_create(c"nlq-proc", flags);
    if fd < 0 {
        return Err(errno());
    }
    let fail_with = |e: c_int| {
        // `fd` is ours, closed once.
        os::close(fd);
        Err(e)
    };
    let mut rest = &text[..];
    while !rest.is_empty() {
        let n = os::write(fd, rest);
        match usize::try_from(n) {
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(_) if errno() == libc::EINTR => {}
            Err(_) => return fail_with(errno()),
        }
    }
    if os::lseek(fd, 0, libc::SEEK_SET) < 0 {
        return fail_with(errno());
    }
    Ok(fdtable::fresh(fd))
}

/// The emulated file a C path names, when emulation is on.
fn emulated(path: CStrArg<'_>) -> Option<ProcFile> {
    if !config::enabled() {
        return None;
    }
    let path = path.bytes()?;
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

/// `fopen` and `fopen64`: for an emulated file opened for reading, the
/// memory file to make the stream of (or the errno the call fails with);
/// `None` when the call is libc's.
pub(crate) fn fopen(path: CStrArg<'_>, mode: CStrArg<'_>) -> Option<Result<c_int, c_int>> {
    let file = emulated(path)?;
    let (reads, cloexec) = fopen_mode(mode.bytes()?);
    if !reads {
        return None;
    }
    Some(memory_file(file, cloexec))
}

/// `open`, `open64`, `openat`, `openat64` and the `__open*_2` variants:
/// an emulated file's memory file, else what `original` opens. Only
/// absolute paths can name an emulated file (so `openat`'s `dirfd` does
/// not matter).
pub(crate) fn open(path: CStrArg<'_>, flags: c_int, original: impl FnOnce() -> c_int) -> c_int {
    let emulated = emulated(path).filter(|_| reads_only(flags));
    match emulated {
        Some(file) => {
            memory_file(file, flags & libc::O_CLOEXEC != 0).unwrap_or_else(|e| fail(e, -1))
        }
        None => fdtable::fresh(original()),
    }
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
