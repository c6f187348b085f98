//! End to end: a socket connection and control requests through a daemon.

mod common;

use std::time::Duration;

use nlq::emulate::ioctl::{ifreq, ifreq_int, SIOCGIFINDEX};
use nlq::wire::consts::*;
use nlq::wire::{LinkRepr, Messages};
use nlq_daemon::client::{ControlClient, SocketClient};

#[test]
fn welcome_dump_and_control() {
    let d = common::spawn("basic");
    let mut c = SocketClient::connect(d.path()).unwrap();
    assert_ne!(c.port(), 0);
    assert_ne!(c.cookie(), 0);
    // Unbound, getsockname says port 0 (as on Linux); the port is this
    // process's id, as the kernel's autobind gives it first.
    assert_eq!(c.name().unwrap(), (0, 0));
    assert_eq!(c.port(), std::process::id());
    // A link dump, as `ip link` sends it: 1-byte body, padded.
    let mut req = common::request(RTM_GETLINK, NLM_F_DUMP, 1, |w| w.put(&[AF_UNSPEC]));
    req.resize(152, 0);
    c.send(&req).unwrap();
    let got = common::answers(&mut c, 1);
    let links: Vec<_> = got
        .iter()
        .flat_map(|d| {
            Messages::new(d)
                .flatten()
                .map(|m| (m.message_type(), m.seq(), m.port()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(links.first(), Some(&(RTM_NEWLINK, 1, c.port())));
    assert_eq!(links.last().map(|l| l.0), Some(NLMSG_DONE));
    assert_eq!(c.name().unwrap(), (c.port(), 0), "bound by its first send");
    // Control: ioctl and nameindex.
    let mut ctl = ControlClient::connect(d.path()).unwrap();
    let r = ctl.ioctl(SIOCGIFINDEX, &ifreq("lo")).unwrap();
    assert_eq!(ifreq_int(&r), 1);
    assert_eq!(ctl.nameindex().unwrap(), vec![(1, "lo".to_string())]);
    // Nothing else waits.
    let mut buf = Vec::new();
    let e = c
        .recv(&mut buf, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn nlinline_handle_over_the_daemon() {
    let d = common::spawn("handle");
    let mut h = SocketClient::handle(d.path()).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    h.link_set_mtu(br, 1400).unwrap();
    assert_eq!(h.if_nametoindex("br0").unwrap(), br);
    let e = h.link_del("nosuch").unwrap_err();
    assert_eq!(e.errno(), libc::ENODEV);
    let _ = LinkRepr::default();
}

#[test]
fn silent_and_bad_hellos_block_nothing() {
    use std::os::fd::AsFd;
    let d = common::spawn("hello");
    // Connected, and never says a word.
    let silent = nlq_daemon::sys::connect_seqpacket(d.path()).unwrap();
    // Says something that is not a hello: closed by the daemon.
    let bad = nlq_daemon::sys::connect_seqpacket(d.path()).unwrap();
    nlq_daemon::sys::send(bad.as_fd(), b"GET / HTTP/1.0\r\n\r\n", false).unwrap();
    let mut buf = [0u8; 64];
    assert!(nlq_daemon::sys::poll_readable(bad.as_fd(), Some(Duration::from_secs(10))).unwrap());
    let flags = nlq_daemon::sys::RecvFlags {
        peek: false,
        dontwait: true,
    };
    assert_eq!(
        nlq_daemon::sys::recv(bad.as_fd(), &mut buf, flags).unwrap(),
        0,
        "the end of the connection"
    );
    // Meanwhile others are served.
    let mut h = SocketClient::handle(d.path()).unwrap();
    assert_eq!(h.if_nametoindex("lo").unwrap(), 1);
    drop(silent);
}
