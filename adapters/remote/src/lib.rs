//! The protocol between processes whose netlink is emulated (the preload
//! shim) and a daemon serving one stack (`nlq serve`), over an `AF_UNIX`
//! `SOCK_SEQPACKET` socket.
//!
//! A client opens one connection per role and first sends a [`Hello`]:
//!
//! - [`Role::Socket`]: the connection *is* a netlink socket. The daemon
//!   answers the hello with a [`Welcome`] (the port id and a cookie naming
//!   the connection in control requests). Then every datagram the client
//!   sends is a datagram of netlink requests, as written to a netlink
//!   socket; every datagram the daemon sends is a [`DataHeader`] followed by
//!   the netlink messages (or, with an errno in the header, nothing: the
//!   error a `recvmsg` reports, such as `ENOBUFS`). Because the data travels
//!   on the connection itself, `poll`, `select` and `epoll` on it report
//!   readiness as they would on a netlink socket, and `MSG_PEEK`,
//!   `MSG_TRUNC` and `MSG_DONTWAIT` keep their datagram semantics.
//! - [`Role::Control`]: one [`Request`] per datagram, each answered by one
//!   reply: a native-endian `i32` status (0 or a positive errno), then the
//!   payload described on the request. Socket options, `bind`, `getsockname`
//!   and the reader's buffer size go here, naming the socket connection by
//!   its cookie, so that their answers never mix with the data.
//!
//! All integers are native-endian, as in netlink itself (both ends are on
//! one machine). Every parser here returns `EINVAL` on malformed input and
//! never panics: the daemon parses what any local process sends. They read
//! with the codec's checked reader, [`nlq::wire::Reader`].
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

use core::net::{Ipv4Addr, Ipv6Addr};

use nlq::emulate::ioctl::{IfReq, IFREQ_SIZE};
use nlq::emulate::{IfAddrRecord, SockAddr};
use nlq::errno::{Errno, EINVAL};
use nlq::server::Sender;
use nlq::wire::{HwAddr, LinkStats, Reader};

/// What every parser here answers malformed input with.
const INVALID: Errno = Errno(EINVAL);

/// The environment variable both ends read for [`spin_micros`].
pub const SPIN_ENV: &str = "NLQ_SPIN_US";

/// How long either end polls its connection for the other's next
/// datagram before it sleeps, in microseconds: `asked` (the value of
/// [`SPIN_ENV`]) when it is a number, else 50 on a machine with `cpus` of
/// 2 or more and 0 (never) on one CPU, where polling would only keep the
/// other end from running. The answer to a request usually comes within a
/// few microseconds; sleeping for it costs a wake-up, often more than the
/// request itself.
pub fn spin_micros(asked: Option<&str>, cpus: usize) -> u64 {
    match asked.and_then(|v| v.trim().parse().ok()) {
        Some(us) => us,
        None if cpus >= 2 => 50,
        None => 0,
    }
}

/// The first four bytes of a [`Hello`]: the protocol and its version.
pub const MAGIC: [u8; 4] = *b"nlq1";

/// The length of a [`Hello`].
pub const HELLO_LEN: usize = 8;

/// The length of a [`Welcome`].
pub const WELCOME_LEN: usize = 12;

/// The length of a [`DataHeader`].
pub const DATA_HEADER_LEN: usize = 24;

/// The largest datagram a client may send on a socket connection (what a
/// netlink socket's default send buffer takes).
pub const MAX_REQUEST: usize = 1 << 20;

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A netlink socket.
    Socket,
    /// Control requests.
    Control,
}

/// The first datagram a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// What the connection is for.
    pub role: Role,
}

impl Hello {
    /// The hello's bytes.
    pub fn to_bytes(self) -> [u8; HELLO_LEN] {
        let role: u32 = match self.role {
            Role::Socket => 1,
            Role::Control => 2,
        };
        let mut b = [0u8; HELLO_LEN];
        put(&mut b, 0, &MAGIC);
        put(&mut b, 4, &role.to_ne_bytes());
        b
    }

