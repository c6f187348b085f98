//! Dumps, one datagram at a time: a dump keeps only the cursor the stack
//! handed back, so it needs memory for one datagram whatever the table's
//! size, and each datagram resumes where the last one stopped.

use core::ops::ControlFlow;

use crate::stack::{Cursor, Stack};
use crate::wire::consts::*;
use crate::wire::{FamilyHeader, LinkRepr, RouteRepr, Writer};

use super::request::{AddrFilter, Checked, Failure, LinkFilter, NeighFilter, RouteFilter};
use super::rule_request::RuleFilter;
use super::{Bounded, ConnId, Server};

/// What a dump lists, with its filters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DumpKind {
    Link(LinkFilter),
    Addr(AddrFilter),
    Route(RouteFilter),
    Neigh(NeighFilter),
    Rule(RuleFilter),
    /// Namespace ids: none is assigned here (`rtnl_net_dumpid`).
    Nsid,
    /// Nexthop objects, by id.
    Nexthop(super::nexthop_request::NexthopFilter),
    Netconf(super::netconf::NetconfFilter),
    /// The neighbour tables' settings (`ip ntable show`).
    NeighTbl(super::neightbl::NeighTblFilter),
    /// Link statistics by group (`ip stats show`).
    Stats(super::stats::StatsFilter),
    /// The IPv6 address label policy (`ip addrlabel list`).
    AddrLabel,
}

/// A dump in progress on a connection.
#[derive(Debug)]
pub(crate) struct Dump {
    what: Result<DumpKind, Failure>,
    seq: u32,
    /// Where the next datagram resumes.
    cursor: Cursor,
    generation: u64,
    interrupted: bool,
}

impl Dump {
    pub fn new(seq: u32, generation: u64, what: Checked<DumpKind>) -> Self {
        Dump {
            what,
            seq,
            cursor: Cursor::START,
            generation,
            interrupted: false,
        }
    }

    fn filtered(&self) -> bool {
        match &self.what {
            Ok(DumpKind::Addr(f)) => f.index != 0,
            Ok(DumpKind::Route(f)) => f.marks_filtered(),
            Ok(DumpKind::Link(f)) => f.master.is_some() || f.kind.is_some(),
            Ok(DumpKind::Neigh(f)) => f.index != 0,
            Ok(
                DumpKind::Nsid
                | DumpKind::Nexthop(_)
                | DumpKind::Rule(_)
                | DumpKind::Netconf(_)
                | DumpKind::NeighTbl(_)
                | DumpKind::Stats(_)
                | DumpKind::AddrLabel,
            ) => false,
            Err(_) => false,
        }
    }

    /// `NLMSG_DONE` comes in a datagram of its own after entries: the
    /// kernel's link, IPv4 address and route dumpers return the length
    /// they wrote, so `netlink_dump` calls them once more for the end.
    fn done_alone(&self) -> bool {
        match &self.what {
            // The IPv6 view of links ends as its last entries do.
            Ok(DumpKind::Link(f)) => f.family != AF_INET6,
            Ok(DumpKind::Route(_)) => true,
            Ok(DumpKind::Addr(f)) => f.family != AF_INET6,
            Ok(DumpKind::Netconf(f)) => f.done_alone(),
            // `neightbl_dump_info` returns the length it wrote.
            Ok(DumpKind::NeighTbl(_)) => true,
            _ => false,
        }
    }
}

/// `IPV6_MIN_MTU`: a link below it has no IPv6.
const IPV6_MIN_MTU: u32 = 1280;

/// The part of `family` in the link's `IFLA_AF_SPEC`, if it gives one.
pub(super) fn af_spec_part(l: &LinkRepr, family: u8) -> Option<crate::wire::Attr<'_>> {
    let spec = l.af_spec.as_ref()?;
    crate::wire::Attrs::new(spec)
        .find(u16::from(family))
        .ok()
        .flatten()
}

