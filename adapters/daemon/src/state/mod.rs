//! The state file: the stack's exact state on disk, so that it survives a
//! restart of the daemon, and every acknowledged change with it.
//!
//! # Format
//!
//! A sequence of netlink messages in host byte order (so `nlq decode FILE`
//! prints it):
//!
//! 1. `NLMSG_NOOP` whose payload is [`MAGIC`] and the format version
//!    (`u32`, [`VERSION`]);
//! 2. the snapshot: the stack's whole state as [`Persist::save`] writes
//!    it (for the `mem` stack: its counters, then every link, address and
//!    route, kernel routes included), restored exactly rather than
//!    replayed, so that any history comes back as it was;
//! 3. the seal: `NLMSG_NOOP` whose payload is [`END_MAGIC`], the number of
//!    snapshot messages and an FNV-1a 64 hash of every byte before it;
//! 4. the journal: for every request that changed the stack since the
//!    snapshot, the request as it came, then a trailer (`NLMSG_NOOP`,
//!    [`RECORD_MAGIC`], the record's number, the outcomes of the stack
//!    calls it made, and a hash chained from the previous record's, or the
//!    seal's);
//! 5. zero bytes up to the end of the file: room written ahead for the
//!    next records (since version 3). A record never starts with a zero
//!    byte (its request's length does), so the first zero where a record
//!    would start, with only zeros after it, ends the journal.
//!
//! # Durability
//!
//! A turn of the daemon's loop that changed the stack writes its records
//! with one `pwrite` and one `fdatasync` (group commit) before any reply
//! of the turn leaves: an acknowledged change is on disk. The records go
//! over zeros written (and synced with `fsync`) ahead of them in chunks
//! ([`PREALLOC_CHUNK`]), so that the file's size and its blocks do not
//! change when records are written: `fdatasync` then writes the data and
//! flushes the disk's cache, without a commit of the file system's
//! journal (on ext4, on a disk with a write cache, about 140 µs against
//! 200 µs for an append; see docs/PERFORMANCE.md). Before a datagram's
//! requests are handed to the stack, the room for their records is made
//! (the zeros written ahead, if there are not enough) and the file is
//! checked to still be linked and on a writable file system: when that
//! fails (a full or read-only file system, a removed directory) every
//! change of the datagram is refused with that errno and nothing is
//! applied. Should the write of the records itself fail later, the stack
//! is rebuilt from what the file holds, and the connections that were
//! told of the lost changes are closed, so that no acknowledgement of a
//! change that is not on disk is ever sent.
//!
//! The journal is compacted into a new snapshot at start and when it
//! grows larger than the snapshot (and 1 MiB): the new file is written
//! next to the old one (`FILE.tmp`, created exclusively, never through a
//! link), synced, renamed over `FILE`, and the directory synced.
//!
//! # Trust
//!
//! Nothing read is trusted. The daemon takes an exclusive lock on
//! `FILE.lock` (a second daemon gets an error naming it); it refuses a
//! `FILE` that is a link, not a regular file (a FIFO is not waited on),
//! owned by another user, or writable by group or others; the snapshot
//! must match its seal exactly (nothing may follow the seal but whole
//! records and zeros); the last record may be torn (a write that did not
//! finish: cut by the end of the file, or with a sector of it still
//! zero) and is then dropped, while a whole record that does not match
//! its hash, or any other damage, is refused; the restored tables are
//! checked to hold together, and each record must replay with the
//! outcomes it had. A refused file is left as it was.
//!
//! # Limitations
//!
//! - A change made through a control request (a netdevice ioctl) is
//!   written as a new snapshot, not a record (room for it, twice the
//!   last snapshot, is checked before it is applied).
//! - Address lifetimes start again from the restart; neighbours are not
//!   kept (the `mem` stack has none).

mod format;
mod guard;
mod persist;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nlq::errno::Errno;
use nlq::server::Server;
use nlq::wire::{NlMsg, Writer};

pub use format::{
    fnv1a, parse, record, snapshot, Chain, Parsed, Record, StateError, END_MAGIC, MAGIC,
    MAX_OUTCOMES, RECORD_MAGIC, RECORD_OVERHEAD, VERSION,
};
pub use guard::{Guarded, REFUSED_TEXT};
pub use persist::{
    Persist, MEM_MAGIC, MEM_MAGIC_NO_NEIGHS, MEM_MAGIC_NO_NEXTHOPS, MEM_MAGIC_NO_RULES,
};

