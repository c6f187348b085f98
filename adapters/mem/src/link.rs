//! Links: creation with the kernel's index and name allocation, changes in
//! `do_setlink`'s order, up/down with their consequences.

use nlq::errno::*;
use nlq::stack::{Event, Events, LinkChange, LinkKey, NewLink, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{
    HwAddr, IfInfoMsg, IfName, InlineStr, LinkDetails, LinkInfoRepr, LinkRepr, LinkStats,
    LinkStats64,
};

use crate::{DataPlane, MemStack};

pub(crate) const NO_DEVICE: StackError = StackError::new(ENODEV);

/// The index of `lo`.
pub(crate) const LOOPBACK_INDEX: u32 = 1;

/// `IPV6_MIN_MTU`: below it a link loses IPv6.
pub(crate) const IPV6_MIN_MTU: u32 = 1280;

/// The kinds of link the stack can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `lo`: there is exactly one, it cannot be created or deleted.
    Loopback,
    /// `bridge`: an Ethernet bridge without ports (so without carrier).
    Bridge,
    /// `dummy`: an Ethernet link with carrier that drops what it sends.
    Dummy,
    /// `ifb`: an intermediate functional block (traffic redirected to it
    /// comes back as received); an Ethernet link with carrier, without
    /// ARP, with a queue of its own (32 packets).
    Ifb,
    /// `tap`: an Ethernet link whose carrier the stack controls (on at
    /// creation).
    Tap,
    /// `veth`: one end of a pair made together; each has carrier when
    /// both are up, and deleting one deletes both.
    Veth,
    /// `vxlan`: a VXLAN tunnel, with carrier, over a lower link or none.
    Vxlan,
    /// `macvlan`: a link with its own MAC on a lower Ethernet link, whose
    /// carrier it copies and with which it goes.
    Macvlan,
    /// A device a data plane brings ([`MemStack::attach`]): an Ethernet
    /// link with carrier, like a tap, that names no kind in
    /// `IFLA_LINKINFO`; it cannot be created by request.
    Device,
}

impl Kind {
    pub(crate) fn parse(kind: &str) -> Option<Kind> {
        match kind {
            "bridge" => Some(Kind::Bridge),
            "dummy" => Some(Kind::Dummy),
            "ifb" => Some(Kind::Ifb),
            "tap" => Some(Kind::Tap),
            "veth" => Some(Kind::Veth),
            "vxlan" => Some(Kind::Vxlan),
            "macvlan" => Some(Kind::Macvlan),
            _ => None,
        }
    }

    /// The `IFLA_INFO_KIND` name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Loopback => "",
            Kind::Bridge => "bridge",
            Kind::Dummy => "dummy",
            Kind::Ifb => "ifb",
            Kind::Tap => "tap",
            Kind::Veth => "veth",
            Kind::Vxlan => "vxlan",
            Kind::Macvlan => "macvlan",
            Kind::Device => "",
        }
    }

    /// `(min_mtu, max_mtu)`; 0 as maximum means no limit.
    pub(crate) fn mtu_range(self) -> (u32, u32) {
        match self {
            Kind::Loopback => (0, 0),
            // `ETH_MIN_MTU`, `ETH_MAX_MTU`.
            Kind::Bridge | Kind::Veth | Kind::Vxlan | Kind::Macvlan => (68, 65535),
            // `MAX_MTU` less the Ethernet header (`tun_net_init`).
            Kind::Tap => (68, 65521),
            // The device's own maximum ([`DeviceLink::max_mtu`]).
            Kind::Device => (68, 0),
            // `ifb_setup` clears both: any MTU.
            Kind::Dummy | Kind::Ifb => (0, 0),
        }
    }
}

/// One link.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub index: u32,
    pub name: IfName,
    pub kind: Kind,
    /// `IFF_*` the user controls (`IFF_UP` included).
    pub flags: u32,
    pub carrier: bool,
    /// How many times the carrier came up and went down
    /// (`IFLA_CARRIER_UP_COUNT`, `IFLA_CARRIER_DOWN_COUNT`).
    pub carrier_ups: u32,
    pub carrier_downs: u32,
    pub mtu: u32,
    /// The largest MTU it takes (0: no limit).
    pub max_mtu: u32,
    pub mac: HwAddr,
    pub broadcast: HwAddr,
    pub txqlen: u32,
    pub alias: Option<InlineStr<IFALIASZ>>,
    pub master: u32,
    pub group: u32,
    /// It has been up once: its queueing discipline is attached (`noop`
    /// until then, `noqueue` from then on, as the kernel reports them).
    pub qdisc_attached: bool,
    /// A bridge's MAC was given (at creation, or changed since): its
    /// bridge id holds it; a bridge with a random MAC and no ports keeps
    /// the id all zeros.
    pub mac_given: bool,
    /// The IPv6 device's flags (`IF_READY`, `IF_RS_SENT`): set as the
    /// link becomes ready and solicits routers, cleared when it goes down.
    pub inet6_flags: u32,
    /// The IPv6 MTU: the link's, as of the last time it was at least 1280
    /// (`lo` keeps its IPv6 device below that).
    pub mtu6: u32,
    /// It has an IPv4 device (`in_device`) and an IPv6 one (`inet6_dev`):
    /// they follow the MTU (68, 1280; `lo` keeps IPv6) once the change
    /// has been notified.
    pub inet4_dev: bool,
    pub inet6_dev: bool,
    /// It had no ARP (`IFF_NOARP`) when its IPv6 device was made: that
    /// device's `accept_dad` is -1 (`ipv6_add_dev`).
    pub noarp6: bool,
    /// When each of those devices was made ([`MemStack::family_device_age`]).
    pub born: [u64; 2],
    /// A veth's other end (0 while the pair is not tied: as it is made,
    /// and as it goes).
    pub peer: u32,
    /// A veth's operational state as the link watcher last set it
    /// (`IF_OPER_UNKNOWN` until it first runs).
    pub oper: u8,
    /// A VXLAN link's configuration.
    pub vxlan: Option<Box<crate::vxlan::Vxlan>>,
    /// A macvlan's configuration.
    pub macvlan: Option<Box<crate::macvlan::Macvlan>>,
    /// How its IPv6 groups stand on its link-layer multicast list.
    pub mc6: nlq::stack::Mc6Load,
    /// Its part as a bridge port (its bridge is `master`).
    pub port: Option<Box<crate::bridge_port::Port>>,
    /// Promiscuity and all-multicast counts a bridge holds on it (the
    /// latter also those the open macvlans on it pass on).
    pub br_promisc: u32,
    pub allmulti: u32,
    /// Promiscuity the open, promiscuous macvlans on it pass on
    /// (`macvlan_change_rx_flags`).
    pub upper_promisc: u32,
    /// A veth's requested receive headroom, and the headroom it needs (the
    /// larger of its pair's requests).
    pub rx_headroom: u16,
    pub needed_headroom: u16,
    /// A bridge's MTU was set by the user (it no longer follows its
    /// ports').
    pub mtu_by_user: bool,
    /// A bridge's offload limit once ports set it.
    pub br_tso: Option<u32>,
    /// A bridge's features, by its ports' kinds (0: no ports).
    pub br_features: u8,
    /// A bridge's headroom: its ports' largest.
    pub br_headroom: u16,
    /// A bridge took its MAC from its ports (its id holds it from then).
    pub mac_adopted: bool,
    /// Promiscuous for the unicast addresses of the macvlans on it
    /// (`uc_promisc`): set while it is up with one of them open, and kept
    /// while it is down.
    pub uc_promisc: bool,
}

