//! The link: the one interface of the stack, its flags, MTU, MAC and name,
//! changed in `do_setlink`'s order with the consequences nlq-mem (and the
//! kernel) give each change.

use nlq::devconf::DevConf;
use nlq::errno::*;
use nlq::stack::{Event, Events, LinkChange, StackError, StackResult};
use nlq::wire::consts::*;
use nlq::wire::{
    HwAddr, IfInfoMsg, IfName, InlineStr, LinkDetails, LinkRepr, LinkStats, LinkStats64,
};

use crate::model::Model;

/// `IPV6_MIN_MTU`: below it the link loses IPv6.
pub(crate) const IPV6_MIN_MTU: u32 = 1280;
/// The smallest MTU an Ethernet link takes (`ETH_MIN_MTU`).
pub(crate) const ETH_MIN_MTU: u32 = 68;

const IF_OPER_DOWN: u8 = 2;
const IF_OPER_UP: u8 = 6;

/// The flags `dev_change_flags` lets a user set (besides `IFF_UP`).
const SETTABLE: u32 = 0x4 /* DEBUG */ | 0x20 /* NOTRAILERS */ | IFF_NOARP | 0x8000 /* DYNAMIC */
    | IFF_MULTICAST | 0x2000 /* PORTSEL */ | 0x4000 /* AUTOMEDIA */ | IFF_PROMISC
    | 0x200 /* ALLMULTI */;

/// The link's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub name: IfName,
    /// `IFF_*` the user controls, `IFF_UP` included.
    pub flags: u32,
    pub mtu: u32,
    /// The largest MTU the device carries.
    pub max_mtu: u32,
    pub mac: [u8; 6],
    pub txqlen: u32,
    pub alias: Option<InlineStr<IFALIASZ>>,
    pub group: u32,
    /// It has been up once: its queueing discipline (the kernel's default,
    /// `pfifo_fast`, as on a tap) is attached.
    pub qdisc_attached: bool,
    /// The IPv6 device's flags (`IF_READY`, `IF_RS_SENT`).
    pub inet6_flags: u32,
    /// It has an IPv6 device: it follows the MTU (1280) once the change
    /// has been notified.
    pub inet6_dev: bool,
    /// The IPv6 MTU: the link's, as of the last time it had IPv6.
    pub mtu6: u32,
}

impl Link {
    pub fn new(name: IfName, mac: [u8; 6], mtu: u32, max_mtu: u32) -> Link {
        Link {
            name,
            flags: IFF_BROADCAST | IFF_MULTICAST,
            mtu,
            max_mtu,
            mac,
            txqlen: 1000,
            alias: None,
            group: 0,
            qdisc_attached: false,
            inet6_flags: 0,
            inet6_dev: mtu >= IPV6_MIN_MTU,
            mtu6: mtu,
        }
    }

    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }

    /// The flags as the kernel reports them: the device always has
    /// carrier, so an up link is running.
    pub fn iff(&self) -> u32 {
        if self.is_up() {
            self.flags | IFF_RUNNING | IFF_LOWER_UP
        } else {
            self.flags
        }
    }

    /// IPv6 works on the link (its MTU is large enough).
    pub fn inet6(&self) -> bool {
        self.mtu >= IPV6_MIN_MTU
    }

    pub fn repr(&self, index: u32) -> LinkRepr {
        LinkRepr {
            header: IfInfoMsg {
                family: AF_UNSPEC,
                kind: ARPHRD_ETHER,
                index,
                flags: self.iff(),
                change: 0,
            },
            name: Some(self.name),
            address: HwAddr::try_from_slice(&self.mac),
            broadcast: HwAddr::try_from_slice(&[0xff; 6]),
            mtu: Some(self.mtu),
            txqlen: Some(self.txqlen),
            operstate: Some(if self.is_up() {
                IF_OPER_UP
            } else {
                IF_OPER_DOWN
            }),
            linkmode: Some(0),
            group: Some(self.group),
            alias: self.alias,
            stats: Some(LinkStats::default()),
            stats64: Some(LinkStats64::default()),
            carrier: Some(1),
            qdisc: InlineStr::try_from_str(if self.qdisc_attached {
                "pfifo_fast"
            } else {
                "noop"
            }),
            // The carrier never changes.
            details: LinkDetails::linux(68, self.max_mtu, 0, 0),
            af_spec: DevConf {
                loopback: false,
                inet4: true,
                inet6: self.inet6_dev,
                inet6_flags: self.inet6_flags,
                mtu6: self.mtu6,
            }
            .af_spec(),
            ..LinkRepr::default()
        }
    }
}

/// `dev_valid_name`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// `is_valid_ether_addr`: not multicast, not all zeros.
pub(crate) fn valid_ether(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac.iter().any(|b| *b != 0)
}

impl Model {
    pub(crate) fn notify_link(&self, events: Events<'_>) {
        self.notify_link_change(0, events);
    }

    /// `RTM_NEWLINK` with `ifi_change` = `change` (the flags that changed).
    fn notify_link_change(&self, change: u32, events: Events<'_>) {
        let mut r = self.link.repr(self.index);
        r.header.change = change;
        events(Event::NewLink(&r));
    }

