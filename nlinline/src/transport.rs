//! The "any stack" seam: send one datagram, receive one datagram.
//!
//! nlinline speaks to a network stack only through [`Transport`]. The
//! kernel is one implementation ([`KernelSocket`](crate::KernelSocket)); an
//! in-process stack is another ([`Loopback`]); a stack with its own socket
//! API gets one by implementing the three methods, for example:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::io;
//! use std::time::Duration;
//! use nlinline::Transport;
//!
//! /// A stack whose netlink socket is a pair of queues (a stand-in for a
//! /// user-space stack's own `msocket`-like API).
//! struct MyStackSocket {
//!     to_stack: VecDeque<Vec<u8>>,
//!     from_stack: VecDeque<Vec<u8>>,
//! }
//!
//! impl Transport for MyStackSocket {
//!     fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
//!         self.to_stack.push_back(datagram.to_vec());
//!         Ok(())
//!     }
//!     fn recv(&mut self, buf: &mut Vec<u8>, _timeout: Option<Duration>) -> io::Result<()> {
//!         let d = self.from_stack.pop_front().ok_or(io::ErrorKind::TimedOut)?;
//!         buf.clear();
//!         buf.extend_from_slice(&d);
//!         Ok(())
//!     }
//!     fn port(&self) -> u32 {
//!         0
//!     }
//! }
//! # let _ = MyStackSocket { to_stack: VecDeque::new(), from_stack: VecDeque::new() };
//! ```

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use nlq::server::SockOpt;

/// A datagram channel to a netlink server (the kernel or any stack).
pub trait Transport {
    /// Sends one datagram holding one or more requests.
    fn send(&mut self, datagram: &[u8]) -> io::Result<()>;

    /// Receives one datagram into `buf` (replacing its content, grown to the
    /// datagram's whole length), waiting at most `timeout` (`None`: the
    /// transport's own default). No datagram in time is
    /// `io::ErrorKind::TimedOut`.
    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()>;

    /// The port id replies are addressed to; 0 when unknown, which turns the
    /// port check of replies off.
    fn port(&self) -> u32;

    /// Makes room for at least `bytes` of unread replies, if the transport
    /// has such a limit (the kernel socket's receive buffer). Returns the
    /// room it has now, or `None` when it has no limit.
    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        let _ = bytes;
        Ok(None)
    }

    /// Joins multicast group `group` (`RTNLGRP_*`,
    /// `NETLINK_ADD_MEMBERSHIP`): the stack's notifications to it arrive
    /// with the replies. By default the transport cannot.
    fn join_group(&mut self, group: u32) -> io::Result<()> {
        let _ = group;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport cannot join multicast groups",
        ))
    }

    /// Sets a socket option, named as nlq's server names them
    /// ([`SockOpt`]: `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK`,
    /// `NETLINK_GET_STRICT_CHK`, group membership, the receive buffer...).
    /// By default only [`SockOpt::AddMembership`] works (through
    /// [`Transport::join_group`]); any other option is
    /// `io::ErrorKind::Unsupported`.
    ///
    /// ```
    /// use nlinline::Transport;
    /// use nlinline::Shared;
    /// use nlq::server::SockOpt;
    ///
    /// /// Errors echo only the request's header, and links are heard.
    /// fn prepare(socket: &mut impl Transport) -> std::io::Result<()> {
    ///     socket.set_socket_option(SockOpt::CapAck(true))?;
    ///     socket.set_socket_option(SockOpt::AddMembership(nlinline::wire::consts::RTNLGRP_LINK))
    /// }
    ///
    /// let stack = Shared::new(nlq_mem::MemStack::new());
    /// prepare(&mut stack.connect())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        match opt {
            SockOpt::AddMembership(group) => self.join_group(group),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this transport cannot set this socket option",
            )),
        }
    }

    /// Receives one datagram as [`Transport::recv`] does, for a reader
    /// whose buffer holds `size` bytes: a server that cuts dumps to its
    /// reader's buffer (nlq's server; the kernel, which learns the size
    /// from `recvmsg`) cuts them to fit `size`. A datagram longer than
    /// `size` still comes whole, so that the caller sees it did not fit.
    /// By default the transport cannot tell its server the size, and this
    /// is [`Transport::recv`].
    ///
    /// ```
    /// use nlinline::{wire::consts::*, wire::Writer, Transport};
    /// use nlinline::Shared;
    ///
    /// /// The first datagram of a link dump, read with a page.
    /// fn first_of_dump(socket: &mut impl Transport) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    ///     let mut w = Writer::new(Vec::new());
    ///     w.message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| w.put(&[AF_UNSPEC, 0, 0, 0]))?;
    ///     socket.send(w.buffer())?;
    ///     let mut datagram = Vec::new();
    ///     socket.recv_with_buffer(&mut datagram, 4096, None)?;
    ///     Ok(datagram)
    /// }
    ///
    /// let stack = Shared::new(nlq_mem::MemStack::new());
    /// assert!(first_of_dump(&mut stack.connect())?.len() <= 4096);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let _ = size;
        self.recv(buf, timeout)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        (**self).send(datagram)
    }
    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        (**self).recv(buf, timeout)
    }
    fn port(&self) -> u32 {
        (**self).port()
    }
    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        (**self).reserve_replies(bytes)
    }
    fn join_group(&mut self, group: u32) -> io::Result<()> {
        (**self).join_group(group)
    }
    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        (**self).set_socket_option(opt)
    }
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        (**self).recv_with_buffer(buf, size, timeout)
    }
}

