//! A private network namespace, for examples and tests that want a real
//! kernel to talk to without touching the host's interfaces.
//!
//! As root, [`enter`] unshares the network namespace. Otherwise it first
//! creates a user namespace that maps the caller to root, which owns the new
//! network namespace: no root needed where unprivileged user namespaces are
//! allowed (`/proc/sys/user/max_user_namespaces` above 0 and no distribution
//! policy against them). Every doc example of this crate starts this way.

use std::io;

/// Moves the calling thread (as root) or the calling process (otherwise:
/// it must then be single-threaded, as a doc test or a small program is)
/// into a new network namespace holding only `lo`, down.
pub fn enter() -> io::Result<()> {
    // SAFETY: geteuid, getuid and getgid have no preconditions.
    let (euid, uid, gid) = unsafe { (libc::geteuid(), libc::getuid(), libc::getgid()) };
    if euid == 0 {
        return unshare(libc::CLONE_NEWNET);
    }
    unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET)?;
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(())
}

/// [`enter`], or `false` with the reason printed when it cannot be done
/// (then the caller skips what needed it).
pub fn enter_or_skip(what: &str) -> bool {
    match enter() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipping {what}: cannot create a private network namespace ({e})");
            false
        }
    }
}

fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare(2) takes only flags; it affects the calling thread or
    // process, as documented above.
    if unsafe { libc::unshare(flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
