//! Messages between connections: what a netlink socket sends with a
//! destination address (`sendto`, `msg_name`) other than the kernel's,
//! as `netlink_sendmsg` delivers it for `NETLINK_ROUTE`.
//!
//! - A destination naming a port or a group needs the admin right
//!   (`CAP_NET_ADMIN`: rtnetlink does not let others send), else `EPERM`.
//! - A group (the lowest bit of `nl_groups`) reaches every member but the
//!   sender and the connection the port names (`netlink_broadcast`), each
//!   as far as its receive buffer has room.
//! - Then the port: port 0 is the kernel, which handles the messages as
//!   requests; any other port must be a bound connection
//!   (`ECONNREFUSED` if none), which gets the datagram whatever its queue
//!   holds (where the kernel would make the sender wait).
//!
//! Receivers see the sender's port, and the group in `nl_groups` and
//! `NETLINK_PKTINFO` (on the unicast copy too); [`Sender`] carries the
//! credentials for `SCM_CREDENTIALS`.

use bytes::Bytes;

use super::{ConnId, Server};
use crate::errno::Errno;
use crate::stack::Stack;

/// Who sent a datagram, as a reader's `recvmsg` reports it: the port
/// (`nl_pid` of the sender address) and the credentials of
/// `SCM_CREDENTIALS` (all 0 for the kernel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Sender {
    /// The sending connection's port id; 0 for the kernel.
    pub port: u32,
    /// The sending process.
    pub pid: u32,
    /// Its user.
    pub uid: u32,
    /// Its group.
    pub gid: u32,
}

impl Sender {
    /// The kernel: port 0, pid 0, uid 0, gid 0.
    pub const KERNEL: Sender = Sender {
        port: 0,
        pid: 0,
        uid: 0,
        gid: 0,
    };
}

/// Where [`Server::send_to`] leaves a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered to the group's members and the named connection; nothing
    /// more to do.
    Delivered,
    /// The kernel (port 0) is the destination too: hand the datagram to
    /// [`Server::handle_datagram`] as requests.
    ToKernel,
}

/// The group a `nl_groups` destination names: its lowest bit (`ffs`), 0
/// for none.
fn lowest_group(groups: u32) -> u32 {
    if groups == 0 {
        0
    } else {
        groups.trailing_zeros().saturating_add(1)
    }
}

impl<S: Stack> Server<S> {
    /// Sets the process, user and group of the connection's peer: what
    /// the connection sends to others carries them (`SCM_CREDENTIALS`);
    /// the user is also what route lookups report (see
    /// [`Server::set_uid`]).
    pub fn set_credentials(&mut self, id: ConnId, pid: u32, uid: u32, gid: u32) {
        if let Some(c) = self.conn_mut(id) {
            c.pid = pid;
            c.uid = uid;
            c.gid = gid;
        }
    }

    /// `sendmsg` of `datagram` from connection `from` to the address
    /// (`port`, `groups`), as the kernel delivers it (the rules are in
    /// this module's docs). A destination of port 0 and no group is the kernel
    /// alone: use [`Server::handle_datagram`]. Errors: `EPERM` without the admin
    /// right, `ECONNREFUSED` for a port no connection has, `EBADF` for an
    /// unknown `from`.
    pub fn send_to(
        &mut self,
        from: ConnId,
        port: u32,
        groups: u32,
        datagram: &[u8],
    ) -> Result<Delivery, Errno> {
        let group = lowest_group(groups);
        let c = self.conn_mut(from).ok_or(Errno::EBADF)?;
        if (group != 0 || port != 0) && !c.admin {
            return Err(Errno::EPERM);
        }
        c.bound = true;
        let sender = Sender {
            port: c.port,
            pid: c.pid,
            uid: c.uid,
            gid: c.gid,
        };
        let bytes = Bytes::copy_from_slice(datagram);
        if group != 0 {
            for (i, c) in self.conns.iter_mut().enumerate() {
                let Some(c) = c else { continue };
                if i != from.0 as usize && c.port != port && c.member_of(group) {
                    c.enqueue_from(bytes.clone(), group, sender);
                }
            }
        }
        if port == 0 {
            return Ok(Delivery::ToKernel);
        }
        let target = self
            .conns
            .iter_mut()
            .flatten()
            .find(|c| c.bound && c.port == port)
            .ok_or(Errno::ECONNREFUSED)?;
        target.push_from(bytes, group, sender);
        Ok(Delivery::Delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tests::{drain, server};
    use crate::server::SockOpt;

    const MSG: &[u8] = &[16, 0, 0, 0, 18, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn groups_reach_other_members_ports_get_one_copy() {
        let (mut s, a) = server();
        let b = s.connect_as(500);
        let c = s.connect_as(600);
        for id in [a, b, c] {
            s.set_option(id, SockOpt::AddMembership(1)).unwrap();
            s.bind(id, 0, 1).unwrap();
        }
        s.set_credentials(b, 500, 7, 8);
        // To group 1 and the kernel: a and c hear it, b (the sender) does
        // not; the kernel is handed the request.
        assert_eq!(s.send_to(b, 0, 0b101, MSG), Ok(Delivery::ToKernel));
        for id in [a, c] {
            let got = drain(&mut s, id, 4096);
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].group, 1);
            assert_eq!(got[0].bytes.as_ref(), MSG);
            let who = got[0].sender;
            assert_eq!((who.port, who.pid, who.uid, who.gid), (500, 500, 7, 8));
        }
        assert!(drain(&mut s, b, 4096).is_empty());
        // To c's port and group 1: c gets one copy (with the group), a one.
        assert_eq!(s.send_to(b, 600, 1, MSG), Ok(Delivery::Delivered));
        assert_eq!(drain(&mut s, c, 4096).len(), 1);
        assert_eq!(drain(&mut s, a, 4096).len(), 1);
        // A port alone: no group in the address.
        assert_eq!(s.send_to(b, 600, 0, MSG), Ok(Delivery::Delivered));
        let got = drain(&mut s, c, 4096);
        assert_eq!((got.len(), got[0].group), (1, 0));
        assert!(drain(&mut s, a, 4096).is_empty());
    }

    #[test]
    fn unknown_ports_are_refused_and_senders_need_the_right() {
        let (mut s, a) = server();
        let b = s.connect_as(500);
        // b never sent nor bound: not a destination yet.
        assert_eq!(s.send_to(a, 500, 0, MSG), Err(Errno::ECONNREFUSED));
        assert_eq!(s.send_to(a, 12345, 0, MSG), Err(Errno::ECONNREFUSED));
        s.set_admin(b, false);
        assert_eq!(s.send_to(b, 0, 1, MSG), Err(Errno::EPERM));
        assert_eq!(s.send_to(b, s.port(a), 0, MSG), Err(Errno::EPERM));
        assert_eq!(s.send_to(b, 0, 0, MSG), Ok(Delivery::ToKernel));
    }
}
