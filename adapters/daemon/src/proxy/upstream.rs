//! Where admitted requests go: the kernel (of the proxy's network
//! namespace, or of another one), or another nlq daemon.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use nlq::wire::consts::SOL_NETLINK;
use nlq_remote::{DataHeader, Request, DATA_HEADER_LEN};

use crate::client::{ControlClient, SocketClient};
use crate::sys;

/// `NETLINK_LIST_MEMBERSHIPS`.
const NETLINK_LIST_MEMBERSHIPS: i32 = 9;

/// The upstream of a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The kernel of the proxy's own network namespace.
    Kernel,
    /// The kernel of the network namespace at this path
    /// (`/run/netns/NAME`, `/proc/PID/ns/net`). The proxy's threads enter
    /// it.
    Netns(PathBuf),
    /// An nlq daemon listening on this socket.
    Daemon(PathBuf),
}

impl std::str::FromStr for Upstream {
    type Err = String;

    /// `kernel`, `netns:PATH` or `socket:PATH`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "kernel" {
            return Ok(Upstream::Kernel);
        }
        if let Some(p) = s.strip_prefix("netns:").filter(|p| !p.is_empty()) {
            return Ok(Upstream::Netns(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("socket:").filter(|p| !p.is_empty()) {
            return Ok(Upstream::Daemon(PathBuf::from(p)));
        }
        Err(format!(
            "unknown upstream {s:?} (kernel, netns:PATH or socket:PATH)"
        ))
    }
}

/// What [`UpSocket::recv`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Messages, at `buf[..len]`, sent to `group` (0: a unicast answer).
    Messages {
        /// Their length.
        len: usize,
        /// The multicast group.
        group: u32,
    },
    /// The error a reader's `recvmsg` gets (`ENOBUFS`).
    Error(i32),
    /// The upstream closed.
    Closed,
}

/// One netlink socket upstream.
#[derive(Debug)]
pub struct UpSocket {
    inner: Inner,
    /// Set by [`UpSocket::shutdown`]: a netlink socket cannot be shut
    /// down, so its reader looks at this between waits.
    closed: AtomicBool,
}

