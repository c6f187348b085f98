//! Writing the answer to `ip route get` in the kernel's attribute order,
//! which differs from a FIB entry's.

use crate::wire::consts::*;
use crate::wire::{Buffer, FamilyHeader, RouteRepr, Writer};

/// `struct rta_cacheinfo`: use counts and expiry, zero for a fresh path.
const CACHEINFO: [u8; 32] = [0; 32];

/// Appends the answer `r` (from [`crate::stack::lookup::route_get`]) for a task
/// of user `uid`: IPv4 as `rt_fill_info` writes it (table, destination,
/// source, output link, preferred source, gateway, metrics, mark, uid,
/// cache info), IPv6 as `rt6_fill_node` (table, destination, source,
/// preferred source, metrics, priority, gateway, output link, cache info,
/// preference).
pub(super) fn emit<B: Buffer>(
    w: &mut Writer<B>,
    r: &RouteRepr,
    uid: u32,
) -> crate::wire::Result<()> {
    r.header.emit(w)?;
    if let Some(t) = r.table {
        w.attr_u32(RTA_TABLE, t)?;
    }
    if let Some(ip) = r.dst {
        w.attr_ip(RTA_DST, ip)?;
    }
    if let Some(ip) = r.src {
        w.attr_ip(RTA_SRC, ip)?;
    }
    if r.header.family == AF_INET6 {
        if let Some(ip) = r.prefsrc {
            w.attr_ip(RTA_PREFSRC, ip)?;
        }
        if let Some(m) = &r.metrics {
            m.emit(w)?;
        }
        if let Some(v) = r.priority {
            w.attr_u32(RTA_PRIORITY, v)?;
        }
        if let Some(ip) = r.gateway {
            w.attr_ip(RTA_GATEWAY, ip)?;
        }
        if let Some(v) = r.oif {
            w.attr_u32(RTA_OIF, v)?;
        }
        w.attr(RTA_CACHEINFO, &CACHEINFO)?;
        if let Some(v) = r.pref {
            w.attr_u8(RTA_PREF, v)?;
        }
        return Ok(());
    }
    if let Some(v) = r.oif {
        w.attr_u32(RTA_OIF, v)?;
    }
    if let Some(ip) = r.prefsrc {
        w.attr_ip(RTA_PREFSRC, ip)?;
    }
    if let Some(ip) = r.gateway {
        w.attr_ip(RTA_GATEWAY, ip)?;
    }
    if let Some(m) = &r.metrics {
        m.emit(w)?;
    }
    if let Some(v) = r.mark {
        w.attr_u32(RTA_MARK, v)?;
    }
    w.attr_u32(RTA_UID, uid)?;
    w.attr(RTA_CACHEINFO, &CACHEINFO)
}