/// The IPv6 view of a link (`inet6_fill_ifinfo`): name, link-layer
/// address, MTU, the underlying link, operational state, and `IFLA_PROTINFO`: the IPv6
/// attributes of the link's `IFLA_AF_SPEC` when the stack gives them,
/// else the IPv6 flags (`IF_READY` once the link is up with carrier), the
/// token and the address generation mode (EUI-64).
fn emit_inet6_link<B: crate::wire::Buffer>(
    w: &mut Writer<B>,
    l: &LinkRepr,
) -> crate::wire::Result<()> {
    let mut h = l.header;
    h.family = AF_INET6;
    h.change = 0;
    h.emit(w)?;
    if let Some(n) = &l.name {
        w.attr_str(IFLA_IFNAME, n)?;
    }
    if let Some(a) = &l.address {
        w.attr(IFLA_ADDRESS, a)?;
    }
    if let Some(v) = l.mtu {
        w.attr_u32(IFLA_MTU, v)?;
    }
    // The underlying link, when there is one.
    if let Some(v) = l.link.filter(|v| *v != l.header.index) {
        w.attr_u32(IFLA_LINK, v)?;
    }
    if let Some(v) = l.operstate {
        w.attr_u8(IFLA_OPERSTATE, v)?;
    }
    // The stack's own IPv6 attributes (those of `IFLA_AF_SPEC`), if it
    // gives them.
    if let Some(inet6) = af_spec_part(l, AF_INET6) {
        return w.attr(IFLA_PROTINFO, inet6.value());
    }
    let ready = l.header.flags & (IFF_UP | IFF_LOWER_UP) == IFF_UP | IFF_LOWER_UP;
    w.nested_noflag(IFLA_PROTINFO, |w| {
        w.attr_u32(IFLA_INET6_FLAGS, if ready { IF_READY } else { 0 })?;
        w.attr(IFLA_INET6_TOKEN, &[0u8; 16])?;
        w.attr_u8(IFLA_INET6_ADDR_GEN_MODE, 0)
    })
}

fn link_matches(f: &LinkFilter, l: &LinkRepr) -> bool {
    match f.family {
        // A link below the IPv6 minimum MTU has no IPv6 (`lo` keeps it).
        AF_INET6
            if l.mtu.unwrap_or(0) < IPV6_MIN_MTU && l.header.hardware_type != ARPHRD_LOOPBACK =>
        {
            return false
        }
        // Bridge ports only (`rtnl_bridge_getlink`).
        AF_BRIDGE if l.master.is_none() => return false,
        _ => {}
    }
    if let Some(m) = f.master {
        if l.master.unwrap_or(0) != m {
            return false;
        }
    }
    if let Some(k) = &f.kind {
        let kind = l.info.as_ref().and_then(|i| i.kind.as_ref());
        if kind != Some(k) {
            return false;
        }
    }
    true
}

/// The datagram being filled: entries go in as messages until one does not
/// fit.
struct Filler<'a> {
    w: Writer<Bounded<'a>>,
    flags: u16,
    seq: u32,
    port: u32,
    /// The datagram is full: every later entry is refused (not taken).
    full: bool,
    /// Entries written into this datagram.
    wrote: bool,
    /// A route dump.
    route: bool,
}

