//! Comparing two traces message by message and attribute by attribute.
//!
//! Everything is compared except what is random or time-bound, masked
//! here and only here ([`MASKS`]).

use nlinline::wire::consts::*;
use nlinline::wire::NlMsgHeader;

use super::generate::{LINK_MACS, MACS};
use super::observe::{Msg, StepTrace};

/// What the comparison masks, and why. Nothing else is masked.
pub const MASKS: &[(&str, &str)] = &[
    (
        "seq and port of notifications caused by `ip`",
        "ip numbers its requests from the clock and its ports are process ids",
    ),
    (
        "IFLA_STATS, IFLA_STATS64, IFLA_INET6_STATS, IFLA_INET6_ICMP6STATS",
        "traffic counters",
    ),
    (
        "IFA_CACHEINFO, RTA_CACHEINFO, IFLA_INET6_CACHEINFO",
        "timestamps (and the IPv6 reachable time, random)",
    ),
    (
        "IFLA_INET_CONF (IFLA_AF_SPEC of AF_INET)",
        "a new namespace inherits its IPv4 configuration from the host's first one: the host's, \
         not the stack's",
    ),
    (
        "DEVCONF_DAD_TRANSMITS and DEVCONF_RTR_SOLICIT_DELAY in IFLA_INET6_CONF",
        "set by KERNEL_SETUP on the kernel side",
    ),
    (
        "MACs the kernel picks at random (bridges created without an address)",
        "random",
    ),
    (
        "the bridge's timers (IFLA_BR_*_TIMER) and ids holding its random MAC",
        "time-bound or random",
    ),
    (
        "a bridge port's timers (IFLA_BRPORT_*_TIMER) and the bridge ids holding a random \
         MAC, in its IFLA_INFO_SLAVE_DATA and its AF_BRIDGE messages' IFLA_PROTINFO",
        "time-bound or random",
    ),
    (
        "what a bridge learns from traffic: its count of learned forwarding entries \
         (IFLA_BR_FDB_N_LEARNED) and a port's multicast groups (IFLA_BRPORT_MCAST_N_GROUPS)",
        "traffic the in-memory stack does not send",
    ),
    (
        "IPv6 link-local addresses derived from those MACs (EUI-64), and the order among the \
         entries that hold them (IPv6 routes sort by address)",
        "random",
    ),
    (
        "the solicited-node groups of those link-local addresses in `ip maddr`'s text \
         (ff02::1:ffXX:XXXX with the MAC's last three bytes)",
        "random",
    ),
    ("NDA_CACHEINFO", "a neighbour's ages and reference count"),
    (
        "neighbour entries the kernel makes for the multicast groups its own IGMP and MLD \
         reports go to (NOARP, the group's MAC) and for a VXLAN remote its own packets are \
         sent to through a link that resolves nothing (NOARP, all-ones MAC) or is resolving \
         (INCOMPLETE, no link-layer address), whether the \
         neighbour dump's NLMSG_DONE \
         shares their datagram, and the order of neighbour entries in dumps and of \
         neighbour deletions in a row",
        "traffic the in-memory stack does not send; the kernel's hash order (random)",
    ),
    (
        "the reachable time and the reference count of each neighbour table and link \
         (`ip ntable`)",
        "the kernel draws the time at random; its own multicast entries hold references",
    ),
    (
        "the order in which duplicate address detection ends on different links made ready \
         by one request (each IPv6 address's `RTM_NEWADDR` with its local route), and their \
         place among the link watcher's later runs (a macvlan taking its lower link's \
         carrier): a step's ends are compared after its other messages",
        "the kernel's address-configuration work runs on a concurrent work queue",
    ),
    (
        "IF_RS_SENT in IFLA_INET6_FLAGS of link notifications (dumps compare it)",
        "set when duplicate address detection of the link-local address ends, on the work \
         queue that races with the link watcher's runs (a macvlan made up)",
    ),
    ("`ip` output: the same values, in text", "as above"),
];

