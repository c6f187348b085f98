//! The functions the shim exports, with the C ABI and names of the libc
//! functions they replace.
//!
//! Each one is a thin door: it wraps its raw pointer arguments in the views
//! of [`super::caller_memory`] (on the promise the C function makes its
//! caller keep), runs the safe module that does the work inside
//! [`guard`](crate::c_convention::guard) (a panic must not unwind into C),
//! and hands that module `original`: a closure calling the libc function
//! with the program's arguments unchanged, for when the call is not the
//! shim's to answer.
//!
//! They are exported (`no_mangle`) only outside tests, so that the test
//! harness itself is not interposed; tests call them directly.

pub(crate) mod data;
pub(crate) mod descriptors;
pub(crate) mod files;
pub(crate) mod interfaces;
pub(crate) mod sockets;
