#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs for the nlq fuzz targets.
#
#   fuzz/seed.sh           add the seeds (files already there are kept)
#   fuzz/seed.sh --clean   empty fuzz/corpus/ first
#
# Sources, all relative to this script:
#   ../tests/fixtures/kernel-dumps/*_dump.bin  (records: u32 LE length N, then
#       an N-byte datagram): every datagram seeds `messages`; every message
#       payload (the bytes after the 16-byte nlmsghdr) of type RTM_NEWLINK (16),
#       RTM_NEWADDR (20) or RTM_NEWROUTE (24) seeds link_repr, addr_repr or
#       route_repr (deduplicated, one per attribute layout first, at most
#       MAX_SEEDS per target);
#   a few hand-made messages (neighbours, multipath routes, errors with an
#       extended ACK, DONE) for `messages` and the repr targets;
#   a few structured inputs for `repr_round_trip`;
#   for `server`: hand-made requests of every type (dumps with and without
#       strict-check filters, GETs, creates, changes, deletes, quiet and
#       refused messages), and the first messages of each dump turned into
#       NEW/DEL requests, behind the target's 6-byte option header, alone,
#       in sessions of one datagram each (read wholly or partly between
#       sends), and in one batch datagram;
#   regressions/<target>-*.bin: every saved reproducer seeds its target.
#
# Seeds are named by their SHA-1, as libFuzzer names corpus entries, so the
# script can be run again (e.g. by CI) without duplicating anything.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clean=0
if [[ "${1:-}" == "--clean" ]]; then
    clean=1
fi

exec python3 - "$here" "$clean" <<'PY'
import hashlib
import os
import shutil
import struct
import sys

here, clean = sys.argv[1], sys.argv[2] == "1"
fixtures = os.path.join(here, "..", "tests", "fixtures", "kernel-dumps")
corpus = os.path.join(here, "corpus")
regressions = os.path.join(here, "regressions")
MAX_SEEDS = 200
TARGETS = ["messages", "link_repr", "addr_repr", "route_repr", "neigh_repr", "rule_repr",
           "nexthop_repr", "netconf_repr", "nsid_repr",
           "repr_round_trip",
           "nlinline_replies", "server", "daemon_control", "decode", "proxy_requests",
           "proxy_policy", "server_peers"]
REPR_OF_TYPE = {16: "link_repr", 20: "addr_repr", 24: "route_repr", 28: "neigh_repr"}

if clean and os.path.isdir(corpus):
    shutil.rmtree(corpus)
for t in TARGETS:
    os.makedirs(os.path.join(corpus, t), exist_ok=True)

added = {t: 0 for t in TARGETS}


