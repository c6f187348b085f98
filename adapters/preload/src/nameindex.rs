//! `if_nametoindex`, `if_indextoname`, `if_nameindex`, `if_freenameindex`
//! answered by the daemon, with glibc's errnos and allocation.
//!
//! glibc's `if_nametoindex` fails with `ENODEV` (also for a name of
//! `IFNAMSIZ` bytes or more, without asking), `if_indextoname` with `ENXIO`
//! for an unknown index (it turns `SIOCGIFNAME`'s `ENODEV` into POSIX's
//! `ENXIO`). `if_nameindex` returns a `malloc`'d array ended by `{0, NULL}`
//! whose names are separate `malloc`'d strings; `if_freenameindex` frees
//! each name then the array, exactly as glibc's does, so either frees a
//! list made by the other (the C side of the lists is
//! [`crate::sys::c_lists`]).

use libc::{c_int, c_uint};
use nlq::emulate::ioctl::{
    ifreq, ifreq_int, ifreq_name, ifreq_set_int, ifreq_set_name, SIOCGIFINDEX, SIOCGIFNAME,
};
use nlq::wire::consts::IFNAMSIZ;
use nlq_remote::{self as remote, Request};

use crate::control;
use crate::netdevice::ifreq_request;

/// `if_nametoindex` of a name given as bytes.
pub(crate) fn name_to_index(name: &[u8]) -> Result<c_uint, c_int> {
    if name.len() >= IFNAMSIZ {
        return Err(libc::ENODEV);
    }
    let mut ifr = ifreq("");
    ifreq_set_name(&mut ifr, name);
    match ifreq_request(SIOCGIFINDEX, ifr) {
        Ok(out) => c_uint::try_from(ifreq_int(&out)).map_err(|_| libc::ENODEV),
        // glibc: an EINVAL of the ioctl is reported as ENOSYS.
        Err(libc::EINVAL) => Err(libc::ENOSYS),
        Err(e) => Err(e),
    }
}

/// `if_indextoname`: the name's bytes (without NUL).
pub(crate) fn index_to_name(index: c_uint) -> Result<Vec<u8>, c_int> {
    let mut ifr = ifreq("");
    ifreq_set_int(&mut ifr, index as c_int);
    match ifreq_request(SIOCGIFNAME, ifr) {
        Ok(out) => Ok(ifreq_name(&out).to_vec()),
        Err(libc::ENODEV) => Err(libc::ENXIO),
        Err(e) => Err(e),
    }
}

/// `if_indextoname`'s answer: the name as glibc's `strncpy` of the
/// `IFNAMSIZ` field leaves it (the name, then NULs up to `IFNAMSIZ`).
pub(crate) fn name_field(index: c_uint) -> Result<[u8; IFNAMSIZ], c_int> {
    let name = index_to_name(index)?;
    let mut field = [0u8; IFNAMSIZ];
    for (d, s) in field.iter_mut().take(IFNAMSIZ - 1).zip(&name) {
        *d = *s;
    }
    Ok(field)
}

/// `if_nameindex`'s links from the daemon: `(index, name)` pairs.
pub(crate) fn links() -> Result<Vec<(u32, String)>, c_int> {
    control::request(&Request::NameIndex)
        .and_then(|reply| remote::decode_nameindex(&reply).map_err(|_| libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_fail_without_asking() {
        assert_eq!(name_to_index(&[b'a'; 16]), Err(libc::ENODEV));
    }
}
