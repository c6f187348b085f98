//! Admission: what smoltcp cannot express is refused before the engine
//! changes anything, with `EOPNOTSUPP` (or `ENOBUFS` for a full table,
//! `EINVAL` for what smoltcp would panic on) and a text that says why.

use std::net::IpAddr;

use nlq::errno::*;
use nlq::stack::{StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, RouteRepr};
use nlq_mem::{DataPlane, MemStack, RouteAdmission, RouteRef};

use crate::sync::Held;

/// How much of each table smoltcp can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `IFACE_MAX_ADDR_COUNT`.
    pub addrs: usize,
    /// `IFACE_MAX_ROUTE_COUNT`.
    pub routes: usize,
}

fn refuse(text: &'static str) -> StackError {
    StackError::with_message(EOPNOTSUPP, text)
}

/// A unicast address as smoltcp counts them (it panics on the others).
fn smoltcp_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_broadcast() || a.is_multicast() || a.is_unspecified()),
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

/// A new address on link `index`: one smoltcp treats as Linux does (no
/// peer, its prefix on-link, no zero network, the subnet's broadcast), in
/// a table with room for it and for the IPv6 link-local address the link
/// gets when it comes up.
pub(crate) fn addr<P: DataPlane>(
    engine: &MemStack<P>,
    index: u32,
    held: &Held,
    limits: Limits,
    req: &AddrRepr,
) -> StackResult<()> {
    let local = req.local.or(req.address).ok_or(StackError::new(EINVAL))?;
    let peer = req.address.unwrap_or(local);
    let flags = req.flags.unwrap_or(u32::from(req.header.flags));
    if local.is_ipv4() && !smoltcp_unicast(&local) {
        return Err(StackError::with_message(
            EINVAL,
            "smoltcp: an address must be unicast",
        ));
    }
    if peer != local {
        return Err(refuse("smoltcp: no point-to-point peer addresses"));
    }
    if flags & IFA_F_NOPREFIXROUTE != 0 {
        return Err(refuse(
            "smoltcp: an address's prefix is always on-link (no noprefixroute)",
        ));
    }
    if let IpAddr::V4(l) = local {
        let l = u32::from(l);
        let mask = u32::MAX
            .checked_shl(32 - u32::from(req.header.prefix_len.min(32)))
            .unwrap_or(0);
        if l & mask == 0 {
            // Linux makes no route for a zero network; smoltcp would reach
            // the whole prefix (for /0, everything) on-link.
            return Err(refuse(
                "smoltcp: an address in the zero network would make all of it on-link",
            ));
        }
        if let Some(IpAddr::V4(b)) = req.broadcast {
            let (b, subnet) = (u32::from(b), (l & mask) | !mask);
            if b != u32::MAX && !(req.header.prefix_len < 31 && b == subnet) {
                return Err(refuse("smoltcp: the broadcast address is the subnet's"));
            }
        }
    }
    let link = engine.link_of(index).ok_or(StackError::new(ENODEV))?;
    let ll = link.link_local();
    let reserve = usize::from(!held.has_link_local(&ll) && ll != local);
    // The engine holds this link only: its addresses are all here.
    if engine.addr_count() + reserve + 1 > limits.addrs {
        return Err(StackError::with_message(
            ENOBUFS,
            "smoltcp: the interface's address table is full (IFACE_MAX_ADDR_COUNT)",
        ));
    }
    Ok(())
}

/// A route smoltcp holds: unicast, main table, via a gateway.
fn is_gateway(r: &RouteRef<'_>) -> bool {
    r.table() == RT_TABLE_MAIN && r.route_type() == RTN_UNICAST && r.gateway().is_some()
}

/// What smoltcp can express of a route: unicast via a unicast gateway of
/// its family, in the main table, nothing else.
fn expressible(r: &RouteRef<'_>, req: &RouteRepr) -> StackResult<()> {
    if req.multipath.is_some() || r.is_multipath() {
        return Err(refuse("smoltcp: no multipath routes"));
    }
    if r.table() != RT_TABLE_MAIN {
        return Err(refuse("smoltcp: one routing table (main)"));
    }
    if r.route_type() != RTN_UNICAST {
        return Err(refuse("smoltcp: unicast routes only"));
    }
    let Some(gw) = r.gateway() else {
        return Err(refuse(
            "smoltcp: a route needs a gateway (only the prefixes of the addresses are on-link)",
        ));
    };
    if gw.is_ipv4() != (r.family() == AF_INET) {
        return Err(refuse("smoltcp: the gateway must be of the route's family"));
    }
    if !smoltcp_unicast(&gw) {
        return Err(StackError::with_message(
            EINVAL,
            "Nexthop has invalid gateway",
        ));
    }
    if r.tos() != 0 {
        return Err(refuse("smoltcp: no TOS routing"));
    }
    if req.metrics.is_some() {
        return Err(refuse("smoltcp: no route metrics (RTA_METRICS)"));
    }
    if req.prefsrc.is_some() {
        return Err(refuse(
            "smoltcp: chooses the source address itself (no preferred source)",
        ));
    }
    if req.src.is_some() || req.header.src_len != 0 {
        return Err(refuse("smoltcp: no source routing"));
    }
    if req.expires.is_some() {
        return Err(refuse("smoltcp: no route expiry"));
    }
    Ok(())
}

/// A route change: one smoltcp can express, one route per destination
/// prefix (smoltcp has no metrics), room in its table; only the routes
/// smoltcp holds can be replaced (the others follow the addresses).
pub(crate) fn route<P: DataPlane>(
    engine: &MemStack<P>,
    held_routes: usize,
    limits: Limits,
    change: RouteAdmission<'_>,
    req: &RouteRepr,
) -> StackResult<()> {
    match change {
        RouteAdmission::Insert(new) => {
            expressible(&new, req)?;
            let (dst, len) = new.dst();
            if engine
                .routes_to(new.family(), new.table(), dst, len)
                .any(|o| is_gateway(&o))
            {
                return Err(refuse(
                    "smoltcp: one route per destination prefix (it has no metrics)",
                ));
            }
            if held_routes >= limits.routes {
                return Err(StackError::with_message(
                    ENOBUFS,
                    "smoltcp: the interface's route table is full (IFACE_MAX_ROUTE_COUNT)",
                ));
            }
            Ok(())
        }
        RouteAdmission::Replace { old, new } => {
            expressible(&new, req)?;
            if !is_gateway(&old) {
                return Err(refuse(
                    "smoltcp: the routes of an address cannot be replaced (they follow the address)",
                ));
            }
            Ok(())
        }
        RouteAdmission::Join { old, new } => {
            expressible(&new, req)?;
            let ecmp = old.gateway().is_some() && old.protocol() != RTPROT_KERNEL;
            Err(refuse(if ecmp {
                "smoltcp: no multipath routes (a second gateway for the prefix and metric)"
            } else {
                "smoltcp: one route per destination prefix (it has no metrics)"
            }))
        }
    }
}

/// A route to delete: only one smoltcp holds (the others follow the
/// addresses).
pub(crate) fn route_del(route: &RouteRef<'_>) -> StackResult<()> {
    if is_gateway(route) {
        Ok(())
    } else {
        Err(refuse(
            "smoltcp: the routes of an address cannot be deleted (they follow the address)",
        ))
    }
}
