//! The proof with real clients on both sides: generated `ip` command
//! sequences run with iproute2's `ip` against a fresh kernel network
//! namespace and through the preload shim against a fresh daemon over
//! the in-memory stack. Per step, the exit status, stdout and stderr,
//! every notification a listener hears and the whole link, address and
//! route tables must be equal, message by message and attribute by
//! attribute, but for what `compare::MASKS` lists (random or time-bound
//! values only).
//!
//! `IP_PROOF_CASES` sets the number of sequences (300 by default, of
//! 20 steps each), `IP_PROOF_SEED` the first seed (a number, or `random`).
//! A divergence is minimised to its shortest reproducer before it is
//! reported; keep it in `regressions::REGRESSIONS`. `IP_PROOF_SURVEY=1` goes on after
//! a divergence and prints every one, grouped.

mod compare;
mod generate;
mod observe;
mod regressions;

#[allow(dead_code)]
#[path = "../programs/harness.rs"]
mod harness;

use std::collections::BTreeMap;

use compare::first_difference;
use observe::{trace, KernelSide, NlqSide, StepTrace};

type Steps = Vec<Vec<String>>;

/// The kernel's trace of `steps`; `expect`: how many notifications the
/// other side heard at each step (see [`trace`]).
fn kernel_trace(steps: &Steps, expect: &[usize]) -> Vec<StepTrace> {
    let steps = steps.clone();
    let expect = expect.to_vec();
    std::thread::spawn(move || {
        // SAFETY: unshare(2) with CLONE_NEWNET moves only this thread,
        // which nothing else uses, into a new namespace.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        // Duplicate address detection completes on a timer on the kernel
        // and at once on the in-memory stack: shorten the timer, and wait
        // for it after each step (`compare::KERNEL_SETUP`).
        for (knob, value) in compare::KERNEL_SETUP {
            std::fs::write(knob, value).expect(knob);
        }
        let mut side = KernelSide::new().expect("kernel sockets");
        trace(&mut side, &steps, &expect).expect("kernel trace")
    })
    .join()
    .expect("kernel side")
}

fn nlq_trace(steps: &Steps) -> Vec<StepTrace> {
    let daemon = harness::Daemon::start("ip-proof");
    let shim = harness::shim();
    let mut side = NlqSide::new(&daemon.socket, &shim).expect("daemon sockets");
    trace(&mut side, steps, &[]).expect("nlq trace")
}

/// The first divergence of `steps`, if any: (step index, description).
fn diverges(steps: &Steps) -> Option<(usize, String)> {
    let (k, n) = both_traces(steps);
    first_difference(steps, &k, &n)
}

/// The kernel's and nlq's traces of `steps`.
fn both_traces(steps: &Steps) -> (Vec<StepTrace>, Vec<StepTrace>) {
    let n = nlq_trace(steps);
    let heard: Vec<usize> = n
        .iter()
        .map(|t| {
            t.notifications
                .iter()
                .filter(|m| compare::modelled(m))
                .count()
        })
        .collect();
    (kernel_trace(steps, &heard), n)
}

/// Shortens a diverging sequence while it still diverges: drops every
/// step after the diverging one, then each earlier step that is not
/// needed.
fn minimise(mut steps: Steps, at: usize) -> (Steps, String) {
    steps.truncate(at + 1);
    let mut why = diverges(&steps).map(|d| d.1).unwrap_or_default();
    let mut i = 0;
    while i + 1 < steps.len() {
        let mut shorter = steps.clone();
        shorter.remove(i);
        match diverges(&shorter) {
            Some((at, d)) => {
                shorter.truncate(at + 1);
                steps = shorter;
                why = d;
            }
            None => i += 1,
        }
    }
    (steps, why)
}

