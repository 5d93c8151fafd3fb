//! Root filesystems for build steps: overlayfs over a chain of unpacked layers
//! with a fresh upper dir, or a copy plus tree diff where overlayfs is
//! unavailable; committing yields the change set of the step.
//!
//! Both drivers speak one format at both ends. Lower dirs are unpacked layers
//! in *overlay-upper format* (whiteouts are char devices 0:0, opaque dirs
//! carry `trusted.overlay.opaque=y`, or `user.overlay.opaque=y` rootless), as
//! `layer::apply_layer(.., ApplyMode::Overlay, ..)` writes them. The diff dir
//! that [`Prepared::commit`] returns is in the same format, so the layer
//! writer never needs to know which driver ran:
//!
//! - [`Driver::Overlay`] mounts overlayfs; its upper dir *is* the diff.
//! - [`Driver::Copy`] copies the lowers into a plain dir (reflink or
//!   `copy_file_range` where the filesystem allows), records a baseline of
//!   every inode's identity and change time, and on commit compares the tree
//!   against it, writing changed nodes and whiteouts into a diff dir.
//!
//! [`Driver::detect`] picks overlayfs when a test mount works, and the
//! `DECANT_SNAPSHOTTER=overlay|copy` environment variable forces a driver.
//!
//! Architecture Invariant: knows nothing of tar or cache keys.

mod copy;
mod error;
mod nodes;
mod overlay;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::SnapshotError;

/// The environment variable that forces a driver (`overlay` or `copy`).
pub const SNAPSHOTTER_ENV: &str = "DECANT_SNAPSHOTTER";

/// How a root filesystem is assembled from lower dirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// overlayfs: fast, needs root or a user namespace with overlay support.
    Overlay,
    /// A full copy and a tree diff: works everywhere.
    Copy,
}

impl Driver {
    /// `DECANT_SNAPSHOTTER` if set, else overlayfs if a test mount in the
    /// system temp dir works, else the copy driver. Probed once per process.
    pub fn detect() -> Result<Driver, SnapshotError> {
        static PROBED: OnceLock<Driver> = OnceLock::new();
        if let Some(forced) = Driver::from_env()? {
            return Ok(forced);
        }
        Ok(*PROBED.get_or_init(|| Driver::probe(&std::env::temp_dir())))
    }

    /// Like [`Driver::detect`], probing in `dir` (the filesystem the
    /// snapshots will live on, since overlayfs cannot use every upper fs).
    pub fn detect_in(dir: &Path) -> Result<Driver, SnapshotError> {
        if let Some(forced) = Driver::from_env()? {
            return Ok(forced);
        }
        Ok(Driver::probe(dir))
    }

    /// The driver forced by `DECANT_SNAPSHOTTER`, if any.
    pub fn from_env() -> Result<Option<Driver>, SnapshotError> {
        match std::env::var(SNAPSHOTTER_ENV) {
            Ok(value) => Driver::parse(&value),
            Err(_) => Ok(None),
        }
    }

    /// Parses a `DECANT_SNAPSHOTTER` value; empty means "detect".
    pub fn parse(value: &str) -> Result<Option<Driver>, SnapshotError> {
        match value {
            "overlay" | "overlayfs" => Ok(Some(Driver::Overlay)),
            "copy" | "native" => Ok(Some(Driver::Copy)),
            "" => Ok(None),
            _ => Err(SnapshotError::UnknownDriver {
                value: value.to_string(),
            }),
        }
    }

    fn probe(dir: &Path) -> Driver {
        if overlay::works_in(dir) {
            Driver::Overlay
        } else {
            Driver::Copy
        }
    }
}

/// A prepared root filesystem. Dropping it without [`Prepared::commit`]
/// unmounts it (overlay) and leaves the work dir for the caller to delete.
#[derive(Debug)]
pub struct Prepared {
    /// The merged view a step runs in.
    pub root: PathBuf,
    state: State,
}

#[derive(Debug)]
enum State {
    Overlay(overlay::Mounted),
    Copy(copy::Baseline),
    Done,
}

/// Prepares `work/merged` as the union of `lowers` (bottom first), with a
/// fresh change set. `work` must be empty or absent and is owned by the
/// snapshot until commit.
pub fn prepare(driver: Driver, lowers: &[PathBuf], work: &Path) -> Result<Prepared, SnapshotError> {
    match driver {
        Driver::Overlay => {
            let mounted = overlay::mount(lowers, work)?;
            Ok(Prepared {
                root: mounted.merged.clone(),
                state: State::Overlay(mounted),
            })
        }
        Driver::Copy => {
            let baseline = copy::prepare(lowers, work)?;
            Ok(Prepared {
                root: baseline.merged.clone(),
                state: State::Copy(baseline),
            })
        }
    }
}

impl Prepared {
    /// Ends the step: returns the diff dir (overlay-upper format) holding
    /// exactly what changed in [`Prepared::root`].
    pub fn commit(mut self) -> Result<PathBuf, SnapshotError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Overlay(mounted) => mounted.unmount(),
            State::Copy(baseline) => baseline.commit(),
            State::Done => Err(SnapshotError::AlreadyCommitted {
                root: self.root.clone(),
            }),
        }
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let State::Overlay(mounted) = std::mem::replace(&mut self.state, State::Done) {
            // Nothing to report to from Drop; a busy mount is detached lazily.
            let _ = mounted.unmount();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snapshotter_values() {
        let cases: &[(&str, Option<Option<Driver>>)] = &[
            ("overlay", Some(Some(Driver::Overlay))),
            ("overlayfs", Some(Some(Driver::Overlay))),
            ("copy", Some(Some(Driver::Copy))),
            ("native", Some(Some(Driver::Copy))),
            ("", Some(None)),
            ("btrfs", None),
        ];
        for (value, want) in cases {
            assert_eq!(Driver::parse(value).ok(), *want, "{value:?}");
        }
    }
}
