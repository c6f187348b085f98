//! Which descriptors of the process are emulated netlink sockets.
//!
//! A map from descriptor to [`NetlinkFd`] behind a small spin lock
//! ([`SpinCell`]). The lock is never held while calling out (only map
//! operations run under it), and `pthread_atfork` handlers take it around
//! `fork`, so a child never inherits it held. A bitmap of the descriptors below [`BITMAP_FDS`] that
//! are in the map lets every `read`, `write` and `close` of another
//! descriptor skip the lock (so a signal handler writing to a pipe never
//! waits for it either).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use libc::c_int;

use crate::sys::spin_cell::SpinCell;

/// What the shim knows of one emulated netlink socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NetlinkFd {
    /// Names the daemon connection in control requests.
    pub(crate) cookie: u64,
    /// `SOCK_RAW` or `SOCK_DGRAM`, as given to `socket()` (`SO_TYPE`).
    pub(crate) kind: c_int,
    /// The largest receive buffer reported to the daemon (`ReaderSize`).
    pub(crate) reader_size: u32,
    /// `NETLINK_PKTINFO` is on: receives carry a `nl_pktinfo` message.
    pub(crate) pktinfo: bool,
    /// `SO_PASSCRED` is on: receives carry the sender's
    /// `SCM_CREDENTIALS`.
    pub(crate) passcred: bool,
    /// The default destination `connect` set (`nl_pid`, `nl_groups`);
    /// (0, 0) is the kernel.
    pub(crate) dest: (u32, u32),
}

impl NetlinkFd {
    /// A new socket's entry.
    pub(crate) fn new(cookie: u64, kind: c_int) -> Self {
        NetlinkFd {
            cookie,
            kind,
            reader_size: 0,
            pktinfo: false,
            passcred: false,
            dest: (0, 0),
        }
    }
}

/// The kernel's cap on the reader size it remembers (`max_recvmsg_len`),
/// as the server keeps it.
pub(crate) const MAX_READER_SIZE: u32 = nlq::server::MAX_READER_SIZE as u32;

/// The reader size to report for a receive buffer of `len` bytes when
/// `reported` was reported before: `None` unless it grew (capped at
/// [`MAX_READER_SIZE`]).
pub(crate) fn grown_reader_size(reported: u32, len: usize) -> Option<u32> {
    let len = u32::try_from(len).unwrap_or(u32::MAX).min(MAX_READER_SIZE);
    (len > reported).then_some(len)
}

/// Descriptors below this are tracked in the bitmap; above it, any
/// descriptor is looked up in the map while the map is not empty.
pub(crate) const BITMAP_FDS: usize = 1 << 16;

const WORD: usize = 64;

static MEMBERS: [AtomicU64; BITMAP_FDS / WORD] = [const { AtomicU64::new(0) }; BITMAP_FDS / WORD];

/// The bitmap word and bit of `fd`, if it is tracked there.
fn bit(fd: c_int) -> Option<(&'static AtomicU64, u64)> {
    let fd = usize::try_from(fd).ok()?;
    let word = MEMBERS.get(fd / WORD)?;
    Some((word, 1u64 << (fd % WORD)))
}

fn mark(fd: c_int, member: bool) {
    if let Some((word, mask)) = bit(fd) {
        if member {
            word.fetch_or(mask, Ordering::Release);
        } else {
            word.fetch_and(!mask, Ordering::Release);
        }
    }
}

/// False when `fd` is surely not in the map (no lock taken).
fn may_be_member(fd: c_int) -> bool {
    if COUNT.load(Ordering::Acquire) == 0 {
        return false;
    }
    match bit(fd) {
        Some((word, mask)) => word.load(Ordering::Acquire) & mask != 0,
        None => true,
    }
}

/// What the lock guards.
struct Table {
    map: BTreeMap<c_int, NetlinkFd>,
    /// Cookies of the connections that sent since the daemon last said
    /// it handled all they sent (see [`sent`]).
    sent: Vec<u64>,
}

