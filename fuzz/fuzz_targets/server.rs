//! Fuzz target `server`: the sans-IO rtnetlink server over the in-memory
//! stack.
//!
//! Input: a 7-byte header, then datagrams, each a reader-size byte, a `u16`
//! little-endian length and that many bytes (bytes past the end read as
//! zeros in the header; a last datagram is cut to what is left):
//!
//! - byte 0, option bits: `0x01` `NETLINK_EXT_ACK`, `0x02` `NETLINK_CAP_ACK`,
//!   `0x04` `NETLINK_GET_STRICT_CHK`, `0x08` a monitor connection joined to
//!   every group (1..=`MAX_GROUP`), `0x10` the requesting connection joins
//!   every group too, `0x20` the requesting connection lacks the admin right,
//!   `0x40` its receive buffer is byte 4 × 1 KiB (else the default), `0x80`
//!   `NETLINK_NO_ENOBUFS` on it;
//! - bytes 1-2: the base reader buffer size (`u16`, 0 meaning 64 KiB);
//! - byte 3: the monitor's reader buffer, (byte + 1) × 256;
//! - byte 4: see `0x40`;
//! - byte 5: the monitor's receive buffer, byte × 512 (0: the default);
//! - byte 6: bit 0 set, the requester reads only `(byte >> 1) & 3`
//!   datagrams after each send (so that requests arrive while a dump or
//!   replies are pending) and everything after the last; else it reads
//!   everything after each send.
//!
//! A datagram's reader byte chooses the buffer of the reads that follow it
//! (they alternate with the base size): 0 the base size, 1..=127 that many
//! bytes, 128..=255 (byte - 127) × 512.
//!
//! Every input starts from the same stack, built once through a server with
//! valid requests: five dummies, a bridge, three taps (up), IPv4 and IPv6
//! addresses, routes with gateways, a table other than main, multipath and
//! metrics; so that a link dump spans several datagrams and deletes and
//! GETs hit something. The harness writes a distinct sequence number into
//! every message the server will frame (as the kernel frames: up to the
//! first framing error), so that every answer names its request.
//!
//! Checks, besides no panic:
//! - every message the server frames gets what the kernel gives it: one
//!   `NLMSG_ERROR` if it carries `NLM_F_ACK` (an ACK for one that is not a
//!   request or has no family byte), none or one error (never an ACK)
//!   without it; a GET either its one reply (then an ACK only if asked) or
//!   an error; a dump of links, addresses, routes, neighbours, rules,
//!   nexthops or netconf a stream of `NLM_F_MULTI` messages of its type
//!   ending with exactly one `NLMSG_DONE`, or `EBUSY` alone (another dump in progress); a dump of
//!   another type an error; `EPERM` for a change without the admin right
//!   (and the stack unchanged). Answers may go missing only from a send
//!   that left the queue over the receive buffer (errors, `EBUSY` included),
//!   never from a dump that started;
//! - every message received names a request (its seq), in request order
//!   apart from dump continuations; an `NLMSG_ERROR` echoes the request's
//!   header, and its payload unless capped (`NETLINK_CAP_ACK`, and every
//!   ACK); extended-ACK TLVs only with `NETLINK_EXT_ACK`; data other than a
//!   dump's only for a GET (its reply) or a change with `NLM_F_ECHO` (its
//!   own family's notifications); everything the server sends frames, types
//!   and parses (reprs included), with the reader's port id; `ENOBUFS` only
//!   after a send overflowed the queue, never with `NETLINK_NO_ENOBUFS`;
//! - notifications (monitor, and the requester when it joined groups): one
//!   message per datagram, sent to the group of its type and family, from
//!   port 0 with seq 0 or from the requester with the seq of a change of its
//!   family (the requester hears its own changes as a member only without
//!   `NLM_F_ECHO`, as `nlmsg_notify` sends them);
//! - memory: after each send, `queued()` is within the receive buffer plus
//!   the last datagram queued (checked against the sizes read later); a
//!   datagram is never empty; a dump datagram made for a read holding more
//!   than one message fits the largest buffer the reader has shown, or
//!   `NLMSG_GOODSIZE` when that is smaller (as `netlink_dump` sizes it),
//!   and none holding several exceeds `DUMP_MAXSIZE`; every message but an error is at most
//!   `MAX_ENTRY` bytes, an error at most its request plus 512; the replies
//!   other than dumps add up to at most 2 × the datagrams' length + 512 per
//!   message + `MAX_ENTRY` per GET reply and per echoed event; a dump lists
//!   at most `16 × (objects + messages) + objects at the end` entries; a
//!   drain ends within a bound of reads (a dump that never ends fails here).
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::ControlFlow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nlq::errno::{EBUSY, ENOBUFS, EPERM};
use nlq::server::{
    ConnId, Datagram, Server, SockOpt, DATAGRAM_OVERHEAD, DEFAULT_RCVBUF, DUMP_GOODSIZE,
    DUMP_MAXSIZE, MAX_GROUP,
};
use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{
    AddrRepr, IfInfoMsg, IfName, InlineStr, LinkInfoRepr, LinkRepr, Message, Messages, NeighRepr,
    NextHopList, NextHopRepr, NlMsg, RouteMetrics, RouteRepr, Writer,
};
use nlq_mem::MemStack;

