//! Errors of the snapshot crate: each names the path it failed on.

use std::io;
use std::path::PathBuf;

/// Why a snapshot could not be prepared or committed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{SNAPSHOTTER}={value:?} is not a snapshotter (expected overlay or copy)", SNAPSHOTTER = crate::SNAPSHOTTER_ENV)]
    UnknownDriver { value: String },
    #[error("cannot create {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("work dir {path} is not empty")]
    WorkNotEmpty { path: PathBuf },
    #[error("cannot mount overlayfs on {target}")]
    Mount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "overlayfs mount options for {lowers} lower dirs do not fit in a page even with short links"
    )]
    TooManyLowers { lowers: usize },
    #[error("cannot unmount {target}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot copy {path} into the snapshot")]
    CopyLower {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path} while computing the diff")]
    Scan {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path} into the diff dir")]
    WriteDiff {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("snapshot at {root} was already committed")]
    AlreadyCommitted { root: PathBuf },
}