use crate::sys;

/// Writes a stack's state (see [`Persist::save`]).
type SaveFn<S> = fn(&S, &mut Writer<Vec<u8>>) -> nlq::wire::Result<()>;
/// Rebuilds a stack (see [`Persist::restore`]).
type RestoreFn<S> = for<'a, 'b> fn(&'b [NlMsg<'a>]) -> Result<S, String>;

/// How many zero bytes are written at a time ahead of the journal.
pub const PREALLOC_CHUNK: u64 = 256 << 10;

/// The journal is compacted once it is larger than the snapshot and this.
const COMPACT_AT: usize = 1 << 20;

/// A state file the daemon keeps. See the [module](self).
#[derive(Debug)]
pub struct StateFile<S> {
    path: PathBuf,
    _lock: File,
    /// The file, open for writing.
    file: File,
    /// What the file holds before its zero tail, synced.
    durable: Vec<u8>,
    snapshot_len: usize,
    chain: Chain,
    /// Records of this turn, not written yet, and the chain after them.
    pending: Vec<u8>,
    pending_chain: Chain,
    /// A change that only a new snapshot can keep was made this turn.
    needs_snapshot: bool,
    /// The file's size: zeros from the end of `durable` to here.
    reserved_to: u64,
    /// Bytes of a torn last record dropped at start.
    dropped: usize,
    save: SaveFn<S>,
    restore: RestoreFn<S>,
}

/// `err` with the file's name and what was being done in front.
fn named(path: &Path, doing: &str, err: io::Error) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("state file {}: {doing}: {err}", path.display()),
    )
}

fn refused(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("state file {}: {why}; refused", path.display()),
    )
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Refuses a file that is not regular, not the daemon's user's, or that
/// group or others may write.
fn check_trusted(path: &Path, f: &File) -> io::Result<()> {
    let m = f.metadata().map_err(|e| named(path, "fstat", e))?;
    if !m.file_type().is_file() {
        return Err(refused(path, "is not a regular file".into()));
    }
    let me = sys::geteuid();
    if m.uid() != me {
        return Err(refused(
            path,
            format!("is owned by uid {}, not by the daemon's uid {me}", m.uid()),
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(refused(
            path,
            format!(
                "group or others may write it (mode {:o}; it must be 0600)",
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

/// Opens an existing file to read it without following a link or
/// waiting on a FIFO; `None` when there is none.
fn open_existing(path: &Path) -> io::Result<Option<File>> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    match f {
        Ok(f) => {
            check_trusted(path, &f)?;
            Ok(Some(f))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            Err(refused(path, "is a symbolic link".into()))
        }
        Err(e) => Err(named(path, "open", e)),
    }
}

/// Takes the lock that keeps a second daemon off the file.
fn lock(path: &Path) -> io::Result<File> {
    let lock_path = with_suffix(path, ".lock");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&lock_path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                refused(&lock_path, "is a symbolic link".into())
            } else {
                named(&lock_path, "cannot create the lock file", e)
            }
        })?;
    check_trusted(&lock_path, &f)?;
    match sys::lock_exclusive(f.as_fd()) {
        Ok(()) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "state file {}: another nlq daemon keeps its state there ({} is locked)",
                path.display(),
                lock_path.display()
            ),
        )),
        Err(e) => Err(named(&lock_path, "flock", e)),
    }
}

