//! The proxy in front of another nlq daemon (`socket:PATH`), driven by
//! raw netlink datagrams: answers keep the order of the requests when
//! some are refused, requests without `NLM_F_ACK` stay quiet when they
//! succeed, malformed ones never reach the upstream, a dump comes back
//! whole, and a view rewrites tables both ways. No root needed.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, Messages, RouteRepr};
use nlq_daemon::client::SocketClient;
use nlq_daemon::proxy::{Policy, Proxy, ProxyHandle, ProxyOptions, Upstream};

use common::{request, spawn, Running};

fn policy(uid: u32) -> String {
    format!(
        r#"
[[rule]]
name = "tables"
uid = [{uid}]
from = "main"
to = 100
action = "map-table"

[[rule]]
name = "lo-addresses"
uid = [{uid}]
ops = ["address:*"]
interfaces = ["lo"]
prefixes = ["10.0.0.0/8"]
action = "allow"

[[rule]]
name = "routes-100"
ops = ["route:new", "route:delete"]
tables = [100]
action = "allow"
"#
    )
}

struct Setup {
    upstream: Running,
    _proxy: ProxyHandle,
    _dir: nlq_daemon::testing::TempDir,
    path: std::path::PathBuf,
}

fn setup(tag: &str) -> Setup {
    let upstream = spawn(tag);
    let dir = nlq_daemon::testing::TempDir::new(&format!("{tag}-proxy"));
    let path = dir.path().join("proxy.sock");
    let uid = nlq_daemon::sys::geteuid();
    let proxy = Proxy::spawn(
        &path,
        Policy::parse(&policy(uid)).unwrap(),
        ProxyOptions {
            upstream: Upstream::Daemon(upstream.path().to_path_buf()),
            ..ProxyOptions::default()
        },
    )
    .unwrap();
    Setup {
        upstream,
        _proxy: proxy,
        _dir: dir,
        path,
    }
}

fn addr_add(seq: u32, a: [u8; 4], flags: u16) -> Vec<u8> {
    request(RTM_NEWADDR, flags | NLM_F_CREATE | NLM_F_EXCL, seq, |w| {
        let ip = IpAddr::V4(Ipv4Addr::from(a));
        AddrRepr::new(ip, 8, 1).with_local(ip).emit(w)
    })
}

/// Every message the client reads until `seq`'s answer, as
/// (seq, type, errno for errors).
fn read_until(c: &mut SocketClient, last: u32) -> Vec<(u32, u16, i32)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        c.recv(&mut buf, Some(Duration::from_secs(10)))
            .expect("an answer in time");
        let mut end = false;
        for m in Messages::new(&buf).flatten() {
            let errno = match m.typed() {
                Ok(nlq::wire::Message::Error(e)) => e.errno(),
                _ => 0,
            };
            end |= m.seq() == last && matches!(m.message_type(), NLMSG_ERROR | NLMSG_DONE);
            out.push((m.seq(), m.message_type(), errno));
        }
        if end {
            return out;
        }
    }
}

#[test]
fn answers_keep_the_order_of_the_requests() {
    let s = setup("proxy-order");
    let mut c = SocketClient::connect(&s.path).unwrap();
    let mut d = Vec::new();
    d.extend(addr_add(1, [10, 0, 0, 1], NLM_F_ACK));
    d.extend(addr_add(2, [192, 168, 0, 1], NLM_F_ACK)); // outside the range
    d.extend(addr_add(3, [10, 0, 0, 2], 0)); // no ACK asked: quiet
    d.extend(addr_add(4, [10, 0, 0, 2], 0)); // EEXIST: answered
    d.extend(addr_add(5, [172, 16, 0, 1], 0)); // denied: answered
    d.extend(addr_add(6, [10, 0, 0, 3], NLM_F_ACK));
    c.send(&d).unwrap();
    let got = read_until(&mut c, 6);
    let answers: Vec<(u32, i32)> = got
        .iter()
        .filter(|m| m.1 == NLMSG_ERROR)
        .map(|m| (m.0, m.2))
        .collect();
    assert_eq!(
        answers,
        [
            (1, 0),
            (2, libc::EPERM),
            (4, libc::EEXIST),
            (5, libc::EPERM),
            (6, 0)
        ]
    );
    // The upstream has exactly the allowed addresses.
    let mut h = SocketClient::handle(s.upstream.path()).unwrap();
    let mut ours: Vec<IpAddr> = h
        .addrs(AF_INET)
        .unwrap()
        .into_iter()
        .filter(|a| a.header.index == 1)
        .filter_map(|a| a.local)
        .filter(|a| a.to_string().starts_with("10."))
        .collect();
    ours.sort();
    let want: Vec<IpAddr> = [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]]
        .into_iter()
        .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
        .collect();
    assert_eq!(ours, want);
}

