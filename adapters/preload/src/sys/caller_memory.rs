//! Views of the program's memory that an interposed call was given: socket
//! addresses in and out, option values, `iovec` arrays, `msghdr`s and
//! `mmsghdr` arrays, C strings.
//!
//! Each view is made (by an `unsafe` constructor, in [`super::exports`])
//! from the raw pointers of the call, on the promise the C function makes
//! its caller keep: the pointer is null or valid for what it describes,
//! for the duration of the call (the view's lifetime). From then on the
//! safe modules read and fill that memory only through the views' safe
//! methods, which do the checks the kernel would (`EFAULT` for a null
//! pointer with a length, `EMSGSIZE` past `IOV_MAX`, ...).
//!
//! The views keep raw pointers and make a Rust reference only for as long
//! as one method runs, so the same memory can be handed to the kernel
//! unchanged (a pass-through, or the real `recvmsg` of a netlink read)
//! while a view of it exists. Buffers are never copied here, except where
//! the shim must have the bytes themselves (a datagram for other sockets,
//! which goes inside a control request).

use std::ffi::CStr;
use std::marker::PhantomData;

use libc::{
    c_char, c_int, c_uint, c_void, iovec, mmsghdr, msghdr, size_t, sockaddr, socklen_t, ssize_t,
};

use super::originals;

/// `IOV_MAX`: the most buffers one call takes.
pub(crate) const IOV_MAX: usize = 1024;

/// A socket address the caller passed in (`bind`, `connect`, `sendto`, a
/// `msghdr`'s name).
#[derive(Clone, Copy)]
pub(crate) struct AddrIn<'a> {
    addr: *const sockaddr,
    len: socklen_t,
    _caller: PhantomData<&'a [u8]>,
}

impl<'a> AddrIn<'a> {
    /// The address `(addr, len)`.
    ///
    /// # Safety
    ///
    /// `addr` is null or valid for reads of `len` bytes during `'a`.
    pub(crate) unsafe fn new(addr: *const sockaddr, len: socklen_t) -> Self {
        AddrIn {
            addr,
            len,
            _caller: PhantomData,
        }
    }

    /// The address's bytes (`EFAULT` for a null pointer with a length).
    pub(crate) fn bytes(&self) -> Result<&'a [u8], c_int> {
        // SAFETY: the constructor's promise.
        unsafe { address_bytes(self.addr, self.len) }
    }
}

/// The bytes a caller passed as a socket address (`EFAULT` for a null
/// pointer with a length).
///
/// # Safety
///
/// `addr` is null or valid for `len` bytes.
unsafe fn address_bytes<'a>(addr: *const sockaddr, len: socklen_t) -> Result<&'a [u8], c_int> {
    let len = usize::try_from(len).map_err(|_| libc::EINVAL)?;
    if len == 0 {
        return Ok(&[]);
    }
    if addr.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len) })
}

/// A caller's `(addr, addrlen)` pair to fill with an address
/// (`getsockname`, `getpeername`).
pub(crate) struct AddrOut<'a> {
    addr: *mut c_void,
    len: *mut socklen_t,
    _caller: PhantomData<&'a mut [u8]>,
}

impl AddrOut<'_> {
    /// The pair `(addr, len)`.
    ///
    /// # Safety
    ///
    /// `len` is null or valid; `addr` is null or valid for writes of
    /// `*len` bytes; both during the view's lifetime.
    pub(crate) unsafe fn new(addr: *mut sockaddr, len: *mut socklen_t) -> Self {
        AddrOut {
            addr: addr.cast(),
            len,
            _caller: PhantomData,
        }
    }

    /// The caller passed a length to fill.
    pub(crate) fn has_len(&self) -> bool {
        !self.len.is_null()
    }

    /// Writes `addr` as the kernel does (see [`copy_address_out`]).
    pub(crate) fn write(&mut self, addr: &[u8]) {
        // SAFETY: the constructor's promise.
        unsafe { copy_address_out(addr, self.addr, self.len) }
    }
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
unsafe fn copy_address_out(addr: &[u8], out: *mut c_void, len: *mut socklen_t) {
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

/// The value a caller passed to `setsockopt`.
#[derive(Clone, Copy)]
pub(crate) struct OptIn<'a> {
    value: *const c_void,
    len: socklen_t,
    _caller: PhantomData<&'a [u8]>,
}

