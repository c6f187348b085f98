//! The conformance kit's [`Endpoint`] over daemon connections, so that
//! every check of [`nlq::conformance`] runs through the socket protocol.
//!
//! The kit wants every answer to a request (and every notification it
//! causes on other connections) readable as soon as `send` returns. Over
//! sockets, answers come later; so after each send the endpoint puts a
//! *barrier* on every connection it opened: a `RTM_GETLINK` for an index no
//! link has, with a sequence number of its own, whose error must come back
//! before `send` returns. The daemon handles a connection's datagrams in
//! order and queues notifications before the requester's next answer, so
//! everything caused by the request is in front of the barrier's error. A
//! barrier's answer may land in the middle of a dump (the kernel too
//! answers a request between two dump datagrams); the endpoint then keeps
//! reading until the dump's `NLMSG_DONE`. Barrier answers are removed;
//! the checks see only their own traffic.
//!
//! ```no_run
//! use nlq::conformance::{self, Setup};
//! use nlq_daemon::endpoint::DaemonEndpoint;
//!
//! let report = conformance::run_on(&Setup::create_link("dummy"), || {
//!     DaemonEndpoint::spawn(nlq_mem::MemStack::new()).map_err(|e| e.to_string())
//! });
//! assert!(report.is_ok(), "{report}");
//! ```

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nlq::conformance::Endpoint;
use nlq::server::SockOpt;
use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{LinkRepr, Messages, Writer};

use crate::client::SocketClient;
use crate::daemon::{Daemon, DaemonHandle, Options};

/// The sequence numbers of barriers: far above what the checks use.
const BARRIER_SEQ: u32 = 0xb000_0000;

/// An index no link has: the barrier's target.
const NO_LINK: u32 = 0x7fff_fff0;

/// How long a barrier may take.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection and what has come on it.
#[derive(Debug)]
struct Conn {
    client: SocketClient,
    queue: VecDeque<Result<Vec<u8>, i32>>,
    /// Sequence numbers of dumps begun (`NLM_F_MULTI` seen) and not done.
    open_dumps: Vec<u32>,
}

/// A conformance [`Endpoint`] over a daemon's socket connections (see the
/// [module](self)).
#[derive(Debug)]
pub struct DaemonEndpoint<S: Stack + Send + 'static> {
    path: PathBuf,
    conns: Vec<Conn>,
    barriers: u32,
    _daemon: Option<DaemonHandle<S>>,
    _dir: Option<crate::testing::TempDir>,
}

impl<S: Stack + Send + 'static> DaemonEndpoint<S> {
    /// A fresh daemon over `stack` on a socket in a new temporary
    /// directory, and an endpoint on it. Both go when the endpoint is
    /// dropped.
    pub fn spawn(stack: S) -> io::Result<Self> {
        let dir = crate::testing::TempDir::new("endpoint");
        let path = dir.path().join("nlq.sock");
        let daemon = Daemon::bind(&path, stack, Options::default())?.spawn()?;
        Ok(DaemonEndpoint {
            path,
            conns: Vec::new(),
            barriers: 0,
            _daemon: Some(daemon),
            _dir: Some(dir),
        })
    }

    /// Puts a barrier on connection `i` and reads until its answer (and
    /// the end of any dump it interrupted) came.
    fn barrier(&mut self, i: usize) -> Result<(), i32> {
        self.barriers = self.barriers.wrapping_add(1);
        let seq = BARRIER_SEQ | (self.barriers & 0x0fff_ffff);
        let mut w = Writer::new(Vec::new());
        let mut l = LinkRepr::default();
        l.header.index = NO_LINK;
        w.message(RTM_GETLINK, NLM_F_REQUEST, seq, 0, |w| l.emit(w))
            .map_err(|_| EINVAL_)?;
        let c = self.conns.get_mut(i).ok_or(libc::EBADF)?;
        c.client.send(w.buffer()).map_err(os_errno)?;
        let deadline = Instant::now() + BARRIER_TIMEOUT;
        let mut seen = false;
        let mut buf = Vec::new();
        while !seen || !c.open_dumps.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(libc::ETIMEDOUT);
            }
            match c.client.recv(&mut buf, Some(left)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(libc::ETIMEDOUT),
                Err(e) => match e.raw_os_error() {
                    Some(errno) if e.get_ref().is_none() => {
                        c.queue.push_back(Err(errno));
                        continue;
                    }
                    _ => return Err(libc::EPIPE),
                },
            }
            let mut is_barrier = false;
            for m in Messages::new(&buf).flatten() {
                if m.seq() == seq {
                    is_barrier = true;
                }
                if m.flags() & NLM_F_MULTI != 0 && !c.open_dumps.contains(&m.seq()) {
                    c.open_dumps.push(m.seq());
                }
                if m.kind() == NLMSG_DONE || m.kind() == NLMSG_ERROR {
                    c.open_dumps.retain(|s| *s != m.seq());
                }
            }
            if is_barrier {
                seen = true;
            } else {
                c.queue.push_back(Ok(std::mem::take(&mut buf)));
            }
        }
        Ok(())
    }
}

/// `EINVAL`, for requests the endpoint could not build.
const EINVAL_: i32 = libc::EINVAL;

fn os_errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl<S: Stack + Send + 'static> Endpoint for DaemonEndpoint<S> {
    type Conn = usize;

    fn connect(&mut self) -> Result<usize, i32> {
        let client = SocketClient::connect(&self.path).map_err(os_errno)?;
        self.conns.push(Conn {
            client,
            queue: VecDeque::new(),
            open_dumps: Vec::new(),
        });
        Ok(self.conns.len().saturating_sub(1))
    }

    fn send(&mut self, conn: usize, datagram: &[u8]) -> Result<(), i32> {
        let c = self.conns.get_mut(conn).ok_or(libc::EBADF)?;
        c.client.send(datagram).map_err(os_errno)?;
        // The sender first: once its barrier is answered, everything its
        // request caused is queued at the daemon for every connection.
        self.barrier(conn)?;
        for i in 0..self.conns.len() {
            if i != conn {
                self.barrier(i)?;
            }
        }
        Ok(())
    }

    fn recv(&mut self, conn: usize, max: usize) -> Result<Option<Vec<u8>>, i32> {
        let c = self.conns.get_mut(conn).ok_or(libc::EBADF)?;
        let len = u32::try_from(max).unwrap_or(u32::MAX);
        c.client.reader_size(len).map_err(os_errno)?;
        match c.queue.pop_front() {
            None => Ok(None),
            Some(Ok(d)) => Ok(Some(d)),
            Some(Err(e)) => Err(e),
        }
    }

    fn set_option(&mut self, conn: usize, opt: SockOpt) -> Result<(), i32> {
        let c = self.conns.get_mut(conn).ok_or(libc::EBADF)?;
        c.client.set_sockopt(opt).map_err(os_errno)
    }
}