static TABLE: SpinCell<Table> = SpinCell::new(Table {
    map: BTreeMap::new(),
    sent: Vec::new(),
});

/// How many entries the map has (read without the lock).
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// `sent` is not empty (read without the lock).
static ANY_SENT: AtomicBool = AtomicBool::new(false);

/// Runs `f` on the map under the lock (`f` must not call out of the shim).
fn with<R>(f: impl FnOnce(&mut BTreeMap<c_int, NetlinkFd>) -> R) -> R {
    TABLE.hold_across_fork();
    TABLE.with(|t| {
        let r = f(&mut t.map);
        COUNT.store(t.map.len(), Ordering::Release);
        r
    })
}

/// Runs `f` on the cookies that sent, under the lock (as [`with`]).
fn with_sent<R>(f: impl FnOnce(&mut Vec<u64>) -> R) -> R {
    TABLE.hold_across_fork();
    TABLE.with(|t| {
        let r = f(&mut t.sent);
        ANY_SENT.store(!t.sent.is_empty(), Ordering::Release);
        r
    })
}

/// Records that the connection `cookie` sent requests the daemon may not
/// have handled yet.
pub(crate) fn sent(cookie: u64) {
    with_sent(|v| {
        if !v.contains(&cookie) {
            v.push(cookie);
        }
    });
}

/// Whether `cookie` sent since it was last settled; it is settled now
/// (the caller makes sure of it).
pub(crate) fn take_sent(cookie: u64) -> bool {
    if !ANY_SENT.load(Ordering::Acquire) {
        return false;
    }
    with_sent(|v| match v.iter().position(|&c| c == cookie) {
        Some(i) => {
            v.swap_remove(i);
            true
        }
        None => false,
    })
}

/// Every cookie that sent since it was last settled, except `keep`'s;
/// they are settled now (the caller makes sure of it).
pub(crate) fn take_all_sent(keep: Option<u64>) -> Vec<u64> {
    if !ANY_SENT.load(Ordering::Acquire) {
        return Vec::new();
    }
    with_sent(|v| {
        let (mine, others): (Vec<u64>, Vec<u64>) = v.iter().partition(|&&c| Some(c) == keep);
        *v = mine;
        others
    })
}

/// As [`take_all_sent`] (`None` kept), but `None` instead of waiting
/// when the lock is held.
pub(crate) fn try_take_all_sent() -> Option<Vec<u64>> {
    if !ANY_SENT.load(Ordering::Acquire) {
        return Some(Vec::new());
    }
    TABLE.try_with(|t| {
        let all = std::mem::take(&mut t.sent);
        ANY_SENT.store(false, Ordering::Release);
        all
    })
}

/// The entry of `fd`, if it is an emulated netlink socket.
pub(crate) fn get(fd: c_int) -> Option<NetlinkFd> {
    if !may_be_member(fd) {
        return None;
    }
    with(|m| m.get(&fd).copied())
}

/// Records `fd` as an emulated netlink socket.
pub(crate) fn insert(fd: c_int, entry: NetlinkFd) {
    with(|m| {
        m.insert(fd, entry);
        mark(fd, true);
    });
}

/// Forgets `fd`; its entry if it had one.
pub(crate) fn remove(fd: c_int) -> Option<NetlinkFd> {
    if !may_be_member(fd) {
        return None;
    }
    with(|m| {
        mark(fd, false);
        m.remove(&fd)
    })
}

/// A descriptor the kernel just returned (a new socket, file, ...) is no
/// emulated netlink socket: forgets a stale entry of that number (left by a
/// close the shim did not see, such as `fclose` of an `fdopen` stream).
/// Returns `fd`; negative values (failures) are left alone.
pub(crate) fn fresh(fd: c_int) -> c_int {
    if fd >= 0 {
        remove(fd);
    }
    fd
}

