//! The store's failures. Every variant names the path or digest involved so
//! that a message read without context still says what broke.

use std::io;
use std::path::PathBuf;

use oci::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create store directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("store {root} is in use by another process; prune needs it to itself")]
    Busy { root: PathBuf },
    #[error("cannot write blob in {path}")]
    WriteBlob {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest} not found in the store")]
    BlobNotFound { digest: Digest },
    #[error("cannot read blob {digest} at {path}")]
    ReadBlob {
        digest: Digest,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot fill layer directory {path} for chain id {chain_id}")]
    FillLayer {
        chain_id: Digest,
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot create layer directory {path} for chain id {chain_id}")]
    CreateLayer {
        chain_id: Digest,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write record {path}")]
    WriteRecord {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read record {path}")]
    ReadRecord {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("record {path} is corrupt")]
    CorruptRecord {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid tag name {name:?}: must be non-empty and free of control characters")]
    InvalidTagName { name: String },
    #[error("cannot remove {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot scan {path}")]
    Scan {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
