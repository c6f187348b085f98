//! The configuration as rtnetlink sees it: one link, its addresses, its
//! routes, with nlq-mem's (the kernel's) semantics, and the limits of what
//! smoltcp can hold. The model knows nothing of smoltcp's types;
//! [`SmolStack`](crate::SmolStack) applies its events to the interface.

use nlq::stack::StackError;
use nlq::wire::IfName;

use crate::addr::{V4Addrs, V6Addrs};
use crate::link::Link;
use crate::route::Routes;

/// How much of each table smoltcp can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// `IFACE_MAX_ADDR_COUNT`.
    pub addrs: usize,
    /// `IFACE_MAX_ROUTE_COUNT`.
    pub routes: usize,
}

/// One link with its addresses and routes.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub index: u32,
    pub link: Link,
    pub v4: V4Addrs,
    pub v6: V6Addrs,
    pub routes: Routes,
    pub generation: u64,
    pub limits: Limits,
}

impl Model {
    pub fn new(index: u32, link: Link, limits: Limits) -> Model {
        Model {
            index,
            link,
            v4: V4Addrs::default(),
            v6: V6Addrs::default(),
            routes: Routes::new(),
            generation: 0,
            limits,
        }
    }

    /// Every change request moves the generation (a dump that sees it move
    /// is marked `NLM_F_DUMP_INTR`).
    pub fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The link named by `index`, or `ENODEV`.
    pub fn check_index(&self, index: u32) -> Result<(), StackError> {
        if index == self.index {
            Ok(())
        } else {
            Err(StackError::new(nlq::errno::ENODEV))
        }
    }

    pub fn name(&self) -> &IfName {
        &self.link.name
    }
}
