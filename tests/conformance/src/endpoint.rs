//! What the checks talk to: sockets on the thing under test, each an
//! [`nlinline::Transport`].

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nlinline::Shared;
use nlinline::{KernelSocket, Transport};
use nlq::server::SockOpt;
use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::Messages;

/// Something the checks open sockets on: a fresh stack under an in-process
/// server ([`Shared`], what [`run`](crate::run) uses), the kernel
/// ([`Kernel`]), a stack in another process ([`Settled`] over its
/// sockets). Each socket is an [`nlinline::Transport`]; the kit sets
/// socket options with [`Transport::set_socket_option`], and reads with
/// [`Transport::recv_with_buffer`] and no wait: a datagram not there yet
/// is taken for one that does not come.
///
/// What nlinline's transport does not say is how to open another socket
/// (the notification checks listen on a second one) and when the answers
/// to a datagram are all there: that is this trait.
pub trait Endpoint {
    /// A socket on the thing under test.
    type Socket: Transport;

    /// Opens a socket as `socket(2)` makes one: in no group, with
    /// `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK` and `NETLINK_GET_STRICT_CHK`
    /// off.
    fn connect(&mut self) -> io::Result<Self::Socket>;

    /// Called after a datagram was sent on `sockets[sender]`: returns once
    /// its answers, and the notifications it caused on the other sockets,
    /// can be received without waiting. An in-process server and the
    /// kernel answer while the datagram is sent: nothing to do (the
    /// default).
    fn settle(&mut self, sockets: &mut [Self::Socket], sender: usize) -> io::Result<()> {
        let _ = (sockets, sender);
        Ok(())
    }
}

/// A fresh in-process server: its sockets are its connections.
impl<S: Stack> Endpoint for Shared<S> {
    type Socket = nlinline::in_process::Client<S>;

    fn connect(&mut self) -> io::Result<Self::Socket> {
        Ok(Shared::connect(self))
    }
}

/// The kernel: `NETLINK_ROUTE` sockets in the calling thread's network
/// namespace, or in another one. The checks change the link of the setup
/// and leave addresses and routes behind: give each check a scratch
/// namespace of its own.
#[derive(Debug, Clone, Default)]
pub struct Kernel {
    namespace: Option<PathBuf>,
}

impl Kernel {
    /// The kernel of the calling thread's network namespace.
    pub fn current() -> Self {
        Kernel::default()
    }

    /// The kernel of the network namespace at `path` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`).
    pub fn in_namespace(path: impl Into<PathBuf>) -> Self {
        Kernel {
            namespace: Some(path.into()),
        }
    }
}

impl Endpoint for Kernel {
    type Socket = KernelSocket;

    fn connect(&mut self) -> io::Result<KernelSocket> {
        let mut socket = match &self.namespace {
            Some(path) => KernelSocket::in_namespace(path)?,
            None => KernelSocket::new()?,
        };
        // nlinline turns them on, as `ip` does; a fresh socket has them off.
        for opt in [
            SockOpt::ExtAck(false),
            SockOpt::CapAck(false),
            SockOpt::StrictCheck(false),
        ] {
            socket.set_socket_option(opt)?;
        }
        Ok(socket)
    }
}

/// The sequence numbers of barriers: far above what the checks use.
const BARRIER_SEQ: u32 = 0xb000_0000;

/// An index no link has: the barrier's target.
const NO_LINK: u32 = 0x7fff_fff0;

/// How long a barrier may take by default.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// An endpoint whose answers come later than `send` returns (a stack in
/// another process, over sockets), made fit for the checks.
///
/// After each datagram it puts a *barrier* on every socket it opened: a
/// `RTM_GETLINK` for an index no link has, with a sequence number of its
/// own, whose error must come back before the checks go on. A server that
/// handles a socket's datagrams in order, and queues notifications before
/// the requester's next answer, has then queued everything the datagram
/// caused. A barrier's answer may land in the middle of a dump (the kernel
/// too answers a request between two dump datagrams); the barrier then
/// reads on until the dump's `NLMSG_DONE`. Barrier answers are removed: the
/// checks see only their own traffic.
#[derive(Debug)]
pub struct Settled<E> {
    inner: E,
    barriers: u32,
    timeout: Duration,
}

impl<E: Endpoint> Settled<E> {
    /// Settles `inner`'s sockets, waiting up to 10 s for each barrier.
    pub fn new(inner: E) -> Self {
        Settled {
            inner,
            barriers: 0,
            timeout: BARRIER_TIMEOUT,
        }
    }