impl Link {
    /// `dev->promiscuity`: the unicast list's, a bridge's and the open
    /// macvlans' on it.
    pub(crate) fn promiscuity(&self) -> u32 {
        u32::from(self.uc_promisc)
            .saturating_add(self.br_promisc)
            .saturating_add(self.upper_promisc)
    }
}

/// The link watcher's run held back until the end of a request: whether
/// one was asked for, and the links it is to look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchLater {
    pub asked: bool,
    pub links: Vec<u32>,
}

pub(crate) fn hw(b: &[u8]) -> HwAddr {
    HwAddr::try_from_slice(b).unwrap_or_default()
}

impl Link {
    /// Its IPv6 device is made now (`ipv6_add_dev`): it takes the link's
    /// ARP setting.
    pub(crate) fn make_inet6_dev(&mut self) {
        self.inet6_dev = true;
        self.noarp6 = self.flags & IFF_NOARP != 0;
    }

    pub fn loopback() -> Link {
        let name = IfName::try_from_str("lo").unwrap_or_default();
        let mut l = Link::new(Kind::Loopback, 1, name, [0; 6]);
        l.flags = IFF_LOOPBACK;
        l.mtu = 65536;
        l.mtu6 = 65536;
        l.broadcast = hw(&[0; 6]);
        l
    }

    pub(crate) fn new(kind: Kind, index: u32, name: IfName, mac: [u8; 6]) -> Link {
        let flags = match kind {
            Kind::Dummy | Kind::Ifb => IFF_BROADCAST | IFF_NOARP,
            _ => IFF_BROADCAST | IFF_MULTICAST,
        };
        Link {
            index,
            name,
            kind,
            flags,
            carrier: true,
            carrier_ups: 0,
            carrier_downs: 0,
            mtu: 1500,
            max_mtu: kind.mtu_range().1,
            mac: hw(&mac),
            broadcast: hw(&[0xff; 6]),
            // `TX_Q_LIMIT` for an ifb, else `DEFAULT_TX_QUEUE_LEN`.
            txqlen: if kind == Kind::Ifb { 32 } else { 1000 },
            alias: None,
            master: 0,
            group: 0,
            qdisc_attached: false,
            mac_given: false,
            inet6_flags: 0,
            mtu6: 1500,
            inet4_dev: true,
            inet6_dev: true,
            noarp6: flags & IFF_NOARP != 0,
            born: [0; 2],
            peer: 0,
            oper: IF_OPER_UNKNOWN,
            vxlan: None,
            macvlan: None,
            mc6: nlq::stack::Mc6Load::Initial,
            port: None,
            br_promisc: 0,
            allmulti: 0,
            rx_headroom: 0,
            needed_headroom: 0,
            mtu_by_user: false,
            br_tso: None,
            br_features: 0,
            br_headroom: 0,
            mac_adopted: false,
            uc_promisc: false,
            upper_promisc: 0,
        }
    }

    /// The MTU a link is made with; its IPv4 and IPv6 devices follow it.
    pub(crate) fn set_initial_mtu(&mut self, mtu: u32) {
        self.mtu = mtu;
        self.mtu6 = mtu;
        // `inetdev_init` at NETDEV_REGISTER, whatever the MTU (a link of
        // any MTU, an ifb's, keeps it until its MTU changes); IPv6 wants
        // 1280 (`ipv6_add_dev`).
        self.inet4_dev = true;
        if mtu >= IPV6_MIN_MTU {
            self.make_inet6_dev();
        } else {
            self.inet6_dev = false;
        }
    }

    /// What a creation request sets on the new link: MTU, address, queue
    /// length, group, alias.
    pub(crate) fn apply_new(&mut self, change: &LinkChange) {
        if let Some(mtu) = change.mtu {
            self.set_initial_mtu(mtu);
        }
        if let Some(mac) = change.address {
            self.mac = mac;
            self.mac_given = true;
        }
        if let Some(q) = change.txqlen {
            self.txqlen = q;
        }
        if let Some(g) = change.group {
            self.group = g;
        }
        self.alias = change.alias;
    }

    /// Sets the carrier, counting a change as `netif_carrier_on`/`off`.
    pub fn set_carrier(&mut self, on: bool) {
        if self.carrier != on {
            self.carrier = on;
            if on {
                self.carrier_ups = self.carrier_ups.wrapping_add(1);
            } else {
                self.carrier_downs = self.carrier_downs.wrapping_add(1);
            }
        }
    }

    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// `(min_mtu, max_mtu)`; 0 as maximum means no limit.
    fn mtu_range(&self) -> (u32, u32) {
        (self.kind.mtu_range().0, self.max_mtu)
    }

    /// Up with carrier: IPv6 configures itself, routes are not `linkdown`.
    /// A veth, a macvlan or a bridge is ready once the link watcher has
    /// seen its carrier, or before it ever ran (`netif_oper_up` takes
    /// "unknown").
    pub fn is_ready(&self) -> bool {
        self.is_up() && self.carrier && (!self.watched() || self.watcher_running())
    }

    /// The link watcher's state counts as running (up, or not yet set).
    fn watcher_running(&self) -> bool {
        matches!(self.oper, IF_OPER_UP | IF_OPER_UNKNOWN)
    }

    /// A bridge's id: its MAC, once it was given one or took one from a
    /// port; all zeros before.
    pub fn bridge_id(&self) -> [u8; 8] {
        crate::bridge::bridge_id((self.mac_given || self.mac_adopted).then_some(&self.mac))
    }