impl<'a> OptIn<'a> {
    /// The value `(value, len)`.
    ///
    /// # Safety
    ///
    /// `value` is null or valid for reads of `len` bytes during `'a`.
    pub(crate) unsafe fn new(value: *const c_void, len: socklen_t) -> Self {
        OptIn {
            value,
            len,
            _caller: PhantomData,
        }
    }

    /// The value's bytes (empty for a null pointer or no length).
    pub(crate) fn bytes(&self) -> &'a [u8] {
        match usize::try_from(self.len) {
            // SAFETY: the constructor's promise on `value` / `len`.
            Ok(n) if n > 0 && !self.value.is_null() => unsafe {
                std::slice::from_raw_parts(self.value.cast::<u8>(), n)
            },
            _ => &[],
        }
    }

    /// The `int` value as netlink reads it (see [`option_int`]).
    pub(crate) fn netlink_int(&self) -> Result<u32, c_int> {
        // SAFETY: the constructor's promise.
        unsafe { option_int(self.value, self.len) }
    }

    /// The `int` value as `sk_setsockopt` reads it: `EINVAL` if shorter
    /// than an `int`, `EFAULT` for a null pointer.
    pub(crate) fn socket_int(&self) -> Result<c_int, c_int> {
        if usize::try_from(self.len).map_or(true, |l| l < 4) {
            return Err(libc::EINVAL);
        }
        if self.value.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: `value` has at least four bytes (checked above).
        Ok(unsafe { std::ptr::read_unaligned(self.value.cast::<c_int>()) })
    }
}

/// The `int` value of a `setsockopt`, as netlink reads it: 0 when shorter
/// than an `int`.
///
/// # Safety
///
/// `value` is null or valid for `len` bytes.
unsafe fn option_int(value: *const c_void, len: socklen_t) -> Result<u32, c_int> {
    if usize::try_from(len).map_or(true, |l| l < 4) {
        return Ok(0);
    }
    if value.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: `value` has at least 4 bytes (the caller's promise).
    Ok(unsafe { value.cast::<u32>().read_unaligned() })
}

/// The `(value, len)` pair a caller passed to `getsockopt`.
pub(crate) struct OptOut<'a> {
    value: *mut c_void,
    len: *mut socklen_t,
    _caller: PhantomData<&'a mut [u8]>,
}

impl OptOut<'_> {
    /// The pair `(value, len)`.
    ///
    /// # Safety
    ///
    /// `len` is null or valid; `value` is null or valid for writes of
    /// `*len` bytes; both during the view's lifetime.
    pub(crate) unsafe fn new(value: *mut c_void, len: *mut socklen_t) -> Self {
        OptOut {
            value,
            len,
            _caller: PhantomData,
        }
    }

    /// Writes an option's bytes (see [`option_out`]).
    pub(crate) fn write(&mut self, bytes: &[u8], min: usize) -> Result<(), c_int> {
        // SAFETY: the constructor's promise.
        unsafe { option_out(bytes, min, self.value, self.len) }
    }

    /// Writes a bitmap of groups (see [`list_memberships_out`]).
    pub(crate) fn write_memberships(&mut self, bitmap: &[u8]) -> Result<(), c_int> {
        // SAFETY: the constructor's promise.
        unsafe { list_memberships_out(bitmap, self.value, self.len) }
    }
}

