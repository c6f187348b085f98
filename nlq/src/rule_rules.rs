//! Policy routing rules as the kernel keeps them (`net/core/fib_rules.c`
//! with `net/ipv4/fib_rules.c` and `net/ipv6/fib6_rules.c`): the default
//! rules, the checks of a new rule and their order, the priority a rule
//! gets when it names none, the duplicate and delete matches, and the
//! form a rule is dumped in. [`RuleTable`] is the whole of it, for any
//! stack to keep its rules in.
//!
//! A rule is kept as its dump shows it (a canonical [`RuleRepr`]: the
//! table, suppressors and protocol always present, the other attributes
//! only when set), with the header flags the user gave; what the dump adds
//! to them (`FIB_RULE_UNRESOLVED` for a `goto` with no rule at its
//! target, `FIB_RULE_IIF_DETACHED` / `OIF_DETACHED` for a link name no
//! link has) is worked out when it is listed.

use core::net::IpAddr;

use crate::errno::{Errno, EINVAL};
use crate::stack::{Cursor, StackError, StackResult, Visit};
use crate::wire::consts::*;
use crate::wire::{FibRuleHdr, PortRange, RuleRepr};

/// `RT_TABLE_COMPAT`: what the header says of tables above 255.
const RT_TABLE_COMPAT: u8 = 252;
/// The default rules' priorities.
const MAIN_PREF: u32 = 0x7ffe;
const DEFAULT_PREF: u32 = 0x7fff;

/// A rule of `family` as `fib_default_rule_add` makes it: to `table`,
/// protocol kernel, no suppressors.
const fn default_rule(family: u8, pref: u32, table: u8) -> RuleRepr {
    RuleRepr {
        header: FibRuleHdr {
            family,
            dst_len: 0,
            src_len: 0,
            tos: 0,
            table,
            res1: 0,
            res2: 0,
            action: FR_ACT_TO_TBL,
            flags: 0,
        },
        table: Some(table as u32),
        suppress_prefixlen: Some(u32::MAX),
        protocol: Some(RTPROT_KERNEL),
        iifname: None,
        oifname: None,
        priority: if pref == 0 { None } else { Some(pref) },
        fwmark: None,
        fwmask: None,
        goto: None,
        tun_id: None,
        suppress_ifgroup: None,
        l3mdev: None,
        uid_range: None,
        ip_proto: None,
        sport_range: None,
        dport_range: None,
        sport_mask: None,
        dport_mask: None,
        dscp: None,
        dscp_mask: None,
        flowlabel: None,
        flowlabel_mask: None,
        dst: None,
        src: None,
        flow: None,
    }
}

const V4_DEFAULTS: [RuleRepr; 3] = [
    default_rule(AF_INET, 0, RT_TABLE_LOCAL as u8),
    default_rule(AF_INET, MAIN_PREF, RT_TABLE_MAIN as u8),
    default_rule(AF_INET, DEFAULT_PREF, RT_TABLE_DEFAULT as u8),
];
const V6_DEFAULTS: [RuleRepr; 2] = [
    default_rule(AF_INET6, 0, RT_TABLE_LOCAL as u8),
    default_rule(AF_INET6, MAIN_PREF, RT_TABLE_MAIN as u8),
];

/// The rules a fresh network namespace has for `family`: IPv4 `0: lookup
/// local`, `32766: lookup main`, `32767: lookup default`; IPv6 the first
/// two. None for other families.
pub fn default_rules(family: u8) -> &'static [RuleRepr] {
    match family {
        AF_INET => &V4_DEFAULTS,
        AF_INET6 => &V6_DEFAULTS,
        _ => &[],
    }
}

/// A rule's priority.
pub fn pref(r: &RuleRepr) -> u32 {
    r.priority.unwrap_or(0)
}

/// What the rules of a stack need to know of the rest of it.
pub trait RuleHost {
    /// A route table `id` of `family` exists.
    fn route_table_exists(&self, family: u8, id: u32) -> bool;
    /// Creates route table `id` of `family` (IPv6 creates the table a rule
    /// looks up, IPv4 the one it picks for a rule that names none).
    fn create_route_table(&mut self, family: u8, id: u32);
    /// A link is named `name` now.
    fn link_named(&self, name: &str) -> bool;
    /// The rule `rule` may be added (`added`) or deleted: asked after the
    /// kernel's checks passed, before anything changes. The default
    /// admits it.
    fn admit(&self, rule: &RuleRepr, added: bool) -> StackResult<()> {
        let _ = (rule, added);
        Ok(())
    }
}