impl<S: Persist> StateFile<S> {
    /// Opens the state kept at `path` for the server's stack: locks it; a
    /// missing file is a fresh start from the server's stack; an existing
    /// one replaces the server's stack with the state it holds. Then
    /// writes a new snapshot (so a state file that cannot be written is an
    /// error now, not at the first change). Errors name the file.
    pub fn open(path: &Path, server: &mut Server<Guarded<S>>) -> io::Result<Self> {
        let lock = lock(path)?;
        let mut existing = None;
        if let Some(mut f) = open_existing(path)? {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| named(path, "read", e))?;
            let loaded =
                load(&bytes, S::restore).map_err(|e| named(path, "cannot load", e.into()))?;
            *server.stack_mut() = Guarded::new(loaded.stack);
            bytes.truncate(loaded.valid_len);
            existing = Some((bytes, loaded.snapshot_len, loaded.chain, loaded.torn));
        }
        let (bytes, hash) =
            snapshot(|w| S::save(server.stack().inner(), w)).map_err(|e| named(path, "save", e))?;
        let file = match replace_file(path, &bytes) {
            Ok(f) => f,
            Err(e) => match existing {
                // No room for a second copy: go on with the file as it is
                // (changes are refused while the disk is full).
                Some((old, snapshot_len, chain, torn))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
                    ) =>
                {
                    return Self::reopen(path, lock, old, snapshot_len, chain, torn);
                }
                _ => return Err(e),
            },
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            file,
            snapshot_len: bytes.len(),
            reserved_to: bytes.len() as u64,
            durable: bytes,
            chain: Chain { number: 0, hash },
            pending: Vec::new(),
            pending_chain: Chain { number: 0, hash },
            needs_snapshot: false,
            dropped: existing.map_or(0, |e| e.3),
            save: S::save,
            restore: S::restore,
        })
    }

    /// Goes on with the existing file (its torn tail cut off), appending.
    fn reopen(
        path: &Path,
        lock: File,
        durable: Vec<u8>,
        snapshot_len: usize,
        chain: Chain,
        dropped: usize,
    ) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| named(path, "open", e))?;
        check_trusted(path, &file)?;
        file.set_len(durable.len() as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| named(path, "truncate", e))?;
        io::Seek::seek(&mut file, io::SeekFrom::End(0)).map_err(|e| named(path, "seek", e))?;
        eprintln!(
            "nlq: state file {}: no room to compact it; going on with it as it is",
            path.display()
        );
        Ok(StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            file,
            snapshot_len,
            reserved_to: durable.len() as u64,
            durable,
            chain,
            pending: Vec::new(),
            pending_chain: chain,
            needs_snapshot: false,
            dropped,
            save: S::save,
            restore: S::restore,
        })
    }
}

impl<S: nlq::stack::Stack> StateFile<S> {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of a torn last record dropped at start (0: none).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The bytes the file holds.
    pub fn len(&self) -> usize {
        self.durable.len()
    }

    /// True when the file holds nothing (never, once open).
    pub fn is_empty(&self) -> bool {
        self.durable.is_empty()
    }

    /// Checks that what is written now will be found at the next start:
    /// the file is still linked and its file system writable. Returns
    /// what that file system has free.
    fn check_writable(&self) -> Result<sys::FsSpace, Errno> {
        // Not `fstat`: see `sys::link_count`.
        if sys::link_count(self.file.as_fd()).map_err(|e| errno_of(&e))? == 0 {
            // The file (or its directory) was removed: nothing written
            // now would be found at the next start.
            return Err(Errno::ENOENT);
        }
        let space = sys::fs_space(self.file.as_fd()).map_err(|e| errno_of(&e))?;
        if space.read_only {
            return Err(Errno(libc::EROFS));
        }
        Ok(space)
    }

