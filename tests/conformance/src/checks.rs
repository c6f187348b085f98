//! The checks, group by group. Each runs on a fresh endpoint and talks
//! only bytes: requests built as `ip` builds them, answers read as `ip`
//! reads them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nlq::errno::*;
use nlq::server::SockOpt;
use nlq::wire::consts::*;
use nlq::wire::{AddrRepr, FamilyHeader, HwAddr, LinkRepr, NlMsgHeader, RouteRepr, Writer};

use crate::harness::{
    addr_body, addr_ip, describe_all, errno_name, expect_answer, fail, family_of, link_by_index,
    link_by_name, new_link_body, prefix_outcome, refused, route_add_body, route_del_body, split,
    unsupported, Conn, Ctx, Msg, Step,
};
use crate::{Endpoint, Outcome, TestLink};

/// One check: where it belongs, its name, what it wants, and its body.
pub(crate) struct Spec<E: Endpoint> {
    pub group: &'static str,
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(&mut Ctx<'_, E>) -> Step<()>,
}

macro_rules! specs {
    ($($group:literal, $name:ident, $about:literal;)*) => {
        /// Every check, in report order.
        pub(crate) fn all<E: Endpoint>() -> Vec<Spec<E>> {
            vec![$(Spec {
                group: $group,
                name: stringify!($name),
                about: $about,
                run: $name::<E>,
            }),*]
        }
    };
}

specs! {
    "protocol", ack_only_when_asked,
        "A GET answers without an ACK; with NLM_F_ACK, one capped ACK (error 0) follows the reply";
    "protocol", error_without_ack,
        "A failing request is answered with NLMSG_ERROR even without NLM_F_ACK, echoing the whole request";
    "protocol", cap_ack,
        "With NETLINK_CAP_ACK an error echoes only the request's header (NLM_F_CAPPED)";
    "protocol", ext_ack,
        "With NETLINK_EXT_ACK an error carries a message text (NLM_F_ACK_TLVS); without, none";
    "protocol", unknown_type,
        "A message type rtnetlink does not have is answered EOPNOTSUPP";
    "protocol", short_get_body,
        "A dump request whose body is the family byte only (1 byte) dumps";
    "protocol", batched_requests,
        "Several requests in one datagram are each answered, in order";
    "protocol", trailing_padding,
        "Zero bytes after the last request of a datagram are padding, not an error";
    "links", link_dump,
        "The link dump lists every link once, with its name, and ends with NLMSG_DONE";
    "links", create_link,
        "RTM_NEWLINK with NLM_F_CREATE makes a link of the setup's kind; again with NLM_F_EXCL: EEXIST";
    "links", get_link_by_index,
        "RTM_GETLINK by index answers that link";
    "links", get_link_by_name,
        "RTM_GETLINK by IFLA_IFNAME answers that link";
    "links", get_missing_link,
        "RTM_GETLINK of a link that does not exist, by index or name: ENODEV";
    "links", set_missing_link,
        "RTM_NEWLINK without NLM_F_CREATE on a link that does not exist: ENODEV";
    "links", set_up_down,
        "ip link set up / down shows in IFF_UP";
    "links", set_mtu,
        "ip link set mtu shows in IFLA_MTU";
    "links", set_mac,
        "ip link set address shows in IFLA_ADDRESS";
    "links", delete_link,
        "ip link del takes the link, its addresses and its routes away, and RTNLGRP_LINK hears RTM_DELLINK";
    "addresses", ipv4_add,
        "An added IPv4 address shows in the address dump";
    "addresses", ipv4_add_duplicate,
        "Adding an IPv4 address twice (NLM_F_EXCL): EEXIST";
    "addresses", ipv4_delete,
        "A deleted IPv4 address leaves the dump";
    "addresses", ipv4_delete_missing,
        "Deleting an IPv4 address that is not there: EADDRNOTAVAIL";
    "addresses", ipv6_add,
        "An added IPv6 address shows in the address dump";
    "addresses", ipv6_add_duplicate,
        "Adding an IPv6 address twice (NLM_F_EXCL): EEXIST";
    "addresses", ipv6_delete,
        "A deleted IPv6 address leaves the dump";
    "addresses", ipv6_delete_missing,
        "Deleting an IPv6 address that is not there: EADDRNOTAVAIL";
    "addresses", addr_bad_prefix,
        "An address with a prefix longer than the family's (/33, /129): EINVAL";
    "addresses", addr_refusals,
        "Address requests without an address, on a missing link or with an over-long prefix (/33, /129), added and deleted: the kernel's errno and extended-ACK text, in its order of checks";
    "addresses", addr_missing_link,
        "An address on a link that does not exist: ENODEV";
    "routes", ipv4_route_refusals,
        "IPv4 routes the kernel refuses (over-long prefix, attributes cut short, unreachable or missing next hop, host scope with a gateway, host bits, bad type, deleting what is not there): its errno, extended-ACK text and attribute offset";
    "routes", ipv6_route_refusals,
        "IPv6 routes the kernel refuses (over-long prefix, a gateway cut short, unreachable gateway, link-local gateway without a device, missing device, deleting what is not there): its errno, extended-ACK text and attribute offset";
    "routes", change_flags,
        "A route or address change answered by its flags (change or replace of what is not there: ENOENT; NLM_F_CREATE or NLM_F_APPEND of what is there: EEXIST), ip route get that fails, a delete naming another device: the kernel's errno, text and offset";
    "links", vxlan_refusals,
        "VXLAN tunnels the kernel refuses to make (no VNI, a VNI of 2^24, a VNI cut short): its errno, text and the VNI's offset";
    "protocol", leftover_bytes,
        "Change requests whose last bytes are no whole attribute (one claiming more than the message holds, a stray pair of bytes): handled with the attributes before them, the answer saying \"bytes leftover after parsing attributes\" unless the handler says more";
    "protocol", attr_policy,
        "Attributes their policy refuses (a link name or an address label too long, an MTU, a queue length, an address or a cache-info cut short): ERANGE, naming the attribute by its offset";
    "addresses", addr_dump_family,
        "An address dump of one family lists only that family; AF_UNSPEC lists both";
    "routes", ipv4_route_add,
        "An IPv4 route via a reachable gateway shows in the route dump, through the gateway's link";
    "routes", ipv4_route_duplicate,
        "Adding an IPv4 route twice (NLM_F_CREATE|NLM_F_EXCL): EEXIST";
    "routes", ipv4_route_delete,
        "A deleted IPv4 route leaves the route dump";
    "routes", ipv4_route_delete_missing,
        "Deleting an IPv4 route that is not there: ESRCH";
    "routes", ipv4_route_unreachable,
        "An IPv4 route via a gateway no route covers: ENETUNREACH";
    "routes", ipv4_default_route,
        "An IPv4 default route (no RTA_DST) via a gateway is added, dumped without RTA_DST, and deleted";
    "routes", ipv4_device_route,
        "An IPv4 route through a device only (scope link, no gateway) is added, dumped and deleted";
    "routes", ipv4_route_replace,
        "NLM_F_REPLACE swaps an IPv4 route's gateway: one route, through the new gateway";
    "routes", ipv4_route_get,
        "RTM_GETROUTE for one address (ip route get) answers the route it takes, RTM_F_CLONED";
    "routes", ipv6_route_add,
        "An IPv6 route via a reachable gateway shows in the route dump, through the gateway's link";
    "routes", ipv6_route_duplicate,
        "Adding an IPv6 route twice (NLM_F_CREATE|NLM_F_EXCL): EEXIST";
    "routes", ipv6_route_delete,
        "A deleted IPv6 route leaves the route dump";
    "routes", ipv6_route_delete_missing,
        "Deleting an IPv6 route that is not there: ESRCH";
    "notifications", link_notify,
        "A member of RTNLGRP_LINK hears RTM_NEWLINK when another socket sets the link up and down";
    "notifications", ipv4_addr_notify,
        "A member of RTNLGRP_IPV4_IFADDR hears RTM_NEWADDR / RTM_DELADDR for another socket's changes";
    "notifications", ipv6_addr_notify,
        "A member of RTNLGRP_IPV6_IFADDR hears RTM_NEWADDR / RTM_DELADDR for another socket's changes";
    "notifications", ipv4_route_notify,
        "A member of RTNLGRP_IPV4_ROUTE hears RTM_NEWROUTE / RTM_DELROUTE for another socket's changes";
    "notifications", notify_origin,
        "A notification carries the seq and the port of the request that caused it";
    "notifications", drop_membership,
        "A socket that left a group hears nothing more from it";
    "notifications", own_change_notify,
        "A member of a group hears its own changes too (without NLM_F_ECHO)";
    "notifications", echo,
        "NLM_F_ECHO sends the notification back to the requester, once, before the ACK";
    "dumps", dump_split,
        "A dump larger than the reader's buffer comes in several datagrams, each within the buffer, closed by NLMSG_DONE";
    "dumps", dump_after_dump,
        "A second dump on the same socket, after the first ended, is answered in full";
    "dumps", strict_addr_filter,
        "With NETLINK_GET_STRICT_CHK an address dump for one ifindex lists only its addresses, NLM_F_DUMP_FILTERED";
}

// ---------------------------------------------------------------- helpers

/// The IPv4 address the address checks play with, and its prefix length.
const V4: (IpAddr, u8) = (IpAddr::V4(Ipv4Addr::new(10, 83, 0, 1)), 24);
/// The IPv6 one.
const V6: (IpAddr, u8) = (
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x83, 0, 0, 0, 0, 1)),
    64,
);

/// Fails unless the setup has IPv4.
fn need_ipv4<E: Endpoint>(cx: &Ctx<'_, E>) -> Step<()> {
    if cx.setup.ipv4 {
        Ok(())
    } else {
        Err(unsupported("the setup has no IPv4"))
    }
}

/// Fails unless the setup has IPv6.
fn need_ipv6<E: Endpoint>(cx: &Ctx<'_, E>) -> Step<()> {
    if cx.setup.ipv6 {
        Ok(())
    } else {
        Err(unsupported("the setup has no IPv6"))
    }
}

/// The kinds of a reply, for comparing.
fn kinds(msgs: &[Msg]) -> Vec<u16> {
    msgs.iter().map(Msg::message_type).collect()
}

/// Wants exactly the message types `want`.
fn expect_kinds(what: &str, msgs: &[Msg], want: &[u16]) -> Step<()> {
    if kinds(msgs) == want {
        return Ok(());
    }
    // A request refused outright: say why (EOPNOTSUPP: unsupported).
    if let [m] = msgs {
        if let Some(e) = m.errno().filter(|e| *e != 0) {
            return Err(refused(what, e, 0));
        }
    }
    let want: Vec<String> = want
        .iter()
        .map(|k| message_type_name(*k).unwrap_or("?").into())
        .collect();
    Err(fail(format!(
        "{what}: expected [{}], got {}",
        want.join(", "),
        describe_all(msgs)
    )))
}

