//! What the checks stand on: a context per check over the endpoint's
//! sockets, and helpers that send requests as `ip` builds them and read
//! the answers back.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use nlinline::Transport;
use nlq::errno::{self, EOPNOTSUPP};
use nlq::server::SockOpt;
use nlq::wire::consts::*;
use nlq::wire::{
    AddrRepr, ErrorMessage, FamilyHeader, IfInfoMsg, IfName, LinkInfoRepr, LinkRepr, Message,
    Messages, NlMsg, RouteRepr, Writer,
};

use crate::{Endpoint, Outcome, Setup, TestLink};

/// What a step of a check gives: a value, or the check's outcome when it
/// cannot go on (a failure, or something the stack does not do).
pub(crate) type Step<T> = Result<T, Outcome>;

/// A failed step.
pub(crate) fn fail(text: impl Into<String>) -> Outcome {
    Outcome::Fail(text.into())
}

/// A step the stack does not support.
pub(crate) fn unsupported(text: impl Into<String>) -> Outcome {
    Outcome::Unsupported(text.into())
}

/// A reader's buffer large enough for any datagram (the kernel caps dump
/// datagrams at 32 KiB).
pub(crate) const BIG_READ: usize = 64 * 1024;

/// How many datagrams a check reads at most before it calls the endpoint
/// broken (a dump that never ends).
const MAX_DATAGRAMS: usize = 1_000;

/// An errno as `ip` would name it: "ACK" for 0, "ENODEV", or the number.
pub(crate) fn errno_name(e: i32) -> String {
    match e {
        0 => "ACK".to_string(),
        e => errno::Errno(e).to_string(),
    }
}

/// The errno of a transport's error (`EIO` when it has none).
fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(match e.kind() {
        io::ErrorKind::Unsupported => libc::EOPNOTSUPP,
        io::ErrorKind::TimedOut => libc::ETIMEDOUT,
        _ => libc::EIO,
    })
}

/// The outcome of a step answered `got` where `wanted` was expected (0: an
/// ACK): `EOPNOTSUPP` where something else was wanted means the stack does
/// not do it.
pub(crate) fn refused(what: &str, got: i32, wanted: i32) -> Outcome {
    if got == EOPNOTSUPP && wanted != EOPNOTSUPP {
        unsupported(format!("{what}: EOPNOTSUPP"))
    } else {
        fail(format!(
            "{what}: expected {}, got {}",
            errno_name(wanted),
            errno_name(got)
        ))
    }
}

/// One message of a reply, owned.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    /// The whole message, header included.
    pub bytes: Vec<u8>,
}

impl Msg {
    fn nl(&self) -> Option<NlMsg<'_>> {
        NlMsg::parse(&self.bytes).ok().map(|(m, _)| m)
    }

    /// `nlmsg_type`.
    pub fn message_type(&self) -> u16 {
        self.nl().map_or(0, |m| m.message_type())
    }

    /// `nlmsg_flags`.
    pub fn flags(&self) -> u16 {
        self.nl().map_or(0, |m| m.flags())
    }

    /// `nlmsg_seq`.
    pub fn seq(&self) -> u32 {
        self.nl().map_or(0, |m| m.seq())
    }

    /// `nlmsg_pid`.
    pub fn port(&self) -> u32 {
        self.nl().map_or(0, |m| m.port())
    }

    /// `nlmsg_len`.
    pub fn len(&self) -> usize {
        self.nl().map_or(0, |m| m.len() as usize)
    }

    /// The `NLMSG_ERROR` view, if it is one.
    pub fn error(&self) -> Option<ErrorMessage<'_>> {
        match self.nl()?.typed().ok()? {
            Message::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The positive errno of an `NLMSG_ERROR` (0 for an ACK).
    pub fn errno(&self) -> Option<i32> {
        self.error().map(|e| e.errno())
    }

    /// The status of an `NLMSG_DONE` (0 or a negative errno).
    pub fn done(&self) -> Option<i32> {
        match self.nl()?.typed().ok()? {
            Message::Done(d) => Some(d.error),
            _ => None,
        }
    }

    /// The link of an `RTM_NEWLINK` / `RTM_DELLINK`.
    pub fn link(&self) -> Option<LinkRepr> {
        match self.nl()?.typed().ok()? {
            Message::Link(l) => LinkRepr::parse(&l).ok(),
            _ => None,
        }
    }

    /// The address of an `RTM_NEWADDR` / `RTM_DELADDR`.
    pub fn addr(&self) -> Option<AddrRepr> {
        match self.nl()?.typed().ok()? {
            Message::Addr(a) => AddrRepr::parse(&a).ok(),
            _ => None,
        }
    }

    /// The route of an `RTM_NEWROUTE` / `RTM_DELROUTE`.
    pub fn route(&self) -> Option<RouteRepr> {
        match self.nl()?.typed().ok()? {
            Message::Route(r) => RouteRepr::parse(&r).ok(),
            _ => None,
        }
    }

    /// A short text for failure messages: `RTM_NEWLINK`, `NLMSG_ERROR(ENODEV)`.
    pub fn describe(&self) -> String {
        let kind = self.message_type();
        match kind {
            NLMSG_ERROR => format!("NLMSG_ERROR({})", errno_name(self.errno().unwrap_or(0))),
            NLMSG_DONE => {
                let e = self.done().unwrap_or(0).checked_neg().unwrap_or(0);
                format!("NLMSG_DONE({})", errno_name(e))
            }
            _ => {
                message_type_name(kind).map_or_else(|| format!("type {kind}"), ToString::to_string)
            }
        }
    }
}

