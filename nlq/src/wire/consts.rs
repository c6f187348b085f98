//! Kernel constants, under their kernel names (`linux/netlink.h`,
//! `linux/rtnetlink.h`, `linux/if_link.h`, `linux/if_addr.h`,
//! `linux/neighbour.h`).
#![allow(missing_docs)]

// ---- address families -------------------------------------------------
pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_BRIDGE: u8 = 7;
pub const AF_INET6: u8 = 10;
pub const AF_PACKET: u8 = 17;
pub const AF_MPLS: u8 = 28;

// ---- netlink header -----------------------------------------------------
/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;
/// Netlink messages and attributes are aligned to 4 bytes.
pub const NLA_ALIGNTO: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
/// Types below this value are control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

pub const NLM_F_REQUEST: u16 = 0x01;
pub const NLM_F_MULTI: u16 = 0x02;
pub const NLM_F_ACK: u16 = 0x04;
pub const NLM_F_ECHO: u16 = 0x08;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;
// GET modifiers.
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_ATOMIC: u16 = 0x400;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
// NEW modifiers.
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
// DELETE modifiers.
pub const NLM_F_NONREC: u16 = 0x100;
pub const NLM_F_BULK: u16 = 0x200;
// ACK flags.
pub const NLM_F_CAPPED: u16 = 0x100;
pub const NLM_F_ACK_TLVS: u16 = 0x200;

// Extended ACK attributes (`enum nlmsgerr_attrs`).
pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

// Attribute type flags.
pub const NLA_F_NESTED: u16 = 1 << 15;
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// Socket options (SOL_NETLINK = 270).
pub const SOL_NETLINK: i32 = 270;
/// `SOL_SOCKET`: the socket-level options.
pub const SOL_SOCKET: i32 = 1;
/// `SO_RCVBUF`: the receive buffer, capped at `net.core.rmem_max`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_RCVBUFFORCE`: the receive buffer, uncapped (needs `CAP_NET_ADMIN`).
pub const SO_RCVBUFFORCE: i32 = 33;
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
pub const NETLINK_PKTINFO: i32 = 3;
pub const NETLINK_BROADCAST_ERROR: i32 = 4;
pub const NETLINK_NO_ENOBUFS: i32 = 5;
pub const NETLINK_LISTEN_ALL_NSID: i32 = 8;
pub const NETLINK_LIST_MEMBERSHIPS: i32 = 9;
pub const NETLINK_CAP_ACK: i32 = 10;
pub const NETLINK_EXT_ACK: i32 = 11;
pub const NETLINK_GET_STRICT_CHK: i32 = 12;

// ---- rtnetlink message types -------------------------------------------
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_DELNEIGH: u16 = 29;
pub const RTM_GETNEIGH: u16 = 30;
pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;
pub const RTM_NEWNEIGHTBL: u16 = 64;
pub const RTM_GETNEIGHTBL: u16 = 66;
pub const RTM_SETNEIGHTBL: u16 = 67;
pub const RTM_NEWNETCONF: u16 = 80;
pub const RTM_DELNETCONF: u16 = 81;
pub const RTM_GETNETCONF: u16 = 82;
pub const RTM_NEWNEXTHOP: u16 = 104;
pub const RTM_DELNEXTHOP: u16 = 105;
pub const RTM_GETNEXTHOP: u16 = 106;
pub const RTM_NEWSTATS: u16 = 92;
pub const RTM_GETSTATS: u16 = 94;
pub const RTM_SETSTATS: u16 = 95;
pub const RTM_NEWNSID: u16 = 88;
pub const RTM_DELNSID: u16 = 89;
pub const RTM_GETNSID: u16 = 90;
pub const RTM_NEWADDRLABEL: u16 = 72;
pub const RTM_DELADDRLABEL: u16 = 73;
pub const RTM_GETADDRLABEL: u16 = 74;

