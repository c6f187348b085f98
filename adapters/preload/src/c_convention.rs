//! The C convention of the exported functions: `errno` and a failure
//! value, and panic containment.

use std::panic::{catch_unwind, AssertUnwindSafe};

use libc::c_int;

pub(crate) use crate::sys::os::{errno, set_errno};

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
}