#[test]
fn malformed_requests_get_einval_and_never_go_upstream() {
    let s = setup("proxy-malformed");
    let mut c = SocketClient::connect(&s.path).unwrap();
    // An address add whose attribute runs past the message.
    let mut bad = addr_add(7, [10, 0, 0, 9], NLM_F_ACK);
    let at = 16 + 8;
    bad[at..at + 2].copy_from_slice(&200u16.to_ne_bytes());
    c.send(&bad).unwrap();
    let got = read_until(&mut c, 7);
    assert_eq!(got, [(7, NLMSG_ERROR, libc::EINVAL)]);
    let mut h = SocketClient::handle(s.upstream.path()).unwrap();
    assert!(!h
        .addrs(AF_INET)
        .unwrap()
        .iter()
        .any(|a| a.local == Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)))));
}

#[test]
fn tables_are_rewritten_both_ways_and_dumps_come_whole() {
    let s = setup("proxy-tables");
    let mut c = SocketClient::handle(&s.path).unwrap();
    SocketClient::handle(s.upstream.path())
        .unwrap()
        .link_set_up(1, true)
        .unwrap();
    c.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 8, 1)
        .unwrap();
    // Many routes in the peer's main: upstream table 100.
    let mut batch = nlinline::Batch::new();
    for i in 0..2_000u32 {
        let r = nlinline::Route::to(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + (i << 8))), 24).dev(1);
        batch.route_add(&r).unwrap();
    }
    let results = c.apply(&batch);
    assert!(
        results.iter().all(|r| r.is_ok()),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let mut up = SocketClient::handle(s.upstream.path()).unwrap();
    let upstream: Vec<RouteRepr> = up.routes(AF_INET, None).unwrap();
    assert_eq!(
        upstream
            .iter()
            .filter(
                |r| r.table_id() == 100 && r.dst.is_some_and(|d| d.to_string().starts_with("11."))
            )
            .count(),
        2_000
    );
    let seen: Vec<RouteRepr> = c.routes(AF_INET, None).unwrap();
    assert_eq!(
        seen.iter()
            .filter(|r| r.table_id() == RT_TABLE_MAIN
                && r.dst.is_some_and(|d| d.to_string().starts_with("11.")))
            .count(),
        2_000
    );
    // Another table is denied by default.
    let mut r = nlinline::Route::to(IpAddr::V4(Ipv4Addr::new(12, 0, 0, 0)), 8).dev(1);
    r.table = 200;
    let e = c.route_add(&r).unwrap_err();
    assert_eq!(e.errno(), libc::EPERM);
}

/// Threads of this process named `name` (as `/proc` truncates it).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .count()
}