/// The largest message the server may send but an error: a link with every
/// attribute at its capacity is under 5 KiB.
const MAX_ENTRY: usize = 8192;

/// Header bytes before the datagrams.
const HEADER: usize = 7;

// ---- the stack every input starts from --------------------------------------

fn request(
    kind: u16,
    flags: u16,
    seq: u32,
    body: impl FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0, body)
        .expect("setup request emits");
    w.into_inner()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().expect("setup address"))
}

fn new_link(index: u32, name: &str, kind: &str) -> LinkRepr {
    LinkRepr {
        header: IfInfoMsg {
            index,
            flags: IFF_UP,
            change: IFF_UP,
            ..IfInfoMsg::default()
        },
        name: IfName::try_from_str(name),
        info: Some(LinkInfoRepr {
            kind: InlineStr::try_from_str(kind),
            ..LinkInfoRepr::default()
        }),
        ..LinkRepr::default()
    }
}

fn setup_requests() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut seq = 0;
    let mut push =
        |kind: u16, flags: u16, f: &dyn Fn(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>| {
            seq += 1;
            out.push(request(kind, flags, seq, f));
        };
    let create = NLM_F_CREATE | NLM_F_EXCL;

    // lo up, then links 2..=10 (so that a link dump spans two datagrams):
    // dummies, a bridge, taps; an alias and an MTU on one.
    let lo = LinkRepr {
        header: IfInfoMsg {
            index: 1,
            flags: IFF_UP,
            change: IFF_UP,
            ..IfInfoMsg::default()
        },
        ..LinkRepr::default()
    };
    push(RTM_SETLINK, 0, &|w| lo.emit(w));
    let links = [
        (2, "dummy0", "dummy"),
        (3, "dummy1", "dummy"),
        (4, "dummy2", "dummy"),
        (5, "dummy3", "dummy"),
        (6, "br0", "bridge"),
        (7, "tap0", "tap"),
        (8, "tap1", "tap"),
        (9, "dummy4", "dummy"),
        (10, "tap2", "tap"),
    ];
    for (index, name, kind) in links {
        let mut l = new_link(index, name, kind);
        if index == 3 {
            l.mtu = Some(9000);
            l.alias = InlineStr::try_from_str("uplink");
        }
        push(RTM_NEWLINK, create, &|w| l.emit(w));
    }
    // Addresses: primaries and a secondary, a label, IPv6 on two links.
    let addrs = [
        (v4(10, 0, 0, 1), 24, 2),
        (v4(10, 0, 0, 3), 24, 2),
        (v4(10, 1, 0, 1), 16, 3),
        (v4(192, 168, 10, 1), 24, 6),
        (v4(172, 16, 0, 1), 12, 7),
        (v6("2001:db8::1"), 64, 2),
        (v6("fd00:1::1"), 64, 3),
        (v6("fd00:7::1"), 64, 7),
    ];
    for (ip, len, index) in addrs {
        let mut a = AddrRepr::new(ip, len, index).with_local(ip);
        if index == 2 && ip.is_ipv4() {
            a.label = IfName::try_from_str("dummy0:a");
        }
        push(RTM_NEWADDR, create, &|w| a.emit(w));
    }

    // Routes: gateways, a default, another table, multipath, metrics, IPv6.
    let gw = |dst: IpAddr, len: u8, via: IpAddr| {
        let mut r = RouteRepr::new(dst, len);
        r.gateway = Some(via);
        r
    };
    let mut routes = vec![
        gw(v4(10, 2, 0, 0), 16, v4(10, 0, 0, 254)),
        gw(v4(0, 0, 0, 0), 0, v4(10, 0, 0, 254)),
        gw(v6("2001:db8:1::"), 48, v6("2001:db8::2")),
        gw(v6("::"), 0, v6("fd00:1::fe")),
    ];
    let mut table = RouteRepr::new(v4(10, 3, 0, 0), 16);
    table.oif = Some(3);
    table.header.table = 100;
    table.table = Some(100);
    routes.push(table);
    let mut multi = RouteRepr::new(v4(10, 4, 0, 0), 16);
    let mut hops = NextHopList::default();
    for (ifindex, via) in [(2, v4(10, 0, 0, 254)), (3, v4(10, 1, 0, 254))] {
        hops.push(NextHopRepr {
            ifindex,
            gateway: Some(via),
            ..NextHopRepr::default()
        })
        .expect("two hops");
    }
    multi.multipath = Some(hops);
    routes.push(multi);
    let mut metric = RouteRepr::new(v4(10, 5, 0, 0), 16);
    metric.oif = Some(2);
    metric.priority = Some(100);
    metric.header.protocol = RTPROT_STATIC;
    let mut m = RouteMetrics::default();
    m.set(RTAX_MTU, 1400);
    metric.metrics = Some(m);
    routes.push(metric);
    let mut link_scope = RouteRepr::new(v4(10, 6, 0, 0), 16);
    link_scope.oif = Some(8);
    link_scope.header.scope = RT_SCOPE_LINK;
    routes.push(link_scope);
    for r in routes {
        push(RTM_NEWROUTE, create, &|w| r.emit(w));
    }
    out
}