/// The messages of a reply, described: `[RTM_NEWLINK, NLMSG_ERROR(ACK)]`.
pub(crate) fn describe_all(msgs: &[Msg]) -> String {
    let parts: Vec<String> = msgs.iter().map(Msg::describe).collect();
    format!("[{}]", parts.join(", "))
}

/// Splits a datagram into owned messages; a framing error fails the step.
pub(crate) fn split(datagram: &[u8]) -> Step<Vec<Msg>> {
    let mut out = Vec::new();
    for m in Messages::new(datagram) {
        let m = m.map_err(|e| fail(format!("a reply datagram does not parse: {e}")))?;
        out.push(Msg {
            bytes: m.as_bytes().to_vec(),
        });
    }
    Ok(out)
}

/// The link the checks configure, once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub index: u32,
    pub name: String,
}

/// A socket of a check: its index among the sockets the check opened.
pub(crate) type Conn = usize;

/// The state of one check: a fresh endpoint, the sockets opened on it
/// (the first is the main one), and the next sequence number.
pub(crate) struct Ctx<'s, E: Endpoint> {
    /// Declared first: the sockets close before their endpoint goes.
    socks: Vec<E::Socket>,
    ep: E,
    /// The socket requests go out on unless a check says otherwise.
    pub conn: Conn,
    pub setup: &'s Setup,
    seq: u32,
    link: Option<Link>,
}

/// A `RTM_GETLINK` / `RTM_NEWLINK` body naming a link by index.
pub(crate) fn link_by_index(index: u32) -> LinkRepr {
    LinkRepr {
        header: IfInfoMsg {
            family: AF_UNSPEC,
            index,
            ..IfInfoMsg::default()
        },
        ..LinkRepr::default()
    }
}

/// A link body naming a link by name only (`ip link ... dev NAME`).
pub(crate) fn link_by_name(name: &str) -> Step<LinkRepr> {
    let name = IfName::try_from_str(name).ok_or_else(|| fail(format!("bad link name {name:?}")))?;
    Ok(LinkRepr {
        name: Some(name),
        ..LinkRepr::default()
    })
}

/// The body of `ip addr add|del IP/LEN dev INDEX`: `IFA_LOCAL` and
/// `IFA_ADDRESS` both set to the address.
pub(crate) fn addr_body(ip: IpAddr, prefix_len: u8, index: u32) -> AddrRepr {
    AddrRepr::new(ip, prefix_len, index).with_local(ip)
}

/// The body of `ip route add DST/LEN via GW`.
pub(crate) fn route_add_body(dst: IpAddr, dst_len: u8, gateway: IpAddr) -> RouteRepr {
    let mut r = RouteRepr::new(dst, dst_len);
    r.gateway = Some(gateway);
    r
}

