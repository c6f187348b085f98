//! Routing one request to the stack and answering it as the kernel does
//! (`netlink_rcv_skb` + `rtnetlink_rcv_msg` + the family handlers).

use core::net::IpAddr;

use crate::errno::{EINVAL, ENODEV, EOPNOTSUPP, EPERM};
use crate::stack::{
    CreateFlags, Event, LinkChange, LinkKey, Listeners, NewLink, Stack, StackResult,
};
use crate::wire::consts::*;
use crate::wire::{
    emit_error, AddrRepr, ExtAck, IfAddrMsg, IfInfoMsg, LinkRepr, NlMsg, RouteRepr, RtMsg,
};

use super::dump::{Dump, DumpKind};
use super::notify;
use super::request::{self, Checked, Failure, NO_DEVICE};
use super::{addrlabel, leftover, neigh_request, neightbl, netconf, nexthop_request, rule_request};
use super::{ConnId, Server};

/// What a handled request leaves to do.
enum Outcome {
    /// Done: ACK if the request asked for one.
    Done,
    /// A dump started: no ACK, ever (the kernel's `-EINTR` trick).
    Dump,
}

impl<S: Stack> Server<S> {
    /// Handles one message of a request datagram.
    pub(super) fn handle(&mut self, id: ConnId, msg: &NlMsg<'_>) {
        let flags = msg.flags();
        let mut leftover = false;
        let result = if flags & NLM_F_REQUEST == 0 || msg.message_type() < NLMSG_MIN_TYPE {
            Ok(Outcome::Done)
        } else if let Some(cut) = leftover::trimmed(msg, self.conn(id).is_some_and(|c| c.strict)) {
            // Handled with the attributes that fit; the answer says the
            // rest was left over (unless the handler says something else).
            leftover = true;
            match NlMsg::parse(&cut) {
                Ok((m, _)) => self.rtnetlink(id, &m),
                Err(_) => self.rtnetlink(id, msg),
            }
        } else {
            self.rtnetlink(id, msg)
        };
        let warning = leftover.then_some(leftover::LEFTOVER);
        match result {
            Ok(Outcome::Dump) => {}
            Ok(Outcome::Done) => {
                if flags & NLM_F_ACK != 0 {
                    let ack = Failure {
                        message: warning,
                        ..Failure::errno(0)
                    };
                    self.answer(id, msg, ack);
                }
            }
            Err(f) => {
                let message = f.message.or(warning);
                self.answer(id, msg, Failure { message, ..f });
            }
        }
    }

    /// Queues the `NLMSG_ERROR` (or ACK) for `msg`.
    pub(super) fn answer(&mut self, id: ConnId, msg: &NlMsg<'_>, f: Failure) {
        let Some(c) = self.conn(id) else { return };
        let (cap, port) = (c.cap_ack, c.port);
        let ext = if c.ext_ack {
            ExtAck {
                msg: f.message,
                offset: f.offset,
                ..ExtAck::default()
            }
        } else {
            ExtAck::default()
        };
        self.reply(id, |w| emit_error(w, msg, f.errno, cap, &ext, port));
    }

