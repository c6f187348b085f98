//! veth pairs (`drivers/net/veth.c`): two links made in one request, the
//! peer first; each has carrier while both are up; deleting one deletes
//! both. Their operational state follows the kernel's link watcher
//! (`default_operstate`): set after the request that changed a carrier,
//! in the order the carriers changed.

use std::sync::OnceLock;

use nlq::errno::*;
use nlq::server::link_kind::{veth_peer, veth_validate};
use nlq::stack::{Events, NewLink, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::IfName;

use crate::link::{hw, Kind, Link};
use crate::{DataPlane, MemStack};

/// `veth_get_num_queues`: one queue each way per possible CPU (at most
/// 4,096), as `/sys/devices/system/cpu/possible` lists them; 1 when it
/// cannot be read.
pub(crate) fn queues() -> u32 {
    static QUEUES: OnceLock<u32> = OnceLock::new();
    *QUEUES.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| count_cpus(s.trim()))
            .or_else(|| {
                std::thread::available_parallelism()
                    .ok()
                    .and_then(|n| u32::try_from(n.get()).ok())
            })
            .unwrap_or(1)
            .clamp(1, 4096)
    })
}

/// The number of CPUs in a list such as `0-3,8,10-11`; `None` if it is
/// not one.
fn count_cpus(list: &str) -> Option<u32> {
    let mut n: u32 = 0;
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        n = n.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
    }
    (n > 0).then_some(n)
}

impl<D: DataPlane> MemStack<D> {
    /// `veth_newlink`: the peer is registered and told first (not yet
    /// tied: it names no link), then the link, tied to it. A failure after
    /// the peer was made unregisters it.
    pub(crate) fn veth_add(&mut self, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        veth_validate(
            new.change.address.as_ref().map(|m| m.as_slice()),
            new.change.mtu,
        )?;
        let peer = veth_peer(new.info)?;
        if let Some(p) = &peer {
            veth_validate(p.address.as_ref().map(|m| m.as_slice()), p.mtu)?;
        }
        let peer_name = match peer.as_ref().and_then(|p| p.name) {
            Some(n) => self.new_link_name(n.as_str())?,
            None => self.alloc_name("veth%d")?,
        };
        let asked = peer
            .as_ref()
            .map_or(0, |p| p.header.index)
            .min(i32::MAX as u32);
        let peer_index = if asked != 0 && new.index != 0 {
            if self.links.contains_key(&asked) {
                return Err(StackError::new(EBUSY));
            }
            asked
        } else {
            self.alloc_index()
        };
        let mut link = self.made_link(Kind::Veth, peer_index, peer_name);
        // Without peer attributes the peer is made from the link's own
        // (all but its address).
        let (mtu, txqlen, group) = match &peer {
            Some(p) => {
                if let Some(mac) = p.address {
                    link.mac = hw(mac.as_slice());
                }
                (p.mtu, p.txqlen, p.group)
            }
            None => (new.change.mtu, new.change.txqlen, new.change.group),
        };
        if let Some(mtu) = mtu {
            link.set_initial_mtu(mtu);
        }
        if let Some(q) = txqlen {
            link.txqlen = q;
        }
        if let Some(g) = group {
            link.group = g;
        }
        // `netif_carrier_off` once registered, counted.
        link.set_carrier(false);
        self.register(link, events);
        if peer.as_ref().is_some_and(|p| p.header.flags & IFF_UP != 0) {
            // `veth_open` on a peer not tied yet: `ENOTCONN`, and the peer
            // goes without having been told.
            self.unregister(peer_index, false, events);
            return Err(StackError::new(ENOTCONN));
        }
        self.notify_link_change(peer_index, u32::MAX, events);
        let name = match &new.name {
            Some(n) if n.as_str().contains("%d") => self.alloc_name(n.as_str()),
            Some(n)
                if self
                    .find_link(nlq::stack::LinkKey::Name(n.as_str()))
                    .is_some() =>
            {
                Err(StackError::new(EEXIST))
            }
            Some(n) => Ok(*n),
            None => self.alloc_name("veth%d"),
        };
        let index = match (name, new.index) {
            (Err(e), _) => Err(e),
            (Ok(_), i) if i != 0 && self.links.contains_key(&i) => Err(StackError::new(EBUSY)),
            (Ok(n), 0) => Ok((n, self.alloc_index())),
            (Ok(n), i) => Ok((n, i)),
        };
        let (name, index) = match index {
            Ok(x) => x,
            Err(e) => {
                self.unregister(peer_index, true, events);
                return Err(e);
            }
        };
        let mut link = self.made_link(Kind::Veth, index, name);
        link.apply_new(&new.change);
        // `netif_carrier_off` once registered, counted.
        link.set_carrier(false);
        self.register(link, events);
        // Tied together.
        if let Ok(l) = self.link_mut(index) {
            l.peer = peer_index;
        }
        if let Ok(l) = self.link_mut(peer_index) {
            l.peer = index;
        }
        let up = new.change.flags(0).is_some_and(|f| f & IFF_UP != 0);
        self.announce(index, up, events);
        // Both carriers went off as they were registered: the link
        // watcher runs for the peer, then the link.
        self.linkwatch(&[peer_index, index], events);
        Ok(index)
    }

