//! `nlq decode`: netlink messages from a capture, printed one line each.
//!
//! Input formats, told apart by their content ([`detect`]):
//!
//! - **pcap** (both byte orders, microsecond and nanosecond magics) taken
//!   on an `nlmon` device: link types `LINKTYPE_NETLINK` (253),
//!   `LINKTYPE_LINUX_SLL` (113) and `LINKTYPE_LINUX_SLL2` (276) with
//!   `ARPHRD_NETLINK` (824). Each packet is one datagram.
//! - **hex**: only hex digits and white space, with optional `0x` prefixes
//!   and `,` separators (C arrays), `xxd` lines (`00000010: 2c00 0000 ...
//!   ,...`) and `hexdump -C` lines (`00000010  2c 00 ... |,...|`). A blank
//!   line ends a datagram.
//! - **raw**: anything else: the bytes of one datagram (messages back to
//!   back, as a state file holds them), or records of a `u32`
//!   little-endian length and a datagram (the test fixtures' format) when
//!   the lengths tile the input exactly.
//!
//! Input that is not a capture is an [`Error`]; a packet or message cut
//! short is reported in the output and decoding goes on with the next
//! datagram. Nothing here panics on any input (fuzzed:
//! `fuzz/fuzz_targets/decode.rs`).

use std::fmt::{self, Write as _};

use nlq::wire::consts::*;
use nlq::wire::{
    AddrAttr, AddrMessage, LinkAttr, LinkInfoAttr, LinkMessage, Message, Messages, NeighAttr,
    NeighMessage, NlMsg, NlMsgHeader, RouteAttr, RouteMessage,
};

/// `LINKTYPE_NETLINK`.
pub const LINKTYPE_NETLINK: u32 = 253;
/// `LINKTYPE_LINUX_SLL`.
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// `LINKTYPE_LINUX_SLL2`.
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
/// `ARPHRD_NETLINK`: the device type of `nlmon`.
pub const ARPHRD_NETLINK: u16 = 824;
/// `NETLINK_ROUTE`.
pub const NETLINK_ROUTE: u16 = 0;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;

/// The format of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A pcap file.
    Pcap,
    /// Hex text.
    Hex,
    /// Bytes.
    Raw,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pcap => "pcap",
            Format::Hex => "hex",
            Format::Raw => "raw",
        })
    }
}

/// Input that cannot be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Nothing to decode.
    Empty,
    /// A pcap file whose header is cut short.
    PcapHeader,
    /// A pcapng file (convert it: `editcap -F pcap IN OUT`).
    Pcapng,
    /// A pcap link type that does not carry netlink.
    LinkType(u32),
    /// Hex text with a character that is not a hex digit, at this line.
    Hex {
        /// The line (from 1).
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty => write!(f, "the input is empty"),
            Error::PcapHeader => write!(f, "pcap: the file header is cut short"),
            Error::Pcapng => write!(
                f,
                "pcapng files are not supported: convert with `editcap -F pcap IN OUT`"
            ),
            Error::LinkType(t) => write!(
                f,
                "pcap: link type {t} does not carry netlink (take the capture on an nlmon \
                 device: link type 253, or a cooked capture, 113 or 276)"
            ),
            Error::Hex { line, what } => write!(f, "hex, line {line}: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// One datagram of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Its bytes (the netlink messages).
    pub bytes: Vec<u8>,
    /// What the capture says of it (`pcap packet 3`, a cut-short note).
    pub note: String,
    /// False for a packet that carries no `NETLINK_ROUTE` messages (another
    /// netlink protocol or another device type): only its headers are
    /// printed.
    pub route: bool,
}

/// A decoded capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Its format.
    pub format: Format,
    /// Its datagrams, in order.
    pub datagrams: Vec<Datagram>,
    /// What was wrong with the capture but did not stop decoding.
    pub warnings: Vec<String>,
}

/// The format of `input`: pcap by its magic, hex if it is only hex text,
/// raw otherwise.
pub fn detect(input: &[u8]) -> Format {
    if let Some(m) = input.first_chunk::<4>() {
        let le = u32::from_le_bytes(*m);
        let be = u32::from_be_bytes(*m);
        if [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAPNG_MAGIC]
            .iter()
            .any(|x| *x == le || *x == be)
        {
            return Format::Pcap;
        }
    }
    if !input.is_empty() && hex_datagrams(input).is_ok() {
        return Format::Hex;
    }
    Format::Raw
}

