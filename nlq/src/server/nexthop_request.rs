//! Nexthop objects (`RTM_*NEXTHOP`, `net/ipv4/nexthop.c`): the requests
//! checked as the kernel checks them (always strictly) before anything is
//! looked up in the stack, and the filters of a dump.

use crate::errno::{EINVAL, EOPNOTSUPP};
use crate::wire::consts::*;
use crate::wire::{FamilyHeader, GroupList, GroupMember, NexthopRepr, NhMsg, NlMsg};

use super::request::{attrs_at, Checked, Failure};

/// `NEXTHOP_GRP_TYPE_RES`: a resilient group.
const GRP_TYPE_RES: u16 = 1;
/// The `nh_flags` a request may set (`NEXTHOP_VALID_USER_FLAGS`).
const VALID_USER_FLAGS: u32 = RTNH_F_ONLINK as u32;
/// The operation flags a GET may ask for (`NHA_OP_FLAGS_DUMP_ALL`).
const OP_FLAGS_ALL: u32 = 0x3;

fn failure(message: &'static str) -> Failure {
    Failure::new(EINVAL, message)
}

/// `EINVAL` with `message`, naming the attribute at `offset`.
fn at(message: &'static str, offset: usize) -> Failure {
    Failure {
        errno: EINVAL,
        message: Some(message),
        offset: u32::try_from(offset).ok(),
    }
}

/// The header and attributes of a nexthop request; `EINVAL` "Invalid
/// header length" for a body shorter than `nhmsg`.
fn parts<'a>(msg: &NlMsg<'a>) -> Checked<(NhMsg, &'a [u8])> {
    NhMsg::parse(msg.payload()).map_err(|_| failure("Invalid header length"))
}

/// Scope, protocol, the reserved byte and the flags (`nh_family` is not
/// looked at).
fn header_set(h: &NhMsg) -> bool {
    h.scope != 0 || h.protocol != 0 || h.resvd != 0 || h.flags != 0
}

/// The exact size of a fixed-size attribute in a policy (`nla_attr_len`),
/// 0 for a flag, `None` for what has no fixed size.
fn fixed_len(kind: u16) -> Option<usize> {
    match kind {
        NHA_ID | NHA_OIF | NHA_MASTER | NHA_OP_FLAGS | NHA_HW_STATS_ENABLE => Some(4),
        NHA_GROUP_TYPE | NHA_ENCAP_TYPE => Some(2),
        NHA_BLACKHOLE | NHA_FDB | NHA_GROUPS => Some(0),
        _ => None,
    }
}

/// A strict parse (`nlmsg_parse` with `NL_VALIDATE_STRICT`) of `attrs`
/// against a policy of the types `allowed` up to `max`: each attribute
/// with its offset, or the first error the kernel would give.
fn strict<'a>(
    attrs: &'a [u8],
    max: u16,
    allowed: &[u16],
) -> Checked<impl Iterator<Item = (usize, crate::wire::Attr<'a>)> + 'a> {
    for (offset, a) in attrs_at(attrs, NLMSG_HDRLEN + NHMSG_LEN) {
        let Ok(a) = a else {
            return Err(failure("bytes leftover after parsing attributes"));
        };
        let kind = a.attr_type();
        if kind == 0 || kind > max {
            return Err(at("Unknown attribute type", offset));
        }
        if !allowed.contains(&kind) {
            return Err(at("Unsupported attribute", offset));
        }
        match fixed_len(kind) {
            Some(0) if !a.value().is_empty() => {
                return Err(at("Attribute failed policy validation", offset))
            }
            Some(n) if n != 0 && a.value().len() != n => {
                return Err(at("invalid attribute length", offset))
            }
            _ => {}
        }
    }
    Ok(attrs_at(attrs, NLMSG_HDRLEN + NHMSG_LEN).filter_map(|(o, a)| a.ok().map(|a| (o, a))))
}

fn u32_of(a: &crate::wire::Attr<'_>) -> u32 {
    a.u32().unwrap_or(0)
}

/// Filters of a nexthop dump (`nh_valid_dump_req`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NexthopFilter {
    /// `nh_family`: single nexthops of this family only (0: all).
    pub family: u8,
    /// `NHA_OIF`: single nexthops through this link only.
    pub oif: u32,
    /// `NHA_MASTER`: single nexthops through a port of this link only.
    pub master: u32,
    /// `NHA_GROUPS`: groups only.
    pub groups: bool,
}