// IPv6 address labels (`struct ifaddrlblmsg`, 12 bytes: family, a
// reserved byte, prefix length, flags, index, sequence).
pub const IFADDRLBLMSG_LEN: usize = 12;
/// `IFAL_ADDRESS`: the prefix (16 bytes).
pub const IFAL_ADDRESS: u16 = 1;
/// `IFAL_LABEL`: the label (u32).
pub const IFAL_LABEL: u16 = 2;

// Network namespace id attributes.
/// `NETCONFA_IFINDEX`: the link (`NETCONFA_IFINDEX_ALL` -1,
/// `NETCONFA_IFINDEX_DEFAULT` -2).
pub const NETCONFA_IFINDEX: u16 = 1;
/// `NETCONFA_FORWARDING`.
pub const NETCONFA_FORWARDING: u16 = 2;
/// `NETCONFA_RP_FILTER`.
pub const NETCONFA_RP_FILTER: u16 = 3;
/// `NETCONFA_MC_FORWARDING`.
pub const NETCONFA_MC_FORWARDING: u16 = 4;
/// `NETCONFA_PROXY_NEIGH`.
pub const NETCONFA_PROXY_NEIGH: u16 = 5;
/// `NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN`.
pub const NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN: u16 = 6;
/// `NETCONFA_INPUT`.
pub const NETCONFA_INPUT: u16 = 7;
/// `NETCONFA_BC_FORWARDING`.
pub const NETCONFA_BC_FORWARDING: u16 = 8;
/// `NETNSA_TARGET_NSID`.
pub const NETNSA_TARGET_NSID: u16 = 4;
/// `NETNSA_CURRENT_NSID`.
pub const NETNSA_CURRENT_NSID: u16 = 5;
pub const NETNSA_NSID: u16 = 1;
pub const NETNSA_PID: u16 = 2;
pub const NETNSA_FD: u16 = 3;
/// `NETNSA_NSID` of a namespace that has no id here.
pub const NETNSA_NSID_NOT_ASSIGNED: i32 = -1;

/// The name of a message type (`"RTM_NEWLINK"`, `"NLMSG_ERROR"`, ...) for
/// the control types and the link, address, route, neighbour and rule
/// types;
/// `None` for any other.
pub fn message_type_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        NLMSG_NOOP => "NLMSG_NOOP",
        NLMSG_ERROR => "NLMSG_ERROR",
        NLMSG_DONE => "NLMSG_DONE",
        NLMSG_OVERRUN => "NLMSG_OVERRUN",
        RTM_NEWLINK => "RTM_NEWLINK",
        RTM_DELLINK => "RTM_DELLINK",
        RTM_GETLINK => "RTM_GETLINK",
        RTM_SETLINK => "RTM_SETLINK",
        RTM_NEWADDR => "RTM_NEWADDR",
        RTM_DELADDR => "RTM_DELADDR",
        RTM_GETADDR => "RTM_GETADDR",
        RTM_NEWROUTE => "RTM_NEWROUTE",
        RTM_DELROUTE => "RTM_DELROUTE",
        RTM_GETROUTE => "RTM_GETROUTE",
        RTM_NEWNEIGH => "RTM_NEWNEIGH",
        RTM_DELNEIGH => "RTM_DELNEIGH",
        RTM_GETNEIGH => "RTM_GETNEIGH",
        RTM_NEWRULE => "RTM_NEWRULE",
        RTM_DELRULE => "RTM_DELRULE",
        RTM_GETRULE => "RTM_GETRULE",
        RTM_NEWNEIGHTBL => "RTM_NEWNEIGHTBL",
        RTM_GETNEIGHTBL => "RTM_GETNEIGHTBL",
        RTM_SETNEIGHTBL => "RTM_SETNEIGHTBL",
        RTM_NEWNETCONF => "RTM_NEWNETCONF",
        RTM_DELNETCONF => "RTM_DELNETCONF",
        RTM_GETNETCONF => "RTM_GETNETCONF",
        RTM_NEWNEXTHOP => "RTM_NEWNEXTHOP",
        RTM_DELNEXTHOP => "RTM_DELNEXTHOP",
        RTM_GETNEXTHOP => "RTM_GETNEXTHOP",
        RTM_NEWSTATS => "RTM_NEWSTATS",
        RTM_GETSTATS => "RTM_GETSTATS",
        RTM_SETSTATS => "RTM_SETSTATS",
        RTM_NEWADDRLABEL => "RTM_NEWADDRLABEL",
        RTM_DELADDRLABEL => "RTM_DELADDRLABEL",
        RTM_GETADDRLABEL => "RTM_GETADDRLABEL",
        _ => return None,
    })
}

