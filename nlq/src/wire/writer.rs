//! Building messages into a caller buffer: a `&mut [u8]` without alloc, a
//! `Vec<u8>` or `BytesMut` with it. Building allocates nothing by itself;
//! running out of room is an error, and a failed message leaves the buffer as
//! it was before the message began.

use core::net::IpAddr;

use super::consts::{NLA_F_NESTED, NLA_HDRLEN};
use super::parse::align;
use super::{Error, ErrorKind, NlMsgHeader, Part, Result};

const NO_SPACE: Error = Error::new(Part::Buffer, ErrorKind::NoSpace);

/// The 4-byte `nlattr` header.
#[inline]
fn attr_header(len: u16, kind: u16) -> [u8; NLA_HDRLEN] {
    let [l0, l1] = len.to_ne_bytes();
    let [k0, k1] = kind.to_ne_bytes();
    [l0, l1, k0, k1]
}

/// Storage a [`Writer`] appends to.
pub trait Buffer {
    /// The bytes written so far.
    fn as_bytes(&self) -> &[u8];
    /// The bytes written so far, mutable (to patch length fields).
    fn as_bytes_mut(&mut self) -> &mut [u8];
    /// Grows the content by exactly `n` bytes and returns them for the caller
    /// to overwrite (their value is unspecified), or fails with `NoSpace` and
    /// leaves the buffer as it was.
    fn claim(&mut self, n: usize) -> Result<&mut [u8]>;
    /// Shortens the content to `len` bytes (no effect if already shorter).
    fn truncate(&mut self, len: usize);
    /// How many bytes were written.
    #[inline]
    fn len(&self) -> usize {
        self.as_bytes().len()
    }
    /// Nothing was written.
    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends `data`, or fails with `NoSpace` and leaves the buffer as it was.
    #[inline]
    fn put(&mut self, data: &[u8]) -> Result<()> {
        let dst = self.claim(data.len())?;
        if dst.len() != data.len() {
            return Err(NO_SPACE);
        }
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// A [`Buffer`] over a borrowed byte slice: fixed capacity, no allocation.
#[derive(Debug)]
pub struct SliceBuffer<'a> {
    storage: &'a mut [u8],
    len: usize,
}

impl<'a> SliceBuffer<'a> {
    /// An empty buffer writing into `storage`.
    #[inline]
    pub fn new(storage: &'a mut [u8]) -> Self {
        SliceBuffer { storage, len: 0 }
    }

    /// Forgets what was written, to reuse the storage.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The room left.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.storage.len().saturating_sub(self.len)
    }
}

/// A borrowed buffer is a buffer: a writer can append to one it does not own.
impl<B: Buffer + ?Sized> Buffer for &mut B {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        (**self).as_bytes()
    }
    #[inline]
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        (**self).as_bytes_mut()
    }
    #[inline]
    fn claim(&mut self, n: usize) -> Result<&mut [u8]> {
        (**self).claim(n)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        (**self).truncate(len)
    }
    #[inline]
    fn len(&self) -> usize {
        (**self).len()
    }
}

impl Buffer for SliceBuffer<'_> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self.storage.get(..self.len).unwrap_or_default()
    }
    #[inline]
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.storage.get_mut(..self.len).unwrap_or_default()
    }
    #[inline(always)]
    fn claim(&mut self, n: usize) -> Result<&mut [u8]> {
        let end = self.len.checked_add(n).ok_or(NO_SPACE)?;
        let dst = self.storage.get_mut(self.len..end).ok_or(NO_SPACE)?;
        self.len = end;
        Ok(dst)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(feature = "alloc")]
impl Buffer for alloc::vec::Vec<u8> {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    #[inline]
    fn claim(&mut self, n: usize) -> Result<&mut [u8]> {
        let start = self.len();
        self.try_reserve(n).map_err(|_| NO_SPACE)?;
        self.resize(start.saturating_add(n), 0);
        self.get_mut(start..).ok_or(NO_SPACE)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        alloc::vec::Vec::truncate(self, len)
    }
}

#[cfg(feature = "alloc")]
impl Buffer for bytes::BytesMut {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    #[inline]
    fn claim(&mut self, n: usize) -> Result<&mut [u8]> {
        let start = self.len();
        self.resize(start.saturating_add(n), 0);
        self.get_mut(start..).ok_or(NO_SPACE)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        bytes::BytesMut::truncate(self, len)
    }
}