/// The stack every input starts from, built once through a server.
fn prepopulated() -> &'static MemStack {
    static STACK: OnceLock<MemStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let mut s = Server::new(MemStack::new());
        let c = s.connect();
        for (i, req) in setup_requests().iter().enumerate() {
            s.handle_datagram(c, req);
            let mut acks = 0;
            while let Some(d) = s.next_datagram(c, 65536).expect("setup: no overrun") {
                for m in Messages::new(&d.bytes) {
                    let m = m.expect("setup reply frames");
                    if let Ok(Message::Error(e)) = m.typed() {
                        assert_eq!(e.error(), 0, "setup request {i} failed");
                        acks += 1;
                    }
                }
            }
            assert_eq!(acks, 1, "setup request {i}: one ACK");
        }
        s.into_stack()
    })
}

// ---- the input ----------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Opts {
    ext_ack: bool,
    cap_ack: bool,
    strict: bool,
    monitor: bool,
    main_groups: bool,
    non_admin: bool,
    rcvbuf: Option<usize>,
    no_enobufs: bool,
    reader: usize,
    mon_reader: usize,
    mon_rcvbuf: Option<usize>,
    /// Reads after each send (`None`: all).
    reads: Option<usize>,
}

impl Opts {
    fn parse(h: [u8; HEADER]) -> Opts {
        let bit = |b: u8| h[0] & b != 0;
        let base = usize::from(u16::from_le_bytes([h[1], h[2]]));
        Opts {
            ext_ack: bit(0x01),
            cap_ack: bit(0x02),
            strict: bit(0x04),
            monitor: bit(0x08),
            main_groups: bit(0x10),
            non_admin: bit(0x20),
            rcvbuf: bit(0x40).then_some(usize::from(h[4]) * 1024),
            no_enobufs: bit(0x80),
            reader: if base == 0 { 65536 } else { base },
            mon_reader: (usize::from(h[3]) + 1) * 256,
            mon_rcvbuf: (h[5] != 0).then_some(usize::from(h[5]) * 512),
            reads: (h[6] & 1 != 0).then_some(usize::from(h[6] >> 1) & 3),
        }
    }
}

fn reader_size(code: u8, base: usize) -> usize {
    match code {
        0 => base,
        1..=127 => usize::from(code),
        _ => usize::from(code - 127) * 512,
    }
}

// ---- what each request should get ------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Not a request, or a control type, or no family byte: only an ACK if
    /// asked.
    Quiet,
    /// A dump the server lists.
    Dump,
    /// A dump of a type nobody lists: an error.
    DumpRefused,
    /// A GET of one object.
    Get,
    /// Anything else: a change (or an unknown type).
    Change,
}

fn classify(m: &NlMsg<'_>) -> Expect {
    let (kind, flags) = (m.message_type(), m.flags());
    if flags & NLM_F_REQUEST == 0 || kind < NLMSG_MIN_TYPE || m.payload().is_empty() {
        return Expect::Quiet;
    }
    let is_get = kind.wrapping_sub(RTM_NEWLINK) & 3 == 2;
    if is_get && flags & NLM_F_DUMP != 0 {
        return match kind {
            RTM_GETLINK | RTM_GETADDR | RTM_GETROUTE | RTM_GETNEIGH | RTM_GETNSID | RTM_GETRULE
            | RTM_GETNEXTHOP | RTM_GETNETCONF | RTM_GETNEIGHTBL => Expect::Dump,
            _ => Expect::DumpRefused,
        };
    }
    if is_get {
        Expect::Get
    } else {
        Expect::Change
    }
}

/// A request sent, and what it got so far.
#[derive(Debug)]
struct Req {
    header: [u8; 16],
    payload: Vec<u8>,
    kind: u16,
    flags: u16,
    expect: Expect,
    /// Its send left the queue over the receive buffer: answers may be lost.
    lossy: bool,
    errors: Vec<i32>,
    data: usize,
    entries: usize,
    done: usize,
}

