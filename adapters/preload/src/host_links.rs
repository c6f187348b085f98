//! Packet sockets and device bindings under the shim.
//!
//! Interface indexes and names a program learns under the shim are the
//! daemon's, not the host's: link 2 of the daemon's stack is no host
//! interface. A call that would tie a socket to a host link by one of
//! them — binding or sending on a packet socket with an index
//! (`sockaddr_ll`), `SO_BINDTODEVICE` / `SO_BINDTOIFINDEX`, a packet
//! socket's `PACKET_ADD_MEMBERSHIP` — fails with `ENODEV`, as for a link
//! that does not exist, instead of reaching whatever host interface has
//! that index or name. Packet sockets not tied to a link (index 0) and
//! every other socket call go to the kernel unchanged.

use std::os::raw::c_int;

/// `SOL_PACKET` and its `PACKET_ADD_MEMBERSHIP`.
const SOL_PACKET: c_int = 263;
const PACKET_ADD_MEMBERSHIP: c_int = 1;

/// What the shim answers such a call.
pub(crate) const REFUSAL: c_int = libc::ENODEV;

fn int_at(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|w| w.try_into().ok())
        .map(i32::from_ne_bytes)
}

/// A socket address naming a link by index: `sockaddr_ll` with a
/// non-zero `sll_ifindex`.
pub(crate) fn names_a_link(addr: &[u8]) -> bool {
    let family = addr
        .get(..2)
        .and_then(|f| f.try_into().ok())
        .map(u16::from_ne_bytes);
    family == Some(libc::AF_PACKET as u16) && int_at(addr, 4).is_some_and(|i| i != 0)
}

/// A socket option that ties the socket to a link: a device name or
/// index, or a packet socket's membership on one.
pub(crate) fn option_names_a_link(level: c_int, name: c_int, value: &[u8]) -> bool {
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_BINDTODEVICE) => value.first().is_some_and(|b| *b != 0),
        (libc::SOL_SOCKET, libc::SO_BINDTOIFINDEX) => int_at(value, 0).is_some_and(|i| i != 0),
        (SOL_PACKET, PACKET_ADD_MEMBERSHIP) => int_at(value, 0).is_some_and(|i| i != 0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockaddr_ll(index: i32) -> Vec<u8> {
        let mut b = vec![0u8; 20];
        b[..2].copy_from_slice(&(libc::AF_PACKET as u16).to_ne_bytes());
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        b
    }

    #[test]
    fn only_what_names_a_link_is_refused() {
        assert!(names_a_link(&sockaddr_ll(2)));
        assert!(!names_a_link(&sockaddr_ll(0)));
        assert!(!names_a_link(&sockaddr_ll(2)[..6]));
        let mut inet = sockaddr_ll(2);
        inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        assert!(!names_a_link(&inet));
        assert!(!names_a_link(&[]));
        assert!(option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            b"eth0\0"
        ));
        assert!(!option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            b"\0"
        ));
        assert!(!option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            b""
        ));
        assert!(option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_BINDTOIFINDEX,
            &3i32.to_ne_bytes()
        ));
        assert!(!option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_BINDTOIFINDEX,
            &0i32.to_ne_bytes()
        ));
        let mreq = [2i32.to_ne_bytes(), [0; 4], [0; 4], [0; 4]].concat();
        assert!(option_names_a_link(
            SOL_PACKET,
            PACKET_ADD_MEMBERSHIP,
            &mreq
        ));
        assert!(!option_names_a_link(
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &mreq
        ));
    }
}
