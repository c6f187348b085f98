//! Neighbours: entries added, replaced, changed and deleted (`ip neigh
//! add|replace|change|del`), and dumps.

use std::net::IpAddr;

use nlq::wire::{consts::*, FamilyHeader, HwAddr, NdMsg, NeighMessage, NeighRepr};

use crate::error::Result;
use crate::handle::Handle;
use crate::transport::Transport;

/// The request for `dst` on link `index`: its family, state and address.
fn entry(dst: IpAddr, index: u32, lladdr: Option<[u8; 6]>, state: u16) -> NeighRepr {
    NeighRepr {
        header: NdMsg {
            family: if dst.is_ipv4() { AF_INET } else { AF_INET6 },
            ifindex: index,
            state,
            ..NdMsg::default()
        },
        dst: Some(dst),
        lladdr: lladdr.and_then(|l| HwAddr::try_from_slice(&l)),
        ..NeighRepr::default()
    }
}

impl<T: Transport> Handle<T> {
    /// Adds the entry `dst` → `lladdr` on link `index` in state `state`
    /// (`NUD_PERMANENT` for `ip neigh add`'s default); `EEXIST` when the
    /// link has one for `dst`. Without `lladdr` the stack keeps what the
    /// address needs none for (multicast, broadcast) or refuses.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::wire::consts::{AF_INET, NUD_PERMANENT};
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    /// h.neigh_add(ip, br, Some([2, 0, 0, 0, 0, 2]), NUD_PERMANENT)?;
    /// assert_eq!(h.neighbours(AF_INET)?[0].dst, Some(ip));
    /// h.neigh_del(ip, br)?;
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn neigh_add(
        &mut self,
        dst: IpAddr,
        index: u32,
        lladdr: Option<[u8; 6]>,
        state: u16,
    ) -> Result<()> {
        self.neigh_request(dst, index, lladdr, state, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Adds or replaces the entry (`ip neigh replace`).
    pub fn neigh_replace(
        &mut self,
        dst: IpAddr,
        index: u32,
        lladdr: Option<[u8; 6]>,
        state: u16,
    ) -> Result<()> {
        self.neigh_request(dst, index, lladdr, state, NLM_F_CREATE | NLM_F_REPLACE)
    }

    /// Changes an existing entry (`ip neigh change`; `ENOENT` without one).
    pub fn neigh_change(
        &mut self,
        dst: IpAddr,
        index: u32,
        lladdr: Option<[u8; 6]>,
        state: u16,
    ) -> Result<()> {
        self.neigh_request(dst, index, lladdr, state, NLM_F_REPLACE)
    }

    /// Deletes the entry for `dst` on link `index`.
    pub fn neigh_del(&mut self, dst: IpAddr, index: u32) -> Result<()> {
        let n = entry(dst, index, None, 0);
        self.request(RTM_DELNEIGH, 0, |w| n.emit(w), |_| Ok(()))
            .map(drop)
    }

    fn neigh_request(
        &mut self,
        dst: IpAddr,
        index: u32,
        lladdr: Option<[u8; 6]>,
        state: u16,
        flags: u16,
    ) -> Result<()> {
        let n = entry(dst, index, lladdr, state);
        self.request(RTM_NEWNEIGH, flags, |w| n.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Every neighbour entry of `family` (`AF_INET`, `AF_INET6`, or
    /// `AF_UNSPEC` for both), as reprs.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// use nlinline::wire::consts::AF_UNSPEC;
    /// assert!(h.neighbours(AF_UNSPEC)?.is_empty());
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn neighbours(&mut self, family: u8) -> Result<Vec<NeighRepr>> {
        let h = NdMsg {
            family,
            ..NdMsg::default()
        };
        self.dump(
            RTM_GETNEIGH,
            |w| h.emit(w),
            |m| {
                let n = NeighMessage::parse(m)?;
                // Bridge FDB entries come with other families on AF_UNSPEC.
                if matches!(n.header().family, AF_INET | AF_INET6) {
                    Ok(Some(NeighRepr::parse(&n)?))
                } else {
                    Ok(None)
                }
            },
        )
    }
}
