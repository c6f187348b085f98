//! A sans-IO rtnetlink server: request bytes in, reply datagrams out, with
//! the kernel's answers.
//!
//! A [`Server`] owns a [`Stack`] and the state of every connection (port
//! id, joined groups, socket options, the reader's buffer size, a dump in
//! progress, queued datagrams). It never touches a socket or a clock: the
//! caller moves bytes between it and whatever carries them (an in-process
//! [`Transport`](../../nlinline/trait.Transport.html), a unix socket, a
//! preload shim).
//!
//! What it does, like the kernel:
//! - several requests per datagram, trailing zero padding, 1- or 4-byte GET
//!   bodies;
//! - an ACK only with `NLM_F_ACK`; `NLMSG_ERROR` with the errno and the
//!   echoed request (capped with `NETLINK_CAP_ACK`), extended-ACK text with
//!   `NETLINK_EXT_ACK`;
//! - dumps as `NLM_F_MULTI` messages closed by `NLMSG_DONE`, one datagram at a
//!   time, each no larger than the reader's buffer, resumed when the reader
//!   asks for more: a dump holds one datagram whatever the table's size;
//! - strict-check filtering (`NETLINK_GET_STRICT_CHK`), GET by index or name,
//!   `RTM_GETROUTE` for one destination;
//! - notifications to the connections that joined the matching `RTNLGRP_*`
//!   groups, bounded by each connection's receive buffer, with `ENOBUFS`
//!   for a reader that fell behind;
//! - `EPERM` for changes from connections without the admin right.

mod addrlabel;
mod dispatch;
mod dump;
mod leftover;
pub mod link_kind;
mod neigh_request;
mod neightbl;
mod netconf;
mod nexthop_request;
mod notify;
mod peer;
mod request;
mod route_answer;
mod rule_request;
mod stats;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::errno::Errno;
use crate::stack::{Event, Stack};
use crate::wire::consts::*;
use crate::wire::{Buffer, Messages, Writer};

use dump::Dump;

pub use peer::{Delivery, Sender};

/// A connection's handle in its [`Server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u32);

impl ConnId {
    /// The raw slot number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// One reply or notification datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The netlink messages.
    pub bytes: Bytes,
    /// The multicast group it was sent to (`RTNLGRP_*`), 0 for unicast
    /// replies. The sender address a reader sees carries `1 << (group - 1)`
    /// in `nl_groups` for groups up to 32.
    pub group: u32,
    /// Who sent it: [`Sender::KERNEL`] for replies and notifications,
    /// another connection for a message it sent to this one or to a group
    /// (see [`Server::send_to`]).
    pub sender: Sender,
}

impl Datagram {
    /// `nl_groups` of the sender address, as `recvmsg` reports it.
    pub fn groups_mask(&self) -> u32 {
        match self.group {
            1..=32 => 1u32 << self.group.saturating_sub(1),
            _ => 0,
        }
    }
}

/// The default receive buffer of a connection: the kernel's
/// `net.core.rmem_default`.
pub const DEFAULT_RCVBUF: usize = 212_992;

/// What a queued datagram costs against the receive buffer beyond its
/// bytes, standing in for the kernel's `skb` overhead (`truesize`).
pub const DATAGRAM_OVERHEAD: usize = 256;

/// The size of a dump datagram before the reader has shown its buffer: the
/// kernel's `NLMSG_GOODSIZE` on 4 KiB pages.
pub const DUMP_GOODSIZE: usize = 3776;

/// The largest dump datagram: the kernel caps it at 32 KiB less the `skb`
/// overhead.
pub const DUMP_MAXSIZE: usize = 32_768 - 320;

/// The largest reader buffer that counts: the kernel caps a netlink
/// socket's `max_recvmsg_len` at 32 KiB.
pub const MAX_READER_SIZE: usize = 32_768;

/// The smallest receive buffer the kernel gives a socket
/// (`SOCK_MIN_RCVBUF` on 64-bit Linux).
pub const MIN_RCVBUF: usize = 4_608;

