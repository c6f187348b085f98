//! One message, typed by its `nlmsg_type`.

use super::consts::*;
use super::control::{DoneMessage, ErrorMessage};
use super::{
    AddrMessage, LinkMessage, NeighMessage, NetconfMessage, NexthopMessage, NlMsg, NsidMessage,
    Result, RouteMessage, RuleMessage,
};

/// A message typed by its `nlmsg_type`.
///
/// The `u64` tag keeps the enum word-shaped: tag and payload are written and
/// read back as whole words, which spares every copy a store-forwarding stall
/// (it more than halved the typed parse of the route dump).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// `RTM_{NEW,DEL,GET,SET}LINK`.
    Link(LinkMessage<'a>),
    /// `RTM_{NEW,DEL,GET}ADDR`.
    Addr(AddrMessage<'a>),
    /// `RTM_{NEW,DEL,GET}ROUTE`.
    Route(RouteMessage<'a>),
    /// `RTM_{NEW,DEL,GET}NEIGH`.
    Neigh(NeighMessage<'a>),
    /// `RTM_{NEW,DEL,GET}RULE`.
    Rule(RuleMessage<'a>),
    /// `RTM_{NEW,DEL,GET}NEXTHOP`.
    Nexthop(NexthopMessage<'a>),
    /// `RTM_{NEW,DEL,GET}NETCONF`.
    Netconf(NetconfMessage<'a>),
    /// `RTM_{NEW,DEL,GET}NSID`.
    Nsid(NsidMessage<'a>),
    /// `NLMSG_ERROR`: an error or an ACK.
    Error(ErrorMessage<'a>),
    /// `NLMSG_DONE`.
    Done(DoneMessage<'a>),
    /// `NLMSG_NOOP`.
    Noop,
    /// `NLMSG_OVERRUN`.
    Overrun,
    /// Any other type, untyped.
    Other(NlMsg<'a>),
}

impl<'a> Message<'a> {
    /// Types `msg`: checks its fixed header or control payload.
    #[inline(always)]
    pub fn parse(msg: &NlMsg<'a>) -> Result<Self> {
        let p = msg.payload();
        Ok(match msg.message_type() {
            RTM_NEWLINK..=RTM_SETLINK => Message::Link(LinkMessage::parse_payload(p)?),
            RTM_NEWADDR..=RTM_GETADDR => Message::Addr(AddrMessage::parse_payload(p)?),
            RTM_NEWROUTE..=RTM_GETROUTE => Message::Route(RouteMessage::parse_payload(p)?),
            RTM_NEWNEIGH..=RTM_GETNEIGH => Message::Neigh(NeighMessage::parse_payload(p)?),
            RTM_NEWRULE..=RTM_GETRULE => Message::Rule(RuleMessage::parse_payload(p)?),
            RTM_NEWNEXTHOP..=RTM_GETNEXTHOP => Message::Nexthop(NexthopMessage::parse_payload(p)?),
            // A request may carry the family byte alone (`ip netconf`
            // does): untyped then.
            RTM_NEWNETCONF..=RTM_GETNETCONF | RTM_NEWNSID..=RTM_GETNSID if p.len() < 4 => {
                Message::Other(*msg)
            }
            RTM_NEWNETCONF..=RTM_GETNETCONF => Message::Netconf(NetconfMessage::parse_payload(p)?),
            RTM_NEWNSID..=RTM_GETNSID => Message::Nsid(NsidMessage::parse_payload(p)?),
            NLMSG_ERROR => Message::Error(ErrorMessage::parse(p, msg.flags())?),
            NLMSG_DONE => Message::Done(DoneMessage::parse(p, msg.flags())?),
            NLMSG_NOOP => Message::Noop,
            NLMSG_OVERRUN => Message::Overrun,
            _ => Message::Other(*msg),
        })
    }
}
