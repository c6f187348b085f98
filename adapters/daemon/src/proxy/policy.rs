//! The proxy's policy: a TOML file of ordered rules, compiled once and
//! then asked, for each request, whether it goes upstream.
//!
//! ```toml
//! [defaults]
//! changes = "deny"      # what no rule decides: changes are denied...
//! reads = "allow"       # ...and reads allowed (the defaults)
//!
//! [limits]
//! requests_per_second = 200   # per peer user; optional
//! burst = 400
//! connections = 64             # per peer user (1024 when not given)
//!
//! [[rule]]
//! name = "tenant-addresses"
//! uid = [1000]
//! ops = ["address:new", "address:delete"]
//! interfaces = ["tap*"]
//! prefixes = ["10.1.0.0/16", "fd00:1::/64"]
//! action = "allow"
//!
//! [[rule]]
//! name = "tenant-view"
//! uid = [1000]
//! interfaces = ["!tap*", "!lo"]
//! action = "hide"
//! ```
//!
//! # Rules
//!
//! Every rule has a `name` and an `action`. Its selectors are optional;
//! a rule applies when every selector it has matches:
//!
//! - `uid`, `gid`: the peer's user and group (`SO_PEERCRED` at connect).
//! - `ops`: `"object:verb"` with objects `link`, `address`, `route`,
//!   `neighbour`, `rule`, `other` and verbs `new` (an `RTM_NEW*` with
//!   `NLM_F_CREATE`), `set` (`RTM_SETLINK`, an `RTM_NEW*` without
//!   `NLM_F_CREATE`), `delete`, `get`; `*` on either side, or the object
//!   alone for all its verbs.
//! - `interfaces`: globs (`*`, `?`) on the upstream names of every
//!   interface the request names (its link, the new name of a rename, a
//!   master, a route's output devices); a pattern starting with `!`
//!   excludes. All the names must match; a request naming no interface
//!   does not.
//! - `ifindex`: the same on indexes.
//! - `prefixes`: the request's address or destination (`10.0.0.0/24`)
//!   lies inside one of these ranges.
//! - `tables`: the route or rule's table (a number, or `main`, `local`,
//!   `default`).
//! - `kinds`: the link kind (`IFLA_INFO_KIND`: `veth`, `bridge`...), of a
//!   new link or of the link a request names.
//! - `flags`: the request carries all of these (`create`, `excl`,
//!   `replace`, `append`, `ack`, `echo`, `dump`).
//! - `carries`: the request carries all of these attributes (`IFLA_MTU`,
//!   `RTA_GATEWAY`...).
//!
//! Actions: `allow` and `deny` decide (the first that applies wins);
//! `log` marks the request in the audit log under the rule's name and
//! goes on. The others shape what a peer sees (only `uid`/`gid` select
//! whom they apply to):
//!
//! - `hide`: the links that match `interfaces`/`ifindex`/`kinds` (and
//!   their addresses, routes and neighbours) are absent for the peer, in
//!   dumps, answers and notifications, and naming them is `ENODEV`.
//! - `map-table`: the peer's table `from` is upstream table `to`, and the
//!   other way round (a swap, so that nothing is shadowed).
//! - `prefix-names`: the peer's interface `X` is upstream `PREFIXX`;
//!   upstream links whose name lacks the prefix are hidden from the peer.
//!
//! Selectors and decisions always speak of the upstream's names and
//! tables: a request is rewritten first, then judged.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use nlq::wire::consts::*;
use serde::Deserialize;
use toml::Spanned;

/// What a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// `RTM_*LINK`.
    Link,
    /// `RTM_*ADDR`.
    Address,
    /// `RTM_*ROUTE`.
    Route,
    /// `RTM_*NEIGH`.
    Neighbour,
    /// `RTM_*RULE`.
    Rule,
    /// Anything else.
    Other,
}

