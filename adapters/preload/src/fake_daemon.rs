//! A scripted stand-in for the daemon, so that the shim's exported
//! functions can be tested in-process without `nlq serve`.
//!
//! Socket connections get a welcome (port [`PORT`], a fresh cookie), then
//! every datagram sent is answered according to its first bytes:
//!
//! - `b"echo..."`: the datagram back, as a unicast reply;
//! - `b"group N"`: the datagram back, sent to multicast group `N`;
//! - `b"error N"`: an error header carrying errno `N`, then the datagram
//!   back.
//!
//! Control requests are logged (see [`requests`]) and answered: `Name` with
//! [`PORT`] and the groups of the last `Bind`, `GetOption` with 42, `Ioctl`
//! with the `ifreq` whose `ifr_ifindex` is 7 (or `ENODEV` for the name
//! `nosuch`), `NameIndex` with `lo` and `br0`, everything else with an
//! empty success.

use std::sync::{Mutex, Once};

use libc::c_int;
use nlq::emulate::ioctl::{ifreq_name, ifreq_set_int};
use nlq_remote::{self as remote, DataHeader, Hello, Request, Role, Welcome};

use crate::sys::os;

/// The port every socket gets.
pub(crate) const PORT: u32 = 4242;

static START: Once = Once::new();
static LOG: Mutex<Vec<Request>> = Mutex::new(Vec::new());
static GROUPS: Mutex<u32> = Mutex::new(0);

/// Starts the fake daemon (once) and points the shim at it.
pub(crate) fn start() {
    START.call_once(|| {
        // An abstract name: no file to clean up.
        let name = format!("nlq-preload-test-{}", std::process::id());
        let listener = {
            let fd = os::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let mut addr = libc::sockaddr_un {
                sun_family: libc::AF_UNIX as libc::sa_family_t,
                sun_path: [0; 108],
            };
            for (d, s) in addr.sun_path.iter_mut().skip(1).zip(name.as_bytes()) {
                *d = *s as libc::c_char;
            }
            let len = (2 + 1 + name.len()) as libc::socklen_t;
            assert_eq!(os::bind_unix(fd, &addr, len), 0);
            assert_eq!(os::listen(fd, 64), 0);
            fd
        };
        assert!(crate::config::set_for_tests(format!("@{name}").as_bytes()));
        std::thread::spawn(move || loop {
            let conn = os::accept(listener, libc::SOCK_CLOEXEC);
            if conn >= 0 {
                std::thread::spawn(move || serve(conn));
            }
        });
    });
}

/// The control requests received so far.
pub(crate) fn requests() -> Vec<Request> {
    LOG.lock().map(|l| l.clone()).unwrap_or_default()
}

fn recv(fd: c_int) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 1 << 16];
    let n = os::recv(fd, &mut buf, 0);
    let n = usize::try_from(n).ok().filter(|n| *n > 0)?;
    buf.truncate(n);
    Some(buf)
}

fn send(fd: c_int, parts: &[&[u8]]) {
    let bytes = parts.concat();
    os::send(fd, &bytes, libc::MSG_NOSIGNAL);
}

fn serve(fd: c_int) {
    static COOKIE: Mutex<u64> = Mutex::new(1000);
    let hello = recv(fd).and_then(|h| Hello::parse(&h).ok());
    match hello.map(|h| h.role) {
        Some(Role::Socket) => {
            let cookie = {
                let mut c = COOKIE.lock().unwrap();
                *c += 1;
                *c
            };
            send(fd, &[&Welcome { port: PORT, cookie }.to_bytes()]);
            while let Some(d) = recv(fd) {
                let word = |w: &[u8]| -> u32 {
                    std::str::from_utf8(d.strip_prefix(w).unwrap_or_default())
                        .ok()
                        .and_then(|s| s.split_whitespace().next()?.parse().ok())
                        .unwrap_or(0)
                };
                let mut h = DataHeader::default();
                if d.starts_with(b"group ") {
                    h.group = word(b"group ");
                } else if d.starts_with(b"error ") {
                    let e = DataHeader {
                        error: word(b"error "),
                        ..DataHeader::default()
                    };
                    send(fd, &[&e.to_bytes()]);
                }
                send(fd, &[&h.to_bytes(), &d]);
            }
        }
        Some(Role::Control) => {
            while let Some(d) = recv(fd) {
                let Ok(req) = Request::parse(&d) else { break };
                LOG.lock().unwrap().push(req);
                let mut payload = Vec::new();
                let mut status = Ok(());
                match req {
                    Request::Bind { port, groups, .. } => {
                        *GROUPS.lock().unwrap() = groups;
                        payload.extend_from_slice(&port.to_ne_bytes());
                        payload.extend_from_slice(&groups.to_ne_bytes());
                    }
                    Request::Name { .. } => {
                        payload.extend_from_slice(&PORT.to_ne_bytes());
                        payload.extend_from_slice(&GROUPS.lock().unwrap().to_ne_bytes());
                    }
                    Request::GetOption { .. } => payload.extend_from_slice(&42u32.to_ne_bytes()),
                    Request::Ioctl { mut ifreq, .. } => {
                        if ifreq_name(&ifreq) == b"nosuch" {
                            status = Err(libc::ENODEV);
                        } else {
                            ifreq_set_int(&mut ifreq, 7);
                            payload.extend_from_slice(&ifreq);
                        }
                    }
                    Request::NameIndex => {
                        remote::encode_nameindex(
                            &mut payload,
                            &[(1, "lo".into()), (2, "br0".into())],
                        );
                    }
                    _ => {}
                }
                let mut reply = Vec::new();
                remote::emit_reply(
                    &mut reply,
                    status.map(|()| &payload[..]).map_err(nlq::errno::Errno),
                );
                send(fd, &[&reply]);
            }
        }
        None => {}
    }
    // Our connection, closed once.
    os::close(fd);
}
