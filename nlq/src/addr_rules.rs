//! The kernel's address rules that need no tables, for every stack to
//! apply the same way.

use core::fmt::{self, Write};

use crate::wire::consts::IFNAMSIZ;
use crate::wire::IfName;

/// `inetdev_changename`: the label of the IPv4 address at `position` (1 for
/// the link's first) once the link is renamed `new`. The first takes the
/// new name; each later one the new name with its old `:alias` suffix, or
/// `:N` (its position) when it had none, the name cut to keep the suffix
/// within `IFNAMSIZ`.
pub fn renamed_label(new: &IfName, old: Option<&IfName>, position: usize) -> IfName {
    if position <= 1 {
        return *new;
    }
    let old = old.map_or("", IfName::as_str);
    let mut suffix = Buf::default();
    let _ = match old.find(':').and_then(|i| old.get(i..)) {
        Some(s) => suffix.write_str(s),
        None => write!(suffix, ":{position}"),
    };
    let room = (IFNAMSIZ - 1).saturating_sub(suffix.len);
    let head = new.as_str();
    let head = head.get(..room.min(head.len())).unwrap_or(head);
    let mut label = Buf::default();
    let written = label
        .write_str(head)
        .and_then(|()| label.write_str(suffix.as_str()));
    written
        .ok()
        .and_then(|()| IfName::try_from_str(label.as_str()))
        .unwrap_or(*new)
}

/// A name of at most `IFNAMSIZ` bytes, written without allocating.
#[derive(Default)]
struct Buf {
    bytes: [u8; IFNAMSIZ],
    len: usize,
}

impl Buf {
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            let slot = self.bytes.get_mut(self.len).ok_or(fmt::Error)?;
            *slot = b;
            self.len = self.len.checked_add(1).ok_or(fmt::Error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> IfName {
        IfName::try_from_str(s).unwrap()
    }

    #[test]
    fn labels_as_inetdev_changename() {
        let new = name("br1");
        assert_eq!(renamed_label(&new, Some(&name("br0:7")), 1), name("br1"));
        assert_eq!(renamed_label(&new, Some(&name("br0:7")), 2), name("br1:7"));
        assert_eq!(renamed_label(&new, Some(&name("br0")), 3), name("br1:3"));
        let long = name("abcdefghijklmno");
        assert_eq!(renamed_label(&long, None, 12), name("abcdefghijkl:12"));
    }
}
