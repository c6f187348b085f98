//! [`Guarded`]: a stack seen through the state file. It notes the outcome
//! of every change method called (so that the daemon knows which requests
//! changed the stack, and a replay can check it does the same), and
//! refuses changes with an errno while the state file cannot take them.
//! It also tells when a change method was cut short by a panic, so that
//! the daemon knows the stack may be half-changed.

use nlq::errno::Errno;
use nlq::stack::{
    CreateFlags, Cursor, Events, LinkChange, LinkKey, NewLink, Stack, StackError, StackResult,
    Visit,
};
use std::net::IpAddr;

use nlq::wire::{AddrRepr, LinkRepr, NeighRepr, NexthopRepr, RouteRepr, RuleRepr};

/// The extended-ACK text of a change refused because it cannot be made
/// durable.
pub const REFUSED_TEXT: &str = "the change cannot be written to the state file";

/// A stack whose change methods are watched. See the [module](self).
#[derive(Debug, Clone, Default)]
pub struct Guarded<S> {
    inner: S,
    refusal: Option<Errno>,
    outcomes: Vec<i32>,
    /// A change method is running (still true after it panicked).
    in_change: bool,
}

impl<S> Guarded<S> {
    /// Watches `inner`.
    pub fn new(inner: S) -> Self {
        Guarded {
            inner,
            refusal: None,
            outcomes: Vec::new(),
            in_change: false,
        }
    }

    /// Puts `inner` in place of the stack (a stack rebuilt after a change
    /// was cut short), forgetting what the old one did; a refusal stays.
    pub fn replace_inner(&mut self, inner: S) {
        self.inner = inner;
        self.outcomes.clear();
        self.in_change = false;
    }

    /// The stack.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The stack, to change it directly (unwatched).
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The stack, unwatched.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Refuse every change with `errno` from now on (`None`: allow them
    /// again).
    pub fn refuse(&mut self, errno: Option<Errno>) {
        self.refusal = errno;
    }

    /// The outcomes (0 or an errno) of the change methods called since the
    /// last call, in order; a refused call is not one.
    pub fn take_outcomes(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.outcomes)
    }

    /// True when a change method was called since the last
    /// [`take_outcomes`](Guarded::take_outcomes).
    pub fn changed(&self) -> bool {
        !self.outcomes.is_empty()
    }

    /// True when a change method panicked since the last call: the
    /// stack may be half-changed (its outcome is not among
    /// [`take_outcomes`](Guarded::take_outcomes)').
    pub fn take_interrupted(&mut self) -> bool {
        std::mem::take(&mut self.in_change)
    }

    fn change<T>(&mut self, f: impl FnOnce(&mut S) -> StackResult<T>) -> StackResult<T> {
        if let Some(errno) = self.refusal {
            return Err(StackError {
                errno,
                message: Some(REFUSED_TEXT),
            });
        }
        self.in_change = true;
        let r = f(&mut self.inner);
        self.in_change = false;
        self.outcomes
            .push(r.as_ref().map_or_else(|e| e.errno.get(), |_| 0));
        r
    }
}

impl<S: Stack> Stack for Guarded<S> {
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
        self.change(|s| s.add_nexthop(nexthop, flags, events))
    }

    fn del_nexthop(&mut self, id: u32, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_nexthop(id, events))
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
        self.change(|s| s.add_link(link, events))
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.set_link(index, change, events))
    }

    fn del_link(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_link(index, events))
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
        self.change(|s| s.add_addr(addr, flags, events))
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_addr(addr, events))
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
        self.change(|s| s.add_route(route, flags, events))
    }

    fn del_route(&mut self, route: &RouteRepr, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_route(route, events))
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
        self.change(|s| s.add_rule(rule, flags, events))
    }

    fn del_rule(&mut self, rule: &RuleRepr, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_rule(rule, events))
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
        self.change(|s| s.add_neigh(neigh, flags, events))
    }

    fn del_neigh(&mut self, neigh: &NeighRepr, events: Events<'_>) -> StackResult<()> {
        self.change(|s| s.del_neigh(neigh, events))
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

#[cfg(test)]
mod tests {
    use super::*;
    use nlq_mem::MemStack;

    #[test]
    fn outcomes_are_noted_and_refusals_change_nothing() {
        let mut g = Guarded::new(MemStack::new());
        let mtu = |m| LinkChange {
            mtu: Some(m),
            ..LinkChange::default()
        };
        g.set_link(1, &mtu(9000), &mut |_| {}).unwrap();
        assert!(g.set_link(99, &mtu(9000), &mut |_| {}).is_err());
        assert_eq!(g.take_outcomes(), vec![0, nlq::errno::ENODEV]);
        g.refuse(Some(Errno::ENOSPC));
        let e = g.set_link(1, &mtu(1500), &mut |_| {}).unwrap_err();
        assert_eq!(e.errno, nlq::errno::ENOSPC);
        assert_eq!(e.message, Some(REFUSED_TEXT));
        assert!(!g.changed());
        assert_eq!(g.inner().link(LinkKey::Index(1)).unwrap().mtu, Some(9000));
    }

    #[test]
    fn a_change_cut_short_by_a_panic_is_told_once() {
        /// Every link change panics.
        struct Breaks;
        impl Stack for Breaks {
            fn links(&self, _: usize, _: Visit<'_, LinkRepr>) -> StackResult<()> {
                Ok(())
            }
            fn set_link(&mut self, _: u32, _: &LinkChange, _: Events<'_>) -> StackResult<()> {
                panic!("a stack bug (on purpose)")
            }
        }
        crate::panics::install_hook();
        let mut g = Guarded::new(Breaks);
        let cut = crate::panics::catch(std::panic::AssertUnwindSafe(|| {
            g.set_link(1, &LinkChange::default(), &mut |_| {})
        }));
        assert!(cut.is_err());
        assert!(g.take_interrupted());
        assert!(!g.take_interrupted(), "told once");
        assert!(g.take_outcomes().is_empty(), "no outcome for it");
        // A change that returns is no interruption.
        let mut m = Guarded::new(MemStack::new());
        let _ = m.set_link(99, &LinkChange::default(), &mut |_| {});
        assert!(!m.take_interrupted());
    }
}