    /// A name asked for a new link: a pattern with `%d` gets the first
    /// free number; a plain name must be valid and free.
    pub(crate) fn new_link_name(&self, name: &str) -> StackResult<IfName> {
        if name.contains("%d") {
            return self.alloc_name(name);
        }
        if !crate::link::valid_name(name) {
            return Err(StackError::new(EINVAL));
        }
        if self.find_link(nlq::stack::LinkKey::Name(name)).is_some() {
            return Err(StackError::new(EEXIST));
        }
        IfName::try_from_str(name).ok_or(StackError::new(EINVAL))
    }

    /// `veth_open`: with the peer up, both ends get carrier (the link
    /// first, then its peer).
    pub(crate) fn veth_open(&mut self, index: u32) -> Vec<u32> {
        let Ok(l) = self.link_ref(index) else {
            return Vec::new();
        };
        let peer = l.peer;
        if !self.links.get(&peer).is_some_and(Link::is_up) {
            return Vec::new();
        }
        self.veth_carrier(&[index, peer], true)
    }

    /// `veth_close`: both ends lose carrier (the link first).
    pub(crate) fn veth_close(&mut self, index: u32) -> Vec<u32> {
        let peer = self.link_ref(index).map_or(0, |l| l.peer);
        self.veth_carrier(&[index, peer], false)
    }

    /// Sets the carrier of `ends`; the ones whose carrier changed, for the
    /// link watcher, in order.
    fn veth_carrier(&mut self, ends: &[u32], on: bool) -> Vec<u32> {
        let mut changed = Vec::new();
        for &i in ends {
            if let Ok(l) = self.link_mut(i) {
                if l.carrier != on {
                    l.set_carrier(on);
                    changed.push(i);
                }
            }
        }
        changed
    }

    /// The link watcher on `pending`, in order (`linkwatch_do_dev`): each
    /// gets its operational state; a link that is up then tells
    /// `NETDEV_CHANGE` (its routes follow the carrier, IPv6 configures
    /// itself once ready) and rtnetlink. Duplicate address detection of
    /// the links that became ready ends after all of them.
    pub(crate) fn linkwatch(&mut self, pending: &[u32], events: Events<'_>) {
        let mut ready = Vec::new();
        for &i in pending {
            let Ok(l) = self.link_ref(i) else { continue };
            let oper = self.default_operstate(l);
            let (up, carrier) = (l.is_up(), l.carrier);
            if let Ok(l) = self.link_mut(i) {
                l.oper = oper;
            }
            if !up {
                continue;
            }
            if carrier {
                self.set_linkdown(i, false);
                if self.ipv6_config(i, events) {
                    ready.push(i);
                }
                // NETDEV_CHANGE reaches the macvlans on it, then its bridge.
                self.macvlan_transfer(i);
                self.br_port_event(i, crate::bridge_port::PortEvent::Change, events);
                self.notify_link(i, events);
            } else {
                self.carrier_lost(i, events);
            }
        }
        for i in ready {
            self.ipv6_dad_run(i, events);
        }
        // The macvlans that took a carrier are the next run's.
        let next = std::mem::take(&mut self.stacked_pending);
        if !next.is_empty() {
            self.linkwatch(&next, events);
        }
    }

    /// A link whose carrier changed under it, for the link watcher's next
    /// run (once: that run tells its last state).
    pub(crate) fn watch_next(&mut self, index: u32) {
        if !self.stacked_pending.contains(&index) {
            self.stacked_pending.push(index);
        }
    }

    /// `default_operstate` of a veth end: up with carrier; without, its
    /// lower layer is down when its peer has no carrier either (always,
    /// once tied), and it is down when it has no peer.
    fn default_operstate(&self, l: &Link) -> u8 {
        if l.carrier {
            return IF_OPER_UP;
        }
        if l.macvlan.is_some() {
            // Stacked on a link (`dev_get_iflink` is not its own index).
            return IF_OPER_LOWERLAYERDOWN;
        }
        match self.links.get(&l.peer) {
            Some(p) if l.peer != 0 && !p.carrier => IF_OPER_LOWERLAYERDOWN,
            _ => IF_OPER_DOWN,
        }
    }

