//! Bounds that keep one client from starving the others: connections that
//! never say hello are closed after a timeout; a user other than root
//! holds a bounded number of connections, and root keeps a reserve; a
//! datagram too large for any netlink socket gets `EMSGSIZE`, not
//! silence.
//!
//! The tests that act as another user need root (a thread drops to uid
//! 65534 with the raw `setresuid`); off root they skip with a reason,
//! unless `CI=true`.

mod common;

use std::os::fd::AsFd;
use std::time::Duration;

use common::{as_nobody, root_or_skip, TO_ACT_AS_ANOTHER_USER};
use nlq_daemon::client::SocketClient;
use nlq_daemon::{sys, Options};

/// True when the daemon closed `fd` within 10 s.
fn closed_by_daemon(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    if !sys::poll_readable(fd, Some(Duration::from_secs(10))).unwrap() {
        return false;
    }
    let mut b = [0u8; 64];
    let flags = sys::RecvFlags {
        peek: false,
        dontwait: true,
    };
    matches!(sys::recv(fd, &mut b, flags), Ok(0) | Err(_))
}

#[test]
fn a_connection_without_hello_is_closed() {
    let d = common::spawn_with(
        "hello",
        Options {
            hello_timeout: Duration::from_millis(200),
            ..Options::default()
        },
    );
    let mut h = SocketClient::handle(d.path()).unwrap();
    let silent = sys::connect_seqpacket(d.path()).unwrap();
    assert!(closed_by_daemon(silent.as_fd()), "still open");
    // Those that said hello are served.
    assert_eq!(h.if_nametoindex("lo").unwrap(), 1);
}

#[test]
fn a_user_holds_a_bounded_share_and_root_is_always_served() {
    if !root_or_skip(
        "a_user_holds_a_bounded_share_and_root_is_always_served",
        TO_ACT_AS_ANOTHER_USER,
    ) {
        return;
    }
    // Per user.
    let d = common::spawn_with(
        "per-user",
        Options {
            max_connections_per_user: 4,
            ..Options::default()
        },
    );
    let path = d.path().to_path_buf();
    as_nobody(|| {
        let held: Vec<_> = (0..4)
            .map(|_| SocketClient::connect(&path).expect("within the share"))
            .collect();
        assert!(SocketClient::connect(&path).is_err(), "a fifth connection");
        drop(held);
    });
    let _root: Vec<_> = (0..8)
        .map(|_| SocketClient::connect(&path).expect("root has no per-user cap"))
        .collect();
    drop(d);
    // In all, with a reserve for root.
    let d = common::spawn_with(
        "reserve",
        Options {
            max_connections: Some(12),
            root_reserve: 4,
            ..Options::default()
        },
    );
    let path = d.path().to_path_buf();
    let held = as_nobody(|| {
        let mut held = Vec::new();
        while let Ok(c) = SocketClient::connect(&path) {
            held.push(c);
            assert!(held.len() <= 8, "more than the limit less the reserve");
        }
        held
    });
    assert_eq!(held.len(), 8);
    let mut h = SocketClient::handle(&path).expect("root is served");
    assert_eq!(h.if_nametoindex("lo").unwrap(), 1);
}

#[test]
fn a_datagram_too_large_gets_emsgsize() {
    if !root_or_skip("a_datagram_too_large_gets_emsgsize", TO_ACT_AS_ANOTHER_USER) {
        return;
    }
    let d = common::spawn("oversize");
    let mut c = SocketClient::connect(d.path()).unwrap();
    // A send buffer that takes it (root may force one).
    sys::set_int_option(c.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20).unwrap();
    let big = vec![0u8; nlq_remote::MAX_REQUEST + 4];
    c.send(&big).unwrap();
    let mut buf = Vec::new();
    let e = c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE), "{e}");
    // The connection goes on.
    let req = common::request(
        nlq::wire::consts::RTM_GETLINK,
        nlq::wire::consts::NLM_F_DUMP,
        7,
        |w| w.put(&[0]),
    );
    c.send(&req).unwrap();
    let answers = common::answers(&mut c, 7);
    assert!(!answers.is_empty());
}