impl Filler<'_> {
    /// Writes one entry as a message of type `kind`; breaks (the entry
    /// not taken) when the datagram is full. A first entry larger than the
    /// datagram is written anyway, alone (the reader sees it cut, as from
    /// the kernel), and taken; one that cannot be written at all is passed
    /// over rather than stall the dump.
    fn put(
        &mut self,
        kind: u16,
        write: impl Fn(&mut Writer<Bounded<'_>>) -> crate::wire::Result<()>,
    ) -> ControlFlow<()> {
        if self.full {
            return ControlFlow::Break(());
        }
        let (flags, seq, port) = (self.flags, self.seq, self.port);
        if self.w.message(kind, flags, seq, port, |w| write(w)).is_ok() {
            self.wrote = true;
            return ControlFlow::Continue(());
        }
        self.full = true;
        if !self.w.is_empty() {
            return ControlFlow::Break(());
        }
        let limit = self.w.buffer().limit;
        self.w.buffer_mut().limit = usize::MAX;
        let _ = self.w.message(kind, flags, seq, port, |w| write(w));
        self.w.buffer_mut().limit = limit;
        ControlFlow::Continue(())
    }

    /// Passes over an entry the filters leave out.
    fn skip(&mut self) -> ControlFlow<()> {
        if self.full {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Appends `NLMSG_DONE` with the dump's status (and its text with
    /// extended ACKs); false if it does not fit.
    fn done(&mut self, failure: Option<&Failure>, ext_ack: bool) -> bool {
        let errno = failure.map_or(0, |f| f.errno);
        if self.route {
            // The kernel marks each route, not the end.
            self.flags &= !NLM_F_DUMP_FILTERED;
        }
        let text = failure.and_then(|f| f.message).filter(|_| ext_ack);
        let flags = self.flags | if text.is_some() { NLM_F_ACK_TLVS } else { 0 };
        let (seq, port) = (self.seq, self.port);
        self.w
            .message(NLMSG_DONE, flags, seq, port, |w| {
                w.put(&errno.wrapping_neg().to_ne_bytes())?;
                if let Some(t) = text {
                    w.attr_str(NLMSGERR_ATTR_MSG, t)?;
                }
                Ok(())
            })
            .is_ok()
    }
}

fn route_matches(f: &RouteFilter, r: &RouteRepr) -> bool {
    (f.table == 0 || r.table_id() == f.table)
        && (f.protocol == 0 || r.header.protocol == f.protocol)
        && (f.route_type == 0 || r.header.route_type == f.route_type)
        && (f.oif == 0
            || r.oif == Some(f.oif)
            || r.multipath
                .as_ref()
                .is_some_and(|m| m.as_slice().iter().any(|h| h.ifindex == f.oif)))
}

impl<S: Stack> Server<S> {
    /// Writes the next datagram of the connection's dump (at most `size`
    /// bytes) and queues it; ends the dump with `NLMSG_DONE` when the table
    /// is exhausted.
    pub(super) fn dump_next(&mut self, id: ConnId, size: usize) {
        let generation = self.stack.generation();
        let Server { stack, conns, .. } = self;
        let Some(c) = conns.get_mut(id.0 as usize).and_then(Option::as_mut) else {
            return;
        };
        let Some(mut d) = c.dump.take() else { return };
        if generation != d.generation {
            d.interrupted = true;
        }
        let mut flags = NLM_F_MULTI;
        if d.filtered() {
            flags |= NLM_F_DUMP_FILTERED;
        }
        if d.interrupted {
            flags |= NLM_F_DUMP_INTR;
        }
        let ext_ack = c.ext_ack;
        c.arena.clear();
        let mut f = Filler {
            w: Writer::new(Bounded {
                buf: &mut c.arena,
                limit: size,
            }),
            flags,
            seq: d.seq,
            port: c.port,
            full: false,
            wrote: false,
            route: matches!(d.what, Ok(DumpKind::Route(_))),
        };
        let pos = &d.cursor;
        let listed: Checked<Cursor> = match d.what {
            Err(e) => Err(e),
            Ok(DumpKind::Link(flt)) => stack
                .links_from(pos, &mut |l| {
                    if !link_matches(&flt, l) {
                        f.skip()
                    } else if flt.family == AF_INET6 {
                        f.put(RTM_NEWLINK, |w| emit_inet6_link(w, l))
                    } else if flt.family == AF_BRIDGE {
                        // A port's `AF_BRIDGE` view (`rtnl_bridge_getlink`).
                        let b = stack.bridge_port_view(l.header.index).unwrap_or_else(|| {
                            let mut b = l.clone();
                            b.header.family = AF_BRIDGE;
                            b.header.change = 0;
                            b
                        });
                        f.put(RTM_NEWLINK, |w| b.emit_bridge_port(w))
                    } else {
                        f.put(RTM_NEWLINK, |w| l.emit(w))
                    }
                })
                .map_err(Failure::from),
            Ok(DumpKind::Addr(flt)) => require(stack, flt.index).and_then(|()| {
                stack
                    .addrs_from(flt.family, pos, &mut |a| {
                        if flt.index == 0 || a.header.index == flt.index {
                            f.put(RTM_NEWADDR, |w| a.emit_reply(w))
                        } else {
                            f.skip()
                        }
                    })
                    .map_err(Failure::from)
            }),
            Ok(DumpKind::Route(flt)) if flt.cache => Ok(*pos),
            Ok(DumpKind::Route(flt)) => require(stack, flt.oif)
                .and_then(|()| require_table(stack, &flt))
                .and_then(|()| {
                    stack
                        .routes_from(flt.family, pos, &mut |r| {
                            if route_matches(&flt, r) {
                                f.put(RTM_NEWROUTE, |w| r.emit_reply(w))
                            } else {
                                f.skip()
                            }
                        })
                        .map_err(Failure::from)
                }),
            Ok(DumpKind::Nsid) => Ok(*pos),
            Ok(DumpKind::AddrLabel) => Ok(super::addrlabel::list(pos, &mut |l| {
                f.put(RTM_NEWADDRLABEL, |w| super::addrlabel::emit(w, l))
            })),
            Ok(DumpKind::Nexthop(flt)) => {
                let master_of = |index: u32| {
                    stack
                        .link(crate::stack::LinkKey::Index(index))
                        .map_or(0, |l| l.master.unwrap_or(0))
                };
                stack
                    .nexthops_from(pos, &mut |nh| {
                        if flt.keeps(nh, master_of) {
                            f.put(RTM_NEWNEXTHOP, |w| nh.emit(w))
                        } else {
                            f.skip()
                        }
                    })
                    .map_err(Failure::from)
            }
            Ok(DumpKind::Netconf(flt)) => {
                super::netconf::list(stack, flt, pos, &mut |fam, index| {
                    f.put(RTM_NEWNETCONF, |w| super::netconf::emit(w, fam, index))
                })
                .map_err(Failure::from)
            }
            Ok(DumpKind::NeighTbl(flt)) => super::neightbl::list(stack, flt, pos, &mut |e| {
                f.put(RTM_NEWNEIGHTBL, |w| super::neightbl::emit(w, e))
            })
            .map_err(Failure::from),
            Ok(DumpKind::Stats(flt)) => super::stats::list(stack, pos, &mut |l| {
                f.put(RTM_NEWSTATS, |w| super::stats::emit(w, l, &flt))
            })
            .map_err(Failure::from),
            Ok(DumpKind::Rule(flt)) => stack
                .rules_from(flt.family, pos, &mut |r| f.put(RTM_NEWRULE, |w| r.emit(w)))
                .map_err(Failure::from),
            Ok(DumpKind::Neigh(flt)) => stack
                .neighbours_from(flt.family, pos, &mut |n| {
                    if flt.index == 0 || n.header.ifindex == flt.index {
                        f.put(RTM_NEWNEIGH, |w| n.emit(w))
                    } else {
                        f.skip()
                    }
                })
                .map_err(Failure::from),
        };
        match listed {
            Ok(next) => d.cursor = next,
            Err(e) => d.what = Err(e),
        }
        let wait = f.wrote && d.done_alone();
        let mut finished = !f.full && !wait && f.done(d.what.as_ref().err(), ext_ack);
        if !f.full && !wait && !finished && f.w.is_empty() {
            // A reader buffer too small even for NLMSG_DONE: send it anyway
            // (the reader sees it cut) rather than an empty datagram.
            f.w.buffer_mut().limit = usize::MAX;
            finished = f.done(d.what.as_ref().err(), ext_ack);
        }
        let bytes = c.take_arena();
        c.push(bytes, 0);
        if !finished {
            c.dump = Some(d);
        }
    }
}

/// A dump of one family filtered to a table that does not exist fails
/// with `ENOENT`; across families it is just empty (the kernel's
/// `inet_dump_fib` / `inet6_dump_fib`).
fn require_table<S: Stack>(stack: &S, f: &RouteFilter) -> Checked<()> {
    if f.table == 0 || stack.route_table_exists(f.family, f.table) {
        return Ok(());
    }
    match f.family {
        AF_INET => Err(Failure::new(
            crate::errno::ENOENT,
            "ipv4: FIB table does not exist",
        )),
        AF_INET6 => Err(Failure::new(
            crate::errno::ENOENT,
            "ipv6: FIB table does not exist",
        )),
        _ => Ok(()),
    }
}

/// A filter naming a link that does not exist fails the dump with `ENODEV`.
fn require<S: Stack>(stack: &S, index: u32) -> Checked<()> {
    if index == 0 {
        return Ok(());
    }
    stack
        .link(crate::stack::LinkKey::Index(index))
        .map(|_| ())
        .map_err(Failure::from)
}