// ---- multicast groups (`enum rtnetlink_groups`) -------------------------
pub const RTNLGRP_NONE: u32 = 0;
pub const RTNLGRP_LINK: u32 = 1;
pub const RTNLGRP_NOTIFY: u32 = 2;
pub const RTNLGRP_NEIGH: u32 = 3;
pub const RTNLGRP_TC: u32 = 4;
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
pub const RTNLGRP_IPV4_MROUTE: u32 = 6;
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
pub const RTNLGRP_IPV4_RULE: u32 = 8;
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
pub const RTNLGRP_IPV6_MROUTE: u32 = 10;
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
pub const RTNLGRP_IPV6_IFINFO: u32 = 12;
pub const RTNLGRP_IPV6_PREFIX: u32 = 18;
pub const RTNLGRP_IPV6_RULE: u32 = 19;
pub const RTNLGRP_IPV4_NETCONF: u32 = 24;
pub const RTNLGRP_IPV6_NETCONF: u32 = 25;
pub const RTNLGRP_NSID: u32 = 28;
pub const RTNLGRP_NEXTHOP: u32 = 32;

// ---- links: ifinfomsg + IFLA_* ----------------------------------------
/// Size of `struct ifinfomsg`.
pub const IFINFOMSG_LEN: usize = 16;
pub const IFF_UP: u32 = 0x1;
pub const IFF_BROADCAST: u32 = 0x2;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_POINTOPOINT: u32 = 0x10;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_NOARP: u32 = 0x80;
pub const IFF_PROMISC: u32 = 0x100;
pub const IFF_MULTICAST: u32 = 0x1000;
pub const IFF_LOWER_UP: u32 = 0x10000;
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_NONE: u16 = 0xfffe;
pub const ARPHRD_LOOPBACK: u16 = 772;

pub const IFLA_UNSPEC: u16 = 0;
pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_LINK: u16 = 5;
pub const IFLA_QDISC: u16 = 6;

