//! Clients that misbehave disturb nobody else: one killed in the middle of
//! a dump, one that floods 100,000 requests and never reads, one that
//! stops reading its notifications. Meanwhile another client's requests
//! must all be answered, correctly and in order. (Only correctness is
//! asserted, never timings.)

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nlinline::Route;
use nlq::server::SockOpt;
use nlq::wire::consts::*;
use nlq::wire::{LinkRepr, Messages};
use nlq_daemon::client::SocketClient;
use nlq_daemon::Options;

const CHILD_ENV: &str = "NLQ_DAEMON_TEST_SOCKET";
const READY: &str = "NLQ-CHILD-READY";

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// Run as a child process by `misbehaving_clients_disturb_nobody`: starts
/// an address dump, reads one datagram of it, says so, and waits to be
/// killed.
#[test]
#[ignore = "a helper run as a child process by misbehaving_clients_disturb_nobody"]
fn child_dumps_then_hangs() {
    let path = std::env::var(CHILD_ENV).expect("run by misbehaving_clients_disturb_nobody");
    let mut c = SocketClient::connect(&path).unwrap();
    c.send(&common::request(RTM_GETADDR, NLM_F_DUMP, 1, |w| {
        w.put(&[AF_INET])
    }))
    .unwrap();
    let mut buf = Vec::new();
    c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
    assert!(Messages::new(&buf)
        .flatten()
        .any(|m| m.message_type() == RTM_NEWADDR));
    println!("{READY}");
    std::thread::sleep(Duration::from_secs(120));
    panic!("not killed");
}

/// A child process, killed when dropped (also when the test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn misbehaving_clients_disturb_nobody() {
    // Small socket buffers, so that the stalled and flooding clients fill
    // theirs quickly.
    let d = common::spawn_with(
        "robust",
        Options {
            socket_buffer: 64 * 1024,
            ..Options::default()
        },
    );
    let mut h = SocketClient::handle(d.path()).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    h.addr_add(v4(10, 9, 0, 1), 16, br).unwrap();
    for i in 1..=8u8 {
        for j in 1..=250u8 {
            h.addr_add(v4(10, 9, i, j), 32, br).unwrap();
        }
    }
    let big = h.addrs(AF_INET).unwrap().len();
    assert!(big > 2000);

    // A reader that joins the groups and never reads.
    let mut stalled = SocketClient::connect(d.path()).unwrap();
    for g in [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE] {
        stalled.set_sockopt(SockOpt::AddMembership(g)).unwrap();
    }

    // A process in the middle of a dump, to be killed.
    let mut child = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "child_dumps_then_hangs",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = child.0.stdout.take().unwrap();
    let ready = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains(READY));
    assert!(ready, "the child did not start its dump");

    let sent = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // A client that sends 100,000 requests and never reads.
        let flooder = s.spawn(|| {
            let f = SocketClient::connect(d.path()).unwrap();
            let mut l = LinkRepr::default();
            l.header.index = 1;
            let req = common::request(RTM_GETLINK, NLM_F_ACK, 1, |w| l.emit(w));
            for _ in 0..100_000 {
                f.send(&req).unwrap();
                sent.fetch_add(1, Ordering::Relaxed);
            }
            f
        });

        // The well-behaved client.
        let mut killed = false;
        for i in 0..300u32 {
            if i == 50 {
                child.0.kill().unwrap();
                child.0.wait().unwrap();
                killed = true;
            }
            let mtu = 1400 + i % 100;
            h.link_set_mtu(br, mtu).unwrap();
            assert_eq!(h.link_get(br).unwrap().mtu, Some(mtu));
            let ip = v4(10, 9, 100, (i % 200) as u8 + 1);
            h.addr_add(ip, 32, br).unwrap();
            let e = h.addr_add(ip, 32, br).unwrap_err();
            assert_eq!(e.errno(), libc::EEXIST);
            let dst = v4(10, 9, 200, 0);
            let route = Route::to(dst, 24).via(v4(10, 9, 0, 254));
            h.route_add(&route).unwrap();
            assert_eq!(h.route_add(&route).unwrap_err().errno(), libc::EEXIST);
            h.route_del(&route).unwrap();
            h.addr_del(ip, 32, br).unwrap();
            assert_eq!(
                h.addr_del(ip, 32, br).unwrap_err().errno(),
                libc::EADDRNOTAVAIL
            );
            if i % 100 == 99 {
                assert_eq!(h.addrs(AF_INET).unwrap().len(), big, "a full dump");
            }
        }
        assert!(killed);
        let f = flooder.join().unwrap();
        assert_eq!(sent.load(Ordering::Relaxed), 100_000);

        // The flooder lost answers, and is told so once it reads.
        let mut f = f;
        let mut buf = Vec::new();
        let mut told = false;
        for _ in 0..200_000 {
            match f.recv(&mut buf, Some(Duration::from_secs(10))) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    told = true;
                    break;
                }
                Err(e) => panic!("the flooder's connection broke: {e}"),
            }
        }
        assert!(told, "the flooder hears ENOBUFS");
    });

    // The stalled reader lost notifications (ENOBUFS) and works again.
    let mut buf = Vec::new();
    let mut told = false;
    while !told {
        match stalled.recv(&mut buf, Some(Duration::from_secs(10))) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => told = true,
            Err(e) => panic!("the stalled reader's connection broke: {e}"),
        }
    }
    assert!(told, "the stalled reader hears ENOBUFS");
    let mut l = LinkRepr::default();
    l.header.index = br;
    stalled
        .send(&common::request(RTM_GETLINK, NLM_F_ACK, 5, |w| l.emit(w)))
        .unwrap();
    assert_eq!(
        common::errno_of(&common::answers(&mut stalled, 5), 5),
        Some(0)
    );
    // And a newcomer is served.
    let mut again = SocketClient::handle(d.path()).unwrap();
    assert_eq!(again.if_nametoindex("br0").unwrap(), br);
}

