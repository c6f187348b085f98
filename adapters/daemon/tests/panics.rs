//! A stack that panics on a request: that request is answered `EIO`, with
//! its sequence number and port, and the daemon serves on (the rest of the
//! datagram, the same socket, other clients); with a state file, the state
//! served after a change cut short half way, and restored at the next
//! start, is the one acknowledged. The panic is logged once, not as a
//! crash.

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use nlq::emulate::ioctl::{ifreq, ifreq_int, ifreq_set_int, SIOCGIFMTU, SIOCSIFMTU};
use nlq::errno::{EIO, ENOBUFS, ENODEV};
use nlq::server::SockOpt;
use nlq::stack::{
    CreateFlags, Cursor, Events, LinkChange, LinkKey, NewLink, Stack, StackResult, Visit,
};
use nlq::wire::consts::*;
use nlq::wire::{
    AddrRepr, LinkRepr, Message, Messages, NeighRepr, NexthopRepr, NlMsg, RouteRepr, RuleRepr,
    Writer,
};
use nlq_daemon::client::{ControlClient, SocketClient};
use nlq_daemon::state::Persist;
use nlq_daemon::testing::TempDir;
use nlq_daemon::{Daemon, Options};
use nlq_mem::MemStack;

/// A link name the stack panics on before changing anything.
const BOOM: &str = "boom0";
/// A link name the stack panics on after making (and notifying) the link.
const HALF: &str = "half0";

/// An MTU the stack panics on before changing anything.
const BOOM_MTU: u32 = 4242;

/// Held by a test that forks a child and by one that restarts a daemon on
/// its state file: a child holds the descriptors of the process (the
/// state file's lock with them) from the fork to its exec, and a restart
/// then finds the file still locked.
static NO_FORK: Mutex<()> = Mutex::new(());

/// The `mem` stack, except for the links named [`BOOM`] and [`HALF`] and
/// the MTU [`BOOM_MTU`].
#[derive(Debug, Default)]
struct Faulty {
    inner: MemStack,
}

impl Persist for Faulty {
    fn save(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
        self.inner.save(w)
    }

    fn restore(msgs: &[NlMsg<'_>]) -> Result<Self, String> {
        MemStack::restore(msgs).map(|inner| Faulty { inner })
    }
}

impl Stack for Faulty {
    fn begin_requests(&mut self) {
        self.inner.begin_requests()
    }

    fn set_listeners(&mut self, listeners: nlq::stack::Listeners) {
        self.inner.set_listeners(listeners)
    }

    fn end_requests(&mut self) {
        self.inner.end_requests()
    }

    fn nexthops_from(&self, from: &Cursor, visit: Visit<'_, NexthopRepr>) -> StackResult<Cursor> {
        self.inner.nexthops_from(from, visit)
    }

    fn nexthop(&self, id: u32) -> Option<NexthopRepr> {
        self.inner.nexthop(id)
    }

    fn add_nexthop(
        &mut self,
        nexthop: &NexthopRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.inner.add_nexthop(nexthop, flags, events)
    }

    fn del_nexthop(&mut self, id: u32, events: Events<'_>) -> StackResult<()> {
        self.inner.del_nexthop(id, events)
    }

    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        self.inner.links(start, visit)
    }

    fn link(&self, key: LinkKey<'_>) -> StackResult<LinkRepr> {
        self.inner.link(key)
    }

    fn link_state(&self, index: u32) -> Option<nlq::stack::LinkState> {
        self.inner.link_state(index)
    }

    fn has_link(&self, index: u32) -> bool {
        self.inner.has_link(index)
    }

