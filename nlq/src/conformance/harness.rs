//! What the checks stand on: the endpoint they talk to, a context per
//! check, and helpers that send requests as `ip` builds them and read the
//! answers back.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use core::net::IpAddr;

use crate::errno::{self, EOPNOTSUPP};
use crate::server::{ConnId, Server, SockOpt};
use crate::stack::Stack;
use crate::wire::consts::*;
use crate::wire::{
    AddrRepr, ErrorMessage, FamilyHeader, IfInfoMsg, IfName, LinkInfoRepr, LinkRepr, Message,
    Messages, NlMsg, RouteRepr, Writer,
};

use super::{Outcome, Setup, TestLink};

/// Something that answers rtnetlink datagrams on connections: what the
/// checks talk to.
///
/// [`Server`] is one (that is what [`run`](super::run) uses); implement it
/// for another carrier (a unix socket to a stack in another process, or a
/// kernel `NETLINK_ROUTE` socket in a scratch network namespace, to see what
/// Linux answers) and run the same checks with [`run_on`](super::run_on).
/// Replies must be available as soon as `send` returns (notifications of
/// changes made on another connection too).
pub trait Endpoint {
    /// A connection (a netlink socket).
    type Conn: Copy;

    /// Opens a connection; `Err` is an errno.
    fn connect(&mut self) -> Result<Self::Conn, i32>;

    /// Sends one datagram of requests on `conn`.
    fn send(&mut self, conn: Self::Conn, datagram: &[u8]) -> Result<(), i32>;

    /// The next datagram for `conn`, read with a buffer of `max` bytes (a
    /// datagram longer than `max` comes back whole, so that the check sees
    /// it did not fit); `Ok(None)` when there is nothing to read.
    fn recv(&mut self, conn: Self::Conn, max: usize) -> Result<Option<Vec<u8>>, i32>;

    /// Sets a socket option on `conn`.
    fn set_option(&mut self, conn: Self::Conn, opt: SockOpt) -> Result<(), i32>;
}

impl<S: Stack> Endpoint for Server<S> {
    type Conn = ConnId;

    fn connect(&mut self) -> Result<ConnId, i32> {
        Ok(Server::connect(self))
    }

    fn send(&mut self, conn: ConnId, datagram: &[u8]) -> Result<(), i32> {
        Server::send(self, conn, datagram);
        Ok(())
    }

    fn recv(&mut self, conn: ConnId, max: usize) -> Result<Option<Vec<u8>>, i32> {
        Server::recv(self, conn, max).map(|d| d.map(|d| d.bytes.to_vec()))
    }

    fn set_option(&mut self, conn: ConnId, opt: SockOpt) -> Result<(), i32> {
        Server::set_option(self, conn, opt)
    }
}

/// What a step of a check gives: a value, or the check's outcome when it
/// cannot go on (a failure, or something the stack does not do).
pub(super) type Step<T> = Result<T, Outcome>;

/// A failed step.
pub(super) fn fail(text: impl Into<String>) -> Outcome {
    Outcome::Fail(text.into())
}

/// A step the stack does not support.
pub(super) fn unsupported(text: impl Into<String>) -> Outcome {
    Outcome::Unsupported(text.into())
}

/// A reader's buffer large enough for any datagram (the kernel caps dump
/// datagrams at 32 KiB).
pub(super) const BIG_READ: usize = 64 * 1024;

/// How many datagrams a check reads at most before it calls the endpoint
/// broken (a dump that never ends).
const MAX_DATAGRAMS: usize = 1_000;

/// An errno as `ip` would name it: "ACK" for 0, "ENODEV", or the number.
pub(super) fn errno_name(e: i32) -> String {
    match (e, errno::name(e)) {
        (0, _) => "ACK".to_string(),
        (_, "E?") => format!("errno {e}"),
        (_, n) => n.to_string(),
    }
}

