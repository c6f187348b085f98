//! # nlq-conformance
//!
//! A conformance kit: which rtnetlink behaviours a [`Stack`] gets right.
//!
//! An adapter author runs [`run`] against their own stack, from a test,
//! and gets a [`Report`]: one [`Check`] per behaviour, each passed, failed
//! (with what went wrong), or unsupported (the stack answered
//! `EOPNOTSUPP`, the default of every [`Stack`] method, or the [`Setup`]
//! leaves the family out). The report prints as a markdown table, to
//! publish in the adapter's README.
//!
//! Every check runs on a fresh stack, wrapped in an in-process
//! [`Server`](nlq::server::Server) (a [`Shared`] one), and talks to it only
//! in bytes, over [`nlinline`] transports: the requests are built as `ip`
//! builds them, the answers are read as `ip` reads them (sequence numbers, `NLM_F_MULTI`,
//! `NLMSG_DONE`, ACKs, notifications on other sockets). So it checks the
//! server and the stack together, as a client sees them. A panic in the
//! stack fails its check, not the run.
//!
//! The expected answers are the Linux kernel's: every check passes
//! against a kernel `NETLINK_ROUTE` socket in a scratch network namespace
//! (Linux 6.18 with `bridge`, `veth` and `ifb` links; `ifb` cannot change
//! its MAC address, so that check comes out unsupported there). To run the
//! checks against something other than an in-process server, call
//! [`run_on`] with an [`Endpoint`]: the kernel ([`Kernel`]), a stack in another process
//! whose sockets are [`nlinline::Transport`]s ([`Settled`] waits for its
//! answers), or your own.
//!
//! # The checks
//!
//! | Group | What is checked |
//! | --- | --- |
//! | protocol | ACKs only with `NLM_F_ACK`; errors without it, echoing the request; `NETLINK_CAP_ACK`; `NETLINK_EXT_ACK` texts; unknown message types; 1-byte GET bodies; several requests per datagram; trailing padding |
//! | links | the link dump; creation and deletion (when the setup creates its link); `RTM_GETLINK` by index and name; `ENODEV` for missing links; up/down, MTU and MAC changes |
//! | addresses | IPv4 and IPv6: add, `EEXIST`, delete, `EADDRNOTAVAIL`; bad prefix lengths; missing links; dumps by family |
//! | routes | IPv4 and IPv6 routes via a gateway: add, `EEXIST`, delete, `ESRCH`; an unreachable IPv4 gateway; IPv4 default and device routes, replace, `ip route get` |
//! | notifications | `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV6_IFADDR`, `RTNLGRP_IPV4_ROUTE` members hear other sockets' changes, with the request's seq and port; leaving a group; a member hears its own changes; `NLM_F_ECHO` |
//! | dumps | a dump larger than the reader's buffer comes in datagrams that fit it; dumps one after another; strict-check filtering |
//!
//! [`checks`] lists them all with their names and what each wants.
//!
//! # What the checks need
//!
//! One link they may configure: bring up and down, change its MTU and MAC,
//! give addresses, route through. Either every fresh stack has it
//! ([`Setup::existing_link`]), or the kit creates it on each fresh stack
//! with `RTM_NEWLINK` as `ip link add nlqkit0 type KIND` does
//! ([`Setup::create_link`]). The address checks use `10.83.0.1/24` and
//! `2001:db8:83::1/64`; the route checks give the link `10.84.0.1/24` and
//! route `10.85.0.0/16` via `10.84.0.254` (and the IPv6 likes in
//! `2001:db8:84::/64` and `2001:db8:85::/48`); the split dump adds 150
//! addresses in `10.88.0.0/24`. A check that needs what the stack does not
//! have (a method left to its `EOPNOTSUPP` default, a family the setup
//! leaves out) comes out unsupported, not failed.
//!
//! # Example
//!
//! A stack with one link, `eth0`, that can go up and down and change its
//! MTU and MAC address (nothing else: the address and route checks come
//! out unsupported):
//!
//! ```
//! use core::ops::ControlFlow;
//! use nlq_conformance::{self as conformance, Outcome, Setup};
//! use nlq::errno::EINVAL;
//! use nlq::stack::{Event, Events, LinkChange, Stack, StackError, StackResult, Visit};
//! use nlq::wire::{consts::*, HwAddr, IfName, LinkRepr};
//!
//! struct OneLink {
//!     up: bool,
//!     mtu: u32,
//!     mac: [u8; 6],
//! }
//!
//! impl OneLink {
//!     fn repr(&self) -> LinkRepr {
//!         let mut l = LinkRepr::default();
//!         l.header.index = 2;
//!         l.header.hardware_type = ARPHRD_ETHER;
//!         l.header.flags = IFF_BROADCAST | IFF_MULTICAST | if self.up { IFF_UP } else { 0 };
//!         l.name = IfName::try_from_str("eth0");
//!         l.mtu = Some(self.mtu);
//!         l.address = HwAddr::try_from_slice(&self.mac);
//!         l
//!     }
//! }
//!
//! impl Stack for OneLink {
//!     fn links(&self, start: usize, visit: Visit<'_, LinkRepr>) -> StackResult<()> {
//!         if start == 0 {
//!             let _ = visit(&self.repr());
//!         }
//!         Ok(())
//!     }
//!
//!     fn set_link(&mut self, index: u32, change: &LinkChange, events: Events<'_>) -> StackResult<()> {
//!         if index != 2 {
//!             return Err(StackError::new(nlq::errno::ENODEV));
//!         }
//!         if let Some(mac) = &change.address {
//!             self.mac = mac.as_slice().try_into().map_err(|_| StackError::new(EINVAL))?;
//!         }
//!         if let Some(mtu) = change.mtu {
//!             self.mtu = mtu;
//!         }
//!         if let Some(flags) = change.flags(if self.up { IFF_UP } else { 0 }) {
//!             self.up = flags & IFF_UP != 0;
//!         }
//!         events(Event::NewLink(&self.repr()));
//!         Ok(())
//!     }
//! }
//!
//! // In a test of the adapter:
//! let setup = Setup::existing_link(2, "eth0");
//! let report = conformance::run(&setup, || OneLink { up: false, mtu: 1500, mac: [2, 0, 0, 0, 0, 1] });
//! println!("{report}"); // the markdown table
//! assert!(report.is_ok(), "{report}");
//! assert!(matches!(report.get("set_mtu").unwrap().outcome, Outcome::Pass));
//! assert!(matches!(report.get("ipv4_add").unwrap().outcome, Outcome::Unsupported(_)));
//! ```
//!
//! A stack that creates links instead (as `nlq_mem::MemStack` does):
//!
//! ```ignore
//! let report = nlq_conformance::run(&Setup::create_link("dummy"), nlq_mem::MemStack::new);
//! ```

