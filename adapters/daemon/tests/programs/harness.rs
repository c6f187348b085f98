//! Running the same shell steps on a fresh kernel namespace and on `nlq`
//! (daemon + shim), and comparing what they print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One step: a label and a shell command.
pub type Step<'a> = (&'a str, &'a str);

/// What a step printed (stdout and stderr) and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output and error, interleaved.
    pub output: String,
    /// The exit status.
    pub status: i32,
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh directory named after `name`, this process and a count:
    /// tests running at once in one process each get their own, and one
    /// that exists already (another's) is never reused.
    pub fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("nlkit-{name}-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Scratch(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("scratch dir {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to run a command in a fresh kernel network namespace: `unshare -n`
/// as root, `unshare -rn` (a user namespace) otherwise. `None` with the
/// reason when neither works; under `CI=true` that is a failure.
pub fn kernel_prefix(test: &str) -> Option<Vec<String>> {
    for args in [&["-n"][..], &["-rn"][..]] {
        let ok = Command::new("unshare")
            .args(args)
            .args(["ip", "link", "add", "nlkprobe0", "type", "bridge"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let mut v = vec!["unshare".to_string()];
            v.extend(args.iter().map(|s| s.to_string()));
            return Some(v);
        }
    }
    let why =
        "needs root, or unprivileged user namespaces, to run the same steps on a kernel namespace";
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why} (required under CI)"
    );
    eprintln!("skipping {test}: {why}");
    None
}

/// A program the test needs; `None` (skip, or fail under CI) when absent.
pub fn need_program(test: &str, program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let why = format!("`{program}` is not installed (.ci/run installs it)");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {why}"
        );
        eprintln!("skipping {test}: {why}");
    }
    ok
}

/// The directory cargo puts the workspace's binaries in (where `nlq` is).
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nlq"))
        .parent()
        .expect("nlq's directory")
        .to_path_buf()
}

/// The shim, built if it is missing (`cargo test` does not build a
/// cdylib of another package).
pub fn shim() -> PathBuf {
    let so = target_dir().join("libnlq_preload.so");
    let release = target_dir().ends_with("release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "nlq-preload"]);
    if release {
        cmd.arg("--release");
    }
    // Built once per test program, whether or not a library is there: one
    // left by an earlier build would test old code.
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let built = *BUILT.get_or_init(|| cmd.status().is_ok_and(|st| st.success()));
    assert!(built, "cargo build -p nlq-preload failed");
    assert!(so.exists(), "{} missing", so.display());
    so
}

/// A daemon serving a fresh in-memory stack, killed on drop.
pub struct Daemon {
    child: Child,
    /// Its socket.
    pub socket: PathBuf,
    /// A copy of the shim that every user can load (the clone may sit in
    /// a directory other users cannot enter).
    shim: PathBuf,
    _scratch: Scratch,
}

impl Daemon {
    /// Starts `nlq serve` on a socket in a scratch directory and waits
    /// until it accepts connections.
    pub fn start(name: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let scratch = Scratch::new(name);
        // Open to other users whatever the umask: programs run as another
        // user load the shim from here and connect to the socket here.
        std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o755))
            .expect("scratch mode");
        let shim_copy = scratch.0.join("libnlq_preload.so");
        std::fs::copy(shim(), &shim_copy).expect("copy the shim");
        std::fs::set_permissions(&shim_copy, std::fs::Permissions::from_mode(0o755))
            .expect("shim mode");
        let socket = scratch.0.join("nlq.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_nlq"))
            .args(["serve", "--socket"])
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn nlq serve");
        let deadline = Instant::now() + Duration::from_secs(10);
        // Bound is not enough: wait until it accepts.
        while nlq_daemon::client::ControlClient::connect(&socket).is_err()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(socket.exists(), "nlq serve did not create its socket");
        Daemon {
            child,
            socket,
            shim: shim_copy,
            _scratch: scratch,
        }
    }

    /// `nlq exec --socket SOCKET -- ARGS...` as a command to complete.
    pub fn exec(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_nlq"));
        c.env("NLQ_PRELOAD", &self.shim)
            .arg("exec")
            .arg("--socket")
            .arg(&self.socket)
            .arg("--")
            .args(args);
        c
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shell script that runs `steps`, each preceded by a marker line and
/// followed by one with its exit status.
fn script(steps: &[Step<'_>]) -> String {
    let mut s = String::from("exec 2>&1\n");
    for (label, cmd) in steps {
        s.push_str(&format!(
            "echo '@@@ {label}'\n{cmd}\necho \"@@@ status $?\"\n"
        ));
    }
    s
}

/// Splits a script's output by its markers.
fn outcomes(out: &str) -> BTreeMap<String, Outcome> {
    let mut map = BTreeMap::new();
    let mut label: Option<String> = None;
    let mut text = String::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("@@@ status ") {
            if let Some(l) = label.take() {
                let status = rest.trim().parse().unwrap_or(-1);
                map.insert(
                    l,
                    Outcome {
                        output: std::mem::take(&mut text),
                        status,
                    },
                );
            }
        } else if let Some(l) = line.strip_prefix("@@@ ") {
            label = Some(l.to_string());
            text.clear();
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    map
}

fn run(mut cmd: Command, steps: &[Step<'_>], cwd: &Path) -> BTreeMap<String, Outcome> {
    let out = cmd
        .arg("sh")
        .arg("-c")
        .arg(script(steps))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run the steps");
    outcomes(&String::from_utf8_lossy(&out.stdout))
}

/// Runs `steps` on a fresh kernel namespace (`prefix` from
/// [`kernel_prefix`]) and through `daemon`, in `cwd`.
pub fn both(
    prefix: &[String],
    daemon: &Daemon,
    steps: &[Step<'_>],
    cwd: &Path,
) -> (BTreeMap<String, Outcome>, BTreeMap<String, Outcome>) {
    let mut k = Command::new(&prefix[0]);
    k.args(&prefix[1..]);
    let kernel = run(k, steps, cwd);
    let nlq = run(daemon.exec(&[]), steps, cwd);
    (kernel, nlq)
}

/// Keeps, in every object of a JSON value (recursively), only the keys
/// `keep` names; drops the other keys.
pub fn project(v: &serde_json::Value, keep: &[&str]) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| project(x, keep)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), project(x, keep)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compares every step's status and its output after `normalise`; returns
/// the differences, one paragraph each.
pub fn differences(
    kernel: &BTreeMap<String, Outcome>,
    nlq: &BTreeMap<String, Outcome>,
    steps: &[Step<'_>],
    normalise: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (label, cmd) in steps {
        let (Some(k), Some(n)) = (kernel.get(*label), nlq.get(*label)) else {
            diffs.push(format!(
                "{label}: missing (kernel {}, nlq {})",
                kernel.contains_key(*label),
                nlq.contains_key(*label)
            ));
            continue;
        };
        let (kn, nn) = (normalise(label, &k.output), normalise(label, &n.output));
        if k.status != n.status || kn != nn {
            diffs.push(format!(
                "{label} (`{cmd}`):\n  kernel [{}]: {kn}\n  nlq    [{}]: {nn}",
                k.status, n.status
            ));
        }
    }
    diffs
}