impl Object {
    /// Its name in policies and logs.
    pub fn name(self) -> &'static str {
        match self {
            Object::Link => "link",
            Object::Address => "address",
            Object::Route => "route",
            Object::Neighbour => "neighbour",
            Object::Rule => "rule",
            Object::Other => "other",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "link" => Object::Link,
            "address" => Object::Address,
            "route" => Object::Route,
            "neighbour" | "neighbor" => Object::Neighbour,
            "rule" => Object::Rule,
            "other" => Object::Other,
            _ => return None,
        })
    }
}

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Creates (`RTM_NEW*` with `NLM_F_CREATE`).
    New,
    /// Changes (`RTM_SETLINK`, `RTM_NEW*` without `NLM_F_CREATE`).
    Set,
    /// Deletes.
    Delete,
    /// Reads (`RTM_GET*`, dumps included).
    Get,
}

impl Verb {
    /// Its name in policies and logs.
    pub fn name(self) -> &'static str {
        match self {
            Verb::New => "new",
            Verb::Set => "set",
            Verb::Delete => "delete",
            Verb::Get => "get",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "new" => Verb::New,
            "set" => Verb::Set,
            "delete" | "del" => Verb::Delete,
            "get" => Verb::Get,
            _ => return None,
        })
    }
}

/// An interface a request names: its upstream index (0 when only named)
/// and name (when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    /// The index, 0 if the request gives only a name.
    pub index: u32,
    /// The name, if the request gives it or the upstream knows it.
    pub name: Option<String>,
}

/// What the policy looks at in a request (upstream terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The object.
    pub object: Object,
    /// The verb.
    pub verb: Verb,
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// Every interface the request names.
    pub ifaces: Vec<Iface>,
    /// The address or destination, with its prefix length.
    pub prefix: Option<(IpAddr, u8)>,
    /// The route or rule's table.
    pub table: Option<u32>,
    /// The link kind.
    pub link_kind: Option<String>,
    /// The top-level attribute types the request carries.
    pub attrs: Vec<u16>,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Process id.
    pub pid: u32,
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// It goes upstream.
    pub allow: bool,
    /// The rule that decided (`None`: the default).
    pub rule: Option<Arc<str>>,
    /// The `log` rules that applied.
    pub logged: Vec<Arc<str>>,
}

/// What one peer sees: the links hidden from it and the rewrites.
#[derive(Debug, Clone, Default)]
pub struct View {
    hide: Vec<Arc<Selectors>>,
    /// The peer's table and the upstream's, swapped both ways.
    pub table_swap: Option<(u32, u32)>,
    /// The prefix of the peer's interface names upstream.
    pub prefix: Option<String>,
}

impl View {
    /// True when nothing is hidden or rewritten.
    pub fn is_plain(&self) -> bool {
        self.hide.is_empty() && self.table_swap.is_none() && self.prefix.is_none()
    }

    /// The link (upstream index, name and kind) is hidden from the peer.
    pub fn hides(&self, index: u32, name: Option<&str>, kind: Option<&str>) -> bool {
        if let Some(p) = &self.prefix {
            if !name.is_some_and(|n| n.starts_with(p.as_str())) {
                return true;
            }
        }
        let iface = [Iface {
            index,
            name: name.map(str::to_string),
        }];
        self.hide.iter().any(|s| s.matches_link(&iface, kind))
    }

    /// A table id as the peer says it, upstream.
    pub fn table_up(&self, table: u32) -> u32 {
        swap(self.table_swap, table)
    }

    /// A table id as the upstream says it, for the peer (the same swap).
    pub fn table_down(&self, table: u32) -> u32 {
        swap(self.table_swap, table)
    }
}

fn swap(pair: Option<(u32, u32)>, t: u32) -> u32 {
    match pair {
        Some((a, b)) if t == a => b,
        Some((a, b)) if t == b => a,
        _ => t,
    }
}

/// A policy that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for PolicyError {}

/// A compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    changes_allowed: bool,
    reads_allowed: bool,
    rules: Vec<Rule>,
    /// Requests per second and burst, per peer user.
    pub rate: Option<(u32, u32)>,
    /// Connections one peer user may hold at once.
    pub connections: usize,
}

/// Connections one peer user may hold when the policy does not say.
pub const DEFAULT_CONNECTIONS: usize = 1024;