    /// `veth_dellink`: the pair is untied and both go, in one batch.
    pub(crate) fn veth_del(&mut self, index: u32, events: Events<'_>) {
        let peer = self.link_ref(index).map_or(0, |l| l.peer);
        let ends: Vec<u32> = [index, peer]
            .into_iter()
            .filter(|i| self.links.contains_key(i))
            .collect();
        for &i in &ends {
            if let Ok(l) = self.link_mut(i) {
                l.peer = 0;
            }
        }
        self.close_many(&ends, events);
        for &i in &ends {
            self.unregister(i, true, events);
        }
    }
}

#[cfg(test)]
mod tests {
    use nlq::stack::{Event, LinkChange, LinkKey, Stack};
    use nlq::wire::{InlineBytes, InlineStr, LinkInfoRepr, LinkRepr};

    use super::*;

    #[test]
    fn cpu_lists_count() {
        assert_eq!(count_cpus("0"), Some(1));
        assert_eq!(count_cpus("0-1"), Some(2));
        assert_eq!(count_cpus("0-3,8,10-11"), Some(7));
        assert_eq!(count_cpus(""), None);
        assert_eq!(count_cpus("3-1"), None);
        assert_eq!(count_cpus("x"), None);
        assert!(queues() >= 1);
    }

    /// `IFLA_LINKINFO` of a veth whose peer is named `peer`, with the
    /// peer's `ifi_flags`.
    fn info(peer: &str, flags: u32) -> LinkInfoRepr {
        let mut p = vec![0u8; 16];
        p[8..12].copy_from_slice(&flags.to_ne_bytes());
        let name_len = 4 + peer.len() + 1;
        p.extend_from_slice(&(name_len as u16).to_ne_bytes());
        p.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        p.extend_from_slice(peer.as_bytes());
        p.push(0);
        p.resize(p.len().next_multiple_of(4), 0);
        let mut data = ((4 + p.len()) as u16).to_ne_bytes().to_vec();
        data.extend_from_slice(&1u16.to_ne_bytes());
        data.extend_from_slice(&p);
        LinkInfoRepr {
            kind: InlineStr::try_from_str("veth"),
            data: InlineBytes::try_from_slice(&data),
            ..LinkInfoRepr::default()
        }
    }

    /// What happened, in a few words per event.
    fn add(
        s: &mut MemStack,
        name: &str,
        peer: &str,
        flags: u32,
    ) -> (StackResult<u32>, Vec<String>) {
        let info = info(peer, flags);
        let new = NewLink {
            index: 0,
            name: IfName::try_from_str(name),
            kind: "veth",
            info: Some(&info),
            change: LinkChange::default(),
        };
        let mut seen = Vec::new();
        let r = s.add_link(&new, &mut |e| seen.push(said(&e)));
        (r, seen)
    }

    fn said(e: &Event<'_>) -> String {
        match e {
            Event::NewLink(l) => format!(
                "link {} link={:?} oper={:?} flags={:#x}",
                l.header.index,
                l.link,
                l.operstate,
                l.header.flags & (IFF_UP | IFF_RUNNING | IFF_LOWER_UP)
            ),
            Event::DelLink(l) => format!("del {} link={:?}", l.header.index, l.link),
            Event::NewNetconf { family, index } => format!("netconf {family} {index}"),
            Event::DelNetconf { family, index } => format!("-netconf {family} {index}"),
            Event::NewAddr(a) => format!("addr {}", a.header.index),
            Event::DelAddr(a) => format!("-addr {}", a.header.index),
            Event::NewRoute(r, _) => format!("route {}", r.oif.unwrap_or(0)),
            Event::DelRoute(r) => format!("-route {}", r.oif.unwrap_or(0)),
            _ => "other".to_string(),
        }
    }

    fn set_up(s: &mut MemStack, index: u32, up: bool) -> Vec<String> {
        let c = LinkChange {
            flags: if up { IFF_UP } else { 0 },
            flags_mask: IFF_UP,
            ..LinkChange::default()
        };
        let mut seen = Vec::new();
        s.set_link(index, &c, &mut |e| seen.push(said(&e))).unwrap();
        seen
    }

    fn link(s: &MemStack, index: u32) -> LinkRepr {
        s.link(LinkKey::Index(index)).unwrap()
    }