/// The header flags a dump shows for `r` among `rules` (its family's).
pub fn dumped_flags(r: &RuleRepr, rules: &[RuleRepr], link_named: &dyn Fn(&str) -> bool) -> u32 {
    let mut flags = r.header.flags;
    if r.header.action == FR_ACT_GOTO {
        let target = r.goto.unwrap_or(0);
        if !rules.iter().any(|x| pref(x) == target) {
            flags |= FIB_RULE_UNRESOLVED;
        }
    }
    if r.iifname.is_some_and(|n| !link_named(&n)) {
        flags |= FIB_RULE_IIF_DETACHED;
    }
    if r.oifname.is_some_and(|n| !link_named(&n)) {
        flags |= FIB_RULE_OIF_DETACHED;
    }
    flags
}

/// Lists `v4` and `v6` as a dump of `family` does (`AF_UNSPEC`: IPv4's,
/// then IPv6's), from position `from`, with the flags a dump shows.
pub fn list(
    v4: &[RuleRepr],
    v6: &[RuleRepr],
    family: u8,
    from: &Cursor,
    link_named: &dyn Fn(&str) -> bool,
    visit: Visit<'_, RuleRepr>,
) -> StackResult<Cursor> {
    let parts: [&[RuleRepr]; 2] = match family {
        AF_INET => [v4, &[]],
        AF_INET6 => [v6, &[]],
        _ => [v4, v6],
    };
    let start = from.position();
    let mut at = 0usize;
    for rules in parts {
        for r in rules {
            if at >= start {
                let mut shown = *r;
                shown.header.flags = dumped_flags(r, rules, link_named);
                if visit(&shown).is_break() {
                    return Ok(Cursor::at(at));
                }
            }
            at = at.saturating_add(1);
        }
    }
    Ok(Cursor::at(at))
}

/// The index of `lo`: the input link of a packet this host sends
/// (`flowi_iif` of an output lookup).
const LOOPBACK_INDEX: u32 = 1;

/// `fib_rule_match` for a packet this host sends to `q.dst` with IP
/// protocol `proto` (user and ports unknown, so 0; no tunnel, no l3mdev;
/// TOS 0), with the family's prefixes, inverted by `FIB_RULE_INVERT`.
/// `index_of` names links.
pub fn rule_matches(
    r: &RuleRepr,
    q: &crate::stack::lookup::RouteQuery,
    proto: u8,
    index_of: &dyn Fn(&str) -> Option<u32>,
) -> bool {
    use crate::prefix::contains;
    let selected = (|| {
        if r.iifname
            .is_some_and(|n| index_of(&n) != Some(LOOPBACK_INDEX))
        {
            return false;
        }
        if r.oifname
            .is_some_and(|n| q.oif == 0 || index_of(&n) != Some(q.oif))
        {
            return false;
        }
        let mark = q.mark.unwrap_or(0);
        if (r.fwmark.unwrap_or(0) ^ mark) & r.fwmask.unwrap_or(0) != 0 {
            return false;
        }
        if r.tun_id.is_some()
            || r.l3mdev.is_some()
            || r.ip_proto.is_some_and(|p| p != proto)
            || r.sport_range.is_some()
            || r.dport_range.is_some()
            || r.uid_range.is_some_and(|u| u.start > 0)
        {
            return false;
        }
        if r.header.tos != 0 || r.dscp.is_some_and(|d| d & r.dscp_mask.unwrap_or(0) != 0) {
            return false;
        }
        if r.flowlabel_mask
            .is_some_and(|m| r.flowlabel.unwrap_or(0) & m != 0)
        {
            return false;
        }
        if r.header.dst_len != 0 && !contains(r.dst, r.header.dst_len, q.dst) {
            return false;
        }
        if r.header.src_len != 0 {
            return match (q.src, q.dst) {
                (Some(s), _) => contains(r.src, r.header.src_len, s),
                // IPv6 needs a source for a rule of sources; IPv4 takes 0.
                (None, IpAddr::V6(_)) => false,
                (None, IpAddr::V4(_)) => contains(
                    r.src,
                    r.header.src_len,
                    IpAddr::V4(core::net::Ipv4Addr::UNSPECIFIED),
                ),
            };
        }
        true
    })();
    selected != (r.header.flags & FIB_RULE_INVERT != 0)
}

/// `fib4_rule_suppress` / `fib6_rule_suppress`: a route found through
/// `r` whose prefix is no longer than the rule's `suppress_prefixlength`,
/// or whose link is of its suppressed group (`group` tells the link's),
/// does not end the lookup.
pub fn suppresses(r: &RuleRepr, prefix_len: u8, group: &dyn Fn() -> Option<u32>) -> bool {
    let len = r.suppress_prefixlen.unwrap_or(u32::MAX);
    (len != u32::MAX && u32::from(prefix_len) <= len)
        || r.suppress_ifgroup
            .is_some_and(|g| group().unwrap_or(0) == g)
}