    fn add_link(&mut self, link: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        match link.name.as_ref().map(|n| n.as_str()) {
            Some(BOOM) => panic!("a stack bug on {BOOM} (on purpose)"),
            Some(HALF) => {
                // The link is made (and notified), then the stack fails.
                let index = self.inner.add_link(link, events)?;
                panic!("a stack bug half way through {HALF}, index {index} (on purpose)")
            }
            _ => self.inner.add_link(link, events),
        }
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        if change.mtu == Some(BOOM_MTU) {
            panic!("a stack bug on MTU {BOOM_MTU} (on purpose)");
        }
        self.inner.set_link(index, change, events)
    }

    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        self.inner.del_link(index, events)
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        self.inner.addrs(family, start, visit)
    }

    fn find_addr(&self, family: u8, local: IpAddr, index: u32) -> StackResult<Option<AddrRepr>> {
        self.inner.find_addr(family, local, index)
    }

    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.inner.add_addr(addr, flags, events)
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.inner.del_addr(addr, events)
    }

    fn routes(&self, family: u8, start: usize, visit: Visit<'_, RouteRepr>) -> StackResult<()> {
        self.inner.routes(family, start, visit)
    }

    fn route_table_exists(&self, family: u8, table: u32) -> bool {
        self.inner.route_table_exists(family, table)
    }

    fn add_route(
        &mut self,
        route: &RouteRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.inner.add_route(route, flags, events)
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.inner.del_route(route, events)
    }

    fn route_get(&self, query: &nlq::stack::lookup::RouteQuery) -> StackResult<RouteRepr> {
        self.inner.route_get(query)
    }

    fn neighbours(&self, family: u8, start: usize, visit: Visit<'_, NeighRepr>) -> StackResult<()> {
        self.inner.neighbours(family, start, visit)
    }

    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    fn links_from(&self, from: &Cursor, visit: Visit<'_, LinkRepr>) -> StackResult<Cursor> {
        self.inner.links_from(from, visit)
    }

    fn addrs_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, AddrRepr>,
    ) -> StackResult<Cursor> {
        self.inner.addrs_from(family, from, visit)
    }

    fn routes_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RouteRepr>,
    ) -> StackResult<Cursor> {
        self.inner.routes_from(family, from, visit)
    }

    fn neighbours_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, NeighRepr>,
    ) -> StackResult<Cursor> {
        self.inner.neighbours_from(family, from, visit)
    }

    fn rules_from(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RuleRepr>,
    ) -> StackResult<Cursor> {
        self.inner.rules_from(family, from, visit)
    }

    fn add_rule(
        &mut self,
        rule: &RuleRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.inner.add_rule(rule, flags, events)
    }

    fn del_rule(&mut self, rule: &RuleRepr, events: Events<'_>) -> StackResult<()> {
        self.inner.del_rule(rule, events)
    }

    fn custom_rules(&self, family: u8) -> bool {
        self.inner.custom_rules(family)
    }

    fn add_neigh(
        &mut self,
        neigh: &NeighRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.inner.add_neigh(neigh, flags, events)
    }

    fn del_neigh(&mut self, neigh: &NeighRepr, events: Events<'_>) -> StackResult<()> {
        self.inner.del_neigh(neigh, events)
    }

    fn family_device_age(&self, family: u8, index: u32) -> u64 {
        self.inner.family_device_age(family, index)
    }

    fn ipv6_mc_load(&self, index: u32) -> nlq::stack::Mc6Load {
        self.inner.ipv6_mc_load(index)
    }

    fn bridge_port_view(&self, index: u32) -> Option<nlq::wire::LinkRepr> {
        self.inner.bridge_port_view(index)
    }
}

/// `RTM_NEWLINK` for a dummy link `name`, with `NLM_F_ACK`.
fn new_link(seq: u32, name: &str) -> Vec<u8> {
    common::request(
        RTM_NEWLINK,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
        |w| {
            w.put(&[0u8; 16])?;
            w.attr_str(IFLA_IFNAME, name)?;
            w.nested_noflag(IFLA_LINKINFO, |w| w.attr_str(IFLA_INFO_KIND, "dummy"))
        },
    )
}

