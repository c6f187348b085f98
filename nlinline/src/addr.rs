//! Addresses: add, delete, dump (IPv4 and IPv6).

use std::net::IpAddr;

use nlq::wire::{consts::*, AddrMessage, AddrRepr, FamilyHeader, IfAddrMsg};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// Options of an address beyond `addr/prefix dev index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrOptions {
    /// `IFA_F_*` flags (e.g. `IFA_F_NODAD`), sent in `IFA_FLAGS`.
    pub flags: u32,
    /// The scope (`RT_SCOPE_*`); `None` for universe.
    pub scope: Option<u8>,
}

/// Checks that `prefix_len` fits `addr`'s family (32 or 128 bits), as the
/// kernel would: `EINVAL` otherwise.
pub(crate) fn check_prefix(addr: &IpAddr, prefix_len: u8) -> Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(Error::Invalid("prefix longer than the address"));
    }
    Ok(())
}

/// The repr of `addr/prefix_len` on `index` with `opts`.
pub(crate) fn repr(
    addr: IpAddr,
    prefix_len: u8,
    index: u32,
    opts: AddrOptions,
) -> Result<AddrRepr> {
    check_prefix(&addr, prefix_len)?;
    let mut r = AddrRepr::new(addr, prefix_len, index).with_local(addr);
    r.header.scope = opts.scope.unwrap_or(RT_SCOPE_UNIVERSE);
    if opts.flags != 0 {
        // The low 8 bits in the header too, for stacks that read only it.
        r.header.flags = (opts.flags & 0xff) as u8;
        r.flags = Some(opts.flags);
    }
    Ok(r)
}

impl<T: Transport> Handle<T> {
    /// Adds `addr/prefix_len` to link `index` (`ipaddr_add`):
    /// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL`, `IFA_LOCAL` and
    /// `IFA_ADDRESS`.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br)?;
    /// let again = h.addr_add(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, br);
    /// assert_eq!(again.unwrap_err().errno(), libc::EEXIST);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn addr_add(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        self.addr_add_with(addr, prefix_len, index, AddrOptions::default())
    }

    /// [`Handle::addr_add`] with address flags and scope.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// use nlinline::{wire::consts::IFA_F_NODAD, AddrOptions};
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// let opts = AddrOptions { flags: IFA_F_NODAD, scope: None };
    /// let ip: std::net::IpAddr = "2001:db8::1".parse().unwrap();
    /// h.addr_add_with(ip, 64, br, opts)?;
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn addr_add_with(
        &mut self,
        addr: IpAddr,
        prefix_len: u8,
        index: u32,
        opts: AddrOptions,
    ) -> Result<()> {
        let r = repr(addr, prefix_len, index, opts)?;
        self.request(
            RTM_NEWADDR,
            NLM_F_CREATE | NLM_F_EXCL,
            |w| r.emit(w),
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Deletes `addr/prefix_len` from link `index` (`ipaddr_del`).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    /// h.addr_add(a, 24, br)?;
    /// h.addr_del(a, 24, br)?;
    /// assert_eq!(h.addr_del(a, 24, br).unwrap_err().errno(), libc::EADDRNOTAVAIL);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn addr_del(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        let r = repr(addr, prefix_len, index, AddrOptions::default())?;
        self.request(RTM_DELADDR, 0, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Every address of `family` (`AF_INET`, `AF_INET6`, or `AF_UNSPEC` for
    /// both), as reprs.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// use nlinline::wire::consts::AF_INET;
    /// h.link_set_up("lo", true)?;
    /// let v4 = h.addrs(AF_INET)?;
    /// assert_eq!(v4[0].local, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn addrs(&mut self, family: u8) -> Result<Vec<AddrRepr>> {
        let h = IfAddrMsg {
            family,
            ..IfAddrMsg::default()
        };
        self.dump(
            RTM_GETADDR,
            |w| h.emit(w),
            |m| Ok(Some(AddrRepr::parse(&AddrMessage::parse(m)?)?)),
        )
    }
}
