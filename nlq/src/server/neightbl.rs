//! `RTM_GETNEIGHTBL` dumps (`ip ntable show`): the ARP and NDP tables'
//! settings, then each link's (`neightbl_dump_info`), with a fresh
//! namespace's defaults. Nothing here ages or resolves, so the counters
//! are zero and each "reachable time" is the base one.

use core::ops::ControlFlow;

use crate::errno::EINVAL;
use crate::stack::{Cursor, Stack, StackResult};
use crate::wire::consts::*;
use crate::wire::{Buffer, NlMsg, Writer};

use super::request::{Checked, Failure};

/// `NDTA_*`.
const NDTA_NAME: u16 = 1;
const NDTA_THRESH1: u16 = 2;
const NDTA_THRESH2: u16 = 3;
const NDTA_THRESH3: u16 = 4;
const NDTA_CONFIG: u16 = 5;
const NDTA_PARMS: u16 = 6;
const NDTA_STATS: u16 = 7;
const NDTA_GC_INTERVAL: u16 = 8;
/// `NDTPA_*`.
const NDTPA_IFINDEX: u16 = 1;
const NDTPA_REFCNT: u16 = 2;
const NDTPA_REACHABLE_TIME: u16 = 3;
const NDTPA_BASE_REACHABLE_TIME: u16 = 4;
const NDTPA_RETRANS_TIME: u16 = 5;
const NDTPA_GC_STALETIME: u16 = 6;
const NDTPA_DELAY_PROBE_TIME: u16 = 7;
const NDTPA_QUEUE_LEN: u16 = 8;
const NDTPA_APP_PROBES: u16 = 9;
const NDTPA_UCAST_PROBES: u16 = 10;
const NDTPA_MCAST_PROBES: u16 = 11;
const NDTPA_ANYCAST_DELAY: u16 = 12;
const NDTPA_PROXY_DELAY: u16 = 13;
const NDTPA_PROXY_QLEN: u16 = 14;
const NDTPA_LOCKTIME: u16 = 15;
const NDTPA_QUEUE_LENBYTES: u16 = 16;
const NDTPA_MCAST_REPROBES: u16 = 17;
const NDTPA_INTERVAL_PROBE_TIME_MS: u16 = 19;

/// `BASE_REACHABLE_TIME` in milliseconds: the reachable time reported
/// (the kernel draws one between half and one and a half of it).
const BASE_REACHABLE_MS: u64 = 30_000;

/// Which tables a dump lists: a family, or both (`AF_UNSPEC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NeighTblFilter {
    family: u8,
}

/// The request's checks (`neightbl_valid_dump_info`, under strict
/// checking) and its family.
pub(crate) fn neightbl_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<NeighTblFilter> {
    let p = msg.payload();
    let family = p.first().copied().unwrap_or(AF_UNSPEC);
    if strict {
        let Some(h) = p.get(..4) else {
            return Err(Failure::new(
                EINVAL,
                "Invalid header for neighbor table dump request",
            ));
        };
        if h.get(1..).is_some_and(|pad| pad.iter().any(|b| *b != 0)) {
            return Err(Failure::new(
                EINVAL,
                "Invalid values in header for neighbor table dump request",
            ));
        }
        if p.len() > 4 {
            return Err(Failure::new(
                EINVAL,
                "Invalid data after header in neighbor table dump request",
            ));
        }
    }
    Ok(NeighTblFilter { family })
}

/// One table: its family, name and key length, its entry size and its
/// lock time as this kernel reports them.
struct Table {
    family: u8,
    name: &'static str,
    key_len: u16,
    entry_size: u16,
    locktime: u64,
}

const TABLES: [Table; 2] = [
    Table {
        family: AF_INET,
        name: "arp_cache",
        key_len: 4,
        entry_size: 336,
        locktime: 1000,
    },
    Table {
        family: AF_INET6,
        name: "ndisc_cache",
        key_len: 16,
        entry_size: 344,
        locktime: 0,
    },
];

/// What one entry of the dump is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TblEntry {
    /// A table's settings and its default parameters; the number of
    /// entries it holds.
    Table { family: u8, entries: u32 },
    /// A link's parameters in a table, and how many of the table's
    /// entries are on the link (each holds a reference to them).
    Link { family: u8, index: u32, refs: u32 },
}

