//! Neighbours: dumps.

use nlq::wire::{consts::*, FamilyHeader, NdMsg, NeighMessage, NeighRepr};

use crate::error::Result;
use crate::handle::Handle;
use crate::transport::Transport;

impl<T: Transport> Handle<T> {
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