/// Splits `input` into datagrams.
pub fn capture(input: &[u8]) -> Result<Capture, Error> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    match detect(input) {
        Format::Pcap => pcap(input),
        Format::Hex => Ok(Capture {
            format: Format::Hex,
            datagrams: hex_datagrams(input)?
                .into_iter()
                .enumerate()
                .map(|(i, bytes)| Datagram {
                    bytes,
                    note: format!("hex block {}", i.saturating_add(1)),
                    route: true,
                })
                .collect(),
            warnings: Vec::new(),
        }),
        Format::Raw => Ok(raw(input)),
    }
}

/// Hex text to bytes: one `Vec` per block (blocks end at blank lines).
fn hex_datagrams(input: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let text = std::str::from_utf8(input).map_err(|e| Error::Hex {
        line: input
            .get(..e.valid_up_to())
            .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
            .saturating_add(1),
        what: "not text".into(),
    })?;
    let mut blocks = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut any = false;
    for (i, line) in text.lines().enumerate() {
        let n = i.saturating_add(1);
        let mut l = line.trim();
        if l.is_empty() {
            if !cur.is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // hexdump -C: an ASCII column between bars, after an offset.
        let mut skip_offset = false;
        if let Some(bar) = l.find('|') {
            l = l.get(..bar).unwrap_or("").trim_end();
            skip_offset = true;
        }
        // xxd: `OFFSET: hex groups  ascii`.
        if let Some((off, rest)) = l.split_once(": ") {
            if !off.is_empty() && off.bytes().all(|c| c.is_ascii_hexdigit()) {
                l = rest.split("  ").next().unwrap_or("");
            }
        } else if let Some(off) = l.strip_suffix(':') {
            if off.bytes().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
        }
        let mut tokens = l
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty());
        if skip_offset {
            tokens.next();
        }
        for t in tokens {
            let t = t
                .strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t);
            if t.is_empty() || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Hex {
                    line: n,
                    what: format!("{t:?} is not hex"),
                });
            }
            if t.len() % 2 != 0 {
                return Err(Error::Hex {
                    line: n,
                    what: format!("{t:?} has an odd number of digits"),
                });
            }
            for pair in t.as_bytes().chunks(2) {
                let s = std::str::from_utf8(pair).unwrap_or("");
                let b = u8::from_str_radix(s, 16).map_err(|_| Error::Hex {
                    line: n,
                    what: format!("{s:?} is not hex"),
                })?;
                cur.push(b);
                any = true;
            }
        }
    }
    if !cur.is_empty() {
        blocks.push(cur);
    }
    if !any {
        return Err(Error::Hex {
            line: 1,
            what: "no hex digits".into(),
        });
    }
    Ok(blocks)
}

/// A plausible `nlmsghdr` at the start of `b` within `room` bytes.
fn plausible_header(b: &[u8], room: usize) -> bool {
    NlMsgHeader::parse(b).is_ok_and(|(h, _)| {
        let len = h.len as usize;
        len >= NLMSG_HDRLEN && len <= room
    })
}

/// Raw bytes: length-prefixed records if they tile the input exactly and
/// each holds a plausible message, else one datagram.
fn raw(input: &[u8]) -> Capture {
    let mut records = Vec::new();
    let mut rest = input;
    let tiled = loop {
        if rest.is_empty() {
            break !records.is_empty();
        }
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            break false;
        };
        let len = u32::from_le_bytes(*len) as usize;
        let Some((dgram, tail)) = tail.split_at_checked(len) else {
            break false;
        };
        if !plausible_header(dgram, len) {
            break false;
        }
        records.push(dgram);
        rest = tail;
    };
    let datagrams = if tiled {
        records
            .iter()
            .enumerate()
            .map(|(i, d)| Datagram {
                bytes: d.to_vec(),
                note: format!("record {}", i.saturating_add(1)),
                route: true,
            })
            .collect()
    } else {
        vec![Datagram {
            bytes: input.to_vec(),
            note: "raw".into(),
            route: true,
        }]
    };
    Capture {
        format: Format::Raw,
        datagrams,
        warnings: Vec::new(),
    }
}