/// Writes an option's bytes to the caller as the kernel does: at most
/// `*len` bytes, `*len` = the bytes written. `min` is the smallest buffer
/// the option accepts (`EINVAL` below it).
///
/// # Safety
///
/// `len` is null or valid; `value` is null or valid for `*len` bytes.
unsafe fn option_out(
    bytes: &[u8],
    min: usize,
    value: *mut c_void,
    len: *mut socklen_t,
) -> Result<(), c_int> {
    if len.is_null() {
        return Err(libc::EFAULT);
    }
    // SAFETY: `len` is valid.
    let have = usize::try_from(unsafe { *len } as c_int).map_err(|_| libc::EINVAL)?;
    if have < min {
        return Err(libc::EINVAL);
    }
    let n = have.min(bytes.len());
    if n > 0 {
        if value.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: `value` has `have >= n` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), value.cast::<u8>(), n) };
    }
    // SAFETY: `len` is valid.
    unsafe { *len = socklen_t::try_from(n).unwrap_or(0) };
    Ok(())
}

/// `NETLINK_LIST_MEMBERSHIPS`: copies what fits of the bitmap, and sets
/// `*len` to the bitmap's full size (so a caller learns how much to pass).
///
/// # Safety
///
/// As for [`option_out`].
unsafe fn list_memberships_out(
    bitmap: &[u8],
    value: *mut c_void,
    len: *mut socklen_t,
) -> Result<(), c_int> {
    // SAFETY: the caller's promise.
    unsafe { option_out(bitmap, 0, value, len) }?;
    // SAFETY: `option_out` checked `len`.
    unsafe { *len = socklen_t::try_from(bitmap.len()).unwrap_or(0) };
    Ok(())
}

/// A caller's `iovec` array, not yet checked.
#[derive(Clone, Copy)]
pub(crate) struct IoVecs<'a> {
    iov: *const iovec,
    count: usize,
    _caller: PhantomData<&'a [iovec]>,
}

impl<'a> IoVecs<'a> {
    /// The array `(iov, count)`.
    ///
    /// # Safety
    ///
    /// `iov` is null or valid for `count` entries, each describing a
    /// buffer valid for reads and writes of its length, during `'a`.
    pub(crate) unsafe fn new(iov: *const iovec, count: usize) -> Self {
        IoVecs {
            iov,
            count,
            _caller: PhantomData,
        }
    }

    /// The array, checked as the kernel checks it: `EFAULT` for a null
    /// array with a length, `EMSGSIZE` past `IOV_MAX`.
    pub(crate) fn check(&self) -> Result<Bufs<'a>, c_int> {
        if self.count == 0 {
            return Ok(Bufs { iov: &[] });
        }
        if self.count > IOV_MAX {
            return Err(libc::EMSGSIZE);
        }
        if self.iov.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: the constructor's promise.
        let iov = unsafe { std::slice::from_raw_parts(self.iov, self.count) };
        Ok(Bufs { iov })
    }

    /// Runs `f` on a `msghdr` with these buffers and nothing else (as
    /// `readv` is a `recvmsg`).
    pub(crate) fn as_message<R>(&self, f: impl FnOnce(&mut MsgOut<'_>) -> R) -> R {
        // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = self.iov.cast_mut();
        m.msg_iovlen = self.count;
        // `m` lives through the call and describes the buffers of the
        // constructor's promise.
        let mut view = MsgOut {
            msg: &mut m,
            _caller: PhantomData,
        };
        f(&mut view)
    }
}

/// A caller's `iovec` array, checked ([`IoVecs::check`]); the buffers'
/// addresses are not.
#[derive(Clone, Copy)]
pub(crate) struct Bufs<'a> {
    iov: &'a [iovec],
}

impl<'a> Bufs<'a> {
    /// The buffers' total length.
    pub(crate) fn total_len(&self) -> usize {
        self.iov
            .iter()
            .fold(0usize, |t, v| t.saturating_add(v.iov_len))
    }

    /// Every buffer is empty.
    pub(crate) fn all_empty(&self) -> bool {
        self.iov.iter().all(|v| v.iov_len == 0)
    }

