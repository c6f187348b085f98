//! The attributes the kernel reports for every link about its limits,
//! counters and hooks (`rtnl_fill_ifinfo`): what `ip -d link` prints after
//! the MTU (`promiscuity`, `minmtu`, `numtxqueues`, `gso_max_size`, ...).
//!
//! The kernel writes them in several places among the other link
//! attributes; [`LinkDetails`] parses them wherever they are and emits
//! each group where the kernel puts it ([`DetailsAt`]).

use super::attr::Attr;
use super::consts::*;
use super::error::Result;
use super::writer::{Buffer, Writer};

/// The size of `struct rtnl_link_ifmap` as the kernel sends it
/// (`IFLA_MAP`: three `u64`, a `u16`, two `u8`, padded).
pub const LINK_MAP_LEN: usize = 32;

/// Limits, counters and hooks of a link. `None` (or `false`) is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkDetails {
    /// `IFLA_NETNS_IMMUTABLE`: the link cannot change namespace (`lo`).
    pub netns_immutable: Option<u8>,
    /// `IFLA_MIN_MTU`.
    pub min_mtu: Option<u32>,
    /// `IFLA_MAX_MTU`.
    pub max_mtu: Option<u32>,
    /// `IFLA_PROMISCUITY`: the promiscuous mode's reference count.
    pub promiscuity: Option<u32>,
    /// `IFLA_ALLMULTI`: the all-multicast mode's reference count.
    pub allmulti: Option<u32>,
    /// `IFLA_NUM_TX_QUEUES`.
    pub num_tx_queues: Option<u32>,
    /// `IFLA_GSO_MAX_SEGS`.
    pub gso_max_segs: Option<u32>,
    /// `IFLA_GSO_MAX_SIZE`.
    pub gso_max_size: Option<u32>,
    /// `IFLA_GRO_MAX_SIZE`.
    pub gro_max_size: Option<u32>,
    /// `IFLA_GSO_IPV4_MAX_SIZE`.
    pub gso_ipv4_max_size: Option<u32>,
    /// `IFLA_GRO_IPV4_MAX_SIZE`.
    pub gro_ipv4_max_size: Option<u32>,
    /// `IFLA_TSO_MAX_SIZE`.
    pub tso_max_size: Option<u32>,
    /// `IFLA_TSO_MAX_SEGS`.
    pub tso_max_segs: Option<u32>,
    /// `IFLA_MAX_PACING_OFFLOAD_HORIZON` (a variable-width unsigned).
    pub max_pacing_offload_horizon: Option<u64>,
    /// `IFLA_NUM_RX_QUEUES`.
    pub num_rx_queues: Option<u32>,
    /// `IFLA_CARRIER_CHANGES`: carrier transitions, both ways.
    pub carrier_changes: Option<u32>,
    /// `IFLA_CARRIER_UP_COUNT`.
    pub carrier_up_count: Option<u32>,
    /// `IFLA_CARRIER_DOWN_COUNT`.
    pub carrier_down_count: Option<u32>,
    /// `IFLA_HEADROOM`.
    pub headroom: Option<u16>,
    /// `IFLA_TAILROOM`.
    pub tailroom: Option<u16>,
    /// `IFLA_PROTO_DOWN`.
    pub proto_down: Option<u8>,
    /// `IFLA_XDP` with its `IFLA_XDP_ATTACHED` (`XDP_ATTACHED_*`).
    pub xdp_attached: Option<u8>,
    /// `IFLA_MAP`, raw.
    pub map: Option<[u8; LINK_MAP_LEN]>,
    /// An empty `IFLA_DEVLINK_PORT` nest.
    pub devlink_port: bool,
    /// An empty `IFLA_DPLL_PIN` nest.
    pub dpll_pin: bool,
    /// `IFLA_EVENT`: the event a notification reports (`IFLA_EVENT_*`);
    /// absent for none.
    pub event: Option<u32>,
}

/// Where among the other link attributes a group of details goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsAt {
    /// After `IFLA_LINKMODE`: `IFLA_NETNS_IMMUTABLE`.
    AfterLinkMode,
    /// After `IFLA_MTU`: the MTU limits.
    AfterMtu,
    /// After `IFLA_GROUP`: modes, queues and offload limits.
    AfterGroup,
    /// After `IFLA_CARRIER` and `IFLA_IFALIAS`: carrier counters, room,
    /// protocol down.
    AfterCarrier,
    /// After the statistics: `IFLA_XDP`.
    AfterStats,
    /// At the end: `IFLA_MAP` and the empty hook nests.
    AtEnd,
}

