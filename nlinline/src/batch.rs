//! Batches: many requests pipelined (several per datagram, the answers
//! collected after), one result per request, in order.

use std::io;
use std::net::IpAddr;

use nlq::wire::{consts::*, FamilyHeader, IfInfoMsg, Writer};

use crate::addr::AddrOptions;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::route::Route;
use crate::transport::Transport;

/// The receive-buffer room one outstanding answer may take (the kernel
/// charges a whole small socket buffer per ACK, well above its 36 bytes).
const ROOM_PER_ANSWER: usize = 2048;
/// The most outstanding answers a batch tries to make room for.
const MAX_WINDOW: usize = 16_384;
/// The most request bytes per datagram.
const MAX_DATAGRAM: usize = 64 * 1024;

/// Requests to apply together with [`Handle::apply`].
///
/// Each request asks for an ACK; the handle numbers them when it applies
/// the batch, so a batch can be applied more than once.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// How many requests it holds.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// It holds no request.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Appends a request of `kind` with `flags` (plus `NLM_F_REQUEST |
    /// NLM_F_ACK`) whose body `body` writes.
    pub fn push<F>(&mut self, kind: u16, flags: u16, body: F) -> Result<()>
    where
        F: FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
    {
        let start = self.bytes.len();
        let mut w = Writer::new(std::mem::take(&mut self.bytes));
        let r = w.message(kind, flags | NLM_F_REQUEST | NLM_F_ACK, 0, 0, body);
        self.bytes = w.into_inner();
        r.map_err(|_| Error::Invalid("request does not fit a netlink message"))?;
        self.starts.push(start);
        Ok(())
    }

    /// Appends "add `route`".
    pub fn route_add(&mut self, route: &Route) -> Result<()> {
        let r = route.repr(false)?;
        self.push(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, |w| r.emit(w))
    }

    /// Appends "delete `route`".
    pub fn route_del(&mut self, route: &Route) -> Result<()> {
        let r = route.repr(true)?;
        self.push(RTM_DELROUTE, 0, |w| r.emit(w))
    }

    /// Appends "add `addr/prefix_len` to link `index`".
    pub fn addr_add(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        let r = crate::addr::repr(addr, prefix_len, index, AddrOptions::default())?;
        self.push(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, |w| r.emit(w))
    }

    /// Appends "delete `addr/prefix_len` from link `index`".
    pub fn addr_del(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        let r = crate::addr::repr(addr, prefix_len, index, AddrOptions::default())?;
        self.push(RTM_DELADDR, 0, |w| r.emit(w))
    }

    /// Appends "set link `index` up (or down)".
    pub fn link_set_up(&mut self, index: u32, up: bool) -> Result<()> {
        let h = IfInfoMsg {
            index,
            flags: if up { IFF_UP } else { 0 },
            change: IFF_UP,
            ..IfInfoMsg::default()
        };
        self.push(RTM_SETLINK, 0, |w| h.emit(w))
    }

    /// Request `i`'s bytes (empty past the end).
    fn request(&self, i: usize) -> &[u8] {
        let (Some(&s), e) = (self.starts.get(i), self.starts.get(i.saturating_add(1))) else {
            return &[];
        };
        let e = e.copied().unwrap_or(self.bytes.len());
        self.bytes.get(s..e).unwrap_or_default()
    }
}

