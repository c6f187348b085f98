//! Fuzz target `daemon_control`: the daemon's answers to control requests
//! (`nlq_daemon::control::Sockets::handle`), what every local process can
//! send it, over the in-memory stack.
//!
//! Input: one option byte, then datagrams, each a `u16` little-endian
//! length and that many bytes (a last datagram is cut to what is left).
//! Option bits: `0x01` the peer may change the stack (root or the daemon's
//! user); `0x02` the socket connections joined every group.
//!
//! Every input starts from the same stack (a bridge and a dummy, up, with
//! IPv4 and IPv6 addresses and a route), served by a server with two
//! socket connections registered under the cookies 1 and 2 (so that
//! requests naming them get past the cookie check).
//!
//! Checks, besides no panic:
//! - every reply is a status (0 or a positive errno) and, on success, the
//!   payload its request promises: 8 bytes for `Bind` and `Name` (the
//!   port (0 until bound) and groups 1–32 the server reports), 4 for
//!   `GetOption` (8 for the membership list), none
//!   for `SetOption` and `ReaderSize`, an `ifreq` for `Ioctl`, `ifc_len`
//!   then whole records for `IfConf` (at most the buffer's worth), records
//!   that decode for `IfAddrs` and `NameIndex`, text for `ProcNetDev`;
//! - bytes that are not a request are `EINVAL`; a cookie that names no
//!   connection is `EBADF`; a `SIOCS*` ioctl from a peer without the right
//!   is `EPERM` and leaves the stack as it was;
//! - the reader size stays within 32 KiB and never shrinks;
//! - what the server then has for the socket connections reads without
//!   error (notifications of ioctl changes).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nlq::emulate::ioctl::IFREQ_SIZE;
use nlq::errno::{EBADF, EINVAL, EPERM};
use nlq::server::MAX_READER_SIZE;
use nlq::server::{Server, SockOpt, MAX_GROUP};
use nlq::stack::Stack;
use nlq_daemon::control::Sockets;
use nlq_mem::MemStack;
use nlq_remote::{self as remote, Request};

/// The stack every input starts from, built once.
fn base() -> &'static MemStack {
    static BASE: OnceLock<MemStack> = OnceLock::new();
    BASE.get_or_init(|| {
        let shared = nlinline::Shared::new(MemStack::new());
        let mut h = nlinline::Handle::in_process(&shared);
        let br = h.link_add("br0", "bridge", &[], None).expect("bridge");
        let d = h.link_add("d0", "dummy", &[], None).expect("dummy");
        for l in [br, d] {
            h.link_set_up(l, true).expect("up");
        }
        h.link_set_up("lo", true).expect("lo up");
        h.addr_add("192.0.2.1".parse().unwrap(), 24, br)
            .expect("addr");
        h.addr_add("192.0.2.2".parse().unwrap(), 24, br)
            .expect("addr");
        h.addr_add("2001:db8::1".parse().unwrap(), 64, d)
            .expect("addr6");
        h.route_add(
            &nlinline::Route::to("10.0.0.0".parse().unwrap(), 8)
                .via("192.0.2.254".parse().unwrap()),
        )
        .expect("route");
        drop(h);
        shared.with(|s| s.stack().clone())
    })
}

fn datagrams(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = data.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
        let (d, rest) = rest.split_at(len);
        out.push(d);
        data = rest;
    }
    out
}

