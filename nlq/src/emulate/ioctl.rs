//! Netdevice ioctl emulation (`SIOCGIF*` / `SIOCSIF*`) on top of [`Stack`].
//!
//! Old tools (`ifconfig`, glibc's `if_nametoindex`, many daemons) configure
//! interfaces with `ioctl` on any socket rather than with netlink. These
//! functions answer the netdevice ioctls of `netdevice(7)` the way Linux
//! does, turning each into the matching [`Stack`] calls, so that a shim that
//! intercepts `ioctl` only has to copy the `struct ifreq` in and out.
//!
//! The set is libnlq's: [`SIOCGIFNAME`], [`SIOCGIFINDEX`], [`SIOCGIFFLAGS`],
//! [`SIOCGIFMTU`], [`SIOCGIFTXQLEN`], [`SIOCGIFHWADDR`], [`SIOCGIFMAP`],
//! [`SIOCGIFMETRIC`]; [`SIOCSIFFLAGS`], [`SIOCSIFMTU`], [`SIOCSIFTXQLEN`],
//! [`SIOCSIFHWADDR`]; the IPv4 address ioctls [`SIOCGIFADDR`],
//! [`SIOCGIFDSTADDR`], [`SIOCGIFBRDADDR`], [`SIOCGIFNETMASK`] and their
//! `SIOCS*` counterparts; and [`SIOCGIFCONF`] through [`ifconf`] (its
//! argument is a `struct ifconf`, not an `ifreq`). Every other request is
//! `EOPNOTSUPP`.
//!
//! # The rules followed (Linux's `dev_ioctl` and `devinet_ioctl`)
//!
//! - The name is read up to the first NUL within `IFNAMSIZ` bytes (the last
//!   byte is treated as NUL). For link lookups a `name:alias` suffix is
//!   stripped; an unknown link is `ENODEV`.
//! - The IPv4 ioctls work on the first IPv4 address of the link whose label
//!   equals the whole name (alias included; an address without a label is
//!   labelled with its link's name, as on Linux). None is `EADDRNOTAVAIL`,
//!   except for `SIOCSIFADDR`, which then creates one. The `SIOCG*` ones
//!   first try the 4.4BSD match (label *and* the address given in the
//!   request, when its family is `AF_INET`).
//! - `SIOCSIFADDR` gives the address its classful prefix (`/32` on a
//!   point-to-point link) and, on a broadcast link with a prefix below 31, the
//!   broadcast address; `0.0.0.0` deletes the address; a multicast address is
//!   `EINVAL`. The `SIOCS*` address ioctls require `sin_family == AF_INET`
//!   (`EINVAL`) and replace the address as Linux does: the old one is deleted
//!   ([`Stack::del_addr`]) and the changed one added ([`Stack::add_addr`] with
//!   `NLM_F_CREATE | NLM_F_EXCL`), so subscribers see `RTM_DELADDR` then
//!   `RTM_NEWADDR`.
//! - `SIOCSIFFLAGS` sets the low 16 flag bits through [`Stack::set_link`]
//!   (`ifi_change = 0xffff`: the kernel's `dev_change_flags`, which leaves the
//!   volatile bits to the stack). On an alias name (`eth0:1`) it acts on the
//!   alias instead, as on an `AF_INET` socket (what `ifconfig` uses): without
//!   `IFF_UP` it deletes the alias's address, with it nothing happens.
//! - `SIOCSIFMTU` / `SIOCSIFTXQLEN` with a negative value are `EINVAL`.
//!   `SIOCSIFHWADDR` is `EOPNOTSUPP` on a link without a link-layer address,
//!   `EINVAL` when `sa_family` is not the link's `ARPHRD_*` type or the
//!   address is longer than a `struct sockaddr`; it takes as many bytes as
//!   the link's current address has.
//!
//! # Layout
//!
//! An [`IfReq`] is the bytes of a `struct ifreq`: a 16-byte name and a union
//! ([`IFREQ_SIZE`] bytes in all: 40 on 64-bit Linux, 32 on 32-bit). Integers
//! are native-endian; a `sockaddr_in` is `sin_family` (native `u16`),
//! `sin_port` (big-endian `u16`), then the address in network order. The
//! `ifreq_*` helpers read and write the fields.
//!
//! ```
//! use core::ops::ControlFlow;
//! use nlq::emulate::ioctl::{ifreq, ifreq_int, ioctl, SIOCGIFINDEX};
//! use nlq::errno::Errno;
//! use nlq::stack::{Stack, StackResult, Visit};
//! use nlq::wire::{IfName, LinkRepr};
//!
//! struct OneLink;
//! impl Stack for OneLink {
//!     fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
//!         let mut l = LinkRepr::default();
//!         l.header.index = 7;
//!         l.name = IfName::try_from_str("eth0");
//!         if start == 0 {
//!             let _ = visit(&l);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut ifr = ifreq("eth0");
//! ioctl(&mut OneLink, SIOCGIFINDEX, &mut ifr, &mut |_| {}).unwrap();
//! assert_eq!(ifreq_int(&ifr), 7);
//! let mut ifr = ifreq("eth1");
//! assert_eq!(ioctl(&mut OneLink, SIOCGIFINDEX, &mut ifr, &mut |_| {}), Err(Errno::ENODEV));
//! ```

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};
use core::ops::ControlFlow;

use crate::errno::Errno;
use crate::prefix::mask4;
use crate::stack::{CreateFlags, Events, LinkChange, LinkKey, Stack};
use crate::wire::consts::{
    AF_INET, IFA_F_SECONDARY, IFF_BROADCAST, IFF_POINTOPOINT, IFF_UP, IFNAMSIZ, NLM_F_CREATE,
    NLM_F_EXCL, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE,
};
use crate::wire::{AddrRepr, HwAddr, IfName, LinkRepr};

