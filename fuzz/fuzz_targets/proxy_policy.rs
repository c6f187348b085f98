//! Fuzz target `proxy_policy`: the proxy's policy parser
//! (`nlq_daemon::proxy::Policy::parse`) on arbitrary text.
//!
//! Checks, besides no panic: an error's line and column lie inside the
//! text; a policy that parses judges a few requests and gives a view.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlq_daemon::proxy::policy::{Facts, Iface, Object, Verb};
use nlq_daemon::proxy::{Peer, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::parse(text) {
        Ok(p) => {
            let peer = Peer {
                uid: 1000,
                gid: 1000,
                pid: 1,
            };
            for (object, verb) in [
                (Object::Route, Verb::New),
                (Object::Link, Verb::Get),
                (Object::Address, Verb::Delete),
            ] {
                let f = Facts {
                    object,
                    verb,
                    message_type: 24,
                    flags: 0x405,
                    ifaces: vec![Iface {
                        index: 3,
                        name: Some("tap0".into()),
                    }],
                    prefix: Some(("10.1.2.0".parse().unwrap(), 24)),
                    table: Some(254),
                    link_kind: Some("veth".into()),
                    attrs: vec![1, 4, 15],
                };
                let _ = p.decide(&peer, &f);
            }
            let v = p.view(&peer);
            let _ = v.hides(3, Some("tap0"), Some("veth"));
            let _ = v.table_up(254);
        }
        Err(e) => {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "{e}");
            }
            assert!(!e.message.is_empty());
        }
    }
});
