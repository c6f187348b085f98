//! Codec benchmarks: `nlq` against `netlink-packet-route` (npr) and against a
//! minimal hand-written attribute walk (the upper bound for any parser).
//!
//! One criterion group per case, one function per contender:
//!
//! - `parse_route_dump`, `parse_addr_dump`, `parse_link_dump`: every datagram
//!   of the kernel dump fixture per iteration (throughput in fixture bytes).
//!   - `nlq`: typed parse of every message and every attribute, descending
//!     into the typed nested parts (route metrics and next hops, link info,
//!     raw `IFLA_INFO_DATA` / `IFLA_INFO_SLAVE_DATA` and `IFLA_AF_SPEC`),
//!     every typed value folded into a digest as a consumer would use it;
//!   - `npr`: [`npr_visit_datagram`], full npr deserialization;
//!   - `walk`: framing only, one `black_box` per top-level attribute.
//! - `build_newaddr`: the 40-byte `RTM_NEWADDR` request (one element per
//!   iteration), into a reused buffer.
//!
//! Run with `cargo bench -p nlkit-tests --bench codec`. The fixtures were
//! captured on a little-endian host: on big-endian targets the benchmark
//! binary only prints a notice.

#[cfg(target_endian = "little")]
mod le {
    use std::hint::black_box;
    use std::net::{IpAddr, Ipv4Addr};

    use criterion::{criterion_group, Criterion, Throughput};
    use nlkit_tests::fixtures::datagrams;
    use nlkit_tests::npr_oracle::{npr_build_newaddr, npr_visit_datagram};
    use nlq::wire::consts::{
        NLMSG_DONE, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_NEWADDR,
    };
    use nlq::wire::{
        AddrAttr, AddrRepr, Attrs, Buffer, LinkAttr, LinkInfoAttr, Message, Messages, Metric,
        NeighAttr, RouteAttr, SliceBuffer, Writer,
    };

    // -----------------------------------------------------------------------
    // nlq: typed parse of everything

    /// Reads an address and folds it into the digest.
    #[inline(always)]
    fn ip(ip: impl Into<IpAddr>) -> u64 {
        match ip.into() {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(a) => {
                let v = u128::from(a);
                (v as u64) ^ ((v >> 64) as u64)
            }
        }
    }

    /// Folds raw attributes (type and length) into the digest.
    #[inline(always)]
    fn raw(attrs: Attrs<'_>) -> u64 {
        attrs
            .map(|a| {
                let a = a.expect("valid nested attribute");
                u64::from(a.attr_type()) + a.value().len() as u64
            })
            .sum()
    }

    /// Folds one typed route attribute, nested parts included.
    #[inline(always)]
    fn route(a: RouteAttr<'_>) -> u64 {
        match a {
            RouteAttr::Dst(x)
            | RouteAttr::Src(x)
            | RouteAttr::Gateway(x)
            | RouteAttr::PrefSrc(x) => ip(x),
            RouteAttr::Iif(v)
            | RouteAttr::Oif(v)
            | RouteAttr::Priority(v)
            | RouteAttr::Table(v)
            | RouteAttr::Mark(v)
            | RouteAttr::NhId(v) => u64::from(v),
            RouteAttr::Pref(v) => u64::from(v),
            RouteAttr::Expires(v) => v,
            RouteAttr::Via(v) => ip(v),
            RouteAttr::Metrics(metrics) => metrics
                .map(|m| match m.expect("valid metric") {
                    Metric::Value(k, v) => u64::from(k) + u64::from(v),
                    Metric::CcAlgo(s) => s.len() as u64,
                    // Kinds added later fold to nothing.
                    _ => 0,
                })
                .sum(),
            RouteAttr::Multipath(hops) => hops
                .map(|hop| {
                    let hop = hop.expect("valid next hop");
                    let attrs: u64 = hop
                        .attrs()
                        .map(|a| route(a.expect("valid next hop attribute")))
                        .sum();
                    u64::from(hop.flags())
                        + u64::from(hop.hops())
                        + u64::from(hop.ifindex())
                        + attrs
                })
                .sum(),
            RouteAttr::Other(a) => u64::from(a.attr_type()) + a.value().len() as u64,
            // Kinds added later fold to nothing.
            _ => 0,
        }
    }

    /// Folds one typed address attribute.
    #[inline(always)]
    fn addr(a: AddrAttr<'_>) -> u64 {
        match a {
            AddrAttr::Address(x)
            | AddrAttr::Local(x)
            | AddrAttr::Broadcast(x)
            | AddrAttr::Anycast(x) => ip(x),
            AddrAttr::Label(s) => s.len() as u64,
            AddrAttr::CacheInfo(c) => {
                u64::from(c.preferred)
                    + u64::from(c.valid)
                    + u64::from(c.created)
                    + u64::from(c.updated)
            }
            AddrAttr::Flags(f) => u64::from(f),
            AddrAttr::Other(a) => u64::from(a.attr_type()) + a.value().len() as u64,
            // Kinds added later fold to nothing.
            _ => 0,
        }
    }