/// The replies to a request sent before a datagram too large come before
/// its `EMSGSIZE`, as on a netlink socket (the two sent back to back,
/// handled in one turn of the daemon).
#[test]
fn emsgsize_comes_after_the_replies_queued_before() {
    if !root_or_skip(
        "emsgsize_comes_after_the_replies_queued_before",
        TO_ACT_AS_ANOTHER_USER,
    ) {
        return;
    }
    let d = common::spawn("oversize-order");
    let mut c = SocketClient::connect(d.path()).unwrap();
    sys::set_int_option(c.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20).unwrap();
    let big = vec![0u8; nlq_remote::MAX_REQUEST + 4];
    // `lo` by index, with an ACK: its answers are queued at once.
    let mut ifinfomsg = [0u8; 16];
    ifinfomsg[4..8].copy_from_slice(&1i32.to_ne_bytes());
    let req = common::request(
        nlq::wire::consts::RTM_GETLINK,
        nlq::wire::consts::NLM_F_ACK,
        5,
        |w| w.put(&ifinfomsg),
    );
    for _ in 0..20 {
        c.send(&req).unwrap();
        c.send(&big).unwrap();
        let answers = common::answers(&mut c, 5);
        assert_eq!(answers.len(), 2, "the link, then the ACK");
        let mut buf = Vec::new();
        let e = c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE), "{e}");
    }
}

/// `count` route adds (11.x.y.0/24 dev `dev` scope link) in one datagram,
/// without ACKs.
fn many_route_adds(count: u32, dev: u32) -> Vec<u8> {
    use nlq::wire::consts::*;
    let mut out = Vec::new();
    for i in 0..count {
        let mut r = nlq::wire::RouteRepr::default();
        r.header.family = AF_INET;
        r.header.dst_len = 24;
        r.header.table = RT_TABLE_MAIN as u8;
        r.header.protocol = RTPROT_BOOT;
        r.header.scope = RT_SCOPE_LINK;
        r.header.route_type = RTN_UNICAST;
        r.dst = Some(std::net::Ipv4Addr::from(0x0b00_0000u32 + (i << 8)).into());
        r.oif = Some(dev);
        out.extend(common::request(
            RTM_NEWROUTE,
            NLM_F_CREATE | NLM_F_EXCL,
            i,
            |w| r.emit(w),
        ));
    }
    out
}

/// One client's datagram of 2,000 requests is handled over many turns of
/// the loop; another client's request is answered within the first
/// turns, and nothing of the first is lost.
#[test]
fn a_datagram_of_thousands_of_requests_does_not_hold_the_others() {
    use nlq::wire::consts::*;
    let dir = nlq_daemon::testing::TempDir::new("fair");
    let path = dir.path().join("nlq.sock");
    let mut d =
        nlq_daemon::Daemon::bind(&path, nlq_mem::MemStack::new(), Options::default()).unwrap();
    // Clients connect (and d0 is made) while a thread runs the loop.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (a, b) = std::thread::scope(|s| {
        let looping = s.spawn(|| d.run_until(&stop));
        let a = SocketClient::connect(&path).unwrap();
        let b = SocketClient::connect(&path).unwrap();
        let mut h = SocketClient::handle(&path).unwrap();
        let dev = h.link_add("d0", "dummy", &[], None).unwrap();
        h.link_set_up(dev, true).unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        looping.join().unwrap().unwrap();
        (a, b)
    });
    let routes = d.stack().route_count();
    sys::set_int_option(a.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 1 << 20).unwrap();
    a.send(&many_route_adds(2_000, 2)).unwrap();
    let get = common::request(RTM_GETLINK, 0, 9, |w| {
        let mut l = nlq::wire::LinkRepr::default();
        l.header.index = 1;
        l.emit(w)
    });
    b.send(&get).unwrap();
    let mut turns = 0;
    while !sys::poll_readable(b.as_fd(), Some(Duration::ZERO)).unwrap() {
        d.turn(Some(Duration::from_secs(1))).unwrap();
        turns += 1;
        assert!(turns <= 3, "the other client waits");
    }
    assert!(
        d.stack().route_count() < routes + 2_000,
        "all of the large datagram was handled before the other client's request"
    );
    for _ in 0..1_000 {
        if d.stack().route_count() == routes + 2_000 {
            return;
        }
        d.turn(Some(Duration::from_secs(1))).unwrap();
    }
    panic!("requests were lost: {} routes", d.stack().route_count());
}