/// How the kernel namespace is set up, and why: duplicate address
/// detection completes at once on the in-memory stack and after timers on
/// the kernel (a random delay of up to `router_solicitation_delay`, then
/// one second per probe). The delay is 0 and no probe is sent, so it
/// completes as soon as it starts, and each step waits for that; when it
/// starts stays the kernel's (not before the link has carrier).
pub const KERNEL_SETUP: &[(&str, &str)] = &[
    (
        "/proc/sys/net/ipv6/conf/default/router_solicitation_delay",
        "0",
    ),
    ("/proc/sys/net/ipv6/conf/default/dad_transmits", "0"),
    // A new namespace inherits the host's forwarding and reverse-path
    // filter; the in-memory stack has a fresh namespace's (off).
    ("/proc/sys/net/ipv4/conf/all/forwarding", "0"),
    ("/proc/sys/net/ipv4/conf/default/forwarding", "0"),
    ("/proc/sys/net/ipv4/conf/all/rp_filter", "0"),
    ("/proc/sys/net/ipv4/conf/default/rp_filter", "0"),
    ("/proc/sys/net/ipv4/conf/lo/rp_filter", "0"),
    ("/proc/sys/net/ipv6/conf/all/forwarding", "0"),
    ("/proc/sys/net/ipv6/conf/default/forwarding", "0"),
];

/// The IPv6 configuration values `KERNEL_SETUP` changes for the links
/// the kernel side creates (`DEVCONF_DAD_TRANSMITS`,
/// `DEVCONF_RTR_SOLICIT_DELAY`): the in-memory stack reports the
/// defaults.
const SETUP_CONF: [usize; 2] = [6, 9];

/// Notifications the in-memory stack does not send yet: the bridge's
/// forwarding database entries (`RTM_NEWNEIGH`/`RTM_DELNEIGH` of
/// `AF_BRIDGE`).
fn not_modelled_message(kind: u16, family: u8) -> bool {
    (RTM_NEWNEIGH..=RTM_GETNEIGH).contains(&kind) && family == AF_BRIDGE
}

/// A neighbour entry the kernel made for its own traffic: `NOARP`, and a
/// multicast destination with the group's multicast MAC, or the all-ones
/// MAC (a tunnel's remote through a link that resolves nothing); or one
/// it is still resolving (`INCOMPLETE`, no link-layer address).
pub fn kernel_made(m: &Msg) -> bool {
    let b = &m.bytes;
    let Ok((h, _)) = NlMsgHeader::parse(b) else {
        return false;
    };
    if !(RTM_NEWNEIGH..=RTM_GETNEIGH).contains(&h.message_type) {
        return false;
    }
    let state = b
        .get(24..26)
        .map_or(0, |s| u16::from_ne_bytes([s[0], s[1]]));
    let attrs = b.get(28..).unwrap_or(&[]);
    let (mut dst, mut ll) = (None, None);
    let mut rest = attrs;
    while rest.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let t = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            break;
        }
        match t {
            NDA_DST => dst = Some(&rest[4..len]),
            NDA_LLADDR => ll = Some(&rest[4..len]),
            _ => {}
        }
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    let multicast = match dst {
        Some([a, ..]) if dst.is_some_and(|d| d.len() == 4) => *a >= 224 && *a < 240,
        Some([0xff, ..]) => true,
        _ => false,
    };
    let all_ones = ll == Some(&[0xff; 6][..]);
    let noarp_kind =
        state == NUD_NOARP && ((multicast && matches!(ll, Some([0x01 | 0x33, ..]))) || all_ones);
    // An address the kernel is resolving for its own packets (requests
    // never make `incomplete` entries here).
    noarp_kind || (state == NUD_INCOMPLETE && ll.is_none())
}

fn is_fixed_mac(b: &[u8]) -> bool {
    let text = b
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    MACS.contains(&text.as_str())
        || LINK_MACS.iter().any(|(_, m)| *m == text)
        || text == "02:00:00:00:00:0a"
        || b.iter().all(|x| *x == 0)
}