/// Writes `head`, then `value`, then zeros into `dst` (which must hold at
/// least `head` and `value`).
#[inline(always)]
fn fill(dst: &mut [u8], head: &[u8], value: &[u8]) -> Result<()> {
    let (h, rest) = dst.split_at_mut_checked(head.len()).ok_or(NO_SPACE)?;
    let (v, pad) = rest.split_at_mut_checked(value.len()).ok_or(NO_SPACE)?;
    h.copy_from_slice(head);
    v.copy_from_slice(value);
    pad.fill(0);
    Ok(())
}

/// Appends netlink messages and attributes to a [`Buffer`].
///
/// ```
/// use nlq::wire::{consts::*, SliceBuffer, Writer};
/// let mut storage = [0u8; 64];
/// let mut w = Writer::new(SliceBuffer::new(&mut storage));
/// let len = w
///     .message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0, |w| {
///         w.put(&[0u8; IFINFOMSG_LEN])?; // ifinfomsg, all zero
///         w.attr_str(IFLA_IFNAME, "br0")?;
///         let mut info = w.begin_nested(IFLA_LINKINFO)?;
///         info.attr_str(IFLA_INFO_KIND, "bridge")?;
///         info.finish()
///     })
///     .unwrap();
/// assert_eq!(len, 16 + 16 + 8 + 4 + 12);
/// ```
#[derive(Debug)]
pub struct Writer<B> {
    buf: B,
    /// An error a dropped [`NestGuard`] could not return.
    deferred: Option<Error>,
}

impl<B: Buffer> Writer<B> {
    /// A writer appending to `buf`.
    #[inline]
    pub fn new(buf: B) -> Self {
        Writer {
            buf,
            deferred: None,
        }
    }

    /// The buffer.
    #[inline]
    pub fn buffer(&self) -> &B {
        &self.buf
    }

    /// The buffer, mutable (e.g. to clear it between requests).
    #[inline]
    pub fn buffer_mut(&mut self) -> &mut B {
        &mut self.buf
    }

    /// Gives the buffer back.
    #[inline]
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// Bytes written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Nothing written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Writes one message: a header, whatever `body` writes, then the
    /// length. Returns the message length. If `body` (or a nested attribute
    /// inside it) fails, the buffer is rolled back to where the message began.
    #[inline]
    pub fn message<F>(
        &mut self,
        kind: u16,
        flags: u16,
        seq: u32,
        port: u32,
        body: F,
    ) -> Result<usize>
    where
        F: FnOnce(&mut Self) -> Result<()>,
    {
        let start = self.buf.len();
        let header = NlMsgHeader {
            len: 0,
            message_type: kind,
            flags,
            seq,
            port,
        };
        let r = self
            .put(&header.to_bytes())
            .and_then(|()| body(self))
            .and_then(|()| self.deferred.take().map_or(Ok(()), Err))
            .and_then(|()| self.patch_len32(start));
        if r.is_err() {
            self.deferred = None;
            self.buf.truncate(start);
        }
        r
    }

    /// Appends raw bytes (e.g. a family header) and pads them to 4 bytes.
    #[inline(always)]
    pub fn put(&mut self, data: &[u8]) -> Result<()> {
        let dst = self.buf.claim(align(data.len()))?;
        fill(dst, data, &[])
    }

    /// Appends an attribute of `kind` holding `value`.
    #[inline(always)]
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> Result<()> {
        let len = value
            .len()
            .checked_add(NLA_HDRLEN)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or(Error::new(Part::Attr(kind), ErrorKind::TooLong))?;
        let dst = self.buf.claim(align(usize::from(len)))?;
        fill(dst, &attr_header(len, kind), value)
    }

    /// Appends a `u8` attribute.
    #[inline]
    pub fn attr_u8(&mut self, kind: u16, v: u8) -> Result<()> {
        self.attr(kind, &[v])
    }