/// A pcap file's packets.
fn pcap(input: &[u8]) -> Result<Capture, Error> {
    let head = input.get(..24).ok_or(Error::PcapHeader)?;
    let magic = head.first_chunk::<4>().ok_or(Error::PcapHeader)?;
    if u32::from_le_bytes(*magic) == PCAPNG_MAGIC {
        return Err(Error::Pcapng);
    }
    let little = matches!(u32::from_le_bytes(*magic), PCAP_MAGIC_US | PCAP_MAGIC_NS);
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        let a: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let be16 = |b: &[u8], at: usize| -> Option<u16> {
        let a: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(u16::from_be_bytes(a))
    };
    // The upper bits of the link type field carry FCS information.
    let linktype = u32_at(head, 20).ok_or(Error::PcapHeader)? & 0x0fff_ffff;
    if ![LINKTYPE_NETLINK, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2].contains(&linktype) {
        return Err(Error::LinkType(linktype));
    }
    let mut warnings = Vec::new();
    if little != cfg!(target_endian = "little") {
        warnings.push(
            "the capture was taken on a host of the other byte order: its messages are read in \
             this host's order"
                .to_string(),
        );
    }
    let mut datagrams = Vec::new();
    let mut rest = input.get(24..).unwrap_or_default();
    let mut n = 0usize;
    while !rest.is_empty() {
        n = n.saturating_add(1);
        let (Some(incl), Some(orig)) = (u32_at(rest, 8), u32_at(rest, 12)) else {
            warnings.push(format!(
                "pcap packet {n}: its record header is cut short ({} bytes): ignored",
                rest.len()
            ));
            break;
        };
        let body = rest.get(16..).unwrap_or_default();
        let incl = incl as usize;
        let (packet, cut) = match body.split_at_checked(incl) {
            Some((p, tail)) => {
                rest = tail;
                (p, false)
            }
            None => {
                rest = &[];
                (body, true)
            }
        };
        let mut note = format!("pcap packet {n}");
        if cut {
            let _ = write!(
                note,
                ", cut short: {} of {incl} bytes in the file",
                packet.len()
            );
        } else if (orig as usize) > incl {
            let _ = write!(note, ", captured {incl} of {orig} bytes (snap length)");
        }
        let (hdr_len, arphrd_at, proto_at, pkttype) = match linktype {
            LINKTYPE_LINUX_SLL2 => (20, 8, 0, packet.get(10).map(|p| u16::from(*p))),
            _ => (16, 2, 14, be16(packet, 0)),
        };
        let (Some(arphrd), Some(proto), Some(payload)) = (
            be16(packet, arphrd_at),
            be16(packet, proto_at),
            packet.get(hdr_len..),
        ) else {
            let _ = write!(note, ": too short for its link-layer header");
            datagrams.push(Datagram {
                bytes: Vec::new(),
                note,
                route: false,
            });
            continue;
        };
        if let Some(p) = pkttype {
            let _ = write!(
                note,
                ", {}",
                match p {
                    4 => "outgoing".to_string(),
                    0 => "incoming".to_string(),
                    p => format!("packet type {p}"),
                }
            );
        }
        let mut route = true;
        if arphrd != ARPHRD_NETLINK {
            let _ = write!(note, ", device type {arphrd} (not netlink)");
            route = false;
        } else if proto != NETLINK_ROUTE {
            let _ = write!(note, ", netlink protocol {proto} (not NETLINK_ROUTE)");
            route = false;
        }
        datagrams.push(Datagram {
            bytes: payload.to_vec(),
            note,
            route,
        });
    }
    Ok(Capture {
        format: Format::Pcap,
        datagrams,
        warnings,
    })
}

/// What [`print()`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Datagrams printed.
    pub datagrams: usize,
    /// Messages printed.
    pub messages: usize,
    /// Messages (or datagram tails) that could not be framed or parsed.
    pub errors: usize,
}

/// Decodes `input` and writes it readably to `out`: a line per datagram,
/// an indented line per message. `Err` only for input that is no capture
/// at all (and for failures to write).
pub fn print(input: &[u8], out: &mut dyn std::io::Write) -> std::io::Result<Summary> {
    let cap =
        capture(input).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut text = String::new();
    let sum = render(&cap, &mut text);
    out.write_all(text.as_bytes())?;
    Ok(sum)
}

/// Writes a capture readably into `text`.
pub fn render(cap: &Capture, text: &mut String) -> Summary {
    let mut sum = Summary::default();
    for w in &cap.warnings {
        let _ = writeln!(text, "warning: {w}");
    }
    for d in &cap.datagrams {
        sum.datagrams = sum.datagrams.saturating_add(1);
        let _ = writeln!(text, "{} ({} bytes):", d.note, d.bytes.len());
        let mut iter = Messages::new(&d.bytes);
        let mut offset = 0usize;
        loop {
            let before = iter.remaining().len();
            let Some(m) = iter.next() else { break };
            match m {
                Ok(m) => {
                    sum.messages = sum.messages.saturating_add(1);
                    let line = if d.route {
                        describe(&m)
                    } else {
                        header_line(&m)
                    };
                    let _ = writeln!(text, "  {line}");
                }
                Err(e) => {
                    sum.errors = sum.errors.saturating_add(1);
                    let _ = writeln!(
                        text,
                        "  at byte {offset}: {} bytes cannot be framed ({e}): message truncated or corrupt",
                        before
                    );
                    break;
                }
            }
            offset = offset.saturating_add(before.saturating_sub(iter.remaining().len()));
        }
    }
    sum
}