/// A netlink server in the same process that a test writes: it takes the
/// request datagrams and queues the reply datagrams, say from a script,
/// to see how nlinline reads answers no real stack gives. (For nlq's
/// server, use [`Handle::in_process`](crate::Handle::in_process).)
pub trait Serve {
    /// Handles one request datagram from the connection with port id `port`,
    /// pushing the reply datagrams (each at most `max_reply` bytes, the
    /// reader's buffer) onto `replies`.
    fn serve(
        &mut self,
        port: u32,
        datagram: &[u8],
        max_reply: usize,
        replies: &mut VecDeque<Vec<u8>>,
    );
}

/// A [`Transport`] to an in-process [`Serve`]: no socket, no thread.
#[derive(Debug)]
pub struct Loopback<S> {
    server: S,
    port: u32,
    replies: VecDeque<Vec<u8>>,
}

/// The reader buffer a [`Loopback`] announces: 32 KiB, as `ip` reads.
pub const LOOPBACK_READ_SIZE: usize = 32 * 1024;

impl<S: Serve> Loopback<S> {
    /// A connection with port id `port` to `server`.
    pub fn new(server: S, port: u32) -> Self {
        Loopback {
            server,
            port,
            replies: VecDeque::new(),
        }
    }

    /// The server.
    pub fn server(&mut self) -> &mut S {
        &mut self.server
    }
}

impl<S: Serve> Transport for Loopback<S> {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.server
            .serve(self.port, datagram, LOOPBACK_READ_SIZE, &mut self.replies);
        Ok(())
    }

    fn recv(&mut self, buf: &mut Vec<u8>, _timeout: Option<Duration>) -> io::Result<()> {
        // Nothing queued means nothing will come: the server is synchronous.
        let d = self.replies.pop_front().ok_or(io::ErrorKind::TimedOut)?;
        *buf = d;
        Ok(())
    }

    fn port(&self) -> u32 {
        self.port
    }
}

impl<S: nlq::stack::Stack> crate::Handle<crate::in_process::Client<S>> {
    /// A handle on a new connection to an in-process server, with the
    /// socket options [`KernelSocket`](crate::KernelSocket) sets on the
    /// kernel: extended ACKs, capped ACKs, strict checking of dumps.
    ///
    /// ```
    /// use nlinline::Handle;
    /// use nlinline::Shared;
    ///
    /// let stack = Shared::new(nlq_mem::MemStack::new());
    /// let mut h = Handle::in_process(&stack);
    /// let e = h.link_del("nosuch").unwrap_err();
    /// assert_eq!(e.errno(), libc::ENODEV);
    /// ```
    pub fn in_process(server: &crate::Shared<S>) -> Self {
        use nlq::server::SockOpt;
        let client = server.connect();
        for opt in [
            SockOpt::ExtAck(true),
            SockOpt::CapAck(true),
            SockOpt::StrictCheck(true),
        ] {
            // These options cannot fail on an open connection.
            let _ = client.set_option(opt);
        }
        crate::Handle::new(client)
    }
}

