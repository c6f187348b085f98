//! Bridge ports (`net/bridge/br_if.c`, `br_stp_if.c`, `br_stp.c`, with
//! the spanning tree off): `ip link set X master B` and `nomaster`, a
//! port made with its master, and what ports do to their bridge.
//!
//! A port is promiscuous and all-multicast for the bridge, has a number
//! (the lowest free), a path cost (by its kind's speed) and a state:
//! forwarding while the bridge and the port are both up and the port is
//! operationally up, disabled otherwise. The bridge has carrier while a
//! port forwards (decided where the kernel's `br_port_state_selection`
//! runs; the link watcher reports it afterwards); its MAC, unless one was
//! given, is the lowest of its ports' (all zeros without ports), and its
//! id holds it; its MTU, unless one was set, is the lowest of its ports';
//! its offload limit is the lowest of theirs, its headroom the largest
//! (which every port is then asked for), and a change of its features
//! (modelled by the kinds of its ports) is notified with `IFLA_EVENT`.
//!
//! Each port has `AF_BRIDGE` messages of its own (`br_ifinfo_notify`),
//! and its `IFLA_LINKINFO` names the bridge as its master's kind with the
//! port's attributes. The bridge's forwarding database is not modelled.
//! Ports may be veth ends, VXLAN links and macvlans.

use nlq::errno::*;
use nlq::stack::{Event, Events, LinkChange, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{InlineBytes, LinkRepr, Writer, INFO_DATA_CAPACITY};

use crate::link::{Kind, Link};
use crate::{DataPlane, MemStack};

/// `BR_STATE_DISABLED`, `BR_STATE_FORWARDING`.
pub(crate) const STATE_DISABLED: u8 = 0;
pub(crate) const STATE_FORWARDING: u8 = 3;

/// A port's default priority (`BR_PORT_DEFAULT_PRIORITY`... 0x20), the
/// high bits of its id.
const PORT_PRIORITY: u16 = 0x20;
/// The offload limit a bridge with ports starts from (`GSO_MAX_SIZE`).
const TSO_MAX: u32 = 524_280;
/// The most ports a bridge numbers (`BR_MAX_PORTS`).
const MAX_PORTS: u16 = 1024;

const IFLA_BRPORT_STATE: u16 = 1;
const IFLA_BRPORT_PRIORITY: u16 = 2;
const IFLA_BRPORT_COST: u16 = 3;
const IFLA_BRPORT_MODE: u16 = 4;
const IFLA_BRPORT_GUARD: u16 = 5;
const IFLA_BRPORT_PROTECT: u16 = 6;
const IFLA_BRPORT_FAST_LEAVE: u16 = 7;
const IFLA_BRPORT_LEARNING: u16 = 8;
const IFLA_BRPORT_UNICAST_FLOOD: u16 = 9;
const IFLA_BRPORT_PROXYARP: u16 = 10;
const IFLA_BRPORT_PROXYARP_WIFI: u16 = 12;
const IFLA_BRPORT_ROOT_ID: u16 = 13;
const IFLA_BRPORT_BRIDGE_ID: u16 = 14;
const IFLA_BRPORT_DESIGNATED_PORT: u16 = 15;
const IFLA_BRPORT_DESIGNATED_COST: u16 = 16;
const IFLA_BRPORT_ID: u16 = 17;
const IFLA_BRPORT_NO: u16 = 18;
const IFLA_BRPORT_TOPOLOGY_CHANGE_ACK: u16 = 19;
const IFLA_BRPORT_CONFIG_PENDING: u16 = 20;
const IFLA_BRPORT_MESSAGE_AGE_TIMER: u16 = 21;
const IFLA_BRPORT_FORWARD_DELAY_TIMER: u16 = 22;
const IFLA_BRPORT_HOLD_TIMER: u16 = 23;
const IFLA_BRPORT_MULTICAST_ROUTER: u16 = 25;
const IFLA_BRPORT_MCAST_FLOOD: u16 = 27;
const IFLA_BRPORT_MCAST_TO_UCAST: u16 = 28;
const IFLA_BRPORT_VLAN_TUNNEL: u16 = 29;
const IFLA_BRPORT_BCAST_FLOOD: u16 = 30;
const IFLA_BRPORT_GROUP_FWD_MASK: u16 = 31;
const IFLA_BRPORT_NEIGH_SUPPRESS: u16 = 32;
const IFLA_BRPORT_ISOLATED: u16 = 33;
const IFLA_BRPORT_MRP_RING_OPEN: u16 = 35;
const IFLA_BRPORT_MRP_IN_OPEN: u16 = 36;
const IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT: u16 = 37;
const IFLA_BRPORT_MCAST_EHT_HOSTS_CNT: u16 = 38;
const IFLA_BRPORT_LOCKED: u16 = 39;
const IFLA_BRPORT_MAB: u16 = 40;
const IFLA_BRPORT_MCAST_N_GROUPS: u16 = 41;
const IFLA_BRPORT_MCAST_MAX_GROUPS: u16 = 42;
const IFLA_BRPORT_NEIGH_VLAN_SUPPRESS: u16 = 43;

/// A link's part as a bridge port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Port {
    /// Its number on the bridge, from 1.
    pub no: u16,
    /// `BR_STATE_*`.
    pub state: u8,
    /// Its path cost (by its speed: 2 at 10 Gb/s, 100 when unknown).
    pub cost: u32,
    /// Its bridge's id (priority, MAC), which the bridge keeps current.
    pub bridge_id: [u8; 8],
    /// When it joined (the bridge lists its ports newest first).
    pub joined: u64,
}