impl NexthopFilter {
    /// `nh_dump_filtered` says to keep `nh`; `master_of` gives a link's
    /// master (0: none). A blackhole goes through `lo`.
    pub fn keeps(&self, nh: &NexthopRepr, master_of: impl Fn(u32) -> u32) -> bool {
        let group = nh.group.is_some();
        if self.groups && !group {
            return false;
        }
        if self.oif == 0 && self.master == 0 && self.family == 0 {
            return true;
        }
        if group || nh.fdb {
            return false;
        }
        if self.family != 0 && nh.header.family != self.family {
            return false;
        }
        let dev = if nh.blackhole { 1 } else { nh.oif.unwrap_or(0) };
        if self.oif != 0 && dev != self.oif {
            return false;
        }
        self.master == 0 || (dev != 0 && master_of(dev) == self.master)
    }
}

/// Checks a nexthop dump request (`nh_valid_dump_req`, always strict) and
/// reads its filters.
pub(crate) fn nexthop_dump(msg: &NlMsg<'_>) -> Checked<NexthopFilter> {
    let (h, attrs) = parts(msg)?;
    let allowed = [NHA_OIF, NHA_GROUPS, NHA_MASTER, NHA_FDB, NHA_OP_FLAGS];
    let attrs = strict(attrs, NHA_OP_FLAGS, &allowed)?;
    if header_set(&h) {
        return Err(failure("Invalid values in header for nexthop dump request"));
    }
    let mut f = NexthopFilter {
        family: h.family,
        ..NexthopFilter::default()
    };
    for (_, a) in attrs {
        match a.attr_type() {
            NHA_OIF => {
                f.oif = u32_of(&a);
                if f.oif > i32::MAX as u32 {
                    return Err(failure("Invalid device index"));
                }
            }
            NHA_MASTER => {
                f.master = u32_of(&a);
                if f.master > i32::MAX as u32 {
                    return Err(failure("Invalid master device index"));
                }
            }
            NHA_GROUPS => f.groups = true,
            _ => {}
        }
    }
    Ok(f)
}

/// The id a GET or DEL names (`nh_valid_get_del_req`): the header clear,
/// the id present and not 0.
fn get_del_id(msg: &NlMsg<'_>, max: u16, allowed: &[u16]) -> Checked<u32> {
    let (h, attrs) = parts(msg)?;
    let mut id = None;
    for (offset, a) in strict(attrs, max, allowed)? {
        match a.attr_type() {
            NHA_ID => id = Some(u32_of(&a)),
            NHA_OP_FLAGS if u32_of(&a) & !OP_FLAGS_ALL != 0 => {
                return Err(at("reserved bit set", offset))
            }
            _ => {}
        }
    }
    if header_set(&h) {
        return Err(failure("Invalid values in header"));
    }
    match id {
        None => Err(failure("Nexthop id is missing")),
        Some(0) => Err(failure("Invalid nexthop id")),
        Some(id) => Ok(id),
    }
}

/// `RTM_GETNEXTHOP` of one id: the id (then `ENOENT`, without text, when
/// no nexthop has it).
pub(crate) fn nexthop_get(msg: &NlMsg<'_>) -> Checked<u32> {
    get_del_id(msg, NHA_OP_FLAGS, &[NHA_ID, NHA_OP_FLAGS])
}

/// `RTM_DELNEXTHOP`: the id (its policy knows nothing else).
pub(crate) fn nexthop_del(msg: &NlMsg<'_>) -> Checked<u32> {
    get_del_id(msg, NHA_ID, &[NHA_ID])
}