    /// Up and operationally up (`netif_oper_up`: up or unknown).
    pub fn oper_up(&self) -> bool {
        self.is_up() && matches!(self.operstate(), IF_OPER_UP | IF_OPER_UNKNOWN)
    }

    /// Its operational state is the link watcher's (a veth, a macvlan, a
    /// bridge):
    /// it follows a carrier that changes under it.
    pub fn watched(&self) -> bool {
        matches!(self.kind, Kind::Veth | Kind::Macvlan | Kind::Bridge)
    }

    /// The flags as the kernel reports them.
    pub fn iff(&self) -> u32 {
        let mut f = self.flags;
        if self.watched() {
            // The carrier changes at once, the operational state (hence
            // `IFF_RUNNING`) when the link watcher runs.
            if self.is_up() {
                if self.carrier {
                    f |= IFF_LOWER_UP;
                }
                if self.watcher_running() {
                    f |= IFF_RUNNING;
                }
            }
        } else if self.is_ready() {
            f |= IFF_RUNNING | IFF_LOWER_UP;
        }
        f
    }

    pub(crate) fn operstate(&self) -> u8 {
        if self.watched() {
            return if self.is_up() {
                self.oper
            } else {
                IF_OPER_DOWN
            };
        }
        if !self.is_up() || !self.carrier {
            IF_OPER_DOWN
        } else if !matches!(self.kind, Kind::Tap | Kind::Device) {
            IF_OPER_UNKNOWN
        } else {
            IF_OPER_UP
        }
    }

    pub fn repr(&self) -> LinkRepr {
        LinkRepr {
            header: IfInfoMsg {
                family: AF_UNSPEC,
                hardware_type: if self.kind == Kind::Loopback {
                    ARPHRD_LOOPBACK
                } else {
                    ARPHRD_ETHER
                },
                index: self.index,
                flags: self.iff(),
                change: 0,
            },
            name: Some(self.name),
            address: Some(self.mac),
            broadcast: Some(self.broadcast),
            mtu: Some(self.mtu),
            txqlen: Some(self.txqlen),
            operstate: Some(self.operstate()),
            linkmode: Some(0),
            master: (self.master != 0).then_some(self.master),
            // `dev_get_iflink`: a veth names its peer (0 when untied), a
            // macvlan its lower link.
            link: match (&self.macvlan, self.kind) {
                (Some(c), _) => Some(c.lower),
                (None, Kind::Veth) => Some(self.peer),
                _ => None,
            },
            group: Some(self.group),
            alias: self.alias,
            info: (!matches!(self.kind, Kind::Loopback | Kind::Device)).then(|| LinkInfoRepr {
                kind: InlineStr::try_from_str(self.kind.name()),
                data: match self.kind {
                    Kind::Bridge => crate::bridge::info_data(&self.bridge_id()),
                    Kind::Vxlan => self.vxlan.as_ref().and_then(|c| c.info_data()),
                    Kind::Macvlan => self.macvlan.as_ref().and_then(|c| c.info_data()),
                    _ => None,
                },
                slave_kind: self
                    .port
                    .as_ref()
                    .and_then(|_| InlineStr::try_from_str("bridge")),
                slave_data: self.port.as_ref().and_then(|p| p.attrs()),
            }),
            stats: Some(LinkStats::default()),
            stats64: Some(LinkStats64::default()),
            af_spec: crate::devconf::af_spec(self),
            carrier: Some(u8::from(self.carrier)),
            qdisc: InlineStr::try_from_str(match (self.qdisc_attached, self.kind) {
                (false, _) => "noop",
                // A queue of its own: the kernel's default discipline.
                (true, Kind::Tap | Kind::Device | Kind::Ifb) => "pfifo_fast",
                // IFF_NO_QUEUE.
                (true, _) => "noqueue",
            }),
            details: {
                let (min, max) = self.mtu_range();
                let mut d = LinkDetails::linux(min, max, self.carrier_ups, self.carrier_downs);
                // Loopback and bridges cannot change namespace.
                if matches!(self.kind, Kind::Loopback | Kind::Bridge) {
                    d.netns_immutable = Some(1);
                }
                if matches!(self.kind, Kind::Loopback | Kind::Veth | Kind::Ifb) {
                    // `netif_set_tso_max_size(dev, GSO_MAX_SIZE)` of the
                    // legacy kind, 512 KiB less 8 bytes.
                    d.tso_max_size = Some(524_280);
                }
                d.promiscuity = Some(self.promiscuity());
                d.allmulti = Some(self.allmulti);
                match self.kind {
                    Kind::Veth => d.headroom = Some(self.needed_headroom),
                    Kind::Bridge => {
                        d.headroom = Some(self.br_headroom);
                        if let Some(t) = self.br_tso {
                            d.tso_max_size = Some(t);
                        }
                    }
                    _ => {}
                }
                if let Some(c) = &self.macvlan {
                    d.tso_max_size = Some(c.tso_max_size);
                }
                if let Some(c) = &self.vxlan {
                    // The room its encapsulation needs before the frame.
                    d.headroom = Some(c.needed_headroom());
                    d.tso_max_size = Some(c.tso_max_size);
                }
                if self.kind == Kind::Veth {
                    // `veth_get_num_queues`: a queue per possible CPU.
                    let queues = crate::veth::queues();
                    d.num_tx_queues = Some(queues);
                    d.num_rx_queues = Some(queues);
                }
                d
            },
            ..LinkRepr::default()
        }
    }
}

/// `dev_valid_name`: a name a link may have (not empty, shorter than
/// `IFNAMSIZ`, not `.` or `..`, without `/`, `:` or white space).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// `is_valid_ether_addr`: six bytes, not multicast, not all zeros.
pub fn valid_ether(mac: &[u8]) -> bool {
    mac.len() == 6 && mac.first().is_some_and(|b| b & 1 == 0) && mac.iter().any(|b| *b != 0)
}

pub(crate) fn check_mtu((min, max): (u32, u32), mtu: u32) -> StackResult<()> {
    if mtu < min {
        return Err(StackError::with_message(
            EINVAL,
            "mtu less than device minimum",
        ));
    }
    if max > 0 && mtu > max {
        return Err(StackError::with_message(
            EINVAL,
            "mtu greater than device maximum",
        ));
    }
    Ok(())
}

/// A link a data plane brings, for [`MemStack::attach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLink {
    /// Its interface index (1 up to `i32::MAX`).
    pub index: u32,
    /// Its name.
    pub name: IfName,
    /// Its Ethernet address (unicast, not all zeros).
    pub mac: [u8; 6],
    /// Its MTU.
    pub mtu: u32,
    /// The largest MTU it carries (68 at least).
    pub max_mtu: u32,
}

