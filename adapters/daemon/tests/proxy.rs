//! `nlq proxy` with real programs and a real kernel: `ip` and pyroute2,
//! run as uid 65534 through the preload shim, against a kernel network
//! namespace the test creates, with a policy. What they may do changes
//! the namespace (checked from inside it with `ip -n NS -j`); what they
//! may not gets `EPERM` with the rule's text and changes nothing; hidden
//! links are absent everywhere (`ip link`, `ip addr`, `ip monitor`,
//! `if_nameindex`); the tenant's `main` is upstream table 100; the audit
//! log has one line per request; `SIGHUP` reloads.
//!
//! These need root (to create the namespace and act as another user);
//! under `CI=true` they must run.

mod common;
#[allow(dead_code)]
#[path = "programs/harness.rs"]
mod harness;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use harness::{need_program, shim, Scratch};
use nlq_daemon::testing::tenant_view_rules;

const NOBODY: &str = "65534";

/// True when `test` may use root's powers (see [`common::root_or_skip`]).
fn root_or_skip(test: &str) -> bool {
    common::root_or_skip(test, "to create a namespace and act as another user")
}

/// A named network namespace of this test, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("nlq-proxy-{tag}-{}-{n}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        let ns = Netns(name);
        // A tenant's veth pair, and a bridge the tenant must not see.
        for cmd in [
            "link set lo up",
            "link add tap0 type veth peer name tap0-peer",
            "link add secret0 type bridge",
            "link set tap0 up",
            "link set tap0-peer up",
            "link set secret0 up",
            "addr add 192.0.2.1/24 dev secret0",
        ] {
            ns.ip(cmd);
        }
        ns
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.0)
    }

    /// `ip -n NS ARGS` as root; panics unless it succeeds.
    fn ip(&self, args: &str) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.0])
            .args(args.split_whitespace())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip -n {} {args}: {}",
            self.0,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &str) -> serde_json::Value {
        serde_json::from_str(&self.ip(&format!("-j {args}"))).unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Prints what glibc's `getifaddrs` returns: a name, and an IPv4
/// address if there is one, a line each.
const IFADDRS_PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

int main(void) {
    struct ifaddrs *list, *i;
    if (getifaddrs(&list) != 0) { perror("getifaddrs"); return 1; }
    for (i = list; i; i = i->ifa_next) {
        char buf[INET_ADDRSTRLEN] = "-";
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf);
        printf("%s %s\n", i->ifa_name, buf);
    }
    freeifaddrs(list);
    return 0;
}
"#;

/// The tests' policy: user 65534 is a tenant that sees only `tap0` and
/// `lo`, with upstream table 100 as its `main`, and may add and delete
/// addresses of 10.1.0.0/16 on `tap0` and routes of 10.0.0.0/8 in its
/// table; every other route change is denied.
static POLICY: LazyLock<String> = LazyLock::new(|| {
    let view = tenant_view_rules(65534, &["tap0", "lo"], 100);
    format!("{view}{TENANT_CHANGES}")
});

/// The rules of [`POLICY`] after the tenant's view.
const TENANT_CHANGES: &str = r#"
[[rule]]
name = "tenant-addresses"
uid = [65534]
ops = ["address:new", "address:delete"]
interfaces = ["tap0"]
prefixes = ["10.1.0.0/16"]
action = "allow"

[[rule]]
name = "tenant-routes"
uid = [65534]
ops = ["route:new", "route:delete"]
tables = [100]
prefixes = ["10.0.0.0/8"]
action = "allow"

[[rule]]
name = "no-other-routes"
ops = ["route:new", "route:delete", "route:set"]
action = "deny"
"#;

/// `nlq proxy` in front of a namespace, killed on drop.
struct Proxy {
    child: Child,
    dir: Scratch,
    socket: PathBuf,
    shim: PathBuf,
    stderr: Receiver<String>,
}

