//! The state file: the stack's configuration as netlink requests, so that
//! it survives a restart of the daemon.
//!
//! # Format
//!
//! A sequence of netlink messages in host byte order (so `nlq decode FILE`
//! prints it):
//!
//! 1. `NLMSG_NOOP` whose payload is [`MAGIC`] and the format version
//!    (`u32`, 1);
//! 2. `RTM_NEWLINK` with `NLM_F_CREATE | NLM_F_EXCL` for every link the
//!    stack did not have when it started, in index order: its index, name,
//!    kind, MTU, MAC address, queue length, alias and group; and
//!    `RTM_NEWLINK` (no create) for the links it started with whose MTU,
//!    MAC, queue length, alias or name changed;
//! 3. `RTM_NEWLINK` setting `IFLA_MASTER` for links with a master, then
//!    `IFF_UP` for links that are up (or down, for a link the stack started
//!    with up);
//! 4. `RTM_NEWADDR` (`CREATE | EXCL`) for every address in dump order,
//!    except those the stack makes itself (`127.0.0.1/8` and `::1/128` on
//!    the loopback link, the EUI-64 IPv6 link-local address of a link's
//!    MAC);
//! 5. `RTM_NEWROUTE` (`CREATE | EXCL`) for every route in dump order except
//!    those of protocol `kernel` (made by the stack for its addresses and
//!    links);
//! 6. `NLMSG_NOOP` whose payload is [`END_MAGIC`], the number of requests
//!    and an FNV-1a 64 hash of every byte before this message: a file cut
//!    short or changed is refused.
//!
//! # Durability
//!
//! The file is written to `FILE.tmp`, synced, renamed over `FILE`, and the
//! directory synced: at every moment `FILE` is a whole old or a whole new
//! version. The daemon writes it after each turn that changed the stack and
//! before that turn's replies are sent.
//!
//! # Replay
//!
//! At start the requests are handed to the server, in order, on a
//! connection of their own; every one must be acknowledged. A file that
//! does not parse, does not end with its trailer, or whose requests are
//! refused is an error, and the daemon does not start.
//!
//! # Limitations
//!
//! - What a stack does not show in its dumps is not kept: the `mem` stack's
//!   index allocation cursor and MAC seed start afresh, so a link created
//!   after a restart may get another index (or MAC) than it would have
//!   without the restart (the kept links keep theirs: they are created with
//!   their index and MAC).
//! - Only the link properties listed above are kept (not other `IFF_*`
//!   flags, not kind-specific `IFLA_INFO_DATA`); addresses keep their
//!   flags, label, peer, broadcast and lifetimes as the dump shows them
//!   (lifetimes start again from the restart); neighbours are not kept.
//! - A link-local address the user added that equals the automatic one is
//!   taken for the automatic one.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv6Addr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use nlq::server::Server;
use nlq::stack::{Stack, StackError, StackResult, Visit};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkInfoRepr, LinkRepr, Message, Messages, NlMsg, RouteRepr, Writer};

/// The payload of the first message: the format's name.
pub const MAGIC: &[u8; 12] = b"nlq-state\0\0\0";

/// The version written after [`MAGIC`].
pub const VERSION: u32 = 1;

/// The start of the last message's payload.
pub const END_MAGIC: &[u8; 8] = b"nlq-end\0";

/// The length of the trailer's payload: magic, count, padding, hash.
const END_LEN: usize = 8 + 4 + 4 + 8;