/// The `NLM_F_*` names of `flags` for a message of type `kind`.
pub fn flag_names(kind: u16, flags: u16) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut left = flags;
    let mut take = |bit: u16, name: &str, names: &mut Vec<String>| {
        if left & bit == bit && bit != 0 {
            names.push(name.to_string());
            left &= !bit;
        }
    };
    for (bit, name) in [
        (NLM_F_REQUEST, "REQUEST"),
        (NLM_F_MULTI, "MULTI"),
        (NLM_F_ACK, "ACK"),
        (NLM_F_ECHO, "ECHO"),
        (NLM_F_DUMP_INTR, "DUMP_INTR"),
        (NLM_F_DUMP_FILTERED, "DUMP_FILTERED"),
    ] {
        take(bit, name, &mut names);
    }
    let op = kind & 3;
    let extra: &[(u16, &str)] = if kind == NLMSG_ERROR {
        &[(NLM_F_CAPPED, "CAPPED"), (NLM_F_ACK_TLVS, "ACK_TLVS")]
    } else if kind < NLMSG_MIN_TYPE {
        &[]
    } else if op == 2 {
        &[
            (NLM_F_DUMP, "DUMP"),
            (NLM_F_ROOT, "ROOT"),
            (NLM_F_MATCH, "MATCH"),
            (NLM_F_ATOMIC, "ATOMIC"),
        ]
    } else if op == 0 {
        &[
            (NLM_F_REPLACE, "REPLACE"),
            (NLM_F_EXCL, "EXCL"),
            (NLM_F_CREATE, "CREATE"),
            (NLM_F_APPEND, "APPEND"),
        ]
    } else if op == 1 {
        &[(NLM_F_NONREC, "NONREC"), (NLM_F_BULK, "BULK")]
    } else {
        &[]
    };
    for (bit, name) in extra {
        take(*bit, name, &mut names);
    }
    if left != 0 {
        names.push(format!("{left:#x}"));
    }
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

/// The header of a message: type, flags, seq, port, length.
pub fn header_line(m: &NlMsg<'_>) -> String {
    let kind =
        message_type_name(m.kind()).map_or_else(|| format!("type {}", m.kind()), String::from);
    format!(
        "{kind} flags={} seq={} port={} len={}",
        flag_names(m.kind(), m.flags()),
        m.seq(),
        m.port(),
        m.len()
    )
}

/// One line for a message: its header and what it says.
pub fn describe(m: &NlMsg<'_>) -> String {
    let mut s = header_line(m);
    let body = match m.typed() {
        Ok(Message::Link(l)) => link(&l),
        Ok(Message::Addr(a)) => addr(&a),
        Ok(Message::Route(r)) => route(&r),
        Ok(Message::Neigh(n)) => neigh(&n),
        Ok(Message::Rule(r)) => rule(&r),
        Ok(Message::Nexthop(n)) => nexthop(&n),
        Ok(Message::Netconf(n)) => match nlq::wire::NetconfRepr::parse(&n) {
            Ok(r) => format!("{r:?}"),
            Err(e) => format!("malformed: {e}"),
        },
        Ok(Message::Nsid(n)) => match nlq::wire::NsidRepr::parse(&n) {
            Ok(r) => format!("{r:?}"),
            Err(e) => format!("malformed: {e}"),
        },
        Ok(Message::Error(e)) => {
            let req = e.request();
            let of = format!(
                " (to {} seq={})",
                message_type_name(req.kind)
                    .map_or_else(|| format!("type {}", req.kind), String::from),
                req.seq
            );
            let mut t = if e.is_ack() {
                format!("ACK{of}")
            } else {
                format!("error {} ({}){of}", nlq::errno::name(e.errno()), e.errno())
            };
            let ack = e.ext_ack();
            if let Some(msg) = ack.msg {
                let _ = write!(t, ": {msg:?}");
            }
            if let Some(off) = ack.offset {
                let _ = write!(t, " at offset {off}");
            }
            t
        }
        Ok(Message::Done(d)) => {
            let mut t = format!("done, status {}", d.error);
            if let Some(msg) = d.ext_ack().msg {
                let _ = write!(t, ": {msg:?}");
            }
            t
        }
        Ok(Message::Noop) => noop(m.payload()),
        Ok(Message::Overrun) => "overrun".into(),
        Ok(Message::Other(_)) => format!("{} bytes of payload", m.payload().len()),
        Err(e) => format!("cannot be read: {e}"),
    };
    s.push_str(": ");
    s.push_str(&body);
    s
}

