//! Test helpers shared by decant's crates. Dev-only: other crates use it as
//! a dev-dependency, and nothing in a shipped binary links it.
//!
//! * [`require!`] and [`requirement`]: tests that need root, a command, a
//!   path or overlayfs declare it. When a requirement is missing the test
//!   prints a loud `SKIP: <test>: <why>` and returns, except when `CI=true`,
//!   where it panics: CI provides everything, so a skip there would hide a
//!   broken setup.
//!
//! Architecture Invariant: testkit knows nothing of decant's crates beyond
//! the `oci` vocabulary; it drives tools and the `decant` binary from the
//! outside, so tests built on it test what users see.

pub mod requirement;

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