impl Port {
    /// `IFLA_INFO_SLAVE_DATA` and `IFLA_PROTINFO` (`br_port_fill_attrs`).
    pub(crate) fn attrs(&self) -> Option<InlineBytes<INFO_DATA_CAPACITY>> {
        let mut w = Writer::new(Vec::new());
        self.emit(&mut w).ok()?;
        InlineBytes::try_from_slice(&w.into_inner())
    }

    fn emit(&self, w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
        // `br_make_port_id`: priority above the 10 bits of the number.
        let id = (PORT_PRIORITY << 10) | self.no;
        w.attr_u8(IFLA_BRPORT_STATE, self.state)?;
        w.attr_u16(IFLA_BRPORT_PRIORITY, PORT_PRIORITY)?;
        w.attr_u32(IFLA_BRPORT_COST, self.cost)?;
        for (k, v) in [
            (IFLA_BRPORT_MODE, 0),
            (IFLA_BRPORT_GUARD, 0),
            (IFLA_BRPORT_PROTECT, 0),
            (IFLA_BRPORT_FAST_LEAVE, 0),
            (IFLA_BRPORT_MCAST_TO_UCAST, 0),
            (IFLA_BRPORT_LEARNING, 1),
            (IFLA_BRPORT_UNICAST_FLOOD, 1),
            (IFLA_BRPORT_MCAST_FLOOD, 1),
            (IFLA_BRPORT_BCAST_FLOOD, 1),
            (IFLA_BRPORT_PROXYARP, 0),
            (IFLA_BRPORT_PROXYARP_WIFI, 0),
        ] {
            w.attr_u8(k, v)?;
        }
        // The bridge is its own root: the port is designated, at no cost.
        w.attr(IFLA_BRPORT_ROOT_ID, &self.bridge_id)?;
        w.attr(IFLA_BRPORT_BRIDGE_ID, &self.bridge_id)?;
        w.attr_u16(IFLA_BRPORT_DESIGNATED_PORT, id)?;
        w.attr_u16(IFLA_BRPORT_DESIGNATED_COST, 0)?;
        w.attr_u16(IFLA_BRPORT_ID, id)?;
        w.attr_u16(IFLA_BRPORT_NO, self.no)?;
        w.attr_u8(IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, 0)?;
        w.attr_u8(IFLA_BRPORT_CONFIG_PENDING, 0)?;
        w.attr_u8(IFLA_BRPORT_VLAN_TUNNEL, 0)?;
        w.attr_u16(IFLA_BRPORT_GROUP_FWD_MASK, 0)?;
        for k in [
            IFLA_BRPORT_NEIGH_SUPPRESS,
            IFLA_BRPORT_MRP_RING_OPEN,
            IFLA_BRPORT_MRP_IN_OPEN,
            IFLA_BRPORT_ISOLATED,
            IFLA_BRPORT_LOCKED,
            IFLA_BRPORT_MAB,
            IFLA_BRPORT_NEIGH_VLAN_SUPPRESS,
        ] {
            w.attr_u8(k, 0)?;
        }
        // The timers (centiseconds): none runs that this stack keeps.
        for k in [
            IFLA_BRPORT_MESSAGE_AGE_TIMER,
            IFLA_BRPORT_FORWARD_DELAY_TIMER,
            IFLA_BRPORT_HOLD_TIMER,
        ] {
            w.attr_u64(k, 0)?;
        }
        w.attr_u8(IFLA_BRPORT_MULTICAST_ROUTER, 1)?;
        w.attr_u32(IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT, 512)?;
        w.attr_u32(IFLA_BRPORT_MCAST_EHT_HOSTS_CNT, 0)?;
        w.attr_u32(IFLA_BRPORT_MCAST_N_GROUPS, 0)?;
        w.attr_u32(IFLA_BRPORT_MCAST_MAX_GROUPS, 0)
    }
}

/// The port number saved in a port's `IFLA_INFO_SLAVE_DATA`.
pub(crate) fn saved_port_no(data: &[u8]) -> Option<u16> {
    nlq::wire::Attrs::new(data)
        .find(IFLA_BRPORT_NO)
        .ok()
        .flatten()
        .and_then(|a| a.u16().ok())
        .filter(|n| (1..MAX_PORTS).contains(n))
}

