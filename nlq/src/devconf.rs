//! A link's per-family device configuration as Linux reports it
//! (`IFLA_AF_SPEC`: `inet_fill_link_af`, `inet6_fill_link_af`; the same
//! IPv6 attributes form the `IFLA_PROTINFO` of the `AF_INET6` link view).
//!
//! A stack that follows Linux's model builds it from the little state
//! that varies ([`DevConf`]); the rest are the kernel's defaults for a new
//! namespace (`ipv4_devconf_dflt`, `ipv6_devconf_dflt`). Counters are
//! zero and the time-bound values of the cache information are 0.

use crate::wire::consts::*;
use crate::wire::{Attrs, Buffer, InlineBytes, Result, SliceBuffer, Writer, AF_SPEC_CAPACITY};

/// `IFLA_INET_CONF`: the IPv4 configuration, `IPV4_DEVCONF_MAX` values.
pub const IFLA_INET_CONF: u16 = 1;
/// `IFLA_INET6_CONF`: the IPv6 configuration, `DEVCONF_MAX` values.
pub const IFLA_INET6_CONF: u16 = 2;
/// `IFLA_INET6_STATS`.
pub const IFLA_INET6_STATS: u16 = 3;
/// `IFLA_INET6_CACHEINFO`.
pub const IFLA_INET6_CACHEINFO: u16 = 5;
/// `IFLA_INET6_ICMP6STATS`.
pub const IFLA_INET6_ICMP6STATS: u16 = 6;
/// `IF_RS_SENT`: a router solicitation went out.
pub const IF_RS_SENT: u32 = 0x10;

/// IPv4 defaults, in `IPV4_DEVCONF_*` order (accept_redirects,
/// secure_redirects, send_redirects, shared_media, accept_source_route,
/// the IGMP report intervals, arp_evict_nocarrier).
const INET_CONF: [u32; 33] = [
    0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10000, 1000, 0,
    0, 0, 0, 1,
];
/// `IPV4_DEVCONF_NOXFRM` and `IPV4_DEVCONF_NOPOLICY` (indexes): set on `lo`.
const INET_LO_SET: [usize; 2] = [14, 15];

/// IPv6 defaults, in `DEVCONF_*` order: hop limit 64, the MTU (replaced),
/// router solicitations without end, one DAD probe, temporary address
/// lifetimes, MLD intervals, ...
const INET6_CONF: [u32; 60] = [
    0,
    64,
    1280,
    1,
    1,
    1,
    1,
    u32::MAX,
    4000,
    1000,
    0,
    604_800,
    86400,
    3,
    600,
    16,
    0,
    1,
    1,
    1,
    60000,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    10000,
    1000,
    1,
    0,
    0,
    1,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    3_600_000,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    1024,
    0,
    65535,
    u32::MAX,
    1,
    0,
    0,
    0,
];
/// `DEVCONF_MTU6`.
const DEVCONF_MTU6: usize = 2;
/// `DEVCONF_USE_TEMPADDR` and `DEVCONF_ACCEPT_DAD`: -1 on `lo`.
const INET6_LO_UNSET: [usize; 2] = [10, DEVCONF_ACCEPT_DAD];
/// `DEVCONF_ACCEPT_DAD`.
const DEVCONF_ACCEPT_DAD: usize = 27;
/// The counter blocks as sent: a count, then the counters (the count is
/// the first of them).
const INET6_STATS_COUNT: usize = 38;
const ICMP6_STATS_COUNT: usize = 7;
/// `ifla_cacheinfo`: `max_reasm_len`, two time-bound values, then
/// `retrans_time`.
const CACHEINFO: [u32; 4] = [65535, 0, 0, 1000];

/// What varies in a link's device configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DevConf {
    /// The link is the loopback (a few defaults differ).
    pub loopback: bool,
    /// It has an IPv4 device (`in_device`: an MTU of at least 68).
    pub inet4: bool,
    /// It has an IPv6 device (`inet6_dev`: an MTU of at least 1280, or
    /// `lo`).
    pub inet6: bool,
    /// The IPv6 device's flags (`IF_READY`, [`IF_RS_SENT`]).
    pub inet6_flags: u32,
    /// The IPv6 MTU (`DEVCONF_MTU6`).
    pub mtu6: u32,
    /// The link had no ARP (`IFF_NOARP`) when its IPv6 device was made:
    /// `ipv6_add_dev` left `accept_dad` at -1 (as on `lo`).
    pub noarp6: bool,
}

impl DevConf {
    /// The `IFLA_AF_SPEC` content: IPv4's part while there is an IPv4
    /// device, IPv6's while there is an IPv6 one (empty with neither).
    pub fn af_spec(&self) -> Option<InlineBytes<AF_SPEC_CAPACITY>> {
        let mut storage = [0u8; AF_SPEC_CAPACITY];
        let mut w = Writer::new(SliceBuffer::new(&mut storage));
        self.emit_af_spec(&mut w).ok()?;
        let buf = w.into_inner();
        InlineBytes::try_from_slice(buf.as_bytes())
    }