    /// The endpoint settled.
    pub fn inner(&mut self) -> &mut E {
        &mut self.inner
    }

    /// Puts a barrier on `socket` and reads until its answer (and the end
    /// of any dump it interrupted) came.
    fn barrier(&mut self, socket: &mut SettledSocket<E::Socket>) -> io::Result<()> {
        self.barriers = self.barriers.wrapping_add(1);
        let seq = BARRIER_SEQ | (self.barriers & 0x0fff_ffff);
        let no_link = crate::harness::link_by_index(NO_LINK);
        let request = crate::harness::request(RTM_GETLINK, 0, seq, &|w| no_link.emit(w))
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        socket.inner.send(&request)?;
        let started = Instant::now();
        let mut seen = false;
        let mut buf = Vec::new();
        while !seen || !socket.open_dumps.is_empty() {
            let left = self.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
            }
            match socket.inner.recv(&mut buf, Some(left)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
                }
                Err(e) => match e.raw_os_error() {
                    // An error the socket reports (`ENOBUFS`): the checks
                    // read it in its place.
                    Some(errno) if e.get_ref().is_none() => {
                        socket.queue.push_back(Err(errno));
                        continue;
                    }
                    _ => return Err(io::Error::from_raw_os_error(libc::EPIPE)),
                },
            }
            let mut is_barrier = false;
            for m in Messages::new(&buf).flatten() {
                if m.seq() == seq {
                    is_barrier = true;
                }
                if m.flags() & NLM_F_MULTI != 0 && !socket.open_dumps.contains(&m.seq()) {
                    socket.open_dumps.push(m.seq());
                }
                if m.message_type() == NLMSG_DONE || m.message_type() == NLMSG_ERROR {
                    socket.open_dumps.retain(|s| *s != m.seq());
                }
            }
            if is_barrier {
                seen = true;
            } else {
                socket.queue.push_back(Ok(std::mem::take(&mut buf)));
            }
        }
        Ok(())
    }
}

impl<E: Endpoint> Endpoint for Settled<E> {
    type Socket = SettledSocket<E::Socket>;

    fn connect(&mut self) -> io::Result<Self::Socket> {
        Ok(SettledSocket {
            inner: self.inner.connect()?,
            queue: VecDeque::new(),
            open_dumps: Vec::new(),
        })
    }

    /// The sender first: once its barrier is answered, everything its
    /// datagram caused is queued for every socket.
    fn settle(&mut self, sockets: &mut [Self::Socket], sender: usize) -> io::Result<()> {
        if let Some(s) = sockets.get_mut(sender) {
            self.barrier(s)?;
        }
        for (i, s) in sockets.iter_mut().enumerate() {
            if i != sender {
                self.barrier(s)?;
            }
        }
        Ok(())
    }
}

/// A socket of a [`Settled`] endpoint: what the barriers read comes first,
/// then what the socket has.
#[derive(Debug)]
pub struct SettledSocket<T> {
    inner: T,
    /// Datagrams (or errnos) read while waiting for barriers.
    queue: VecDeque<Result<Vec<u8>, i32>>,
    /// Sequence numbers of dumps begun (`NLM_F_MULTI` seen) and not done.
    open_dumps: Vec<u32>,
}

impl<T> SettledSocket<T> {
    /// The next datagram the barriers read, if any.
    fn queued(&mut self, buf: &mut Vec<u8>) -> Option<io::Result<()>> {
        Some(match self.queue.pop_front()? {
            Ok(d) => {
                *buf = d;
                Ok(())
            }
            Err(errno) => Err(io::Error::from_raw_os_error(errno)),
        })
    }
}

impl<T: Transport> Transport for SettledSocket<T> {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.inner.send(datagram)
    }

    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        match self.queued(buf) {
            Some(r) => r,
            None => self.inner.recv(buf, timeout),
        }
    }

    fn port(&self) -> u32 {
        self.inner.port()
    }

    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        self.inner.reserve_replies(bytes)
    }

    fn join_group(&mut self, group: u32) -> io::Result<()> {
        self.inner.join_group(group)
    }

    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        self.inner.set_socket_option(opt)
    }

    /// With nothing queued, the socket is asked (and so learns the
    /// reader's buffer size for what comes next).
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        match self.queued(buf) {
            Some(r) => r,
            None => self.inner.recv_with_buffer(buf, size, timeout),
        }
    }
}
