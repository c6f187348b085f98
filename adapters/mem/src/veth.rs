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
        if let Some(p) = &peer {
            if let Some(mac) = p.address {
                link.mac = hw(mac.as_slice());
            }
            if let Some(mtu) = p.mtu {
                link.set_initial_mtu(mtu);
            }
            if let Some(q) = p.txqlen {
                link.txqlen = q;
            }
            if let Some(g) = p.group {
                link.group = g;
            }
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
                self.notify_link(i, events);
            } else {
                self.carrier_lost(i, events);
            }
        }
        for i in ready {
            self.ipv6_dad_run(i, events);
        }
    }

    /// `default_operstate` of a veth end: up with carrier; without, its
    /// lower layer is down when its peer has no carrier either (always,
    /// once tied), and it is down when it has no peer.
    fn default_operstate(&self, l: &Link) -> u8 {
        if l.carrier {
            return IF_OPER_UP;
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
}
