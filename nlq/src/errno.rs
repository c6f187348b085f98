//! The Linux errno values the server and the adapters answer with (positive,
//! as in `<errno.h>`; the wire carries them negated).
//!
//! Each value is here twice: as a plain `i32` (`EINVAL`), for the wire and
//! for `match` arms over raw numbers, and as an [`Errno`] (`Errno::EINVAL`),
//! the error type of the server, the emulations and the adapters.

/// Declares each errno as an `i32` constant and an [`Errno`] constant, and
/// the table of names.
macro_rules! errnos {
    ($($name:ident = $value:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
            pub const $name: i32 = $value;
        )*

        /// The errnos of this module as values.
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
                pub const $name: Errno = Errno($value);
            )*
        }

        /// The symbolic name of `errno` ("EEXIST"; "OK" for 0), when this
        /// module knows it.
        pub fn name(errno: i32) -> Option<&'static str> {
            Some(match errno {
                0 => "OK",
                $($value => stringify!($name),)*
                _ => return None,
            })
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    ENOTDIR = 20,
    EINVAL = 22,
    ENFILE = 23,
    ENOTTY = 25,
    ENOSPC = 28,
    ERANGE = 34,
    ELOOP = 40,
    EXFULL = 54,
    EBADMSG = 74,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENOBUFS = 105,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTUNREACH = 113,
}

/// An errno as a value with a name: `Errno(EEXIST)` (or `Errno::EEXIST`)
/// shows as `EEXIST`, one this module does not name as `errno 200`. It is
/// the error of the server's socket calls, the emulations and
/// [`StackError`](crate::stack::StackError).
///
/// It compares equal to its raw value (`Errno::EEXIST == EEXIST`), and
/// converts to and from `i32`; with `std`, into an `std::io::Error` that
/// keeps it as its `raw_os_error`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The raw (positive) value, as in `<errno.h>`.
    pub const fn get(self) -> i32 {
        self.0
    }

    /// Its symbolic name ("EEXIST"), when this module knows it.
    pub fn name(self) -> Option<&'static str> {
        name(self.0)
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// `Errno(EEXIST)`, or `Errno(200)` for a value without a name.
impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "Errno({n})"),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl core::error::Error for Errno {}

impl From<i32> for Errno {
    fn from(errno: i32) -> Self {
        Errno(errno)
    }
}

impl From<Errno> for i32 {
    fn from(errno: Errno) -> Self {
        errno.0
    }
}

impl PartialEq<i32> for Errno {
    fn eq(&self, other: &i32) -> bool {
        self.0 == *other
    }
}

/// An `io::Error` whose `raw_os_error()` is the errno (a Linux value: on
/// another system its kind and text may name another error).
#[cfg(feature = "std")]
impl From<Errno> for std::io::Error {
    fn from(errno: Errno) -> Self {
        std::io::Error::from_raw_os_error(errno.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_sentinel() {
        assert_eq!(name(EEXIST), Some("EEXIST"));
        assert_eq!(name(200), None);
        assert_eq!(Errno(ENODEV).to_string(), "ENODEV");
        assert_eq!(Errno(200).to_string(), "errno 200");
    }

    #[test]
    fn values_and_raw_numbers_agree() {
        assert_eq!(Errno::EINVAL, Errno(EINVAL));
        assert_eq!(Errno::EINVAL, EINVAL);
        assert_eq!(Errno::EINVAL.get(), 22);
        assert_eq!(i32::from(Errno::ENOBUFS), ENOBUFS);
        assert_eq!(Errno::from(EPERM), Errno::EPERM);
        assert_eq!(format!("{:?}", Errno::EEXIST), "Errno(EEXIST)");
        assert_eq!(format!("{:?}", Errno(200)), "Errno(200)");
        assert!(matches!(Errno(ENXIO), Errno::ENXIO));
    }

    #[cfg(feature = "std")]
    #[test]
    fn into_io_error() {
        let e = std::io::Error::from(Errno::EADDRINUSE);
        assert_eq!(e.raw_os_error(), Some(EADDRINUSE));
    }
}