/// Writes a distinct seq into every message the server will frame; returns
/// the requests.
fn rewrite(d: &mut [u8], next_seq: &mut u32) -> Vec<(u32, Req)> {
    let mut offsets = Vec::new();
    let mut it = Messages::new(d);
    loop {
        let at = d.len() - it.remaining().len();
        match it.next() {
            Some(Ok(_)) => offsets.push(at),
            _ => break,
        }
    }
    for at in &offsets {
        d[at + 8..at + 12].copy_from_slice(&next_seq.to_ne_bytes());
        *next_seq = next_seq.wrapping_add(1).max(1);
    }
    let mut reqs = Vec::new();
    for m in Messages::new(d) {
        let Ok(m) = m else { break };
        let mut header = [0; 16];
        header.copy_from_slice(&m.as_bytes()[..16]);
        reqs.push((
            m.seq(),
            Req {
                header,
                payload: m.payload().to_vec(),
                kind: m.message_type(),
                flags: m.flags(),
                expect: classify(&m),
                lossy: false,
                errors: Vec::new(),
                data: 0,
                entries: 0,
                done: 0,
            },
        ));
    }
    assert_eq!(reqs.len(), offsets.len(), "framing changed with the seqs");
    reqs
}

// ---- reading ---------------------------------------------------------------------

/// A connection and the queue checks waiting for its reads.
struct Reader {
    id: ConnId,
    who: &'static str,
    rcvbuf: usize,
    /// After a send: the bytes `queued()` reported, and the cost of the
    /// datagrams read since.
    pending: Vec<(usize, usize)>,
    /// A send overflowed the queue since the last `ENOBUFS`.
    lost: bool,
    no_enobufs: bool,
    /// The largest buffer it has read with.
    largest_read: usize,
}

/// One datagram read: made for its read (the queue was empty), and the
/// largest a dump datagram made for it may be (the largest buffer the
/// reader has shown, at least `NLMSG_GOODSIZE`).
struct Read {
    d: Datagram,
    made: bool,
    max: usize,
}

impl Reader {
    /// After a send: `queued()` is to be checked against the reads.
    fn sent(&mut self, s: &Server<MemStack>) -> usize {
        let q = s.queued(self.id);
        if q > 0 {
            self.pending.push((q, 0));
        }
        if q > self.rcvbuf {
            self.lost = true;
        }
        q
    }

    /// Reads up to `n` datagrams (until the queue is empty), with buffers
    /// of the sizes in turn; fails past `limit` reads.
    fn read(
        &mut self,
        s: &mut Server<MemStack>,
        sizes: [usize; 2],
        n: usize,
        limit: usize,
    ) -> Vec<Read> {
        let mut out = Vec::new();
        let mut enobufs = false;
        for i in 0.. {
            if out.len() >= n {
                break;
            }
            assert!(
                i <= limit,
                "{}: draining does not end: {i} reads, {} datagrams, last of {:?} bytes",
                self.who,
                out.len(),
                out.last().map(|r: &Read| r.d.bytes.len())
            );
            let max = sizes[i % 2];
            self.largest_read = self.largest_read.max(max);
            let dump_max = self.largest_read.max(DUMP_GOODSIZE);
            let made = s.queued(self.id) == 0;
            match s.next_datagram(self.id, max) {
                Err(e) => {
                    assert_eq!(e, ENOBUFS, "{}: recv error other than ENOBUFS", self.who);
                    assert!(
                        !self.no_enobufs,
                        "{}: ENOBUFS under NETLINK_NO_ENOBUFS",
                        self.who
                    );
                    assert!(
                        self.lost,
                        "{}: ENOBUFS but no send overflowed the queue",
                        self.who
                    );
                    assert!(!enobufs, "{}: ENOBUFS twice in a row", self.who);
                    self.lost = false;
                    enobufs = true;
                }
                Ok(None) => {
                    assert!(
                        !s.readable(self.id),
                        "{}: readable, but nothing read",
                        self.who
                    );
                    assert_eq!(
                        s.queued(self.id),
                        0,
                        "{}: queued, but nothing read",
                        self.who
                    );
                    assert!(self.pending.is_empty(), "{}: queue checks left", self.who);
                    break;
                }
                Ok(Some(d)) => {
                    enobufs = false;
                    assert!(
                        !d.bytes.is_empty(),
                        "{}: empty datagram (buffer {max})",
                        self.who
                    );
                    if made {
                        assert_eq!(
                            s.queued(self.id),
                            0,
                            "{}: datagram made for a read stayed queued",
                            self.who
                        );
                        assert!(
                            self.pending.is_empty(),
                            "{}: datagram made before the queue drained",
                            self.who
                        );
                    }
                    self.credit(d.bytes.len() + DATAGRAM_OVERHEAD);
                    out.push(Read {
                        d,
                        made,
                        max: dump_max,
                    });
                }
            }
        }
        out
    }

