//! Notifications: join rtnetlink's multicast groups and receive what the
//! stack changes as typed events (what `ip monitor` prints).
//!
//! ```
//! use std::time::Duration;
//! use nlinline::{Event, Group, Handle, Monitor};
//! use nlinline::Shared;
//!
//! let stack = Shared::new(nlq_mem::MemStack::new());
//! let mut monitor = Monitor::new(stack.connect(), &[Group::Link])?;
//! let mut h = Handle::in_process(&stack);
//! let br = h.link_add("br0", "bridge", &[], None)?;
//! match monitor.next(Duration::from_secs(1))? {
//!     Some(Event::NewLink(l)) => assert_eq!(l.header.index, br),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), nlinline::Error>(())
//! ```

use std::io;
use std::time::{Duration, Instant};

use nlq::wire::consts::*;
use nlq::wire::{
    AddrRepr, LinkRepr, Message, Messages, NeighRepr, NetconfRepr, NexthopRepr, NlMsg, NsidRepr,
    RouteRepr, RuleRepr,
};

use crate::{Error, Result, Transport};

/// An rtnetlink multicast group (`RTNLGRP_*`), named as `ip monitor`
/// names what it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Group {
    /// Links (`RTNLGRP_LINK`).
    Link,
    /// Neighbours (`RTNLGRP_NEIGH`).
    Neigh,
    /// IPv4 addresses (`RTNLGRP_IPV4_IFADDR`).
    Ipv4Addr,
    /// IPv6 addresses (`RTNLGRP_IPV6_IFADDR`).
    Ipv6Addr,
    /// IPv4 routes (`RTNLGRP_IPV4_ROUTE`).
    Ipv4Route,
    /// IPv6 routes (`RTNLGRP_IPV6_ROUTE`).
    Ipv6Route,
    /// IPv4 policy rules (`RTNLGRP_IPV4_RULE`).
    Ipv4Rule,
    /// IPv6 policy rules (`RTNLGRP_IPV6_RULE`).
    Ipv6Rule,
    /// IPv4 per-link configuration (`RTNLGRP_IPV4_NETCONF`).
    Ipv4Netconf,
    /// IPv6 per-link configuration (`RTNLGRP_IPV6_NETCONF`).
    Ipv6Netconf,
    /// Nexthop objects (`RTNLGRP_NEXTHOP`).
    Nexthop,
    /// Namespace ids (`RTNLGRP_NSID`).
    Nsid,
    /// Any group by its number.
    Number(u32),
}

impl Group {
    /// The groups of links, addresses, routes, rules and neighbours of both
    /// families: what `ip monitor` with no argument listens to, less
    /// prefixes and netconf.
    pub const ALL: [Group; 9] = [
        Group::Link,
        Group::Neigh,
        Group::Ipv4Addr,
        Group::Ipv6Addr,
        Group::Ipv4Route,
        Group::Ipv6Route,
        Group::Ipv4Rule,
        Group::Ipv6Rule,
        Group::Nexthop,
    ];

    /// The group's number.
    pub fn number(self) -> u32 {
        match self {
            Group::Link => RTNLGRP_LINK,
            Group::Neigh => RTNLGRP_NEIGH,
            Group::Ipv4Addr => RTNLGRP_IPV4_IFADDR,
            Group::Ipv6Addr => RTNLGRP_IPV6_IFADDR,
            Group::Ipv4Route => RTNLGRP_IPV4_ROUTE,
            Group::Ipv6Route => RTNLGRP_IPV6_ROUTE,
            Group::Ipv4Rule => RTNLGRP_IPV4_RULE,
            Group::Ipv6Rule => RTNLGRP_IPV6_RULE,
            Group::Ipv4Netconf => RTNLGRP_IPV4_NETCONF,
            Group::Ipv6Netconf => RTNLGRP_IPV6_NETCONF,
            Group::Nexthop => RTNLGRP_NEXTHOP,
            Group::Nsid => RTNLGRP_NSID,
            Group::Number(n) => n,
        }
    }
}

