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
TARGETS = ["messages", "link_repr", "addr_repr", "route_repr", "neigh_repr", "repr_round_trip",
           "nlinline_replies"]
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

for target, payloads in (("neigh_repr", neigh_payloads), ("route_repr", route_payloads),
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