/// The entries from `from` on: each table, then its links (the newest
/// first, as the kernel lists their parameters).
pub(crate) fn list<S: Stack>(
    stack: &S,
    filter: NeighTblFilter,
    from: &Cursor,
    put: &mut dyn FnMut(TblEntry) -> ControlFlow<()>,
) -> StackResult<Cursor> {
    let start = from.position();
    let mut at = 0usize;
    for t in TABLES
        .iter()
        .filter(|t| filter.family == AF_UNSPEC || t.family == filter.family)
    {
        let mut on = alloc::collections::BTreeMap::<u32, u32>::new();
        // A stack without neighbours has none in its tables.
        let _ = stack.neighbours(t.family, 0, &mut |n| {
            let count = on.entry(n.header.ifindex).or_default();
            *count = count.saturating_add(1);
            ControlFlow::Continue(())
        });
        let entries = on.values().fold(0u32, |a, n| a.saturating_add(*n));
        let mut links = alloc::vec::Vec::new();
        stack.links(0, &mut |l| {
            if super::netconf::has_family(l, t.family) {
                links.push(l.header.index);
            }
            ControlFlow::Continue(())
        })?;
        // Oldest first (listed from the end).
        links.sort_by_cached_key(|&i| stack.family_device_age(t.family, i));
        let table = TblEntry::Table {
            family: t.family,
            entries,
        };
        let each = core::iter::once(table).chain(links.iter().rev().map(|&index| TblEntry::Link {
            family: t.family,
            index,
            refs: on.get(&index).copied().unwrap_or(0),
        }));
        for e in each {
            if at >= start && put(e).is_break() {
                return Ok(Cursor::at(at));
            }
            at = at.saturating_add(1);
        }
    }
    Ok(Cursor::at(at))
}