impl<D: DataPlane> MemStack<D> {
    /// The link `device` describes, checked.
    pub(crate) fn device_link(&self, device: DeviceLink) -> StackResult<Link> {
        let DeviceLink {
            index,
            name,
            mac,
            mtu,
            max_mtu,
        } = device;
        if index == 0 || index > i32::MAX as u32 || !valid_name(name.as_str()) {
            return Err(StackError::new(EINVAL));
        }
        if !valid_ether(&mac) || max_mtu < 68 {
            return Err(StackError::new(EINVAL));
        }
        check_mtu((68, max_mtu), mtu)?;
        if self.links.contains_key(&index) || self.find_link(LinkKey::Name(name.as_str())).is_some()
        {
            return Err(StackError::new(EEXIST));
        }
        let mut link = Link::new(Kind::Device, index, name, mac);
        link.mtu = mtu;
        link.mtu6 = mtu;
        link.max_mtu = max_mtu;
        link.inet6_dev = mtu >= IPV6_MIN_MTU;
        Ok(link)
    }

    pub(crate) fn find_link(&self, key: LinkKey<'_>) -> Option<&Link> {
        match key {
            LinkKey::Index(i) => self.links.get(&i),
            LinkKey::Name(n) => self.links.values().find(|l| l.name.as_str() == n),
        }
    }

    pub(crate) fn link_ref(&self, index: u32) -> StackResult<&Link> {
        self.links.get(&index).ok_or(NO_DEVICE)
    }

    pub(crate) fn link_mut(&mut self, index: u32) -> StackResult<&mut Link> {
        self.links.get_mut(&index).ok_or(NO_DEVICE)
    }

    pub(crate) fn notify_link(&self, index: u32, events: Events<'_>) {
        self.notify_link_change(index, 0, events);
    }

    /// `RTM_NEWLINK` with `ifi_change` = `change` (the flags that changed;
    /// all ones for a new link).
    pub(crate) fn notify_link_change(&self, index: u32, change: u32, events: Events<'_>) {
        if let Some(l) = self.links.get(&index) {
            let mut r = l.repr();
            r.header.change = change;
            events(Event::NewLink(&r));
        }
    }

    /// The next free index after the last one given, cyclically (the
    /// kernel's `xa_alloc_cyclic` on `net->ifindex`).
    pub(crate) fn alloc_index(&mut self) -> u32 {
        let mut i = self.last_index;
        loop {
            i = i
                .checked_add(1)
                .filter(|&n| n <= i32::MAX as u32)
                .unwrap_or(1);
            if !self.links.contains_key(&i) {
                self.last_index = i;
                return i;
            }
        }
    }

    /// A name from a pattern with `%d`: the first number not taken.
    pub(crate) fn alloc_name(&self, pattern: &str) -> StackResult<IfName> {
        let (head, tail) = pattern.split_once("%d").unwrap_or((pattern, ""));
        for n in 0..32768u32 {
            let name = format!("{head}{n}{tail}");
            if self.find_link(LinkKey::Name(&name)).is_none() {
                return IfName::try_from_str(&name).ok_or(StackError::new(EINVAL));
            }
        }
        Err(StackError::new(ENFILE))
    }

    pub(crate) fn link_add(&mut self, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        D::admit_new_link(self, new)?;
        let kind = Kind::parse(new.kind)
            .ok_or(StackError::with_message(EOPNOTSUPP, "Unknown device type"))?;
        let index = match kind {
            Kind::Veth => self.veth_add(new, events)?,
            Kind::Vxlan => self.vxlan_add(new, events)?,
            Kind::Macvlan => self.macvlan_add(new, events)?,
            _ => self.plain_add(kind, new, events)?,
        };
        // `rtnl_newlink_create`: the master after the link is configured;
        // a refusal unregisters the link again.
        if let Some(m) = new.change.master.filter(|m| *m != 0) {
            if let Err(e) = self.set_master(index, m, events) {
                let _ = self.link_del(index, events);
                return Err(e);
            }
        }
        Ok(index)
    }

    /// A link of a kind without a driver of its own here: a bridge, a
    /// dummy, a tap.
    fn plain_add(&mut self, kind: Kind, new: &NewLink<'_>, events: Events<'_>) -> StackResult<u32> {
        if let Some(mtu) = new.change.mtu {
            check_mtu(kind.mtu_range(), mtu)?;
        }
        if let Some(mac) = &new.change.address {
            if mac.len() < 6 {
                return Err(StackError::new(EINVAL));
            }
        }
        let (name, index) = self.name_and_index(new, kind)?;
        let mut link = self.made_link(kind, index, name);
        link.apply_new(&new.change);
        if new.change.address.is_some() && kind == Kind::Bridge {
            // A bridge given its address finds no live port when it
            // recomputes its id: no carrier (as after a MAC change), and
            // an operational state at once (`linkwatch_init_dev`).
            link.set_carrier(false);
            link.oper = IF_OPER_DOWN;
        }
        self.register(link, events);
        let up = new.change.flags(0).is_some_and(|f| f & IFF_UP != 0);
        self.announce(index, up, events);
        Ok(index)
    }

    /// The name a new link of `kind` gets (asked for, or the kind's
    /// pattern), then its index (asked for, or the next free one).
    pub(crate) fn name_and_index(
        &mut self,
        new: &NewLink<'_>,
        kind: Kind,
    ) -> StackResult<(IfName, u32)> {
        let name = match &new.name {
            Some(n) => self.new_link_name(n.as_str())?,
            None => self.alloc_name(&format!("{}%d", kind.name()))?,
        };
        let index = if new.index != 0 {
            if self.links.contains_key(&new.index) {
                return Err(StackError::new(EEXIST));
            }
            new.index
        } else {
            self.alloc_index()
        };
        Ok((name, index))
    }

    /// A new link of `kind`, with a MAC of its own: locally administered,
    /// a seed in the middle, so that the last three bytes (the
    /// solicited-node group of its EUI-64 link-local address) are never
    /// those of a small address.
    pub(crate) fn made_link(&mut self, kind: Kind, index: u32, name: IfName) -> Link {
        self.mac_seed = self.mac_seed.wrapping_add(1);
        let s = self.mac_seed.to_be_bytes();
        Link::new(kind, index, name, [0x02, s[1], s[2], s[3], 0x6e, 0x6c])
    }