    /// Folds one typed link attribute, nested parts included.
    #[inline(always)]
    fn link(a: LinkAttr<'_>) -> u64 {
        match a {
            LinkAttr::IfName(s) | LinkAttr::IfAlias(s) => s.len() as u64,
            LinkAttr::Address(b) | LinkAttr::Broadcast(b) => b.iter().map(|&x| u64::from(x)).sum(),
            LinkAttr::Mtu(v)
            | LinkAttr::TxQueueLen(v)
            | LinkAttr::Master(v)
            | LinkAttr::Link(v)
            | LinkAttr::Group(v)
            | LinkAttr::ExtMask(v) => u64::from(v),
            LinkAttr::OperState(v) | LinkAttr::LinkMode(v) => u64::from(v),
            LinkAttr::NewIfIndex(v) => v as u64,
            LinkAttr::Stats(s) => s.to_array().iter().map(|&v| u64::from(v)).sum(),
            LinkAttr::Stats64(s) => s.to_array().iter().sum(),
            LinkAttr::LinkInfo(info) => info
                .map(|e| match e.expect("valid link info entry") {
                    LinkInfoAttr::Kind(k) | LinkInfoAttr::SlaveKind(k) => k.len() as u64,
                    LinkInfoAttr::Data(d) | LinkInfoAttr::SlaveData(d) => raw(d),
                    LinkInfoAttr::Other(a) => a.value().len() as u64,
                    // Kinds added later fold to nothing.
                    _ => 0,
                })
                .sum(),
            LinkAttr::AfSpec(spec) => raw(spec),
            LinkAttr::Other(a) => u64::from(a.attr_type()) + a.value().len() as u64,
            // Kinds added later fold to nothing.
            _ => 0,
        }
    }

    /// Folds one typed neighbour attribute.
    #[inline(always)]
    fn neigh(a: NeighAttr<'_>) -> u64 {
        match a {
            NeighAttr::Dst(x) => ip(x),
            NeighAttr::LlAddr(b) => b.len() as u64,
            NeighAttr::CacheInfo(c) => u64::from(c.confirmed) + u64::from(c.refcnt),
            NeighAttr::Other(a) => a.value().len() as u64,
            // Kinds added later fold to nothing.
            _ => 0,
        }
    }

    /// Parses every message and attribute of `datagram` with nlq and folds
    /// every typed value (headers, attributes, nested parts) into a digest,
    /// as a consumer of the values would; returns the digest.
    fn nlq_visit_datagram(datagram: &[u8]) -> usize {
        let mut d = 0u64;
        for m in Messages::new(datagram) {
            let m = m.expect("valid message");
            d = d.wrapping_add(u64::from(m.seq()));
            d = d.wrapping_add(match m.typed().expect("valid typed message") {
                Message::Route(r) => {
                    let h = r.header();
                    let hd = u64::from(h.dst_len) + u64::from(h.table) + u64::from(h.route_type);
                    r.attrs()
                        .map(|a| route(a.expect("valid route attribute")))
                        .fold(hd, u64::wrapping_add)
                }
                Message::Addr(r) => {
                    let h = r.header();
                    let hd = u64::from(h.prefix_len) + u64::from(h.index);
                    r.attrs()
                        .map(|a| addr(a.expect("valid address attribute")))
                        .fold(hd, u64::wrapping_add)
                }
                Message::Link(r) => {
                    let h = r.header();
                    let hd = u64::from(h.index) + u64::from(h.flags);
                    r.attrs()
                        .map(|a| link(a.expect("valid link attribute")))
                        .fold(hd, u64::wrapping_add)
                }
                Message::Neigh(r) => {
                    let h = r.header();
                    r.attrs()
                        .map(|a| neigh(a.expect("valid neighbour attribute")))
                        .fold(u64::from(h.ifindex), u64::wrapping_add)
                }
                Message::Done(done) => done.error as u64,
                _ => 0,
            });
        }
        black_box(d) as usize
    }

    // -----------------------------------------------------------------------
    // walk: the upper bound