impl<T: Transport> Handle<T> {
    /// Applies `batch`: the requests go out several per datagram, as many in
    /// flight as the transport has room for answers (the kernel socket's
    /// receive buffer is enlarged for that, beyond `rmem_max` when
    /// permitted); the answers are collected as they come.
    ///
    /// Only the last request of each datagram asks for an ACK: a stack
    /// handles a datagram's requests in order and answers every failure
    /// (with or without `NLM_F_ACK`), so that ACK, arriving after any error
    /// of the datagram, confirms every request of it that got no error. This
    /// spares the stack one answer per request.
    ///
    /// Returns one result per request, in order. If the transport fails
    /// (e.g. `ENOBUFS`, answers lost) or an answer does not come in time,
    /// the requests without an answer get that error.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::{Batch, Route};
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_up(br, true)?;
    /// let mut batch = Batch::new();
    /// for i in 0..1000u32 {
    ///     let dst = IpAddr::V4(Ipv4Addr::new(10, (i / 256) as u8, (i % 256) as u8, 0));
    ///     batch.route_add(&Route::to(dst, 24).dev(br))?;
    /// }
    /// batch.route_add(&Route::to(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 24).dev(br))?; // again
    /// let results = h.apply(&batch);
    /// assert!(results[..1000].iter().all(|r| r.is_ok()));
    /// assert_eq!(results[1000].as_ref().unwrap_err().errno(), libc::EEXIST);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn apply(&mut self, batch: &Batch) -> Vec<Result<i32>> {
        let n = batch.len();
        if n == 0 {
            return Vec::new();
        }
        let mut st = Pending {
            results: (0..n).map(|_| None).collect(),
            group_start: vec![0; n],
            barrier: vec![false; n],
            answered: 0,
        };
        let window = match self
            .transport
            .reserve_replies(n.min(MAX_WINDOW).saturating_mul(ROOM_PER_ANSWER))
        {
            Ok(Some(room)) => (room / ROOM_PER_ANSWER).clamp(1, MAX_WINDOW),
            Ok(None) => n,
            Err(_) => 64,
        };
        let base = self.reserve_seqs(n);
        let port = self.transport.port();
        let mut sent = 0usize;
        let failure = loop {
            if st.answered == n {
                break None;
            }
            // Fill the window: one datagram, its last request the barrier.
            if sent < n && sent.saturating_sub(st.answered) < window {
                let mut out = std::mem::take(&mut self.out);
                out.clear();
                let start = sent;
                let mut last_at = None;
                while sent < n && sent.saturating_sub(st.answered) < window {
                    let req = batch.request(sent);
                    if !out.is_empty() && out.len().saturating_add(req.len()) > MAX_DATAGRAM {
                        break;
                    }
                    let at = out.len();
                    out.extend_from_slice(req);
                    let seq = base.wrapping_add(sent as u32);
                    if let Some(h) = header_tail(&mut out, at) {
                        restamp(h, |f| f & !NLM_F_ACK, seq, port);
                    }
                    last_at = Some(at);
                    if let Some(g) = st.group_start.get_mut(sent) {
                        *g = start;
                    }
                    sent = sent.saturating_add(1);
                }
                if let Some(at) = last_at {
                    if let Some([f0, f1, ..]) = header_tail(&mut out, at) {
                        let flags = u16::from_ne_bytes([*f0, *f1]) | NLM_F_ACK;
                        [*f0, *f1] = flags.to_ne_bytes();
                    }
                    if let Some(last) = sent.checked_sub(1).and_then(|i| st.barrier.get_mut(i)) {
                        *last = true;
                    }
                }
                let r = self.transport.send(&out);
                self.out = out;
                if let Err(e) = r {
                    break Some(Error::from(e));
                }
            }
            // Collect what has come.
            if let Err(e) = self.collect(base, sent, &mut st) {
                break Some(e);
            }
        };
        let failure = failure.map(|e| (e.errno(), matches!(e, Error::Timeout)));
        st.results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(match failure {
                        Some((_, true)) => Error::Timeout,
                        Some((errno, false)) => Error::Io(io::Error::from(errno)),
                        None => Error::Unexpected("no answer"),
                    })
                })
            })
            .collect()
    }

    /// Receives one datagram and files the answers it holds for the `sent`
    /// requests numbered from `base` (answers to requests not sent yet are
    /// ignored, as any with a foreign seq).
    fn collect(&mut self, base: u32, sent: usize, st: &mut Pending) -> Result<()> {
        let port = self.transport.port();
        let n = sent.min(st.results.len());
        let mut buf = std::mem::take(&mut self.inbuf);
        let got = self.transport.recv(&mut buf, Some(self.timeout));
        let filed = got.map_err(Error::from).and_then(|()| {
            for m in nlq::wire::Messages::new(&buf) {
                let m = m?;
                let i = m.seq().wrapping_sub(base) as usize;
                if i >= n || (port != 0 && m.port() != port) {
                    continue;
                }
                if let nlq::wire::Message::Error(e) = m.typed()? {
                    st.file(i, crate::handle::check(&e));
                }
            }
            Ok(())
        });
        self.inbuf = buf;
        filed
    }
}

/// The state of a batch being applied.
struct Pending {
    results: Vec<Option<Result<i32>>>,
    /// The first request of each request's datagram.
    group_start: Vec<usize>,
    /// Whether the request is the last of its datagram (the one with ACK).
    barrier: Vec<bool>,
    answered: usize,
}

/// The flags, sequence number and port (bytes 6 to 16) of the message
/// header at `at` in `out`.
fn header_tail(out: &mut [u8], at: usize) -> Option<&mut [u8; 10]> {
    let end = at.checked_add(16)?;
    out.get_mut(at.checked_add(6)?..end)?.try_into().ok()
}

/// Gives a header (from its flags on) the flags `flags` makes of its own,
/// and `seq` and `port`.
fn restamp(h: &mut [u8; 10], flags: impl Fn(u16) -> u16, seq: u32, port: u32) {
    let [f0, f1, s0, s1, s2, s3, p0, p1, p2, p3] = h;
    [*f0, *f1] = flags(u16::from_ne_bytes([*f0, *f1])).to_ne_bytes();
    [*s0, *s1, *s2, *s3] = seq.to_ne_bytes();
    [*p0, *p1, *p2, *p3] = port.to_ne_bytes();
}

impl Pending {
    /// Files the answer to request `i`; an answer to a barrier confirms the
    /// requests of its datagram that got no error.
    fn file(&mut self, i: usize, r: Result<i32>) {
        if let Some(slot @ None) = self.results.get_mut(i) {
            *slot = Some(r);
            self.answered = self.answered.saturating_add(1);
        }
        if self.barrier.get(i) == Some(&true) {
            let start = self.group_start.get(i).copied().unwrap_or(i);
            for slot in self.results.get_mut(start..i).into_iter().flatten() {
                if slot.is_none() {
                    *slot = Some(Ok(0));
                    self.answered = self.answered.saturating_add(1);
                }
            }
        }
    }
}
