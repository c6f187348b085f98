//! The bytes of a state file: a sealed snapshot, then a journal of
//! chained, checksummed records (see the [parent module](super)).

use std::fmt;
use std::io;

use nlq::wire::consts::*;
use nlq::wire::{Message, NlMsg, Writer};

/// The payload start of the first message: the format's name.
pub const MAGIC: &[u8; 12] = b"nlq-state\0\0\0";

/// The version written after [`MAGIC`]: 3, whose journal may be followed
/// by zeros (room written ahead). Version 2 files (no zeros) are read.
pub const VERSION: u32 = 3;

/// The size of a disk sector: a write that did not finish leaves whole
/// sectors of it unwritten (zero, in the room written ahead).
const SECTOR: usize = 512;

/// The payload start of the message that seals the snapshot.
pub const END_MAGIC: &[u8; 8] = b"nlq-end\0";

/// The payload start of a journal record's trailer.
pub const RECORD_MAGIC: &[u8; 8] = b"nlq-rec\0";

/// The seal's payload: magic, count, padding, hash.
const SEAL_LEN: usize = 8 + 4 + 4 + 8;

/// The most outcomes one record may hold (a request makes one or two
/// stack calls).
pub const MAX_OUTCOMES: usize = 64;

/// A record's trailer without its outcomes: header, magic, number, count,
/// padding, hash.
pub const RECORD_OVERHEAD: usize = NLMSG_HDRLEN + 8 + 8 + 4 + 4 + 8;

