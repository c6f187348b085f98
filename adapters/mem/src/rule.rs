//! Policy rules: the kernel's rules ([`nlq::rule_rules::RuleTable`]) over
//! the engine's route tables and links, admitted and mirrored by the data
//! plane.

use std::collections::{BTreeMap, BTreeSet};

use nlq::stack::{CreateFlags, Cursor, Event, Events, LinkKey, StackResult, Visit};
use nlq::wire::RuleRepr;

use crate::link::Link;
use crate::plane::Change;
use crate::{DataPlane, MemStack};

/// What the rules see of the engine: its route tables and links, and the
/// plane's admission.
struct Host<'a, D> {
    tables: &'a mut BTreeSet<(u8, u32)>,
    links: &'a BTreeMap<u32, Link>,
    plane: &'a D,
}

impl<D: DataPlane> nlq::rule_rules::RuleHost for Host<'_, D> {
    fn route_table_exists(&self, family: u8, id: u32) -> bool {
        self.tables.contains(&(family, id))
    }

    fn create_route_table(&mut self, family: u8, id: u32) {
        self.tables.insert((family, id));
    }

    fn link_named(&self, name: &str) -> bool {
        self.links.values().any(|l| l.name.as_str() == name)
    }

    fn admit(&self, rule: &RuleRepr, added: bool) -> StackResult<()> {
        self.plane.admit_rule(rule, added)
    }
}

impl<D: DataPlane> MemStack<D> {
    /// The rules of `family` from `from` on, as a dump lists them.
    pub(crate) fn rules_after(
        &self,
        family: u8,
        from: &Cursor,
        visit: Visit<'_, RuleRepr>,
    ) -> StackResult<Cursor> {
        let named = |n: &str| self.find_link(LinkKey::Name(n)).is_some();
        self.rules.list(family, from, &named, visit)
    }

    /// Adds or deletes a rule; the change is mirrored once made.
    pub(crate) fn rule_change(
        &mut self,
        req: &RuleRepr,
        add: Option<CreateFlags>,
        events: Events<'_>,
    ) -> StackResult<()> {
        let MemStack {
            rules,
            tables,
            links,
            plane,
            ..
        } = self;
        let mut host = Host {
            tables,
            links,
            plane: &*plane,
        };
        let mut changed = None;
        let mut heard = |e: Event<'_>| {
            if let Event::NewRule(r) | Event::DelRule(r) = e {
                changed = Some(*r);
            }
            events(e);
        };
        match add {
            Some(flags) => rules.add(req, flags, &mut host, &mut heard)?,
            None => rules.del(req, &host, &mut heard)?,
        }
        if let Some(r) = changed {
            self.plane.mirror(if add.is_some() {
                Change::RuleAdded(&r)
            } else {
                Change::RuleRemoved(&r)
            });
        }
        Ok(())
    }
}
