//! Checking a new route as the kernel does, in the kernel's order and with
//! its errors: `fib_create_info` and `fib_check_nh` for IPv4,
//! `fib6_nh_init` and `ip6_validate_gw` for IPv6. The checks resolve each
//! next hop's link and mark the hops (and the route) `linkdown` when their
//! link has no carrier.

use std::net::{IpAddr, Ipv6Addr};

use nlq::errno::*;
use nlq::route_rules::{check_new_route4, is_reject};
use nlq::rule_rules::{pref, suppresses, RuleStep, RuleWalk};
use nlq::stack::{LinkKey, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::RouteRepr;

use crate::link::LOOPBACK_INDEX;
use crate::route::{Route, RouteKey, RTNH_F_LINKDOWN};
use crate::{DataPlane, MemStack};

fn fail(errno: i32, text: &'static str) -> StackError {
    StackError::with_message(errno, text)
}

/// A next hop as a request gives it: gateway, link, `RTNH_F_*` flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hop {
    pub gateway: Option<IpAddr>,
    pub oif: u32,
    pub flags: u32,
}

/// Checks each next hop of a multipath route with `check`, which gives
/// its link and whether it has no carrier; the route is `linkdown` when
/// all its hops are.
fn check_hops(
    r: &mut Route,
    unique: bool,
    mut check: impl FnMut(Hop) -> StackResult<(u32, bool)>,
) -> StackResult<()> {
    let Some(hops) = r.multipath.as_mut() else {
        return Ok(());
    };
    for i in 0..hops.len() {
        let (done, rest) = hops.split_at_mut(i);
        let Some(h) = rest.first_mut() else { break };
        let hop = Hop {
            gateway: h.gateway.or(h.via),
            oif: h.ifindex,
            flags: u32::from(h.flags),
        };
        let (oif, down) = check(hop)?;
        h.ifindex = oif;
        h.flags &= !(RTNH_F_LINKDOWN as u8);
        if down {
            h.flags |= RTNH_F_LINKDOWN as u8;
        }
        // IPv6 adds the hops one by one as siblings
        // (`ip6_route_info_append`): a hop given twice collides with the
        // first before later hops are looked at.
        let gw = h.gateway.or(h.via);
        if unique
            && done
                .iter()
                .any(|o| o.gateway.or(o.via) == gw && o.ifindex == h.ifindex)
        {
            return Err(StackError::new(EEXIST));
        }
    }
    if hops.iter().all(|h| h.flags & RTNH_F_LINKDOWN as u8 != 0) {
        r.flags |= RTNH_F_LINKDOWN;
    }
    Ok(())
}

impl<D: DataPlane> MemStack<D> {
    /// `fib_create_info`: checks `r` (made from `req`) and resolves its
    /// next hops.
    pub(crate) fn check_route4(&self, r: &mut Route, req: &RouteRepr) -> StackResult<()> {
        check_new_route4(req)?;
        if r.nh_id != 0 {
            self.route_through_nexthop(r)?;
        } else if is_reject(r.route_type) {
            return Ok(());
        } else {
            self.check_hops4(r, req.header.flags)?;
        }
        if let Some(src) = r.prefsrc {
            let own = r.route_type == RTN_LOCAL && r.dst == Some(src);
            if !own && self.addr_type4(src, r.table) != RTN_LOCAL {
                return Err(fail(EINVAL, "Invalid prefsrc address"));
            }
        }
        Ok(())
    }