/// A state file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The file is empty.
    Empty,
    /// The file does not start with the state header.
    NotAStateFile,
    /// A version this daemon does not know.
    Version(u32),
    /// The snapshot's messages cannot be framed at this byte offset.
    Framing {
        /// Where the broken message starts.
        offset: usize,
        /// What is wrong.
        error: String,
    },
    /// The snapshot is not sealed: the file was cut short.
    Truncated,
    /// The seal's count or hash does not match the snapshot.
    Checksum,
    /// The snapshot's tables cannot be restored.
    Tables(String),
    /// A journal record is damaged: not a torn last record (cut by the
    /// end of the file, or with a sector still zero), which is dropped.
    Journal {
        /// The record's position (1 = the first after the snapshot).
        index: u64,
        /// Where it starts.
        offset: usize,
        /// What is wrong.
        error: &'static str,
    },
    /// A journal record does not do what it did when it was written.
    Replay {
        /// The record's position (1 = the first after the snapshot).
        index: u64,
        /// The request, described.
        what: String,
        /// The outcomes written in the record.
        expected: Vec<i32>,
        /// The outcomes of the replay.
        got: Vec<i32>,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Empty => write!(f, "the file is empty (not a state file)"),
            StateError::NotAStateFile => write!(f, "not an nlq state file (no state header)"),
            StateError::Version(v) => write!(f, "state file version {v} is not supported"),
            StateError::Framing { offset, error } => write!(
                f,
                "corrupt: the message at byte {offset} cannot be framed: {error}"
            ),
            StateError::Truncated => write!(f, "corrupt: the file was cut short (no seal)"),
            StateError::Checksum => write!(f, "corrupt: the snapshot does not match its seal"),
            StateError::Tables(e) => write!(f, "corrupt: the snapshot cannot be restored: {e}"),
            StateError::Journal {
                index,
                offset,
                error,
            } => write!(
                f,
                "corrupt: journal record {index} at byte {offset}: {error}"
            ),
            StateError::Replay {
                index,
                what,
                expected,
                got,
            } => write!(
                f,
                "corrupt: journal record {index} ({what}) replays with outcomes {got:?}, \
                 not {expected:?}"
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

/// `len` rounded up to netlink's 4-byte alignment.
fn align4(len: usize) -> usize {
    len.saturating_add(3) & !3
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, going on from `h`.
pub fn fnv1a_from(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_BASIS, bytes)
}

fn enc(e: nlq::wire::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// A sealed snapshot: the header, what `save` writes, the seal. Returns
/// the bytes and the seal's hash (where the journal's chain starts).
pub fn snapshot(
    save: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
) -> io::Result<(Vec<u8>, u64)> {
    let mut w = Writer::new(Vec::new());
    w.message(NLMSG_NOOP, 0, 0, 0, |w| {
        w.put(MAGIC)?;
        w.put(&VERSION.to_ne_bytes())
    })
    .map_err(enc)?;
    let header_len = w.buffer().len();
    save(&mut w).map_err(enc)?;
    let count = nlq::wire::Messages::new(w.buffer().get(header_len..).unwrap_or_default()).count();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let hash = fnv1a(w.buffer());
    w.message(NLMSG_NOOP, 0, 0, 0, |w| {
        w.put(END_MAGIC)?;
        w.put(&count.to_ne_bytes())?;
        w.put(&0u32.to_ne_bytes())?;
        w.put(&hash.to_ne_bytes())
    })
    .map_err(enc)?;
    Ok((w.into_inner(), hash))
}

/// Where the journal's chain stands: the last record's number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    /// The number of the last record (0: none yet).
    pub number: u64,
    /// The hash of the last record, or of the seal.
    pub hash: u64,
}

/// Appends a record to `out`: the request message (padded to 4 bytes),
/// then its trailer, chained to `chain`, which moves on.
pub fn record(out: &mut Vec<u8>, chain: &mut Chain, request: &[u8], outcomes: &[i32]) {
    let start = out.len();
    out.extend_from_slice(request);
    out.resize(start.saturating_add(align4(request.len())), 0);
    let number = chain.number.wrapping_add(1);
    let n = outcomes.len().min(MAX_OUTCOMES);
    let len = RECORD_OVERHEAD.saturating_add(n.saturating_mul(4));
    let t = out.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&NLMSG_NOOP.to_ne_bytes());
    out.extend_from_slice(&0u16.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(RECORD_MAGIC);
    out.extend_from_slice(&number.to_ne_bytes());
    out.extend_from_slice(&(n as u32).to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    for o in outcomes.iter().take(n) {
        out.extend_from_slice(&o.to_ne_bytes());
    }
    let hash = fnv1a_from(chain.hash, out.get(start..).unwrap_or_default());
    out.extend_from_slice(&hash.to_ne_bytes());
    debug_assert_eq!(out.len().saturating_sub(t), len);
    *chain = Chain { number, hash };
}

/// One journal record read back.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The request as it came.
    pub request: NlMsg<'a>,
    /// The outcomes of the stack calls it made.
    pub outcomes: Vec<i32>,
}

/// A state file read back and checked.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The snapshot's messages (header and seal excluded).
    pub snapshot: Vec<NlMsg<'a>>,
    /// The bytes up to the seal's end.
    pub snapshot_len: usize,
    /// The journal's records, in order.
    pub records: Vec<Record<'a>>,
    /// Where the chain stands after the last record.
    pub chain: Chain,
    /// The bytes of whole records and snapshot: what the file keeps.
    pub valid_len: usize,
    /// The bytes of a torn last record, dropped.
    pub torn: usize,
}

/// The request types a journal may hold.
fn journaled(kind: u16) -> bool {
    matches!(
        kind,
        RTM_NEWLINK
            | RTM_DELLINK
            | RTM_SETLINK
            | RTM_NEWADDR
            | RTM_DELADDR
            | RTM_NEWROUTE
            | RTM_DELROUTE
            | RTM_NEWRULE
            | RTM_DELRULE
            | RTM_NEWNEIGH
            | RTM_DELNEIGH
            | RTM_NEWNEXTHOP
            | RTM_DELNEXTHOP
    )
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
}

/// Reads and checks a state file.
pub fn parse(bytes: &[u8]) -> Result<Parsed<'_>, StateError> {
    if bytes.is_empty() {
        return Err(StateError::Empty);
    }
    // The header.
    let (head, used) = NlMsg::parse(bytes).map_err(|_| StateError::NotAStateFile)?;
    let p = head.payload();
    if head.message_type() != NLMSG_NOOP || p.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(StateError::NotAStateFile);
    }
    let version = u32_at(p, MAGIC.len()).ok_or(StateError::NotAStateFile)?;
    if version != VERSION && version != 2 {
        return Err(StateError::Version(version));
    }
    // The snapshot, up to its seal.
    let mut at = used;
    let mut snapshot = Vec::new();
    let (seal_at, seal) = loop {
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.is_empty() {
            return Err(StateError::Truncated);
        }
        let (m, used) = NlMsg::parse(rest).map_err(|e| {
            if rest.len() < NLMSG_HDRLEN || u32_at(rest, 0).is_some_and(|l| l as usize > rest.len())
            {
                StateError::Truncated
            } else {
                StateError::Framing {
                    offset: at,
                    error: e.to_string(),
                }
            }
        })?;
        if m.message_type() == NLMSG_NOOP && m.payload().starts_with(END_MAGIC) {
            break (at, m);
        }
        snapshot.push(m);
        at = at.saturating_add(used);
    };
    let e = seal.payload();
    let exact = e.len() == SEAL_LEN
        && e.get(12..16) == Some(&[0; 4][..])
        && (seal.flags(), seal.seq(), seal.port()) == (0, 0, 0)
        && seal.as_bytes().len() == NLMSG_HDRLEN + SEAL_LEN;
    if !exact {
        return Err(StateError::Checksum);
    }
    let covered = bytes.get(..seal_at).unwrap_or_default();
    let hash = fnv1a(covered);
    if u32_at(e, 8) != u32::try_from(snapshot.len()).ok() || u64_at(e, 16) != Some(hash) {
        return Err(StateError::Checksum);
    }
    let snapshot_len = seal_at.saturating_add(NLMSG_HDRLEN + SEAL_LEN);
    // The journal.
    let mut chain = Chain { number: 0, hash };
    let mut records = Vec::new();
    let mut at = snapshot_len;
    let mut torn = 0;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.iter().all(|b| *b == 0) {
            // The room written ahead: the journal ends here.
            break;
        }
        let result = match record_at(bytes, at, chain) {
            // A write that did not finish may leave sectors of the room
            // unwritten in it (zero): inside the record, or at its end
            // (the record then stops where the written sectors do).
            Err(_)
                if unwritten_sector(bytes, at)
                    || matches!(
                        record_at(
                            bytes.get(..written_end(bytes)).unwrap_or_default(),
                            at,
                            chain
                        ),
                        Err(Bad::Torn)
                    ) =>
            {
                Err(Bad::Torn)
            }
            r => r,
        };
        match result {
            Ok((r, next, c)) => {
                records.push(r);
                chain = c;
                at = next;
            }
            Err(Bad::Torn) if only_own_trailer(bytes, at) => {
                torn = bytes.len().saturating_sub(at);
                break;
            }
            Err(Bad::Torn) => {
                return Err(StateError::Journal {
                    index: chain.number.saturating_add(1),
                    offset: at,
                    error: "a damaged record with more records after it",
                })
            }
            Err(Bad::Corrupt(error)) => {
                return Err(StateError::Journal {
                    index: chain.number.saturating_add(1),
                    offset: at,
                    error,
                })
            }
        }
    }
    Ok(Parsed {
        snapshot,
        snapshot_len,
        records,
        chain,
        valid_len: at,
        torn,
    })
}

