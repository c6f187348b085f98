//! A counting allocator proves that parsing a whole fixture (every message,
//! every attribute, nested ones included) and building an RTM_NEWADDR request
//! allocate nothing.
#![cfg(target_endian = "little")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use nlkit_tests::fixtures::{datagrams, FIXTURES};
use nlq::wire::{
    consts::*, AddrAttr, AddrRepr, LinkAttr, LinkInfoAttr, LinkRepr, Message, Messages, RouteAttr,
    RouteRepr, SliceBuffer, Writer,
};

struct Counting;

thread_local! {
    static ALLOCS: Cell<Option<usize>> = const { Cell::new(None) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get().map(|n| n + 1)));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCS.with(|c| c.set(Some(0)));
    f();
    ALLOCS.with(|c| c.replace(None)).unwrap_or(0)
}

fn parse_everything(dgrams: &[Vec<u8>]) -> usize {
    let mut n = 0usize;
    for d in dgrams {
        for m in Messages::new(d) {
            match m.unwrap().typed().unwrap() {
                Message::Link(l) => {
                    for a in l.attrs() {
                        match a.unwrap() {
                            LinkAttr::LinkInfo(info) => {
                                for i in info {
                                    if let LinkInfoAttr::Data(d) = i.unwrap() {
                                        n += d
                                            .map(|a| black_box(a.unwrap()).attr_type() as usize)
                                            .sum::<usize>();
                                    }
                                }
                            }
                            LinkAttr::AfSpec(s) => {
                                n += s
                                    .map(|a| black_box(a.unwrap()).value().len())
                                    .sum::<usize>()
                            }
                            other => {
                                black_box(&other);
                                n += 1;
                            }
                        }
                    }
                    n += LinkRepr::parse(&l).unwrap().mtu.unwrap_or(0) as usize;
                }
                Message::Addr(a) => {
                    n += a
                        .attrs()
                        .filter(|x| matches!(black_box(x), Ok(AddrAttr::Local(_))))
                        .count();
                    n += AddrRepr::parse(&a).unwrap().header.index as usize;
                }
                Message::Route(r) => {
                    for a in r.attrs() {
                        if let RouteAttr::Metrics(m) = a.unwrap() {
                            n += m.count();
                        }
                    }
                    n += RouteRepr::parse(&r).unwrap().table_id() as usize;
                }
                Message::Done(d) => n += d.error as usize,
                _ => {}
            }
        }
    }
    n
}

#[test]
fn parsing_every_fixture_allocates_nothing() {
    for name in FIXTURES {
        let dgrams = datagrams(name);
        let mut n = 0;
        let allocs = allocations(|| n = parse_everything(&dgrams));
        assert!(n > 0);
        assert_eq!(allocs, 0, "{name}");
    }
}

#[test]
fn building_newaddr_allocates_nothing() {
    let mut storage = [0u8; 64];
    let mut len = 0;
    let allocs = allocations(|| {
        let mut w = Writer::new(SliceBuffer::new(&mut storage));
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        len = w
            .message(RTM_NEWADDR, flags, 1, 0, |w| {
                AddrRepr::new(ip, 24, 2).with_local(ip).emit(w)
            })
            .unwrap();
    });
    assert_eq!((len, allocs), (40, 0));
}

#[test]
fn the_counter_counts() {
    assert_eq!(allocations(|| drop(black_box(vec![1u8; 10]))), 1);
}