    /// The next hops a route gives itself (`fib_create_info`).
    fn check_hops4(&self, r: &mut Route, rtm_flags: u32) -> StackResult<()> {
        if r.scope == RT_SCOPE_HOST {
            // A local address: a link that exists (up or not).
            let oif = match &r.multipath {
                Some(m) => m.first().map_or(0, |h| h.ifindex),
                None => r.oif,
            };
            if !self.links.contains_key(&oif) {
                return Err(StackError::new(ENODEV));
            }
        } else if r.multipath.is_some() {
            let (table, scope) = (r.table, r.scope);
            check_hops(r, false, |hop| self.check_nh4(hop, table, scope))?;
        } else {
            let hop = Hop {
                gateway: r.gateway,
                oif: r.oif,
                flags: rtm_flags,
            };
            let (oif, down) = self.check_nh4(hop, r.table, r.scope)?;
            r.oif = oif;
            if down {
                r.flags |= RTNH_F_LINKDOWN;
            }
        }
        Ok(())
    }

    /// `fib_check_nh`: the link a next hop leaves by, and whether it has
    /// no carrier.
    pub(crate) fn check_nh4(&self, hop: Hop, table: u32, scope: u8) -> StackResult<(u32, bool)> {
        let onlink = hop.flags & u32::from(RTNH_F_ONLINK) != 0;
        let Some(gw) = hop.gateway else {
            if onlink || hop.flags & u32::from(RTNH_F_PERVASIVE) != 0 {
                return Err(fail(
                    EINVAL,
                    "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set",
                ));
            }
            // A link without IPv4 (its MTU below 68) has no in_device.
            let link = self
                .links
                .get(&hop.oif)
                .filter(|l| l.inet4_dev)
                .ok_or(StackError::new(ENODEV))?;
            if !link.is_up() {
                return Err(fail(ENETDOWN, "Device for nexthop is not up"));
            }
            return Ok((hop.oif, !link.carrier));
        };
        if gw.is_ipv6() {
            // An IPv6 gateway (`RTA_VIA`): as IPv6 resolves it.
            let oif = self.validate_gw6(gw, hop.oif, onlink, table)?;
            return Ok((oif, self.linkdown(oif)));
        }
        if onlink {
            if scope >= RT_SCOPE_LINK {
                return Err(fail(EINVAL, "Nexthop has invalid scope"));
            }
            let link = self
                .links
                .get(&hop.oif)
                .ok_or(fail(ENODEV, "Nexthop device required for onlink"))?;
            if !link.is_up() {
                return Err(fail(ENETDOWN, "Nexthop device is not up"));
            }
            // `inet_addr_type_dev_table`: the link only picks the table.
            if self.addr_type4(gw, RT_TABLE_LOCAL) != RTN_UNICAST {
                return Err(fail(EINVAL, "Nexthop has invalid gateway"));
            }
            return Ok((hop.oif, !link.carrier));
        }
        // The gateway must be reachable by a route of a narrower scope
        // (directly, not through another gateway): in the route's table
        // first, then in local and main.
        let min_scope = scope.saturating_add(1).max(RT_SCOPE_LINK);
        let own_table = (table != RT_TABLE_MAIN)
            .then(|| self.lookup4(gw, &[table], hop.oif, min_scope))
            .and_then(Result::ok);
        let found = match own_table {
            Some(r) => r,
            None => self
                .fib_lookup4(gw, hop.oif, min_scope)
                .map_err(|e| fail(e, "Nexthop has invalid gateway"))?,
        };
        if found.route_type != RTN_UNICAST && found.route_type != RTN_LOCAL {
            return Err(fail(EINVAL, "Nexthop has invalid gateway"));
        }
        let dev = match &found.multipath {
            Some(m) => m.first().map_or(0, |h| h.ifindex),
            None => found.oif,
        };
        let link = self
            .links
            .get(&dev)
            .ok_or(fail(EINVAL, "No egress device for nexthop gateway"))?;
        if !link.is_up() {
            return Err(StackError::new(ENETDOWN));
        }
        Ok((dev, !link.carrier))
    }

