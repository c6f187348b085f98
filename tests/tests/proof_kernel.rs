//! The proof against the kernel: generated operation sequences run through
//! nlinline on a fresh kernel namespace and on nlq over the `mem` stack;
//! per operation the result and the address and route notifications must
//! match, and at the end the tables and the link notifications.
//!
//! `PROOF_CASES` sets the number of sequences (200 by default).
//! `PROOF_SEED` picks them: a number, or `random` for a fresh campaign;
//! by default a fixed seed, so that a CI run checks the sequences that
//! were checked before the change landed (campaigns use `random`).

use nlkit_tests::netns::{in_netns, is_root};
use nlkit_tests::proof::{divergence, sequence, trace_kernel, trace_mem, Op};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

fn cases() -> u32 {
    std::env::var("PROOF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// The fixed seed of an ordinary run.
const DEFAULT_SEED: u64 = 0x6e6c_6b69_7420;

fn seed() -> RngSeed {
    match std::env::var("PROOF_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(n) => RngSeed::Fixed(n.parse().expect("PROOF_SEED: a number or `random`")),
        None => RngSeed::Fixed(DEFAULT_SEED),
    }
}

fn compare(ops: &[Op]) -> Result<(), String> {
    let owned = ops.to_vec();
    let Some(kernel) = in_netns("proof", move || trace_kernel(&owned)) else {
        return Ok(());
    };
    let mem = trace_mem(ops);
    match divergence(ops, &kernel, &mem) {
        None => Ok(()),
        Some(d) => Err(format!("{d}\nsequence: {ops:#?}")),
    }
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        rng_seed: seed(),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    })]

    #[test]
    fn mem_answers_like_the_kernel(ops in sequence()) {
        if !is_root() {
            // in_netns prints why (and fails under CI).
            let _ = in_netns("proof", || ());
            return Ok(());
        }
        if let Err(d) = compare(&ops) {
            prop_assert!(false, "{}", d);
        }
    }
}

/// Every divergence the generator found, kept as a fixed sequence (each
/// named after the kernel behaviour it pinned down).
#[test]
fn divergences_found_stay_fixed() {
    use nlkit_tests::proof::{Mode, Via};
    use Op::*;
    let cases: &[(&str, Vec<Op>)] = &[
        (
            "lo up adds 127.0.0.1 and ::1, no ::1/128 main route",
            vec![LinkUp(0, true)],
        ),
        (
            "IPv4 delete with host bits is EINVAL",
            vec![RouteDel(2, Via::Dev(0), None)],
        ),
        (
            "IPv6 routes report universe scope",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                RouteAdd(4, Via::Dev(1), None, Mode::Add),
            ],
        ),
        (
            "deleting ::/0 finds the IPv6 null entry: ENOENT",
            vec![RouteDel(6, Via::Dev(0), None)],
        ),
        (
            "the null entry goes while ::/0 has a route: ESRCH",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                RouteAdd(6, Via::Dev(1), None, Mode::Add),
                RouteDel(6, Via::Dev(0), None),
            ],
        ),
        ("lo keeps its zero MAC", vec![LinkMac(0, 3)]),
        (
            "a new MAC must be unicast and not zero",
            vec![LinkMac(0, 0), LinkMac(0, 3)],
        ),
        ("lo refuses a multicast MAC", vec![LinkMac(0, 2)]),
        (
            "IPv6 multipath delete goes nexthop by nexthop",
            vec![LinkAdd(1), RouteDel(6, Via::Multipath(3, 3), None)],
        ),
        (
            "IPv6 routes go in tree order when a link goes",
            vec![LinkAdd(1), LinkUp(1, true), AddrAdd(1, 7, 128), LinkDel(1)],
        ),
        (
            "IPv6 delete on a link without IPv6 is ENXIO",
            vec![LinkAdd(3), LinkMtu(3, 68), AddrDel(3, 4, 64)],
        ),
        (
            "a gateway through a down link is ENETDOWN",
            vec![
                AddrAdd(0, 3, 24),
                RouteAdd(0, Via::Gateway(0), None, Mode::Add),
            ],
        ),
        (
            "IPv6 never resolves a gateway through lo",
            vec![
                AddrAdd(0, 4, 64),
                LinkUp(0, true),
                RouteAdd(4, Via::Gateway(3), None, Mode::Add),
            ],
        ),
        (
            "a MAC change takes a port-less bridge's carrier",
            vec![
                LinkAdd(1),
                LinkMac(1, 0),
                LinkUp(1, true),
                AddrAdd(1, 0, 24),
                AddrAdd(1, 4, 64),
            ],
        ),
        (
            "an IPv6 multipath route with a nexthop twice is EEXIST",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                AddrAdd(1, 4, 64),
                RouteAdd(4, Via::Multipath(3, 3), None, Mode::Add),
            ],
        ),
        (
            "a gateway on two links resolves through the first route",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                LinkAdd(2),
                LinkUp(2, true),
                AddrAdd(2, 6, 64),
                AddrAdd(1, 6, 64),
                RouteAdd(6, Via::Gateway(4), None, Mode::Add),
            ],
        ),
        (
            "an IPv6 gateway whose best route is through a gateway is EHOSTUNREACH",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                RouteAdd(6, Via::Dev(1), None, Mode::Add),
                RouteAdd(6, Via::Gateway(3), Some(5), Mode::Add),
                RouteAdd(4, Via::Gateway(3), None, Mode::Add),
            ],
        ),
        (
            "a down link going away loses IPv4, then IPv6",
            vec![LinkAdd(1), AddrAdd(1, 0, 24), AddrAdd(1, 4, 64), LinkDel(1)],
        ),
        (
            "secondaries go before their primary",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                AddrAdd(1, 0, 24),
                AddrAdd(1, 1, 24),
                AddrDel(1, 0, 24),
            ],
        ),
        (
            "IPv4 routes go silently with their link, IPv6 ones loudly",
            vec![
                LinkAdd(1),
                LinkUp(1, true),
                AddrAdd(1, 0, 24),
                AddrAdd(1, 4, 64),
                RouteAdd(0, Via::Gateway(0), None, Mode::Add),
                RouteAdd(4, Via::Gateway(3), None, Mode::Add),
                LinkUp(1, false),
                LinkUp(1, true),
                LinkDel(1),
            ],
        ),
    ];
    if !is_root() {
        let _ = in_netns("proof regressions", || ());
        return;
    }
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, ops)| compare(ops).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
