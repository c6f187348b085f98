//! `NLQ_SOCKET`: where the daemon listens, read once.

use std::sync::OnceLock;

use libc::{c_int, sa_family_t, sockaddr_un, socklen_t};

/// The daemon's address, ready for `connect`.
pub(crate) struct Daemon {
    addr: sockaddr_un,
    len: socklen_t,
}

impl Daemon {
    /// The address and its length, for `connect`.
    pub(crate) fn sockaddr(&self) -> (&sockaddr_un, socklen_t) {
        (&self.addr, self.len)
    }
}

/// `None`: `NLQ_SOCKET` is unset or empty, the shim passes everything
/// through. `Some(Err(e))`: set but unusable (too long), every emulated call
/// fails with `e`.
static DAEMON: OnceLock<Option<Result<Daemon, c_int>>> = OnceLock::new();

/// The daemon, when `NLQ_SOCKET` names one (see [`DAEMON`]).
pub(crate) fn daemon() -> Option<Result<&'static Daemon, c_int>> {
    DAEMON
        .get_or_init(|| {
            let path = std::env::var_os("NLQ_SOCKET")?;
            let path = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
            (!path.is_empty()).then(|| daemon_addr(path))
        })
        .as_ref()
        .map(|r| r.as_ref().map_err(|e| *e))
}

/// Points the shim at `path` for the whole test binary (the first call
/// wins, as for `NLQ_SOCKET`): `false` if configuration was already read.
#[cfg(test)]
pub(crate) fn set_for_tests(path: &[u8]) -> bool {
    DAEMON.set(Some(daemon_addr(path))).is_ok()
}

/// True when the shim emulates (`NLQ_SOCKET` is set).
pub(crate) fn enabled() -> bool {
    daemon().is_some()
}

/// The `sockaddr_un` of a path; a leading `@` names an abstract socket.
/// `ENAMETOOLONG` when it does not fit `sun_path` (with its NUL).
pub(crate) fn daemon_addr(path: &[u8]) -> Result<Daemon, c_int> {
    let mut addr = sockaddr_un {
        sun_family: libc::AF_UNIX as sa_family_t,
        sun_path: [0; 108],
    };
    let (bytes, abstract_name) = match path.strip_prefix(b"@") {
        Some(name) => (name, true),
        None => (path, false),
    };
    // An abstract name starts with a NUL; a path ends with one.
    let offset = usize::from(abstract_name);
    let room = addr.sun_path.len().saturating_sub(1);
    if bytes.len() > room || bytes.contains(&0) {
        return Err(libc::ENAMETOOLONG);
    }
    for (d, s) in addr.sun_path.iter_mut().skip(offset).zip(bytes) {
        *d = *s as libc::c_char;
    }
    let family = std::mem::size_of::<sa_family_t>();
    // The family, then the name with its leading or trailing NUL.
    let used = family.saturating_add(1).saturating_add(bytes.len());
    let len = socklen_t::try_from(used).map_err(|_| libc::ENAMETOOLONG)?;
    Ok(Daemon { addr, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_abstract_names() {
        let d = daemon_addr(b"/run/nlq.sock").unwrap();
        assert_eq!(d.len, 2 + 13 + 1);
        assert_eq!(d.addr.sun_path[0], b'/' as libc::c_char);
        assert_eq!(d.addr.sun_path[13], 0);
        let d = daemon_addr(b"@nlq").unwrap();
        assert_eq!(d.len, 2 + 1 + 3);
        assert_eq!(
            d.addr.sun_path[..4],
            [
                0,
                b'n' as libc::c_char,
                b'l' as libc::c_char,
                b'q' as libc::c_char
            ]
        );
        assert!(daemon_addr(&[b'a'; 107]).is_ok());
        assert_eq!(daemon_addr(&[b'a'; 108]).err(), Some(libc::ENAMETOOLONG));
    }
}