/// The body of `ip route del DST/LEN via GW`: main table, protocol and type
/// unspecified, scope nowhere (iproute2 leaves them to match anything).
pub(crate) fn route_del_body(dst: IpAddr, dst_len: u8, gateway: IpAddr) -> RouteRepr {
    let mut r = route_add_body(dst, dst_len, gateway);
    r.header.protocol = RTPROT_UNSPEC;
    r.header.scope = RT_SCOPE_NOWHERE;
    r.header.route_type = RTN_UNSPEC;
    r
}

/// An address's own address as the dumps give it (IPv6 omits `IFA_LOCAL`
/// when it equals `IFA_ADDRESS`).
pub(crate) fn addr_ip(a: &AddrRepr) -> Option<IpAddr> {
    a.local.or(a.address)
}

/// The family of an address.
pub(crate) fn family_of(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

/// A message body written by a closure (a repr's `emit`, or raw bytes).
pub(crate) type Body<'b> = &'b dyn Fn(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>;

/// One request message, numbered `seq`, from port 0: `NLM_F_REQUEST` is
/// added to `flags`.
pub(crate) fn request(
    kind: u16,
    flags: u16,
    seq: u32,
    body: Body<'_>,
) -> nlq::wire::Result<Vec<u8>> {
    let mut w = Writer::new(Vec::new());
    w.message(kind, flags | NLM_F_REQUEST, seq, 0, |w| body(w))?;
    Ok(w.into_inner())
}

impl<'s, E: Endpoint> Ctx<'s, E> {
    /// A context over a fresh endpoint, with one socket open.
    pub fn new(setup: &'s Setup, ep: E) -> Step<Self> {
        let mut cx = Ctx {
            socks: Vec::new(),
            ep,
            conn: 0,
            setup,
            seq: 0,
            link: None,
        };
        cx.conn = cx.connect()?;
        Ok(cx)
    }

    /// Opens another socket.
    pub fn connect(&mut self) -> Step<Conn> {
        let s = self
            .ep
            .connect()
            .map_err(|e| fail(format!("connect: {}", errno_name(errno_of(&e)))))?;
        self.socks.push(s);
        Ok(self.socks.len().saturating_sub(1))
    }

    /// Socket `conn`.
    fn sock(&mut self, conn: Conn) -> Step<&mut E::Socket> {
        self.socks
            .get_mut(conn)
            .ok_or_else(|| fail(format!("the kit has no socket {conn}")))
    }

    /// Sets a socket option.
    pub fn set_option(&mut self, conn: Conn, opt: SockOpt) -> Step<()> {
        self.sock(conn)?
            .set_socket_option(opt)
            .map_err(|e| fail(format!("setsockopt {opt:?}: {}", errno_name(errno_of(&e)))))
    }

    /// Joins a multicast group on `conn`.
    pub fn join(&mut self, conn: Conn, group: u32) -> Step<()> {
        self.set_option(conn, SockOpt::AddMembership(group))
    }

    /// The next sequence number (they start at 1, as `ip` counts).
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// One request message: `NLM_F_REQUEST` is added to `flags`.
    pub fn build(&mut self, kind: u16, flags: u16, body: Body<'_>) -> Step<(u32, Vec<u8>)> {
        let seq = self.next_seq();
        let bytes = request(kind, flags, seq, body)
            .map_err(|e| fail(format!("the kit could not encode a request: {e}")))?;
        Ok((seq, bytes))
    }

    /// Sends a datagram, and waits until what it causes can be read.
    pub fn send_raw(&mut self, conn: Conn, datagram: &[u8]) -> Step<()> {
        let send = |e: io::Error| fail(format!("send: {}", errno_name(errno_of(&e))));
        self.sock(conn)?.send(datagram).map_err(send)?;
        self.ep.settle(&mut self.socks, conn).map_err(send)
    }

    /// Every datagram waiting for `conn`, read with a buffer of `max`.
    pub fn datagrams(&mut self, conn: Conn, max: usize) -> Step<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            let mut d = Vec::new();
            match self
                .sock(conn)?
                .recv_with_buffer(&mut d, max, Some(Duration::ZERO))
            {
                Ok(()) => out.push(d),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    return Ok(out)
                }
                Err(e) => return Err(fail(format!("recv: {}", errno_name(errno_of(&e))))),
            }
            if out.len() > MAX_DATAGRAMS {
                return Err(fail(format!(
                    "more than {MAX_DATAGRAMS} reply datagrams: a dump that never ends?"
                )));
            }
        }
    }

    /// Every message waiting for `conn`.
    pub fn messages(&mut self, conn: Conn) -> Step<Vec<Msg>> {
        let mut out = Vec::new();
        for d in self.datagrams(conn, BIG_READ)? {
            out.extend(split(&d)?);
        }
        Ok(out)
    }

    /// Sends one request on `conn` and returns its sequence number and
    /// everything the connection then has to read.
    pub fn exchange_on(
        &mut self,
        conn: Conn,
        kind: u16,
        flags: u16,
        body: Body<'_>,
    ) -> Step<(u32, Vec<Msg>)> {
        let (seq, req) = self.build(kind, flags, body)?;
        self.send_raw(conn, &req)?;
        Ok((seq, self.messages(conn)?))
    }

    /// [`Ctx::exchange_on`] the main connection.
    pub fn exchange(&mut self, kind: u16, flags: u16, body: Body<'_>) -> Step<(u32, Vec<Msg>)> {
        let conn = self.conn;
        self.exchange_on(conn, kind, flags, body)
    }

    /// Sends a change with `NLM_F_ACK` and wants exactly the answer
    /// `wanted` (0: an ACK, else that errno), nothing else.
    pub fn expect(
        &mut self,
        what: &str,
        wanted: i32,
        kind: u16,
        flags: u16,
        body: Body<'_>,
    ) -> Step<()> {
        let (seq, msgs) = self.exchange(kind, flags | NLM_F_ACK, body)?;
        expect_answer(what, wanted, seq, &msgs)
    }

    /// [`Ctx::expect`] an ACK.
    pub fn expect_ack(&mut self, what: &str, kind: u16, flags: u16, body: Body<'_>) -> Step<()> {
        self.expect(what, 0, kind, flags, body)
    }

    /// A dump on `conn` of `kind` with `body`: the reply messages (all of
    /// type `reply`, marked `NLM_F_MULTI`), checked to end with one
    /// `NLMSG_DONE` whose status is 0.
    pub fn dump_on(&mut self, conn: Conn, what: &str, kind: u16, body: Body<'_>) -> Step<Vec<Msg>> {
        let (seq, mut msgs) = self.exchange_on(conn, kind, NLM_F_DUMP, body)?;
        let reply = kind.wrapping_sub(2);
        let last = msgs
            .pop()
            .ok_or_else(|| fail(format!("{what}: no answer at all")))?;
        if let Some(e) = last.errno() {
            if msgs.is_empty() {
                return Err(refused(what, e, 0));
            }
        }
        let Some(status) = last.done() else {
            return Err(fail(format!(
                "{what}: the dump does not end with NLMSG_DONE: {}",
                describe_all(&[msgs, vec![last]].concat())
            )));
        };
        if status != 0 {
            return Err(refused(what, status.checked_neg().unwrap_or(0), 0));
        }
        if last.flags() & NLM_F_MULTI == 0 {
            return Err(fail(format!("{what}: NLMSG_DONE lacks NLM_F_MULTI")));
        }
        if last.seq() != seq {
            return Err(fail(format!(
                "{what}: NLMSG_DONE has seq {}, the request {seq}",
                last.seq()
            )));
        }
        for m in &msgs {
            if m.message_type() != reply {
                return Err(fail(format!(
                    "{what}: unexpected {} in the dump",
                    m.describe()
                )));
            }
            if m.flags() & NLM_F_MULTI == 0 {
                return Err(fail(format!(
                    "{what}: a {} lacks NLM_F_MULTI",
                    m.describe()
                )));
            }
            if m.seq() != seq {
                return Err(fail(format!(
                    "{what}: a dump message has seq {}, the request {seq}",
                    m.seq()
                )));
            }
        }
        Ok(msgs)
    }

    /// `ip link show`: every link.
    pub fn links(&mut self) -> Step<Vec<LinkRepr>> {
        let conn = self.conn;
        let msgs = self.dump_on(conn, "link dump", RTM_GETLINK, &|w| {
            link_by_index(0).emit(w)
        })?;
        msgs.iter()
            .map(|m| {
                m.link()
                    .ok_or_else(|| fail("link dump: an RTM_NEWLINK does not parse"))
            })
            .collect()
    }

    /// `ip addr show`: every address of `family`.
    pub fn addrs(&mut self, family: u8) -> Step<Vec<AddrRepr>> {
        let conn = self.conn;
        let mut req = AddrRepr::default();
        req.header.family = family;
        let msgs = self.dump_on(conn, "address dump", RTM_GETADDR, &|w| req.header.emit(w))?;
        msgs.iter()
            .map(|m| {
                m.addr()
                    .ok_or_else(|| fail("address dump: an RTM_NEWADDR does not parse"))
            })
            .collect()
    }

    /// `ip route show table all`: every route of `family`.
    pub fn routes(&mut self, family: u8) -> Step<Vec<RouteRepr>> {
        let conn = self.conn;
        let mut req = RouteRepr::default();
        req.header.family = family;
        let msgs = self.dump_on(conn, "route dump", RTM_GETROUTE, &|w| req.header.emit(w))?;
        msgs.iter()
            .map(|m| {
                m.route()
                    .ok_or_else(|| fail("route dump: an RTM_NEWROUTE does not parse"))
            })
            .collect()
    }

    /// `RTM_GETLINK` for one link: exactly one `RTM_NEWLINK` back.
    pub fn get_link(&mut self, what: &str, req: &LinkRepr) -> Step<LinkRepr> {
        let (seq, msgs) = self.exchange(RTM_GETLINK, 0, &|w| req.emit(w))?;
        match msgs.as_slice() {
            [m] if m.message_type() == RTM_NEWLINK => {
                if m.seq() != seq {
                    return Err(fail(format!(
                        "{what}: the reply has seq {}, the request {seq}",
                        m.seq()
                    )));
                }
                m.link()
                    .ok_or_else(|| fail(format!("{what}: the RTM_NEWLINK does not parse")))
            }
            [m] if m.errno().is_some() => Err(refused(what, m.errno().unwrap_or(0), 0)),
            _ => Err(fail(format!(
                "{what}: expected one RTM_NEWLINK, got {}",
                describe_all(&msgs)
            ))),
        }
    }

    /// Some link of the stack (the first of the dump), for the checks that
    /// need only one to name.
    pub fn any_link(&mut self) -> Step<Link> {
        let links = self.links()?;
        let l = links
            .first()
            .ok_or_else(|| fail("the link dump is empty"))?;
        Ok(Link {
            index: l.header.index,
            name: l
                .name
                .as_ref()
                .map(|n| n.as_str().to_string())
                .ok_or_else(|| fail("a dumped link has no IFLA_IFNAME"))?,
        })
    }

    /// An index no link has.
    pub fn missing_index(&mut self) -> Step<u32> {
        let max = self
            .links()?
            .iter()
            .map(|l| l.header.index)
            .max()
            .unwrap_or(0);
        Ok(max.saturating_add(1000).min(i32::MAX as u32))
    }

    /// The link of the setup: found, or created (`ip link add NAME type
    /// KIND`) on first use.
    pub fn link(&mut self) -> Step<Link> {
        if let Some(l) = &self.link {
            return Ok(l.clone());
        }
        let link = match &self.setup.link {
            TestLink::Existing { index, name } => Link {
                index: *index,
                name: name.clone(),
            },
            TestLink::Create { kind, name } => {
                let req = new_link_body(kind, name)?;
                let what = format!("setup: ip link add {name} type {kind}");
                self.expect_ack(&what, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &|w| {
                    req.emit(w)
                })?;
                let found = self
                    .links()
                    .map_err(|o| prefix_outcome(o, "setup: "))?
                    .into_iter()
                    .find(|l| l.name.as_ref().map(|n| n.as_str()) == Some(name.as_str()))
                    .ok_or_else(|| {
                        fail(format!(
                            "setup: the new link {name} is not in the link dump"
                        ))
                    })?;
                Link {
                    index: found.header.index,
                    name: name.clone(),
                }
            }
        };
        self.link = Some(link.clone());
        Ok(link)
    }

    /// `ip link set LINK up`. A stack that cannot change the flags passes
    /// when the link is up already.
    pub fn link_up(&mut self) -> Step<()> {
        let link = self.link()?;
        let mut req = link_by_index(link.index);
        req.header.flags = IFF_UP;
        req.header.change = IFF_UP;
        let what = format!("ip link set {} up", link.name);
        match self.expect_ack(&what, RTM_NEWLINK, 0, &|w| req.emit(w)) {
            Err(Outcome::Unsupported(why)) => {
                let cur = self.get_link("GETLINK", &link_by_index(link.index))?;
                if cur.header.flags & IFF_UP != 0 {
                    Ok(())
                } else {
                    Err(unsupported(why))
                }
            }
            r => r,
        }
    }

    /// `ip addr add IP/LEN dev LINK`.
    pub fn add_addr(&mut self, ip: IpAddr, prefix_len: u8) -> Step<()> {
        let link = self.link()?;
        let req = addr_body(ip, prefix_len, link.index);
        let what = format!("ip addr add {ip}/{prefix_len} dev {}", link.name);
        self.expect_ack(&what, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &|w| {
            req.emit(w)
        })
    }

    /// `ip addr del IP/LEN dev LINK`, wanting `wanted` (0: an ACK).
    pub fn del_addr(&mut self, ip: IpAddr, prefix_len: u8, wanted: i32) -> Step<()> {
        let link = self.link()?;
        let req = addr_body(ip, prefix_len, link.index);
        let what = format!("ip addr del {ip}/{prefix_len} dev {}", link.name);
        self.expect(&what, wanted, RTM_DELADDR, 0, &|w| req.emit(w))
    }

    /// The address `ip` of the setup link in the dump, if there.
    pub fn find_addr(&mut self, ip: IpAddr) -> Step<Option<AddrRepr>> {
        let index = self.link()?.index;
        Ok(self
            .addrs(family_of(&ip))?
            .into_iter()
            .find(|a| a.header.index == index && addr_ip(a) == Some(ip)))
    }

    /// The routes to `dst/dst_len` in the main table.
    pub fn find_routes(&mut self, dst: IpAddr, dst_len: u8) -> Step<Vec<RouteRepr>> {
        Ok(self
            .routes(family_of(&dst))?
            .into_iter()
            .filter(|r| {
                r.table_id() == RT_TABLE_MAIN && r.header.dst_len == dst_len && r.dst == Some(dst)
            })
            .collect())
    }
}