/// `SIOCGIFNAME`: the name of the link whose index is `ifr_ifindex`.
pub const SIOCGIFNAME: u64 = 0x8910;
/// `SIOCGIFCONF`: every IPv4 address, as a list of `ifreq` (see [`ifconf`]).
pub const SIOCGIFCONF: u64 = 0x8912;
/// `SIOCGIFFLAGS`: `ifr_flags`, the low 16 bits of the link's `IFF_*` flags.
pub const SIOCGIFFLAGS: u64 = 0x8913;
/// `SIOCSIFFLAGS`: set the low 16 flag bits.
pub const SIOCSIFFLAGS: u64 = 0x8914;
/// `SIOCGIFADDR`: the local IPv4 address.
pub const SIOCGIFADDR: u64 = 0x8915;
/// `SIOCSIFADDR`: set (or create, or with `0.0.0.0` delete) the IPv4 address.
pub const SIOCSIFADDR: u64 = 0x8916;
/// `SIOCGIFDSTADDR`: the peer (`IFA_ADDRESS`) of the IPv4 address.
pub const SIOCGIFDSTADDR: u64 = 0x8917;
/// `SIOCSIFDSTADDR`: set the peer of the IPv4 address.
pub const SIOCSIFDSTADDR: u64 = 0x8918;
/// `SIOCGIFBRDADDR`: the broadcast address of the IPv4 address.
pub const SIOCGIFBRDADDR: u64 = 0x8919;
/// `SIOCSIFBRDADDR`: set the broadcast address of the IPv4 address.
pub const SIOCSIFBRDADDR: u64 = 0x891a;
/// `SIOCGIFNETMASK`: the netmask of the IPv4 address.
pub const SIOCGIFNETMASK: u64 = 0x891b;
/// `SIOCSIFNETMASK`: set the netmask (prefix length) of the IPv4 address.
pub const SIOCSIFNETMASK: u64 = 0x891c;
/// `SIOCGIFMETRIC`: `ifr_metric`, always 0 on Linux.
pub const SIOCGIFMETRIC: u64 = 0x891d;
/// `SIOCGIFMTU`: `ifr_mtu`.
pub const SIOCGIFMTU: u64 = 0x8921;
/// `SIOCSIFMTU`: set the MTU.
pub const SIOCSIFMTU: u64 = 0x8922;
/// `SIOCSIFHWADDR`: set the link-layer address.
pub const SIOCSIFHWADDR: u64 = 0x8924;
/// `SIOCGIFHWADDR`: `ifr_hwaddr`, the link-layer address and `ARPHRD_*` type.
pub const SIOCGIFHWADDR: u64 = 0x8927;
/// `SIOCGIFINDEX`: `ifr_ifindex`, the index of the named link.
pub const SIOCGIFINDEX: u64 = 0x8933;
/// `SIOCGIFTXQLEN`: `ifr_qlen`, the transmit queue length.
pub const SIOCGIFTXQLEN: u64 = 0x8942;
/// `SIOCSIFTXQLEN`: set the transmit queue length.
pub const SIOCSIFTXQLEN: u64 = 0x8943;
/// `SIOCGIFMAP`: `ifr_map`, the device's hardware parameters (all zero here).
pub const SIOCGIFMAP: u64 = 0x8970;

/// True for the netdevice requests this module answers (what a shim
/// forwards to a stack; anything else goes to the kernel).
pub fn is_netdevice_request(request: u64) -> bool {
    matches!(
        request,
        SIOCGIFNAME
            | SIOCGIFCONF
            | SIOCGIFFLAGS
            | SIOCSIFFLAGS
            | SIOCGIFADDR
            | SIOCSIFADDR
            | SIOCGIFDSTADDR
            | SIOCSIFDSTADDR
            | SIOCGIFBRDADDR
            | SIOCSIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCSIFNETMASK
            | SIOCGIFMETRIC
            | SIOCGIFMTU
            | SIOCSIFMTU
            | SIOCSIFHWADDR
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
            | SIOCSIFTXQLEN
            | SIOCGIFMAP
    )
}

/// True for the requests that change the stack (the kernel wants
/// `CAP_NET_ADMIN` for them).
pub fn is_set_request(request: u64) -> bool {
    matches!(
        request,
        SIOCSIFFLAGS
            | SIOCSIFADDR
            | SIOCSIFDSTADDR
            | SIOCSIFBRDADDR
            | SIOCSIFNETMASK
            | SIOCSIFMTU
            | SIOCSIFHWADDR
            | SIOCSIFTXQLEN
    )
}

/// Size of a C `unsigned long` (the `ifmap` fields), which on Linux is the
/// pointer width.
const ULONG: usize = core::mem::size_of::<usize>();
/// Size of `struct ifmap`: two `unsigned long`, a `u16` and three bytes,
/// padded to the `unsigned long` alignment.
const IFMAP_SIZE: usize = if ULONG == 8 { 24 } else { 16 };
/// Size of the union of `struct ifreq`: its largest member is `ifmap` (or a
/// 16-byte `sockaddr` / name).
const IFR_UNION_SIZE: usize = if IFMAP_SIZE > 16 { IFMAP_SIZE } else { 16 };

/// Size of `struct ifreq`: 40 bytes on 64-bit Linux, 32 on 32-bit.
pub const IFREQ_SIZE: usize = IFNAMSIZ + IFR_UNION_SIZE;

/// The bytes of a `struct ifreq`.
pub type IfReq = [u8; IFREQ_SIZE];

/// Offset of the union (`ifr_ifru`).
const U: usize = IFNAMSIZ;
/// Offset of `sa_data` / `sin_port` in the union's `sockaddr`.
const SA_DATA: usize = U + 2;
/// Offset of `sin_addr` in the union's `sockaddr_in`.
const SIN_ADDR: usize = U + 4;
/// Size of `struct sockaddr` (and of `sockaddr_in`).
const SOCKADDR_SIZE: usize = 16;
/// Size of `sa_data`: the longest link-layer address `SIOCGIFHWADDR` returns.
const SA_DATA_SIZE: usize = 14;

/// Copies `bytes` into `ifr` at `at` (never out of bounds for the offsets
/// used here; a write that would be is skipped).
fn put(ifr: &mut IfReq, at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| ifr.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

/// `N` bytes of `ifr` from `at` (zeros if out of bounds, which the offsets
/// used here never are).
fn take<const N: usize>(ifr: &IfReq, at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = at.checked_add(N).and_then(|end| ifr.get(at..end)) {
        out.copy_from_slice(src);
    }
    out
}

/// A zeroed `ifreq` carrying `name` (cut to `IFNAMSIZ - 1` bytes).
pub fn ifreq(name: &str) -> IfReq {
    let mut ifr = [0u8; IFREQ_SIZE];
    ifreq_set_name(&mut ifr, name.as_bytes());
    ifr
}

/// `ifr_name`: the bytes up to the first NUL, at most `IFNAMSIZ - 1`.
pub fn ifreq_name(ifr: &IfReq) -> &[u8] {
    let field = ifr.get(..IFNAMSIZ.saturating_sub(1)).unwrap_or_default();
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..len).unwrap_or_default()
}

/// Sets `ifr_name` (cut to `IFNAMSIZ - 1` bytes; the rest of the field is
/// zeroed).
pub fn ifreq_set_name(ifr: &mut IfReq, name: &[u8]) {
    let name = name.get(..IFNAMSIZ.saturating_sub(1)).unwrap_or(name);
    put(ifr, 0, &[0; IFNAMSIZ]);
    put(ifr, 0, name);
}

/// The union's first `int`: `ifr_ifindex`, `ifr_mtu`, `ifr_qlen`,
/// `ifr_metric`.
pub fn ifreq_int(ifr: &IfReq) -> i32 {
    i32::from_ne_bytes(take(ifr, U))
}

/// Sets the union's first `int`.
pub fn ifreq_set_int(ifr: &mut IfReq, v: i32) {
    put(ifr, U, &v.to_ne_bytes());
}

/// `ifr_flags` (a C `short`), as the 16 flag bits.
pub fn ifreq_flags(ifr: &IfReq) -> u16 {
    u16::from_ne_bytes(take(ifr, U))
}

/// Sets `ifr_flags`.
pub fn ifreq_set_flags(ifr: &mut IfReq, flags: u16) {
    put(ifr, U, &flags.to_ne_bytes());
}