mod checks;
mod endpoint;
mod harness;

use std::fmt;

pub use endpoint::{Endpoint, Kernel, Settled, SettledSocket};

use nlinline::Shared;
use nlq::stack::Stack;

/// The link the checks configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestLink {
    /// A link every fresh stack has.
    Existing {
        /// Its interface index.
        index: u32,
        /// Its name.
        name: String,
    },
    /// A link the kit creates on each fresh stack, as `ip link add NAME
    /// type KIND` does (`RTM_NEWLINK` with `NLM_F_CREATE | NLM_F_EXCL`,
    /// `IFLA_IFNAME` and `IFLA_LINKINFO`/`IFLA_INFO_KIND`).
    Create {
        /// `IFLA_INFO_KIND`: `dummy`, `bridge`, ...
        kind: String,
        /// `IFLA_IFNAME`.
        name: String,
    },
}

/// What the stack under test offers the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The link the checks configure.
    pub link: TestLink,
    /// The stack has IPv4: the IPv4 checks run (else they are
    /// unsupported).
    pub ipv4: bool,
    /// The stack has IPv6: the IPv6 checks run.
    pub ipv6: bool,
}

/// The name of the link [`Setup::create_link`] creates.
pub const CREATED_LINK: &str = "nlqkit0";

impl Setup {
    /// Checks on `name` (index `index`), a link every fresh stack has;
    /// IPv4 and IPv6.
    pub fn existing_link(index: u32, name: &str) -> Self {
        Setup {
            link: TestLink::Existing {
                index,
                name: name.to_string(),
            },
            ipv4: true,
            ipv6: true,
        }
    }

    /// Checks on a link of `kind` (`dummy`, `bridge`, ...) the kit creates
    /// on each fresh stack, named [`CREATED_LINK`]; IPv4 and IPv6.
    pub fn create_link(kind: &str) -> Self {
        Setup {
            link: TestLink::Create {
                kind: kind.to_string(),
                name: CREATED_LINK.to_string(),
            },
            ipv4: true,
            ipv6: true,
        }
    }

    /// Without the IPv4 checks.
    pub fn without_ipv4(mut self) -> Self {
        self.ipv4 = false;
        self
    }

    /// Without the IPv6 checks.
    pub fn without_ipv6(mut self) -> Self {
        self.ipv6 = false;
        self
    }
}

/// How a check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stack behaves as Linux does.
    Pass,
    /// It does not: what was expected and what came.
    Fail(String),
    /// The stack does not do what the check needs: a step was answered
    /// `EOPNOTSUPP`, or the setup leaves it out. Why, in words.
    Unsupported(String),
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Its group: `protocol`, `links`, `addresses`, `routes`,
    /// `notifications`, `dumps`.
    pub group: &'static str,
    /// Its name, unique across groups (`ipv4_add`).
    pub name: &'static str,
    /// The behaviour it checks, in a sentence.
    pub about: &'static str,
    /// How it came out.
    pub outcome: Outcome,
}

