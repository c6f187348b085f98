//! The upstream's links by index: names and kinds for the policy and the
//! views, kept current by a subscription to the upstream's link events,
//! and asked for directly when a link is not known yet.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use nlq::wire::consts::*;
use nlq::wire::{Attrs, NlMsg};

use super::message::Links;
use super::upstream::{Received, UpSocket, Upstream};

/// A link's name and kind.
type Entry = (String, Option<String>);

/// The upstream's links. See the [module](self).
#[derive(Debug)]
pub struct Directory {
    links: RwLock<HashMap<u32, Entry>>,
    monitor: UpSocket,
    query: Mutex<nlinline::Handle<UpSocket>>,
}

/// A link message's index, name and kind.
pub fn link_entry(msg: &NlMsg<'_>) -> Option<(u32, Entry)> {
    let p = msg.payload();
    let index = u32::from_ne_bytes(p.get(4..8)?.try_into().ok()?);
    let attrs = || Attrs::new(p.get(16..).unwrap_or_default()).flatten();
    let text = |v: &[u8]| {
        let v = v.split(|&b| b == 0).next().unwrap_or(v);
        String::from_utf8_lossy(v).into_owned()
    };
    let name = attrs()
        .find(|a| a.attr_type() == IFLA_IFNAME)
        .map(|a| text(a.value()))?;
    let kind = attrs()
        .find(|a| a.attr_type() == IFLA_LINKINFO)
        .and_then(|li| {
            li.nested()
                .flatten()
                .find(|a| a.attr_type() == IFLA_INFO_KIND)
        })
        .map(|a| text(a.value()));
    Some((index, (name, kind)))
}

impl Directory {
    /// Subscribes to the upstream's link events, reads its links, and
    /// keeps them current on a thread of its own (ended by
    /// [`Directory::stop`]).
    pub fn start(up: &Upstream) -> io::Result<(Arc<Self>, JoinHandle<()>)> {
        let monitor = UpSocket::open(up)?;
        monitor.bind(0, 1 << (RTNLGRP_LINK - 1))?;
        let query = nlinline::Handle::new(UpSocket::open(up)?);
        let dir = Arc::new(Directory {
            links: RwLock::new(HashMap::new()),
            monitor,
            query: Mutex::new(query),
        });
        dir.dump()?;
        let d = Arc::clone(&dir);
        let thread = std::thread::Builder::new()
            .name("nlq-proxy-links".into())
            .spawn(move || d.follow())?;
        Ok((dir, thread))
    }

    /// Reads every link afresh (at start, and after events were lost).
    fn dump(&self) -> io::Result<()> {
        let links = {
            let mut q = self
                .query
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?;
            q.links().map_err(io::Error::other)?
        };
        let mut map = HashMap::new();
        for l in links {
            if let Some(name) = l.name {
                let kind = l
                    .info
                    .as_ref()
                    .and_then(|i| i.kind.as_ref())
                    .map(|k| k.as_str().to_string());
                map.insert(l.header.index, (name.as_str().to_string(), kind));
            }
        }
        if let Ok(mut links) = self.links.write() {
            *links = map;
        }
        Ok(())
    }

    fn follow(&self) {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match self.monitor.recv(&mut buf, 32 << 10) {
                Ok(Received::Messages { len, .. }) => {
                    let Ok(mut links) = self.links.write() else {
                        return;
                    };
                    for (msg, _) in nlq::wire::Messages::new(buf.get(..len).unwrap_or_default())
                        .flatten()
                        .map(|m| (m, ()))
                    {
                        match msg.message_type() {
                            RTM_NEWLINK => {
                                if let Some((i, e)) = link_entry(&msg) {
                                    links.insert(i, e);
                                }
                            }
                            RTM_DELLINK => {
                                if let Some((i, _)) = link_entry(&msg) {
                                    links.remove(&i);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Ok(Received::Error(_)) => {
                    // Events were lost: read everything again.
                    if self.dump().is_err() {
                        return;
                    }
                }
                Ok(Received::Closed) | Err(_) => return,
            }
        }
    }

    /// Ends the thread that keeps the directory current.
    pub fn stop(&self) {
        self.monitor.shutdown();
    }

    fn ask(&self, index: u32) -> Option<Entry> {
        let mut q = self.query.lock().ok()?;
        let l = q.link_get(index).ok()?;
        let kind = l
            .info
            .as_ref()
            .and_then(|i| i.kind.as_ref())
            .map(|k| k.as_str().to_string());
        Some((l.name?.as_str().to_string(), kind))
    }
}

impl Links for Directory {
    fn by_index(&self, index: u32) -> Option<Entry> {
        if let Some(e) = self.links.read().ok()?.get(&index) {
            return Some(e.clone());
        }
        self.ask(index)
    }

    fn by_name(&self, name: &str) -> Option<u32> {
        let found = self
            .links
            .read()
            .ok()?
            .iter()
            .find(|(_, e)| e.0 == name)
            .map(|(i, _)| *i);
        found.or_else(|| {
            let mut q = self.query.lock().ok()?;
            q.if_nametoindex(name).ok()
        })
    }
}