/// The errno of `RTM_GETLINK` for `name` (0: the link is there).
fn get_link(c: &mut SocketClient, seq: u32, name: &str) -> i32 {
    c.send(&common::request(RTM_GETLINK, NLM_F_ACK, seq, |w| {
        w.put(&[0u8; 16])?;
        w.attr_str(IFLA_IFNAME, name)
    }))
    .unwrap();
    let got = common::answers(c, seq);
    let found = got.iter().any(|d| {
        Messages::new(d)
            .flatten()
            .any(|m| m.seq() == seq && m.message_type() == RTM_NEWLINK)
    });
    if found {
        0
    } else {
        common::errno_of(&got, seq).expect("an answer")
    }
}

/// The `NLMSG_ERROR` for `seq` in `datagrams`: its errno and port.
fn error_of(datagrams: &[Vec<u8>], seq: u32) -> Option<(i32, u32)> {
    datagrams.iter().find_map(|d| {
        Messages::new(d).flatten().find_map(|m| match m.typed() {
            Ok(Message::Error(e)) if m.seq() == seq => Some((e.errno(), m.port())),
            _ => None,
        })
    })
}

/// The stack's state as a state file would keep it.
fn saved(stack: &Faulty) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    stack.save(&mut w).unwrap();
    w.into_inner()
}

#[test]
fn a_request_the_stack_panics_on_is_answered_eio_and_the_daemon_serves_on() {
    let dir = TempDir::new("panics");
    let path = dir.path().join("nlq.sock");
    let daemon = Daemon::bind(&path, Faulty::default(), Options::default())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let mut a = SocketClient::connect(&path).unwrap();
    // The request that panics, and one after it in the same datagram.
    a.send(&[new_link(7, BOOM), new_link(8, "after0")].concat())
        .unwrap();
    let got = common::answers(&mut a, 8);
    assert_eq!(
        error_of(&got, 7),
        Some((EIO, a.port())),
        "EIO, for the requester's port and sequence number"
    );
    assert_eq!(
        common::errno_of(&got, 8),
        Some(0),
        "the rest of the datagram"
    );
    // The same socket, next datagram.
    a.send(&new_link(9, "next0")).unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut a, 9), 9), Some(0));
    assert_eq!(get_link(&mut a, 10, BOOM), ENODEV);
    // It panics again, and again is answered.
    a.send(&new_link(11, BOOM)).unwrap();
    assert_eq!(
        error_of(&common::answers(&mut a, 11), 11),
        Some((EIO, a.port()))
    );
    // Another client.
    let mut h = SocketClient::handle(&path).unwrap();
    let br = h.link_add("br0", "bridge", &[], None).unwrap();
    assert_eq!(h.if_nametoindex("br0").unwrap(), br);
    assert!(h.if_nametoindex("next0").is_ok());
    assert!(h.if_nametoindex("after0").is_ok());
    // The daemon's loop never stopped: asked to, it stops with its stack.
    let stopped = daemon.stop().expect("the daemon served on");
    assert!(stopped
        .stack()
        .link(LinkKey::Name("after0"))
        .is_ok_and(|l| l.header.index != 0));
}

