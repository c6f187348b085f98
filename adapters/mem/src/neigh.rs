//! Neighbours (the ARP and NDP tables) as the kernel keeps them when
//! configured over netlink: `neigh_add`, `neigh_delete`, the tables'
//! constructors (`arp_constructor`, `ndisc_constructor`), `__neigh_update`,
//! and the flushes a link's changes bring (`neigh_ifdown`,
//! `neigh_changeaddr`, `neigh_carrier_down`).
//!
//! Nothing here resolves anything: no packet is sent, and the timers that
//! move a `REACHABLE` entry to `STALE`, or probe an `INCOMPLETE` one, do
//! not run (an entry keeps the state it was given).

use std::net::{IpAddr, Ipv4Addr};

use nlq::errno::{EEXIST, EINVAL, ENOENT, EOPNOTSUPP};
use nlq::stack::{CreateFlags, Event, Events, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{HwAddr, NdMsg, NeighCacheInfo, NeighRepr};

use crate::link::hw;
use crate::{DataPlane, MemStack};

/// `NUD_VALID`: the states that hold a link-layer address.
const NUD_VALID: u16 =
    NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

/// A neighbour's place: family, link, address (`0.0.0.0` for every IPv4
/// neighbour of a loopback link, as `arp_hashfn` keys them).
pub(crate) type NeighKey = (u8, u32, IpAddr);

/// One neighbour entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Neigh {
    /// `NUD_*`.
    pub state: u16,
    /// `NTF_*` the entry keeps (`NTF_EXT_LEARNED`).
    pub flags: u8,
    /// `ndm_type`: what the address is to the link (`RTN_*`).
    pub address_type: u8,
    /// The link-layer address (meaningful in a valid state).
    pub lladdr: HwAddr,
    /// `NDA_PROTOCOL` (0: none).
    pub protocol: u8,
}

impl Neigh {
    pub fn repr(&self, key: &NeighKey) -> NeighRepr {
        let (family, ifindex, dst) = *key;
        NeighRepr {
            header: NdMsg {
                family,
                ifindex,
                state: self.state,
                flags: self.flags,
                address_type: self.address_type,
            },
            dst: Some(dst),
            lladdr: (self.state & NUD_VALID != 0).then_some(self.lladdr),
            probes: Some(0),
            cache_info: Some(NeighCacheInfo::default()),
            protocol: (self.protocol != 0).then_some(self.protocol),
            flags_ext: None,
        }
    }
}

/// An entry of [`Tables::neighs`](crate::Tables::neighs), checked: a
/// family with a table, an address of it, a link that exists.
pub(crate) fn restored(
    r: &NeighRepr,
    link_exists: impl Fn(u32) -> bool,
) -> StackResult<(NeighKey, Neigh)> {
    let bad = |what| Err(StackError::with_message(EINVAL, what));
    let h = r.header;
    let dst = match (h.family, r.dst) {
        (AF_INET, Some(d @ IpAddr::V4(_))) | (AF_INET6, Some(d @ IpAddr::V6(_))) => d,
        _ => return bad("a neighbour without an address of its family"),
    };
    if !link_exists(h.ifindex) {
        return bad("a neighbour is on a link that does not exist");
    }
    let n = Neigh {
        state: h.state,
        flags: h.flags,
        address_type: h.address_type,
        lladdr: r.lladdr.unwrap_or_else(|| hw(&[0; 6])),
        protocol: r.protocol.unwrap_or(0),
    };
    Ok(((h.family, h.ifindex, dst), n))
}