fn noop(p: &[u8]) -> String {
    if p.starts_with(crate::state::MAGIC) {
        "state file header".into()
    } else if p.starts_with(crate::state::END_MAGIC) {
        let count = p
            .get(8..12)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_ne_bytes);
        format!("state file seal ({count} snapshot messages)")
    } else if p.starts_with(crate::state::RECORD_MAGIC) {
        let number = p
            .get(8..16)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_ne_bytes);
        format!("state journal record {number}")
    } else if p.starts_with(crate::state::MEM_MAGIC)
        || p.starts_with(crate::state::MEM_MAGIC_NO_NEXTHOPS)
        || p.starts_with(crate::state::MEM_MAGIC_NO_NEIGHS)
        || p.starts_with(crate::state::MEM_MAGIC_NO_RULES)
    {
        "state snapshot of the mem stack".into()
    } else {
        format!("noop, {} bytes of payload", p.len())
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().saturating_mul(3));
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn iff_names(flags: u32) -> String {
    let mut names = Vec::new();
    for (bit, name) in [
        (IFF_UP, "UP"),
        (IFF_BROADCAST, "BROADCAST"),
        (IFF_LOOPBACK, "LOOPBACK"),
        (IFF_POINTOPOINT, "POINTOPOINT"),
        (IFF_RUNNING, "RUNNING"),
        (IFF_NOARP, "NOARP"),
        (IFF_PROMISC, "PROMISC"),
        (IFF_MULTICAST, "MULTICAST"),
        (IFF_LOWER_UP, "LOWER_UP"),
    ] {
        if flags & bit != 0 {
            names.push(name);
        }
    }
    format!("<{}>", names.join(","))
}

fn family_name(f: u8) -> String {
    match f {
        AF_UNSPEC => "unspec".into(),
        AF_INET => "inet".into(),
        AF_INET6 => "inet6".into(),
        AF_BRIDGE => "bridge".into(),
        AF_PACKET => "packet".into(),
        AF_MPLS => "mpls".into(),
        f => format!("family {f}"),
    }
}

fn scope_name(s: u8) -> String {
    match s {
        RT_SCOPE_UNIVERSE => "global".into(),
        RT_SCOPE_SITE => "site".into(),
        RT_SCOPE_LINK => "link".into(),
        RT_SCOPE_HOST => "host".into(),
        RT_SCOPE_NOWHERE => "nowhere".into(),
        s => s.to_string(),
    }
}

fn bad(s: &mut String, e: nlq::wire::Error) {
    let _ = write!(s, " <bad attribute: {e}>");
}

fn link(l: &LinkMessage<'_>) -> String {
    let h = l.header();
    let mut s = format!(
        "link {} index {} type {} {}",
        family_name(h.family),
        h.index,
        h.kind,
        iff_names(h.flags)
    );
    if h.change != 0 {
        let _ = write!(s, " change {:#x}", h.change);
    }
    for a in l.attrs() {
        match a {
            Ok(LinkAttr::IfName(n)) => {
                let _ = write!(s, " name {n}");
            }
            Ok(LinkAttr::Mtu(v)) => {
                let _ = write!(s, " mtu {v}");
            }
            Ok(LinkAttr::Address(m)) => {
                let _ = write!(s, " address {}", hex(m));
            }
            Ok(LinkAttr::Broadcast(m)) => {
                let _ = write!(s, " brd {}", hex(m));
            }
            Ok(LinkAttr::TxQueueLen(v)) => {
                let _ = write!(s, " qlen {v}");
            }
            Ok(LinkAttr::OperState(o)) => {
                let _ = write!(
                    s,
                    " state {}",
                    match o {
                        IF_OPER_UP => "UP".to_string(),
                        IF_OPER_DOWN => "DOWN".to_string(),
                        IF_OPER_LOWERLAYERDOWN => "LOWERLAYERDOWN".to_string(),
                        0 => "UNKNOWN".to_string(),
                        o => o.to_string(),
                    }
                );
            }
            Ok(LinkAttr::Master(m)) => {
                let _ = write!(s, " master {m}");
            }
            Ok(LinkAttr::Link(m)) => {
                let _ = write!(s, " link {m}");
            }
            Ok(LinkAttr::Group(g)) => {
                if g != 0 {
                    let _ = write!(s, " group {g}");
                }
            }
            Ok(LinkAttr::IfAlias(a)) => {
                let _ = write!(s, " alias {a:?}");
            }
            Ok(LinkAttr::NewIfIndex(i)) => {
                let _ = write!(s, " new index {i}");
            }
            Ok(LinkAttr::ExtMask(m)) => {
                let _ = write!(s, " ext mask {m:#x}");
            }
            Ok(LinkAttr::LinkInfo(info)) => {
                for i in info {
                    match i {
                        Ok(LinkInfoAttr::Kind(k)) => {
                            let _ = write!(s, " kind {k}");
                        }
                        Ok(LinkInfoAttr::SlaveKind(k)) => {
                            let _ = write!(s, " port of {k}");
                        }
                        Ok(_) => {}
                        Err(e) => bad(&mut s, e),
                    }
                }
            }
            Ok(_) => {}
            Err(e) => bad(&mut s, e),
        }
    }
    s
}