    /// `register_netdevice`: IPv4, then IPv6, make their devices (the link
    /// is not told yet).
    pub(crate) fn register(&mut self, mut link: Link, events: Events<'_>) {
        let (index, inet4, inet6) = (link.index, link.inet4_dev, link.inet6_dev);
        self.births = self.births.wrapping_add(1);
        link.born = [self.births; 2];
        self.links.insert(index, link);
        netconf(AF_INET, index, inet4, true, events);
        netconf(AF_INET6, index, inet6, true, events);
    }

    /// `rtnl_configure_link` of a new link: opened first if asked, then
    /// told (every field changed), then `NETDEV_UP`.
    pub(crate) fn announce(&mut self, index: u32, up: bool, events: Events<'_>) {
        let pending = if up { self.open(index) } else { Vec::new() };
        self.notify_link_change(index, u32::MAX, events);
        if up {
            self.netdev_up(index, events);
            self.linkwatch(&pending, events);
        }
    }

    /// `do_setlink`: address, MTU, group, name, alias, flags, master,
    /// queue length, in that order; a failure leaves the earlier changes
    /// made (and notified), as on the kernel. The link watcher runs once
    /// the whole request is done (it waits for the kernel's lock), even
    /// after a failure.
    pub(crate) fn link_set(
        &mut self,
        index: u32,
        change: &LinkChange,
        events: Events<'_>,
    ) -> StackResult<()> {
        let outer = self.watch_deferred.is_none();
        if outer {
            self.watch_deferred = Some(WatchLater::default());
        }
        let r = self.link_set_now(index, change, events);
        if outer {
            if let Some(later) = self.watch_deferred.take().filter(|w| w.asked) {
                self.linkwatch(&later.links, events);
            }
        }
        r
    }

    fn link_set_now(
        &mut self,
        index: u32,
        change: &LinkChange,
        events: Events<'_>,
    ) -> StackResult<()> {
        self.link_ref(index)?;
        if change.address.is_some_and(|m| m.len() < 6) {
            return Err(StackError::new(EINVAL));
        }
        D::admit_link_change(self, index, change)?;
        let link = self.link_ref(index)?;
        let kind = link.kind;
        let mtu_range = link.mtu_range();
        if let Some(mac) = change.address {
            if kind == Kind::Ifb {
                // No `ndo_set_mac_address`: its address is the one it was
                // made with (`dev_set_mac_address`).
                return Err(StackError::new(EOPNOTSUPP));
            }
            let mac = hw(mac.get(..6).unwrap_or_default());
            // The address it has is always accepted; a new one must be
            // unicast and non-zero.
            let changed = self.link_ref(index)?.mac != mac;
            if changed && !valid_ether(&mac) {
                return Err(StackError::new(EADDRNOTAVAIL));
            }
            let l = self.link_mut(index)?;
            l.mac = mac;
            l.mac_given |= changed;
            if changed && kind == Kind::Bridge {
                // `br_stp_change_bridge_id`: its ports learn its id, and its
                // carrier is reconsidered at once (a port forwarding or
                // none); the link watcher tells the change afterwards.
                self.br_set_port_ids(index);
                self.br_state_selection(index);
            }
            // NETDEV_CHANGEADDR is notified even when nothing changed.
            self.notify_link(index, events);
            // `neigh_changeaddr`: every neighbour of the link goes.
            self.neigh_flush_link(index, false, events);
            if changed {
                self.br_port_event(index, crate::bridge_port::PortEvent::Addr, events);
            }
            self.linkwatch(&[], events);
        }
        if let Some(mtu) = change.mtu {
            check_mtu(mtu_range, mtu)?;
            self.vxlan_check_mtu(self.link_ref(index)?, mtu)?;
            self.macvlan_check_mtu(index, mtu)?;
            let l = self.link_mut(index)?;
            if l.mtu != mtu {
                let old = l.mtu;
                l.mtu = mtu;
                // NETDEV_CHANGEMTU reaches rtnetlink before IPv6: the
                // notification still shows the old IPv6 MTU.
                self.notify_link(index, events);
                let l = self.link_mut(index)?;
                if mtu >= IPV6_MIN_MTU && l.inet6_dev {
                    // `rt6_mtu_change` sees the IPv6 MTU before it changes.
                    let old6 = l.mtu6;
                    self.rt6_mtu_change(index, mtu, old6);
                }
                let born = self.births.wrapping_add(1);
                let l = self.link_mut(index)?;
                if mtu >= IPV6_MIN_MTU {
                    l.mtu6 = mtu;
                }
                let (had4, had6) = (l.inet4_dev, l.inet6_dev);
                l.inet4_dev = mtu >= 68;
                if mtu >= IPV6_MIN_MTU || kind == Kind::Loopback {
                    if !had6 {
                        l.make_inet6_dev();
                    }
                } else {
                    l.inet6_dev = false;
                }
                let (has4, has6) = (l.inet4_dev, l.inet6_dev);
                if has4 && !had4 {
                    l.born[0] = born;
                }
                if has6 && !had6 {
                    l.born[1] = born;
                    // A new IPv6 device loads its groups as it joins them.
                    l.mc6 = nlq::stack::Mc6Load::Initial;
                }
                if (has4 && !had4) || (has6 && !had6) {
                    self.births = born;
                }
                // NETDEV_CHANGEMTU reaches IPv4 before IPv6; each device
                // goes after its addresses, or comes back first.
                if had4 && !has4 {
                    self.ipv4_forget(index, false, events);
                }
                netconf(AF_INET, index, had4 != has4, has4, events);
                if had4 && !has4 {
                    // `inetdev_destroy` ends with `arp_ifdown`.
                    self.neigh_flush(AF_INET, index, false, events);
                }
                // The macvlans on it, between IPv4 and IPv6.
                self.macvlan_follow_mtu(index, events);
                // Every change below 1280 stops IPv6 (`addrconf_ifdown`);
                // `lo` keeps its IPv6 device, so it can lose addresses
                // added since the last one.
                if mtu < IPV6_MIN_MTU && (old >= IPV6_MIN_MTU || kind == Kind::Loopback) {
                    self.ipv6_down(index, events);
                    netconf(AF_INET6, index, had6 && !has6, false, events);
                } else if mtu >= IPV6_MIN_MTU && old < IPV6_MIN_MTU {
                    netconf(AF_INET6, index, !had6 && has6, true, events);
                    self.ipv6_ready(index, events);
                }
                // The bridge of a port, last (`br_mtu_auto_adjust`).
                self.br_port_event(index, crate::bridge_port::PortEvent::Mtu, events);
            }
            if kind == Kind::Bridge {
                // `br_change_mtu`: the user's choice from now on.
                self.link_mut(index)?.mtu_by_user = true;
            }
        }
        if let Some(g) = change.group {
            self.link_mut(index)?.group = g;
        }
        if let Some(name) = &change.name {
            self.rename(index, name, events)?;
        }
        if let Some(alias) = change.alias {
            self.link_mut(index)?.alias = (!alias.as_str().is_empty()).then_some(alias);
        }
        let cur = self.link_ref(index)?.flags;
        if let Some(flags) = change.flags(cur) {
            self.change_flags(index, flags, events)?;
        }
        if let Some(m) = change.master {
            self.set_master(index, m, events)?;
        }
        if let Some(q) = change.txqlen {
            let l = self.link_mut(index)?;
            if l.txqlen != q {
                l.txqlen = q;
                self.notify_link(index, events);
            }
        }
        Ok(())
    }