    /// Appends a host-order `u16` attribute.
    #[inline]
    pub fn attr_u16(&mut self, kind: u16, v: u16) -> Result<()> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a host-order `u32` attribute.
    #[inline]
    pub fn attr_u32(&mut self, kind: u16, v: u32) -> Result<()> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a host-order `i32` attribute.
    #[inline]
    pub fn attr_i32(&mut self, kind: u16, v: i32) -> Result<()> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a host-order `u64` attribute.
    #[inline]
    pub fn attr_u64(&mut self, kind: u16, v: u64) -> Result<()> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a NUL-terminated string attribute.
    #[inline]
    pub fn attr_str(&mut self, kind: u16, s: &str) -> Result<()> {
        let len = s
            .len()
            .checked_add(NLA_HDRLEN + 1)
            .and_then(|l| u16::try_from(l).ok())
            .ok_or(Error::new(Part::Attr(kind), ErrorKind::TooLong))?;
        // The NUL is part of the zero padding `fill` writes after the text.
        let dst = self.buf.claim(align(usize::from(len)))?;
        fill(dst, &attr_header(len, kind), s.as_bytes())
    }

    /// Appends an IP address attribute (4 or 16 bytes).
    #[inline]
    pub fn attr_ip(&mut self, kind: u16, ip: IpAddr) -> Result<()> {
        match ip {
            IpAddr::V4(a) => self.attr(kind, &a.octets()),
            IpAddr::V6(a) => self.attr(kind, &a.octets()),
        }
    }

    /// Opens a nested attribute of `kind` (`NLA_F_NESTED` is set). Write its
    /// content through the guard, then [`NestGuard::finish`] it; a guard
    /// dropped without `finish` closes the attribute too, and an error it
    /// meets then is reported by the enclosing [`Writer::message`].
    #[inline]
    pub fn begin_nested(&mut self, kind: u16) -> Result<NestGuard<'_, B>> {
        self.begin_len16(&attr_header(0, kind | NLA_F_NESTED), kind)
    }

    /// Opens a region whose first two bytes (in `header`) are a `u16` length
    /// patched when the guard closes: a nested attribute, or an `rtnexthop`.
    /// `kind` names the region in errors.
    #[inline]
    pub fn begin_len16(&mut self, header: &[u8], kind: u16) -> Result<NestGuard<'_, B>> {
        let start = self.buf.len();
        self.put(header)?;
        Ok(NestGuard {
            writer: self,
            start,
            kind,
            open: true,
        })
    }

    /// Writes a nested attribute of `kind` whose content `body` writes.
    #[inline]
    pub fn nested<F>(&mut self, kind: u16, body: F) -> Result<()>
    where
        F: FnOnce(&mut Self) -> Result<()>,
    {
        let mut guard = self.begin_nested(kind)?;
        body(&mut guard)?;
        guard.finish()
    }

    /// Writes a nested attribute of `kind` without `NLA_F_NESTED`, as the
    /// kernel writes `IFLA_LINKINFO` and `RTA_METRICS`
    /// (`nla_nest_start_noflag`); some readers (iproute2) skip a nest
    /// that carries the flag there.
    #[inline]
    pub fn nested_noflag<F>(&mut self, kind: u16, body: F) -> Result<()>
    where
        F: FnOnce(&mut Self) -> Result<()>,
    {
        let mut guard = self.begin_len16(&attr_header(0, kind), kind)?;
        body(&mut guard)?;
        guard.finish()
    }

    fn patch_len32(&mut self, start: usize) -> Result<usize> {
        let len = self.buf.len().wrapping_sub(start);
        let v = u32::try_from(len).map_err(|_| Error::new(Part::Header, ErrorKind::TooLong))?;
        let dst = self
            .buf
            .as_bytes_mut()
            .get_mut(start..start.wrapping_add(4))
            .ok_or(NO_SPACE)?;
        dst.copy_from_slice(&v.to_ne_bytes());
        Ok(len)
    }

    fn close_nested(&mut self, start: usize, kind: u16) -> Result<()> {
        let len = self.buf.len().wrapping_sub(start);
        let v = u16::try_from(len).map_err(|_| Error::new(Part::Attr(kind), ErrorKind::TooLong))?;
        let dst = self
            .buf
            .as_bytes_mut()
            .get_mut(start..start.wrapping_add(2))
            .ok_or(NO_SPACE)?;
        dst.copy_from_slice(&v.to_ne_bytes());
        Ok(())
    }
}

/// An open nested attribute; dereferences to its [`Writer`].
#[derive(Debug)]
pub struct NestGuard<'w, B: Buffer> {
    writer: &'w mut Writer<B>,
    start: usize,
    kind: u16,
    open: bool,
}

