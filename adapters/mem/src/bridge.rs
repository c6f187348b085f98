//! What a bridge reports about itself (`IFLA_INFO_DATA` of `bridge`,
//! `br_fill_info`): the kernel's defaults for a bridge without ports,
//! STP off, and its identity derived from its MAC.

use nlq::wire::{HwAddr, InlineBytes, Writer, INFO_DATA_CAPACITY};

const IFLA_BR_FORWARD_DELAY: u16 = 1;
const IFLA_BR_HELLO_TIME: u16 = 2;
const IFLA_BR_MAX_AGE: u16 = 3;
const IFLA_BR_AGEING_TIME: u16 = 4;
const IFLA_BR_STP_STATE: u16 = 5;
const IFLA_BR_PRIORITY: u16 = 6;
const IFLA_BR_VLAN_FILTERING: u16 = 7;
const IFLA_BR_GROUP_FWD_MASK: u16 = 9;
const IFLA_BR_ROOT_ID: u16 = 10;
const IFLA_BR_BRIDGE_ID: u16 = 11;
const IFLA_BR_ROOT_PORT: u16 = 12;
const IFLA_BR_ROOT_PATH_COST: u16 = 13;
const IFLA_BR_TOPOLOGY_CHANGE: u16 = 14;
const IFLA_BR_TOPOLOGY_CHANGE_DETECTED: u16 = 15;
const IFLA_BR_HELLO_TIMER: u16 = 16;
const IFLA_BR_TCN_TIMER: u16 = 17;
const IFLA_BR_TOPOLOGY_CHANGE_TIMER: u16 = 18;
const IFLA_BR_GC_TIMER: u16 = 19;
const IFLA_BR_GROUP_ADDR: u16 = 20;
const IFLA_BR_MCAST_ROUTER: u16 = 22;
const IFLA_BR_MCAST_SNOOPING: u16 = 23;
const IFLA_BR_MCAST_QUERY_USE_IFADDR: u16 = 24;
const IFLA_BR_MCAST_QUERIER: u16 = 25;
const IFLA_BR_MCAST_HASH_ELASTICITY: u16 = 26;
const IFLA_BR_MCAST_HASH_MAX: u16 = 27;
const IFLA_BR_MCAST_LAST_MEMBER_CNT: u16 = 28;
const IFLA_BR_MCAST_STARTUP_QUERY_CNT: u16 = 29;
const IFLA_BR_MCAST_LAST_MEMBER_INTVL: u16 = 30;
const IFLA_BR_MCAST_MEMBERSHIP_INTVL: u16 = 31;
const IFLA_BR_MCAST_QUERIER_INTVL: u16 = 32;
const IFLA_BR_MCAST_QUERY_INTVL: u16 = 33;
const IFLA_BR_MCAST_QUERY_RESPONSE_INTVL: u16 = 34;
const IFLA_BR_MCAST_STARTUP_QUERY_INTVL: u16 = 35;
const IFLA_BR_NF_CALL_IPTABLES: u16 = 36;
const IFLA_BR_NF_CALL_IP6TABLES: u16 = 37;
const IFLA_BR_NF_CALL_ARPTABLES: u16 = 38;
const IFLA_BR_MCAST_STATS_ENABLED: u16 = 42;
const IFLA_BR_MCAST_IGMP_VERSION: u16 = 43;
const IFLA_BR_MCAST_MLD_VERSION: u16 = 44;
const IFLA_BR_MULTI_BOOLOPT: u16 = 46;
const IFLA_BR_FDB_N_LEARNED: u16 = 48;
const IFLA_BR_FDB_MAX_LEARNED: u16 = 49;

/// The STP group address 01:80:c2:00:00:00.
const GROUP_ADDR: [u8; 6] = [0x01, 0x80, 0xc2, 0, 0, 0];
/// The default bridge priority, the first two bytes of its id.
const PRIORITY: u16 = 0x8000;

/// Whether the bridge id in `data` (an `IFLA_INFO_DATA` of a bridge)
/// holds a MAC (it was given one).
pub(crate) fn id_holds_mac(data: &[u8]) -> bool {
    nlq::wire::Attrs::new(data)
        .find(IFLA_BR_BRIDGE_ID)
        .ok()
        .flatten()
        .is_some_and(|a| {
            a.value()
                .get(2..)
                .is_some_and(|m| m.iter().any(|b| *b != 0))
        })
}

/// The id of a bridge with `mac`: its priority, then the MAC (all zeros
/// without one).
pub(crate) fn bridge_id(mac: Option<&HwAddr>) -> [u8; 8] {
    let mut id = [0u8; 8];
    id[..2].copy_from_slice(&PRIORITY.to_be_bytes());
    if let Some(mac) = mac.and_then(|m| m.get(..6)) {
        id[2..].copy_from_slice(mac);
    }
    id
}

/// `IFLA_INFO_DATA` of a bridge with id `id`, in the kernel's order.
pub(crate) fn info_data(id: &[u8; 8]) -> Option<InlineBytes<INFO_DATA_CAPACITY>> {
    let mut w = Writer::new(Vec::new());
    emit(&mut w, id).ok()?;
    InlineBytes::try_from_slice(&w.into_inner())
}

