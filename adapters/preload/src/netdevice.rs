//! Netdevice ioctls (`SIOCGIFFLAGS`, `SIOCSIFADDR`, `SIOCGIFCONF`, ...) on
//! any descriptor, answered by the daemon.
//!
//! `ifconfig`, glibc's `if_nametoindex` and many daemons read and configure
//! interfaces with these ioctls on any socket. The ones `nlq::emulate::ioctl`
//! emulates go to the daemon as a `Request::Ioctl` (the 40-byte `ifreq` in,
//! and on success the `ifreq` as the daemon left it back out) or, for
//! `SIOCGIFCONF`, a `Request::IfConf`. Other socket ioctls that would read
//! or change a host interface (its routes, ARP entries, bridge ports,
//! ethtool, wireless settings, ...) fail with `EOPNOTSUPP` so that the host
//! is never touched by mistake; every other ioctl goes to the kernel.

use libc::{c_int, c_ulong};
use nlq::emulate::ioctl::{is_netdevice_request, IfReq, IFREQ_SIZE, SIOCGIFCONF};
use nlq_remote::{self as remote, Request};

use crate::config;
use crate::control;

/// What `ioctl(fd, request, arg)` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoctlPlan {
    /// The kernel's ioctl.
    PassThrough,
    /// A netdevice ioctl on a `struct ifreq`, answered by the daemon.
    IfReq(u32),
    /// `SIOCGIFCONF` on a `struct ifconf`, answered by the daemon.
    IfConf,
    /// A device ioctl the daemon does not emulate: `EOPNOTSUPP`.
    Refuse,
}

/// Per-socket ioctls inside the device range, which concern the socket
/// itself and go to the kernel: `SIOCOUTQNSD`, `SIOCGSKNS`.
const SOCKET_ONLY: [u32; 2] = [0x894b, 0x894c];

/// Plans an ioctl while emulation is on. The kernel reads the request as an
/// `unsigned int`, so only the low 32 bits count.
pub(crate) fn ioctl_plan(request: c_ulong) -> IoctlPlan {
    let r = request as u32;
    if u64::from(r) == SIOCGIFCONF {
        return IoctlPlan::IfConf;
    }
    if is_netdevice_request(u64::from(r)) {
        return IoctlPlan::IfReq(r);
    }
    let device = (0x890b..=0x89df).contains(&r) // routes, interfaces, ARP, bridges, ...
        || (0x89f0..=0x89ff).contains(&r) // SIOCDEVPRIVATE
        || (0x8b00..=0x8bff).contains(&r); // wireless extensions
    if device && !SOCKET_ONLY.contains(&r) {
        IoctlPlan::Refuse
    } else {
        IoctlPlan::PassThrough
    }
}

/// A netdevice ioctl on the caller's `ifreq`: the daemon's answer
/// replaces it on success.
pub(crate) fn ifreq_ioctl(request: u32, ifr: &mut IfReq) -> Result<(), c_int> {
    let ifreq: IfReq = *ifr;
    let reply = control::request(&Request::Ioctl { request, ifreq })?;
    let out = reply.get(..IFREQ_SIZE).ok_or(libc::EIO)?;
    ifr.copy_from_slice(out);
    Ok(())
}

/// Reads an `IfConf` reply for a buffer of `buf_len` bytes (`None`: a NULL
/// buffer): the new `ifc_len` and the bytes to copy into the buffer.
pub(crate) fn ifconf_reply(reply: &[u8], buf_len: Option<usize>) -> Result<(c_int, &[u8]), c_int> {
    let (len, records) = remote::parse_u32(reply).map_err(|e| e.0)?;
    let len = c_int::try_from(len).map_err(|_| libc::EIO)?;
    let copy = match buf_len {
        None => &[][..],
        Some(n) => records.get(..n.min(records.len())).unwrap_or_default(),
    };
    Ok((len, copy))
}