/// Wants every message to carry `seq`.
fn expect_seq(what: &str, msgs: &[Msg], seq: u32) -> Step<()> {
    match msgs.iter().find(|m| m.seq() != seq) {
        Some(m) => Err(fail(format!(
            "{what}: {} has seq {}, the request {seq}",
            m.describe(),
            m.seq()
        ))),
        None => Ok(()),
    }
}

/// Wants `msg` to be an `NLMSG_ERROR` carrying `errno`.
fn expect_errno(what: &str, msg: Option<&Msg>, errno: i32) -> Step<()> {
    match msg.and_then(Msg::errno) {
        Some(e) if e == errno => Ok(()),
        Some(e) => Err(refused(what, e, errno)),
        None => Err(fail(format!(
            "{what}: expected NLMSG_ERROR({}), got {}",
            errno_name(errno),
            msg.map_or_else(|| "nothing".into(), Msg::describe)
        ))),
    }
}

/// `ip link set LINK down`.
fn link_down<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let mut req = link_by_index(link.index);
    req.header.flags = 0;
    req.header.change = IFF_UP;
    let what = format!("ip link set {} down", link.name);
    cx.expect_ack(&what, RTM_NEWLINK, 0, &|w| req.emit(w))
}

/// The setup link, read back.
fn read_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<LinkRepr> {
    let index = cx.link()?.index;
    cx.get_link("ip link show", &link_by_index(index))
}

/// The setup link up, with `ip` on it: what the route checks start from.
/// Returns the gateway the routes can go through.
fn route_prep<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<IpAddr> {
    if v6 {
        need_ipv6(cx)?;
    } else {
        need_ipv4(cx)?;
    }
    cx.link_up().map_err(|o| prefix_outcome(o, "prepare: "))?;
    let (ip, len, gw) = if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x84, 0, 0, 0, 0, 1)),
            64,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x84, 0, 0, 0, 0, 0xfe)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 84, 0, 1)),
            24,
            IpAddr::V4(Ipv4Addr::new(10, 84, 0, 254)),
        )
    };
    cx.add_addr(ip, len)
        .map_err(|o| prefix_outcome(o, "prepare: "))?;
    Ok(gw)
}

/// The route the route checks add: a /16 (IPv4) or /48 (IPv6).
fn route_dst(v6: bool) -> (IpAddr, u8) {
    if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x85, 0, 0, 0, 0, 0)),
            48,
        )
    } else {
        (IpAddr::V4(Ipv4Addr::new(10, 85, 0, 0)), 16)
    }
}

/// `ip route add DST via GW`, wanting `wanted`.
fn add_route<E: Endpoint>(
    cx: &mut Ctx<'_, E>,
    dst: (IpAddr, u8),
    gw: IpAddr,
    wanted: i32,
) -> Step<()> {
    let req = route_add_body(dst.0, dst.1, gw);
    let what = format!("ip route add {}/{} via {gw}", dst.0, dst.1);
    cx.expect(
        &what,
        wanted,
        RTM_NEWROUTE,
        NLM_F_CREATE | NLM_F_EXCL,
        &|w| req.emit(w),
    )
}

/// `ip route del DST via GW`, wanting `wanted`.
fn del_route<E: Endpoint>(
    cx: &mut Ctx<'_, E>,
    dst: (IpAddr, u8),
    gw: IpAddr,
    wanted: i32,
) -> Step<()> {
    let req = route_del_body(dst.0, dst.1, gw);
    let what = format!("ip route del {}/{} via {gw}", dst.0, dst.1);
    cx.expect(&what, wanted, RTM_DELROUTE, 0, &|w| req.emit(w))
}

// --------------------------------------------------------------- protocol

fn ack_only_when_asked<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let l = cx.any_link()?;
    let req = link_by_index(l.index);
    let (seq, msgs) = cx.exchange(RTM_GETLINK, 0, &|w| req.emit(w))?;
    expect_kinds("GETLINK without NLM_F_ACK", &msgs, &[RTM_NEWLINK])?;
    expect_seq("GETLINK without NLM_F_ACK", &msgs, seq)?;
    let (seq, msgs) = cx.exchange(RTM_GETLINK, NLM_F_ACK, &|w| req.emit(w))?;
    let what = "GETLINK with NLM_F_ACK";
    expect_kinds(what, &msgs, &[RTM_NEWLINK, NLMSG_ERROR])?;
    expect_seq(what, &msgs, seq)?;
    let ack = msgs.get(1);
    expect_errno(what, ack, 0)?;
    let ack = ack.ok_or_else(|| fail("no ACK"))?;
    if ack.flags() & NLM_F_CAPPED == 0 || ack.len() != 36 {
        return Err(fail(format!(
            "{what}: an ACK carries the request's header only (36 bytes, NLM_F_CAPPED); got {} bytes, flags {:#x}",
            ack.len(),
            ack.flags()
        )));
    }
    Ok(())
}

fn error_without_ack<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let missing = cx.missing_index()?;
    let req = link_by_index(missing);
    let (seq, bytes) = cx.build(RTM_GETLINK, 0, &|w| req.emit(w))?;
    let conn = cx.conn;
    cx.send_raw(conn, &bytes)?;
    let msgs = cx.messages(conn)?;
    let what = "GETLINK of a missing link, without NLM_F_ACK";
    expect_kinds(what, &msgs, &[NLMSG_ERROR])?;
    expect_seq(what, &msgs, seq)?;
    expect_errno(what, msgs.first(), ENODEV)?;
    let e = msgs
        .first()
        .and_then(Msg::error)
        .ok_or_else(|| fail("no error"))?;
    let sent = split(&bytes)?;
    let sent = sent.first().ok_or_else(|| fail("no request"))?;
    if e.request().message_type != RTM_GETLINK || e.request().seq != seq {
        return Err(fail(format!(
            "{what}: the error does not echo the request's header"
        )));
    }
    if e.request_payload() != sent.bytes.get(NLMSG_HDRLEN..).unwrap_or_default() {
        return Err(fail(format!(
            "{what}: without NETLINK_CAP_ACK the error echoes the whole request; got {} of its {} payload bytes",
            e.request_payload().len(),
            sent.bytes.len().saturating_sub(NLMSG_HDRLEN)
        )));
    }
    Ok(())
}

fn cap_ack<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let missing = cx.missing_index()?;
    let conn = cx.conn;
    cx.set_option(conn, SockOpt::CapAck(true))?;
    let req = link_by_index(missing);
    let (seq, msgs) = cx.exchange(RTM_GETLINK, 0, &|w| req.emit(w))?;
    let what = "GETLINK of a missing link with NETLINK_CAP_ACK";
    expect_kinds(what, &msgs, &[NLMSG_ERROR])?;
    expect_errno(what, msgs.first(), ENODEV)?;
    let m = msgs.first().ok_or_else(|| fail("no error"))?;
    let e = m.error().ok_or_else(|| fail("no error"))?;
    if m.flags() & NLM_F_CAPPED == 0 || m.len() != 36 || !e.request_payload().is_empty() {
        return Err(fail(format!(
            "{what}: expected 36 bytes with NLM_F_CAPPED, got {} bytes, flags {:#x}",
            m.len(),
            m.flags()
        )));
    }
    if e.request().seq != seq || e.request().message_type != RTM_GETLINK {
        return Err(fail(format!(
            "{what}: the capped error does not echo the request's header"
        )));
    }
    Ok(())
}

fn ext_ack<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let l = cx.any_link()?;
    let (ip, len) = if cx.setup.ipv4 || !cx.setup.ipv6 {
        (V4.0, 33)
    } else {
        (V6.0, 129)
    };
    let req = addr_body(ip, len, l.index);
    let what = format!("ip addr add {ip}/{len}");
    let (_, msgs) = cx.exchange(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &|w| {
        req.emit(w)
    })?;
    expect_kinds(&what, &msgs, &[NLMSG_ERROR])?;
    expect_errno(&what, msgs.first(), EINVAL)?;
    if msgs
        .first()
        .is_some_and(|m| m.flags() & NLM_F_ACK_TLVS != 0)
    {
        return Err(fail(format!(
            "{what}: NLM_F_ACK_TLVS without NETLINK_EXT_ACK"
        )));
    }
    let conn = cx.conn;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    let (_, msgs) = cx.exchange(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &|w| {
        req.emit(w)
    })?;
    let what = format!("{what} with NETLINK_EXT_ACK");
    expect_kinds(&what, &msgs, &[NLMSG_ERROR])?;
    expect_errno(&what, msgs.first(), EINVAL)?;
    let m = msgs.first().ok_or_else(|| fail("no error"))?;
    let text = m.error().and_then(|e| e.ext_ack().msg).unwrap_or_default();
    if m.flags() & NLM_F_ACK_TLVS == 0 || text.is_empty() {
        return Err(fail(format!(
            "{what}: expected NLM_F_ACK_TLVS and an NLMSGERR_ATTR_MSG text"
        )));
    }
    Ok(())
}

fn unknown_type<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    // Above RTM_MAX of every kernel, below nothing rtnetlink will ever use.
    const KIND: u16 = 0x3f0;
    let (seq, msgs) = cx.exchange(KIND, NLM_F_ACK, &|w| w.put(&[AF_UNSPEC, 0, 0, 0]))?;
    let what = "a request of message type 0x3f0";
    expect_kinds(what, &msgs, &[NLMSG_ERROR])?;
    expect_seq(what, &msgs, seq)?;
    expect_errno(what, msgs.first(), EOPNOTSUPP)
}

fn short_get_body<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let all = cx.links()?.len();
    let seq = cx.next_seq();
    // nlmsg_len 17: the header and `struct rtgenmsg`, padded to 20 bytes.
    let header = NlMsgHeader {
        len: 17,
        message_type: RTM_GETLINK,
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        port: 0,
    };
    let mut req = header.to_bytes().to_vec();
    req.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
    let conn = cx.conn;
    cx.send_raw(conn, &req)?;
    let mut msgs = cx.messages(conn)?;
    let what = "a link dump with a 1-byte body";
    expect_seq(what, &msgs, seq)?;
    let done = msgs.pop();
    match done.as_ref().and_then(Msg::done) {
        Some(0) => {}
        Some(e) => return Err(refused(what, e.checked_neg().unwrap_or(0), 0)),
        None => {
            if let Some(e) = done.as_ref().and_then(Msg::errno) {
                return Err(refused(what, e, 0));
            }
            return Err(fail(format!("{what}: no NLMSG_DONE at the end")));
        }
    }
    if msgs.iter().any(|m| m.message_type() != RTM_NEWLINK) || msgs.len() != all {
        return Err(fail(format!(
            "{what}: expected the {all} links, got {}",
            describe_all(&msgs)
        )));
    }
    Ok(())
}

