//! `nlq serve --state FILE`: the configuration survives the daemon being
//! killed (SIGKILL right after the last acknowledged change), and a
//! corrupt state file keeps the daemon from starting (the file is left as
//! it was).

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nlinline::Route;
use nlq::wire::consts::*;
use nlq::wire::{Messages, Writer};
use nlq_daemon::client::SocketClient;
use nlq_daemon::testing::TempDir;

/// A daemon process, killed when dropped (also when a test fails).
struct Served(Child);

impl Served {
    /// SIGKILL, and wait for it to be gone.
    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(sock: &Path, state: &Path) -> Served {
    let child = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .arg("serve")
        .arg("--socket")
        .arg(sock)
        .arg("--state")
        .arg(state)
        .stderr(Stdio::null())
        .spawn()
        .expect("nlq starts");
    let child = Served(child);
    // Ready once a connection is welcomed.
    let t0 = Instant::now();
    while SocketClient::connect(sock).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the daemon never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The link, address and route dumps, messages without seq and port.
fn dumps(sock: &Path) -> Vec<Vec<(u16, Vec<u8>)>> {
    let mut c = SocketClient::connect(sock).unwrap();
    c.reader_size(32_768).unwrap();
    let mut out = Vec::new();
    for (i, kind) in [RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE]
        .into_iter()
        .enumerate()
    {
        let seq = 100 + i as u32;
        let mut w = Writer::new(Vec::new());
        w.message(kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0, |w| {
            w.put(&[AF_UNSPEC])
        })
        .unwrap();
        c.send(w.buffer()).unwrap();
        let mut msgs = Vec::new();
        let mut buf = Vec::new();
        'dump: loop {
            c.recv(&mut buf, Some(Duration::from_secs(10))).unwrap();
            for m in Messages::new(&buf).flatten() {
                if m.kind() == NLMSG_DONE {
                    break 'dump;
                }
                msgs.push((m.kind(), m.payload().to_vec()));
            }
        }
        out.push(msgs);
    }
    out
}

#[test]
fn the_configuration_survives_sigkill() {
    let dir = TempDir::new("state");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = SocketClient::handle(&sock).unwrap();
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
    // The last change, acknowledged, then the daemon dies at once.
    h.route_add(&Route::default_via(ip("192.0.2.254"))).unwrap();
    let before = dumps(&sock);
    daemon.kill();
    drop(h);
    assert!(before[0].len() >= 3 && before[1].len() >= 4 && before[2].len() >= 5);

    let mut daemon = serve(&sock, &state);
    let after = dumps(&sock);
    for (what, (a, b)) in ["links", "addresses", "routes"]
        .iter()
        .zip(after.iter().zip(&before))
    {
        assert_eq!(a, b, "{what} differ after the restart");
    }
    // `nlq decode` prints the state file.
    let out = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .arg("decode")
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("state file header") && text.contains("name br0"),
        "{text}"
    );
    daemon.kill();
}

#[test]
fn a_corrupt_state_file_is_refused() {
    let dir = TempDir::new("state-corrupt");
    let sock = dir.path().join("nlq.sock");
    let state = dir.path().join("state");
    let mut daemon = serve(&sock, &state);
    let mut h = SocketClient::handle(&sock).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    h.link_set_up(br, true).unwrap();
    h.addr_add(ip("192.0.2.1"), 24, br).unwrap();
    daemon.kill();
    let mut bytes = std::fs::read(&state).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&state, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .arg("serve")
        .arg("--socket")
        .arg(&sock)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("state file") && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        bytes,
        "the file is left alone"
    );
    // Cut short: refused too.
    std::fs::write(&state, &bytes[..mid]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nlq"))
        .args(["serve", "--socket"])
        .arg(&sock)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