    fn rename(&mut self, index: u32, name: &IfName, events: Events<'_>) -> StackResult<()> {
        let l = self.link_ref(index)?;
        if l.name == *name {
            return Ok(());
        }
        if !valid_name(name.as_str()) {
            return Err(StackError::new(EINVAL));
        }
        if self.find_link(LinkKey::Name(name.as_str())).is_some() {
            return Err(StackError::new(EEXIST));
        }
        self.link_mut(index)?.name = *name;
        self.notify_link(index, events);
        self.relabel(index, name, events);
        // NETDEV_CHANGENAME: IPv4, then IPv6, register their
        // configuration again under the new name.
        let l = self.link_ref(index)?;
        for (family, has) in [(AF_INET, l.inet4_dev), (AF_INET6, l.inet6_dev)] {
            netconf(family, index, has, false, events);
            netconf(family, index, has, true, events);
        }
        Ok(())
    }

    /// `dev_change_flags`: the user-settable flags change at once; `IFF_UP`
    /// opens or closes the link with its consequences.
    fn change_flags(&mut self, index: u32, flags: u32, events: Events<'_>) -> StackResult<()> {
        const SETTABLE: u32 =
            0x4 /* DEBUG */ | 0x20 /* NOTRAILERS */ | IFF_NOARP | 0x8000 /* DYNAMIC */
            | IFF_MULTICAST | 0x2000 /* PORTSEL */ | 0x4000 /* AUTOMEDIA */
            | IFF_PROMISC | 0x200 /* ALLMULTI */;
        let l = self.link_mut(index)?;
        let was_up = l.is_up();
        let old = l.flags;
        l.flags = (flags & SETTABLE) | (l.flags & !SETTABLE);
        let changed = l.flags ^ old;
        let up = flags & IFF_UP != 0;
        if up && !was_up {
            self.bring_up(index, changed | IFF_UP, events);
        } else if !up && was_up {
            self.bring_down(index, changed | IFF_UP, events);
        } else if changed != 0 {
            self.notify_link_change(index, changed, events);
        }
        Ok(())
    }

    /// Opens a link: `RTM_NEWLINK`, then what `NETDEV_UP` brings (the
    /// loopback addresses, the routes of the IPv4 addresses), then the
    /// link watcher on the carriers that changed.
    pub(crate) fn bring_up(&mut self, index: u32, change: u32, events: Events<'_>) {
        let pending = self.open(index);
        if self.link_ref(index).is_ok_and(|l| l.kind == Kind::Bridge) {
            // `br_dev_open`: the ports that can forward do.
            self.br_open(index, events);
        }
        // `macvlan_open`: what it passes on to its lower link.
        self.macvlan_pass_rx_flags(index, 1, events);
        // Opening a lower link with a macvlan open on it sets its receive
        // mode: promiscuous, which its notification's change shows if
        // nothing made it so before.
        let was = self.links.get(&index).map_or(0, Link::promiscuity);
        let promisc = if self.macvlan_rx_mode(index) && was == 0 {
            IFF_PROMISC
        } else {
            0
        };
        self.notify_link_change(index, change | promisc, events);
        self.netdev_up(index, events);
        self.linkwatch_after_request(pending, events);
    }

    /// Runs the link watcher on `pending` now, or at the end of the
    /// request being handled (`link_set`).
    fn linkwatch_after_request(&mut self, pending: Vec<u32>, events: Events<'_>) {
        match &mut self.watch_deferred {
            Some(later) => {
                later.asked = true;
                for i in pending {
                    if !later.links.contains(&i) {
                        later.links.push(i);
                    }
                }
            }
            None => self.linkwatch(&pending, events),
        }
    }

    /// `__dev_open`: the link is up, its queueing discipline attached; a
    /// veth and its peer get carrier if both are up. The links whose
    /// carrier changed, for the link watcher.
    fn open(&mut self, index: u32) -> Vec<u32> {
        let Ok(l) = self.link_mut(index) else {
            return Vec::new();
        };
        l.flags |= IFF_UP;
        l.qdisc_attached = true;
        if let Some(lower) = l.macvlan.as_ref().map(|c| c.lower) {
            // `macvlan_open`: its MAC on the lower link's list.
            self.macvlan_rx_mode(lower);
        }
        match self.link_ref(index).map(|l| l.kind) {
            Ok(Kind::Veth) => self.veth_open(index),
            _ => Vec::new(),
        }
    }

    /// What `NETDEV_UP` brings.
    fn netdev_up(&mut self, index: u32, events: Events<'_>) {
        if self.link_ref(index).is_ok_and(|l| l.kind == Kind::Loopback) {
            self.loopback_v4_up(index, events);
        }
        self.ipv4_routes_up(index, events);
        self.macvlan_transfer(index);
        self.ipv6_up(index, events);
        if self.link_ref(index).is_ok_and(|l| l.mtu < IPV6_MIN_MTU) {
            // An MTU lowered while down stops IPv6 once up (`lo` keeps
            // its IPv6 device, not its addresses).
            self.ipv6_down(index, events);
        }
        // The bridge's notifier comes after IPv6's.
        self.br_port_event(index, crate::bridge_port::PortEvent::Up, events);
    }

    /// Closes a link: `RTM_NEWLINK`, its routes go, its IPv6 addresses go;
    /// then the link watcher on the carriers that changed.
    fn bring_down(&mut self, index: u32, change: u32, events: Events<'_>) {
        // `macvlan_stop`: what it passed on to its lower link.
        self.macvlan_pass_rx_flags(index, -1, events);
        let pending = self.close(index);
        if self.link_ref(index).is_ok_and(|l| l.kind == Kind::Bridge) {
            // `br_dev_stop`: its ports are disabled.
            self.br_stop(index, events);
        }
        self.notify_link_change(index, change, events);
        self.netdev_down(index, events);
        self.linkwatch_after_request(pending, events);
    }

