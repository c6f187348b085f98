//! [`Persist`]: a stack that can write its whole state as netlink messages
//! and be rebuilt exactly from them, which a state file needs; and its
//! implementation for the `mem` stack.

use nlq::stack::Stack;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, LinkRepr, NeighRepr, NexthopRepr, NlMsg, RouteRepr, RuleRepr, Writer};
use nlq_mem::{MemStack, Tables};

/// A stack whose state can be saved and restored exactly.
pub trait Persist: Stack + Sized {
    /// Appends the whole state to `w` as netlink messages.
    fn save(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()>;

    /// The stack the messages written by [`save`](Persist::save)
    /// describe. The messages come from disk: anything that does not
    /// hold together is an error saying what, never a panic.
    fn restore(msgs: &[NlMsg<'_>]) -> Result<Self, String>;
}

/// The payload start of the `mem` stack's first message: its counters,
/// its route tables and the last nexthop id; its rules follow its routes,
/// its neighbours its rules, its nexthops its neighbours.
pub const MEM_MAGIC: &[u8; 8] = b"nlq-mem3";
/// The same, in a state saved before nexthops were kept (none; no last
/// nexthop id in the header).
pub const MEM_MAGIC_NO_NEXTHOPS: &[u8; 8] = b"nlq-mem2";
/// The same, in a state saved before neighbours were kept (none).
pub const MEM_MAGIC_NO_NEIGHS: &[u8; 8] = b"nlq-mem1";
/// The same, in a state saved before rules were kept (the default rules).
pub const MEM_MAGIC_NO_RULES: &[u8; 8] = b"nlq-mem\0";

impl Persist for MemStack {
    /// `NLMSG_NOOP` with [`MEM_MAGIC`], the last index, the MAC seed, the
    /// number of route tables and each as `(family, id)`, the last
    /// nexthop id (`u32`s); then `RTM_NEWLINK`, `RTM_NEWADDR`,
    /// `RTM_NEWROUTE`, `RTM_NEWRULE`, `RTM_NEWNEIGH` and `RTM_NEWNEXTHOP`
    /// for every entry of [`Tables`].
    fn save(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
        let t = self.tables();
        w.message(NLMSG_NOOP, 0, 0, 0, |w| {
            w.put(MEM_MAGIC)?;
            w.put(&t.last_index.to_ne_bytes())?;
            w.put(&t.mac_seed.to_ne_bytes())?;
            let n = u32::try_from(t.route_tables.len()).unwrap_or(u32::MAX);
            w.put(&n.to_ne_bytes())?;
            for (family, id) in &t.route_tables {
                w.put(&u32::from(*family).to_ne_bytes())?;
                w.put(&id.to_ne_bytes())?;
            }
            w.put(&t.last_nexthop_id.to_ne_bytes())
        })?;
        for l in &t.links {
            w.message(RTM_NEWLINK, 0, 0, 0, |w| l.emit(w))?;
        }
        for a in &t.addrs {
            w.message(RTM_NEWADDR, 0, 0, 0, |w| a.emit(w))?;
        }
        for r in &t.routes {
            w.message(RTM_NEWROUTE, 0, 0, 0, |w| r.emit(w))?;
        }
        for r in t.rules.iter().flatten() {
            w.message(RTM_NEWRULE, 0, 0, 0, |w| r.emit(w))?;
        }
        for n in &t.neighs {
            w.message(RTM_NEWNEIGH, 0, 0, 0, |w| n.emit(w))?;
        }
        for n in &t.nexthops {
            w.message(RTM_NEWNEXTHOP, 0, 0, 0, |w| n.emit(w))?;
        }
        Ok(())
    }

    fn restore(msgs: &[NlMsg<'_>]) -> Result<Self, String> {
        let (head, rest) = msgs
            .split_first()
            .ok_or_else(|| "no stack header".to_string())?;
        let p = head.payload();
        let keeps_nexthops = p.starts_with(MEM_MAGIC);
        let keeps_neighs = keeps_nexthops || p.starts_with(MEM_MAGIC_NO_NEXTHOPS);
        let keeps_rules = keeps_neighs || p.starts_with(MEM_MAGIC_NO_NEIGHS);
        if head.message_type() != NLMSG_NOOP || !(keeps_rules || p.starts_with(MEM_MAGIC_NO_RULES))
        {
            return Err("the mem stack's header is missing".into());
        }
        let u32_at = |i: usize| {
            p.get(i..i.saturating_add(4))
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
                .ok_or_else(|| "the mem stack's header is cut short".to_string())
        };
        let mut t = Tables {
            last_index: u32_at(8)?,
            mac_seed: u32_at(12)?,
            rules: keeps_rules.then(Vec::new),
            ..Tables::default()
        };
        let n = usize::try_from(u32_at(16)?).unwrap_or(usize::MAX);
        // The fixed part: magic, last index, MAC seed, table count, and
        // the last nexthop id if kept.
        let fixed: usize = if keeps_nexthops { 24 } else { 20 };
        if p.len() != n.saturating_mul(8).saturating_add(fixed) {
            return Err("the mem stack's header has a wrong length".into());
        }
        if keeps_nexthops {
            t.last_nexthop_id = u32_at(n.saturating_mul(8).saturating_add(20))?;
        }
        for i in 0..n {
            let at = 20usize.saturating_add(i.saturating_mul(8));
            let family = u8::try_from(u32_at(at)?).map_err(|_| "a table's family".to_string())?;
            t.route_tables.push((family, u32_at(at.saturating_add(4))?));
        }
        for (i, m) in rest.iter().enumerate() {
            let bad = |e: &dyn std::fmt::Display| format!("entry {}: {e}", i.saturating_add(1));
            match m.message_type() {
                RTM_NEWLINK if t.addrs.is_empty() && t.routes.is_empty() => {
                    t.links
                        .push(LinkRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?);
                }
                RTM_NEWADDR if t.routes.is_empty() => {
                    t.addrs
                        .push(AddrRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?);
                }
                RTM_NEWROUTE if t.rules.as_ref().is_none_or(Vec::is_empty) => {
                    t.routes
                        .push(RouteRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?);
                }
                RTM_NEWRULE if keeps_rules && t.neighs.is_empty() => {
                    let r = RuleRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?;
                    t.rules.get_or_insert_with(Vec::new).push(r);
                }
                RTM_NEWNEIGH if keeps_neighs && t.nexthops.is_empty() => {
                    t.neighs
                        .push(NeighRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?);
                }
                RTM_NEWNEXTHOP if keeps_nexthops => {
                    t.nexthops
                        .push(NexthopRepr::parse_payload(m.payload()).map_err(|e| bad(&e))?);
                }
                k => return Err(bad(&format!("a message of type {k} out of place"))),
            }
        }
        MemStack::from_tables(&t).map_err(|e| match e.message {
            Some(m) => format!("the tables do not hold together: {m}"),
            None => format!("the tables do not hold together ({})", e.errno),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::wire::Messages;

    #[test]
    fn save_then_restore_is_the_same_stack() {
        let mut s = MemStack::new();
        let up = nlq::stack::LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..Default::default()
        };
        s.set_link(1, &up, &mut |_| {}).unwrap();
        let neigh = NeighRepr {
            header: nlq::wire::NdMsg {
                family: AF_INET6,
                ifindex: 1,
                state: NUD_PERMANENT,
                ..Default::default()
            },
            dst: Some("2001:db8::1".parse().unwrap()),
            lladdr: nlq::wire::HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 1]),
            protocol: Some(RTPROT_STATIC),
            ..NeighRepr::default()
        };
        let create = nlq::stack::CreateFlags(NLM_F_CREATE);
        s.add_neigh(&neigh, create, &mut |_| {}).unwrap();
        let mut w = Writer::new(Vec::new());
        s.save(&mut w).unwrap();
        let bytes = w.into_inner();
        let msgs: Vec<_> = Messages::new(&bytes).map(Result::unwrap).collect();
        let r = MemStack::restore(&msgs).unwrap();
        assert_eq!(r.tables(), s.tables());
        assert_eq!(r.tables().neighs.len(), 1);
        assert!(MemStack::restore(&msgs[1..]).is_err());
        assert!(MemStack::restore(&[]).is_err());
    }
}
