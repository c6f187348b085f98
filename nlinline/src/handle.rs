//! A [`Handle`]: numbered requests over a [`Transport`], their answers
//! matched by sequence number and port id, with a timeout on every wait.

use std::time::{Duration, Instant};

use nlq::errno::Errno;
use nlq::wire::{consts::*, Message, Messages, NlMsg, NlMsgHeader, Writer};

use crate::error::{Error, Result};
use crate::kernel::{KernelSocket, DEFAULT_TIMEOUT};
use crate::transport::Transport;

/// How many times a dump interrupted by a concurrent change
/// (`NLM_F_DUMP_INTR`) is tried again before giving up.
pub const DUMP_RETRIES: u32 = 8;

/// Requests to one stack through a transport.
///
/// Every helper of this crate is a method of `Handle`. Answers that carry
/// another sequence number or port id are ignored; every wait ends after the
/// handle's timeout at the latest.
#[derive(Debug)]
pub struct Handle<T> {
    pub(crate) transport: T,
    seq: u32,
    pub(crate) out: Vec<u8>,
    pub(crate) inbuf: Vec<u8>,
    pub(crate) timeout: Duration,
}

impl Handle<KernelSocket> {
    /// A handle on the kernel, in the calling thread's network namespace.
    pub fn kernel() -> Result<Self> {
        Ok(Handle::new(KernelSocket::new()?))
    }
}

