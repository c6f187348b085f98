//! Policy routing rules: `ip rule add`, `del`, `show`.

use std::net::IpAddr;

use nlq::wire::{consts::*, FibRuleHdr, IfName, RuleMessage, RuleRepr};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// A policy rule to add or delete, built like an `ip rule` command line.
/// IPv4 unless an IPv6 prefix is given or [`Rule::family`] says so.
///
/// For a delete, what is given selects (the first rule that has all of it
/// goes): [`Rule::any`] with a priority deletes the first rule of that
/// priority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    family: Option<u8>,
    action: u8,
    table: Option<u32>,
    goto: Option<u32>,
    priority: Option<u32>,
    from: Option<(IpAddr, u8)>,
    to: Option<(IpAddr, u8)>,
    iif: Option<String>,
    oif: Option<String>,
    fwmark: Option<(u32, Option<u32>)>,
    invert: bool,
    protocol: Option<u8>,
    suppress_prefixlen: Option<u32>,
}

impl Rule {
    /// A rule that selects on nothing and does nothing yet: for deletes
    /// by what is added to it.
    pub fn any() -> Rule {
        Rule::default()
    }

    /// `lookup TABLE`.
    pub fn lookup(table: u32) -> Rule {
        Rule {
            action: FR_ACT_TO_TBL,
            table: Some(table),
            ..Rule::default()
        }
    }

    /// `goto PRIORITY`: on with the first rule of that (higher) priority.
    pub fn goto(priority: u32) -> Rule {
        Rule {
            action: FR_ACT_GOTO,
            goto: Some(priority),
            ..Rule::default()
        }
    }

    /// `nop`.
    pub fn nop() -> Rule {
        Rule {
            action: FR_ACT_NOP,
            ..Rule::default()
        }
    }

    /// `blackhole`: packets it selects are dropped (`EINVAL` to senders).
    pub fn blackhole() -> Rule {
        Rule {
            action: FR_ACT_BLACKHOLE,
            ..Rule::default()
        }
    }

    /// `unreachable` (`ENETUNREACH`).
    pub fn unreachable() -> Rule {
        Rule {
            action: FR_ACT_UNREACHABLE,
            ..Rule::default()
        }
    }

    /// `prohibit` (`EACCES`).
    pub fn prohibit() -> Rule {
        Rule {
            action: FR_ACT_PROHIBIT,
            ..Rule::default()
        }
    }

    /// The family (`AF_INET`, `AF_INET6`), when no prefix says it.
    pub fn family(mut self, family: u8) -> Rule {
        self.family = Some(family);
        self
    }

    /// `pref N`.
    pub fn pref(mut self, priority: u32) -> Rule {
        self.priority = Some(priority);
        self
    }

    /// `from ADDR/LEN`.
    pub fn from(mut self, addr: IpAddr, len: u8) -> Rule {
        self.from = Some((addr, len));
        self
    }

    /// `to ADDR/LEN`.
    pub fn to(mut self, addr: IpAddr, len: u8) -> Rule {
        self.to = Some((addr, len));
        self
    }

    /// `iif NAME` (the input link; `lo` for packets this host sends).
    pub fn iif(mut self, name: &str) -> Rule {
        self.iif = Some(name.to_owned());
        self
    }

    /// `oif NAME`.
    pub fn oif(mut self, name: &str) -> Rule {
        self.oif = Some(name.to_owned());
        self
    }

    /// `fwmark MARK[/MASK]`.
    pub fn fwmark(mut self, mark: u32, mask: Option<u32>) -> Rule {
        self.fwmark = Some((mark, mask));
        self
    }

    /// `not`: the rule selects what its selectors do not.
    pub fn invert(mut self) -> Rule {
        self.invert = true;
        self
    }

    /// `protocol P`: who added the rule.
    pub fn protocol(mut self, protocol: u8) -> Rule {
        self.protocol = Some(protocol);
        self
    }

    /// `suppress_prefixlength N`: a route found with a prefix this long or
    /// shorter does not end the lookup.
    pub fn suppress_prefixlen(mut self, len: u32) -> Rule {
        self.suppress_prefixlen = Some(len);
        self
    }