/// An IPv6 link-local address whose interface id is derived (EUI-64)
/// from a random MAC.
/// The solicited-node group (`ff02::1:ffXX:XXXX`) of such a link-local
/// address: its low three bytes are none of a fixed MAC's, nor those of
/// the generated addresses (below 256).
fn is_random_solicited(v: &[u8; 16]) -> bool {
    let low = u32::from_be_bytes([0, v[13], v[14], v[15]]);
    v[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]
        && low > 0xff
        && !MACS
            .iter()
            .chain(LINK_MACS.iter().map(|(_, m)| m))
            .any(|m| m.ends_with(&format!("{:02x}:{:02x}:{:02x}", v[13], v[14], v[15])))
}

fn is_random_link_local(v: &[u8]) -> bool {
    v.len() == 16
        && v[..8] == [0xfe, 0x80, 0, 0, 0, 0, 0, 0]
        && v[11] == 0xff
        && v[12] == 0xfe
        && !is_fixed_mac(&[v[8] ^ 2, v[9], v[10], v[13], v[14], v[15]])
}

/// Renders attributes, one per part, masking per [`MASKS`] (`told`: of a
/// notification).
fn attrs(
    (kind, family): (u16, u8),
    mut b: &[u8],
    depth: u8,
    path: &[u16],
    told: bool,
    out: &mut String,
) {
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let t = u16::from_ne_bytes([b[2], b[3]]);
        if len < 4 || len > b.len() {
            out.push_str(&format!(" BAD({len})"));
            return;
        }
        let v = &b[4..len];
        let ty = t & 0x3fff;
        let nested_flag = if t & 0x8000 != 0 { "N" } else { "" };
        let mut p = path.to_vec();
        p.push(ty);
        let link = (RTM_NEWLINK..=RTM_SETLINK).contains(&kind);
        let addr = (RTM_NEWADDR..=RTM_GETADDR).contains(&kind);
        let route = (RTM_NEWROUTE..=RTM_GETROUTE).contains(&kind);
        let neigh = (RTM_NEWNEIGH..=RTM_GETNEIGH).contains(&kind);
        let masked = match (link, addr, route, p.as_slice()) {
            (true, _, _, [IFLA_STATS | IFLA_STATS64]) => true,
            // AF_SPEC / inet6 (and the same in the IPv6 view's PROTINFO):
            // stats, icmp6 stats, cacheinfo.
            (true, _, _, [IFLA_AF_SPEC, 10, 3 | 5 | 6]) => true,
            (true, _, _, [IFLA_PROTINFO, 3 | 5 | 6]) if family == AF_INET6 => true,
            // A bridge port's attributes (its own messages' IFLA_PROTINFO,
            // IFLA_INFO_SLAVE_DATA): timers, multicast groups it learned
            // from traffic, ids holding a random MAC.
            (true, _, _, [IFLA_PROTINFO, 21 | 22 | 23 | 41]) if family == AF_BRIDGE => true,
            (true, _, _, [IFLA_LINKINFO, IFLA_INFO_SLAVE_DATA, 21 | 22 | 23 | 41]) => true,
            (true, _, _, [IFLA_PROTINFO, 13 | 14]) if family == AF_BRIDGE => {
                !v.get(2..).is_some_and(is_fixed_mac)
            }
            (true, _, _, [IFLA_LINKINFO, IFLA_INFO_SLAVE_DATA, 13 | 14]) => {
                !v.get(2..).is_some_and(is_fixed_mac)
            }
            // A bridge's count of learned forwarding entries (traffic).
            (true, _, _, [IFLA_LINKINFO, IFLA_INFO_DATA, 48]) => true,
            // AF_SPEC / inet: the IPv4 configuration, which a namespace
            // inherits from the host's first one.
            (true, _, _, [IFLA_AF_SPEC, 2, 1]) => true,
            (true, _, _, [IFLA_ADDRESS | IFLA_PERM_ADDRESS]) if !is_fixed_mac(v) => true,
            // Bridge: its timers (IFLA_BR_*_TIMER), and its ids
            // (IFLA_BR_ROOT_ID, IFLA_BR_BRIDGE_ID) when they hold a random MAC.
            (true, _, _, [IFLA_LINKINFO, IFLA_INFO_DATA, 16..=19]) => true,
            (true, _, _, [IFLA_LINKINFO, IFLA_INFO_DATA, 10 | 11]) => {
                !v.get(2..).is_some_and(is_fixed_mac)
            }
            (_, true, _, [IFA_CACHEINFO]) => true,
            (_, true, _, [IFA_ADDRESS | IFA_LOCAL]) if is_random_link_local(v) => true,
            (_, _, true, [RTA_DST | RTA_PREFSRC]) if is_random_link_local(v) => true,
            (_, _, true, [RTA_CACHEINFO]) => true,
            _ if neigh && p.as_slice() == [NDA_CACHEINFO] => true,
            _ => false,
        };
        let nested = depth < 3
            && matches!(
                (link, route, p.as_slice()),
                (true, _, [IFLA_LINKINFO])
                    | (true, _, [IFLA_LINKINFO, IFLA_INFO_DATA])
                    | (true, _, [IFLA_LINKINFO, IFLA_INFO_SLAVE_DATA])
                    | (true, _, [IFLA_AF_SPEC])
                    | (true, _, [IFLA_AF_SPEC, _])
                    | (true, _, [IFLA_PROTINFO])
                    | (_, true, [RTA_METRICS])
            );
        let ipv6_conf = link && matches!(p.as_slice(), [IFLA_AF_SPEC, 10, 2] | [IFLA_PROTINFO, 2]);
        if ipv6_conf {
            out.push_str(&format!(" {ty}{nested_flag}=["));
            for (i, w) in v.chunks(4).enumerate() {
                if SETUP_CONF.contains(&i) {
                    out.push_str(" <setup>");
                } else {
                    out.push_str(&format!(" {:02x?}", w));
                }
            }
            out.push_str(" ]");
        } else if told && link && p.as_slice() == [IFLA_AF_SPEC, 10, 1] && v.len() == 4 {
            // IFLA_INET6_FLAGS in a notification, without IF_RS_SENT.
            let f = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]) & !0x10;
            out.push_str(&format!(" {ty}{nested_flag}="));
            for x in f.to_ne_bytes() {
                out.push_str(&format!("{x:02x}"));
            }
        } else if (addr || route) && is_random_link_local(v) {
            out.push_str(&format!(" {ty}{nested_flag}=<random-link-local>"));
        } else if masked {
            out.push_str(&format!(" {ty}{nested_flag}=<masked>"));
        } else if nested {
            out.push_str(&format!(" {ty}{nested_flag}={{"));
            attrs((kind, family), v, depth + 1, &p, told, out);
            out.push_str(" }");
        } else {
            out.push_str(&format!(" {ty}{nested_flag}="));
            for x in v {
                out.push_str(&format!("{x:02x}"));
            }
        }
        let step = (len + 3) & !3;
        b = b.get(step..).unwrap_or(&[]);
    }
}