impl<T: Transport> Handle<T> {
    /// A handle over `transport`, with the default timeout (5 s).
    pub fn new(transport: T) -> Self {
        Handle {
            transport,
            seq: 0,
            out: Vec::with_capacity(4096),
            inbuf: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets how long any single wait for an answer may last.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The next sequence number (never 0: notifications carry 0).
    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Reserves `n` consecutive sequence numbers (none of them 0) and
    /// returns the first.
    pub(crate) fn reserve_seqs(&mut self, n: usize) -> u32 {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if self.seq.checked_add(n).is_none() {
            self.seq = 0;
        }
        let first = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(n);
        first
    }

    /// Builds one request (header, then what `body` writes) and sends it.
    /// Returns its sequence number.
    pub(crate) fn send<F>(&mut self, kind: u16, flags: u16, body: F) -> Result<u32>
    where
        F: FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
    {
        let seq = self.next_seq();
        let port = self.transport.port();
        let mut w = Writer::new(std::mem::take(&mut self.out));
        w.buffer_mut().clear();
        let built = w.message(kind, flags | NLM_F_REQUEST, seq, port, body);
        self.out = w.into_inner();
        built.map_err(|_| Error::Invalid("request does not fit a netlink message"))?;
        self.transport.send(&self.out)?;
        Ok(seq)
    }

    /// Receives datagrams until `on_message` says the answer to `seq` is
    /// complete, feeding it every message of this seq (and port).
    pub(crate) fn receive<F>(&mut self, seq: u32, mut on_message: F) -> Result<()>
    where
        F: FnMut(&NlMsg<'_>) -> Result<Flow>,
    {
        // A timeout too long to reach (`Duration::MAX`) is none.
        let deadline = Instant::now().checked_add(self.timeout);
        let port = self.transport.port();
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(Error::Timeout);
            }
            let mut buf = std::mem::take(&mut self.inbuf);
            let got = self.transport.recv(&mut buf, left);
            let flow = got.map_err(Error::from).and_then(|()| {
                for m in Messages::new(&buf) {
                    let m = m?;
                    if m.seq() != seq || (port != 0 && m.port() != port) {
                        continue;
                    }
                    if on_message(&m)? == Flow::Done {
                        return Ok(Flow::Done);
                    }
                }
                Ok(Flow::More)
            });
            self.inbuf = buf;
            if flow? == Flow::Done {
                return Ok(());
            }
        }
    }

    /// Sends a request with `NLM_F_ACK` and waits for its answer: the value
    /// of the `NLMSG_ERROR` (0, or a positive value some stacks pass
    /// through); other messages of the answer go to `each`.
    pub(crate) fn request<F, E>(
        &mut self,
        kind: u16,
        flags: u16,
        body: F,
        mut each: E,
    ) -> Result<i32>
    where
        F: FnOnce(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
        E: FnMut(&NlMsg<'_>) -> Result<()>,
    {
        let seq = self.send(kind, flags | NLM_F_ACK, body)?;
        let mut value = 0;
        self.receive(seq, |m| match m.typed()? {
            Message::Error(e) => {
                value = check(&e)?;
                Ok(Flow::Done)
            }
            _ => each(m).map(|()| Flow::More),
        })?;
        Ok(value)
    }

    /// Sends a dump request and collects what `parse` makes of every object
    /// of the answer (`None`: skip it). A dump interrupted by a change
    /// (`NLM_F_DUMP_INTR`) is started again up to [`DUMP_RETRIES`] times.
    pub(crate) fn dump<R, F, P>(&mut self, kind: u16, body: F, mut parse: P) -> Result<Vec<R>>
    where
        F: Fn(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>,
        P: FnMut(&NlMsg<'_>) -> Result<Option<R>>,
    {
        let mut list = Vec::new();
        for _ in 0..=DUMP_RETRIES {
            list.clear();
            let seq = self.send(kind, NLM_F_DUMP, &body)?;
            let mut interrupted = false;
            self.receive(seq, |m| {
                interrupted |= m.flags() & NLM_F_DUMP_INTR != 0;
                match m.typed()? {
                    Message::Done(d) if d.error < 0 => Err(refused(errno_of(d.error), d.ext_ack())),
                    Message::Done(_) => Ok(Flow::Done),
                    Message::Error(e) => check(&e).map(|_| Flow::Done),
                    _ => {
                        list.extend(parse(m)?);
                        Ok(Flow::More)
                    }
                }
            })?;
            if !interrupted {
                return Ok(list);
            }
        }
        Err(Error::Io(std::io::Error::from_raw_os_error(libc::EINTR)))
    }

    /// Sends a caller-built message and returns the answer's value: 0 for
    /// an ACK, a positive value a stack passed through, or the error. The
    /// sequence number and port id are set by the handle (so that the answer
    /// can be matched) and `NLM_F_REQUEST | NLM_F_ACK` are added. Messages
    /// that come before the ACK (e.g. the object a GET asked for) go to
    /// `each`.
    ///
    /// This is the C `nldialog`.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// use nlinline::wire::{consts::*, FamilyHeader, IfInfoMsg, Writer};
    /// // RTM_SETLINK: lo up.
    /// let mut w = Writer::new(Vec::new());
    /// let lo_up = IfInfoMsg { index: 1, flags: IFF_UP, change: IFF_UP, ..IfInfoMsg::default() };
    /// w.message(RTM_SETLINK, 0, 0, 0, |w| lo_up.emit(w))?;
    /// assert_eq!(h.dialog(w.buffer(), |_| Ok(()))?, 0);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn dialog<E>(&mut self, message: &[u8], each: E) -> Result<i32>
    where
        E: FnMut(&NlMsg<'_>) -> Result<()>,
    {
        let (msg, _) = NlMsg::parse(message)?;
        let h: NlMsgHeader = msg.header();
        let payload = msg.payload();
        self.request(h.message_type, h.flags, |w| w.put(payload), each)
    }
}

/// Whether an answer is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Wait for more messages.
    More,
    /// The answer is complete.
    Done,
}

/// The value of an `NLMSG_ERROR`: `Ok` for an ACK or a positive value,
/// the refusal otherwise.
pub(crate) fn check(e: &nlq::wire::ErrorMessage<'_>) -> Result<i32> {
    match e.error() {
        v if v >= 0 => Ok(v),
        v => Err(refused(errno_of(v), e.ext_ack())),
    }
}

/// The positive errno of a negative status (`i32::MIN` saturates).
fn errno_of(status: i32) -> Errno {
    Errno(status.checked_neg().unwrap_or(i32::MAX))
}

fn refused(errno: Errno, ext: nlq::wire::ExtAck<'_>) -> Error {
    Error::Refused {
        errno,
        message: ext.msg.map(str::to_owned),
        offset: ext.offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_too_long_to_reach_waits_without_one() {
        let stack = crate::Shared::new(nlq_mem::MemStack::new());
        let mut h = Handle::in_process(&stack).with_timeout(Duration::MAX);
        let links = h.links().unwrap();
        assert_eq!(links.len(), 1);
        let mut h = Handle::in_process(&stack).with_timeout(Duration::ZERO);
        assert!(matches!(h.links(), Err(Error::Timeout)));
    }
}