/// A state file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The file is empty.
    Empty,
    /// The file does not start with the state header.
    NotAStateFile,
    /// A version this daemon does not know.
    Version(u32),
    /// The messages cannot be framed at this byte offset.
    Framing {
        /// Where the broken message starts.
        offset: usize,
        /// What is wrong.
        error: String,
    },
    /// A request does not parse, or is of a type a state file never holds.
    BadMessage {
        /// The request's position (1 = the first after the header).
        index: usize,
        /// What is wrong.
        error: String,
    },
    /// The trailer is missing: the file was cut short.
    Truncated,
    /// The trailer's count or hash does not match the content.
    Checksum,
    /// The stack refused a request of the file.
    Refused {
        /// The request's position (1 = the first after the header).
        index: usize,
        /// The request, described.
        what: String,
        /// The errno.
        errno: i32,
        /// The extended-ACK text, if any.
        text: Option<String>,
    },
    /// The stack's configuration could not be read.
    Dump(i32),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Empty => write!(f, "the file is empty (not a state file)"),
            StateError::NotAStateFile => write!(f, "not an nlq state file (no state header)"),
            StateError::Version(v) => write!(f, "state file version {v} is not supported"),
            StateError::Framing { offset, error } => {
                write!(
                    f,
                    "corrupt: the message at byte {offset} cannot be framed: {error}"
                )
            }
            StateError::BadMessage { index, error } => {
                write!(f, "corrupt: request {index}: {error}")
            }
            StateError::Truncated => write!(f, "corrupt: the file was cut short (no trailer)"),
            StateError::Checksum => write!(f, "corrupt: the content does not match its trailer"),
            StateError::Refused {
                index,
                what,
                errno,
                text,
            } => {
                write!(
                    f,
                    "request {index} ({what}) was refused: {} ({errno})",
                    nlq::errno::name(*errno)
                )?;
                if let Some(t) = text {
                    write!(f, ": {t}")?;
                }
                Ok(())
            }
            StateError::Dump(e) => write!(
                f,
                "the stack's configuration cannot be read: {} ({e})",
                nlq::errno::name(*e)
            ),
        }
    }
}

impl std::error::Error for StateError {}