fn batched_requests<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let l = cx.any_link()?;
    let missing = cx.missing_index()?;
    let by_index = link_by_index(l.index);
    let gone = link_by_index(missing);
    let by_name = link_by_name(&l.name)?;
    let (s1, mut datagram) = cx.build(RTM_GETLINK, 0, &|w| by_index.emit(w))?;
    let (s2, b) = cx.build(RTM_GETLINK, 0, &|w| gone.emit(w))?;
    datagram.extend_from_slice(&b);
    let (s3, b) = cx.build(RTM_GETLINK, NLM_F_ACK, &|w| by_name.emit(w))?;
    datagram.extend_from_slice(&b);
    let conn = cx.conn;
    cx.send_raw(conn, &datagram)?;
    let msgs = cx.messages(conn)?;
    let what = "three GETLINKs in one datagram (found, missing, found with ACK)";
    expect_kinds(
        what,
        &msgs,
        &[RTM_NEWLINK, NLMSG_ERROR, RTM_NEWLINK, NLMSG_ERROR],
    )?;
    let seqs: Vec<u32> = msgs.iter().map(Msg::seq).collect();
    if seqs != [s1, s2, s3, s3] {
        return Err(fail(format!(
            "{what}: answers out of order: seqs {seqs:?}, requests {s1}, {s2}, {s3}"
        )));
    }
    expect_errno(what, msgs.get(1), ENODEV)?;
    expect_errno(what, msgs.get(3), 0)?;
    for m in [msgs.first(), msgs.get(2)].into_iter().flatten() {
        if m.link().map(|l| l.header.index) != Some(l.index) {
            return Err(fail(format!("{what}: an answer names another link")));
        }
    }
    Ok(())
}

fn trailing_padding<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let l = cx.any_link()?;
    let req = link_by_index(l.index);
    for pad in [4usize, 12, 64] {
        let (seq, mut datagram) = cx.build(RTM_GETLINK, NLM_F_ACK, &|w| req.emit(w))?;
        datagram.resize(datagram.len().saturating_add(pad), 0);
        let conn = cx.conn;
        cx.send_raw(conn, &datagram)?;
        let msgs = cx.messages(conn)?;
        let what = format!("GETLINK followed by {pad} zero bytes");
        expect_kinds(&what, &msgs, &[RTM_NEWLINK, NLMSG_ERROR])?;
        expect_seq(&what, &msgs, seq)?;
        expect_errno(&what, msgs.get(1), 0)?;
    }
    Ok(())
}

// ------------------------------------------------------------------ links

fn link_dump<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let links = cx.links()?;
    let mut seen = Vec::new();
    for l in &links {
        let i = l.header.index;
        if i == 0 {
            return Err(fail("a dumped link has index 0"));
        }
        if seen.contains(&i) {
            return Err(fail(format!("link {i} is dumped twice")));
        }
        seen.push(i);
        if l.name.is_none() {
            return Err(fail(format!("link {i} has no IFLA_IFNAME")));
        }
    }
    let found = links.iter().find(|l| l.header.index == link.index);
    match found.and_then(|l| l.name.as_ref()) {
        Some(n) if n.as_str() == link.name => Ok(()),
        Some(n) => Err(fail(format!(
            "link {} is named {:?} in the dump, {:?} in the setup",
            link.index,
            n.as_str(),
            link.name
        ))),
        None => Err(fail(format!(
            "the setup's link {} ({}) is not in the dump",
            link.index, link.name
        ))),
    }
}

fn create_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let TestLink::Create { kind, name } = cx.setup.link.clone() else {
        return Err(unsupported(
            "the setup names an existing link: creation not checked",
        ));
    };
    let link = cx.link()?;
    let got = read_link(cx)?;
    let got_kind = got
        .info
        .as_ref()
        .and_then(|i| i.kind.as_ref())
        .map(|k| k.as_str());
    if got_kind != Some(kind.as_str()) {
        return Err(fail(format!(
            "{}: IFLA_LINKINFO/IFLA_INFO_KIND is {got_kind:?}, expected {kind:?}",
            link.name
        )));
    }
    let req = new_link_body(&kind, &name)?;
    let what = format!("ip link add {name} type {kind}, again");
    cx.expect(
        &what,
        EEXIST,
        RTM_NEWLINK,
        NLM_F_CREATE | NLM_F_EXCL,
        &|w| req.emit(w),
    )
}

fn get_link_by_index<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let got = cx.get_link("GETLINK by index", &link_by_index(link.index))?;
    if got.header.index != link.index
        || got.name.as_ref().map(|n| n.as_str()) != Some(link.name.as_str())
    {
        return Err(fail(format!(
            "GETLINK {} answered link {} {:?}",
            link.index,
            got.header.index,
            got.name.as_ref().map(|n| n.as_str())
        )));
    }
    Ok(())
}

fn get_link_by_name<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let got = cx.get_link("GETLINK by name", &link_by_name(&link.name)?)?;
    if got.header.index != link.index
        || got.name.as_ref().map(|n| n.as_str()) != Some(link.name.as_str())
    {
        return Err(fail(format!(
            "GETLINK {:?} answered link {} {:?}",
            link.name,
            got.header.index,
            got.name.as_ref().map(|n| n.as_str())
        )));
    }
    Ok(())
}

/// A name no link has.
const MISSING_NAME: &str = "nlqkit-none9";

fn get_missing_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let missing = cx.missing_index()?;
    let req = link_by_index(missing);
    cx.expect("GETLINK of a missing index", ENODEV, RTM_GETLINK, 0, &|w| {
        req.emit(w)
    })?;
    let req = link_by_name(MISSING_NAME)?;
    cx.expect("GETLINK of a missing name", ENODEV, RTM_GETLINK, 0, &|w| {
        req.emit(w)
    })
}

fn set_missing_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let missing = cx.missing_index()?;
    let mut req = link_by_index(missing);
    req.header.flags = IFF_UP;
    req.header.change = IFF_UP;
    cx.expect(
        "NEWLINK (no NLM_F_CREATE) of a missing index",
        ENODEV,
        RTM_NEWLINK,
        0,
        &|w| req.emit(w),
    )?;
    let mut req = link_by_name(MISSING_NAME)?;
    req.header.flags = IFF_UP;
    req.header.change = IFF_UP;
    cx.expect(
        "NEWLINK (no NLM_F_CREATE) of a missing name",
        ENODEV,
        RTM_NEWLINK,
        0,
        &|w| req.emit(w),
    )
}

fn set_up_down<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    cx.link_up()?;
    if read_link(cx)?.header.flags & IFF_UP == 0 {
        return Err(fail("after ip link set up, IFF_UP is clear"));
    }
    link_down(cx)?;
    if read_link(cx)?.header.flags & IFF_UP != 0 {
        return Err(fail("after ip link set down, IFF_UP is set"));
    }
    Ok(())
}

fn set_mtu<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let cur = read_link(cx)?.mtu;
    let mtu = if cur == Some(1400) { 1300 } else { 1400 };
    let mut req = link_by_index(link.index);
    req.mtu = Some(mtu);
    let what = format!("ip link set {} mtu {mtu}", link.name);
    cx.expect_ack(&what, RTM_NEWLINK, 0, &|w| req.emit(w))?;
    match read_link(cx)?.mtu {
        Some(m) if m == mtu => Ok(()),
        got => Err(fail(format!("after {what}, IFLA_MTU is {got:?}"))),
    }
}

fn set_mac<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let cur = read_link(cx)?.address;
    let mut mac = [0x02, 0x6b, 0x69, 0x74, 0x00, 0x01];
    if cur.as_ref().map(|a| a.as_slice()) == Some(&mac[..]) {
        mac = [0x02, 0x6b, 0x69, 0x74, 0x00, 0x02];
    }
    let mut req = link_by_index(link.index);
    req.address = HwAddr::try_from_slice(&mac);
    let what = format!(
        "ip link set {} address {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        link.name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    );
    cx.expect_ack(&what, RTM_NEWLINK, 0, &|w| req.emit(w))?;
    let got = read_link(cx)?.address;
    if got.as_ref().map(|a| a.as_slice()) != Some(&mac[..]) {
        return Err(fail(format!(
            "after {what}, IFLA_ADDRESS is {:02x?}",
            got.as_ref().map(|a| a.as_slice())
        )));
    }
    Ok(())
}

fn delete_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    if !matches!(cx.setup.link, TestLink::Create { .. }) {
        return Err(unsupported(
            "the setup names an existing link: deletion not checked",
        ));
    }
    let link = cx.link()?;
    let mut addrs = Vec::new();
    if cx.setup.ipv4 {
        let gw = route_prep(cx, false)?;
        add_route(cx, route_dst(false), gw, 0)?;
        addrs.push(AF_INET);
    }
    if cx.setup.ipv6 {
        let gw = route_prep(cx, true)?;
        add_route(cx, route_dst(true), gw, 0)?;
        addrs.push(AF_INET6);
    }
    let l = listener(cx, RTNLGRP_LINK)?;
    let req = link_by_index(link.index);
    let what = format!("ip link del {}", link.name);
    cx.expect_ack(&what, RTM_DELLINK, 0, &|w| req.emit(w))?;
    let msgs = cx.messages(l)?;
    heard(
        &what,
        &msgs,
        RTM_DELLINK,
        |m| m.link().is_some_and(|x| x.header.index == link.index),
        "RTNLGRP_LINK member",
    )?;
    if cx.links()?.iter().any(|x| x.header.index == link.index) {
        return Err(fail(format!("after {what}, the link is still dumped")));
    }
    cx.expect(
        &format!("GETLINK after {what}"),
        ENODEV,
        RTM_GETLINK,
        0,
        &|w| req.emit(w),
    )?;
    for family in addrs {
        if let Some(a) = cx
            .addrs(family)?
            .iter()
            .find(|a| a.header.index == link.index)
        {
            return Err(fail(format!(
                "after {what}, its address {:?} is still dumped",
                addr_ip(a)
            )));
        }
        if let Some(r) = cx.routes(family)?.iter().find(|r| {
            r.oif == Some(link.index)
                || r.multipath
                    .as_ref()
                    .is_some_and(|m| m.as_slice().iter().any(|h| h.ifindex == link.index))
        }) {
            return Err(fail(format!(
                "after {what}, a route through it to {:?}/{} is still dumped",
                r.dst, r.header.dst_len
            )));
        }
    }
    Ok(())
}

// -------------------------------------------------------------- addresses