#[test]
fn sessions_leave_nothing_behind() {
    let s = setup("proxy-threads");
    for i in 0..40u32 {
        let mut c = SocketClient::connect(&s.path).unwrap();
        c.send(&addr_add(i + 1, [10, 1, 0, 1], NLM_F_ACK)).unwrap();
        let _ = read_until(&mut c, i + 1);
    }
    // Their relay threads end once their clients are gone (other tests
    // of this binary may hold a few).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while threads_named("nlq-proxy-up") > 8 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} relay threads left",
            threads_named("nlq-proxy-up")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reload_keeps_the_clients_and_rates_are_limited() {
    let upstream = spawn("proxy-reload");
    let dir = nlq_daemon::testing::TempDir::new("proxy-reload-proxy");
    let path = dir.path().join("proxy.sock");
    let file = dir.path().join("policy.toml");
    let uid = nlq_daemon::sys::geteuid();
    std::fs::write(&file, policy(uid)).unwrap();
    let proxy = Proxy::spawn(
        &path,
        Policy::load(&file).unwrap(),
        ProxyOptions {
            upstream: Upstream::Daemon(upstream.path().to_path_buf()),
            policy_file: Some(file.clone()),
            ..ProxyOptions::default()
        },
    )
    .unwrap();
    let mut c = SocketClient::connect(&path).unwrap();
    c.send(&addr_add(1, [192, 168, 1, 1], NLM_F_ACK)).unwrap();
    assert_eq!(read_until(&mut c, 1), [(1, NLMSG_ERROR, libc::EPERM)]);
    // Addresses anywhere, and at most two requests at once.
    let wider = policy(uid).replace("prefixes = [\"10.0.0.0/8\"]", "");
    std::fs::write(
        &file,
        format!("[limits]\nrequests_per_second = 1\nburst = 2\n{wider}"),
    )
    .unwrap();
    proxy.reload().unwrap();
    let mut d = Vec::new();
    for (seq, last) in [(2, 1), (3, 2), (4, 3)] {
        d.extend(addr_add(seq, [192, 168, 1, last], NLM_F_ACK));
    }
    c.send(&d).unwrap();
    let got = read_until(&mut c, 4);
    let answers: Vec<(u32, i32)> = got.iter().map(|m| (m.0, m.2)).collect();
    assert_eq!(answers, [(2, 0), (3, 0), (4, libc::EBUSY)]);
    // A bad policy is refused; the one in force stays.
    std::fs::write(&file, "[[rule]]\nname = 1\n").unwrap();
    let e = proxy.reload().unwrap_err();
    assert_eq!(e.line, Some(2));
}

#[test]
fn requests_sharing_a_seq_are_answered_each_with_it() {
    let s = setup("proxy-seq");
    let mut c = SocketClient::connect(&s.path).unwrap();
    let mut d = addr_add(9, [10, 2, 0, 1], NLM_F_ACK);
    d.extend(addr_add(9, [10, 2, 0, 1], NLM_F_ACK));
    d.extend(addr_add(9, [10, 2, 0, 2], 0));
    c.send(&d).unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(read_until(&mut c, 9));
    }
    assert_eq!(
        got,
        [(9, NLMSG_ERROR, 0), (9, NLMSG_ERROR, libc::EEXIST)],
        "the quiet third is not answered"
    );
    // The echoed request in the error is the client's own.
    c.send(&addr_add(11, [10, 2, 0, 2], 0)).unwrap();
    let mut buf = Vec::new();
    c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
    let (m, _) = nlq::wire::NlMsg::parse(&buf).unwrap();
    let Ok(nlq::wire::Message::Error(e)) = m.typed() else {
        panic!("an error")
    };
    assert_eq!(e.errno(), libc::EEXIST);
    assert_eq!(e.request().seq, 11);
    assert_eq!(
        e.request().flags & NLM_F_ACK,
        0,
        "no ACK flag the client did not set"
    );
}

#[test]
fn connections_per_user_are_limited() {
    let upstream = spawn("proxy-conns");
    let dir = nlq_daemon::testing::TempDir::new("proxy-conns-proxy");
    let path = dir.path().join("proxy.sock");
    let uid = nlq_daemon::sys::geteuid();
    let text = format!("[limits]\nconnections = 2\n{}", policy(uid));
    let _proxy = Proxy::spawn(
        &path,
        Policy::parse(&text).unwrap(),
        ProxyOptions {
            upstream: Upstream::Daemon(upstream.path().to_path_buf()),
            ..ProxyOptions::default()
        },
    )
    .unwrap();
    let mut first = SocketClient::connect(&path).unwrap();
    let _second = SocketClient::connect(&path).unwrap();
    assert!(SocketClient::connect(&path).is_err(), "a third connection");
    // The held ones keep working.
    first.send(&addr_add(1, [10, 3, 0, 1], NLM_F_ACK)).unwrap();
    assert_eq!(read_until(&mut first, 1), [(1, NLMSG_ERROR, 0)]);
    // One gone, one more may come (once its thread has seen it go).
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while SocketClient::connect(&path).is_err() {
        assert!(std::time::Instant::now() < deadline, "the slot stays taken");
        std::thread::sleep(Duration::from_millis(20));
    }
}