/// A stack that panics on some requests: adding a route, and dumping
/// addresses; its links are `MemStack`'s.
struct Panicky(nlq_mem::MemStack);

impl nlq::stack::Stack for Panicky {
    fn links(
        &self,
        start: usize,
        visit: nlq::stack::Visit<'_, LinkRepr>,
    ) -> nlq::stack::StackResult<()> {
        self.0.links(start, visit)
    }

    fn add_route(
        &mut self,
        _: &nlq::wire::RouteRepr,
        _: nlq::stack::CreateFlags,
        _: nlq::stack::Events<'_>,
    ) -> nlq::stack::StackResult<()> {
        panic!("a stack bug (on purpose)");
    }

    fn addrs(
        &self,
        _: u8,
        _: usize,
        _: nlq::stack::Visit<'_, nlq::wire::AddrRepr>,
    ) -> nlq::stack::StackResult<()> {
        panic!("a stack bug in a dump (on purpose)");
    }
}

/// A stack that panics answers that request with `EIO` (a dump that
/// panics after its first datagram would cost its client the connection)
/// and the daemon serves on: the same client, and others.
#[test]
fn a_panicking_stack_answers_eio_and_the_daemon_serves_on() {
    let dir = nlq_daemon::testing::TempDir::new("panicky");
    let path = dir.path().join("nlq.sock");
    let daemon =
        nlq_daemon::Daemon::bind(&path, Panicky(nlq_mem::MemStack::new()), Options::default())
            .expect("bind")
            .spawn()
            .expect("spawn");
    let link_of_lo = |c: &mut SocketClient, seq: u32| {
        c.send(&common::request(RTM_GETLINK, NLM_F_ACK, seq, |w| {
            w.put(&[0u8; 16])?;
            w.attr_str(IFLA_IFNAME, "lo")
        }))
        .unwrap();
        let got = common::answers(c, seq);
        assert!(
            got.iter().any(|d| Messages::new(d)
                .flatten()
                .any(|m| m.message_type() == RTM_NEWLINK)),
            "lo answered"
        );
    };
    let mut a = SocketClient::connect(daemon.path()).unwrap();
    // `10.9.0.0/16 dev lo`: family, lengths, TOS, main table, boot, link
    // scope, unicast, no flags.
    a.send(&common::request(
        RTM_NEWROUTE,
        NLM_F_ACK | NLM_F_CREATE,
        7,
        |w| {
            w.put(&[AF_INET, 16, 0, 0, 254, 3, 253, 1, 0, 0, 0, 0])?;
            w.attr(RTA_DST, &[10, 9, 0, 0])?;
            w.attr_u32(RTA_OIF, 1)
        },
    ))
    .unwrap();
    let got = common::answers(&mut a, 7);
    assert_eq!(common::errno_of(&got, 7), Some(nlq::errno::EIO));
    // The same client, then another, are served.
    link_of_lo(&mut a, 8);
    let mut b = SocketClient::connect(daemon.path()).unwrap();
    link_of_lo(&mut b, 1);
    // A dump that panics as it starts: answered EIO too.
    let mut c = SocketClient::connect(daemon.path()).unwrap();
    c.send(&common::request(RTM_GETADDR, NLM_F_DUMP, 1, |w| {
        w.put(&[AF_INET])
    }))
    .unwrap();
    let got = common::answers(&mut c, 1);
    assert_eq!(common::errno_of(&got, 1), Some(nlq::errno::EIO));
    link_of_lo(&mut c, 2);
    link_of_lo(&mut b, 2);
    link_of_lo(&mut a, 9);
}
