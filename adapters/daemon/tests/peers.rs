//! Sockets of the daemon talking to each other (`SendTo`), and control
//! requests that must first catch a socket connection up.
//!
//! What real programs see of this is compared with the kernel in
//! `programs::sockets_reach_each_other_as_on_the_kernel`; these tests need
//! no root and look at the daemon's own protocol.

mod common;

use std::time::Duration;

use nlq::wire::consts::*;
use nlq::wire::Messages;
use nlq_daemon::client::{ControlClient, SocketClient};
use nlq_daemon::Options;
use nlq_remote::Request;

/// An `RTM_GETLINK` for `lo` asking for an ACK.
fn getlink(seq: u32) -> Vec<u8> {
    common::request(RTM_GETLINK, NLM_F_ACK, seq, |w| {
        w.put(&[0u8; 16]).map(|_| ())
    })
}

/// The seqs of the ACKs in what `c` has to read now.
fn acks_waiting(c: &mut SocketClient) -> Vec<u32> {
    let mut seqs = Vec::new();
    let mut buf = Vec::new();
    while c.recv(&mut buf, Some(Duration::ZERO)).is_ok() {
        for m in Messages::new(&buf).flatten() {
            if m.message_type() == NLMSG_ERROR {
                seqs.push(m.seq());
            }
        }
    }
    seqs
}

#[test]
fn a_sync_handles_what_a_busy_turn_left_unread() {
    // One datagram a turn: the sync comes while most are still unread.
    let d = common::spawn_with(
        "peers-sync",
        Options {
            reads_per_turn: 1,
            requests_per_turn: 1,
            ..Options::default()
        },
    );
    let mut c = SocketClient::connect(d.path()).unwrap();
    for round in 0..5u32 {
        let seqs: Vec<u32> = (1..=30).map(|i| round * 100 + i).collect();
        for &seq in &seqs {
            c.send(&getlink(seq)).unwrap();
        }
        ControlClient::connect(d.path())
            .unwrap()
            .request(&Request::Sync { cookie: c.cookie() })
            .unwrap();
        // Everything sent was handled before the answer: all is there.
        assert_eq!(acks_waiting(&mut c), seqs, "round {round}");
    }
}

#[test]
fn datagrams_reach_groups_and_ports_with_their_sender() {
    let d = common::spawn("peers-send");
    let mut a = SocketClient::connect(d.path()).unwrap();
    let mut b = SocketClient::connect(d.path()).unwrap();
    let mut c = SocketClient::connect(d.path()).unwrap();
    let (pa, _) = a.bind(0, 1).unwrap();
    let (pb, _) = b.bind(0, 1).unwrap();
    c.bind(0, 0).unwrap();
    let mut buf = Vec::new();

    // To group 1 and the kernel: a hears b's datagram from b's port; b
    // gets the kernel's answer and not its own datagram.
    b.send_to(0, 1, &getlink(7)).unwrap();
    let r = a.recv(&mut buf, Some(Duration::ZERO)).unwrap();
    assert_eq!((r.group, r.sender.port), (1, pb));
    assert_eq!(r.sender.pid, std::process::id());
    assert_eq!(buf, getlink(7));
    assert_eq!(acks_waiting(&mut a), Vec::<u32>::new());
    assert_eq!(acks_waiting(&mut b), vec![7]);

    // To a's port: a gets it (no group), the kernel does not.
    b.send_to(pa, 0, &getlink(8)).unwrap();
    let r = a.recv(&mut buf, Some(Duration::ZERO)).unwrap();
    assert_eq!((r.group, r.sender.port, r.len), (0, pb, 32));
    assert_eq!(acks_waiting(&mut b), Vec::<u32>::new());
    assert_eq!(acks_waiting(&mut c), Vec::<u32>::new());

    // A port nobody has.
    let e = b.send_to(0x7fff_1234, 0, &getlink(9)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
    // The kernel's own answers carry no sender.
    a.send(&getlink(10)).unwrap();
    let r = a.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(r.sender, nlq::server::Sender::KERNEL);
}
