//! Links: names and indexes, up/down, MAC, MTU, creation and deletion, dumps.

use nlq::wire::{
    consts::*, FamilyHeader, IfInfoMsg, IfName, LinkAttr, LinkMessage, LinkRepr, Writer,
};

use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::transport::Transport;

/// Which link a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRef<'a> {
    /// By interface index.
    Index(u32),
    /// By interface name.
    Name(&'a str),
}

impl From<u32> for LinkRef<'_> {
    fn from(i: u32) -> Self {
        LinkRef::Index(i)
    }
}

impl<'a> From<&'a str> for LinkRef<'a> {
    fn from(n: &'a str) -> Self {
        LinkRef::Name(n)
    }
}

/// An `ifinfomsg` for `index`, everything else zero.
fn ifinfo(index: u32) -> IfInfoMsg {
    IfInfoMsg {
        index,
        ..IfInfoMsg::default()
    }
}

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || IfName::try_from_str(name).is_none() {
        return Err(Error::Invalid(
            "interface name empty or longer than 15 bytes",
        ));
    }
    Ok(())
}

/// Writes the header and the name attribute selecting `link`.
fn select(w: &mut Writer<Vec<u8>>, link: LinkRef<'_>) -> nlq::wire::Result<()> {
    match link {
        LinkRef::Index(i) => ifinfo(i).emit(w),
        LinkRef::Name(n) => {
            ifinfo(0).emit(w)?;
            w.attr_str(IFLA_IFNAME, n)
        }
    }
}

/// The body of a link dump request: all links, without statistics.
fn dump_body(w: &mut Writer<Vec<u8>>) -> nlq::wire::Result<()> {
    ifinfo(0).emit(w)?;
    w.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
}

/// A link's name and index, as `if_nameindex` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameIndex {
    /// The interface index.
    pub index: u32,
    /// The interface name.
    pub name: String,
}

