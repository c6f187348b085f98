//! Nexthop objects: `ip nexthop add`, `replace`, `del`, `show`.

use std::net::IpAddr;

use nlq::wire::{
    consts::*, FamilyHeader, GroupList, GroupMember, NexthopMessage, NexthopRepr, NhMsg,
};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// A nexthop object to add, built like an `ip nexthop` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nexthop {
    repr: NexthopRepr,
}

impl Nexthop {
    fn new(id: u32) -> Self {
        Nexthop {
            repr: NexthopRepr {
                header: NhMsg {
                    protocol: RTPROT_BOOT,
                    ..NhMsg::default()
                },
                id: Some(id),
                ..NexthopRepr::default()
            },
        }
    }

    /// `id ID via GATEWAY`: the family is the gateway's.
    pub fn via(id: u32, gateway: IpAddr) -> Self {
        let mut n = Nexthop::new(id);
        n.repr.header.family = if gateway.is_ipv4() { AF_INET } else { AF_INET6 };
        n.repr.gateway = Some(gateway);
        n
    }

    /// `id ID dev LINK`: a nexthop on a link, IPv4 unless given
    /// otherwise by [`Nexthop::family`].
    pub fn on_link(id: u32, index: u32) -> Self {
        let mut n = Nexthop::new(id);
        n.repr.header.family = AF_INET;
        n.repr.oif = Some(index);
        n
    }

    /// `id ID blackhole`, IPv4 unless given otherwise by
    /// [`Nexthop::family`] (the kernel wants a family for all but groups).
    pub fn blackhole(id: u32) -> Self {
        let mut n = Nexthop::new(id);
        n.repr.header.family = AF_INET;
        n.repr.blackhole = true;
        n
    }

    /// `id ID group A[/WEIGHT],B[/WEIGHT]...`: the members' ids, each
    /// with its weight (1 to 65,535).
    pub fn group(id: u32, members: &[(u32, u32)]) -> Result<Self> {
        let mut n = Nexthop::new(id);
        let mut list = GroupList::default();
        for &(id, weight) in members {
            if !(1..=65_535).contains(&weight) {
                return Err(Error::Invalid("a group member's weight is 1 to 65535"));
            }
            list.push(GroupMember { id, weight })
                .map_err(|_| Error::Invalid("too many group members"))?;
        }
        n.repr.group = Some(list);
        Ok(n)
    }

    /// `dev LINK` for a gateway.
    pub fn dev(mut self, index: u32) -> Self {
        self.repr.oif = Some(index);
        self
    }

    /// The address family of a nexthop on a link or a blackhole.
    pub fn family(mut self, family: u8) -> Self {
        self.repr.header.family = family;
        self
    }

    /// `proto PROTOCOL` (`RTPROT_BOOT` unless given, as `ip` sends it).
    pub fn protocol(mut self, protocol: u8) -> Self {
        self.repr.header.protocol = protocol;
        self
    }

    /// `onlink`: the gateway is on the link whatever the routes say.
    pub fn onlink(mut self) -> Self {
        self.repr.header.flags |= u32::from(RTNH_F_ONLINK);
        self
    }

    /// The request's repr.
    pub fn repr(&self) -> &NexthopRepr {
        &self.repr
    }
}

impl<T: Transport> Handle<T> {
    /// Adds a nexthop object (`EEXIST` when its id is taken).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// use nlinline::Nexthop;
    /// let mut h = nlinline::Handle::kernel()?;
    /// // A blackhole nexthop sits on `lo`, which must be up.
    /// h.link_set_up("lo", true)?;
    /// h.nexthop_add(&Nexthop::blackhole(7))?;
    /// assert_eq!(h.nexthops()?[0].id, Some(7));
    /// h.nexthop_del(7)?;
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn nexthop_add(&mut self, nh: &Nexthop) -> Result<()> {
        self.request(
            RTM_NEWNEXTHOP,
            NLM_F_CREATE | NLM_F_EXCL,
            |w| nh.repr.emit(w),
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Adds or replaces a nexthop object (`ip nexthop replace`).
    pub fn nexthop_replace(&mut self, nh: &Nexthop) -> Result<()> {
        self.request(
            RTM_NEWNEXTHOP,
            NLM_F_CREATE | NLM_F_REPLACE,
            |w| nh.repr.emit(w),
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Deletes nexthop object `id`, and the routes that use it.
    pub fn nexthop_del(&mut self, id: u32) -> Result<()> {
        let r = NexthopRepr {
            id: Some(id),
            ..NexthopRepr::default()
        };
        self.request(RTM_DELNEXTHOP, 0, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Every nexthop object, as reprs.
    pub fn nexthops(&mut self) -> Result<Vec<NexthopRepr>> {
        let h = NhMsg::default();
        self.dump(
            RTM_GETNEXTHOP,
            |w| h.emit(w),
            |m| Ok(Some(NexthopRepr::parse(&NexthopMessage::parse(m)?)?)),
        )
    }
}