fn addr(a: &AddrMessage<'_>) -> String {
    let h = a.header();
    let mut s = format!("addr {} index {}", family_name(h.family), h.index);
    let (mut local, mut address) = (None, None);
    let mut rest = String::new();
    let mut flags = u32::from(h.flags);
    for x in a.attrs() {
        match x {
            Ok(AddrAttr::Local(ip)) => local = Some(ip.ip()),
            Ok(AddrAttr::Address(ip)) => address = Some(ip.ip()),
            Ok(AddrAttr::Label(l)) => {
                let _ = write!(rest, " label {l}");
            }
            Ok(AddrAttr::Broadcast(b)) => {
                let _ = write!(rest, " brd {b}");
            }
            Ok(AddrAttr::Anycast(b)) => {
                let _ = write!(rest, " anycast {b}");
            }
            Ok(AddrAttr::Flags(f)) => flags = f,
            Ok(AddrAttr::CacheInfo(c)) => {
                let lft = |v: u32| {
                    if v == u32::MAX {
                        "forever".to_string()
                    } else {
                        format!("{v}s")
                    }
                };
                let _ = write!(
                    rest,
                    " valid {} preferred {}",
                    lft(c.valid),
                    lft(c.preferred)
                );
            }
            Ok(_) => {}
            Err(e) => bad(&mut rest, e),
        }
    }
    match (local, address) {
        (Some(l), Some(p)) if l != p => {
            let _ = write!(s, " {l} peer {p}/{}", h.prefix_len);
        }
        (Some(ip), _) | (None, Some(ip)) => {
            let _ = write!(s, " {ip}/{}", h.prefix_len);
        }
        (None, None) => {
            let _ = write!(s, " /{}", h.prefix_len);
        }
    }
    s.push_str(&rest);
    let _ = write!(s, " scope {}", scope_name(h.scope));
    let mut names = Vec::new();
    for (bit, name) in [
        (IFA_F_SECONDARY, "secondary"),
        (IFA_F_NODAD, "nodad"),
        (IFA_F_OPTIMISTIC, "optimistic"),
        (IFA_F_DADFAILED, "dadfailed"),
        (IFA_F_HOMEADDRESS, "home"),
        (IFA_F_DEPRECATED, "deprecated"),
        (IFA_F_TENTATIVE, "tentative"),
        (IFA_F_PERMANENT, "permanent"),
        (IFA_F_MANAGETEMPADDR, "mngtmpaddr"),
        (IFA_F_NOPREFIXROUTE, "noprefixroute"),
        (IFA_F_MCAUTOJOIN, "autojoin"),
        (IFA_F_STABLE_PRIVACY, "stable-privacy"),
    ] {
        if flags & bit != 0 {
            names.push(name);
        }
    }
    if !names.is_empty() {
        let _ = write!(s, " {}", names.join(" "));
    }
    s
}