    /// The request's repr (as `ip rule` writes it: a table below 256 in
    /// the header, a larger one in `FRA_TABLE`).
    pub fn repr(&self) -> Result<RuleRepr> {
        let of = |a: &IpAddr| if a.is_ipv4() { AF_INET } else { AF_INET6 };
        let family = self
            .family
            .or(self.from.as_ref().map(|(a, _)| of(a)))
            .or(self.to.as_ref().map(|(a, _)| of(a)))
            .unwrap_or(AF_INET);
        let mixed = [self.from, self.to]
            .iter()
            .flatten()
            .any(|(a, _)| of(a) != family);
        if mixed {
            return Err(Error::Invalid("a rule's prefixes are of two families"));
        }
        let name = |n: &Option<String>| {
            n.as_deref()
                .map(|n| IfName::try_from_str(n).ok_or(Error::Invalid("link name too long")))
                .transpose()
        };
        let (table8, table32) = match self.table {
            Some(t) => match u8::try_from(t) {
                Ok(t8) => (t8, None),
                Err(_) => (0, Some(t)),
            },
            None => (0, None),
        };
        Ok(RuleRepr {
            header: FibRuleHdr {
                family,
                dst_len: self.to.map_or(0, |(_, l)| l),
                src_len: self.from.map_or(0, |(_, l)| l),
                table: table8,
                action: self.action,
                flags: if self.invert { FIB_RULE_INVERT } else { 0 },
                ..FibRuleHdr::default()
            },
            table: table32,
            priority: self.priority,
            src: self.from.map(|(a, _)| a),
            dst: self.to.map(|(a, _)| a),
            iifname: name(&self.iif)?,
            oifname: name(&self.oif)?,
            fwmark: self.fwmark.map(|(m, _)| m),
            fwmask: self.fwmark.and_then(|(_, m)| m),
            goto: self.goto,
            protocol: self.protocol,
            suppress_prefixlen: self.suppress_prefixlen,
            ..RuleRepr::default()
        })
    }
}

impl<T: Transport> Handle<T> {
    /// Adds `rule` (`ip rule add`: `NLM_F_CREATE | NLM_F_EXCL`; `EEXIST`
    /// for a rule there already). Without a priority it gets one below the
    /// second rule's (32765 with the default rules).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use nlinline::Rule;
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let ten = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0));
    /// h.rule_add(&Rule::lookup(100).from(ten, 8).pref(100))?;
    /// let err = h.rule_add(&Rule::lookup(100).from(ten, 8).pref(100)).unwrap_err();
    /// assert_eq!(err.errno(), libc::EEXIST);
    /// let rules = h.rules(nlinline::wire::consts::AF_INET)?;
    /// assert_eq!(rules.iter().map(|r| r.priority.unwrap_or(0)).collect::<Vec<_>>(), [0, 100, 32766, 32767]);
    /// h.rule_del(&Rule::any().pref(100))?;
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn rule_add(&mut self, rule: &Rule) -> Result<()> {
        let r = rule.repr()?;
        self.request(
            RTM_NEWRULE,
            NLM_F_CREATE | NLM_F_EXCL,
            |w| r.emit(w),
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Deletes the first rule that has everything `rule` gives
    /// (`ip rule del`; `ENOENT` when none has).
    pub fn rule_del(&mut self, rule: &Rule) -> Result<()> {
        let r = rule.repr()?;
        self.request(RTM_DELRULE, 0, |w| r.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// The rules of `family` (`AF_UNSPEC`: IPv4's, then IPv6's), in the
    /// order they are tried, as reprs.
    pub fn rules(&mut self, family: u8) -> Result<Vec<RuleRepr>> {
        let h = FibRuleHdr {
            family,
            ..FibRuleHdr::default()
        };
        self.dump(
            RTM_GETRULE,
            |w| nlq::wire::FamilyHeader::emit(&h, w),
            |m| Ok(Some(RuleRepr::parse(&RuleMessage::parse(m)?)?)),
        )
    }
}