/// `RTM_NEWNEXTHOP` checked as `rtm_to_nh_config` checks it, in its
/// order, with the flags of the message: everything but what needs the
/// stack (the links, the members of a group, the id taken). An absent id
/// is 0 (the stack picks one).
pub(crate) fn nexthop_new(msg: &NlMsg<'_>) -> Checked<NexthopRepr> {
    let (h, attrs) = parts(msg)?;
    let allowed = [
        NHA_ID,
        NHA_GROUP,
        NHA_GROUP_TYPE,
        NHA_BLACKHOLE,
        NHA_OIF,
        NHA_GATEWAY,
        NHA_ENCAP_TYPE,
        NHA_ENCAP,
        NHA_FDB,
        NHA_RES_GROUP,
        NHA_HW_STATS_ENABLE,
    ];
    let mut given: [Option<&[u8]>; NHA_HW_STATS_ENABLE as usize + 1] = Default::default();
    for (_, a) in strict(attrs, NHA_HW_STATS_ENABLE, &allowed)? {
        if let Some(slot) = given.get_mut(usize::from(a.attr_type())) {
            *slot = Some(a.value());
        }
    }
    let has = |k: u16| given.get(usize::from(k)).copied().flatten();
    if h.resvd != 0 || h.scope != 0 {
        return Err(failure("Invalid values in ancillary header"));
    }
    if h.flags & !VALID_USER_FLAGS != 0 {
        return Err(failure("Invalid nexthop flags in ancillary header"));
    }
    match h.family {
        AF_INET | AF_INET6 => {}
        AF_UNSPEC if has(NHA_GROUP).is_some() => {}
        _ => return Err(failure("Invalid address family")),
    }
    let u32_at = |k: u16| {
        has(k)
            .and_then(|v| v.first_chunk::<4>())
            .map(|b| u32::from_ne_bytes(*b))
    };
    let mut r = NexthopRepr {
        header: h,
        id: Some(u32_at(NHA_ID).unwrap_or(0)),
        ..NexthopRepr::default()
    };
    let fdb = has(NHA_FDB).is_some();
    if fdb {
        let with = [NHA_OIF, NHA_BLACKHOLE, NHA_ENCAP, NHA_ENCAP_TYPE];
        if with.iter().any(|k| has(*k).is_some()) {
            return Err(failure(
                "Fdb attribute can not be used with encap, oif or blackhole",
            ));
        }
        if h.flags != 0 {
            return Err(failure("Unsupported nexthop flags in ancillary header"));
        }
        r.fdb = true;
    }
    if let Some(g) = has(NHA_GROUP) {
        if h.family != AF_UNSPEC {
            return Err(failure("Invalid family for group"));
        }
        let kind = has(NHA_GROUP_TYPE)
            .and_then(|v| v.first_chunk::<2>())
            .map_or(0, |b| u16::from_ne_bytes(*b));
        if kind > GRP_TYPE_RES {
            return Err(failure("Invalid group type"));
        }
        r.group_type = Some(kind);
        r.group = Some(group_members(g)?);
        let group_attrs = [
            NHA_ID,
            NHA_GROUP,
            NHA_GROUP_TYPE,
            NHA_FDB,
            NHA_HW_STATS_ENABLE,
        ];
        let other = (1..=NHA_HW_STATS_ENABLE).any(|k| {
            has(k).is_some()
                && !group_attrs.contains(&k)
                && !(k == NHA_RES_GROUP && kind == GRP_TYPE_RES)
        });
        if other {
            return Err(failure("No other attributes can be set in nexthop groups"));
        }
        return replace_needs_id(msg, r);
    }
    if has(NHA_BLACKHOLE).is_some() {
        let with = [NHA_GATEWAY, NHA_OIF, NHA_ENCAP, NHA_ENCAP_TYPE, NHA_FDB];
        if with.iter().any(|k| has(*k).is_some()) {
            return Err(failure(
                "Blackhole attribute can not be used with gateway, oif, encap or fdb",
            ));
        }
        r.blackhole = true;
        return replace_needs_id(msg, r);
    }
    if !fdb {
        let Some(oif) = u32_at(NHA_OIF) else {
            return Err(failure(
                "Device attribute required for non-blackhole and non-fdb nexthops",
            ));
        };
        r.oif = Some(oif);
    }
    match (has(NHA_GATEWAY), h.family) {
        (Some(v), AF_INET) => {
            let b: [u8; 4] = v.try_into().map_err(|_| failure("Invalid gateway"))?;
            r.gateway = Some(core::net::IpAddr::from(b));
        }
        (Some(v), _) => {
            let b: [u8; 16] = v.try_into().map_err(|_| failure("Invalid gateway"))?;
            r.gateway = Some(core::net::IpAddr::from(b));
        }
        (None, _) if h.flags & VALID_USER_FLAGS != 0 => {
            return Err(failure(
                "ONLINK flag can not be set for nexthop without a gateway",
            ))
        }
        (None, _) => {}
    }
    match (has(NHA_ENCAP), has(NHA_ENCAP_TYPE)) {
        (Some(_), None) => return Err(failure("LWT encapsulation type is missing")),
        (None, Some(_)) => return Err(failure("LWT encapsulation attribute is missing")),
        (Some(_), Some(_)) => {
            return Err(Failure::new(
                EOPNOTSUPP,
                "lwt encapsulation type not supported",
            ))
        }
        (None, None) => {}
    }
    if has(NHA_HW_STATS_ENABLE).is_some() {
        return Err(failure(
            "Cannot enable nexthop hardware statistics for non-group nexthops",
        ));
    }
    replace_needs_id(msg, r)
}

