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

fn max_prefix(addr: &IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The repr of `addr/prefix_len` on `index` with `opts`.
pub(crate) fn repr(
    addr: IpAddr,
    prefix_len: u8,
    index: u32,
    opts: AddrOptions,
) -> Result<AddrRepr> {
    if prefix_len > max_prefix(&addr) {
        return Err(Error::Invalid("prefix longer than the address"));
    }
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
    pub fn addr_add(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        self.addr_add_with(addr, prefix_len, index, AddrOptions::default())
    }

    /// [`Handle::addr_add`] with address flags and scope.
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
    pub fn addr_del(&mut self, addr: IpAddr, prefix_len: u8, index: u32) -> Result<()> {
        let r = repr(addr, prefix_len, index, AddrOptions::default())?;
        self.request(RTM_DELADDR, 0, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Every address of `family` (`AF_INET`, `AF_INET6`, or `AF_UNSPEC` for
    /// both), as reprs.
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