fn route(r: &RouteMessage<'_>) -> String {
    let h = r.header();
    let kind = match h.kind {
        RTN_UNSPEC => "",
        RTN_UNICAST => "",
        RTN_LOCAL => "local ",
        RTN_BROADCAST => "broadcast ",
        RTN_ANYCAST => "anycast ",
        RTN_MULTICAST => "multicast ",
        RTN_BLACKHOLE => "blackhole ",
        RTN_UNREACHABLE => "unreachable ",
        RTN_PROHIBIT => "prohibit ",
        RTN_THROW => "throw ",
        _ => "other-type ",
    };
    let mut dst = if h.dst_len == 0 {
        "default".to_string()
    } else {
        format!("?/{}", h.dst_len)
    };
    let mut rest = String::new();
    let mut table = u32::from(h.table);
    for x in r.attrs() {
        match x {
            Ok(RouteAttr::Dst(ip)) => dst = format!("{ip}/{}", h.dst_len),
            Ok(RouteAttr::Src(ip)) => {
                let _ = write!(rest, " from {ip}/{}", h.src_len);
            }
            Ok(RouteAttr::Gateway(ip)) => {
                let _ = write!(rest, " via {ip}");
            }
            Ok(RouteAttr::Via(ip)) => {
                let _ = write!(rest, " via {ip}");
            }
            Ok(RouteAttr::Oif(i)) => {
                let _ = write!(rest, " dev {i}");
            }
            Ok(RouteAttr::Iif(i)) => {
                let _ = write!(rest, " iif {i}");
            }
            Ok(RouteAttr::PrefSrc(ip)) => {
                let _ = write!(rest, " src {ip}");
            }
            Ok(RouteAttr::Priority(p)) => {
                let _ = write!(rest, " metric {p}");
            }
            Ok(RouteAttr::Table(t)) => table = t,
            Ok(RouteAttr::Mark(m)) => {
                let _ = write!(rest, " mark {m}");
            }
            Ok(RouteAttr::Pref(p)) => {
                let _ = write!(rest, " pref {p}");
            }
            Ok(RouteAttr::Expires(e)) => {
                let _ = write!(rest, " expires {e}");
            }
            Ok(RouteAttr::Metrics(_)) => rest.push_str(" metrics"),
            Ok(RouteAttr::Multipath(hops)) => {
                for hop in hops {
                    match hop {
                        Ok(hop) => {
                            let _ = write!(rest, " nexthop dev {}", hop.ifindex());
                            for a in hop.attrs() {
                                match a {
                                    Ok(RouteAttr::Gateway(g)) => {
                                        let _ = write!(rest, " via {g}");
                                    }
                                    Ok(_) => {}
                                    Err(e) => bad(&mut rest, e),
                                }
                            }
                            let _ =
                                write!(rest, " weight {}", u32::from(hop.hops()).saturating_add(1));
                        }
                        Err(e) => bad(&mut rest, e),
                    }
                }
            }
            Ok(_) => {}
            Err(e) => bad(&mut rest, e),
        }
    }
    let proto = match h.protocol {
        RTPROT_UNSPEC => "unspec".to_string(),
        RTPROT_REDIRECT => "redirect".to_string(),
        RTPROT_KERNEL => "kernel".to_string(),
        RTPROT_BOOT => "boot".to_string(),
        RTPROT_STATIC => "static".to_string(),
        p => p.to_string(),
    };
    let table = match table {
        RT_TABLE_MAIN => "main".to_string(),
        RT_TABLE_LOCAL => "local".to_string(),
        t => t.to_string(),
    };
    format!(
        "route {} {kind}{dst}{rest} table {table} proto {proto} scope {}",
        family_name(h.family),
        scope_name(h.scope)
    )
}

fn neigh(n: &NeighMessage<'_>) -> String {
    let h = n.header();
    let mut s = format!("neigh {} index {}", family_name(h.family), h.ifindex);
    for x in n.attrs() {
        match x {
            Ok(NeighAttr::Dst(ip)) => {
                let _ = write!(s, " {ip}");
            }
            Ok(NeighAttr::LlAddr(m)) => {
                let _ = write!(s, " lladdr {}", hex(m));
            }
            Ok(_) => {}
            Err(e) => bad(&mut s, e),
        }
    }
    let _ = write!(s, " state {:#x}", h.state);
    s
}

fn nexthop(m: &nlq::wire::NexthopMessage<'_>) -> String {
    match nlq::wire::NexthopRepr::parse(m) {
        Ok(r) => {
            let mut s = format!("nexthop id {}", r.id.unwrap_or(0));
            if let Some(g) = &r.group {
                let members: Vec<String> = g
                    .as_slice()
                    .iter()
                    .map(|m| format!("{}/{}", m.id, m.weight))
                    .collect();
                let _ = write!(s, " group {}", members.join(","));
            }
            if let Some(gw) = r.gateway {
                let _ = write!(s, " via {gw}");
            }
            if let Some(oif) = r.oif {
                let _ = write!(s, " dev {oif}");
            }
            if r.blackhole {
                s.push_str(" blackhole");
            }
            s
        }
        Err(e) => format!("nexthop that cannot be read: {e}"),
    }
}