/// What the stack reported.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `RTM_NEWLINK`: a link was created or changed.
    NewLink(LinkRepr),
    /// `RTM_DELLINK`.
    DelLink(LinkRepr),
    /// `RTM_NEWADDR`.
    NewAddr(AddrRepr),
    /// `RTM_DELADDR`.
    DelAddr(AddrRepr),
    /// `RTM_NEWROUTE`.
    NewRoute(RouteRepr),
    /// `RTM_DELROUTE`.
    DelRoute(RouteRepr),
    /// `RTM_NEWNEIGH`.
    NewNeigh(NeighRepr),
    /// `RTM_DELNEIGH`.
    DelNeigh(NeighRepr),
    /// `RTM_NEWRULE`.
    NewRule(RuleRepr),
    /// `RTM_DELRULE`.
    DelRule(RuleRepr),
    /// `RTM_NEWNEXTHOP`.
    NewNexthop(NexthopRepr),
    /// `RTM_DELNEXTHOP`.
    DelNexthop(NexthopRepr),
    /// `RTM_NEWNETCONF`: a link got its IPv4 or IPv6 device, or its
    /// configuration changed.
    NewNetconf(NetconfRepr),
    /// `RTM_DELNETCONF`: a link lost its device of the family.
    DelNetconf(NetconfRepr),
    /// `RTM_NEWNSID`: a namespace got an id here.
    NewNsid(NsidRepr),
    /// `RTM_DELNSID`.
    DelNsid(NsidRepr),
    /// Events were lost: the receive buffer overflowed (`ENOBUFS`). What
    /// the monitor's owner holds may be stale: dump again. The monitor goes
    /// on with the events after the loss.
    Missed,
    /// A message of another type (a bridge's forwarding entries, …),
    /// whole, header included.
    Other {
        /// Its `nlmsg_type`.
        kind: u16,
        /// The message's bytes.
        message: Vec<u8>,
    },
}

impl Event {
    /// Types one notification.
    pub fn parse(msg: &NlMsg<'_>) -> Result<Event> {
        // `RTM_NEW*` types are multiples of 4, `RTM_DEL*` follow them.
        let new = msg.message_type() & 3 == 0;
        let other = || Event::Other {
            kind: msg.message_type(),
            message: msg.as_bytes().to_vec(),
        };
        if msg.message_type() < RTM_NEWLINK || msg.message_type() & 3 > 1 {
            return Ok(other());
        }
        macro_rules! either {
            ($view:expr, $repr:ty, $new:ident, $del:ident) => {{
                let r = <$repr>::parse(&$view)?;
                if new {
                    Event::$new(r)
                } else {
                    Event::$del(r)
                }
            }};
        }
        Ok(match Message::parse(msg)? {
            Message::Link(v) => either!(v, LinkRepr, NewLink, DelLink),
            Message::Addr(v) => either!(v, AddrRepr, NewAddr, DelAddr),
            Message::Route(v) => either!(v, RouteRepr, NewRoute, DelRoute),
            Message::Neigh(v) if matches!(v.header().family, AF_INET | AF_INET6) => {
                either!(v, NeighRepr, NewNeigh, DelNeigh)
            }
            Message::Rule(v) => either!(v, RuleRepr, NewRule, DelRule),
            Message::Nexthop(v) => either!(v, NexthopRepr, NewNexthop, DelNexthop),
            Message::Netconf(v) => either!(v, NetconfRepr, NewNetconf, DelNetconf),
            Message::Nsid(v) => either!(v, NsidRepr, NewNsid, DelNsid),
            _ => other(),
        })
    }
}

/// A connection that listens to multicast groups and hands out what
/// arrives, one typed [`Event`] at a time, on any [`Transport`] that can
/// join groups (the kernel, an in-process nlq server, the nlq daemon).
#[derive(Debug)]
pub struct Monitor<T: Transport> {
    transport: T,
    /// The last datagram received, and where its next message starts.
    datagram: Vec<u8>,
    at: usize,
}

impl<T: Transport> Monitor<T> {
    /// Joins `groups` on `transport` (a connection of its own: replies to
    /// requests sent on it would be taken for events).
    pub fn new(mut transport: T, groups: &[Group]) -> Result<Self> {
        for g in groups {
            transport.join_group(g.number()).map_err(Error::Io)?;
        }
        Ok(Monitor {
            transport,
            datagram: Vec::new(),
            at: 0,
        })
    }

    /// Joins one more group.
    pub fn join(&mut self, group: Group) -> Result<()> {
        self.transport.join_group(group.number()).map_err(Error::Io)
    }

