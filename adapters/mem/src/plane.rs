//! Plugging a stack under the engine: a [`DataPlane`] admits what it can
//! carry and mirrors what the engine decided.
//!
//! The engine ([`MemStack`]) owns the tables and applies the kernel's
//! rules; the data plane is the stack that forwards packets. It has two
//! jobs:
//!
//! - **admission**: refuse, before anything changes, what it cannot
//!   express (an errno and an extended-ACK text). The engine asks at the
//!   point where the kernel would commit the change, so every error the
//!   kernel gives first (`EEXIST`, `ENOENT`, an unreachable gateway, ...)
//!   still comes first;
//! - **mirroring**: apply each change of the tables ([`Change`]), the
//!   silent ones included (IPv4 routes flushed when a link goes down, the
//!   routes of a link's last address), to its own data plane.
//!
//! Its own changes (carrier, addresses from DHCP) go through the engine
//! like any request ([`MemStack::set_carrier`], [`Stack::add_addr`]), so
//! that subscribers hear of them.
//!
//! [`ConfigOnly`], the default, admits everything and mirrors nothing:
//! the in-memory stack.
//!
//! [`Stack::add_addr`]: nlq::stack::Stack::add_addr

use std::net::IpAddr;

use nlq::stack::{LinkChange, NewLink, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, HwAddr, IfName, LinkRepr, RouteRepr, RuleRepr};

use crate::addr::Addr;
use crate::link::Link;
use crate::route::Route;
use crate::MemStack;

/// A stack under the engine. Every method has a default: admit, mirror
/// nothing.
///
/// The admission methods are called with the engine as it is before the
/// change (read it through [`MemStack`]'s public methods, the plane
/// through [`MemStack::plane`]); an error is the request's answer and
/// nothing has changed.
pub trait DataPlane: Sized {
    /// A new link (`RTM_NEWLINK` with `NLM_F_CREATE`).
    fn admit_new_link(_engine: &MemStack<Self>, _link: &NewLink<'_>) -> StackResult<()> {
        Ok(())
    }

    /// Deleting link `index` (it exists).
    fn admit_del_link(_engine: &MemStack<Self>, _index: u32) -> StackResult<()> {
        Ok(())
    }

    /// A change of link `index` (it exists), before any of it is made.
    fn admit_link_change(
        _engine: &MemStack<Self>,
        _index: u32,
        _change: &LinkChange,
    ) -> StackResult<()> {
        Ok(())
    }

    /// A new address `req` (the link exists and has no such address yet:
    /// replacing one takes no admission).
    fn admit_addr(_engine: &MemStack<Self>, _req: &AddrRepr) -> StackResult<()> {
        Ok(())
    }

    /// A route change the kernel would make for `req`.
    fn admit_route(
        _engine: &MemStack<Self>,
        _change: RouteAdmission<'_>,
        _req: &RouteRepr,
    ) -> StackResult<()> {
        Ok(())
    }

    /// Deleting `route` (the route a delete request found).
    fn admit_route_del(_engine: &MemStack<Self>, _route: RouteRef<'_>) -> StackResult<()> {
        Ok(())
    }

    /// A policy rule about to be added (`added`) or deleted, after every
    /// check of the kernel passed: a plane that routes by destination
    /// alone refuses what would make it route otherwise.
    fn admit_rule(&self, _rule: &RuleRepr, _added: bool) -> StackResult<()> {
        Ok(())
    }

    /// Applies one change of the tables, after it was made.
    fn mirror(&mut self, _change: Change<'_>) {}

    /// What completes a link as dumps and notifications report it
    /// (counters of real traffic, ...): taken once per request, applied to
    /// each link reported.
    fn link_decorator(&self) -> impl Fn(&mut LinkRepr) + 'static {
        |_: &mut LinkRepr| {}
    }
}

/// Configuration only: every request the kernel would carry out is
/// carried out, and nothing forwards packets. The in-memory stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigOnly;

impl DataPlane for ConfigOnly {}