/// `ifr_addr` read as a `sockaddr_in`: `(sin_family, sin_addr)`.
pub fn ifreq_addr(ifr: &IfReq) -> (u16, Ipv4Addr) {
    let family = u16::from_ne_bytes(take(ifr, U));
    (family, Ipv4Addr::from(take::<4>(ifr, SIN_ADDR)))
}

/// Sets `ifr_addr` to the `sockaddr_in` of `addr` (family `AF_INET`, port
/// 0, the padding zeroed).
pub fn ifreq_set_addr(ifr: &mut IfReq, addr: Ipv4Addr) {
    put(ifr, U, &[0; SOCKADDR_SIZE]);
    put(ifr, U, &u16::from(AF_INET).to_ne_bytes());
    put(ifr, SIN_ADDR, &addr.octets());
}

/// `ifr_hwaddr`: `(sa_family, sa_data)`; `sa_family` is an `ARPHRD_*` type.
pub fn ifreq_hwaddr(ifr: &IfReq) -> (u16, [u8; SA_DATA_SIZE]) {
    (u16::from_ne_bytes(take(ifr, U)), take(ifr, SA_DATA))
}

/// Sets `ifr_hwaddr` to `family` and `addr` (at most the 16 bytes
/// `SIOCSIFHWADDR` can take; `sa_data` is zero-filled after it).
pub fn ifreq_set_hwaddr(ifr: &mut IfReq, family: u16, addr: &[u8]) {
    put(ifr, U, &[0; SOCKADDR_SIZE]);
    put(ifr, U, &family.to_ne_bytes());
    put(ifr, SA_DATA, addr.get(..SOCKADDR_SIZE).unwrap_or(addr));
}

/// Answers the netdevice ioctl `request` on `ifr` (see the [module](self)
/// for the rules). On success the answer is in `ifr`; on failure `ifr` is
/// left as it was (Linux copies nothing out) and the error is a positive
/// errno. Changes are made through the stack's change methods, which report
/// them to `events`.
///
/// [`SIOCGIFCONF`] does not take an `ifreq`: it is `EINVAL` here, use
/// [`ifconf`]. Any request outside the set is `EOPNOTSUPP`.
pub fn ioctl<S: Stack + ?Sized>(
    stack: &mut S,
    request: u64,
    ifr: &mut IfReq,
    events: Events<'_>,
) -> Result<(), Errno> {
    // Linux copies the answer out only on success: work on a copy.
    let mut work = *ifr;
    dispatch(stack, request, &mut work, events)?;
    *ifr = work;
    Ok(())
}