    #[test]
    fn the_peer_comes_first_untied_then_the_link_tied_to_it() {
        let mut s = MemStack::new();
        let (r, seen) = add(&mut s, "v0", "v1", 0);
        assert_eq!(r, Ok(3));
        assert_eq!(
            seen,
            [
                "netconf 2 2",
                "netconf 10 2",
                "link 2 link=Some(0) oper=Some(2) flags=0x0",
                "netconf 2 3",
                "netconf 10 3",
                "link 3 link=Some(2) oper=Some(2) flags=0x0",
            ]
        );
        let v1 = link(&s, 2);
        assert_eq!(v1.name.unwrap().as_str(), "v1");
        assert_eq!(v1.link, Some(3));
        assert_eq!(v1.carrier, Some(0));
        assert_eq!(v1.details.carrier_down_count, Some(1));
        assert_eq!(v1.details.num_tx_queues, Some(queues()));
    }

    #[test]
    fn carrier_needs_both_ends_up_and_the_link_watcher_tells() {
        let mut s = MemStack::new();
        add(&mut s, "v0", "v1", 0).0.unwrap();
        // One end up: no carrier, its lower layer down.
        let seen = set_up(&mut s, 3, true);
        assert_eq!(seen, ["link 3 link=Some(2) oper=Some(3) flags=0x1"]);
        // Both: carrier at once, running once the link watcher ran, for
        // the link opened, then its peer; then their link-local addresses.
        let seen = set_up(&mut s, 2, true);
        assert_eq!(
            seen,
            [
                "link 2 link=Some(3) oper=Some(3) flags=0x10001",
                "route 2",
                "route 2",
                "link 2 link=Some(3) oper=Some(6) flags=0x10041",
                "route 3",
                "route 3",
                "link 3 link=Some(2) oper=Some(6) flags=0x10041",
                "addr 2",
                "route 2",
                "addr 3",
                "route 3",
            ]
        );
        // One end down: the other loses carrier.
        set_up(&mut s, 3, false);
        let v1 = link(&s, 2);
        assert_eq!(v1.operstate, Some(IF_OPER_LOWERLAYERDOWN));
        assert_eq!(v1.header.flags & (IFF_RUNNING | IFF_LOWER_UP), 0);
    }

    #[test]
    fn deleting_one_end_deletes_both_in_one_batch() {
        let mut s = MemStack::new();
        add(&mut s, "v0", "v1", 0).0.unwrap();
        set_up(&mut s, 2, true);
        set_up(&mut s, 3, true);
        let mut seen = Vec::new();
        s.del_link(2, &mut |e| seen.push(said(&e))).unwrap();
        let links: Vec<&String> = seen
            .iter()
            .filter(|l| l.starts_with("link") || l.starts_with("del"))
            .collect();
        assert_eq!(
            links,
            [
                "link 2 link=Some(0) oper=Some(2) flags=0x0",
                "link 3 link=Some(0) oper=Some(2) flags=0x0",
                "del 2 link=Some(0)",
                "del 3 link=Some(0)",
            ]
        );
        assert!(s.link(LinkKey::Index(3)).is_err());
    }

    #[test]
    fn a_pair_survives_saving_and_restoring() {
        let mut s = MemStack::new();
        add(&mut s, "v0", "v1", 0).0.unwrap();
        set_up(&mut s, 2, true);
        let dump = |s: &MemStack| s.links_iter().map(|l| l.repr()).collect::<Vec<_>>();
        let back = MemStack::from_tables(&s.tables()).unwrap();
        assert_eq!(dump(&back), dump(&s));
        // A pair torn apart does not load.
        let mut t = s.tables();
        t.links.retain(|l| l.header.index != 3);
        assert!(MemStack::from_tables(&t).is_err());
        // Once loaded, the pair still works: the other end up brings
        // carrier to both.
        let mut back = back;
        set_up(&mut back, 3, true);
        assert_eq!(link(&back, 2).operstate, Some(IF_OPER_UP));
    }

    #[test]
    fn a_failed_pair_leaves_nothing() {
        let mut s = MemStack::new();
        // The link's name is the peer's: the peer is made, told, and goes.
        let (r, seen) = add(&mut s, "v0", "v0", 0);
        assert_eq!(r.unwrap_err().errno, EEXIST);
        assert_eq!(seen.last().map(String::as_str), Some("del 2 link=Some(0)"));
        // A peer asked up cannot open before it is tied: never told.
        let (r, seen) = add(&mut s, "v0", "v1", IFF_UP);
        assert_eq!(r.unwrap_err().errno, ENOTCONN);
        assert!(seen.iter().all(|e| e.contains("netconf")));
        assert_eq!(s.links_iter().count(), 1);
    }
}