/// What a route request would do, for [`DataPlane::admit_route`].
#[derive(Debug, Clone, Copy)]
pub enum RouteAdmission<'a> {
    /// A new route (alone, or beside others of the same prefix with
    /// another metric or other nexthops).
    Insert(RouteRef<'a>),
    /// `new` takes the place of `old` (`NLM_F_REPLACE`).
    Replace {
        /// The route replaced.
        old: RouteRef<'a>,
        /// The route that takes its place.
        new: RouteRef<'a>,
    },
    /// IPv6: `new` joins `old`, a route of the same prefix and metric, as
    /// another route or as more nexthops of it (an ECMP sibling).
    Join {
        /// The route there.
        old: RouteRef<'a>,
        /// The route requested.
        new: RouteRef<'a>,
    },
}

/// One change of the tables, for [`DataPlane::mirror`]. More kinds of
/// change may come (neighbours, nexthops): a plane ignores what it does
/// not carry.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Change<'a> {
    /// A link was created, or changed (flags, carrier, MTU, address,
    /// name).
    Link(LinkRef<'a>),
    /// Link `index` is gone (its addresses and routes went before, each
    /// reported).
    LinkRemoved(u32),
    /// An address is in the table.
    AddrAdded(AddrRef<'a>),
    /// An address left the table.
    AddrRemoved(AddrRef<'a>),
    /// An address changed in place (flags: detection of duplicates over;
    /// metric, protocol).
    AddrReplaced {
        /// As it was.
        old: AddrRef<'a>,
        /// As it is.
        new: AddrRef<'a>,
    },
    /// A route is in the table.
    RouteAdded(RouteRef<'a>),
    /// A route left the table.
    RouteRemoved(RouteRef<'a>),
    /// A route changed in place (replaced, nexthops added or removed).
    RouteReplaced {
        /// As it was.
        old: RouteRef<'a>,
        /// As it is.
        new: RouteRef<'a>,
    },
    /// A policy rule is in the table (as a dump shows it).
    RuleAdded(&'a RuleRepr),
    /// A policy rule left the table.
    RuleRemoved(&'a RuleRepr),
}

/// A link of the engine, read-only.
#[derive(Debug, Clone, Copy)]
pub struct LinkRef<'a>(pub(crate) &'a Link);

impl<'a> LinkRef<'a> {
    /// Its interface index.
    pub fn index(&self) -> u32 {
        self.0.index
    }

    /// Its name.
    pub fn name(&self) -> &'a IfName {
        &self.0.name
    }

    /// Administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.0.is_up()
    }

    /// It has carrier.
    pub fn carrier(&self) -> bool {
        self.0.carrier
    }

    /// Its MTU.
    pub fn mtu(&self) -> u32 {
        self.0.mtu
    }

    /// Its hardware address.
    pub fn mac(&self) -> &'a HwAddr {
        &self.0.mac
    }

    /// The IPv6 link-local address it gets when it comes up (EUI-64 of
    /// its hardware address).
    pub fn link_local(&self) -> IpAddr {
        IpAddr::V6(nlq::prefix::eui64_link_local(self.0.mac.as_slice()))
    }

    /// The link as rtnetlink reports it.
    pub fn repr(&self) -> LinkRepr {
        self.0.repr()
    }
}

/// An address of the engine, read-only.
#[derive(Debug, Clone, Copy)]
pub struct AddrRef<'a>(pub(crate) &'a Addr);

impl AddrRef<'_> {
    /// The link it is on.
    pub fn index(&self) -> u32 {
        self.0.ifindex
    }

    /// The local address (`IFA_LOCAL`).
    pub fn local(&self) -> IpAddr {
        self.0.local
    }

    /// The peer (`IFA_ADDRESS`: the local address again without one).
    pub fn peer(&self) -> IpAddr {
        self.0.peer
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len
    }

    /// `IFA_F_*`.
    pub fn flags(&self) -> u32 {
        self.0.flags
    }

    /// Still in duplicate address detection (`IFA_F_TENTATIVE`): not
    /// usable yet.
    pub fn is_tentative(&self) -> bool {
        self.0.flags & IFA_F_TENTATIVE != 0
    }

    /// The address as rtnetlink reports it.
    pub fn repr(&self) -> AddrRepr {
        self.0.repr()
    }
}

/// A route of the engine, read-only.
#[derive(Debug, Clone, Copy)]
pub struct RouteRef<'a>(pub(crate) &'a Route);