/// The outcome of every check, in order. `Display` prints a markdown table
/// with a summary line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The checks, grouped, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// The checks that passed.
    pub fn passed(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Pass))
    }

    /// The checks that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
    }

    /// The checks the stack does not support.
    pub fn unsupported(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Unsupported(_)))
    }

    /// True when no check failed.
    pub fn is_ok(&self) -> bool {
        self.failed().next().is_none()
    }

    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Makes text fit a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| Group | Check | Behaviour | Result |")?;
        writeln!(f, "| --- | --- | --- | --- |")?;
        for c in &self.checks {
            let result = match &c.outcome {
                Outcome::Pass => "pass".to_string(),
                Outcome::Fail(why) => format!("**FAIL**: {}", cell(why)),
                Outcome::Unsupported(why) => format!("unsupported: {}", cell(why)),
            };
            writeln!(
                f,
                "| {} | `{}` | {} | {} |",
                c.group,
                c.name,
                cell(c.about),
                result
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{} passed, {} failed, {} unsupported",
            self.passed().count(),
            self.failed().count(),
            self.unsupported().count()
        )
    }
}

/// Runs every check, each on a fresh stack made by `new_stack` and served
/// by a fresh in-process [`Server`](nlq::server::Server).
pub fn run<S, F>(setup: &Setup, mut new_stack: F) -> Report
where
    S: Stack,
    F: FnMut() -> S,
{
    run_on(setup, || Ok(Shared::new(new_stack())))
}

/// Runs every check, each on a fresh endpoint made by `new_endpoint` (an
/// `Err` fails that check with its text).
pub fn run_on<E, F>(setup: &Setup, mut new_endpoint: F) -> Report
where
    E: Endpoint,
    F: FnMut() -> Result<E, String>,
{
    let mut report = Report::default();
    for spec in checks::all::<E>() {
        let outcome = match new_endpoint() {
            Ok(ep) => run_one(setup, ep, spec.run),
            Err(why) => Outcome::Fail(format!("no fresh endpoint: {why}")),
        };
        report.checks.push(Check {
            group: spec.group,
            name: spec.name,
            about: spec.about,
            outcome,
        });
    }
    report
}

/// Runs every check on the kernel, each in a fresh network namespace: a
/// thread of its own unshares one before each check (`CAP_SYS_ADMIN`
/// needed: an `Err` when the first cannot be made). What a stack's report
/// should be compared with.
pub fn run_on_kernel(setup: &Setup) -> Result<Report, String> {
    /// Moves the calling thread into a new network namespace.
    fn unshare() -> Result<(), String> {
        // SAFETY: unshare(2) takes only flags; it moves the calling thread
        // (the kit's own, running nothing but the checks).
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
            Ok(())
        } else {
            Err(format!(
                "a new network namespace: {}",
                std::io::Error::last_os_error()
            ))
        }
    }
    let setup = setup.clone();
    std::thread::spawn(move || {
        unshare()?;
        let mut first = true;
        Ok(run_on(&setup, || {
            // The first check runs in the namespace made above.
            if !std::mem::take(&mut first) {
                unshare()?;
            }
            Ok(Kernel::current())
        }))
    })
    .join()
    .map_err(|_| "the kernel run panicked".to_string())?
}

/// [`run_on_kernel`] for a test: `None`, with the reason printed, where
/// the kernel run cannot be made (not root), except under `CI=true`, where
/// that panics (CI runs as root).
pub fn run_on_kernel_or_skip(setup: &Setup) -> Option<Report> {
    match run_on_kernel(setup) {
        Ok(report) => Some(report),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the kernel conformance run must run under CI: {why}"
            );
            eprintln!("skipping the kernel conformance run: {why}");
            None
        }
    }
}

/// Every check: its group, name and behaviour, in report order.
pub fn checks() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    /// A stack for naming the checks' endpoint type.
    struct Nothing;
    impl Stack for Nothing {}
    checks::all::<Shared<Nothing>>()
        .into_iter()
        .map(|s| (s.group, s.name, s.about))
}

/// Runs one check on `ep`; a panic in the stack fails the check, not the
/// run.
fn run_one<E: Endpoint>(
    setup: &Setup,
    ep: E,
    check: fn(&mut harness::Ctx<'_, E>) -> harness::Step<()>,
) -> Outcome {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut cx = harness::Ctx::new(setup, ep)?;
        check(&mut cx)
    }));
    match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(outcome)) => outcome,
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Outcome::Fail(format!("panicked: {text}"))
        }
    }
}