/// The receive buffer `setsockopt(SOL_SOCKET, name, value)` gives, as the
/// kernel computes it: `SO_RCVBUF` is capped at `rmem_max`, then doubled;
/// `SO_RCVBUFFORCE` (which needs the admin right, `allowed`) is doubled
/// uncapped, a negative value counting as 0; neither goes below
/// [`MIN_RCVBUF`]. Errors: `EPERM`, `ENOPROTOOPT` for another option.
pub fn rcvbuf_from_setsockopt(
    name: i32,
    value: u32,
    allowed: bool,
    rmem_max: u32,
) -> Result<usize, Errno> {
    let v = match name {
        SO_RCVBUF => value.min(rmem_max),
        SO_RCVBUFFORCE => {
            if !allowed {
                return Err(Errno::EPERM);
            }
            if i32::try_from(value).is_err() {
                0
            } else {
                value
            }
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let doubled = usize::try_from(v).unwrap_or(usize::MAX).saturating_mul(2);
    Ok(doubled.max(MIN_RCVBUF))
}

/// The highest `RTNLGRP_*` a connection may join.
pub const MAX_GROUP: u32 = 63;

/// Where the kernel's autobind counter starts: `-4096` as a port id.
const AUTOBIND_ROVER: u32 = (-4096i32) as u32;

/// Per-connection state.
#[derive(Debug)]
struct Conn {
    port: u32,
    bound: bool,
    groups: u64,
    ext_ack: bool,
    cap_ack: bool,
    strict: bool,
    no_enobufs: bool,
    /// `NETLINK_PKTINFO`, `NETLINK_BROADCAST_ERROR`,
    /// `NETLINK_LISTEN_ALL_NSID`: kept for `getsockopt`, nothing else.
    pktinfo: bool,
    broadcast_error: bool,
    listen_all_nsid: bool,
    admin: bool,
    /// The user the peer runs as (`RTA_UID` of route lookups).
    uid: u32,
    /// The peer's process and group, for what it sends to other
    /// connections (`SCM_CREDENTIALS`).
    pid: u32,
    gid: u32,
    rcvbuf: usize,
    queued: usize,
    overrun: bool,
    max_read: usize,
    queue: VecDeque<Datagram>,
    dump: Option<Dump>,
    arena: BytesMut,
}

impl Conn {
    fn new(port: u32) -> Self {
        Conn {
            port,
            bound: false,
            groups: 0,
            ext_ack: false,
            cap_ack: false,
            strict: false,
            no_enobufs: false,
            pktinfo: false,
            broadcast_error: false,
            listen_all_nsid: false,
            admin: true,
            uid: 0,
            pid: 0,
            gid: 0,
            rcvbuf: DEFAULT_RCVBUF,
            queued: 0,
            overrun: false,
            max_read: 0,
            queue: VecDeque::new(),
            dump: None,
            arena: BytesMut::new(),
        }
    }

    fn member_of(&self, group: u32) -> bool {
        (1..=MAX_GROUP).contains(&group) && self.groups & (1u64 << group.saturating_sub(1)) != 0
    }

    /// The size of the next dump datagram, as `netlink_dump` allocates it:
    /// what the reader has shown it reads (the largest buffer it passed),
    /// never below the kernel's `NLMSG_GOODSIZE` (a reader with a smaller
    /// buffer sees the datagram truncated, as on the kernel) and at most
    /// 32 KiB less the `skb` overhead.
    fn dump_size(&self) -> usize {
        self.max_read.clamp(DUMP_GOODSIZE, DUMP_MAXSIZE)
    }

    /// Queues a datagram if the receive buffer has room (the kernel lets the
    /// last one overshoot); otherwise drops it and marks the overrun.
    fn enqueue(&mut self, bytes: Bytes, group: u32) -> bool {
        self.enqueue_from(bytes, group, Sender::KERNEL)
    }

    /// [`Conn::enqueue`] for a datagram another connection sent.
    fn enqueue_from(&mut self, bytes: Bytes, group: u32, sender: Sender) -> bool {
        if self.queued > self.rcvbuf {
            if !self.no_enobufs {
                self.overrun = true;
            }
            return false;
        }
        self.push_from(bytes, group, sender);
        true
    }

    /// Queues a datagram whatever the buffer holds (a dump's next datagram,
    /// made only when the reader asks).
    fn push(&mut self, bytes: Bytes, group: u32) {
        self.push_from(bytes, group, Sender::KERNEL);
    }

    fn push_from(&mut self, bytes: Bytes, group: u32, sender: Sender) {
        self.queued = self
            .queued
            .saturating_add(bytes.len().saturating_add(DATAGRAM_OVERHEAD));
        self.queue.push_back(Datagram {
            bytes,
            group,
            sender,
        });
    }

    /// Takes what the arena holds as one datagram.
    fn take_arena(&mut self) -> Bytes {
        self.arena.split().freeze()
    }
}

/// A socket option of `SOL_NETLINK` (or the receive buffer size) a client
/// sets on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SockOpt {
    /// `NETLINK_ADD_MEMBERSHIP` to a group.
    AddMembership(u32),
    /// `NETLINK_DROP_MEMBERSHIP` of a group.
    DropMembership(u32),
    /// `NETLINK_EXT_ACK`.
    ExtAck(bool),
    /// `NETLINK_CAP_ACK`.
    CapAck(bool),
    /// `NETLINK_GET_STRICT_CHK`.
    StrictCheck(bool),
    /// `NETLINK_NO_ENOBUFS`.
    NoEnobufs(bool),
    /// `SO_RCVBUF` (bytes the queue may hold).
    RcvBuf(usize),
    /// `NETLINK_PKTINFO`: kept for `getsockopt` (the control message it
    /// asks for is the transport's to add).
    PktInfo(bool),
    /// `NETLINK_BROADCAST_ERROR`: kept for `getsockopt`.
    BroadcastError(bool),
    /// `NETLINK_LISTEN_ALL_NSID`: kept for `getsockopt` (one namespace
    /// here).
    ListenAllNsid(bool),
}

impl SockOpt {
    /// The option for `setsockopt(fd, SOL_NETLINK, name, &value)`;
    /// `ENOPROTOOPT` for a name the server does not keep (as the kernel
    /// answers unknown names). `Ok(None)` is kept for options accepted
    /// without effect (none today).
    pub fn from_sol_netlink(name: i32, value: u32) -> Result<Option<SockOpt>, Errno> {
        Ok(Some(match name {
            NETLINK_ADD_MEMBERSHIP => SockOpt::AddMembership(value),
            NETLINK_DROP_MEMBERSHIP => SockOpt::DropMembership(value),
            NETLINK_EXT_ACK => SockOpt::ExtAck(value != 0),
            NETLINK_CAP_ACK => SockOpt::CapAck(value != 0),
            NETLINK_GET_STRICT_CHK => SockOpt::StrictCheck(value != 0),
            NETLINK_NO_ENOBUFS => SockOpt::NoEnobufs(value != 0),
            NETLINK_PKTINFO => SockOpt::PktInfo(value != 0),
            NETLINK_BROADCAST_ERROR => SockOpt::BroadcastError(value != 0),
            NETLINK_LISTEN_ALL_NSID => SockOpt::ListenAllNsid(value != 0),
            _ => return Err(Errno::ENOPROTOOPT),
        }))
    }
}

/// An rtnetlink server over a stack. See the [module docs](self).
#[derive(Debug)]
pub struct Server<S> {
    stack: S,
    conns: Vec<Option<Conn>>,
    next_port: u32,
    /// The next port [`Server::connect_as`] tries when the process id is
    /// taken.
    rover: u32,
    /// Events reported during the current request, turned into
    /// notifications once the stack call returns.
    scratch: BytesMut,
    /// The groups some connection joined (`None`: to be counted again,
    /// after a membership changed).
    listening: Option<u64>,
}

impl<S: Stack> Server<S> {
    /// A server over `stack`, with no connection yet.
    pub fn new(stack: S) -> Self {
        Server {
            stack,
            conns: Vec::new(),
            next_port: 1,
            rover: AUTOBIND_ROVER,
            scratch: BytesMut::new(),
            listening: None,
        }
    }

    /// The stack.
    pub fn stack(&self) -> &S {
        &self.stack
    }

    /// The stack, to change it directly. Changes made this way are not
    /// notified; report them with [`Server::notify`].
    pub fn stack_mut(&mut self) -> &mut S {
        &mut self.stack
    }

    /// Consumes the server, returning the stack.
    pub fn into_stack(self) -> S {
        self.stack
    }

    /// Opens a connection (a netlink socket). It gets a port id of its own
    /// at once, as the kernel's autobind gives.
    pub fn connect(&mut self) -> ConnId {
        let port = self.free_port();
        let conn = Conn::new(port);
        let slot = match self.conns.iter().position(Option::is_none) {
            Some(i) => {
                if let Some(s) = self.conns.get_mut(i) {
                    *s = Some(conn);
                }
                i
            }
            None => {
                self.conns.push(Some(conn));
                self.conns.len().saturating_sub(1)
            }
        };
        ConnId(u32::try_from(slot).unwrap_or(u32::MAX))
    }

    /// Opens a connection for a process, with the port id the kernel's
    /// autobind would give it: the process id `pid` if no connection has
    /// it, else the next free one of a counter going down from
    /// `-4096` (as `u32`), as `netlink_autobind` picks. `pid` 0 skips the
    /// first choice.
    pub fn connect_as(&mut self, pid: u32) -> ConnId {
        let id = self.connect();
        let taken = |conns: &[Option<Conn>], p: u32| {
            conns
                .iter()
                .enumerate()
                .any(|(i, c)| i != id.0 as usize && c.as_ref().is_some_and(|c| c.port == p))
        };
        let port = if pid != 0 && !taken(&self.conns, pid) {
            pid
        } else {
            loop {
                let p = self.rover;
                self.rover = match self.rover.checked_sub(1) {
                    Some(r) if r > 0 => r,
                    _ => AUTOBIND_ROVER,
                };
                if !taken(&self.conns, p) {
                    break p;
                }
            }
        };
        if let Some(c) = self.conn_mut(id) {
            c.port = port;
            c.pid = pid;
        }
        id
    }

    /// True once the connection is bound: by [`Server::bind`], or by its
    /// first [`Server::handle_datagram`] (the kernel's autobind). Before that,
    /// `getsockname` reports port 0 on Linux.
    pub fn is_bound(&self, id: ConnId) -> bool {
        self.conn(id).is_some_and(|c| c.bound)
    }

    /// Closes a connection; its queue and dump are dropped.
    pub fn disconnect(&mut self, id: ConnId) {
        if let Some(s) = self.conns.get_mut(id.0 as usize) {
            *s = None;
        }
        self.listening = None;
    }

    /// The groups some connection joined, as [`Stack::set_listeners`]
    /// takes them.
    fn listeners(&mut self) -> crate::stack::Listeners {
        let groups = match self.listening {
            Some(g) => g,
            None => {
                let g = self.conns.iter().flatten().fold(0, |g, c| g | c.groups);
                self.listening = Some(g);
                g
            }
        };
        crate::stack::Listeners(groups)
    }

    /// The number of open connections.
    pub fn connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    fn free_port(&mut self) -> u32 {
        loop {
            let p = self.next_port;
            self.next_port = self.next_port.checked_add(1).unwrap_or(1);
            if !self.conns.iter().flatten().any(|c| c.port == p) {
                return p;
            }
        }
    }

    fn conn(&self, id: ConnId) -> Option<&Conn> {
        self.conns.get(id.0 as usize).and_then(Option::as_ref)
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns.get_mut(id.0 as usize).and_then(Option::as_mut)
    }

    /// The connection's port id (`getsockname`'s `nl_pid`); 0 for an unknown
    /// connection.
    pub fn port(&self, id: ConnId) -> u32 {
        self.conn(id).map_or(0, |c| c.port)
    }

    /// `bind(2)`: a port id (0 keeps the one it has) and the multicast groups
    /// 1 to 32 as a bitmask. `EADDRINUSE` if another connection has the
    /// port; `EINVAL` on a bound connection (one that was bound or has
    /// sent) for any port but its own, as on Linux.
    pub fn bind(&mut self, id: ConnId, port: u32, groups: u32) -> Result<(), Errno> {
        let taken = port != 0
            && self
                .conns
                .iter()
                .enumerate()
                .any(|(i, c)| i != id.0 as usize && c.as_ref().is_some_and(|c| c.port == port));
        let c = self.conn_mut(id).ok_or(Errno::EBADF)?;
        if c.bound {
            // As netlink_bind: a bound socket may only name its own port
            // (0 included: it is not "any" any more).
            if port != c.port {
                return Err(Errno::EINVAL);
            }
        } else if port != 0 && port != c.port {
            if taken {
                return Err(Errno::EADDRINUSE);
            }
            c.port = port;
        }
        c.bound = true;
        c.groups = (c.groups & !0xffff_ffff) | u64::from(groups);
        self.listening = None;
        Ok(())
    }

    /// Sets a socket option.
    pub fn set_option(&mut self, id: ConnId, opt: SockOpt) -> Result<(), Errno> {
        let c = self.conn_mut(id).ok_or(Errno::EBADF)?;
        match opt {
            SockOpt::AddMembership(g) | SockOpt::DropMembership(g) => {
                if !(1..=MAX_GROUP).contains(&g) {
                    return Err(Errno::EINVAL);
                }
                let bit = 1u64 << g.saturating_sub(1);
                if matches!(opt, SockOpt::AddMembership(_)) {
                    c.groups |= bit;
                } else {
                    c.groups &= !bit;
                }
                self.listening = None;
            }
            SockOpt::ExtAck(v) => c.ext_ack = v,
            SockOpt::CapAck(v) => c.cap_ack = v,
            SockOpt::StrictCheck(v) => c.strict = v,
            SockOpt::NoEnobufs(v) => {
                c.no_enobufs = v;
                if v {
                    c.overrun = false;
                }
            }
            SockOpt::RcvBuf(n) => c.rcvbuf = n,
            SockOpt::PktInfo(v) => c.pktinfo = v,
            SockOpt::BroadcastError(v) => c.broadcast_error = v,
            SockOpt::ListenAllNsid(v) => c.listen_all_nsid = v,
        }
        Ok(())
    }

    /// The connection's receive buffer (`SO_RCVBUF` as `getsockopt`
    /// reports it: the doubled value); 0 for no connection.
    pub fn rcvbuf(&self, id: ConnId) -> usize {
        self.conn(id).map_or(0, |c| c.rcvbuf)
    }

    /// The reader has read with a buffer of `len` bytes: dump datagrams are
    /// cut to the largest it has used, up to [`MAX_READER_SIZE`] (the
    /// kernel's `max_recvmsg_len`). A host that passes reads on (a daemon)
    /// reports them here, then reads with [`Server::reader_size`].
    pub fn note_reader_size(&mut self, id: ConnId, len: usize) {
        if let Some(c) = self.conn_mut(id) {
            c.max_read = c.max_read.max(len.min(MAX_READER_SIZE));
        }
    }

    /// The largest buffer the connection's reader has shown, and at least
    /// the kernel's `NLMSG_GOODSIZE` ([`DUMP_GOODSIZE`]), which a dump
    /// datagram never goes below.
    pub fn reader_size(&self, id: ConnId) -> usize {
        self.conn(id).map_or(0, |c| c.max_read).max(DUMP_GOODSIZE)
    }

    /// Reads a `SOL_NETLINK` option back (`getsockopt`), as the kernel
    /// reports it: flags as 0/1, memberships as the bitmask of groups 1–32.
    pub fn get_option(&self, id: ConnId, name: i32) -> Result<u32, Errno> {
        let c = self.conn(id).ok_or(Errno::EBADF)?;
        Ok(match name {
            NETLINK_EXT_ACK => u32::from(c.ext_ack),
            NETLINK_CAP_ACK => u32::from(c.cap_ack),
            NETLINK_GET_STRICT_CHK => u32::from(c.strict),
            NETLINK_NO_ENOBUFS => u32::from(c.no_enobufs),
            NETLINK_PKTINFO => u32::from(c.pktinfo),
            NETLINK_BROADCAST_ERROR => u32::from(c.broadcast_error),
            NETLINK_LISTEN_ALL_NSID => u32::from(c.listen_all_nsid),
            NETLINK_LIST_MEMBERSHIPS => c.groups as u32,
            _ => return Err(Errno::ENOPROTOOPT),
        })
    }

    /// The joined groups as a bitmask (bit `g - 1` for group `g`).
    pub fn groups(&self, id: ConnId) -> u64 {
        self.conn(id).map_or(0, |c| c.groups)
    }

    /// Grants or withdraws the right to change state (the kernel's
    /// `CAP_NET_ADMIN`). Without it, every request but a GET gets `EPERM`.
    /// Connections start with it.
    pub fn set_admin(&mut self, id: ConnId, admin: bool) {
        if let Some(c) = self.conn_mut(id) {
            c.admin = admin;
        }
    }

    /// Sets the user the peer runs as (0 by default), which route lookups
    /// report (`RTA_UID`, as the kernel reports the asking task's uid).
    pub fn set_uid(&mut self, id: ConnId, uid: u32) {
        if let Some(c) = self.conn_mut(id) {
            c.uid = uid;
        }
    }

    /// Bytes waiting in the connection's queue (what `SIOCINQ`-like probes
    /// and `poll` readiness look at; a dump in progress also makes it
    /// readable, see [`Server::readable`]).
    pub fn queued(&self, id: ConnId) -> usize {
        self.conn(id).map_or(0, |c| c.queued)
    }

    /// Datagrams waiting in the connection's queue (a dump in progress
    /// makes more as they are read).
    pub fn queued_datagrams(&self, id: ConnId) -> usize {
        self.conn(id).map_or(0, |c| c.queue.len())
    }

    /// True when [`Server::next_datagram`] would return something now.
    pub fn readable(&self, id: ConnId) -> bool {
        self.conn(id)
            .is_some_and(|c| !c.queue.is_empty() || c.dump.is_some() || c.overrun)
    }

    /// Handles one datagram of requests sent by the connection. Replies and
    /// notifications are queued; read them with [`Server::next_datagram`]. A
    /// datagram whose framing breaks is handled up to the break and the rest
    /// is dropped, as the kernel does.
    pub fn handle_datagram(&mut self, id: ConnId, datagram: &[u8]) {
        let Some(c) = self.conn_mut(id) else { return };
        c.bound = true;
        self.stack.begin_requests();
        for msg in Messages::new(datagram) {
            let Ok(msg) = msg else { break };
            self.handle(id, &msg);
        }
        self.stack.end_requests();
    }

    /// Answers each request of `datagram` with `errno` (an `NLMSG_ERROR`,
    /// whatever its `NLM_F_ACK`) without handling it: for a host whose
    /// stack failed on it (a panic caught around [`Server::handle_datagram`]), so that
    /// the client is answered rather than left waiting. Framing as in
    /// [`Server::handle_datagram`].
    pub fn answer_unhandled(&mut self, id: ConnId, datagram: &[u8], errno: Errno) {
        for msg in Messages::new(datagram) {
            let Ok(msg) = msg else { break };
            if msg.flags() & NLM_F_REQUEST != 0 {
                self.answer(id, &msg, request::Failure::errno(errno.get()));
            }
        }
    }

    /// The next datagram for the connection; `max` is the reader's buffer,
    /// as in `recvmsg`. A dump datagram is cut to the largest buffer the
    /// reader has shown, and never below the kernel's `NLMSG_GOODSIZE`
    /// ([`DUMP_GOODSIZE`]): a reader with a smaller buffer sees it
    /// truncated, as it would from the kernel. `Ok(None)`: nothing to read.
    /// `Err(ENOBUFS)`: messages were lost because the reader fell behind
    /// (reported once).
    pub fn next_datagram(&mut self, id: ConnId, max: usize) -> Result<Option<Datagram>, Errno> {
        let c = self.conn_mut(id).ok_or(Errno::EBADF)?;
        c.max_read = c.max_read.max(max);
        if c.overrun {
            c.overrun = false;
            return Err(Errno::ENOBUFS);
        }
        if c.queue.is_empty() && c.dump.is_some() {
            let size = c.dump_size();
            self.dump_next(id, size);
        }
        let c = self.conn_mut(id).ok_or(Errno::EBADF)?;
        let d = c.queue.pop_front();
        if let Some(d) = &d {
            c.queued = c
                .queued
                .saturating_sub(d.bytes.len().saturating_add(DATAGRAM_OVERHEAD));
        }
        Ok(d)
    }

    /// Reports a change the stack made on its own (a carrier change, an
    /// address from DHCP): subscribers get the kernel's notification.
    pub fn notify(&mut self, event: Event<'_>) {
        notify::broadcast(&mut self.conns, &mut self.scratch, &event, None);
    }

    /// Runs `f` on the stack with an event sink that notifies subscribers:
    /// for changes made outside netlink (a netdevice ioctl answered by
    /// [`crate::emulate::ioctl::ioctl`], an emulation) that must still be heard by
    /// `ip monitor`, as the kernel's are.
    pub fn change_stack<R>(&mut self, f: impl FnOnce(&mut S, crate::stack::Events<'_>) -> R) -> R {
        let Server {
            stack,
            conns,
            scratch,
            ..
        } = self;
        let mut events = |e: Event<'_>| notify::broadcast(conns, scratch, &e, None);
        f(stack, &mut events)
    }

    /// Writes one unicast reply into the connection's arena and queues it.
    fn reply<F>(&mut self, id: ConnId, write: F)
    where
        F: FnOnce(&mut Writer<&mut BytesMut>) -> crate::wire::Result<usize>,
    {
        let Some(c) = self.conn_mut(id) else { return };
        let mut w = Writer::new(&mut c.arena);
        if write(&mut w).is_ok() {
            let bytes = c.take_arena();
            c.enqueue(bytes, 0);
        } else {
            c.arena.clear();
        }
    }
}

/// A buffer that refuses to grow past a limit: a dump datagram being
/// filled.
struct Bounded<'a> {
    buf: &'a mut BytesMut,
    limit: usize,
}

impl Buffer for Bounded<'_> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self.buf
    }
    #[inline]
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.buf
    }
    #[inline]
    fn claim(&mut self, n: usize) -> crate::wire::Result<&mut [u8]> {
        if self.buf.len().saturating_add(n) > self.limit {
            return Err(crate::wire::Error::new(
                crate::wire::Part::Buffer,
                crate::wire::ErrorKind::NoSpace,
            ));
        }
        self.buf.claim(n)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        self.buf.truncate(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::{fixture, TestStack};
    use crate::errno::*;
    use crate::wire::{AddrRepr, LinkRepr, Message, NlMsg};
    use alloc::vec;
    use core::net::{IpAddr, Ipv4Addr};

    pub(super) fn server() -> (Server<TestStack>, ConnId) {
        let mut s = Server::new(fixture());
        let c = s.connect();
        (s, c)
    }

    fn request(
        kind: u16,
        flags: u16,
        seq: u32,
        body: impl FnOnce(&mut Writer<Vec<u8>>) -> crate::wire::Result<()>,
    ) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(kind, flags | NLM_F_REQUEST, seq, 0, body)
            .unwrap();
        w.into_inner()
    }

    fn link_up(index: u32, up: bool, flags: u16, seq: u32) -> Vec<u8> {
        request(RTM_NEWLINK, flags, seq, |w| {
            let mut l = LinkRepr::default();
            l.header.index = index;
            l.header.flags = if up { IFF_UP } else { 0 };
            l.header.change = IFF_UP;
            l.emit(w)
        })
    }

    fn new_addr(index: u32, last: u8, flags: u16, seq: u32) -> Vec<u8> {
        request(RTM_NEWADDR, flags | NLM_F_CREATE | NLM_F_EXCL, seq, |w| {
            let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, last));
            AddrRepr::new(ip, 24, index).with_local(ip).emit(w)
        })
    }

    /// Every datagram the connection has now.
    pub(super) fn drain(s: &mut Server<TestStack>, c: ConnId, max: usize) -> Vec<Datagram> {
        let mut out = vec![];
        while let Ok(Some(d)) = s.next_datagram(c, max) {
            out.push(d);
        }
        out
    }

    fn messages(d: &Datagram) -> Vec<NlMsg<'_>> {
        Messages::new(&d.bytes).map(|m| m.unwrap()).collect()
    }

    fn error_of(d: &Datagram) -> (i32, u16, usize, Option<alloc::string::String>) {
        let m = messages(d)[0];
        let Message::Error(e) = m.typed().unwrap() else {
            panic!("not an error")
        };
        (
            e.errno(),
            m.flags(),
            m.as_bytes().len(),
            e.ext_ack().msg.map(Into::into),
        )
    }

    #[test]
    fn ack_only_when_asked() {
        let (mut s, c) = server();
        s.handle_datagram(c, &link_up(2, false, 0, 1));
        assert!(drain(&mut s, c, 32768).is_empty());
        s.handle_datagram(c, &link_up(2, true, NLM_F_ACK, 2));
        let d = drain(&mut s, c, 32768);
        assert_eq!(d.len(), 1);
        let (errno, flags, len, _) = error_of(&d[0]);
        assert_eq!((errno, flags & NLM_F_CAPPED), (0, NLM_F_CAPPED));
        assert_eq!(len, 36, "an ACK echoes only the request header");
        assert_eq!(messages(&d[0])[0].seq(), 2);
        assert_eq!(messages(&d[0])[0].port(), s.port(c));
    }

    #[test]
    fn errors_come_without_ack_echo_the_request_and_carry_text() {
        let (mut s, c) = server();
        let req = link_up(99, true, 0, 7);
        s.handle_datagram(c, &req);
        let d = drain(&mut s, c, 32768);
        let (errno, flags, len, text) = error_of(&d[0]);
        assert_eq!(errno, ENODEV);
        assert_eq!(flags & NLM_F_CAPPED, 0);
        assert_eq!(len, 20 + req.len(), "the whole request is echoed");
        assert_eq!(text, None);

        s.set_option(c, SockOpt::CapAck(true)).unwrap();
        s.set_option(c, SockOpt::ExtAck(true)).unwrap();
        // An MTU cut short (3 bytes): ERANGE with the policy text.
        let mut bad = link_up(2, true, NLM_F_ACK, 8);
        bad.extend_from_slice(&[7, 0, 4, 0, 1, 2, 3, 0]);
        let l = bad.len() as u32;
        bad[..4].copy_from_slice(&l.to_ne_bytes());
        s.handle_datagram(c, &bad);
        let (errno, flags, len, text) = error_of(&drain(&mut s, c, 32768)[0]);
        assert_eq!(errno, ERANGE);
        assert_eq!(
            flags & (NLM_F_CAPPED | NLM_F_ACK_TLVS),
            NLM_F_CAPPED | NLM_F_ACK_TLVS
        );
        assert!(len > 36);
        assert_eq!(text.as_deref(), Some("Attribute failed policy validation"));
        // An attribute claiming more than the message holds: the request
        // goes on without it, and its ACK says so.
        let mut over = link_up(2, true, NLM_F_ACK, 9);
        over.extend_from_slice(&[8, 0, 4, 0, 1, 2]);
        let l = over.len() as u32;
        over[..4].copy_from_slice(&l.to_ne_bytes());
        s.handle_datagram(c, &over);
        let (errno, flags, _, text) = error_of(&drain(&mut s, c, 32768)[0]);
        assert_eq!(errno, 0);
        assert_eq!(
            flags & (NLM_F_CAPPED | NLM_F_ACK_TLVS),
            NLM_F_CAPPED | NLM_F_ACK_TLVS
        );
        assert_eq!(
            text.as_deref(),
            Some("bytes leftover after parsing attributes")
        );
    }

    #[test]
    fn unknown_types_are_eopnotsupp_and_non_requests_are_quiet() {
        let (mut s, c) = server();
        s.handle_datagram(
            c,
            &request(RTM_NEWNEIGH + 40, NLM_F_ACK, 1, |w| w.put(&[0; 4])),
        );
        assert_eq!(error_of(&drain(&mut s, c, 32768)[0]).0, EOPNOTSUPP);
        // Without NLM_F_REQUEST nothing happens; with ACK it is acknowledged.
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWLINK, NLM_F_ACK, 2, 0, |w| w.put(&[0; 16]))
            .unwrap();
        s.handle_datagram(c, w.buffer());
        assert_eq!(error_of(&drain(&mut s, c, 32768)[0]).0, 0);
    }

    #[test]
    fn several_requests_padding_and_one_byte_get_bodies() {
        let (mut s, c) = server();
        let mut dgram = link_up(2, true, NLM_F_ACK, 1);
        dgram.extend(link_up(99, true, NLM_F_ACK, 2));
        // `ip` sends a 1-byte family body, padded, in a larger buffer.
        dgram.extend(request(RTM_GETLINK, NLM_F_DUMP, 3, |w| w.put(&[AF_UNSPEC])));
        dgram.extend([0u8; 64]);
        s.handle_datagram(c, &dgram);
        let d = drain(&mut s, c, 32768);
        assert_eq!(error_of(&d[0]).0, 0);
        assert_eq!(error_of(&d[1]).0, ENODEV);
        let dump: Vec<NlMsg<'_>> = d[2..].iter().flat_map(messages).collect();
        assert_eq!(
            dump.iter()
                .filter(|m| m.message_type() == RTM_NEWLINK)
                .count(),
            3
        );
        assert_eq!(dump.last().unwrap().message_type(), NLMSG_DONE);
        assert!(dump
            .iter()
            .all(|m| m.seq() == 3 && m.flags() & NLM_F_MULTI != 0));
    }

    /// As `netlink_dump` sizes them: a dump datagram is as large as the
    /// largest buffer the reader has shown, never below `NLMSG_GOODSIZE`
    /// (a reader with a smaller buffer sees it truncated, as from the
    /// kernel), never above 32 KiB less the `skb` overhead.
    #[test]
    fn dump_datagrams_are_sized_as_the_kernel_sizes_them() {
        let (mut s, c) = server();
        for i in 0..200u32 {
            let ip = core::net::Ipv4Addr::from(0x0a00_0001 + (i << 8));
            let add = request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, i, |w| {
                AddrRepr::new(IpAddr::V4(ip), 24, 2)
                    .with_local(IpAddr::V4(ip))
                    .emit(w)
            });
            s.handle_datagram(c, &add);
        }
        // (Read as the 120-byte reader below: the largest read counts.)
        drain(&mut s, c, 120);
        let n_addrs = s.stack().addrs.len();
        assert!(n_addrs > 100, "{n_addrs} addresses");
        let dump = |s: &mut Server<_>, seq: u32, reader: usize| {
            assert_eq!(s.next_datagram(c, reader), Ok(None));
            s.handle_datagram(
                c,
                &request(RTM_GETADDR, NLM_F_DUMP, seq, |w| w.put(&[AF_UNSPEC])),
            );
            drain(s, c, reader)
        };
        // A reader of 120 bytes: datagrams of up to NLMSG_GOODSIZE.
        let d = dump(&mut s, 9, 120);
        assert!(d.len() > 2, "{} datagrams", d.len());
        assert!(d.iter().all(|d| d.bytes.len() <= DUMP_GOODSIZE));
        assert!(
            d[0].bytes.len() > DUMP_GOODSIZE - 200,
            "{}",
            d[0].bytes.len()
        );
        let msgs: Vec<NlMsg<'_>> = d.iter().flat_map(messages).collect();
        assert_eq!(
            msgs.iter()
                .filter(|m| m.message_type() == RTM_NEWADDR)
                .count(),
            n_addrs
        );
        assert_eq!(
            msgs.iter()
                .filter(|m| m.message_type() == NLMSG_DONE)
                .count(),
            1
        );
        // Once it has read with 8 KiB, the datagrams grow to that; a
        // larger buffer than the kernel's cap counts as the cap.
        let d = dump(&mut s, 10, 8192);
        assert!(d.iter().all(|d| d.bytes.len() <= 8192));
        assert!(d[0].bytes.len() > DUMP_GOODSIZE, "{}", d[0].bytes.len());
        let d = dump(&mut s, 11, 1 << 20);
        assert!(d.iter().all(|d| d.bytes.len() <= DUMP_MAXSIZE));
    }

    /// A reader that peeks at each datagram's size then reads it whole
    /// (`recvmsg(MSG_PEEK|MSG_TRUNC)`, then `recv`) reads DONE alone
    /// after links, IPv4 addresses and routes, as the kernel sends it;
    /// after IPv6 addresses it shares the last datagram.
    #[test]
    fn done_comes_in_a_datagram_of_its_own_where_the_kernel_sends_it_so() {
        let cases: [(u16, u8, bool); 5] = [
            (RTM_GETLINK, AF_UNSPEC, true),
            (RTM_GETADDR, AF_INET, true),
            (RTM_GETROUTE, AF_INET, true),
            (RTM_GETROUTE, AF_INET6, true),
            (RTM_GETADDR, AF_INET6, false),
        ];
        for (seq, (kind, family, alone)) in (1u32..).zip(cases) {
            let (mut s, c) = server();
            s.handle_datagram(c, &request(kind, NLM_F_DUMP, seq, |w| w.put(&[family])));
            let d = drain(&mut s, c, 32768);
            let last = d.last().expect("a reply");
            let done_at: Vec<usize> = d
                .iter()
                .enumerate()
                .filter(|(_, d)| messages(d).iter().any(|m| m.message_type() == NLMSG_DONE))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(done_at, vec![d.len() - 1], "kind {kind} family {family}");
            let entries = d.iter().flat_map(messages).count() - 1;
            if alone {
                assert_eq!(messages(last).len(), 1, "kind {kind} family {family}");
            } else if entries > 0 {
                assert!(messages(last).len() > 1, "kind {kind} family {family}");
            }
        }
    }

    #[test]
    fn a_second_dump_while_one_runs_is_ebusy() {
        let (mut s, c) = server();
        assert_eq!(s.next_datagram(c, 100), Ok(None));
        let dump = request(RTM_GETADDR, NLM_F_DUMP, 1, |w| w.put(&[AF_UNSPEC]));
        s.handle_datagram(c, &dump);
        s.handle_datagram(c, &dump);
        let d = drain(&mut s, c, 100);
        let errors: Vec<i32> = d
            .iter()
            .filter(|d| messages(d)[0].message_type() == NLMSG_ERROR)
            .map(|d| error_of(d).0)
            .collect();
        assert_eq!(errors, vec![EBUSY]);
        let done = d
            .iter()
            .flat_map(messages)
            .filter(|m| m.message_type() == NLMSG_DONE)
            .count();
        assert_eq!(done, 1);
    }

    #[test]
    fn strict_dumps_refuse_bad_headers_in_done() {
        let (mut s, c) = server();
        s.set_option(c, SockOpt::StrictCheck(true)).unwrap();
        s.set_option(c, SockOpt::ExtAck(true)).unwrap();
        s.handle_datagram(
            c,
            &request(RTM_GETLINK, NLM_F_DUMP, 4, |w| {
                let mut l = LinkRepr::default();
                l.header.index = 2;
                l.emit(w)
            }),
        );
        let d = drain(&mut s, c, 32768);
        let m = messages(&d[0]);
        let Message::Done(done) = m[0].typed().unwrap() else {
            panic!()
        };
        assert_eq!(done.error, -EINVAL);
        assert_eq!(
            done.ext_ack().msg,
            Some("Filter by device index not supported for link dumps")
        );
    }

    #[test]
    fn notifications_reach_members_and_echo_replaces_membership() {
        let (mut s, a) = server();
        let b = s.connect();
        let quiet = s.connect();
        // bind() sets groups 1-32 as a whole; memberships add to them.
        s.bind(b, 0, 1 << (RTNLGRP_LINK - 1)).unwrap();
        for c in [a, b] {
            s.set_option(c, SockOpt::AddMembership(RTNLGRP_IPV4_IFADDR))
                .unwrap();
        }
        s.handle_datagram(a, &new_addr(2, 9, 0, 5));
        assert_eq!(
            drain(&mut s, a, 32768).len(),
            1,
            "a member hears its own change"
        );
        let got = drain(&mut s, b, 32768);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].group, RTNLGRP_IPV4_IFADDR);
        assert_eq!(got[0].groups_mask(), 1 << 4);
        let m = messages(&got[0])[0];
        assert_eq!(
            (m.message_type(), m.seq(), m.port()),
            (RTM_NEWADDR, 5, s.port(a))
        );
        assert!(drain(&mut s, quiet, 32768).is_empty());
        // Link changes come from port 0 to RTNLGRP_LINK.
        s.handle_datagram(a, &link_up(3, true, 0, 6));
        let got = drain(&mut s, b, 32768);
        assert_eq!(got[0].group, RTNLGRP_LINK);
        // NLM_F_ECHO sends the requester its own notification.
        s.handle_datagram(a, &new_addr(2, 10, NLM_F_ECHO, 7));
        let echo = drain(&mut s, a, 32768);
        assert_eq!((echo.len(), echo[0].group), (1, 0));
        assert_eq!(drain(&mut s, b, 32768).len(), 1);
    }

    #[test]
    fn inert_options_read_back_as_set() {
        let (mut s, c) = server();
        for name in [
            NETLINK_PKTINFO,
            NETLINK_BROADCAST_ERROR,
            NETLINK_LISTEN_ALL_NSID,
        ] {
            assert_eq!(s.get_option(c, name), Ok(0));
            let opt = SockOpt::from_sol_netlink(name, 1).unwrap().unwrap();
            s.set_option(c, opt).unwrap();
            assert_eq!(s.get_option(c, name), Ok(1));
        }
    }

    #[test]
    fn connections_for_a_process_get_its_pid_then_the_rover() {
        let mut s = Server::new(fixture());
        let a = s.connect_as(4242);
        let b = s.connect_as(4242);
        let c = s.connect_as(4242);
        assert_eq!(s.port(a), 4242);
        assert_eq!(s.port(b), 0xffff_f000);
        assert_eq!(s.port(c), 0xffff_efff);
        assert!(!s.is_bound(a));
        s.handle_datagram(a, &[]);
        assert!(s.is_bound(a));
        s.bind(b, 0, 0).unwrap();
        assert!(s.is_bound(b) && !s.is_bound(c));
    }

    #[test]
    fn changes_made_outside_netlink_are_notified() {
        let (mut s, a) = server();
        s.set_option(a, SockOpt::AddMembership(RTNLGRP_LINK))
            .unwrap();
        let mut ifr = crate::emulate::ioctl::ifreq("eth0");
        crate::emulate::ioctl::ifreq_set_int(&mut ifr, 1400);
        s.change_stack(|stack, events| {
            crate::emulate::ioctl::ioctl(stack, crate::emulate::ioctl::SIOCSIFMTU, &mut ifr, events)
        })
        .unwrap();
        let got = drain(&mut s, a, 32768);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].group, RTNLGRP_LINK);
        assert_eq!(messages(&got[0])[0].message_type(), RTM_NEWLINK);
    }

    #[test]
    fn a_reader_that_falls_behind_gets_enobufs_once() {
        let (mut s, a) = server();
        let slow = s.connect();
        s.set_option(slow, SockOpt::AddMembership(RTNLGRP_LINK))
            .unwrap();
        s.set_option(slow, SockOpt::RcvBuf(2048)).unwrap();
        for i in 0..64 {
            s.handle_datagram(a, &link_up(2, i % 2 == 0, 0, i));
        }
        assert!(s.queued(slow) <= 2048 + 2 * (DATAGRAM_OVERHEAD + 512));
        assert_eq!(s.next_datagram(slow, 32768), Err(Errno::ENOBUFS));
        let rest = drain(&mut s, slow, 32768);
        assert!(!rest.is_empty() && rest.len() < 64);
        assert_eq!(s.next_datagram(slow, 32768), Ok(None));
    }

    #[test]
    fn changes_need_the_admin_right_reads_do_not() {
        let (mut s, c) = server();
        s.set_admin(c, false);
        s.handle_datagram(c, &link_up(2, true, NLM_F_ACK, 1));
        assert_eq!(error_of(&drain(&mut s, c, 32768)[0]).0, EPERM);
        s.handle_datagram(
            c,
            &request(RTM_GETLINK, NLM_F_ACK, 2, |w| {
                let mut l = LinkRepr::default();
                l.header.index = 2;
                l.emit(w)
            }),
        );
        let d = drain(&mut s, c, 32768);
        assert_eq!(messages(&d[0])[0].message_type(), RTM_NEWLINK);
        assert_eq!(error_of(&d[1]).0, 0);
    }

    #[test]
    fn get_link_by_name_and_bind_rules() {
        let (mut s, c) = server();
        s.handle_datagram(
            c,
            &request(RTM_GETLINK, 0, 1, |w| {
                LinkRepr::default().emit(w)?;
                w.attr_str(IFLA_IFNAME, "eth0")
            }),
        );
        let d = drain(&mut s, c, 32768);
        let Message::Link(l) = messages(&d[0])[0].typed().unwrap() else {
            panic!()
        };
        assert_eq!(l.header().index, 2);
        let other = s.connect();
        let taken = s.port(other);
        // c sent a request: it is bound (autobind) and keeps its port.
        assert_eq!(s.bind(c, taken, 0), Err(Errno::EINVAL));
        let fresh = s.connect();
        assert_eq!(s.bind(fresh, taken, 0), Err(Errno::EADDRINUSE));
        assert_eq!(
            s.set_option(c, SockOpt::AddMembership(0)),
            Err(Errno::EINVAL)
        );
        assert_eq!(SockOpt::from_sol_netlink(99, 1), Err(Errno::ENOPROTOOPT));
    }
}