/// What the address checks start from: the setup link up, when the stack
/// can do that (addresses do not need it).
fn addr_prep<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<(IpAddr, u8)> {
    if v6 {
        need_ipv6(cx)?;
    } else {
        need_ipv4(cx)?;
    }
    match cx.link_up() {
        Ok(()) | Err(Outcome::Unsupported(_)) => {}
        Err(o) => return Err(prefix_outcome(o, "prepare: ")),
    }
    Ok(if v6 { V6 } else { V4 })
}

fn addr_add<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let (ip, len) = addr_prep(cx, v6)?;
    cx.add_addr(ip, len)?;
    let Some(a) = cx.find_addr(ip)? else {
        return Err(fail(format!("{ip}/{len} is not in the address dump")));
    };
    if a.header.prefix_len != len || a.header.family != family_of(&ip) {
        return Err(fail(format!(
            "{ip}/{len} is dumped with family {} prefix length {}",
            a.header.family, a.header.prefix_len
        )));
    }
    Ok(())
}

fn addr_add_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let (ip, len) = addr_prep(cx, v6)?;
    cx.add_addr(ip, len)?;
    let index = cx.link()?.index;
    let req = addr_body(ip, len, index);
    let what = format!("ip addr add {ip}/{len}, again");
    cx.expect(
        &what,
        EEXIST,
        RTM_NEWADDR,
        NLM_F_CREATE | NLM_F_EXCL,
        &|w| req.emit(w),
    )
}

fn addr_delete<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let (ip, len) = addr_prep(cx, v6)?;
    cx.add_addr(ip, len)?;
    cx.del_addr(ip, len, 0)?;
    if cx.find_addr(ip)?.is_some() {
        return Err(fail(format!(
            "{ip}/{len} is still dumped after its deletion"
        )));
    }
    Ok(())
}

fn addr_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let (ip, len) = addr_prep(cx, v6)?;
    cx.del_addr(ip, len, EADDRNOTAVAIL)?;
    cx.add_addr(ip, len)?;
    cx.del_addr(ip, len, 0)?;
    cx.del_addr(ip, len, EADDRNOTAVAIL)
}

fn ipv4_add<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_add(cx, false)
}

fn ipv4_add_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_add_duplicate(cx, false)
}

fn ipv4_delete<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_delete(cx, false)
}

fn ipv4_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_delete_missing(cx, false)
}

fn ipv6_add<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_add(cx, true)
}

fn ipv6_add_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_add_duplicate(cx, true)
}

fn ipv6_delete<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_delete(cx, true)
}

fn ipv6_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_delete_missing(cx, true)
}

fn addr_bad_prefix<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let mut cases = Vec::new();
    if cx.setup.ipv4 {
        cases.push((V4.0, 33));
    }
    if cx.setup.ipv6 {
        cases.push((V6.0, 129));
    }
    if cases.is_empty() {
        return Err(unsupported("the setup has neither IPv4 nor IPv6"));
    }
    let link = cx.link()?;
    for (ip, len) in cases {
        let req = addr_body(ip, len, link.index);
        let what = format!("ip addr add {ip}/{len}");
        cx.expect(
            &what,
            EINVAL,
            RTM_NEWADDR,
            NLM_F_CREATE | NLM_F_EXCL,
            &|w| req.emit(w),
        )?;
    }
    Ok(())
}

/// One case of [`addr_refusals`]: what it sends, and the errno and
/// extended-ACK text the kernel answers.
struct RefusalCase {
    what: String,
    kind: u16,
    /// The family header and attributes, as sent.
    body: Vec<u8>,
    errno: i32,
    text: Option<&'static str>,
    /// `NLMSGERR_ATTR_OFFS`: where in the request the offending attribute
    /// starts.
    offset: Option<u32>,
    /// The request's flags besides `NLM_F_ACK`; `None`: `NLM_F_CREATE |
    /// NLM_F_EXCL` for a `NEW`, none otherwise.
    flags: Option<u16>,
}

/// The bytes `emit` writes.
fn bytes_of(emit: impl Fn(&mut Writer<Vec<u8>>) -> nlq::wire::Result<()>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    // A request of a few attributes: a `Vec` has room.
    let _ = emit(&mut w);
    w.into_inner()
}

/// Sends each case on `conn` (with `NETLINK_EXT_ACK` on) and wants the
/// kernel's errno, extended-ACK text and attribute offset exactly.
fn expect_refusals<E: Endpoint>(
    cx: &mut Ctx<'_, E>,
    conn: Conn,
    cases: &[RefusalCase],
) -> Step<()> {
    for c in cases {
        let flags = NLM_F_ACK
            | c.flags.unwrap_or(match c.kind {
                RTM_NEWADDR | RTM_NEWROUTE => NLM_F_CREATE | NLM_F_EXCL,
                _ => 0,
            });
        let (seq, msgs) = cx.exchange_on(conn, c.kind, flags, &|w| w.put(&c.body))?;
        expect_answer(&c.what, c.errno, seq, &msgs)?;
        let ack = msgs.first().and_then(|m| m.error()).map(|e| e.ext_ack());
        let (text, offset) = (ack.and_then(|a| a.msg), ack.and_then(|a| a.offset));
        if text != c.text || offset != c.offset {
            return Err(fail(format!(
                "{}: extended ACK {text:?} at {offset:?}, the kernel's {:?} at {:?}",
                c.what, c.text, c.offset
            )));
        }
    }
    Ok(())
}

/// The kernel's answers to address requests it refuses. An IPv4 add
/// (`inet_validate_rtm`) checks the prefix, then `IFA_LOCAL`, then the
/// link; an IPv4 delete checks the link and never the prefix (an address
/// named with `/33` is simply not found). IPv6 checks that the request
/// names an address first (`EINVAL`, no text); then an add checks the
/// link before the prefix, a delete the prefix before the link.
fn refusal_cases(ip: IpAddr, link: u32, missing: u32) -> Vec<RefusalCase> {
    let named = |len: u8, index: u32| AddrRepr::new(ip, len, index).with_local(ip);
    let bare = |len: u8, index: u32| AddrRepr {
        address: None,
        ..AddrRepr::new(ip, len, index)
    };
    let case = |what: &str, kind: u16, body: AddrRepr, errno: i32, text: Option<&'static str>| {
        RefusalCase {
            what: format!("{what} ({ip}/{})", body.header.prefix_len),
            kind,
            body: bytes_of(|w| body.emit(w)),
            errno,
            text,
            offset: None,
            flags: None,
        }
    };
    if ip.is_ipv4() {
        let long = Some("ipv4: Invalid prefix length");
        let missing_link = Some("ipv4: Device not found");
        let not_found = Some("ipv4: Address not found");
        let no_local = Some("ipv4: Local address is not supplied");
        vec![
            case(
                "add without IFA_LOCAL",
                RTM_NEWADDR,
                bare(24, link),
                EINVAL,
                no_local,
            ),
            case(
                "add on a missing link",
                RTM_NEWADDR,
                named(24, missing),
                ENODEV,
                missing_link,
            ),
            case(
                "delete on a missing link",
                RTM_DELADDR,
                named(24, missing),
                ENODEV,
                missing_link,
            ),
            case("add", RTM_NEWADDR, named(33, link), EINVAL, long),
            case(
                "add without IFA_LOCAL",
                RTM_NEWADDR,
                bare(33, link),
                EINVAL,
                long,
            ),
            case(
                "add on a missing link",
                RTM_NEWADDR,
                named(33, missing),
                EINVAL,
                long,
            ),
            case(
                "delete",
                RTM_DELADDR,
                named(33, link),
                EADDRNOTAVAIL,
                not_found,
            ),
            case(
                "delete on a missing link",
                RTM_DELADDR,
                named(33, missing),
                ENODEV,
                missing_link,
            ),
        ]
    } else {
        let long = Some("ipv6: Invalid prefix length");
        let missing_link = Some("ipv6: Unable to find the interface");
        vec![
            case(
                "add without an address",
                RTM_NEWADDR,
                bare(64, link),
                EINVAL,
                None,
            ),
            case(
                "delete without an address",
                RTM_DELADDR,
                bare(64, link),
                EINVAL,
                None,
            ),
            case(
                "add on a missing link",
                RTM_NEWADDR,
                named(64, missing),
                ENODEV,
                missing_link,
            ),
            case(
                "delete on a missing link",
                RTM_DELADDR,
                named(64, missing),
                ENODEV,
                missing_link,
            ),
            case("add", RTM_NEWADDR, named(129, link), EINVAL, long),
            case(
                "add without an address",
                RTM_NEWADDR,
                bare(129, link),
                EINVAL,
                None,
            ),
            case(
                "add on a missing link",
                RTM_NEWADDR,
                named(129, missing),
                ENODEV,
                missing_link,
            ),
            case("delete", RTM_DELADDR, named(129, link), EINVAL, long),
            case(
                "delete without an address",
                RTM_DELADDR,
                bare(129, link),
                EINVAL,
                None,
            ),
            case(
                "delete on a missing link",
                RTM_DELADDR,
                named(129, missing),
                EINVAL,
                long,
            ),
        ]
    }
}

fn addr_refusals<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let mut ips = Vec::new();
    if cx.setup.ipv4 {
        ips.push(V4.0);
    }
    if cx.setup.ipv6 {
        ips.push(V6.0);
    }
    if ips.is_empty() {
        return Err(unsupported("the setup has neither IPv4 nor IPv6"));
    }
    let link = cx.link()?.index;
    let missing = cx.missing_index()?;
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    for ip in ips {
        expect_refusals(cx, conn, &refusal_cases(ip, link, missing))?;
    }
    Ok(())
}

/// An `rtmsg` (main table, no flags) and attributes, as bytes.
fn route_body(family: u8, dst_len: u8, scope: u8, rtype: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let table = RT_TABLE_MAIN as u8;
    bytes_of(|w| {
        w.put(&[family, dst_len, 0, 0, table, RTPROT_BOOT, scope, rtype])?;
        w.put(&0u32.to_ne_bytes())?;
        attrs.iter().try_for_each(|(t, v)| w.attr(*t, v))
    })
}