impl Default for Policy {
    /// Changes denied, reads allowed, no rules.
    fn default() -> Self {
        Policy {
            changes_allowed: false,
            reads_allowed: true,
            rules: Vec::new(),
            rate: None,
            connections: DEFAULT_CONNECTIONS,
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Allow,
    Deny,
    Log,
    Hide,
    MapTable(u32, u32),
    PrefixNames(String),
}

#[derive(Debug, Clone)]
struct Rule {
    name: Arc<str>,
    action: Action,
    sel: Arc<Selectors>,
}

#[derive(Debug, Clone, Default)]
struct Selectors {
    uids: Option<HashSet<u32>>,
    gids: Option<HashSet<u32>>,
    ops: Option<Vec<(Option<Object>, Option<Verb>)>>,
    interfaces: Option<Globs>,
    ifindex: Option<HashSet<u32>>,
    prefixes: Option<Vec<(IpAddr, u8)>>,
    tables: Option<HashSet<u32>>,
    kinds: Option<Globs>,
    flags: u16,
    carries: Vec<(Object, u16)>,
}

impl Selectors {
    fn matches_peer(&self, p: &Peer) -> bool {
        self.uids.as_ref().is_none_or(|u| u.contains(&p.uid))
            && self.gids.as_ref().is_none_or(|g| g.contains(&p.gid))
    }

    /// For `hide`: the interface selectors (and kind) match this link.
    fn matches_link(&self, ifaces: &[Iface], kind: Option<&str>) -> bool {
        if self.interfaces.is_none() && self.ifindex.is_none() && self.kinds.is_none() {
            return false;
        }
        self.matches_ifaces(ifaces) && self.matches_kind(kind)
    }

    fn matches_ifaces(&self, ifaces: &[Iface]) -> bool {
        if let Some(g) = &self.interfaces {
            if ifaces.is_empty()
                || !ifaces
                    .iter()
                    .all(|i| i.name.as_deref().is_some_and(|n| g.matches(n)))
            {
                return false;
            }
        }
        if let Some(set) = &self.ifindex {
            if ifaces.is_empty() || !ifaces.iter().all(|i| set.contains(&i.index)) {
                return false;
            }
        }
        true
    }

    fn matches_kind(&self, kind: Option<&str>) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|g| kind.is_some_and(|k| g.matches(k)))
    }

    fn matches(&self, peer: &Peer, f: &Facts) -> bool {
        self.matches_peer(peer)
            && self.ops.as_ref().is_none_or(|ops| {
                ops.iter()
                    .any(|(o, v)| o.is_none_or(|o| o == f.object) && v.is_none_or(|v| v == f.verb))
            })
            && self.matches_ifaces(&f.ifaces)
            && self.matches_kind(f.link_kind.as_deref())
            && self.prefixes.as_ref().is_none_or(|ranges| {
                f.prefix
                    .is_some_and(|(a, l)| ranges.iter().any(|&(r, rl)| contains(r, rl, a, l)))
            })
            && self
                .tables
                .as_ref()
                .is_none_or(|t| f.table.is_some_and(|x| t.contains(&x)))
            && f.flags & self.flags == self.flags
            && self
                .carries
                .iter()
                .all(|&(o, a)| o == f.object && f.attrs.contains(&a))
    }
}

/// `addr/len` lies inside `range/rlen`.
pub fn contains(range: IpAddr, rlen: u8, addr: IpAddr, len: u8) -> bool {
    if len < rlen {
        return false;
    }
    match (range, addr) {
        (IpAddr::V4(r), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32u32.saturating_sub(rlen.into()))
                .unwrap_or(0);
            u32::from(r) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(r), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128u32.saturating_sub(rlen.into()))
                .unwrap_or(0);
            u128::from(r) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// Glob patterns: `*` any run, `?` any one character; a pattern starting
/// with `!` excludes. A name matches when it matches an including
/// pattern (or there is none) and no excluding one.
#[derive(Debug, Clone, Default)]
struct Globs {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Globs {
    fn new(patterns: &[String]) -> Self {
        let mut g = Globs::default();
        for p in patterns {
            match p.strip_prefix('!') {
                Some(x) => g.exclude.push(x.to_string()),
                None => g.include.push(p.clone()),
            }
        }
        g
    }

    fn matches(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p, name)))
            && !self.exclude.iter().any(|p| glob(p, name))
    }
}