    /// Checks what was queued at each send against the datagrams read:
    /// before the last one was queued, the queue was within the receive
    /// buffer.
    fn credit(&mut self, cost: usize) {
        let (rcvbuf, who) = (self.rcvbuf, self.who);
        self.pending.retain_mut(|(q0, sum)| {
            *sum += cost;
            if *sum < *q0 {
                return true;
            }
            assert_eq!(*sum, *q0, "{who}: queued() is not the cost of the datagrams queued");
            assert!(
                *q0 - cost <= rcvbuf,
                "{who}: {q0} bytes queued, over the receive buffer ({rcvbuf}) plus the last datagram ({cost})"
            );
            false
        });
    }
}

// ---- checking ------------------------------------------------------------------------

/// Types a message the server sent and parses its repr.
fn parse_all(m: &NlMsg<'_>) {
    let typed = m
        .typed()
        .unwrap_or_else(|e| panic!("server message does not type: {e:?} {m:?}"));
    let ok = match &typed {
        Message::Link(v) => LinkRepr::parse(v).map(drop),
        Message::Addr(v) => AddrRepr::parse(v).map(drop),
        Message::Route(v) => RouteRepr::parse(v).map(drop),
        Message::Neigh(v) => NeighRepr::parse(v).map(drop),
        Message::Rule(v) => nlq::wire::RuleRepr::parse(v).map(drop),
        Message::Nexthop(v) => nlq::wire::NexthopRepr::parse(v).map(drop),
        _ => Ok(()),
    };
    ok.unwrap_or_else(|e| panic!("server message does not parse: {e:?} {m:?}"));
    assert!(
        m.len() as usize <= MAX_ENTRY || m.message_type() == NLMSG_ERROR,
        "message of {} bytes",
        m.len()
    );
}

fn same_family(a: u16, b: u16) -> bool {
    a >= RTM_NEWLINK && b >= RTM_NEWLINK && (a - RTM_NEWLINK) / 4 == (b - RTM_NEWLINK) / 4
}

/// The group a notification of this message goes to.
fn group_of(m: &NlMsg<'_>) -> u32 {
    let v6 = m.family() == Some(AF_INET6);
    match m.message_type() {
        RTM_NEWLINK | RTM_DELLINK => RTNLGRP_LINK,
        RTM_NEWADDR | RTM_DELADDR if v6 => RTNLGRP_IPV6_IFADDR,
        RTM_NEWADDR | RTM_DELADDR => RTNLGRP_IPV4_IFADDR,
        RTM_NEWROUTE | RTM_DELROUTE if v6 => RTNLGRP_IPV6_ROUTE,
        RTM_NEWROUTE | RTM_DELROUTE => RTNLGRP_IPV4_ROUTE,
        RTM_NEWNEIGH | RTM_DELNEIGH => RTNLGRP_NEIGH,
        RTM_NEWRULE | RTM_DELRULE if v6 => RTNLGRP_IPV6_RULE,
        RTM_NEWRULE | RTM_DELRULE => RTNLGRP_IPV4_RULE,
        RTM_NEWNETCONF | RTM_DELNETCONF if v6 => RTNLGRP_IPV6_NETCONF,
        RTM_NEWNETCONF | RTM_DELNETCONF => RTNLGRP_IPV4_NETCONF,
        RTM_NEWNEXTHOP | RTM_DELNEXTHOP => RTNLGRP_NEXTHOP,
        k => panic!("notification of type {k}"),
    }
}

/// Everything the requester's reads must agree with.
struct Checker {
    o: Opts,
    port: u32,
    reqs: HashMap<u32, Req>,
    /// The seq of the last answer that was not a dump's.
    last_seq: u32,
    /// Bytes of the answers that are not a dump's, and their bound.
    answer_bytes: usize,
    answer_bound: usize,
}