impl<T: Transport> Handle<T> {
    /// Gets one link (`RTM_GETLINK` by index or name) as a repr.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let lo = h.link_get("lo")?;
    /// assert_eq!(lo.header.index, 1);
    /// assert_eq!(lo.mtu, Some(65536));
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_get<'a>(&mut self, link: impl Into<LinkRef<'a>>) -> Result<LinkRepr> {
        self.get_link(link.into(), |l| Ok(LinkRepr::parse(l)?))
    }

    /// Sends `RTM_GETLINK` for one link (without statistics) and returns
    /// what `read` makes of the answer.
    fn get_link<R>(
        &mut self,
        link: LinkRef<'_>,
        mut read: impl FnMut(&LinkMessage<'_>) -> Result<R>,
    ) -> Result<R> {
        if let LinkRef::Name(n) = link {
            check_name(n)?;
        }
        let mut found = None;
        self.request(
            RTM_GETLINK,
            0,
            |w| {
                select(w, link)?;
                w.attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
            },
            |m| {
                found = Some(read(&LinkMessage::parse(m)?)?);
                Ok(())
            },
        )?;
        found.ok_or(Error::Unexpected("no link in the answer to RTM_GETLINK"))
    }

    /// The index of the link named `name` (`if_nametoindex`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// assert_eq!(h.if_nametoindex("lo")?, 1);
    /// assert_eq!(h.if_nametoindex("nosuch0").unwrap_err().errno(), libc::ENODEV);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn if_nametoindex(&mut self, name: &str) -> Result<u32> {
        self.get_link(LinkRef::Name(name), |l| Ok(l.header().index))
    }

    /// The name of the link with index `index` (`if_indextoname`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// assert_eq!(h.if_indextoname(1)?, "lo");
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn if_indextoname(&mut self, index: u32) -> Result<String> {
        self.get_link(LinkRef::Index(index), |l| {
            for a in l.attrs() {
                if let LinkAttr::IfName(n) = a? {
                    return Ok(n.to_owned());
                }
            }
            Err(Error::Unexpected("link without IFLA_IFNAME"))
        })
    }

    /// Every link's index and name (`if_nameindex`), in index order.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// h.link_add("br0", "bridge", &[], None)?;
    /// let names: Vec<String> = h.if_nameindex()?.into_iter().map(|e| e.name).collect();
    /// assert_eq!(names, ["lo", "br0"]);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn if_nameindex(&mut self) -> Result<Vec<NameIndex>> {
        let mut list = self.dump(RTM_GETLINK, dump_body, |m| {
            let l = LinkMessage::parse(m)?;
            for a in l.attrs() {
                if let LinkAttr::IfName(n) = a? {
                    let index = l.header().index;
                    return Ok(Some(NameIndex {
                        index,
                        name: n.to_owned(),
                    }));
                }
            }
            Ok(None)
        })?;
        list.sort_by_key(|e| e.index);
        Ok(list)
    }

    /// Every link, as reprs (a `RTM_GETLINK` dump).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// h.link_add("br0", "bridge", &[], None)?;
    /// let kinds: Vec<_> = h.links()?.iter().filter_map(|l| l.info.and_then(|i| i.kind)).collect();
    /// assert_eq!(kinds, ["bridge"]);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn links(&mut self) -> Result<Vec<LinkRepr>> {
        self.dump(RTM_GETLINK, dump_body, |m| {
            Ok(Some(LinkRepr::parse(&LinkMessage::parse(m)?)?))
        })
    }

    /// Sets a link up or down (`linksetupdown`: `RTM_SETLINK` changing
    /// `IFF_UP`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// h.link_set_up("lo", true)?;
    /// assert_ne!(h.link_get(1)?.header.flags & nlinline::wire::consts::IFF_UP, 0);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_set_up<'a>(&mut self, link: impl Into<LinkRef<'a>>, up: bool) -> Result<()> {
        let link = link.into();
        let index = self.resolve(link)?;
        let h = IfInfoMsg {
            index,
            flags: if up { IFF_UP } else { 0 },
            change: IFF_UP,
            ..IfInfoMsg::default()
        };
        self.request(RTM_SETLINK, 0, |w| h.emit(w), |_| Ok(()))
            .map(drop)
    }

    /// Sets a link's MAC address (`linksetaddr`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_mac(br, [0x02, 0, 0, 0, 0, 1])?;
    /// assert_eq!(h.link_get_mac("br0")?, [0x02, 0, 0, 0, 0, 1]);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_set_mac<'a>(&mut self, link: impl Into<LinkRef<'a>>, mac: [u8; 6]) -> Result<()> {
        let index = self.resolve(link.into())?;
        self.request(
            RTM_NEWLINK,
            0,
            |w| {
                ifinfo(index).emit(w)?;
                w.attr(IFLA_ADDRESS, &mac)
            },
            |_| Ok(()),
        )
        .map(drop)
    }

    /// A link's MAC address (`linkgetaddr`); `ENODATA` when it has none of
    /// 6 bytes.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// assert_eq!(h.link_get_mac("lo")?, [0; 6]);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_get_mac<'a>(&mut self, link: impl Into<LinkRef<'a>>) -> Result<[u8; 6]> {
        let l = self.link_get(link)?;
        l.address
            .and_then(|a| <[u8; 6]>::try_from(&a[..]).ok())
            .ok_or(Error::Refused {
                errno: crate::Errno(libc::ENODATA),
                message: None,
                offset: None,
            })
    }

    /// Sets a link's MTU (`linksetmtu`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// h.link_set_mtu(br, 1400)?;
    /// assert_eq!(h.link_get(br)?.mtu, Some(1400));
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_set_mtu<'a>(&mut self, link: impl Into<LinkRef<'a>>, mtu: u32) -> Result<()> {
        let index = self.resolve(link.into())?;
        self.request(
            RTM_NEWLINK,
            0,
            |w| {
                ifinfo(index).emit(w)?;
                w.attr_u32(IFLA_MTU, mtu)
            },
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Makes a link a port of bridge `master`, or, with `None`, of none
    /// (`ip link set LINK master M` / `nomaster`): `IFLA_MASTER`.
    ///
    /// ```
    /// use nlinline::{Handle, LinkKind};
    /// use nlinline::Shared;
    ///
    /// let stack = Shared::new(nlq_mem::MemStack::new());
    /// let mut h = Handle::in_process(&stack);
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// let v0 = h.link_create("v0", &LinkKind::Veth { peer: Some("v1") })?;
    /// h.link_set_master(v0, Some(br))?;
    /// assert_eq!(h.link_get(v0)?.master, Some(br));
    /// h.link_set_master("v0", None)?;
    /// assert_eq!(h.link_get(v0)?.master, None);
    /// // A veth end is no bridge.
    /// assert_eq!(h.link_set_master(br, Some(v0)).unwrap_err().errno(), libc::EOPNOTSUPP);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_set_master<'a>(
        &mut self,
        link: impl Into<LinkRef<'a>>,
        master: Option<u32>,
    ) -> Result<()> {
        let index = self.resolve(link.into())?;
        self.request(
            RTM_NEWLINK,
            0,
            |w| {
                ifinfo(index).emit(w)?;
                w.attr_u32(IFLA_MASTER, master.unwrap_or(0))
            },
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Creates a link of `kind` named `name` (`iplink_add`), with
    /// `IFLA_INFO_DATA` attributes `data` (type, value), at index `index`
    /// or, with `None`, where the stack chooses. Returns the new index.
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// let br = h.link_add("br0", "bridge", &[], None)?;
    /// assert_eq!(h.if_nametoindex("br0")?, br);
    /// // IFLA_BR_STP_STATE (5) = 1, at index 42.
    /// let stp = 1u32.to_ne_bytes();
    /// assert_eq!(h.link_add("br1", "bridge", &[(5, &stp[..])], Some(42))?, 42);
    /// assert_eq!(h.link_add("br0", "bridge", &[], None).unwrap_err().errno(), libc::EEXIST);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_add(
        &mut self,
        name: &str,
        kind: &str,
        data: &[(u16, &[u8])],
        index: Option<u32>,
    ) -> Result<u32> {
        check_name(name)?;
        self.request(
            RTM_NEWLINK,
            NLM_F_CREATE | NLM_F_EXCL,
            |w| {
                ifinfo(index.unwrap_or(0)).emit(w)?;
                w.attr_str(IFLA_IFNAME, name)?;
                let mut info = w.begin_nested(IFLA_LINKINFO)?;
                info.attr_str(IFLA_INFO_KIND, kind)?;
                if !data.is_empty() {
                    let mut d = info.begin_nested(IFLA_INFO_DATA)?;
                    for (t, v) in data {
                        d.attr(*t, v)?;
                    }
                    d.finish()?;
                }
                info.finish()
            },
            |_| Ok(()),
        )?;
        match index {
            Some(i) => Ok(i),
            None => self.if_nametoindex(name),
        }
    }

    /// Deletes a link by index or name (`iplink_del`).
    ///
    /// ```
    /// # if !nlinline::sandbox::enter_or_skip("doc example") { return Ok(()) }
    /// let mut h = nlinline::Handle::kernel()?;
    /// h.link_add("br0", "bridge", &[], None)?;
    /// h.link_del("br0")?;
    /// assert_eq!(h.link_del("br0").unwrap_err().errno(), libc::ENODEV);
    /// # Ok::<(), nlinline::Error>(())
    /// ```
    pub fn link_del<'a>(&mut self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        if let LinkRef::Name(n) = link {
            check_name(n)?;
        }
        self.request(RTM_DELLINK, 0, |w| select(w, link), |_| Ok(()))
            .map(drop)
    }

    /// The index of `link`.
    pub(crate) fn resolve(&mut self, link: LinkRef<'_>) -> Result<u32> {
        match link {
            LinkRef::Index(i) => Ok(i),
            LinkRef::Name(n) => self.if_nametoindex(n),
        }
    }
}