impl LinkDetails {
    /// What Linux reports for a software link (loopback, bridge, tap,
    /// dummy) with MTU limits `min_mtu..=max_mtu` (0 and 0 when unbounded)
    /// and a carrier that went up `up` and down `down` times: one queue
    /// each way, the default offload limits (`GSO_MAX_SIZE`,
    /// `TSO_LEGACY_MAX_SIZE`), no XDP program, no devlink port or DPLL pin.
    pub fn linux(min_mtu: u32, max_mtu: u32, up: u32, down: u32) -> Self {
        LinkDetails {
            netns_immutable: Some(0),
            min_mtu: Some(min_mtu),
            max_mtu: Some(max_mtu),
            promiscuity: Some(0),
            allmulti: Some(0),
            num_tx_queues: Some(1),
            gso_max_segs: Some(65535),
            gso_max_size: Some(65536),
            gro_max_size: Some(65536),
            gso_ipv4_max_size: Some(65536),
            gro_ipv4_max_size: Some(65536),
            tso_max_size: Some(65536),
            tso_max_segs: Some(65535),
            max_pacing_offload_horizon: Some(0),
            num_rx_queues: Some(1),
            carrier_changes: Some(up.wrapping_add(down)),
            carrier_up_count: Some(up),
            carrier_down_count: Some(down),
            headroom: Some(0),
            tailroom: Some(0),
            proto_down: Some(0),
            xdp_attached: Some(0),
            map: Some([0; LINK_MAP_LEN]),
            devlink_port: true,
            dpll_pin: true,
            event: None,
        }
    }

