//! Unmodified programs against a user-space stack: iproute2's `ip`,
//! net-tools' `ifconfig`, a C program using glibc's `getifaddrs` and
//! `if_nametoindex`, and a pyroute2 script run once on a fresh kernel
//! network namespace and once through `nlq exec` (the preload shim and a
//! daemon serving the in-memory stack). Their outputs, normalised, must be
//! equal, and so must their exit statuses.
//!
//! Normalising keeps, of `ip -j` output, the keys listed below (links:
//! name, index, flags, MTU, type, addresses; routes: everything but the
//! cache info), and drops from text output the counters (which differ) and
//! the qdisc (the in-memory stack has no queueing disciplines). The
//! monitor test also drops the kernel's neighbour entries for multicast
//! groups, made by its own IGMP reports on timers.

mod harness;

use harness::{both, differences, kernel_prefix, need_program, project, Daemon, Scratch, Step};

/// Link keys compared in `ip -j link`/`addr` output.
const LINK_KEYS: &[&str] = &[
    "ifindex",
    "ifname",
    "flags",
    "mtu",
    "link_type",
    "address",
    "broadcast",
    "addr_info",
    "family",
    "local",
    "prefixlen",
    "scope",
    "label",
    "address",
];

/// Route keys compared in `ip -j route` output.
const ROUTE_KEYS: &[&str] = &[
    "type", "dst", "gateway", "dev", "protocol", "scope", "prefsrc", "metric", "flags", "table",
];

/// JSON steps are projected on the keys above; anything else compares as
/// text.
fn normalise(label: &str, out: &str) -> String {
    let keys = if label.contains("route") {
        ROUTE_KEYS
    } else {
        LINK_KEYS
    };
    match serde_json::from_str::<serde_json::Value>(out) {
        Ok(v) if label.starts_with("json") => project(&v, keys).to_string(),
        // The in-memory stack has no queueing disciplines (no IFLA_QDISC).
        _ => out.trim_end().replace("qdisc noqueue ", ""),
    }
}

/// The configuration both sides get before the checks: a bridge with a
/// fixed MAC (a kernel bridge picks a random one), addresses and routes.
const SETUP: &[Step<'_>] = &[
    ("add bridge", "ip link add br0 type bridge"),
    ("set mac", "ip link set br0 address 02:00:00:00:00:01"),
    ("set mtu", "ip link set br0 mtu 1400"),
    ("set up", "ip link set br0 up"),
    ("lo up", "ip link set lo up"),
    ("add v4", "ip addr add 10.9.0.1/24 dev br0"),
    ("add v4 brd", "ip addr add 10.9.1.1/24 broadcast + dev br0"),
    ("add v6", "ip addr add 2001:db8::1/64 dev br0 nodad"),
    ("route via", "ip route add 10.20.0.0/16 via 10.9.0.254"),
    ("route dev", "ip route add 10.30.0.0/16 dev br0 metric 5"),
    (
        "route v6",
        "ip -6 route add 2001:db8:5::/48 via 2001:db8::fe",
    ),
];

