//! Routes: add, delete, dump (IPv4 and IPv6, tables, metrics, multipath).

use std::net::IpAddr;

use nlq::wire::{
    consts::*, FamilyHeader, NextHopList, NextHopRepr, RouteMessage, RouteRepr, RtMsg,
};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// One next hop of a multipath route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// Through this gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Out of this interface index (0: the stack chooses by the gateway).
    pub ifindex: u32,
    /// Its weight (1 to 256).
    pub weight: u16,
}

/// A route to add or delete. Build it with [`Route::to`] or
/// [`Route::default_via`], then the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination address (the prefix's network).
    pub dst: IpAddr,
    /// Destination prefix length; 0 for a default route.
    pub prefix_len: u8,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Table (default: main).
    pub table: u32,
    /// Metric (`RTA_PRIORITY`).
    pub metric: Option<u32>,
    /// Protocol (`RTPROT_*`, default boot as `ip` uses).
    pub protocol: u8,
    /// Scope (`RT_SCOPE_*`); `None`: link for routes without gateway, else
    /// universe, as `ip` chooses.
    pub scope: Option<u8>,
    /// Type (`RTN_*`, default unicast).
    pub route_type: u8,
    /// Next hops of a multipath route (replaces `gateway` / `oif`).
    pub multipath: Vec<NextHop>,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// Through this nexthop object (`RTA_NH_ID`, `ip route add … nhid N`;
    /// replaces `gateway`, `oif` and `multipath`).
    pub nhid: Option<u32>,
}

impl Route {
    /// A route to `dst/prefix_len`.
    pub fn to(dst: IpAddr, prefix_len: u8) -> Self {
        Route {
            dst,
            prefix_len,
            gateway: None,
            oif: None,
            table: RT_TABLE_MAIN,
            metric: None,
            protocol: RTPROT_BOOT,
            scope: None,
            route_type: RTN_UNICAST,
            multipath: Vec::new(),
            prefsrc: None,
            nhid: None,
        }
    }

    /// A default route through `gateway`.
    pub fn default_via(gateway: IpAddr) -> Self {
        let any = if gateway.is_ipv4() {
            IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
        };
        Route::to(any, 0).via(gateway)
    }