/// What a port event is (`br_device_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortEvent {
    /// NETDEV_UP.
    Up,
    /// NETDEV_DOWN.
    Down,
    /// NETDEV_CHANGE (the port is up; its operational state changed).
    Change,
    /// NETDEV_CHANGEMTU.
    Mtu,
    /// NETDEV_CHANGEADDR.
    Addr,
}

impl<D: DataPlane> MemStack<D> {
    /// The bridge of port `index`, if it is one.
    pub(crate) fn master_of(&self, index: u32) -> Option<u32> {
        self.links
            .get(&index)
            .filter(|l| l.port.is_some() && l.master != 0)
            .map(|l| l.master)
    }

    /// The ports of bridge `br`, newest first (the bridge's list).
    pub(crate) fn ports_of(&self, br: u32) -> Vec<u32> {
        let mut ports: Vec<(u64, u32)> = self
            .links
            .values()
            .filter(|l| l.master == br)
            .filter_map(|l| l.port.as_ref().map(|p| (p.joined, l.index)))
            .collect();
        ports.sort_unstable_by(|a, b| b.cmp(a));
        ports.into_iter().map(|(_, i)| i).collect()
    }

    /// After a restore: every port's master is a bridge, numbers are not
    /// shared, and what follows from the ports (states, ids, costs, the
    /// bridges' limits and headroom, how each bridge got its MAC) is
    /// computed again.
    pub(crate) fn restore_ports(&mut self) -> StackResult<()> {
        let invalid = |why| StackError::with_message(EINVAL, why);
        let bridges: Vec<u32> = self
            .links
            .values()
            .filter(|l| l.kind == Kind::Bridge)
            .map(|l| l.index)
            .collect();
        for l in self.links.values().filter(|l| l.port.is_some()) {
            if !bridges.contains(&l.master) {
                return Err(invalid("a bridge port's master is not a bridge"));
            }
        }
        for br in bridges {
            let ports = self.ports_of(br);
            let mut nos: Vec<u16> = ports
                .iter()
                .filter_map(|i| self.links.get(i)?.port.as_ref().map(|p| p.no))
                .collect();
            nos.sort_unstable();
            if nos.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
                return Err(invalid("two ports of a bridge have one number"));
            }
            if ports.is_empty() {
                continue;
            }
            // Given, unless it is what the ports would give.
            let lowest = ports
                .iter()
                .filter_map(|i| self.links.get(i).map(|l| l.mac))
                .min_by(|a, b| a.as_slice().cmp(b.as_slice()));
            if let Some(b) = self.links.get_mut(&br) {
                if lowest == Some(b.mac) {
                    b.mac_given = false;
                    b.mac_adopted = true;
                }
                // Its carrier came from a port: the link watcher has run.
                if b.carrier {
                    b.oper = IF_OPER_UP;
                }
            }
            self.br_set_port_ids(br);
            for p in &ports {
                let cost = self.port_cost(*p);
                let forwards = self.port_can_forward(br, *p);
                if let Some(port) = self.links.get_mut(p).and_then(|l| l.port.as_mut()) {
                    port.cost = cost;
                    port.state = if forwards {
                        STATE_FORWARDING
                    } else {
                        STATE_DISABLED
                    };
                }
            }
            self.br_set_gso_limits(br);
            let level = self.port_kinds_level(br);
            if let Some(b) = self.links.get_mut(&br) {
                b.br_features = level;
            }
            self.br_update_headroom(br);
            let hr = self.links.get(&br).map_or(0, |b| b.br_headroom);
            self.br_set_headroom(br, hr);
        }
        Ok(())
    }

    /// `do_set_master`: off its bridge, then onto `master` (0: none).
    pub(crate) fn set_master(
        &mut self,
        index: u32,
        master: u32,
        events: Events<'_>,
    ) -> StackResult<()> {
        let r = self.change_master(index, master, events);
        // A bridge's carrier that changed, as the link watcher tells it
        // after the request.
        self.linkwatch(&[], events);
        r
    }

    fn change_master(&mut self, index: u32, master: u32, events: Events<'_>) -> StackResult<()> {
        let cur = self.link_ref(index)?.master;
        if cur != 0 {
            if cur == master {
                return Ok(());
            }
            self.br_del_if(cur, index, false, events);
        }
        if master == 0 {
            return Ok(());
        }
        let m = self.links.get(&master).ok_or(StackError::new(EINVAL))?;
        if m.kind != Kind::Bridge {
            // No `ndo_add_slave`.
            return Err(StackError::new(EOPNOTSUPP));
        }
        self.br_add_if(master, index, events)
    }

    /// `br_add_if`: the checks, then the port joins, as the kernel tells
    /// it: its new upper, its promiscuity, the bridge's features, the
    /// port enabled if it can forward, the port's own message, the
    /// bridge's new address, MTU and limits.
    fn br_add_if(&mut self, br: u32, index: u32, events: Events<'_>) -> StackResult<()> {
        let l = self.link_ref(index)?;
        if l.kind == Kind::Bridge {
            return Err(StackError::with_message(
                ELOOP,
                "Can not enslave a bridge to a bridge",
            ));
        }
        if l.repr().header.hardware_type != ARPHRD_ETHER {
            return Err(StackError::new(EINVAL));
        }
        if !matches!(l.kind, Kind::Veth | Kind::Vxlan | Kind::Macvlan) {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "nlq: only veth, VXLAN and macvlan links can be bridge ports",
            ));
        }
        // Its receive handler is a macvlan port's; or it sits on the
        // bridge (a loop).
        let on_bridge = l.macvlan.as_ref().is_some_and(|c| c.lower == br)
            || l.vxlan.as_ref().is_some_and(|c| c.lower == br);
        if !self.macvlans_over(index).is_empty() || on_bridge {
            return Err(StackError::new(EBUSY));
        }
        let taken: Vec<u16> = self
            .ports_of(br)
            .iter()
            .filter_map(|i| self.links.get(i)?.port.as_ref().map(|p| p.no))
            .collect();
        let no = (1..MAX_PORTS)
            .find(|n| !taken.contains(n))
            .ok_or(StackError::new(EXFULL))?;
        let cost = self.port_cost(index);
        let id = self.bridge_id_of(br);
        self.births = self.births.wrapping_add(1);
        let joined = self.births;
        let l = self.link_mut(index)?;
        let first_allmulti = l.allmulti == 0;
        l.allmulti = l.allmulti.saturating_add(1);
        l.master = br;
        l.port = Some(Box::new(Port {
            no,
            state: STATE_DISABLED,
            cost,
            bridge_id: id,
            joined,
        }));
        // `dev_set_allmulti`: an open macvlan passes it on (silently).
        self.macvlan_rx_flags_changed(index, first_allmulti.then_some(1), None, events);
        // `netdev_master_upper_dev_link`: NETDEV_CHANGEUPPER.
        self.notify_link(index, events);
        // `br_manage_promisc`: every port promiscuous (no VLAN filtering);
        // an open macvlan passes it on first.
        let l = self.link_mut(index)?;
        let first_promisc = l.promiscuity() == 0;
        l.br_promisc = l.br_promisc.saturating_add(1);
        self.macvlan_rx_flags_changed(index, None, first_promisc.then_some(1), events);
        self.notify_link_change(index, IFF_PROMISC, events);
        self.br_update_features(br, events);
        self.br_port_headroom(br, index);
        let changed_addr = self.br_recalc_id(br);
        if self.port_can_forward(br, index) {
            self.br_enable_port(br, index, events);
        }
        self.br_ifinfo_notify(index, false, events);
        if changed_addr {
            self.br_changeaddr(br, events);
        }
        self.br_mtu_auto_adjust(br, events);
        self.br_set_gso_limits(br);
        Ok(())
    }

    /// `br_del_if`: the port leaves (`del_nbp`), then the bridge's MTU,
    /// limits, address and features are recomputed.
    pub(crate) fn br_del_if(
        &mut self,
        br: u32,
        index: u32,
        unregistering: bool,
        events: Events<'_>,
    ) {
        self.del_nbp(br, index, unregistering, events);
        self.br_mtu_auto_adjust(br, events);
        self.br_set_gso_limits(br);
        if self.br_recalc_id(br) {
            self.br_changeaddr(br, events);
        }
        self.br_update_features(br, events);
    }

    /// `del_nbp`: its promiscuity given back, disabled, its `AF_BRIDGE`
    /// end, the bridge's headroom, then unlinked (not told while the
    /// link itself goes).
    fn del_nbp(&mut self, br: u32, index: u32, unregistering: bool, events: Events<'_>) {
        // `nbp_delete_promisc`: all-multicast, then promiscuity given
        // back; an open macvlan passes each end on (the promiscuity's
        // told before its own).
        if let Ok(l) = self.link_mut(index) {
            l.allmulti = l.allmulti.saturating_sub(1);
            let last = l.allmulti == 0;
            self.macvlan_rx_flags_changed(index, last.then_some(-1), None, events);
        }
        if let Ok(l) = self.link_mut(index) {
            l.br_promisc = l.br_promisc.saturating_sub(1);
            let last = l.promiscuity() == 0;
            self.macvlan_rx_flags_changed(index, None, last.then_some(-1), events);
        }
        if !unregistering {
            self.notify_link_change(index, IFF_PROMISC, events);
        }
        self.br_disable_port(br, index, events);
        self.br_ifinfo_notify(index, true, events);
        if let Ok(l) = self.link_mut(index) {
            l.port = None;
            l.master = 0;
        }
        // The bridge's headroom without it; its own request withdrawn.
        self.br_update_headroom(br);
        self.set_rx_headroom(index, 0);
        if !unregistering {
            // `netdev_upper_dev_unlink`: NETDEV_CHANGEUPPER.
            self.notify_link(index, events);
        }
    }

    /// `br_dev_delete`: every port leaves (newest first), before the
    /// bridge closes and goes.
    pub(crate) fn br_dev_delete(&mut self, br: u32, events: Events<'_>) {
        for p in self.ports_of(br) {
            self.del_nbp(br, p, false, events);
        }
    }

    /// The port may forward: the bridge and the port are up, and the port
    /// is operationally up (`netif_oper_up`: up or unknown).
    fn port_can_forward(&self, br: u32, index: u32) -> bool {
        self.links.get(&br).is_some_and(Link::is_up)
            && self.links.get(&index).is_some_and(Link::oper_up)
    }

    /// `br_stp_enable_port`: forwarding at once (`br_make_forwarding`
    /// tells it), the bridge's carrier reconsidered, then told again.
    fn br_enable_port(&mut self, br: u32, index: u32, events: Events<'_>) {
        if let Some(p) = self.links.get_mut(&index).and_then(|l| l.port.as_mut()) {
            p.state = STATE_FORWARDING;
        }
        self.br_ifinfo_notify(index, false, events);
        self.br_state_selection(br);
        self.br_ifinfo_notify(index, false, events);
    }

    /// `br_stp_disable_port`: disabled and told, then the bridge's carrier
    /// reconsidered.
    fn br_disable_port(&mut self, br: u32, index: u32, events: Events<'_>) {
        if let Some(p) = self.links.get_mut(&index).and_then(|l| l.port.as_mut()) {
            p.state = STATE_DISABLED;
        }
        self.br_ifinfo_notify(index, false, events);
        self.br_state_selection(br);
    }

    /// `br_port_state_selection`: the bridge has carrier while a port
    /// forwards; a change waits for the link watcher.
    pub(crate) fn br_state_selection(&mut self, br: u32) {
        let live = self.ports_of(br).iter().any(|i| {
            self.links
                .get(i)
                .and_then(|l| l.port.as_ref())
                .is_some_and(|p| p.state == STATE_FORWARDING)
        });
        if let Some(b) = self.links.get_mut(&br) {
            if b.carrier != live {
                b.set_carrier(live);
                self.watch_next(br);
            }
        }
    }

    /// `br_stp_enable_bridge` as the bridge opens: each port that can
    /// forward is enabled (newest first).
    pub(crate) fn br_open(&mut self, br: u32, events: Events<'_>) {
        for p in self.ports_of(br) {
            if self.port_can_forward(br, p) {
                self.br_enable_port(br, p, events);
            }
        }
    }

    /// `br_stp_disable_bridge` as the bridge closes: each port not yet
    /// disabled is.
    pub(crate) fn br_stop(&mut self, br: u32, events: Events<'_>) {
        for p in self.ports_of(br) {
            let enabled = self
                .links
                .get(&p)
                .and_then(|l| l.port.as_ref())
                .is_some_and(|x| x.state != STATE_DISABLED);
            if enabled {
                self.br_disable_port(br, p, events);
            }
        }
    }

    /// `br_device_event` for a port: its state follows it (told), the
    /// bridge's MTU and address follow it; any other of these events is
    /// told as the port's `AF_BRIDGE` message.
    pub(crate) fn br_port_event(&mut self, index: u32, ev: PortEvent, events: Events<'_>) {
        let Some(br) = self.master_of(index) else {
            return;
        };
        let br_up = self.links.get(&br).is_some_and(Link::is_up);
        let state = self
            .links
            .get(&index)
            .and_then(|l| l.port.as_ref())
            .map_or(STATE_DISABLED, |p| p.state);
        let mut notified = false;
        match ev {
            PortEvent::Mtu => {
                self.br_mtu_auto_adjust(br, events);
                return;
            }
            PortEvent::Addr => {
                if self.br_recalc_id(br) {
                    self.br_changeaddr(br, events);
                }
            }
            PortEvent::Change => {
                if let Some(c) = self.port_cost_if_up(index) {
                    if let Some(p) = self.links.get_mut(&index).and_then(|l| l.port.as_mut()) {
                        p.cost = c;
                    }
                }
                if br_up {
                    if self.port_can_forward(br, index) {
                        if state == STATE_DISABLED {
                            self.br_enable_port(br, index, events);
                            notified = true;
                        }
                    } else if state != STATE_DISABLED {
                        self.br_disable_port(br, index, events);
                        notified = true;
                    }
                }
            }
            PortEvent::Down => {
                if br_up {
                    self.br_disable_port(br, index, events);
                    notified = true;
                }
            }
            PortEvent::Up => {
                if self.port_can_forward(br, index) {
                    self.br_enable_port(br, index, events);
                    notified = true;
                }
            }
        }
        if !notified {
            self.br_ifinfo_notify(index, false, events);
        }
    }

    /// The port's `AF_BRIDGE` message (`br_ifinfo_notify`); its end has
    /// no port attributes.
    fn br_ifinfo_notify(&self, index: u32, del: bool, events: Events<'_>) {
        if let Some(mut r) = self.bridge_port_repr(index) {
            if del {
                r.protinfo = None;
                events(Event::DelLink(&r));
            } else {
                events(Event::NewLink(&r));
            }
        }
    }

    /// A port's `AF_BRIDGE` view (`br_fill_ifinfo`).
    pub(crate) fn bridge_port_repr(&self, index: u32) -> Option<LinkRepr> {
        let l = self.links.get(&index)?;
        let p = l.port.as_ref()?;
        let r = l.repr();
        let mut h = r.header;
        h.family = AF_BRIDGE;
        h.change = 0;
        Some(LinkRepr {
            header: h,
            name: r.name,
            master: r.master,
            mtu: r.mtu,
            operstate: r.operstate,
            address: r.address,
            link: r.link,
            protinfo: p.attrs(),
            ..LinkRepr::default()
        })
    }

    /// The path cost of a new port: by its speed (`port_cost`).
    fn port_cost(&self, index: u32) -> u32 {
        let Some(l) = self.links.get(&index) else {
            return 100;
        };
        // 10 Gb/s: a veth, or a macvlan on one (it reports its lower
        // link's speed); unknown otherwise.
        let lower = l.macvlan.as_ref().and_then(|c| self.links.get(&c.lower));
        match lower.map_or(l.kind, |x| x.kind) {
            Kind::Veth => 2,
            _ => 100,
        }
    }

    /// `br_port_carrier_check`: a port up and operationally up has its
    /// cost computed again.
    fn port_cost_if_up(&self, index: u32) -> Option<u32> {
        let l = self.links.get(&index)?;
        l.oper_up().then(|| self.port_cost(index))
    }

    /// The id of bridge `br`: its MAC, once it was given one or took one
    /// from a port; all zeros before.
    pub(crate) fn bridge_id_of(&self, br: u32) -> [u8; 8] {
        self.links
            .get(&br)
            .map_or_else(|| crate::bridge::bridge_id(None), Link::bridge_id)
    }

    /// `br_stp_recalculate_bridge_id`: without a MAC given, the bridge
    /// takes its ports' lowest (all zeros for none); when that changes
    /// its id, the ports learn it and its carrier is reconsidered. Whether
    /// the address changed.
    fn br_recalc_id(&mut self, br: u32) -> bool {
        let Some(b) = self.links.get(&br) else {
            return false;
        };
        if b.mac_given {
            return false;
        }
        let lowest = self
            .ports_of(br)
            .iter()
            .filter_map(|i| self.links.get(i).map(|l| l.mac))
            .min_by(|a, b| a.as_slice().cmp(b.as_slice()));
        let mac = lowest.unwrap_or_else(|| crate::link::hw(&[0; 6]));
        if b.mac_adopted && b.mac == mac {
            return false;
        }
        if let Some(b) = self.links.get_mut(&br) {
            b.mac = mac;
            b.mac_adopted = true;
        }
        self.br_set_port_ids(br);
        self.br_state_selection(br);
        true
    }

    /// Every port of `br` learns the bridge's id.
    pub(crate) fn br_set_port_ids(&mut self, br: u32) {
        let id = self.bridge_id_of(br);
        for p in self.ports_of(br) {
            if let Some(port) = self.links.get_mut(&p).and_then(|l| l.port.as_mut()) {
                port.bridge_id = id;
            }
        }
    }

    /// NETDEV_CHANGEADDR of the bridge: told (with the carrier as it is and
    /// the operational state the link watcher last set), and its
    /// neighbours go.
    fn br_changeaddr(&mut self, br: u32, events: Events<'_>) {
        self.notify_link(br, events);
        self.neigh_flush_link(br, false, events);
    }

    /// `br_mtu_auto_adjust`: unless its MTU was set, the bridge takes its
    /// ports' lowest (told as any MTU change).
    fn br_mtu_auto_adjust(&mut self, br: u32, events: Events<'_>) {
        let Some(b) = self.links.get(&br) else { return };
        if b.mtu_by_user {
            return;
        }
        // `br_mtu_min`: 1,500 without ports.
        let mtu = self
            .ports_of(br)
            .iter()
            .filter_map(|i| self.links.get(i).map(|l| l.mtu))
            .min()
            .unwrap_or(1500);
        if b.mtu != mtu {
            let change = LinkChange {
                mtu: Some(mtu),
                ..LinkChange::default()
            };
            // Within range: a port has it.
            let _ = self.link_set(br, &change, events);
        }
        // Not the user's choice (`br_change_mtu` took it for one).
        if let Some(b) = self.links.get_mut(&br) {
            b.mtu_by_user = false;
        }
    }

    /// `br_set_gso_limits`: the lowest offload limit of the ports.
    fn br_set_gso_limits(&mut self, br: u32) {
        let tso = self
            .ports_of(br)
            .iter()
            .filter_map(|i| {
                self.links
                    .get(i)
                    .and_then(|l| l.repr().details.tso_max_size)
            })
            .fold(TSO_MAX, u32::min);
        if let Some(b) = self.links.get_mut(&br) {
            b.br_tso = Some(tso);
        }
    }

    /// `netdev_update_features` of the bridge: its features follow its
    /// ports' kinds; a change is told with `IFLA_EVENT_FEATURES`.
    fn br_update_features(&mut self, br: u32, events: Events<'_>) {
        let level = self.port_kinds_level(br);
        let Some(b) = self.links.get_mut(&br) else {
            return;
        };
        if b.br_features == level {
            return;
        }
        b.br_features = level;
        let mut r = b.repr();
        r.details.event = Some(IFLA_EVENT_FEATURES);
        events(Event::NewLink(&r));
    }

    /// A bridge's features as its ports' kinds leave them (fewer for a
    /// macvlan than a veth, fewer for a veth than a VXLAN link; 0 without
    /// ports).
    fn port_kinds_level(&self, br: u32) -> u8 {
        self.ports_of(br)
            .iter()
            .filter_map(|i| self.links.get(i))
            .map(|l| match l.kind {
                Kind::Macvlan => 1,
                Kind::Veth => 2,
                _ => 3,
            })
            .min()
            .unwrap_or(0)
    }

    /// The headroom a link's traffic needs ahead of it when forwarded
    /// (`netdev_get_fwd_headroom`: a veth's is phony, none).
    fn fwd_headroom(&self, index: u32) -> u16 {
        match self.links.get(&index) {
            Some(l) if l.kind == Kind::Veth => 0,
            Some(l) => l.repr().details.headroom.unwrap_or(0),
            None => 0,
        }
    }

    /// A new port's headroom (`br_add_if`): the bridge's grows to it, or
    /// the port is asked for the bridge's.
    fn br_port_headroom(&mut self, br: u32, index: u32) {
        let br_hr = self.links.get(&br).map_or(0, |b| b.br_headroom);
        let dev_hr = self.fwd_headroom(index);
        if br_hr < dev_hr {
            self.br_set_headroom(br, dev_hr);
        } else {
            self.set_rx_headroom(index, br_hr);
        }
    }

    /// After a port left: the largest headroom of the others.
    fn br_update_headroom(&mut self, br: u32) {
        let max = self
            .ports_of(br)
            .iter()
            .map(|i| self.fwd_headroom(*i))
            .max()
            .unwrap_or(0);
        if self.links.get(&br).is_some_and(|b| b.br_headroom != max) {
            self.br_set_headroom(br, max);
        }
    }

    /// `update_headroom`: every port asked for `hr`, the bridge's too.
    fn br_set_headroom(&mut self, br: u32, hr: u16) {
        for p in self.ports_of(br) {
            self.set_rx_headroom(p, hr);
        }
        if let Some(b) = self.links.get_mut(&br) {
            b.br_headroom = hr;
        }
    }

    /// `netdev_set_rx_headroom`: a veth takes it, and both ends of the
    /// pair need the larger of their two requests; other kinds ignore it.
    fn set_rx_headroom(&mut self, index: u32, hr: u16) {
        let Some(l) = self.links.get_mut(&index) else {
            return;
        };
        // An untied end (its pair going) keeps what it had.
        if l.kind != Kind::Veth || l.peer == 0 {
            return;
        }
        l.rx_headroom = hr;
        let peer = l.peer;
        let peer_hr = self.links.get(&peer).map_or(0, |p| p.rx_headroom);
        let need = hr.max(peer_hr);
        for i in [index, peer] {
            if let Some(x) = self.links.get_mut(&i) {
                x.needed_headroom = need;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::stack::{LinkKey, NewLink, Stack};
    use nlq::wire::{InlineStr, LinkInfoRepr};

    fn add(s: &mut MemStack, name: &str, kind: &str, change: LinkChange) -> u32 {
        let info = LinkInfoRepr {
            kind: InlineStr::try_from_str(kind),
            ..LinkInfoRepr::default()
        };
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str(name),
            kind,
            info: Some(&info),
            change,
        };
        s.add_link(&new, &mut |_| {}).unwrap()
    }

    fn set(s: &mut MemStack, index: u32, change: LinkChange) -> StackResult<Vec<String>> {
        let mut told = Vec::new();
        s.set_link(index, &change, &mut |e| {
            if let Event::NewLink(l) | Event::DelLink(l) = e {
                told.push(format!("{}:{}", l.header.family, l.header.index));
            }
        })?;
        Ok(told)
    }

    fn master(m: u32) -> LinkChange {
        LinkChange {
            master: Some(m),
            ..LinkChange::default()
        }
    }

    fn up() -> LinkChange {
        LinkChange {
            flags: IFF_UP,
            flags_mask: IFF_UP,
            ..LinkChange::default()
        }
    }

    fn slave(s: &MemStack, index: u32) -> Option<String> {
        let l = s.link(LinkKey::Index(index)).unwrap();
        l.info
            .and_then(|i| i.slave_kind)
            .map(|k| k.as_str().to_owned())
    }

    #[test]
    fn a_port_joins_forwards_and_leaves_as_the_kernel_tells_it() {
        let mut s = MemStack::new();
        let b0 = add(&mut s, "b0", "bridge", LinkChange::default());
        let v0 = add(&mut s, "v0", "veth", LinkChange::default());
        let v1 = s.link(LinkKey::Index(v0)).unwrap().link.unwrap();
        // Joining a bridge that is down: its new upper, its promiscuity,
        // the bridge's features, its AF_BRIDGE message, the bridge's
        // address (taken from the port).
        let told = set(&mut s, v0, master(b0)).unwrap();
        assert_eq!(
            told,
            [
                format!("0:{v0}"),
                format!("0:{v0}"),
                format!("0:{b0}"),
                format!("7:{v0}"),
                format!("0:{b0}")
            ]
        );
        assert_eq!(slave(&s, v0).as_deref(), Some("bridge"));
        let port = s.link(LinkKey::Index(v0)).unwrap();
        assert_eq!(port.master, Some(b0));
        assert_eq!(port.details.promiscuity, Some(1));
        let bridge = s.link(LinkKey::Index(b0)).unwrap();
        assert_eq!(bridge.address, port.address);
        assert_eq!(bridge.carrier, Some(0));
        // Everything up: the port forwards, the bridge has carrier.
        for i in [v0, v1, b0] {
            set(&mut s, i, up()).unwrap();
        }
        assert_eq!(s.link(LinkKey::Index(b0)).unwrap().carrier, Some(1));
        let view = s.bridge_port_view(v0).unwrap();
        assert_eq!(view.header.family, AF_BRIDGE);
        let state = nlq::wire::Attrs::new(view.protinfo.as_ref().unwrap())
            .find(IFLA_BRPORT_STATE)
            .unwrap()
            .unwrap()
            .u8()
            .unwrap();
        assert_eq!(state, STATE_FORWARDING);
        // Saved and restored as it is.
        let back = MemStack::from_tables(&s.tables()).unwrap();
        assert_eq!(back.bridge_port_view(v0), s.bridge_port_view(v0));
        assert_eq!(
            back.link(LinkKey::Index(b0)).unwrap(),
            s.link(LinkKey::Index(b0)).unwrap()
        );
        // Released: no master, the bridge without carrier and MAC.
        set(&mut s, v0, master(0)).unwrap();
        assert!(slave(&s, v0).is_none());
        let bridge = s.link(LinkKey::Index(b0)).unwrap();
        assert_eq!(bridge.carrier, Some(0));
        assert_eq!(bridge.address.unwrap().as_slice(), &[0; 6]);
        assert!(s.bridge_port_view(v0).is_none());
    }

    #[test]
    fn what_cannot_be_a_port_is_refused() {
        let mut s = MemStack::new();
        let b0 = add(&mut s, "b0", "bridge", LinkChange::default());
        let b1 = add(&mut s, "b1", "bridge", LinkChange::default());
        let v0 = add(&mut s, "v0", "veth", LinkChange::default());
        let v1 = s.link(LinkKey::Index(v0)).unwrap().link.unwrap();
        let errno = |r: StackResult<Vec<String>>| r.unwrap_err().errno;
        assert_eq!(errno(set(&mut s, b1, master(b0))), ELOOP);
        assert_eq!(errno(set(&mut s, 1, master(b0))), EINVAL);
        assert_eq!(errno(set(&mut s, v0, master(v1))), EOPNOTSUPP);
        assert_eq!(errno(set(&mut s, v0, master(99))), EINVAL);
        // Made with a master that is no bridge: made, then gone again.
        let new = NewLink {
            index: 0,
            name: nlq::wire::IfName::try_from_str("d0"),
            kind: "bridge",
            info: None,
            change: master(v0),
        };
        assert_eq!(s.add_link(&new, &mut |_| {}).unwrap_err().errno, EOPNOTSUPP);
        assert!(s.link(LinkKey::Name("d0")).is_err());
    }
}
