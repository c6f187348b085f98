//! Turning stack events into the kernel's notifications, for the
//! connections that joined the matching groups.

use bytes::BytesMut;

use crate::stack::Event;
use crate::wire::consts::*;
use crate::wire::Writer;

use super::{Conn, ConnId};

/// Who caused an event: the request's seq and port, and the connection to
/// echo it to (`NLM_F_ECHO`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    pub seq: u32,
    pub port: u32,
    pub echo_to: Option<ConnId>,
    /// The request's `nlmsg_flags` (nexthop notifications copy them).
    pub flags: u16,
}

/// The message type, flags and group of an event.
fn header(e: &Event<'_>) -> (u16, u16, u32) {
    let ip_group = |family: u8, v4: u32, v6: u32| if family == AF_INET6 { v6 } else { v4 };
    match e {
        Event::NewLink(_) => (RTM_NEWLINK, 0, RTNLGRP_LINK),
        Event::DelLink(_) => (RTM_DELLINK, 0, RTNLGRP_LINK),
        Event::NewAddr(a) => (
            RTM_NEWADDR,
            0,
            ip_group(a.header.family, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
        ),
        Event::DelAddr(a) => (
            RTM_DELADDR,
            0,
            ip_group(a.header.family, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
        ),
        Event::NewRoute(r, flags) => (
            RTM_NEWROUTE,
            *flags,
            ip_group(r.header.family, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE),
        ),
        Event::DelRoute(r) => (
            RTM_DELROUTE,
            0,
            ip_group(r.header.family, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE),
        ),
        Event::NewNeigh(_) => (RTM_NEWNEIGH, 0, RTNLGRP_NEIGH),
        Event::DelNeigh(_) => (RTM_DELNEIGH, 0, RTNLGRP_NEIGH),
        Event::NewNexthop(_) => (RTM_NEWNEXTHOP, 0, RTNLGRP_NEXTHOP),
        Event::DelNexthop(_) => (RTM_DELNEXTHOP, 0, RTNLGRP_NEXTHOP),
        Event::NewRule(r) => (
            RTM_NEWRULE,
            0,
            ip_group(r.header.family, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE),
        ),
        Event::DelRule(r) => (
            RTM_DELRULE,
            0,
            ip_group(r.header.family, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE),
        ),
        Event::NewNetconf { family, .. } => (
            RTM_NEWNETCONF,
            0,
            ip_group(*family, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF),
        ),
        Event::DelNetconf { family, .. } => (
            RTM_DELNETCONF,
            0,
            ip_group(*family, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF),
        ),
    }
}

/// True when the event is of the kind the request `kind` changes (links for
/// link requests, and so on).
pub(super) fn same_family(e: &Event<'_>, kind: u16) -> bool {
    let (t, _, _) = header(e);
    (t.wrapping_sub(RTM_NEWLINK) >> 2) == (kind.wrapping_sub(RTM_NEWLINK) >> 2)
}

/// Writes the notification for `e`.
fn emit(
    w: &mut Writer<&mut BytesMut>,
    e: &Event<'_>,
    origin: Option<Origin>,
) -> crate::wire::Result<usize> {
    let (kind, flags, _) = header(e);
    let (seq, port) = origin.map_or((0, 0), |o| (o.seq, o.port));
    // `nexthop_notify` copies the request's flags, `NLM_F_REQUEST` and
    // all.
    let flags = match (e, origin) {
        (Event::NewNexthop(_) | Event::DelNexthop(_), Some(o)) => o.flags,
        _ => flags,
    };
    w.message(kind, flags, seq, port, |w| match e {
        // A bridge port's own messages (`br_ifinfo_notify`).
        Event::NewLink(l) | Event::DelLink(l) if l.header.family == AF_BRIDGE => {
            l.emit_bridge_port(w)
        }
        Event::NewLink(l) | Event::DelLink(l) => l.emit(w),
        Event::NewAddr(a) | Event::DelAddr(a) => a.emit_reply(w),
        Event::NewRoute(r, _) | Event::DelRoute(r) => r.emit_reply(w),
        Event::NewNeigh(n) | Event::DelNeigh(n) => n.emit(w),
        Event::NewNexthop(n) | Event::DelNexthop(n) => n.emit(w),
        Event::NewRule(r) | Event::DelRule(r) => r.emit(w),
        Event::NewNetconf { family, index } => {
            super::netconf::emit(w, *family, i32::try_from(*index).unwrap_or(i32::MAX))
        }
        // `inet_netconf_notify_devconf` of `RTM_DELNETCONF`: the index only.
        Event::DelNetconf { family, index } => {
            w.put(&[*family, 0, 0, 0])?;
            w.attr_i32(1, i32::try_from(*index).unwrap_or(i32::MAX))
        }
    })
}

/// Sends `e` to every member of its group, and echoes it to the origin when
/// asked (then the origin is not also reached as a member). The message is written once and
/// shared; a member whose queue is full loses it and gets `ENOBUFS`.
pub(super) fn broadcast(
    conns: &mut [Option<Conn>],
    scratch: &mut BytesMut,
    e: &Event<'_>,
    origin: Option<Origin>,
) {
    let (_, _, group) = header(e);
    // Link, IPv6 address and netconf notifications name no requester
    // (`rtmsg_ifinfo`, `inet6_ifa_notify`, `inet_netconf_notify_devconf`:
    // port 0, seq 0, no echo); the others do.
    let anonymous = [
        RTNLGRP_LINK,
        RTNLGRP_IPV6_IFADDR,
        RTNLGRP_IPV4_NETCONF,
        RTNLGRP_IPV6_NETCONF,
    ];
    let origin = match e {
        // Neighbours: a change a request made names its port but no seq
        // and is never echoed (`neigh_update_notify`); an entry going away
        // names no one (`neigh_cleanup_and_release`).
        Event::NewNeigh(_) => origin.map(|o| Origin {
            seq: 0,
            echo_to: None,
            ..o
        }),
        Event::DelNeigh(_) => None,
        _ if anonymous.contains(&group) => None,
        _ => origin,
    };
    // `nlmsg_notify`: with NLM_F_ECHO the requester gets its copy as a
    // unicast echo, not as a member; without it, it hears like any member.
    let exclude = origin.and_then(|o| o.echo_to.map(|_| o.port));
    let echo = origin.and_then(|o| o.echo_to);
    let wanted = conns.iter().enumerate().any(|(i, c)| {
        c.as_ref().is_some_and(|c| {
            (c.member_of(group) && Some(c.port) != exclude)
                || echo.is_some_and(|e| e.0 as usize == i)
        })
    });
    if !wanted {
        return;
    }
    scratch.clear();
    if emit(&mut Writer::new(&mut *scratch), e, origin).is_err() {
        scratch.clear();
        return;
    }
    let bytes = scratch.split().freeze();
    for (i, c) in conns.iter_mut().enumerate() {
        let Some(c) = c else { continue };
        if echo.is_some_and(|e| e.0 as usize == i) {
            c.enqueue(bytes.clone(), 0);
        }
        if c.member_of(group) && Some(c.port) != exclude {
            c.enqueue(bytes.clone(), group);
        }
    }
}