impl<B: Buffer> NestGuard<'_, B> {
    /// Closes the attribute, writing its length. Fails if it grew beyond
    /// 65,535 bytes.
    #[inline]
    pub fn finish(mut self) -> Result<()> {
        self.open = false;
        self.writer.close_nested(self.start, self.kind)
    }
}

impl<B: Buffer> core::ops::Deref for NestGuard<'_, B> {
    type Target = Writer<B>;
    #[inline]
    fn deref(&self) -> &Writer<B> {
        self.writer
    }
}

impl<B: Buffer> core::ops::DerefMut for NestGuard<'_, B> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Writer<B> {
        self.writer
    }
}

impl<B: Buffer> Drop for NestGuard<'_, B> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.writer.close_nested(self.start, self.kind) {
                self.writer.deferred.get_or_insert(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::consts::*;

    #[test]
    fn construct_newlink_with_nested_kind() {
        let mut storage = [0u8; 64];
        let mut w = Writer::new(SliceBuffer::new(&mut storage));
        let len = w
            .message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 9, 0, |w| {
                w.put(&[0u8; IFINFOMSG_LEN])?;
                w.attr_str(IFLA_IFNAME, "br0")?;
                w.nested(IFLA_LINKINFO, |w| w.attr_str(IFLA_INFO_KIND, "bridge"))
            })
            .unwrap();
        #[rustfmt::skip]
        let expected: [u8; 56] = [
            56, 0, 0, 0,   16, 0,   5, 0,   9, 0, 0, 0,   0, 0, 0, 0, // nlmsghdr
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,       // ifinfomsg
            8, 0, 3, 0,   b'b', b'r', b'0', 0,                         // IFLA_IFNAME "br0\0"
            16, 0, 18, 0x80,                                           // IFLA_LINKINFO, nested
            11, 0, 1, 0,  b'b', b'r', b'i', b'd', b'g', b'e', 0, 0,    // IFLA_INFO_KIND + pad
        ];
        assert_eq!(len, 56);
        assert_eq!(w.buffer().as_bytes(), &expected[..]);
    }

    #[test]
    fn no_space_rolls_the_message_back() {
        let mut storage = [0u8; 30];
        let mut w = Writer::new(SliceBuffer::new(&mut storage));
        w.message(NLMSG_NOOP, 0, 1, 0, |_| Ok(())).unwrap();
        let r = w.message(RTM_NEWLINK, 0, 2, 0, |w| w.put(&[0u8; IFINFOMSG_LEN]));
        assert_eq!(r, Err(Error::new(Part::Buffer, ErrorKind::NoSpace)));
        assert_eq!(w.len(), 16);
    }

    #[test]
    fn oversized_nest_fails_through_guard_and_drop() {
        let mut w = Writer::new(Vec::new());
        let big = [0u8; 40_000];
        let r = w.message(RTM_NEWLINK, 0, 1, 0, |w| {
            let mut g = w.begin_nested(IFLA_AF_SPEC)?;
            g.attr(1, &big)?;
            g.attr(2, &big)?;
            g.finish()
        });
        assert_eq!(
            r,
            Err(Error::new(Part::Attr(IFLA_AF_SPEC), ErrorKind::TooLong))
        );
        assert!(w.is_empty());

        let r = w.message(RTM_NEWLINK, 0, 1, 0, |w| {
            let mut g = w.begin_nested(IFLA_AF_SPEC)?;
            g.attr(1, &big)?;
            g.attr(2, &big)?;
            Ok(()) // dropped unfinished
        });
        assert_eq!(r.unwrap_err().kind, ErrorKind::TooLong);
        assert!(w.is_empty());
    }

    #[test]
    fn attribute_too_long_for_u16() {
        let mut w = Writer::new(Vec::new());
        let big = vec![0u8; 70_000];
        assert_eq!(w.attr(1, &big).unwrap_err().kind, ErrorKind::TooLong);
    }

    #[test]
    fn bytes_mut_buffer() {
        let mut w = Writer::new(bytes::BytesMut::new());
        w.message(NLMSG_DONE, NLM_F_MULTI, 3, 4, |w| {
            w.put(&0i32.to_ne_bytes())
        })
        .unwrap();
        assert_eq!(w.len(), 20);
    }
}
