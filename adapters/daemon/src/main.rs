//! `nlq`: serve a stack's rtnetlink to other processes, run programs
//! against it, decode netlink captures.

#![cfg_attr(
    not(test),
    warn(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nlq_daemon::{Daemon, Options};

const USAGE: &str = "\
usage:
  nlq serve --socket PATH [--stack mem] [--state FILE] [--verbose]
      Serve a stack's rtnetlink on the unix socket PATH. With --state, the
      configuration is kept in FILE and survives a restart.
  nlq proxy --socket PATH --policy FILE [--upstream kernel | netns:PATH | socket:PATH]
            [--log FILE] [--pcap FILE] [--verbose]
      A netlink firewall: clients connect at PATH as to `nlq serve`; each
      request is judged by the policy FILE (TOML), then sent to the
      upstream (the kernel by default). SIGHUP reloads the policy.
  nlq exec --socket PATH -- CMD [ARGS...]
      Run CMD with libnlq_preload.so preloaded, so that its netlink sockets,
      netdevice ioctls, getifaddrs and if_nameindex reach the daemon at PATH.
      The library is $NLQ_PRELOAD, else libnlq_preload.so next to nlq.
  nlq decode [FILE]
      Print the netlink messages of FILE (or standard input): a pcap taken
      on an nlmon device, hex text, raw bytes, or a state file.

environment:
  NLQ_SPIN_US   how long the daemon, and a program's reads through the
                shim, poll for the other side before sleeping (default 50
                microseconds; 0 never; never on a machine with one CPU).
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(cmd) = args.next() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<OsString> = args.collect();
    let result = match cmd.to_str() {
        Some("serve") => serve(&rest),
        Some("proxy") => proxy(&rest),
        Some("exec") => exec(&rest),
        Some("decode") => decode(&rest),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(usage(format!("unknown command {cmd:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            eprintln!("nlq: {msg}");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("nlq: {msg}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Other(String),
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::Other(msg.into())
}

/// The value after an option.
fn value(it: &mut std::slice::Iter<'_, OsString>, name: &str) -> Result<OsString, Failure> {
    it.next()
        .cloned()
        .ok_or_else(|| usage(format!("{name} needs a value")))
}

fn serve(args: &[OsString]) -> Result<ExitCode, Failure> {
    let mut socket = None;
    let mut options = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--socket") => socket = Some(PathBuf::from(value(&mut it, "--socket")?)),
            Some("--state") => options.state = Some(PathBuf::from(value(&mut it, "--state")?)),
            Some("--stack") => {
                let s = value(&mut it, "--stack")?;
                if s != "mem" {
                    return Err(usage(format!("unknown stack {s:?} (this nlq knows: mem)")));
                }
            }
            Some("--verbose" | "-v") => options.verbose = true,
            _ => return Err(usage(format!("unknown argument {a:?}"))),
        }
    }
    let socket = socket.ok_or_else(|| usage("serve needs --socket PATH"))?;
    nlq_daemon::sys::raise_nofile_limit();
    let stop = nlq_daemon::sys::on_stop_signals().map_err(|e| fail(format!("signals: {e}")))?;
    let mut daemon = Daemon::bind_with_state(&socket, nlq_mem::MemStack::new(), options)
        .map_err(|e| fail(format!("cannot serve on {}: {e}", socket.display())))?;
    eprintln!("nlq: serving the mem stack on {}", socket.display());
    daemon
        .run_until(stop)
        .map_err(|e| fail(format!("the event loop failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn proxy(args: &[OsString]) -> Result<ExitCode, Failure> {
    use nlq_daemon::proxy::{Policy, Proxy, ProxyOptions};
    let mut socket = None;
    let mut options = ProxyOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--socket") => socket = Some(PathBuf::from(value(&mut it, "--socket")?)),
            Some("--policy") => {
                options.policy_file = Some(PathBuf::from(value(&mut it, "--policy")?))
            }
            Some("--upstream") => {
                let v = value(&mut it, "--upstream")?;
                options.upstream = v.to_str().unwrap_or_default().parse().map_err(usage)?;
            }
            Some("--log") => options.log = Some(PathBuf::from(value(&mut it, "--log")?)),
            Some("--pcap") => options.pcap = Some(PathBuf::from(value(&mut it, "--pcap")?)),
            Some("--verbose" | "-v") => options.verbose = true,
            _ => return Err(usage(format!("unknown argument {a:?}"))),
        }
    }
    let socket = socket.ok_or_else(|| usage("proxy needs --socket PATH"))?;
    let policy_file = options
        .policy_file
        .clone()
        .ok_or_else(|| usage("proxy needs --policy FILE"))?;
    let policy =
        Policy::load(&policy_file).map_err(|e| fail(format!("{}: {e}", policy_file.display())))?;
    nlq_daemon::sys::raise_nofile_limit();
    let stop = nlq_daemon::sys::on_stop_signals().map_err(|e| fail(format!("signals: {e}")))?;
    let reload = nlq_daemon::sys::on_reload_signal().map_err(|e| fail(format!("signals: {e}")))?;
    let mut proxy = Proxy::bind(&socket, policy, options)
        .map_err(|e| fail(format!("cannot proxy on {}: {e}", socket.display())))?;
    eprintln!("nlq: proxying on {}", socket.display());
    proxy
        .run_until(stop, Some(reload))
        .map_err(|e| fail(format!("the proxy failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// The shim: `$NLQ_PRELOAD`, else `libnlq_preload.so` next to this
/// executable.
fn find_shim() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os("NLQ_PRELOAD") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(fail(format!(
                "NLQ_PRELOAD names {}, which is not a file",
                p.display()
            )));
        }
        return absolute(&p);
    }
    let exe = std::env::current_exe()
        .map_err(|e| fail(format!("cannot find the nlq executable: {e}")))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let p = dir.join("libnlq_preload.so");
    if p.is_file() {
        return absolute(&p);
    }
    Err(fail(format!(
        "cannot find the preload library: set NLQ_PRELOAD, or build it next to nlq ({} \
         does not exist; `cargo build -p nlq-preload`)",
        p.display()
    )))
}

fn absolute(p: &Path) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(p).map_err(|e| fail(format!("{}: {e}", p.display())))
}

fn exec(args: &[OsString]) -> Result<ExitCode, Failure> {
    let mut socket = None;
    let mut it = args.iter();
    let mut cmd: Vec<OsString> = Vec::new();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--socket") => socket = Some(PathBuf::from(value(&mut it, "--socket")?)),
            Some("--") => {
                cmd = it.by_ref().cloned().collect();
                break;
            }
            _ => {
                return Err(usage(format!(
                    "unknown argument {a:?} (the command goes after --)"
                )))
            }
        }
    }
    let socket = socket.ok_or_else(|| usage("exec needs --socket PATH"))?;
    let (program, program_args) = cmd
        .split_first()
        .ok_or_else(|| usage("exec needs a command after --"))?;
    // Absolute, so that the program may change directory.
    let socket = if socket.is_absolute() {
        socket
    } else {
        std::env::current_dir()
            .map_err(|e| fail(format!("current directory: {e}")))?
            .join(socket)
    };
    if let Err(e) = nlq_daemon::sys::connect_seqpacket(&socket) {
        return Err(fail(format!(
            "no nlq daemon at {} ({e}): start one with `nlq serve --socket {}`",
            socket.display(),
            socket.display()
        )));
    }
    let shim = find_shim()?;
    let mut preload = shim.into_os_string();
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|o| !o.is_empty()) {
        preload.push(":");
        preload.push(old);
    }
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(program)
        .args(program_args)
        .env("NLQ_SOCKET", &socket)
        .env("LD_PRELOAD", preload)
        .exec();
    let code = if err.kind() == io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!("nlq: cannot run {program:?}: {err}");
    Ok(ExitCode::from(code))
}

fn decode(args: &[OsString]) -> Result<ExitCode, Failure> {
    let input = match args {
        [] => {
            let mut b = Vec::new();
            io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| fail(format!("standard input: {e}")))?;
            b
        }
        [f] if f == "-" => {
            let mut b = Vec::new();
            io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| fail(format!("standard input: {e}")))?;
            b
        }
        [f] => std::fs::read(f).map_err(|e| fail(format!("{}: {e}", Path::new(f).display())))?,
        _ => return Err(usage("decode takes at most one file")),
    };
    let cap = nlq_daemon::decode::capture(&input).map_err(|e| fail(e.to_string()))?;
    let mut text = String::new();
    let sum = nlq_daemon::decode::render(&cap, &mut text);
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "{} input, {} datagrams",
        cap.format,
        cap.datagrams.len()
    );
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(fail(format!("standard output: {e}")));
        }
    }
    if sum.errors > 0 {
        eprintln!(
            "nlq: {} message(s) could not be decoded (reported above)",
            sum.errors
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