    fn emit_af_spec<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        if self.inet4 {
            w.nested_noflag(u16::from(AF_INET), |w| {
                let mut conf = INET_CONF;
                if self.loopback {
                    for i in INET_LO_SET {
                        if let Some(v) = conf.get_mut(i) {
                            *v = 1;
                        }
                    }
                }
                words_attr(w, IFLA_INET_CONF, &conf)
            })?;
        }
        if self.inet6 {
            w.nested_noflag(u16::from(AF_INET6), |w| self.emit_inet6(w))?;
        }
        Ok(())
    }

    /// The IPv6 attributes (`inet6_fill_ifla6_attrs`).
    pub fn emit_inet6<B: Buffer>(&self, w: &mut Writer<B>) -> Result<()> {
        w.attr_u32(IFLA_INET6_FLAGS, self.inet6_flags)?;
        words_attr(w, IFLA_INET6_CACHEINFO, &CACHEINFO)?;
        let mut conf = INET6_CONF;
        if let Some(v) = conf.get_mut(DEVCONF_MTU6) {
            *v = self.mtu6;
        }
        if self.loopback {
            for i in INET6_LO_UNSET {
                if let Some(v) = conf.get_mut(i) {
                    *v = u32::MAX;
                }
            }
        }
        if self.noarp6 {
            if let Some(v) = conf.get_mut(DEVCONF_ACCEPT_DAD) {
                *v = u32::MAX;
            }
        }
        words_attr(w, IFLA_INET6_CONF, &conf)?;
        counters_attr::<B, { INET6_STATS_COUNT * 8 }>(w, IFLA_INET6_STATS)?;
        counters_attr::<B, { ICMP6_STATS_COUNT * 8 }>(w, IFLA_INET6_ICMP6STATS)?;
        w.attr(IFLA_INET6_TOKEN, &[0u8; 16])?;
        w.attr_u8(IFLA_INET6_ADDR_GEN_MODE, 0)
    }

    /// Reads back what varies from a saved `IFLA_AF_SPEC` (`spec`), for a
    /// link that is `loopback` or not.
    pub fn from_af_spec(spec: &[u8], loopback: bool) -> Self {
        let part = |family: u8| Attrs::new(spec).find(u16::from(family)).ok().flatten();
        let inet6 = part(AF_INET6);
        let inner = |kind: u16| inet6.and_then(|p| p.nested().find(kind).ok().flatten());
        let conf_word = |i: usize| {
            let conf = inner(IFLA_INET6_CONF)?;
            let bytes = conf
                .value()
                .get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
            Some(u32::from_ne_bytes(bytes.try_into().ok()?))
        };
        DevConf {
            loopback,
            inet4: part(AF_INET).is_some(),
            inet6: inet6.is_some(),
            inet6_flags: inner(IFLA_INET6_FLAGS)
                .and_then(|a| a.u32().ok())
                .unwrap_or(0),
            mtu6: conf_word(DEVCONF_MTU6).unwrap_or(0),
            noarp6: !loopback && conf_word(DEVCONF_ACCEPT_DAD) == Some(u32::MAX),
        }
    }
}

/// An attribute holding `v` (at most 60 values) as host-order words.
fn words_attr<B: Buffer>(w: &mut Writer<B>, kind: u16, v: &[u32]) -> Result<()> {
    let mut bytes = [0u8; 4 * 60];
    for (chunk, x) in bytes.chunks_exact_mut(4).zip(v) {
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    let len = v.len().saturating_mul(4);
    w.attr(kind, bytes.get(..len).unwrap_or_default())
}

/// A counter block of `LEN` bytes: its count (`LEN / 8`), then zeros.
fn counters_attr<B: Buffer, const LEN: usize>(w: &mut Writer<B>, kind: u16) -> Result<()> {
    let mut block = [0u8; LEN];
    let count = u64::try_from(LEN.checked_div(8).unwrap_or(0)).unwrap_or(0);
    for (d, s) in block.iter_mut().zip(count.to_ne_bytes()) {
        *d = s;
    }
    w.attr(kind, &block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_the_kernel_s_and_read_back() {
        let lo = DevConf {
            loopback: true,
            inet4: true,
            inet6: true,
            inet6_flags: IF_READY,
            mtu6: 65536,
            noarp6: false,
        };
        let spec = lo.af_spec().unwrap();
        let parts: Vec<(u16, usize)> = Attrs::new(&spec)
            .map(|a| a.map(|a| (a.attr_type(), a.value().len())))
            .collect::<Result<_>>()
            .unwrap();
        // IPv4: one 132-byte array; IPv6: flags, cache information, a
        // 240-byte array, 304 and 56 bytes of counters, token, mode.
        assert_eq!(parts, [(2, 136), (10, 8 + 20 + 244 + 308 + 60 + 20 + 8)]);
        assert_eq!(DevConf::from_af_spec(&spec, true), lo);
        let none = DevConf::default().af_spec().unwrap();
        assert!(none.is_empty());
        assert_eq!(DevConf::from_af_spec(&none, false), DevConf::default());
        // A link without ARP when its IPv6 device came: accept_dad -1,
        // read back as such (on `lo` it is -1 anyway).
        let noarp = DevConf {
            inet4: true,
            inet6: true,
            mtu6: 1500,
            noarp6: true,
            ..DevConf::default()
        };
        let spec = noarp.af_spec().unwrap();
        assert_eq!(DevConf::from_af_spec(&spec, false), noarp);
        let plain = DevConf {
            noarp6: false,
            ..noarp
        };
        assert_ne!(plain.af_spec().unwrap(), spec);
    }
}