/// The multicast MAC of a group (`arp_mc_map`, `ndisc_mc_map` for
/// Ethernet).
fn multicast_mac(ip: IpAddr) -> [u8; 6] {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

impl<D: DataPlane> MemStack<D> {
    /// Where a new entry for `ip` on link `index` is kept: the IPv4
    /// constructor keys every neighbour of a loopback or point-to-point
    /// link `0.0.0.0` (lookups by the address itself then miss it).
    fn neigh_home(&self, family: u8, index: u32, ip: IpAddr) -> NeighKey {
        let flat = self
            .links
            .get(&index)
            .is_some_and(|l| l.flags & (IFF_LOOPBACK | IFF_POINTOPOINT) != 0);
        if family == AF_INET && flat {
            (family, index, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        } else {
            (family, index, ip)
        }
    }

    /// `inet_addr_type_dev_table`: what an IPv4 address is, from the
    /// local table (with main while they are merged).
    fn addr_type(&self, ip: IpAddr) -> u8 {
        let IpAddr::V4(a) = ip else {
            return RTN_UNICAST;
        };
        if a.is_unspecified() || a.octets()[0] == 0 || a.is_broadcast() {
            return RTN_BROADCAST;
        }
        if a.is_multicast() {
            return RTN_MULTICAST;
        }
        if !self.tables.contains(&(AF_INET, RT_TABLE_LOCAL)) {
            return RTN_BROADCAST;
        }
        let tables: &[u32] = if self.rules.custom_rules(AF_INET) {
            &[RT_TABLE_LOCAL]
        } else {
            &[RT_TABLE_LOCAL, RT_TABLE_MAIN]
        };
        // `inet_addr_type_dev_table` asks without the link: whatever link
        // the route goes through.
        // A reject route is a failed lookup (`fib_props[type].error`).
        match self.longest_match(ip, tables, |r| r.tos == 0) {
            Some(r)
                if !matches!(
                    r.route_type,
                    RTN_BLACKHOLE | RTN_UNREACHABLE | RTN_PROHIBIT | RTN_THROW
                ) =>
            {
                r.route_type
            }
            _ => RTN_UNICAST,
        }
    }

    /// A new entry as the family's constructor makes it: its type, and
    /// for what needs no resolution `NUD_NOARP` with its address.
    fn neigh_construct(&self, key: &NeighKey) -> StackResult<Neigh> {
        let (family, index, ip) = *key;
        let l = self.link_ref(index)?;
        let v4 = family == AF_INET;
        if (v4 && !l.inet4_dev) || (!v4 && !l.inet6_dev) {
            return Err(StackError::new(EINVAL));
        }
        let loopback = l.flags & IFF_LOOPBACK != 0;
        let kind = if v4 {
            self.addr_type(ip)
        } else if ip.is_multicast() {
            RTN_MULTICAST
        } else if loopback {
            RTN_LOCAL
        } else {
            RTN_UNICAST
        };
        // What needs no resolution is NOARP from the start, with its
        // address: `arp_mc_map` / `ndisc_mc_map` for a group (Ethernet maps
        // it, `lo` takes its broadcast address), the link's own for
        // NOARP and loopback links, the broadcast one for broadcasts and
        // point-to-point links.
        let noarp = if kind == RTN_MULTICAST {
            Some(if l.kind == crate::Kind::Loopback {
                l.broadcast
            } else {
                hw(&multicast_mac(ip))
            })
        } else if l.flags & IFF_NOARP != 0 || loopback {
            Some(l.mac)
        } else if (v4 && kind == RTN_BROADCAST) || l.flags & IFF_POINTOPOINT != 0 {
            Some(l.broadcast)
        } else {
            None
        };
        Ok(Neigh {
            state: if noarp.is_some() { NUD_NOARP } else { NUD_NONE },
            flags: 0,
            address_type: kind,
            lladdr: noarp.unwrap_or_else(|| hw(&[0; 6])),
            protocol: 0,
        })
    }

    /// `neigh_add` from the lookup on (the server checked the request
    /// and the link): create or update the entry, notify a change.
    pub(crate) fn neigh_add(
        &mut self,
        req: &NeighRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        let h = req.header;
        let Some(dst) = req.dst else {
            return Err(StackError::with_message(
                EINVAL,
                "Network address not specified",
            ));
        };
        if h.flags & NTF_USE != 0 || req.flags_ext.unwrap_or(0) & NTF_EXT_MANAGED != 0 {
            return Err(StackError::with_message(
                EOPNOTSUPP,
                "neighbours are not resolved here: no NTF_USE or managed entries",
            ));
        }
        let l = self.link_ref(h.ifindex)?;
        if h.family == AF_INET6 && !l.inet6_dev {
            return Err(StackError::with_message(
                EINVAL,
                "IPv6 is disabled on this device",
            ));
        }
        let mut key = (h.family, h.ifindex, dst);
        let mut override_ll = true;
        if self.neighs.contains_key(&key) {
            if flags.excl() {
                return Err(StackError::new(EEXIST));
            }
            override_ll = flags.replace();
        } else {
            if !flags.create() {
                return Err(StackError::new(ENOENT));
            }
            // `___neigh_create`: an entry already at the constructed key
            // is the one updated.
            key = self.neigh_home(h.family, h.ifindex, dst);
            if !self.neighs.contains_key(&key) {
                let n = self.neigh_construct(&key)?;
                self.neighs.insert(key, n);
                self.generation = self.generation.wrapping_add(1);
            }
        }
        let Some(n) = self.neighs.get_mut(&key) else {
            return Err(StackError::new(ENOENT));
        };
        if let Some(p) = req.protocol.filter(|p| *p != 0) {
            n.protocol = p;
        }
        // `neigh_update_flags`: an administrative update sets or clears
        // NTF_EXT_LEARNED as asked.
        let mut notify = false;
        let learned = h.flags & NTF_EXT_LEARNED;
        if (n.flags ^ learned) & NTF_EXT_LEARNED != 0 {
            n.flags = (n.flags & !NTF_EXT_LEARNED) | learned;
            notify = true;
        }
        let r = neigh_update(n, req.lladdr.as_ref(), h.state, override_ll, &mut notify);
        if notify {
            self.generation = self.generation.wrapping_add(1);
            if let Some(n) = self.neighs.get(&key) {
                events(Event::NewNeigh(&n.repr(&key)));
            }
        }
        r
    }

    /// `neigh_delete` from the lookup on: the entry fails (told when it
    /// was valid), then goes.
    pub(crate) fn neigh_del(&mut self, req: &NeighRepr, events: Events<'_>) -> StackResult<()> {
        let h = req.header;
        let Some(dst) = req.dst else {
            return Err(StackError::with_message(
                EINVAL,
                "Network address not specified",
            ));
        };
        let key = (h.family, h.ifindex, dst);
        if !self.neighs.contains_key(&key) {
            return Err(StackError::new(ENOENT));
        }
        self.neigh_fail_remove(key, true, events);
        self.generation = self.generation.wrapping_add(1);
        Ok(())
    }

    /// The entry at `key` fails first (when `fail`; told if that shows),
    /// then goes (`neigh_remove_one`), told.
    fn neigh_fail_remove(&mut self, key: NeighKey, fail: bool, events: Events<'_>) {
        if let Some(n) = self.neighs.get_mut(&key).filter(|_| fail) {
            let mut notify = false;
            // To a state without an address: nothing is compared, nothing
            // can fail.
            let _ = neigh_update(n, None, NUD_FAILED, true, &mut notify);
            if notify {
                events(Event::NewNeigh(&n.repr(&key)));
            }
        }
        if let Some(n) = self.neighs.remove(&key) {
            events(Event::DelNeigh(&n.repr(&key)));
        }
    }

    /// Removes the entries of `family` on link `index` (`neigh_ifdown`,
    /// `neigh_changeaddr`; with `keep_permanent`, `neigh_carrier_down`),
    /// each told.
    pub(crate) fn neigh_flush(
        &mut self,
        family: u8,
        index: u32,
        keep_permanent: bool,
        events: Events<'_>,
    ) {
        let gone: Vec<NeighKey> = self
            .neighs
            .range((family, index, IpAddr::V4(Ipv4Addr::UNSPECIFIED))..)
            .take_while(|((f, i, _), _)| *f == family && *i == index)
            .filter(|(_, n)| !(keep_permanent && n.state & NUD_PERMANENT != 0))
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            if let Some(n) = self.neighs.remove(&k) {
                events(Event::DelNeigh(&n.repr(&k)));
            }
        }
    }

    /// `arp_invalidate(dev, ip, false)`, as `fib_add_ifaddr` calls it for
    /// each broadcast address it routes: an entry for `ip` on link `index`
    /// that holds no link-layer address goes (one still resolving fails
    /// first, and is told so), each step told.
    pub(crate) fn arp_invalidate(&mut self, index: u32, ip: IpAddr, events: Events<'_>) {
        let key = (AF_INET, index, ip);
        let Some(state) = self.neighs.get(&key).map(|n| n.state) else {
            return;
        };
        if state & NUD_VALID == 0 {
            self.neigh_fail_remove(key, state & !NUD_NOARP != 0, events);
        }
    }

    /// Both families' entries on link `index`, IPv4 first.
    pub(crate) fn neigh_flush_link(
        &mut self,
        index: u32,
        keep_permanent: bool,
        events: Events<'_>,
    ) {
        self.neigh_flush(AF_INET, index, keep_permanent, events);
        self.neigh_flush(AF_INET6, index, keep_permanent, events);
    }

    /// The entries of `family` (`AF_UNSPEC`: IPv4 then IPv6), each with
    /// its key.
    pub(crate) fn neighs_of(&self, family: u8) -> impl Iterator<Item = NeighRepr> + '_ {
        self.neighs
            .iter()
            .filter(move |((f, _, _), _)| family == AF_UNSPEC || *f == family)
            .map(|(k, n)| n.repr(k))
    }
}