fn rule(m: &nlq::wire::RuleMessage<'_>) -> String {
    let h = m.header();
    let r = match nlq::wire::RuleRepr::parse(m) {
        Ok(r) => r,
        Err(e) => return format!("rule {}: cannot be read: {e}", family_name(h.family)),
    };
    let mut s = format!(
        "rule {} pref {}",
        family_name(h.family),
        r.priority.unwrap_or(0)
    );
    if let Some(ip) = r.src {
        let _ = write!(s, " from {ip}/{}", h.src_len);
    }
    if let Some(ip) = r.dst {
        let _ = write!(s, " to {ip}/{}", h.dst_len);
    }
    if let Some(n) = &r.iifname {
        let _ = write!(s, " iif {n}");
    }
    if let Some(n) = &r.oifname {
        let _ = write!(s, " oif {n}");
    }
    if let Some(mark) = r.fwmark {
        let _ = write!(s, " fwmark {mark:#x}/{:#x}", r.fwmask.unwrap_or(u32::MAX));
    }
    let _ = match h.action {
        FR_ACT_TO_TBL => write!(s, " lookup {}", r.table_id()),
        FR_ACT_GOTO => write!(s, " goto {}", r.goto.unwrap_or(0)),
        FR_ACT_NOP => write!(s, " nop"),
        FR_ACT_BLACKHOLE => write!(s, " blackhole"),
        FR_ACT_UNREACHABLE => write!(s, " unreachable"),
        FR_ACT_PROHIBIT => write!(s, " prohibit"),
        a => write!(s, " action {a}"),
    };
    if h.flags != 0 {
        let _ = write!(s, " flags {:#x}", h.flags);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::{AddrRepr, Writer};
    use std::net::{IpAddr, Ipv4Addr};

    fn newaddr() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        w.message(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            7,
            0,
            |w| AddrRepr::new(ip, 24, 2).with_local(ip).emit(w),
        )
        .unwrap();
        w.into_inner()
    }

    #[test]
    fn formats_are_told_apart() {
        let m = newaddr();
        assert_eq!(detect(&m), Format::Raw);
        let hex: String = m.iter().map(|b| format!("{b:02x} ")).collect();
        assert_eq!(detect(hex.as_bytes()), Format::Hex);
        assert_eq!(detect(&PCAP_MAGIC_NS.to_be_bytes()), Format::Pcap);
        assert_eq!(detect(b"hello"), Format::Raw);
    }

    #[test]
    fn hex_styles_give_the_same_bytes() {
        let m = newaddr();
        let plain: String = m.iter().map(|b| format!("{b:02x}")).collect();
        let c_array: String = m.iter().map(|b| format!("0x{b:02x}, ")).collect();
        let mut xxd = String::new();
        let mut hd = String::new();
        for (i, chunk) in m.chunks(16).enumerate() {
            let groups: Vec<String> = chunk
                .chunks(2)
                .map(|g| g.iter().map(|b| format!("{b:02x}")).collect())
                .collect();
            let ascii: String = chunk
                .iter()
                .map(|b| {
                    if b.is_ascii_graphic() {
                        *b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            xxd += &format!("{:08x}: {:<39}  {ascii}\n", i * 16, groups.join(" "));
            let bytes: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            hd += &format!("{:08x}  {:<48} |{ascii}|\n", i * 16, bytes.join(" "));
        }
        for text in [plain, c_array, xxd, hd] {
            let cap = capture(text.as_bytes()).unwrap();
            assert_eq!(cap.format, Format::Hex, "{text}");
            assert_eq!(cap.datagrams.len(), 1);
            assert_eq!(cap.datagrams[0].bytes, m, "{text}");
        }
        let two = format!(
            "{}\n\n{}\n",
            hex(&m).replace(':', " "),
            hex(&m).replace(':', " ")
        );
        assert_eq!(capture(two.as_bytes()).unwrap().datagrams.len(), 2);
    }

    #[test]
    fn a_message_is_described() {
        let m = newaddr();
        let mut out = Vec::new();
        let sum = print(&m, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!((sum.messages, sum.errors), (1, 0));
        assert!(
            text.contains("RTM_NEWADDR flags=REQUEST|ACK|EXCL|CREATE seq=7"),
            "{text}"
        );
        assert!(
            text.contains("addr inet index 2 10.0.0.1/24 scope global"),
            "{text}"
        );
    }

    #[test]
    fn a_truncated_message_is_reported() {
        let m = newaddr();
        let mut out = Vec::new();
        let sum = print(&m[..m.len() - 3], &mut out).unwrap();
        assert_eq!((sum.messages, sum.errors), (0, 1));
        assert!(String::from_utf8(out).unwrap().contains("truncated"));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(capture(b""), Err(Error::Empty));
        assert_eq!(
            capture(&PCAP_MAGIC_US.to_le_bytes()),
            Err(Error::PcapHeader)
        );
        let mut ng = PCAPNG_MAGIC.to_le_bytes().to_vec();
        ng.resize(32, 0);
        assert_eq!(capture(&ng), Err(Error::Pcapng));
        let mut eth = PCAP_MAGIC_US.to_le_bytes().to_vec();
        eth.extend_from_slice(&[2, 0, 4, 0]);
        eth.resize(20, 0);
        eth.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(capture(&eth), Err(Error::LinkType(1)));
    }

    #[test]
    fn flag_names_follow_the_type() {
        assert_eq!(
            flag_names(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP),
            "REQUEST|DUMP"
        );
        assert_eq!(flag_names(NLMSG_ERROR, NLM_F_CAPPED), "CAPPED");
        assert_eq!(flag_names(RTM_DELADDR, 0x1000), "0x1000");
        assert_eq!(flag_names(NLMSG_DONE, NLM_F_MULTI), "MULTI");
    }
}
