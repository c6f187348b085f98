//! Clients of the daemon, in Rust: a netlink socket ([`SocketClient`], an
//! [`nlinline::Transport`]) and one-shot control requests
//! ([`ControlClient`]). Tests and benchmarks use them; so can any program
//! that wants a daemon's stack without the preload shim.
//!
//! ```
//! use nlq_daemon::client::{ControlClient, SocketClient};
//! use nlq_daemon::{Daemon, Options};
//!
//! # let dir = nlq_daemon::testing::TempDir::new("doc-client");
//! # let path = dir.path().join("nlq.sock");
//! # let _daemon = Daemon::bind(&path, nlq_mem::MemStack::new(), Options::default())?.spawn()?;
//! // A netlink socket of the daemon's stack, as an nlinline handle.
//! let mut h = SocketClient::handle(&path)?;
//! let br = h.link_add("br0", "bridge", &[], None)?;
//! h.link_set_up(br, true)?;
//! // if_nameindex through a control connection.
//! let names = ControlClient::connect(&path)?.nameindex()?;
//! assert_eq!(names, vec![(1, "lo".to_string()), (br, "br0".to_string())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nlq::emulate::ioctl::{IfReq, IFREQ_SIZE};
use nlq::emulate::IfAddrRecord;
use nlq::errno::Errno;
use nlq::server::SockOpt;
use nlq::wire::consts::*;
use nlq_remote::{self as remote, DataHeader, Hello, Request, Role, Welcome};

use crate::sys;

/// How long a client waits for the daemon's answer to a hello or a control
/// request, and a socket's default wait for data.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest datagram the daemon sends: an error echoing the largest
/// request, behind the data header.
const MAX_DATAGRAM: usize = remote::MAX_REQUEST + remote::DATA_HEADER_LEN + 64;

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "no answer from the nlq daemon")
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

/// The error of what a protocol parser answered.
fn protocol_errno(e: Errno) -> io::Error {
    errno(e.0)
}

/// Receives one datagram on a connection within `timeout`: at once if one
/// is there, else after waiting for it.
fn recv_within(fd: BorrowedFd<'_>, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let flags = sys::RecvFlags {
        peek: false,
        dontwait: true,
    };
    loop {
        match sys::recv(fd, buf, flags) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if !sys::poll_readable(fd, left)? {
            return Err(timed_out());
        }
    }
}

/// Opens a connection and sends its hello.
fn open(path: &Path, role: Role) -> io::Result<OwnedFd> {
    let fd = sys::connect_seqpacket(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot connect to the nlq daemon at {}: {e}",
                path.display()
            ),
        )
    })?;
    sys::send(fd.as_fd(), &Hello { role }.to_bytes(), false)?;
    Ok(fd)
}

/// One-shot control requests to a daemon, each on the connection this
/// client holds.
#[derive(Debug)]
pub struct ControlClient {
    fd: OwnedFd,
    buf: Vec<u8>,
    timeout: Duration,
}

impl ControlClient {
    /// A control connection to the daemon at `path`.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(ControlClient {
            fd: open(path.as_ref(), Role::Control)?,
            buf: vec![0; 1 << 16],
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sends `req` and returns the reply's payload; a refused request is
    /// the `io::Error` of its errno.
    pub fn request(&mut self, req: &Request) -> io::Result<Vec<u8>> {
        self.request_with_payload(req, &[])
    }