/// Writes the attributes, bridge id `id`.
fn emit(w: &mut Writer<Vec<u8>>, id: &[u8; 8]) -> nlq::wire::Result<()> {
    // The timers (centiseconds): nothing runs without STP or ports.
    u64s(
        w,
        &[
            (IFLA_BR_HELLO_TIMER, 0),
            (IFLA_BR_TCN_TIMER, 0),
            (IFLA_BR_TOPOLOGY_CHANGE_TIMER, 0),
            (IFLA_BR_GC_TIMER, 0),
        ],
    )?;
    u32s(
        w,
        &[
            (IFLA_BR_FORWARD_DELAY, 1500),
            (IFLA_BR_HELLO_TIME, 200),
            (IFLA_BR_MAX_AGE, 2000),
            (IFLA_BR_AGEING_TIME, 30000),
            (IFLA_BR_STP_STATE, 0),
        ],
    )?;
    w.attr_u16(IFLA_BR_PRIORITY, PRIORITY)?;
    w.attr_u8(IFLA_BR_VLAN_FILTERING, 0)?;
    w.attr_u16(IFLA_BR_GROUP_FWD_MASK, 0)?;
    // Without ports the bridge is its own root.
    w.attr(IFLA_BR_BRIDGE_ID, id)?;
    w.attr(IFLA_BR_ROOT_ID, id)?;
    w.attr_u16(IFLA_BR_ROOT_PORT, 0)?;
    w.attr_u32(IFLA_BR_ROOT_PATH_COST, 0)?;
    u8s(
        w,
        &[
            (IFLA_BR_TOPOLOGY_CHANGE, 0),
            (IFLA_BR_TOPOLOGY_CHANGE_DETECTED, 0),
        ],
    )?;
    w.attr(IFLA_BR_GROUP_ADDR, &GROUP_ADDR)?;
    // `struct br_boolopt_multi`: no option on, mask of the five known.
    w.attr(IFLA_BR_MULTI_BOOLOPT, &[0, 0, 0, 0, 0x1f, 0, 0, 0])?;
    u32s(
        w,
        &[(IFLA_BR_FDB_N_LEARNED, 0), (IFLA_BR_FDB_MAX_LEARNED, 0)],
    )?;
    u8s(
        w,
        &[
            (IFLA_BR_MCAST_ROUTER, 1),
            (IFLA_BR_MCAST_SNOOPING, 1),
            (IFLA_BR_MCAST_QUERY_USE_IFADDR, 0),
            (IFLA_BR_MCAST_QUERIER, 0),
            (IFLA_BR_MCAST_STATS_ENABLED, 0),
        ],
    )?;
    u32s(
        w,
        &[
            (IFLA_BR_MCAST_HASH_ELASTICITY, 16),
            (IFLA_BR_MCAST_HASH_MAX, 4096),
            (IFLA_BR_MCAST_LAST_MEMBER_CNT, 2),
            (IFLA_BR_MCAST_STARTUP_QUERY_CNT, 2),
        ],
    )?;
    u8s(
        w,
        &[
            (IFLA_BR_MCAST_IGMP_VERSION, 2),
            (IFLA_BR_MCAST_MLD_VERSION, 1),
        ],
    )?;
    u64s(
        w,
        &[
            (IFLA_BR_MCAST_LAST_MEMBER_INTVL, 100),
            (IFLA_BR_MCAST_MEMBERSHIP_INTVL, 26000),
            (IFLA_BR_MCAST_QUERIER_INTVL, 25500),
            (IFLA_BR_MCAST_QUERY_INTVL, 12500),
            (IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, 1000),
            (IFLA_BR_MCAST_STARTUP_QUERY_INTVL, 3124),
        ],
    )?;
    u8s(
        w,
        &[
            (IFLA_BR_NF_CALL_IPTABLES, 0),
            (IFLA_BR_NF_CALL_IP6TABLES, 0),
            (IFLA_BR_NF_CALL_ARPTABLES, 0),
        ],
    )
}

fn u64s(w: &mut Writer<Vec<u8>>, list: &[(u16, u64)]) -> nlq::wire::Result<()> {
    list.iter().try_for_each(|&(k, v)| w.attr_u64(k, v))
}

fn u32s(w: &mut Writer<Vec<u8>>, list: &[(u16, u32)]) -> nlq::wire::Result<()> {
    list.iter().try_for_each(|&(k, v)| w.attr_u32(k, v))
}

fn u8s(w: &mut Writer<Vec<u8>>, list: &[(u16, u8)]) -> nlq::wire::Result<()> {
    list.iter().try_for_each(|&(k, v)| w.attr_u8(k, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_hold_the_mac_and_every_attribute_is_framed() {
        let mac = HwAddr::try_from_slice(&[2, 0, 0, 0, 0, 1]).unwrap();
        let data = info_data(&bridge_id(Some(&mac))).unwrap();
        assert!(id_holds_mac(&data));
        assert!(!id_holds_mac(&info_data(&bridge_id(None)).unwrap()));
        let attrs: Vec<(u16, &[u8])> = nlq::wire::Attrs::new(&data)
            .map(|a| a.map(|a| (a.attr_type(), a.value())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(attrs.len(), 42);
        let id = attrs
            .iter()
            .find(|(k, _)| *k == IFLA_BR_BRIDGE_ID)
            .unwrap()
            .1;
        assert_eq!(id, &[0x80, 0, 2, 0, 0, 0, 0, 1]);
    }
}