fn header_len(kind: u16) -> usize {
    match kind {
        RTM_NEWLINK..=RTM_SETLINK => 16,
        RTM_NEWADDR..=RTM_GETADDR => 8,
        RTM_NEWROUTE..=RTM_GETROUTE => 12,
        RTM_NEWNEIGH..=RTM_GETNEIGH => 12,
        RTM_NEWRULE..=RTM_GETRULE => 12,
        RTM_NEWNEXTHOP..=RTM_GETNEXTHOP => 8,
        _ => 4,
    }
}

/// One message as a line; `pid` is the port of the process that caused
/// it (masked when it appears).
pub fn render(m: &Msg, notification: bool, pid: u32) -> String {
    let Ok((h, _)) = NlMsgHeader::parse(&m.bytes) else {
        return format!("unparsable {:02x?}", m.bytes);
    };
    let body = m.bytes.get(16..h.len as usize).unwrap_or(&[]);
    let name = nlinline::wire::consts::message_type_name(h.message_type)
        .map_or_else(|| h.message_type.to_string(), str::to_string);
    let (seq, port) = if notification {
        let port = if h.port == 0 {
            "0".to_string()
        } else if h.port == pid {
            "ip".to_string()
        } else {
            "port".to_string()
        };
        (if h.seq == 0 { "0" } else { "seq" }.to_string(), port)
    } else {
        (h.seq.to_string(), "self".to_string())
    };
    let alone = if h.message_type == NLMSG_DONE && !m.alone {
        " NOT-ALONE"
    } else {
        ""
    };
    let mut s = format!("{name} flags={:#x} seq={seq} port={port}{alone}", h.flags);
    let family = body.first().copied().unwrap_or(0);
    let hl = header_len(h.message_type).min(body.len());
    let (fixed, rest) = body.split_at(hl);
    s.push_str(" |");
    for x in fixed {
        s.push_str(&format!("{x:02x}"));
    }
    s.push_str(" |");
    if h.message_type >= 16 {
        attrs((h.message_type, family), rest, 0, &[], notification, &mut s);
    } else {
        for x in rest {
            s.push_str(&format!("{x:02x}"));
        }
    }
    s
}