    /// [`ControlClient::request`] with `payload` after the request's
    /// fields (the datagram of a [`Request::SendTo`]).
    pub fn request_with_payload(&mut self, req: &Request, payload: &[u8]) -> io::Result<Vec<u8>> {
        let mut b = Vec::new();
        req.emit(&mut b);
        b.extend_from_slice(payload);
        sys::send(self.fd.as_fd(), &b, false)?;
        loop {
            let n = recv_within(self.fd.as_fd(), &mut self.buf, Some(self.timeout))?;
            if n > self.buf.len() {
                // A reply larger than the buffer (a huge getifaddrs):
                // grow, and ask again.
                self.buf.resize(n.saturating_add(1024), 0);
                sys::send(self.fd.as_fd(), &b, false)?;
                continue;
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the nlq daemon closed the control connection",
                ));
            }
            let reply = self.buf.get(..n).unwrap_or_default();
            return remote::parse_reply(reply)
                .map(<[u8]>::to_vec)
                .map_err(protocol_errno);
        }
    }

    /// A netdevice ioctl: the `ifreq` as it comes back.
    pub fn ioctl(&mut self, request: u64, ifreq: &IfReq) -> io::Result<IfReq> {
        let request = u32::try_from(request).map_err(|_| errno(libc::EINVAL))?;
        let r = self.request(&Request::Ioctl {
            request,
            ifreq: *ifreq,
        })?;
        let mut out = [0u8; IFREQ_SIZE];
        if r.len() != IFREQ_SIZE {
            return Err(errno(libc::EINVAL));
        }
        out.copy_from_slice(&r);
        Ok(out)
    }

    /// `SIOCGIFCONF` with `len` bytes of buffer (`None`: the size needed):
    /// the new `ifc_len` and the records.
    pub fn ifconf(&mut self, len: Option<u32>) -> io::Result<(u32, Vec<IfReq>)> {
        let r = self.request(&Request::IfConf { len })?;
        let (n, rest) = remote::parse_u32(&r).map_err(protocol_errno)?;
        let mut records = Vec::new();
        for c in rest.chunks(IFREQ_SIZE) {
            let rec: IfReq = c.try_into().map_err(|_| errno(libc::EINVAL))?;
            records.push(rec);
        }
        Ok((n, records))
    }

    /// `getifaddrs`.
    pub fn ifaddrs(&mut self) -> io::Result<Vec<IfAddrRecord>> {
        let r = self.request(&Request::IfAddrs)?;
        remote::decode_ifaddrs(&r).map_err(protocol_errno)
    }

    /// `if_nameindex`.
    pub fn nameindex(&mut self) -> io::Result<Vec<(u32, String)>> {
        let r = self.request(&Request::NameIndex)?;
        remote::decode_nameindex(&r).map_err(protocol_errno)
    }

    /// The text of `/proc/net/dev`.
    pub fn proc_net_dev(&mut self) -> io::Result<String> {
        let r = self.request(&Request::ProcNetDev)?;
        String::from_utf8(r).map_err(|_| errno(libc::EINVAL))
    }
}

/// What came with a datagram on a socket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The length of the messages (the header stripped).
    pub len: usize,
    /// The multicast group it was sent to, 0 for a unicast reply.
    pub group: u32,
    /// Who sent it: the kernel's side (port 0), or another socket.
    pub sender: nlq::server::Sender,
}

/// A netlink socket served by the daemon ([`Role::Socket`]).
///
/// As a [`nlinline::Transport`] it turns an error header (`ENOBUFS`)
/// into an `io::Error` with that errno.
#[derive(Debug)]
pub struct SocketClient {
    fd: OwnedFd,
    path: PathBuf,
    port: u32,
    cookie: u64,
    rx: Vec<u8>,
    reader_size: u32,
    timeout: Duration,
}

