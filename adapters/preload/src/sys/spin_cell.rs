//! [`SpinCell`]: data behind a small spin lock that `fork` cannot leave
//! held in the child.
//!
//! The descriptor table ([`crate::fdtable`]) is read by every `read`,
//! `write` and `close` of the program, from any thread, after `fork`, and
//! possibly from a signal handler: a lock that allocates, parks or uses a
//! futex owned by another thread would not do. The lock is never held
//! while calling out of the shim (only the closure given to
//! [`SpinCell::with`] runs under it).

use std::cell::UnsafeCell;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Once;

/// A value behind a spin lock.
pub(crate) struct SpinCell<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached while `locked` is held (see `with` and
// `try_with`), so by one thread at a time; `T: Send` lets it be reached from
// whichever thread holds the lock.
unsafe impl<T: Send> Sync for SpinCell<T> {}

/// Takes `lock`, spinning (and yielding) until it is free.
fn lock(lock: &AtomicBool) {
    while lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
}

/// Releases `lock`.
fn unlock(lock: &AtomicBool) {
    lock.store(false, Ordering::Release);
}

impl<T> SpinCell<T> {
    /// A cell holding `value`, unlocked.
    pub(crate) const fn new(value: T) -> Self {
        SpinCell {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value under the lock. `f` must not call out of the
    /// shim, nor use this cell again (it would wait for itself).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        lock(&self.locked);
        // SAFETY: the lock is held: no other reference to the value exists.
        let value = unsafe { &mut *self.value.get() };
        let r = f(value);
        unlock(&self.locked);
        r
    }

    /// As [`with`](Self::with), but `None` instead of waiting when the lock
    /// is held.
    pub(crate) fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: the lock is held: no other reference to the value exists.
        let value = unsafe { &mut *self.value.get() };
        let r = f(value);
        unlock(&self.locked);
        Some(r)
    }
}

/// The lock `fork` takes around itself (the shim has one such cell, the
/// descriptor table); null until registered.
static FORK_LOCK: AtomicPtr<AtomicBool> = AtomicPtr::new(null_mut());
static ATFORK: Once = Once::new();

/// The registered lock, if any.
fn fork_lock() -> Option<&'static AtomicBool> {
    let p = FORK_LOCK.load(Ordering::Acquire);
    // SAFETY: only `hold_across_fork` stores here, the address of a
    // `'static` cell's lock.
    unsafe { p.as_ref() }
}

extern "C" fn atfork_prepare() {
    if let Some(l) = fork_lock() {
        lock(l);
    }
}

extern "C" fn atfork_release() {
    if let Some(l) = fork_lock() {
        unlock(l);
    }
}

impl<T: Send> SpinCell<T> {
    /// Makes `fork` take this cell's lock around itself, so that a child
    /// never inherits it held by a thread it does not have (once per
    /// process; only the first cell registered is guarded).
    pub(crate) fn hold_across_fork(&'static self) {
        ATFORK.call_once(|| {
            FORK_LOCK.store(
                std::ptr::from_ref(&self.locked).cast_mut(),
                Ordering::Release,
            );
            // SAFETY: registers plain functions that take and release the
            // lock. If it fails (ENOMEM) the cell still works, just not
            // across a fork racing another thread.
            let _ = unsafe {
                libc::pthread_atfork(
                    Some(atfork_prepare),
                    Some(atfork_release),
                    Some(atfork_release),
                )
            };
        });
    }
}