/// Masks random MACs in `ip`'s text, and the values of bridge timers
/// with the padding `ip` puts before them (as wide as the value).
pub fn mask_text(s: &str) -> String {
    let masked = mask_words(s);
    let mut parts = masked.split("<timer>").peekable();
    let mut out = String::with_capacity(masked.len());
    while let Some(p) = parts.next() {
        if parts.peek().is_some() {
            out.push_str(p.trim_end());
            out.push_str(" <timer>");
        } else {
            out.push_str(p);
        }
    }
    out
}

/// Masks random MACs and timer values, word by word.
fn mask_words(s: &str) -> String {
    // The word before: a bridge timer's value follows its name.
    let mut before = String::new();
    s.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .map(|tok| {
            let word = tok.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == ',');
            let tail = &tok[word.len()..];
            if word.is_empty() {
                return tok.to_string();
            }
            let timer = before.ends_with("_timer") && word.parse::<f64>().is_ok();
            // `ip ntable`: the reachable time the kernel draws at random,
            // and the references its own multicast entries hold too.
            let drawn =
                (before == "reachable" || before == "refcnt") && word.parse::<u64>().is_ok();
            before = word.to_string();
            if timer {
                return format!("<timer>{tail}");
            }
            if drawn {
                return format!("<random>{tail}");
            }
            let bytes: Vec<u8> = word
                .split(':')
                .filter_map(|h| u8::from_str_radix(h, 16).ok())
                .collect();
            let addr = word.split('/').next().unwrap_or("");
            if word.len() == 17 && bytes.len() == 6 && !is_fixed_mac(&bytes) {
                format!("<mac>{tail}")
            } else if addr
                .parse::<std::net::Ipv6Addr>()
                .is_ok_and(|a| is_random_link_local(&a.octets()))
            {
                format!("<random-link-local>{}{tail}", &word[addr.len()..])
            } else if addr
                .parse::<std::net::Ipv6Addr>()
                .is_ok_and(|a| is_random_solicited(&a.octets()))
            {
                format!("<random-solicited-node>{tail}")
            } else {
                tok.to_string()
            }
        })
        .collect()
}