    /// Takes `a` if it is one of the details; `Ok(false)` if it is not.
    pub fn take(&mut self, a: &Attr<'_>) -> Result<bool> {
        let u32_slot = match a.attr_type() {
            IFLA_MIN_MTU => Some(&mut self.min_mtu),
            IFLA_MAX_MTU => Some(&mut self.max_mtu),
            IFLA_PROMISCUITY => Some(&mut self.promiscuity),
            IFLA_ALLMULTI => Some(&mut self.allmulti),
            IFLA_NUM_TX_QUEUES => Some(&mut self.num_tx_queues),
            IFLA_GSO_MAX_SEGS => Some(&mut self.gso_max_segs),
            IFLA_GSO_MAX_SIZE => Some(&mut self.gso_max_size),
            IFLA_GRO_MAX_SIZE => Some(&mut self.gro_max_size),
            IFLA_GSO_IPV4_MAX_SIZE => Some(&mut self.gso_ipv4_max_size),
            IFLA_GRO_IPV4_MAX_SIZE => Some(&mut self.gro_ipv4_max_size),
            IFLA_TSO_MAX_SIZE => Some(&mut self.tso_max_size),
            IFLA_TSO_MAX_SEGS => Some(&mut self.tso_max_segs),
            IFLA_NUM_RX_QUEUES => Some(&mut self.num_rx_queues),
            IFLA_CARRIER_CHANGES => Some(&mut self.carrier_changes),
            IFLA_CARRIER_UP_COUNT => Some(&mut self.carrier_up_count),
            IFLA_CARRIER_DOWN_COUNT => Some(&mut self.carrier_down_count),
            IFLA_EVENT => Some(&mut self.event),
            _ => None,
        };
        if let Some(slot) = u32_slot {
            *slot = Some(a.u32()?);
            return Ok(true);
        }
        match a.attr_type() {
            IFLA_NETNS_IMMUTABLE => self.netns_immutable = Some(a.u8()?),
            IFLA_PROTO_DOWN => self.proto_down = Some(a.u8()?),
            IFLA_HEADROOM => self.headroom = Some(a.u16()?),
            IFLA_TAILROOM => self.tailroom = Some(a.u16()?),
            IFLA_MAX_PACING_OFFLOAD_HORIZON => {
                // `nla_put_uint`: 4 bytes when the value fits, else 8.
                self.max_pacing_offload_horizon = Some(match a.value().len() {
                    4 => u64::from(a.u32()?),
                    _ => a.u64()?,
                })
            }
            IFLA_XDP => {
                for inner in a.nested() {
                    let inner = inner?;
                    if inner.attr_type() == IFLA_XDP_ATTACHED {
                        self.xdp_attached = Some(inner.u8()?);
                    }
                }
                // An `IFLA_XDP` without `IFLA_XDP_ATTACHED` says none.
                self.xdp_attached.get_or_insert(0);
            }
            IFLA_MAP => {
                let mut map = [0u8; LINK_MAP_LEN];
                // A 64-bit kernel sends 32 bytes; a shorter one is kept
                // zero-padded, a longer one cut.
                for (d, s) in map.iter_mut().zip(a.value()) {
                    *d = *s;
                }
                self.map = Some(map);
            }
            IFLA_DEVLINK_PORT => self.devlink_port = true,
            IFLA_DPLL_PIN => self.dpll_pin = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Appends the group of details that goes at `at`.
    pub fn emit<B: Buffer>(&self, w: &mut Writer<B>, at: DetailsAt) -> Result<()> {
        match at {
            DetailsAt::AfterLinkMode => put_u8(w, IFLA_NETNS_IMMUTABLE, self.netns_immutable),
            DetailsAt::AfterMtu => {
                put_u32(w, IFLA_MIN_MTU, self.min_mtu)?;
                put_u32(w, IFLA_MAX_MTU, self.max_mtu)
            }
            DetailsAt::AfterGroup => {
                for (kind, v) in [
                    (IFLA_PROMISCUITY, self.promiscuity),
                    (IFLA_ALLMULTI, self.allmulti),
                    (IFLA_NUM_TX_QUEUES, self.num_tx_queues),
                    (IFLA_GSO_MAX_SEGS, self.gso_max_segs),
                    (IFLA_GSO_MAX_SIZE, self.gso_max_size),
                    (IFLA_GRO_MAX_SIZE, self.gro_max_size),
                    (IFLA_GSO_IPV4_MAX_SIZE, self.gso_ipv4_max_size),
                    (IFLA_GRO_IPV4_MAX_SIZE, self.gro_ipv4_max_size),
                    (IFLA_TSO_MAX_SIZE, self.tso_max_size),
                    (IFLA_TSO_MAX_SEGS, self.tso_max_segs),
                ] {
                    put_u32(w, kind, v)?;
                }
                if let Some(v) = self.max_pacing_offload_horizon {
                    match u32::try_from(v) {
                        Ok(small) => w.attr_u32(IFLA_MAX_PACING_OFFLOAD_HORIZON, small)?,
                        Err(_) => w.attr_u64(IFLA_MAX_PACING_OFFLOAD_HORIZON, v)?,
                    }
                }
                put_u32(w, IFLA_NUM_RX_QUEUES, self.num_rx_queues)
            }
            DetailsAt::AfterCarrier => {
                put_u32(w, IFLA_CARRIER_CHANGES, self.carrier_changes)?;
                put_u32(w, IFLA_CARRIER_UP_COUNT, self.carrier_up_count)?;
                put_u32(w, IFLA_CARRIER_DOWN_COUNT, self.carrier_down_count)?;
                if let Some(v) = self.headroom {
                    w.attr_u16(IFLA_HEADROOM, v)?;
                }
                if let Some(v) = self.tailroom {
                    w.attr_u16(IFLA_TAILROOM, v)?;
                }
                put_u8(w, IFLA_PROTO_DOWN, self.proto_down)?;
                put_u32(w, IFLA_EVENT, self.event)
            }
            DetailsAt::AfterStats => match self.xdp_attached {
                // A plain nest, as the kernel writes it.
                Some(v) => w.nested_noflag(IFLA_XDP, |w| w.attr_u8(IFLA_XDP_ATTACHED, v)),
                None => Ok(()),
            },
            DetailsAt::AtEnd => {
                if let Some(m) = &self.map {
                    w.attr(IFLA_MAP, m)?;
                }
                if self.devlink_port {
                    w.nested(IFLA_DEVLINK_PORT, |_| Ok(()))?;
                }
                if self.dpll_pin {
                    w.nested(IFLA_DPLL_PIN, |_| Ok(()))?;
                }
                Ok(())
            }
        }
    }
}

fn put_u32<B: Buffer>(w: &mut Writer<B>, kind: u16, v: Option<u32>) -> Result<()> {
    match v {
        Some(v) => w.attr_u32(kind, v),
        None => Ok(()),
    }
}

fn put_u8<B: Buffer>(w: &mut Writer<B>, kind: u16, v: Option<u8>) -> Result<()> {
    match v {
        Some(v) => w.attr_u8(kind, v),
        None => Ok(()),
    }
}