impl Proxy {
    fn start(tag: &str, ns: &Netns, policy: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = Scratch::new(tag);
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
        let shim_copy = dir.0.join("libnlq_preload.so");
        std::fs::copy(shim(), &shim_copy).unwrap();
        std::fs::set_permissions(&shim_copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.0.join("policy.toml"), policy).unwrap();
        let socket = dir.0.join("proxy.sock");
        let mut child = Command::new(env!("CARGO_BIN_EXE_nlq"))
            .arg("proxy")
            .arg("--socket")
            .arg(&socket)
            .arg("--policy")
            .arg(dir.0.join("policy.toml"))
            .arg("--upstream")
            .arg(format!("netns:{}", ns.path().display()))
            .arg("--log")
            .arg(dir.0.join("audit.jsonl"))
            .arg("--pcap")
            .arg(dir.0.join("audit.pcap"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nlq proxy");
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let p = Proxy {
            child,
            dir,
            socket,
            shim: shim_copy,
            stderr: rx,
        };
        p.wait_line("proxying on");
        p
    }

    /// Waits (at most 10 s) for a line of the proxy's standard error
    /// containing `text`.
    fn wait_line(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(l) if l.contains(text) => return l,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no {text:?} from the proxy in time"),
                Err(RecvTimeoutError::Disconnected) => panic!("the proxy ended"),
            }
        }
    }

    /// A command run as uid 65534 through the shim and this proxy.
    fn nobody(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
            .arg("env")
            .arg(format!("LD_PRELOAD={}", self.shim.display()))
            .arg(format!("NLQ_SOCKET={}", self.socket.display()))
            .arg(program)
            .args(args)
            .current_dir(&self.dir.0);
        c
    }

