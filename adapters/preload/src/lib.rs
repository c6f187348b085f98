//! # libnlq_preload.so: run unmodified programs on an nlq daemon's stack
//!
//! A shared object for `LD_PRELOAD` that makes a program's rtnetlink, its
//! netdevice ioctls and the libc functions that read the interface list
//! talk to an nlq daemon (`nlq serve --socket PATH`) instead of the kernel.
//! `ip` (including `ip monitor`), `ifconfig`, programs calling `getifaddrs`
//! or `if_nametoindex`, Python's `socket` module and pyroute2 then see and
//! configure the daemon's user-space stack:
//!
//! ```sh
//! nlq serve --socket /run/nlq.sock &
//! NLQ_SOCKET=/run/nlq.sock LD_PRELOAD=/path/to/libnlq_preload.so ip link
//! ```
//!
//! (`nlq exec` sets both variables for a command.) `NLQ_SOCKET` is read
//! once, at the first call that needs it; a path starting with `@` names an
//! abstract socket. Without `NLQ_SOCKET` (or with it empty) every call goes
//! to libc unchanged.
//!
//! ## What is interposed
//!
//! - **Netlink sockets.** `socket(AF_NETLINK, SOCK_RAW | SOCK_DGRAM,
//!   NETLINK_ROUTE)` (with `SOCK_CLOEXEC` / `SOCK_NONBLOCK` as given)
//!   returns a connected `AF_UNIX` `SOCK_SEQPACKET` socket to the daemon
//!   (see `nlq_remote`). The program's descriptor *is* that socket, so
//!   `poll`, `select` and `epoll` work as they would on netlink; the shim
//!   never buffers data. `send`, `sendto`, `sendmsg`, `sendmmsg`, `write`,
//!   `writev` forward the datagram as it is; one addressed to another
//!   socket's port or to groups (`sendto`, `msg_name`, or the destination
//!   `connect` set) goes to the daemon as a control request, which
//!   delivers it to those sockets as the kernel does (with the kernel's
//!   `CAP_NET_ADMIN` rule) and returns once it is delivered. `recv`,
//!   `recvfrom`, `recvmsg`, `recvmmsg`, `read`, `readv` (and the
//!   `_FORTIFY_SOURCE` variants) strip the daemon's header, keep
//!   `MSG_PEEK`, `MSG_TRUNC`, `MSG_DONTWAIT` semantics, report an errno the
//!   daemon queued (such as `ENOBUFS`) as the call's failure, fill the
//!   sender's `sockaddr_nl` (port 0 for the kernel, else the sending
//!   socket's port; the multicast group's bit), and add `NETLINK_PKTINFO`
//!   and `SCM_CREDENTIALS` (`SO_PASSCRED`: pid, uid and gid 0 for the
//!   kernel, the sending process's otherwise) when asked, in the kernel's
//!   order. `bind`, `getsockname`, `getpeername`, `connect`, `setsockopt` /
//!   `getsockopt` (`SOL_NETLINK`, and `SO_RCVBUF`, `SO_PASSCRED`, `SO_TYPE`,
//!   `SO_DOMAIN`, `SO_PROTOCOL` of `SOL_SOCKET`) act as on a netlink
//!   socket. `close`, `close_range`, `closefrom`, `dup`,
//!   `dup2`, `dup3` and `fcntl(F_DUPFD*)` keep the table of netlink
//!   descriptors right. Other `AF_NETLINK` protocols (generic netlink, ...)
//!   and every other socket go to the kernel.
//! - **Netdevice emulation.** The netdevice ioctls (`SIOCGIFFLAGS`,
//!   `SIOCSIFADDR`, `SIOCGIFCONF`, ..., see `nlq::emulate::ioctl`) on any descriptor
//!   are answered by the daemon. Other ioctls that would read or change a
//!   host interface, its routes or its ARP table (the rest of the
//!   `0x890b..=0x89ff` socket-ioctl range and the wireless extensions) fail
//!   with `EOPNOTSUPP` instead of reaching the host; every other ioctl goes
//!   to the kernel. Opening `/proc/net/dev` or `/proc/net/if_inet6`
//!   (also as `/proc/self/net/...`, `/proc/thread-self/net/...` and
//!   `/proc/<own pid>/net/...`) for reading, through `fopen`, `open` or
//!   `openat`, gives a memory file with the daemon's text (what `ifconfig`
//!   reads for its list, its counters and its IPv6 addresses).
//! - **Links by the daemon's indexes and names.** Binding or sending on a
//!   packet socket with an interface index (`sockaddr_ll`), a packet
//!   socket's `PACKET_ADD_MEMBERSHIP` on one, and `SO_BINDTODEVICE` /
//!   `SO_BINDTOIFINDEX` on any socket fail with `ENODEV`: the indexes and
//!   names a program sees are the daemon's, and must not reach whatever
//!   host interface has them. A packet socket tied to no link is the
//!   kernel's.
//! - **libc's interface functions**: `getifaddrs` / `freeifaddrs` (the list
//!   is one `malloc` block, so glibc's `freeifaddrs` frees it too),
//!   `if_nametoindex`, `if_indextoname`, `if_nameindex` /
//!   `if_freenameindex` (allocated as glibc does), with glibc's errnos.
//!
//! ## Failures
//!
//! The shim never falls back to the kernel when the daemon cannot be
//! reached: a program must not configure the host by mistake. `socket()`
//! for `NETLINK_ROUTE` then fails with `ECONNREFUSED` (no socket file at the
//! path, or nobody listening), `EACCES` (no permission), `ENAMETOOLONG` (a
//! path longer than a `sun_path`), or `EPROTO` (the peer is not an nlq
//! daemon); the other interposed calls fail with the same errnos.
//!
//! ## Known differences from a kernel netlink socket
//!
//! - The kernel handles a request inside `sendmsg`; the daemon answers
//!   after it. The shim makes the difference invisible where a program can
//!   see it: before a read that must not wait (`MSG_DONTWAIT`,
//!   `O_NONBLOCK`), before any other exchange with the daemon (a send on
//!   another socket, `getifaddrs`, an ioctl, ...), at `close` and at
//!   `exit`, it waits until the daemon has handled what was sent (`Sync`).
//!   A read that waits sees the answers when they come. Where the kernel
//!   would already have queued an answer, these may find nothing yet:
//!   `poll`, `select` or `epoll` with a zero timeout right after a send,
//!   `ioctl(FIONREAD)`, a read with a very short `SO_RCVTIMEO`; and a
//!   process that ends without `exit` (`_exit`, a signal, `exec` closing
//!   its sockets) leaves its last requests to be handled after it, not
//!   before.
//! - A read that would wait first polls the daemon connection for up to
//!   50 µs (`NLQ_SPIN_US`; 0 turns it off; off on a machine with one
//!   CPU): the answer usually comes sooner, and sleeping for it costs more
//!   than the request.
//! - `connect` to another socket or to groups without `CAP_NET_ADMIN`
//!   succeeds; the first send then fails with `EPERM` (the kernel refuses
//!   the `connect`). A datagram for another socket whose reader has no
//!   room is queued beyond its receive buffer, where the kernel makes the
//!   sender wait. Control messages a program sends (its own
//!   `SCM_CREDENTIALS`) are dropped: the daemon gives the credentials of
//!   the process that opened the socket. The connected state of a
//!   receiving socket does not limit who may send to it.
//! - Control messages: the shim adds `NETLINK_PKTINFO` and
//!   `SCM_CREDENTIALS`; other `SOL_SOCKET` ones (timestamps) come from the
//!   `AF_UNIX` socket; the nsid of `NETLINK_LISTEN_ALL_NSID` is never
//!   sent.
//! - A netlink descriptor inherited across `execve` is a plain `AF_UNIX`
//!   socket in the new program (the table lives in process memory). One
//!   closed behind the shim's back (`fclose` of an `fdopen` stream, a raw
//!   `close` syscall) stays in the table until its number comes back from
//!   `socket`, `open*` or `fopen*`, or is used by `read` / `write` on a
//!   non-socket; a number reused through another call (`accept`, `pipe`,
//!   ...) would be taken for the netlink socket.
//! - `recvmmsg`'s timeout is ignored.
//!
//! Still the host's: what a program reads outside these calls, such as
//! `/sys/class/net`, `/proc/net/route` or `/proc/net/arp`, and what glibc
//! does with its internal, non-interposable calls (the netlink socket of
//! `getaddrinfo`'s `AI_ADDRCONFIG`, the `if_nametoindex` inside
//! `getaddrinfo` for `%scope` suffixes). Programs that make system calls
//! without libc (Go binaries, static binaries) are not affected by
//! `LD_PRELOAD` at all and configure the host.
//!
//! ## C ABI notes
//!
//! `ioctl`, `fcntl`, `open` and `openat` are variadic in C, and stable Rust
//! cannot define variadic functions. They are defined with one fixed
//! argument in place of the `...` (a pointer-sized integer or a `mode_t`),
//! which on x86_64 and aarch64 Linux arrives in the same register as the
//! variadic argument would; the originals are called as variadic functions.
//!
//! ## Where the unsafe code is
//!
//! An `LD_PRELOAD` shim is made of raw pointers: every interposed call
//! hands it the program's buffers, addresses and structures as C pointers,
//! and it calls the real libc functions with them. All of that, and
//! nothing else, is in the module `sys`: the exported `extern "C"`
//! functions (`sys::exports`), the `dlsym` lookups of the originals
//! (`sys::originals`), the views that turn the program's pointers into
//! checked reads and writes (`sys::caller_memory`), the shim's own system
//! calls (`sys::os`), the `malloc`'d C lists (`sys::c_lists`) and the
//! descriptor table's fork-safe lock (`sys::spin_cell`). The rest of the
//! crate (the netlink emulation, the daemon connections, the descriptor
//! table, the `/proc` files, ...) is safe Rust: the crate denies
//! `unsafe_code` and only `sys` allows it, so the compiler keeps it that
//! way, and every unsafe block in `sys` carries a `// SAFETY:` comment
//! (`clippy::undocumented_unsafe_blocks`).
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]
// The exported functions are only exported (`no_mangle`) outside tests, so
// that the test harness itself is not interposed; tests call them directly.
#![cfg_attr(test, allow(dead_code))]

mod c_convention;
mod config;
mod control;
mod descriptors;
#[cfg(test)]
mod fake_daemon;
mod fdtable;
mod host_links;
mod ifaddrs;
mod nameindex;
mod netdevice;
mod netlink_data;
mod netlink_socket;
mod procfs;
// The one module with unsafe code (see "Where the unsafe code is"): the C
// boundary cannot be written without it.
#[allow(unsafe_code)]
mod sys;