    /// Through `gateway`.
    pub fn via(mut self, gateway: IpAddr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Out of interface `index`.
    pub fn dev(mut self, index: u32) -> Self {
        self.oif = Some(index);
        self
    }

    /// In table `table`.
    pub fn table(mut self, table: u32) -> Self {
        self.table = table;
        self
    }

    /// With metric `metric`.
    pub fn metric(mut self, metric: u32) -> Self {
        self.metric = Some(metric);
        self
    }

    /// With protocol `protocol`.
    pub fn protocol(mut self, protocol: u8) -> Self {
        self.protocol = protocol;
        self
    }

    /// With scope `scope`.
    pub fn scope(mut self, scope: u8) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Of type `route_type` (`RTN_BLACKHOLE`, `RTN_UNREACHABLE`, ...).
    pub fn route_type(mut self, route_type: u8) -> Self {
        self.route_type = route_type;
        self
    }

    /// With these next hops (a multipath route).
    pub fn multipath(mut self, hops: Vec<NextHop>) -> Self {
        self.multipath = hops;
        self
    }

    /// Through nexthop object `id` (see [`crate::Nexthop`]): its next hops
    /// are the nexthop's, and follow it when it is replaced.
    pub fn nhid(mut self, id: u32) -> Self {
        self.nhid = Some(id);
        self
    }

    /// The repr sent for this route; `for_delete` leaves out what `ip route
    /// del` leaves out (scope and protocol are wildcards there).
    pub(crate) fn repr(&self, for_delete: bool) -> Result<RouteRepr> {
        crate::addr::check_prefix(&self.dst, self.prefix_len)?;
        let family_ok = |ip: &Option<IpAddr>| ip.is_none_or(|i| i.is_ipv4() == self.dst.is_ipv4());
        if !family_ok(&self.gateway) || !family_ok(&self.prefsrc) {
            return Err(Error::Invalid("addresses of different families"));
        }
        let mut r = RouteRepr::new(self.dst, self.prefix_len);
        r.dst = (self.prefix_len > 0).then_some(self.dst);
        let scope = match (self.scope, self.route_type) {
            (Some(s), _) => s,
            (None, RTN_LOCAL) => RT_SCOPE_HOST,
            (None, RTN_UNICAST)
                if self.gateway.is_none() && self.multipath.is_empty() && self.nhid.is_none() =>
            {
                RT_SCOPE_LINK
            }
            _ => RT_SCOPE_UNIVERSE,
        };
        let (table8, table32) = match u8::try_from(self.table) {
            Ok(t) => (t, None),
            Err(_) => (RT_TABLE_UNSPEC as u8, Some(self.table)),
        };
        r.header = RtMsg {
            table: table8,
            protocol: if for_delete {
                RTPROT_UNSPEC
            } else {
                self.protocol
            },
            scope: if for_delete { RT_SCOPE_NOWHERE } else { scope },
            route_type: self.route_type,
            ..r.header
        };
        r.table = table32.or((self.table != RT_TABLE_MAIN).then_some(self.table));
        r.gateway = self.gateway;
        r.oif = self.oif;
        r.priority = self.metric;
        r.prefsrc = self.prefsrc;
        r.nh_id = self.nhid;
        if !self.multipath.is_empty() {
            let mut list = NextHopList::default();
            for h in &self.multipath {
                // A weight from 1 to 256 is `rtnh_hops` 0 to 255.
                let hops = h.weight.checked_sub(1).and_then(|w| u8::try_from(w).ok());
                let Some(hops) = hops.filter(|_| family_ok(&h.gateway)) else {
                    return Err(Error::Invalid("bad next hop"));
                };
                list.push(NextHopRepr {
                    ifindex: h.ifindex,
                    hops,
                    gateway: h.gateway,
                    ..NextHopRepr::default()
                })
                .map_err(|_| Error::Invalid("too many next hops"))?;
            }
            r.multipath = Some(list);
        }
        Ok(r)
    }
}

impl<T: Transport> Handle<T> {
    /// Adds `route` (`iproute_add`): `RTM_NEWROUTE` with `NLM_F_CREATE |
    /// NLM_F_EXCL`.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::Route;
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_up(br, true)?;
    /// h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)?;
    /// h.route_add(&Route::default_via(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254))))?;
    /// h.route_add(&Route::to(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16).dev(br).table(100).metric(5))?;
    /// let far = Route::to(IpAddr::V4(Ipv4Addr::new(10, 8, 0, 0)), 16).via(IpAddr::V4(Ipv4Addr::new(172, 16, 0, 1)));
    /// assert_eq!(h.route_add(&far).unwrap_err().errno(), libc::ENETUNREACH);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn route_add(&mut self, route: &Route) -> Result<()> {
        self.route_new(route, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Adds `route` or replaces the one with the same destination, table
    /// and metric (`ip route replace`: `NLM_F_CREATE | NLM_F_REPLACE`).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::Route;
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_up(br, true)?;
    /// let r = Route::to(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16).dev(br);
    /// h.route_add(&r)?;
    /// assert_eq!(h.route_add(&r).unwrap_err().errno(), libc::EEXIST);
    /// h.route_replace(&r)?;
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn route_replace(&mut self, route: &Route) -> Result<()> {
        self.route_new(route, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Adds `route` after the existing ones with the same destination
    /// (`ip route append`: `NLM_F_CREATE | NLM_F_APPEND`).
    pub fn route_append(&mut self, route: &Route) -> Result<()> {
        self.route_new(route, NLM_F_CREATE | NLM_F_APPEND)
    }

    fn route_new(&mut self, route: &Route, flags: u16) -> Result<()> {
        let r = route.repr(false)?;
        self.request(RTM_NEWROUTE, flags, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Deletes `route` (`iproute_del`).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::Route;
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_up(br, true)?;
    /// let r = Route::to(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 0)), 16).dev(br);
    /// h.route_add(&r)?;
    /// h.route_del(&r)?;
    /// assert_eq!(h.route_del(&r).unwrap_err().errno(), libc::ESRCH);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn route_del(&mut self, route: &Route) -> Result<()> {
        let r = route.repr(true)?;
        self.request(RTM_DELROUTE, 0, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// The routes of `family` in `table` (`None`: every table), as reprs.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// use nlinline::wire::consts::{AF_INET, RT_TABLE_LOCAL};
    /// h.link_set_up("lo", true)?;
    /// let local = h.routes(AF_INET, Some(RT_TABLE_LOCAL))?;
    /// assert!(local.iter().any(|r| r.dst == Some(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn routes(&mut self, family: u8, table: Option<u32>) -> Result<Vec<RouteRepr>> {
        let (t8, t32) = match table.map(u8::try_from) {
            None => (0, None),
            Some(Ok(t)) => (t, None),
            Some(Err(_)) => (0, table),
        };
        let h = RtMsg {
            family,
            table: t8,
            ..RtMsg::default()
        };
        let body = |w: &mut nlq::wire::Writer<Vec<u8>>| {
            h.emit(w)?;
            match t32 {
                Some(t) => w.attr_u32(RTA_TABLE, t),
                None => Ok(()),
            }
        };
        self.dump(RTM_GETROUTE, body, |m| {
            let r = RouteRepr::parse(&RouteMessage::parse(m)?)?;
            // Not every stack filters (strict checking is optional).
            Ok(table.is_none_or(|t| r.table_id() == t).then_some(r))
        })
    }
}
