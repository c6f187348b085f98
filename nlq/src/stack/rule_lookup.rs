//! The lookup of `ip route get` through the policy rules
//! (`fib_rules_lookup` with `fib4_rule_action` / `fib6_rule_action`):
//! the rules in order, each that matches the packet looked up in turn.

use core::ops::ControlFlow;

use crate::route_rules::is_reject;
use crate::rule_rules::{default_rules, suppresses, RuleStep, RuleWalk};
use crate::stack::lookup::RouteQuery;
use crate::stack::{Cursor, LinkKey, Stack, StackError, StackResult};
use crate::wire::consts::*;
use crate::wire::{RouteRepr, RuleRepr};

/// `IPPROTO_UDP`.
const IPPROTO_UDP: u8 = 17;

/// The index of the link named `name`, if one is.
fn index_of<S: Stack + ?Sized>(stack: &S, name: &str) -> Option<u32> {
    stack.link(LinkKey::Name(name)).ok().map(|l| l.header.index)
}

/// IPv4's lookup before any rule was added or deleted (`fib_lookup`
/// without `fib_has_custom_rules`): the local and main tables as one,
/// then, when that finds no route to use and the default table exists,
/// the default table, whose answer stands.
pub(crate) fn merged_lookup<S: Stack + ?Sized>(
    stack: &S,
    q: &RouteQuery,
) -> StackResult<Option<RouteRepr>> {
    let main = stack.best_route(q.dst, &[RT_TABLE_LOCAL, RT_TABLE_MAIN], q.oif)?;
    if main
        .as_ref()
        .is_some_and(|r| !is_reject(r.header.route_type))
        || !stack.route_table_exists(AF_INET, RT_TABLE_DEFAULT)
    {
        return Ok(main);
    }
    let other = stack.best_route(q.dst, &[RT_TABLE_DEFAULT], q.oif)?;
    Ok(other.filter(|r| r.header.route_type != RTN_THROW))
}

/// The route the rules of the query's family lead to (`fib_lookup`):
/// `Ok(None)` when no rule found one (`ENETUNREACH` to the asker), an
/// error for a rule that refuses (`unreachable`: `ENETUNREACH`,
/// `prohibit`: `EACCES`, `blackhole`: `EINVAL`). A reject route found
/// (but `throw`, which goes on) is returned for the caller to answer.
pub(crate) fn rules_lookup<S: Stack + ?Sized>(
    stack: &S,
    q: &RouteQuery,
) -> StackResult<Option<RouteRepr>> {
    let family = if q.dst.is_ipv4() { AF_INET } else { AF_INET6 };
    // `inet_rtm_getroute` asks for UDP unless told; IPv6 for nothing.
    let proto = if family == AF_INET { IPPROTO_UDP } else { 0 };
    let mut walk = RuleWalk::default();
    let mut outcome: StackResult<Option<RouteRepr>> = Ok(None);
    let index_of = |n: &str| index_of(stack, n);
    let mut visit = |r: &RuleRepr| {
        let resolved = r.header.flags & FIB_RULE_UNRESOLVED == 0;
        outcome = match walk.step(r, resolved, q, proto, &index_of) {
            RuleStep::Next => return ControlFlow::Continue(()),
            RuleStep::Refuse(errno) => Err(StackError::from(errno)),
            RuleStep::LookUp(table) => match stack.best_route(q.dst, &[table], q.oif) {
                Err(e) => Err(e),
                Ok(None) => return ControlFlow::Continue(()),
                Ok(Some(found)) => {
                    let group = || {
                        found
                            .oif
                            .and_then(|o| stack.link(LinkKey::Index(o)).ok())
                            .and_then(|l| l.group)
                    };
                    if found.header.route_type == RTN_THROW
                        || (!is_reject(found.header.route_type)
                            && suppresses(r, found.header.dst_len, &group))
                    {
                        return ControlFlow::Continue(());
                    }
                    Ok(Some(found))
                }
            },
        };
        ControlFlow::Break(())
    };
    if stack.custom_rules(family) {
        stack.rules_from(family, &Cursor::START, &mut visit)?;
    } else {
        // Without custom rules the kernel reads none: its defaults' walk.
        let _ = default_rules(family).iter().try_for_each(&mut visit);
    }
    outcome
}
