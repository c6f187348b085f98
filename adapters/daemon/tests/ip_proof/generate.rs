//! Generated `ip` command sequences: route types, scopes, `onlink`,
//! metrics, `pref`, `add`/`append`/`prepend`/`replace`/`change`, tables,
//! `src`, multipath, flush and get; addresses with scope, label, metric,
//! `broadcast +`, `noprefixroute`; links up and down, veth pairs, macvlans, bridge
//! ports, VXLAN
//! links, MTU edges, MACs,
//! renames; policy rules (selectors, actions, priorities, deletes,
//! flushes); neighbours (add, replace, change, delete, get, flush, in
//! every state a request can give); nexthop objects (gateways, links,
//! blackholes, groups with weights, replaces, deletes) and routes through
//! them; and the shows that print what they did.

/// A small deterministic generator (SplitMix64): a seed names a sequence.
pub struct Rng(u64);

impl Rng {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Link names a sequence uses (`lo`, bridges, the ends of a veth pair, a
/// VXLAN link, a macvlan).
const LINKS: &[&str] = &["lo", "b0", "b1", "b2", "v0", "v1", "x0", "m0"];
/// The MAC each link a sequence makes is given when no other is asked for,
/// by name: the kernel's own are random, and which port's is the lowest
/// (the one a bridge takes) must be the same on both sides.
pub const LINK_MACS: &[(&str, &str)] = &[
    ("v0", "02:00:00:00:0a:01"),
    ("v1", "02:00:00:00:0a:02"),
    ("x0", "02:00:00:00:0a:03"),
    ("x1", "02:00:00:00:0a:04"),
    ("m0", "02:00:00:00:0a:05"),
    ("m1", "02:00:00:00:0a:06"),
    ("b1", "02:00:00:00:0a:07"),
    ("b2", "02:00:00:00:0a:08"),
    ("i0", "02:00:00:00:0a:09"),
];

/// ` address MAC` for a new link named `name`: now and then one of
/// [`MACS`] (some refused), else the link's own.
fn address_for(r: &mut Rng, name: &str, fixed: &[&'static str]) -> String {
    if r.chance(10) {
        return format!(" address {}", r.pick(fixed));
    }
    LINK_MACS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(String::new, |(_, m)| format!(" address {m}"))
}

/// Names a bridge may be created with or renamed to.
const NEW_NAMES: &[&str] = &["b0", "b1", "b2"];
/// The MACs a sequence sets: two unicast, multicast, broadcast, zero.
pub const MACS: &[&str] = &[
    "02:00:00:00:00:01",
    "02:00:00:00:00:02",
    "01:00:5e:00:00:01",
    "ff:ff:ff:ff:ff:ff",
    "00:00:00:00:00:00",
];
const MTUS: &[&str] = &[
    "60", "67", "68", "576", "1279", "1280", "1400", "1500", "9000", "65536", "70000",
];
const V4_ADDRS: &[&str] = &[
    "10.0.0.1/24",
    "10.0.0.2/24",
    "10.0.1.1/24",
    "10.0.0.3/8",
    "192.0.2.1/24",
    "127.0.0.2/8",
    "10.0.0.9/32",
];
const V6_ADDRS: &[&str] = &[
    "2001:db8::1/64",
    "2001:db8::2/64",
    "2001:db8:1::1/64",
    "fe80::1/64",
    "::1/128",
    "2001:db8:5::1/128",
];
const V4_DSTS: &[&str] = &[
    "default",
    "10.1.0.0/16",
    "10.2.0.0/16",
    "10.0.0.0/24",
    "10.3.0.1/32",
    "192.0.2.0/24",
    "10.3.0.1/16",
];
const V6_DSTS: &[&str] = &[
    "default",
    "2001:db8:10::/48",
    "2001:db8:20::/48",
    "2001:db8::/64",
    "2001:db8:30::1/128",
];
const V4_GWS: &[&str] = &[
    "10.0.0.254",
    "10.0.1.254",
    "10.9.9.9",
    "192.0.2.254",
    "10.0.0.1",
];
const V6_GWS: &[&str] = &[
    "2001:db8::fe",
    "2001:db8:1::fe",
    "2001:db8:9::9",
    "fe80::fe",
];
const V4_TARGETS: &[&str] = &[
    "10.1.2.3",
    "10.0.0.1",
    "10.0.0.77",
    "192.0.2.9",
    "127.0.0.1",
    "8.8.8.8",
    "10.3.0.1",
];
const V6_TARGETS: &[&str] = &[
    "2001:db8:10::5",
    "2001:db8::1",
    "2001:db8::77",
    "::1",
    "2001:db8:30::1",
    "2001:4860::1",
];
const TABLES: &[&str] = &["main", "local", "100", "200"];

/// One generated step: the arguments of one `ip` run.
pub type Step = Vec<String>;

fn words(s: &str) -> Step {
    s.split_whitespace().map(str::to_string).collect()
}

/// A sequence of `len` steps for `seed`.
pub fn sequence(seed: u64, len: usize) -> Vec<Step> {
    let mut r = Rng::new(seed);
    let mut steps = Vec::with_capacity(len);
    // Most sequences start with a bridge that is up, so that routes and
    // addresses have somewhere to go.
    if r.chance(25) {
        steps.push(words("link set lo up"));
    }
    if r.chance(80) {
        let mac = if r.chance(70) {
            " address 02:00:00:00:00:0a"
        } else {
            ""
        };
        steps.push(words(&format!("link add b0{mac} type bridge")));
        if steps.len() < len && r.chance(80) {
            steps.push(words("link set b0 up"));
        }
    }
    // A veth pair, both ends up: links with carrier.
    if r.chance(35) {
        steps.push(words(
            "link add v0 address 02:00:00:00:0a:01 type veth peer name v1 \
             address 02:00:00:00:0a:02",
        ));
        steps.push(words("link set v0 up"));
        if r.chance(85) {
            steps.push(words("link set v1 up"));
        }
        // Sometimes a port of the bridge.
        if steps.iter().any(|s| s.get(2).is_some_and(|n| n == "b0")) && r.chance(40) {
            steps.push(words("link set v0 master b0"));
        }
    }
    while steps.len() < len {
        steps.push(step(&mut r));
    }
    steps.truncate(len);
    steps
}

fn step(r: &mut Rng) -> Step {
    match r.below(100) {
        0..=14 => link_step(r),
        15..=31 => addr_step(r),
        32..=61 => route_step(r),
        62..=70 => get_step(r),
        71..=78 => rule_step(r),
        79..=86 => neigh_step(r),
        87..=94 => nexthop_step(r),
        _ => show_step(r),
    }
}

/// Nexthop ids a sequence uses.
const NH_IDS: &[&str] = &["1", "2", "3", "4", "7"];

/// `ip nexthop`: single nexthops (a gateway, a link, a blackhole, onlink)
/// of both families, groups with weights, replaces, deletes, flushes and
/// shows; routes through them (`nhid`), so that deleting a nexthop in use,
/// a group losing its members and links going down meet routes.
fn nexthop_step(r: &mut Rng) -> Step {
    let id = r.pick(NH_IDS);
    // A bridge without ports has no carrier, and a nexthop needs one:
    // mostly `lo`.
    let dev = if r.chance(60) { "lo" } else { r.pick(LINKS) };
    let v6 = r.chance(35);
    match r.below(20) {
        0..=7 => {
            let verb = if r.chance(15) { "replace" } else { "add" };
            let with_id = if r.chance(92) {
                format!(" id {id}")
            } else {
                String::new()
            };
            let body = match r.below(10) {
                0..=3 => {
                    let gw = if v6 {
                        r.pick(V6_GWS)
                    } else {
                        r.pick(&[V4_GWS[0], V4_GWS[2], V4_GWS[4], "127.0.0.2", "0.0.0.0"])
                    };
                    let onlink = if r.chance(15) { " onlink" } else { "" };
                    format!("via {gw} dev {dev}{onlink}")
                }
                4..=5 => format!("{}dev {dev}", if v6 { "-6 " } else { "" }),
                6 => "blackhole".to_string(),
                _ => {
                    let a = r.pick(NH_IDS);
                    let b = r.pick(NH_IDS);
                    match r.below(3) {
                        0 => format!("group {a}"),
                        1 => format!("group {a}/{b}"),
                        _ => format!("group {a},{}/{b},{}", 1 + r.below(4), 1 + r.below(300)),
                    }
                }
            };
            // `-6` goes before the verb.
            let (fam, body) = match body.strip_prefix("-6 ") {
                Some(b) => ("-6 ", b.to_string()),
                None => ("", body),
            };
            let proto = if r.chance(10) { " proto static" } else { "" };
            words(&format!("{fam}nexthop {verb}{with_id} {body}{proto}"))
        }
        8..=9 => words(&format!("nexthop del id {id}")),
        10..=13 => {
            let dst = if v6 { r.pick(V6_DSTS) } else { r.pick(V4_DSTS) };
            let fam = if v6 { "-6 " } else { "" };
            let verb = r.pick(&["add", "add", "replace", "del", "append"]);
            let scope = if !v6 && r.chance(10) {
                " scope link"
            } else {
                ""
            };
            words(&format!("{fam}route {verb} {dst} nhid {id}{scope}"))
        }
        14 => words(&format!("nexthop get id {id}")),
        15 => words("nexthop flush"),
        _ => words(r.pick(&[
            "nexthop show",
            "-4 nexthop show",
            "-6 nexthop show",
            "nexthop show groups",
            "nexthop show dev b0",
            "nexthop show master b1",
            "-d nexthop show",
            "nexthop show id 1",
        ])),
    }
}

/// Neighbour addresses: unicast on and off the links' subnets, the local
/// and broadcast addresses, a multicast group no link joins (the groups
/// the kernel's own reports go to make entries of their own).
const V4_NEIGHS: &[&str] = &[
    "10.0.0.2",
    "10.0.0.77",
    "10.0.0.1",
    "10.0.0.255",
    "10.9.9.9",
    "224.0.0.5",
    "0.0.0.0",
];
const V6_NEIGHS: &[&str] = &["2001:db8::2", "2001:db8::77", "fe80::2", "ff02::5", "::1"];
/// The states a request gives that start no timer on the kernel
/// (`reachable` turns `stale` after 15 to 45 s, `delay` and `probe` at
/// once, with traffic, and `incomplete` probes, then fails after three
/// seconds: the in-memory stack keeps every state as given).
const NUD_STATES: &[&str] = &["permanent", "noarp", "stale", "failed", "none"];

/// `ip neigh`: add, replace, change and delete in every state, with and
/// without a link-layer address; get; flush; show.
fn neigh_step(r: &mut Rng) -> Step {
    let v6 = r.chance(35);
    let fam = if v6 { "-6 " } else { "" };
    let dev = r.pick(LINKS);
    let addr = if v6 {
        r.pick(V6_NEIGHS)
    } else {
        r.pick(V4_NEIGHS)
    };
    let verb = match r.below(20) {
        0..=7 => "add",
        8..=9 => "replace",
        10 => "change",
        11..=13 => "del",
        14 => return words(&format!("{fam}neigh get {addr} dev {dev}")),
        15 => return words(&format!("neigh flush dev {dev}")),
        _ => {
            return words(r.pick(&[
                "neigh show",
                "-4 neigh show",
                "-6 neigh show",
                "neigh show dev b0",
                "neigh show nud permanent",
                "neigh show nud stale",
            ]))
        }
    };
    let mut s = format!("neigh {verb} {addr}");
    if verb != "del" && r.chance(75) {
        let mac = r.pick(&[MACS[0], MACS[1], "02:00:00:00:00:03"]);
        s.push_str(&format!(" lladdr {mac}"));
    }
    if verb != "del" && r.chance(40) {
        s.push_str(&format!(" nud {}", r.pick(NUD_STATES)));
    }
    if r.chance(95) {
        s.push_str(&format!(" dev {dev}"));
    }
    if verb != "del" && r.chance(8) {
        s.push_str(" protocol static");
    }
    words(&s)
}

const V4_RULE_PREFIXES: &[&str] = &[
    "10.0.0.0/8",
    "10.1.0.0/16",
    "192.0.2.1",
    "0.0.0.0/0",
    "10.3.0.0/16",
];
const V6_RULE_PREFIXES: &[&str] = &["2001:db8::/32", "2001:db8:10::/48", "fe80::/64", "::/0"];
const RULE_PREFS: &[&str] = &["0", "5", "100", "200", "32765", "32766", "40000"];
const RULE_TABLES: &[&str] = &["main", "local", "default", "100", "200", "0", "5000"];

/// `ip rule`: selectors (prefixes, links, marks, TOS, uids, protocols and
/// ports, `not`), actions (a table, `goto`, `nop`, the rejects), options
/// (priority, suppressors, protocol), deletes by priority or by
/// selector, flushes and shows.
fn rule_step(r: &mut Rng) -> Step {
    let v6 = r.chance(35);
    let fam = if v6 { "-6 " } else { "" };
    let verb = match r.below(10) {
        0..=5 => "add",
        6..=7 => "del",
        8 => return words(&format!("{fam}rule flush")),
        _ => {
            return words(r.pick(&[
                "rule show",
                "-6 rule show",
                "rule show table main",
                "-d rule show",
                "-j rule show",
            ]))
        }
    };
    let mut s = format!("{fam}rule {verb}");
    if verb == "del" && r.chance(50) {
        s.push_str(&format!(" pref {}", r.pick(RULE_PREFS)));
        return words(&s);
    }
    if r.chance(10) {
        s.push_str(" not");
    }
    let prefixes = if v6 {
        V6_RULE_PREFIXES
    } else {
        V4_RULE_PREFIXES
    };
    if r.chance(40) {
        s.push_str(&format!(" from {}", r.pick(prefixes)));
    }
    if r.chance(30) {
        s.push_str(&format!(" to {}", r.pick(prefixes)));
    }
    if r.chance(15) {
        s.push_str(&format!(" iif {}", r.pick(&["lo", "b0", "b1", "nosuch"])));
    }
    if r.chance(10) {
        s.push_str(&format!(" oif {}", r.pick(&["lo", "b0", "b2"])));
    }
    if r.chance(15) {
        s.push_str(&format!(
            " fwmark {}",
            r.pick(&["0x10", "0x10/0xff", "5", "0"])
        ));
    }
    if !v6 && r.chance(8) {
        s.push_str(&format!(
            " tos {}",
            r.pick(&["0x10", "0x04", "0x20", "0x02"])
        ));
    }
    if r.chance(6) {
        s.push_str(&format!(" uidrange {}", r.pick(&["5-10", "10-5", "0-0"])));
    }
    if r.chance(6) {
        s.push_str(&format!(" ipproto {}", r.pick(&["tcp", "udp"])));
    }
    if r.chance(6) {
        s.push_str(&format!(
            " {} {}",
            r.pick(&["sport", "dport"]),
            r.pick(&["1000-2000", "53", "2000-1000", "65535"])
        ));
    }
    if r.chance(60) {
        s.push_str(&format!(" pref {}", r.pick(RULE_PREFS)));
    }
    match r.below(12) {
        0 => s.push_str(&format!(" goto {}", r.pick(RULE_PREFS))),
        1 => s.push_str(" nop"),
        2 => s.push_str(" blackhole"),
        3 => s.push_str(" unreachable"),
        4 => s.push_str(" prohibit"),
        5 | 6 if verb == "del" => {}
        _ => s.push_str(&format!(" table {}", r.pick(RULE_TABLES))),
    }
    if r.chance(8) {
        s.push_str(&format!(
            " suppress_prefixlength {}",
            r.pick(&["0", "8", "24"])
        ));
    }
    if r.chance(5) {
        s.push_str(" suppress_ifgroup 3");
    }
    if r.chance(8) {
        s.push_str(&format!(" proto {}", r.pick(&["static", "boot", "99"])));
    }
    words(&s)
}

/// `ip link add … type veth`: names given, taken, or left to the kernel;
/// addresses and MTUs on either end, some refused; up at once.
fn veth_step(r: &mut Rng) -> String {
    let name = r.pick(&["v0", "v0", "v1", "b1"]);
    let mut s = format!("link add {name}");
    s.push_str(&address_for(r, name, &MACS[..3]));
    if r.chance(10) {
        s.push_str(&format!(" mtu {}", r.pick(MTUS)));
    }
    if r.chance(10) {
        s.push_str(" up");
    }
    s.push_str(" type veth");
    if r.chance(90) {
        let peer = r.pick(&["v1", "v1", "v0", "b2"]);
        s.push_str(&format!(" peer name {peer}"));
        s.push_str(&address_for(r, peer, &MACS[1..4]));
        if r.chance(10) {
            s.push_str(&format!(" mtu {}", r.pick(MTUS)));
        }
    }
    s
}

/// `ip link add … type vxlan`: VNIs and ports that collide or not, remote
/// and local addresses of both families, a lower link (whose MTU bounds
/// the tunnel's), TTL, learning, source port ranges (some refused).
fn vxlan_step(r: &mut Rng) -> String {
    let name = r.pick(&["x0", "x0", "x1"]);
    let mut s = format!("link add {name}");
    s.push_str(&address_for(r, name, &MACS[..3]));
    if r.chance(10) {
        s.push_str(&format!(" mtu {}", r.pick(MTUS)));
    }
    if r.chance(8) {
        s.push_str(" up");
    }
    s.push_str(&format!(
        " type vxlan id {} dstport {}",
        r.pick(&["42", "43"]),
        r.pick(&["4789", "4789", "0", "4790"])
    ));
    match r.below(5) {
        0 => s.push_str(" remote 10.0.0.9"),
        1 => s.push_str(" remote 2001:db8::9"),
        _ => {}
    }
    if r.chance(20) {
        s.push_str(" local 10.0.0.1");
    }
    if r.chance(40) {
        s.push_str(&format!(" dev {}", r.pick(&["b0", "v0", "lo", "nosuch"])));
    }
    if r.chance(15) {
        s.push_str(&format!(" ttl {}", r.pick(&["5", "64", "inherit"])));
    }
    if r.chance(15) {
        s.push_str(" nolearning");
    }
    if r.chance(10) {
        s.push_str(&format!(" srcport {}", r.pick(&["1000 2000", "2000 1000"])));
    }
    s
}

/// `ip link add … type macvlan`: on a bridge, a veth end, a VXLAN link,
/// another macvlan, `lo`, a link that does not exist or none; modes
/// (not passthru and source, which the in-memory stack refuses), MTUs
/// above the lower link's, addresses, broadcast queues; up at once.
fn macvlan_step(r: &mut Rng) -> String {
    let name = r.pick(&["m0", "m0", "m1"]);
    let mut s = format!("link add {name}");
    if r.chance(90) {
        s.push_str(&format!(
            " link {}",
            r.pick(&["b0", "b0", "v0", "v1", "x0", "m0", "lo", "nosuch"])
        ));
    }
    if r.chance(10) {
        s.push_str(&format!(" mtu {}", r.pick(MTUS)));
    }
    s.push_str(&address_for(r, name, &MACS[..3]));
    if r.chance(15) {
        s.push_str(" up");
    }
    s.push_str(" type macvlan");
    if r.chance(60) {
        s.push_str(&format!(" mode {}", r.pick(&["private", "vepa", "bridge"])));
    }
    if r.chance(10) {
        s.push_str(&format!(" bcqueuelen {}", r.pick(&["100", "2000"])));
    }
    if r.chance(10) {
        s.push_str(" nodst");
    }
    s
}

/// `ip link set … master …` / `nomaster`: ports onto bridges (most
/// often `b0`), onto links that are no bridge or missing, a bridge onto a
/// bridge, moved between bridges, released; sometimes with `up`.
fn master_step(r: &mut Rng, dev: &str) -> String {
    let dev = if r.chance(60) {
        r.pick(&["v0", "v0", "v1", "x0", "m0"])
    } else {
        dev
    };
    if r.chance(25) {
        return format!("link set {dev} nomaster");
    }
    let master = r.pick(&["b0", "b0", "b0", "b1", "v1", "lo"]);
    let up = if r.chance(15) { " up" } else { "" };
    format!("link set {dev} master {master}{up}")
}

/// An `ifb` link, `i0`: made (its MAC and MTU given or not), up and
/// down, any MTU (an ifb has no limits), an address, deleted. (It is no
/// bridge port: `i0` is in no other step.)
fn ifb_step(r: &mut Rng) -> String {
    match r.below(8) {
        0..=2 => {
            let mut s = format!("link add i0{}", address_for(r, "i0", &MACS[..2]));
            if r.chance(25) {
                s.push_str(&format!(" mtu {}", r.pick(MTUS)));
            }
            s.push_str(" type ifb");
            s
        }
        3 => "link set i0 up".to_string(),
        4 => "link set i0 down".to_string(),
        5 if r.chance(30) => format!("link set i0 address {}", r.pick(&MACS[..2])),
        5 => format!("link set i0 mtu {}", r.pick(MTUS)),
        6 => format!("addr add {} dev i0", r.pick(V4_ADDRS)),
        _ => "link del i0".to_string(),
    }
}

fn link_step(r: &mut Rng) -> Step {
    let dev = r.pick(LINKS);
    if r.chance(6) {
        return words(&ifb_step(r));
    }
    if r.chance(12) {
        return words(&veth_step(r));
    }
    if r.chance(8) {
        return words(&vxlan_step(r));
    }
    if r.chance(8) {
        return words(&macvlan_step(r));
    }
    if r.chance(20) {
        return words(&master_step(r, dev));
    }
    let s = match r.below(10) {
        0 | 1 => {
            let name = r.pick(NEW_NAMES);
            let mut s = format!("link add {name}");
            if r.chance(50) {
                s.push_str(&format!(" address {}", r.pick(&MACS[..2])));
            }
            if r.chance(20) {
                s.push_str(&format!(" mtu {}", r.pick(MTUS)));
            }
            s.push_str(" type bridge");
            s
        }
        2 | 3 => format!("link set {dev} up"),
        4 => format!("link set {dev} down"),
        5 => format!("link set {dev} mtu {}", r.pick(MTUS)),
        6 => format!("link set {dev} address {}", r.pick(MACS)),
        7 => format!("link set {dev} name {}", r.pick(NEW_NAMES)),
        8 => format!("link del {dev}"),
        _ => {
            if r.chance(50) {
                format!("link set {dev} name {}", "a-name-that-is-too-long")
            } else {
                format!("link set {dev} mtu {} up", r.pick(MTUS))
            }
        }
    };
    words(&s)
}

fn addr_step(r: &mut Rng) -> Step {
    let v6 = r.chance(35);
    let dev = r.pick(LINKS);
    let addr = if v6 {
        r.pick(V6_ADDRS)
    } else {
        r.pick(V4_ADDRS)
    };
    let fam = if v6 { "-6 " } else { "" };
    let verb = match r.below(10) {
        0..=4 => "add",
        5 | 6 => "del",
        7 => "replace",
        8 => "change",
        _ => return words(&format!("{fam}addr flush dev {dev}")),
    };
    let mut s = format!("{fam}addr {verb} {addr} dev {dev}");
    if verb != "del" {
        if r.chance(20) {
            s.push_str(&format!(
                " scope {}",
                r.pick(&["host", "link", "global", "site"])
            ));
        }
        if !v6 && r.chance(15) {
            s.push_str(&format!(" label {dev}:{}", r.below(3)));
        }
        if r.chance(20) {
            s.push_str(&format!(" metric {}", r.pick(&["0", "10", "300"])));
        }
        if !v6 && r.chance(20) {
            s.push_str(" broadcast +");
        }
        if r.chance(15) {
            s.push_str(" noprefixroute");
        }
        if v6 && r.chance(60) {
            s.push_str(" nodad");
        }
    }
    words(&s)
}

fn route_step(r: &mut Rng) -> Step {
    let v6 = r.chance(35);
    let fam = if v6 { "-6 " } else { "" };
    let verb = match r.below(12) {
        0..=4 => "add",
        5 | 6 => "del",
        7 => "replace",
        8 => "append",
        9 => "prepend",
        10 => "change",
        _ => {
            let what = match r.below(3) {
                0 => format!("table {}", r.pick(TABLES)),
                1 => format!("dev {}", r.pick(LINKS)),
                _ => "proto static".to_string(),
            };
            return words(&format!("{fam}route flush {what}"));
        }
    };
    let mut s = format!("{fam}route {verb}");
    let kind = match r.below(14) {
        0 => "blackhole",
        1 => "unreachable",
        2 => "prohibit",
        3 => "throw",
        4 => "local",
        5 if !v6 => "broadcast",
        _ => "",
    };
    if !kind.is_empty() {
        s.push(' ');
        s.push_str(kind);
    }
    s.push(' ');
    s.push_str(if v6 { r.pick(V6_DSTS) } else { r.pick(V4_DSTS) });
    let reject = matches!(kind, "blackhole" | "unreachable" | "prohibit" | "throw");
    if !reject && r.chance(12) {
        // Multipath.
        for _ in 0..(2 + r.below(2)) {
            let gw = if v6 { r.pick(V6_GWS) } else { r.pick(V4_GWS) };
            s.push_str(&format!(" nexthop via {gw}"));
            if r.chance(60) {
                s.push_str(&format!(" dev {}", r.pick(LINKS)));
            }
            if !v6 && r.chance(30) {
                s.push_str(&format!(" weight {}", 1 + r.below(3)));
            }
        }
    } else if !reject {
        if r.chance(60) {
            let gw = if v6 { r.pick(V6_GWS) } else { r.pick(V4_GWS) };
            s.push_str(&format!(" via {gw}"));
        }
        if r.chance(70) {
            s.push_str(&format!(" dev {}", r.pick(LINKS)));
        }
        if r.chance(10) {
            s.push_str(" onlink");
        }
    } else if r.chance(20) {
        s.push_str(&format!(" dev {}", r.pick(LINKS)));
    }
    if r.chance(25) {
        s.push_str(&format!(" table {}", r.pick(TABLES)));
    }
    if r.chance(25) {
        s.push_str(&format!(" metric {}", r.pick(&["0", "5", "1024", "100"])));
    }
    if r.chance(12) {
        s.push_str(&format!(" scope {}", r.pick(&["host", "link", "global"])));
    }
    if r.chance(12) {
        s.push_str(&format!(
            " proto {}",
            r.pick(&["static", "kernel", "boot", "99"])
        ));
    }
    if r.chance(10) {
        let src = if v6 {
            r.pick(&["2001:db8::1", "2001:db8::77"])
        } else {
            r.pick(&["10.0.0.1", "10.0.0.77", "127.0.0.1"])
        };
        s.push_str(&format!(" src {src}"));
    }
    if r.chance(12) {
        s.push_str(&format!(" mtu {}", r.pick(&["1300", "1400", "lock 1200"])));
    }
    if r.chance(8) {
        s.push_str(&format!(" hoplimit {}", r.pick(&["5", "64"])));
    }
    if v6 && r.chance(15) {
        s.push_str(&format!(" pref {}", r.pick(&["high", "low", "medium"])));
    }
    words(&s)
}

fn get_step(r: &mut Rng) -> Step {
    let v6 = r.chance(35);
    let (fam, dst) = if v6 {
        ("-6 ", r.pick(V6_TARGETS))
    } else {
        ("", r.pick(V4_TARGETS))
    };
    let mut s = format!("{fam}route get {dst}");
    if r.chance(25) {
        s.push_str(&format!(" oif {}", r.pick(LINKS)));
    }
    if r.chance(15) {
        s.push_str(&format!(" mark {}", r.pick(&["5", "0x10", "0x1f"])));
    }
    words(&s)
}

fn show_step(r: &mut Rng) -> Step {
    words(r.pick(&[
        "addr show",
        "-4 addr show",
        "-6 addr show",
        "link show",
        "route show",
        "route show table all",
        "-6 route show table all",
        "-6 route show",
        "route show table local",
        "-6 link show",
        "-j addr show",
        "-6 route show table 100",
        "route show table 1",
        "nexthop show",
        "-6 nexthop show",
        "nexthop get id 5",
        "netconf show",
        "-6 netconf show dev b0",
        "ntable show",
        "-4 ntable show dev b0",
        "-6 ntable show name ndisc_cache",
        "maddr show",
        "-6 maddr show dev b0",
        "-4 maddr show",
        // The groups without traffic counters.
        "stats show group offload",
        "stats show group afstats",
        "stats show dev b0 group offload subgroup hw_stats_info",
        "addrlabel list",
        "-6 addrlabel list",
    ]))
}

#[test]
fn bridge_ports_come_up_in_generated_sequences() {
    // Of 1,000 sequences, many make a port of `b0` after `b0` exists.
    let mut joins = 0;
    for seed in 0..1000 {
        let steps = sequence(seed, 24);
        let b0 = steps
            .iter()
            .position(|s| s.join(" ").starts_with("link add b0"));
        let join = steps
            .iter()
            .position(|s| s.join(" ").contains(" master b0"));
        if matches!((b0, join), (Some(b), Some(j)) if b < j) {
            joins += 1;
        }
    }
    assert!(joins > 200, "{joins}");
}