impl Checker {
    /// A notification datagram: one message, to its group, from port 0 or
    /// from the requester naming one of its changes of the same family (to
    /// the requester itself only without `NLM_F_ECHO`).
    fn notification(&self, d: &Datagram, to_requester: bool) {
        assert!((1..=MAX_GROUP).contains(&d.group), "group {}", d.group);
        let mut n = 0;
        for m in Messages::new(&d.bytes) {
            let m = m.unwrap_or_else(|e| panic!("notification does not frame: {e:?}"));
            n += 1;
            parse_all(&m);
            assert_eq!(group_of(&m), d.group, "notification in the wrong group");
            // `nexthop_notify` copies the request's flags.
            let nexthop = matches!(m.message_type(), RTM_NEWNEXTHOP | RTM_DELNEXTHOP);
            if !nexthop {
                assert_eq!(
                    m.flags() & (NLM_F_REQUEST | NLM_F_MULTI | NLM_F_ACK),
                    0,
                    "notification flags {:#x}",
                    m.flags()
                );
            }
            if m.port() == 0 {
                assert_eq!(m.seq(), 0, "notification from port 0 with a seq");
                continue;
            }
            assert_eq!(m.port(), self.port, "notification from an unknown port");
            if matches!(m.message_type(), RTM_NEWNEIGH | RTM_DELNEIGH) {
                // `neigh_update_notify`: the requester's port, no seq, no
                // echo.
                assert_eq!(m.seq(), 0, "a neighbour notification with a seq");
                continue;
            }
            let r = self
                .reqs
                .get(&m.seq())
                .unwrap_or_else(|| panic!("notification names no request (seq {})", m.seq()));
            assert_eq!(
                r.expect,
                Expect::Change,
                "notification for a {:?}",
                r.expect
            );
            if nexthop {
                assert_eq!(m.flags(), r.flags, "a nexthop notification's flags");
            }
            // A nexthop replaced tells its routes in the request's name.
            let replaced_route = r.kind == RTM_NEWNEXTHOP && m.message_type() == RTM_NEWROUTE;
            assert!(
                same_family(r.kind, m.message_type()) || replaced_route,
                "notification of another family"
            );
            // `nlmsg_notify`: with NLM_F_ECHO the requester gets its own
            // change as the echo, not also as a member.
            assert!(
                !(to_requester && r.flags & NLM_F_ECHO != 0),
                "the requester got its echoed change as a member too"
            );
        }
        assert_eq!(n, 1, "a notification datagram holds one message");
    }

    /// One datagram read by the requester.
    fn read(&mut self, read: &Read) {
        let dg = &read.d;
        if dg.group != 0 {
            assert!(
                self.o.main_groups,
                "a notification to a connection in no group"
            );
            self.notification(dg, true);
            return;
        }
        let (o, port) = (self.o, self.port);
        let mut count = 0;
        let mut dump = false;
        for m in Messages::new(&dg.bytes) {
            let m = m.unwrap_or_else(|e| panic!("reply does not frame: {e:?}"));
            count += 1;
            parse_all(&m);
            assert_eq!(m.port(), port, "reply to another port");
            let seq = m.seq();
            let r = self.reqs.get_mut(&seq).unwrap_or_else(|| {
                panic!(
                    "reply (type {}) names no request (seq {seq})",
                    m.message_type()
                )
            });
            let len = m.len() as usize;
            match m.message_type() {
                NLMSG_ERROR => {
                    assert!(
                        seq >= self.last_seq,
                        "answer to {seq} after one to {}",
                        self.last_seq
                    );
                    self.last_seq = seq;
                    let Ok(Message::Error(e)) = m.typed() else {
                        unreachable!()
                    };
                    assert!((-4095..=0).contains(&e.error()), "error {}", e.error());
                    assert_eq!(
                        e.request().to_bytes(),
                        r.header,
                        "error echoes another header"
                    );
                    let capped = o.cap_ack || e.error() == 0;
                    assert_eq!(m.flags() & NLM_F_CAPPED != 0, capped, "NLM_F_CAPPED");
                    if capped {
                        assert!(
                            e.request_payload().is_empty(),
                            "capped error echoes the payload"
                        );
                    } else {
                        assert_eq!(
                            e.request_payload(),
                            &r.payload[..],
                            "error echoes another payload"
                        );
                    }
                    if !o.ext_ack {
                        assert_eq!(
                            m.flags() & NLM_F_ACK_TLVS,
                            0,
                            "TLVs without NETLINK_EXT_ACK"
                        );
                    }
                    assert!(len <= 36 + r.payload.len() + 512, "error of {len} bytes");
                    self.answer_bytes += len;
                    r.errors.push(e.error());
                }
                NLMSG_DONE => {
                    assert_eq!(r.expect, Expect::Dump, "NLMSG_DONE for a {:?}", r.expect);
                    assert_ne!(m.flags() & NLM_F_MULTI, 0, "NLMSG_DONE without NLM_F_MULTI");
                    assert_eq!(r.done, 0, "a second NLMSG_DONE");
                    let Ok(Message::Done(dm)) = m.typed() else {
                        unreachable!()
                    };
                    assert!((-4095..=0).contains(&dm.error), "dump error {}", dm.error);
                    if !o.ext_ack {
                        assert_eq!(
                            m.flags() & NLM_F_ACK_TLVS,
                            0,
                            "TLVs without NETLINK_EXT_ACK"
                        );
                    }
                    r.done += 1;
                    dump = true;
                }
                k if k >= NLMSG_MIN_TYPE && m.flags() & NLM_F_MULTI != 0 => {
                    assert_eq!(
                        r.expect,
                        Expect::Dump,
                        "NLM_F_MULTI data for a {:?}",
                        r.expect
                    );
                    assert_eq!(r.done, 0, "dump data after its NLMSG_DONE");
                    assert_eq!(k, r.kind - 2, "dump entry of another type");
                    r.entries += 1;
                    dump = true;
                }
                k if k >= NLMSG_MIN_TYPE => {
                    assert!(
                        seq >= self.last_seq,
                        "answer to {seq} after one to {}",
                        self.last_seq
                    );
                    self.last_seq = seq;
                    match r.expect {
                        Expect::Get => assert_eq!(k, r.kind - 2, "GET reply of another type"),
                        Expect::Change if r.flags & NLM_F_ECHO != 0 => {
                            assert!(same_family(k, r.kind), "echo of another family")
                        }
                        e => panic!("data (type {k}) for a {e:?} (flags {:#x})", r.flags),
                    }
                    self.answer_bytes += len;
                    self.answer_bound += MAX_ENTRY;
                    r.data += 1;
                }
                k => panic!("unexpected control message type {k}"),
            }
        }
        assert!(count > 0, "datagram without a message");
        if dump && count > 1 {
            let n = dg.bytes.len();
            assert!(n <= DUMP_MAXSIZE, "dump datagram of {n} bytes");
            if read.made {
                assert!(
                    n <= read.max,
                    "dump datagram of {n} bytes where {} is the most",
                    read.max
                );
            }
        }
    }

