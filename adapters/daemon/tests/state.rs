//! `nlq serve --state FILE`: every acknowledged change survives the
//! daemon being killed, whatever history made it; a change that cannot be
//! made durable is refused with the errno of why, and is not applied; the
//! file is trusted only as far as it can be (lock, owner, mode, links,
//! FIFOs, checksums).
//!
//! The fault injections that need root (a full or read-only file system,
//! mounted in a mount namespace of the test's own) skip off root, with a
//! reason, unless `CI=true`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nlinline::{Handle, Route};
use nlq::wire::consts::*;
use nlq::wire::{Messages, Writer};
use nlq_daemon::client::SocketClient;
use nlq_daemon::testing::TempDir;

const NLQ: &str = env!("CARGO_BIN_EXE_nlq");

/// A process, killed when dropped (also when a test fails).
struct Proc(Child);

impl Proc {
    /// SIGKILL, and wait for it to be gone.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until a daemon answers on `sock`, or panics after 30 s (or at
/// once if the process ended).
fn wait_listening(sock: &Path, child: &mut Child) {
    let t0 = Instant::now();
    while SocketClient::connect(sock).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("the daemon ended before it listened: {status}: {err}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the daemon never listened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `nlq serve` on `sock` keeping `state`, run through `prefix` (e.g.
/// `nsenter`), ready.
fn serve_in(prefix: &[&str], sock: &Path, state: &Path) -> Proc {
    let mut cmd = match prefix.split_first() {
        Some((p, rest)) => {
            let mut c = Command::new(p);
            c.args(rest).arg(NLQ);
            c
        }
        None => Command::new(NLQ),
    };
    let child = cmd
        .arg("serve")
        .arg("--socket")
        .arg(sock)
        .arg("--state")
        .arg(state)
        .stderr(Stdio::piped())
        .spawn()
        .expect("nlq starts");
    let mut p = Proc(child);
    wait_listening(sock, &mut p.0);
    p
}

fn serve(sock: &Path, state: &Path) -> Proc {
    serve_in(&[], sock, state)
}

/// `nlq serve` that must refuse to start: its output, within 30 s.
fn serve_refused(sock: &Path, state: &Path) -> Output {
    serve_refused_in(&[], sock, state)
}

fn serve_refused_in(prefix: &[&str], sock: &Path, state: &Path) -> Output {
    let mut args: Vec<std::ffi::OsString> = prefix.iter().map(Into::into).collect();
    args.push(NLQ.into());
    for a in ["serve", "--socket"] {
        args.push(a.into());
    }
    args.push(sock.into());
    args.push("--state".into());
    args.push(state.into());
    let (first, rest) = args.split_first().unwrap();
    let mut child = Command::new(first)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the daemon did not refuse to start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_refused(out: &Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for w in words {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The link, address and route dumps, messages without seq and port
/// (what `ip -d link`, `ip -d addr` and `ip -d route show table all`
/// print, as bytes).
fn dumps(sock: &Path) -> Vec<Vec<(u16, Vec<u8>)>> {
    let mut c = SocketClient::connect(sock).unwrap();
    c.reader_size(32_768).unwrap();
    let mut out = Vec::new();
    for (i, kind) in [
        RTM_GETLINK,
        RTM_GETADDR,
        RTM_GETROUTE,
        RTM_GETNEIGH,
        RTM_GETRULE,
        RTM_GETNEXTHOP,
    ]
    .into_iter()
    .enumerate()
    {
        let seq = 100 + i as u32;
        let mut w = Writer::new(Vec::new());
        w.message(kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, |w| {
            // A nexthop dump wants its whole header.
            let header: &[u8] = if kind == RTM_GETNEXTHOP {
                &[AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0]
            } else {
                &[AF_UNSPEC]
            };
            w.put(header)
        })
        .unwrap();
        c.send(w.buffer()).unwrap();
        let mut msgs = Vec::new();
        let mut buf = Vec::new();
        'dump: loop {
            c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
            for m in Messages::new(&buf).flatten() {
                if m.message_type() == NLMSG_DONE {
                    break 'dump;
                }
                msgs.push((m.message_type(), m.payload().to_vec()));
            }
        }
        out.push(msgs);
    }
    out
}

fn assert_same(after: &[Vec<(u16, Vec<u8>)>], before: &[Vec<(u16, Vec<u8>)>], what: &str) {
    for (table, (a, b)) in ["links", "addresses", "routes"]
        .iter()
        .zip(after.iter().zip(before))
    {
        assert_eq!(a, b, "{what}: the {table} differ after the restart");
    }
}

/// True when `test` may use root's powers (see [`common::root_or_skip`]).
fn root_or_skip(test: &str) -> bool {
    common::root_or_skip(
        test,
        "to mount file systems in a mount namespace of its own",
    )
}

/// A mount namespace of the test's own in which `dir` is a mount point
/// (`how`: a shell command mounting on "$0"), held open until dropped.
struct MountNs {
    holder: Proc,
    _stdin: ChildStdin,
    pid: String,
}

impl MountNs {
    fn new(dir: &Path, how: &str) -> MountNs {
        std::fs::create_dir_all(dir).unwrap();
        let script = format!("{how} && echo ready && exec cat");
        let mut child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare runs");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the mount failed");
        let pid = child.id().to_string();
        MountNs {
            holder: Proc(child),
            _stdin: stdin,
            pid,
        }
    }

    /// The command prefix that runs a program inside.
    fn prefix(&self) -> [&str; 5] {
        ["nsenter", "-t", &self.pid, "-m", "--"]
    }
}

impl Drop for MountNs {
    fn drop(&mut self) {
        self.holder.kill();
    }
}

fn handle(sock: &Path) -> Handle<SocketClient> {
    SocketClient::handle(sock).unwrap()
}

/// A dummy link `name`, up, with `addr/len`.
fn link_with(h: &mut Handle<SocketClient>, name: &str, addr: &str, len: u8) -> u32 {
    let i = h.link_add(name, "dummy", &[], None).unwrap();
    h.link_set_up(i, true).unwrap();
    h.addr_add(ip(addr), len, i).unwrap();
    i
}

#[test]
fn the_configuration_survives_sigkill() {
    let dir = TempDir::new("state");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = handle(&sock);
    let gone = h.link_add("gone0", "dummy", &[], None).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    let d = h.link_add("d0", "dummy", &[], None).unwrap();
    h.link_del(gone).unwrap();
    h.link_set_up("lo", true).unwrap();
    h.link_set_up(br, true).unwrap();
    h.link_set_up(d, true).unwrap();
    h.link_set_mtu(br, 1400).unwrap();
    h.link_set_mac(d, [2, 0, 0, 0, 0, 9]).unwrap();
    h.addr_add(ip("192.0.2.1"), 24, br).unwrap();
    h.addr_add(ip("192.0.2.7"), 24, br).unwrap();
    h.addr_add(ip("2001:db8::1"), 64, d).unwrap();
    h.route_add(&Route::to(ip("10.1.0.0"), 16).via(ip("192.0.2.254")))
        .unwrap();
    h.route_add(&Route::to(ip("2001:db8:5::"), 48).via(ip("2001:db8::fe")))
        .unwrap();
    h.neigh_add(ip("192.0.2.9"), br, Some([2, 0, 0, 0, 0, 8]), NUD_PERMANENT)
        .unwrap();
    h.neigh_add(ip("2001:db8::9"), d, Some([2, 0, 0, 0, 0, 7]), NUD_STALE)
        .unwrap();
    h.rule_add(&nlinline::Rule::lookup(100).from(ip("192.0.2.0"), 24))
        .unwrap();
    // Nexthop objects (one with an id the daemon picks) and a route
    // through a group of them.
    h.nexthop_add(&nlinline::Nexthop::on_link(4, d)).unwrap();
    h.nexthop_add(&nlinline::Nexthop::on_link(0, d)).unwrap();
    h.nexthop_add(&nlinline::Nexthop::on_link(0, d)).unwrap();
    h.nexthop_del(2).unwrap();
    h.nexthop_add(&nlinline::Nexthop::blackhole(9)).unwrap();
    h.nexthop_add(&nlinline::Nexthop::group(7, &[(4, 2), (1, 1)]).unwrap())
        .unwrap();
    h.route_add(&Route::to(ip("10.9.0.0"), 16).nhid(7)).unwrap();
    // The last change, acknowledged, then the daemon dies at once.
    h.route_add(&Route::default_via(ip("192.0.2.254"))).unwrap();
    let before = dumps(&sock);
    daemon.kill();
    drop(h);
    assert!(before[0].len() >= 3 && before[1].len() >= 4 && before[2].len() >= 5);
    assert_eq!(before[3].len(), 2, "the neighbours");
    assert_eq!(before[4].len(), 6, "the rules: five defaults and one");
    assert_eq!(before[5].len(), 4, "the nexthops");

    let mut daemon = serve(&sock, &state);
    assert_same(&dumps(&sock), &before, "after SIGKILL");
    // A link created now gets the index it would have got without the
    // restart.
    let mut h = handle(&sock);
    assert_eq!(h.link_add("new0", "dummy", &[], None).unwrap(), d + 1);
    // So does a nexthop without an id: after the last one handed out (2,
    // deleted since; ids are not handed out twice).
    h.nexthop_add(&nlinline::Nexthop::on_link(0, d)).unwrap();
    let ids: Vec<u32> = h.nexthops().unwrap().iter().filter_map(|n| n.id).collect();
    assert_eq!(ids, [1, 3, 4, 7, 9]);
    // `nlq decode` prints the state file.
    let out = Command::new(NLQ)
        .arg("decode")
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("state file header")
            && text.contains("name br0")
            && text.contains("state file seal"),
        "{text}"
    );
    daemon.kill();
    // The file is the daemon's user's alone.
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// One history that replaying requests in table order cannot rebuild:
/// the commands, on a daemon with `lo` up and `d0` (index 2) up.
type History = fn(&mut Handle<SocketClient>);

fn histories() -> Vec<(&'static str, History)> {
    vec![
        ("IPv4 gateway reachable through a later route", |h| {
            h.route_add(
                &Route::to(ip("198.51.100.0"), 24)
                    .dev(2)
                    .scope(RT_SCOPE_LINK),
            )
            .unwrap();
            h.route_add(&Route::to(ip("10.1.0.0"), 16).via(ip("198.51.100.1")))
                .unwrap();
        }),
        ("IPv6 gateway reachable through a later route", |h| {
            h.route_add(&Route::to(ip("2001:db8:ff::"), 64).dev(2))
                .unwrap();
            h.route_add(&Route::to(ip("2001:db8:1::"), 48).via(ip("2001:db8:ff::1")))
                .unwrap();
        }),
        ("static route before an address of the same prefix", |h| {
            h.route_add(
                &Route::to(ip("192.0.2.0"), 24)
                    .dev(2)
                    .scope(RT_SCOPE_LINK)
                    .protocol(RTPROT_STATIC),
            )
            .unwrap();
            h.addr_add(ip("192.0.2.1"), 24, 2).unwrap();
        }),
        ("replace of a kernel prefix route with proto static", |h| {
            h.addr_add(ip("192.0.2.1"), 24, 2).unwrap();
            h.route_replace(
                &Route::to(ip("192.0.2.0"), 24)
                    .dev(2)
                    .scope(RT_SCOPE_LINK)
                    .protocol(RTPROT_STATIC),
            )
            .unwrap();
        }),
        ("a route with proto kernel", |h| {
            h.route_add(
                &Route::to(ip("203.0.113.0"), 24)
                    .dev(2)
                    .scope(RT_SCOPE_LINK)
                    .protocol(RTPROT_KERNEL),
            )
            .unwrap();
        }),
        ("a deleted kernel prefix route", |h| {
            h.addr_add(ip("192.0.2.1"), 24, 2).unwrap();
            h.route_del(
                &Route::to(ip("192.0.2.0"), 24)
                    .dev(2)
                    .scope(RT_SCOPE_LINK)
                    .protocol(RTPROT_KERNEL),
            )
            .unwrap();
        }),
        ("a deleted 127.0.0.1/8 on lo", |h| {
            h.addr_del(ip("127.0.0.1"), 8, 1).unwrap();
        }),
        ("multipath routes of 256 and 100 next hops", |h| {
            h.addr_add(ip("10.1.0.1"), 16, 2).unwrap();
            let hops = (0..256u32)
                .map(|i| nlinline::NextHop {
                    gateway: Some(IpAddr::from([10, 1, (i / 200) as u8, (i % 200 + 2) as u8])),
                    ifindex: 2,
                    weight: (i % 4 + 1) as u16,
                })
                .collect();
            h.route_add(&Route::to(ip("10.9.0.0"), 16).multipath(hops))
                .unwrap();
            h.route_add(&Route::to(ip("2001:db8:ff::"), 64).dev(2))
                .unwrap();
            let hops = (0..100u16)
                .map(|i| nlinline::NextHop {
                    gateway: Some(IpAddr::from([0x2001, 0xdb8, 0xff, 0, 0, 0, 0, i + 2])),
                    ifindex: 2,
                    weight: 1,
                })
                .collect();
            h.route_add(&Route::to(ip("2001:db8:9::"), 48).multipath(hops))
                .unwrap();
        }),
    ]
}

#[test]
fn every_history_comes_back_exactly() {
    for (what, history) in histories() {
        let dir = TempDir::new("state-history");
        let sock = dir.path().join("nlq.sock");
        let state = dir.path().join("state");
        let mut daemon = serve(&sock, &state);
        let mut h = handle(&sock);
        h.link_set_up("lo", true).unwrap();
        let d = h.link_add("d0", "dummy", &[], None).unwrap();
        assert_eq!(d, 2);
        h.link_set_up(d, true).unwrap();
        history(&mut h);
        let before = dumps(&sock);
        daemon.kill();
        let out = Command::new(NLQ)
            .arg("decode")
            .arg(&state)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("state journal record 1"), "{text}");
        // Twice: from the journal, then from the snapshot the first
        // restart wrote.
        for round in ["from the journal", "from the snapshot"] {
            let mut daemon = serve(&sock, &state);
            assert_same(&dumps(&sock), &before, &format!("{what}, {round}"));
            daemon.kill();
        }
    }
}

#[test]
fn a_corrupt_state_file_is_refused_and_left_alone() {
    let dir = TempDir::new("state-corrupt");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = handle(&sock);
    link_with(&mut h, "d0", "192.0.2.1", 24);
    daemon.kill();
    // Restarted once: the changes are in the snapshot now.
    let mut daemon = serve(&sock, &state);
    daemon.kill();
    let good = std::fs::read(&state).unwrap();
    let mut bytes = good.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&state, &bytes).unwrap();
    assert_refused(&serve_refused(&sock, &state), &["state file", "corrupt"]);
    assert_eq!(
        std::fs::read(&state).unwrap(),
        bytes,
        "the file is left alone"
    );
    // Cut short: refused too.
    std::fs::write(&state, &good[..mid]).unwrap();
    assert_refused(&serve_refused(&sock, &state), &["corrupt"]);
    // Bytes after the end that are not the zeros written ahead for the
    // journal: refused.
    let mut junk = good.clone();
    junk.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
    std::fs::write(&state, &junk).unwrap();
    assert_refused(&serve_refused(&sock, &state), &["corrupt"]);
    std::fs::write(&state, &good).unwrap();
    let mut daemon = serve(&sock, &state);
    daemon.kill();
}

#[test]
fn a_torn_last_record_is_dropped_and_the_rest_kept() {
    let dir = TempDir::new("state-torn");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = handle(&sock);
    link_with(&mut h, "d0", "192.0.2.1", 24);
    let before = dumps(&sock);
    // Where the journal ends: zeros written ahead follow it.
    let end = |b: &[u8]| b.iter().rposition(|x| *x != 0).map_or(0, |p| p + 1);
    let len = end(&std::fs::read(&state).unwrap());
    h.route_add(&Route::to(ip("10.1.0.0"), 16).via(ip("192.0.2.254")))
        .unwrap();
    daemon.kill();
    // The last record half written, as a crash in its write leaves it.
    let bytes = std::fs::read(&state).unwrap();
    let cut = (len + end(&bytes)) / 2;
    std::fs::write(&state, &bytes[..cut]).unwrap();
    let mut daemon = serve(&sock, &state);
    assert_same(&dumps(&sock), &before, "torn record");
    daemon.kill();
}

#[test]
fn a_second_daemon_on_the_same_state_is_refused() {
    let dir = TempDir::new("state-lock");
    let state = dir.path().join("state");
    let mut first = serve(&dir.path().join("a.sock"), &state);
    let out = serve_refused(&dir.path().join("b.sock"), &state);
    assert_refused(&out, &["another nlq daemon", "state.lock"]);
    first.kill();
}

#[test]
fn files_that_cannot_be_trusted_are_refused() {
    let dir = TempDir::new("state-trust");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    daemon.kill();
    // Writable by others.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_refused(
        &serve_refused(&sock, &state),
        &["group or others may write"],
    );
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A symbolic link.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(&state, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &state).unwrap();
    assert_refused(&serve_refused(&sock, &state), &["symbolic link"]);
    std::fs::remove_file(&state).unwrap();
    // A FIFO: refused at once, not waited on.
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_refused(&serve_refused(&sock, &fifo), &["not a regular file"]);
    // Owned by someone else (root only can give it away).
    if nlq_daemon::sys::geteuid() == 0 {
        std::fs::rename(&elsewhere, &state).unwrap();
        std::os::unix::fs::chown(&state, Some(65534), None).unwrap();
        assert_refused(&serve_refused(&sock, &state), &["owned by uid 65534"]);
        std::os::unix::fs::chown(&state, Some(0), None).unwrap();
        std::fs::rename(&state, &elsewhere).unwrap();
    }
    // A link planted where the temporary file goes is not followed: its
    // target is left as it was.
    std::fs::rename(&elsewhere, &state).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("state.tmp")).unwrap();
    let mut daemon = serve(&sock, &state);
    let mut h = handle(&sock);
    link_with(&mut h, "d0", "192.0.2.1", 24);
    daemon.kill();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!std::fs::symlink_metadata(&state)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn the_daemon_does_not_start_without_a_state_it_can_write() {
    let dir = TempDir::new("state-nowrite");
    let sock = dir.path().join("nlq.sock");
    let missing = dir.path().join("no-such-dir").join("state");
    assert_refused(
        &serve_refused(&sock, &missing),
        &["state file", "No such file or directory"],
    );
    if !root_or_skip("the_daemon_does_not_start_without_a_state_it_can_write") {
        return;
    }
    let ro = dir.path().join("ro");
    let ns = MountNs::new(&ro, "mount -t tmpfs -o ro,size=64k nlqtest \"$0\"");
    let out = serve_refused_in(&ns.prefix(), &sock, &ro.join("state"));
    assert_refused(&out, &["state file", "Read-only file system"]);
}

/// A change the state file cannot take gets its errno and is not
/// applied; everything acknowledged before is still there after a
/// restart.
#[test]
fn a_full_file_system_refuses_changes_with_enospc() {
    if !root_or_skip("a_full_file_system_refuses_changes_with_enospc") {
        return;
    }
    let dir = TempDir::new("state-full");
    let sock = dir.path().join("nlq.sock");
    let st = dir.path().join("st");
    let ns = MountNs::new(&st, "mount -t tmpfs -o size=64k,mode=0700 nlqtest \"$0\"");
    let state = st.join("state");
    let mut daemon = serve_in(&ns.prefix(), &sock, &state);
    let mut h = handle(&sock);
    let d = link_with(&mut h, "d0", "10.0.0.1", 8);
    let mut refused = None;
    for i in 0..100_000u32 {
        let dst = IpAddr::from([10, (i >> 8) as u8 + 1, i as u8, 0]);
        let r = Route::to(dst, 24).dev(d).scope(RT_SCOPE_LINK);
        match h.route_add(&r) {
            Ok(()) => {}
            Err(e) => {
                refused = Some((i, e.errno()));
                break;
            }
        }
    }
    let (n, errno) = refused.expect("the file system fills up");
    assert_eq!(errno, libc::ENOSPC, "after {n} routes");
    // The refused route is not there; memory is what the disk holds.
    let before = dumps(&sock);
    let refused_dst = [10, (n >> 8) as u8 + 1, n as u8, 0];
    let routes = h.routes(AF_INET, None).unwrap();
    assert!(!routes
        .iter()
        .any(|r| r.dst == Some(IpAddr::from(refused_dst))));
    daemon.kill();
    let mut daemon = serve_in(&ns.prefix(), &sock, &state);
    assert_same(&dumps(&sock), &before, "full file system");
    daemon.kill();
}

/// The directory removed under the daemon: the file is no longer
/// linked, so nothing written would be found at the next start. (A file
/// system cannot be remounted read-only while the daemon holds the file
/// open for writing: the kernel answers EBUSY; read-only at start is
/// `the_daemon_does_not_start_without_a_state_it_can_write`.)
#[test]
fn a_removed_state_directory_refuses_changes() {
    let dir = TempDir::new("state-removed");
    let sock = dir.path().join("nlq.sock");
    let st = dir.path().join("st");
    std::fs::create_dir(&st).unwrap();
    let state = st.join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = handle(&sock);
    let d = link_with(&mut h, "d0", "192.0.2.1", 24);
    let before = dumps(&sock);
    std::fs::remove_dir_all(&st).unwrap();
    let e = h.link_set_mtu(d, 1400).unwrap_err();
    assert_eq!(e.errno(), libc::ENOENT);
    assert_same(&dumps(&sock), &before, "removed");
    daemon.kill();
}

/// The socket is 0666 and the state file 0600 whatever the umask: both
/// modes are set on descriptors, never through a path.
#[test]
fn modes_do_not_depend_on_the_umask() {
    for umask in ["000", "077"] {
        let dir = TempDir::new("state-umask");
        let sock = dir.path().join("nlq.sock");
        let state = dir.path().join("state");
        let script = format!("umask {umask}; exec \"$0\" \"$@\"");
        let mut daemon = serve_in(&["sh", "-c", &script], &sock, &state);
        let mut h = handle(&sock);
        link_with(&mut h, "d0", "192.0.2.1", 24);
        daemon.kill();
        let mut daemon = serve_in(&["sh", "-c", &script], &sock, &state);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sock), 0o666, "socket, umask {umask}");
        assert_eq!(mode(&state), 0o600, "state, umask {umask}");
        assert_eq!(
            mode(&dir.path().join("state.lock")),
            0o600,
            "lock, umask {umask}"
        );
        daemon.kill();
    }
}

