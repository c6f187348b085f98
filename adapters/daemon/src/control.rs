//! Control requests ([`nlq_remote::Request`]): socket options, `bind`,
//! `getsockname`, the reader's buffer size, netdevice ioctls and the
//! emulations, answered from the [`Server`] without any I/O.
//!
//! The daemon keeps one [`Sockets`] table (cookie → socket connection) and
//! hands every control datagram to [`Sockets::handle`]. Everything here is
//! pure, so it is fuzzed directly (`fuzz/fuzz_targets/daemon_control.rs`).

use std::collections::HashMap;

use nlq::errno::Errno;
use nlq::server::{rcvbuf_from_setsockopt, ConnId, Server, SockOpt};
use nlq::stack::Stack;
use nlq::wire::consts::{NETLINK_LIST_MEMBERSHIPS, SOL_NETLINK, SOL_SOCKET, SO_RCVBUF};
use nlq_remote::{self as remote, Request};

/// The kernel's `net.core.rmem_max` default, used when `/proc` cannot be
/// read.
pub const DEFAULT_RMEM_MAX: u32 = 212_992;

/// `net.core.rmem_max` of this machine (what caps `SO_RCVBUF`).
pub fn rmem_max() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_RMEM_MAX)
}

/// The socket connections by cookie (each the connection in the server,
/// which keeps everything else of it: options, receive buffer, the
/// reader's size), and the answers to control requests.
#[derive(Debug, Clone)]
pub struct Sockets {
    by_cookie: HashMap<u64, ConnId>,
    rmem_max: u32,
}

impl Default for Sockets {
    fn default() -> Self {
        Sockets::new(DEFAULT_RMEM_MAX)
    }
}

impl Sockets {
    /// An empty table; `rmem_max` caps `SO_RCVBUF` as `net.core.rmem_max`
    /// does.
    pub fn new(rmem_max: u32) -> Self {
        Sockets {
            by_cookie: HashMap::new(),
            rmem_max,
        }
    }

    /// Registers a socket connection under `cookie` (replacing any other).
    pub fn insert(&mut self, cookie: u64, conn: ConnId) {
        self.by_cookie.insert(cookie, conn);
    }

    /// Forgets a socket connection.
    pub fn remove(&mut self, cookie: u64) -> Option<ConnId> {
        self.by_cookie.remove(&cookie)
    }

    /// True when `cookie` names a connection.
    pub fn contains(&self, cookie: u64) -> bool {
        self.by_cookie.contains_key(&cookie)
    }

    /// The connection named by `cookie`.
    pub fn get(&self, cookie: u64) -> Option<ConnId> {
        self.by_cookie.get(&cookie).copied()
    }

