//! macvlan links (`drivers/net/macvlan.c`): a link with its own MAC on a
//! lower Ethernet link, whose carrier it copies, whose MTU bounds its own,
//! and with which it goes.
//!
//! The lower link of a macvlan made on another macvlan is that one's
//! lower link. An open macvlan puts its MAC on the lower link's unicast
//! list; none of the lower links here filters unicast, so the lower link
//! turns promiscuous while it is up with such a list (silently: its
//! `IFLA_PROMISCUITY` counts it, its next notification's `ifi_change`
//! shows `IFF_PROMISC` when its opening turned it). Modes `private`,
//! `vepa` and `bridge` are modelled; `passthru` (which takes the lower
//! link's MAC and promiscuity over) and `source` (lists of source MACs)
//! are refused with a text.

use nlq::errno::*;
use nlq::stack::{Events, LinkChange, NewLink, StackError, StackResult};
use nlq::wire::consts::{ARPHRD_ETHER, IFF_PROMISC, IFF_UP, IF_OPER_LOWERLAYERDOWN};
use nlq::wire::{Attrs, InlineBytes, Writer, INFO_DATA_CAPACITY};

use crate::link::Kind;
use crate::{DataPlane, MemStack};

const IFLA_MACVLAN_MODE: u16 = 1;
const IFLA_MACVLAN_FLAGS: u16 = 2;
const IFLA_MACVLAN_MACADDR_MODE: u16 = 3;
const IFLA_MACVLAN_MACADDR_COUNT: u16 = 6;
const IFLA_MACVLAN_BC_QUEUE_LEN: u16 = 7;
const IFLA_MACVLAN_BC_QUEUE_LEN_USED: u16 = 8;

/// `MACVLAN_MODE_*` (and `MACVLAN_MODE_PRIVATE` 1, `MACVLAN_MODE_BRIDGE` 4).
pub(crate) const MODE_VEPA: u32 = 2;
pub(crate) const MODE_PASSTHRU: u32 = 8;
pub(crate) const MODE_SOURCE: u32 = 16;

/// `MACVLAN_DEFAULT_BC_QUEUE_LEN`.
const DEFAULT_BC_QUEUE_LEN: u32 = 1000;

/// A macvlan's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Macvlan {
    /// The lower link.
    pub lower: u32,
    pub mode: u32,
    /// `MACVLAN_FLAG_*`.
    pub flags: u16,
    /// The broadcast queue it asked for.
    pub bc_queue_len: u32,
    /// The queue its lower link's port uses: the largest any macvlan on
    /// it asked for (`update_port_bc_queue_len`).
    pub bc_queue_len_used: u32,
    /// The largest segment it offloads: its lower link's
    /// (`netif_inherit_tso_max`).
    pub tso_max_size: u32,
}

fn bad() -> StackError {
    StackError::new(EINVAL)
}

impl Macvlan {
    /// The configuration an `IFLA_INFO_DATA` of `macvlan` gives (a
    /// request's, or a saved link's), over the kernel's defaults.
    pub(crate) fn parse(data: &[u8], lower: u32) -> StackResult<Macvlan> {
        let mut c = Macvlan {
            lower,
            mode: MODE_VEPA,
            flags: 0,
            bc_queue_len: DEFAULT_BC_QUEUE_LEN,
            bc_queue_len_used: DEFAULT_BC_QUEUE_LEN,
            tso_max_size: 65536,
        };
        for a in Attrs::new(data) {
            let a = a.map_err(|_| bad())?;
            match a.attr_type() {
                IFLA_MACVLAN_MODE => c.mode = a.u32().map_err(|_| bad())?,
                IFLA_MACVLAN_FLAGS => c.flags = a.u16().map_err(|_| bad())?,
                IFLA_MACVLAN_BC_QUEUE_LEN => c.bc_queue_len = a.u32().map_err(|_| bad())?,
                IFLA_MACVLAN_BC_QUEUE_LEN_USED => {
                    c.bc_queue_len_used = a.u32().map_err(|_| bad())?
                }
                // Reported, not asked for.
                IFLA_MACVLAN_MACADDR_COUNT => {}
                // `macvlan_common_newlink`: source lists only in source mode.
                IFLA_MACVLAN_MACADDR_MODE if c.mode != MODE_SOURCE => return Err(bad()),
                _ => {
                    return Err(StackError::with_message(
                        EOPNOTSUPP,
                        "nlq: this macvlan attribute is not supported",
                    ))
                }
            }
        }
        Ok(c)
    }