def put(target, data):
    path = os.path.join(corpus, target, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        added[target] += 1


def datagrams(path):
    with open(path, "rb") as f:
        raw = f.read()
    i = 0
    while i + 4 <= len(raw):
        (n,) = struct.unpack_from("<I", raw, i)
        i += 4
        yield raw[i : i + n]
        i += n


def messages(dgram):
    i = 0
    while i + 16 <= len(dgram):
        (length, kind) = struct.unpack_from("<IH", dgram, i)
        if length < 16 or i + length > len(dgram):
            break
        yield kind, dgram[i + 16 : i + length]
        i += (length + 3) & ~3


def layout(payload, hdr_len):
    """The sequence of top-level attribute types: a seed's shape."""
    kinds, i = [], hdr_len
    while i + 4 <= len(payload):
        (alen, akind) = struct.unpack_from("<HH", payload, i)
        if alen < 4:
            break
        kinds.append(akind)
        i += (alen + 3) & ~3
    return tuple(kinds)


# ---- hand-made messages ----------------------------------------------------

def attr(kind, value):
    a = struct.pack("<HH", 4 + len(value), kind) + value
    return a + b"\0" * (-len(a) % 4)


def msg(kind, flags, body, seq=1):
    m = struct.pack("<IHHII", 16 + len(body), kind, flags, seq, 0) + body
    return m + b"\0" * (-len(m) % 4)


AF_INET, AF_INET6, AF_UNSPEC, AF_BRIDGE = 2, 10, 0, 7
v4 = bytes([10, 0, 0, 2])
v6 = bytes([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1])
mac = bytes([2, 0, 0, 0, 0, 2])


def ndmsg(family, ifindex, state, flags=0, kind=1):
    return struct.pack("<B3xIHBB", family, ifindex, state, flags, kind)


neigh_payloads = [
    # ARP entry: NDA_DST, NDA_LLADDR, NDA_CACHEINFO, NDA_PROBES.
    ndmsg(AF_INET, 2, 0x02) + attr(1, v4) + attr(2, mac)
    + attr(3, struct.pack("<4I", 10, 20, 30, 1)) + attr(4, struct.pack("<I", 0)),
    # Permanent IPv6 neighbour.
    ndmsg(AF_INET6, 3, 0x80) + attr(1, v6) + attr(2, mac),
    # A dump request body (AF_UNSPEC, no attributes).
    ndmsg(AF_UNSPEC, 0, 0),
    # A bridge FDB entry (the repr rejects the family; the views read it).
    ndmsg(AF_BRIDGE, 4, 0x80, 0x02) + attr(2, mac) + attr(5, struct.pack("<H", 10)),
]


def fib_rule_hdr(family, dst_len=0, src_len=0, tos=0, table=254, action=1, flags=0):
    return struct.pack("<8BI", family, dst_len, src_len, tos, table, 0, 0, action, flags)


rule_payloads = [
    # The default main rule, as dumped: table, suppress_prefixlen, protocol,
    # priority.
    fib_rule_hdr(AF_INET) + attr(15, struct.pack("<I", 254))
    + attr(14, struct.pack("<I", 0xFFFFFFFF)) + attr(21, b"\x02")
    + attr(6, struct.pack("<I", 32766)),
    # Selectors of every kind, an inverted IPv4 rule to table 1000.
    fib_rule_hdr(AF_INET, 24, 8, 0x10, 252, 1, 2) + attr(15, struct.pack("<I", 1000))
    + attr(3, b"v0\0") + attr(17, b"nosuch\0") + attr(6, struct.pack("<I", 100))
    + attr(10, struct.pack("<I", 16)) + attr(16, struct.pack("<I", 255))
    + attr(12, struct.pack(">Q", 7)) + attr(20, struct.pack("<II", 100, 200))
    + attr(23, struct.pack("<HH", 1000, 2000)) + attr(24, struct.pack("<HH", 80, 80))
    + attr(29, struct.pack("<H", 0xFFFF)) + attr(22, b"\x06") + attr(13, struct.pack("<I", 3))
    + attr(1, bytes([192, 168, 1, 0])) + attr(2, bytes([10, 0, 0, 0]))
    + attr(11, struct.pack("<I", 0x10002)),
    # IPv6: DSCP, flow label, prefixes; a goto; a dump request body.
    fib_rule_hdr(AF_INET6, 64, 48, 0, 0, 2) + attr(4, struct.pack("<I", 300))
    + attr(25, b"\x2e") + attr(30, b"\x3f") + attr(26, struct.pack(">I", 0x12345))
    + attr(27, struct.pack(">I", 0xFFFFF)) + attr(1, v6) + attr(2, v6),
    fib_rule_hdr(AF_UNSPEC, table=0, action=0),
]


def rtmsg(family, dst_len, table=254, kind=1):
    return struct.pack("<8BI", family, dst_len, 0, 0, table, 3, 0, kind, 0)


def rtnh(ifindex, attrs, hops=0, flags=0):
    return struct.pack("<HBBI", 8 + len(attrs), flags, hops, ifindex) + attrs


route_payloads = [
    # Multipath IPv4 route with metrics (MTU, cc algo) and a via next hop.
    rtmsg(AF_INET, 24) + attr(15, struct.pack("<I", 254)) + attr(1, bytes([10, 1, 0, 0]))
    + attr(8, attr(2, struct.pack("<I", 1500)) + attr(16, b"cubic\0"))
    + attr(9, rtnh(2, attr(5, bytes([10, 0, 0, 1])))
           + rtnh(3, attr(18, struct.pack("<H", AF_INET6) + v6), hops=1))
    + attr(23, struct.pack("<I", 300)),
    # IPv6 route with a gateway, preference, priority, prefsrc.
    rtmsg(AF_INET6, 64) + attr(1, v6) + attr(5, v6) + attr(20, b"\x01")
    + attr(6, struct.pack("<I", 1024)) + attr(7, v6) + attr(4, struct.pack("<I", 2)),
    # Multicast route with a u64 RTA_EXPIRES.
    rtmsg(AF_INET, 32, kind=5) + attr(1, bytes([239, 1, 1, 1]))
    + attr(23, struct.pack("<Q", 1 << 33)),
]


def ifaddrmsg(family, prefix, index):
    return struct.pack("<4BI", family, prefix, 0, 0, index)


addr_payloads = [
    ifaddrmsg(AF_INET6, 64, 2) + attr(1, v6) + attr(2, v6) + attr(5, v6)
    + attr(6, struct.pack("<4I", 1, 2, 3, 4)) + attr(8, struct.pack("<I", 0x280)),
    ifaddrmsg(AF_INET, 24, 2) + attr(2, v4) + attr(1, v4) + attr(4, bytes([10, 0, 0, 255]))
    + attr(3, b"eth0:1\0"),
]


def ifinfomsg(index, flags=0x1043):
    return struct.pack("<BxHIII", 0, 1, index, flags, 0)


NESTED = 0x8000
link_payloads = [
    # A VLAN port of a bridge: linkinfo with data and slave data, af_spec.
    ifinfomsg(5) + attr(3, b"vlan5\0") + attr(4, struct.pack("<I", 1500)) + attr(1, mac)
    + attr(18, attr(1, b"vlan\0") + attr(2 | NESTED, attr(1, struct.pack("<H", 5)))
           + attr(4, b"bridge\0") + attr(5 | NESTED, attr(1, b"\x03")))
    + attr(26 | NESTED, attr(AF_INET | NESTED, attr(1 | NESTED, attr(1, struct.pack("<I", 1)))))
    + attr(7, bytes(96)) + attr(23, bytes(200)) + attr(20, b"uplink\0"),
]

ext_ack = attr(1, b"invalid prefix\0") + attr(2, struct.pack("<I", 24)) + attr(3, b"\x01\x02\x03\x04")
req = msg(20, 0x605, ifaddrmsg(AF_INET, 33, 2) + attr(2, v4))
control_dgrams = [
    # An error echoing the whole request, with an extended ACK.
    msg(2, 0x200, struct.pack("<i", -22) + req + ext_ack),
    # A capped error, an ACK, and a DONE with an extended ACK.
    msg(2, 0x300, struct.pack("<i", -17) + req[:16] + attr(1, b"exists\0"))
    + msg(2, 0x100, struct.pack("<i", 0) + req[:16])
    + msg(3, 0x202, struct.pack("<i", -5) + attr(1, b"dump failed\0")),
    # NOOP and OVERRUN, and an unknown type.
    msg(1, 0, b"") + msg(4, 0, b"") + msg(0x40, 0, b"\x01\x02"),
]

# ---- messages: every datagram, and the hand-made ones -------------------------

family_payloads = {t: [] for t in ("link_repr", "addr_repr", "route_repr")}
for name in sorted(os.listdir(fixtures)):
    if not name.endswith(".bin"):
        continue
    for dgram in datagrams(os.path.join(fixtures, name)):
        put("messages", dgram)
        for kind, payload in messages(dgram):
            target = REPR_OF_TYPE.get(kind)
            if target in family_payloads:
                family_payloads[target].append(payload)

for d in control_dgrams:
    put("messages", d)
for kind, payloads in ((28, neigh_payloads), (24, route_payloads), (20, addr_payloads),
                       (16, link_payloads)):
    put("messages", b"".join(msg(kind, 0x2, p, seq=i) for i, p in enumerate(payloads)))
    for p in payloads:
        put("messages", msg(kind, 0, p))

# ---- *_repr: one payload per attribute layout first, then spread out --------

HDR_LEN = {"link_repr": 16, "addr_repr": 8, "route_repr": 12}
for target, payloads in family_payloads.items():
    unique = list(dict.fromkeys(payloads))  # dedupe, keep order
    chosen, shapes = [], set()
    for p in unique:
        s = layout(p, HDR_LEN[target])
        if s not in shapes:
            shapes.add(s)
            chosen.append(p)
    taken = set(chosen)
    rest = [p for p in unique if p not in taken]
    room = max(0, MAX_SEEDS - len(chosen))
    if rest and room:
        step = max(1, len(rest) // room)
        chosen += rest[::step][:room]
    for p in chosen[:MAX_SEEDS]:
        put(target, p)

# Nexthops: a gateway on a link, a blackhole, a group of two, a dump filter.
nexthop_payloads = [
    struct.pack("<BBBBI", AF_INET, 0, 4, 0, 0) + attr(1, struct.pack("<I", 5))
    + attr(5, struct.pack("<I", 2)) + attr(6, v4),
    struct.pack("<BBBBI", AF_UNSPEC, 0, 4, 0, 0) + attr(1, struct.pack("<I", 1)) + attr(4, b""),
    struct.pack("<BBBBI", AF_UNSPEC, 0, 4, 0, 0) + attr(1, struct.pack("<I", 10))
    + attr(3, struct.pack("<H", 0)) + attr(2, struct.pack("<IBBH", 5, 0, 0, 0)
                                           + struct.pack("<IBBH", 6, 43, 1, 0)),
    struct.pack("<BBBBI", AF_INET6, 0, 0, 0, 0) + attr(9, b"") + attr(10, struct.pack("<I", 3)),
]

# Netconf (IPv4 of a link, IPv6 of all links) and namespace ids.
netconf_payloads = [
    struct.pack("<Bxxx", AF_INET) + b"".join(attr(k, struct.pack("<i", v))
                                            for k, v in ((1, 2), (2, 0), (3, 0), (4, 0), (8, 0), (5, 0), (6, 0))),
    struct.pack("<Bxxx", AF_INET6) + attr(1, struct.pack("<i", -1)) + attr(2, struct.pack("<i", 1)),
    struct.pack("<Bxxx", AF_INET) + attr(1, struct.pack("<i", 3)),
]
nsid_payloads = [
    struct.pack("<Bxxx", AF_UNSPEC) + attr(1, struct.pack("<i", -1)),
    struct.pack("<Bxxx", AF_UNSPEC) + attr(1, struct.pack("<i", 4)) + attr(5, struct.pack("<i", 2)),
    struct.pack("<Bxxx", AF_UNSPEC) + attr(2, struct.pack("<I", 1)),
]

for target, payloads in (("neigh_repr", neigh_payloads), ("rule_repr", rule_payloads),
                         ("nexthop_repr", nexthop_payloads),
                         ("netconf_repr", netconf_payloads), ("nsid_repr", nsid_payloads),
                         ("route_repr", route_payloads),
                         ("addr_repr", addr_payloads), ("link_repr", link_payloads)):
    for p in payloads:
        put(target, p)

# ---- repr_round_trip: the cursor's choices ---------------------------------
# First byte picks the repr (0 addr, 1 route, 2 neigh, 3 link); later bytes
# are read as flags and values: 0x01 makes every optional field present with
# the IPv4 family, 0x04 with IPv6, 0x00 gives a bare AF_INET header.
for kind in range(4):
    put("repr_round_trip", bytes([kind]))
    for fill in (0x01, 0x04, 0x06, 0x07, 0x55, 0xFF):
        put("repr_round_trip", bytes([kind]) + bytes([fill]) * 160)
    put("repr_round_trip", bytes([kind]) + bytes(range(256)))

# ---- nlinline_replies: a helper choice, then answer datagrams -----------------
# First byte picks the helper (see the target); then each answer is a u16 LE
# length (top bit: leave seq and port as they are) and that many bytes.
def answers(pick, dgrams):
    out = bytes([pick])
    for d in dgrams:
        d = d[:0x7FFF]
        out += struct.pack("<H", len(d)) + d
    return out

dumps = {"link_dump.bin": 2, "addr_dump.bin": 3, "route_dump.bin": 4}
for name, pick in dumps.items():
    dg = list(datagrams(os.path.join(fixtures, name)))
    put("nlinline_replies", answers(pick, dg[:1] + dg[-1:]))
    put("nlinline_replies", answers(pick, dg[-1:]))
for pick in range(8):
    put("nlinline_replies", answers(pick, control_dgrams))

# ---- server: an option header, then datagrams of requests ---------------------
# Header (see fuzz_targets/server.rs): option bits, the base reader size
# (u16 LE, 0 = 64 KiB), the monitor's reader size, the requester's and the
# monitor's receive buffer, partial reads; then each datagram is a
# reader-size byte, a u16 LE length and the bytes. The target rewrites every
# seq itself.
REQ, ACK, ECHO, DUMPF = 0x1, 0x4, 0x8, 0x300
REPLACE, EXCL, CREATE, APPEND = 0x100, 0x200, 0x400, 0x800


def server_input(opts, dgrams, reader=0, mon=0, rcv=0, mon_rcv=0, reads=None):
    partial = 0 if reads is None else 1 | reads << 1
    out = bytes([opts]) + struct.pack("<H", reader) + bytes([mon, rcv, mon_rcv, partial])
    for code, d in dgrams:
        d = d[:0xFFFF]
        out += bytes([code]) + struct.pack("<H", len(d)) + d
    return out


def ifi(index, flags=0, change=0, family=AF_UNSPEC):
    return struct.pack("<BxHiII", family, 0, index, flags, change)


def rtm(family, dst_len, table=254, protocol=3, scope=0, kind=1, flags=0):
    return struct.pack("<8BI", family, dst_len, 0, 0, table, protocol, scope, kind, flags)


def u32(v):
    return struct.pack("<I", v)


def ip4(*b):
    return bytes(b)


def ip6(prefix, last):
    return bytes(prefix) + bytes(15 - len(prefix)) + bytes([last])


db8 = [0x20, 0x01, 0x0D, 0xB8]
linkinfo = lambda kind: attr(18 | NESTED, attr(1, kind))
requests = [
    # Dumps: bare, 1-byte bodies, strict-check filters, extended-ACK masks.
    msg(18, REQ | DUMPF, ifi(0)),
    msg(18, REQ | DUMPF, b"\x00"),
    msg(18, REQ | DUMPF, ifi(0) + attr(29, u32(1)) + linkinfo(b"dummy\0")),
    msg(18, REQ | DUMPF, ifi(0) + attr(10, u32(6))),
    msg(22, REQ | DUMPF, ifaddrmsg(AF_UNSPEC, 0, 0)),
    msg(22, REQ | DUMPF, ifaddrmsg(AF_INET6, 0, 2)),
    msg(22, REQ | DUMPF, b"\x02"),
    msg(26, REQ | DUMPF, rtm(AF_UNSPEC, 0, 0, 0, 0, 0)),
    msg(26, REQ | DUMPF, rtm(AF_INET, 0, 0, 0, 0, 0) + attr(15, u32(100))),
    msg(26, REQ | DUMPF, rtm(AF_INET6, 0, 0, 0, 0, 0) + attr(4, u32(2))),
    msg(26, REQ | DUMPF, rtm(AF_INET, 0, 0, 0, 0, 0, flags=0x200)),
    msg(30, REQ | DUMPF, ndmsg(AF_UNSPEC, 0, 0, kind=0)),
    # GETs of one object.
    msg(18, REQ | ACK, ifi(2)),
    msg(18, REQ, ifi(0) + attr(3, b"tap0\0")),
    msg(18, REQ | ACK, ifi(42)),
    msg(22, REQ | ACK, ifaddrmsg(AF_INET6, 64, 0) + attr(1, ip6(db8, 1))),
    msg(22, REQ, ifaddrmsg(AF_INET, 24, 2) + attr(2, ip4(10, 0, 0, 1))),
    msg(26, REQ | ACK, rtm(AF_INET, 32) + attr(1, ip4(10, 2, 3, 4))),
    msg(26, REQ, rtm(AF_INET6, 128) + attr(1, ip6(db8 + [0, 1], 7))),
    # Links: create (named, by pattern, unknown kind), change, delete.
    msg(16, REQ | ACK | CREATE | EXCL, ifi(0, 1, 1) + attr(3, b"dummy9\0") + linkinfo(b"dummy\0")),
    msg(16, REQ | ACK | CREATE | EXCL, ifi(0) + attr(3, b"br%d\0") + attr(4, u32(1400))
        + linkinfo(b"bridge\0")),
    msg(16, REQ | ACK | ECHO | CREATE, ifi(0) + linkinfo(b"tap\0") + attr(1, mac)),
    msg(16, REQ | ACK | CREATE, ifi(0) + attr(3, b"v0\0") + linkinfo(b"veth\0")),
    msg(16, REQ | ACK, ifi(2) + attr(4, u32(9000))),
    msg(19, REQ | ACK, ifi(3, 0, 1)),
    msg(19, REQ | ACK | ECHO, ifi(7, 1, 1) + attr(4, u32(1280)) + attr(20, b"uplink\0")),
    msg(19, REQ | ACK, ifi(4) + attr(3, b"renamed\0") + attr(13, u32(500)) + attr(27, u32(3))),
    msg(19, REQ | ACK, ifi(0) + attr(3, b"dummy1\0") + attr(1, bytes([1, 0, 0, 0, 0, 1]))),
    msg(17, REQ | ACK, ifi(7)),
    msg(17, REQ | ACK | ECHO, ifi(0) + attr(3, b"dummy1\0")),
    msg(17, REQ, ifi(1)),
    # Addresses: add, replace, IPv6, delete, bad prefix.
    msg(20, REQ | ACK | CREATE | EXCL, ifaddrmsg(AF_INET, 24, 4) + attr(2, ip4(10, 9, 0, 1))
        + attr(1, ip4(10, 9, 0, 1)) + attr(4, ip4(10, 9, 0, 255)) + attr(3, b"dummy2:x\0")),
    msg(20, REQ | ACK | CREATE | REPLACE, ifaddrmsg(AF_INET, 24, 2) + attr(2, ip4(10, 0, 0, 1))
        + attr(8, u32(0x80))),
    msg(20, REQ | ACK | ECHO | CREATE, ifaddrmsg(AF_INET6, 64, 4) + attr(1, ip6([0xFD, 0, 0, 9], 1))
        + attr(6, struct.pack("<4I", 600, 3600, 0, 0))),
    msg(20, REQ | ACK | CREATE, ifaddrmsg(AF_INET, 33, 2) + attr(2, v4)),
    msg(21, REQ | ACK, ifaddrmsg(AF_INET, 24, 2) + attr(2, ip4(10, 0, 0, 3))),
    msg(21, REQ | ACK | ECHO, ifaddrmsg(AF_INET6, 64, 2) + attr(1, ip6(db8, 1))),
    msg(21, REQ | ACK, ifaddrmsg(AF_INET, 0, 3)),
    # Routes: add with gateway / device, replace, append, IPv6, multipath,
    # another table; delete; an invalid type.
    msg(24, REQ | ACK | CREATE | EXCL, rtm(AF_INET, 16) + attr(1, ip4(10, 7, 0, 0))
        + attr(5, ip4(10, 0, 0, 254))),
    msg(24, REQ | ACK | ECHO | CREATE | REPLACE, rtm(AF_INET, 16) + attr(1, ip4(10, 2, 0, 0))
        + attr(4, u32(3)) + attr(6, u32(10))),
    msg(24, REQ | ACK | CREATE | APPEND, rtm(AF_INET, 16) + attr(1, ip4(10, 2, 0, 0))
        + attr(5, ip4(10, 1, 0, 254))),
    msg(24, REQ | ACK | CREATE, rtm(AF_INET6, 64) + attr(1, ip6(db8 + [0, 5], 0)) + attr(4, u32(2))
        + attr(8, attr(2, u32(1400)))),
    msg(24, REQ | ACK | CREATE, rtm(AF_INET, 24, table=0) + attr(15, u32(200)) + attr(1, ip4(10, 8, 1, 0))
        + attr(4, u32(8))),
    msg(24, REQ | ACK | CREATE, route_payloads[0]),
    msg(24, REQ | ACK | CREATE, rtm(AF_INET, 16, kind=20) + attr(1, ip4(10, 9, 0, 0))),
    msg(25, REQ | ACK, rtm(AF_INET, 16) + attr(1, ip4(10, 2, 0, 0))),
    msg(25, REQ | ACK | ECHO, rtm(AF_INET, 0) + attr(5, ip4(10, 0, 0, 254))),
    msg(25, REQ | ACK, rtm(AF_INET6, 48) + attr(1, ip6(db8 + [0, 1], 0))),
    # Quiet and refused ones: NOOP, a reply type, no family byte, an unknown
    # dump.
    msg(1, REQ | ACK, b""),
    msg(16, ACK, ifi(0)),
    msg(18, REQ | ACK | DUMPF, b""),
    msg(34, REQ | ACK | DUMPF, b"\0" * 4),
    # Neighbours: add, replace, get, delete; a short address.
    msg(28, REQ | ACK | CREATE, neigh_payloads[0]),
    msg(28, REQ | ACK | CREATE | REPLACE, neigh_payloads[0]),
    msg(30, REQ | ACK, struct.pack("<BxxxiHBB", 2, 2, 0, 0, 0) + attr(1, ip4(10, 0, 0, 2))),
    msg(29, REQ | ACK, struct.pack("<BxxxiHBB", 2, 2, 0, 0, 0) + attr(1, ip4(10, 0, 0, 2))),
    msg(28, REQ | ACK | CREATE, struct.pack("<BxxxiHBB", 2, 2, 0x80, 0, 0) + attr(1, b"\x0a\x00")),
    msg(99, REQ, b"\1\2\3\4"),
    # Nexthop objects on `lo` (up first): a link, a blackhole, a group,
    # a route through the group, a replace, GETs, dumps with filters, deletes.
    msg(19, REQ | ACK, ifi(1, 1, 1)),
    msg(104, REQ | ACK | CREATE | EXCL, struct.pack("<BBBBI", AF_INET, 0, 0, 0, 0)
        + attr(1, u32(5)) + attr(5, u32(1))),
    msg(104, REQ | ACK | CREATE | EXCL, struct.pack("<BBBBI", AF_INET, 0, 0, 0, 0)
        + attr(1, u32(6)) + attr(4, b"")),
    msg(104, REQ | ACK | CREATE, struct.pack("<BBBBI", AF_INET6, 0, 0, 0, 0) + attr(5, u32(1))),
    msg(104, REQ | ACK | CREATE | EXCL, struct.pack("<BBBBI", AF_UNSPEC, 0, 0, 0, 0)
        + attr(1, u32(7)) + attr(2, struct.pack("<IBBH", 5, 0, 0, 0) + struct.pack("<IBBH", 1, 2, 0, 0))),
    msg(24, REQ | ACK | CREATE | EXCL, rtm(AF_INET, 16) + attr(1, ip4(10, 6, 0, 0)) + attr(30, u32(7))),
    msg(24, REQ | ACK | CREATE | EXCL, rtm(AF_INET6, 48) + attr(1, ip6(db8 + [0, 6], 0)) + attr(30, u32(1))),
    msg(104, REQ | ACK | CREATE | REPLACE, struct.pack("<BBBBI", AF_INET, 0, 0, 0, 0)
        + attr(1, u32(5)) + attr(5, u32(1)) + attr(6, ip4(127, 0, 0, 2))),
    msg(106, REQ | ACK, struct.pack("<BBBBI", 0, 0, 0, 0, 0) + attr(1, u32(7))),
    msg(106, REQ | DUMPF, struct.pack("<BBBBI", 0, 0, 0, 0, 0) + attr(5, u32(1))),
    msg(106, REQ | DUMPF, struct.pack("<BBBBI", 0, 0, 0, 0, 0) + attr(9, b"")),
    msg(105, REQ | ACK | ECHO, struct.pack("<BBBBI", 0, 0, 0, 0, 0) + attr(1, u32(5))),
    msg(105, REQ | ACK, struct.pack("<BBBBI", 0, 0, 0, 0, 0) + attr(1, u32(6))),
]

# The first messages of each dump, as requests that add and that delete.
for name, flags in (("link_dump.bin", REQ | ACK | CREATE), ("addr_dump.bin", REQ | ACK | CREATE | EXCL),
                    ("route_dump.bin", REQ | ACK | CREATE | EXCL)):
    path = os.path.join(fixtures, name)
    if not os.path.exists(path):
        continue
    dg = next(datagrams(path), b"")
    for kind, payload in list(messages(dg))[:3]:
        requests.append(msg(kind, flags, payload))
        requests.append(msg(kind + 1, REQ | ACK, payload))

# Alone, under the default options and under all of EXT_ACK, CAP_ACK, strict
# checking and a monitor.
for r in requests:
    put("server", server_input(0x00, [(0, r)]))
    put("server", server_input(0x0F, [(0, r)]))
# Sessions: every request in its own datagram, under option sets (strict,
# groups, no admin, a small receive buffer, NO_ENOBUFS) and reader sizes
# (tiny, 512 bytes, 64 KiB).
codes = [0, 64, 128, 130, 255]
session = [(codes[i % len(codes)], r) for i, r in enumerate(requests)]
for opts, reader, rcv in ((0x00, 0, 0), (0x07, 4096, 0), (0x1F, 32768, 0), (0x2B, 0, 0),
                          (0x4B, 256, 4), (0xC9, 8192, 16)):
    put("server", server_input(opts, session, reader=reader, mon=15, rcv=rcv, mon_rcv=4))
# Sessions read partly between sends (0 to 3 datagrams after each).
for reads in range(4):
    put("server", server_input(0x0B, session, reader=4096, mon=15, reads=reads))
# One batch datagram of every request.
put("server", server_input(0x0B, [(0, b"".join(requests))]))
put("server", server_input(0x0B, [(200, b"".join(r for r in requests if r[4] in (18, 22, 26)))]))

# ---- daemon_control: an option byte, then control datagrams -------------------
# Option bits (see fuzz_targets/daemon_control.rs): 0x01 the peer may change
# the stack, 0x02 the socket connections joined every group. Each datagram is
# a u16 LE length and an nlq::remote::Request (native endian: little here);
# cookies 1 and 2 name the two socket connections.
def ctl_input(opts, reqs):
    return bytes([opts]) + b"".join(struct.pack("<H", len(r)) + r for r in reqs)


def ifreq_bytes(name, value=0):
    return name.encode()[:15].ljust(16, b"\0") + struct.pack("<i", value).ljust(24, b"\0")


SOL_NETLINK, SOL_SOCKET = 270, 1
ctl_requests = [
    struct.pack("<IQII", 1, 1, 0, 0x1d8607f5),          # bind, ip monitor's groups
    struct.pack("<IQII", 1, 2, 4242, 0),                # bind to a port
    struct.pack("<IQ", 2, 1),                           # getsockname
    struct.pack("<IQ", 2, 99),                          # an unknown cookie
    struct.pack("<IQiiI", 3, 1, SOL_NETLINK, 1, 5),     # ADD_MEMBERSHIP 5
    struct.pack("<IQiiI", 3, 1, SOL_NETLINK, 2, 5),     # DROP_MEMBERSHIP 5
    struct.pack("<IQiiI", 3, 1, SOL_NETLINK, 11, 1),    # EXT_ACK
    struct.pack("<IQiiI", 3, 1, SOL_NETLINK, 3, 1),     # PKTINFO (accepted, ignored)
    struct.pack("<IQiiI", 3, 2, SOL_SOCKET, 8, 1 << 20),   # SO_RCVBUF
    struct.pack("<IQiiI", 3, 2, SOL_SOCKET, 33, 1 << 22),  # SO_RCVBUFFORCE
    struct.pack("<IQii", 4, 1, SOL_NETLINK, 9),         # LIST_MEMBERSHIPS
    struct.pack("<IQii", 4, 2, SOL_SOCKET, 8),          # SO_RCVBUF
    struct.pack("<IQI", 5, 1, 32768),                   # reader size
    struct.pack("<II", 6, 0x8933) + ifreq_bytes("br0"),           # SIOCGIFINDEX
    struct.pack("<II", 6, 0x8913) + ifreq_bytes("lo"),            # SIOCGIFFLAGS
    struct.pack("<II", 6, 0x8922) + ifreq_bytes("br0", 1400),     # SIOCSIFMTU
    struct.pack("<II", 6, 0x8914) + ifreq_bytes("d0", 0),         # SIOCSIFFLAGS down
    struct.pack("<II", 6, 0x8915) + ifreq_bytes("br0:1"),         # SIOCGIFADDR of an alias
    struct.pack("<III", 7, 0, 0),                       # SIOCGIFCONF, NULL buffer
    struct.pack("<III", 7, 1, 80),                      # SIOCGIFCONF, two records
    struct.pack("<I", 8),                               # getifaddrs
    struct.pack("<I", 9),                               # if_nameindex
    struct.pack("<I", 10),                              # /proc/net/dev
]
for r in ctl_requests:
    put("daemon_control", ctl_input(0x01, [r]))
    put("daemon_control", ctl_input(0x00, [r]))
put("daemon_control", ctl_input(0x03, ctl_requests))
put("daemon_control", ctl_input(0x00, ctl_requests))
put("daemon_control", ctl_input(0x01, [b"", b"\x01\x02\x03", struct.pack("<I", 99)]))

# ---- decode: captures of the kernel dumps in every format ---------------------
# Raw record files (the fixtures, cut short), raw datagrams, pcap files
# (both byte orders, µs and ns magics, link types 253, 113 and 276), hex text
# (plain, xxd and hexdump -C styles), and a state file.
def pcap_file(packets, big=False, nanos=False, linktype=253):
    e = ">" if big else "<"
    out = struct.pack(e + "IHHiIII", 0xa1b23c4d if nanos else 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype)
    for i, p in enumerate(packets):
        if linktype == 276:
            hdr = struct.pack(">HHIHBB8s", 0, 0, 7, 824, 4, 0, b"")
        else:
            hdr = struct.pack(">HH10sH", 4, 824, b"", 0)
        body = hdr + p
        out += struct.pack(e + "IIII", i, 0, len(body), len(body)) + body
    return out


def xxd(b):
    lines = []
    for off in range(0, len(b), 16):
        chunk = b[off:off + 16]
        groups = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(c) if 33 <= c < 127 else "." for c in chunk)
        lines.append(f"{off:08x}: {groups:<39}  {text}")
    return ("\n".join(lines) + "\n").encode()


def hexdump_c(b):
    lines = []
    for off in range(0, len(b), 16):
        chunk = b[off:off + 16]
        text = "".join(chr(c) if 33 <= c < 127 else "." for c in chunk)
        lines.append(f"{off:08x}  {' '.join(f'{c:02x}' for c in chunk):<48} |{text}|")
    return ("\n".join(lines) + "\n").encode()


def fnv1a(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


for name in ("link_dump.bin", "addr_dump.bin", "route_dump.bin"):
    path = os.path.join(fixtures, name)
    with open(path, "rb") as f:
        whole = f.read()
    put("decode", whole[:20000])
    dg = list(datagrams(path))
    small = [d[:2000] for d in dg[:3]]
    put("decode", dg[0][:4000])
    for big, nanos, lt in ((False, False, 253), (True, True, 253), (False, True, 113), (False, False, 276)):
        put("decode", pcap_file(small, big, nanos, lt))
    put("decode", small[0].hex().encode())
    put("decode", b"\n\n".join(d[:300].hex(" ").encode() for d in small))
    put("decode", xxd(small[0][:600]))
    put("decode", hexdump_c(small[0][:600]))
    put("decode", ", ".join(f"0x{c:02x}" for c in small[0][:200]).encode())
# A state file: header, `ip link add d0 type dummy`, trailer.
head = msg(1, 0, b"nlq-state\0\0\0" + struct.pack("<I", 1), seq=0)
link = msg(16, 0x605, ifinfomsg(0, 0) + attr(3, b"d0\0") + attr(18, attr(1, b"dummy")), seq=1)
body = head + link
put("decode", body + msg(1, 0, b"nlq-end\0" + struct.pack("<IIQ", 1, 0, fnv1a(body)), seq=0))

# ---- proxy_requests: an option byte, then one datagram of requests ----------
# Option bits (see fuzz_targets/proxy_requests.rs): 0x01 a view, 0x02 ACK
# options. Each hand-made request alone, and all of them in one datagram.
for opts in (0, 1, 3):
    for r in requests:
        put("proxy_requests", bytes([opts]) + r)
    put("proxy_requests", bytes([opts]) + b"".join(requests))

# ---- proxy_policy: policy files ------------------------------------------------
put("proxy_policy", b"""[defaults]
changes = "deny"
reads = "allow"

[limits]
requests_per_second = 100
burst = 200

[[rule]]
name = "tenant-view"
uid = [1000]
interfaces = ["!tap*", "!lo"]
action = "hide"

[[rule]]
name = "tables"
uid = [1000]
from = "main"
to = 100
action = "map-table"

[[rule]]
name = "names"
gid = [1000]
prefix = "t1-"
action = "prefix-names"

[[rule]]
name = "tenant-addresses"
uid = [1000]
ops = ["address:new", "address:delete", "route:*", "*:get"]
interfaces = ["tap*"]
ifindex = [3]
prefixes = ["10.1.0.0/16", "fd00::/8", "10.0.0.1"]
tables = [100, "main"]
kinds = ["veth", "!bridge"]
flags = ["create", "replace"]
carries = ["IFA_LOCAL", "RTA_GATEWAY"]
action = "allow"

[[rule]]
name = "audit"
action = "log"
""")
put("proxy_policy", b"[[rule]]\nname = \"x\"\naction = \"permit\"\n")

# ---- server_peers: (sender, port, groups, length) headers, then datagrams -----
def peer_record(sender, port, groups, datagram):
    return bytes([sender, port]) + struct.pack("<I", groups) + bytes([len(datagram)]) + datagram

getlink = struct.pack("<IHHII", 32, 18, 0x5, 7, 0) + bytes(16)
put("server_peers", peer_record(1, 0, 1, getlink) + peer_record(0, 2, 0, getlink))
put("server_peers", b"".join(peer_record(s, p, g, getlink)
                             for s in range(4) for p in (0, 2, 4, 9) for g in (0, 1, 6)))
put("server_peers", peer_record(2, 0, 1, b"") + peer_record(3, 1, 0, getlink[:20]))

# ---- saved reproducers -------------------------------------------------------
if os.path.isdir(regressions):
    for name in sorted(os.listdir(regressions)):
        target = name.rsplit("-", 1)[0]
        if name.endswith(".bin") and target in added:
            with open(os.path.join(regressions, name), "rb") as f:
                put(target, f.read())

for t in TARGETS:
    n = len(os.listdir(os.path.join(corpus, t)))
    print(f"{t}: {added[t]} added, {n} in corpus/{t}")
PY