    /// After the last read: what each request got.
    fn finish(&self, entries_bound: usize) {
        for (seq, r) in &self.reqs {
            let what = || {
                format!(
                    "request seq {seq} type {} flags {:#x}: {r:?}",
                    r.kind, r.flags
                )
            };
            let ack = r.flags & NLM_F_ACK != 0;
            let n_err = r.errors.len();
            let failed = r.errors.iter().any(|&e| e != 0);
            let complete = !r.lossy;
            assert!(n_err <= 1, "more than one NLMSG_ERROR: {}", what());
            if r.expect != Expect::Dump {
                assert_eq!(r.done + r.entries, 0, "dump messages: {}", what());
            }
            match r.expect {
                Expect::Quiet => {
                    assert!(!failed, "error: {}", what());
                    assert_eq!(r.data, 0, "data: {}", what());
                    if !ack {
                        assert_eq!(n_err, 0, "ACK not asked for: {}", what());
                    } else if complete {
                        assert_eq!(n_err, 1, "no ACK: {}", what());
                    }
                }
                Expect::Dump => {
                    assert_eq!(r.data, 0, "data not in the dump: {}", what());
                    if n_err == 1 {
                        // Another dump was in progress: the kernel refuses
                        // this one.
                        assert_eq!(r.errors, [-EBUSY], "NLMSG_ERROR for a dump: {}", what());
                        assert_eq!(r.done + r.entries, 0, "a refused dump listed: {}", what());
                    } else if !(r.lossy && r.done + r.entries == 0) {
                        // (A refused dump's EBUSY may be lost like any
                        // error; a dump that started ends.)
                        assert_eq!(r.done, 1, "dump without NLMSG_DONE: {}", what());
                    }
                    assert!(
                        r.entries <= entries_bound,
                        "{} entries: {}",
                        r.entries,
                        what()
                    );
                }
                Expect::DumpRefused => {
                    assert_eq!(r.data, 0, "data: {}", what());
                    if complete {
                        assert!(failed, "no error: {}", what());
                    }
                }
                Expect::Get => {
                    assert!(r.data <= 1, "{} replies: {}", r.data, what());
                    if r.data == 1 {
                        assert!(!failed, "a reply and an error: {}", what());
                        if complete {
                            assert_eq!(n_err, usize::from(ack), "ACK: {}", what());
                        }
                    } else if complete {
                        assert!(failed, "neither reply nor error: {}", what());
                    }
                }
                Expect::Change => {
                    if complete && ack {
                        assert_eq!(n_err, 1, "no ACK: {}", what());
                    }
                    if complete && self.o.non_admin {
                        assert_eq!(r.errors, [-EPERM], "not EPERM without admin: {}", what());
                    }
                    if !ack {
                        assert!(n_err == 0 || failed, "ACK not asked for: {}", what());
                    }
                    if r.flags & NLM_F_ECHO == 0 {
                        assert_eq!(r.data, 0, "echo not asked for: {}", what());
                    }
                }
            }
        }
        assert!(
            self.answer_bytes <= self.answer_bound,
            "{} bytes of answers, over the bound {}",
            self.answer_bytes,
            self.answer_bound
        );
    }
}

fn objects(s: &MemStack) -> usize {
    let mut links = 0;
    let _ = s.links(0, &mut |_| {
        links += 1;
        ControlFlow::Continue(())
    });
    links + s.addr_count() + s.route_count()
}

