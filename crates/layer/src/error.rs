//! The one error type of the crate: every variant names the entry or path it
//! is about, so a failed build says which file of which layer broke.

use std::io;
use std::path::PathBuf;

/// Why a layer could not be written or applied.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot read {path} in the diff dir")]
    ReadDiff {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} changed size while it was archived (expected {expected} bytes, read {actual})")]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("cannot write the layer stream")]
    WriteLayer {
        #[source]
        source: io::Error,
    },
    #[error("cannot start the {codec} compressor")]
    StartCompressor {
        codec: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("gzip compression failed")]
    Gzip {
        #[source]
        source: gzp::GzpError,
    },
    #[error("cannot read the layer stream")]
    ReadLayer {
        #[source]
        source: io::Error,
    },
    #[error("layer expands to more than {limit} bytes (decompression bomb or a limit set too low)")]
    TooLarge { limit: u64 },
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("tar entry {name:?} escapes the root with '..'")]
    EscapesRoot { name: String },
    #[error("tar entry {name:?} is a hardlink to {target:?}, which escapes the root")]
    HardlinkEscapesRoot { name: String, target: String },
    #[error("tar entry {name:?} is a hardlink without a target")]
    HardlinkWithoutTarget { name: String },
    #[error("tar entry {name:?} would replace the root directory with a non-directory")]
    ReplacesRoot { name: String },
    #[error("tar entry {name:?} is an invalid whiteout")]
    InvalidWhiteout { name: String },
    #[error("tar entry {name:?} has unsupported type {kind:?}")]
    UnsupportedEntry { name: String, kind: char },
    #[error("tar entry {name:?} has an invalid pax record {key:?}")]
    InvalidPax { name: String, key: String },
    #[error("root {path} cannot be opened")]
    OpenRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot apply tar entry {name:?}")]
    ApplyEntry {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot link tar entry {name:?} to {target:?}")]
    Hardlink {
        name: String,
        target: String,
        #[source]
        source: io::Error,
    },
}