    /// `__dev_close`: the link is down; a veth and its peer lose carrier.
    fn close(&mut self, index: u32) -> Vec<u32> {
        let Ok(l) = self.link_mut(index) else {
            return Vec::new();
        };
        l.flags &= !IFF_UP;
        if let Some(lower) = l.macvlan.as_ref().map(|c| c.lower) {
            // `macvlan_stop`: its MAC off the lower link's list.
            self.macvlan_rx_mode(lower);
        }
        match self.link_ref(index).map(|l| l.kind) {
            Ok(Kind::Veth) => self.veth_close(index),
            _ => Vec::new(),
        }
    }

    /// What `NETDEV_DOWN` brings.
    fn netdev_down(&mut self, index: u32, events: Events<'_>) {
        // NETDEV_DOWN reaches the nexthops first (their notifier is the
        // oldest).
        self.nexthop_flush_dev(index, false, events);
        // NETDEV_DOWN: IPv4 flushes its routes, then its neighbours
        // (`fib_disable_ip`); IPv6 flushes its own first (`rt6_disable_ip`).
        self.flush_link_routes(AF_INET, index, false, events);
        self.neigh_flush(AF_INET, index, false, events);
        self.macvlan_transfer(index);
        self.ipv6_down(index, events);
        self.br_port_event(index, crate::bridge_port::PortEvent::Down, events);
    }

    /// `dev_close_many`: every link of `links` that is up closes, then
    /// each is told (UP and RUNNING changed) and `NETDEV_DOWN` follows.
    pub(crate) fn close_many(&mut self, links: &[u32], events: Events<'_>) {
        let up: Vec<u32> = links
            .iter()
            .copied()
            .filter(|i| self.links.get(i).is_some_and(Link::is_up))
            .collect();
        for &i in &up {
            self.macvlan_pass_rx_flags(i, -1, events);
            self.close(i);
            if self.link_ref(i).is_ok_and(|l| l.kind == Kind::Bridge) {
                self.br_stop(i, events);
            }
        }
        for &i in &up {
            self.notify_link_change(i, IFF_UP | IFF_RUNNING, events);
            self.netdev_down(i, events);
        }
    }

    /// IPv6 works on the link (its MTU is large enough).
    pub(crate) fn inet6(&self, index: u32) -> bool {
        // `lo` keeps its IPv6 device whatever its MTU.
        self.links
            .get(&index)
            .is_some_and(|l| l.mtu >= IPV6_MIN_MTU || l.kind == Kind::Loopback)
    }

    pub(crate) fn link_set_carrier(
        &mut self,
        index: u32,
        carrier: bool,
        events: Events<'_>,
    ) -> StackResult<()> {
        let l = self.link_mut(index)?;
        if l.carrier == carrier {
            return Ok(());
        }
        l.set_carrier(carrier);
        self.carrier_changed(index, events);
        Ok(())
    }

    /// What follows a carrier change (`linkwatch`): `NETDEV_CHANGE` (the
    /// link's routes follow the carrier, IPv6 configures itself once
    /// ready), then the link's notification (`netdev_state_change` tells
    /// only about a link that is up), then the end of duplicate address
    /// detection.
    fn carrier_changed(&mut self, index: u32, events: Events<'_>) {
        let Ok(l) = self.link_ref(index) else { return };
        let (up, carrier) = (l.is_up(), l.carrier);
        if !carrier {
            self.carrier_lost(index, events);
        } else if up {
            self.set_linkdown(index, false);
            let ready = self.ipv6_config(index, events);
            self.macvlan_transfer(index);
            self.notify_link(index, events);
            if ready {
                self.ipv6_dad_run(index, events);
            }
        } else {
            self.set_linkdown(index, false);
        }
        // The macvlans that took the carrier, in the link watcher's next run.
        self.linkwatch(&[], events);
    }

    /// `NETDEV_CHANGE` without carrier: the link's nexthops go, then its
    /// neighbours (`neigh_carrier_down`); rtnetlink tells of a link that
    /// is up; its routes are marked `linkdown`.
    pub(crate) fn carrier_lost(&mut self, index: u32, events: Events<'_>) {
        self.nexthop_flush_dev(index, false, events);
        self.neigh_flush_link(index, true, events);
        if self.link_ref(index).is_ok_and(Link::is_up) {
            self.macvlan_transfer(index);
            self.br_port_event(index, crate::bridge_port::PortEvent::Change, events);
            self.notify_link(index, events);
        }
        self.set_linkdown(index, true);
    }

    /// Unregisters a link (a veth with its peer): closed first, then its
    /// IPv4 addresses go, then `RTM_DELLINK`.
    pub(crate) fn link_del(&mut self, index: u32, events: Events<'_>) -> StackResult<()> {
        let l = self.link_ref(index)?;
        if l.kind == Kind::Loopback {
            return Err(StackError::new(EOPNOTSUPP));
        }
        D::admit_del_link(self, index)?;
        if self.link_ref(index)?.kind == Kind::Bridge {
            // `br_dev_delete`: its ports leave before it closes.
            self.br_dev_delete(index, events);
        }
        if self.link_ref(index)?.kind == Kind::Veth {
            self.veth_del(index, events);
            // A bridge that lost its carrier, after the request.
            self.linkwatch(&[], events);
            return Ok(());
        }
        let l = self.link_ref(index)?;
        let macvlan_lower = l.macvlan.as_ref().map_or(0, |c| c.lower);
        let lower = l.vxlan.as_ref().map_or(macvlan_lower, |c| c.lower);
        if macvlan_lower != 0 {
            // `macvlan_dellink`: off its port's list first.
            self.macvlan_queue_len(macvlan_lower, &[index]);
        }
        if lower != 0 {
            // `netdev_upper_dev_unlink` before the link goes.
            self.notify_link(lower, events);
        }
        self.close_many(&[index], events);
        self.unregister(index, true, events);
        self.linkwatch(&[], events);
        Ok(())
    }

