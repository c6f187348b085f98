//! How nlinline handles answers, against scripted servers: foreign sequence
//! numbers and port ids are ignored, interrupted dumps are retried,
//! malformed answers are errors, refusals carry errno and text.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use nlinline::wire::{
    consts::*, emit_done, emit_error, ExtAck, IfInfoMsg, IfName, LinkRepr, Messages, NlMsg, Writer,
};
use nlinline::{Handle, Loopback, Serve};

/// A server whose answer to each request message is computed by a script.
struct Scripted<F> {
    script: F,
    requests: Seen,
}

impl<F> Serve for Scripted<F>
where
    F: FnMut(&NlMsg<'_>, u32, &mut Writer<Vec<u8>>),
{
    fn serve(&mut self, port: u32, datagram: &[u8], _max: usize, replies: &mut VecDeque<Vec<u8>>) {
        for m in Messages::new(datagram) {
            let m = m.unwrap();
            self.requests.borrow_mut().push(m.as_bytes().to_vec());
            let mut w = Writer::new(Vec::new());
            (self.script)(&m, port, &mut w);
            replies.push_back(w.into_inner());
        }
    }
}

/// The requests a scripted server saw, whole.
type Seen = Rc<RefCell<Vec<Vec<u8>>>>;

fn handle<F>(script: F) -> (Handle<Loopback<Scripted<F>>>, Seen)
where
    F: FnMut(&NlMsg<'_>, u32, &mut Writer<Vec<u8>>),
{
    let requests = Rc::new(RefCell::new(Vec::new()));
    let s = Scripted {
        script,
        requests: requests.clone(),
    };
    (Handle::new(Loopback::new(s, 4321)), requests)
}

fn link(index: u32, name: &str) -> LinkRepr {
    LinkRepr {
        header: IfInfoMsg {
            index,
            ..IfInfoMsg::default()
        },
        name: IfName::try_from_str(name),
        ..LinkRepr::default()
    }
}

fn ack(w: &mut Writer<Vec<u8>>, req: &NlMsg<'_>, port: u32) {
    emit_error(w, req, 0, true, &ExtAck::default(), port).unwrap();
}

#[test]
fn foreign_seq_and_port_are_ignored() {
    let (mut h, _) = handle(|req, port, w| {
        let seq = req.seq();
        // An error for someone else's request, and one for another port.
        w.message(NLMSG_ERROR, 0, seq + 100, port, |w| {
            w.put(&(-libc::EPERM).to_ne_bytes())?;
            w.put(&req.header().to_bytes())
        })
        .unwrap();
        w.message(NLMSG_ERROR, 0, seq, port + 1, |w| {
            w.put(&(-libc::EPERM).to_ne_bytes())?;
            w.put(&req.header().to_bytes())
        })
        .unwrap();
        // Then the real answer.
        w.message(RTM_NEWLINK, 0, seq, port, |w| link(9, "eth9").emit(w))
            .unwrap();
        ack(w, req, port);
    });
    assert_eq!(h.if_nametoindex("eth9").unwrap(), 9);
}

#[test]
fn interrupted_dumps_are_retried() {
    let round = Rc::new(RefCell::new(0));
    let r = round.clone();
    let (mut h, requests) = handle(move |req, port, w| {
        *r.borrow_mut() += 1;
        let first = *r.borrow() == 1;
        let flags = NLM_F_MULTI | if first { NLM_F_DUMP_INTR } else { 0 };
        let name = if first { "stale" } else { "fresh" };
        w.message(RTM_NEWLINK, flags, req.seq(), port, |w| {
            link(2, name).emit(w)
        })
        .unwrap();
        emit_done(w, req.seq(), port, 0).unwrap();
    });
    let links = h.links().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].name.unwrap(), "fresh");
    assert_eq!(requests.borrow().len(), 2);
}

#[test]
fn a_dump_that_keeps_being_interrupted_fails() {
    let (mut h, requests) = handle(|req, port, w| {
        let flags = NLM_F_MULTI | NLM_F_DUMP_INTR;
        w.message(RTM_NEWLINK, flags, req.seq(), port, |w| {
            link(2, "x").emit(w)
        })
        .unwrap();
        emit_done(w, req.seq(), port, 0).unwrap();
    });
    assert_eq!(h.links().unwrap_err().errno(), libc::EINTR);
    assert_eq!(requests.borrow().len(), nlinline::DUMP_RETRIES as usize + 1);
}

#[test]
fn refusals_carry_errno_and_text() {
    let (mut h, _) = handle(|req, port, w| {
        let ext = ExtAck {
            msg: Some("Nexthop device is not up"),
            ..ExtAck::default()
        };
        emit_error(w, req, libc::ENETDOWN, true, &ext, port).unwrap();
    });
    let e = h.link_set_mtu(3, 1500).unwrap_err();
    assert_eq!(e.errno(), libc::ENETDOWN);
    assert_eq!(e.message(), Some("Nexthop device is not up"));
}

