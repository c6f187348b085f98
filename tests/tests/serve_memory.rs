//! A dump needs memory for one datagram, whatever the table's size: a
//! counting allocator watches the live heap while nlq's server dumps a
//! 100,000-route `MemStack` table to a reader with a 32 KiB buffer.
//!
//! Only memory is asserted (the peak of the live heap during the dump,
//! above what was live before it); the times are printed for information.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nlq::server::Server;
use nlq::stack::{CreateFlags, LinkChange, NewLink, Stack};
use nlq::wire::{consts::*, AddrRepr, FamilyHeader, IfName, Messages, RouteRepr, RtMsg, Writer};
use nlq_mem::MemStack;

/// Routes in the table.
const ROUTES: u32 = 100_000;
/// The reader's buffer, as `ip` reads.
const READ: usize = 32 * 1024;
/// The most the live heap may grow during the dump.
const DUMP_BUDGET: usize = 1 << 20;

/// Counts the bytes live on the heap and their peak, over all threads.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The live heap now.
fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak from the live heap now.
fn reset_peak() -> usize {
    let now = live();
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// `br0` (a bridge, up) with `192.168.0.1/24`, then `ROUTES` routes
/// `10.0.0.0/24`, `10.0.1.0/24`, … `dev br0`, all through the stack's own
/// methods.
fn table() -> MemStack {
    let mut s = MemStack::new();
    let events = &mut |_: nlq::stack::Event<'_>| {};
    let br = s
        .add_link(
            &NewLink {
                index: 0,
                name: IfName::try_from_str("br0"),
                kind: "bridge",
                info: None,
                change: LinkChange {
                    flags: IFF_UP,
                    flags_mask: IFF_UP,
                    ..LinkChange::default()
                },
            },
            events,
        )
        .expect("br0");
    let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
    let create = CreateFlags(NLM_F_CREATE | NLM_F_EXCL);
    s.add_addr(&AddrRepr::new(ip, 24, br).with_local(ip), create, events)
        .expect("br0 address");
    for i in 0..ROUTES {
        let dst = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
        let mut r = RouteRepr::new(dst, 24);
        r.header.scope = RT_SCOPE_LINK;
        r.oif = Some(br);
        s.add_route(&r, create, events).expect("route added");
    }
    s
}

#[test]
fn a_dump_of_100k_routes_holds_one_datagram() {
    let t = Instant::now();
    let stack = table();
    let built = t.elapsed();
    let routes = stack.route_count();
    let table_bytes = stack.table_bytes();
    let after_build = live();

    let mut server = Server::new(stack);
    let conn = server.connect();
    let mut w = Writer::new(Vec::new());
    // AF_UNSPEC: every route, IPv4 then IPv6.
    let h = RtMsg::default();
    w.message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, |w| {
        h.emit(w)
    })
    .expect("dump request");
    let request = w.into_inner();

    let before = reset_peak();
    let t = Instant::now();
    server.handle_datagram(conn, &request);
    let (mut messages, mut datagrams, mut largest, mut done) = (0usize, 0usize, 0usize, false);
    while !done {
        let d = server
            .next_datagram(conn, READ)
            .expect("no error")
            .expect("a dump datagram");
        datagrams += 1;
        largest = largest.max(d.bytes.len());
        for m in Messages::new(&d.bytes) {
            match m.expect("well-formed message").message_type() {
                RTM_NEWROUTE => messages += 1,
                NLMSG_DONE => done = true,
                other => panic!("unexpected message type {other}"),
            }
        }
    }
    let dumped = t.elapsed();
    let peak = PEAK.load(Ordering::Relaxed);
    let growth = peak.saturating_sub(before);

    println!("routes in the stack:             {routes}");
    println!("table_bytes():                   {table_bytes} B");
    println!("live heap after building:        {after_build} B (built in {built:?})");
    println!("live heap before the dump:       {before} B");
    println!("peak live heap during the dump:  {peak} B (+{growth} B)");
    println!(
        "dump: {messages} messages in {datagrams} datagrams (largest {largest} B) in {dumped:?}"
    );

    assert_eq!(messages, routes, "every route dumped");
    assert!(routes > ROUTES as usize);
    assert!(largest <= READ, "datagrams fit the reader's buffer");
    assert!(
        growth < DUMP_BUDGET,
        "the dump grew the heap by {growth} B (budget {DUMP_BUDGET} B)"
    );
}