    /// Reads a hello; `EINVAL` for anything else.
    pub fn parse(b: &[u8]) -> Result<Self, Errno> {
        let mut r = Reader::new(b);
        if r.take(4)? != MAGIC {
            return Err(INVALID);
        }
        let role = match r.u32()? {
            1 => Role::Socket,
            2 => Role::Control,
            _ => return Err(INVALID),
        };
        end(&r)?;
        Ok(Hello { role })
    }
}

/// The daemon's answer to a socket connection's hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Welcome {
    /// The connection's port id (`getsockname`'s `nl_pid` until a `bind`
    /// chooses another).
    pub port: u32,
    /// Names the connection in control requests. Unguessable, so that
    /// a process can only name its own sockets.
    pub cookie: u64,
}

impl Welcome {
    /// The welcome's bytes.
    pub fn to_bytes(self) -> [u8; WELCOME_LEN] {
        let mut b = [0u8; WELCOME_LEN];
        put(&mut b, 0, &self.port.to_ne_bytes());
        put(&mut b, 4, &self.cookie.to_ne_bytes());
        b
    }

    /// Reads a welcome.
    pub fn parse(b: &[u8]) -> Result<Self, Errno> {
        let mut r = Reader::new(b);
        let w = Welcome {
            port: r.u32()?,
            cookie: r.u64()?,
        };
        end(&r)?;
        Ok(w)
    }
}

/// What precedes every datagram the daemon sends on a socket connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataHeader {
    /// 0: netlink messages follow. Otherwise the positive errno the reader's
    /// `recvmsg` fails with (and nothing follows).
    pub error: u32,
    /// The multicast group (`RTNLGRP_*`) the messages were sent to, 0 for a
    /// unicast reply.
    pub group: u32,
    /// Who sent the messages: the sender address's `nl_pid` and the
    /// `SCM_CREDENTIALS` a reader that asked for them gets (all 0 for the
    /// kernel's own).
    pub sender: Sender,
}

impl DataHeader {
    /// The header of a datagram of messages.
    pub fn data(group: u32, sender: Sender) -> Self {
        DataHeader {
            error: 0,
            group,
            sender,
        }
    }

    /// The header of a datagram that makes the reader's `recvmsg` fail
    /// with `errno` (a positive errno).
    pub fn failure(errno: Errno) -> Self {
        DataHeader {
            error: u32::try_from(errno.get()).unwrap_or(0),
            ..DataHeader::default()
        }
    }

    /// The header's bytes.
    pub fn to_bytes(self) -> [u8; DATA_HEADER_LEN] {
        let mut b = [0u8; DATA_HEADER_LEN];
        let s = self.sender;
        for (i, v) in [self.error, self.group, s.port, s.pid, s.uid, s.gid]
            .into_iter()
            .enumerate()
        {
            put(&mut b, i.saturating_mul(4), &v.to_ne_bytes());
        }
        b
    }

    /// Reads a header from the start of a datagram (what follows it is the
    /// payload).
    pub fn parse(b: &[u8]) -> Result<Self, Errno> {
        let mut r = Reader::new(b);
        Ok(DataHeader {
            error: r.u32()?,
            group: r.u32()?,
            sender: Sender {
                port: r.u32()?,
                pid: r.u32()?,
                uid: r.u32()?,
                gid: r.u32()?,
            },
        })
    }

    /// `nl_groups` of the sender address: `1 << (group - 1)` for groups 1
    /// to 32, else 0 (as `recvmsg` on a netlink socket reports it).
    pub fn groups_mask(&self) -> u32 {
        match self.group {
            g @ 1..=32 => 1u32 << g.saturating_sub(1),
            _ => 0,
        }
    }
}

