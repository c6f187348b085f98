//! A link's per-family device configuration (`IFLA_AF_SPEC`), from the
//! state the stack keeps ([`nlq::devconf`] holds the kernel's defaults).

use nlq::devconf::DevConf;
use nlq::wire::{InlineBytes, AF_SPEC_CAPACITY};

use crate::link::{Kind, Link};

/// The `IFLA_AF_SPEC` of `link`.
pub(crate) fn af_spec(link: &Link) -> Option<InlineBytes<AF_SPEC_CAPACITY>> {
    DevConf {
        loopback: link.kind == Kind::Loopback,
        inet4: link.inet4_dev,
        inet6: link.inet6_dev,
        inet6_flags: link.inet6_flags,
        mtu6: link.mtu6,
        noarp6: link.noarp6,
    }
    .af_spec()
}