    /// `do_setlink`: address, MTU, group, name, alias, flags, master, queue
    /// length, in that order; a failure leaves the earlier changes made
    /// (and notified), as on the kernel.
    pub(crate) fn link_set(&mut self, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        if let Some(mac) = change.address {
            let mac: [u8; 6] = mac
                .as_slice()
                .get(..6)
                .and_then(|m| m.try_into().ok())
                .ok_or(StackError::new(EINVAL))?;
            // The address it has is always accepted; a new one must be
            // unicast and non-zero.
            if self.link.mac != mac && !valid_ether(&mac) {
                return Err(StackError::new(EADDRNOTAVAIL));
            }
            self.link.mac = mac;
            // NETDEV_CHANGEADDR is notified even when nothing changed.
            self.notify_link(events);
        }
        if let Some(mtu) = change.mtu {
            if mtu < ETH_MIN_MTU {
                return Err(StackError::with_message(
                    EINVAL,
                    "mtu less than device minimum",
                ));
            }
            if mtu > self.link.max_mtu {
                return Err(StackError::with_message(
                    EINVAL,
                    "mtu greater than device maximum",
                ));
            }
            let old = self.link.mtu;
            if old != mtu {
                self.link.mtu = mtu;
                // rtnetlink hears of the change before IPv6 does.
                self.notify_link(events);
                self.link.inet6_dev = mtu >= IPV6_MIN_MTU;
                if self.link.inet6_dev {
                    self.link.mtu6 = mtu;
                }
                if mtu < IPV6_MIN_MTU && old >= IPV6_MIN_MTU {
                    self.ipv6_down(events);
                } else if mtu >= IPV6_MIN_MTU && old < IPV6_MIN_MTU {
                    self.ipv6_ready(events);
                }
            }
        }
        if let Some(g) = change.group {
            self.link.group = g;
        }
        if let Some(name) = &change.name {
            if self.link.name != *name {
                if !valid_name(name.as_str()) {
                    return Err(StackError::new(EINVAL));
                }
                self.link.name = *name;
                self.notify_link(events);
                self.relabel(name, events);
            }
        }
        if let Some(alias) = change.alias {
            self.link.alias = (!alias.as_str().is_empty()).then_some(alias);
        }
        if let Some(flags) = change.flags(self.link.flags) {
            self.change_flags(flags, events);
        }
        if change.master.is_some_and(|m| m != 0) {
            // The link cannot be enslaved: nothing here is a master.
            return Err(StackError::new(EOPNOTSUPP));
        }
        if let Some(q) = change.txqlen {
            if self.link.txqlen != q {
                self.link.txqlen = q;
                self.notify_link(events);
            }
        }
        Ok(())
    }

    /// `dev_change_flags`: the user-settable flags change at once; `IFF_UP`
    /// opens or closes the link with its consequences.
    fn change_flags(&mut self, flags: u32, events: Events<'_>) {
        let was_up = self.link.is_up();
        let old = self.link.flags;
        self.link.flags = (flags & SETTABLE) | (old & !SETTABLE);
        let up = flags & IFF_UP != 0;
        let changed = self.link.flags ^ old;
        if up && !was_up {
            self.bring_up(changed | IFF_UP, events);
        } else if !up && was_up {
            self.bring_down(changed | IFF_UP, events);
        } else if changed != 0 {
            self.notify_link_change(changed, events);
        }
    }

    /// Opens the link: `RTM_NEWLINK`, then what `NETDEV_UP` brings (the
    /// routes of the IPv4 addresses, IPv6).
    fn bring_up(&mut self, change: u32, events: Events<'_>) {
        self.link.flags |= IFF_UP;
        self.link.qdisc_attached = true;
        self.notify_link_change(change, events);
        self.ipv4_routes_up(events);
        self.ipv6_up(events);
    }

    /// Closes the link: `RTM_NEWLINK`, its IPv4 routes go silently (but
    /// the local ones), its IPv6 routes and addresses go, notified.
    fn bring_down(&mut self, change: u32, events: Events<'_>) {
        self.link.flags &= !IFF_UP;
        self.notify_link_change(change, events);
        self.flush_routes4_silently();
        self.ipv6_down(events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_dev_valid_name() {
        assert!(valid_name("eth0"));
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "0123456789abcdef"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("0123456789abcde"));
    }

    #[test]
    fn ether_addresses() {
        assert!(valid_ether(&[2, 0, 0, 0, 0, 1]));
        assert!(!valid_ether(&[0; 6]));
        assert!(!valid_ether(&[1, 0, 0, 0, 0, 1]));
        assert!(!valid_ether(&[0xff; 6]));
    }

    #[test]
    fn an_up_link_reports_running() {
        let mut l = Link::new(
            IfName::try_from_str("eth0").unwrap(),
            [2, 0, 0, 0, 0, 1],
            1500,
            1500,
        );
        assert_eq!(l.iff() & IFF_RUNNING, 0);
        assert_eq!(l.repr(2).operstate, Some(IF_OPER_DOWN));
        l.flags |= IFF_UP;
        assert_eq!(
            l.iff() & (IFF_RUNNING | IFF_LOWER_UP),
            IFF_RUNNING | IFF_LOWER_UP
        );
        assert_eq!(l.repr(2).operstate, Some(IF_OPER_UP));
    }
}
