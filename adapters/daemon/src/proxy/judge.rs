//! The proxy's decision for each request of a client datagram, with no
//! I/O (so that it is fuzzed directly): the datagram of admitted requests
//! for the upstream, and, in order, what became of every request.

use nlq::wire::consts::*;
use nlq::wire::{Messages, NlMsg, NlMsgHeader};

use super::audit::{Outcome, Record};
use super::message::{self, Direction, Links};
use super::policy::{Peer, Policy, Verb, View};

/// What a request became.
#[derive(Debug)]
pub enum Verdict {
    /// Sent upstream (in [`Judged::upward`]).
    Forwarded {
        /// Where it starts in [`Judged::upward`].
        at: usize,
        /// The client's `nlmsghdr` (its seq and flags, for the answers).
        head: NlMsgHeader,
        /// A dump: it ends with `NLMSG_DONE` (or an error).
        dump: bool,
        /// The client asked for an ACK.
        wants_ack: bool,
        /// The proxy asked for an ACK the client did not (the last
        /// request of the datagram, so that its end is heard).
        forced: bool,
        /// The client's own bytes, when the view rewrote them.
        original: Option<Vec<u8>>,
        /// Its audit line (when there is a log).
        record: Option<Record>,
    },
    /// Answered by the proxy.
    Refused {
        /// The `NLMSG_ERROR` for the client.
        bytes: Vec<u8>,
        /// Its audit line (when there is a log).
        record: Option<Record>,
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
    /// Make audit records.
    pub records: bool,
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
    // The last request sent upstream asks for an ACK if it is not a dump:
    // its answer says that every quiet request before it succeeded.
    let last = out
        .verdicts
        .iter_mut()
        .rev()
        .find(|v| matches!(v, Verdict::Forwarded { .. }));
    if let Some(Verdict::Forwarded {
        at,
        head,
        dump: false,
        wants_ack: false,
        forced,
        ..
    }) = last
    {
        *forced = true;
        // nlmsg_flags: bytes 6..8 of nlmsghdr.
        if let Some(f) = out
            .upward
            .get_mut(at.saturating_add(6)..at.saturating_add(8))
        {
            f.copy_from_slice(&(head.flags | NLM_F_ACK).to_ne_bytes());
        }
    }
    out
}

fn one(msg: &NlMsg<'_>, cx: &mut Context<'_>, upward: &mut Vec<u8>) -> Verdict {
    let records = cx.records;
    let refuse = |errno: i32, text: Option<&str>, mut record: Option<Record>, outcome: Outcome| {
        let mut bytes = Vec::new();
        message::emit_refusal(
            &mut bytes, msg, errno, text, cx.ext_ack, cx.cap_ack, cx.port,
        );
        if let Some(r) = &mut record {
            r.outcome = outcome;
        }
        Verdict::Refused {
            bytes,
            record,
            errno,
        }
    };
    let bare = || records.then(|| Record::new(cx.peer, None, msg.message_type(), msg.seq()));
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
    let mut record =
        records.then(|| Record::new(cx.peer, Some(&facts), msg.message_type(), msg.seq()));
    if !cx.view.is_plain() && message::names_hidden(&facts, cx.view, cx.links) {
        return refuse(libc::ENODEV, None, record, Outcome::Hidden);
    }
    let decision = cx.policy.decide(&cx.peer, &facts);
    if let Some(r) = &mut record {
        r.rule = decision.rule.clone();
        r.logged = decision.logged;
    }
    if !decision.allow {
        let text = match &decision.rule {
            Some(r) => format!("denied by policy rule \"{r}\""),
            None => "denied by the policy's default".to_string(),
        };
        return refuse(libc::EPERM, Some(&text), record, Outcome::Denied);
    }
    let dump = facts.verb == Verb::Get && msg.flags() & NLM_F_DUMP == NLM_F_DUMP;
    let at = upward.len();
    upward.extend_from_slice(up_msg.as_bytes());
    // Messages start at 4-byte boundaries (NLMSG_ALIGN).
    while !upward.len().is_multiple_of(4) {
        upward.push(0);
    }
    Verdict::Forwarded {
        at,
        head: msg.header(),
        dump,
        wants_ack: msg.flags() & NLM_F_ACK != 0,
        forced: false,
        original: rewritten.is_some().then(|| msg.as_bytes().to_vec()),
        record,
    }
}
