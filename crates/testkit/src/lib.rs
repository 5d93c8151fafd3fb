//! Test helpers shared by decant's crates. Dev-only: other crates use it as
//! a dev-dependency, and nothing in a shipped binary links it.
//!
//! * [`require!`] and [`requirement`]: tests that need root, a command, a
//!   path or overlayfs declare it. When a requirement is missing the test
//!   prints a loud `SKIP: <test>: <why>` and returns, except when `CI=true`,
//!   where it panics: CI provides everything, so a skip there would hide a
//!   broken setup.
//! * [`Registry`]: Debian's `docker-registry` on 127.0.0.1 at a free port,
//!   with temp storage and optional htpasswd Basic auth, killed on drop;
//!   [`push_layout`] puts an OCI layout into it with skopeo.
//! * [`busybox_layout`]: a small deterministic OCI image built from Debian's
//!   busybox-static, the same shape as the conformance suite's busybox.
//! * [`Dir`] and [`TestCommand`]: run the `decant` binary in a temp dir with
//!   a private store root, in the spirit of ripgrep's `tests/util.rs`.
//!
//! Helpers panic with a message that says what failed instead of returning
//! errors: a failing helper is a failing test, and `.unwrap()` at every call
//! site would only lose the context. Check requirements with [`require!`]
//! first, so a missing tool skips (or fails in CI) with a clear reason.
//!
//! Architecture Invariant: testkit knows nothing of decant's crates beyond
//! the `oci` vocabulary; it drives tools and the `decant` binary from the
//! outside, so tests built on it check what users see, and it stays an
//! independent oracle for the crates that write images.

pub mod busybox;
pub mod cli;
pub mod registry;
pub mod requirement;

pub use busybox::{BusyboxImage, busybox_layout};
pub use cli::{Dir, TestCommand, output_text};
pub use registry::{Registry, push_layout};

use std::path::{Path, PathBuf};

/// The project's `shared/` directory (conformance suite, bench scenarios):
/// `$DECANT_SHARED_DIR` if set, else the nearest ancestor of `manifest_dir`
/// (pass `env!("CARGO_MANIFEST_DIR")`) that holds `shared/conformance`. In CI
/// it is a sibling of the checkout; in a worktree it may sit higher up.
pub fn shared_dir(manifest_dir: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DECANT_SHARED_DIR") {
        return Some(PathBuf::from(dir));
    }
    Path::new(manifest_dir)
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|s| s.join("conformance").is_dir())
}

/// Runs `cmd`, panicking with its output unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