/// The kernel's answers to route requests it refuses (`rtm_to_fib_config`
/// and `fib_create_info`, `rtm_to_fib6_config` and `ip6_route_info_create`),
/// with a route of `v6`'s family through the link `link` (up, with an
/// address in the gateway's subnet); `missing` is a link that does not
/// exist. An attribute too short for its policy is `ERANGE` naming its
/// offset: the request's attributes start at 28.
fn route_refusal_cases(v6: bool, link: u32, missing: u32) -> Vec<RefusalCase> {
    let oif = link.to_ne_bytes();
    let gone = missing.to_ne_bytes();
    let policy = Some("Attribute failed policy validation");
    let case = |what: &str, kind, body, errno, text, offset| RefusalCase {
        what: what.to_string(),
        kind,
        body,
        errno,
        text,
        offset,
        flags: None,
    };
    let add = RTM_NEWROUTE;
    let (u, nowhere) = (RT_SCOPE_UNIVERSE, RT_SCOPE_NOWHERE);
    if !v6 {
        let dst: &[u8] = &[10, 85, 0, 0];
        let body = |len, scope, rtype, rest: &[(u16, &[u8])]| {
            let mut attrs = vec![(RTA_DST, dst)];
            attrs.extend_from_slice(rest);
            route_body(AF_INET, len, scope, rtype, &attrs)
        };
        let uni = RTN_UNICAST;
        vec![
            case(
                "10.85.0.0/33 dev LINK",
                add,
                body(33, u, uni, &[(RTA_OIF, &oif)]),
                EINVAL,
                Some("Invalid prefix length"),
                None,
            ),
            case(
                "10.85.0.0/16 with a 3-byte RTA_GATEWAY",
                add,
                body(16, u, uni, &[(RTA_GATEWAY, &[10, 84, 0])]),
                ERANGE,
                policy,
                Some(36),
            ),
            case(
                "10.85.0.0/16 with an empty RTA_MULTIPATH",
                add,
                body(16, u, uni, &[(RTA_MULTIPATH, &[])]),
                ERANGE,
                policy,
                Some(36),
            ),
            case(
                "10.85.0.0/16 via 10.99.0.1 (no route to it)",
                add,
                body(16, u, uni, &[(RTA_GATEWAY, &[10, 99, 0, 1])]),
                ENETUNREACH,
                Some("Nexthop has invalid gateway"),
                None,
            ),
            case(
                "10.85.0.0/16 dev MISSING",
                add,
                body(16, u, uni, &[(RTA_OIF, &gone)]),
                ENODEV,
                None,
                None,
            ),
            case(
                "10.85.0.0/16 via 10.84.0.254 scope host",
                add,
                body(16, RT_SCOPE_HOST, uni, &[(RTA_GATEWAY, &[10, 84, 0, 254])]),
                EINVAL,
                Some("Route with host scope can not have a gateway"),
                None,
            ),
            case(
                "10.85.0.0/8 dev LINK (host bits set)",
                add,
                body(8, u, uni, &[(RTA_OIF, &oif)]),
                EINVAL,
                Some("Invalid prefix for given prefix length"),
                None,
            ),
            case(
                "10.85.0.0/16 dev LINK of type 99",
                add,
                body(16, u, 99, &[(RTA_OIF, &oif)]),
                EINVAL,
                Some("Invalid route type"),
                None,
            ),
            case(
                "delete 10.86.0.0/16 (not there)",
                RTM_DELROUTE,
                route_body(
                    AF_INET,
                    16,
                    nowhere,
                    RTN_UNSPEC,
                    &[(RTA_DST, &[10, 86, 0, 0])],
                ),
                ESRCH,
                None,
                None,
            ),
            case(
                "delete 10.86.0.0/16 from table 77 (not there)",
                RTM_DELROUTE,
                route_body(
                    AF_INET,
                    16,
                    nowhere,
                    RTN_UNSPEC,
                    &[
                        (RTA_DST, &[10, 86, 0, 0]),
                        (RTA_TABLE, &77u32.to_ne_bytes()),
                    ],
                ),
                ESRCH,
                Some("FIB table does not exist"),
                None,
            ),
        ]
    } else {
        let dst = Ipv6Addr::new(0x2001, 0xdb8, 0x85, 0, 0, 0, 0, 0).octets();
        let body = |len, rest: &[(u16, &[u8])]| {
            let mut attrs = vec![(RTA_DST, &dst[..])];
            attrs.extend_from_slice(rest);
            route_body(AF_INET6, len, u, RTN_UNICAST, &attrs)
        };
        let unreachable = Ipv6Addr::new(0x2001, 0xdb8, 0x99, 0, 0, 0, 0, 1).octets();
        let link_local = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1).octets();
        let other = Ipv6Addr::new(0x2001, 0xdb8, 0x86, 0, 0, 0, 0, 0).octets();
        vec![
            case(
                "2001:db8:85::/129 dev LINK",
                add,
                body(129, &[(RTA_OIF, &oif)]),
                EINVAL,
                None,
                None,
            ),
            case(
                "2001:db8:85::/48 with a 4-byte RTA_GATEWAY",
                add,
                body(48, &[(RTA_GATEWAY, &[10, 84, 0, 254])]),
                ERANGE,
                policy,
                Some(48),
            ),
            case(
                "2001:db8:85::/48 via 2001:db8:99::1 (no route to it)",
                add,
                body(48, &[(RTA_GATEWAY, &unreachable)]),
                EHOSTUNREACH,
                None,
                None,
            ),
            case(
                "2001:db8:85::/48 via fe80::1 without a device",
                add,
                body(48, &[(RTA_GATEWAY, &link_local)]),
                EINVAL,
                Some("Egress device not specified"),
                None,
            ),
            case(
                "2001:db8:85::/48 dev MISSING",
                add,
                body(48, &[(RTA_OIF, &gone)]),
                ENODEV,
                None,
                None,
            ),
            case(
                "delete 2001:db8:86::/48 (not there)",
                RTM_DELROUTE,
                route_body(AF_INET6, 48, u, RTN_UNSPEC, &[(RTA_DST, &other)]),
                ESRCH,
                None,
                None,
            ),
        ]
    }
}

fn route_refusals<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    route_prep(cx, v6)?;
    let link = cx.link()?.index;
    let missing = cx.missing_index()?;
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    expect_refusals(cx, conn, &route_refusal_cases(v6, link, missing))
}

fn ipv4_route_refusals<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_refusals(cx, false)
}

fn ipv6_route_refusals<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_refusals(cx, true)
}

/// Attributes their policy refuses (`validate_nla`): a value shorter than
/// its type, a string longer than its room. `ERANGE`, naming the
/// attribute by its offset: a link's attributes start at 32, an
/// address's at 24.
fn attr_policy<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?.index;
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    let link_body = |t: u16, v: &[u8]| {
        bytes_of(|w| {
            w.put(&[AF_UNSPEC, 0, 0, 0])?;
            w.put(&link.to_ne_bytes())?;
            w.put(&[0; 8])?;
            w.attr(t, v)
        })
    };
    let ip = [10, 87, 0, 1];
    let addr_body = |attrs: &[(u16, &[u8])]| {
        bytes_of(|w| {
            w.put(&[AF_INET, 24, 0, 0])?;
            w.put(&link.to_ne_bytes())?;
            attrs.iter().try_for_each(|(t, v)| w.attr(*t, v))
        })
    };
    let case = |what: &str, kind, body, offset| RefusalCase {
        what: what.to_string(),
        kind,
        body,
        errno: ERANGE,
        text: Some("Attribute failed policy validation"),
        offset: Some(offset),
        flags: None,
    };
    let cases = [
        case(
            "ip link set LINK name (20 characters)",
            RTM_NEWLINK,
            link_body(IFLA_IFNAME, b"aaaaaaaaaaaaaaaaaaaa\0"),
            32,
        ),
        case(
            "ip link set LINK with a 3-byte IFLA_MTU",
            RTM_NEWLINK,
            link_body(IFLA_MTU, &[0, 5, 0]),
            32,
        ),
        case(
            "ip link set LINK with a 2-byte IFLA_TXQLEN",
            RTM_NEWLINK,
            link_body(IFLA_TXQLEN, &[1, 0]),
            32,
        ),
        case(
            "ip addr add with a 3-byte IFA_LOCAL",
            RTM_NEWADDR,
            addr_body(&[(IFA_LOCAL, &[10, 87, 0])]),
            24,
        ),
        case(
            "ip addr add with a 24-character label",
            RTM_NEWADDR,
            addr_body(&[
                (IFA_LOCAL, &ip),
                (IFA_ADDRESS, &ip),
                (IFA_LABEL, b"xxxxxxxxxxxxxxxxxxxxxxxx\0"),
            ]),
            40,
        ),
        case(
            "ip addr add with an 8-byte IFA_CACHEINFO",
            RTM_NEWADDR,
            addr_body(&[
                (IFA_LOCAL, &ip),
                (IFA_ADDRESS, &ip),
                (IFA_CACHEINFO, &[0; 8]),
            ]),
            40,
        ),
    ];
    expect_refusals(cx, conn, &cases)
}

/// `nlmsg_parse_deprecated`: the kernel reads a change's attributes up to
/// the first that does not fit, handles the request with those, and its
/// answer (an ACK too) says the rest was left over, unless the handler set
/// a text of its own.
fn leftover_bytes<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    if !cx.setup.ipv4 {
        return Err(unsupported("the setup has no IPv4"));
    }
    let link = cx.link()?.index;
    let mtu = read_link(cx)?
        .mtu
        .ok_or_else(|| fail("the link has no IFLA_MTU"))?;
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    // An attribute claiming 12 bytes of which 8 are there, two stray bytes.
    let overflow: &[u8] = &[12, 0, 6, 0, 0, 0, 0, 0];
    let stray: &[u8] = &[0, 0];
    let link_set = |tail: &[u8]| {
        bytes_of(|w| {
            w.put(&[AF_UNSPEC, 0, 0, 0])?;
            w.put(&link.to_ne_bytes())?;
            w.put(&[0; 8])?;
            w.attr_u32(IFLA_MTU, mtu)?;
            w.put(tail)
        })
    };
    let ip = [10, 88, 0, 1];
    let addr = |tail: &[u8]| {
        bytes_of(|w| {
            w.put(&[AF_INET, 24, 0, 0])?;
            w.put(&link.to_ne_bytes())?;
            w.attr(IFA_LOCAL, &ip)?;
            w.attr(IFA_ADDRESS, &ip)?;
            w.put(tail)
        })
    };
    // Its only attribute, the destination, overflows: no device.
    let route = bytes_of(|w| {
        let table = RT_TABLE_MAIN as u8;
        w.put(&[AF_INET, 24, 0, 0, table, RTPROT_BOOT, 0, RTN_UNICAST])?;
        w.put(&[0; 4])?;
        w.put(&[40, 0, 1, 0, 10, 89, 0, 0])
    });
    let case = |what: &str, kind, body, errno, text| RefusalCase {
        what: what.to_string(),
        kind,
        body,
        errno,
        text: Some(text),
        offset: None,
        flags: None,
    };
    let left = "bytes leftover after parsing attributes";
    let cases = [
        case(
            "ip link set LINK mtu (its own), then an attribute that overflows",
            RTM_NEWLINK,
            link_set(overflow),
            0,
            left,
        ),
        case(
            "ip link set LINK mtu (its own), then two stray bytes",
            RTM_NEWLINK,
            link_set(stray),
            0,
            left,
        ),
        case(
            "ip addr add 10.88.0.1/24, then an attribute that overflows",
            RTM_NEWADDR,
            addr(overflow),
            0,
            left,
        ),
        case(
            "ip addr del 10.88.0.1/24, then two stray bytes",
            RTM_DELADDR,
            addr(stray),
            0,
            left,
        ),
        case(
            "ip addr del 10.88.0.1/24 again, then two stray bytes (the handler's text)",
            RTM_DELADDR,
            addr(stray),
            EADDRNOTAVAIL,
            "ipv4: Address not found",
        ),
        case(
            "ip route add 10.89.0.0/24 whose only attribute overflows",
            RTM_NEWROUTE,
            route,
            ENODEV,
            left,
        ),
    ];
    expect_refusals(cx, conn, &cases)
}