fn run(data: &[u8]) {
    let mut h = [0u8; HEADER];
    let n = data.len().min(HEADER);
    h[..n].copy_from_slice(&data[..n]);
    let o = Opts::parse(h);
    let mut rest = &data[n..];

    let mut s = Server::new(prepopulated().clone());
    let initial = objects(s.stack());
    let set = |s: &mut Server<MemStack>, c, opt| s.set_option(c, opt).expect("set_option");
    let main = s.connect();
    set(&mut s, main, SockOpt::ExtAck(o.ext_ack));
    set(&mut s, main, SockOpt::CapAck(o.cap_ack));
    set(&mut s, main, SockOpt::StrictCheck(o.strict));
    set(&mut s, main, SockOpt::NoEnobufs(o.no_enobufs));
    assert_eq!(
        s.get_option(main, NETLINK_EXT_ACK),
        Ok(u32::from(o.ext_ack))
    );
    assert_eq!(
        s.get_option(main, NETLINK_CAP_ACK),
        Ok(u32::from(o.cap_ack))
    );
    assert_eq!(
        s.get_option(main, NETLINK_GET_STRICT_CHK),
        Ok(u32::from(o.strict))
    );
    if let Some(b) = o.rcvbuf {
        set(&mut s, main, SockOpt::RcvBuf(b));
    }
    if o.main_groups {
        for g in 1..=MAX_GROUP {
            set(&mut s, main, SockOpt::AddMembership(g));
        }
    }
    if o.non_admin {
        s.set_admin(main, false);
    }
    let mut requester = Reader {
        id: main,
        who: "requester",
        rcvbuf: o.rcvbuf.unwrap_or(DEFAULT_RCVBUF),
        pending: Vec::new(),
        lost: false,
        no_enobufs: o.no_enobufs,
        largest_read: 0,
    };
    let mut monitor = o.monitor.then(|| {
        let m = s.connect();
        for g in 1..=MAX_GROUP {
            set(&mut s, m, SockOpt::AddMembership(g));
        }
        assert_eq!(s.groups(m), u64::MAX >> (64 - MAX_GROUP));
        if let Some(b) = o.mon_rcvbuf {
            set(&mut s, m, SockOpt::RcvBuf(b));
        }
        Reader {
            id: m,
            who: "monitor",
            rcvbuf: o.mon_rcvbuf.unwrap_or(DEFAULT_RCVBUF),
            pending: Vec::new(),
            lost: false,
            no_enobufs: false,
            largest_read: 0,
        }
    });
    let mut c = Checker {
        o,
        port: s.port(main),
        reqs: HashMap::new(),
        last_seq: 0,
        answer_bytes: 0,
        answer_bound: 0,
    };

    let mut next_seq = 1u32;
    let mut messages = 0;
    let mut dumps = 0;
    let mut sizes = [o.reader; 2];
    while let Some((&[code, l0, l1], tail)) = rest.split_first_chunk::<3>() {
        let len = usize::from(u16::from_le_bytes([l0, l1])).min(tail.len());
        let mut d = tail[..len].to_vec();
        rest = &tail[len..];

        let reqs = rewrite(&mut d, &mut next_seq);
        messages += reqs.len();
        dumps += reqs
            .iter()
            .filter(|(_, r)| r.expect == Expect::Dump)
            .count();
        c.answer_bound += 2 * d.len() + 512 * reqs.len();
        let generation = s.stack().generation();
        s.handle_datagram(main, &d);
        if o.non_admin {
            // Only reads reach the stack.
            assert_eq!(
                s.stack().generation(),
                generation,
                "a request without admin changed the stack"
            );
        }
        let q = requester.sent(&s);
        for (seq, mut r) in reqs {
            r.lossy = q > requester.rcvbuf;
            c.reqs.insert(seq, r);
        }

        // Entries a dump may list, reads a drain may take.
        let entries_bound = 16 * (initial + messages) + objects(s.stack());
        let limit = 64 + q / DATAGRAM_OVERHEAD + dumps * (entries_bound + 2);
        sizes[0] = reader_size(code, o.reader);
        for read in requester.read(&mut s, sizes, o.reads.unwrap_or(usize::MAX), limit) {
            c.read(&read);
        }

        if let Some(m) = monitor.as_mut() {
            let q = m.sent(&s);
            let limit = 64 + q / DATAGRAM_OVERHEAD;
            for read in m.read(&mut s, [o.mon_reader; 2], usize::MAX, limit) {
                c.notification(&read.d, false);
            }
        }
    }

    // Everything left.
    let entries_bound = 16 * (initial + messages) + objects(s.stack());
    let limit = 64 + s.queued(main) / DATAGRAM_OVERHEAD + dumps * (entries_bound + 2);
    for read in requester.read(&mut s, sizes, usize::MAX, limit) {
        c.read(&read);
    }
    c.finish(entries_bound);
}

fuzz_target!(|data: &[u8]| {
    run(data);
});