    /// `ip ARGS` as uid 65534, ended (and failed) if it runs past a
    /// minute, so that a lost answer fails the test rather than hangs it.
    fn ip(&self, args: &str) -> Output {
        let v: Vec<&str> = args.split_whitespace().collect();
        let c = self.nobody("ip", &v);
        let out = Command::new("timeout")
            .args(["--kill-after=5", "60"])
            .arg(c.get_program())
            .args(c.get_args())
            .current_dir(&self.dir.0)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(124), "ip {args}: no answer in time");
        out
    }

    fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.0.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    fn sighup(&self) {
        let st = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whatever the umask, uid 65534 may read (and run) it.
fn readable_by_all(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn has_addr(ns: &Netns, dev: &str, local: &str) -> bool {
    ns.json(&format!("addr show dev {dev}"))[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["local"] == local)
}

fn route_dsts(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["dst"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn ip_as_nobody_gets_what_the_policy_allows_and_sees_its_view() {
    if !root_or_skip("proxy ip") || !need_program("proxy ip", "setpriv", &["--version"]) {
        return;
    }
    let ns = Netns::new("ip");
    let proxy = Proxy::start("proxy-ip", &ns, &POLICY);

    // Allowed: the address lands in the namespace.
    let out = proxy.ip("addr add 10.1.0.5/24 dev tap0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(has_addr(&ns, "tap0", "10.1.0.5"));

    // Denied by default (outside the range): EPERM's text, nothing added.
    let out = proxy.ip("addr add 10.2.0.5/24 dev tap0");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Error: denied by the policy's default"),
        "{}",
        text(&out.stderr)
    );
    assert!(!has_addr(&ns, "tap0", "10.2.0.5"));

    // Denied by a rule: its name in the error.
    let out = proxy.ip("route add 10.9.0.0/16 dev tap0 table 200");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Error: denied by policy rule \"no-other-routes\""),
        "{}",
        text(&out.stderr)
    );
    assert!(Command::new("ip")
        .args(["-n", &ns.0, "route", "show", "table", "200"])
        .output()
        .unwrap()
        .stdout
        .is_empty());

    // The tenant's main is table 100 upstream, and shows as main.
    let out = proxy.ip("route add 10.5.0.0/16 dev tap0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(route_dsts(&ns.json("route show table 100")).contains(&"10.5.0.0/16".into()));
    assert!(!route_dsts(&ns.json("route show table main")).contains(&"10.5.0.0/16".into()));
    let shown: serde_json::Value =
        serde_json::from_slice(&proxy.ip("-j route show").stdout).unwrap();
    assert_eq!(route_dsts(&shown), vec!["10.5.0.0/16".to_string()]);
    let out = proxy.ip("route del 10.5.0.0/16 dev tap0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!route_dsts(&ns.json("route show table 100")).contains(&"10.5.0.0/16".into()));

    // Hidden links are absent from links, addresses and lookups.
    let links: serde_json::Value =
        serde_json::from_slice(&proxy.ip("-j link show").stdout).unwrap();
    let names: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lo", "tap0"]);
    let addrs = text(&proxy.ip("addr show").stdout);
    assert!(
        !addrs.contains("secret0") && !addrs.contains("192.0.2.1"),
        "{addrs}"
    );
    let out = proxy.ip("link show secret0");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
    let out = proxy.ip("addr add 10.1.0.9/24 dev secret0");
    assert!(!out.status.success());
    assert!(!has_addr(&ns, "secret0", "10.1.0.9"));
    // A lookup that lands on a hidden link: as in a namespace without it.
    let out = proxy.ip("route get 192.0.2.5");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Network is unreachable"),
        "{}",
        text(&out.stderr)
    );
    assert!(proxy.ip("route get 10.1.0.9").status.success());
    // glibc's if_nameindex (through the shim's emulation) too.
    if need_program("proxy ip", "python3", &["-c", "import socket"]) {
        let out = proxy
            .nobody(
                "python3",
                &[
                    "-c",
                    "import socket; print(sorted(n for _, n in socket.if_nameindex()))",
                ],
            )
            .output()
            .unwrap();
        assert_eq!(
            text(&out.stdout).trim(),
            "['lo', 'tap0']",
            "{}",
            text(&out.stderr)
        );
    }

    // And glibc's getifaddrs (through the shim's emulation).
    if need_program("proxy ip", "cc", &["--version"]) {
        let src = proxy.dir.0.join("ifaddrs.c");
        let bin = proxy.dir.0.join("ifaddrs");
        std::fs::write(&src, IFADDRS_PROGRAM).unwrap();
        let st = Command::new("cc")
            .arg("-o")
            .arg(&bin)
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success(), "cc failed");
        readable_by_all(&bin, 0o755);
        let out = proxy
            .nobody(&bin.display().to_string(), &[])
            .output()
            .unwrap();
        let seen = text(&out.stdout);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(seen.contains("tap0 10.1.0.5"), "{seen}");
        assert!(
            !seen.contains("secret0") && !seen.contains("192.0.2.1") && !seen.contains("tap0-peer"),
            "{seen}"
        );
    }

    // The log: one line per request, the allowed ones with the
    // upstream's answer; as many allowed requests as went upstream.
    let log = proxy.log();
    let add = log
        .iter()
        .find(|l| l["op"] == "address:new" && l["prefix"] == "10.1.0.5/24")
        .expect("the address add is logged");
    assert_eq!(add["decision"], "allow");
    assert_eq!(add["rule"], "tenant-addresses");
    assert_eq!(add["errno"], 0);
    assert_eq!(add["uid"], 65534);
    let deny = log
        .iter()
        .find(|l| l["rule"] == "no-other-routes")
        .expect("the denied route is logged");
    assert_eq!(deny["decision"], "deny");
    assert_eq!(deny["errno"], libc::EPERM);
    assert_eq!(deny["table"], 200);
    let allowed = log.iter().filter(|l| l["decision"] == "allow").count();
    let cap = std::fs::read(proxy.dir.0.join("audit.pcap")).unwrap();
    let cap = nlq_daemon::decode::capture(&cap).unwrap();
    let forwarded: usize = cap
        .datagrams
        .iter()
        .filter(|d| d.note.contains("outgoing"))
        .map(|d| nlq::wire::Messages::new(&d.bytes).count())
        .sum();
    assert_eq!(
        allowed, forwarded,
        "one line per request that went upstream"
    );
    assert!(log.iter().any(|l| l["decision"] == "hidden"));
}

#[test]
fn ip_monitor_hears_only_what_the_view_shows() {
    if !root_or_skip("proxy monitor") || !need_program("proxy monitor", "setpriv", &["--version"]) {
        return;
    }
    let ns = Netns::new("mon");
    let proxy = Proxy::start("proxy-mon", &ns, &POLICY);
    let mut mon = proxy
        .nobody("ip", &["-o", "monitor", "link", "address"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = mon.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    // Until the monitor hears a visible change, it may not be listening
    // yet: change tap0 until it does.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut mtu = 1400;
    'ready: loop {
        assert!(Instant::now() < deadline, "ip monitor heard nothing");
        ns.ip(&format!("link set tap0 mtu {mtu}"));
        mtu += 1;
        while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if l.contains("tap0") {
                break 'ready;
            }
        }
    }
    // Now hidden changes, then a visible marker; everything before the
    // marker must not name the hidden link.
    ns.ip("link set secret0 mtu 1300");
    ns.ip("addr add 192.0.2.7/24 dev secret0");
    ns.ip("addr add 10.1.7.7/24 dev tap0");
    let mut seen = Vec::new();
    loop {
        let l = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the marker in time");
        let marker = l.contains("10.1.7.7");
        seen.push(l);
        if marker {
            break;
        }
    }
    let _ = mon.kill();
    let _ = mon.wait();
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("secret0") || l.contains("192.0.2.7")),
        "{seen:#?}"
    );
}