/// What the kernel answers a route or address change by its flags, and
/// `ip route get` when it fails (the IPv4 rules of `fib_table_insert`,
/// `__inet_insert_ifa` and `inet_rtm_getroute`).
fn change_flags<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_prep(cx, false)?;
    let link = cx.link()?.index;
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    let lo = 1u32.to_ne_bytes();
    let (uni, u) = (RTN_UNICAST, RT_SCOPE_UNIVERSE);
    let gw = [10, 84, 0, 254];
    let missing: &[(u16, &[u8])] = &[(RTA_DST, &[10, 88, 0, 0]), (RTA_GATEWAY, &gw)];
    let made: &[(u16, &[u8])] = &[(RTA_DST, &[10, 88, 1, 0]), (RTA_GATEWAY, &gw)];
    let wrong: &[(u16, &[u8])] = &[
        (RTA_DST, &[10, 88, 1, 0]),
        (RTA_GATEWAY, &gw),
        (RTA_OIF, &lo),
    ];
    let get = |dst: &[u8]| route_body(AF_INET, 32, u, RTN_UNSPEC, &[(RTA_DST, dst)]);
    let ip = [10, 84, 0, 1];
    let again = bytes_of(|w| {
        w.put(&[AF_INET, 24, 0, 0])?;
        w.put(&link.to_ne_bytes())?;
        w.attr(IFA_LOCAL, &ip)?;
        w.attr(IFA_ADDRESS, &ip)
    });
    let case =
        |what: &str, kind, flags, body, errno, text: Option<&'static str>, offset| RefusalCase {
            what: what.to_string(),
            kind,
            body,
            errno,
            text,
            offset,
            flags: Some(flags),
        };
    let add = RTM_NEWROUTE;
    let cases = [
        case(
            "change 10.88.0.0/24 (not there, no NLM_F_CREATE)",
            add,
            0,
            route_body(AF_INET, 24, u, uni, missing),
            ENOENT,
            None,
            None,
        ),
        case(
            "replace 10.88.0.0/24 (not there, no NLM_F_CREATE)",
            add,
            NLM_F_REPLACE,
            route_body(AF_INET, 24, u, uni, missing),
            ENOENT,
            None,
            None,
        ),
        case(
            "add 10.88.1.0/24 via 10.84.0.254",
            add,
            NLM_F_CREATE | NLM_F_EXCL,
            route_body(AF_INET, 24, u, uni, made),
            0,
            None,
            None,
        ),
        case(
            "add 10.88.1.0/24 via 10.84.0.254 again, NLM_F_CREATE alone",
            add,
            NLM_F_CREATE,
            route_body(AF_INET, 24, u, uni, made),
            EEXIST,
            None,
            None,
        ),
        case(
            "append 10.88.1.0/24 via 10.84.0.254, the same route",
            add,
            NLM_F_CREATE | NLM_F_APPEND,
            route_body(AF_INET, 24, u, uni, made),
            EEXIST,
            None,
            None,
        ),
        case(
            "add 10.84.0.1/24 again, NLM_F_CREATE alone",
            RTM_NEWADDR,
            NLM_F_CREATE,
            again,
            EEXIST,
            Some("ipv4: Address already assigned"),
            None,
        ),
        case(
            "ip route get 192.0.2.1 (no route)",
            RTM_GETROUTE,
            0,
            get(&[192, 0, 2, 1]),
            ENETUNREACH,
            None,
            None,
        ),
        case(
            "ip route get with a 3-byte RTA_DST",
            RTM_GETROUTE,
            0,
            get(&[10, 88, 1]),
            ERANGE,
            Some("Attribute failed policy validation"),
            Some(28),
        ),
        case(
            "delete 10.88.1.0/24 via 10.84.0.254 dev lo (another device)",
            RTM_DELROUTE,
            0,
            route_body(AF_INET, 24, RT_SCOPE_NOWHERE, RTN_UNSPEC, wrong),
            ESRCH,
            None,
            None,
        ),
        case(
            "delete 10.88.1.0/24 via 10.84.0.254",
            RTM_DELROUTE,
            0,
            route_body(AF_INET, 24, RT_SCOPE_NOWHERE, RTN_UNSPEC, made),
            0,
            None,
            None,
        ),
    ];
    expect_refusals(cx, conn, &cases)
}

/// VXLAN tunnels the kernel refuses to make: one without its VNI
/// (`vxlan_nl2conf`), one whose VNI is 2^24 or whose VNI is cut short
/// (`vxlan_validate` and its policy, naming `IFLA_VXLAN_ID`: at 64, past
/// `ifinfomsg`, the name, `IFLA_LINKINFO`, the kind and `IFLA_INFO_DATA`).
fn vxlan_refusals<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let conn = cx.connect()?;
    cx.set_option(conn, SockOpt::ExtAck(true))?;
    let body = |id: Option<&[u8]>| {
        bytes_of(|w| {
            w.put(&[0; 16])?;
            w.attr(IFLA_IFNAME, b"nlqvx0\0")?;
            w.nested(IFLA_LINKINFO, |w| {
                w.attr(IFLA_INFO_KIND, b"vxlan\0")?;
                match id {
                    Some(id) => w.nested(IFLA_INFO_DATA, |w| w.attr(1, id)),
                    None => Ok(()),
                }
            })
        })
    };
    let case = |what: &str, body, errno, text, offset| RefusalCase {
        what: what.to_string(),
        kind: RTM_NEWLINK,
        body,
        errno,
        text: Some(text),
        offset,
        flags: Some(NLM_F_CREATE | NLM_F_EXCL),
    };
    let cases = [
        case(
            "ip link add nlqvx0 type vxlan (no id)",
            body(None),
            EINVAL,
            "Required attributes not provided to perform the operation",
            None,
        ),
        case(
            "ip link add nlqvx0 type vxlan id 16777216",
            body(Some(&(1u32 << 24).to_ne_bytes())),
            ERANGE,
            "VXLAN ID must be lower than 16777216",
            Some(64),
        ),
        case(
            "ip link add nlqvx0 type vxlan with a 2-byte IFLA_VXLAN_ID",
            body(Some(&[1, 0])),
            ERANGE,
            "Attribute failed policy validation",
            Some(64),
        ),
    ];
    expect_refusals(cx, conn, &cases)
}

fn addr_missing_link<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let (ip, len) = if cx.setup.ipv4 {
        V4
    } else if cx.setup.ipv6 {
        V6
    } else {
        return Err(unsupported("the setup has neither IPv4 nor IPv6"));
    };
    let missing = cx.missing_index()?;
    let req = addr_body(ip, len, missing);
    let what = format!("ip addr add {ip}/{len} on missing link {missing}");
    cx.expect(
        &what,
        ENODEV,
        RTM_NEWADDR,
        NLM_F_CREATE | NLM_F_EXCL,
        &|w| req.emit(w),
    )
}

fn addr_dump_family<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    if !(cx.setup.ipv4 && cx.setup.ipv6) {
        return Err(unsupported("the setup lacks IPv4 or IPv6"));
    }
    addr_prep(cx, false)?;
    cx.add_addr(V4.0, V4.1)?;
    cx.add_addr(V6.0, V6.1)?;
    for family in [AF_INET, AF_INET6] {
        let addrs = cx.addrs(family)?;
        if let Some(a) = addrs.iter().find(|a| a.header.family != family) {
            return Err(fail(format!(
                "the family {family} dump lists {:?} (family {})",
                addr_ip(a),
                a.header.family
            )));
        }
        let want = if family == AF_INET { V4.0 } else { V6.0 };
        if !addrs.iter().any(|a| addr_ip(a) == Some(want)) {
            return Err(fail(format!(
                "the family {family} dump does not list {want}"
            )));
        }
    }
    let all = cx.addrs(AF_UNSPEC)?;
    for want in [V4.0, V6.0] {
        if !all.iter().any(|a| addr_ip(a) == Some(want)) {
            return Err(fail(format!("the AF_UNSPEC dump does not list {want}")));
        }
    }
    Ok(())
}

// ----------------------------------------------------------------- routes

/// Wants the route to `dst` through `gw` in the dump, through the link.
fn route_shows<E: Endpoint>(cx: &mut Ctx<'_, E>, dst: (IpAddr, u8), gw: IpAddr) -> Step<()> {
    let link = cx.link()?;
    let found = cx.find_routes(dst.0, dst.1)?;
    let Some(r) = found.iter().find(|r| r.gateway == Some(gw)) else {
        return Err(fail(format!(
            "{}/{} via {gw} is not in the route dump (main table): {} routes to it",
            dst.0,
            dst.1,
            found.len()
        )));
    };
    if r.oif != Some(link.index) {
        return Err(fail(format!(
            "{}/{} via {gw} is dumped with RTA_OIF {:?}, expected {} (the gateway's link)",
            dst.0, dst.1, r.oif, link.index
        )));
    }
    if r.header.route_type != RTN_UNICAST {
        return Err(fail(format!(
            "{}/{} is dumped with type {}, expected RTN_UNICAST",
            dst.0, dst.1, r.header.route_type
        )));
    }
    Ok(())
}

fn route_add<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let gw = route_prep(cx, v6)?;
    let dst = route_dst(v6);
    add_route(cx, dst, gw, 0)?;
    route_shows(cx, dst, gw)
}

fn route_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let gw = route_prep(cx, v6)?;
    let dst = route_dst(v6);
    add_route(cx, dst, gw, 0)?;
    add_route(cx, dst, gw, EEXIST)
}

fn route_delete<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let gw = route_prep(cx, v6)?;
    let dst = route_dst(v6);
    add_route(cx, dst, gw, 0)?;
    del_route(cx, dst, gw, 0)?;
    if !cx.find_routes(dst.0, dst.1)?.is_empty() {
        return Err(fail(format!(
            "{}/{} is still dumped after its deletion",
            dst.0, dst.1
        )));
    }
    Ok(())
}