/// `NLM_F_REPLACE` names the nexthop it replaces.
fn replace_needs_id(msg: &NlMsg<'_>, r: NexthopRepr) -> Checked<NexthopRepr> {
    if msg.flags() & NLM_F_REPLACE != 0 && r.id == Some(0) {
        return Err(failure("Replace requires nexthop id"));
    }
    Ok(r)
}

/// `nh_check_attr_group`: whole members, reserved bytes clear, weights
/// that fit, no id twice.
fn group_members(v: &[u8]) -> Checked<GroupList> {
    if v.is_empty() || !v.len().is_multiple_of(8) {
        return Err(failure("Invalid length for nexthop group attribute"));
    }
    let mut list = GroupList::default();
    let entries: alloc::vec::Vec<[u8; 8]> = v
        .chunks_exact(8)
        .filter_map(|c| c.try_into().ok())
        .collect();
    for (i, e) in entries.iter().enumerate() {
        let [i0, i1, i2, i3, w0, w1, r0, r1] = *e;
        if r0 != 0 || r1 != 0 {
            return Err(failure("Reserved field in nexthop_grp must be 0"));
        }
        let weight = (u32::from(w1) << 8 | u32::from(w0)).saturating_add(1);
        if weight > 0xffff {
            return Err(failure("Invalid value for weight"));
        }
        let id = u32::from_ne_bytes([i0, i1, i2, i3]);
        if entries
            .iter()
            .skip(i.saturating_add(1))
            .any(|o| o[..4] == e[..4])
        {
            return Err(failure("Nexthop id can not be used twice in a group"));
        }
        list.push(GroupMember { id, weight })
            .map_err(|_| failure("Invalid length for nexthop group attribute"))?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Messages, Writer};
    use alloc::vec::Vec;

    fn message(kind: u16, flags: u16, head: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(kind, NLM_F_REQUEST | flags, 1, 0, |w| {
            w.put(head)?;
            for (k, v) in attrs {
                w.attr(*k, v)?;
            }
            Ok(())
        })
        .unwrap();
        w.into_inner()
    }

    fn text<T: core::fmt::Debug>(r: Checked<T>) -> Option<&'static str> {
        r.unwrap_err().message
    }

    fn parsed<T>(b: &[u8], f: impl Fn(&NlMsg<'_>) -> T) -> T {
        f(&Messages::new(b).next().unwrap().unwrap())
    }

    #[test]
    fn gets_dels_and_dumps_are_checked_as_the_kernel_checks_them() {
        let get = |head: &[u8], attrs: &[(u16, &[u8])]| {
            parsed(&message(RTM_GETNEXTHOP, 0, head, attrs), nexthop_get)
        };
        let del = |head: &[u8], attrs: &[(u16, &[u8])]| {
            parsed(&message(RTM_DELNEXTHOP, 0, head, attrs), nexthop_del)
        };
        let dump = |head: &[u8], attrs: &[(u16, &[u8])]| {
            parsed(
                &message(RTM_GETNEXTHOP, NLM_F_DUMP, head, attrs),
                nexthop_dump,
            )
        };
        let zero = [0u8; 8];
        let five = 5u32.to_ne_bytes();
        assert_eq!(get(&zero, &[(NHA_ID, &five)]).unwrap(), 5);
        assert_eq!(text(get(&zero, &[])), Some("Nexthop id is missing"));
        assert_eq!(
            text(get(&zero, &[(NHA_ID, &[0; 4])])),
            Some("Invalid nexthop id")
        );
        assert_eq!(
            text(get(&zero, &[(NHA_ID, &five), (NHA_OIF, &five)])),
            Some("Unsupported attribute")
        );
        assert_eq!(
            text(get(
                &zero,
                &[(NHA_ID, &five), (NHA_OP_FLAGS, &8u32.to_ne_bytes())]
            )),
            Some("reserved bit set")
        );
        assert_eq!(
            text(get(&[0, 1, 0, 0, 0, 0, 0, 0], &[(NHA_ID, &five)])),
            Some("Invalid values in header")
        );
        assert_eq!(text(get(&zero[..2], &[])), Some("Invalid header length"));
        assert_eq!(
            text(del(&zero, &[(NHA_ID, &five), (NHA_OIF, &five)])),
            Some("Unknown attribute type")
        );
        // The offset names the attribute, from the message's start.
        let b = message(
            RTM_DELNEXTHOP,
            0,
            &zero,
            &[(NHA_ID, &five), (NHA_OIF, &five)],
        );
        assert_eq!(parsed(&b, nexthop_del).unwrap_err().offset, Some(32));
        let f = dump(&[AF_INET6, 0, 0, 0, 0, 0, 0, 0], &[(NHA_OIF, &five)]).unwrap();
        assert_eq!((f.family, f.oif, f.groups), (AF_INET6, 5, false));
        assert_eq!(
            text(dump(&zero, &[(NHA_ID, &five)])),
            Some("Unsupported attribute")
        );
        assert_eq!(
            text(dump(&zero, &[(NHA_OIF, &u32::MAX.to_ne_bytes())])),
            Some("Invalid device index")
        );
        assert_eq!(
            text(dump(&[0, 0, 0, 0, 1, 0, 0, 0], &[])),
            Some("Invalid values in header for nexthop dump request")
        );
    }

    #[test]
    fn adds_are_checked_in_the_kernels_order() {
        let new = |flags: u16, head: &[u8], attrs: &[(u16, &[u8])]| {
            parsed(&message(RTM_NEWNEXTHOP, flags, head, attrs), nexthop_new)
        };
        let v4 = [AF_INET, 0, 0, 0, 0, 0, 0, 0];
        let unspec = [0u8; 8];
        let two = 2u32.to_ne_bytes();
        let gw = [10u8, 0, 0, 1];
        let r = new(
            0,
            &v4,
            &[(NHA_ID, &two), (NHA_OIF, &two), (NHA_GATEWAY, &gw)],
        )
        .unwrap();
        assert_eq!((r.id, r.oif), (Some(2), Some(2)));
        assert_eq!(r.gateway, Some(core::net::IpAddr::from(gw)));
        assert_eq!(
            text(new(0, &[AF_INET, 1, 0, 0, 0, 0, 0, 0], &[])),
            Some("Invalid values in ancillary header")
        );
        assert_eq!(
            text(new(0, &[AF_INET, 0, 0, 0, 1, 0, 0, 0], &[])),
            Some("Invalid nexthop flags in ancillary header")
        );
        assert_eq!(
            text(new(0, &unspec, &[(NHA_BLACKHOLE, &[])])),
            Some("Invalid address family")
        );
        assert_eq!(
            text(new(0, &v4, &[])),
            Some("Device attribute required for non-blackhole and non-fdb nexthops")
        );
        assert_eq!(
            text(new(0, &v4, &[(NHA_OIF, &two), (NHA_GATEWAY, &[0; 16])])),
            Some("Invalid gateway")
        );
        assert_eq!(
            text(new(0, &[AF_INET, 0, 0, 0, 4, 0, 0, 0], &[(NHA_OIF, &two)])),
            Some("ONLINK flag can not be set for nexthop without a gateway")
        );
        assert_eq!(
            text(new(0, &v4, &[(NHA_BLACKHOLE, &[]), (NHA_OIF, &two)])),
            Some("Blackhole attribute can not be used with gateway, oif, encap or fdb")
        );
        assert_eq!(
            text(new(NLM_F_REPLACE, &v4, &[(NHA_BLACKHOLE, &[])])),
            Some("Replace requires nexthop id")
        );
        let member = |id: u32, w: u8| {
            let [a, b, c, d] = id.to_ne_bytes();
            [a, b, c, d, w, 0, 0, 0]
        };
        let g: Vec<u8> = [member(1, 0), member(2, 4)].concat();
        let r = new(0, &unspec, &[(NHA_ID, &two), (NHA_GROUP, &g)]).unwrap();
        let weights: Vec<u32> = r
            .group
            .unwrap()
            .as_slice()
            .iter()
            .map(|m| m.weight)
            .collect();
        assert_eq!(weights, [1, 5]);
        assert_eq!(
            text(new(0, &v4, &[(NHA_GROUP, &g)])),
            Some("Invalid family for group")
        );
        let twice: Vec<u8> = [member(1, 0), member(1, 0)].concat();
        assert_eq!(
            text(new(0, &unspec, &[(NHA_GROUP, &twice)])),
            Some("Nexthop id can not be used twice in a group")
        );
        assert_eq!(
            text(new(0, &unspec, &[(NHA_GROUP, &g[..6])])),
            Some("Invalid length for nexthop group attribute")
        );
        assert_eq!(
            text(new(0, &unspec, &[(NHA_GROUP, &g), (NHA_OIF, &two)])),
            Some("No other attributes can be set in nexthop groups")
        );
        assert_eq!(
            text(new(0, &v4, &[(NHA_GROUPS, &[])])),
            Some("Unsupported attribute")
        );
        assert_eq!(
            text(new(0, &v4, &[(17, &[])])),
            Some("Unknown attribute type")
        );
        assert_eq!(
            text(new(0, &v4, &[(NHA_ID, &[1, 2])])),
            Some("invalid attribute length")
        );
    }
}