/// A control request. The reply payload of each is in its doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `bind(2)` of a socket connection: the port (0 keeps the one it has)
    /// and groups 1 to 32. Reply: the port (`u32`) and groups (`u32`) as
    /// `getsockname` then reports them.
    Bind {
        /// The socket connection.
        cookie: u64,
        /// `nl_pid`.
        port: u32,
        /// `nl_groups`.
        groups: u32,
    },
    /// `getsockname(2)`. Reply: port (`u32`) and groups 1–32 (`u32`).
    Name {
        /// The socket connection.
        cookie: u64,
    },
    /// `setsockopt(2)` at `SOL_NETLINK`, or `SOL_SOCKET`'s `SO_RCVBUF` /
    /// `SO_RCVBUFFORCE` (the value as passed; the daemon doubles it as the
    /// kernel does). Reply: nothing.
    SetOption {
        /// The socket connection.
        cookie: u64,
        /// `SOL_NETLINK` or `SOL_SOCKET`.
        level: i32,
        /// The option's name.
        name: i32,
        /// Its value.
        value: u32,
    },
    /// `getsockopt(2)` at `SOL_NETLINK`, or `SOL_SOCKET`'s `SO_RCVBUF`.
    /// Reply: the value (`u32`).
    GetOption {
        /// The socket connection.
        cookie: u64,
        /// `SOL_NETLINK` or `SOL_SOCKET`.
        level: i32,
        /// The option's name.
        name: i32,
    },
    /// The reader called `recvmsg` with a buffer of `len` bytes: dumps are
    /// cut to the largest buffer a reader used (as the kernel's
    /// `max_recvmsg_len`). Reply: nothing.
    ReaderSize {
        /// The socket connection.
        cookie: u64,
        /// The buffer's size.
        len: u32,
    },
    /// A netdevice ioctl on any socket. Reply: the `ifreq` as the ioctl
    /// leaves it ([`IFREQ_SIZE`] bytes).
    Ioctl {
        /// The request number (`SIOCGIFFLAGS`, ...).
        request: u32,
        /// The caller's `ifreq`.
        ifreq: IfReq,
    },
    /// `SIOCGIFCONF` with `ifc_len` bytes of buffer, or `None` for a NULL
    /// `ifc_buf`. Reply: the new `ifc_len` (`u32`), then the records.
    IfConf {
        /// The buffer's length.
        len: Option<u32>,
    },
    /// `getifaddrs`. Reply: the records ([`encode_ifaddrs`]).
    IfAddrs,
    /// `if_nameindex`. Reply: the links ([`encode_nameindex`]).
    NameIndex,
    /// The text of `/proc/net/dev`. Reply: the text.
    ProcNetDev,
    /// The text of `/proc/net/if_inet6`. Reply: the text.
    ProcIfInet6,
    /// The text of `/proc/net/igmp`. Reply: the text.
    ProcIgmp,
    /// The text of `/proc/net/igmp6`. Reply: the text.
    ProcIgmp6,
    /// The text of `/proc/net/dev_mcast`. Reply: the text.
    ProcDevMcast,
    /// Answered once everything the socket connection `cookie` has sent
    /// is handled and its answers are written: the shim asks it where a
    /// program could tell that the kernel would have handled its request
    /// inside `sendmsg` (a read that must not wait, another exchange with
    /// the daemon, `close`, `exit`). Reply: empty.
    Sync {
        /// The socket connection.
        cookie: u64,
    },
    /// `sendmsg(2)` with a destination address other than the kernel's
    /// (a port or groups, see `nlq::server::Server::send_to`): the
    /// datagram follows the request's fields in the same control datagram
    /// (see [`Request::parse_with_payload`]). Handled after everything the
    /// socket connection sent before. Reply: nothing, or the errno
    /// (`EPERM`, `ECONNREFUSED`).
    SendTo {
        /// The socket connection.
        cookie: u64,
        /// `nl_pid`.
        port: u32,
        /// `nl_groups`.
        groups: u32,
    },
}