/// What one rule does in a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleStep {
    /// The rule does not apply: on with the next.
    Next,
    /// Look the packet up in this table; no route there (or `throw`, or
    /// a route the rule suppresses): on with the next rule.
    LookUp(u32),
    /// The lookup fails with this errno (`unreachable`: `ENETUNREACH`,
    /// `prohibit`: `EACCES`, `blackhole` and unknown actions: `EINVAL`).
    Refuse(Errno),
}

/// A walk of the rules in order (`fib_rules_lookup`), one rule at a time;
/// it follows `goto`s. No rule that decides: `ENETUNREACH`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleWalk {
    /// The priority a `goto` jumps to.
    goto: Option<u32>,
}

impl RuleWalk {
    /// What `r`, the next rule, does for the packet `q` of IP protocol
    /// `proto`. `resolved`: a `goto` rule's target exists.
    pub fn step(
        &mut self,
        r: &RuleRepr,
        resolved: bool,
        q: &crate::stack::lookup::RouteQuery,
        proto: u8,
        index_of: &dyn Fn(&str) -> Option<u32>,
    ) -> RuleStep {
        if let Some(target) = self.goto {
            if pref(r) != target {
                return RuleStep::Next;
            }
            self.goto = None;
        }
        if !rule_matches(r, q, proto, index_of) {
            return RuleStep::Next;
        }
        match r.header.action {
            FR_ACT_GOTO => {
                if resolved {
                    self.goto = r.goto;
                }
                RuleStep::Next
            }
            FR_ACT_NOP => RuleStep::Next,
            FR_ACT_TO_TBL => RuleStep::LookUp(r.table_id()),
            FR_ACT_UNREACHABLE => RuleStep::Refuse(Errno::ENETUNREACH),
            FR_ACT_PROHIBIT => RuleStep::Refuse(Errno::EACCES),
            _ => RuleStep::Refuse(Errno::EINVAL),
        }
    }
}

fn invalid(message: &'static str) -> StackError {
    StackError::with_message(EINVAL, message)
}

/// The widest prefix of `family`.
fn max_len(family: u8) -> u8 {
    if family == AF_INET6 {
        128
    } else {
        32
    }
}

/// A prefix of `len` bits needs an address of the family: `Some(addr)`
/// for a prefix, `None` for none; `Err` when the address is missing.
fn prefix(family: u8, len: u8, addr: Option<IpAddr>) -> Result<Option<IpAddr>, ()> {
    if len == 0 {
        return Ok(None);
    }
    let fits = match addr {
        Some(IpAddr::V4(_)) => family == AF_INET,
        Some(IpAddr::V6(_)) => family == AF_INET6,
        None => false,
    };
    if len > max_len(family) || !fits {
        return Err(());
    }
    Ok(addr)
}

/// `fib_rule_port_range_valid`.
fn port_range_valid(p: &PortRange) -> bool {
    p.start != 0 && p.end != 0 && p.end < 0xffff && p.start <= p.end
}

/// A port range and its mask as `fib_nl2rule_port_range` /
/// `fib_nl2rule_port_mask` take them: the mask of one port is `0xffff`.
fn ports(
    range: Option<PortRange>,
    mask: Option<u16>,
    bad_range: &'static str,
) -> StackResult<(Option<PortRange>, Option<u16>)> {
    let mut implied = 0;
    if let Some(p) = range {
        if !port_range_valid(&p) {
            return Err(invalid(bad_range));
        }
        if p.start == p.end {
            implied = 0xffff;
        }
    }
    let mask = match mask {
        None => implied,
        Some(m) => {
            let Some(p) = range else {
                return Err(invalid("Cannot specify port mask without port value"));
            };
            if p.start != p.end {
                return Err(invalid("Cannot specify port mask for port range"));
            }
            if p.start & !m != 0 {
                return Err(invalid("Invalid port mask"));
            }
            m
        }
    };
    Ok((range, (mask != 0).then_some(mask)))
}

