//! nlinline's answer handling against arbitrary answers.
//!
//! The input's first byte picks a helper (a GET, a dump of each family, a
//! batch); the rest is a series of answer datagrams (a `u16` length prefix
//! each) that a transport hands back one per `recv`, after writing the last
//! request's sequence number and the port id into every message header it
//! can frame (unless the datagram's length prefix has its top bit set), so
//! that the answers reach the parsing code. Checks: no panic, every call
//! returns (a transport out of answers times out), a batch gives one result
//! per request. Bits 3-4 of the first byte limit the room for answers (so
//! a batch keeps one to three requests in flight). With bit 5 set, the
//! datagrams go to a `Monitor` instead, read event by event until none is
//! left (errors included: a monitor goes on after one).
#![no_main]

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use nlinline::wire::consts::*;
use nlinline::{Batch, Group, Handle, Monitor, Route, Transport};

const PORT: u32 = 4321;

struct Replay {
    answers: VecDeque<(bool, Vec<u8>)>,
    last_seq: u32,
    /// Room for answers, in answers (0: no limit): keeps a batch's window
    /// small so that answers can come for requests not sent yet.
    room: usize,
}

impl Transport for Replay {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        // The last request's seq (a batch's last datagram ends with its last).
        let mut at = 0;
        while let Some(h) = datagram.get(at..at + 16) {
            self.last_seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
            let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
            if len < 16 {
                break;
            }
            at += (len + 3) & !3;
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut Vec<u8>, _t: Option<Duration>) -> io::Result<()> {
        let (raw, mut d) = self.answers.pop_front().ok_or(io::ErrorKind::TimedOut)?;
        if !raw {
            let mut at = 0;
            while let Some(h) = d.get_mut(at..at + 16) {
                let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
                h[8..12].copy_from_slice(&self.last_seq.to_ne_bytes());
                h[12..16].copy_from_slice(&PORT.to_ne_bytes());
                if len < 16 {
                    break;
                }
                at += (len + 3) & !3;
            }
        }
        *buf = d;
        Ok(())
    }

    fn port(&self) -> u32 {
        PORT
    }

    fn reserve_replies(&mut self, _bytes: usize) -> io::Result<Option<usize>> {
        Ok((self.room > 0).then_some(self.room * 2048))
    }

    fn join_group(&mut self, _group: u32) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let mut answers = VecDeque::new();
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = u16::from_le_bytes(*len);
        let n = usize::from(len & 0x7fff).min(tail.len());
        answers.push_back((len & 0x8000 != 0, tail[..n].to_vec()));
        rest = &tail[n..];
    }
    let t = Replay {
        answers,
        last_seq: 0,
        room: usize::from(pick >> 3) % 4,
    };
    if pick & 0x20 != 0 {
        let mut m = Monitor::new(t, &Group::ALL).unwrap();
        // Each call takes at least one message or one datagram.
        for _ in 0..=data.len() {
            if let Ok(None) = m.next(Duration::ZERO) {
                return;
            }
        }
        panic!("the monitor never ran out of events");
    }
    let mut h = Handle::new(t).with_timeout(Duration::from_millis(1));
    match pick % 8 {
        0 => drop(h.if_nametoindex("eth0")),
        1 => drop(h.if_indextoname(2)),
        2 => drop(h.links()),
        3 => drop(h.addrs(AF_UNSPEC)),
        4 => drop(h.routes(AF_INET, Some(RT_TABLE_MAIN))),
        5 => drop(h.neighbours(AF_UNSPEC)),
        6 => drop(h.link_get_mac(2)),
        _ => {
            let mut b = Batch::new();
            for i in 0..3u8 {
                let dst = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, i, 0, 0));
                b.route_add(&Route::to(dst, 16).dev(2)).unwrap();
            }
            assert_eq!(h.apply(&b).len(), 3);
        }
    }
});