impl RouteRef<'_> {
    /// `AF_INET` or `AF_INET6`.
    pub fn family(&self) -> u8 {
        self.0.family
    }

    /// Its table.
    pub fn table(&self) -> u32 {
        self.0.table
    }

    /// The destination prefix (the family's unspecified address for a
    /// default route) and its length.
    pub fn dst(&self) -> (IpAddr, u8) {
        let any = if self.0.family == AF_INET6 {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        };
        (self.0.dst.unwrap_or(any), self.0.dst_len)
    }

    /// `RTN_*`.
    pub fn route_type(&self) -> u8 {
        self.0.route_type
    }

    /// `RTPROT_*`: who added it (`RTPROT_KERNEL`: an address's route).
    pub fn protocol(&self) -> u8 {
        self.0.protocol
    }

    /// The metric.
    pub fn priority(&self) -> u32 {
        self.0.priority
    }

    /// TOS (IPv4).
    pub fn tos(&self) -> u8 {
        self.0.tos
    }

    /// The gateway of a single-nexthop route.
    pub fn gateway(&self) -> Option<IpAddr> {
        self.0.gateway
    }

    /// The link of a single-nexthop route (0: none).
    pub fn oif(&self) -> u32 {
        self.0.oif
    }

    /// It has several nexthops (`RTA_MULTIPATH`).
    pub fn is_multipath(&self) -> bool {
        self.0.multipath.is_some()
    }

    /// The preferred source.
    pub fn prefsrc(&self) -> Option<IpAddr> {
        self.0.prefsrc
    }

    /// The route as rtnetlink reports it.
    pub fn repr(&self) -> RouteRepr {
        MemStack::<ConfigOnly>::repr_of(self.0)
    }
}

#[cfg(test)]
mod tests {
    use nlq::errno::EOPNOTSUPP;
    use nlq::stack::{Stack, StackError};

    use super::*;
    use crate::DeviceLink;

    /// Refuses renames, counts what it is told.
    #[derive(Default)]
    struct NoRename {
        changes: usize,
    }

    impl DataPlane for NoRename {
        fn admit_link_change(_: &MemStack<Self>, _: u32, change: &LinkChange) -> StackResult<()> {
            match change.name {
                Some(_) => Err(StackError::with_message(EOPNOTSUPP, "no renames")),
                None => Ok(()),
            }
        }

        fn mirror(&mut self, _: Change<'_>) {
            self.changes += 1;
        }
    }

    fn device() -> DeviceLink {
        DeviceLink {
            index: 7,
            name: IfName::try_from_str("eth0").unwrap(),
            mac: [2, 0, 0, 0, 0, 7],
            mtu: 1500,
            max_mtu: 9000,
        }
    }

    #[test]
    fn a_refused_link_change_changes_nothing() {
        let mut s = MemStack::bare(NoRename::default());
        s.attach(device()).unwrap();
        let told = s.plane().changes;
        let change = LinkChange {
            mtu: Some(1400),
            name: IfName::try_from_str("eth9"),
            ..LinkChange::default()
        };
        let mut events = 0;
        let e = s.set_link(7, &change, &mut |_| events += 1).unwrap_err();
        assert_eq!((e.errno.get(), e.message), (EOPNOTSUPP, Some("no renames")));
        assert_eq!(events, 0);
        assert_eq!(s.link_of(7).map(|l| l.mtu()), Some(1500));
        let mtu = LinkChange {
            mtu: Some(9000),
            ..LinkChange::default()
        };
        s.set_link(7, &mtu, &mut |_| {}).unwrap();
        assert!(s.plane().changes > told);
        let over = LinkChange {
            mtu: Some(9001),
            ..LinkChange::default()
        };
        assert!(s.set_link(7, &over, &mut |_| {}).is_err());
    }

    #[test]
    fn the_link_local_address_is_eui64() {
        let mut s = MemStack::bare(ConfigOnly);
        let link = DeviceLink {
            mac: [0x02, 0, 0, 0, 0, 1],
            ..device()
        };
        let ll = s.attach(link).unwrap().link_local();
        assert_eq!(ll, "fe80::ff:fe00:1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_device_link_survives_its_tables() {
        let mut s = MemStack::new();
        s.attach(device()).unwrap();
        assert!(s.attach(device()).is_err(), "the index is taken");
        let t = s.tables();
        let r = MemStack::from_tables(&t).unwrap();
        assert_eq!(r.tables(), t);
        let l = r.link_of(7).unwrap().repr();
        assert!(l.info.is_none());
        assert_eq!(l.details.max_mtu, Some(9000));
    }
}