/// The rule a request describes, in the form it is kept in (`fib_nl2rule`,
/// before its priority is chosen): the checks of the request alone, in
/// the kernel's order. The request's family must be IPv4 or IPv6.
pub fn from_request(req: &RuleRepr) -> StackResult<RuleRepr> {
    let h = req.header;
    let src =
        prefix(h.family, h.src_len, req.src).map_err(|()| invalid("Invalid source address"))?;
    let dst = prefix(h.family, h.dst_len, req.dst).map_err(|()| invalid("Invalid dst address"))?;
    let mark = req.fwmark.unwrap_or(0);
    let mask = req.fwmask.unwrap_or(if mark != 0 { u32::MAX } else { 0 });
    if req.l3mdev.is_some_and(|l| l != 1) {
        return Err(invalid("Invalid l3mdev attribute"));
    }
    let table = req.table_id();
    let goto = match (req.goto, h.action == FR_ACT_GOTO) {
        (Some(_), false) => return Err(invalid("Unexpected goto")),
        (None, true) => return Err(invalid("Missing goto target for action goto")),
        (g, _) => g.filter(|t| *t != 0),
    };
    if req.l3mdev.is_some() && table != 0 {
        return Err(invalid("l3mdev and table are mutually exclusive"));
    }
    if let Some(u) = req.uid_range {
        if u.start == u32::MAX || u.end == u32::MAX || u.start > u.end {
            return Err(invalid("Invalid uid range"));
        }
    }
    let (sport_range, sport_mask) = ports(req.sport_range, req.sport_mask, "Invalid sport range")?;
    let (dport_range, dport_mask) = ports(req.dport_range, req.dport_mask, "Invalid dport range")?;
    let dscp_mask = req.dscp.map(|_| req.dscp_mask.unwrap_or(0x3f));
    Ok(RuleRepr {
        header: FibRuleHdr {
            table: u8::try_from(table).unwrap_or(RT_TABLE_COMPAT),
            res1: 0,
            res2: 0,
            ..h
        },
        table: Some(table),
        suppress_prefixlen: Some(req.suppress_prefixlen.unwrap_or(u32::MAX)),
        protocol: Some(req.protocol.unwrap_or(0)),
        iifname: req.iifname.filter(|n| !n.is_empty()),
        oifname: req.oifname.filter(|n| !n.is_empty()),
        priority: req.priority.filter(|p| *p != 0),
        fwmark: (mark != 0).then_some(mark),
        fwmask: (mark != 0 || mask != 0).then_some(mask),
        goto,
        tun_id: req.tun_id.filter(|t| *t != 0),
        suppress_ifgroup: req.suppress_ifgroup.filter(|g| *g != u32::MAX),
        l3mdev: req.l3mdev,
        uid_range: req.uid_range,
        ip_proto: req.ip_proto.filter(|p| *p != 0),
        sport_range,
        dport_range,
        sport_mask,
        dport_mask,
        dscp: req.dscp,
        dscp_mask,
        flowlabel: req.flowlabel_mask.filter(|m| *m != 0).and(req.flowlabel),
        flowlabel_mask: req.flowlabel_mask.filter(|m| *m != 0),
        dst,
        src,
        flow: req.flow.filter(|f| *f != 0 && h.family == AF_INET),
    })
}

#[cfg(feature = "alloc")]
pub use table::RuleTable;

#[cfg(feature = "alloc")]
mod table {
    use alloc::vec::Vec;

    use super::*;
    use crate::errno::{EEXIST, ENOENT, EPERM};
    use crate::stack::{CreateFlags, Event, Events};

    /// `fib4_rule_compare` / `fib6_rule_compare`: the family's fields the
    /// request `req` gives match those of `r`.
    fn family_matches(req: &RuleRepr, r: &RuleRepr) -> bool {
        let h = &req.header;
        if h.src_len != 0 && (r.header.src_len != h.src_len || r.src != req.src) {
            return false;
        }
        if h.dst_len != 0 && (r.header.dst_len != h.dst_len || r.dst != req.dst) {
            return false;
        }
        if h.tos != 0 && (r.dscp.is_some() || r.header.tos != h.tos) {
            return false;
        }
        if req.dscp.is_some() && r.dscp != req.dscp {
            return false;
        }
        if req.dscp_mask.is_some() && r.dscp_mask != req.dscp_mask {
            return false;
        }
        if req.flow.is_some() && r.flow.unwrap_or(0) != req.flow.unwrap_or(0) {
            return false;
        }
        if req.flowlabel.is_some() && r.flowlabel.unwrap_or(0) != req.flowlabel.unwrap_or(0) {
            return false;
        }
        if req.flowlabel_mask.is_some()
            && r.flowlabel_mask.unwrap_or(0) != req.flowlabel_mask.unwrap_or(0)
        {
            return false;
        }
        true
    }

    /// `rule_exists`: `new` (kept form, priority chosen) equals `r` in every
    /// generic field, and `r` has the family's fields the request gives.
    fn exists(req: &RuleRepr, new: &RuleRepr, r: &RuleRepr) -> bool {
        new.header.action == r.header.action
            && new.table == r.table
            && pref(new) == pref(r)
            && new.iifname == r.iifname
            && new.oifname == r.oifname
            && new.fwmark == r.fwmark
            && new.suppress_ifgroup == r.suppress_ifgroup
            && new.suppress_prefixlen == r.suppress_prefixlen
            && new.fwmask == r.fwmask
            && new.tun_id == r.tun_id
            && new.l3mdev == r.l3mdev
            && new.uid_range == r.uid_range
            && new.ip_proto == r.ip_proto
            && new.protocol == r.protocol
            && new.sport_range == r.sport_range
            && new.sport_mask == r.sport_mask
            && new.dport_range == r.dport_range
            && new.dport_mask == r.dport_mask
            && family_matches(req, r)
    }

