//! Reading a rule request as the kernel does (`fib_nl_newrule` and
//! `fib_nl_delrule` up to `fib_nl2rule`, `fib_nl_dumprule`): its length,
//! its family, and the attribute policy (`fib_rule_policy`, parsed the
//! deprecated way: attributes below `FRA_DSCP` need only be long enough
//! and may be longer, later ones must be exact; unknown types are passed
//! over).

use core::net::IpAddr;

use crate::errno::{EAFNOSUPPORT, EINVAL, ERANGE};
use crate::wire::consts::*;
use crate::wire::{FamilyHeader, FibRuleHdr, IfName, NlMsg, Part, PortRange, RuleRepr, UidRange};

use super::request::{attrs_at, Checked, Failure};

/// The first attribute type the policy checks strictly
/// (`strict_start_type`).
const STRICT_START: u16 = FRA_DSCP;

/// The answer to an attribute the policy refuses: its errno, with the
/// text the kernel sets on every parse error and the attribute's offset.
fn refused(errno: i32, offset: usize) -> Failure {
    Failure {
        errno,
        message: Some("Error parsing msg"),
        offset: u32::try_from(offset).ok(),
    }
}

/// The first `N` bytes of `v`, when it has at least `N` (below
/// [`STRICT_START`]) or exactly `N`.
fn sized<const N: usize>(v: &[u8], kind: u16, at: usize) -> Checked<[u8; N]> {
    match v.get(..N) {
        Some(b) if kind < STRICT_START || v.len() == N => {
            let mut out = [0u8; N];
            out.copy_from_slice(b);
            Ok(out)
        }
        // Too short: `ERANGE`; not exact (strict types): `EINVAL`.
        _ if v.len() < N => Err(refused(ERANGE, at)),
        _ => Err(refused(EINVAL, at)),
    }
}

fn u32_of(v: &[u8], kind: u16, at: usize) -> Checked<u32> {
    sized::<4>(v, kind, at).map(u32::from_ne_bytes)
}

fn u8_of(v: &[u8], kind: u16, at: usize) -> Checked<u8> {
    sized::<1>(v, kind, at).map(|[b]| b)
}

/// An `NLA_STRING` of at most `IFNAMSIZ - 1` bytes (a last NUL is not
/// counted), up to its first NUL (`nla_strscpy`).
fn name_of(v: &[u8], at: usize) -> Checked<IfName> {
    let len = match v.split_last() {
        Some((0, rest)) => rest.len(),
        _ => v.len(),
    };
    if len >= IFNAMSIZ {
        return Err(refused(ERANGE, at));
    }
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    let s = v
        .get(..end)
        .and_then(|b| core::str::from_utf8(b).ok())
        .ok_or(refused(EINVAL, at))?;
    IfName::new(s, Part::Body).map_err(|_| refused(ERANGE, at))
}

/// An address of the family, when the attribute holds one exactly
/// (`fib_nl2rule` refuses anything else for a prefix it needs).
fn ip_of(v: &[u8], family: u8) -> Option<IpAddr> {
    match (family, v.len()) {
        (AF_INET, 4) => crate::wire::IpBytes::new(v, AF_INET).map(|b| b.ip()),
        (AF_INET6, 16) => crate::wire::IpBytes::new(v, AF_INET6).map(|b| b.ip()),
        _ => None,
    }
}

fn ports_of(v: &[u8], kind: u16, at: usize) -> Checked<PortRange> {
    let [s0, s1, e0, e1] = sized::<4>(v, kind, at)?;
    Ok(PortRange {
        start: u16::from_ne_bytes([s0, s1]),
        end: u16::from_ne_bytes([e0, e1]),
    })
}