/// A connection to an in-process [`nlinline::Shared`] server is a
/// transport: requests are answered while `send` runs, replies and
/// notifications wait in the connection's queue, and dumps are cut into
/// datagrams of [`LOOPBACK_READ_SIZE`] (what `ip` reads) one at a time.
///
/// ```
/// use nlinline::Handle;
/// use nlinline::Shared;
/// use nlq_mem::MemStack;
///
/// let stack = Shared::new(MemStack::new());
/// let mut h = Handle::new(stack.connect());
/// let br = h.link_add("br0", "bridge", &[], None)?;
/// h.link_set_up(br, true)?;
/// assert_eq!(h.if_nametoindex("br0")?, br);
/// # Ok::<(), nlinline::Error>(())
/// ```
impl<S: nlq::stack::Stack> Transport for crate::in_process::Client<S> {
    fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        crate::in_process::Client::send(self, datagram);
        Ok(())
    }

    /// Waits only when given a timeout: without one, an empty queue means
    /// no answer is coming (the server answers within `send`).
    fn recv(&mut self, buf: &mut Vec<u8>, timeout: Option<Duration>) -> io::Result<()> {
        self.recv_with_buffer(buf, LOOPBACK_READ_SIZE, timeout)
    }

    fn port(&self) -> u32 {
        crate::in_process::Client::port(self)
    }

    fn reserve_replies(&mut self, bytes: usize) -> io::Result<Option<usize>> {
        Transport::set_socket_option(self, SockOpt::RcvBuf(bytes))?;
        Ok(Some(bytes))
    }

    fn join_group(&mut self, group: u32) -> io::Result<()> {
        Transport::set_socket_option(self, SockOpt::AddMembership(group))
    }

    fn set_socket_option(&mut self, opt: SockOpt) -> io::Result<()> {
        crate::in_process::Client::set_option(self, opt).map_err(io::Error::from)
    }

    /// Dumps are cut into datagrams of `size` bytes as they are read.
    fn recv_with_buffer(
        &mut self,
        buf: &mut Vec<u8>,
        size: usize,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let got = self.recv_timeout(size, timeout.unwrap_or(Duration::ZERO))?;
        let d = got.ok_or(io::ErrorKind::TimedOut)?;
        buf.clear();
        buf.extend_from_slice(&d.bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::consts::*;
    use nlq::wire::{Messages, Writer};

    /// Joins groups, and hands out what it was given.
    #[derive(Debug, Default)]
    struct Joins {
        groups: Vec<u32>,
        queued: VecDeque<Vec<u8>>,
    }

    impl Transport for Joins {
        fn send(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn recv(&mut self, buf: &mut Vec<u8>, _: Option<Duration>) -> io::Result<()> {
            *buf = self.queued.pop_front().ok_or(io::ErrorKind::TimedOut)?;
            Ok(())
        }
        fn port(&self) -> u32 {
            0
        }
        fn join_group(&mut self, group: u32) -> io::Result<()> {
            self.groups.push(group);
            Ok(())
        }
    }

    #[test]
    fn by_default_options_join_groups_only_and_sized_reads_are_reads() {
        let mut t = Joins::default();
        t.set_socket_option(SockOpt::AddMembership(RTNLGRP_LINK))
            .unwrap();
        assert_eq!(t.groups, [RTNLGRP_LINK]);
        let e = t.set_socket_option(SockOpt::CapAck(true)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        t.queued.push_back(vec![1; 100]);
        let mut buf = Vec::new();
        t.recv_with_buffer(&mut buf, 10, None).unwrap();
        assert_eq!(buf.len(), 100, "a datagram comes whole");
    }

    /// Dumps links with a reader of a page; returns the datagrams and the
    /// links they held.
    fn dump_links_by_the_page(mut t: impl Transport) -> (usize, usize) {
        t.set_socket_option(SockOpt::ExtAck(true)).unwrap();
        let mut w = Writer::new(Vec::new());
        w.message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
            w.put(&[AF_UNSPEC, 0, 0, 0])
        })
        .unwrap();
        t.send(w.buffer()).unwrap();
        let (mut datagrams, mut links) = (0, 0);
        let mut buf = Vec::new();
        while t.recv_with_buffer(&mut buf, 4096, None).is_ok() {
            assert!(buf.len() <= 4096, "{} bytes", buf.len());
            datagrams += 1;
            links += Messages::new(&buf)
                .flatten()
                .filter(|m| m.message_type() == RTM_NEWLINK)
                .count();
        }
        (datagrams, links)
    }

    /// Through a `&mut` too: options reach the server, and a dump comes in
    /// datagrams that fit the reader's buffer.
    #[test]
    fn an_in_process_connection_sets_options_and_cuts_dumps_to_the_reader() {
        let stack = crate::Shared::new(nlq_mem::MemStack::new());
        let mut h = crate::Handle::new(stack.connect());
        for i in 0..40 {
            h.link_add(&format!("br{i}"), "bridge", &[], None).unwrap();
        }
        let mut client = stack.connect();
        let (datagrams, links) = dump_links_by_the_page(&mut client);
        assert_eq!(links, 41);
        assert!(datagrams > 2, "{datagrams} datagrams");
        assert_eq!(dump_links_by_the_page(client).1, 41);
    }
}