fn route_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let gw = route_prep(cx, v6)?;
    let dst = route_dst(v6);
    del_route(cx, dst, gw, ESRCH)?;
    add_route(cx, dst, gw, 0)?;
    del_route(cx, dst, gw, 0)?;
    del_route(cx, dst, gw, ESRCH)
}

fn ipv4_route_add<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_add(cx, false)
}

fn ipv4_route_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_duplicate(cx, false)
}

fn ipv4_route_delete<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_delete(cx, false)
}

fn ipv4_route_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_delete_missing(cx, false)
}

fn ipv4_route_unreachable<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_prep(cx, false)?;
    let far = IpAddr::V4(Ipv4Addr::new(10, 99, 99, 99));
    add_route(
        cx,
        (IpAddr::V4(Ipv4Addr::new(10, 86, 0, 0)), 16),
        far,
        ENETUNREACH,
    )
}

/// The main-table routes with a zero prefix length (default routes).
fn default_routes<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<Vec<RouteRepr>> {
    Ok(cx
        .routes(AF_INET)?
        .into_iter()
        .filter(|r| r.table_id() == RT_TABLE_MAIN && r.header.dst_len == 0)
        .collect())
}

fn ipv4_default_route<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let gw = route_prep(cx, false)?;
    let link = cx.link()?;
    let any = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    add_route(cx, any, gw, 0)?;
    let found = default_routes(cx)?;
    let [r] = found.as_slice() else {
        return Err(fail(format!(
            "after ip route add default via {gw}, {} default routes are dumped",
            found.len()
        )));
    };
    if r.dst.is_some() || r.gateway != Some(gw) || r.oif != Some(link.index) {
        return Err(fail(format!(
            "the default route is dumped with RTA_DST {:?}, RTA_GATEWAY {:?}, RTA_OIF {:?}",
            r.dst, r.gateway, r.oif
        )));
    }
    del_route(cx, any, gw, 0)?;
    if !default_routes(cx)?.is_empty() {
        return Err(fail("the default route is still dumped after its deletion"));
    }
    Ok(())
}

fn ipv4_device_route<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_prep(cx, false)?;
    let link = cx.link()?;
    let dst = (IpAddr::V4(Ipv4Addr::new(10, 89, 0, 0)), 16);
    // `ip route add 10.89.0.0/16 dev LINK`: scope link, RTA_OIF.
    let mut req = RouteRepr::new(dst.0, dst.1);
    req.header.scope = RT_SCOPE_LINK;
    req.oif = Some(link.index);
    let what = format!("ip route add {}/{} dev {}", dst.0, dst.1, link.name);
    cx.expect_ack(&what, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &|w| {
        req.emit(w)
    })?;
    let found = cx.find_routes(dst.0, dst.1)?;
    let [r] = found.as_slice() else {
        return Err(fail(format!(
            "after {what}, {} routes to it are dumped",
            found.len()
        )));
    };
    if r.oif != Some(link.index) || r.gateway.is_some() || r.header.scope != RT_SCOPE_LINK {
        return Err(fail(format!(
            "{what}: dumped with RTA_OIF {:?}, RTA_GATEWAY {:?}, scope {}",
            r.oif, r.gateway, r.header.scope
        )));
    }
    // `ip route del 10.89.0.0/16 dev LINK`.
    let mut del = RouteRepr::new(dst.0, dst.1);
    del.header.protocol = RTPROT_UNSPEC;
    del.header.scope = RT_SCOPE_NOWHERE;
    del.header.route_type = RTN_UNSPEC;
    del.oif = Some(link.index);
    let what = format!("ip route del {}/{} dev {}", dst.0, dst.1, link.name);
    cx.expect_ack(&what, RTM_DELROUTE, 0, &|w| del.emit(w))?;
    if !cx.find_routes(dst.0, dst.1)?.is_empty() {
        return Err(fail(format!("after {what}, the route is still dumped")));
    }
    Ok(())
}

fn ipv4_route_replace<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let gw = route_prep(cx, false)?;
    let dst = route_dst(false);
    add_route(cx, dst, gw, 0)?;
    let other = IpAddr::V4(Ipv4Addr::new(10, 84, 0, 253));
    let req = route_add_body(dst.0, dst.1, other);
    let what = format!("ip route replace {}/{} via {other}", dst.0, dst.1);
    cx.expect_ack(&what, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &|w| {
        req.emit(w)
    })?;
    let found = cx.find_routes(dst.0, dst.1)?;
    match found.as_slice() {
        [r] if r.gateway == Some(other) => Ok(()),
        _ => Err(fail(format!(
            "after {what}, the routes to it go via {:?}",
            found.iter().map(|r| r.gateway).collect::<Vec<_>>()
        ))),
    }
}

fn ipv4_route_get<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let gw = route_prep(cx, false)?;
    let link = cx.link()?;
    add_route(cx, route_dst(false), gw, 0)?;
    let to = IpAddr::V4(Ipv4Addr::new(10, 85, 1, 1));
    // `ip route get 10.85.1.1`.
    let mut req = RouteRepr::default();
    req.header.family = AF_INET;
    req.header.dst_len = 32;
    req.dst = Some(to);
    let what = format!("ip route get {to}");
    let (seq, msgs) = cx.exchange(RTM_GETROUTE, 0, &|w| req.emit(w))?;
    expect_kinds(&what, &msgs, &[RTM_NEWROUTE])?;
    expect_seq(&what, &msgs, seq)?;
    let r = msgs
        .first()
        .and_then(Msg::route)
        .ok_or_else(|| fail(format!("{what}: the RTM_NEWROUTE does not parse")))?;
    if r.dst != Some(to) || r.header.dst_len != 32 {
        return Err(fail(format!(
            "{what}: answered for {:?}/{}",
            r.dst, r.header.dst_len
        )));
    }
    if r.gateway != Some(gw) || r.oif != Some(link.index) {
        return Err(fail(format!(
            "{what}: answered via {:?} dev {:?}, expected via {gw} dev {}",
            r.gateway, r.oif, link.index
        )));
    }
    if r.header.flags & RTM_F_CLONED == 0 {
        return Err(fail(format!("{what}: the answer lacks RTM_F_CLONED")));
    }
    Ok(())
}

fn ipv6_route_add<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_add(cx, true)
}

fn ipv6_route_duplicate<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_duplicate(cx, true)
}

fn ipv6_route_delete<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_delete(cx, true)
}

fn ipv6_route_delete_missing<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    route_delete_missing(cx, true)
}

// ---------------------------------------------------------- notifications

/// Opens a second connection that joins `group`, with nothing to read yet.
fn listener<E: Endpoint>(cx: &mut Ctx<'_, E>, group: u32) -> Step<Conn> {
    let l = cx.connect()?;
    cx.join(l, group)?;
    cx.messages(l)?;
    Ok(l)
}

/// Wants a message of `kind` among `msgs` that `pick` accepts.
fn heard(what: &str, msgs: &[Msg], kind: u16, pick: impl Fn(&Msg) -> bool, whom: &str) -> Step<()> {
    if msgs.iter().any(|m| m.message_type() == kind && pick(m)) {
        return Ok(());
    }
    let name = message_type_name(kind).unwrap_or("?");
    Err(fail(format!(
        "after {what}, the {whom} heard no {name} for it: {}",
        describe_all(msgs)
    )))
}

fn link_notify<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let l = listener(cx, RTNLGRP_LINK)?;
    let is_link = |m: &Msg| m.link().is_some_and(|x| x.header.index == link.index);
    cx.link_up()?;
    let msgs = cx.messages(l)?;
    heard(
        "ip link set up",
        &msgs,
        RTM_NEWLINK,
        |m| is_link(m) && m.link().is_some_and(|x| x.header.flags & IFF_UP != 0),
        "RTNLGRP_LINK member",
    )?;
    link_down(cx)?;
    let msgs = cx.messages(l)?;
    heard(
        "ip link set down",
        &msgs,
        RTM_NEWLINK,
        |m| is_link(m) && m.link().is_some_and(|x| x.header.flags & IFF_UP == 0),
        "RTNLGRP_LINK member",
    )
}

fn addr_notify<E: Endpoint>(cx: &mut Ctx<'_, E>, v6: bool) -> Step<()> {
    let (ip, len) = addr_prep(cx, v6)?;
    let group = if v6 {
        RTNLGRP_IPV6_IFADDR
    } else {
        RTNLGRP_IPV4_IFADDR
    };
    let whom = if v6 {
        "RTNLGRP_IPV6_IFADDR member"
    } else {
        "RTNLGRP_IPV4_IFADDR member"
    };
    let index = cx.link()?.index;
    let l = listener(cx, group)?;
    let is_it = |m: &Msg| {
        m.addr()
            .is_some_and(|a| a.header.index == index && addr_ip(&a) == Some(ip))
    };
    cx.add_addr(ip, len)?;
    let msgs = cx.messages(l)?;
    heard("ip addr add", &msgs, RTM_NEWADDR, is_it, whom)?;
    cx.del_addr(ip, len, 0)?;
    let msgs = cx.messages(l)?;
    heard("ip addr del", &msgs, RTM_DELADDR, is_it, whom)
}

fn ipv4_addr_notify<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_notify(cx, false)
}

fn ipv6_addr_notify<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    addr_notify(cx, true)
}

fn ipv4_route_notify<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let gw = route_prep(cx, false)?;
    let dst = route_dst(false);
    let l = listener(cx, RTNLGRP_IPV4_ROUTE)?;
    let is_it = |m: &Msg| {
        m.route().is_some_and(|r: RouteRepr| {
            r.dst == Some(dst.0) && r.header.dst_len == dst.1 && r.gateway == Some(gw)
        })
    };
    let whom = "RTNLGRP_IPV4_ROUTE member";
    add_route(cx, dst, gw, 0)?;
    let msgs = cx.messages(l)?;
    heard("ip route add", &msgs, RTM_NEWROUTE, is_it, whom)?;
    del_route(cx, dst, gw, 0)?;
    let msgs = cx.messages(l)?;
    heard("ip route del", &msgs, RTM_DELROUTE, is_it, whom)
}

fn notify_origin<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let (ip, len, group) = own_addr(cx)?;
    let l = listener(cx, group)?;
    let (seq, msgs) = add_own(cx, ip, len, 0)?;
    let what = format!("ip addr add {ip}/{len}");
    expect_kinds(&what, &msgs, &[NLMSG_ERROR])?;
    expect_errno(&what, msgs.first(), 0)?;
    // The ACK goes to the requester's port: its nlmsg_pid names it.
    let port = msgs.first().map_or(0, Msg::port);
    let heard_msgs = cx.messages(l)?;
    let is_it = |m: &Msg| m.addr().is_some_and(|a| addr_ip(&a) == Some(ip));
    let Some(n) = heard_msgs
        .iter()
        .find(|m| m.message_type() == RTM_NEWADDR && is_it(m))
    else {
        return Err(fail(format!(
            "after {what}, the group member heard no RTM_NEWADDR for it: {}",
            describe_all(&heard_msgs)
        )));
    };
    if n.seq() != seq || n.port() != port {
        return Err(fail(format!(
            "the RTM_NEWADDR has seq {} port {}; the request had seq {seq} from port {port}",
            n.seq(),
            n.port()
        )));
    }
    Ok(())
}