/// The first difference between two traces of `steps`, described.
pub fn first_difference(
    steps: &[Vec<String>],
    k: &[StepTrace],
    n: &[StepTrace],
) -> Option<(usize, String)> {
    for (i, (a, b)) in k.iter().zip(n).enumerate() {
        let cmd = format!("ip {}", steps[i].join(" "));
        if a.status != b.status {
            return Some((
                i,
                format!(
                    "`{cmd}`: status kernel {} nlq {}\n  kernel stderr: {}\n  nlq stderr: {}",
                    a.status,
                    b.status,
                    a.stderr.trim(),
                    b.stderr.trim()
                ),
            ));
        }
        let (ka, na) = (mask_text(&a.stderr), mask_text(&b.stderr));
        if ka != na {
            return Some((
                i,
                format!(
                    "`{cmd}`: stderr\n  kernel: {}\n  nlq:    {}",
                    ka.trim(),
                    na.trim()
                ),
            ));
        }
        let (mut ka, mut na) = (mask_text(&a.stdout), mask_text(&b.stdout));
        if steps[i].iter().any(|w| w == "neigh") {
            // `ip neigh` prints in dump order: the kernel's hash order.
            let sorted = |s: &str| {
                let mut lines: Vec<&str> = s.lines().collect();
                lines.sort_unstable();
                lines.join("\n")
            };
            (ka, na) = (sorted(&ka), sorted(&na));
        }
        // Lines of random link-local addresses print in their (random)
        // order too.
        let settled = |s: &str| {
            let lines = s.lines().map(str::to_string).collect();
            settle_random_order(lines).join("\n")
        };
        (ka, na) = (settled(&ka), settled(&na));
        if ka != na {
            return Some((i, format!("`{cmd}`: stdout\n{}", line_diff(&ka, &na))));
        }
        let kn: Vec<String> = a
            .notifications
            .iter()
            .filter(|m| modelled(m))
            .map(|m| render(m, true, a.pid))
            .collect();
        let flush = steps[i].iter().any(|w| w == "flush") && steps[i].iter().any(|w| w == "neigh");
        let by_entry = |mut v: Vec<String>| {
            // `ip neigh flush` deletes in dump order (the kernel's hash
            // order): each entry's messages keep their order.
            if flush {
                v.sort_by(|x, y| neigh_dst(x).cmp(neigh_dst(y)));
            }
            v
        };
        let kn = by_entry(sort_runs(
            settle_random_order(settle_dad_order(kn)),
            "RTM_DELNEIGH",
        ));
        let nn: Vec<String> = b
            .notifications
            .iter()
            .filter(|m| modelled(m))
            .map(|m| render(m, true, b.pid))
            .collect();
        let nn = by_entry(sort_runs(
            settle_random_order(settle_dad_order(nn)),
            "RTM_DELNEIGH",
        ));
        if kn != nn {
            return Some((
                i,
                format!(
                    "`{cmd}`: notifications\n{}",
                    line_diff(&kn.join("\n"), &nn.join("\n"))
                ),
            ));
        }
        let ka: Vec<String> = a.answer.iter().map(|m| render(m, false, 0)).collect();
        let na: Vec<String> = b.answer.iter().map(|m| render(m, false, 0)).collect();
        if ka != na {
            return Some((
                i,
                format!(
                    "`{cmd}`: answer\n{}",
                    line_diff(&ka.join("\n"), &na.join("\n"))
                ),
            ));
        }
        let table = |t: &StepTrace| {
            let mut lines: Vec<String> = t
                .dumps
                .iter()
                .filter(|m| !kernel_made(m))
                .map(|m| render(m, false, 0))
                .collect();
            // The neighbour dump comes last: whether its `NLMSG_DONE`
            // shares a datagram depends on the masked entries too.
            if let Some(done) = lines.last_mut() {
                *done = done.replace(" NOT-ALONE", "");
            }
            sort_runs(settle_random_order(lines), "RTM_NEWNEIGH")
        };
        let (kd, nd) = (table(a), table(b));
        if kd != nd {
            return Some((
                i,
                format!(
                    "`{cmd}`: tables\n{}",
                    line_diff(&kd.join("\n"), &nd.join("\n"))
                ),
            ));
        }
    }
    None
}

pub fn modelled(m: &Msg) -> bool {
    match NlMsgHeader::parse(&m.bytes) {
        Ok((h, _)) => {
            !not_modelled_message(h.message_type, m.bytes.get(16).copied().unwrap_or(0))
                && !kernel_made(m)
        }
        Err(_) => true,
    }
}

/// The destination of a rendered neighbour message (its `NDA_DST`).
fn neigh_dst(line: &str) -> &str {
    line.split(" 1=")
        .nth(1)
        .and_then(|v| v.split(' ').next())
        .unwrap_or("")
}