/// True when, between `at` and the last non-zero byte of the file, a
/// sector (aligned in the file) holds only zeros where the journal's
/// bytes would be: what a write of records that did not finish leaves in
/// the room written ahead for it.
fn unwritten_sector(bytes: &[u8], at: usize) -> bool {
    let Some(last) = bytes.iter().rposition(|b| *b != 0) else {
        return false;
    };
    let mut from = at;
    while from <= last {
        let to = (from / SECTOR).saturating_add(1).saturating_mul(SECTOR);
        // Never empty, and never the sector of the last non-zero byte.
        if bytes
            .get(from..to.min(last.saturating_add(1)))
            .is_some_and(|s| s.iter().all(|b| *b == 0))
        {
            return true;
        }
        from = to;
    }
    false
}

/// The end of the last sector of `bytes` that is not all zeros.
fn written_end(bytes: &[u8]) -> usize {
    let last = bytes.iter().rposition(|b| *b != 0).unwrap_or(0);
    (last / SECTOR)
        .saturating_add(1)
        .saturating_mul(SECTOR)
        .min(bytes.len())
}

/// True when at most one record trailer starts in `bytes[at..]`: a torn
/// write leaves a part of its last record, not a damaged record with
/// others after it.
fn only_own_trailer(bytes: &[u8], at: usize) -> bool {
    let rest = bytes.get(at..).unwrap_or_default();
    (0..rest.len())
        .step_by(4)
        .filter(|p| rest.get(*p..p.saturating_add(RECORD_MAGIC.len())) == Some(&RECORD_MAGIC[..]))
        .nth(1)
        .is_none()
}