#[test]
fn sighup_reloads_a_good_policy_and_keeps_the_old_on_a_bad_one() {
    if !root_or_skip("proxy reload") || !need_program("proxy reload", "setpriv", &["--version"]) {
        return;
    }
    let ns = Netns::new("hup");
    let proxy = Proxy::start("proxy-hup", &ns, &POLICY);
    assert!(!proxy.ip("addr add 10.2.0.5/24 dev tap0").status.success());
    let wider = POLICY.replace("10.1.0.0/16", "10.0.0.0/8");
    std::fs::write(proxy.dir.0.join("policy.toml"), &wider).unwrap();
    proxy.sighup();
    proxy.wait_line("policy reloaded");
    let out = proxy.ip("addr add 10.2.0.5/24 dev tap0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(has_addr(&ns, "tap0", "10.2.0.5"));
    // A bad policy: refused with its place, the old one stays.
    std::fs::write(
        proxy.dir.0.join("policy.toml"),
        "[[rule]]\nname = \"x\"\naction = \"permit\"\n",
    )
    .unwrap();
    proxy.sighup();
    let line = proxy.wait_line("refused");
    assert!(line.contains("line 3, column 10"), "{line}");
    let out = proxy.ip("addr add 10.3.0.5/24 dev tap0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(has_addr(&ns, "tap0", "10.3.0.5"));
}

const PYROUTE2_SCRIPT: &str = r#"
import json, sys
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError
out = {}
with IPRoute() as ipr:
    out["links"] = sorted(l.get_attr("IFLA_IFNAME") for l in ipr.get_links())
    tap = ipr.link_lookup(ifname="tap0")[0]
    ipr.addr("add", index=tap, address="10.1.0.9", prefixlen=24)
    try:
        ipr.addr("add", index=tap, address="10.7.0.9", prefixlen=24)
        out["denied"] = 0
    except NetlinkError as e:
        out["denied"] = e.code
    ipr.route("add", dst="10.6.0.0/16", oif=tap)
    out["routes"] = sorted(r.get_attr("RTA_DST") or "" for r in ipr.get_routes(family=2, table=254))
print(json.dumps(out, sort_keys=True))
"#;

/// The directory holding pyroute2 for `python` (copied where uid 65534
/// can read it: the clone may be private).
fn pyroute2_copy(python: &str, into: &Path) -> Option<PathBuf> {
    let out = Command::new(python)
        .args([
            "-c",
            "import os, pyroute2; print(os.path.dirname(pyroute2.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let src = PathBuf::from(text(&out.stdout).trim());
    let lib = into.join("pylib");
    std::fs::create_dir_all(&lib).unwrap();
    let st = Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&lib)
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(&lib)
        .status()
        .unwrap();
    assert!(st.success());
    Some(lib)
}

#[test]
fn pyroute2_as_nobody_through_the_proxy() {
    if !root_or_skip("proxy pyroute2") || !need_program("proxy pyroute2", "setpriv", &["--version"])
    {
        return;
    }
    let python = std::env::var("NLKIT_PYTHON").unwrap_or_else(|_| "python3".into());
    if !need_program("proxy pyroute2", &python, &["-c", "import pyroute2"]) {
        return;
    }
    let ns = Netns::new("py");
    let proxy = Proxy::start("proxy-py", &ns, &POLICY);
    let lib = pyroute2_copy(&python, &proxy.dir.0).expect("pyroute2's directory");
    std::fs::write(proxy.dir.0.join("script.py"), PYROUTE2_SCRIPT).unwrap();
    readable_by_all(&proxy.dir.0.join("script.py"), 0o644);
    let out = proxy
        .nobody(
            "env",
            &[
                &format!("PYTHONPATH={}", lib.display()),
                "python3",
                "script.py",
            ],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["links"], serde_json::json!(["lo", "tap0"]));
    assert_eq!(v["denied"], libc::EPERM);
    assert_eq!(v["routes"], serde_json::json!(["10.6.0.0"]));
    assert!(has_addr(&ns, "tap0", "10.1.0.9"));
    assert!(!has_addr(&ns, "tap0", "10.7.0.9"));
    assert!(route_dsts(&ns.json("route show table 100")).contains(&"10.6.0.0/16".into()));
}