    /// Makes sure a change that ends the turn with a new snapshot (see
    /// [`record_snapshot`](Self::record_snapshot)) can be kept: the file
    /// is writable and its file system has room for the new snapshot next
    /// to the old file (estimated as twice what the file holds now).
    /// `Err(errno)` otherwise: the change must be refused with it.
    pub fn prepare_snapshot(&mut self) -> Result<(), Errno> {
        let space = self.check_writable()?;
        let need = (self.durable.len() as u64).saturating_mul(2);
        if space.available < need {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// Makes sure `bytes` more of records can be written: the file is
    /// still there and the disk has room (zeros written ahead now).
    /// `Err(errno)` otherwise: the changes must be refused with it.
    pub fn prepare(&mut self, bytes: usize) -> Result<(), Errno> {
        self.check_writable()?;
        let end = self
            .durable
            .len()
            .saturating_add(self.pending.len())
            .saturating_add(bytes) as u64;
        if end <= self.reserved_to {
            return Ok(());
        }
        // Zeros ahead, a chunk at a time (or just what is needed when a
        // chunk does not fit), synced with the size.
        let from = self.reserved_to.max(self.durable.len() as u64);
        // `end` is past `reserved_to`, and no shorter than `durable`.
        let want = end.saturating_sub(from);
        let zero_fill = |len: u64| {
            let zeros = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
            self.file
                .write_all_at(&zeros, from)
                .and_then(|()| self.file.sync_all())
                .map(|()| from.saturating_add(len))
        };
        match zero_fill(want.max(PREALLOC_CHUNK)).or_else(|_| zero_fill(want)) {
            Ok(to) => {
                self.reserved_to = to;
                Ok(())
            }
            Err(e) => Err(errno_of(&e)),
        }
    }

    /// Notes a request that changed the stack, with the outcomes of its
    /// stack calls.
    pub fn record(&mut self, request: &[u8], outcomes: &[i32]) {
        if outcomes.len() > MAX_OUTCOMES {
            self.needs_snapshot = true;
            return;
        }
        record(
            &mut self.pending,
            &mut self.pending_chain,
            request,
            outcomes,
        );
    }

    /// Notes a change no record can describe: the turn ends with a new
    /// snapshot.
    pub fn record_snapshot(&mut self) {
        self.needs_snapshot = true;
    }

    /// True when the turn changed the stack.
    pub fn is_dirty(&self) -> bool {
        self.needs_snapshot || !self.pending.is_empty()
    }

    /// Makes the turn's changes durable. On failure the server's stack is
    /// rebuilt from what the file holds (the turn's changes are undone)
    /// and the error is returned: the turn's replies must not be sent.
    pub fn commit(&mut self, server: &mut Server<Guarded<S>>) -> io::Result<()> {
        if !self.is_dirty() {
            return Ok(());
        }
        let result = if self.needs_snapshot {
            self.compact(server.stack().inner())
        } else {
            self.append()
        };
        if let Err(e) = result {
            // What may have reached the file must not look like records
            // at the next start.
            let end = self.durable.len() as u64;
            let zeros = vec![0u8; self.pending.len()];
            let _ = self
                .file
                .write_all_at(&zeros, end)
                .and_then(|()| self.file.sync_data());
            self.rollback(server)?;
            return Err(e);
        }
        let journal = self.durable.len().saturating_sub(self.snapshot_len);
        if journal > self.snapshot_len.max(COMPACT_AT) {
            // The journal is long: start again from a snapshot. If that
            // fails, the journal still holds everything.
            if let Err(e) = self.compact(server.stack().inner()) {
                eprintln!("nlq: cannot compact the state file: {e}");
            }
        }
        Ok(())
    }

    /// Writes the turn's records over the zeros after the last ones, and
    /// syncs them.
    fn append(&mut self) -> io::Result<()> {
        let at = self.durable.len() as u64;
        self.file
            .write_all_at(&self.pending, at)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| named(&self.path, "write", e))?;
        self.durable.extend_from_slice(&self.pending);
        self.pending.clear();
        self.chain = self.pending_chain;
        Ok(())
    }

    /// Replaces the file with a snapshot of `stack`.
    fn compact(&mut self, stack: &S) -> io::Result<()> {
        let save = self.save;
        let (bytes, hash) =
            snapshot(|w| save(stack, w)).map_err(|e| named(&self.path, "save", e))?;
        self.file = replace_file(&self.path, &bytes)?;
        self.snapshot_len = bytes.len();
        self.reserved_to = bytes.len() as u64;
        self.durable = bytes;
        self.chain = Chain { number: 0, hash };
        self.pending.clear();
        self.pending_chain = self.chain;
        self.needs_snapshot = false;
        Ok(())
    }

    /// Puts the server's stack back to what the turn acknowledged so far,
    /// after a request whose handling was cut short (a panic in the stack)
    /// may have changed it in a way no record describes: the stack is
    /// rebuilt from what the file holds and the turn's records, as a
    /// restart would rebuild it. When the turn's changes cannot be
    /// replayed from records (one of them is kept by a new snapshot, see
    /// [`record_snapshot`](Self::record_snapshot)), the turn is undone
    /// instead, as when a commit fails: [`Restored::TurnUndone`], and the
    /// caller must not send what the turn acknowledged. An error: not
    /// even the file could be loaded, the stack is as it was left.
    pub fn restore_acknowledged(
        &mut self,
        server: &mut Server<Guarded<S>>,
    ) -> io::Result<Restored> {
        if !self.needs_snapshot {
            let mut image =
                Vec::with_capacity(self.durable.len().saturating_add(self.pending.len()));
            image.extend_from_slice(&self.durable);
            image.extend_from_slice(&self.pending);
            if let Ok(loaded) = load(&image, self.restore) {
                server.stack_mut().replace_inner(loaded.stack);
                return Ok(Restored::Acknowledged);
            }
        }
        self.rollback(server)?;
        Ok(Restored::TurnUndone)
    }

    /// Undoes the turn: the stack as the file holds it.
    fn rollback(&mut self, server: &mut Server<Guarded<S>>) -> io::Result<()> {
        self.pending.clear();
        self.pending_chain = self.chain;
        self.needs_snapshot = false;
        let restore = self.restore;
        let stack = load(&self.durable, restore).map(|l| l.stack).map_err(|e| {
            named(
                &self.path,
                "cannot rebuild the stack from the file",
                e.into(),
            )
        })?;
        server.stack_mut().replace_inner(stack);
        Ok(())
    }
}

/// What [`StateFile::restore_acknowledged`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The stack is as the file and the turn's records have it: every
    /// change acknowledged so far is there, the cut-short one is not.
    Acknowledged,
    /// The stack is as the file holds it: the turn's changes are undone
    /// too, and must be handled as after a failed commit.
    TurnUndone,
}