impl SocketClient {
    /// Connects to the daemon at `path` and reads the welcome.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let fd = open(path, Role::Socket)?;
        let mut buf = vec![0u8; 64];
        let n = recv_within(fd.as_fd(), &mut buf, Some(DEFAULT_TIMEOUT))?;
        let w = buf
            .get(..n)
            .ok_or_else(|| errno(libc::EPROTO))
            .and_then(|b| Welcome::parse(b).map_err(|_| errno(libc::EPROTO)))?;
        Ok(SocketClient {
            fd,
            path: path.to_path_buf(),
            port: w.port,
            cookie: w.cookie,
            rx: vec![0; MAX_DATAGRAM],
            reader_size: 0,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// An [`nlinline::Handle`] on a new connection to the daemon at `path`,
    /// with the options `ip` and [`nlinline::KernelSocket`] set: extended
    /// ACKs, capped ACKs, strict dump checking; and a 32 KiB reader.
    pub fn handle(path: impl AsRef<Path>) -> io::Result<nlinline::Handle<SocketClient>> {
        let c = SocketClient::connect(path)?;
        for opt in [
            SockOpt::ExtAck(true),
            SockOpt::CapAck(true),
            SockOpt::StrictCheck(true),
        ] {
            c.set_sockopt(opt)?;
        }
        let mut c = c;
        c.reader_size(nlinline::LOOPBACK_READ_SIZE as u32)?;
        Ok(nlinline::Handle::new(c))
    }

    /// The connection, its port and its cookie (for code that reads and
    /// writes the connection itself, such as the proxy).
    pub fn into_parts(self) -> (OwnedFd, u32, u64) {
        (self.fd, self.port, self.cookie)
    }

    /// The port id (`getsockname`'s `nl_pid`).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The cookie naming this connection in control requests.
    pub fn cookie(&self) -> u64 {
        self.cookie
    }

    /// The daemon's socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets how long [`Transport::recv`](nlinline::Transport::recv) waits
    /// when not told.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends one datagram of netlink requests.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        sys::send(self.fd.as_fd(), datagram, false).map(|_| ())
    }

    /// Sends without waiting for room: `WouldBlock` when the daemon has not
    /// read what came before.
    pub fn try_send(&self, datagram: &[u8]) -> io::Result<()> {
        sys::send(self.fd.as_fd(), datagram, true).map(|_| ())
    }

    /// Receives one datagram into `buf` (replaced by the messages, the
    /// header stripped), waiting at most `timeout` (`None`: forever;
    /// zero: not at all). An error header is its errno as an `io::Error`;
    /// nothing in time is `TimedOut`.
    pub fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<Received> {
        let n = recv_within(self.fd.as_fd(), &mut self.rx, timeout)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the nlq daemon closed the connection",
            ));
        }
        let d = self.rx.get(..n).ok_or_else(|| errno(libc::EMSGSIZE))?;
        let h = DataHeader::parse(d).map_err(|_| errno(libc::EPROTO))?;
        if h.error != 0 {
            return Err(errno(i32::try_from(h.error).unwrap_or(libc::EPROTO)));
        }
        buf.clear();
        buf.extend_from_slice(d.get(remote::DATA_HEADER_LEN..).unwrap_or_default());
        Ok(Received {
            len: buf.len(),
            group: h.group,
            sender: h.sender,
        })
    }

    fn control(&self, req: &Request) -> io::Result<Vec<u8>> {
        ControlClient::connect(&self.path)?.request(req)
    }

    /// `sendto(2)` with a destination other than the kernel alone: a
    /// port (`nl_pid`) and groups (`nl_groups`), delivered as the kernel
    /// delivers them (`EPERM` without the right to change the stack,
    /// `ECONNREFUSED` for a port no socket has); returns once delivered.
    pub fn send_to(&self, port: u32, groups: u32, datagram: &[u8]) -> io::Result<()> {
        let req = Request::SendTo {
            cookie: self.cookie,
            port,
            groups,
        };
        ControlClient::connect(&self.path)?
            .request_with_payload(&req, datagram)
            .map(|_| ())
    }

    /// `bind(2)`: port (0 keeps it) and groups 1–32; returns them as
    /// `getsockname` reports them.
    pub fn bind(&mut self, port: u32, groups: u32) -> io::Result<(u32, u32)> {
        let r = self.control(&Request::Bind {
            cookie: self.cookie,
            port,
            groups,
        })?;
        let (p, rest) = remote::parse_u32(&r).map_err(protocol_errno)?;
        let (g, _) = remote::parse_u32(rest).map_err(protocol_errno)?;
        self.port = p;
        Ok((p, g))
    }

    /// `getsockname(2)`: port and groups 1–32.
    pub fn name(&self) -> io::Result<(u32, u32)> {
        let r = self.control(&Request::Name {
            cookie: self.cookie,
        })?;
        let (p, rest) = remote::parse_u32(&r).map_err(protocol_errno)?;
        let (g, _) = remote::parse_u32(rest).map_err(protocol_errno)?;
        Ok((p, g))
    }

    /// `setsockopt(2)` at `level` (`SOL_NETLINK` or `SOL_SOCKET`).
    pub fn set_option(&self, level: i32, name: i32, value: u32) -> io::Result<()> {
        self.control(&Request::SetOption {
            cookie: self.cookie,
            level,
            name,
            value,
        })
        .map(|_| ())
    }

    /// `getsockopt(2)` at `level`.
    pub fn get_option(&self, level: i32, name: i32) -> io::Result<u32> {
        let r = self.control(&Request::GetOption {
            cookie: self.cookie,
            level,
            name,
        })?;
        remote::parse_u32(&r)
            .map(|(v, _)| v)
            .map_err(protocol_errno)
    }

    /// Sets an option named as the server names it: `SOL_NETLINK` options,
    /// and [`SockOpt::RcvBuf`] as `SO_RCVBUFFORCE` of half the bytes (the
    /// daemon doubles it, as the kernel does).
    pub fn set_sockopt(&self, opt: SockOpt) -> io::Result<()> {
        let (level, name, value) = match opt {
            SockOpt::AddMembership(g) => (SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g),
            SockOpt::DropMembership(g) => (SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, g),
            SockOpt::ExtAck(v) => (SOL_NETLINK, NETLINK_EXT_ACK, u32::from(v)),
            SockOpt::CapAck(v) => (SOL_NETLINK, NETLINK_CAP_ACK, u32::from(v)),
            SockOpt::StrictCheck(v) => (SOL_NETLINK, NETLINK_GET_STRICT_CHK, u32::from(v)),
            SockOpt::NoEnobufs(v) => (SOL_NETLINK, NETLINK_NO_ENOBUFS, u32::from(v)),
            SockOpt::RcvBuf(n) => {
                let half = u32::try_from(n.div_ceil(2)).unwrap_or(u32::MAX / 2);
                (SOL_SOCKET, SO_RCVBUFFORCE, half)
            }
            SockOpt::PktInfo(v) => (SOL_NETLINK, NETLINK_PKTINFO, u32::from(v)),
            SockOpt::BroadcastError(v) => (SOL_NETLINK, NETLINK_BROADCAST_ERROR, u32::from(v)),
            SockOpt::ListenAllNsid(v) => (SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, u32::from(v)),
            _ => return Err(io::ErrorKind::Unsupported.into()),
        };
        self.set_option(level, name, value)
    }

    /// Tells the daemon the reader uses buffers of `len` bytes (dumps are
    /// cut to the largest, at most 32 KiB).
    pub fn reader_size(&mut self, len: u32) -> io::Result<()> {
        if len <= self.reader_size {
            return Ok(());
        }
        self.control(&Request::ReaderSize {
            cookie: self.cookie,
            len,
        })?;
        self.reader_size = len;
        Ok(())
    }
}