/// `name` matches the glob `pattern` (`*`, `?`).
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi = pi.saturating_add(1);
            }
            Some(&c) if c == '?' || Some(&c) == n.get(ni) => {
                pi = pi.saturating_add(1);
                ni = ni.saturating_add(1);
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp.saturating_add(1);
                    ni = sn.saturating_add(1);
                    star = Some((sp, ni));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

impl Policy {
    /// Reads and compiles the policy file at `path`.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
            line: None,
            column: None,
            message: format!("{}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// Compiles a policy from its TOML text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let file: FileSpec = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_col(text, s.start))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            PolicyError {
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        let at = |span: std::ops::Range<usize>, message: String| {
            let (l, c) = line_col(text, span.start);
            PolicyError {
                line: Some(l),
                column: Some(c),
                message,
            }
        };
        let defaults = file.defaults.unwrap_or_default();
        let mut policy = Policy {
            changes_allowed: defaults.changes.is_some_and(|v| v == Verdict::Allow),
            reads_allowed: defaults.reads.is_none_or(|v| v == Verdict::Allow),
            rules: Vec::new(),
            rate: None,
            connections: DEFAULT_CONNECTIONS,
        };
        if let Some(l) = file.limits {
            let refuse = |message: &str| PolicyError {
                line: None,
                column: None,
                message: message.into(),
            };
            match (l.requests_per_second, l.burst) {
                (Some(0), _) => {
                    return Err(refuse("limits.requests_per_second must be at least 1"))
                }
                (Some(rate), burst) => policy.rate = Some((rate, burst.unwrap_or(rate).max(1))),
                (None, Some(_)) => {
                    return Err(refuse("limits.burst needs limits.requests_per_second"))
                }
                (None, None) => {}
            }
            match l.connections {
                Some(0) => return Err(refuse("limits.connections must be at least 1")),
                Some(n) => policy.connections = usize::try_from(n).unwrap_or(usize::MAX),
                None => {}
            }
        }
        let mut names = HashSet::new();
        for spec in file.rule {
            let name_span = spec.name.span();
            let name = spec.name.into_inner();
            if name.is_empty() {
                return Err(at(name_span, "a rule's name cannot be empty".into()));
            }
            if !names.insert(name.clone()) {
                return Err(at(name_span, format!("two rules are named {name:?}")));
            }
            let action_span = spec.action.span();
            let action = match spec.action.into_inner().as_str() {
                "allow" => Action::Allow,
                "deny" => Action::Deny,
                "log" => Action::Log,
                "hide" => Action::Hide,
                "map-table" => {
                    let (Some(from), Some(to)) = (&spec.from, &spec.to) else {
                        return Err(at(action_span, "map-table needs `from` and `to`".into()));
                    };
                    let from = table(from).map_err(|m| at(from.span(), m))?;
                    let to = table(to).map_err(|m| at(to.span(), m))?;
                    Action::MapTable(from, to)
                }
                "prefix-names" => {
                    let Some(p) = &spec.prefix else {
                        return Err(at(action_span, "prefix-names needs `prefix`".into()));
                    };
                    if p.get_ref().is_empty() || p.get_ref().len() >= 15 {
                        return Err(at(p.span(), "a prefix has 1 to 14 characters".into()));
                    }
                    Action::PrefixNames(p.get_ref().clone())
                }
                other => {
                    return Err(at(
                        action_span,
                        format!(
                            "unknown action {other:?} (allow, deny, log, hide, map-table, \
                             prefix-names)"
                        ),
                    ))
                }
            };
            let mut sel = Selectors {
                uids: spec.uid.map(|v| v.into_iter().collect()),
                gids: spec.gid.map(|v| v.into_iter().collect()),
                ifindex: spec.ifindex.map(|v| v.into_iter().collect()),
                interfaces: spec.interfaces.as_deref().map(Globs::new),
                kinds: spec.kinds.as_deref().map(Globs::new),
                ..Selectors::default()
            };
            if let Some(ops) = spec.ops {
                let mut v = Vec::new();
                for op in ops {
                    v.push(parse_op(op.get_ref()).map_err(|m| at(op.span(), m))?);
                }
                sel.ops = Some(v);
            }
            if let Some(ps) = spec.prefixes {
                let mut v = Vec::new();
                for p in ps {
                    v.push(parse_prefix(p.get_ref()).map_err(|m| at(p.span(), m))?);
                }
                sel.prefixes = Some(v);
            }
            if let Some(ts) = spec.tables {
                let mut set = HashSet::new();
                for t in &ts {
                    set.insert(table(t).map_err(|m| at(t.span(), m))?);
                }
                sel.tables = Some(set);
            }
            for f in spec.flags.unwrap_or_default() {
                sel.flags |= parse_flag(f.get_ref()).map_err(|m| at(f.span(), m))?;
            }
            for a in spec.carries.unwrap_or_default() {
                sel.carries
                    .push(attr_by_name(a.get_ref()).map_err(|m| at(a.span(), m))?);
            }
            policy.rules.push(Rule {
                name: Arc::from(name),
                action,
                sel: Arc::new(sel),
            });
        }
        Ok(policy)
    }

    /// Judges one request of `peer`.
    pub fn decide(&self, peer: &Peer, facts: &Facts) -> Decision {
        let mut logged = Vec::new();
        for r in &self.rules {
            let decides = match r.action {
                Action::Allow => true,
                Action::Deny => false,
                Action::Log => {
                    if r.sel.matches(peer, facts) {
                        logged.push(Arc::clone(&r.name));
                    }
                    continue;
                }
                _ => continue,
            };
            if r.sel.matches(peer, facts) {
                return Decision {
                    allow: decides,
                    rule: Some(Arc::clone(&r.name)),
                    logged,
                };
            }
        }
        let allow = if facts.verb == Verb::Get {
            self.reads_allowed
        } else {
            self.changes_allowed
        };
        Decision {
            allow,
            rule: None,
            logged,
        }
    }

    /// What `peer` sees.
    pub fn view(&self, peer: &Peer) -> View {
        let mut v = View::default();
        for r in &self.rules {
            if !r.sel.matches_peer(peer) {
                continue;
            }
            match &r.action {
                Action::Hide => v.hide.push(Arc::clone(&r.sel)),
                Action::MapTable(a, b) if v.table_swap.is_none() => v.table_swap = Some((*a, *b)),
                Action::PrefixNames(p) if v.prefix.is_none() => v.prefix = Some(p.clone()),
                _ => {}
            }
        }
        v
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let col = before
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        .saturating_add(1);
    (line, col)
}

fn parse_op(s: &str) -> Result<(Option<Object>, Option<Verb>), String> {
    let (o, v) = s.split_once(':').unwrap_or((s, "*"));
    let object = match o {
        "*" => None,
        o => Some(Object::parse(o).ok_or_else(|| {
            format!("unknown object {o:?} (link, address, route, neighbour, rule, other, *)")
        })?),
    };
    let verb = match v {
        "*" => None,
        v => Some(
            Verb::parse(v)
                .ok_or_else(|| format!("unknown verb {v:?} (new, set, delete, get, *)"))?,
        ),
    };
    Ok((object, verb))
}

/// `10.0.0.0/8`, `fd00::/64`, or an address alone (a host).
pub fn parse_prefix(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("{a:?} is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match l {
        None => max,
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|&l| l <= max)
            .ok_or_else(|| format!("{l:?} is not a prefix length (0 to {max})"))?,
    };
    Ok((addr, len))
}

fn table(t: &Spanned<TableSpec>) -> Result<u32, String> {
    match t.get_ref() {
        TableSpec::Id(n) => u32::try_from(*n)
            .ok()
            .filter(|&n| n != 0)
            .ok_or_else(|| format!("{n} is not a table id (1 to 4294967295)")),
        TableSpec::Name(s) => match s.as_str() {
            "main" => Ok(RT_TABLE_MAIN),
            "local" => Ok(RT_TABLE_LOCAL),
            "default" => Ok(RT_TABLE_DEFAULT),
            other => Err(format!(
                "unknown table {other:?} (main, local, default, or a number)"
            )),
        },
    }
}

fn parse_flag(s: &str) -> Result<u16, String> {
    Ok(match s {
        "create" => NLM_F_CREATE,
        "excl" => NLM_F_EXCL,
        "replace" => NLM_F_REPLACE,
        "append" => NLM_F_APPEND,
        "ack" => NLM_F_ACK,
        "echo" => NLM_F_ECHO,
        "dump" => NLM_F_DUMP,
        other => {
            return Err(format!(
                "unknown flag {other:?} (create, excl, replace, append, ack, echo, dump)"
            ))
        }
    })
}

/// Attribute names a policy may test with `carries`.
const ATTR_NAMES: &[(&str, Object, u16)] = &[
    ("IFLA_ADDRESS", Object::Link, 1),
    ("IFLA_BROADCAST", Object::Link, 2),
    ("IFLA_IFNAME", Object::Link, 3),
    ("IFLA_MTU", Object::Link, 4),
    ("IFLA_LINK", Object::Link, 5),
    ("IFLA_MASTER", Object::Link, 10),
    ("IFLA_TXQLEN", Object::Link, 13),
    ("IFLA_OPERSTATE", Object::Link, 16),
    ("IFLA_LINKMODE", Object::Link, 17),
    ("IFLA_LINKINFO", Object::Link, 18),
    ("IFLA_NET_NS_PID", Object::Link, 19),
    ("IFLA_IFALIAS", Object::Link, 20),
    ("IFLA_AF_SPEC", Object::Link, 26),
    ("IFLA_GROUP", Object::Link, 27),
    ("IFLA_NET_NS_FD", Object::Link, 28),
    ("IFLA_PROMISCUITY", Object::Link, 30),
    ("IFLA_CARRIER", Object::Link, 33),
    ("IFLA_PROTO_DOWN", Object::Link, 39),
    ("IFLA_XDP", Object::Link, 43),
    ("IFLA_TARGET_NETNSID", Object::Link, 46),
    ("IFLA_ALT_IFNAME", Object::Link, 53),
    ("IFA_ADDRESS", Object::Address, 1),
    ("IFA_LOCAL", Object::Address, 2),
    ("IFA_LABEL", Object::Address, 3),
    ("IFA_BROADCAST", Object::Address, 4),
    ("IFA_ANYCAST", Object::Address, 5),
    ("IFA_CACHEINFO", Object::Address, 6),
    ("IFA_FLAGS", Object::Address, 8),
    ("IFA_RT_PRIORITY", Object::Address, 9),
    ("IFA_PROTO", Object::Address, 11),
    ("RTA_DST", Object::Route, 1),
    ("RTA_SRC", Object::Route, 2),
    ("RTA_IIF", Object::Route, 3),
    ("RTA_OIF", Object::Route, 4),
    ("RTA_GATEWAY", Object::Route, 5),
    ("RTA_PRIORITY", Object::Route, 6),
    ("RTA_PREFSRC", Object::Route, 7),
    ("RTA_METRICS", Object::Route, 8),
    ("RTA_MULTIPATH", Object::Route, 9),
    ("RTA_FLOW", Object::Route, 11),
    ("RTA_TABLE", Object::Route, 15),
    ("RTA_MARK", Object::Route, 16),
    ("RTA_VIA", Object::Route, 18),
    ("RTA_NEWDST", Object::Route, 19),
    ("RTA_PREF", Object::Route, 20),
    ("RTA_ENCAP_TYPE", Object::Route, 21),
    ("RTA_ENCAP", Object::Route, 22),
    ("RTA_EXPIRES", Object::Route, 23),
    ("RTA_UID", Object::Route, 25),
    ("RTA_NH_ID", Object::Route, 30),
    ("NDA_DST", Object::Neighbour, 1),
    ("NDA_LLADDR", Object::Neighbour, 2),
    ("NDA_PROBES", Object::Neighbour, 4),
    ("NDA_VLAN", Object::Neighbour, 5),
    ("NDA_MASTER", Object::Neighbour, 9),
    ("FRA_DST", Object::Rule, 1),
    ("FRA_SRC", Object::Rule, 2),
    ("FRA_IIFNAME", Object::Rule, 3),
    ("FRA_GOTO", Object::Rule, 4),
    ("FRA_PRIORITY", Object::Rule, 6),
    ("FRA_FWMARK", Object::Rule, 10),
    ("FRA_TABLE", Object::Rule, 15),
    ("FRA_FWMASK", Object::Rule, 16),
    ("FRA_OIFNAME", Object::Rule, 17),
];

fn attr_by_name(s: &str) -> Result<(Object, u16), String> {
    ATTR_NAMES
        .iter()
        .find(|(n, ..)| *n == s)
        .map(|&(_, o, a)| (o, a))
        .ok_or_else(|| format!("unknown attribute {s:?} (IFLA_*, IFA_*, RTA_*, NDA_*, FRA_*)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Allow,
    Deny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    changes: Option<Verdict>,
    reads: Option<Verdict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    requests_per_second: Option<u32>,
    burst: Option<u32>,
    connections: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TableSpec {
    Id(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: Spanned<String>,
    action: Spanned<String>,
    uid: Option<Vec<u32>>,
    gid: Option<Vec<u32>>,
    ops: Option<Vec<Spanned<String>>>,
    interfaces: Option<Vec<String>>,
    ifindex: Option<Vec<u32>>,
    prefixes: Option<Vec<Spanned<String>>>,
    tables: Option<Vec<Spanned<TableSpec>>>,
    kinds: Option<Vec<String>>,
    flags: Option<Vec<Spanned<String>>>,
    carries: Option<Vec<Spanned<String>>>,
    from: Option<Spanned<TableSpec>>,
    to: Option<Spanned<TableSpec>>,
    prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    defaults: Option<Defaults>,
    limits: Option<Limits>,
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const PEER: Peer = Peer {
        uid: 1000,
        gid: 1000,
        pid: 1,
    };

    fn facts(object: Object, verb: Verb) -> Facts {
        Facts {
            object,
            verb,
            message_type: RTM_NEWADDR,
            flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
            ifaces: vec![Iface {
                index: 3,
                name: Some("tap0".into()),
            }],
            prefix: Some((IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 24)),
            table: None,
            link_kind: None,
            attrs: vec![2, 1],
        }
    }

    const TENANT: &str = r#"
[[rule]]
name = "tenant-addresses"
uid = [1000]
ops = ["address:new", "address:delete"]
interfaces = ["tap*"]
prefixes = ["10.1.0.0/16"]
action = "allow"
"#;

    #[test]
    fn first_deciding_rule_wins_and_defaults_apply() {
        let p = Policy::parse(TENANT).unwrap();
        let d = p.decide(&PEER, &facts(Object::Address, Verb::New));
        assert!(d.allow);
        assert_eq!(d.rule.as_deref(), Some("tenant-addresses"));
        // Another interface: the default for changes (deny).
        let mut f = facts(Object::Address, Verb::New);
        f.ifaces[0].name = Some("eth0".into());
        let d = p.decide(&PEER, &f);
        assert!(!d.allow);
        assert_eq!(d.rule, None);
        // Outside the range.
        let mut f = facts(Object::Address, Verb::New);
        f.prefix = Some((IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)), 24));
        assert!(!p.decide(&PEER, &f).allow);
        // A wider prefix than the range is not inside it.
        let mut f = facts(Object::Address, Verb::New);
        f.prefix = Some((IpAddr::V4(Ipv4Addr::new(10, 1, 0, 0)), 8));
        assert!(!p.decide(&PEER, &f).allow);
        // Another user.
        let other = Peer { uid: 1001, ..PEER };
        assert!(!p.decide(&other, &facts(Object::Address, Verb::New)).allow);
        // Reads are allowed by default.
        assert!(p.decide(&other, &facts(Object::Link, Verb::Get)).allow);
    }

    #[test]
    fn log_rules_mark_and_go_on() {
        let text = format!("[[rule]]\nname = \"watch\"\naction = \"log\"\n{TENANT}");
        let p = Policy::parse(&text).unwrap();
        let d = p.decide(&PEER, &facts(Object::Address, Verb::New));
        assert!(d.allow);
        assert_eq!(d.logged, vec![Arc::<str>::from("watch")]);
    }

    #[test]
    fn errors_give_line_and_column() {
        let e =
            Policy::parse("[[rule]]\nname = \"x\"\naction = \"allow\"\nops = [\"route:fly\"]\n")
                .unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(8)));
        assert!(e.message.contains("unknown verb"), "{e}");
        let e = Policy::parse("[[rule]]\nname = \"x\"\nacton = \"allow\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = Policy::parse("[[rule]]\nname = \"x\"\naction = \"permit\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(3), Some(10)));
        let e = Policy::parse("[defaults]\nchanges = \"maybe\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = Policy::parse(
            "[[rule]]\nname = \"a\"\naction = \"allow\"\n[[rule]]\nname = \"a\"\naction = \"deny\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn the_readme_policy_parses() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("```toml\n# tenant.toml")
            .expect("the README's policy");
        let body = &readme[start + "```toml\n".len()..];
        let end = body.find("```").expect("its end");
        let p = Policy::parse(&body[..end]).unwrap();
        assert_eq!(p.connections, 64);
        assert!(p.rate.is_some());
    }

    #[test]
    fn limits_are_checked() {
        let p = Policy::parse("").unwrap();
        assert_eq!((p.rate, p.connections), (None, DEFAULT_CONNECTIONS));
        let p = Policy::parse("[limits]\nrequests_per_second = 5\nconnections = 3\n").unwrap();
        assert_eq!((p.rate, p.connections), (Some((5, 5)), 3));
        for bad in [
            "[limits]\nconnections = 0\n",
            "[limits]\nrequests_per_second = 0\n",
            "[limits]\nburst = 4\n",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn views_hide_and_rewrite() {
        let rules = crate::testing::tenant_view_rules(1000, &["tap*", "lo"], 100);
        let p = Policy::parse(&rules).unwrap();
        let v = p.view(&PEER);
        assert!(v.hides(2, Some("eth0"), None));
        assert!(!v.hides(3, Some("tap0"), None));
        assert!(!v.hides(1, Some("lo"), None));
        assert_eq!(v.table_up(254), 100);
        assert_eq!(v.table_up(100), 254);
        assert_eq!(v.table_down(100), 254);
        assert_eq!(v.table_up(255), 255);
        assert!(p.view(&Peer { uid: 0, ..PEER }).is_plain());
    }

    #[test]
    fn globs() {
        assert!(glob("tap*", "tap0"));
        assert!(glob("*", ""));
        assert!(glob("t?p*x", "tapabcx"));
        assert!(!glob("tap?", "tap"));
        assert!(!glob("tap", "tap0"));
        assert!(glob("*a*b", "xxaxxb"));
    }

    #[test]
    fn carries_and_flags() {
        let p = Policy::parse(
            "[[rule]]\nname = \"no-replace\"\nflags = [\"replace\"]\naction = \"deny\"\n\
             [[rule]]\nname = \"mtu\"\ncarries = [\"IFLA_MTU\"]\naction = \"allow\"\n",
        )
        .unwrap();
        let mut f = facts(Object::Link, Verb::Set);
        f.attrs = vec![4];
        assert_eq!(p.decide(&PEER, &f).rule.as_deref(), Some("mtu"));
        f.flags |= NLM_F_REPLACE;
        assert_eq!(p.decide(&PEER, &f).rule.as_deref(), Some("no-replace"));
        f.flags = 0;
        f.object = Object::Route;
        assert_eq!(p.decide(&PEER, &f).rule, None);
    }
}