/// How long a reader waits before it looks at `closed` again.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug)]
enum Inner {
    Kernel(OwnedFd),
    Daemon {
        data: OwnedFd,
        cookie: u64,
        control: Mutex<ControlClient>,
    },
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl UpSocket {
    /// Opens a socket upstream, bound to a port the upstream picks.
    pub fn open(up: &Upstream) -> io::Result<Self> {
        match up {
            Upstream::Kernel | Upstream::Netns(_) => {
                let fd = sys::netlink_socket()?;
                sys::netlink_bind(fd.as_fd(), 0, 0)?;
                Ok(UpSocket {
                    inner: Inner::Kernel(fd),
                    closed: AtomicBool::new(false),
                })
            }
            Upstream::Daemon(path) => {
                let c = SocketClient::connect(path)?;
                let (data, _, cookie) = c.into_parts();
                let control = ControlClient::connect(path)?;
                Ok(UpSocket {
                    inner: Inner::Daemon {
                        data,
                        cookie,
                        control: Mutex::new(control),
                    },
                    closed: AtomicBool::new(false),
                })
            }
        }
    }

    fn control(&self, req: &Request) -> io::Result<Vec<u8>> {
        match &self.inner {
            Inner::Daemon { control, .. } => {
                control.lock().map_err(|_| errno(libc::EIO))?.request(req)
            }
            Inner::Kernel(_) => Err(errno(libc::EINVAL)),
        }
    }

    fn cookie(&self) -> u64 {
        match &self.inner {
            Inner::Daemon { cookie, .. } => *cookie,
            Inner::Kernel(_) => 0,
        }
    }

    /// Sends one datagram of requests.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let fd = match &self.inner {
            Inner::Kernel(fd) => fd,
            Inner::Daemon { data, .. } => data,
        };
        sys::send(fd.as_fd(), datagram, false).map(|_| ())
    }

    /// Receives one datagram into `buf` (grown to fit it), reading with a
    /// buffer of at least `reader` bytes, as the peer reads: the kernel
    /// sizes dump datagrams by the reads it saw.
    pub fn recv(&self, buf: &mut Vec<u8>, reader: usize) -> io::Result<Received> {
        loop {
            if let Some(r) = self.recv_one(buf, reader)? {
                return Ok(r);
            }
        }
    }

    /// One datagram of [`Upstream::recv`]; `None` for one another socket
    /// sent (to a group the proxy's socket joined): the proxy relays the
    /// kernel's messages only, and must not pass one off as the kernel's.
    fn recv_one(&self, buf: &mut Vec<u8>, reader: usize) -> io::Result<Option<Received>> {
        let reader = reader.max(256);
        while !sys::poll_readable(self.fd(), Some(TICK))? {
            if self.closed.load(Ordering::SeqCst) {
                return Ok(Some(Received::Closed));
            }
        }
        if self.closed.load(Ordering::SeqCst) {
            return Ok(Some(Received::Closed));
        }
        match &self.inner {
            Inner::Kernel(fd) => {
                if buf.len() < reader {
                    buf.resize(reader, 0);
                }
                let peek = match sys::netlink_recv(
                    fd.as_fd(),
                    buf.get_mut(..reader).unwrap_or_default(),
                    true,
                ) {
                    Ok(d) => d,
                    Err(e) => return kernel_error(e).map(Some),
                };
                let want = peek.len.max(reader);
                if buf.len() < want {
                    buf.resize(want, 0);
                }
                match sys::netlink_recv(fd.as_fd(), buf.get_mut(..want).unwrap_or_default(), false)
                {
                    Ok(d) if d.port != 0 => Ok(None),
                    Ok(d) => Ok(Some(Received::Messages {
                        len: d.len.min(want),
                        group: d.group,
                    })),
                    Err(e) => kernel_error(e).map(Some),
                }
            }
            Inner::Daemon { data, .. } => {
                let peek = sys::RecvFlags {
                    peek: true,
                    dontwait: false,
                };
                if buf.len() < 64 {
                    buf.resize(64, 0);
                }
                let n = sys::recv(data.as_fd(), buf, peek)?;
                if n > buf.len() {
                    buf.resize(n, 0);
                }
                let n = sys::recv(data.as_fd(), buf, sys::RecvFlags::default())?;
                if n == 0 {
                    return Ok(Some(Received::Closed));
                }
                let head =
                    DataHeader::parse(buf.get(..n).unwrap_or_default()).map_err(|e| errno(e.0))?;
                if head.error != 0 {
                    return Ok(Some(Received::Error(
                        i32::try_from(head.error).unwrap_or(libc::EIO),
                    )));
                }
                if head.sender.port != 0 {
                    return Ok(None);
                }
                buf.copy_within(DATA_HEADER_LEN..n, 0);
                Ok(Some(Received::Messages {
                    len: n.saturating_sub(DATA_HEADER_LEN),
                    group: head.group,
                }))
            }
        }
    }

    /// `bind`: `port` 0 keeps the socket's port; groups 1 to 32 replace
    /// the ones it had. Returns the port and groups.
    pub fn bind(&self, port: u32, groups: u32) -> io::Result<(u32, u32)> {
        match &self.inner {
            Inner::Kernel(fd) => {
                let (mine, _) = sys::netlink_name(fd.as_fd())?;
                let port = if port == 0 { mine } else { port };
                sys::netlink_bind(fd.as_fd(), port, groups)?;
                sys::netlink_name(fd.as_fd())
            }
            Inner::Daemon { .. } => {
                let r = self.control(&Request::Bind {
                    cookie: self.cookie(),
                    port,
                    groups,
                })?;
                two_words(&r)
            }
        }
    }

    /// `getsockname`: port and groups 1 to 32.
    pub fn name(&self) -> io::Result<(u32, u32)> {
        match &self.inner {
            Inner::Kernel(fd) => sys::netlink_name(fd.as_fd()),
            Inner::Daemon { .. } => two_words(&self.control(&Request::Name {
                cookie: self.cookie(),
            })?),
        }
    }

    /// `setsockopt` at `SOL_NETLINK` or `SOL_SOCKET`.
    pub fn set_option(&self, level: i32, name: i32, value: u32) -> io::Result<()> {
        match &self.inner {
            Inner::Kernel(fd) => {
                sys::set_option_bytes(fd.as_fd(), level, name, &value.to_ne_bytes())
            }
            Inner::Daemon { .. } => self
                .control(&Request::SetOption {
                    cookie: self.cookie(),
                    level,
                    name,
                    value,
                })
                .map(|_| ()),
        }
    }

    /// `getsockopt` at `SOL_NETLINK` or `SOL_SOCKET`: the value's bytes.
    pub fn get_option(&self, level: i32, name: i32) -> io::Result<Vec<u8>> {
        match &self.inner {
            Inner::Kernel(fd) => {
                let max = if level == SOL_NETLINK && name == NETLINK_LIST_MEMBERSHIPS {
                    8
                } else {
                    4
                };
                sys::get_option_bytes(fd.as_fd(), level, name, max)
            }
            Inner::Daemon { .. } => self.control(&Request::GetOption {
                cookie: self.cookie(),
                level,
                name,
            }),
        }
    }

    /// Wakes a reader blocked in [`UpSocket::recv`] (it reads `Closed` or
    /// an error).
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        sys::shutdown(self.fd());
    }

    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.inner {
            Inner::Kernel(fd) => fd.as_fd(),
            Inner::Daemon { data, .. } => data.as_fd(),
        }
    }
}

fn kernel_error(e: io::Error) -> io::Result<Received> {
    match e.raw_os_error() {
        Some(libc::ENOBUFS) => Ok(Received::Error(libc::ENOBUFS)),
        Some(libc::EINVAL | libc::ENOTCONN | libc::EBADF) => Ok(Received::Closed),
        _ => Err(e),
    }
}

fn two_words(b: &[u8]) -> io::Result<(u32, u32)> {
    let w = |at: usize| -> io::Result<u32> {
        b.get(at..at.saturating_add(4))
            .and_then(|s| s.try_into().ok())
            .map(u32::from_ne_bytes)
            .ok_or_else(|| errno(libc::EPROTO))
    };
    Ok((w(0)?, w(4)?))
}

/// A one-shot netlink dialog upstream: `nlinline` helpers over an
/// [`UpSocket`] (for the emulations and the link directory).
impl nlinline::Transport for UpSocket {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        UpSocket::send(self, datagram)
    }

    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        if !sys::poll_readable(self.fd(), Some(timeout.unwrap_or(Duration::from_secs(5))))? {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the upstream did not answer",
            ));
        }
        let mut b = std::mem::take(buf);
        let r = UpSocket::recv(self, &mut b, 32 << 10);
        match r? {
            Received::Messages { len, .. } => {
                b.truncate(len);
                *buf = b;
                Ok(())
            }
            Received::Error(e) => Err(errno(e)),
            Received::Closed => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the upstream closed",
            )),
        }
    }

    fn port(&self) -> u32 {
        self.name().map(|(p, _)| p).unwrap_or(0)
    }
}

/// A reply of the upstream's control connection, for requests the proxy
/// passes on as they are (ioctls of a daemon upstream).
pub fn daemon_control(path: &std::path::Path, req: &Request) -> io::Result<Vec<u8>> {
    ControlClient::connect(path)?.request(req)
}