    /// The number of socket connections.
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty()
    }

    /// Answers one control datagram from a peer that may (`allowed`) or
    /// may not change the stack's state; appends the reply (status and
    /// payload, [`remote::emit_reply`]) to `out`. A datagram that is not a
    /// request is answered `EINVAL`.
    pub fn handle<S: Stack>(
        &mut self,
        server: &mut Server<S>,
        allowed: bool,
        datagram: &[u8],
        out: &mut Vec<u8>,
    ) {
        let mut payload = Vec::new();
        let result = Request::parse(datagram)
            .and_then(|req| self.answer(server, allowed, &req, &mut payload));
        remote::emit_reply(out, result.map(|()| payload.as_slice()));
    }

    fn socket(&self, cookie: u64) -> Result<ConnId, Errno> {
        self.get(cookie).ok_or(Errno::EBADF)
    }

    /// Answers one request: the payload goes to `payload`.
    pub fn answer<S: Stack>(
        &mut self,
        server: &mut Server<S>,
        allowed: bool,
        req: &Request,
        payload: &mut Vec<u8>,
    ) -> Result<(), Errno> {
        match *req {
            Request::Bind {
                cookie,
                port,
                groups,
            } => {
                let conn = self.socket(cookie)?;
                server.bind(conn, port, groups)?;
                put_name(server, conn, payload);
            }
            Request::Name { cookie } => {
                let conn = self.socket(cookie)?;
                put_name(server, conn, payload);
            }
            Request::SetOption {
                cookie,
                level,
                name,
                value,
            } => {
                let rmem_max = self.rmem_max;
                let conn = self.socket(cookie)?;
                match level {
                    SOL_NETLINK => {
                        if let Some(opt) = SockOpt::from_sol_netlink(name, value)? {
                            server.set_option(conn, opt)?;
                        }
                    }
                    SOL_SOCKET => {
                        let bytes = rcvbuf_from_setsockopt(name, value, allowed, rmem_max)?;
                        server.set_option(conn, SockOpt::RcvBuf(bytes))?;
                    }
                    _ => return Err(Errno::ENOPROTOOPT),
                }
            }
            Request::GetOption {
                cookie,
                level,
                name,
            } => {
                let conn = self.socket(cookie)?;
                let v = match (level, name) {
                    (SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS) => {
                        // The whole bitmap, as the kernel copies it: one
                        // u32 word per 32 groups (rtnetlink has two).
                        let groups = server.groups(conn);
                        payload.extend_from_slice(&(groups as u32).to_ne_bytes());
                        payload.extend_from_slice(&((groups >> 32) as u32).to_ne_bytes());
                        return Ok(());
                    }
                    (SOL_NETLINK, _) => server.get_option(conn, name)?,
                    (SOL_SOCKET, SO_RCVBUF) => {
                        u32::try_from(server.rcvbuf(conn)).unwrap_or(u32::MAX)
                    }
                    _ => return Err(Errno::ENOPROTOOPT),
                };
                payload.extend_from_slice(&v.to_ne_bytes());
            }
            Request::ReaderSize { cookie, len } => {
                let conn = self.socket(cookie)?;
                server.note_reader_size(conn, usize::try_from(len).unwrap_or(usize::MAX));
            }
            Request::Ioctl { request, ifreq } => {
                if req.changes_state() && !allowed {
                    return Err(Errno::EPERM);
                }
                let mut ifr = ifreq;
                server.change_stack(|s, ev| {
                    nlq::emulate::ioctl::ioctl(s, u64::from(request), &mut ifr, ev)
                })?;
                payload.extend_from_slice(&ifr);
            }
            Request::IfConf { len } => {
                let len = len.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
                let conf = nlq::emulate::ioctl::ifconf(server.stack(), len)?;
                let n = u32::try_from(conf.len).map_err(|_| Errno::EINVAL)?;
                payload.extend_from_slice(&n.to_ne_bytes());
                for r in &conf.records {
                    payload.extend_from_slice(r);
                }
            }
            Request::IfAddrs => {
                let records = nlq::emulate::getifaddrs(server.stack())?;
                remote::encode_ifaddrs(payload, &records);
            }
            Request::NameIndex => {
                let links = nlq::emulate::if_nameindex(server.stack())?;
                remote::encode_nameindex(payload, &links);
            }
            Request::ProcNetDev => {
                let text = nlq::emulate::proc_net_dev(server.stack())?;
                payload.extend_from_slice(text.as_bytes());
            }
            Request::ProcIfInet6 => {
                let text = nlq::emulate::proc_if_inet6(server.stack())?;
                payload.extend_from_slice(text.as_bytes());
            }
            Request::ProcIgmp => {
                let text = nlq::emulate::proc_igmp(server.stack())?;
                payload.extend_from_slice(text.as_bytes());
            }
            Request::ProcIgmp6 => {
                let text = nlq::emulate::proc_igmp6(server.stack())?;
                payload.extend_from_slice(text.as_bytes());
            }
            Request::ProcDevMcast => {
                let text = nlq::emulate::proc_dev_mcast(server.stack())?;
                payload.extend_from_slice(text.as_bytes());
            }
            // The daemon's loop answers it (it needs the connections);
            // here there is nothing left to wait for.
            Request::Sync { .. } => {}
            // The daemon's loop answers it too (it hands requests to the
            // stack and records them); here nothing can carry it.
            Request::SendTo { .. } => return Err(Errno::EBADF),
        }
        Ok(())
    }
}