pub const IFLA_STATS: u16 = 7;
pub const IFLA_COST: u16 = 8;
pub const IFLA_PRIORITY: u16 = 9;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_WIRELESS: u16 = 11;
pub const IFLA_PROTINFO: u16 = 12;
pub const IFLA_TXQLEN: u16 = 13;
pub const IFLA_MAP: u16 = 14;
pub const IFLA_WEIGHT: u16 = 15;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_LINKMODE: u16 = 17;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_NET_NS_PID: u16 = 19;
pub const IFLA_IFALIAS: u16 = 20;
pub const IFLA_NUM_VF: u16 = 21;
pub const IFLA_VFINFO_LIST: u16 = 22;
pub const IFLA_STATS64: u16 = 23;
pub const IFLA_VF_PORTS: u16 = 24;
pub const IFLA_PORT_SELF: u16 = 25;
pub const IFLA_AF_SPEC: u16 = 26;
pub const IFLA_GROUP: u16 = 27;
pub const IFLA_NET_NS_FD: u16 = 28;
pub const IFLA_EXT_MASK: u16 = 29;
pub const IFLA_PROMISCUITY: u16 = 30;
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
pub const IFLA_CARRIER: u16 = 33;
pub const IFLA_CARRIER_CHANGES: u16 = 35;
pub const IFLA_PROTO_DOWN: u16 = 39;
/// `IFLA_EVENT`: the netdevice event a link notification reports.
pub const IFLA_EVENT: u16 = 44;
/// `IFLA_EVENT_FEATURES`: the offload features changed.
pub const IFLA_EVENT_FEATURES: u32 = 2;
pub const IFLA_GSO_MAX_SEGS: u16 = 40;
pub const IFLA_GSO_MAX_SIZE: u16 = 41;
pub const IFLA_XDP: u16 = 43;
pub const IFLA_CARRIER_UP_COUNT: u16 = 47;
pub const IFLA_CARRIER_DOWN_COUNT: u16 = 48;
pub const IFLA_TARGET_NETNSID: u16 = 46;
pub const IFLA_NEW_IFINDEX: u16 = 49;
pub const IFLA_MIN_MTU: u16 = 50;
pub const IFLA_MAX_MTU: u16 = 51;
pub const IFLA_ALT_IFNAME: u16 = 53;
pub const IFLA_PERM_ADDRESS: u16 = 54;
pub const IFLA_GRO_MAX_SIZE: u16 = 58;
pub const IFLA_TSO_MAX_SIZE: u16 = 59;
pub const IFLA_TSO_MAX_SEGS: u16 = 60;
pub const IFLA_ALLMULTI: u16 = 61;
pub const IFLA_DEVLINK_PORT: u16 = 62;
pub const IFLA_GSO_IPV4_MAX_SIZE: u16 = 63;
pub const IFLA_GRO_IPV4_MAX_SIZE: u16 = 64;
pub const IFLA_DPLL_PIN: u16 = 65;
pub const IFLA_MAX_PACING_OFFLOAD_HORIZON: u16 = 66;
pub const IFLA_NETNS_IMMUTABLE: u16 = 67;
pub const IFLA_HEADROOM: u16 = 68;
pub const IFLA_TAILROOM: u16 = 69;
/// `IFLA_XDP_ATTACHED`, inside `IFLA_XDP`.
pub const IFLA_XDP_ATTACHED: u16 = 2;

