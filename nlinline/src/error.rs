//! What a request can end with, besides success.

use std::fmt;
use std::io;

use nlq::errno::Errno;

/// Why a request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The stack refused the request: `NLMSG_ERROR` with this (positive)
    /// errno, and the extended-ACK text and offset when it gave them.
    Refused {
        /// The errno, e.g. `Errno(libc::EEXIST)`.
        errno: Errno,
        /// The extended-ACK message, e.g. "Nexthop device is not up".
        message: Option<String>,
        /// The offset in the request of the attribute at fault.
        offset: Option<u32>,
    },
    /// The transport failed (including `ENOBUFS`: replies were lost).
    Io(io::Error),
    /// No answer within the handle's timeout.
    Timeout,
    /// The answer was malformed.
    Malformed(nlq::wire::Error),
    /// The answer was well-formed but not what the request calls for (e.g. a
    /// dump that ends without `NLMSG_DONE`, a GET answered by nothing).
    Unexpected(&'static str),
    /// A request could not be built (e.g. a name longer than `IFNAMSIZ`).
    Invalid(&'static str),
}

impl Error {
    /// The errno this error stands for: the stack's, the I/O error's,
    /// `ETIMEDOUT`, `EBADMSG` for malformed answers, `EINVAL` for requests
    /// that could not be built. It compares equal to the raw value
    /// (`e.errno() == libc::EEXIST`).
    pub fn errno(&self) -> Errno {
        match self {
            Error::Refused { errno, .. } => *errno,
            Error::Io(e) => Errno(e.raw_os_error().unwrap_or(libc::EIO)),
            Error::Timeout => Errno(libc::ETIMEDOUT),
            Error::Malformed(_) | Error::Unexpected(_) => Errno(libc::EBADMSG),
            Error::Invalid(_) => Errno::EINVAL,
        }
    }

    /// The stack's extended-ACK message, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Refused { message, .. } => message.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused {
                errno,
                message: Some(m),
                ..
            } => write!(f, "{m} ({})", io::Error::from(*errno)),
            Error::Refused { errno, .. } => write!(f, "{}", io::Error::from(*errno)),
            Error::Io(e) => write!(f, "netlink transport: {e}"),
            Error::Timeout => f.write_str("no netlink answer in time"),
            Error::Malformed(e) => write!(f, "malformed netlink answer: {e}"),
            Error::Unexpected(what) => write!(f, "unexpected netlink answer: {what}"),
            Error::Invalid(what) => write!(f, "invalid request: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock {
            Error::Timeout
        } else {
            Error::Io(e)
        }
    }
}

impl From<nlq::wire::Error> for Error {
    fn from(e: nlq::wire::Error) -> Self {
        Error::Malformed(e)
    }
}

/// Converts to an `io::Error` that keeps the errno: `raw_os_error()` gives
/// it when there is no extended-ACK text; with text, the `io::Error` wraps
/// this error (its `Display` shows both, `get_ref` downcasts to it).
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            Error::Refused {
                errno,
                message: None,
                ..
            } => io::Error::from(errno),
            other => {
                let kind = io::Error::from(other.errno()).kind();
                io::Error::new(kind, other)
            }
        }
    }
}

/// Result with nlinline's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_and_text_survive_conversion() {
        let e = Error::Refused {
            errno: Errno(libc::ENETDOWN),
            message: Some("Nexthop device is not up".into()),
            offset: None,
        };
        assert_eq!(e.errno(), libc::ENETDOWN);
        assert!(e.to_string().starts_with("Nexthop device is not up ("));
        let io: io::Error = e.into();
        let inner = io
            .get_ref()
            .and_then(|i| i.downcast_ref::<Error>())
            .unwrap();
        assert_eq!(inner.message(), Some("Nexthop device is not up"));

        let plain: io::Error = Error::Refused {
            errno: Errno(libc::EEXIST),
            message: None,
            offset: None,
        }
        .into();
        assert_eq!(plain.raw_os_error(), Some(libc::EEXIST));
        assert_eq!(
            io::Error::from(Error::Timeout).kind(),
            io::ErrorKind::TimedOut
        );
    }
}
