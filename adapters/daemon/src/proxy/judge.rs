//! The proxy's decision for each request of a client datagram, with no
//! I/O (so that it is fuzzed directly): the datagram of admitted requests
//! for the upstream, and, in order, what became of every request.

use nlq::wire::consts::*;
use nlq::wire::{Messages, NlMsg};

use super::audit::{Outcome, Record};
use super::message::{self, Direction, Links};
use super::policy::{Peer, Policy, Verb, View};

/// What a request became.
#[derive(Debug)]
pub enum Verdict {
    /// Sent upstream (in [`Judged::upward`]).
    Forwarded {
        /// A dump: it ends with `NLMSG_DONE` (or an error).
        dump: bool,
        /// The client asked for an ACK (else the proxy asked for one,
        /// and drops it).
        wants_ack: bool,
        /// The client's own bytes, when what went upstream differs.
        original: Option<Vec<u8>>,
        /// Its audit line.
        record: Record,
    },
    /// Answered by the proxy.
    Refused {
        /// The `NLMSG_ERROR` for the client.
        bytes: Vec<u8>,
        /// Its audit line.
        record: Record,
        /// The errno.
        errno: i32,
    },
}

/// The outcome of one datagram.
#[derive(Debug, Default)]
pub struct Judged {
    /// The admitted requests, as they go upstream.
    pub upward: Vec<u8>,
    /// One per request of the datagram, in order.
    pub verdicts: Vec<Verdict>,
}

/// What judging needs to know.
pub struct Context<'a> {
    /// Who sent the datagram.
    pub peer: Peer,
    /// What the peer sees.
    pub view: &'a View,
    /// The rules.
    pub policy: &'a Policy,
    /// The upstream's links.
    pub links: &'a dyn Links,
    /// The client socket's port (refusals are addressed to it).
    pub port: u32,
    /// The client turned `NETLINK_EXT_ACK` on.
    pub ext_ack: bool,
    /// The client turned `NETLINK_CAP_ACK` on.
    pub cap_ack: bool,
    /// Takes one request from the peer's rate; false when over it.
    pub admit: &'a mut dyn FnMut() -> bool,
}

/// Judges every request of `datagram`. A message whose length does not
/// fit ends the datagram, as in the kernel's `netlink_rcv_skb` (the rest
/// is dropped unanswered).
pub fn judge(datagram: &[u8], cx: &mut Context<'_>) -> Judged {
    let mut out = Judged::default();
    for msg in Messages::new(datagram) {
        let Ok(msg) = msg else { break };
        out.verdicts.push(one(&msg, cx, &mut out.upward));
    }
    out
}

fn one(msg: &NlMsg<'_>, cx: &mut Context<'_>, upward: &mut Vec<u8>) -> Verdict {
    let refuse = |errno: i32, text: Option<&str>, mut record: Record, outcome: Outcome| {
        let mut bytes = Vec::new();
        message::emit_refusal(
            &mut bytes, msg, errno, text, cx.ext_ack, cx.cap_ack, cx.port,
        );
        record.outcome = outcome;
        Verdict::Refused {
            bytes,
            record,
            errno,
        }
    };
    let bare = || Record::new(cx.peer, None, msg.kind(), msg.seq());
    if !(cx.admit)() {
        let text = Some("over the rate the nlq proxy policy allows");
        return refuse(libc::EBUSY, text, bare(), Outcome::Limited);
    }
    // Checked as the client sent it (a rewrite copies only what parses).
    let facts = match message::facts(msg, cx.links) {
        Ok(f) => f,
        Err(r) => return refuse(r.errno, r.text.as_deref(), bare(), Outcome::Invalid),
    };
    let rewritten = message::rewrite(msg, cx.view, Direction::Up);
    let (up_msg, facts) = match &rewritten {
        None => (*msg, facts),
        Some(b) => match NlMsg::parse(b).map(|(m, _)| (message::facts(&m, cx.links), m)) {
            Ok((Ok(f), m)) => (m, f),
            Ok((Err(r), _)) => return refuse(r.errno, r.text.as_deref(), bare(), Outcome::Invalid),
            Err(_) => {
                let text = Some("Invalid header length");
                return refuse(libc::EINVAL, text, bare(), Outcome::Invalid);
            }
        },
    };
    let mut record = Record::new(cx.peer, Some(&facts), msg.kind(), msg.seq());
    if !cx.view.is_plain() && message::names_hidden(&facts, cx.view, cx.links) {
        return refuse(libc::ENODEV, None, record, Outcome::Hidden);
    }
    let decision = cx.policy.decide(&cx.peer, &facts);
    record.rule = decision.rule.clone();
    record.logged = decision.logged;
    if !decision.allow {
        let text = match &decision.rule {
            Some(r) => format!("denied by policy rule \"{r}\""),
            None => "denied by the policy's default".to_string(),
        };
        return refuse(libc::EPERM, Some(&text), record, Outcome::Denied);
    }
    let dump = facts.verb == Verb::Get && msg.flags() & NLM_F_DUMP == NLM_F_DUMP;
    let wants_ack = msg.flags() & NLM_F_ACK != 0;
    let start = upward.len();
    upward.extend_from_slice(up_msg.as_bytes());
    // Messages start at 4-byte boundaries (NLMSG_ALIGN).
    while upward.len() % 4 != 0 {
        upward.push(0);
    }
    // Every request but a dump ends with exactly one answer upstream.
    let forced = !dump && !wants_ack;
    if forced {
        // nlmsg_flags: bytes 6..8 of nlmsghdr.
        if let Some(f) = upward.get_mut(start.saturating_add(6)..start.saturating_add(8)) {
            f.copy_from_slice(&(msg.flags() | NLM_F_ACK).to_ne_bytes());
        }
    }
    Verdict::Forwarded {
        dump,
        wants_ack,
        original: (forced || rewritten.is_some()).then(|| msg.as_bytes().to_vec()),
        record,
    }
}