// IPv6 link attributes (inside IFLA_PROTINFO of an AF_INET6 link).
pub const IFLA_INET6_FLAGS: u16 = 1;
pub const IFLA_INET6_TOKEN: u16 = 7;
pub const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IF_READY`: the link is ready for IPv6 (up, with carrier).
pub const IF_READY: u32 = 0x8000_0000;

pub const IFLA_INFO_UNSPEC: u16 = 0;
pub const IFLA_INFO_KIND: u16 = 1;
pub const IFLA_INFO_DATA: u16 = 2;
pub const IFLA_INFO_XSTATS: u16 = 3;
pub const IFLA_INFO_SLAVE_KIND: u16 = 4;
pub const IFLA_INFO_SLAVE_DATA: u16 = 5;

/// `IFNAMSIZ`: interface names hold at most 15 bytes plus a NUL.
pub const IFNAMSIZ: usize = 16;
/// `IFALIASZ`: interface aliases hold at most 255 bytes plus a NUL.
pub const IFALIASZ: usize = 256;
/// `MAX_ADDR_LEN`: the longest link-layer address.
pub const MAX_ADDR_LEN: usize = 32;

pub const RTEXT_FILTER_VF: u32 = 1 << 0;
pub const RTEXT_FILTER_BRVLAN: u32 = 1 << 1;
pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

pub const IF_OPER_UNKNOWN: u8 = 0;
pub const IF_OPER_NOTPRESENT: u8 = 1;
pub const IF_OPER_DOWN: u8 = 2;
pub const IF_OPER_LOWERLAYERDOWN: u8 = 3;
pub const IF_OPER_TESTING: u8 = 4;
pub const IF_OPER_DORMANT: u8 = 5;
pub const IF_OPER_UP: u8 = 6;

// ---- addresses: ifaddrmsg + IFA_* ---------------------------------------
/// Size of `struct ifaddrmsg`.
pub const IFADDRMSG_LEN: usize = 8;
pub const IFA_UNSPEC: u16 = 0;
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_ANYCAST: u16 = 5;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_MULTICAST: u16 = 7;
pub const IFA_FLAGS: u16 = 8;
pub const IFA_RT_PRIORITY: u16 = 9;
pub const IFA_TARGET_NETNSID: u16 = 10;
pub const IFA_PROTO: u16 = 11;

pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const IFA_F_PERMANENT: u32 = 0x80;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;
pub const IFA_F_STABLE_PRIVACY: u32 = 0x800;

// Scopes (`enum rt_scope_t`).
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_SITE: u8 = 200;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
pub const RT_SCOPE_NOWHERE: u8 = 255;

// ---- routes: rtmsg + RTA_* -----------------------------------------------
/// Size of `struct rtmsg`.
pub const RTMSG_LEN: usize = 12;
pub const RTA_UNSPEC: u16 = 0;
pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_METRICS: u16 = 8;
pub const RTA_MULTIPATH: u16 = 9;
pub const RTA_PROTOINFO: u16 = 10;
pub const RTA_FLOW: u16 = 11;
pub const RTA_CACHEINFO: u16 = 12;
pub const RTA_SESSION: u16 = 13;
pub const RTA_MP_ALGO: u16 = 14;
pub const RTA_TABLE: u16 = 15;
pub const RTA_MARK: u16 = 16;
pub const RTA_MFC_STATS: u16 = 17;
pub const RTA_VIA: u16 = 18;
pub const RTA_NEWDST: u16 = 19;
pub const RTA_PREF: u16 = 20;
pub const RTA_ENCAP_TYPE: u16 = 21;
pub const RTA_ENCAP: u16 = 22;
pub const RTA_EXPIRES: u16 = 23;
pub const RTA_PAD: u16 = 24;
pub const RTA_UID: u16 = 25;
pub const RTA_TTL_PROPAGATE: u16 = 26;
pub const RTA_IP_PROTO: u16 = 27;
pub const RTA_SPORT: u16 = 28;
pub const RTA_DPORT: u16 = 29;
pub const RTA_NH_ID: u16 = 30;

/// Size of `struct rtnexthop`.
pub const RTNH_LEN: usize = 8;
pub const RTNH_F_DEAD: u8 = 1;
pub const RTNH_F_PERVASIVE: u8 = 2;
pub const RTNH_F_ONLINK: u8 = 4;
pub const RTNH_F_OFFLOAD: u8 = 8;
pub const RTNH_F_LINKDOWN: u8 = 16;

pub const RTAX_UNSPEC: u16 = 0;
pub const RTAX_LOCK: u16 = 1;
pub const RTAX_MTU: u16 = 2;
pub const RTAX_WINDOW: u16 = 3;
pub const RTAX_RTT: u16 = 4;
pub const RTAX_RTTVAR: u16 = 5;
pub const RTAX_SSTHRESH: u16 = 6;
pub const RTAX_CWND: u16 = 7;
pub const RTAX_ADVMSS: u16 = 8;
pub const RTAX_REORDERING: u16 = 9;
pub const RTAX_HOPLIMIT: u16 = 10;
pub const RTAX_INITCWND: u16 = 11;
pub const RTAX_FEATURES: u16 = 12;
pub const RTAX_RTO_MIN: u16 = 13;
pub const RTAX_INITRWND: u16 = 14;
pub const RTAX_QUICKACK: u16 = 15;
pub const RTAX_CC_ALGO: u16 = 16;
pub const RTAX_FASTOPEN_NO_COOKIE: u16 = 17;
/// The highest metric type this crate knows.
pub const RTAX_MAX: u16 = 17;

// Tables.
pub const RT_TABLE_UNSPEC: u32 = 0;
pub const RT_TABLE_DEFAULT: u32 = 253;
pub const RT_TABLE_MAIN: u32 = 254;
pub const RT_TABLE_LOCAL: u32 = 255;

// Protocols.
pub const RTPROT_UNSPEC: u8 = 0;
pub const RTPROT_REDIRECT: u8 = 1;
pub const RTPROT_KERNEL: u8 = 2;
pub const RTPROT_BOOT: u8 = 3;
pub const RTPROT_STATIC: u8 = 4;

// Route types.
pub const RTN_UNSPEC: u8 = 0;
pub const RTN_UNICAST: u8 = 1;
pub const RTN_LOCAL: u8 = 2;
pub const RTN_BROADCAST: u8 = 3;
pub const RTN_ANYCAST: u8 = 4;
pub const RTN_MULTICAST: u8 = 5;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RTN_THROW: u8 = 9;
pub const RTN_NAT: u8 = 10;

// rtm_flags.
pub const RTM_F_NOTIFY: u32 = 0x100;
pub const RTM_F_CLONED: u32 = 0x200;
pub const RTM_F_EQUALIZE: u32 = 0x400;
pub const RTM_F_PREFIX: u32 = 0x800;
pub const RTM_F_LOOKUP_TABLE: u32 = 0x1000;
pub const RTM_F_FIB_MATCH: u32 = 0x2000;

// ---- neighbours: ndmsg + NDA_* -------------------------------------------
/// Size of `struct ndmsg`.
pub const NDMSG_LEN: usize = 12;
pub const NDA_UNSPEC: u16 = 0;
pub const NDA_DST: u16 = 1;
pub const NDA_LLADDR: u16 = 2;
pub const NDA_CACHEINFO: u16 = 3;
pub const NDA_PROBES: u16 = 4;
pub const NDA_VLAN: u16 = 5;
pub const NDA_PORT: u16 = 6;
pub const NDA_VNI: u16 = 7;
pub const NDA_IFINDEX: u16 = 8;
pub const NDA_MASTER: u16 = 9;
pub const NDA_LINK_NETNSID: u16 = 10;
pub const NDA_SRC_VNI: u16 = 11;
pub const NDA_PROTOCOL: u16 = 12;
pub const NDA_NH_ID: u16 = 13;
pub const NDA_FDB_EXT_ATTRS: u16 = 14;
pub const NDA_FLAGS_EXT: u16 = 15;

pub const NUD_INCOMPLETE: u16 = 0x01;
pub const NUD_REACHABLE: u16 = 0x02;
pub const NUD_STALE: u16 = 0x04;
pub const NUD_DELAY: u16 = 0x08;
pub const NUD_PROBE: u16 = 0x10;
pub const NUD_FAILED: u16 = 0x20;
pub const NUD_NOARP: u16 = 0x40;
pub const NUD_PERMANENT: u16 = 0x80;
pub const NUD_NONE: u16 = 0x00;

pub const NTF_USE: u8 = 0x01;
pub const NTF_SELF: u8 = 0x02;
pub const NTF_MASTER: u8 = 0x04;
pub const NTF_PROXY: u8 = 0x08;
pub const NTF_EXT_LEARNED: u8 = 0x10;
pub const NTF_OFFLOADED: u8 = 0x20;
pub const NTF_STICKY: u8 = 0x40;
/// `NTF_EXT_MANAGED`, the first of the extended flags (`NDA_FLAGS_EXT`).
pub const NTF_EXT_MANAGED: u32 = 1;
pub const NTF_ROUTER: u8 = 0x80;

// ---- policy rules: fib_rule_hdr + FRA_* (`linux/fib_rules.h`) ---------------
/// Size of `struct fib_rule_hdr`.
pub const FIB_RULE_HDR_LEN: usize = 12;
pub const FRA_DST: u16 = 1;
pub const FRA_SRC: u16 = 2;
pub const FRA_IIFNAME: u16 = 3;
pub const FRA_GOTO: u16 = 4;
pub const FRA_PRIORITY: u16 = 6;
pub const FRA_FWMARK: u16 = 10;
pub const FRA_FLOW: u16 = 11;
pub const FRA_TUN_ID: u16 = 12;
pub const FRA_SUPPRESS_IFGROUP: u16 = 13;
pub const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
pub const FRA_TABLE: u16 = 15;
pub const FRA_FWMASK: u16 = 16;
pub const FRA_OIFNAME: u16 = 17;
pub const FRA_PAD: u16 = 18;
pub const FRA_L3MDEV: u16 = 19;
pub const FRA_UID_RANGE: u16 = 20;
pub const FRA_PROTOCOL: u16 = 21;
pub const FRA_IP_PROTO: u16 = 22;
pub const FRA_SPORT_RANGE: u16 = 23;
pub const FRA_DPORT_RANGE: u16 = 24;
pub const FRA_DSCP: u16 = 25;
pub const FRA_FLOWLABEL: u16 = 26;
pub const FRA_FLOWLABEL_MASK: u16 = 27;
pub const FRA_SPORT_MASK: u16 = 28;
pub const FRA_DPORT_MASK: u16 = 29;
pub const FRA_DSCP_MASK: u16 = 30;
pub const FR_ACT_UNSPEC: u8 = 0;
pub const FR_ACT_TO_TBL: u8 = 1;
pub const FR_ACT_GOTO: u8 = 2;
pub const FR_ACT_NOP: u8 = 3;
pub const FR_ACT_BLACKHOLE: u8 = 6;
pub const FR_ACT_UNREACHABLE: u8 = 7;
pub const FR_ACT_PROHIBIT: u8 = 8;
pub const FIB_RULE_PERMANENT: u32 = 0x1;
pub const FIB_RULE_INVERT: u32 = 0x2;
pub const FIB_RULE_UNRESOLVED: u32 = 0x4;
pub const FIB_RULE_IIF_DETACHED: u32 = 0x8;
pub const FIB_RULE_OIF_DETACHED: u32 = 0x10;
pub const FIB_RULE_FIND_SADDR: u32 = 0x10000;

// ---- nexthop objects: nhmsg + NHA_* (`linux/nexthop.h`) -----------------------
/// Size of `struct nhmsg`.
pub const NHMSG_LEN: usize = 8;
pub const NHA_ID: u16 = 1;
/// `NHA_GROUP`: the members, as `struct nexthop_grp`s.
pub const NHA_GROUP: u16 = 2;
/// `NHA_GROUP_TYPE`: `NEXTHOP_GRP_TYPE_MPATH` (0) or `_RES` (1).
pub const NHA_GROUP_TYPE: u16 = 3;
/// `NHA_BLACKHOLE`: a flag.
pub const NHA_BLACKHOLE: u16 = 4;
pub const NHA_OIF: u16 = 5;
/// `NHA_GATEWAY`: an address of the header's family.
pub const NHA_GATEWAY: u16 = 6;
/// `NHA_ENCAP_TYPE` and `NHA_ENCAP`: a lightweight tunnel.
pub const NHA_ENCAP_TYPE: u16 = 7;
pub const NHA_ENCAP: u16 = 8;
pub const NHA_GROUPS: u16 = 9;
pub const NHA_MASTER: u16 = 10;
pub const NHA_FDB: u16 = 11;
pub const NHA_OP_FLAGS: u16 = 14;
/// `NHA_RES_GROUP`: a resilient group's parameters.
pub const NHA_RES_GROUP: u16 = 12;
/// `NHA_HW_STATS_ENABLE`: a group's hardware statistics.
pub const NHA_HW_STATS_ENABLE: u16 = 16;
/// `NHA_OP_FLAG_RESP_GRP_RESVD_0`: in an answer about a group, the
/// members' reserved bytes are zero.
pub const NHA_OP_FLAG_RESP_GRP_RESVD_0: u32 = 1 << 31;
