//! Only root and the daemon's user may change the stack: anyone else can
//! read it, and gets `EPERM` for changes (the kernel's `CAP_NET_ADMIN`
//! rule), on netlink requests and on `SIOCS*` ioctls alike.
//!
//! The other user is a thread that drops to uid 65534 with the raw
//! `setresuid` system call (credentials are per thread on Linux; glibc's
//! wrapper would change every thread). That needs root: without it the
//! test is skipped with a reason, unless `CI=true`, where it fails.

mod common;

use nlq::emulate::ioctl::{ifreq, ifreq_int, ifreq_set_int, SIOCGIFMTU, SIOCSIFMTU};
use nlq::wire::consts::*;
use nlq::wire::consts::{SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE};
use nlq::wire::LinkRepr;
use nlq_daemon::client::{ControlClient, SocketClient};

use common::{as_nobody, root_or_skip, TO_ACT_AS_ANOTHER_USER};

fn set_mtu(index: u32, mtu: u32, seq: u32) -> Vec<u8> {
    common::request(RTM_NEWLINK, NLM_F_ACK, seq, |w| {
        let mut l = LinkRepr::default();
        l.header.index = index;
        l.mtu = Some(mtu);
        l.emit(w)
    })
}

fn get_link(index: u32, seq: u32) -> Vec<u8> {
    common::request(RTM_GETLINK, NLM_F_ACK, seq, |w| {
        let mut l = LinkRepr::default();
        l.header.index = index;
        l.emit(w)
    })
}

#[test]
fn a_non_owner_reads_but_cannot_change() {
    if !root_or_skip(
        "a_non_owner_reads_but_cannot_change",
        TO_ACT_AS_ANOTHER_USER,
    ) {
        return;
    }
    let d = common::spawn("perm");
    let path = d.path().to_path_buf();
    let (req_errno, get_errno, ioctl_set, ioctl_get, force, plain) = as_nobody(|| {
        let mut c = SocketClient::connect(&path).expect("the socket is open to every user");
        c.send(&set_mtu(1, 1400, 1)).unwrap();
        let req_errno = common::errno_of(&common::answers(&mut c, 1), 1);
        c.send(&get_link(1, 2)).unwrap();
        let get_errno = common::errno_of(&common::answers(&mut c, 2), 2);
        let mut ctl = ControlClient::connect(&path).unwrap();
        let mut ifr = ifreq("lo");
        ifreq_set_int(&mut ifr, 1300);
        let ioctl_set = ctl
            .ioctl(SIOCSIFMTU, &ifr)
            .map(|_| ())
            .map_err(|e| e.raw_os_error());
        let ioctl_get = ctl.ioctl(SIOCGIFMTU, &ifreq("lo")).map(|r| ifreq_int(&r));
        let force = c
            .set_option(SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20)
            .map_err(|e| e.raw_os_error());
        let plain = c
            .set_option(SOL_SOCKET, SO_RCVBUF, 1 << 16)
            .map_err(|e| e.raw_os_error());
        (
            req_errno,
            get_errno,
            ioctl_set,
            ioctl_get.map_err(|e| e.raw_os_error()),
            force,
            plain,
        )
    });
    assert_eq!(req_errno, Some(libc::EPERM));
    assert_eq!(get_errno, Some(0), "reading is allowed");
    assert_eq!(ioctl_set, Err(Some(libc::EPERM)));
    assert_eq!(ioctl_get, Ok(65536), "lo keeps its MTU");
    assert_eq!(force, Err(Some(libc::EPERM)));
    assert_eq!(plain, Ok(()));
    // The owner (root here) may.
    let mut c = SocketClient::connect(d.path()).unwrap();
    c.send(&set_mtu(1, 1400, 1)).unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut c, 1), 1), Some(0));
    let mut ctl = ControlClient::connect(d.path()).unwrap();
    let mut ifr = ifreq("lo");
    ifreq_set_int(&mut ifr, 1300);
    ctl.ioctl(SIOCSIFMTU, &ifr).unwrap();
    assert_eq!(
        ifreq_int(&ctl.ioctl(SIOCGIFMTU, &ifreq("lo")).unwrap()),
        1300
    );
}

#[test]
fn the_socket_file_is_open_to_everyone() {
    let d = common::spawn("perm-mode");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(d.path()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);
}

const CHILD_ENV: &str = "NLQ_DAEMON_TEST_SOCKET";