/// Writes one entry (`neightbl_fill_info`, `neightbl_fill_param_info`).
pub(crate) fn emit<B: Buffer>(w: &mut Writer<B>, e: TblEntry) -> crate::wire::Result<()> {
    let (family, index, entries, refs) = match e {
        TblEntry::Table { family, entries } => (family, None, entries, 0),
        TblEntry::Link {
            family,
            index,
            refs,
        } => (family, Some(index), 0, refs),
    };
    let Some(t) = TABLES.iter().find(|t| t.family == family) else {
        return Ok(());
    };
    w.put(&[family, 0, 0, 0])?;
    w.attr_str(NDTA_NAME, t.name)?;
    if index.is_none() {
        w.attr_u64(NDTA_GC_INTERVAL, 30_000)?;
        w.attr_u32(NDTA_THRESH1, 128)?;
        w.attr_u32(NDTA_THRESH2, 512)?;
        w.attr_u32(NDTA_THRESH3, 1024)?;
        // `struct ndt_config`, a plain attribute written in place: key
        // length and entry size (u16), then entries, last flush and last
        // rand (ms ago), hash seed, hash mask (32 buckets), chain GC,
        // proxy queue length.
        w.nested_noflag(NDTA_CONFIG, |w| {
            w.put(&t.key_len.to_ne_bytes())?;
            w.put(&t.entry_size.to_ne_bytes())?;
            [entries, 0, 0, 0, 31, 0, 0]
                .iter()
                .try_for_each(|v: &u32| w.put(&v.to_ne_bytes()))
        })?;
        // `struct ndt_stats`: eleven counters.
        w.attr(NDTA_STATS, &[0u8; 88])?;
    }
    // Nested without NLA_F_NESTED (`nla_nest_start_noflag`).
    w.nested_noflag(NDTA_PARMS, |p| {
        if let Some(i) = index {
            p.attr_u32(NDTPA_IFINDEX, i)?;
        }
        p.attr_u32(NDTPA_REFCNT, refs.saturating_add(1))?;
        p.attr_u32(NDTPA_QUEUE_LENBYTES, 212_992)?;
        p.attr_u32(NDTPA_QUEUE_LEN, 101)?;
        p.attr_u32(NDTPA_PROXY_QLEN, 64)?;
        p.attr_u32(NDTPA_APP_PROBES, 0)?;
        p.attr_u32(NDTPA_UCAST_PROBES, 3)?;
        p.attr_u32(NDTPA_MCAST_PROBES, 3)?;
        p.attr_u32(NDTPA_MCAST_REPROBES, 0)?;
        p.attr_u64(NDTPA_REACHABLE_TIME, BASE_REACHABLE_MS)?;
        p.attr_u64(NDTPA_BASE_REACHABLE_TIME, BASE_REACHABLE_MS)?;
        p.attr_u64(NDTPA_GC_STALETIME, 60_000)?;
        p.attr_u64(NDTPA_DELAY_PROBE_TIME, 5_000)?;
        p.attr_u64(NDTPA_RETRANS_TIME, 1_000)?;
        p.attr_u64(NDTPA_ANYCAST_DELAY, 1_000)?;
        p.attr_u64(NDTPA_PROXY_DELAY, 800)?;
        p.attr_u64(NDTPA_LOCKTIME, t.locktime)?;
        p.attr_u64(NDTPA_INTERVAL_PROBE_TIME_MS, 5_000)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Messages;
    use alloc::vec::Vec;

    /// The request with `body` as it is (`nlmsg_len` not padded).
    fn dump_request(body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(NLMSG_HDRLEN + body.len()).unwrap();
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&RTM_GETNEIGHTBL.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        m.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(body);
        m
    }

    fn checked(body: &[u8], strict: bool) -> Result<u8, Option<&'static str>> {
        let req = dump_request(body);
        let msg = Messages::new(&req).next().unwrap().unwrap();
        neightbl_dump(&msg, strict)
            .map(|f| f.family)
            .map_err(|e| e.message)
    }

    #[test]
    fn strict_requests_are_checked_as_neightbl_valid_dump_info() {
        assert_eq!(checked(&[2, 0, 0, 0], true), Ok(2));
        assert_eq!(
            checked(&[2], true),
            Err(Some("Invalid header for neighbor table dump request"))
        );
        assert_eq!(
            checked(&[2, 1, 0, 0], true),
            Err(Some(
                "Invalid values in header for neighbor table dump request"
            ))
        );
        assert_eq!(
            checked(&[2, 0, 0, 0, 4, 0, 1, 0], true),
            Err(Some(
                "Invalid data after header in neighbor table dump request"
            ))
        );
        // Without strict checking only the family is read.
        assert_eq!(checked(&[10, 1], false), Ok(10));
    }

    #[test]
    fn a_table_then_a_link_as_the_kernel_writes_them() {
        let mut w = Writer::new(Vec::new());
        emit(
            &mut w,
            TblEntry::Table {
                family: AF_INET,
                entries: 2,
            },
        )
        .unwrap();
        let b = w.into_inner();
        // ndtmsg, NDTA_NAME "arp_cache", then GC interval, thresholds,
        // config, stats, parameters.
        assert_eq!(&b[..4], &[AF_INET, 0, 0, 0]);
        assert_eq!(&b[4..8], &[14, 0, 1, 0]);
        assert_eq!(&b[8..18], b"arp_cache\0");
        let kinds: Vec<u16> = crate::wire::Attrs::new(&b[4..])
            .map(|a| a.unwrap().attr_type())
            .collect();
        assert_eq!(kinds, [1, 8, 2, 3, 4, 5, 7, 6]);
        let mut w = Writer::new(Vec::new());
        emit(
            &mut w,
            TblEntry::Link {
                family: AF_INET6,
                index: 3,
                refs: 2,
            },
        )
        .unwrap();
        let b = w.into_inner();
        let parms = crate::wire::Attrs::new(&b[4..]).nth(1).unwrap().unwrap();
        // Without NLA_F_NESTED; the index first, then the references.
        assert_eq!(parms.type_with_flags(), NDTA_PARMS);
        let inner: Vec<(u16, u32)> = crate::wire::Attrs::new(parms.value())
            .take(2)
            .map(|a| {
                let a = a.unwrap();
                (a.attr_type(), a.u32().unwrap())
            })
            .collect();
        assert_eq!(inner, [(NDTPA_IFINDEX, 3), (NDTPA_REFCNT, 3)]);
    }
}