    /// A copy of the buffers' bytes, in order (`EFAULT` for a null buffer
    /// with a length).
    pub(crate) fn gather(&self) -> Result<Vec<u8>, c_int> {
        let mut datagram = Vec::with_capacity(self.total_len());
        for v in self.iov.iter().filter(|v| v.iov_len > 0) {
            if v.iov_base.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: the caller described `iov_len` readable bytes at
            // `iov_base` (`IoVecs::new`'s promise).
            datagram.extend_from_slice(unsafe {
                std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len)
            });
        }
        Ok(datagram)
    }

    /// `sendmsg(2)` (the original) of these buffers as one datagram, with
    /// no address and no control messages: the caller's bytes go to the
    /// kernel where they are.
    pub(crate) fn sendmsg(&self, fd: c_int, flags: c_int) -> ssize_t {
        // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = self.iov.as_ptr().cast_mut();
        m.msg_iovlen = self.iov.len();
        // SAFETY: `m` describes the caller's buffers only (`IoVecs::new`'s
        // promise); the kernel reads them.
        unsafe { originals::sendmsg(fd, &m, flags) }
    }
}

/// A `msghdr` the caller passed to `sendmsg` / `sendmmsg`.
#[derive(Clone, Copy)]
pub(crate) struct MsgIn<'a> {
    msg: *const msghdr,
    _caller: PhantomData<&'a msghdr>,
}

impl<'a> MsgIn<'a> {
    /// The message at `msg`; `None` when null.
    ///
    /// # Safety
    ///
    /// `msg` is null or a valid `msghdr` whose name and buffers are valid
    /// for what it says, during `'a`.
    pub(crate) unsafe fn new(msg: *const msghdr) -> Option<Self> {
        (!msg.is_null()).then_some(MsgIn {
            msg,
            _caller: PhantomData,
        })
    }

    /// The destination (`msg_name`, `msg_namelen`).
    pub(crate) fn name(&self) -> AddrIn<'a> {
        // SAFETY: `msg` is valid (the constructor's promise).
        let m = unsafe { &*self.msg };
        // SAFETY: the name is valid for `msg_namelen` bytes (as above).
        unsafe { AddrIn::new(m.msg_name.cast(), m.msg_namelen) }
    }

    /// The buffers (`msg_iov`, `msg_iovlen`).
    pub(crate) fn bufs(&self) -> IoVecs<'a> {
        // SAFETY: `msg` is valid (the constructor's promise).
        let m = unsafe { &*self.msg };
        // SAFETY: the buffers are valid (as above).
        unsafe { IoVecs::new(m.msg_iov, m.msg_iovlen) }
    }
}

/// A `msghdr` to receive into: the caller's (`recvmsg`, `recvmmsg`) or one
/// the shim made around a caller's buffers (`recv`, `read`, ...).
pub(crate) struct MsgOut<'a> {
    msg: *mut msghdr,
    _caller: PhantomData<&'a mut msghdr>,
}

impl<'a> MsgOut<'a> {
    /// The message at `msg`; `None` when null.
    ///
    /// # Safety
    ///
    /// `msg` is null or a valid `msghdr` whose name, buffers and control
    /// buffer are valid for reads and writes of what it says, during `'a`.
    pub(crate) unsafe fn new(msg: *mut msghdr) -> Option<Self> {
        (!msg.is_null()).then_some(MsgOut {
            msg,
            _caller: PhantomData,
        })
    }

    /// The header, for one method's duration.
    fn header(&self) -> &msghdr {
        // SAFETY: `msg` is valid (the constructor's promise); no other
        // reference to it is alive while a method runs.
        unsafe { &*self.msg }
    }

    /// The header, mutably, for one method's duration.
    fn header_mut(&mut self) -> &mut msghdr {
        // SAFETY: as in `header`.
        unsafe { &mut *self.msg }
    }