const OP_BIND: u32 = 1;
const OP_NAME: u32 = 2;
const OP_SET_OPTION: u32 = 3;
const OP_GET_OPTION: u32 = 4;
const OP_READER_SIZE: u32 = 5;
const OP_IOCTL: u32 = 6;
const OP_IFCONF: u32 = 7;
const OP_IFADDRS: u32 = 8;
const OP_NAMEINDEX: u32 = 9;
const OP_PROC_NET_DEV: u32 = 10;
const OP_PROC_IF_INET6: u32 = 11;
const OP_SYNC: u32 = 12;
const OP_PROC_IGMP: u32 = 13;
const OP_PROC_IGMP6: u32 = 14;
const OP_PROC_DEV_MCAST: u32 = 15;
const OP_SEND_TO: u32 = 16;

impl Request {
    /// Appends the request's bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match *self {
            Request::Bind {
                cookie,
                port,
                groups,
            } => {
                out.extend_from_slice(&OP_BIND.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
                out.extend_from_slice(&port.to_ne_bytes());
                out.extend_from_slice(&groups.to_ne_bytes());
            }
            Request::Name { cookie } => {
                out.extend_from_slice(&OP_NAME.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
            }
            Request::SetOption {
                cookie,
                level,
                name,
                value,
            } => {
                out.extend_from_slice(&OP_SET_OPTION.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
                out.extend_from_slice(&level.to_ne_bytes());
                out.extend_from_slice(&name.to_ne_bytes());
                out.extend_from_slice(&value.to_ne_bytes());
            }
            Request::GetOption {
                cookie,
                level,
                name,
            } => {
                out.extend_from_slice(&OP_GET_OPTION.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
                out.extend_from_slice(&level.to_ne_bytes());
                out.extend_from_slice(&name.to_ne_bytes());
            }
            Request::ReaderSize { cookie, len } => {
                out.extend_from_slice(&OP_READER_SIZE.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
                out.extend_from_slice(&len.to_ne_bytes());
            }
            Request::Ioctl { request, ifreq } => {
                out.extend_from_slice(&OP_IOCTL.to_ne_bytes());
                out.extend_from_slice(&request.to_ne_bytes());
                out.extend_from_slice(&ifreq);
            }
            Request::IfConf { len } => {
                out.extend_from_slice(&OP_IFCONF.to_ne_bytes());
                out.extend_from_slice(&u32::from(len.is_some()).to_ne_bytes());
                out.extend_from_slice(&len.unwrap_or(0).to_ne_bytes());
            }
            Request::IfAddrs => out.extend_from_slice(&OP_IFADDRS.to_ne_bytes()),
            Request::NameIndex => out.extend_from_slice(&OP_NAMEINDEX.to_ne_bytes()),
            Request::ProcNetDev => out.extend_from_slice(&OP_PROC_NET_DEV.to_ne_bytes()),
            Request::ProcIfInet6 => out.extend_from_slice(&OP_PROC_IF_INET6.to_ne_bytes()),
            Request::ProcIgmp => out.extend_from_slice(&OP_PROC_IGMP.to_ne_bytes()),
            Request::ProcIgmp6 => out.extend_from_slice(&OP_PROC_IGMP6.to_ne_bytes()),
            Request::ProcDevMcast => out.extend_from_slice(&OP_PROC_DEV_MCAST.to_ne_bytes()),
            Request::Sync { cookie } => {
                out.extend_from_slice(&OP_SYNC.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
            }
            Request::SendTo {
                cookie,
                port,
                groups,
            } => {
                out.extend_from_slice(&OP_SEND_TO.to_ne_bytes());
                out.extend_from_slice(&cookie.to_ne_bytes());
                out.extend_from_slice(&port.to_ne_bytes());
                out.extend_from_slice(&groups.to_ne_bytes());
            }
        }
    }

    /// Reads one request (the whole datagram); `EINVAL` if it is not one.
    /// A [`Request::SendTo`] is read with its payload ignored.
    pub fn parse(b: &[u8]) -> Result<Self, Errno> {
        Self::parse_with_payload(b).map(|(req, _)| req)
    }

    /// Reads one request and what follows its fields: the datagram of a
    /// [`Request::SendTo`], empty for every other request (which must end
    /// with its fields, else `EINVAL`).
    pub fn parse_with_payload(b: &[u8]) -> Result<(Self, &[u8]), Errno> {
        let mut r = Reader::new(b);
        let req = match r.u32()? {
            OP_BIND => Request::Bind {
                cookie: r.u64()?,
                port: r.u32()?,
                groups: r.u32()?,
            },
            OP_NAME => Request::Name { cookie: r.u64()? },
            OP_SET_OPTION => Request::SetOption {
                cookie: r.u64()?,
                level: r.i32()?,
                name: r.i32()?,
                value: r.u32()?,
            },
            OP_GET_OPTION => Request::GetOption {
                cookie: r.u64()?,
                level: r.i32()?,
                name: r.i32()?,
            },
            OP_READER_SIZE => Request::ReaderSize {
                cookie: r.u64()?,
                len: r.u32()?,
            },
            OP_IOCTL => {
                let request = r.u32()?;
                let ifreq = r.array::<IFREQ_SIZE>()?;
                Request::Ioctl { request, ifreq }
            }
            OP_IFCONF => {
                let has = r.u32()?;
                let len = r.u32()?;
                Request::IfConf {
                    len: match has {
                        0 => None,
                        1 => Some(len),
                        _ => return Err(INVALID),
                    },
                }
            }
            OP_IFADDRS => Request::IfAddrs,
            OP_NAMEINDEX => Request::NameIndex,
            OP_PROC_NET_DEV => Request::ProcNetDev,
            OP_PROC_IF_INET6 => Request::ProcIfInet6,
            OP_PROC_IGMP => Request::ProcIgmp,
            OP_PROC_IGMP6 => Request::ProcIgmp6,
            OP_PROC_DEV_MCAST => Request::ProcDevMcast,
            OP_SYNC => Request::Sync { cookie: r.u64()? },
            OP_SEND_TO => {
                let req = Request::SendTo {
                    cookie: r.u64()?,
                    port: r.u32()?,
                    groups: r.u32()?,
                };
                return Ok((req, r.rest()));
            }
            _ => return Err(INVALID),
        };
        end(&r)?;
        Ok((req, &[]))
    }

    /// True for requests that change the stack (they need the right to
    /// change state): the `SIOCS*` ioctls.
    pub fn changes_state(&self) -> bool {
        matches!(self, Request::Ioctl { request, .. } if nlq::emulate::ioctl::is_set_request(u64::from(*request)))
    }
}

/// Appends a control reply to `out`: the status and, on success, the
/// payload.
pub fn emit_reply(out: &mut Vec<u8>, reply: Result<&[u8], Errno>) {
    match reply {
        Ok(payload) => {
            out.extend_from_slice(&0i32.to_ne_bytes());
            out.extend_from_slice(payload);
        }
        Err(errno) => out.extend_from_slice(&errno.get().to_ne_bytes()),
    }
}

/// Reads a control reply: the payload, or the errno it carries. A reply
/// too short for its status is `EINVAL`.
pub fn parse_reply(b: &[u8]) -> Result<&[u8], Errno> {
    let mut r = Reader::new(b);
    match r.i32()? {
        0 => Ok(r.rest()),
        e if e > 0 => Err(Errno(e)),
        _ => Err(INVALID),
    }
}

/// Reads the `u32` at the start of a reply payload, and the rest.
pub fn parse_u32(b: &[u8]) -> Result<(u32, &[u8]), Errno> {
    let mut r = Reader::new(b);
    let v = r.u32()?;
    Ok((v, r.rest()))
}

/// Appends `if_nameindex` entries: per link its index (`u32`), the name's
/// length (`u8`) and the name.
pub fn encode_nameindex(out: &mut Vec<u8>, links: &[(u32, String)]) {
    for (index, name) in links {
        out.extend_from_slice(&index.to_ne_bytes());
        put_str(out, name);
    }
}

/// Reads what [`encode_nameindex`] wrote.
pub fn decode_nameindex(b: &[u8]) -> Result<Vec<(u32, String)>, Errno> {
    let mut r = Reader::new(b);
    let mut links = Vec::new();
    while !r.is_empty() {
        let index = r.u32()?;
        links.push((index, string(&mut r)?));
    }
    Ok(links)
}

const SA_NONE: u8 = 0;
const SA_PACKET: u8 = 1;
const SA_INET: u8 = 2;
const SA_INET6: u8 = 3;

/// Appends `getifaddrs` records: per record its name, flags, family, the
/// three socket addresses and the counters.
pub fn encode_ifaddrs(out: &mut Vec<u8>, records: &[IfAddrRecord]) {
    for rec in records {
        put_str(out, &rec.name);
        out.extend_from_slice(&rec.flags.to_ne_bytes());
        out.push(rec.family);
        for sa in [&rec.addr, &rec.netmask, &rec.ifu] {
            put_sockaddr(out, sa.as_ref());
        }
        match &rec.stats {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                for v in s.to_array() {
                    out.extend_from_slice(&v.to_ne_bytes());
                }
            }
        }
    }
}

/// Reads what [`encode_ifaddrs`] wrote.
pub fn decode_ifaddrs(b: &[u8]) -> Result<Vec<IfAddrRecord>, Errno> {
    let mut r = Reader::new(b);
    let mut records = Vec::new();
    while !r.is_empty() {
        let name = string(&mut r)?;
        let flags = r.u32()?;
        let family = r.u8()?;
        let addr = get_sockaddr(&mut r)?;
        let netmask = get_sockaddr(&mut r)?;
        let ifu = get_sockaddr(&mut r)?;
        let stats = match r.u8()? {
            0 => None,
            1 => {
                let mut a = [0u32; LinkStats::LEN / 4];
                for v in &mut a {
                    *v = r.u32()?;
                }
                Some(LinkStats::from_array(a))
            }
            _ => return Err(INVALID),
        };
        records.push(IfAddrRecord {
            name,
            flags,
            family,
            addr,
            netmask,
            ifu,
            stats,
        });
    }
    Ok(records)
}

fn put_sockaddr(out: &mut Vec<u8>, sa: Option<&SockAddr>) {
    match sa {
        None => out.push(SA_NONE),
        Some(SockAddr::Packet {
            ifindex,
            hatype,
            addr,
        }) => {
            out.push(SA_PACKET);
            out.extend_from_slice(&ifindex.to_ne_bytes());
            out.extend_from_slice(&hatype.to_ne_bytes());
            put_bytes(out, addr.as_slice());
        }
        Some(SockAddr::Inet(a)) => {
            out.push(SA_INET);
            out.extend_from_slice(&a.octets());
        }
        Some(SockAddr::Inet6 { addr, scope_id }) => {
            out.push(SA_INET6);
            out.extend_from_slice(&addr.octets());
            out.extend_from_slice(&scope_id.to_ne_bytes());
        }
    }
}

fn get_sockaddr(r: &mut Reader<'_>) -> Result<Option<SockAddr>, Errno> {
    Ok(match r.u8()? {
        SA_NONE => None,
        SA_PACKET => {
            let ifindex = r.u32()?;
            let hatype = r.u16()?;
            let addr = HwAddr::try_from_slice(bytes(r)?).ok_or(INVALID)?;
            Some(SockAddr::Packet {
                ifindex,
                hatype,
                addr,
            })
        }
        SA_INET => Some(SockAddr::Inet(Ipv4Addr::from(r.array::<4>()?))),
        SA_INET6 => {
            let addr = Ipv6Addr::from(r.array::<16>()?);
            Some(SockAddr::Inet6 {
                addr,
                scope_id: r.u32()?,
            })
        }
        _ => return Err(INVALID),
    })
}

/// Appends a string as its length (`u8`, names are short) and bytes; a
/// longer string is cut at a character boundary within 255 bytes.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    put_bytes(out, s.as_bytes().get(..end).unwrap_or_default());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let b = b.get(..b.len().min(255)).unwrap_or_default();
    out.push(u8::try_from(b.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(b);
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(at..at.saturating_add(v.len())) {
        d.copy_from_slice(v);
    }
}

/// Bytes behind their length (`u8`), as [`put_bytes`] writes them.
fn bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Errno> {
    let n = r.u8()?;
    Ok(r.take(usize::from(n))?)
}

/// A string as [`put_str`] writes it; `EINVAL` if it is not UTF-8.
fn string(r: &mut Reader<'_>) -> Result<String, Errno> {
    core::str::from_utf8(bytes(r)?)
        .map(String::from)
        .map_err(|_| INVALID)
}

/// `EINVAL` unless every byte was read.
fn end(r: &Reader<'_>) -> Result<(), Errno> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(INVALID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::emulate::getifaddrs;
    use nlq::emulate::ioctl::{ifreq, SIOCGIFFLAGS, SIOCSIFMTU};
    use nlq::wire::consts::{NETLINK_ADD_MEMBERSHIP, SOL_NETLINK};
    use nlq_mem::MemStack;

    fn every_request() -> Vec<Request> {
        vec![
            Request::Bind {
                cookie: 7,
                port: 0,
                groups: 0x1d8607f5,
            },
            Request::Name { cookie: u64::MAX },
            Request::SetOption {
                cookie: 1,
                level: SOL_NETLINK,
                name: NETLINK_ADD_MEMBERSHIP,
                value: 36,
            },
            Request::GetOption {
                cookie: 1,
                level: 1,
                name: 8,
            },
            Request::ReaderSize {
                cookie: 2,
                len: 32768,
            },
            Request::Ioctl {
                request: SIOCGIFFLAGS as u32,
                ifreq: ifreq("lo"),
            },
            Request::IfConf { len: None },
            Request::IfConf { len: Some(400) },
            Request::IfAddrs,
            Request::NameIndex,
            Request::ProcNetDev,
            Request::ProcIfInet6,
            Request::ProcIgmp,
            Request::ProcIgmp6,
            Request::ProcDevMcast,
            Request::Sync { cookie: 7 },
            Request::SendTo {
                cookie: 7,
                port: 8,
                groups: 9,
            },
        ]
    }

    #[test]
    fn requests_round_trip_and_every_truncation_is_einval() {
        for req in every_request() {
            let mut b = Vec::new();
            req.emit(&mut b);
            assert_eq!(Request::parse(&b), Ok(req));
            for cut in 0..b.len() {
                assert_eq!(
                    Request::parse(&b[..cut]),
                    Err(Errno(EINVAL)),
                    "{req:?} cut at {cut}"
                );
            }
            b.push(0);
            if !matches!(req, Request::SendTo { .. }) {
                assert_eq!(
                    Request::parse(&b),
                    Err(Errno(EINVAL)),
                    "{req:?} with a trailing byte"
                );
            }
        }
        assert_eq!(Request::parse(&99u32.to_ne_bytes()), Err(Errno(EINVAL)));
    }

    #[test]
    fn only_set_ioctls_change_state() {
        let set = Request::Ioctl {
            request: SIOCSIFMTU as u32,
            ifreq: ifreq("lo"),
        };
        assert!(set.changes_state());
        assert!(!every_request().iter().any(Request::changes_state));
    }

    #[test]
    fn hello_welcome_and_header_round_trip() {
        for role in [Role::Socket, Role::Control] {
            let h = Hello { role };
            assert_eq!(Hello::parse(&h.to_bytes()), Ok(h));
        }
        let mut bad = Hello { role: Role::Socket }.to_bytes();
        bad[0] = b'x';
        assert_eq!(Hello::parse(&bad), Err(Errno(EINVAL)));
        assert_eq!(Hello::parse(&bad[..3]), Err(Errno(EINVAL)));
        let w = Welcome {
            port: 42,
            cookie: 0xdead_beef_0bad_f00d,
        };
        assert_eq!(Welcome::parse(&w.to_bytes()), Ok(w));
        assert_eq!(Welcome::parse(&w.to_bytes()[..11]), Err(Errno(EINVAL)));
        let from = Sender {
            port: 7,
            pid: 8,
            uid: 9,
            gid: 10,
        };
        let h = DataHeader::data(36, from);
        assert_eq!(DataHeader::parse(&h.to_bytes()), Ok(h));
        assert_eq!(h.groups_mask(), 0);
        assert_eq!(DataHeader::data(1, from).groups_mask(), 1);
        assert_eq!(DataHeader::data(32, from).groups_mask(), 1 << 31);
        assert_eq!(DataHeader::failure(Errno::ENOBUFS).error, 105);
        assert_eq!(DataHeader::parse(&h.to_bytes()[..20]), Err(Errno(EINVAL)));
        // A datagram sent to a port travels behind its request's fields.
        let mut b = Vec::new();
        let req = Request::SendTo {
            cookie: 3,
            port: 4,
            groups: 5,
        };
        req.emit(&mut b);
        b.extend_from_slice(b"payload");
        assert_eq!(Request::parse_with_payload(&b), Ok((req, &b"payload"[..])));
        assert_eq!(Request::parse(&b), Ok(req));
        let mut sync = Vec::new();
        Request::Sync { cookie: 1 }.emit(&mut sync);
        sync.push(0);
        assert_eq!(Request::parse_with_payload(&sync), Err(Errno(EINVAL)));
    }

    #[test]
    fn replies_carry_a_payload_or_an_errno() {
        let mut b = Vec::new();
        emit_reply(&mut b, Ok(&[1, 2, 3]));
        assert_eq!(parse_reply(&b), Ok(&[1u8, 2, 3][..]));
        b.clear();
        emit_reply(&mut b, Err(Errno::ENODEV));
        assert_eq!(parse_reply(&b), Err(Errno(19)));
        assert_eq!(parse_reply(&[0, 0]), Err(Errno(EINVAL)));
        assert_eq!(parse_reply(&(-5i32).to_ne_bytes()), Err(Errno(EINVAL)));
        assert_eq!(parse_u32(&[1, 0, 0, 0, 9]), Ok((1u32.to_le(), &[9u8][..])));
    }

    #[test]
    fn ifaddrs_and_nameindex_round_trip() {
        let stack = MemStack::new();
        let records = getifaddrs(&stack).unwrap();
        assert!(!records.is_empty());
        let mut b = Vec::new();
        encode_ifaddrs(&mut b, &records);
        assert_eq!(decode_ifaddrs(&b).unwrap(), records);
        for cut in 0..b.len() {
            // A cut at a record boundary is a shorter list; anywhere else
            // an error; never a panic.
            if let Ok(v) = decode_ifaddrs(&b[..cut]) {
                assert!(v.len() < records.len());
            }
        }
        let links = vec![(1, "lo".to_string()), (7, "é".repeat(200))];
        b.clear();
        encode_nameindex(&mut b, &links);
        let back = decode_nameindex(&b).unwrap();
        assert_eq!(back[0], links[0]);
        assert_eq!(back[1].1, "é".repeat(127));
        assert_eq!(decode_nameindex(&b[..3]), Err(Errno(EINVAL)));
    }

    #[test]
    fn spinning_is_asked_or_follows_the_cpus() {
        assert_eq!(spin_micros(None, 1), 0);
        assert_eq!(spin_micros(None, 2), 50);
        assert_eq!(spin_micros(Some(" 0 "), 8), 0);
        assert_eq!(spin_micros(Some("200"), 1), 200);
        assert_eq!(spin_micros(Some("lots"), 4), 50);
    }
}