/// A stack rebuilt from a state file, and where the file stands.
struct Loaded<S> {
    stack: S,
    /// The bytes of whole records and snapshot.
    valid_len: usize,
    snapshot_len: usize,
    chain: Chain,
    /// The bytes of a torn last record.
    torn: usize,
}

/// Rebuilds a stack from a state file's bytes: the snapshot restored, the
/// journal replayed on a server of its own, each record checked to have
/// its outcomes.
fn load<S: nlq::stack::Stack>(
    bytes: &[u8],
    restore: RestoreFn<S>,
) -> Result<Loaded<S>, StateError> {
    let parsed = parse(bytes)?;
    let stack = restore(&parsed.snapshot).map_err(StateError::Tables)?;
    let mut server = Server::new(Guarded::new(stack));
    let conn = server.connect();
    for (i, r) in parsed.records.iter().enumerate() {
        server.handle_datagram(conn, r.request.as_bytes());
        while let Ok(Some(_)) = server.next_datagram(conn, usize::MAX) {}
        let got = server.stack_mut().take_outcomes();
        if got != r.outcomes {
            return Err(StateError::Replay {
                index: u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
                what: r.request.to_string(),
                expected: r.outcomes.clone(),
                got,
            });
        }
    }
    Ok(Loaded {
        stack: server.into_stack().into_inner(),
        valid_len: parsed.valid_len,
        snapshot_len: parsed.snapshot_len,
        chain: parsed.chain,
        torn: parsed.torn,
    })
}

