//! Helpers for tests and benchmarks of the daemon.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A directory under [`std::env::temp_dir`], unique to the process and the
/// call, removed (with what it holds) when dropped. Its mode is 0755, so
/// that other users can reach a socket in it.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `nlq-daemon-TAG-PID-N` in the temporary directory.
    ///
    /// # Panics
    ///
    /// If the directory cannot be created (tests cannot go on without it).
    // A helper for tests and benchmarks, never on the daemon's path: a
    // test cannot go on without its directory, and says why it stopped.
    #[allow(clippy::panic)]
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("nlq-daemon-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
        TempDir { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The two rules of a proxy policy (TOML, for a policy file) that make a
/// tenant of user `uid`: a `hide` rule, `tenant-view`, by which it sees
/// only the interfaces whose names match one of the globs `shown`; and a
/// `map-table` rule, `tenant-table`, by which upstream table `table` is
/// its `main`. For the proxy's tests and benchmarks.
#[doc(hidden)]
pub fn tenant_view_rules(uid: u32, shown: &[&str], table: u32) -> String {
    let hidden: Vec<String> = shown.iter().map(|glob| format!("\"!{glob}\"")).collect();
    let hidden = hidden.join(", ");
    format!(
        r#"
[[rule]]
name = "tenant-view"
uid = [{uid}]
interfaces = [{hidden}]
action = "hide"

[[rule]]
name = "tenant-table"
uid = [{uid}]
from = "main"
to = {table}
action = "map-table"
"#
    )
}