/// `getsockname`'s port and groups 1–32. The port is 0 until the socket
/// is bound (by `bind` or its first send), as on Linux.
fn put_name<S: Stack>(server: &Server<S>, conn: ConnId, payload: &mut Vec<u8>) {
    let port = if server.is_bound(conn) {
        server.port(conn)
    } else {
        0
    };
    payload.extend_from_slice(&port.to_ne_bytes());
    payload.extend_from_slice(&(server.groups(conn) as u32).to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::emulate::ioctl::{ifreq, ifreq_int, ifreq_set_int, SIOCGIFMTU, SIOCSIFMTU};
    use nlq::errno::{Errno, EADDRINUSE, EBADF, EINVAL, ENOPROTOOPT, EOPNOTSUPP, EPERM};
    use nlq::server::{DEFAULT_RCVBUF, DUMP_GOODSIZE, MAX_READER_SIZE};
    use nlq::wire::consts::*;
    use nlq_mem::MemStack;

    fn setup() -> (Server<MemStack>, Sockets, ConnId, ConnId) {
        let mut server = Server::new(MemStack::new());
        let mut socks = Sockets::new(DEFAULT_RMEM_MAX);
        let a = server.connect();
        let b = server.connect();
        socks.insert(1, a);
        socks.insert(2, b);
        (server, socks, a, b)
    }

    fn ask(
        socks: &mut Sockets,
        server: &mut Server<MemStack>,
        allowed: bool,
        req: Request,
    ) -> Result<Vec<u8>, i32> {
        let mut b = Vec::new();
        req.emit(&mut b);
        let mut out = Vec::new();
        socks.handle(server, allowed, &b, &mut out);
        remote::parse_reply(&out)
            .map(<[u8]>::to_vec)
            .map_err(|e| e.0)
    }

    fn words(b: &[u8]) -> Vec<u32> {
        b.chunks(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn bind_and_name_report_port_and_groups() {
        let (mut server, mut socks, a, b) = setup();
        let (pa, pb) = (server.port(a), server.port(b));
        let r = ask(
            &mut socks,
            &mut server,
            true,
            Request::Bind {
                cookie: 1,
                port: 0,
                groups: 0x11,
            },
        );
        assert_eq!(words(&r.unwrap()), vec![pa, 0x11]);
        let r = ask(
            &mut socks,
            &mut server,
            true,
            Request::Bind {
                cookie: 2,
                port: pa,
                groups: 0,
            },
        );
        assert_eq!(r, Err(EADDRINUSE));
        // Not bound yet: port 0, as getsockname says on Linux.
        let r = ask(&mut socks, &mut server, false, Request::Name { cookie: 2 });
        assert_eq!(words(&r.unwrap()), vec![0, 0]);
        server.handle_datagram(b, &[]);
        let r = ask(&mut socks, &mut server, false, Request::Name { cookie: 2 });
        assert_eq!(words(&r.unwrap()), vec![pb, 0]);
        let r = ask(&mut socks, &mut server, true, Request::Name { cookie: 3 });
        assert_eq!(r, Err(EBADF));
    }

    #[test]
    fn memberships_list_every_group() {
        let (mut server, mut socks, _, _) = setup();
        let join = Request::SetOption {
            cookie: 1,
            level: SOL_NETLINK,
            name: NETLINK_ADD_MEMBERSHIP,
            value: 36,
        };
        ask(&mut socks, &mut server, true, join).unwrap();
        let list = Request::GetOption {
            cookie: 1,
            level: SOL_NETLINK,
            name: NETLINK_LIST_MEMBERSHIPS,
        };
        let r = ask(&mut socks, &mut server, true, list).unwrap();
        assert_eq!(words(&r), vec![0, 1 << 3]);
    }

    #[test]
    fn options_and_reader_size() {
        let (mut server, mut socks, a, _) = setup();
        let set = |name, value| Request::SetOption {
            cookie: 1,
            level: SOL_NETLINK,
            name,
            value,
        };
        for (name, value) in [
            (NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV4_ROUTE),
            (NETLINK_EXT_ACK, 1),
            (NETLINK_PKTINFO, 1),
        ] {
            assert_eq!(
                ask(&mut socks, &mut server, false, set(name, value)),
                Ok(vec![])
            );
        }
        assert_eq!(server.groups(a), 1 << (RTNLGRP_IPV4_ROUTE - 1));
        assert_eq!(
            ask(&mut socks, &mut server, true, set(9999, 1)),
            Err(ENOPROTOOPT)
        );
        let get = |level, name| Request::GetOption {
            cookie: 1,
            level,
            name,
        };
        let r = ask(
            &mut socks,
            &mut server,
            true,
            get(SOL_NETLINK, NETLINK_EXT_ACK),
        );
        assert_eq!(words(&r.unwrap()), vec![1]);
        let r = ask(&mut socks, &mut server, true, get(SOL_SOCKET, SO_RCVBUF));
        assert_eq!(words(&r.unwrap()), vec![DEFAULT_RCVBUF as u32]);
        assert_eq!(
            ask(&mut socks, &mut server, true, get(99, 1)),
            Err(ENOPROTOOPT)
        );
        // SO_RCVBUF: capped, doubled; FORCE needs the right.
        let rcv = |name, value| Request::SetOption {
            cookie: 1,
            level: SOL_SOCKET,
            name,
            value,
        };
        ask(&mut socks, &mut server, false, rcv(SO_RCVBUF, 1 << 30)).unwrap();
        let r = ask(&mut socks, &mut server, true, get(SOL_SOCKET, SO_RCVBUF));
        assert_eq!(words(&r.unwrap()), vec![DEFAULT_RMEM_MAX * 2]);
        assert_eq!(
            ask(&mut socks, &mut server, false, rcv(SO_RCVBUFFORCE, 1 << 22)),
            Err(EPERM)
        );
        ask(&mut socks, &mut server, true, rcv(SO_RCVBUFFORCE, 1 << 22)).unwrap();
        let r = ask(&mut socks, &mut server, true, get(SOL_SOCKET, SO_RCVBUF));
        assert_eq!(words(&r.unwrap()), vec![1 << 23]);
        assert_eq!(
            ask(&mut socks, &mut server, true, rcv(7, 1)),
            Err(ENOPROTOOPT)
        );
        // The reader's size only grows, up to 32 KiB.
        let size = |len| Request::ReaderSize { cookie: 1, len };
        ask(&mut socks, &mut server, true, size(100)).unwrap();
        assert_eq!(server.reader_size(a), DUMP_GOODSIZE);
        ask(&mut socks, &mut server, true, size(1 << 20)).unwrap();
        assert_eq!(server.reader_size(a), MAX_READER_SIZE);
    }

    #[test]
    fn ioctls_need_the_right_to_change() {
        let (mut server, mut socks, _, _) = setup();
        let mut ifr = ifreq("lo");
        ifreq_set_int(&mut ifr, 1400);
        let set = Request::Ioctl {
            request: SIOCSIFMTU as u32,
            ifreq: ifr,
        };
        assert_eq!(ask(&mut socks, &mut server, false, set), Err(EPERM));
        ask(&mut socks, &mut server, true, set).unwrap();
        let get = Request::Ioctl {
            request: SIOCGIFMTU as u32,
            ifreq: ifreq("lo"),
        };
        let r = ask(&mut socks, &mut server, false, get).unwrap();
        assert_eq!(ifreq_int(&r.try_into().unwrap()), 1400);
        let odd = Request::Ioctl {
            request: 0x1234,
            ifreq: ifreq("lo"),
        };
        assert_eq!(ask(&mut socks, &mut server, true, odd), Err(EOPNOTSUPP));
    }

    #[test]
    fn emulations_answer() {
        let (mut server, mut socks, _, _) = setup();
        let r = ask(&mut socks, &mut server, false, Request::NameIndex).unwrap();
        assert_eq!(
            remote::decode_nameindex(&r).unwrap(),
            vec![(1, "lo".to_string())]
        );
        let r = ask(&mut socks, &mut server, false, Request::IfAddrs).unwrap();
        assert!(!remote::decode_ifaddrs(&r).unwrap().is_empty());
        let r = ask(&mut socks, &mut server, false, Request::ProcNetDev).unwrap();
        assert!(String::from_utf8(r).unwrap().contains("lo:"));
        let r = ask(
            &mut socks,
            &mut server,
            false,
            Request::IfConf { len: None },
        )
        .unwrap();
        assert_eq!(words(&r), vec![0]);
    }

    #[test]
    fn garbage_is_einval() {
        let (mut server, mut socks, _, _) = setup();
        for bad in [&[][..], &[1, 2, 3], &[0xff; 40]] {
            let mut out = Vec::new();
            socks.handle(&mut server, true, bad, &mut out);
            assert_eq!(remote::parse_reply(&out), Err(Errno(EINVAL)));
        }
    }
}