/// `SIOCGIFCONF` into the caller's buffer (`None`: a NULL `ifc_buf`):
/// the new `ifc_len`.
pub(crate) fn ifconf_ioctl(buf: Option<&mut [u8]>) -> Result<c_int, c_int> {
    let buf_len = buf.as_ref().map(|b| b.len());
    let reply = control::request(&Request::IfConf {
        len: buf_len.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
    })?;
    let (len, records) = ifconf_reply(&reply, buf_len)?;
    if let Some(dest) = buf.and_then(|b| b.get_mut(..records.len())) {
        dest.copy_from_slice(records);
    }
    Ok(len)
}

/// Runs a netdevice ioctl through the daemon (for callers that are not
/// `ioctl`, such as `if_nametoindex`): the `ifreq` it leaves.
pub(crate) fn ifreq_request(request: u64, ifreq: IfReq) -> Result<IfReq, c_int> {
    let request = u32::try_from(request).map_err(|_| libc::EINVAL)?;
    let reply = control::request(&Request::Ioctl { request, ifreq })?;
    let mut out: IfReq = [0; IFREQ_SIZE];
    out.copy_from_slice(reply.get(..IFREQ_SIZE).ok_or(libc::EIO)?);
    Ok(out)
}

/// What `ioctl(fd, request, ..)` does: [`ioctl_plan`] while emulation is
/// on, else the kernel's.
pub(crate) fn plan(request: c_ulong) -> IoctlPlan {
    if config::enabled() {
        ioctl_plan(request)
    } else {
        IoctlPlan::PassThrough
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlq::emulate::ioctl::{SIOCGIFFLAGS, SIOCSIFADDR};

    #[test]
    fn plans() {
        use IoctlPlan::*;
        assert_eq!(ioctl_plan(SIOCGIFFLAGS as c_ulong), IfReq(0x8913));
        assert_eq!(ioctl_plan(SIOCSIFADDR as c_ulong), IfReq(0x8916));
        // Upper bits are ignored, as by the kernel.
        assert_eq!(ioctl_plan(0xffff_ffff_0000_8913), IfReq(0x8913));
        assert_eq!(ioctl_plan(SIOCGIFCONF as c_ulong), IfConf);
        assert_eq!(ioctl_plan(0x890b), Refuse); // SIOCADDRT
        assert_eq!(ioctl_plan(0x8946), Refuse); // SIOCETHTOOL
        assert_eq!(ioctl_plan(0x8923), Refuse); // SIOCSIFNAME
        assert_eq!(ioctl_plan(0x89a0), Refuse); // SIOCBRADDBR
        assert_eq!(ioctl_plan(0x8b01), Refuse); // SIOCGIWNAME
        assert_eq!(ioctl_plan(0x89f0), Refuse); // SIOCDEVPRIVATE
        assert_eq!(ioctl_plan(0x894c), PassThrough); // SIOCGSKNS
        assert_eq!(ioctl_plan(0x89e0), PassThrough); // SIOCPROTOPRIVATE
        assert_eq!(ioctl_plan(libc::FIONREAD as c_ulong), PassThrough);
        assert_eq!(ioctl_plan(0x8906), PassThrough); // SIOCGSTAMP
        assert_eq!(ioctl_plan(libc::TIOCGWINSZ as c_ulong), PassThrough);
    }

    #[test]
    fn ifconf_replies() {
        let mut reply = 80u32.to_ne_bytes().to_vec();
        reply.extend_from_slice(&[7u8; 80]);
        assert_eq!(ifconf_reply(&reply, None), Ok((80, &[][..])));
        assert_eq!(
            ifconf_reply(&reply, Some(40)).map(|(l, r)| (l, r.len())),
            Ok((80, 40))
        );
        assert_eq!(
            ifconf_reply(&reply, Some(400)).map(|(l, r)| (l, r.len())),
            Ok((80, 80))
        );
        assert_eq!(ifconf_reply(&[1, 2], None), Err(libc::EINVAL));
    }
}
