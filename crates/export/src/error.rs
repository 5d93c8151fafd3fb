//! The one error type of the crate: every variant names the file, blob or
//! reference it is about.

use std::io;
use std::path::PathBuf;

use oci::Digest;

/// Why an export or an archive read failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot create a temp file in {dir}")]
    CreateTemp {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot rename the finished export onto {path}")]
    Persist {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open blob {digest}")]
    OpenBlob {
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("cannot read blob {digest}")]
    ReadBlob {
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("blob {expected} has content with digest {actual}")]
    BlobDigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest} is {actual} bytes, its descriptor says {expected}")]
    BlobSizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("the manifest bytes do not parse as an image manifest")]
    ManifestBytes {
        #[source]
        source: serde_json::Error,
    },
    #[error("the manifest bytes describe a different manifest than the one given")]
    ManifestDiffers,
    #[error("cannot serialise {what}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid image name {name:?}")]
    InvalidName {
        name: String,
        #[source]
        source: oci::ReferenceError,
    },
    #[error("image name {name:?} has a digest; only name:tag can name an exported image")]
    NameWithDigest { name: String },
    #[error("{path} exists and is not an OCI image layout (no oci-layout file)")]
    NotALayout { path: PathBuf },
    #[error("{path} is neither an OCI image layout nor a docker-archive")]
    UnknownArchive { path: PathBuf },
    #[error("{archive}: missing {name}")]
    MissingEntry { archive: PathBuf, name: String },
    #[error("{archive}: entry name {name:?} leaves the archive")]
    UnsafeEntryName { archive: PathBuf, name: String },
    #[error("{archive}: link {name:?} does not resolve to a file")]
    BadLink { archive: PathBuf, name: String },
    #[error("{archive}: {name} is not valid JSON of the expected shape")]
    BadJson {
        archive: PathBuf,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{archive}: manifest.json lists {count} images; decant loads one at a time")]
    DockerArchiveImages { archive: PathBuf, count: usize },
    #[error("{archive}: image indexes nest more than {limit} deep")]
    IndexTooDeep { archive: PathBuf, limit: usize },
    #[error("{archive}: {name} is larger than {limit} bytes, too large for its kind")]
    EntryTooLarge {
        archive: PathBuf,
        name: String,
        limit: u64,
    },
    #[error("cannot read tar archive {archive}")]
    ReadTar {
        archive: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{archive} holds no image manifest")]
    NoImage { archive: PathBuf },
    #[error("{archive} holds {count} images and none or several match platform {platform}")]
    AmbiguousImage {
        archive: PathBuf,
        count: usize,
        platform: String,
    },
    #[error("cannot walk {path}")]
    Walk {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
