//! Small helpers for the exported C functions: errno, panic containment and
//! copying socket addresses out the way the kernel does.

use std::panic::{catch_unwind, AssertUnwindSafe};

use libc::{c_int, c_void, socklen_t};

/// Sets the calling thread's `errno`.
pub(crate) fn set_errno(e: c_int) {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the thread's lifetime.
    unsafe { *libc::__errno_location() = e }
}

/// The calling thread's `errno`.
pub(crate) fn errno() -> c_int {
    // SAFETY: as in `set_errno`.
    unsafe { *libc::__errno_location() }
}

/// Sets `errno` to `e` and returns `value` (the C function's failure value).
pub(crate) fn fail<R>(e: c_int, value: R) -> R {
    set_errno(e);
    value
}

/// Runs the body of an exported function. A panic (a bug in the shim) must
/// not unwind into C: it becomes the failure value `failure` with `EIO`.
pub(crate) fn guard<R>(failure: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(_) => fail(libc::EIO, failure),
    }
}

/// `Ok(v)` → `v`; `Err(e)` → `errno = e`, `failure`.
pub(crate) fn finish<T>(r: Result<T, c_int>, failure: T) -> T {
    r.unwrap_or_else(|e| fail(e, failure))
}

/// How many bytes of an address of `actual` bytes fit a caller's buffer of
/// `capacity` bytes (the kernel copies the smaller and reports `actual`).
pub(crate) fn address_copy_len(capacity: socklen_t, actual: usize) -> usize {
    usize::try_from(capacity).map_or(actual, |c| c.min(actual))
}

/// Copies `addr` to a caller's `(addr, addrlen)` pair as `getsockname` and
/// `recvfrom` do: at most `*addrlen` bytes, then `*addrlen` = the full size.
/// Null pointers are skipped (`EFAULT` where the kernel would fault is the
/// caller's business).
///
/// # Safety
///
/// `out` is null or valid for `*len` bytes; `len` is null or valid.
pub(crate) unsafe fn copy_address_out(addr: &[u8], out: *mut c_void, len: *mut socklen_t) {
    if len.is_null() {
        return;
    }
    // SAFETY: `len` is valid (checked non-null, caller's promise).
    let capacity = unsafe { *len };
    if !out.is_null() {
        let n = address_copy_len(capacity, addr.len());
        // SAFETY: `out` has room for `capacity >= n` bytes; `addr` has `n`.
        unsafe { std::ptr::copy_nonoverlapping(addr.as_ptr(), out.cast::<u8>(), n) };
    }
    // SAFETY: as above.
    unsafe { *len = socklen_t::try_from(addr.len()).unwrap_or(socklen_t::MAX) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trips_and_panics_are_contained() {
        set_errno(0);
        assert_eq!(fail(libc::ENODEV, -1), -1);
        assert_eq!(errno(), libc::ENODEV);
        let r = guard(-1, || -> i32 { panic!("boom") });
        assert_eq!((r, errno()), (-1, libc::EIO));
        assert_eq!(guard(-1, || 5), 5);
        assert_eq!(finish(Err::<i32, _>(libc::EINVAL), -1), -1);
        assert_eq!(errno(), libc::EINVAL);
    }

    #[test]
    fn addresses_are_cut_to_the_buffer_and_report_their_size() {
        assert_eq!(address_copy_len(4, 12), 4);
        assert_eq!(address_copy_len(128, 12), 12);
        let mut buf = [0xffu8; 16];
        let mut len: socklen_t = 4;
        let addr = [1u8; 12];
        // SAFETY: `buf` has 16 bytes, `len` is valid.
        unsafe { copy_address_out(&addr, buf.as_mut_ptr().cast(), &mut len) };
        assert_eq!(len, 12);
        assert_eq!(buf[..4], [1; 4]);
        assert_eq!(buf[4], 0xff);
    }
}