impl From<StateError> for io::Error {
    fn from(e: StateError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// A state file the daemon keeps up to date.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// The links the stack had before any request (made by the stack).
    baseline: Vec<LinkRepr>,
    /// What the file holds now.
    last: Vec<u8>,
}

impl StateFile {
    /// Opens the state kept at `path` for the server's stack: a missing
    /// file is a fresh start; an existing one is replayed into `server`
    /// (see the [module](self)). The error names the file.
    pub fn open<S: Stack>(path: &Path, server: &mut Server<S>) -> io::Result<Self> {
        let baseline = collect(|s, v| server.stack().links(s, v))
            .map_err(|e| with_path(path, StateError::Dump(e).into()))?;
        let last = match fs::read(path) {
            Ok(bytes) => {
                replay(server, &bytes).map_err(|e| with_path(path, e.into()))?;
                bytes
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(with_path(path, e)),
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            baseline,
            last,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the stack's configuration, if it differs from what the file
    /// holds.
    pub fn save<S: Stack>(&mut self, stack: &S) -> io::Result<()> {
        let bytes = snapshot(stack, &self.baseline)?;
        if bytes != self.last {
            write_atomically(&self.path, &bytes)?;
            self.last = bytes;
        }
        Ok(())
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("state file {}: {e}", path.display()))
}

/// Replaces the file at `path` with `bytes` so that a crash at any moment
/// leaves the whole old or the whole new content: write `PATH.tmp`, sync
/// it, rename it over `PATH`, sync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Every entry of a dump; a stack without the dump (`EOPNOTSUPP`) has
/// none.
fn collect<T: Clone>(dump: impl Fn(usize, Visit<'_, T>) -> StackResult<()>) -> Result<Vec<T>, i32> {
    let mut out = Vec::new();
    match dump(0, &mut |e: &T| {
        out.push(e.clone());
        ControlFlow::Continue(())
    }) {
        Ok(()) => Ok(out),
        Err(StackError { errno, .. }) if errno == nlq::errno::EOPNOTSUPP => Ok(Vec::new()),
        Err(e) => Err(e.errno),
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The modified EUI-64 link-local address of a 6-byte MAC.
fn link_local_of(mac: &[u8]) -> Option<Ipv6Addr> {
    let m: [u8; 6] = mac.try_into().ok()?;
    Some(Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 2,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ]))
}

/// True for the addresses the loopback link gets when it goes up.
fn loopback_own(a: &AddrRepr, links: &[LinkRepr]) -> bool {
    let Some(ip) = a.local.or(a.address) else {
        return false;
    };
    let loopback = links
        .iter()
        .find(|l| l.header.index == a.header.index)
        .is_some_and(|l| l.header.kind == ARPHRD_LOOPBACK);
    loopback
        && match ip {
            IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST && a.header.prefix_len == 8,
            IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST && a.header.prefix_len == 128,
        }
}

/// True for an IPv6 link-local address (which a link may get by itself).
fn is_link_local(a: &AddrRepr) -> bool {
    matches!(a.local.or(a.address), Some(IpAddr::V6(v6)) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

/// The stack's configuration as a state file (see the [module](self)).
/// `baseline` holds the links the stack had before any request.
pub fn snapshot<S: Stack + ?Sized>(stack: &S, baseline: &[LinkRepr]) -> io::Result<Vec<u8>> {
    let dump_err = |e: i32| io::Error::from(StateError::Dump(e));
    let links = collect(|s, v| stack.links(s, v)).map_err(dump_err)?;
    let addrs = collect(|s, v| stack.addrs(AF_UNSPEC, s, v)).map_err(dump_err)?;
    let routes = collect(|s, v| stack.routes(AF_UNSPEC, s, v)).map_err(dump_err)?;
    let mut w = Writer::new(Vec::new());
    let enc = |e: nlq::wire::Error| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    w.message(NLMSG_NOOP, 0, 0, 0, |w| {
        w.put(MAGIC)?;
        w.put(&VERSION.to_ne_bytes())
    })
    .map_err(enc)?;
    let mut seq = 0u32;
    let mut req = |w: &mut Writer<Vec<u8>>,
                   kind: u16,
                   flags: u16,
                   body: &dyn Fn(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>|
     -> io::Result<()> {
        seq = seq.wrapping_add(1);
        // Without NLM_F_ACK a request is optional: its failure is ignored.
        let ack = if flags & NLM_F_REQUEST != 0 {
            0
        } else {
            NLM_F_ACK
        };
        w.message(kind, NLM_F_REQUEST | ack | flags, seq, 0, body)
            .map_err(enc)?;
        Ok(())
    };
    let create = NLM_F_CREATE | NLM_F_EXCL;
    // Links: created ones, and changes of the stack's own.
    for l in &links {
        let base = baseline.iter().find(|b| b.header.index == l.header.index);
        let mut r = LinkRepr::default();
        r.header.index = l.header.index;
        match base {
            None => {
                r.name = l.name;
                r.info = l.info.as_ref().map(|i| LinkInfoRepr {
                    kind: i.kind,
                    ..LinkInfoRepr::default()
                });
                r.mtu = l.mtu;
                r.address = l.address.filter(|a| !a.as_slice().is_empty());
                r.txqlen = l.txqlen;
                r.alias = l.alias;
                r.group = l.group.filter(|g| *g != 0);
                req(&mut w, RTM_NEWLINK, create, &|w| r.emit(w))?;
            }
            Some(b) => {
                r.name = l.name.filter(|n| Some(n) != b.name.as_ref());
                r.mtu = l.mtu.filter(|m| Some(*m) != b.mtu);
                r.address = l.address.filter(|a| Some(a) != b.address.as_ref());
                r.txqlen = l.txqlen.filter(|q| Some(*q) != b.txqlen);
                r.alias = l.alias.filter(|a| Some(a) != b.alias.as_ref());
                r.group = l.group.filter(|g| Some(*g) != b.group && *g != 0);
                if r != link_only_index(l.header.index) {
                    req(&mut w, RTM_NEWLINK, 0, &|w| r.emit(w))?;
                }
            }
        }
    }
    // Links of the baseline that are gone.
    for b in baseline {
        if !links.iter().any(|l| l.header.index == b.header.index) {
            let r = link_only_index(b.header.index);
            req(&mut w, RTM_DELLINK, 0, &|w| r.emit(w))?;
        }
    }
    for l in &links {
        if let Some(m) = l.master.filter(|m| *m != 0) {
            let mut r = link_only_index(l.header.index);
            r.master = Some(m);
            req(&mut w, RTM_NEWLINK, 0, &|w| r.emit(w))?;
        }
    }
    for l in &links {
        let base_up = baseline
            .iter()
            .find(|b| b.header.index == l.header.index)
            .is_some_and(|b| b.header.flags & IFF_UP != 0);
        let up = l.header.flags & IFF_UP != 0;
        if up != base_up {
            let mut r = link_only_index(l.header.index);
            r.header.flags = if up { IFF_UP } else { 0 };
            r.header.change = IFF_UP;
            req(&mut w, RTM_NEWLINK, 0, &|w| r.emit(w))?;
        }
    }
    for a in addrs.iter().filter(|a| !loopback_own(a, &links)) {
        let mut r = *a;
        // The state the stack reports, not one a request may ask for.
        let clear = IFA_F_SECONDARY | IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED;
        r.header.flags &= !(clear as u8);
        r.flags = r.flags.map(|f| f & !clear);
        // A link-local address may be there already: the link made it when
        // it went up.
        let flags = if is_link_local(a) {
            NLM_F_CREATE | NLM_F_REPLACE
        } else {
            create
        };
        req(&mut w, RTM_NEWADDR, flags, &|w| r.emit(w))?;
    }
    // The link-local address a link makes from its MAC when it goes up is
    // not always one it has (its MAC changed since): remove it, if the
    // replay made it. Optional (no ACK): an error is ignored.
    for l in links.iter().filter(|l| l.header.kind != ARPHRD_LOOPBACK) {
        let Some(ll) = l.address.as_ref().and_then(|m| link_local_of(m.as_slice())) else {
            continue;
        };
        let ll = IpAddr::V6(ll);
        let kept = addrs
            .iter()
            .any(|a| a.header.index == l.header.index && a.local.or(a.address) == Some(ll));
        if !kept {
            let r = AddrRepr::new(ll, 64, l.header.index);
            // NLM_F_REQUEST given: without ACK.
            req(&mut w, RTM_DELADDR, NLM_F_REQUEST, &|w| r.emit(w))?;
        }
    }
    for r in routes.iter().filter(|r| r.header.protocol != RTPROT_KERNEL) {
        let mut r = *r;
        r.expires = None;
        req(&mut w, RTM_NEWROUTE, create, &|w| r.emit(w))?;
    }
    let count = seq;
    let hash = fnv1a(w.buffer());
    w.message(NLMSG_NOOP, 0, 0, 0, |w| {
        w.put(END_MAGIC)?;
        w.put(&count.to_ne_bytes())?;
        w.put(&0u32.to_ne_bytes())?;
        w.put(&hash.to_ne_bytes())
    })
    .map_err(enc)?;
    Ok(w.into_inner())
}

/// A link request naming only an index.
fn link_only_index(index: u32) -> LinkRepr {
    let mut r = LinkRepr::default();
    r.header.index = index;
    r
}

/// Checks a state file and returns its requests (header and trailer
/// excluded), in order.
pub fn requests(bytes: &[u8]) -> Result<Vec<NlMsg<'_>>, StateError> {
    if bytes.is_empty() {
        return Err(StateError::Empty);
    }
    let mut msgs = Vec::new();
    let mut offset = 0usize;
    let mut iter = Messages::new(bytes);
    loop {
        let before = iter.remaining().len();
        let Some(m) = iter.next() else { break };
        match m {
            Ok(m) => {
                msgs.push((offset, m));
                offset = offset.saturating_add(before.saturating_sub(iter.remaining().len()));
            }
            Err(e) => {
                if msgs.is_empty() {
                    return Err(StateError::NotAStateFile);
                }
                return Err(StateError::Framing {
                    offset,
                    error: e.to_string(),
                });
            }
        }
    }
    let Some(((_, head), rest)) = msgs.split_first() else {
        return Err(StateError::NotAStateFile);
    };
    let p = head.payload();
    if head.kind() != NLMSG_NOOP || p.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(StateError::NotAStateFile);
    }
    let version = p
        .get(MAGIC.len()..MAGIC.len().saturating_add(4))
        .and_then(|v| v.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or(StateError::NotAStateFile)?;
    if version != VERSION {
        return Err(StateError::Version(version));
    }
    let Some(((end_at, end), body)) = rest.split_last() else {
        return Err(StateError::Truncated);
    };
    let e = end.payload();
    if end.kind() != NLMSG_NOOP || e.get(..8) != Some(&END_MAGIC[..]) {
        return Err(StateError::Truncated);
    }
    // Nothing of the trailer is outside the check.
    let exact = e.len() == END_LEN
        && e.get(12..16) == Some(&[0; 4][..])
        && (end.flags(), end.seq(), end.port()) == (0, 0, 0);
    if !exact {
        return Err(StateError::Checksum);
    }
    let count = e
        .get(8..12)
        .and_then(|v| v.try_into().ok())
        .map(u32::from_ne_bytes);
    let hash = e
        .get(16..24)
        .and_then(|v| v.try_into().ok())
        .map(u64::from_ne_bytes);
    let covered = bytes.get(..*end_at).unwrap_or_default();
    if count != u32::try_from(body.len()).ok() || hash != Some(fnv1a(covered)) {
        return Err(StateError::Checksum);
    }
    let mut out = Vec::with_capacity(body.len());
    for (i, (_, m)) in body.iter().enumerate() {
        let index = i.saturating_add(1);
        let bad = |error: String| StateError::BadMessage { index, error };
        let typed = m.typed().map_err(|e| bad(e.to_string()))?;
        let ok = match (&typed, m.kind()) {
            (Message::Link(l), RTM_NEWLINK | RTM_DELLINK) => LinkRepr::parse(l).is_ok(),
            (Message::Addr(a), RTM_NEWADDR | RTM_DELADDR) => AddrRepr::parse(a).is_ok(),
            (Message::Route(r), RTM_NEWROUTE) => RouteRepr::parse(r).is_ok(),
            _ => false,
        };
        if !ok {
            return Err(bad(format!(
                "a message of type {} that a state file does not hold, or does not parse",
                m.kind()
            )));
        }
        out.push(*m);
    }
    Ok(out)
}

/// Replays a state file into `server`: every request must be
/// acknowledged. Returns the number of requests.
pub fn replay<S: Stack>(server: &mut Server<S>, bytes: &[u8]) -> Result<usize, StateError> {
    let reqs = requests(bytes)?;
    let conn = server.connect();
    let result = (|| {
        for (i, m) in reqs.iter().enumerate() {
            server.send(conn, m.as_bytes());
            let mut answer: Option<(i32, Option<String>)> = None;
            while let Ok(Some(d)) = server.recv(conn, usize::MAX) {
                for r in Messages::new(&d.bytes).flatten() {
                    if let Ok(Message::Error(e)) = r.typed() {
                        answer = Some((e.errno(), e.ext_ack().msg.map(String::from)));
                    }
                }
            }
            let optional = m.flags() & NLM_F_ACK == 0;
            match answer {
                Some((0, _)) => {}
                _ if optional => {}
                Some((errno, text)) => {
                    return Err(StateError::Refused {
                        index: i.saturating_add(1),
                        what: crate::decode::describe(m),
                        errno,
                        text,
                    })
                }
                None => {
                    return Err(StateError::Refused {
                        index: i.saturating_add(1),
                        what: crate::decode::describe(m),
                        errno: nlq::errno::EIO,
                        text: Some("no answer".into()),
                    })
                }
            }
        }
        Ok(reqs.len())
    })();
    server.disconnect(conn);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlinline::{Handle, Route};
    use nlq::server::Shared;
    use nlq_mem::MemStack;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A stack with some of everything a state file keeps.
    fn configured() -> MemStack {
        let shared = Shared::new(MemStack::new());
        let mut h = Handle::in_process(&shared);
        // A link created and deleted: the kept ones have holes in their
        // indexes.
        let gone = h.link_add("gone0", "dummy", &[], None).unwrap();
        let br = h.link_add("br0", "bridge", &[], None).unwrap();
        h.link_del(gone).unwrap();
        let d = h.link_add("d0", "dummy", &[], None).unwrap();
        let down = h.link_add("down0", "dummy", &[], None).unwrap();
        h.link_set_mtu(br, 1400).unwrap();
        h.link_set_mac(d, [2, 0, 0, 0, 0, 7]).unwrap();
        h.link_set_mtu("lo", 9000).unwrap();
        h.link_set_up("lo", true).unwrap();
        for l in [br, d] {
            h.link_set_up(l, true).unwrap();
        }
        h.addr_add(v4("192.0.2.1"), 24, br).unwrap();
        h.addr_add(v4("192.0.2.9"), 24, br).unwrap(); // secondary
        h.addr_add(v4("198.51.100.1"), 24, d).unwrap();
        h.addr_add(v4("203.0.113.1"), 24, down).unwrap();
        h.addr_add(v4("2001:db8::1"), 64, d).unwrap();
        h.addr_add(v4("10.255.255.1"), 32, 1).unwrap();
        h.route_add(&Route::to(v4("10.1.0.0"), 16).via(v4("192.0.2.254")))
            .unwrap();
        h.route_add(&Route::default_via(v4("198.51.100.254")))
            .unwrap();
        h.route_add(
            &Route::to(v4("10.2.0.0"), 16)
                .dev(d)
                .table(100)
                .scope(RT_SCOPE_LINK),
        )
        .unwrap();
        h.route_add(&Route::to(v4("2001:db8:9::"), 48).via(v4("2001:db8::fe")))
            .unwrap();
        drop(h);
        shared.with(|s| s.stack().clone())
    }

    fn dumps(s: &MemStack) -> (Vec<LinkRepr>, Vec<AddrRepr>, Vec<RouteRepr>) {
        (
            collect(|a, v| s.links(a, v)).unwrap(),
            collect(|a, v| s.addrs(AF_UNSPEC, a, v)).unwrap(),
            collect(|a, v| s.routes(AF_UNSPEC, a, v)).unwrap(),
        )
    }

    fn baseline() -> Vec<LinkRepr> {
        collect(|a, v| MemStack::new().links(a, v)).unwrap()
    }

    #[test]
    fn a_snapshot_replays_to_the_same_tables() {
        let stack = configured();
        let file = snapshot(&stack, &baseline()).unwrap();
        let mut server = Server::new(MemStack::new());
        let n = replay(&mut server, &file).unwrap();
        assert!(n > 10, "{n} requests");
        let (l1, a1, r1) = dumps(&stack);
        let (l2, a2, r2) = dumps(server.stack());
        assert_eq!(l1, l2);
        assert_eq!(a1, a2);
        assert_eq!(r1, r2);
        // And the replayed stack writes the same file.
        assert_eq!(snapshot(server.stack(), &baseline()).unwrap(), file);
        // The decoder reads it.
        let mut out = Vec::new();
        let sum = crate::decode::print(&file, &mut out).unwrap();
        assert_eq!(sum.errors, 0);
        assert_eq!(sum.messages, n + 2);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("state file header"), "{text}");
        assert!(text.contains("name br0"), "{text}");
    }

    #[test]
    fn a_fresh_stack_is_a_header_and_a_trailer() {
        let file = snapshot(&MemStack::new(), &baseline()).unwrap();
        assert_eq!(requests(&file).unwrap().len(), 0);
    }

    #[test]
    fn every_truncation_and_corruption_is_refused() {
        let file = snapshot(&configured(), &baseline()).unwrap();
        for cut in 0..file.len() {
            let mut server = Server::new(MemStack::new());
            assert!(replay(&mut server, &file[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x40;
            let mut server = Server::new(MemStack::new());
            assert!(replay(&mut server, &bad).is_err(), "byte {i} flipped");
        }
        assert_eq!(
            requests(b""),
            Err(StateError::Empty).map(|_: ()| Vec::new())
        );
        assert_eq!(
            requests(b"hello, world, not netlink").unwrap_err(),
            StateError::NotAStateFile
        );
    }

    #[test]
    fn a_refused_request_names_itself() {
        // A state file whose link exists already.
        let stack = configured();
        let file = snapshot(&stack, &baseline()).unwrap();
        let mut server = Server::new(stack);
        let e = replay(&mut server, &file).unwrap_err();
        let StateError::Refused { index, errno, .. } = &e else {
            panic!("{e}")
        };
        // Request 1 changes `lo`, which goes; the first creation does not.
        assert_eq!((*index, *errno), (2, nlq::errno::EEXIST));
        assert!(e.to_string().contains("RTM_NEWLINK"), "{e}");
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = crate::testing::TempDir::new("state-unit");
        let path = dir.path().join("state");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!dir.path().join("state.tmp").exists());
    }
}