/// Sorts each run of adjacent lines that start with `prefix` (neighbour
/// entries, which the kernel keeps in a hash table).
fn sort_runs(mut lines: Vec<String>, prefix: &str) -> Vec<String> {
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        while i < lines.len() && lines[i].starts_with(prefix) {
            i += 1;
        }
        if let Some(run) = lines.get_mut(start..i) {
            run.sort();
        }
        i = i.max(start + 1);
    }
    lines
}

/// The header of a rendered message (the hex after the first `|`).
fn rendered_header(line: &str) -> &str {
    line.split('|').nth(1).unwrap_or("").trim()
}

/// Puts a step's ends of duplicate address detection (an IPv6
/// `RTM_NEWADDR`, with the local route that follows it) after the
/// messages that follow the first of them, and sorts each run of them
/// (`MASKS`).
fn settle_dad_order(lines: Vec<String>) -> Vec<String> {
    let v6_addr = |l: &str| l.starts_with("RTM_NEWADDR") && rendered_header(l).starts_with("0a");
    let local_route = |l: &str| {
        let h = rendered_header(l);
        l.starts_with("RTM_NEWROUTE") && h.get(8..10) == Some("ff") && h.get(14..16) == Some("02")
    };
    let mut units: Vec<(bool, Vec<String>)> = Vec::new();
    let mut it = lines.into_iter().peekable();
    while let Some(l) = it.next() {
        if v6_addr(&l) {
            let mut unit = vec![l];
            if let Some(next) = it.next_if(|n| local_route(n)) {
                unit.push(next);
            }
            units.push((true, unit));
        } else {
            units.push((false, vec![l]));
        }
    }
    // The ends race with the link watcher's later runs: from the first
    // end on, the other messages go first, the ends after them.
    if let Some(first) = units.iter().position(|u| u.0) {
        let (ends, others): (Vec<_>, Vec<_>) =
            units.split_off(first).into_iter().partition(|u| u.0);
        units.extend(others);
        units.extend(ends);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let start = i;
        while i < units.len() && units[i].0 {
            i += 1;
        }
        if i > start {
            let mut run: Vec<Vec<String>> = units[start..i].iter().map(|u| u.1.clone()).collect();
            run.sort();
            out.extend(run.into_iter().flatten());
        } else {
            out.extend(units[i].1.iter().cloned());
            i += 1;
        }
    }
    out
}

/// Sorts each run of adjacent lines that hold a random link-local address:
/// their order follows the random values (the kernel keeps IPv6 routes in
/// a tree by address).
fn settle_random_order(mut lines: Vec<String>) -> Vec<String> {
    let random = |l: &String| l.contains("<random-link-local>");
    let mut i = 0;
    while i < lines.len() {
        if !random(&lines[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && random(&lines[i]) {
            i += 1;
        }
        if let Some(run) = lines.get_mut(start..i) {
            run.sort();
        }
    }
    lines
}

/// The lines of `a` and `b` that differ (first ones, with context).
fn line_diff(a: &str, b: &str) -> String {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..al.len().max(bl.len()) {
        let (x, y) = (
            al.get(i).copied().unwrap_or("<none>"),
            bl.get(i).copied().unwrap_or("<none>"),
        );
        if x != y {
            out.push_str(&format!("  line {i}\n    kernel: {x}\n    nlq:    {y}\n"));
            shown += 1;
            if shown == 4 {
                break;
            }
        }
    }
    out
}

/// Timer values are random, and so is their padding; the rest stays.
#[test]
fn timers_are_masked_with_their_padding() {
    let a = mask_text("tcn_timer    0.00 gc_timer  300.01 ageing_time 30000");
    let b = mask_text("tcn_timer    0.00 gc_timer    0.00 ageing_time 30000");
    assert_eq!(a, b);
    assert_eq!(a, "tcn_timer <timer> gc_timer <timer> ageing_time 30000");
    assert_ne!(
        mask_text("ageing_time 30000"),
        mask_text("ageing_time 30001")
    );
}