    /// `fib_table_lookup` over `tables` (as one) for `addr`: the longest
    /// prefix, then the lowest metric, then the first; routes of a scope
    /// wider than `min_scope` do not count, nor, with `oif`, next hops
    /// through other links. A reject route answers with its errno.
    fn lookup4(
        &self,
        addr: IpAddr,
        tables: &[u32],
        oif: u32,
        min_scope: u8,
    ) -> Result<&Route, i32> {
        // An IPv6 next hop (`RTA_VIA`) is in no IPv4 table.
        let best = addr.is_ipv4().then(|| {
            self.longest_match(addr, tables, |r| {
                r.scope >= min_scope && (oif == 0 || is_reject(r.route_type) || r.uses(oif))
            })
        });
        let best = best.flatten();
        match best {
            Some(r) if r.route_type == RTN_THROW => Err(ENETUNREACH),
            Some(r) if r.route_type == RTN_UNREACHABLE => Err(EHOSTUNREACH),
            Some(r) if r.route_type == RTN_PROHIBIT => Err(EACCES),
            Some(r) if r.route_type == RTN_BLACKHOLE => Err(EINVAL),
            Some(r) => Ok(r),
            None => Err(ENETUNREACH),
        }
    }

    /// `fib_lookup` of `addr` (see [`lookup4`](Self::lookup4) for
    /// `oif` and `min_scope`): until a rule was added or deleted, local
    /// and main as one, then the default table if it exists; after, the
    /// rules in order.
    fn fib_lookup4(&self, addr: IpAddr, oif: u32, min_scope: u8) -> Result<&Route, i32> {
        if !self.rules.custom_rules(AF_INET) {
            let main = self.lookup4(addr, &[RT_TABLE_LOCAL, RT_TABLE_MAIN], oif, min_scope);
            if main.is_ok() || !self.tables.contains(&(AF_INET, RT_TABLE_DEFAULT)) {
                return main;
            }
            return self.lookup4(addr, &[RT_TABLE_DEFAULT], oif, min_scope);
        }
        let rules = self.rules.rules(AF_INET);
        let q = nlq::stack::lookup::RouteQuery {
            dst: addr,
            src: None,
            oif,
            mark: None,
        };
        let index_of = |n: &str| self.find_link(LinkKey::Name(n)).map(|l| l.index);
        let mut walk = RuleWalk::default();
        for r in rules {
            let resolved = r.goto.is_none_or(|t| rules.iter().any(|x| pref(x) == t));
            // `fib_check_nh_v4_gw` asks for no protocol.
            let table = match walk.step(r, resolved, &q, 0, &index_of) {
                RuleStep::Next => continue,
                RuleStep::Refuse(e) => return Err(e.get()),
                RuleStep::LookUp(table) => table,
            };
            match self.lookup4(addr, &[table], oif, min_scope) {
                // No route, or `throw`: on with the next rule.
                Err(ENETUNREACH) => continue,
                Err(e) => return Err(e),
                Ok(route) => {
                    let group = || self.links.get(&route.oif).map(|l| l.group);
                    if !suppresses(r, route.dst_len, &group) {
                        return Ok(route);
                    }
                }
            }
        }
        Err(ENETUNREACH)
    }

