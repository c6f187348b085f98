//! Fuzz target `proxy_requests`: the proxy's request path
//! (`nlq_daemon::proxy::judge::judge`) on arbitrary client datagrams, and
//! its answer path (`message::hidden`, `message::rewrite`) on the same
//! bytes read as answers.
//!
//! Input: one option byte, then the datagram. Option bit `0x01` gives
//! the peer a view (links hidden, the main table swapped with 100,
//! names prefixed with `t1-`); bit `0x02` turns extended and capped ACKs
//! on; bit `0x04` makes audit records.
//!
//! Checks, besides no panic:
//! - every request is answered once: one verdict per message the kernel
//!   would read (up to the first whose length does not fit);
//! - nothing malformed goes upstream: the upstream datagram holds exactly
//!   the forwarded requests, each well framed, each read again by the
//!   proxy's own checks without error; the last asks for an ACK unless it
//!   is a dump (its answer tells the proxy the quiet ones before it
//!   succeeded);
//! - every refusal is one `NLMSG_ERROR` with the verdict's errno, for the
//!   request's seq.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq::wire::consts::*;
use nlq::wire::{Message, Messages};
use nlq_daemon::proxy::judge::{judge, Context, Verdict};
use nlq_daemon::proxy::message::{self, Direction, Links};
use nlq_daemon::proxy::{Peer, Policy};

struct Fixed;

impl Links for Fixed {
    fn by_index(&self, index: u32) -> Option<(String, Option<String>)> {
        match index {
            1 => Some(("lo".into(), None)),
            2 => Some(("eth0".into(), None)),
            3 => Some(("t1-tap0".into(), Some("tun".into()))),
            _ => None,
        }
    }
    fn by_name(&self, name: &str) -> Option<u32> {
        match name {
            "lo" => Some(1),
            "eth0" => Some(2),
            "t1-tap0" => Some(3),
            _ => None,
        }
    }
}

const POLICY: &str = r#"
[[rule]]
name = "view"
uid = [1]
interfaces = ["!t1-*"]
action = "hide"
[[rule]]
name = "tables"
uid = [1]
from = "main"
to = 100
action = "map-table"
[[rule]]
name = "names"
uid = [1]
prefix = "t1-"
action = "prefix-names"
[[rule]]
name = "routes"
ops = ["route:*", "address:*"]
tables = [100]
action = "allow"
[[rule]]
name = "links"
ops = ["link:new", "link:set"]
interfaces = ["t1-*"]
action = "allow"
"#;

fuzz_target!(|data: &[u8]| {
    let Some((&opts, datagram)) = data.split_first() else {
        return;
    };
    let policy = Policy::parse(POLICY).expect("the target's policy");
    let peer = Peer {
        uid: if opts & 1 != 0 { 1 } else { 0 },
        gid: 0,
        pid: 9,
    };
    let view = policy.view(&peer);
    let mut admit = || true;
    let judged = judge(
        datagram,
        &mut Context {
            peer,
            view: &view,
            policy: &policy,
            links: &Fixed,
            port: 9,
            ext_ack: opts & 2 != 0,
            cap_ack: opts & 2 != 0,
            admit: &mut admit,
            records: opts & 4 != 0,
        },
    );
    let framed: Vec<_> = Messages::new(datagram).map_while(Result::ok).collect();
    assert_eq!(
        judged.verdicts.len(),
        framed.len(),
        "one verdict per request"
    );
    let mut forwarded = 0usize;
    for (v, req) in judged.verdicts.iter().zip(&framed) {
        match v {
            Verdict::Forwarded { .. } => forwarded += 1,
            Verdict::Refused { bytes, errno, .. } => {
                let msgs: Vec<_> = Messages::new(bytes).collect();
                assert_eq!(msgs.len(), 1);
                let m = msgs[0].expect("a framed refusal");
                assert_eq!(m.seq(), req.seq());
                match m.typed() {
                    Ok(Message::Error(e)) => assert_eq!(e.errno(), *errno),
                    other => panic!("a refusal that is not an error: {other:?}"),
                }
            }
        }
    }
    let up: Vec<_> = Messages::new(&judged.upward).collect();
    assert_eq!(up.len(), forwarded);
    for m in &up {
        let m = m.expect("nothing malformed goes upstream");
        assert!(
            message::facts(&m, &Fixed).is_ok(),
            "forwarded but malformed"
        );
    }
    // The last request upstream is heard: a dump ends with DONE, anything
    // else asks for an ACK (which tells the proxy that the quiet requests
    // before it succeeded).
    if let Some(Ok(m)) = up.last() {
        let dump = m.flags() & NLM_F_DUMP == NLM_F_DUMP
            && (m.message_type() < 16 || m.message_type() % 4 == 2);
        assert!(
            dump || m.flags() & NLM_F_ACK != 0,
            "the last request asks an ACK"
        );
    }
    // The answer path on the same bytes.
    for m in framed {
        let _ = message::hidden(&m, &view, &Fixed);
        let _ = message::rewrite(&m, &view, Direction::Down);
    }
});