fn errno_of(e: &io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Replaces the file at `path` with `bytes` so that a crash at any moment
/// leaves the whole old or the whole new content: `PATH.tmp` is created
/// afresh (exclusively, mode 0600, never through a link), written, synced
/// and renamed over `PATH`, and the directory synced. Returns the new
/// file, open for writing at its end.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<File> {
    let tmp = with_suffix(path, ".tmp");
    // A leftover (or something planted) goes; unlink never follows a link.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(named(&tmp, "cannot remove", e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| named(&tmp, "cannot create", e))?;
    let write = (|| {
        // The mode whatever the umask.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = write {
        let _ = fs::remove_file(&tmp);
        return Err(named(path, "cannot write", e));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| named(path, "cannot sync its directory", e))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::stack::Stack;
    use nlq::wire::consts::*;
    use nlq::wire::LinkRepr;
    use nlq_mem::MemStack;

    fn set_mtu(index: u32, mtu: u32) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        let mut l = LinkRepr::default();
        l.header.index = index;
        l.mtu = Some(mtu);
        w.message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0, |w| l.emit(w))
            .unwrap();
        w.into_inner()
    }

    fn mtu(server: &Server<Guarded<MemStack>>) -> Option<u32> {
        server
            .stack()
            .inner()
            .link(nlq::stack::LinkKey::Index(1))
            .unwrap()
            .mtu
    }

    /// Applies one request as the daemon does: on the server, recorded.
    fn apply(st: &mut StateFile<MemStack>, server: &mut Server<Guarded<MemStack>>, req: &[u8]) {
        let conn = server.connect();
        server.handle_datagram(conn, req);
        let outcomes = server.stack_mut().take_outcomes();
        st.record(req, &outcomes);
        server.disconnect(conn);
    }

    #[test]
    fn a_failed_commit_undoes_the_turn() {
        let dir = crate::testing::TempDir::new("state-rollback");
        let path = dir.path().join("state");
        let mut server = Server::new(Guarded::new(MemStack::new()));
        let mut st = StateFile::open(&path, &mut server).unwrap();
        apply(&mut st, &mut server, &set_mtu(1, 9000));
        st.commit(&mut server).unwrap();
        // The next write fails (the descriptor no longer writes).
        st.file = File::open(&path).unwrap();
        apply(&mut st, &mut server, &set_mtu(1, 1280));
        assert_eq!(mtu(&server), Some(1280));
        assert!(st.commit(&mut server).is_err());
        assert_eq!(mtu(&server), Some(9000), "memory is back to the disk");
        assert!(!st.is_dirty());
        // What the file holds is that too.
        drop(st);
        let mut again = Server::new(Guarded::new(MemStack::new()));
        let _st = StateFile::open(&path, &mut again).unwrap();
        assert_eq!(mtu(&again), Some(9000));
    }

    #[test]
    fn the_journal_is_compacted_when_it_outgrows_the_snapshot() {
        let dir = crate::testing::TempDir::new("state-compact");
        let path = dir.path().join("state");
        let mut server = Server::new(Guarded::new(MemStack::new()));
        let mut st = StateFile::open(&path, &mut server).unwrap();
        let mut compacted = false;
        for i in 0..20_000u32 {
            let before = st.len();
            apply(&mut st, &mut server, &set_mtu(1, 1280 + i % 1000));
            st.commit(&mut server).unwrap();
            if st.len() < before {
                compacted = true;
                break;
            }
        }
        assert!(compacted, "the file only grew");
        assert!(st.len() <= COMPACT_AT + 1024);
        let bytes = fs::read(&path).unwrap();
        assert_eq!(&bytes[..st.durable.len()], st.durable);
        assert!(bytes[st.durable.len()..].iter().all(|b| *b == 0));
    }
}

#[cfg(test)]
mod large {
    use super::*;
    use nlq_mem::MemStack;

    /// A state file of 100,000 links loads (the time is printed; the
    /// benchmark is the place for figures).
    #[test]
    fn a_state_of_100k_links_loads() {
        let mut t = MemStack::new().tables();
        let template = {
            let mut s = MemStack::new();
            let new = nlq::stack::NewLink {
                index: 0,
                name: None,
                kind: "dummy",
                info: None,
                change: Default::default(),
            };
            nlq::stack::Stack::add_link(&mut s, &new, &mut |_| {}).unwrap();
            s.tables().links[1].clone()
        };
        for i in 2..100_002u32 {
            let mut l = template.clone();
            l.header.index = i;
            l.name = nlq::wire::IfName::try_from_str(&format!("d{i}"));
            t.links.push(l);
        }
        t.last_index = 100_001;
        let stack = MemStack::from_tables(&t).unwrap();
        let dir = crate::testing::TempDir::new("state-large");
        let path = dir.path().join("state");
        let (bytes, _) = snapshot(|w| Persist::save(&stack, w)).unwrap();
        replace_file(&path, &bytes).unwrap();
        let t0 = std::time::Instant::now();
        let mut server = Server::new(Guarded::new(MemStack::new()));
        let _st = StateFile::open(&path, &mut server).unwrap();
        eprintln!("{} bytes loaded in {:?}", bytes.len(), t0.elapsed());
        assert_eq!(server.stack().inner().tables().links.len(), 100_001);
    }
}
