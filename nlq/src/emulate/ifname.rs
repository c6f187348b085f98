//! `if_nameindex`, `if_nametoindex`, `if_indextoname` (`<net/if.h>`).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::collect_links;
use crate::emulate::ioctl::link_by_name;
use crate::errno::Errno;
use crate::stack::{LinkKey, Stack};
use crate::wire::consts::IFNAMSIZ;

/// `if_nameindex`: `(index, name)` of every link, in the stack's link order
/// (glibc's order: the link dump's). Links without a name are left out.
/// The stack's errno on failure.
pub fn if_nameindex<S: Stack + ?Sized>(stack: &S) -> Result<Vec<(u32, String)>, Errno> {
    Ok(collect_links(stack)?
        .iter()
        .filter_map(|l| Some((l.header.index, l.name.as_ref()?.to_string())))
        .collect())
}

/// `if_nametoindex`: the index of the link called `name`. Like glibc (which
/// asks `SIOCGIFINDEX`), a name of `IFNAMSIZ` bytes or more is `ENODEV`, and
/// a `:alias` suffix is ignored; an unknown name is `ENODEV`.
pub fn if_nametoindex<S: Stack + ?Sized>(stack: &S, name: &str) -> Result<u32, Errno> {
    // A C string ends at its first NUL.
    let name = name.split('\0').next().unwrap_or_default();
    if name.len() >= IFNAMSIZ {
        return Err(Errno::ENODEV);
    }
    let link = name.split_once(':').map_or(name, |(l, _)| l);
    Ok(link_by_name(stack, link)?.header.index)
}

/// `if_indextoname`: the name of link `index`. An unknown index is `ENXIO`
/// (glibc turns the `ENODEV` of `SIOCGIFNAME` into `ENXIO`, as POSIX asks);
/// other errors of the stack pass through.
pub fn if_indextoname<S: Stack + ?Sized>(stack: &S, index: u32) -> Result<String, Errno> {
    // SIOCGIFNAME takes an `int`: 0 and indexes above i32::MAX name nothing.
    if index == 0 || i32::try_from(index).is_err() {
        return Err(Errno::ENXIO);
    }
    match stack.link(LinkKey::Index(index)) {
        Ok(l) => Ok(l.name.as_ref().map_or_else(String::new, |n| n.to_string())),
        Err(e) if e.errno == Errno::ENODEV => Err(Errno::ENXIO),
        Err(e) => Err(e.errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::fixture;

    #[test]
    fn name_index() {
        let s = fixture();
        assert_eq!(
            if_nameindex(&s).unwrap(),
            [(1, "lo".into()), (2, "eth0".into()), (3, "tun0".into())]
        );
        struct Nothing;
        impl Stack for Nothing {}
        assert_eq!(if_nameindex(&Nothing), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn name_to_index() {
        let s = fixture();
        assert_eq!(if_nametoindex(&s, "eth0"), Ok(2));
        assert_eq!(if_nametoindex(&s, "eth0:3"), Ok(2));
        assert_eq!(if_nametoindex(&s, "lo\0junk-past-sixteen-bytes"), Ok(1));
        assert_eq!(if_nametoindex(&s, "eth1"), Err(Errno::ENODEV));
        assert_eq!(if_nametoindex(&s, ""), Err(Errno::ENODEV));
        assert_eq!(if_nametoindex(&s, "sixteen-bytes-xx"), Err(Errno::ENODEV));
    }

    #[test]
    fn index_to_name() {
        let s = fixture();
        assert_eq!(if_indextoname(&s, 3).as_deref(), Ok("tun0"));
        assert_eq!(if_indextoname(&s, 4), Err(Errno::ENXIO));
        assert_eq!(if_indextoname(&s, 0), Err(Errno::ENXIO));
        assert_eq!(if_indextoname(&s, u32::MAX), Err(Errno::ENXIO));
        struct Nothing;
        impl Stack for Nothing {}
        assert_eq!(if_indextoname(&Nothing, 1), Err(Errno::EOPNOTSUPP));
    }
}
