//! Fuzz target `server_peers`: datagrams that connections send each other
//! and to groups (`nlq::server::Server::send_to`), mixed with requests to
//! the kernel's side, over the in-memory stack.
//!
//! Input: records of a header of 7 bytes and a datagram: byte 0 the
//! sending connection (of four: 0 and 1 have the admin right, 2 and 3 do
//! not; 1 and 3 joined groups 1 and 2), byte 1 the destination port (0:
//! the kernel, 1–4: that connection's port, else a port nobody has),
//! bytes 2–5 `nl_groups` (little-endian), byte 6 the datagram's length
//! (cut to what is left).
//!
//! Checks, besides no panic:
//! - `EPERM` exactly when a connection without the right names a port or
//!   a group; `ECONNREFUSED` exactly for a port no bound connection has;
//! - a group reaches every member but the sender and the named port, a
//!   port its connection; each copy is the datagram as sent, from the
//!   sender's port, with the group in the address (on the port's copy
//!   too); nobody else hears anything of it;
//! - what the kernel's side is handed (port 0) is then answered without
//!   panic, and everything queued reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq::errno::Errno;
use nlq::server::{Delivery, Server};
use nlq_mem::MemStack;

const CONNS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let mut server = Server::new(MemStack::new());
    let conns: Vec<_> = (0..CONNS)
        .map(|i| server.connect_as(1000 + i as u32))
        .collect();
    for (i, &c) in conns.iter().enumerate() {
        server.set_admin(c, i < 2);
        server.set_credentials(c, 1000 + i as u32, i as u32, 7);
        if i % 2 == 1 {
            server.bind(c, 0, 0b11).expect("bind");
        }
    }
    let mut rest = data;
    while let Some((head, tail)) = rest.split_first_chunk::<7>() {
        let len = usize::from(head[6]).min(tail.len());
        let (datagram, tail) = tail.split_at(len);
        rest = tail;
        let from_i = usize::from(head[0]) % CONNS;
        let from = conns[from_i];
        let port = match head[1] {
            0 => 0,
            p @ 1..=4 => server.port(conns[usize::from(p) - 1]),
            p => 50_000 + u32::from(p),
        };
        let groups = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        let group = if groups == 0 {
            0
        } else {
            groups.trailing_zeros() + 1
        };
        // The sender is bound by its send (autobind) before the port is
        // looked up: it may send to itself.
        let target = conns.iter().position(|&c| {
            port != 0 && server.port(c) == port && (server.is_bound(c) || c == from)
        });
        let members: Vec<bool> = conns
            .iter()
            .map(|&c| group != 0 && group <= 64 && server.groups(c) & (1u64 << (group - 1)) != 0)
            .collect();
        let before: Vec<usize> = conns.iter().map(|&c| server.queued_datagrams(c)).collect();
        let r = server.send_to(from, port, groups, datagram);
        let needs_right = port != 0 || group != 0;
        if needs_right && from_i >= 2 {
            assert_eq!(r, Err(Errno::EPERM));
            for (i, &c) in conns.iter().enumerate() {
                assert_eq!(
                    server.queued_datagrams(c),
                    before[i],
                    "refused, nothing sent"
                );
            }
            continue;
        }
        if port != 0 && target.is_none() {
            assert_eq!(r, Err(Errno::ECONNREFUSED));
        } else {
            assert_eq!(
                r,
                Ok(if port == 0 {
                    Delivery::ToKernel
                } else {
                    Delivery::Delivered
                })
            );
        }
        for (i, &c) in conns.iter().enumerate() {
            let reached = (i != from_i && members[i] && Some(i) != target)
                || (Some(i) == target && r.is_ok());
            let got = server.queued_datagrams(c) - before[i];
            // A member whose buffer is full loses its copy (ENOBUFS).
            assert!(got <= usize::from(reached), "conn {i} got {got}");
            if got == 1 {
                // Read everything before it (an earlier loss reads as
                // ENOBUFS once), then the copy itself.
                let mut read = 0;
                while read < before[i] {
                    match server.next_datagram(c, 1 << 16) {
                        Ok(Some(_)) => read += 1,
                        Ok(None) => panic!("fewer datagrams than queued"),
                        Err(_) => {}
                    }
                }
                let d = loop {
                    match server.next_datagram(c, 1 << 16) {
                        Ok(d) => break d.expect("the copy"),
                        Err(_) => continue,
                    }
                };
                assert_eq!(d.bytes.as_ref(), datagram);
                assert_eq!(d.group, group);
                assert_eq!(d.sender.port, server.port(from));
                assert_eq!(d.sender.pid, 1000 + from_i as u32);
            }
        }
        if r == Ok(Delivery::ToKernel) {
            server.handle_datagram(from, datagram);
        }
    }
    for &c in &conns {
        while let Ok(Some(_)) = server.next_datagram(c, 1 << 16) {}
    }
});