    /// The next event, waiting at most `timeout` for one; `Ok(None)` when
    /// none came in time. A message that cannot be parsed is an
    /// [`Error::Malformed`]; the events after it still come.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Event>> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(msg) = self.next_message()? {
                match msg.message_type() {
                    // Not events: a monitor sends no request.
                    NLMSG_NOOP | NLMSG_DONE | NLMSG_ERROR => continue,
                    _ => return Event::parse(&msg).map(Some),
                }
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => timeout,
            };
            self.at = 0;
            match self.transport.recv(&mut self.datagram, Some(left)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    self.datagram.clear();
                    return Ok(None);
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.datagram.clear();
                    return Ok(Some(Event::Missed));
                }
                Err(e) => {
                    self.datagram.clear();
                    return Err(Error::Io(e));
                }
            }
        }
    }

    /// The next message of the datagram in hand, if any.
    fn next_message(&mut self) -> Result<Option<NlMsg<'_>>> {
        let rest = self.datagram.get(self.at..).unwrap_or_default();
        let mut messages = Messages::new(rest);
        let first = messages.next();
        let used = rest.len().saturating_sub(messages.remaining().len());
        self.at = self.at.saturating_add(used);
        match first {
            None => Ok(None),
            Some(Ok(msg)) => Ok(Some(msg)),
            // The rest of the datagram cannot be framed: it is dropped.
            Some(Err(e)) => Err(Error::Malformed(e)),
        }
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    use nlq::wire::Writer;

    /// Hands out scripted datagrams (or errnos); joins anything.
    #[derive(Debug)]
    struct Script(VecDeque<std::result::Result<Vec<u8>, i32>>);

    impl Transport for Script {
        fn send(&mut self, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn recv(&mut self, buf: &mut Vec<u8>, _: Option<Duration>) -> io::Result<()> {
            match self.0.pop_front() {
                Some(Ok(d)) => {
                    *buf = d;
                    Ok(())
                }
                Some(Err(e)) => Err(io::Error::from_raw_os_error(e)),
                None => Err(io::ErrorKind::TimedOut.into()),
            }
        }
        fn port(&self) -> u32 {
            0
        }
        fn join_group(&mut self, _: u32) -> io::Result<()> {
            Ok(())
        }
    }

    fn new_addr(index: u32) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
        w.message(RTM_NEWADDR, 0, 0, 0, |w| {
            AddrRepr::new(ip, 24, index).with_local(ip).emit(w)
        })
        .unwrap();
        w.into_inner()
    }

    #[test]
    fn events_in_order_across_datagrams_then_none() {
        let mut two = new_addr(1);
        two.extend(new_addr(2));
        let mut m = Monitor::new(
            Script(VecDeque::from([Ok(two), Ok(new_addr(3))])),
            &Group::ALL,
        )
        .unwrap();
        for want in 1..=3 {
            match m.next(Duration::ZERO).unwrap() {
                Some(Event::NewAddr(a)) => assert_eq!(a.header.index, want),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(m.next(Duration::ZERO).unwrap(), None);
    }

    /// A lost-events error becomes `Missed`; a datagram cut short is an
    /// error; either way the monitor goes on with what comes next.
    #[test]
    fn losses_and_bad_datagrams_are_reported_and_survived() {
        let whole = new_addr(7);
        let mut cut = new_addr(5);
        cut.truncate(cut.len() - 6);
        let mut m = Monitor::new(
            Script(VecDeque::from([
                Err(libc::ENOBUFS),
                Ok(cut),
                Ok(whole),
                Err(libc::EBADF),
            ])),
            &[Group::Ipv4Addr],
        )
        .unwrap();
        assert_eq!(m.next(Duration::ZERO).unwrap(), Some(Event::Missed));
        assert!(matches!(m.next(Duration::ZERO), Err(Error::Malformed(_))));
        assert!(matches!(
            m.next(Duration::ZERO),
            Ok(Some(Event::NewAddr(_)))
        ));
        assert_eq!(m.next(Duration::ZERO).unwrap_err().errno(), libc::EBADF);
        assert_eq!(m.next(Duration::ZERO).unwrap(), None);
    }

    #[test]
    fn a_transport_that_cannot_join_says_so() {
        #[derive(Debug)]
        struct Deaf;
        impl Transport for Deaf {
            fn send(&mut self, _: &[u8]) -> io::Result<()> {
                Ok(())
            }
            fn recv(&mut self, _: &mut Vec<u8>, _: Option<Duration>) -> io::Result<()> {
                Err(io::ErrorKind::TimedOut.into())
            }
            fn port(&self) -> u32 {
                0
            }
        }
        let e = Monitor::new(Deaf, &[Group::Link]).unwrap_err();
        assert!(
            matches!(e, Error::Io(ref io) if io.kind() == io::ErrorKind::Unsupported),
            "{e}"
        );
    }
}
