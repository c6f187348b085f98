//! The proxy's audit trail: one JSON line per request, and optionally a
//! pcap (`LINKTYPE_NETLINK`, as taken on an `nlmon` device) of every
//! datagram that passed, which `nlq decode` reads.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::policy::{Facts, Peer};

/// `LINKTYPE_NETLINK`.
const LINKTYPE_NETLINK: u32 = 253;
/// `ARPHRD_NETLINK`.
const ARPHRD_NETLINK: u16 = 824;
/// The pcap packet type of a datagram sent to the kernel
/// (`PACKET_OUTGOING`); answers are `PACKET_HOST` (0).
const PACKET_OUTGOING: u16 = 4;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent upstream.
    Allowed,
    /// Refused by the policy.
    Denied,
    /// Refused as malformed.
    Invalid,
    /// Refused: it names a link the peer's view hides.
    Hidden,
    /// Refused: over the peer's rate.
    Limited,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allow",
            Outcome::Denied => "deny",
            Outcome::Invalid => "invalid",
            Outcome::Hidden => "hidden",
            Outcome::Limited => "limited",
        }
    }
}

/// One request's line, written when its fate is known (for an allowed
/// request, when the upstream answered).
#[derive(Debug, Clone)]
pub struct Record {
    /// When it came (seconds since the epoch).
    pub time: f64,
    /// Who sent it.
    pub peer: Peer,
    /// `object:verb`, or the message type for what the policy does not
    /// classify.
    pub op: String,
    /// `nlmsg_type`.
    pub message_type: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Key fields: interfaces, prefix, table, link kind.
    pub key: serde_json::Map<String, serde_json::Value>,
    /// The decision.
    pub outcome: Outcome,
    /// The rule that decided, if one did.
    pub rule: Option<Arc<str>>,
    /// The `log` rules that applied.
    pub logged: Vec<Arc<str>>,
}

impl Record {
    /// The record of a request with these facts.
    pub fn new(peer: Peer, facts: Option<&Facts>, kind: u16, seq: u32) -> Self {
        let mut key = serde_json::Map::new();
        let op = match facts {
            Some(f) => {
                let names: Vec<serde_json::Value> = f
                    .ifaces
                    .iter()
                    .map(|i| match &i.name {
                        Some(n) => n.clone().into(),
                        None => i.index.into(),
                    })
                    .collect();
                if !names.is_empty() {
                    key.insert("interfaces".into(), names.into());
                }
                if let Some((a, l)) = f.prefix {
                    key.insert("prefix".into(), format!("{a}/{l}").into());
                }
                if let Some(t) = f.table {
                    key.insert("table".into(), t.into());
                }
                if let Some(k) = &f.link_kind {
                    key.insert("kind".into(), k.clone().into());
                }
                format!("{}:{}", f.object.name(), f.verb.name())
            }
            None => "unknown".to_string(),
        };
        Record {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            peer,
            op,
            message_type: kind,
            seq,
            key,
            outcome: Outcome::Allowed,
            rule: None,
            logged: Vec::new(),
        }
    }

    fn to_json(&self, errno: i32) -> String {
        let mut o = serde_json::Map::new();
        o.insert("time".into(), self.time.into());
        o.insert("uid".into(), self.peer.uid.into());
        o.insert("gid".into(), self.peer.gid.into());
        o.insert("pid".into(), self.peer.pid.into());
        o.insert("op".into(), self.op.clone().into());
        o.insert("type".into(), self.message_type.into());
        o.insert("seq".into(), self.seq.into());
        for (k, v) in &self.key {
            o.insert(k.clone(), v.clone());
        }
        o.insert("decision".into(), self.outcome.name().into());
        o.insert(
            "rule".into(),
            self.rule
                .as_deref()
                .map_or(serde_json::Value::Null, |r| r.into()),
        );
        if !self.logged.is_empty() {
            let l: Vec<serde_json::Value> = self.logged.iter().map(|r| (**r).into()).collect();
            o.insert("logged".into(), l.into());
        }
        o.insert("errno".into(), errno.into());
        serde_json::Value::Object(o).to_string()
    }
}

/// Where the trail goes.
#[derive(Debug, Default)]
pub struct Audit {
    log: Option<Mutex<File>>,
    pcap: Option<Mutex<File>>,
}

/// Opens a file for writing without following a symbolic link at its
/// path, readable by its owner only.
fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    let f = o.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(f)
}