    /// `rule_find` for a delete: `r` has every field the request sets.
    fn selected(req: &RuleRepr, want: &RuleRepr, r: &RuleRepr) -> bool {
        let given = |w: Option<u32>, x: Option<u32>| w.is_none_or(|w| Some(w) == x);
        (want.header.action == 0 || want.header.action == r.header.action)
            && (want.table == Some(0) || want.table == r.table)
            && req.priority.is_none_or(|p| p == pref(r))
            && want.iifname.is_none_or(|n| r.iifname == Some(n))
            && want.oifname.is_none_or(|n| r.oifname == Some(n))
            && given(want.fwmark, r.fwmark)
            && given(want.suppress_ifgroup, r.suppress_ifgroup)
            && (want.suppress_prefixlen == Some(u32::MAX)
                || want.suppress_prefixlen == r.suppress_prefixlen)
            && (want.fwmask.unwrap_or(0) == 0 || want.fwmask == r.fwmask)
            && want.tun_id.is_none_or(|t| r.tun_id == Some(t))
            && want.l3mdev.is_none_or(|l| r.l3mdev == Some(l))
            && want.uid_range.is_none_or(|u| r.uid_range == Some(u))
            && want.ip_proto.is_none_or(|p| r.ip_proto == Some(p))
            && (want.protocol == Some(0) || want.protocol == r.protocol)
            && want.sport_range.is_none_or(|p| r.sport_range == Some(p))
            && want.sport_mask.is_none_or(|m| r.sport_mask == Some(m))
            && want.dport_range.is_none_or(|p| r.dport_range == Some(p))
            && want.dport_mask.is_none_or(|m| r.dport_mask == Some(m))
            && family_matches(req, r)
    }