enum Bad {
    /// A record that the end of the file cuts: a write that did not
    /// finish.
    Torn,
    Corrupt(&'static str),
}

/// The record at `at`, where it ends, and the chain after it.
fn record_at(bytes: &[u8], at: usize, chain: Chain) -> Result<(Record<'_>, usize, Chain), Bad> {
    let rest = bytes.get(at..).unwrap_or_default();
    let need = |n: usize| {
        if rest.len() < n {
            Err(Bad::Torn)
        } else {
            Ok(())
        }
    };
    need(4)?;
    let req_len = u32_at(rest, 0).unwrap_or(0) as usize;
    if req_len < NLMSG_HDRLEN {
        return Err(Bad::Corrupt("not a request"));
    }
    let req_end = align4(req_len);
    need(req_end.saturating_add(4))?;
    let t_len = u32_at(rest, req_end).unwrap_or(0) as usize;
    if !(RECORD_OVERHEAD..=RECORD_OVERHEAD + 4 * MAX_OUTCOMES).contains(&t_len)
        || !t_len.is_multiple_of(4)
    {
        return Err(Bad::Corrupt("no record trailer after the request"));
    }
    let end = req_end.saturating_add(t_len);
    need(end)?;
    // A whole record that is damaged is refused, last or not.
    let (request, _) =
        NlMsg::parse(rest).map_err(|_| Bad::Corrupt("the request cannot be framed"))?;
    let (trailer, _) = NlMsg::parse(rest.get(req_end..).unwrap_or_default())
        .map_err(|_| Bad::Corrupt("the trailer cannot be framed"))?;
    let t = trailer.payload();
    let n = u32_at(t, 16).unwrap_or(u32::MAX) as usize;
    let well_formed = trailer.message_type() == NLMSG_NOOP
        && (trailer.flags(), trailer.seq(), trailer.port()) == (0, 0, 0)
        && t.starts_with(RECORD_MAGIC)
        && u32_at(t, 20) == Some(0)
        && n <= MAX_OUTCOMES
        && t_len == RECORD_OVERHEAD.saturating_add(n.saturating_mul(4))
        && rest
            .get(req_len..req_end)
            .is_some_and(|p| p.iter().all(|b| *b == 0));
    if !well_formed {
        return Err(Bad::Corrupt("a malformed record trailer"));
    }
    // At least RECORD_OVERHEAD, checked above.
    let hash_at = t_len.saturating_sub(NLMSG_HDRLEN + 8);
    let hash = fnv1a_from(
        chain.hash,
        rest.get(..req_end.saturating_add(NLMSG_HDRLEN).saturating_add(hash_at))
            .unwrap_or_default(),
    );
    if u64_at(t, hash_at) != Some(hash) {
        return Err(Bad::Corrupt("the record does not match its hash"));
    }
    // The hash holds: what follows is what was written.
    let number = chain.number.wrapping_add(1);
    if u64_at(t, 8) != Some(number) {
        return Err(Bad::Corrupt("records out of sequence"));
    }
    let typed_ok = journaled(request.message_type())
        && matches!(
            request.typed(),
            Ok(Message::Link(_)
                | Message::Addr(_)
                | Message::Route(_)
                | Message::Rule(_)
                | Message::Neigh(_)
                | Message::Nexthop(_))
        );
    if !typed_ok {
        return Err(Bad::Corrupt("a request of a type a journal does not hold"));
    }
    let outcomes = (0..n)
        .map(|i| u32_at(t, i.saturating_mul(4).saturating_add(24)).map_or(0, |v| v as i32))
        .collect();
    Ok((
        Record { request, outcomes },
        at.saturating_add(end),
        Chain { number, hash },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(seq: u32) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        let a = nlq::wire::AddrRepr::new("192.0.2.1".parse().unwrap(), 24, 1);
        w.message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, seq, 7, |w| {
            a.emit(w)
        })
        .unwrap();
        w.into_inner()
    }

    fn file(records: usize) -> Vec<u8> {
        let (mut bytes, hash) = snapshot(|w| {
            w.message(RTM_NEWLINK, 0, 0, 0, |w| {
                nlq::wire::LinkRepr::default().emit(w)
            })
            .map(drop)
        })
        .unwrap();
        let mut chain = Chain { number: 0, hash };
        for i in 0..records {
            record(&mut bytes, &mut chain, &request(i as u32), &[0, -17]);
        }
        bytes
    }

    #[test]
    fn a_file_reads_back() {
        let bytes = file(3);
        let p = parse(&bytes).unwrap();
        assert_eq!((p.snapshot.len(), p.records.len(), p.torn), (1, 3, 0));
        assert_eq!(p.records[2].outcomes, vec![0, -17]);
        assert_eq!(p.records[1].request.seq(), 1);
        assert_eq!(p.valid_len, bytes.len());
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_anything_else_refused() {
        let whole = file(2);
        let one = parse(&whole).unwrap().records.len();
        assert_eq!(one, 2);
        let first_end = file(1).len();
        // Every cut inside the last record drops it.
        for cut in first_end..whole.len() {
            let p = parse(&whole[..cut]).unwrap();
            assert_eq!(p.records.len(), 1, "cut at {cut}");
            assert_eq!(p.valid_len, first_end);
        }
        // Every cut inside the snapshot is refused.
        let snap = file(0).len();
        for cut in 0..snap {
            assert!(parse(&whole[..cut]).is_err(), "cut at {cut}");
        }
        // Every flipped byte is refused: a whole record that does not
        // match its hash is damage, even the last one.
        for i in 0..whole.len() {
            let mut bad = whole.clone();
            bad[i] ^= 0x40;
            match parse(&bad) {
                Err(_) => {}
                // A length of the last record made larger than the file
                // is a cut record: dropped.
                Ok(p) => assert!(
                    [first_end, first_end + 32].contains(&(i & !3)) && p.records.len() == 1,
                    "byte {i}"
                ),
            }
        }
        // A damaged record followed by a good one is corruption.
        let mut mid = file(3);
        mid[first_end + 20] ^= 1;
        assert!(matches!(parse(&mid), Err(StateError::Journal { .. })));
    }

    /// The file as the daemon writes it: the journal, then zeros written
    /// ahead for the next records.
    fn with_room(mut bytes: Vec<u8>, room: usize) -> Vec<u8> {
        bytes.resize(bytes.len() + room, 0);
        bytes
    }

    #[test]
    fn zeros_after_the_journal_end_it() {
        for records in 0..3 {
            let end = file(records).len();
            for room in [1, 4, 100, 4096] {
                let bytes = with_room(file(records), room);
                let p = parse(&bytes).unwrap();
                assert_eq!((p.records.len(), p.torn), (records, 0));
                assert_eq!(p.valid_len, end);
            }
        }
        // Anything else after the journal is refused.
        let mut junk = with_room(file(2), 64);
        junk[file(2).len() + 8] = 1;
        assert!(matches!(parse(&junk), Err(StateError::Journal { .. })));
    }

    #[test]
    fn a_record_written_in_part_over_the_zeros_is_dropped() {
        // Records long enough to span sectors.
        let big = |seq: u32| {
            let mut w = Writer::new(Vec::new());
            let mut l = nlq::wire::LinkRepr::default();
            l.header.index = 1;
            l.mtu = Some(1500 + seq);
            w.message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 7, |w| {
                l.emit(w)?;
                w.attr(IFLA_IFALIAS, &[b'a'; 1500])
            })
            .unwrap();
            w.into_inner()
        };
        let (mut bytes, hash) = snapshot(|_| Ok(())).unwrap();
        let mut chain = Chain { number: 0, hash };
        record(&mut bytes, &mut chain, &big(1), &[0]);
        let first_end = bytes.len();
        record(&mut bytes, &mut chain, &big(2), &[0]);
        let whole = with_room(bytes, 4096);
        assert_eq!(parse(&whole).unwrap().records.len(), 2);
        // Each sector of the last record left unwritten (zero): dropped.
        let first_sector = first_end / SECTOR;
        let last_sector = (whole.iter().rposition(|b| *b != 0).unwrap()) / SECTOR;
        for sector in first_sector..=last_sector {
            let mut torn = whole.clone();
            let from = (sector * SECTOR).max(first_end);
            torn[from..(sector + 1) * SECTOR].fill(0);
            let p = parse(&torn).unwrap_or_else(|e| panic!("sector {sector}: {e}"));
            assert_eq!(p.records.len(), 1, "sector {sector}");
            assert_eq!(p.valid_len, first_end);
        }
        // Zeros that are not a whole sector: damage.
        let mut damaged = whole.clone();
        damaged[first_end + 600..first_end + 700].fill(0);
        assert!(parse(&damaged).is_err());
    }
}
