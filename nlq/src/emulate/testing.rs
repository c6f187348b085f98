//! A small in-memory stack for the tests of the emulations: three links
//! (`lo`, `eth0`, `tun0`) with IPv4 and IPv6 addresses, and just enough
//! change methods (with Linux's answers) for the ioctls.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::ControlFlow;

use crate::errno::{EADDRNOTAVAIL, EEXIST, ENODEV};
use crate::stack::{CreateFlags, Event, Events, LinkChange, Stack, StackError, StackResult, Visit};
use crate::wire::consts::*;
use crate::wire::{AddrRepr, HwAddr, IfName, LinkRepr, LinkStats, LinkStats64};

/// Links and addresses in vectors. Addresses are kept ordered by family,
/// then link (as a kernel dump lists them); a new one goes after the others
/// of its link.
pub(crate) struct TestStack {
    pub links: Vec<LinkRepr>,
    pub addrs: Vec<AddrRepr>,
    /// When set, `add_addr` fails with this errno.
    pub fail_add: Option<i32>,
}

fn link(index: u32, name: &str, kind: u16, flags: u32, mtu: u32, txqlen: u32) -> LinkRepr {
    let mut l = LinkRepr::default();
    l.header.index = index;
    l.header.hardware_type = kind;
    l.header.flags = flags;
    l.name = IfName::try_from_str(name);
    l.mtu = Some(mtu);
    l.txqlen = Some(txqlen);
    l
}

fn v4(index: u32, local: [u8; 4], prefix: u8, label: Option<&str>) -> AddrRepr {
    let ip = IpAddr::V4(Ipv4Addr::from(local));
    let mut a = AddrRepr::new(ip, prefix, index).with_local(ip);
    a.label = label.and_then(IfName::try_from_str);
    a
}

fn v6(index: u32, addr: &str, prefix: u8, scope: u8) -> AddrRepr {
    let ip = IpAddr::V6(addr.parse::<Ipv6Addr>().unwrap());
    let mut a = AddrRepr::new(ip, prefix, index);
    a.header.scope = scope;
    a
}

/// The fixture:
///
/// - `lo` (1): up, 64-bit counters only; `127.0.0.1/8` scope host, `::1/128`.
/// - `eth0` (2): up, MAC 02:00:00:00:00:01, 32-bit counters only;
///   `10.0.0.1/24 brd 10.0.0.255`, `10.0.1.1/24 brd 10.0.1.255` labelled
///   `eth0:1`, `10.0.0.2/16 brd 10.0.255.255`; `fe80::1/64`,
///   `2001:db8::1/64`.
/// - `tun0` (3): point-to-point, down, no MAC, no counters; `10.9.0.1 peer
///   10.9.0.2/32` without a label.
pub(crate) fn fixture() -> TestStack {
    let mut lo = link(1, "lo", ARPHRD_LOOPBACK, 0x10049, 65536, 1000);
    lo.address = HwAddr::try_from_slice(&[0; 6]);
    lo.broadcast = HwAddr::try_from_slice(&[0; 6]);
    lo.stats64 = Some(LinkStats64 {
        rx_bytes: u64::MAX,
        rx_packets: 58,
        rx_errors: 1,
        rx_dropped: 3,
        rx_missed_errors: 2,
        rx_fifo_errors: 2,
        rx_length_errors: 1,
        rx_over_errors: 2,
        rx_crc_errors: 3,
        rx_frame_errors: 4,
        tx_bytes: 6386,
        tx_packets: 58,
        ..LinkStats64::default()
    });
    let mut eth0 = link(2, "eth0", ARPHRD_ETHER, 0x11043, 1500, 1000);
    eth0.address = HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 1]);
    eth0.broadcast = HwAddr::try_from_slice(&[0xff; 6]);
    eth0.stats = Some(LinkStats {
        rx_bytes: 123456,
        rx_packets: 1000,
        rx_errors: 1,
        rx_dropped: 7,
        rx_fifo_errors: 3,
        rx_length_errors: 10,
        rx_compressed: 4,
        multicast: 9,
        tx_bytes: 654321,
        tx_packets: 2000,
        tx_errors: 2,
        tx_dropped: 3,
        tx_fifo_errors: 4,
        collisions: 5,
        tx_carrier_errors: 1,
        tx_aborted_errors: 2,
        tx_window_errors: 3,
        tx_heartbeat_errors: 4,
        tx_compressed: 6,
        ..LinkStats::default()
    });
    let tun0 = link(3, "tun0", ARPHRD_NONE, 0x1090, 1500, 500);

    let mut lo4 = v4(1, [127, 0, 0, 1], 8, Some("lo"));
    lo4.header.scope = RT_SCOPE_HOST;
    let mut e1 = v4(2, [10, 0, 0, 1], 24, Some("eth0"));
    e1.broadcast = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 255)));
    let mut e2 = v4(2, [10, 0, 1, 1], 24, Some("eth0:1"));
    e2.broadcast = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 255)));
    let mut e3 = v4(2, [10, 0, 0, 2], 16, Some("eth0"));
    e3.broadcast = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 255, 255)));
    let mut t = v4(3, [10, 9, 0, 1], 32, None);
    t.address = Some(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 2)));
    let mut lo6 = v6(1, "::1", 128, RT_SCOPE_HOST);
    lo6.flags = Some(IFA_F_PERMANENT);
    TestStack {
        links: vec![lo, eth0, tun0],
        addrs: vec![
            lo4,
            e1,
            e2,
            e3,
            t,
            lo6,
            v6(2, "fe80::1", 64, RT_SCOPE_LINK),
            v6(2, "2001:db8::1", 64, RT_SCOPE_UNIVERSE),
        ],
        fail_add: None,
    }
}