/// `__neigh_update` for an administrative request (`NEIGH_UPDATE_F_ADMIN`,
/// and `NEIGH_UPDATE_F_OVERRIDE` unless an existing entry is only
/// created-or-kept): the new state and address, `notify` set when
/// something a listener sees changed.
fn neigh_update(
    n: &mut Neigh,
    lladdr: Option<&HwAddr>,
    new: u16,
    override_ll: bool,
    notify: &mut bool,
) -> StackResult<()> {
    let old = n.state;
    if new & NUD_VALID == 0 {
        n.state = new;
        *notify |= old & NUD_VALID != 0
            || (old & (NUD_INCOMPLETE | NUD_PROBE) != 0 && new & NUD_FAILED != 0);
        return Ok(());
    }
    // The address is the same when the entry holds it already.
    let ll = match lladdr {
        Some(l) => {
            let l = hw(l.get(..6).unwrap_or_default());
            (old & NUD_VALID == 0 || l != n.lladdr).then_some(l)
        }
        None if old & NUD_VALID == 0 => {
            return Err(StackError::with_message(
                EINVAL,
                "No link layer address given",
            ))
        }
        None => None,
    };
    if old & NUD_VALID != 0 && ll.is_some() && !override_ll {
        return Ok(());
    }
    if new != old {
        n.state = new;
        *notify = true;
    }
    if let Some(l) = ll {
        n.lladdr = l;
        *notify = true;
    }
    Ok(())
}