#[test]
fn a_change_cut_short_is_undone_and_the_state_file_keeps_what_was_acknowledged() {
    let dir = TempDir::new("panics-state");
    let path = dir.path().join("nlq.sock");
    let options = Options {
        state: Some(dir.path().join("state")),
        ..Options::default()
    };
    let daemon = Daemon::bind_with_state(&path, Faulty::default(), options.clone())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let mut monitor = SocketClient::connect(&path).unwrap();
    monitor
        .set_sockopt(SockOpt::AddMembership(RTNLGRP_LINK))
        .unwrap();
    let mut a = SocketClient::connect(&path).unwrap();
    a.send(&new_link(1, "first0")).unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut a, 1), 1), Some(0));
    // In one turn: a change acknowledged (its record not written yet),
    // then one cut short after the stack made the link.
    a.send(&[new_link(2, "keep0"), new_link(3, HALF)].concat())
        .unwrap();
    let got = common::answers(&mut a, 3);
    assert_eq!(common::errno_of(&got, 2), Some(0));
    assert_eq!(common::errno_of(&got, 3), Some(EIO));
    // What was acknowledged is served; the half-made link is not.
    assert_eq!(get_link(&mut a, 4, "first0"), 0);
    assert_eq!(get_link(&mut a, 5, "keep0"), 0);
    assert_eq!(get_link(&mut a, 6, HALF), ENODEV);
    a.send(&new_link(7, "later0")).unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut a, 7), 7), Some(0));
    // The monitor may have heard of the half-made link: it is told to
    // read the stack again, as after lost messages.
    let mut buf = Vec::new();
    let told = loop {
        match monitor.recv(&mut buf, Some(Duration::from_secs(10))) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(told.raw_os_error(), Some(ENOBUFS), "{told}");
    // The state restored at the next start is the one served.
    let _no_fork = NO_FORK.lock().unwrap_or_else(|e| e.into_inner());
    let stopped = daemon.stop().expect("the daemon served on");
    let served = saved(stopped.stack());
    drop(stopped);
    let again = Daemon::bind_with_state(&path, Faulty::default(), options).expect("restart");
    assert!(again.stack().link(LinkKey::Name("later0")).is_ok());
    assert!(again.stack().link(LinkKey::Name(HALF)).is_err());
    assert!(
        saved(again.stack()) == served,
        "the state restored differs from the one served"
    );
}

#[test]
fn a_control_request_the_stack_panics_on_is_answered_eio() {
    let dir = TempDir::new("panics-control");
    let path = dir.path().join("nlq.sock");
    let daemon = Daemon::bind(&path, Faulty::default(), Options::default())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let mut ctl = ControlClient::connect(&path).unwrap();
    let mut ifr = ifreq("lo");
    ifreq_set_int(&mut ifr, i32::try_from(BOOM_MTU).unwrap());
    let e = ctl.ioctl(SIOCSIFMTU, &ifr).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EIO), "{e}");
    // The same connection goes on.
    assert_eq!(
        ifreq_int(&ctl.ioctl(SIOCGIFMTU, &ifreq("lo")).unwrap()),
        65536
    );
    ifreq_set_int(&mut ifr, 1300);
    ctl.ioctl(SIOCSIFMTU, &ifr).unwrap();
    assert_eq!(
        ifreq_int(&ctl.ioctl(SIOCGIFMTU, &ifreq("lo")).unwrap()),
        1300
    );
    daemon.stop().expect("the daemon served on");
}

/// Run as a child process by `a_panic_is_logged_once_not_as_a_crash`.
#[test]
#[ignore = "a helper run as a child process by a_panic_is_logged_once_not_as_a_crash"]
fn child_serves_a_panicking_request() {
    let dir = TempDir::new("panics-log");
    let path = dir.path().join("nlq.sock");
    let daemon = Daemon::bind(&path, Faulty::default(), Options::default())
        .expect("bind")
        .spawn()
        .expect("spawn");
    let mut a = SocketClient::connect(&path).unwrap();
    a.send(&new_link(1, BOOM)).unwrap();
    assert_eq!(common::errno_of(&common::answers(&mut a, 1), 1), Some(EIO));
    daemon.stop().expect("the daemon served on");
}

#[test]
fn a_panic_is_logged_once_not_as_a_crash() {
    let _no_fork = NO_FORK.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_serves_a_panicking_request",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("nlq: the stack panicked on"))
        .collect();
    assert_eq!(logged.len(), 1, "{stderr}");
    let line = logged.first().copied().unwrap_or_default();
    for part in [
        "RTM_NEWLINK",
        "seq=1",
        "on purpose",
        "panics.rs:",
        "answered EIO",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    assert!(
        !stderr.contains("panicked at"),
        "printed as a crash: {stderr}"
    );
}