fn show(steps: &Steps) -> String {
    steps
        .iter()
        .map(|s| format!("    ip {}", s.join(" ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn skip(test: &str) -> bool {
    if harness::kernel_prefix(test).is_none() || !harness::need_program(test, "ip", &["-V"]) {
        return true;
    }
    if !nlkit_is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: needs root under CI"
        );
        eprintln!("skipping {test}: needs root to create network namespaces");
        return true;
    }
    false
}

fn nlkit_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn generated_ip_sequences_answer_like_the_kernel() {
    if skip("ip_proof") {
        return;
    }
    let cases: u64 = std::env::var("IP_PROOF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let len: usize = std::env::var("IP_PROOF_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let first: u64 = match std::env::var("IP_PROOF_SEED").ok().as_deref() {
        Some("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        Some(n) => n.parse().expect("IP_PROOF_SEED: a number or `random`"),
        None => 0x6970_2d70_726f_6f66,
    };
    let survey = std::env::var("IP_PROOF_SURVEY").is_ok();
    let mut found: BTreeMap<String, (u64, Steps, String)> = BTreeMap::new();
    let mut unrepeated = 0;
    for seed in first..first + cases {
        let steps = generate::sequence(seed, len);
        let Some((at, first)) = diverges(&steps) else {
            continue;
        };
        if diverges(&steps).is_none() {
            // Not repeated: a timer on one side (reported, and bounded).
            eprintln!("seed {seed}: a divergence that did not repeat\n{first}");
            unrepeated += 1;
            assert!(unrepeated <= 2, "too many divergences that do not repeat");
            continue;
        }
        if !survey {
            let (short, why) = minimise(steps, at);
            panic!(
                "seed {seed}: divergence, minimised to\n{}\n{why}\n(masked, and why: {:?})",
                show(&short),
                compare::MASKS
            );
        }
        // A survey minimises each kind of divergence once.
        let key = first.lines().next().unwrap_or("").to_string();
        eprintln!("seed {seed}: {key}");
        if let std::collections::btree_map::Entry::Vacant(e) = found.entry(key) {
            let (short, why) = minimise(steps, at);
            e.insert((seed, short, why));
        }
    }
    for (seed, steps, why) in found.values() {
        eprintln!("\n== seed {seed}\n{}\n{why}", show(steps));
    }
    assert!(
        found.is_empty(),
        "{} distinct divergences in {cases} sequences",
        found.len()
    );
    eprintln!("ip_proof: {cases} sequences of {len} steps, no divergence");
}

#[test]
fn divergences_found_stay_fixed() {
    if skip("ip_proof_regressions") {
        return;
    }
    let mut again = Vec::new();
    for (name, steps) in regressions::REGRESSIONS {
        let steps: Steps = steps
            .iter()
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .collect();
        if let Some((_, why)) = diverges(&steps) {
            again.push(format!("{name}: diverges again\n{}\n{why}", show(&steps)));
        }
    }
    assert!(
        again.is_empty(),
        "{} of {} regressions diverge\n{}",
        again.len(),
        regressions::REGRESSIONS.len(),
        again.join("\n")
    );
}

/// `IP_PROOF_TRY=FILE`: runs the `ip` arguments of FILE (one step a
/// line) on both sides and prints both traces in full (for exploring).
#[test]
fn try_a_sequence() {
    let Ok(file) = std::env::var("IP_PROOF_TRY") else {
        return;
    };
    let text = std::fs::read_to_string(file).expect("IP_PROOF_TRY file");
    let steps: Steps = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    let (k, n) = both_traces(&steps);
    for (i, (a, b)) in k.iter().zip(&n).enumerate() {
        eprintln!("=== ip {}", steps[i].join(" "));
        for (side, t) in [("kernel", a), ("nlq", b)] {
            eprintln!(
                "--- {side}: status {} stdout {:?} stderr {:?}",
                t.status, t.stdout, t.stderr
            );
            for m in &t.notifications {
                eprintln!("  N {}", compare::render(m, true, t.pid));
            }
            for m in &t.answer {
                eprintln!("  A {}", compare::render(m, false, 0));
            }
            for m in &t.dumps {
                eprintln!("  D {}", compare::render(m, false, 0));
            }
        }
    }
    match first_difference(&steps, &k, &n) {
        Some((_, d)) => eprintln!("DIVERGES\n{d}"),
        None => eprintln!("EQUAL"),
    }
}