    /// `NETDEV_UNREGISTER` of a closed link, then `RTM_DELLINK` if the link
    /// had been told (`told`).
    pub(crate) fn unregister(&mut self, index: u32, told: bool, events: Events<'_>) {
        // NETDEV_UNREGISTER reaches IPv4 before IPv6 (a link that was up
        // lost its IPv6 addresses when it went down, just before); each
        // family's device goes after its addresses.
        self.nexthop_flush_dev(index, true, events);
        let Ok(l) = self.link_ref(index) else { return };
        let (inet4, inet6) = (l.inet4_dev, l.inet6_dev);
        self.ipv4_forget(index, true, events);
        netconf(AF_INET, index, inet4, false, events);
        // FIB's NETDEV_UNREGISTER, after IPv4's device went.
        self.neigh_flush(AF_INET, index, false, events);
        // The macvlans on it go with it, in one batch, before IPv6 hears.
        let over = self.macvlans_over(index);
        if !over.is_empty() {
            self.macvlan_queue_len(index, &over);
            self.close_many(&over, events);
            for i in over {
                self.unregister(i, true, events);
            }
        }
        self.ipv6_down(index, events);
        netconf(AF_INET6, index, inet6, false, events);
        if let Some(br) = self.master_of(index) {
            // The bridge's NETDEV_UNREGISTER: the port leaves.
            self.br_del_if(br, index, true, events);
        }
        self.flush_link_routes(AF_UNSPEC, index, true, events);
        // The VXLAN links over it go with it, in one batch.
        let over = self.vxlans_over(index);
        if !over.is_empty() {
            self.close_many(&over, events);
            for i in over {
                self.unregister(i, true, events);
            }
        }
        if let Some(mut l) = self.links.remove(&index) {
            if !told {
                return;
            }
            // Unregistering detaches its queueing discipline, and its IPv4
            // and IPv6 devices are gone (an empty IFLA_AF_SPEC).
            l.qdisc_attached = false;
            l.inet4_dev = false;
            l.inet6_dev = false;
            let mut r = l.repr();
            r.header.change = u32::MAX;
            events(Event::DelLink(&r));
        }
    }
}

/// Reports, when `changed`, that link `index` gained (`added`) or lost its
/// device of `family` (`devinet_sysctl_register` and `_unregister`,
/// `addrconf_sysctl_register` and `_unregister`).
fn netconf(family: u8, index: u32, changed: bool, added: bool, events: Events<'_>) {
    if changed {
        events(if added {
            Event::NewNetconf { family, index }
        } else {
            Event::DelNetconf { family, index }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use nlq::devconf::DevConf;
    use nlq::errno::Errno;
    use nlq::stack::{CreateFlags, LinkKey, NewLink, Stack};
    use nlq::wire::{AddrRepr, IfAddrMsg, IfName};

    use super::*;

    fn add(s: &mut MemStack, name: &str, kind: &str, mtu: Option<u32>) -> u32 {
        let new = NewLink {
            index: 0,
            name: IfName::try_from_str(name),
            kind,
            info: None,
            change: LinkChange {
                mtu,
                ..LinkChange::default()
            },
        };
        s.add_link(&new, &mut |_| {}).expect("link made")
    }

    fn set(s: &mut MemStack, index: u32, change: LinkChange) {
        s.set_link(index, &change, &mut |_| {})
            .expect("link changed");
    }

    fn addr_add(s: &mut MemStack, index: u32, last: u8) -> StackResult<()> {
        let req = AddrRepr {
            header: IfAddrMsg {
                family: AF_INET,
                prefix_len: 24,
                index,
                ..IfAddrMsg::default()
            },
            local: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))),
            ..AddrRepr::default()
        };
        s.add_addr(&req, CreateFlags(NLM_F_CREATE | NLM_F_EXCL), &mut |_| {})
    }

    /// What `ip -d link show` said of a new ifb on the kernel: no ARP, a
    /// queue of 32, any MTU, the legacy offload limit; `pfifo_fast` once
    /// up; its IPv6 device made without ARP (`accept_dad` -1).
    #[test]
    fn an_ifb_is_made_as_the_kernel_makes_it() {
        let mut s = MemStack::new();
        let i = add(&mut s, "ifb0", "ifb", None);
        let r = s.link(LinkKey::Index(i)).unwrap();
        assert_eq!(r.header.flags, IFF_BROADCAST | IFF_NOARP);
        assert_eq!(r.txqlen, Some(32));
        assert_eq!(r.qdisc.as_ref().map(|q| q.as_str()), Some("noop"));
        let kind = r.info.as_ref().and_then(|i| i.kind.as_ref());
        assert_eq!(kind.map(|k| k.as_str()), Some("ifb"));
        assert_eq!((r.details.min_mtu, r.details.max_mtu), (Some(0), Some(0)));
        assert_eq!(r.details.tso_max_size, Some(524_280));
        let conf = DevConf::from_af_spec(r.af_spec.as_ref().unwrap(), false);
        assert!(conf.noarp6 && conf.inet4 && conf.inet6);
        set(
            &mut s,
            i,
            LinkChange {
                flags: IFF_UP,
                flags_mask: IFF_UP,
                ..LinkChange::default()
            },
        );
        let r = s.link(LinkKey::Index(i)).unwrap();
        assert_eq!(r.qdisc.as_ref().map(|q| q.as_str()), Some("pfifo_fast"));
        // Its address cannot change (`ip link set ifb0 address ...`:
        // "Operation not supported"), even to what it is.
        let same = LinkChange {
            address: r.address,
            ..LinkChange::default()
        };
        let err = s.set_link(i, &same, &mut |_| {}).unwrap_err();
        assert_eq!((err.errno, err.message), (Errno::EOPNOTSUPP, None));
        // A veth has ARP: its IPv6 device takes addresses through DAD.
        let v = add(&mut s, "v0", "veth", None);
        let r = s.link(LinkKey::Index(v)).unwrap();
        assert!(!DevConf::from_af_spec(r.af_spec.as_ref().unwrap(), false).noarp6);
    }

    /// `inetdev_init` runs at registration whatever the MTU: a link made
    /// at 60 bytes takes IPv4 addresses, until an MTU change below 68
    /// takes its IPv4 device (and them) away.
    #[test]
    fn a_link_made_below_68_bytes_has_ipv4_until_its_mtu_changes() {
        let mut s = MemStack::new();
        let i = add(&mut s, "ifb0", "ifb", Some(60));
        addr_add(&mut s, i, 1).expect("an IPv4 device at 60 bytes");
        assert_eq!(s.addr_count(), 1);
        set(
            &mut s,
            i,
            LinkChange {
                mtu: Some(50),
                ..LinkChange::default()
            },
        );
        assert_eq!(s.addr_count(), 0);
        assert_eq!(addr_add(&mut s, i, 2).unwrap_err().errno, ENOBUFS);
    }
}