#[test]
fn a_failed_dump_is_an_error() {
    let (mut h, _) = handle(|req, port, w| {
        emit_done(w, req.seq(), port, -libc::EOPNOTSUPP).unwrap();
    });
    assert_eq!(
        h.routes(AF_INET, None).unwrap_err().errno(),
        libc::EOPNOTSUPP
    );
}

#[test]
fn malformed_answers_are_errors() {
    let (mut h, _) = handle(|req, port, w| {
        // A header claiming more bytes than the datagram has.
        w.message(RTM_NEWLINK, 0, req.seq(), port, |w| w.put(&[0; 16]))
            .unwrap();
        let b = w.buffer_mut();
        b[0] = 200;
    });
    assert!(matches!(
        h.if_nametoindex("x"),
        Err(nlinline::Error::Malformed(_))
    ));

    // A link answer whose body is cut short.
    let (mut h, _) = handle(|req, port, w| {
        w.message(RTM_NEWLINK, 0, req.seq(), port, |w| w.put(&[0; 4]))
            .unwrap();
        ack(w, req, port);
    });
    assert!(matches!(
        h.if_nametoindex("x"),
        Err(nlinline::Error::Malformed(_))
    ));
}

#[test]
fn an_ack_without_the_object_is_unexpected() {
    let (mut h, _) = handle(|req, port, w| ack(w, req, port));
    assert!(matches!(
        h.if_nametoindex("x"),
        Err(nlinline::Error::Unexpected(_))
    ));
}

#[test]
fn requests_carry_the_port_and_increasing_seqs() {
    let (mut h, requests) = handle(|req, port, w| ack(w, req, port));
    h.link_set_up(2, true).unwrap();
    h.link_set_mtu(2, 1400).unwrap();
    let reqs = requests.borrow();
    let seqs: Vec<_> = reqs
        .iter()
        .map(|r| NlMsg::parse(r).unwrap().0)
        .map(|m| (m.seq(), m.port(), m.flags() & (NLM_F_REQUEST | NLM_F_ACK)))
        .collect();
    assert_eq!(
        seqs,
        vec![
            (1, 4321, NLM_F_REQUEST | NLM_F_ACK),
            (2, 4321, NLM_F_REQUEST | NLM_F_ACK)
        ]
    );
}

#[test]
fn the_most_negative_status_does_not_overflow() {
    // Found by the nlinline_replies fuzz target: DONE with status i32::MIN.
    let (mut h, _) = handle(|req, port, w| {
        emit_done(w, req.seq(), port, i32::MIN).unwrap();
    });
    assert_eq!(h.links().unwrap_err().errno(), i32::MAX);
    let (mut h, _) = handle(|req, port, w| {
        w.message(NLMSG_ERROR, 0, req.seq(), port, |w| {
            w.put(&i32::MIN.to_ne_bytes())?;
            w.put(&req.header().to_bytes())
        })
        .unwrap();
    });
    assert_eq!(h.link_set_mtu(1, 1500).unwrap_err().errno(), i32::MAX);
}

/// A loopback with room for only two answers at a time, so that a batch
/// keeps at most two requests in flight.
struct Narrow<S>(Loopback<S>);

impl<S: Serve> nlinline::Transport for Narrow<S> {
    fn send(&mut self, d: &[u8]) -> std::io::Result<()> {
        self.0.send(d)
    }
    fn recv(&mut self, b: &mut Vec<u8>, t: Option<std::time::Duration>) -> std::io::Result<()> {
        self.0.recv(b, t)
    }
    fn port(&self) -> u32 {
        self.0.port()
    }
    fn reserve_replies(&mut self, _: usize) -> std::io::Result<Option<usize>> {
        Ok(Some(2 * 2048))
    }
}

#[test]
fn answers_to_requests_not_sent_are_ignored() {
    // A server that also "answers" the request two seqs ahead: with two in
    // flight, that one has not been sent yet.
    let requests = Rc::new(RefCell::new(Vec::new()));
    let s = Scripted {
        script: |req: &NlMsg<'_>, port: u32, w: &mut Writer<Vec<u8>>| {
            w.message(NLMSG_ERROR, 0, req.seq() + 2, port, |w| {
                w.put(&(-libc::EPERM).to_ne_bytes())?;
                w.put(&req.header().to_bytes())
            })
            .unwrap();
            if req.flags() & NLM_F_ACK != 0 {
                ack(w, req, port);
            }
        },
        requests: requests.clone(),
    };
    let mut h = Handle::new(Narrow(Loopback::new(s, 4321)));
    let mut b = nlinline::Batch::new();
    for i in 1..=6 {
        b.link_set_up(i, true).unwrap();
    }
    let r = h.apply(&b);
    assert_eq!(r.len(), 6);
    assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
    assert_eq!(requests.borrow().len(), 6);
}