    /// The same message, to read as one sent (`sendmmsg`).
    pub(crate) fn as_sent(&self) -> MsgIn<'_> {
        MsgIn {
            msg: self.msg,
            _caller: PhantomData,
        }
    }

    /// The buffers (`msg_iov`, `msg_iovlen`).
    pub(crate) fn bufs(&self) -> IoVecs<'a> {
        let m = self.header();
        // SAFETY: the buffers are valid (the constructor's promise).
        unsafe { IoVecs::new(m.msg_iov, m.msg_iovlen) }
    }

    /// The room of the control buffer (0 without one).
    pub(crate) fn control_capacity(&self) -> usize {
        let m = self.header();
        if m.msg_control.is_null() {
            0
        } else {
            m.msg_controllen
        }
    }

    /// Sets `msg_flags`.
    pub(crate) fn set_flags(&mut self, flags: c_int) {
        self.header_mut().msg_flags = flags;
    }

    /// Sets `msg_controllen`.
    pub(crate) fn set_control_len(&mut self, len: usize) {
        self.header_mut().msg_controllen = len;
    }

    /// Writes the sender's address to `msg_name` (if the caller gave one):
    /// what fits of `msg_namelen`, then `msg_namelen` = its full size.
    pub(crate) fn write_name(&mut self, sa: &[u8]) {
        let m = self.header_mut();
        if m.msg_name.is_null() {
            return;
        }
        let room = usize::try_from(m.msg_namelen).unwrap_or(0).min(sa.len());
        // SAFETY: `msg_name` has `msg_namelen >= room` bytes.
        unsafe { std::ptr::copy_nonoverlapping(sa.as_ptr(), m.msg_name.cast::<u8>(), room) };
        m.msg_namelen = socklen_t::try_from(sa.len()).unwrap_or(socklen_t::MAX);
    }

    /// Appends a control message (its `CMSG_SPACE` bytes) after what is
    /// there, or sets `MSG_CTRUNC` when it does not fit the `capacity`
    /// the call began with.
    pub(crate) fn append_control(&mut self, capacity: usize, cmsg: &[u8]) {
        // SAFETY: `msg_control` is null or valid for `capacity` bytes
        // (`capacity` is `control_capacity()` before the receive).
        unsafe { append_cmsg(self.header_mut(), capacity, cmsg) }
    }

    /// A real `recvmsg` of one datagram from the daemon: its first
    /// `header.len()` bytes into `header`, the rest into `bufs` (the
    /// caller's buffers, where the bytes stay), control messages into this
    /// message's control buffer.
    pub(crate) fn daemon_recv<'b>(&self, header: &'b mut [u8], bufs: Bufs<'b>) -> DaemonRecv<'b>
    where
        'a: 'b,
    {
        let capacity = self.control_capacity();
        let mut iov = Vec::with_capacity(bufs.iov.len().saturating_add(1));
        iov.push(iovec {
            iov_base: header.as_mut_ptr().cast(),
            iov_len: header.len(),
        });
        iov.extend_from_slice(bufs.iov);
        // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
        let mut msg: msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len();
        msg.msg_control = self.header().msg_control;
        msg.msg_controllen = capacity;
        DaemonRecv {
            _iov: iov,
            msg,
            capacity,
            _buffers: PhantomData,
        }
    }
}

/// Appends a control message (its `CMSG_SPACE` bytes) after what is
/// there, or sets `MSG_CTRUNC` when it does not fit.
///
/// # Safety
///
/// `msg.msg_control` is null or valid for `capacity` bytes.
unsafe fn append_cmsg(msg: &mut msghdr, capacity: usize, cmsg: &[u8]) {
    let used = crate::netlink_data::cmsg_align(msg.msg_controllen);
    let end = used.saturating_add(cmsg.len());
    if msg.msg_control.is_null() || end > capacity {
        msg.msg_flags |= libc::MSG_CTRUNC;
        return;
    }
    // SAFETY: `used..end` lies within the caller's `capacity` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(
            cmsg.as_ptr(),
            msg.msg_control.cast::<u8>().add(used),
            cmsg.len(),
        )
    };
    msg.msg_controllen = end;
}

/// A prepared `recvmsg` on a daemon connection (see
/// [`MsgOut::daemon_recv`]).
pub(crate) struct DaemonRecv<'b> {
    /// The buffers `msg` points to: the header, then the caller's.
    _iov: Vec<iovec>,
    msg: msghdr,
    capacity: usize,
    _buffers: PhantomData<&'b mut [u8]>,
}