fn dispatch<S: Stack + ?Sized>(
    stack: &mut S,
    request: u64,
    ifr: &mut IfReq,
    events: Events<'_>,
) -> Result<(), Errno> {
    match request {
        SIOCGIFNAME => get_name(stack, ifr),
        SIOCGIFINDEX | SIOCGIFFLAGS | SIOCGIFMTU | SIOCGIFTXQLEN | SIOCGIFHWADDR | SIOCGIFMAP
        | SIOCGIFMETRIC => {
            let link = named_link(stack, &request_name(ifr)?)?;
            get_link(request, &link, ifr);
            Ok(())
        }
        SIOCSIFFLAGS | SIOCSIFMTU | SIOCSIFTXQLEN | SIOCSIFHWADDR => {
            set_link(stack, request, ifr, events)
        }
        SIOCGIFADDR | SIOCGIFDSTADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK => {
            get_inet(stack, request, ifr)
        }
        SIOCSIFADDR | SIOCSIFDSTADDR | SIOCSIFBRDADDR | SIOCSIFNETMASK => {
            set_inet(stack, request, ifr, events)
        }
        SIOCGIFCONF => Err(Errno::EINVAL),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// The answer to `SIOCGIFCONF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfConf {
    /// The new `ifc_len`: the bytes written, or with no buffer the bytes
    /// needed.
    pub len: usize,
    /// The `ifreq` records that fit the buffer, in order (empty with no
    /// buffer): `ifr_name` is the address's label, `ifr_addr` the
    /// `sockaddr_in` of its local address.
    pub records: Vec<IfReq>,
}

/// `SIOCGIFCONF`: one `ifreq` per IPv4 address, link by link in link order,
/// then in the stack's address order. `buf_len` is the caller's `ifc_len`,
/// `None` when `ifc_buf` is NULL: then nothing is written and
/// [`IfConf::len`] is the size needed. With a buffer, as many whole records
/// as fit are returned (Linux stops silently when the buffer is full).
pub fn ifconf<S: Stack + ?Sized>(stack: &S, buf_len: Option<usize>) -> Result<IfConf, Errno> {
    let links = crate::emulate::collect_links(stack)?;
    let addrs = crate::emulate::collect_addrs(stack, AF_INET)?;
    let mut count = 0usize;
    let mut records = Vec::new();
    let room = buf_len.map(|l| l.checked_div(IFREQ_SIZE).unwrap_or(0));
    for link in &links {
        let name = link.name.as_ref().map_or("", |n| n.as_str());
        for a in addrs.iter().filter(|a| a.header.index == link.header.index) {
            count = count.saturating_add(1);
            if room.is_some_and(|r| records.len() < r) {
                let mut ifr = ifreq(label_of(a, name));
                ifreq_set_addr(&mut ifr, Ipv4Addr::from(local_of(a)));
                records.push(ifr);
            }
        }
    }
    let len = match buf_len {
        None => count.saturating_mul(IFREQ_SIZE),
        Some(_) => records.len().saturating_mul(IFREQ_SIZE),
    };
    Ok(IfConf { len, records })
}

/// The name of a request: the whole name (for address labels) and whether it
/// names an alias.
struct RequestName {
    full: IfName,
    alias: bool,
}

impl RequestName {
    /// The link part: the name without its `:alias` suffix.
    fn link(&self) -> &str {
        let s = self.full.as_str();
        s.split_once(':').map_or(s, |(l, _)| l)
    }
}

/// The name in `ifr`; `ENODEV` when it cannot name a link (not UTF-8).
fn request_name(ifr: &IfReq) -> Result<RequestName, Errno> {
    let s = core::str::from_utf8(ifreq_name(ifr)).map_err(|_| Errno::ENODEV)?;
    let full = IfName::try_from_str(s).ok_or(Errno::ENODEV)?;
    Ok(RequestName {
        alias: s.contains(':'),
        full,
    })
}

/// The link a request names (alias stripped); `ENODEV` when none.
fn named_link<S: Stack + ?Sized>(stack: &S, name: &RequestName) -> Result<LinkRepr, Errno> {
    link_by_name(stack, name.link())
}

/// The link called `name`; `ENODEV` when none (or the name is empty).
pub(crate) fn link_by_name<S: Stack + ?Sized>(stack: &S, name: &str) -> Result<LinkRepr, Errno> {
    if name.is_empty() {
        return Err(Errno::ENODEV);
    }
    stack.link(LinkKey::Name(name)).map_err(|e| e.errno)
}

fn get_name<S: Stack + ?Sized>(stack: &S, ifr: &mut IfReq) -> Result<(), Errno> {
    let index = u32::try_from(ifreq_int(ifr)).map_err(|_| Errno::ENODEV)?;
    if index == 0 {
        return Err(Errno::ENODEV);
    }
    let link = stack.link(LinkKey::Index(index))?;
    let name = link.name.as_ref().map_or("", |n| n.as_str());
    ifreq_set_name(ifr, name.as_bytes());
    Ok(())
}

/// The `SIOCGIF*` answers about the link itself.
fn get_link(request: u64, link: &LinkRepr, ifr: &mut IfReq) {
    match request {
        SIOCGIFINDEX => put(ifr, U, &link.header.index.to_ne_bytes()),
        SIOCGIFFLAGS => {
            let low = u16::try_from(link.header.flags & 0xffff).unwrap_or(0);
            ifreq_set_flags(ifr, low);
        }
        SIOCGIFMTU => put(ifr, U, &link.mtu.unwrap_or(0).to_ne_bytes()),
        SIOCGIFTXQLEN => put(ifr, U, &link.txqlen.unwrap_or(0).to_ne_bytes()),
        SIOCGIFMETRIC => ifreq_set_int(ifr, 0),
        SIOCGIFHWADDR => {
            let addr = link.address.as_ref().map_or(&[][..], |a| a.as_slice());
            put(ifr, U, &link.header.hardware_type.to_ne_bytes());
            put(ifr, SA_DATA, &[0; SA_DATA_SIZE]);
            put(ifr, SA_DATA, addr.get(..SA_DATA_SIZE).unwrap_or(addr));
        }
        SIOCGIFMAP => {
            // mem_start, mem_end, base_addr, irq, dma, port: a virtual
            // device has none of them. The tail padding is left alone.
            let fields = ULONG.saturating_mul(2).saturating_add(5);
            let zeros = [0; IFMAP_SIZE];
            put(ifr, U, zeros.get(..fields).unwrap_or(&zeros));
        }
        _ => {}
    }
}

fn set_link<S: Stack + ?Sized>(
    stack: &mut S,
    request: u64,
    ifr: &mut IfReq,
    events: Events<'_>,
) -> Result<(), Errno> {
    let name = request_name(ifr)?;
    let link = named_link(stack, &name)?;
    let index = link.header.index;
    let mut change = LinkChange::default();
    match request {
        SIOCSIFFLAGS => {
            let flags = u32::from(ifreq_flags(ifr));
            if name.alias {
                // An AF_INET socket's SIOCSIFFLAGS on an alias: taking the
                // alias down deletes its address.
                let addr = inet_addrs(stack, &link)?
                    .into_iter()
                    .find(|a| label_of(a, link_name(&link)) == name.full.as_str())
                    .ok_or(Errno::EADDRNOTAVAIL)?;
                if flags & IFF_UP == 0 {
                    stack.del_addr(&addr, events)?;
                }
                return Ok(());
            }
            change.flags = flags;
            change.flags_mask = 0xffff;
        }
        SIOCSIFMTU => change.mtu = Some(u32::try_from(ifreq_int(ifr)).map_err(|_| Errno::EINVAL)?),
        SIOCSIFTXQLEN => {
            change.txqlen = Some(u32::try_from(ifreq_int(ifr)).map_err(|_| Errno::EINVAL)?)
        }
        SIOCSIFHWADDR => {
            let len = link.address.as_ref().map_or(0, |a| a.len());
            if len == 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            if len > SOCKADDR_SIZE {
                return Err(Errno::EINVAL);
            }
            let (family, _) = ifreq_hwaddr(ifr);
            if family != link.header.hardware_type {
                return Err(Errno::EINVAL);
            }
            let bytes = take::<SOCKADDR_SIZE>(ifr, SA_DATA);
            let addr = bytes.get(..len).ok_or(Errno::EINVAL)?;
            change.address = Some(HwAddr::try_from_slice(addr).ok_or(Errno::EINVAL)?);
        }
        _ => return Err(Errno::EOPNOTSUPP),
    }
    stack.set_link(index, &change, events).map_err(|e| e.errno)
}

fn link_name(link: &LinkRepr) -> &str {
    link.name.as_ref().map_or("", |n| n.as_str())
}

/// The label of an address: `IFA_LABEL`, else its link's name (the kernel
/// labels every IPv4 address).
fn label_of<'a>(a: &'a AddrRepr, link_name: &'a str) -> &'a str {
    a.label.as_ref().map_or(link_name, |l| l.as_str())
}

/// The IPv4 addresses of `link`, in the stack's order.
fn inet_addrs<S: Stack + ?Sized>(stack: &S, link: &LinkRepr) -> Result<Vec<AddrRepr>, Errno> {
    let index = link.header.index;
    let mut out = Vec::new();
    stack.addrs(AF_INET, 0, &mut |a: &AddrRepr| {
        if a.header.family == AF_INET && a.header.index == index {
            out.push(*a);
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// An IPv4 address from its host-order value.
fn ipv4(v: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(v))
}

fn v4(ip: Option<IpAddr>) -> Option<Ipv4Addr> {
    match ip {
        Some(IpAddr::V4(a)) => Some(a),
        _ => None,
    }
}

/// `ifa_local` in host order (`IFA_LOCAL`, else `IFA_ADDRESS`).
fn local_of(a: &AddrRepr) -> u32 {
    v4(a.local).or(v4(a.address)).map_or(0, u32::from)
}

/// `ifa_address` in host order (`IFA_ADDRESS`, else `IFA_LOCAL`).
fn address_of(a: &AddrRepr) -> u32 {
    v4(a.address).or(v4(a.local)).map_or(0, u32::from)
}

/// `ifa_broadcast` in host order (0 when there is none).
fn broadcast_of(a: &AddrRepr) -> u32 {
    v4(a.broadcast).map_or(0, u32::from)
}

/// The kernel's `inet_abc_len`: the classful prefix of `addr` (host order);
/// `None` for multicast (class D).
fn classful_prefix(addr: u32) -> Option<u8> {
    if addr & 0xff00_0000 == 0 || addr == u32::MAX {
        Some(0)
    } else if addr & 0x8000_0000 == 0 {
        Some(8)
    } else if addr & 0xc000_0000 == 0x8000_0000 {
        Some(16)
    } else if addr & 0xe000_0000 == 0xc000_0000 {
        Some(24)
    } else if addr & 0xf000_0000 == 0xf000_0000 {
        Some(32)
    } else {
        None
    }
}

/// The kernel's `bad_mask(mask, 0)`: the ones must be contiguous from the top.
fn bad_mask(mask: u32) -> bool {
    let inv = !mask;
    inv & inv.wrapping_add(1) != 0
}

fn get_inet<S: Stack + ?Sized>(stack: &S, request: u64, ifr: &mut IfReq) -> Result<(), Errno> {
    let (family, wanted) = ifreq_addr(ifr);
    let name = request_name(ifr)?;
    let link = named_link(stack, &name)?;
    let addrs = inet_addrs(stack, &link)?;
    let label = |a: &&AddrRepr| label_of(a, link_name(&link)) == name.full.as_str();
    let bsd = if family == u16::from(AF_INET) {
        addrs
            .iter()
            .filter(label)
            .find(|a| local_of(a) == u32::from(wanted))
    } else {
        None
    };
    let a = bsd
        .or_else(|| addrs.iter().find(label))
        .ok_or(Errno::EADDRNOTAVAIL)?;
    let answer = match request {
        SIOCGIFADDR => local_of(a),
        SIOCGIFDSTADDR => address_of(a),
        SIOCGIFBRDADDR => broadcast_of(a),
        _ => mask4(a.header.prefix_len),
    };
    ifreq_set_addr(ifr, Ipv4Addr::from(answer));
    Ok(())
}

/// `old` as it is added back after a change: everything kept but the
/// `IFA_F_SECONDARY` mark, which the stack decides anew.
fn readd(old: &AddrRepr) -> AddrRepr {
    let mut a = *old;
    a.header.flags &= !u8::try_from(IFA_F_SECONDARY).unwrap_or(0);
    a.flags = a.flags.map(|f| f & !IFA_F_SECONDARY);
    a.local = Some(ipv4(local_of(old)));
    a.address = Some(ipv4(address_of(old)));
    a
}

fn set_inet<S: Stack + ?Sized>(
    stack: &mut S,
    request: u64,
    ifr: &mut IfReq,
    events: Events<'_>,
) -> Result<(), Errno> {
    let (family, value) = ifreq_addr(ifr);
    if family != u16::from(AF_INET) {
        return Err(Errno::EINVAL);
    }
    let value = u32::from(value);
    let name = request_name(ifr)?;
    let link = named_link(stack, &name)?;
    let old = inet_addrs(stack, &link)?
        .into_iter()
        .find(|a| label_of(a, link_name(&link)) == name.full.as_str());
    let flags = link.header.flags;
    let create = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);
    let new = match (request, old) {
        (SIOCSIFADDR, old) => {
            let abc = classful_prefix(value).ok_or(Errno::EINVAL)?;
            let mut new = match old {
                Some(old) if local_of(&old) == value => return Ok(()),
                Some(old) => {
                    stack.del_addr(&old, &mut *events)?;
                    let mut new = readd(&old);
                    new.cache_info = None;
                    new
                }
                None => AddrRepr {
                    label: Some(name.full),
                    ..AddrRepr::default()
                },
            };
            if value == 0 {
                // Linux drops an address 0.0.0.0 instead of adding it.
                return Ok(());
            }
            let (prefix, broadcast) = if flags & IFF_POINTOPOINT != 0 {
                (32, 0)
            } else if flags & IFF_BROADCAST != 0 && abc < 31 {
                (abc, value | !mask4(abc))
            } else {
                (abc, 0)
            };
            new.header.family = AF_INET;
            new.header.index = link.header.index;
            new.header.prefix_len = prefix;
            new.header.scope = if value & 0xff00_0000 == 0x7f00_0000 {
                RT_SCOPE_HOST
            } else {
                RT_SCOPE_UNIVERSE
            };
            new.local = Some(ipv4(value));
            new.address = Some(ipv4(value));
            new.broadcast = (broadcast != 0).then(|| ipv4(broadcast));
            new
        }
        (_, None) => return Err(Errno::EADDRNOTAVAIL),
        (SIOCSIFBRDADDR, Some(old)) => {
            if broadcast_of(&old) == value {
                return Ok(());
            }
            stack.del_addr(&old, &mut *events)?;
            let mut new = readd(&old);
            new.broadcast = (value != 0).then(|| ipv4(value));
            new
        }
        (SIOCSIFDSTADDR, Some(old)) => {
            if address_of(&old) == value {
                return Ok(());
            }
            classful_prefix(value).ok_or(Errno::EINVAL)?;
            stack.del_addr(&old, &mut *events)?;
            let mut new = readd(&old);
            new.address = Some(ipv4(value));
            new
        }
        (_, Some(old)) => {
            // SIOCSIFNETMASK
            if bad_mask(value) {
                return Err(Errno::EINVAL);
            }
            let old_mask = mask4(old.header.prefix_len);
            if old_mask == value {
                return Ok(());
            }
            stack.del_addr(&old, &mut *events)?;
            let mut new = readd(&old);
            let prefix = u8::try_from(value.leading_ones()).unwrap_or(32);
            new.header.prefix_len = prefix;
            let local = local_of(&old);
            // A broadcast address that followed the old mask follows the new
            // one; any other was chosen by hand and is kept.
            if flags & IFF_BROADCAST != 0 && prefix < 31 && broadcast_of(&old) == local | !old_mask
            {
                new.broadcast = Some(ipv4(local | !value));
            }
            new
        }
    };
    stack.add_addr(&new, create, events).map_err(|e| e.errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::{fixture, TestStack};
    use crate::errno::*;
    use crate::stack::Event;
    use crate::wire::consts::*;

    /// Runs one ioctl, returning its result and the events it reported as
    /// `("+" | "-", label, local)` for addresses and `("link", name, flags)`.
    fn run(s: &mut TestStack, req: u64, ifr: &mut IfReq) -> (Result<(), Errno>, Vec<String>) {
        let mut ev = Vec::new();
        let r = ioctl(s, req, ifr, &mut |e| {
            ev.push(match e {
                Event::NewAddr(a) => format!("+{:?}/{}", a.local.unwrap(), a.header.prefix_len),
                Event::DelAddr(a) => format!("-{:?}/{}", a.local.unwrap(), a.header.prefix_len),
                Event::NewLink(l) => format!("link {} {:#x}", l.name.unwrap(), l.header.flags),
                _ => "?".into(),
            })
        });
        (r, ev)
    }

    fn ok(s: &mut TestStack, req: u64, name: &str) -> IfReq {
        let mut ifr = ifreq(name);
        assert_eq!(run(s, req, &mut ifr).0, Ok(()), "{req:#x} {name}");
        ifr
    }

    fn err(s: &mut TestStack, req: u64, ifr: &mut IfReq) -> Errno {
        run(s, req, ifr).0.unwrap_err()
    }

    fn with_addr(name: &str, a: [u8; 4]) -> IfReq {
        let mut ifr = ifreq(name);
        ifreq_set_addr(&mut ifr, Ipv4Addr::from(a));
        ifr
    }

    fn v4_addrs(s: &TestStack, index: u32) -> Vec<String> {
        s.addrs
            .iter()
            .filter(|a| a.header.family == AF_INET && a.header.index == index)
            .map(|a| {
                format!(
                    "{} {:?}/{} peer {:?} brd {:?} scope {}",
                    a.label.map_or("-".into(), |l| l.to_string()),
                    a.local.unwrap(),
                    a.header.prefix_len,
                    a.address.unwrap(),
                    a.broadcast,
                    a.header.scope
                )
            })
            .collect()
    }

    #[test]
    fn layout() {
        assert_eq!(
            IFREQ_SIZE,
            if cfg!(target_pointer_width = "64") {
                40
            } else {
                32
            }
        );
        let mut ifr = ifreq("a-very-long-interface-name");
        assert_eq!(ifreq_name(&ifr), b"a-very-long-int");
        assert_eq!(ifr[15], 0);
        ifreq_set_addr(&mut ifr, Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(ifr[16..18], 2u16.to_ne_bytes());
        assert_eq!(ifr[18..24], [0, 0, 10, 1, 2, 3]);
        assert_eq!(ifreq_addr(&ifr), (2, Ipv4Addr::new(10, 1, 2, 3)));
        ifreq_set_int(&mut ifr, -2);
        assert_eq!(ifr[16..20], (-2i32).to_ne_bytes());
        // A name that fills all 16 bytes reads as 15 (the kernel forces the
        // last byte to NUL).
        let mut full = [b'x'; IFREQ_SIZE];
        full[16] = 0;
        assert_eq!(ifreq_name(&full).len(), 15);
    }

    #[test]
    fn name_and_index() {
        let mut s = fixture();
        let ifr = ok(&mut s, SIOCGIFINDEX, "eth0");
        assert_eq!(ifreq_int(&ifr), 2);
        // The alias suffix is stripped for the link.
        assert_eq!(ifreq_int(&ok(&mut s, SIOCGIFINDEX, "eth0:1")), 2);
        assert_eq!(ifreq_int(&ok(&mut s, SIOCGIFINDEX, "eth0:nosuch")), 2);
        assert_eq!(err(&mut s, SIOCGIFINDEX, &mut ifreq("eth9")), ENODEV);
        assert_eq!(err(&mut s, SIOCGIFINDEX, &mut ifreq("")), ENODEV);
        assert_eq!(err(&mut s, SIOCGIFINDEX, &mut ifreq(":1")), ENODEV);
        let mut bad = ifreq("");
        bad[..3].copy_from_slice(&[0xff, 0xfe, b'x']);
        assert_eq!(err(&mut s, SIOCGIFINDEX, &mut bad), ENODEV);

        let mut ifr = [0xaa; IFREQ_SIZE];
        ifreq_set_int(&mut ifr, 3);
        assert_eq!(run(&mut s, SIOCGIFNAME, &mut ifr).0, Ok(()));
        assert_eq!(ifreq_name(&ifr), b"tun0");
        assert_eq!(ifr[4..16], [0; 12]);
        for bad in [0, 9, -1] {
            let mut ifr = ifreq("");
            ifreq_set_int(&mut ifr, bad);
            assert_eq!(err(&mut s, SIOCGIFNAME, &mut ifr), ENODEV);
        }
    }

    #[test]
    fn link_properties() {
        let mut s = fixture();
        let ifr = ok(&mut s, SIOCGIFFLAGS, "eth0");
        // UP|BROADCAST|RUNNING|MULTICAST; LOWER_UP (bit 16) does not fit.
        assert_eq!(ifreq_flags(&ifr), 0x1043);
        assert_eq!(ifreq_int(&ok(&mut s, SIOCGIFMTU, "eth0")), 1500);
        assert_eq!(ifreq_int(&ok(&mut s, SIOCGIFMTU, "lo")), 65536);
        assert_eq!(ifreq_int(&ok(&mut s, SIOCGIFTXQLEN, "tun0")), 500);
        let mut m = ifreq("lo");
        ifreq_set_int(&mut m, 77);
        assert_eq!(run(&mut s, SIOCGIFMETRIC, &mut m).0, Ok(()));
        assert_eq!(ifreq_int(&m), 0);
        assert_eq!(err(&mut s, SIOCGIFMETRIC, &mut ifreq("nope")), ENODEV);

        let mut ifr = ifreq("eth0:1");
        ifr[16..].fill(0xee);
        assert_eq!(run(&mut s, SIOCGIFHWADDR, &mut ifr).0, Ok(()));
        assert_eq!(ifreq_name(&ifr), b"eth0:1", "the name is given back whole");
        let (family, data) = ifreq_hwaddr(&ifr);
        assert_eq!(family, ARPHRD_ETHER);
        assert_eq!(data, [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let (family, data) = ifreq_hwaddr(&ok(&mut s, SIOCGIFHWADDR, "tun0"));
        assert_eq!((family, data), (ARPHRD_NONE, [0; 14]));

        let mut ifr = ifreq("eth0");
        ifr[16..].fill(0xee);
        assert_eq!(run(&mut s, SIOCGIFMAP, &mut ifr).0, Ok(()));
        let fields = 2 * core::mem::size_of::<usize>() + 5;
        assert!(ifr[16..16 + fields].iter().all(|&b| b == 0));
        assert!(ifr[16 + fields..].iter().all(|&b| b == 0xee));
        assert_eq!(err(&mut s, SIOCGIFMAP, &mut ifreq("eth1")), ENODEV);
    }

    #[test]
    fn set_flags() {
        let mut s = fixture();
        let mut ifr = ifreq("eth0");
        ifreq_set_flags(&mut ifr, 0x1042); // down
        let (r, ev) = run(&mut s, SIOCSIFFLAGS, &mut ifr);
        assert_eq!(r, Ok(()));
        // The bits above 16 (LOWER_UP) are kept: ifi_change is 0xffff.
        assert_eq!(ev, ["link eth0 0x11042"]);
        assert_eq!(s.links[1].header.flags, 0x11042);
        ifreq_set_flags(&mut ifr, 0x1043 | 0x100);
        run(&mut s, SIOCSIFFLAGS, &mut ifr).0.unwrap();
        assert_eq!(s.links[1].header.flags, 0x11143);
        assert_eq!(err(&mut s, SIOCSIFFLAGS, &mut ifreq("eth7")), ENODEV);
    }

    #[test]
    fn set_flags_on_an_alias() {
        let mut s = fixture();
        // Up on an alias with an address: nothing happens.
        let mut ifr = ifreq("eth0:1");
        ifreq_set_flags(&mut ifr, 1);
        assert_eq!(run(&mut s, SIOCSIFFLAGS, &mut ifr), (Ok(()), vec![]));
        // Down deletes the alias's address, not the link's flags.
        ifreq_set_flags(&mut ifr, 0);
        let (r, ev) = run(&mut s, SIOCSIFFLAGS, &mut ifr);
        assert_eq!(r, Ok(()));
        assert_eq!(ev, ["-10.0.1.1/24"]);
        assert_eq!(s.links[1].header.flags, 0x11043);
        // Now there is no such alias.
        assert_eq!(err(&mut s, SIOCSIFFLAGS, &mut ifr), EADDRNOTAVAIL);
    }

    #[test]
    fn set_mtu_txqlen_hwaddr() {
        let mut s = fixture();
        let mut ifr = ifreq("eth0");
        ifreq_set_int(&mut ifr, 9000);
        assert_eq!(run(&mut s, SIOCSIFMTU, &mut ifr).0, Ok(()));
        assert_eq!(s.links[1].mtu, Some(9000));
        ifreq_set_int(&mut ifr, -1);
        assert_eq!(err(&mut s, SIOCSIFMTU, &mut ifr), EINVAL);
        ifreq_set_int(&mut ifr, 10);
        assert_eq!(run(&mut s, SIOCSIFTXQLEN, &mut ifr).0, Ok(()));
        assert_eq!(s.links[1].txqlen, Some(10));
        ifreq_set_int(&mut ifr, i32::MIN);
        assert_eq!(err(&mut s, SIOCSIFTXQLEN, &mut ifr), EINVAL);
        let mut nodev = ifreq("x");
        ifreq_set_int(&mut nodev, 1500);
        assert_eq!(err(&mut s, SIOCSIFMTU, &mut nodev), ENODEV);

        let mut ifr = ifreq("eth0");
        ifreq_set_hwaddr(&mut ifr, ARPHRD_ETHER, &[2, 0, 0, 0, 0, 9, 0xff, 0xff]);
        assert_eq!(run(&mut s, SIOCSIFHWADDR, &mut ifr).0, Ok(()));
        assert_eq!(s.links[1].address.unwrap().as_slice(), [2, 0, 0, 0, 0, 9]);
        ifreq_set_hwaddr(&mut ifr, ARPHRD_LOOPBACK, &[2, 0, 0, 0, 0, 8]);
        assert_eq!(err(&mut s, SIOCSIFHWADDR, &mut ifr), EINVAL);
        let mut tun = ifreq("tun0");
        ifreq_set_hwaddr(&mut tun, ARPHRD_NONE, &[1]);
        assert_eq!(err(&mut s, SIOCSIFHWADDR, &mut tun), EOPNOTSUPP);
    }

    #[test]
    fn get_addresses() {
        let mut s = fixture();
        let get = |s: &mut TestStack, req, name| ifreq_addr(&ok(s, req, name));
        let a = |x: [u8; 4]| (2u16, Ipv4Addr::from(x));
        assert_eq!(get(&mut s, SIOCGIFADDR, "eth0"), a([10, 0, 0, 1]));
        assert_eq!(get(&mut s, SIOCGIFNETMASK, "eth0"), a([255, 255, 255, 0]));
        assert_eq!(get(&mut s, SIOCGIFBRDADDR, "eth0"), a([10, 0, 0, 255]));
        assert_eq!(get(&mut s, SIOCGIFDSTADDR, "eth0"), a([10, 0, 0, 1]));
        assert_eq!(get(&mut s, SIOCGIFADDR, "eth0:1"), a([10, 0, 1, 1]));
        assert_eq!(get(&mut s, SIOCGIFADDR, "lo"), a([127, 0, 0, 1]));
        assert_eq!(get(&mut s, SIOCGIFNETMASK, "lo"), a([255, 0, 0, 0]));
        assert_eq!(get(&mut s, SIOCGIFBRDADDR, "lo"), a([0, 0, 0, 0]));
        // tun0's address has no IFA_LABEL: it is labelled with the link.
        assert_eq!(get(&mut s, SIOCGIFADDR, "tun0"), a([10, 9, 0, 1]));
        assert_eq!(get(&mut s, SIOCGIFDSTADDR, "tun0"), a([10, 9, 0, 2]));
        assert_eq!(get(&mut s, SIOCGIFNETMASK, "tun0"), a([255, 255, 255, 255]));

        // The 4.4BSD match: label and address, when the family is AF_INET.
        let mut ifr = with_addr("eth0", [10, 0, 0, 2]);
        assert_eq!(run(&mut s, SIOCGIFNETMASK, &mut ifr).0, Ok(()));
        assert_eq!(ifreq_addr(&ifr), a([255, 255, 0, 0]));
        // Without AF_INET the address is junk and only the label counts.
        let mut ifr = with_addr("eth0", [10, 0, 0, 2]);
        ifr[16..18].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(run(&mut s, SIOCGIFNETMASK, &mut ifr).0, Ok(()));
        assert_eq!(ifreq_addr(&ifr), a([255, 255, 255, 0]));

        assert_eq!(
            err(&mut s, SIOCGIFADDR, &mut ifreq("eth0:2")),
            EADDRNOTAVAIL
        );
        assert_eq!(err(&mut s, SIOCGIFADDR, &mut ifreq("eth5")), ENODEV);
        let mut bare = fixture();
        bare.addrs.clear();
        let mut ifr = with_addr("eth0", [1, 2, 3, 4]);
        assert_eq!(err(&mut bare, SIOCGIFBRDADDR, &mut ifr), EADDRNOTAVAIL);
        assert_eq!(
            ifreq_addr(&ifr),
            a([1, 2, 3, 4]),
            "nothing is copied out on error"
        );
    }

    /// Drops eth0's second `eth0`-labelled address (10.0.0.2/16): a changed
    /// address goes back at the end of the list, after it, as on Linux.
    fn one_eth0(s: &mut TestStack) {
        s.addrs
            .retain(|a| a.local != Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))));
    }

    #[test]
    fn set_address_replaces() {
        let mut s = fixture();
        one_eth0(&mut s);
        let mut ifr = with_addr("eth0", [192, 168, 7, 1]);
        let (r, ev) = run(&mut s, SIOCSIFADDR, &mut ifr);
        assert_eq!(r, Ok(()));
        assert_eq!(ev, ["-10.0.0.1/24", "+192.168.7.1/24"]);
        let got = v4_addrs(&s, 2);
        assert!(
            got.contains(
                &"eth0 192.168.7.1/24 peer 192.168.7.1 brd Some(192.168.7.255) scope 0".into()
            ),
            "{got:?}"
        );
        // The same address again: nothing happens.
        assert_eq!(run(&mut s, SIOCSIFADDR, &mut ifr), (Ok(()), vec![]));
        // Class A and B get their prefix; class E /32 (no broadcast).
        let mut ifr = with_addr("eth0", [172, 16, 0, 5]);
        run(&mut s, SIOCSIFADDR, &mut ifr).0.unwrap();
        assert!(v4_addrs(&s, 2)
            .iter()
            .any(|a| a.starts_with("eth0 172.16.0.5/16 peer 172.16.0.5 brd Some(172.16.255.255)")));
        let mut ifr = with_addr("eth0", [240, 0, 0, 1]);
        run(&mut s, SIOCSIFADDR, &mut ifr).0.unwrap();
        assert!(v4_addrs(&s, 2)
            .iter()
            .any(|a| a.starts_with("eth0 240.0.0.1/32 peer 240.0.0.1 brd None")));
        // Multicast is refused, a family other than AF_INET too.
        let mut ifr = with_addr("eth0", [224, 0, 0, 1]);
        assert_eq!(err(&mut s, SIOCSIFADDR, &mut ifr), EINVAL);
        let mut ifr = with_addr("nosuch", [10, 0, 0, 1]);
        ifr[16..18].copy_from_slice(&10u16.to_ne_bytes());
        assert_eq!(
            err(&mut s, SIOCSIFADDR, &mut ifr),
            EINVAL,
            "family is checked first"
        );
        let mut ifr = with_addr("nosuch", [10, 0, 0, 1]);
        assert_eq!(err(&mut s, SIOCSIFADDR, &mut ifr), ENODEV);
    }

    #[test]
    fn set_address_creates_and_deletes() {
        let mut s = fixture();
        // A new alias: classful prefix and broadcast, labelled with the alias.
        let mut ifr = with_addr("eth0:7", [10, 20, 30, 40]);
        let (r, ev) = run(&mut s, SIOCSIFADDR, &mut ifr);
        assert_eq!(r, Ok(()));
        assert_eq!(ev, ["+10.20.30.40/8"]);
        assert!(v4_addrs(&s, 2).contains(
            &"eth0:7 10.20.30.40/8 peer 10.20.30.40 brd Some(10.255.255.255) scope 0".into()
        ));
        // Point-to-point: /32, no broadcast. Loopback addresses: scope host.
        s.addrs.retain(|a| a.header.index != 3);
        let mut ifr = with_addr("tun0", [127, 1, 0, 1]);
        run(&mut s, SIOCSIFADDR, &mut ifr).0.unwrap();
        assert_eq!(
            v4_addrs(&s, 3),
            ["tun0 127.1.0.1/32 peer 127.1.0.1 brd None scope 254"]
        );
        // 0.0.0.0 deletes.
        let mut ifr = with_addr("eth0:7", [0, 0, 0, 0]);
        let (r, ev) = run(&mut s, SIOCSIFADDR, &mut ifr);
        assert_eq!((r, ev), (Ok(()), vec!["-10.20.30.40/8".to_string()]));
        // ... and with nothing to delete, does nothing.
        assert_eq!(run(&mut s, SIOCSIFADDR, &mut ifr), (Ok(()), vec![]));
        // Errors of the stack come back as they are.
        let mut ifr = with_addr("eth0:8", [10, 0, 0, 1]);
        s.fail_add = Some(EEXIST);
        assert_eq!(err(&mut s, SIOCSIFADDR, &mut ifr), EEXIST);
    }

    #[test]
    fn set_broadcast_destination_netmask() {
        let mut s = fixture();
        one_eth0(&mut s);
        let mut ifr = with_addr("eth0", [10, 0, 0, 128]);
        let (r, ev) = run(&mut s, SIOCSIFBRDADDR, &mut ifr);
        assert_eq!((r, ev.len()), (Ok(()), 2));
        assert_eq!(
            ifreq_addr(&ok(&mut s, SIOCGIFBRDADDR, "eth0")).1,
            Ipv4Addr::new(10, 0, 0, 128)
        );
        assert_eq!(run(&mut s, SIOCSIFBRDADDR, &mut ifr), (Ok(()), vec![]));

        // A hand-picked broadcast stays when the mask changes...
        let mut ifr = with_addr("eth0", [255, 255, 0, 0]);
        run(&mut s, SIOCSIFNETMASK, &mut ifr).0.unwrap();
        assert_eq!(
            ifreq_addr(&ok(&mut s, SIOCGIFNETMASK, "eth0")).1,
            Ipv4Addr::new(255, 255, 0, 0)
        );
        assert_eq!(
            ifreq_addr(&ok(&mut s, SIOCGIFBRDADDR, "eth0")).1,
            Ipv4Addr::new(10, 0, 0, 128)
        );
        // ... one that followed the mask follows it.
        let mut ifr = with_addr("eth0:1", [255, 255, 255, 128]);
        run(&mut s, SIOCSIFNETMASK, &mut ifr).0.unwrap();
        assert!(v4_addrs(&s, 2)
            .contains(&"eth0:1 10.0.1.1/25 peer 10.0.1.1 brd Some(10.0.1.127) scope 0".into()));
        let mut ifr = with_addr("eth0", [255, 0, 255, 0]);
        assert_eq!(err(&mut s, SIOCSIFNETMASK, &mut ifr), EINVAL);
        let mut ifr = with_addr("eth0:3", [255, 0, 0, 0]);
        assert_eq!(err(&mut s, SIOCSIFNETMASK, &mut ifr), EADDRNOTAVAIL);

        let mut ifr = with_addr("tun0", [10, 9, 0, 3]);
        let (r, ev) = run(&mut s, SIOCSIFDSTADDR, &mut ifr);
        assert_eq!(r, Ok(()));
        assert_eq!(ev, ["-10.9.0.1/32", "+10.9.0.1/32"]);
        assert_eq!(
            ifreq_addr(&ok(&mut s, SIOCGIFDSTADDR, "tun0")).1,
            Ipv4Addr::new(10, 9, 0, 3)
        );
        assert_eq!(
            ifreq_addr(&ok(&mut s, SIOCGIFADDR, "tun0")).1,
            Ipv4Addr::new(10, 9, 0, 1)
        );
        let mut ifr = with_addr("tun0", [239, 0, 0, 1]);
        assert_eq!(err(&mut s, SIOCSIFDSTADDR, &mut ifr), EINVAL);
        let mut ifr = with_addr("lo:9", [1, 1, 1, 1]);
        assert_eq!(err(&mut s, SIOCSIFBRDADDR, &mut ifr), EADDRNOTAVAIL);
    }

    #[test]
    fn other_requests() {
        let mut s = fixture();
        assert_eq!(err(&mut s, SIOCGIFCONF, &mut ifreq("eth0")), EINVAL);
        // SIOCSIFNAME, SIOCSIFMETRIC, SIOCGIFPFLAGS, SIOCSIFMAP, a socket ioctl.
        for req in [0x8923, 0x891e, 0x8935, 0x8971, 0x541b, 0] {
            assert_eq!(err(&mut s, req, &mut ifreq("eth0")), EOPNOTSUPP);
        }
    }

    #[test]
    fn gifconf() {
        let s = fixture();
        let all = ifconf(&s, None).unwrap();
        assert_eq!(
            all,
            IfConf {
                len: 5 * IFREQ_SIZE,
                records: vec![]
            }
        );
        let c = ifconf(&s, Some(1000)).unwrap();
        assert_eq!(c.len, 5 * IFREQ_SIZE);
        let got: Vec<_> = c
            .records
            .iter()
            .map(|r| {
                (
                    String::from_utf8(ifreq_name(r).to_vec()).unwrap(),
                    ifreq_addr(r),
                )
            })
            .collect();
        let a = |x: [u8; 4]| (2u16, Ipv4Addr::from(x));
        assert_eq!(
            got,
            [
                ("lo".into(), a([127, 0, 0, 1])),
                ("eth0".into(), a([10, 0, 0, 1])),
                ("eth0:1".into(), a([10, 0, 1, 1])),
                ("eth0".into(), a([10, 0, 0, 2])),
                ("tun0".into(), a([10, 9, 0, 1])),
            ]
        );
        assert!(c
            .records
            .iter()
            .all(|r| r[18..20] == [0, 0] && r[24..].iter().all(|&b| b == 0)));
        // Only whole records fit.
        let c = ifconf(&s, Some(3 * IFREQ_SIZE - 1)).unwrap();
        assert_eq!((c.len, c.records.len()), (2 * IFREQ_SIZE, 2));
        assert_eq!(
            ifconf(&s, Some(0)).unwrap(),
            IfConf {
                len: 0,
                records: vec![]
            }
        );
    }
}
