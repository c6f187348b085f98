//! The Linux kernel as a [`Transport`]: a `NETLINK_ROUTE` socket (through
//! `netlink-sys`), optionally in another network namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nlq::server::SockOpt;

use crate::transport::Transport;

/// The default wait for an answer from the kernel.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A `NETLINK_ROUTE` socket to the kernel, with `NETLINK_EXT_ACK` (error
/// text), `NETLINK_CAP_ACK` (errors do not echo whole requests) and
/// `NETLINK_GET_STRICT_CHK` (dump filters) on. Datagrams not sent by the
/// kernel are ignored; the receive buffer grows to each datagram's size.
#[derive(Debug)]
pub struct KernelSocket {
    sock: Socket,
    port: u32,
}

impl KernelSocket {
    /// A socket in the calling thread's network namespace.
    pub fn new() -> io::Result<Self> {
        Self::setup(Socket::new(NETLINK_ROUTE)?)
    }

    /// A socket in the network namespace at `path` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`). The calling thread does not move: a short-lived
    /// thread enters the namespace and creates the socket, which stays
    /// bound to that namespace for its whole life.
    pub fn in_namespace(path: impl AsRef<Path>) -> io::Result<Self> {
        let ns = File::open(path.as_ref())?;
        let sock = std::thread::spawn(move || -> io::Result<Socket> {
            // SAFETY: setns(2) with a valid open namespace fd (`ns` lives to
            // the end of this closure); it changes only this thread, which
            // ends right after creating the socket.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            Socket::new(NETLINK_ROUTE)
        })
        .join()
        .map_err(|_| io::Error::other("namespace thread panicked"))??;
        Self::setup(sock)
    }

    fn setup(mut sock: Socket) -> io::Result<Self> {
        let addr = sock.bind_auto()?;
        sock.set_ext_ack(true)?;
        sock.set_cap_ack(true)?;
        sock.set_netlink_get_strict_chk(true)?;
        Ok(KernelSocket {
            sock,
            port: addr.port_number(),
        })
    }

    /// The underlying socket.
    pub fn socket(&self) -> &Socket {
        &self.sock
    }

    /// Sets the receive and send buffers to at least `bytes`, beyond
    /// `rmem_max` when permitted (`SO_RCVBUFFORCE`, `SO_SNDBUFFORCE` need
    /// `CAP_NET_ADMIN`). Returns the receive buffer size in effect.
    pub fn set_buffers(&self, bytes: usize) -> io::Result<usize> {
        let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        for (force, plain) in [
            (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
            (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        ] {
            if self.setsockopt(force, want).is_err() {
                // Not permitted: the kernel caps the plain option at the
                // sysctl maximum, which is still worth having.
                let _ = self.setsockopt(plain, want);
            }
        }
        self.sock.get_rx_buf_sz()
    }

    fn setsockopt(&self, opt: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: a valid socket fd, and a pointer to an int that lives for
        // the call with its exact size.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits until a datagram is readable or `timeout` passes.
    fn wait_readable(&self, timeout: Duration) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: one valid pollfd, living for the call.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            match rc {
                0 => return Err(io::ErrorKind::TimedOut.into()),
                r if r > 0 => return Ok(()),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }
}

impl Transport for KernelSocket {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        let kernel = SocketAddr::new(0, 0);
        let n = self.sock.send_to(datagram, &kernel, 0)?;
        if n == datagram.len() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short netlink send",
            ))
        }
    }

    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        self.receive(buf, None, timeout)
    }

    fn port(&self) -> u32 {
        self.port
    }

    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        let have = self.sock.get_rx_buf_sz()?;
        if have >= bytes {
            return Ok(Some(have));
        }
        self.set_buffers(bytes).map(Some)
    }

    fn join_group(&mut self, group: u32) -> io::Result<()> {
        self.sock.add_membership(group)
    }

    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        match opt {
            SockOpt::AddMembership(g) => self.sock.add_membership(g),
            SockOpt::DropMembership(g) => self.sock.drop_membership(g),
            SockOpt::ExtAck(v) => self.sock.set_ext_ack(v),
            SockOpt::CapAck(v) => self.sock.set_cap_ack(v),
            SockOpt::StrictCheck(v) => self.sock.set_netlink_get_strict_chk(v),
            SockOpt::NoEnobufs(v) => self.sock.set_no_enobufs(v),
            SockOpt::RcvBuf(bytes) => self.set_buffers(bytes).map(drop),
            SockOpt::PktInfo(v) => self.sock.set_pktinfo(v),
            SockOpt::BroadcastError(v) => self.sock.set_broadcast_error(v),
            SockOpt::ListenAllNsid(v) => self.sock.set_listen_all_namespaces(v),
            _ => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    /// The kernel cuts dumps to the largest buffer a socket has read with
    /// (up to 32 KiB): the datagram is first looked at with a buffer of
    /// `size` bytes, then read whole.
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.receive(buf, Some(size), timeout)
    }
}

impl KernelSocket {
    /// Receives one datagram from the kernel into `buf`, looked at first
    /// with a buffer of `size` bytes when given (see
    /// [`Transport::recv_with_buffer`]).
    fn receive(
        &mut self,
        buf: &mut Vec<u8>,
        size: Option<usize>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
        // A timeout beyond the clock's range waits as long as it says.
        let deadline = std::time::Instant::now().checked_add(timeout);
        loop {
            let left = deadline.map_or(timeout, |d| {
                d.saturating_duration_since(std::time::Instant::now())
            });
            self.wait_readable(left)?;
            // Learn the datagram's size without consuming it, then read it
            // whole into a buffer of that size.
            buf.clear();
            let len = match size {
                None => {
                    self.sock
                        .recv_from(buf, libc::MSG_PEEK | libc::MSG_TRUNC)?
                        .0
                }
                Some(size) => {
                    // The reader's buffer, exactly: the kernel keeps its size.
                    let mut reader = Vec::with_capacity(size.max(1));
                    let len = self
                        .sock
                        .recv_from(&mut reader, libc::MSG_PEEK | libc::MSG_TRUNC)?
                        .0;
                    if buf.capacity() > size.max(len) {
                        *buf = Vec::new();
                    }
                    len
                }
            };
            buf.clear();
            buf.reserve(len);
            let (n, from) = self.sock.recv_from(buf, 0)?;
            buf.truncate(n);
            if from.port_number() == 0 {
                return Ok(());
            }
            // Not from the kernel: ignore it and wait for the next one.
        }
    }
}