/// Forgets every descriptor from `first` to `last` (both included).
pub(crate) fn remove_range(first: c_int, last: c_int) {
    if COUNT.load(Ordering::Acquire) == 0 || first > last {
        return;
    }
    with(|m| {
        m.retain(|fd, _| {
            let keep = !(first..=last).contains(fd);
            if !keep {
                mark(*fd, false);
            }
            keep
        })
    });
}

/// After a `dup` of `from` to `to`: `to` is what `from` is (a netlink
/// socket or not).
pub(crate) fn duplicate(from: c_int, to: c_int) {
    if COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    with(|m| match m.get(&from).copied() {
        Some(e) => {
            m.insert(to, e);
            mark(to, true);
        }
        None => {
            m.remove(&to);
            mark(to, false);
        }
    });
}

/// Changes the entry of `fd` (if any) and returns the changed entry.
pub(crate) fn update(fd: c_int, f: impl FnOnce(&mut NetlinkFd)) -> Option<NetlinkFd> {
    with(|m| {
        m.get_mut(&fd).map(|e| {
            f(e);
            *e
        })
    })
}

/// Raises the reader size of `fd` for a receive buffer of `len` bytes:
/// `(cookie, size)` to report when it grew.
pub(crate) fn raise_reader_size(fd: c_int, len: usize) -> Option<(u64, u32)> {
    with(|m| {
        let e = m.get_mut(&fd)?;
        let size = grown_reader_size(e.reader_size, len)?;
        e.reader_size = size;
        Some((e.cookie, size))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, as the table is process-global; descriptors far above any
    // the test harness uses.
    #[test]
    fn entries_follow_insert_dup_and_close() {
        let base = 900_000;
        assert_eq!(get(base), None);
        insert(base, NetlinkFd::new(7, libc::SOCK_RAW));
        assert_eq!(get(base).map(|e| e.cookie), Some(7));
        duplicate(base, base + 1);
        assert_eq!(get(base + 1), get(base));
        // dup2 of a plain descriptor over a netlink one forgets it.
        duplicate(base + 50, base + 1);
        assert_eq!(get(base + 1), None);
        assert_eq!(raise_reader_size(base, 0), None);
        assert_eq!(raise_reader_size(base, 4096), Some((7, 4096)));
        assert_eq!(raise_reader_size(base, 4096), None);
        assert_eq!(raise_reader_size(base, 1 << 20), Some((7, 32768)));
        assert_eq!(raise_reader_size(base, 1 << 20), None);
        let e = update(base, |e| e.pktinfo = true).unwrap();
        assert!(e.pktinfo && e.reader_size == 32768);
        insert(base + 2, NetlinkFd::new(8, libc::SOCK_DGRAM));
        insert(base + 9, NetlinkFd::new(9, libc::SOCK_DGRAM));
        remove_range(base + 1, base + 5);
        assert_eq!(get(base + 2), None);
        assert!(get(base + 9).is_some());
        assert_eq!(remove(base).map(|e| e.cookie), Some(7));
        assert_eq!(remove(base), None);
        remove(base + 9);
        // Below the bitmap's end too.
        let low = 60_000;
        insert(low, NetlinkFd::new(3, libc::SOCK_RAW));
        assert!(get(low).is_some() && get(low + 1).is_none());
        duplicate(low, low + 1);
        assert!(get(low + 1).is_some());
        remove_range(low, low + 1);
        assert!(get(low).is_none() && get(low + 1).is_none());
    }

    #[test]
    fn reader_sizes_only_grow_and_are_capped() {
        assert_eq!(grown_reader_size(0, 0), None);
        assert_eq!(grown_reader_size(0, 16384), Some(16384));
        assert_eq!(grown_reader_size(16384, 4096), None);
        assert_eq!(grown_reader_size(4096, usize::MAX), Some(32768));
    }
}
