//! End to end: a socket connection and control requests through a daemon.

mod common;

use std::time::Duration;

use nlq::ioctl::{ifreq, ifreq_int, SIOCGIFINDEX};
use nlq::wire::consts::*;
use nlq::wire::{LinkRepr, Messages};
use nlq_daemon::client::{ControlClient, SocketClient};

#[test]
fn welcome_dump_and_control() {
    let d = common::spawn("basic");
    let mut c = SocketClient::connect(d.path()).unwrap();
    assert_ne!(c.port(), 0);
    assert_ne!(c.cookie(), 0);
    let (port, groups) = c.name().unwrap();
    assert_eq!((port, groups), (c.port(), 0));
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
                .map(|m| (m.kind(), m.seq(), m.port()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(links.first(), Some(&(RTM_NEWLINK, 1, c.port())));
    assert_eq!(links.last().map(|l| l.0), Some(NLMSG_DONE));
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