    /// `inet_addr_type_table` (`__inet_dev_addr_type` without a device):
    /// what `addr` is to this host, as the local table (and `table`, when
    /// another) says: local, broadcast, multicast, or unicast (anything
    /// else, and where the route found makes the lookup fail:
    /// unreachable, prohibit, blackhole, throw).
    pub(crate) fn addr_type4(&self, addr: IpAddr, table: u32) -> u8 {
        let IpAddr::V4(a) = addr else {
            return RTN_UNICAST;
        };
        // Without a local table, everything is "broadcast"
        // (`__inet_dev_addr_type` starts from it).
        if a.is_unspecified()
            || a.is_broadcast()
            || !self.tables.contains(&(AF_INET, RT_TABLE_LOCAL))
        {
            return RTN_BROADCAST;
        }
        if a.is_multicast() {
            return RTN_MULTICAST;
        }
        let type_of = |r: &Route| {
            if nlq::route_rules::is_reject(r.route_type) {
                RTN_UNICAST
            } else {
                r.route_type
            }
        };
        // The longest prefix, the table's own entries first, and the first
        // of those (a broadcast route goes before a local one for the same
        // address). The local table shares main's trie until a rule is
        // added or deleted: a lookup there sees main's routes too.
        let t = if table == RT_TABLE_MAIN {
            RT_TABLE_LOCAL
        } else {
            table
        };
        // The longest prefix there is: a route of the local table for
        // `a` alone decides (as the walk below would, at once).
        if t == RT_TABLE_LOCAL {
            let host = RouteKey::prefix_of(t, addr, 32);
            if let Some(r) = self.routes_at(&host).next() {
                return type_of(r);
            }
        }
        let merged = !self.rules.custom_rules(AF_INET);
        let kind = |t: u32| {
            self.routes_of(AF_INET).lengths().find_map(|len| {
                let first = |table| {
                    self.routes_at(&RouteKey::prefix_of(table, addr, len))
                        .next()
                };
                first(t)
                    .or_else(|| {
                        (t == RT_TABLE_LOCAL && merged)
                            .then(|| first(RT_TABLE_MAIN))
                            .flatten()
                    })
                    .map(type_of)
            })
        };
        match kind(t) {
            Some(RTN_LOCAL) => RTN_LOCAL,
            _ if t != RT_TABLE_LOCAL => kind(RT_TABLE_LOCAL).unwrap_or(RTN_UNICAST),
            k => k.unwrap_or(RTN_UNICAST),
        }
    }

    /// `fib6_nh_init` for `r` and each of its next hops, then the
    /// preferred source (`ip6_route_info_create`).
    pub(crate) fn check_route6(&self, r: &mut Route, rtm_flags: u32) -> StackResult<()> {
        if r.nh_id != 0 {
            return self.route_through_nexthop(r);
        }
        let onlink = rtm_flags & u32::from(RTNH_F_ONLINK) != 0;
        if r.multipath.is_some() {
            let (kind, table) = (r.route_type, r.table);
            check_hops(r, true, |hop| self.check_nh6(kind, hop, table))?;
        } else {
            let hop = Hop {
                gateway: r.gateway,
                oif: r.oif,
                flags: if onlink { u32::from(RTNH_F_ONLINK) } else { 0 },
            };
            let (oif, down) = self.check_nh6(r.route_type, hop, r.table)?;
            r.oif = oif;
            if is_reject(r.route_type) {
                // The gateway is never looked at.
                r.gateway = None;
            }
            if oif == LOOPBACK_INDEX && !matches!(r.route_type, RTN_LOCAL | RTN_ANYCAST) {
                // Through `lo`, promoted to a reject route: its flags,
                // the router preference with them, are replaced.
                r.pref = 0;
            }
            if down {
                r.flags |= RTNH_F_LINKDOWN;
            }
        }
        if let Some(src) = r.prefsrc {
            let dev = r
                .multipath
                .as_ref()
                .map_or(r.oif, |m| m.first().map_or(0, |h| h.ifindex));
            if !self.usable_source6(src, dev) {
                return Err(fail(EINVAL, "Invalid source address"));
            }
        }
        Ok(())
    }