/// The rule a `RTM_NEWRULE` / `RTM_DELRULE` asks for, as given (no
/// defaults filled in): `EINVAL` "Invalid msg length" for a body shorter
/// than `fib_rule_hdr`, `EAFNOSUPPORT` for a family other than IPv4 and
/// IPv6, the policy's errors with the offset of the attribute.
pub(super) fn rule_request(msg: &NlMsg<'_>) -> Checked<RuleRepr> {
    let body = msg.payload();
    let (attrs, header) = match (body.get(FIB_RULE_HDR_LEN..), FibRuleHdr::parse(body)) {
        (Some(attrs), Ok((header, _))) => (attrs, header),
        _ => return Err(Failure::new(EINVAL, "Invalid msg length")),
    };
    let family = header.family;
    if family != AF_INET && family != AF_INET6 {
        return Err(Failure::new(EAFNOSUPPORT, "Rule family not supported"));
    }
    let mut r = RuleRepr {
        header,
        ..RuleRepr::default()
    };
    // `nla_for_each_attr`: what does not hold a whole attribute ends the
    // walk (the deprecated parse only warns of it).
    for (at, a) in attrs_at(attrs, NLMSG_HDRLEN + FIB_RULE_HDR_LEN) {
        let Ok(a) = a else { break };
        read_attr(&mut r, a.attr_type(), a.value(), at)?;
    }
    Ok(r)
}

/// Takes one attribute into `r`.
fn read_attr(r: &mut RuleRepr, kind: u16, v: &[u8], at: usize) -> Checked<()> {
    let family = r.header.family;
    match kind {
        FRA_DST => r.dst = ip_of(v, family),
        FRA_SRC => r.src = ip_of(v, family),
        FRA_IIFNAME => r.iifname = Some(name_of(v, at)?),
        FRA_OIFNAME => r.oifname = Some(name_of(v, at)?),
        FRA_GOTO => r.goto = Some(u32_of(v, kind, at)?),
        FRA_PRIORITY => r.priority = Some(u32_of(v, kind, at)?),
        FRA_FWMARK => r.fwmark = Some(u32_of(v, kind, at)?),
        FRA_FLOW => r.flow = Some(u32_of(v, kind, at)?),
        FRA_SUPPRESS_IFGROUP => r.suppress_ifgroup = Some(u32_of(v, kind, at)?),
        FRA_SUPPRESS_PREFIXLEN => r.suppress_prefixlen = Some(u32_of(v, kind, at)?),
        FRA_TABLE => r.table = Some(u32_of(v, kind, at)?),
        FRA_FWMASK => r.fwmask = Some(u32_of(v, kind, at)?),
        FRA_TUN_ID => r.tun_id = Some(u64::from_be_bytes(sized::<8>(v, kind, at)?)),
        FRA_L3MDEV => r.l3mdev = Some(u8_of(v, kind, at)?),
        FRA_UID_RANGE => {
            let b = sized::<8>(v, kind, at)?;
            let [s0, s1, s2, s3, e0, e1, e2, e3] = b;
            r.uid_range = Some(UidRange {
                start: u32::from_ne_bytes([s0, s1, s2, s3]),
                end: u32::from_ne_bytes([e0, e1, e2, e3]),
            });
        }
        FRA_PROTOCOL => r.protocol = Some(u8_of(v, kind, at)?),
        FRA_IP_PROTO => r.ip_proto = Some(u8_of(v, kind, at)?),
        FRA_SPORT_RANGE => r.sport_range = Some(ports_of(v, kind, at)?),
        FRA_DPORT_RANGE => r.dport_range = Some(ports_of(v, kind, at)?),
        FRA_DSCP => {
            let d = u8_of(v, kind, at)?;
            if d > 63 {
                return Err(refused(ERANGE, at));
            }
            r.dscp = Some(d);
        }
        FRA_FLOWLABEL => r.flowlabel = Some(u32::from_be_bytes(sized::<4>(v, kind, at)?)),
        FRA_FLOWLABEL_MASK => {
            r.flowlabel_mask = Some(u32::from_be_bytes(sized::<4>(v, kind, at)?));
        }
        FRA_SPORT_MASK => r.sport_mask = Some(u16::from_ne_bytes(sized::<2>(v, kind, at)?)),
        FRA_DPORT_MASK => r.dport_mask = Some(u16::from_ne_bytes(sized::<2>(v, kind, at)?)),
        FRA_DSCP_MASK => {
            let m = u8_of(v, kind, at)?;
            if m & !0x3f != 0 {
                return Err(refused(EINVAL, at));
            }
            r.dscp_mask = Some(m);
        }
        _ => {}
    }
    Ok(())
}