impl DaemonRecv<'_> {
    /// `recvmsg(2)` (the original): the bytes received or -1.
    pub(crate) fn recv(&mut self, fd: c_int, flags: c_int) -> ssize_t {
        // SAFETY: every buffer is the caller's or the header, valid for its
        // length; the control buffer has `capacity` bytes.
        unsafe { originals::recvmsg(fd, &mut self.msg, flags) }
    }

    /// Makes ready for another try: the control buffer's full room, no
    /// flags.
    pub(crate) fn reset(&mut self) {
        self.msg.msg_controllen = self.capacity;
        self.msg.msg_flags = 0;
    }

    /// `msg_flags` of the last receive.
    pub(crate) fn flags(&self) -> c_int {
        self.msg.msg_flags
    }

    /// `msg_controllen` of the last receive.
    pub(crate) fn control_len(&self) -> usize {
        self.msg.msg_controllen
    }
}

/// One buffer and an optional sender address (`recv`, `recvfrom`,
/// `read`).
pub(crate) struct RecvBuf<'a> {
    buf: *mut c_void,
    len: size_t,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
    _caller: PhantomData<&'a mut [u8]>,
}

impl RecvBuf<'_> {
    /// The buffer `(buf, len)` and the address pair `(addr, addrlen)`.
    ///
    /// # Safety
    ///
    /// `buf` is valid for writes of `len` bytes; `addrlen` is null or
    /// valid, `addr` null or valid for `*addrlen` bytes; all during the
    /// view's lifetime.
    pub(crate) unsafe fn new(
        buf: *mut c_void,
        len: size_t,
        addr: *mut sockaddr,
        addrlen: *mut socklen_t,
    ) -> Self {
        RecvBuf {
            buf,
            len,
            addr,
            addrlen,
            _caller: PhantomData,
        }
    }

    /// The buffer's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Runs `f` on a `msghdr` of this buffer (and of the address, when
    /// both its pointers are given), then sets `*addrlen` from it when `f`
    /// succeeded.
    pub(crate) fn as_message(
        &mut self,
        f: impl FnOnce(&mut MsgOut<'_>) -> Result<usize, c_int>,
    ) -> Result<usize, c_int> {
        let mut v = iovec {
            iov_base: self.buf,
            iov_len: self.len,
        };
        // SAFETY: `msghdr` is plain data; all zeros is a valid (empty) one.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_iov = &mut v;
        m.msg_iovlen = 1;
        if !self.addr.is_null() && !self.addrlen.is_null() {
            m.msg_name = self.addr.cast();
            // SAFETY: `addrlen` is valid (the constructor's promise).
            m.msg_namelen = unsafe { *self.addrlen };
        }
        // `m` lives through the call and describes the buffer and address
        // of the constructor's promise.
        let mut view = MsgOut {
            msg: &mut m,
            _caller: PhantomData,
        };
        let n = f(&mut view)?;
        if !m.msg_name.is_null() {
            // SAFETY: as above.
            unsafe { *self.addrlen = m.msg_namelen };
        }
        Ok(n)
    }
}

/// A caller's `mmsghdr` array (`sendmmsg`, `recvmmsg`).
pub(crate) struct MsgArray<'a> {
    msgs: *mut mmsghdr,
    count: usize,
    _caller: PhantomData<&'a mut [mmsghdr]>,
}

impl MsgArray<'_> {
    /// The array `(msgs, count)`.
    ///
    /// # Safety
    ///
    /// `msgs` is null or valid for `count` entries, each a message as for
    /// [`MsgOut::new`], during the view's lifetime.
    pub(crate) unsafe fn new(msgs: *mut mmsghdr, count: c_uint) -> Self {
        MsgArray {
            msgs,
            count: count as usize,
            _caller: PhantomData,
        }
    }

    /// The array pointer is null.
    pub(crate) fn is_null(&self) -> bool {
        self.msgs.is_null()
    }

    /// Entry `i`: its message and its `msg_len`.
    pub(crate) fn entry(&mut self, i: usize) -> Option<(MsgOut<'_>, &mut c_uint)> {
        if self.msgs.is_null() || i >= self.count {
            return None;
        }
        // SAFETY: `i` is inside the array (the constructor's promise).
        let e = unsafe { &mut *self.msgs.add(i) };
        // SAFETY: the entry's message is valid (as above).
        let msg = unsafe { MsgOut::new(&mut e.msg_hdr) }?;
        Some((msg, &mut e.msg_len))
    }
}

