//! `/proc/net/dev` and `/proc/net/if_inet6`.

use alloc::string::String;
use core::fmt::Write;

use super::{collect_links, link_name};
use crate::errno::Errno;
use crate::stack::Stack;
use crate::wire::{LinkRepr, LinkStats, LinkStats64};

/// `IFA_*` scope of an IPv6 address as `/proc/net/if_inet6` shows it
/// (`ipv6_addr_scope`, shifted as `IFA_HOST`, `IFA_LINK`, `IFA_SITE`).
fn ipv6_scope(a: &core::net::Ipv6Addr) -> u8 {
    let first = a.segments()[0];
    if a.is_loopback() {
        0x10
    } else if a.is_unicast_link_local() {
        0x20
    } else if first & 0xffc0 == 0xfec0 {
        0x40
    } else {
        0
    }
}

/// The text of `/proc/net/if_inet6`: per IPv6 address, the kernel's
/// `"%pi6 %02x %02x %02x %02x %8s\n"` (address, link index, prefix length,
/// scope, the low byte of the address flags, link name), in the stack's
/// order (the kernel walks a hash table).
pub fn proc_if_inet6<S: Stack + ?Sized>(stack: &S) -> Result<String, Errno> {
    let links = collect_links(stack)?;
    let mut out = String::new();
    for a in super::collect_addrs(stack, crate::wire::consts::AF_INET6)? {
        let Some(core::net::IpAddr::V6(ip)) = a.local.or(a.address) else {
            continue;
        };
        let name = links
            .iter()
            .find(|l| l.header.index == a.header.index)
            .map_or("", link_name);
        let _ = writeln!(
            out,
            "{:032x} {:02x} {:02x} {:02x} {:02x} {:>8}",
            u128::from(ip),
            a.header.index,
            a.header.prefix_len,
            ipv6_scope(&ip),
            a.all_flags() & 0xff,
            name
        );
    }
    Ok(out)
}

/// The two header lines of `/proc/net/dev`.
const HEADER: &str = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";

/// The text of `/proc/net/dev`: the kernel's two header lines, then one line
/// per link in the stack's order, with the columns and widths of the
/// kernel's `dev_seq_printf_stats`. The counters come from `IFLA_STATS64`,
/// else `IFLA_STATS`, else are zero. As in the kernel, `drop` adds
/// `rx_missed_errors` to `rx_dropped`, `frame` sums the length, overrun, CRC
/// and frame errors, and `carrier` the carrier, aborted, window and
/// heartbeat errors (wrapping like the kernel's `u64` sums).
pub fn proc_net_dev<S: Stack + ?Sized>(stack: &S) -> Result<String, Errno> {
    let links = collect_links(stack)?;
    let mut out = String::from(HEADER);
    for link in &links {
        let s = stats(link);
        let rx_drop = s.rx_dropped.wrapping_add(s.rx_missed_errors);
        let rx_frame = s
            .rx_length_errors
            .wrapping_add(s.rx_over_errors)
            .wrapping_add(s.rx_crc_errors)
            .wrapping_add(s.rx_frame_errors);
        let tx_carrier = s
            .tx_carrier_errors
            .wrapping_add(s.tx_aborted_errors)
            .wrapping_add(s.tx_window_errors)
            .wrapping_add(s.tx_heartbeat_errors);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} \
             {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}",
            link_name(link),
            s.rx_bytes,
            s.rx_packets,
            s.rx_errors,
            rx_drop,
            s.rx_fifo_errors,
            rx_frame,
            s.rx_compressed,
            s.multicast,
            s.tx_bytes,
            s.tx_packets,
            s.tx_errors,
            s.tx_dropped,
            s.tx_fifo_errors,
            s.collisions,
            tx_carrier,
            s.tx_compressed,
        );
    }
    Ok(out)
}

/// The link's counters: `IFLA_STATS64`, else `IFLA_STATS` widened, else
/// zeros.
fn stats(link: &LinkRepr) -> LinkStats64 {
    if let Some(s) = link.stats64 {
        return s;
    }
    link.stats.as_ref().map_or_else(LinkStats64::default, widen)
}

/// The 32-bit counters as 64-bit ones.
pub(crate) fn widen(s: &LinkStats) -> LinkStats64 {
    LinkStats64 {
        rx_packets: s.rx_packets.into(),
        tx_packets: s.tx_packets.into(),
        rx_bytes: s.rx_bytes.into(),
        tx_bytes: s.tx_bytes.into(),
        rx_errors: s.rx_errors.into(),
        tx_errors: s.tx_errors.into(),
        rx_dropped: s.rx_dropped.into(),
        tx_dropped: s.tx_dropped.into(),
        multicast: s.multicast.into(),
        collisions: s.collisions.into(),
        rx_length_errors: s.rx_length_errors.into(),
        rx_over_errors: s.rx_over_errors.into(),
        rx_crc_errors: s.rx_crc_errors.into(),
        rx_frame_errors: s.rx_frame_errors.into(),
        rx_fifo_errors: s.rx_fifo_errors.into(),
        rx_missed_errors: s.rx_missed_errors.into(),
        tx_aborted_errors: s.tx_aborted_errors.into(),
        tx_carrier_errors: s.tx_carrier_errors.into(),
        tx_fifo_errors: s.tx_fifo_errors.into(),
        tx_heartbeat_errors: s.tx_heartbeat_errors.into(),
        tx_window_errors: s.tx_window_errors.into(),
        rx_compressed: s.rx_compressed.into(),
        tx_compressed: s.tx_compressed.into(),
        rx_nohandler: s.rx_nohandler.into(),
        rx_otherhost_dropped: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulate::testing::fixture;
    use crate::stack::StackError;

    #[test]
    fn header_is_the_kernels() {
        // As read from /proc/net/dev on Linux 6.18.
        let mut lines = HEADER.lines();
        assert_eq!(
            lines.next(),
            Some("Inter-|   Receive                                                |  Transmit")
        );
        assert_eq!(
            lines.next(),
            Some(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed")
        );
    }

    #[test]
    fn text() {
        let mut s = fixture();
        // A name longer than the column pushes the line right, as %6s does.
        s.links[2].name = crate::wire::IfName::try_from_str("tunnel-to-far");
        let expected = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 18446744073709551615      58    1    5    2    10          0         0     6386      58    0    0    0     0       0          0
  eth0:  123456    1000    1    7    3    10          4         9   654321    2000    2    3    4     5      10          6
tunnel-to-far:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
";
        assert_eq!(proc_net_dev(&s).unwrap(), expected);
    }

    #[test]
    fn no_links_no_lines_and_errors_pass() {
        let mut s = fixture();
        s.links.clear();
        assert_eq!(proc_net_dev(&s).unwrap(), HEADER);
        struct Nothing;
        impl Stack for Nothing {}
        assert_eq!(proc_net_dev(&Nothing), Err(StackError::NOT_SUPPORTED.errno));
    }

    #[test]
    fn if_inet6_is_the_kernel_s_format_with_the_address_flags() {
        let mut s = fixture();
        for a in s.addrs.iter_mut() {
            if a.address == Some("2001:db8::1".parse().unwrap()) {
                // nodad, permanent
                a.flags = Some(0x82);
            }
        }
        assert_eq!(
            proc_if_inet6(&s).unwrap(),
            "00000000000000000000000000000001 01 80 10 80       lo\n\
             fe800000000000000000000000000001 02 40 20 00     eth0\n\
             20010db8000000000000000000000001 02 40 00 82     eth0\n"
        );
    }
}
