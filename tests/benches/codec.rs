//! Codec benchmarks: `nlq` against `netlink-packet-route` (npr) and against a
//! minimal hand-written attribute walk (the upper bound for any parser).
//!
//! One criterion group per case, one function per contender:
//!
//! - `parse_route_dump`, `parse_addr_dump`, `parse_link_dump`: every datagram
//!   of the kernel dump fixture per iteration (throughput in fixture bytes).
//!   - `nlq`: typed parse of every message and every attribute, descending
//!     into the typed nested parts (route metrics and next hops, link info,
//!     raw `IFLA_INFO_DATA` / `IFLA_INFO_SLAVE_DATA` and `IFLA_AF_SPEC`);
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
        AddrRepr, Buffer, LinkAttr, LinkInfoAttr, Message, Messages, RouteAttr, SliceBuffer, Writer,
    };

    // -----------------------------------------------------------------------
    // nlq: typed parse of everything

    /// Visits one route attribute and its typed nested parts; returns the
    /// number of attributes visited (itself included).
    #[inline]
    fn visit_route(a: RouteAttr<'_>) -> usize {
        black_box(&a);
        1 + match a {
            RouteAttr::Metrics(metrics) => metrics
                .map(|m| {
                    black_box(m.expect("valid metric"));
                    1
                })
                .sum(),
            RouteAttr::Multipath(hops) => hops
                .map(|hop| {
                    let hop = hop.expect("valid next hop");
                    black_box(&hop);
                    hop.attrs()
                        .map(|a| {
                            black_box(a.expect("valid next hop attribute"));
                            1
                        })
                        .sum::<usize>()
                })
                .sum(),
            _ => 0,
        }
    }

    /// Visits one link attribute and its typed nested parts; returns the
    /// number of attributes visited (itself included).
    #[inline]
    fn visit_link(a: LinkAttr<'_>) -> usize {
        black_box(&a);
        let raw = |attrs: nlq::wire::Attrs<'_>| -> usize {
            attrs
                .map(|a| {
                    black_box(a.expect("valid nested attribute"));
                    1
                })
                .sum()
        };
        1 + match a {
            LinkAttr::LinkInfo(info) => info
                .map(|e| {
                    let e = e.expect("valid link info entry");
                    black_box(&e);
                    1 + match e {
                        LinkInfoAttr::Data(d) | LinkInfoAttr::SlaveData(d) => raw(d),
                        _ => 0,
                    }
                })
                .sum(),
            LinkAttr::AfSpec(spec) => raw(spec),
            _ => 0,
        }
    }

    /// Parses every message and attribute of `datagram` with nlq; returns the
    /// number of attributes visited.
    fn nlq_visit_datagram(datagram: &[u8]) -> usize {
        let mut n = 0;
        for m in Messages::new(datagram) {
            let m = m.expect("valid message");
            black_box(m.header());
            match m.typed().expect("valid typed message") {
                Message::Route(r) => {
                    black_box(r.header());
                    for a in r.attrs() {
                        n += visit_route(a.expect("valid route attribute"));
                    }
                }
                Message::Addr(r) => {
                    black_box(r.header());
                    for a in r.attrs() {
                        black_box(a.expect("valid address attribute"));
                        n += 1;
                    }
                }
                Message::Link(r) => {
                    black_box(r.header());
                    for a in r.attrs() {
                        n += visit_link(a.expect("valid link attribute"));
                    }
                }
                Message::Neigh(r) => {
                    black_box(r.header());
                    for a in r.attrs() {
                        black_box(a.expect("valid neighbour attribute"));
                        n += 1;
                    }
                }
                other => {
                    black_box(other);
                }
            }
        }
        n
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

    /// A parse contender: visits one datagram, returns the attribute count.
    type Contender = fn(&[u8]) -> usize;

    fn parse_group(c: &mut Criterion, group: &str, fixture: &str) {
        let dgs = datagrams(fixture);
        let bytes: usize = dgs.iter().map(Vec::len).sum();

        // Every contender sees the same top-level attributes (nlq also
        // counts the nested ones it visits).
        let top = |f: Contender| dgs.iter().map(|d| f(d)).sum::<usize>();
        assert_eq!(top(walk_datagram), top(npr_visit_datagram), "{fixture}");
        assert!(top(nlq_visit_datagram) >= top(walk_datagram), "{fixture}");

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
        let (ip, prefix_len, index) = black_box((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24, 2));
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
