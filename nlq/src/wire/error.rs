//! The codec's error: which part of a message was short or wrong, and how.

use core::fmt;

/// The part of a message an [`Error`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The 16-byte `nlmsghdr`.
    Header,
    /// The fixed family header after `nlmsghdr` (`ifinfomsg`, `ifaddrmsg`,
    /// `rtmsg`, `ndmsg`), or the payload of a control message.
    Body,
    /// A top-level attribute of this (masked) type.
    Attr(u16),
    /// An attribute of type `.1` nested inside the attribute of type `.0`.
    Nested(u16, u16),
    /// An `rtnexthop` entry of `RTA_MULTIPATH`.
    NextHop,
    /// The output buffer of a [`Writer`](super::Writer).
    Buffer,
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Fewer bytes than the part needs.
    Truncated,
    /// A length field smaller than its header or larger than what contains it.
    BadLength,
    /// A value of the wrong size, or not valid UTF-8, or otherwise malformed.
    BadValue,
    /// A value shorter than its type needs (an address or an integer cut
    /// short): the kernel's policy refuses it with `ERANGE`.
    TooShort,
    /// An address family this part does not accept, or an address whose
    /// length does not match the message's family.
    BadFamily,
    /// A prefix length beyond the family's address width (32 or 128).
    BadPrefix,
    /// More data than a fixed-capacity owned repr can hold.
    TooLong,
    /// The message is not of the type the caller asked for.
    WrongType,
    /// The output buffer has no room left.
    NoSpace,
}

/// A codec error: small, `Copy`, and precise about where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    /// Where.
    pub part: Part,
    /// What.
    pub kind: ErrorKind,
}

impl Error {
    /// An error about `part` of kind `kind`.
    #[inline]
    pub const fn new(part: Part, kind: ErrorKind) -> Self {
        Error { part, kind }
    }

    /// The same error, moved inside the attribute `parent`.
    #[inline]
    pub(crate) const fn inside(self, parent: u16) -> Self {
        let part = match self.part {
            Part::Attr(t) | Part::Nested(_, t) => Part::Nested(parent, t),
            other => other,
        };
        Error { part, ..self }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Header => f.write_str("netlink header"),
            Part::Body => f.write_str("message body"),
            Part::Attr(t) => write!(f, "attribute {t}"),
            Part::Nested(p, t) => write!(f, "attribute {t} nested in attribute {p}"),
            Part::NextHop => f.write_str("multipath next hop"),
            Part::Buffer => f.write_str("output buffer"),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadLength => "bad length field",
            ErrorKind::BadValue => "malformed value",
            ErrorKind::TooShort => "value too short for its type",
            ErrorKind::BadFamily => "wrong address family",
            ErrorKind::BadPrefix => "prefix length too long for the family",
            ErrorKind::TooLong => "value too long for the owned repr",
            ErrorKind::WrongType => "unexpected message type",
            ErrorKind::NoSpace => "no space left",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.kind)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Result with the codec's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_part() {
        let e = Error::new(Part::Attr(3), ErrorKind::BadValue);
        assert_eq!(e.to_string(), "attribute 3: malformed value");
        assert_eq!(
            e.inside(18).to_string(),
            "attribute 3 nested in attribute 18: malformed value"
        );
        assert_eq!(
            Error::new(Part::Header, ErrorKind::Truncated)
                .inside(4)
                .part,
            Part::Header
        );
    }

    #[test]
    fn error_is_small_and_copy() {
        fn is_copy<T: Copy>() {}
        is_copy::<Error>();
        assert!(core::mem::size_of::<Error>() <= 8);
    }
}