/// Filters of a rule dump: its family.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RuleFilter {
    pub family: u8,
}

/// Checks a rule dump request (`fib_nl_dumprule`, and
/// `fib_valid_dumprule_req` on a strict socket). A family with no rules
/// fails the dump with `EAFNOSUPPORT`.
pub(crate) fn rule_dump(msg: &NlMsg<'_>, strict: bool) -> Checked<RuleFilter> {
    let body = msg.payload();
    let family = body.first().copied().unwrap_or(AF_UNSPEC);
    if strict {
        let Ok((h, _)) = FibRuleHdr::parse(body) else {
            return Err(Failure::new(
                EINVAL,
                "Invalid header for fib rule dump request",
            ));
        };
        if h.dst_len != 0
            || h.src_len != 0
            || h.tos != 0
            || h.table != 0
            || h.res1 != 0
            || h.res2 != 0
            || h.action != 0
            || h.flags != 0
        {
            return Err(Failure::new(
                EINVAL,
                "Invalid values in header for fib rule dump request",
            ));
        }
        if body.len() > FibRuleHdr::LEN {
            return Err(Failure::new(
                EINVAL,
                "Invalid data after header in fib rule dump request",
            ));
        }
    }
    match family {
        AF_UNSPEC | AF_INET | AF_INET6 => Ok(RuleFilter { family }),
        _ => Err(Failure::errno(EAFNOSUPPORT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Messages, Writer};
    use alloc::vec::Vec;

    /// An `RTM_NEWRULE` with `body` after the header bytes `head`.
    fn message(head: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(RTM_NEWRULE, NLM_F_REQUEST, 1, 0, |w| {
            w.put(head)?;
            for (k, v) in attrs {
                w.attr(*k, v)?;
            }
            Ok(())
        })
        .unwrap();
        w.into_inner()
    }

    fn read(bytes: &[u8]) -> Checked<RuleRepr> {
        let msg = Messages::new(bytes).next().unwrap().unwrap();
        rule_request(&msg)
    }

    const V4: [u8; 12] = [AF_INET, 0, 8, 0, 100, 0, 0, FR_ACT_TO_TBL, 0, 0, 0, 0];

    #[test]
    fn the_policy_as_the_kernel_applies_it() {
        let ok = read(&message(
            &V4,
            &[
                (FRA_SRC, &[10, 0, 0, 0]),
                (FRA_PRIORITY, &[5, 0, 0, 0, 9, 9]),
            ],
        ))
        .unwrap();
        // Below FRA_DSCP an attribute may be longer than its type.
        assert_eq!(ok.priority, Some(5));
        assert_eq!(ok.table_id(), 100);
        let short = read(&message(&V4, &[(FRA_PRIORITY, &[5, 0])])).unwrap_err();
        assert_eq!((short.errno, short.offset), (ERANGE, Some(28)));
        let long_name = read(&message(&V4, &[(FRA_IIFNAME, b"sixteen-letters!")])).unwrap_err();
        assert_eq!(long_name.errno, ERANGE);
        let inexact = read(&message(&V4, &[(FRA_DSCP, &[1, 0, 0, 0])])).unwrap_err();
        assert_eq!(inexact.errno, EINVAL);
        let high = read(&message(&V4, &[(FRA_DSCP, &[64])])).unwrap_err();
        assert_eq!(high.errno, ERANGE);
        // Unknown and unused types pass.
        assert!(read(&message(&V4, &[(5, &[1]), (31, &[])])).is_ok());
        let mut v5 = V4;
        v5[0] = AF_BRIDGE;
        let family = read(&message(&v5, &[])).unwrap_err();
        assert_eq!(family.message, Some("Rule family not supported"));
        let cut = read(&message(&V4[..8], &[])).unwrap_err();
        assert_eq!(cut.message, Some("Invalid msg length"));
    }
}