/// Run as a child process by `root_without_cap_net_admin_gets_eperm`:
/// tries to change the stack, prints the errno.
#[test]
#[ignore = "a helper run as a child process by root_without_cap_net_admin_gets_eperm"]
fn child_changes_the_stack() {
    let path = std::env::var(CHILD_ENV).expect("run by its parent test");
    let mut h = SocketClient::handle(&path).unwrap();
    let errno = match h.link_set_mtu("lo", 1400) {
        Ok(()) => 0,
        Err(e) => e.errno().get(),
    };
    println!("CHILD-ERRNO={errno}");
}

/// Permission is `CAP_NET_ADMIN`, not uid 0: a root process without it
/// (as a container's, or `setpriv --bounding-set=-all`) gets `EPERM`, as
/// the kernel answers it; root with it may change the stack.
#[test]
fn root_without_cap_net_admin_gets_eperm() {
    if !root_or_skip(
        "root_without_cap_net_admin_gets_eperm",
        TO_ACT_AS_ANOTHER_USER,
    ) {
        return;
    }
    let d = common::spawn("caps");
    let run = |setpriv: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(setpriv)
            .arg("--")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_changes_the_stack",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_ENV, d.path())
            .output()
            .expect("setpriv runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("CHILD-ERRNO="))
            .and_then(|e| e.trim().parse::<i32>().ok())
            .unwrap_or_else(|| panic!("no answer from the child: {text}"))
    };
    assert_eq!(
        run(&["--inh-caps=-all", "--bounding-set=-all"]),
        libc::EPERM,
        "root without CAP_NET_ADMIN"
    );
    assert_eq!(
        run(&["--bounding-set=-all,+net_admin"]),
        0,
        "root with only CAP_NET_ADMIN"
    );
}

/// A subscriber without rights that never reads holds the daemon to about
/// its receive buffer (counted once, in the server's queue; the socket
/// holds at most `UNPRIVILEGED_SOCKET_BUFFER`), then gets `ENOBUFS`.
#[test]
fn an_unprivileged_subscriber_is_counted_once() {
    if !root_or_skip(
        "an_unprivileged_subscriber_is_counted_once",
        TO_ACT_AS_ANOTHER_USER,
    ) {
        return;
    }
    let d = common::spawn("perm-once");
    let path = d.path().to_path_buf();
    let mut sub = as_nobody(|| {
        let mut c = SocketClient::connect(&path).unwrap();
        c.set_option(SOL_SOCKET, SO_RCVBUF, 1 << 20).unwrap();
        c.bind(0, 1 << (RTNLGRP_LINK - 1)).unwrap();
        c
    });
    let rcvbuf = 2 * (1usize << 20);
    // Far more link notifications than that.
    let mut root = SocketClient::connect(&path).unwrap();
    for i in 0..6_000u32 {
        root.send(&set_mtu(1, 1500 + i % 2, i + 10)).unwrap();
        let _ = common::answers(&mut root, i + 10);
    }
    // What the socket held, then ENOBUFS (the reader fell behind).
    let (mut held, mut datagrams) = (0usize, 0usize);
    let mut buf = Vec::new();
    let timeout = Some(std::time::Duration::from_secs(10));
    loop {
        match sub.recv(&mut buf, timeout) {
            Ok(r) => {
                held += r.len;
                datagrams += 1;
            }
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "{e}");
                break;
            }
        }
    }
    // Then what the server queued, up to a last change made now (heard,
    // or lost again with ENOBUFS if the queue is still full).
    root.send(&set_mtu(1, 1400, 9)).unwrap();
    let _ = common::answers(&mut root, 9);
    'queue: loop {
        match sub.recv(&mut buf, timeout) {
            Ok(r) => {
                held += r.len;
                datagrams += 1;
                for m in nlq::wire::Messages::new(&buf).flatten() {
                    let l = LinkRepr::parse_payload(m.payload());
                    if l.is_ok_and(|l| l.mtu == Some(1400)) {
                        break 'queue;
                    }
                }
            }
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "{e}");
                break;
            }
        }
    }
    // As the kernel counts a datagram's truesize against the receive
    // buffer, the server counts its bytes and DATAGRAM_OVERHEAD; the
    // socket adds at most UNPRIVILEGED_SOCKET_BUFFER.
    let counted = held + datagrams * nlq::server::DATAGRAM_OVERHEAD;
    let bound = rcvbuf + 2 * nlq_daemon::daemon::UNPRIVILEGED_SOCKET_BUFFER;
    eprintln!("held {held} bytes in {datagrams} datagrams: {counted} of {bound}");
    assert!(counted <= bound, "counted twice: {counted} > {bound}");
    assert!(held > rcvbuf / 2, "{held} bytes: the queue was not used");
}