    /// `fib4_rule_configure` / `fib6_rule_configure`'s checks, in order.
    fn configure_checks(req: &RuleRepr, r: &RuleRepr) -> StackResult<()> {
        let v4 = r.header.family == AF_INET;
        if v4 && (req.flowlabel.is_some() || req.flowlabel_mask.is_some()) {
            return Err(invalid("Flow label cannot be specified for IPv4 FIB rules"));
        }
        let tos = r.header.tos;
        if tos & 0x03 != 0 {
            return Err(invalid("Invalid dsfield (tos): ECN bits must be 0"));
        }
        if v4 && tos & !0x1e != 0 {
            return Err(invalid("Invalid tos"));
        }
        if req.dscp.is_some() && tos != 0 {
            return Err(invalid("Cannot specify both TOS and DSCP"));
        }
        if req.dscp.is_none() && req.dscp_mask.is_some() {
            return Err(invalid("Cannot specify DSCP mask without DSCP value"));
        }
        if let (Some(d), Some(m)) = (r.dscp, r.dscp_mask) {
            if d & !m != 0 {
                return Err(invalid("Invalid DSCP mask"));
            }
        }
        if !v4 {
            match (req.flowlabel, req.flowlabel_mask) {
                (Some(_), None) | (None, Some(_)) => return Err(StackError::new(EINVAL)),
                (Some(l), Some(m)) => {
                    if m & !0x000f_ffff != 0 {
                        return Err(invalid("Invalid flow label mask"));
                    }
                    if l & !m != 0 {
                        return Err(invalid("Flow label and mask do not match"));
                    }
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// The rules of a stack, IPv4's and IPv6's, each in priority order as
    /// the kernel lists them, changed by its rules.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RuleTable {
        v4: Vec<RuleRepr>,
        v6: Vec<RuleRepr>,
        /// An IPv4 rule was added or deleted once (`fib_has_custom_rules`).
        split: bool,
        /// An IPv6 rule was added once (`fib6_has_custom_rules`).
        custom6: bool,
    }

    impl Default for RuleTable {
        /// The default rules ([`default_rules`]).
        fn default() -> Self {
            RuleTable {
                v4: default_rules(AF_INET).to_vec(),
                v6: default_rules(AF_INET6).to_vec(),
                split: false,
                custom6: false,
            }
        }
    }

    impl RuleTable {
        /// The rules of `family` (none for other families), in order, as
        /// kept (the flags as the user gave them).
        pub fn rules(&self, family: u8) -> &[RuleRepr] {
            match family {
                AF_INET => &self.v4,
                AF_INET6 => &self.v6,
                _ => &[],
            }
        }

        fn rules_mut(&mut self, family: u8) -> Option<&mut Vec<RuleRepr>> {
            match family {
                AF_INET => Some(&mut self.v4),
                AF_INET6 => Some(&mut self.v6),
                _ => None,
            }
        }

        /// The table holding exactly `rules` (as [`RuleTable::rules`]
        /// gives them, IPv4's and IPv6's in any interleaving): `EINVAL`
        /// when one is of another family, is not in its kept form, or
        /// comes before one of a lower priority.
        pub fn from_rules(rules: &[RuleRepr]) -> StackResult<RuleTable> {
            let mut t = RuleTable {
                v4: Vec::new(),
                v6: Vec::new(),
                split: false,
                custom6: false,
            };
            for r in rules {
                let kept = from_request(r).map_err(|_| invalid("a rule is not one"))?;
                let list = t
                    .rules_mut(r.header.family)
                    .ok_or(invalid("a rule of another family"))?;
                if kept != *r || list.last().is_some_and(|l| pref(l) > pref(r)) {
                    return Err(invalid("a rule is out of order or not in its kept form"));
                }
                list.push(*r);
            }
            // Rules added and deleted again leave nothing to see here.
            t.split = t.v4 != default_rules(AF_INET);
            t.custom6 = t.v6 != default_rules(AF_INET6);
            Ok(t)
        }

        /// Lookups of `family` follow the rules (see
        /// [`Stack::custom_rules`]).
        ///
        /// [`Stack::custom_rules`]: crate::stack::Stack::custom_rules
        pub fn custom_rules(&self, family: u8) -> bool {
            match family {
                AF_INET => self.split,
                AF_INET6 => self.custom6,
                _ => false,
            }
        }

        /// Lists the rules of `family` (see [`list`]).
        pub fn list(
            &self,
            family: u8,
            from: &Cursor,
            link_named: &dyn Fn(&str) -> bool,
            visit: Visit<'_, RuleRepr>,
        ) -> StackResult<Cursor> {
            list(&self.v4, &self.v6, family, from, link_named, visit)
        }

        /// `fib_default_rule_pref`: one below the second rule's priority,
        /// or 0.
        fn default_pref(list: &[RuleRepr]) -> u32 {
            list.get(1).map_or(0, |r| pref(r).saturating_sub(1))
        }

        /// What `req` becomes in `list` (`fib_nl2rule` and
        /// `fib_nl2rule_rtnl`): its kept form with its priority chosen,
        /// and the backward `goto` refused.
        fn prepared(req: &RuleRepr, list: &[RuleRepr]) -> StackResult<RuleRepr> {
            let mut r = from_request(req)?;
            if req.priority.is_none() {
                let p = Self::default_pref(list);
                r.priority = (p != 0).then_some(p);
            }
            if r.header.action == FR_ACT_GOTO && r.goto.unwrap_or(0) <= pref(&r) {
                return Err(invalid("Backward goto not supported"));
            }
            Ok(r)
        }

        /// Adds the rule `req` asks for (`fib_newrule`): its checks, the
        /// priority it gets when it gives none, `EEXIST` under
        /// `NLM_F_EXCL` for a rule there already, the family's checks, the
        /// route table it creates; it goes after the rules of its priority
        /// or a lower one. `NLM_F_CREATE` and `NLM_F_REPLACE` change
        /// nothing.
        pub fn add(
            &mut self,
            req: &RuleRepr,
            flags: CreateFlags,
            host: &mut dyn RuleHost,
            events: Events<'_>,
        ) -> StackResult<()> {
            let family = req.header.family;
            let list = self.rules_mut(family).ok_or(StackError::with_message(
                crate::errno::EAFNOSUPPORT,
                "Rule family not supported",
            ))?;
            let mut r = Self::prepared(req, list)?;
            if flags.excl() && list.iter().any(|x| exists(req, &r, x)) {
                return Err(StackError::new(EEXIST));
            }
            configure_checks(req, &r)?;
            let to_table = r.header.action == FR_ACT_TO_TBL && r.l3mdev.is_none();
            let table = r.table.unwrap_or(0);
            let mut create = None;
            if to_table && family == AF_INET && table == 0 {
                // `fib_empty_table`: the first id no IPv4 table has.
                let free = (1..=u32::MAX)
                    .find(|id| !host.route_table_exists(AF_INET, *id))
                    .ok_or(StackError::new(crate::errno::ENOBUFS))?;
                create = Some(free);
                r.table = Some(free);
                r.header.table = u8::try_from(free).unwrap_or(RT_TABLE_COMPAT);
            } else if to_table && family == AF_INET6 {
                if table == 0 {
                    return Err(invalid("Invalid table"));
                }
                create = Some(table);
            }
            host.admit(&r, true)?;
            if let Some(id) = create {
                host.create_route_table(family, id);
            }
            let at = list.partition_point(|x| pref(x) <= pref(&r));
            list.insert(at, r);
            let mut shown = r;
            shown.header.flags = dumped_flags(&r, list, &|n| host.link_named(n));
            if family == AF_INET {
                self.split = true;
            } else {
                self.custom6 = true;
            }
            events(Event::NewRule(&shown));
            Ok(())
        }

        /// Deletes the first rule `req` selects (`fib_delrule`): `ENOENT`
        /// when none, `EPERM` for a permanent one.
        pub fn del(
            &mut self,
            req: &RuleRepr,
            host: &dyn RuleHost,
            events: Events<'_>,
        ) -> StackResult<()> {
            let list = self
                .rules_mut(req.header.family)
                .ok_or(StackError::with_message(
                    crate::errno::EAFNOSUPPORT,
                    "Rule family not supported",
                ))?;
            let want = Self::prepared(req, list)?;
            let at = list
                .iter()
                .position(|r| selected(req, &want, r))
                .ok_or(StackError::new(ENOENT))?;
            let gone = list.get(at).copied().ok_or(StackError::new(ENOENT))?;
            if gone.header.flags & FIB_RULE_PERMANENT != 0 {
                return Err(StackError::new(EPERM));
            }
            host.admit(&gone, false)?;
            let mut shown = gone;
            shown.header.flags = dumped_flags(&gone, list, &|n| host.link_named(n));
            list.remove(at);
            if req.header.family == AF_INET {
                // `fib4_rule_delete` splits the tables too (IPv6's delete
                // changes nothing).
                self.split = true;
            }
            events(Event::DelRule(&shown));
            Ok(())
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::errno::{EEXIST, ENOENT};
    use crate::stack::{CreateFlags, Event};
    use alloc::vec::Vec;
    use core::ops::ControlFlow;

    /// Tables and links of a test: (family, id) pairs, link names.
    #[derive(Default)]
    struct Host {
        tables: Vec<(u8, u32)>,
        links: Vec<&'static str>,
        refuse: bool,
    }

    impl RuleHost for Host {
        fn route_table_exists(&self, family: u8, id: u32) -> bool {
            self.tables.contains(&(family, id))
        }
        fn create_route_table(&mut self, family: u8, id: u32) {
            self.tables.push((family, id));
        }
        fn link_named(&self, name: &str) -> bool {
            self.links.contains(&name)
        }
        fn admit(&self, _: &RuleRepr, _: bool) -> StackResult<()> {
            if self.refuse {
                Err(StackError::new(crate::errno::EOPNOTSUPP))
            } else {
                Ok(())
            }
        }
    }

    const EXCL: CreateFlags = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);

    fn lookup(family: u8, table: u8) -> RuleRepr {
        RuleRepr {
            header: FibRuleHdr {
                family,
                table,
                action: FR_ACT_TO_TBL,
                ..FibRuleHdr::default()
            },
            ..RuleRepr::default()
        }
    }

    fn prefs(t: &RuleTable, family: u8) -> Vec<u32> {
        t.rules(family).iter().map(pref).collect()
    }

    fn add(t: &mut RuleTable, h: &mut Host, r: &RuleRepr) -> StackResult<Vec<RuleRepr>> {
        let mut heard = Vec::new();
        t.add(r, EXCL, h, &mut |e| {
            if let Event::NewRule(r) = e {
                heard.push(*r);
            }
        })?;
        Ok(heard)
    }

    #[test]
    fn priorities_are_chosen_below_the_second_rule() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        assert_eq!(prefs(&t, AF_INET), [0, 32766, 32767]);
        assert_eq!(prefs(&t, AF_INET6), [0, 32766]);
        add(&mut t, &mut h, &lookup(AF_INET, 100)).unwrap();
        add(&mut t, &mut h, &lookup(AF_INET, 101)).unwrap();
        assert_eq!(prefs(&t, AF_INET), [0, 32764, 32765, 32766, 32767]);
        // An equal rule with EXCL: EEXIST; the same at another priority
        // is another rule.
        let mut again = lookup(AF_INET, 101);
        again.priority = Some(32764);
        assert_eq!(add(&mut t, &mut h, &again).unwrap_err().errno, EEXIST);
        // Equal priorities keep their order: the new one goes last.
        let mut last = lookup(AF_INET, 7);
        last.priority = Some(32764);
        add(&mut t, &mut h, &last).unwrap();
        assert_eq!(t.rules(AF_INET)[2].table, Some(7));
        assert!(t.custom_rules(AF_INET) && !t.custom_rules(AF_INET6));
    }

    #[test]
    fn gotos_resolve_to_rules_that_exist() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        let mut g = RuleRepr::default();
        g.header.family = AF_INET;
        g.header.action = FR_ACT_GOTO;
        g.goto = Some(300);
        g.priority = Some(300);
        assert_eq!(
            add(&mut t, &mut h, &g).unwrap_err().message,
            Some("Backward goto not supported")
        );
        g.priority = Some(200);
        let heard = add(&mut t, &mut h, &g).unwrap();
        assert_eq!(heard[0].header.flags, FIB_RULE_UNRESOLVED);
        let mut target = lookup(AF_INET, 5);
        target.priority = Some(300);
        add(&mut t, &mut h, &target).unwrap();
        let mut listed = Vec::new();
        t.list(AF_INET, &Cursor::START, &|_| false, &mut |r| {
            listed.push(r.header.flags);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(listed, [0, 0, 0, 0, 0]);
        g.goto = None;
        assert_eq!(
            add(&mut t, &mut h, &g).unwrap_err().message,
            Some("Missing goto target for action goto")
        );
    }

    #[test]
    fn deletes_take_the_first_rule_that_has_what_is_given() {
        let (mut t, h) = (RuleTable::default(), Host::default());
        let mut by_pref = RuleRepr::default();
        by_pref.header.family = AF_INET;
        by_pref.priority = Some(32767);
        t.del(&by_pref, &h, &mut |_| {}).unwrap();
        assert_eq!(prefs(&t, AF_INET), [0, 32766]);
        assert_eq!(t.del(&by_pref, &h, &mut |_| {}).unwrap_err().errno, ENOENT);
        // A header alone deletes the first rule (local).
        let mut bare = RuleRepr::default();
        bare.header.family = AF_INET;
        t.del(&bare, &h, &mut |_| {}).unwrap();
        assert_eq!(prefs(&t, AF_INET), [32766]);
    }

    #[test]
    fn tables_are_created_as_each_family_does() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        h.tables.push((AF_INET, 1));
        let heard = add(&mut t, &mut h, &lookup(AF_INET, 0)).unwrap();
        assert_eq!(heard[0].table, Some(2));
        assert!(h.tables.contains(&(AF_INET, 2)));
        assert_eq!(
            add(&mut t, &mut h, &lookup(AF_INET6, 0))
                .unwrap_err()
                .message,
            Some("Invalid table")
        );
        add(&mut t, &mut h, &lookup(AF_INET6, 9)).unwrap();
        assert!(h.tables.contains(&(AF_INET6, 9)));
    }

    #[test]
    fn a_refused_change_changes_nothing() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        h.refuse = true;
        let before = t.clone();
        assert!(add(&mut t, &mut h, &lookup(AF_INET, 0)).is_err());
        assert!(h.tables.is_empty());
        let mut main = RuleRepr::default();
        main.header.family = AF_INET;
        main.priority = Some(32766);
        assert!(t.del(&main, &h, &mut |_| {}).is_err());
        assert_eq!(t, before);
    }

    #[test]
    fn detached_links_and_checks_of_the_request() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        let mut r = lookup(AF_INET, 5);
        r.iifname = crate::wire::IfName::try_from_str("eth9");
        let heard = add(&mut t, &mut h, &r).unwrap();
        assert_eq!(heard[0].header.flags, FIB_RULE_IIF_DETACHED);
        h.links.push("eth9");
        let mut flags = Vec::new();
        t.list(AF_INET, &Cursor::START, &|n| n == "eth9", &mut |r| {
            flags.push(r.header.flags);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(flags.iter().all(|f| *f == 0));
        let mut bad = lookup(AF_INET, 5);
        bad.uid_range = Some(crate::wire::UidRange { start: 10, end: 5 });
        assert_eq!(
            from_request(&bad).unwrap_err().message,
            Some("Invalid uid range")
        );
        let mut tos = lookup(AF_INET, 5);
        tos.header.tos = 0x20;
        assert_eq!(
            add(&mut t, &mut h, &tos).unwrap_err().message,
            Some("Invalid tos")
        );
        let mut src = lookup(AF_INET, 5);
        src.header.src_len = 8;
        assert_eq!(
            from_request(&src).unwrap_err().message,
            Some("Invalid source address")
        );
    }

    #[test]
    fn kept_rules_restore() {
        let (mut t, mut h) = (RuleTable::default(), Host::default());
        add(&mut t, &mut h, &lookup(AF_INET, 100)).unwrap();
        let all: Vec<RuleRepr> = [AF_INET, AF_INET6]
            .iter()
            .flat_map(|f| t.rules(*f).iter().copied())
            .collect();
        assert_eq!(RuleTable::from_rules(&all).unwrap(), t);
        let mut reversed = all.clone();
        reversed.reverse();
        assert!(RuleTable::from_rules(&reversed).is_err());
    }
}