    /// Frames `datagram` by hand and visits every top-level attribute (type
    /// and length only); returns the number of attributes visited.
    fn walk_datagram(datagram: &[u8]) -> usize {
        let mut n = 0;
        let mut rest = datagram;
        while let Some(&[l0, l1, l2, l3, t0, t1, ..]) = rest.first_chunk::<16>() {
            let len = u32::from_ne_bytes([l0, l1, l2, l3]) as usize;
            let kind = u16::from_ne_bytes([t0, t1]);
            if kind == NLMSG_DONE || len < 16 {
                break;
            }
            let family_len = match kind {
                16..=19 => 16, // ifinfomsg
                20..=22 => 8,  // ifaddrmsg
                24..=26 => 12, // rtmsg
                _ => len,      // no attributes walked
            };
            let mut attrs = rest
                .get(..len)
                .and_then(|m| m.get(16 + family_len..))
                .unwrap_or_default();
            while let Some(&[a0, a1, k0, k1]) = attrs.first_chunk::<4>() {
                let alen = u16::from_ne_bytes([a0, a1]) as usize;
                black_box((u16::from_ne_bytes([k0, k1]), alen));
                n += 1;
                if alen < 4 {
                    break;
                }
                attrs = attrs.get((alen + 3) & !3..).unwrap_or_default();
            }
            rest = rest.get((len + 3) & !3..).unwrap_or_default();
        }
        n
    }

    // -----------------------------------------------------------------------
    // Groups

    /// A parse contender: visits one datagram, returns an attribute count
    /// (walk, npr) or a digest of the values (nlq).
    type Contender = fn(&[u8]) -> usize;

    fn parse_group(c: &mut Criterion, group: &str, fixture: &str) {
        let dgs = datagrams(fixture);
        let bytes: usize = dgs.iter().map(Vec::len).sum();

        // walk and npr see the same top-level attributes; nlq returns a
        // digest of every value it read.
        let top = |f: Contender| dgs.iter().map(|d| f(d)).sum::<usize>();
        assert_eq!(top(walk_datagram), top(npr_visit_datagram), "{fixture}");
        assert_ne!(top(nlq_visit_datagram), 0, "{fixture}");

        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes(bytes as u64));
        let contenders: [(&str, Contender); 3] = [
            ("nlq", nlq_visit_datagram),
            ("npr", npr_visit_datagram),
            ("walk", walk_datagram),
        ];
        for (name, f) in contenders {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let mut n = 0;
                    for d in &dgs {
                        n += f(black_box(d));
                    }
                    black_box(n)
                })
            });
        }
        g.finish();
    }

    fn parse_route_dump(c: &mut Criterion) {
        parse_group(c, "parse_route_dump", "route_dump.bin");
    }

    fn parse_addr_dump(c: &mut Criterion) {
        parse_group(c, "parse_addr_dump", "addr_dump.bin");
    }

    fn parse_link_dump(c: &mut Criterion) {
        parse_group(c, "parse_link_dump", "link_dump.bin");
    }

    const NEWADDR_FLAGS: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

    /// `ip addr add 10.0.0.1/24 dev <ifindex 2>` with nlq into `storage`;
    /// returns the message length. The inputs go through `black_box` so that
    /// the build is not constant-folded.
    #[inline]
    fn nlq_build_newaddr(storage: &mut [u8]) -> usize {
        // Each input through its own `black_box`: a black-boxed `IpAddr` would
        // be stored byte by byte and copied back whole (a store-forwarding
        // stall that measures the harness, not the build).
        let ip = IpAddr::V4(Ipv4Addr::from(black_box(0x0a00_0001u32)));
        let (prefix_len, index) = (black_box(24), black_box(2));
        let mut w = Writer::new(SliceBuffer::new(storage));
        let repr = AddrRepr::new(ip, prefix_len, index).with_local(ip);
        w.message(RTM_NEWADDR, NEWADDR_FLAGS, 1, 0, |w| repr.emit(w))
            .expect("room for the request");
        black_box(w.buffer().as_bytes()).len()
    }

    fn build_newaddr(c: &mut Criterion) {
        let mut storage = [0u8; 64];
        let mut vec = Vec::with_capacity(64);

        // Both contenders build the same bytes.
        let len = nlq_build_newaddr(&mut storage);
        npr_build_newaddr(&mut vec);
        assert_eq!(len, 40);
        assert_eq!(storage.get(..len), Some(vec.as_slice()));

        let mut g = c.benchmark_group("build_newaddr");
        g.throughput(Throughput::Elements(1));
        g.bench_function("nlq", |b| b.iter(|| nlq_build_newaddr(&mut storage)));
        g.bench_function("npr", |b| {
            b.iter(|| {
                npr_build_newaddr(&mut vec);
                black_box(vec.as_slice());
            })
        });
        g.finish();
    }

    criterion_group!(
        benches,
        parse_route_dump,
        parse_addr_dump,
        parse_link_dump,
        build_newaddr
    );
}

#[cfg(target_endian = "little")]
criterion::criterion_main!(le::benches);

/// The fixtures are little-endian: nothing to measure on this target.
#[cfg(not(target_endian = "little"))]
fn main() {
    eprintln!("codec benchmarks skipped: the fixtures were captured on a little-endian host");
}
