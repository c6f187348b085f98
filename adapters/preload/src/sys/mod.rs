//! The shim's only unsafe code: where C meets the safe modules.
//!
//! Everything that Rust cannot check lives under this module, and nowhere
//! else in the crate (the crate root denies `unsafe_code` and allows it
//! here alone):
//!
//! - [`exports`]: the `extern "C"` functions the shim exports under libc's
//!   names (`no_mangle` counts as unsafe code). Each wraps its raw
//!   pointers in views and calls the safe module that does the work.
//! - [`originals`]: the libc functions the shim replaces, found with
//!   `dlsym(RTLD_NEXT, ..)`, and called with raw pointers.
//! - [`caller_memory`]: views of the program's memory (addresses, option
//!   values, `iovec`s, `msghdr`s, C strings) whose safe methods do the
//!   reads and writes the kernel would, and hand the same buffers to the
//!   real `sendmsg` / `recvmsg` (the data plane copies nothing).
//! - [`os`]: safe wrappers of the calls the shim makes on its own
//!   descriptors and buffers, and `errno`.
//! - [`c_lists`]: the `malloc`'d lists of `getifaddrs` and `if_nameindex`.
//! - [`spin_cell`]: the fork-safe spin lock of the descriptor table.
//!
//! Every `unsafe` block here says why it is sound in a `// SAFETY:`
//! comment (`clippy::undocumented_unsafe_blocks` is on).

pub(crate) mod c_lists;
pub(crate) mod caller_memory;
pub(crate) mod exports;
pub(crate) mod originals;
pub(crate) mod os;
pub(crate) mod spin_cell;
