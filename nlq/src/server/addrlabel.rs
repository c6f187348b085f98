//! `RTM_GETADDRLABEL` dumps (`ip addrlabel list`): the IPv6 address label
//! policy of a fresh namespace (RFC 6724's table as `ip6addrlbl_init`
//! installs it), in the kernel's order (longest prefix first, then as
//! installed) and with its sequence number (one per entry installed).
//! Changing it (`RTM_NEWADDRLABEL`, `RTM_DELADDRLABEL`) and the GET of
//! one address are not answered (`EOPNOTSUPP`).

use core::ops::ControlFlow;

use crate::errno::EINVAL;
use crate::stack::Cursor;
use crate::wire::consts::*;
use crate::wire::{Buffer, Writer};

use super::request::{Checked, Failure};

/// One entry: prefix, its length, label.
pub(crate) type Label = ([u8; 16], u8, u32);

/// The table, as `ip addrlabel list` shows it on a fresh namespace.
const DEFAULTS: [Label; 10] = [
    (v6(1), 128, 0),
    (v6(0), 96, 3),
    (v6(0xffff_0000_0000), 96, 4),
    (v6(0x2001 << 112), 32, 6),
    (v6(0x2001_0010 << 96), 28, 7),
    (v6(0x3ffe << 112), 16, 12),
    (v6(0x2002 << 112), 16, 2),
    (v6(0xfec0 << 112), 10, 11),
    (v6(0xfc00 << 112), 7, 5),
    (v6(0), 0, 1),
];

/// `ifal_seq`: the table's sequence number, one step per entry installed.
const SEQ: u32 = DEFAULTS.len() as u32;

/// An IPv6 address's bytes from its value.
const fn v6(bits: u128) -> [u8; 16] {
    bits.to_be_bytes()
}

/// `ip6addrlbl_valid_dump_req`, on a socket with strict checking: the
/// whole header, all zero but the family, nothing after it.
pub(crate) fn addrlabel_dump(payload: &[u8], strict: bool) -> Checked<()> {
    if !strict {
        return Ok(());
    }
    let Some((header, rest)) = payload.split_at_checked(IFADDRLBLMSG_LEN) else {
        return Err(Failure::new(
            EINVAL,
            "ipv6: Invalid header for address label dump request",
        ));
    };
    if header.iter().skip(1).any(|&b| b != 0) {
        return Err(Failure::new(
            EINVAL,
            "ipv6: Invalid values in header for address label dump request",
        ));
    }
    if !rest.is_empty() {
        return Err(Failure::new(
            EINVAL,
            "ipv6: Invalid data after header for address label dump request",
        ));
    }
    Ok(())
}

/// Hands the entries from `from` on to `put`, until it stops; returns
/// where the next datagram resumes.
pub(crate) fn list(from: &Cursor, put: &mut dyn FnMut(&Label) -> ControlFlow<()>) -> Cursor {
    let start = from.position();
    for (at, label) in DEFAULTS.iter().enumerate().skip(start) {
        if put(label).is_break() {
            return Cursor::at(at);
        }
    }
    Cursor::at(DEFAULTS.len())
}

/// Writes one entry (`ip6addrlbl_fill`).
pub(crate) fn emit<B: Buffer>(w: &mut Writer<B>, label: &Label) -> crate::wire::Result<()> {
    let (prefix, len, value) = *label;
    w.put(&[AF_INET6, 0, len, 0])?;
    w.put(&0u32.to_ne_bytes())?;
    w.put(&SEQ.to_ne_bytes())?;
    w.attr(IFAL_ADDRESS, &prefix)?;
    w.attr_u32(IFAL_LABEL, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// The first entry as the kernel sent it (traced): `::1/128`, label
    /// 0, sequence 10.
    #[test]
    fn entries_are_written_as_the_kernel_writes_them() {
        let mut w = Writer::new(Vec::new());
        emit(&mut w, &DEFAULTS[0]).unwrap();
        let want = "0a008000000000000a000000\
                    14000100000000000000000000000000000000010800020000000000";
        let got: alloc::string::String = w
            .into_inner()
            .iter()
            .map(|b| alloc::format!("{b:02x}"))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_dump_resumes_where_it_stopped() {
        let mut seen = Vec::new();
        let next = list(&Cursor::START, &mut |l| {
            seen.push(l.2);
            if seen.len() == 4 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let end = list(&next, &mut |l| {
            seen.push(l.2);
            ControlFlow::Continue(())
        });
        // The fourth was refused (no room): it comes first in the next.
        assert_eq!(seen, [0, 3, 4, 6, 6, 7, 12, 2, 11, 5, 1]);
        assert_eq!(end.position(), DEFAULTS.len());
    }

    #[test]
    fn strict_requests_are_checked_as_the_kernel_checks_them() {
        let ok = [AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(addrlabel_dump(&ok, true).is_ok());
        assert!(addrlabel_dump(&[AF_INET6], false).is_ok());
        let text = |p: &[u8]| addrlabel_dump(p, true).unwrap_err().message;
        assert_eq!(
            text(&ok[..4]),
            Some("ipv6: Invalid header for address label dump request")
        );
        let mut bad = ok;
        bad[2] = 8;
        assert_eq!(
            text(&bad),
            Some("ipv6: Invalid values in header for address label dump request")
        );
        let mut long = ok.to_vec();
        long.extend_from_slice(&[8, 0, 2, 0, 1, 0, 0, 0]);
        assert_eq!(
            text(&long),
            Some("ipv6: Invalid data after header for address label dump request")
        );
    }
}
