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
use nlq::wire::{Messages, NlMsg, NlMsgHeader};

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
                    let _ = if d.route {
                        writeln!(text, "  {}", describe(&m))
                    } else {
                        writeln!(text, "  {}", m.display().header())
                    };
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

/// One line for a message: its header and what it says (the codec's
/// `Display`), with the daemon's own records named in a `NLMSG_NOOP`.
pub fn describe(m: &NlMsg<'_>) -> String {
    if m.message_type() == NLMSG_NOOP {
        format!("{}: {}", m.display().header(), noop(m.payload()))
    } else {
        m.to_string()
    }
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

/// Bytes as `aa:bb:cc`.
#[cfg(test)]
fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
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
}