fn drop_membership<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let (ip, len, group) = own_addr(cx)?;
    let l = listener(cx, group)?;
    cx.set_option(l, SockOpt::DropMembership(group))?;
    cx.add_addr(ip, len)?;
    let msgs = cx.messages(l)?;
    if !msgs.is_empty() {
        return Err(fail(format!(
            "a socket that left group {group} still heard {}",
            describe_all(&msgs)
        )));
    }
    Ok(())
}

/// The address the requester itself adds in the notification checks,
/// with `flags` on the request; returns its answer.
fn add_own<E: Endpoint>(
    cx: &mut Ctx<'_, E>,
    ip: IpAddr,
    len: u8,
    flags: u16,
) -> Step<(u32, Vec<Msg>)> {
    let index = cx.link()?.index;
    let req = addr_body(ip, len, index);
    cx.exchange(
        RTM_NEWADDR,
        flags | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &|w| req.emit(w),
    )
}

/// The notification checks' own address: IPv4 if the setup has it.
fn own_addr<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<(IpAddr, u8, u32)> {
    if cx.setup.ipv4 {
        let (ip, len) = addr_prep(cx, false)?;
        Ok((ip, len, RTNLGRP_IPV4_IFADDR))
    } else {
        let (ip, len) = addr_prep(cx, true)?;
        Ok((ip, len, RTNLGRP_IPV6_IFADDR))
    }
}

fn own_change_notify<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let (ip, len, group) = own_addr(cx)?;
    let conn = cx.conn;
    cx.join(conn, group)?;
    cx.messages(conn)?;
    let (seq, msgs) = add_own(cx, ip, len, 0)?;
    let what = format!("ip addr add {ip}/{len} on a socket in the group");
    let ack = msgs
        .iter()
        .find(|m| m.message_type() == NLMSG_ERROR && m.seq() == seq);
    expect_errno(&what, ack, 0)?;
    let is_it = |m: &Msg| m.addr().is_some_and(|a| addr_ip(&a) == Some(ip));
    let copies = msgs
        .iter()
        .filter(|m| m.message_type() == RTM_NEWADDR && is_it(m))
        .count();
    if copies != 1 {
        return Err(fail(format!(
            "{what}: expected the ACK and one RTM_NEWADDR, got {}",
            describe_all(&msgs)
        )));
    }
    Ok(())
}

fn echo<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let (ip, len, group) = own_addr(cx)?;
    let is_it = |m: &Msg| m.addr().is_some_and(|a| addr_ip(&a) == Some(ip));
    // Not in the group: the echo comes anyway, then the ACK.
    let (seq, msgs) = add_own(cx, ip, len, NLM_F_ECHO)?;
    let what = format!("ip addr add {ip}/{len} with NLM_F_ECHO");
    expect_kinds(&what, &msgs, &[RTM_NEWADDR, NLMSG_ERROR])?;
    expect_seq(&what, &msgs, seq)?;
    expect_errno(&what, msgs.get(1), 0)?;
    if !msgs.first().is_some_and(is_it) {
        return Err(fail(format!("{what}: the echo is not the new address")));
    }
    cx.del_addr(ip, len, 0)?;
    // In the group: one copy only.
    let conn = cx.conn;
    cx.join(conn, group)?;
    cx.messages(conn)?;
    let (seq, msgs) = add_own(cx, ip, len, NLM_F_ECHO)?;
    let what = format!("{what} on a socket in the group");
    let copies = msgs
        .iter()
        .filter(|m| m.message_type() == RTM_NEWADDR && is_it(m))
        .count();
    let ack = msgs
        .iter()
        .find(|m| m.message_type() == NLMSG_ERROR && m.seq() == seq);
    expect_errno(&what, ack, 0)?;
    if copies != 1 {
        return Err(fail(format!(
            "{what}: expected one RTM_NEWADDR, got {}",
            describe_all(&msgs)
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------ dumps

/// The addresses the split dump lists: 150 of them, /32 or /128 each.
fn many_addrs(v6: bool) -> Vec<IpAddr> {
    (1..=150u8)
        .map(|i| {
            if v6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x88, 0, 0, 0, 1, u16::from(i)))
            } else {
                IpAddr::V4(Ipv4Addr::new(10, 88, 0, i))
            }
        })
        .collect()
}

fn dump_split<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    /// The reader's buffer: a page, as `ip` and most libraries read.
    const BUF: usize = 4096;
    let v6 = !cx.setup.ipv4;
    addr_prep(cx, v6)?;
    let index = cx.link()?.index;
    let len = if v6 { 128 } else { 32 };
    let addrs = many_addrs(v6);
    // Added 50 to a datagram, each acknowledged.
    for chunk in addrs.chunks(50) {
        let mut datagram = Vec::new();
        for ip in chunk {
            let req = addr_body(*ip, len, index);
            let (_, b) = cx.build(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &|w| {
                req.emit(w)
            })?;
            datagram.extend_from_slice(&b);
        }
        let conn = cx.conn;
        cx.send_raw(conn, &datagram)?;
        let msgs = cx.messages(conn)?;
        if let Some(e) = msgs.iter().find_map(Msg::errno).filter(|e| *e != 0) {
            return Err(prefix_outcome(refused("ip addr add", e, 0), "prepare: "));
        }
        if msgs.len() != chunk.len() {
            return Err(fail(format!(
                "prepare: {} address adds in one datagram got {} answers",
                chunk.len(),
                msgs.len()
            )));
        }
    }
    let reader = cx.connect()?;
    let family = if v6 { AF_INET6 } else { AF_INET };
    let mut req = AddrRepr::default();
    req.header.family = family;
    let (seq, bytes) = cx.build(RTM_GETADDR, NLM_F_DUMP, &|w| req.header.emit(w))?;
    cx.send_raw(reader, &bytes)?;
    let datagrams = cx.datagrams(reader, BUF)?;
    let what = format!("an address dump read {BUF} bytes at a time");
    let mut seen: Vec<IpAddr> = Vec::new();
    let mut total = 0usize;
    let count = datagrams.len();
    for (i, d) in datagrams.iter().enumerate() {
        if d.len() > BUF {
            return Err(fail(format!(
                "{what}: datagram {} of {count} is {} bytes",
                i.saturating_add(1),
                d.len()
            )));
        }
        total = total.saturating_add(d.len());
        let msgs = split(d)?;
        expect_seq(&what, &msgs, seq)?;
        let last_datagram = i.saturating_add(1) == count;
        for (j, m) in msgs.iter().enumerate() {
            let last = last_datagram && j.saturating_add(1) == msgs.len();
            match m.message_type() {
                RTM_NEWADDR if m.flags() & NLM_F_MULTI != 0 => {
                    if let Some(a) = m.addr().filter(|a| a.header.index == index) {
                        if let Some(ip) = addr_ip(&a).filter(|ip| addrs.contains(ip)) {
                            if seen.contains(&ip) {
                                return Err(fail(format!("{what}: {ip} is dumped twice")));
                            }
                            seen.push(ip);
                        }
                    }
                }
                NLMSG_DONE if last => match m.done() {
                    Some(0) => {}
                    Some(e) => return Err(refused(&what, e.checked_neg().unwrap_or(0), 0)),
                    None => return Err(fail(format!("{what}: NLMSG_DONE does not parse"))),
                },
                NLMSG_ERROR if count == 1 => {
                    return Err(refused(&what, m.errno().unwrap_or(0), 0));
                }
                _ => {
                    return Err(fail(format!(
                        "{what}: unexpected {} in datagram {} of {count}",
                        m.describe(),
                        i.saturating_add(1)
                    )))
                }
            }
        }
    }
    let ended = datagrams
        .last()
        .and_then(|d| split(d).ok())
        .and_then(|m| m.last().map(Msg::message_type))
        == Some(NLMSG_DONE);
    if !ended {
        return Err(fail(format!("{what}: no NLMSG_DONE at the end")));
    }
    if count < 2 || total <= BUF {
        return Err(fail(format!(
            "{what}: {total} bytes came in {count} datagram(s); expected more than one"
        )));
    }
    if seen.len() != addrs.len() {
        return Err(fail(format!(
            "{what}: {} of the {} addresses were dumped",
            seen.len(),
            addrs.len()
        )));
    }
    Ok(())
}

fn dump_after_dump<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let link = cx.link()?;
    let first = cx.links()?;
    let second = cx.links()?;
    let index = |v: &[LinkRepr]| v.iter().map(|l| l.header.index).collect::<Vec<_>>();
    if index(&first) != index(&second) {
        return Err(fail(format!(
            "two link dumps in a row differ: {:?} then {:?}",
            index(&first),
            index(&second)
        )));
    }
    // And a dump right after a GET on the same socket.
    cx.get_link("GETLINK", &link_by_index(link.index))?;
    let third = cx.links()?;
    if index(&third) != index(&first) {
        return Err(fail("a link dump after a GETLINK differs"));
    }
    Ok(())
}

fn strict_addr_filter<E: Endpoint>(cx: &mut Ctx<'_, E>) -> Step<()> {
    let v6 = !cx.setup.ipv4;
    let (ip, len) = addr_prep(cx, v6)?;
    cx.add_addr(ip, len)?;
    let link = cx.link()?;
    let conn = cx.conn;
    cx.set_option(conn, SockOpt::StrictCheck(true))?;
    let mut req = AddrRepr::default();
    req.header.family = family_of(&ip);
    req.header.index = link.index;
    let what = format!("a strict address dump for ifindex {}", link.index);
    let msgs = cx.dump_on(conn, &what, RTM_GETADDR, &|w| req.header.emit(w))?;
    let mut found = false;
    for m in &msgs {
        let a = m
            .addr()
            .ok_or_else(|| fail(format!("{what}: an RTM_NEWADDR does not parse")))?;
        if a.header.index != link.index {
            return Err(fail(format!(
                "{what}: lists {:?} of ifindex {}",
                addr_ip(&a),
                a.header.index
            )));
        }
        if m.flags() & NLM_F_DUMP_FILTERED == 0 {
            return Err(fail(format!("{what}: an entry lacks NLM_F_DUMP_FILTERED")));
        }
        found |= addr_ip(&a) == Some(ip);
    }
    if !found {
        return Err(fail(format!("{what}: {ip} is not listed")));
    }
    Ok(())
}