    fn rtnetlink(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<Outcome> {
        // A message too short for the family byte is quietly accepted.
        if msg.payload().is_empty() {
            return Ok(Outcome::Done);
        }
        let kind = msg.message_type();
        let is_get = kind.wrapping_sub(RTM_NEWLINK) & 3 == 2;
        let (admin, strict) = self
            .conn(id)
            .map_or((false, false), |c| (c.admin, c.strict));
        if !is_get && !admin {
            return Err(Failure::errno(EPERM));
        }
        if is_get && request::is_dump(msg) {
            // One dump at a time per socket (`netlink_dump_start`).
            if self.conn(id).is_some_and(|c| c.dump.is_some()) {
                return Err(Failure::errno(crate::errno::EBUSY));
            }
            let what = match kind {
                RTM_GETLINK => request::link_dump(msg, strict).map(DumpKind::Link),
                RTM_GETADDR => request::addr_dump(msg, strict).map(DumpKind::Addr),
                RTM_GETROUTE => request::route_dump(msg, strict).map(DumpKind::Route),
                RTM_GETNEIGH => request::neigh_dump(msg, strict).map(DumpKind::Neigh),
                RTM_GETRULE => rule_request::rule_dump(msg, strict).map(DumpKind::Rule),
                RTM_GETNEXTHOP => nexthop_request::nexthop_dump(msg).map(DumpKind::Nexthop),
                RTM_GETNETCONF => netconf::netconf_dump(msg, strict).map(DumpKind::Netconf),
                RTM_GETNEIGHTBL => neightbl::neightbl_dump(msg, strict).map(DumpKind::NeighTbl),
                RTM_GETNSID => Ok(DumpKind::Nsid),
                // IPv6's only (`ip6addrlbl_dump`).
                RTM_GETADDRLABEL if msg.family() == Some(AF_INET6) => {
                    addrlabel::addrlabel_dump(msg.payload(), strict).map(|()| DumpKind::AddrLabel)
                }
                RTM_GETSTATS => super::stats::stats_dump(msg, strict).map(DumpKind::Stats),
                _ => return Err(Failure::errno(EOPNOTSUPP)),
            };
            self.start_dump(id, msg, what);
            return Ok(Outcome::Dump);
        }
        match kind {
            RTM_GETLINK => self.get_link(id, msg, strict),
            RTM_NEWLINK => self.new_link(id, msg),
            RTM_SETLINK => self.set_link(id, msg),
            RTM_DELLINK => self.del_link(id, msg),
            RTM_GETADDR => self.get_addr(id, msg),
            RTM_NEWADDR => self.new_addr(id, msg),
            RTM_DELADDR => self.del_addr(id, msg),
            RTM_GETROUTE => self.get_route(id, msg),
            RTM_NEWROUTE => self.new_route(id, msg),
            RTM_DELROUTE => self.del_route(id, msg),
            RTM_GETNSID => self.get_nsid(id, msg),
            RTM_GETSTATS => {
                let (link, flt) = super::stats::stats_get(&self.stack, msg, strict)?;
                let (seq, port) = (msg.seq(), self.port(id));
                self.reply(id, |w| {
                    w.message(RTM_NEWSTATS, 0, seq, port, |w| {
                        super::stats::emit(w, &link, &flt)
                    })
                });
                Ok(())
            }
            RTM_GETNEXTHOP => {
                let nh_id = nexthop_request::nexthop_get(msg)?;
                let nh = self
                    .stack
                    .nexthop(nh_id)
                    .ok_or(Failure::errno(crate::errno::ENOENT))?;
                let (seq, port) = (msg.seq(), self.port(id));
                self.reply(id, |w| {
                    w.message(RTM_NEWNEXTHOP, 0, seq, port, |w| nh.emit(w))
                });
                Ok(())
            }
            RTM_NEWNEXTHOP => {
                let req = nexthop_request::nexthop_new(msg)?;
                let flags = CreateFlags(msg.flags());
                self.change(id, msg, |s, ev| s.add_nexthop(&req, flags, ev))
            }
            RTM_DELNEXTHOP => {
                let nh = nexthop_request::nexthop_del(msg)?;
                self.change(id, msg, |s, ev| s.del_nexthop(nh, ev))
            }
            RTM_GETNETCONF => {
                let (family, index) = netconf::netconf_get(&self.stack, msg, strict)?;
                let (seq, port) = (msg.seq(), self.port(id));
                self.reply(id, |w| {
                    w.message(RTM_NEWNETCONF, 0, seq, port, |w| {
                        netconf::emit(w, family, index)
                    })
                });
                Ok(())
            }
            RTM_NEWRULE => {
                let req = rule_request::rule_request(msg)?;
                let flags = CreateFlags(msg.flags());
                self.change(id, msg, |s, ev| s.add_rule(&req, flags, ev))
            }
            RTM_DELRULE => {
                let req = rule_request::rule_request(msg)?;
                self.change(id, msg, |s, ev| s.del_rule(&req, ev))
            }
            RTM_GETNEIGH => {
                let q = neigh_request::neigh_get_request(msg)?;
                let n = neigh_request::neigh_get(&self.stack, &q)?;
                let (seq, port) = (msg.seq(), self.port(id));
                self.reply(id, |w| w.message(RTM_NEWNEIGH, 0, seq, port, |w| n.emit(w)));
                Ok(())
            }
            RTM_NEWNEIGH => {
                let req = neigh_request::neigh_add_request(&self.stack, msg)?;
                let flags = CreateFlags(msg.flags());
                self.change(id, msg, |s, ev| s.add_neigh(&req, flags, ev))
            }
            RTM_DELNEIGH => {
                let req = neigh_request::neigh_del_request(&self.stack, msg)?;
                self.change(id, msg, |s, ev| s.del_neigh(&req, ev))
            }
            _ => Err(Failure::errno(EOPNOTSUPP)),
        }
        .map(|()| Outcome::Done)
    }

    /// Starts a dump and queues its first datagram, as the kernel fills the
    /// first one while handling the request, unless the receive buffer is
    /// full (then, as `netlink_dump`, it waits for the reader).
    fn start_dump(&mut self, id: ConnId, msg: &NlMsg<'_>, what: Checked<DumpKind>) {
        let generation = self.stack.generation();
        let Some(c) = self.conn_mut(id) else { return };
        let size = c.dump_size();
        let room = c.queued < c.rcvbuf;
        c.dump = Some(Dump::new(msg.seq(), generation, what));
        if room {
            self.dump_next(id, size);
        }
    }

    /// Runs a change on the stack; its events become notifications. Events
    /// of the request's own kind carry the request's seq and port (and are
    /// echoed to the requester with `NLM_F_ECHO`);
    /// consequences of another kind (a link's routes) come from port 0.
    fn change<T>(
        &mut self,
        id: ConnId,
        msg: &NlMsg<'_>,
        f: impl FnOnce(&mut S, crate::stack::Events<'_>) -> StackResult<T>,
    ) -> Checked<T> {
        let own = self.port(id);
        let (seq, kind, echo) = (msg.seq(), msg.message_type(), msg.flags() & NLM_F_ECHO != 0);
        let request_flags = msg.flags();
        // Whoever would hear the change: the members of each group, and
        // the requester, for its echo.
        let listeners = if echo {
            Listeners::ALL
        } else {
            self.listeners()
        };
        let Server {
            stack,
            conns,
            scratch,
            ..
        } = self;
        let mut events = |e: Event<'_>| {
            // A nexthop replaced tells its routes in the request's name
            // (`nexthop_replace_notify`).
            let mine = notify::same_family(&e, kind)
                || (kind == RTM_NEWNEXTHOP && matches!(e, Event::NewRoute(..)));
            let origin = mine.then_some(notify::Origin {
                seq,
                port: own,
                echo_to: echo.then_some(id),
                flags: request_flags,
            });
            notify::broadcast(conns, scratch, &e, origin);
        };
        stack.set_listeners(listeners);
        let r = f(stack, &mut events).map_err(Failure::from);
        stack.set_listeners(Listeners::ALL);
        r
    }

    /// The link a request names: by index if positive, else by name.
    /// `Ok(None)` when it names none.
    fn named_link(&self, repr: &LinkRepr) -> Checked<Option<LinkRepr>> {
        let key = if repr.header.index > 0 {
            LinkKey::Index(repr.header.index)
        } else if let Some(n) = &repr.name {
            LinkKey::Name(n.as_str())
        } else {
            return Ok(None);
        };
        match self.stack.link(key) {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.errno == crate::errno::ENODEV => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn get_link(&mut self, id: ConnId, msg: &NlMsg<'_>, strict: bool) -> Checked<()> {
        request::link_get(msg, strict)?;
        let req = link_repr(msg)?;
        if req.header.index == 0 && req.name.is_none() {
            return Err(Failure::errno(EINVAL));
        }
        let link = self.named_link(&req)?.ok_or(NO_DEVICE)?;
        let (seq, port) = (msg.seq(), self.port(id));
        self.reply(id, |w| {
            w.message(RTM_NEWLINK, 0, seq, port, |w| link.emit(w))
        });
        Ok(())
    }

    fn new_link(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = link_repr(msg)?;
        let flags = CreateFlags(msg.flags());
        super::link_kind::validate(&req).map_err(|r| {
            let path = r.data_attr.map(|t| [IFLA_LINKINFO, IFLA_INFO_DATA, t]);
            Failure {
                offset: path.and_then(|p| request::attr_path_offset::<IfInfoMsg>(msg, &p)),
                ..Failure::from(r.error)
            }
        })?;
        match self.named_link(&req)? {
            Some(cur) => {
                if flags.excl() {
                    return Err(Failure::errno(crate::errno::EEXIST));
                }
                if flags.replace() {
                    return Err(Failure::errno(EOPNOTSUPP));
                }
                let change = link_change(&req, Some(&cur));
                let index = cur.header.index;
                self.change(id, msg, |s, ev| s.set_link(index, &change, ev))
            }
            None => {
                if !flags.create() {
                    return Err(NO_DEVICE);
                }
                let kind = req
                    .info
                    .as_ref()
                    .and_then(|i| i.kind.as_ref())
                    .map_or("", |k| k.as_str());
                let new = NewLink {
                    index: req.header.index,
                    name: req.name,
                    kind,
                    info: req.info.as_ref(),
                    change: link_change(&req, None),
                };
                self.change(id, msg, |s, ev| s.add_link(&new, ev))
                    .map(|_| ())
            }
        }
    }

    fn set_link(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = link_repr(msg)?;
        if req.header.index == 0 && req.name.is_none() {
            return Err(Failure::errno(EINVAL));
        }
        let cur = self.named_link(&req)?.ok_or(NO_DEVICE)?;
        let change = link_change(&req, Some(&cur));
        let index = cur.header.index;
        self.change(id, msg, |s, ev| s.set_link(index, &change, ev))
    }

    fn del_link(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = link_repr(msg)?;
        if req.header.index == 0 && req.name.is_none() {
            return Err(Failure::errno(EINVAL));
        }
        let cur = self.named_link(&req)?.ok_or(NO_DEVICE)?;
        let index = cur.header.index;
        self.change(id, msg, |s, ev| s.del_link(index, ev))
    }

    /// `RTM_GETADDR` without `NLM_F_DUMP`: IPv4 has no handler for it; IPv6
    /// looks the address up (`inet6_rtm_getaddr`).
    fn get_addr(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        // Neither family's lookup reads the prefix length.
        let (req, _) = addr_request(msg)?;
        if req.header.family != AF_INET6 {
            return Err(Failure::errno(EOPNOTSUPP));
        }
        let want = req
            .local
            .or(req.address)
            .ok_or(Failure::new(EINVAL, "invalid address"))?;
        let found = self.stack.find_addr(AF_INET6, want, req.header.index);
        let addr = found
            .ok()
            .flatten()
            .ok_or(Failure::errno(crate::errno::EADDRNOTAVAIL))?;
        let (seq, port) = (msg.seq(), self.port(id));
        self.reply(id, |w| {
            w.message(RTM_NEWADDR, 0, seq, port, |w| addr.emit_reply(w))
        });
        Ok(())
    }

    /// The link an address request names, refused with its family's
    /// words when it is missing.
    fn require_addr_link(&self, req: &AddrRepr) -> Checked<()> {
        if self.stack.has_link(req.header.index)
            || self.stack.link(LinkKey::Index(req.header.index)).is_ok()
        {
            return Ok(());
        }
        Err(Failure::new(
            ENODEV,
            match req.header.family {
                AF_INET => "ipv4: Device not found",
                _ => "ipv6: Unable to find the interface",
            },
        ))
    }

    /// `inet_rtm_newaddr` / `inet6_rtm_newaddr`, in their order of
    /// checks: IPv4 the prefix, `IFA_LOCAL`, the link; IPv6 an address,
    /// the link, the prefix.
    fn new_addr(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let (req, too_long) = addr_request(msg)?;
        if req.header.family == AF_INET {
            if too_long {
                return Err(Failure::new(EINVAL, "ipv4: Invalid prefix length"));
            }
            if req.local.is_none() {
                return Err(Failure::new(EINVAL, "ipv4: Local address is not supplied"));
            }
            self.require_addr_link(&req)?;
        } else {
            require_addr6(&req)?;
            self.require_addr_link(&req)?;
            if too_long {
                return Err(Failure::new(EINVAL, "ipv6: Invalid prefix length"));
            }
        }
        let flags = CreateFlags(msg.flags());
        self.change(id, msg, |s, ev| s.add_addr(&req, flags, ev))
    }

    /// `inet_rtm_deladdr` / `inet6_rtm_deladdr`: IPv4 checks the link and
    /// never the prefix (an address named with a longer one is not
    /// found); IPv6 an address, the prefix, the link.
    fn del_addr(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let (req, too_long) = addr_request(msg)?;
        if req.header.family != AF_INET {
            require_addr6(&req)?;
            if too_long {
                return Err(Failure::new(EINVAL, "ipv6: Invalid prefix length"));
            }
        }
        self.require_addr_link(&req)?;
        self.change(id, msg, |s, ev| s.del_addr(&req, ev))
    }

    /// `RTM_GETNSID` (`rtnl_net_getid`): the id this namespace gives
    /// another one. The stack is one namespace with no peers, so every
    /// namespace named by file descriptor or process is unassigned (`ip
    /// monitor` asks this for each named namespace of the host).
    fn get_nsid(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let body = msg.payload();
        // `struct rtgenmsg`, padded to 4 bytes.
        let attrs = body.get(4..).unwrap_or(&[]);
        let mut named = None;
        for a in crate::wire::Attrs::new(attrs) {
            let a = a.map_err(|_| Failure::errno(EINVAL))?;
            if matches!(a.attr_type(), NETNSA_PID | NETNSA_FD | NETNSA_NSID) && named.is_none() {
                named = Some(a.attr_type());
            }
        }
        match named {
            None => Err(Failure::new(EINVAL, "Peer netns reference is missing")),
            Some(NETNSA_NSID) => Err(Failure::new(
                crate::errno::ENOENT,
                "Peer netns reference is invalid",
            )),
            Some(_) => {
                let (seq, port) = (msg.seq(), self.port(id));
                self.reply(id, |w| {
                    w.message(RTM_NEWNSID, 0, seq, port, |w| {
                        w.put(&[AF_UNSPEC, 0, 0, 0])?;
                        w.attr(NETNSA_NSID, &NETNSA_NSID_NOT_ASSIGNED.to_ne_bytes())
                    })
                });
                Ok(())
            }
        }
    }

    /// `RTM_GETROUTE` for one destination (`ip route get`).
    fn get_route(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = route_repr(msg)?;
        request::inet_family(req.header.family)?;
        let dst = req.dst.unwrap_or(match req.header.family {
            AF_INET6 => IpAddr::V6(core::net::Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
        });
        let query = crate::stack::lookup::RouteQuery {
            dst,
            src: req.src,
            oif: req.oif.unwrap_or(0),
            mark: req.mark,
        };
        // The kernel explains no lookup failure.
        let mut route = self
            .stack
            .route_get(&query)
            .map_err(|e| crate::stack::StackError::from(e.errno))?;
        if req.header.family == AF_INET && req.header.flags & RTM_F_LOOKUP_TABLE == 0 {
            // `inet_rtm_getroute` names the table looked up only when
            // asked; else main.
            route.table = Some(RT_TABLE_MAIN);
            route.header.table = RT_TABLE_MAIN as u8;
        }
        let uid = self.conn(id).map_or(0, |c| c.uid);
        let (seq, port) = (msg.seq(), self.port(id));
        self.reply(id, |w| {
            w.message(RTM_NEWROUTE, 0, seq, port, |w| {
                super::route_answer::emit(w, &route, uid)
            })
        });
        Ok(())
    }

    fn new_route(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = route_repr(msg)?;
        check_route(&req)?;
        let flags = CreateFlags(msg.flags());
        self.change(id, msg, |s, ev| s.add_route(&req, flags, ev))
    }

    fn del_route(&mut self, id: ConnId, msg: &NlMsg<'_>) -> Checked<()> {
        let req = route_repr(msg)?;
        check_route(&req)?;
        self.change(id, msg, |s, ev| s.del_route(&req, ev))
    }
}

fn link_repr(msg: &NlMsg<'_>) -> Checked<LinkRepr> {
    let m = request::link_message(msg)?;
    LinkRepr::parse(&m).map_err(|e| Failure::malformed_in::<IfInfoMsg>(e, msg))
}

/// An address request: its repr, and whether its prefix is longer than
/// its family's. Such a prefix is kept as sent (the attributes are read
/// as with the longest the family has), for the caller to refuse where
/// the kernel's family checks it, or, deleting an IPv4 address, to match
/// nothing.
fn addr_request(msg: &NlMsg<'_>) -> Checked<(AddrRepr, bool)> {
    let m = request::addr_message(msg)?;
    request::inet_family(m.family())?;
    let header = m.header();
    let longest = if header.family == AF_INET { 32 } else { 128 };
    if header.prefix_len <= longest {
        let parsed = AddrRepr::parse(&m).map_err(|e| Failure::malformed_in::<IfAddrMsg>(e, msg));
        return Ok((parsed?, false));
    }
    let mut payload = msg.payload().to_vec();
    if let Some(len) = payload.get_mut(1) {
        *len = longest;
    }
    let mut req = AddrRepr::parse_payload(&payload)
        .map_err(|e| Failure::malformed_in::<IfAddrMsg>(e, msg))?;
    req.header.prefix_len = header.prefix_len;
    Ok((req, true))
}

fn route_repr(msg: &NlMsg<'_>) -> Checked<RouteRepr> {
    let m = request::route_message(msg)?;
    request::inet_family(m.family())?;
    RouteRepr::parse(&m).map_err(|e| match (e.part, e.kind) {
        // `rtm_to_fib_config` names an over-long prefix; `rtm_to_fib6_config`
        // refuses it without a word.
        (crate::wire::Part::Body, crate::wire::ErrorKind::BadPrefix) => match m.family() {
            AF_INET => Failure::new(EINVAL, "Invalid prefix length"),
            _ => Failure::errno(EINVAL),
        },
        _ => Failure::malformed_in::<RtMsg>(e, msg),
    })
}

/// What a link request changes; a name is a rename only when it differs
/// from the current one.
fn link_change(req: &LinkRepr, cur: Option<&LinkRepr>) -> LinkChange {
    let rename = match (cur, &req.name) {
        (Some(c), Some(n)) if c.name.as_ref() != Some(n) => Some(*n),
        _ => None,
    };
    LinkChange {
        flags: req.header.flags,
        flags_mask: req.header.change,
        mtu: req.mtu,
        address: req.address,
        name: rename,
        txqlen: req.txqlen,
        alias: req.alias,
        master: req.master,
        group: req.group,
        link: if cur.is_none() { req.link } else { None },
    }
}

/// The checks `inet_rtm_newaddr` / `inet6_rtm_newaddr` (and the deletes)
/// make before looking at the device, past those of [`AddrRepr::parse`]
/// (the family, and the prefix length it allows).
/// An IPv6 address request names its address (`IFA_LOCAL` or
/// `IFA_ADDRESS`): `EINVAL`, without a word, otherwise.
fn require_addr6(a: &AddrRepr) -> Checked<()> {
    if a.local.is_none() && a.address.is_none() {
        return Err(Failure::errno(EINVAL));
    }
    Ok(())
}

/// The shape checks of `rtm_to_fib_config` / `rtm_to_fib6_config`.
fn check_route(r: &RouteRepr) -> Checked<()> {
    crate::route_rules::check_shape(r).map_err(Failure::from)
}