/// A C string argument (a path, an `fopen` mode), read only when needed.
#[derive(Clone, Copy)]
pub(crate) struct CStrArg<'a> {
    s: *const c_char,
    _caller: PhantomData<&'a CStr>,
}

impl<'a> CStrArg<'a> {
    /// The string at `s`.
    ///
    /// # Safety
    ///
    /// `s` is null or a NUL-terminated string valid during `'a`.
    pub(crate) unsafe fn new(s: *const c_char) -> Self {
        CStrArg {
            s,
            _caller: PhantomData,
        }
    }

    /// Its bytes without the NUL; `None` when null.
    pub(crate) fn bytes(&self) -> Option<&'a [u8]> {
        // SAFETY: the constructor's promise.
        (!self.s.is_null()).then(|| unsafe { CStr::from_ptr(self.s) }.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink_data::pktinfo_cmsg;

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

    #[test]
    fn option_values_are_cut_like_the_kernel_s() {
        let mut v = [0u8; 8];
        let mut len: socklen_t = 8;
        // SAFETY: `v` has `len` bytes.
        unsafe { option_out(&7u32.to_ne_bytes(), 4, v.as_mut_ptr().cast(), &mut len) }.unwrap();
        assert_eq!((len, &v[..4]), (4, &7u32.to_ne_bytes()[..]));
        len = 2;
        // SAFETY: as above.
        let r = unsafe { option_out(&7u32.to_ne_bytes(), 4, v.as_mut_ptr().cast(), &mut len) };
        assert_eq!(r, Err(libc::EINVAL));
        // SAFETY: as above.
        unsafe { option_out(&7u32.to_ne_bytes(), 0, v.as_mut_ptr().cast(), &mut len) }.unwrap();
        assert_eq!(len, 2);
        len = 4;
        // SAFETY: as above.
        unsafe { list_memberships_out(&[1, 2, 3, 4, 5, 6, 7, 8], v.as_mut_ptr().cast(), &mut len) }
            .unwrap();
        assert_eq!((len, &v[..4]), (8, &[1u8, 2, 3, 4][..]));
        // SAFETY: a null value with room 0... and a 4-byte int.
        assert_eq!(unsafe { option_int(std::ptr::null(), 0) }, Ok(0));
        assert_eq!(
            // SAFETY: a null value with a length: refused before reading.
            unsafe { option_int(std::ptr::null(), 4) },
            Err(libc::EFAULT)
        );
        let one = 1u32;
        assert_eq!(
            // SAFETY: `one` has 4 bytes.
            unsafe { option_int(std::ptr::from_ref(&one).cast(), 4) },
            Ok(1)
        );
    }

    #[test]
    fn pktinfo_is_appended_or_truncated() {
        let mut control = [0u64; 8];
        // SAFETY: `msghdr` is plain data.
        let mut m: msghdr = unsafe { std::mem::zeroed() };
        m.msg_control = control.as_mut_ptr().cast();
        m.msg_controllen = 0;
        // SAFETY: `control` has 64 bytes.
        unsafe { append_cmsg(&mut m, 64, &pktinfo_cmsg(3).0) };
        assert_eq!(m.msg_controllen, 24);
        assert_eq!(m.msg_flags & libc::MSG_CTRUNC, 0);
        // SAFETY: as above.
        unsafe { append_cmsg(&mut m, 40, &pktinfo_cmsg(3).0) };
        assert_eq!(m.msg_controllen, 24);
        assert_ne!(m.msg_flags & libc::MSG_CTRUNC, 0);
        // SAFETY: a valid cmsg buffer written above.
        let first = unsafe { libc::CMSG_FIRSTHDR(&m) };
        assert!(!first.is_null());
        // SAFETY: as above.
        unsafe {
            assert_eq!((*first).cmsg_level, libc::SOL_NETLINK);
            assert_eq!(*libc::CMSG_DATA(first).cast::<u32>(), 3);
        }
    }
}