/// SIGKILL at varying moments while a client adds routes one at a time:
/// after the restart, every acknowledged route is there, and nothing that
/// was never sent.
#[test]
fn sigkill_during_changes_loses_no_acknowledged_one() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    for trial in 0..6u32 {
        let dir = TempDir::new("state-kill");
        let sock = dir.path().join("nlq.sock");
        let state = dir.path().join("state");
        let mut daemon = serve(&sock, &state);
        let mut h = handle(&sock);
        let d = link_with(&mut h, "d0", "10.0.0.1", 8);
        let acked = Arc::new(AtomicU32::new(0));
        let writer = {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                for i in 0..u32::MAX {
                    let dst = IpAddr::from((0x0b00_0000u32 + (i << 8)).to_be_bytes());
                    let r = Route::to(dst, 24).dev(d).scope(RT_SCOPE_LINK);
                    if h.route_add(&r).is_err() {
                        return i;
                    }
                    acked.store(i + 1, Ordering::SeqCst);
                }
                u32::MAX
            })
        };
        // Kill after a varying number of acknowledgements.
        let target = 1 + (seed.wrapping_mul(2_654_435_761).wrapping_add(trial * 7919)) % 300;
        let t0 = Instant::now();
        while acked.load(Ordering::SeqCst) < target {
            assert!(t0.elapsed() < Duration::from_secs(60), "no progress");
            std::thread::yield_now();
        }
        daemon.kill();
        let sent = writer.join().unwrap();
        let acknowledged = acked.load(Ordering::SeqCst);
        let mut daemon = serve(&sock, &state);
        let mut h = handle(&sock);
        let routes = h.routes(AF_INET, Some(RT_TABLE_MAIN)).unwrap();
        let kept: Vec<u32> = routes
            .iter()
            .filter_map(|r| match r.dst {
                Some(IpAddr::V4(a)) if r.header.dst_len == 24 => {
                    Some((u32::from(a) - 0x0b00_0000) >> 8)
                }
                _ => None,
            })
            .collect();
        for i in 0..acknowledged {
            assert!(
                kept.contains(&i),
                "trial {trial}: acknowledged route {i} lost"
            );
        }
        assert!(
            kept.iter().all(|i| *i <= sent),
            "trial {trial}: a route never sent"
        );
        daemon.kill();
    }
}