/// The address that identifies `a` (`IFA_LOCAL`, else `IFA_ADDRESS`).
fn key(a: &AddrRepr) -> (u8, u32, Option<IpAddr>, u8) {
    (
        a.header.family,
        a.header.index,
        a.local.or(a.address),
        a.header.prefix_len,
    )
}

impl Stack for TestStack {
    fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
        for l in self.links.iter().skip(start) {
            if visit(l).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
        let l = self
            .links
            .iter_mut()
            .find(|l| l.header.index == index)
            .ok_or(StackError::new(ENODEV))?;
        if let Some(f) = change.flags(l.header.flags) {
            l.header.flags = f;
        }
        if let Some(m) = change.mtu {
            l.mtu = Some(m);
        }
        if let Some(q) = change.txqlen {
            l.txqlen = Some(q);
        }
        if let Some(a) = change.address {
            l.address = Some(a);
        }
        events(Event::NewLink(l));
        Ok(())
    }

    fn addrs(&self, family: u8, start: usize, visit: Visit<'_, AddrRepr>) -> StackResult<()> {
        let all = self
            .addrs
            .iter()
            .filter(|a| family == AF_UNSPEC || a.header.family == family);
        for a in all.skip(start) {
            if let ControlFlow::Break(()) = visit(a) {
                break;
            }
        }
        Ok(())
    }

    fn add_addr(
        &mut self,
        addr: &AddrRepr,
        flags: CreateFlags,
        events: Events<'_>,
    ) -> StackResult<()> {
        if let Some(e) = self.fail_add {
            return Err(StackError::new(e));
        }
        if !self
            .links
            .iter()
            .any(|l| l.header.index == addr.header.index)
        {
            return Err(StackError::new(ENODEV));
        }
        if self.addrs.iter().any(|a| key(a) == key(addr)) {
            assert!(flags.excl(), "the ioctls only create");
            return Err(StackError::new(EEXIST));
        }
        let order = |a: &AddrRepr| (a.header.family, a.header.index);
        let at = self
            .addrs
            .iter()
            .position(|a| order(a) > order(addr))
            .unwrap_or(self.addrs.len());
        self.addrs.insert(at, *addr);
        events(Event::NewAddr(addr));
        Ok(())
    }

    fn del_addr(&mut self, addr: &AddrRepr, events: Events<'_>) -> StackResult<()> {
        let at = self
            .addrs
            .iter()
            .position(|a| key(a) == key(addr))
            .ok_or(StackError::new(EADDRNOTAVAIL))?;
        let gone = self.addrs.remove(at);
        events(Event::DelAddr(&gone));
        Ok(())
    }
}