    /// `IFLA_INFO_DATA`, in `macvlan_fill_info`'s order.
    pub(crate) fn info_data(&self) -> Option<InlineBytes<INFO_DATA_CAPACITY>> {
        let mut w = Writer::new(Vec::new());
        w.attr_u32(IFLA_MACVLAN_MODE, self.mode).ok()?;
        w.attr_u16(IFLA_MACVLAN_FLAGS, self.flags).ok()?;
        w.attr_u32(IFLA_MACVLAN_MACADDR_COUNT, 0).ok()?;
        w.attr_u32(IFLA_MACVLAN_BC_QUEUE_LEN, self.bc_queue_len)
            .ok()?;
        w.attr_u32(IFLA_MACVLAN_BC_QUEUE_LEN_USED, self.bc_queue_len_used)
            .ok()?;
        InlineBytes::try_from_slice(&w.into_inner())
    }
}

impl<D: DataPlane> MemStack<D> {
    /// `macvlan_newlink`: the lower link (a macvlan's own lower link when
    /// it is one), an MTU no larger than the lower link's, the carrier it
    /// has (copied before it is registered, so not counted); then the
    /// lower link is told of its new upper, the link itself, and the link
    /// watcher runs for it.
    pub(crate) fn macvlan_add(
        &mut self,
        new: &NewLink<'_>,
        events: Events<'_>,
    ) -> StackResult<u32> {
        let data = new.info.and_then(|i| i.data);
        // `rtnl_create_link`: the MTU within the kind's range first.
        if let Some(mtu) = new.change.mtu {
            crate::link::check_mtu(Kind::Macvlan.mtu_range(), mtu)?;
        }
        let lower = new.change.link.ok_or_else(bad)?;
        let mut conf = Macvlan::parse(data.as_ref().map_or(&[][..], |d| d.as_slice()), lower)?;
        let mut l = self.links.get(&lower).ok_or(StackError::new(ENODEV))?;
        if let Some(real) = l.macvlan.as_ref().map(|c| c.lower) {
            l = self.links.get(&real).ok_or(StackError::new(ENODEV))?;
        }
        // `macvlan_port_create`: Ethernet links only.
        if l.repr().header.hardware_type != ARPHRD_ETHER {
            return Err(bad());
        }
        let (lower, lower_mtu, lower_max, carrier) = (l.index, l.mtu, l.max_mtu, l.carrier);
        let mtu = match new.change.mtu {
            Some(m) if m > lower_mtu => return Err(bad()),
            Some(m) => m,
            None => lower_mtu,
        };
        // `macvlan_port_create`: a bridge port's receive handler is the
        // bridge's.
        if self.macvlans_over(lower).is_empty() && self.master_of(lower).is_some() {
            return Err(StackError::new(EBUSY));
        }
        // A passthru macvlan must be its lower link's only one.
        if conf.mode == MODE_PASSTHRU && !self.macvlans_over(lower).is_empty() {
            return Err(bad());
        }
        if matches!(conf.mode, MODE_PASSTHRU | MODE_SOURCE) {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "nlq: macvlan modes passthru and source are not supported",
            ));
        }
        let (name, index) = self.name_and_index(new, Kind::Macvlan)?;
        conf.lower = lower;
        conf.tso_max_size = self.tso_max_of(lower);
        let mut link = self.made_link(Kind::Macvlan, index, name);
        link.apply_new(&new.change);
        link.set_initial_mtu(mtu);
        link.max_mtu = lower_max;
        link.carrier = carrier;
        if !carrier {
            // `linkwatch_init_dev`: a link registered without carrier has
            // its operational state at once.
            link.oper = IF_OPER_LOWERLAYERDOWN;
        }
        link.macvlan = Some(Box::new(conf));
        self.register(link, events);
        self.macvlan_queue_len(lower, &[]);
        // `netdev_upper_dev_link`: NETDEV_CHANGEUPPER on the lower link.
        self.notify_link(lower, events);
        let up = new.change.flags(0).is_some_and(|f| f & IFF_UP != 0);
        // `linkwatch_fire_event` of the new link runs after the request
        // (its operational state, silently while it is down), before the
        // duplicate address detection an opening started.
        self.dad_deferred = Some(Vec::new());
        self.announce(index, up, events);
        let waiting = self.dad_deferred.take().unwrap_or_default();
        self.linkwatch(&[index], events);
        for i in waiting {
            self.ipv6_dad_run(i, events);
        }
        Ok(index)
    }

    /// `update_port_bc_queue_len`: every macvlan on `lower` reports the
    /// largest queue any of them but `leaving` asked for (0 for none: the
    /// ones leaving are off the port's list as they close and go).
    pub(crate) fn macvlan_queue_len(&mut self, lower: u32, leaving: &[u32]) {
        let over = self.macvlans_over(lower);
        let used = over
            .iter()
            .filter(|i| !leaving.contains(i))
            .filter_map(|i| self.links.get(i)?.macvlan.as_ref().map(|c| c.bc_queue_len))
            .max()
            .unwrap_or(0);
        for i in over {
            if let Some(c) = self.links.get_mut(&i).and_then(|l| l.macvlan.as_mut()) {
                c.bc_queue_len_used = used;
            }
        }
    }

    /// The macvlans on `lower`, oldest first (the port's list).
    pub(crate) fn macvlans_over(&self, lower: u32) -> Vec<u32> {
        let mut over: Vec<(u64, u32)> = self
            .links
            .values()
            .filter(|l| l.macvlan.as_ref().is_some_and(|c| c.lower == lower))
            .map(|l| (l.born[0], l.index))
            .collect();
        over.sort_unstable();
        over.into_iter().map(|(_, i)| i).collect()
    }

    /// `netif_stacked_transfer_operstate` for each macvlan on `lower`
    /// (its NETDEV_UP, NETDEV_DOWN, NETDEV_CHANGE): each takes the lower
    /// link's carrier; the ones whose carrier changed wait for the next
    /// run of the link watcher.
    pub(crate) fn macvlan_transfer(&mut self, lower: u32) {
        let Some(carrier) = self.links.get(&lower).map(|l| l.carrier) else {
            return;
        };
        for i in self.macvlans_over(lower) {
            if let Some(l) = self.links.get_mut(&i) {
                if l.carrier != carrier {
                    l.set_carrier(carrier);
                    self.watch_next(i);
                }
            }
        }
    }

    /// What an open macvlan passes on to its lower link of its own
    /// all-multicast and promiscuous states (`macvlan_open` with `1`,
    /// `macvlan_stop` with `-1`), as [`MemStack::macvlan_rx_flags_changed`]
    /// does.
    pub(crate) fn macvlan_pass_rx_flags(&mut self, index: u32, step: i32, events: Events<'_>) {
        let Some((allmulti, promisc)) = self
            .links
            .get(&index)
            .map(|l| (l.allmulti > 0, l.promiscuity() > 0))
        else {
            return;
        };
        self.macvlan_rx_flags_changed(
            index,
            allmulti.then_some(step),
            promisc.then_some(step),
            events,
        );
    }

    /// `macvlan_change_rx_flags`: an open macvlan whose all-multicast
    /// (`allmulti`) or promiscuous (`promisc`) state turned on (`1`) or off
    /// (`-1`) passes it on to its lower link's counts, all-multicast
    /// silently, promiscuity told (`dev_set_promiscuity`). Nothing for a
    /// link that is not a macvlan, or is not open.
    pub(crate) fn macvlan_rx_flags_changed(
        &mut self,
        index: u32,
        allmulti: Option<i32>,
        promisc: Option<i32>,
        events: Events<'_>,
    ) {
        let Some(lower) = self
            .links
            .get(&index)
            .filter(|l| l.is_up())
            .and_then(|l| l.macvlan.as_ref())
            .map(|c| c.lower)
        else {
            return;
        };
        let Some(l) = self.links.get_mut(&lower) else {
            return;
        };
        if let Some(step) = allmulti {
            l.allmulti = l.allmulti.saturating_add_signed(step);
        }
        if let Some(step) = promisc {
            l.upper_promisc = l.upper_promisc.saturating_add_signed(step);
            self.notify_link_change(lower, IFF_PROMISC, events);
        }
    }

    /// After a restore: what the open macvlans pass on to their lower
    /// links, and the rest of each saved promiscuity (`saved`: index and
    /// promiscuity) is the unicast list's.
    pub(crate) fn restore_rx_flags(&mut self, saved: &[(u32, u32)]) {
        let passing: Vec<(u32, bool, bool)> = self
            .links
            .values()
            .filter(|l| l.is_up())
            .filter_map(|l| {
                let lower = l.macvlan.as_ref()?.lower;
                Some((lower, l.allmulti > 0, l.br_promisc > 0))
            })
            .collect();
        for (lower, allmulti, promisc) in passing {
            if let Some(l) = self.links.get_mut(&lower) {
                l.allmulti = l.allmulti.saturating_add(u32::from(allmulti));
                l.upper_promisc = l.upper_promisc.saturating_add(u32::from(promisc));
            }
        }
        for &(index, promiscuity) in saved {
            if let Some(l) = self.links.get_mut(&index) {
                l.uc_promisc = promiscuity > l.br_promisc.saturating_add(l.upper_promisc);
            }
        }
    }

    /// `__dev_set_rx_mode` of `lower` when it is up: promiscuous while a
    /// macvlan on it is open (its MAC on the unicast list). Whether that
    /// changed.
    pub(crate) fn macvlan_rx_mode(&mut self, lower: u32) -> bool {
        if !self.links.get(&lower).is_some_and(|l| l.is_up()) {
            return false;
        }
        let listed = self
            .macvlans_over(lower)
            .iter()
            .any(|i| self.links.get(i).is_some_and(|l| l.is_up()));
        match self.links.get_mut(&lower) {
            Some(l) if l.uc_promisc != listed => {
                l.uc_promisc = listed;
                true
            }
            _ => false,
        }
    }

    /// `macvlan_change_mtu`: no more than the lower link's.
    pub(crate) fn macvlan_check_mtu(&self, index: u32, mtu: u32) -> StackResult<()> {
        let lower = self
            .links
            .get(&index)
            .and_then(|l| l.macvlan.as_ref())
            .and_then(|c| self.links.get(&c.lower));
        match lower {
            Some(lower) if mtu > lower.mtu => Err(bad()),
            _ => Ok(()),
        }
    }

    /// NETDEV_CHANGEMTU of `lower`: each macvlan on it with a larger MTU
    /// takes the lower link's.
    pub(crate) fn macvlan_follow_mtu(&mut self, lower: u32, events: Events<'_>) {
        let Some(mtu) = self.links.get(&lower).map(|l| l.mtu) else {
            return;
        };
        for i in self.macvlans_over(lower) {
            if self.links.get(&i).is_some_and(|l| l.mtu > mtu) {
                let change = LinkChange {
                    mtu: Some(mtu),
                    ..LinkChange::default()
                };
                // An MTU the lower link has is always within range.
                let _ = self.link_set(i, &change, events);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::stack::{LinkKey, Stack};
    use nlq::wire::{InlineStr, LinkInfoRepr};

    const MODE_BRIDGE: u32 = 4;

    fn info(kind: &str, data: &[(u16, u32)]) -> LinkInfoRepr {
        let mut w = Writer::new(Vec::new());
        for (k, v) in data {
            w.attr_u32(*k, *v).unwrap();
        }
        LinkInfoRepr {
            kind: InlineStr::try_from_str(kind),
            data: InlineBytes::try_from_slice(&w.into_inner()),
            ..Default::default()
        }
    }

    fn add(
        s: &mut MemStack,
        name: &str,
        info: &LinkInfoRepr,
        change: LinkChange,
    ) -> StackResult<u32> {
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str(name),
            kind: info.kind.as_ref().map_or("", |k| k.as_str()),
            info: Some(info),
            change,
        };
        s.add_link(&new, &mut |_| {})
    }

    fn on(lower: u32) -> LinkChange {
        LinkChange {
            link: Some(lower),
            ..LinkChange::default()
        }
    }

    #[test]
    fn defaults_report_as_the_kernel_reports_them() {
        let c = Macvlan::parse(&[], 3).unwrap();
        let d = c.info_data().unwrap();
        let kinds: Vec<(u16, usize)> = Attrs::new(d.as_slice())
            .map(|a| a.map(|a| (a.attr_type(), a.value().len())).unwrap())
            .collect();
        assert_eq!(kinds, [(1, 4), (2, 2), (6, 4), (7, 4), (8, 4)]);
        assert_eq!(Macvlan::parse(d.as_slice(), 3).unwrap(), c);
        assert_eq!(c.mode, MODE_VEPA);
    }

    #[test]
    fn a_macvlan_fits_its_lower_link_follows_it_and_goes_with_it() {
        let mut s = MemStack::new();
        let b0 = add(&mut s, "b0", &info("bridge", &[]), LinkChange::default()).unwrap();
        let m = info("macvlan", &[(IFLA_MACVLAN_MODE, MODE_BRIDGE)]);
        // A lower link is needed, and must exist and be Ethernet.
        assert_eq!(
            add(&mut s, "m0", &m, LinkChange::default())
                .unwrap_err()
                .errno,
            EINVAL
        );
        assert_eq!(add(&mut s, "m0", &m, on(99)).unwrap_err().errno, ENODEV);
        assert_eq!(add(&mut s, "m0", &m, on(1)).unwrap_err().errno, EINVAL);
        let big = LinkChange {
            mtu: Some(1501),
            ..on(b0)
        };
        assert_eq!(add(&mut s, "m0", &m, big).unwrap_err().errno, EINVAL);
        let m0 = add(&mut s, "m0", &m, on(b0)).unwrap();
        // On a macvlan: on its lower link.
        let m1 = add(&mut s, "m1", &info("macvlan", &[]), on(m0)).unwrap();
        let l = s.link(LinkKey::Index(m1)).unwrap();
        assert_eq!(l.link, Some(b0));
        assert_eq!(l.mtu, Some(1500));
        // Opening it makes the lower link promiscuous once that is up.
        let up = LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..LinkChange::default()
        };
        s.set_link(m0, &up, &mut |_| {}).unwrap();
        let promisc = |s: &MemStack| s.link(LinkKey::Index(b0)).unwrap().details.promiscuity;
        assert_eq!(promisc(&s), Some(0));
        s.set_link(b0, &up, &mut |_| {}).unwrap();
        assert_eq!(promisc(&s), Some(1));
        // The lower link's MTU bounds and lowers theirs.
        let mtu = |m: u32| LinkChange {
            mtu: Some(m),
            ..LinkChange::default()
        };
        assert_eq!(
            s.set_link(m0, &mtu(1600), &mut |_| {}).unwrap_err().errno,
            EINVAL
        );
        s.set_link(b0, &mtu(1400), &mut |_| {}).unwrap();
        assert_eq!(s.link(LinkKey::Index(m1)).unwrap().mtu, Some(1400));
        // Saved and restored, then gone with the lower link.
        let back = MemStack::from_tables(&s.tables()).unwrap();
        assert_eq!(
            back.link(LinkKey::Index(m0)).unwrap(),
            s.link(LinkKey::Index(m0)).unwrap()
        );
        s.del_link(b0, &mut |_| {}).unwrap();
        assert!(s.link(LinkKey::Index(m0)).is_err());
        assert!(s.link(LinkKey::Index(m1)).is_err());
    }

    #[test]
    fn unmodelled_modes_and_attributes_are_refused() {
        let mut s = MemStack::new();
        let b0 = add(&mut s, "b0", &info("bridge", &[]), LinkChange::default()).unwrap();
        let passthru = info("macvlan", &[(IFLA_MACVLAN_MODE, MODE_PASSTHRU)]);
        assert_eq!(
            add(&mut s, "m0", &passthru, on(b0)).unwrap_err().errno,
            EOPNOTSUPP
        );
        assert_eq!(
            Macvlan::parse(&[4, 0, 9, 0], 2).unwrap_err().errno,
            EOPNOTSUPP
        );
    }
}