impl AsFd for SocketClient {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for SocketClient {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl nlinline::Transport for SocketClient {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        SocketClient::send(self, datagram)
    }

    /// As the kernel transport does, a datagram another socket sent (to
    /// a group this one joined) is not an answer nor an event: it is
    /// skipped.
    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        let t = timeout.unwrap_or(self.timeout);
        let deadline = Instant::now().checked_add(t);
        loop {
            let left = deadline.map_or(t, |d| d.saturating_duration_since(Instant::now()));
            if SocketClient::recv(self, buf, Some(left))?.sender.port == 0 {
                return Ok(());
            }
        }
    }

    fn port(&self) -> u32 {
        self.port
    }

    /// Grows the connection's receive buffer (forced when the daemon lets
    /// this process; else as far as `rmem_max` allows) and reports it.
    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        let half = u32::try_from(bytes.div_ceil(2)).unwrap_or(u32::MAX / 2);
        if self.set_option(SOL_SOCKET, SO_RCVBUFFORCE, half).is_err() {
            self.set_option(SOL_SOCKET, SO_RCVBUF, half)?;
        }
        let now = self.get_option(SOL_SOCKET, SO_RCVBUF)?;
        Ok(Some(usize::try_from(now).unwrap_or(usize::MAX)))
    }

    fn join_group(&mut self, group: u32) -> io::Result<()> {
        self.set_option(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    }

    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        self.set_sockopt(opt)
    }

    /// Tells the daemon the reader's buffer size first (see
    /// [`SocketClient::reader_size`]).
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.reader_size(u32::try_from(size).unwrap_or(u32::MAX))?;
        nlinline::Transport::recv(self, buf, timeout)
    }
}