fn links(s: &MemStack) -> Vec<nlq::wire::LinkRepr> {
    let mut out = Vec::new();
    let _ = s.links(0, &mut |l| {
        out.push(l.clone());
        std::ops::ControlFlow::Continue(())
    });
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    let allowed = opts & 1 != 0;
    let mut server = Server::new(base().clone());
    let mut socks = Sockets::default();
    let conns = [server.connect(), server.connect()];
    for (i, c) in conns.iter().enumerate() {
        socks.insert(i as u64 + 1, *c);
        if opts & 2 != 0 {
            for g in 1..=MAX_GROUP {
                server
                    .set_option(*c, SockOpt::AddMembership(g))
                    .expect("join");
            }
        }
    }
    for d in datagrams(rest) {
        let before = links(server.stack());
        let readers: Vec<usize> = [1u64, 2]
            .iter()
            .map(|c| server.reader_size(socks.get(*c).expect("socket")))
            .collect();
        let mut out = Vec::new();
        socks.handle(&mut server, allowed, d, &mut out);
        let reply = remote::parse_reply(&out).map_err(|e| e.0);
        if let Err(e) = reply {
            assert!(e > 0, "a status is a positive errno");
            assert_eq!(out.len(), 4, "an error carries nothing");
        }
        match Request::parse(d) {
            Err(_) => assert_eq!(reply, Err(EINVAL)),
            Ok(req) => {
                let cookie = match req {
                    Request::Bind { cookie, .. }
                    | Request::Name { cookie }
                    | Request::SetOption { cookie, .. }
                    | Request::GetOption { cookie, .. }
                    | Request::ReaderSize { cookie, .. } => Some(cookie),
                    _ => None,
                };
                if cookie.is_some_and(|c| !socks.contains(c)) {
                    assert_eq!(reply, Err(EBADF));
                }
                if req.changes_state() && !allowed {
                    assert_eq!(reply, Err(EPERM));
                    assert_eq!(
                        links(server.stack()),
                        before,
                        "a refused ioctl changes nothing"
                    );
                }
                if let Ok(p) = reply {
                    match req {
                        Request::Bind { cookie, .. } | Request::Name { cookie } => {
                            let conn = socks.get(cookie).expect("socket");
                            // Port 0 until bound (bind, or a first send).
                            let port = if server.is_bound(conn) {
                                server.port(conn)
                            } else {
                                0
                            };
                            let mut want = port.to_ne_bytes().to_vec();
                            want.extend((server.groups(conn) as u32).to_ne_bytes());
                            assert_eq!(p, &want[..]);
                        }
                        // The membership list is the whole bitmap.
                        Request::GetOption {
                            level: 270,
                            name: 9,
                            ..
                        } => assert_eq!(p.len(), 8),
                        Request::GetOption { .. } => assert_eq!(p.len(), 4),
                        Request::SetOption { .. }
                        | Request::ReaderSize { .. }
                        | Request::Sync { .. } => {
                            assert!(p.is_empty())
                        }
                        Request::Ioctl { .. } => assert_eq!(p.len(), IFREQ_SIZE),
                        Request::IfConf { len } => {
                            let (n, recs) = remote::parse_u32(p).expect("ifc_len");
                            assert_eq!(recs.len() % IFREQ_SIZE, 0);
                            if let Some(l) = len {
                                assert!(recs.len() <= l as usize);
                                assert_eq!(n as usize, recs.len());
                            } else {
                                assert!(recs.is_empty());
                            }
                        }
                        Request::IfAddrs => {
                            remote::decode_ifaddrs(p).expect("records decode");
                        }
                        Request::NameIndex => {
                            remote::decode_nameindex(p).expect("links decode");
                        }
                        // The daemon's loop answers it; here it names
                        // nothing that could carry it.
                        Request::SendTo { .. } => panic!("a SendTo answered here"),
                        Request::ProcNetDev
                        | Request::ProcIfInet6
                        | Request::ProcIgmp
                        | Request::ProcIgmp6
                        | Request::ProcDevMcast => {
                            std::str::from_utf8(p).expect("text");
                        }
                    }
                }
            }
        }
        for (i, c) in [1u64, 2].iter().enumerate() {
            let r = server.reader_size(socks.get(*c).expect("socket"));
            assert!(r <= MAX_READER_SIZE.max(readers[i]) && r >= readers[i]);
        }
        for c in conns {
            let mut n = 0;
            while let Ok(Some(_)) | Err(_) = server.next_datagram(c, 32_768) {
                n += 1;
                assert!(n < 10_000, "the queue drains");
            }
        }
    }
});
