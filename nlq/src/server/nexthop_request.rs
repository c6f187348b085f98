//! Nexthop objects (`RTM_*NEXTHOP`, `net/ipv4/nexthop.c`) for a stack
//! that has none: the requests are checked as the kernel checks them
//! (always strictly), a dump lists nothing and a GET finds nothing, as on
//! a kernel where no nexthop was added (`ip nexthop show` prints nothing
//! and succeeds).

use crate::errno::{EINVAL, ENOENT};
use crate::wire::consts::*;
use crate::wire::{Attrs, NlMsg};

use super::request::{Checked, Failure};

/// The header and attributes of a nexthop request; `EINVAL` "Invalid
/// header length" for a body shorter than `nhmsg`.
fn parts<'a>(msg: &NlMsg<'a>) -> Checked<([u8; NHMSG_LEN], &'a [u8])> {
    let body = msg.payload();
    match (body.get(..NHMSG_LEN), body.get(NHMSG_LEN..)) {
        (Some(h), Some(attrs)) => {
            let mut head = [0u8; NHMSG_LEN];
            head.copy_from_slice(h);
            Ok((head, attrs))
        }
        _ => Err(Failure::new(EINVAL, "Invalid header length")),
    }
}

/// Scope, protocol, the reserved byte and the flags (`nh_family` is not
/// looked at).
fn header_set(h: &[u8; NHMSG_LEN]) -> bool {
    h.iter().skip(1).any(|b| *b != 0)
}

/// The attribute types of `attrs`; a malformed one ends the list.
fn kinds(attrs: &[u8]) -> impl Iterator<Item = u16> + '_ {
    Attrs::new(attrs).map_while(Result::ok).map(|a| a.kind())
}

/// Checks a nexthop dump request (`nh_valid_dump_req`): no header field
/// but the family, and only the filters a dump knows (link, master,
/// groups, FDB, operation flags). The dump lists nothing.
pub(crate) fn nexthop_dump(msg: &NlMsg<'_>) -> Checked<()> {
    let (h, attrs) = parts(msg)?;
    if header_set(&h) {
        return Err(Failure::new(
            EINVAL,
            "Invalid values in header for nexthop dump request",
        ));
    }
    let known = [NHA_OIF, NHA_GROUPS, NHA_MASTER, NHA_FDB, NHA_OP_FLAGS];
    if kinds(attrs).any(|k| !known.contains(&k)) {
        return Err(Failure::new(EINVAL, "Unsupported attribute"));
    }
    Ok(())
}

/// `RTM_GETNEXTHOP` of one id (`nh_valid_get_del_req`): the header, the
/// attributes (the id and operation flags only), the id (present, not
/// 0); then `ENOENT`, without text: no nexthop has it.
pub(crate) fn nexthop_get(msg: &NlMsg<'_>) -> Checked<()> {
    let (h, attrs) = parts(msg)?;
    if header_set(&h) {
        return Err(Failure::new(EINVAL, "Invalid values in header"));
    }
    if kinds(attrs).any(|k| k != NHA_ID && k != NHA_OP_FLAGS) {
        return Err(Failure::new(EINVAL, "Unsupported attribute"));
    }
    let id = Attrs::new(attrs)
        .map_while(Result::ok)
        .find(|a| a.kind() == NHA_ID)
        .ok_or(Failure::new(EINVAL, "Nexthop id is missing"))?;
    match id.u32() {
        Ok(0) => Err(Failure::new(EINVAL, "Invalid nexthop id")),
        Ok(_) => Err(Failure::errno(ENOENT)),
        Err(_) => Err(Failure::new(EINVAL, "Error parsing msg")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Messages, Writer};
    use alloc::vec::Vec;

    fn message(head: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        w.message(RTM_GETNEXTHOP, NLM_F_REQUEST, 1, 0, |w| {
            w.put(head)?;
            for (k, v) in attrs {
                w.attr(*k, v)?;
            }
            Ok(())
        })
        .unwrap();
        w.into_inner()
    }

    fn text(r: Checked<()>) -> (i32, Option<&'static str>) {
        let f = r.unwrap_err();
        (f.errno, f.message)
    }

    #[test]
    fn checked_as_the_kernel_checks() {
        let get = |head: &[u8], attrs: &[(u16, &[u8])]| {
            let b = message(head, attrs);
            nexthop_get(&Messages::new(&b).next().unwrap().unwrap())
        };
        let dump = |head: &[u8], attrs: &[(u16, &[u8])]| {
            let b = message(head, attrs);
            nexthop_dump(&Messages::new(&b).next().unwrap().unwrap())
        };
        let zero = [0u8; 8];
        let five = 5u32.to_ne_bytes();
        assert_eq!(text(get(&zero, &[(NHA_ID, &five)])), (ENOENT, None));
        assert_eq!(text(get(&zero, &[])).1, Some("Nexthop id is missing"));
        assert_eq!(
            text(get(&zero, &[(NHA_ID, &[0; 4])])).1,
            Some("Invalid nexthop id")
        );
        assert_eq!(
            text(get(&zero, &[(NHA_ID, &five), (NHA_OIF, &five)])).1,
            Some("Unsupported attribute")
        );
        assert_eq!(
            text(get(&[0, 1, 0, 0, 0, 0, 0, 0], &[])).1,
            Some("Invalid values in header")
        );
        assert_eq!(text(get(&zero[..2], &[])).1, Some("Invalid header length"));
        // Any family; the filters a dump knows.
        assert!(dump(&[AF_BRIDGE, 0, 0, 0, 0, 0, 0, 0], &[(NHA_OIF, &five)]).is_ok());
        assert_eq!(
            text(dump(&zero, &[(NHA_ID, &five)])).1,
            Some("Unsupported attribute")
        );
        assert_eq!(
            text(dump(&[0, 0, 0, 0, 1, 0, 0, 0], &[])).1,
            Some("Invalid values in header for nexthop dump request")
        );
    }
}