/// The outcome of a step answered `got` where `wanted` was expected (0: an
/// ACK): `EOPNOTSUPP` where something else was wanted means the stack does
/// not do it.
pub(super) fn refused(what: &str, got: i32, wanted: i32) -> Outcome {
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
pub(super) struct Msg {
    /// The whole message, header included.
    pub bytes: Vec<u8>,
}

impl Msg {
    fn nl(&self) -> Option<NlMsg<'_>> {
        NlMsg::parse(&self.bytes).ok().map(|(m, _)| m)
    }

    /// `nlmsg_type`.
    pub fn kind(&self) -> u16 {
        self.nl().map_or(0, |m| m.kind())
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
        let kind = self.kind();
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
pub(super) fn describe_all(msgs: &[Msg]) -> String {
    let parts: Vec<String> = msgs.iter().map(Msg::describe).collect();
    format!("[{}]", parts.join(", "))
}

/// Splits a datagram into owned messages; a framing error fails the step.
pub(super) fn split(datagram: &[u8]) -> Step<Vec<Msg>> {
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
pub(super) struct Link {
    pub index: u32,
    pub name: String,
}

/// The state of one check: a fresh endpoint, its first connection, and the
/// next sequence number.
pub(super) struct Ctx<'s, E: Endpoint> {
    pub ep: E,
    /// The connection requests go out on unless a check says otherwise.
    pub conn: E::Conn,
    pub setup: &'s Setup,
    seq: u32,
    link: Option<Link>,
}

/// A `RTM_GETLINK` / `RTM_NEWLINK` body naming a link by index.
pub(super) fn link_by_index(index: u32) -> LinkRepr {
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
pub(super) fn link_by_name(name: &str) -> Step<LinkRepr> {
    let name = IfName::try_from_str(name).ok_or_else(|| fail(format!("bad link name {name:?}")))?;
    Ok(LinkRepr {
        name: Some(name),
        ..LinkRepr::default()
    })
}

/// The body of `ip addr add|del IP/LEN dev INDEX`: `IFA_LOCAL` and
/// `IFA_ADDRESS` both set to the address.
pub(super) fn addr_body(ip: IpAddr, prefix_len: u8, index: u32) -> AddrRepr {
    AddrRepr::new(ip, prefix_len, index).with_local(ip)
}

/// The body of `ip route add DST/LEN via GW`.
pub(super) fn route_add_body(dst: IpAddr, dst_len: u8, gateway: IpAddr) -> RouteRepr {
    let mut r = RouteRepr::new(dst, dst_len);
    r.gateway = Some(gateway);
    r
}

/// The body of `ip route del DST/LEN via GW`: main table, protocol and type
/// unspecified, scope nowhere (iproute2 leaves them to match anything).
pub(super) fn route_del_body(dst: IpAddr, dst_len: u8, gateway: IpAddr) -> RouteRepr {
    let mut r = route_add_body(dst, dst_len, gateway);
    r.header.protocol = RTPROT_UNSPEC;
    r.header.scope = RT_SCOPE_NOWHERE;
    r.header.kind = RTN_UNSPEC;
    r
}

/// An address's own address as the dumps give it (IPv6 omits `IFA_LOCAL`
/// when it equals `IFA_ADDRESS`).
pub(super) fn addr_ip(a: &AddrRepr) -> Option<IpAddr> {
    a.local.or(a.address)
}

/// The family of an address.
pub(super) fn family_of(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    }
}

/// A message body written by a closure (a repr's `emit`, or raw bytes).
pub(super) type Body<'b> = &'b dyn Fn(&mut Writer<Vec<u8>>) -> crate::wire::Result<()>;

impl<'s, E: Endpoint> Ctx<'s, E> {
    /// A context over a fresh endpoint, with one connection open.
    pub fn new(setup: &'s Setup, mut ep: E) -> Step<Self> {
        let conn = ep
            .connect()
            .map_err(|e| fail(format!("connect: {}", errno_name(e))))?;
        Ok(Ctx {
            ep,
            conn,
            setup,
            seq: 0,
            link: None,
        })
    }

    /// Opens another connection.
    pub fn connect(&mut self) -> Step<E::Conn> {
        self.ep
            .connect()
            .map_err(|e| fail(format!("connect: {}", errno_name(e))))
    }

    /// Sets a socket option.
    pub fn set_option(&mut self, conn: E::Conn, opt: SockOpt) -> Step<()> {
        self.ep
            .set_option(conn, opt)
            .map_err(|e| fail(format!("setsockopt {opt:?}: {}", errno_name(e))))
    }

    /// Joins a multicast group on `conn`.
    pub fn join(&mut self, conn: E::Conn, group: u32) -> Step<()> {
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
        let mut w = Writer::new(Vec::new());
        w.message(kind, flags | NLM_F_REQUEST, seq, 0, |w| body(w))
            .map_err(|e| fail(format!("the kit could not encode a request: {e}")))?;
        Ok((seq, w.into_inner()))
    }

    /// Sends a datagram.
    pub fn send_raw(&mut self, conn: E::Conn, datagram: &[u8]) -> Step<()> {
        self.ep
            .send(conn, datagram)
            .map_err(|e| fail(format!("send: {}", errno_name(e))))
    }

    /// Every datagram waiting for `conn`, read with a buffer of `max`.
    pub fn datagrams(&mut self, conn: E::Conn, max: usize) -> Step<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            match self.ep.recv(conn, max) {
                Ok(Some(d)) => out.push(d),
                Ok(None) => return Ok(out),
                Err(e) => return Err(fail(format!("recv: {}", errno_name(e)))),
            }
            if out.len() > MAX_DATAGRAMS {
                return Err(fail(format!(
                    "more than {MAX_DATAGRAMS} reply datagrams: a dump that never ends?"
                )));
            }
        }
    }

    /// Every message waiting for `conn`.
    pub fn messages(&mut self, conn: E::Conn) -> Step<Vec<Msg>> {
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
        conn: E::Conn,
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
    pub fn dump_on(
        &mut self,
        conn: E::Conn,
        what: &str,
        kind: u16,
        body: Body<'_>,
    ) -> Step<Vec<Msg>> {
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
                describe_all(&[msgs, std::vec![last]].concat())
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
            if m.kind() != reply {
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
            [m] if m.kind() == RTM_NEWLINK => {
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
pub(super) fn new_link_body(kind: &str, name: &str) -> Step<LinkRepr> {
    let mut l = link_by_name(name)?;
    l.info = Some(LinkInfoRepr {
        kind: Some(
            crate::wire::InlineStr::try_from_str(kind)
                .ok_or_else(|| fail(format!("bad link kind {kind:?}")))?,
        ),
        ..LinkInfoRepr::default()
    });
    Ok(l)
}

/// Puts `prefix` before the text of a failure or an unsupported outcome
/// (unless the text names its step already: `setup: ...`).
pub(super) fn prefix_outcome(o: Outcome, prefix: &str) -> Outcome {
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
pub(super) fn expect_answer(what: &str, wanted: i32, seq: u32, msgs: &[Msg]) -> Step<()> {
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