impl Audit {
    /// A trail to `log` (appended) and `pcap` (made afresh), either
    /// optional.
    pub fn open(log: Option<&Path>, pcap: Option<&Path>) -> io::Result<Self> {
        let log = match log {
            Some(p) => Some(Mutex::new(open_private(p, true)?)),
            None => None,
        };
        let pcap = match pcap {
            Some(p) => {
                let mut f = open_private(p, false)?;
                let mut h = Vec::with_capacity(24);
                h.extend_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
                h.extend_from_slice(&2u16.to_ne_bytes());
                h.extend_from_slice(&4u16.to_ne_bytes());
                h.extend_from_slice(&0i32.to_ne_bytes());
                h.extend_from_slice(&0u32.to_ne_bytes());
                h.extend_from_slice(&262_144u32.to_ne_bytes());
                h.extend_from_slice(&LINKTYPE_NETLINK.to_ne_bytes());
                f.write_all(&h)?;
                Some(Mutex::new(f))
            }
            None => None,
        };
        Ok(Audit { log, pcap })
    }

    /// True when requests are logged.
    pub fn logs(&self) -> bool {
        self.log.is_some()
    }

    /// Writes a request's line, with the upstream's errno (0 when it
    /// succeeded or did not go upstream... see `outcome`).
    pub fn write(&self, rec: &Record, errno: i32) {
        if let Some(f) = &self.log {
            let mut line = rec.to_json(errno);
            line.push('\n');
            if let Ok(mut f) = f.lock() {
                // The trail must not stop the proxy; a full disk loses
                // lines, and says so once per line on standard error.
                if let Err(e) = f.write_all(line.as_bytes()) {
                    eprintln!("nlq proxy: audit log: {e}");
                }
            }
        }
    }

    /// Adds a datagram to the capture: `to_upstream` for requests.
    pub fn capture(&self, datagram: &[u8], to_upstream: bool) {
        let Some(f) = &self.pcap else { return };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let len = u32::try_from(datagram.len().saturating_add(16)).unwrap_or(u32::MAX);
        let mut rec = Vec::with_capacity(datagram.len().saturating_add(32));
        rec.extend_from_slice(
            &u32::try_from(now.as_secs())
                .unwrap_or(u32::MAX)
                .to_ne_bytes(),
        );
        rec.extend_from_slice(&now.subsec_micros().to_ne_bytes());
        rec.extend_from_slice(&len.to_ne_bytes());
        rec.extend_from_slice(&len.to_ne_bytes());
        let pkttype = if to_upstream { PACKET_OUTGOING } else { 0 };
        rec.extend_from_slice(&pkttype.to_be_bytes());
        rec.extend_from_slice(&ARPHRD_NETLINK.to_be_bytes());
        rec.extend_from_slice(&[0u8; 10]);
        // The netlink protocol: NETLINK_ROUTE (0).
        rec.extend_from_slice(&0u16.to_be_bytes());
        rec.extend_from_slice(datagram);
        if let Ok(mut f) = f.lock() {
            if let Err(e) = f.write_all(&rec) {
                eprintln!("nlq proxy: capture: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::policy::{Iface, Object, Verb};

    #[test]
    fn lines_are_json_with_the_key_fields() {
        let dir = crate::testing::TempDir::new("audit");
        let path = dir.path().join("log");
        let audit = Audit::open(Some(&path), None).unwrap();
        let facts = Facts {
            object: Object::Route,
            verb: Verb::New,
            message_type: 24,
            flags: 0,
            ifaces: vec![Iface {
                index: 3,
                name: Some("tap\"0".into()),
            }],
            prefix: Some(("10.0.0.0".parse().unwrap(), 8)),
            table: Some(100),
            link_kind: None,
            attrs: vec![],
        };
        let peer = Peer {
            uid: 65534,
            gid: 65534,
            pid: 42,
        };
        let mut r = Record::new(peer, Some(&facts), 24, 9);
        r.outcome = Outcome::Denied;
        r.rule = Some(Arc::from("no"));
        audit.write(&r, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["op"], "route:new");
        assert_eq!(v["interfaces"][0], "tap\"0");
        assert_eq!(v["prefix"], "10.0.0.0/8");
        assert_eq!(v["table"], 100);
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["rule"], "no");
        assert_eq!(v["errno"], 1);
        assert_eq!(v["uid"], 65534);
    }

    #[test]
    fn a_link_at_the_log_path_is_refused() {
        let dir = crate::testing::TempDir::new("audit-link");
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(Audit::open(Some(&link), None).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn captures_decode() {
        let dir = crate::testing::TempDir::new("audit-pcap");
        let path = dir.path().join("cap.pcap");
        let audit = Audit::open(None, Some(&path)).unwrap();
        let mut w = nlq::wire::Writer::new(Vec::new());
        w.message(18, 0x301, 1, 0, |w| w.put(&[0u8; 16])).unwrap();
        audit.capture(&w.into_inner(), true);
        drop(audit);
        let bytes = std::fs::read(&path).unwrap();
        let cap = crate::decode::capture(&bytes).unwrap();
        assert_eq!(cap.datagrams.len(), 1);
        assert!(cap.datagrams[0].route);
        let mut text = String::new();
        let sum = crate::decode::render(&cap, &mut text);
        assert_eq!(sum.errors, 0, "{text}");
        assert!(text.contains("GETLINK"), "{text}");
    }
}