/// Runs `steps` on both sides and compares them; `expect` lists (step,
/// text) pairs the nlq side must print, so that two equally broken runs
/// cannot pass.
fn run_and_compare(test: &str, steps: &[Step<'_>], expect: &[(&str, &str)]) {
    let Some(prefix) = kernel_prefix(test) else {
        return;
    };
    let scratch = Scratch::new(test);
    let daemon = Daemon::start(test);
    let (kernel, nlq) = both(&prefix, &daemon, steps, &scratch.0);
    let diffs = differences(&kernel, &nlq, steps, normalise);
    assert!(
        diffs.is_empty(),
        "{test}: differences\n{}",
        diffs.join("\n")
    );
    for (label, text) in expect {
        let out = nlq.get(*label).map_or("", |o| o.output.as_str());
        assert!(
            out.contains(text),
            "{test}: `{label}` lacks {text:?}: {out}"
        );
    }
}

#[test]
fn ip_shows_and_changes_like_on_the_kernel() {
    if !need_program("ip", "ip", &["-V"]) {
        return;
    }
    let mut steps = SETUP.to_vec();
    steps.extend_from_slice(&[
        ("json links", "ip -j link show"),
        ("json one link", "ip -j link show dev br0"),
        ("json addrs", "ip -j addr show"),
        ("json v6 addrs", "ip -j -6 addr show dev br0"),
        ("json routes", "ip -j route show"),
        ("json v6 routes", "ip -j -6 route show"),
        ("json local routes", "ip -j route show table local"),
        ("json v6 local routes", "ip -j -6 route show table local"),
        ("json route get", "ip -j route get 10.20.1.1"),
        ("json route get v6", "ip -j -6 route get 2001:db8:5::1"),
        ("text routes", "ip route show"),
        ("text addrs", "ip -4 addr show dev br0"),
        ("exists", "ip link add br0 type bridge"),
        ("no such dev", "ip addr add 10.1.1.1/24 dev nosuch0"),
        ("bad gateway", "ip route add 10.40.0.0/16 via 10.99.0.1"),
        ("down", "ip link set br0 down"),
        ("json routes down", "ip -j route show"),
        ("del route", "ip route del 10.30.0.0/16 dev br0 metric 5"),
        ("del v4", "ip addr del 10.9.1.1/24 dev br0"),
        ("json after del", "ip -j addr show dev br0"),
        ("del link", "ip link del br0"),
        ("json links end", "ip -j link show"),
        ("json routes end", "ip -j route show"),
    ]);
    run_and_compare(
        "ip",
        &steps,
        &[
            ("json addrs", "10.9.1.255"),
            ("json v6 routes", "2001:db8:5::/48"),
            ("json route get", "10.9.0.254"),
            ("exists", "File exists"),
            ("json links end", "\"lo\""),
        ],
    );
}

#[test]
fn ip_monitor_hears_changes_made_by_another_client() {
    if !need_program("ip monitor", "ip", &["-V"]) {
        return;
    }
    // The monitor (`all`: every group) runs in the background while a
    // second `ip` changes addresses and routes. It has subscribed once it reports a probe
    // address (added and removed until it does); it has heard everything
    // once it reports the last change. The probe's events (one line each,
    // `-o`) are left out, and so are the kernel's neighbour entries for
    // the multicast groups it sends IGMP reports to (made by its own
    // traffic, on timers: present or not by chance; not modelled).
    // A named network namespace exists meanwhile: `ip monitor` asks its
    // id (RTM_GETNSID) before it listens, and must get an answer.
    let _netns = NamedNetns::add();
    let steps: &[Step<'_>] = &[
        (
            "add bridge",
            "ip link add br0 type bridge && ip link set br0 up",
        ),
        (
            "monitor",
            ": > monitor.out; ip -o -4 monitor all > monitor.out 2> monitor.err & M=$!; \
             i=0; until grep -q 10.9.9.9 monitor.out; do \
               ip addr add 10.9.9.9/32 dev br0 2>/dev/null; ip addr del 10.9.9.9/32 dev br0; \
               i=$((i+1)); [ $i -gt 250 ] && break; sleep 0.02; done; \
             ip addr add 10.9.0.1/24 dev br0; \
             ip route add 10.20.0.0/16 via 10.9.0.254; \
             ip route del 10.20.0.0/16; \
             ip addr del 10.9.0.1/24 dev br0; \
             i=0; until grep -q 'Deleted local 10.9.0.1' monitor.out; do \
               i=$((i+1)); [ $i -gt 250 ] && break; sleep 0.02; done; \
             kill $M; wait $M 2>/dev/null; grep -v -e 10.9.9.9 -e '^\\[NEIGH\\].* 224\\.' monitor.out; \
             cat monitor.err",
        ),
    ];
    run_and_compare(
        "ip_monitor",
        steps,
        &[("monitor", "Deleted 10.20.0.0/16 via 10.9.0.254")],
    );
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NamedNetns(String);

impl NamedNetns {
    /// `None` without root (then the test runs without it).
    fn add() -> Option<Self> {
        if !nlkit_is_root() {
            eprintln!("ip_monitor: without root, no named namespace to answer for");
            return None;
        }
        let name = format!("nlkit-monitor-{}", std::process::id());
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        Some(NamedNetns(name))
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn ifconfig_shows_and_changes_like_on_the_kernel() {
    if !need_program("ifconfig", "ifconfig", &["-a"]) {
        return;
    }
    let mut steps = SETUP.to_vec();
    steps.extend_from_slice(&[
        (
            "list",
            "ifconfig -a | grep -v 'packets\\|errors\\|collisions'",
        ),
        (
            "one",
            "ifconfig br0 | grep -v 'packets\\|errors\\|collisions'",
        ),
        ("set mtu", "ifconfig br0 mtu 1300"),
        ("set addr", "ifconfig br0 10.9.2.1 netmask 255.255.255.0"),
        ("down", "ifconfig br0 down"),
        (
            "after",
            "ifconfig -a | grep -v 'packets\\|errors\\|collisions'",
        ),
        ("json addrs", "ip -j addr show dev br0"),
        ("no such", "ifconfig nosuch0"),
    ]);
    run_and_compare(
        "ifconfig",
        &steps,
        &[("one", "inet 10.9.0.1"), ("json addrs", "10.9.2.1")],
    );
}

/// The C program: glibc's `getifaddrs`, `if_nametoindex`,
/// `if_indextoname` and `if_nameindex`, printed.
const C_PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void show(const char *what, struct sockaddr *sa) {
    char buf[INET6_ADDRSTRLEN] = "-";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    else if (sa)
        snprintf(buf, sizeof buf, "family %d", sa->sa_family);
    printf(" %s=%s", what, buf);
}

int main(void) {
    struct ifaddrs *list, *i;
    if (getifaddrs(&list) != 0) { perror("getifaddrs"); return 1; }
    for (i = list; i; i = i->ifa_next) {
        printf("%s flags=%#x", i->ifa_name, i->ifa_flags);
        show("addr", i->ifa_addr);
        show("mask", i->ifa_netmask);
        if (i->ifa_flags & IFF_BROADCAST) show("brd", i->ifa_broadaddr);
        printf(" data=%s\n", i->ifa_data ? "yes" : "no");
    }
    freeifaddrs(list);
    printf("br0=%u lo=%u\n", if_nametoindex("br0"), if_nametoindex("lo"));
    errno = 0;
    printf("nosuch0=%u errno=%d\n", if_nametoindex("nosuch0"), errno);
    char name[IF_NAMESIZE];
    printf("index1=%s\n", if_indextoname(1, name) ? name : "NULL");
    errno = 0;
    printf("index99=%s errno=%d\n", if_indextoname(99, name) ? name : "NULL", errno);
    struct if_nameindex *ni = if_nameindex(), *p;
    for (p = ni; p && p->if_index; p++) printf("nameindex %u %s\n", p->if_index, p->if_name);
    if_freenameindex(ni);
    return 0;
}
"#;

/// Compiles `source` as `name` in a scratch directory of its own (kept
/// while the returned guard lives); `None` without a C compiler.
fn compile_c(name: &str, source: &str) -> Option<(Scratch, String)> {
    if !need_program(name, "cc", &["--version"]) {
        return None;
    }
    let build = Scratch::new(name);
    let src = build.0.join(format!("{name}.c"));
    let bin = build.0.join(name);
    std::fs::write(&src, source).expect("write the C program");
    let st = std::process::Command::new("cc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(st.success(), "cc failed");
    let run = bin.display().to_string();
    Some((build, run))
}

#[test]
fn a_c_program_sees_what_it_sees_on_the_kernel() {
    let Some((_build, run)) = compile_c("ifaddrs", C_PROGRAM) else {
        return;
    };
    let mut steps = SETUP.to_vec();
    steps.push(("program", &run));
    run_and_compare(
        "c_program",
        &steps,
        &[("program", "br0=2 lo=1"), ("program", "addr=10.9.1.1")],
    );
}

/// A C program whose netlink sockets talk to each other: a datagram sent
/// to a group (and the kernel), to a port, to a port and a group, to a
/// port nobody has, and as a user without `CAP_NET_ADMIN`; what each
/// socket then reads, with the sender's address, `NETLINK_PKTINFO` and
/// `SCM_CREDENTIALS`.
const PEERS_PROGRAM: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

static int open_nl(unsigned groups) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) perror("bind");
    return fd;
}
static unsigned port_of(int fd) {
    struct sockaddr_nl sa; socklen_t l = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return sa.nl_pid;
}
/* An RTM_GETLINK for lo, to (pid, groups); the result or -errno. */
static int send_getlink(int fd, unsigned pid, unsigned groups, unsigned seq) {
    struct { struct nlmsghdr h; struct ifinfomsg i; } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req; req.h.nlmsg_type = RTM_GETLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK; req.h.nlmsg_seq = seq;
    req.i.ifi_family = AF_UNSPEC; req.i.ifi_index = 1;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = pid, .nl_groups = groups };
    int r = sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa);
    return r < 0 ? -errno : r;
}
/* Reads what waits; one line per datagram (sizes only of what a peer sent:
   the kernel's answers are compared elsewhere). */
static void drain(const char *who, int fd, unsigned peer) {
    for (;;) {
        char buf[65536], ctl[256];
        struct sockaddr_nl sa; struct iovec iov = { buf, sizeof buf };
        struct msghdr m = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = ctl, .msg_controllen = sizeof ctl };
        int n = recvmsg(fd, &m, MSG_DONTWAIT);
        if (n < 0) { printf("%s: end errno=%d\n", who, errno); return; }
        struct nlmsghdr *h = (void *)buf;
        printf("%s: type=%u seq=%u from=%s", who, h->nlmsg_type, h->nlmsg_seq,
               sa.nl_pid == 0 ? "kernel" : sa.nl_pid == peer ? "peer" : "other");
        if (sa.nl_pid) printf(" bytes=%d", n);
        printf(" groups=%#x flags=%#x namelen=%u ctl:", sa.nl_groups, m.msg_flags, m.msg_namelen);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_PKTINFO)
                printf(" pktinfo=%u", *(unsigned *)CMSG_DATA(c));
            else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred *u = (void *)CMSG_DATA(c);
                printf(" creds len=%zu pid=%s uid=%u gid=%u", (size_t)c->cmsg_len,
                       u->pid == 0 ? "0" : u->pid == getpid() ? "self" : "?", u->uid, u->gid);
            } else printf(" cmsg %d/%d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        }
        printf("\n");
    }
}
int main(void) {
    int one = 1, v = -1;
    socklen_t vl = sizeof v;
    int a = open_nl(RTMGRP_LINK), b = open_nl(RTMGRP_LINK), c = open_nl(0);
    setsockopt(a, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    getsockopt(a, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    printf("passcred=%d len=%u short=%d\n", v, vl, setsockopt(a, SOL_SOCKET, SO_PASSCRED, &one, 2) < 0 ? errno : 0);
    setsockopt(a, SOL_NETLINK, NETLINK_PKTINFO, &one, sizeof one);
    unsigned pa = port_of(a), pb = port_of(b);
    printf("group and kernel: %d\n", send_getlink(b, 0, RTMGRP_LINK, 7));
    drain("a", a, pb); drain("b", b, pa);
    printf("lowest of three groups: %d\n", send_getlink(b, 0, 0x5, 8));
    drain("a", a, pb); drain("b", b, pa);
    printf("port of a: %d\n", send_getlink(b, pa, 0, 9));
    drain("a", a, pb); drain("b", b, pa);
    printf("port and group of a: %d\n", send_getlink(b, pa, RTMGRP_LINK, 10));
    drain("a", a, pb); drain("b", b, pa);
    printf("port of c from a: %d\n", send_getlink(a, port_of(c), 0, 11));
    drain("c", c, pa); drain("a", a, pb);
    printf("a port nobody has: %d\n", send_getlink(b, 0x7fff1234, 0, 12));
    printf("kernel alone: %d\n", send_getlink(a, 0, 0, 13));
    drain("a", a, pb);
    struct sockaddr_nl to_a = { .nl_family = AF_NETLINK, .nl_pid = pa };
    printf("connect to a: %d\n", connect(c, (struct sockaddr *)&to_a, sizeof to_a));
    struct { struct nlmsghdr h; struct ifinfomsg i; } req = { { sizeof req, RTM_GETLINK, NLM_F_REQUEST, 14, 0 }, { 0 } };
    printf("send on c: %zd\n", send(c, &req, sizeof req, 0));
    drain("a", a, port_of(c)); drain("c", c, pa);
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    printf("disconnect: %d\n", connect(c, &unspec, sizeof unspec));
    int unused = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    unsigned pu = port_of(unused);
    printf("unused socket's port: %u\n", pu);
    printf("to port 0: %d\n", send_getlink(a, pu, 0, 15));
    if (getuid() == 0) {
        fflush(stdout);
        pid_t k = fork();
        if (k == 0) {
            if (setgid(65534) || setuid(65534)) perror("setuid");
            int d = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
            printf("nobody to a group: %d\n", send_getlink(d, 0, RTMGRP_LINK, 16));
            printf("nobody to a port: %d\n", send_getlink(d, pa, 0, 17));
            printf("nobody to the kernel: %d\n", send_getlink(d, 0, 0, 18));
            fflush(stdout);
            _exit(0);
        }
        waitpid(k, 0, 0);
    }
    drain("a", a, pb);
    return 0;
}
"#;

#[test]
fn sockets_reach_each_other_as_on_the_kernel() {
    let Some((_build, run)) = compile_c("peers", PEERS_PROGRAM) else {
        return;
    };
    let steps: Vec<Step<'_>> = vec![("lo up", "ip link set lo up"), ("program", &run)];
    let root = nlkit_is_root();
    let mut expect = vec![
        ("program", "passcred=1 len=4 short=22"),
        (
            "program",
            "a: type=18 seq=7 from=peer bytes=32 groups=0x1 flags=0 namelen=12 ctl: pktinfo=1 creds len=28 pid=self",
        ),
        ("program", "a: type=18 seq=9 from=peer bytes=32 groups=0 flags=0"),
        ("program", "c: type=18 seq=11 from=peer bytes=32 groups=0"),
        ("program", "a port nobody has: -111"),
        ("program", "a: type=16 seq=13 from=kernel groups=0 flags=0 namelen=12 ctl: pktinfo=0 creds len=28 pid=0 uid=0 gid=0"),
        ("program", "a: type=18 seq=14 from=peer"),
        ("program", "unused socket's port: 0\nto port 0: 32"),
    ];
    if root {
        expect.push((
            "program",
            "nobody to a group: -1\nnobody to a port: -1\nnobody to the kernel: 32",
        ));
    }
    run_and_compare("peers_program", &steps, &expect);
}

/// The pyroute2 script: reads links, addresses and routes, changes some,
/// and prints what it reads as sorted JSON.
const PYROUTE2_SCRIPT: &str = r#"
import json, sys
from pyroute2 import IPRoute

def links(ipr):
    return [(l['index'], l.get('ifname'), l.get('mtu'), l['flags'] & 1) for l in ipr.get_links()]

def addrs(ipr):
    return sorted((a['family'], a['index'], a.get('address'), a['prefixlen']) for a in ipr.get_addr())

def routes(ipr, family):
    return [(r['dst_len'], r.get('dst'), r.get('gateway'), r.get('oif'), r['table'], r['proto'])
            for r in ipr.get_routes(family=family)]

with IPRoute() as ipr:
    out = {'links': links(ipr), 'addrs': addrs(ipr), 'routes': routes(ipr, 2)}
    idx = ipr.link_lookup(ifname='br0')[0]
    ipr.link('set', index=idx, mtu=1280)
    ipr.addr('add', index=idx, address='10.9.5.1', prefixlen=24)
    ipr.route('add', dst='10.50.0.0/16', gateway='10.9.5.254')
    try:
        ipr.addr('add', index=idx, address='10.9.5.1', prefixlen=24)
        out['dup'] = 'ok'
    except Exception as e:
        out['dup'] = getattr(e, 'code', str(e))
    out['after'] = {'links': links(ipr), 'addrs': addrs(ipr), 'routes': routes(ipr, 2),
                    'routes6': routes(ipr, 10)}
print(json.dumps(out, sort_keys=True))
"#;

/// The Python with pyroute2 (`NLKIT_PYTHON`, else `python3`).
fn python() -> String {
    std::env::var("NLKIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn a_pyroute2_script_sees_what_it_sees_on_the_kernel() {
    let py = python();
    if !need_program("pyroute2", &py, &["-c", "import pyroute2"]) {
        return;
    }
    let dir = Scratch::new("pyroute2-script");
    let script = dir.0.join("script.py");
    std::fs::write(&script, PYROUTE2_SCRIPT).expect("write the script");
    let cmd = format!("{py} {}", script.display());
    let mut steps = SETUP.to_vec();
    steps.push(("script", &cmd));
    run_and_compare("pyroute2", &steps, &[("script", "10.50.0.0")]);
}

/// pyroute2's IPRoute API at large: links of five kinds made and changed
/// (a bridge port refused while a macvlan holds the link, an ifb's MAC
/// refused), addresses, routes (metrics, replace, tables, multipath,
/// blackhole, refused), a rule, a neighbour, every dump and `route get`,
/// deletes and a flush. The script prints each answer whole, as pyroute2
/// parsed it (every attribute, nested ones too; errors by errno), masking
/// only what differs from run to run (timers, counters, random times, the
/// kernel's own IGMP neighbours): the two outputs must be equal as text.
#[test]
fn pyroute2_api_answers_as_the_kernel_does() {
    let py = python();
    if !need_program("pyroute2", &py, &["-c", "import pyroute2"]) {
        return;
    }
    let dir = Scratch::new("pyroute2-api");
    let script = dir.0.join("api.py");
    std::fs::write(&script, include_str!("pyroute2_api.py")).expect("write the script");
    let cmd = format!("{py} {}", script.display());
    let steps: &[Step<'_>] = &[("api", &cmd)];
    run_and_compare(
        "pyroute2_api",
        steps,
        &[("api", "10.23.0.0"), ("api", "IFLA_INFO_KIND")],
    );
}

/// pyroute2's NDB, its main API: it reads links, addresses, routes and
/// rules at start (EOPNOTSUPP for rules used to kill its event reader and
/// hang `commit()`), then creates, changes and deletes an interface, an
/// address, a route and a policy rule, waiting on each commit for the
/// notification that confirms it.
const NDB_SCRIPT: &str = r#"
import json
from pyroute2 import NDB
with NDB(log='off') as ndb:
    out = {'rules': sorted((r['family'], r['priority'], r['table']) for r in ndb.rules.dump())}
    ndb.interfaces.create(ifname='br9', kind='bridge').set('state', 'up').commit()
    ndb.interfaces['br9'].set('mtu', 1400).commit()
    ndb.interfaces['br9'].add_ip('10.9.9.1/24').commit()
    ndb.routes.create(dst='10.10.0.0/16', gateway='10.9.9.254').commit()
    ndb.rules.create(family=2, priority=100, table=100, src='10.9.0.0', src_len=16).commit()
    idx = ndb.interfaces['br9']['index']
    ndb.neighbours.create(ifindex=idx, dst='10.9.9.2', lladdr='02:00:00:00:00:09', state=128).commit()
    neigh = ndb.neighbours[{'ifindex': idx, 'dst': '10.9.9.2'}]
    out['neighbour'] = [neigh['lladdr'], neigh['state']]
    neigh.set('lladdr', '02:00:00:00:00:0a').commit()
    out['neighbour'].append(ndb.neighbours[{'ifindex': idx, 'dst': '10.9.9.2'}]['lladdr'])
    ndb.neighbours[{'ifindex': idx, 'dst': '10.9.9.2'}].remove().commit()
    out['neighbours_left'] = sorted(r['dst'] for r in ndb.neighbours.dump() if r['dst'].startswith('10.9'))
    out['made'] = {
        'mtu': ndb.interfaces['br9']['mtu'],
        'routes': sorted(r['dst'] for r in ndb.routes.dump() if r['dst'].startswith('10.10')),
        'rules': sorted((r['priority'], r['table']) for r in ndb.rules.dump() if r['family'] == 2),
    }
    ndb.rules[{'family': 2, 'priority': 100}].remove().commit()
    ndb.routes['10.10.0.0/16'].remove().commit()
    ndb.interfaces['br9'].remove().commit()
    out['left'] = sorted(i['ifname'] for i in ndb.interfaces.dump())
print(json.dumps(out, sort_keys=True))
"#;

#[test]
fn pyroute2_ndb_works_as_on_the_kernel() {
    let py = python();
    if !need_program("pyroute2", &py, &["-c", "import pyroute2"]) {
        return;
    }
    let dir = Scratch::new("pyroute2-ndb");
    let script = dir.0.join("ndb.py");
    std::fs::write(&script, NDB_SCRIPT).expect("write the script");
    let cmd = format!("{py} {}", script.display());
    let steps: &[Step<'_>] = &[("ndb", &cmd)];
    run_and_compare(
        "pyroute2_ndb",
        steps,
        &[("ndb", "\"mtu\": 1400"), ("ndb", "02:00:00:00:00:0a")],
    );
}

/// Sends a request and reads its answer without waiting, 300 times: the
/// kernel handles a request inside `sendmsg`, so the answer is there when
/// `send` returns (busybox's flush relies on it).
const SYNC_SEND_SCRIPT: &str = r#"
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
ok = 0
for seq in range(1, 301):
    body = struct.pack("BxHiII", 0, 0, 1, 0, 0)
    s.send(struct.pack("IHHII", 16 + len(body), 18, 1, seq, 0) + body)
    try:
        s.recv(65536, socket.MSG_DONTWAIT)
        ok += 1
    except BlockingIOError:
        s.recv(65536)
print(ok, "of 300 answers were there when send returned")
"#;

#[test]
fn send_returns_with_the_answer_queued() {
    let py = python();
    if !need_program("sync send", &py, &["-c", "import socket"]) {
        return;
    }
    let dir = Scratch::new("sync-send-script");
    let script = dir.0.join("script.py");
    std::fs::write(&script, SYNC_SEND_SCRIPT).expect("write the script");
    let cmd = format!("{py} {}", script.display());
    let steps: &[Step<'_>] = &[("sync", &cmd)];
    run_and_compare("sync_send", steps, &[("sync", "300 of 300")]);
}

/// A change sent on one socket without waiting for anything, then a
/// lookup on another socket of the process: the kernel handled the change
/// inside `sendmsg`, so the lookup sees it, and a read that does not wait
/// on a third socket finds the notification; then a change sent just
/// before the program exits, seen by the next program.
const TWO_SOCKETS_SCRIPT: &str = r#"
import socket, struct, sys
def sock():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    return s
def set_mtu(s, mtu, seq):
    body = struct.pack("BxHiII", 0, 0, 1, 0, 0) + struct.pack("HHI", 8, 4, mtu)
    s.send(struct.pack("IHHII", 16 + len(body), 19, 1, seq, 0) + body)
def mtu_of_lo(s, seq):
    body = struct.pack("BxHiII", 0, 0, 1, 0, 0)
    s.send(struct.pack("IHHII", 16 + len(body), 18, 1, seq, 0) + body)
    d = s.recv(65536)
    at = 32
    while at + 4 <= len(d):
        alen, atype = struct.unpack_from("HH", d, at)
        if atype == 4:
            return struct.unpack_from("I", d, at + 4)[0]
        at += (alen + 3) & ~3
if sys.argv[1] == "two":
    a, b = sock(), sock()
    seen = 0
    for i in range(1, 201):
        set_mtu(a, 1000 + i, i)
        if mtu_of_lo(b, i) == 1000 + i:
            seen += 1
    print(seen, "of 200 changes were seen by the other socket")
elif sys.argv[1] == "notify":
    a = sock()
    b = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    b.bind((0, 1))
    got = 0
    for i in range(1, 101):
        set_mtu(a, 1300 + i, i)
        try:
            b.recv(65536, socket.MSG_DONTWAIT)
            got += 1
        except BlockingIOError:
            pass
    print(got, "of 100 notifications were there at once")
elif sys.argv[1] == "leave":
    set_mtu(sock(), 1500, 1)
    import os
    sys.stdout.flush()
    sys.exit(0)
else:
    print("mtu", mtu_of_lo(sock(), 1))
"#;

#[test]
fn what_one_socket_sent_is_handled_before_the_next_exchange() {
    let py = python();
    if !need_program("two sockets", &py, &["-c", "import socket"]) {
        return;
    }
    let dir = Scratch::new("two-sockets-script");
    let script = dir.0.join("script.py");
    std::fs::write(&script, TWO_SOCKETS_SCRIPT).expect("write the script");
    let two = format!("{py} {} two", script.display());
    let leave = format!("{py} {} leave", script.display());
    let show = format!("{py} {} show", script.display());
    let notify = format!("{py} {} notify", script.display());
    let steps: &[Step<'_>] = &[
        ("two", &two),
        ("notify", &notify),
        ("leave", &leave),
        ("show", &show),
    ];
    run_and_compare(
        "two_sockets",
        steps,
        &[
            ("two", "200 of 200"),
            ("notify", "100 of 100"),
            ("show", "mtu 1500"),
        ],
    );
}

#[test]
fn a_user_who_does_not_own_the_socket_gets_eperm() {
    if !need_program("eperm", "setpriv", &["--version"]) {
        return;
    }
    if !nlkit_is_root() {
        eprintln!("skipping eperm: needs root to run a command as another user");
        assert!(std::env::var("CI").as_deref() != Ok("true"));
        return;
    }
    let nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups";
    let show = format!("{nobody} ip -j link show lo");
    let up = format!("{nobody} ip link set lo up");
    let addr = format!("{nobody} ip addr add 10.1.1.1/8 dev lo");
    let steps: &[Step<'_>] = &[
        ("json show", &show),
        ("set up", &up),
        ("addr add", &addr),
        ("json still down", "ip -j link show lo"),
    ];
    run_and_compare("eperm", steps, &[("set up", "Operation not permitted")]);
}

fn nlkit_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Ties a packet socket and a UDP socket to links by the indexes and
/// names the shim gave: each fails with `ENODEV`; an unbound packet
/// socket is still the kernel's.
const HOST_LINKS_SCRIPT: &str = r#"
import errno, socket, struct
out = []
def attempt(what, f):
    try:
        f()
        out.append(what + " ok")
    except OSError as e:
        out.append(what + " " + errno.errorcode.get(e.errno, str(e.errno)))
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
out.append("packet socket made")
lo = socket.if_nametoindex("lo")
attempt("bind lo", lambda: p.bind(("lo", 0)))
attempt("send on lo", lambda: p.sendto(b"\0" * 60, ("lo", 0x88b5)))
attempt("membership", lambda: p.setsockopt(263, 1, struct.pack("iHH8s", lo, 1, 0, b"")))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
attempt("bindtodevice", lambda: u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo"))
attempt("unbind device", lambda: u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b""))
attempt("bindtoifindex", lambda: u.setsockopt(socket.SOL_SOCKET, 62, struct.pack("i", lo)))
print("; ".join(out))
"#;

#[test]
fn links_by_the_daemons_indexes_are_not_host_links() {
    let py = python();
    if !need_program("host links", &py, &["-c", "import socket"]) {
        return;
    }
    if !nlkit_is_root() {
        eprintln!("skipping host links: a packet socket needs CAP_NET_RAW");
        assert!(std::env::var("CI").as_deref() != Ok("true"));
        return;
    }
    let dir = Scratch::new("host-links");
    let script = dir.0.join("links.py");
    std::fs::write(&script, HOST_LINKS_SCRIPT).expect("write the script");
    let daemon = Daemon::start("host-links");
    let out = daemon
        .exec(&[&py, script.to_str().expect("a UTF-8 path")])
        .output()
        .expect("run the script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        "packet socket made; bind lo ENODEV; send on lo ENODEV; membership ENODEV; \
         bindtodevice ENODEV; unbind device ok; bindtoifindex ENODEV",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