/// The body of `ip link add NAME type KIND`.
pub(crate) fn new_link_body(kind: &str, name: &str) -> Step<LinkRepr> {
    let mut l = link_by_name(name)?;
    l.info = Some(LinkInfoRepr {
        kind: Some(
            nlq::wire::InlineStr::try_from_str(kind)
                .ok_or_else(|| fail(format!("bad link kind {kind:?}")))?,
        ),
        ..LinkInfoRepr::default()
    });
    Ok(l)
}

/// Puts `prefix` before the text of a failure or an unsupported outcome
/// (unless the text names its step already: `setup: ...`).
pub(crate) fn prefix_outcome(o: Outcome, prefix: &str) -> Outcome {
    let add = |t: String| {
        if t.starts_with("setup: ") || t.starts_with(prefix) {
            t
        } else {
            format!("{prefix}{t}")
        }
    };
    match o {
        Outcome::Fail(t) => Outcome::Fail(add(t)),
        Outcome::Unsupported(t) => Outcome::Unsupported(add(t)),
        Outcome::Pass => Outcome::Pass,
    }
}

/// Checks that `msgs` is exactly one `NLMSG_ERROR` for `seq` carrying
/// `wanted` (0: an ACK).
pub(crate) fn expect_answer(what: &str, wanted: i32, seq: u32, msgs: &[Msg]) -> Step<()> {
    match msgs {
        [m] => {
            let Some(got) = m.errno() else {
                return Err(fail(format!(
                    "{what}: expected {}, got {}",
                    errno_name(wanted),
                    m.describe()
                )));
            };
            if got != wanted {
                return Err(refused(what, got, wanted));
            }
            if m.seq() != seq {
                return Err(fail(format!(
                    "{what}: the answer has seq {}, the request {seq}",
                    m.seq()
                )));
            }
            Ok(())
        }
        [] => Err(fail(format!(
            "{what}: expected {}, got nothing",
            errno_name(wanted)
        ))),
        _ => {
            // An error among other messages: report the error first.
            if let Some(got) = msgs.iter().find_map(Msg::errno) {
                if got != wanted {
                    return Err(refused(what, got, wanted));
                }
            }
            Err(fail(format!(
                "{what}: expected only {}, got {}",
                errno_name(wanted),
                describe_all(msgs)
            )))
        }
    }
}