    /// One IPv6 next hop: its link, and whether it has no carrier.
    pub(crate) fn check_nh6(&self, kind: u8, hop: Hop, table: u32) -> StackResult<(u32, bool)> {
        let dev = if hop.oif != 0 {
            // A link without IPv6 (its MTU below 1280) has no inet6_dev.
            let link = self
                .links
                .get(&hop.oif)
                .filter(|_| self.inet6(hop.oif))
                .ok_or(StackError::new(ENODEV))?;
            Some(link)
        } else {
            None
        };
        if hop.flags & u32::from(RTNH_F_ONLINK) != 0 {
            let link = dev.ok_or(fail(ENODEV, "Nexthop device required for onlink"))?;
            if !link.is_up() {
                return Err(fail(ENETDOWN, "Nexthop device is not up"));
            }
        }
        if is_reject(kind) {
            // Reject routes go through `lo`, whatever link was named.
            return Ok((LOOPBACK_INDEX, false));
        }
        let mut oif = hop.oif;
        if let Some(gw) = hop.gateway {
            oif = self.validate_gw6(
                gw,
                hop.oif,
                hop.flags & u32::from(RTNH_F_ONLINK) != 0,
                table,
            )?;
        }
        let link = self.links.get(&oif).ok_or(StackError::new(ENODEV))?;
        if !link.is_up() {
            return Err(fail(ENETDOWN, "Nexthop device is not up"));
        }
        let down = !matches!(kind, RTN_LOCAL | RTN_ANYCAST) && !link.carrier;
        Ok((oif, down))
    }

    /// `ip6_validate_gw`: the link a gateway is reached by.
    fn validate_gw6(&self, gw: IpAddr, oif: u32, onlink: bool, table: u32) -> StackResult<u32> {
        let IpAddr::V6(g) = gw else {
            return Err(fail(EINVAL, "Invalid gateway address"));
        };
        if oif != 0 && self.is_local6_for(gw, oif) {
            return Err(fail(EINVAL, "Gateway can not be a local address"));
        }
        let link_local = g.is_unicast_link_local();
        let mut dev = oif;
        if !link_local {
            if g.is_multicast() || g.is_unspecified() {
                return Err(fail(EINVAL, "Invalid gateway address"));
            }
            if onlink {
                self.check_onlink6(gw, oif)?;
            } else {
                dev = self.resolve_gateway6(gw, oif, table)?;
            }
        }
        if dev == 0 {
            return Err(fail(EINVAL, "Egress device not specified"));
        }
        if dev == LOOPBACK_INDEX {
            return Err(fail(
                EINVAL,
                "Egress device can not be loopback device for this route",
            ));
        }
        if oif == 0 && self.is_local6_for(gw, dev) {
            return Err(fail(EINVAL, "Gateway can not be a local address"));
        }
        Ok(dev)
    }

    /// `ipv6_chk_addr_and_flags` for link `dev`: `ip` is an address of
    /// that link, or one of global scope of any link.
    fn is_local6_for(&self, ip: IpAddr, dev: u32) -> bool {
        let narrow = matches!(ip, IpAddr::V6(a) if a.is_loopback() || a.is_unicast_link_local());
        self.addrs
            .iter()
            .any(|a| a.local == ip && (a.ifindex == dev || !narrow))
    }

    /// `ip6_route_check_nh_onlink`: a gateway said to be on the link must
    /// not be covered by a more specific route of another kind or link,
    /// in the main table whatever the route's (no VRF here).
    fn check_onlink6(&self, gw: IpAddr, oif: u32) -> StackResult<()> {
        let t = RT_TABLE_MAIN;
        // Only IPv6 routes can cover an IPv6 gateway.
        let best = gw.is_ipv6().then(|| self.longest_match(gw, &[t], |_| true));
        let best = best.flatten();
        if let Some(r) = best {
            if !is_reject(r.route_type)
                && r.dst_len != 0
                && (r.route_type != RTN_UNICAST || r.oif != oif)
            {
                return Err(fail(
                    EINVAL,
                    "Nexthop has invalid gateway or device mismatch",
                ));
            }
        }
        Ok(())
    }

    /// `ipv6_chk_addr`: `src` is a usable (not tentative) address of link
    /// `dev`, or one of global scope on another link.
    fn usable_source6(&self, src: IpAddr, dev: u32) -> bool {
        self.addrs.iter().any(|a| {
            a.local == src
                && a.flags & IFA_F_TENTATIVE == 0
                && (a.ifindex == dev
                    || matches!(a.local, IpAddr::V6(l) if !l.is_loopback() && !l.is_unicast_link_local() && l != Ipv6Addr::UNSPECIFIED))
        })
    }
}
