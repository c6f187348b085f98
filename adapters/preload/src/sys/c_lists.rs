//! The `malloc`'d lists the shim hands to C: the `getifaddrs` block and
//! the `if_nameindex` array, allocated (and freed) exactly as glibc does so
//! that either library's free function releases the other's list.
//!
//! What goes in them is worked out by safe code ([`crate::ifaddrs::layout`],
//! [`crate::nameindex`]); here it is only copied into C memory.

use std::mem::size_of;

use libc::{c_int, if_nameindex as IfNameIndex, ifaddrs};

use crate::ifaddrs::Image;

/// Copies an image into one `malloc` block and relocates its pointers:
/// the list's head (NULL for an empty image).
pub(crate) fn materialize(img: &Image) -> Result<*mut ifaddrs, c_int> {
    if img.bytes.is_empty() {
        return Ok(std::ptr::null_mut());
    }
    // SAFETY: plain allocation.
    let p = unsafe { libc::malloc(img.bytes.len()) }.cast::<u8>();
    if p.is_null() {
        return Err(libc::ENOMEM);
    }
    // SAFETY: `p` has `img.bytes.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(img.bytes.as_ptr(), p, img.bytes.len()) };
    for &(at, target) in &img.pointers {
        let fits = at
            .checked_add(size_of::<usize>())
            .is_some_and(|end| end <= img.bytes.len())
            && target < img.bytes.len();
        if fits {
            // SAFETY: `at..at + 8` and `target` lie inside the block.
            unsafe {
                p.add(at)
                    .cast::<usize>()
                    .write_unaligned(p.add(target) as usize)
            };
        }
    }
    Ok(p.cast())
}

/// Frees a list from [`materialize`] (one block).
///
/// # Safety
///
/// `ifa` is NULL or a list from [`materialize`] (or glibc's
/// `getifaddrs`, also one block), not freed before.
pub(crate) unsafe fn free_ifaddrs(ifa: *mut ifaddrs) {
    // SAFETY: the caller's promise: one `malloc` block, or NULL.
    unsafe { libc::free(ifa.cast()) }
}

/// Frees what [`build_nameindex`] (or glibc's `if_nameindex`) allocated.
///
/// # Safety
///
/// `list` is NULL or an `if_nameindex` list ended by `{0, NULL}`.
pub(crate) unsafe fn free_nameindex(list: *mut IfNameIndex) {
    if list.is_null() {
        return;
    }
    let mut p = list;
    // SAFETY: the list is ended by an entry with index 0 and no name.
    unsafe {
        while (*p).if_index != 0 || !(*p).if_name.is_null() {
            libc::free((*p).if_name.cast());
            p = p.add(1);
        }
        libc::free(list.cast());
    }
}

/// Allocates an `if_nameindex` list as glibc does (`ENOBUFS` when memory
/// runs out, like glibc).
pub(crate) fn build_nameindex(links: &[(u32, String)]) -> Result<*mut IfNameIndex, c_int> {
    let count = links.len().checked_add(1).ok_or(libc::ENOBUFS)?;
    let size = count
        .checked_mul(size_of::<IfNameIndex>())
        .ok_or(libc::ENOBUFS)?;
    // SAFETY: plain allocation; zeroed, so every entry is `{0, NULL}` and
    // the list is always ended.
    let list = unsafe { libc::calloc(1, size) }.cast::<IfNameIndex>();
    if list.is_null() {
        return Err(libc::ENOBUFS);
    }
    for (i, (index, name)) in links.iter().enumerate() {
        let bytes: Vec<u8> = name.bytes().take_while(|&b| b != 0).collect();
        // SAFETY: plain allocation.
        let s = unsafe { libc::malloc(bytes.len().saturating_add(1)) }.cast::<u8>();
        if s.is_null() {
            // SAFETY: the entries so far are complete and the rest zero.
            unsafe { free_nameindex(list) };
            return Err(libc::ENOBUFS);
        }
        // SAFETY: `s` has `bytes.len() + 1` bytes; entry `i` is inside the
        // array of `count` entries.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), s, bytes.len());
            *s.add(bytes.len()) = 0;
            let e = &mut *list.add(i);
            e.if_index = *index;
            e.if_name = s.cast();
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ifaddrs::{layout, tests::records};
    use std::ffi::CStr;

    #[test]
    fn empty_list_is_null() {
        assert_eq!(layout(&[]), Image::default());
        assert!(materialize(&layout(&[])).unwrap().is_null());
    }

    #[test]
    fn the_block_reads_back_as_a_c_list_and_frees_with_one_free() {
        let recs = records();
        let head = materialize(&layout(&recs)).unwrap();
        // SAFETY: `head` is the list just built; read as C would.
        unsafe {
            let mut seen = Vec::new();
            let mut p = head;
            while let Some(ifa) = p.as_ref() {
                seen.push((
                    CStr::from_ptr(ifa.ifa_name).to_str().unwrap().to_string(),
                    ifa.ifa_flags,
                    ifa.ifa_addr.as_ref().map(|a| a.sa_family),
                    !ifa.ifa_data.is_null(),
                ));
                p = ifa.ifa_next;
            }
            assert_eq!(
                seen,
                vec![
                    ("eth0".to_string(), 0x1043, Some(17), true),
                    ("eth0:1".to_string(), 0x1043, Some(2), false),
                    ("eth0".to_string(), 0x1043, Some(10), false),
                ]
            );
            let first = &*head;
            let ll = &*first.ifa_addr.cast::<libc::sockaddr_ll>();
            assert_eq!((ll.sll_ifindex, ll.sll_hatype, ll.sll_halen), (2, 1, 6));
            assert_eq!(ll.sll_addr[..6], [2, 0, 0, 0, 0, 1]);
            let stats = std::slice::from_raw_parts(first.ifa_data.cast::<u32>(), 24);
            assert_eq!((stats[0], stats[23]), (11, 24));
            let second = &*first.ifa_next;
            let sin = &*second.ifa_netmask.cast::<libc::sockaddr_in>();
            assert_eq!(sin.sin_addr.s_addr, u32::from_ne_bytes([255, 255, 255, 0]));
            let bcast = &*second.ifa_ifu.cast::<libc::sockaddr_in>();
            assert_eq!(bcast.sin_addr.s_addr, u32::from_ne_bytes([10, 1, 2, 255]));
            let third = &*second.ifa_next;
            let sin6 = &*third.ifa_addr.cast::<libc::sockaddr_in6>();
            assert_eq!(sin6.sin6_scope_id, 2);
            assert!(third.ifa_ifu.is_null());
            assert!(third.ifa_next.is_null());
            libc::free(head.cast());
        }
    }

    #[test]
    fn lists_are_built_and_freed_like_glibc_s() {
        let links = vec![(1, "lo".to_string()), (7, "br0".to_string())];
        let list = build_nameindex(&links).unwrap();
        // SAFETY: the list just built.
        unsafe {
            let e = std::slice::from_raw_parts(list, 3);
            assert_eq!(e[0].if_index, 1);
            assert_eq!(CStr::from_ptr(e[0].if_name).to_bytes(), b"lo");
            assert_eq!(e[1].if_index, 7);
            assert_eq!(CStr::from_ptr(e[1].if_name).to_bytes(), b"br0");
            assert_eq!(e[2].if_index, 0);
            assert!(e[2].if_name.is_null());
            free_nameindex(list);
        }
        let empty = build_nameindex(&[]).unwrap();
        // SAFETY: as above.
        unsafe {
            assert_eq!((*empty).if_index, 0);
            free_nameindex(empty);
            free_nameindex(std::ptr::null_mut());
        }
    }
}
