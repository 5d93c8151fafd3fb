//! Image operations outside a build: `pull`, `push`, `images`, `inspect`,
//! `tag`, `rmi`, `save`, `load`, `prune`, `du` and `fsck`. Each is one pub
//! function taking the store root, so the CLI only parses and prints.
//!
//! # How an image lives in the store
//!
//! An image is its manifest and config blobs plus its layer blobs, and a tag
//! record `docker.io/library/busybox:latest` → manifest digest. Every
//! operation that adds an image writes its blobs first (each verified against
//! its digest by the store before it becomes visible) and its tag last, so a
//! process killed at any point leaves at worst unreferenced blobs or scratch
//! files — which `prune` and the next `Store::open` reclaim — and never a
//! tag naming an incomplete image.
//!
//! # Names
//!
//! Names are stored normalised the way docker does (`busybox` is
//! `docker.io/library/busybox:latest`, see [`normalize_name`]), so `FROM
//! busybox`, `decant pull busybox` and `-t busybox` agree. An image can also
//! be named by its manifest digest, its ID (the config digest, as docker
//! shows it) or a prefix of at least 12 hex digits of the ID.
//!
//! Architecture Invariant: no terminal output; progress goes out as
//! [`TransferEvent`]s and the CLI decides how to show them.

mod archive;
mod images;
mod maint;
mod pull;
mod push;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use oci::{Digest, ImageConfig, Manifest, Reference};

pub use archive::{ArchiveFormat, LoadedImage, load, save};
pub use images::{ImageSummary, InspectedImage, inspect, list_images, rmi, tag};
pub use maint::{du, fsck, prune};
pub use pull::{PulledImage, pull};
pub use push::{PushedImage, push};
pub use store::{DiskUsage, FsckReport, PruneOptions, PruneReport, StoreError, Usage};

/// Progress of blob transfers, sent from whichever thread moves the blob.
#[derive(Clone, Debug)]
pub enum TransferEvent {
    /// A reference resolved to a manifest.
    Resolved { reference: String, digest: Digest },
    /// A layer the store keeps uncompressed is being gzipped for a push.
    Compressing { digest: Digest },
    /// A blob transfer started; `size` is the descriptor's size.
    Started { digest: Digest, size: u64 },
    /// `bytes` more bytes of the blob moved.
    Progress { digest: Digest, bytes: u64 },
    /// The blob is in place; `existed` when it was already there and nothing
    /// moved.
    Finished {
        digest: Digest,
        size: u64,
        existed: bool,
    },
}

/// Where transfer events go.
pub type TransferSink<'a> = &'a (dyn Fn(TransferEvent) + Sync);

/// Why an image operation failed. Each variant names the reference, digest
/// or path involved.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("cannot open the store at {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: store::StoreError,
    },
    #[error("store operation failed for {what}")]
    StoreOp {
        what: String,
        #[source]
        source: store::StoreError,
    },
    #[error("invalid image reference {reference:?}")]
    Reference {
        reference: String,
        #[source]
        source: oci::ReferenceError,
    },
    #[error("registry configuration")]
    RegistryConfig(#[source] registry::RegistryError),
    #[error("failed to resolve image {reference}")]
    Resolve {
        reference: String,
        #[source]
        source: registry::RegistryError,
    },
    #[error("failed to fetch blob {digest} of {reference}")]
    Fetch {
        reference: String,
        digest: Digest,
        #[source]
        source: registry::RegistryError,
    },
    #[error("failed to push {reference}")]
    Push {
        reference: String,
        #[source]
        source: registry::RegistryError,
    },
    #[error("no image {reference:?} in the local store")]
    NotFound { reference: String },
    #[error("{reference:?} names {count} images in the local store")]
    Ambiguous { reference: String, count: usize },
    #[error("image {reference:?} has several names ({}); remove them one by one or force", names.join(", "))]
    SeveralNames {
        reference: String,
        names: Vec<String>,
    },
    #[error("{what} of {digest} is not valid JSON")]
    Json {
        what: &'static str,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {dest}")]
    Export {
        dest: PathBuf,
        #[source]
        source: export::ExportError,
    },
    #[error("cannot compress layer {digest} for the push")]
    CompressLayer {
        digest: Digest,
        #[source]
        source: crate::BlobWriteError,
    },
    #[error("cannot read the image archive {path}")]
    Load {
        path: PathBuf,
        #[source]
        source: export::ExportError,
    },
    #[error("cannot copy blob {digest} out of {path}")]
    LoadBlob {
        path: PathBuf,
        digest: Digest,
        #[source]
        source: store::StoreError,
    },
}

pub(crate) fn open_store(root: &Path) -> Result<store::Store, OpsError> {
    store::Store::open(root).map_err(|source| OpsError::Store {
        path: root.to_path_buf(),
        source,
    })
}

fn store_op(what: impl Into<String>) -> impl FnOnce(store::StoreError) -> OpsError {
    let what = what.into();
    move |source| OpsError::StoreOp { what, source }
}

fn parse_reference(text: &str) -> Result<Reference, OpsError> {
    Reference::parse(text).map_err(|source| OpsError::Reference {
        reference: text.to_string(),
        source,
    })
}

/// The name an image is stored under: docker's normalised form
/// (`busybox` → `docker.io/library/busybox:latest`); text that is not a
/// valid reference is kept as written, so a store may still hold it.
pub fn normalize_name(text: &str) -> String {
    Reference::parse(text)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| text.to_string())
}

/// An image found in the local store, read back in full.
#[derive(Clone, Debug)]
pub struct LocalImage {
    /// The tag it was found by, if any.
    pub name: Option<String>,
    pub manifest_digest: Digest,
    pub manifest_bytes: Vec<u8>,
    pub manifest: Manifest,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfig,
}

impl LocalImage {
    /// Reads the manifest `digest` and its config from the store.
    pub(crate) fn read(
        store: &store::Store,
        name: Option<String>,
        digest: &Digest,
    ) -> Result<LocalImage, OpsError> {
        let manifest_bytes = store
            .read_blob(digest)
            .map_err(store_op(format!("manifest {digest}")))?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|source| OpsError::Json {
                what: "manifest",
                digest: digest.clone(),
                source,
            })?;
        let config_digest = &manifest.config.digest;
        let config_bytes = store
            .read_blob(config_digest)
            .map_err(store_op(format!("config {config_digest}")))?;
        let config: ImageConfig =
            serde_json::from_slice(&config_bytes).map_err(|source| OpsError::Json {
                what: "image config",
                digest: config_digest.clone(),
                source,
            })?;
        Ok(LocalImage {
            name,
            manifest_digest: digest.clone(),
            manifest_bytes,
            manifest,
            config_bytes,
            config,
        })
    }

    /// Whether every layer blob is in the store.
    pub fn is_complete(&self, store: &store::Store) -> bool {
        self.manifest
            .layers
            .iter()
            .all(|layer| store.has_blob(&layer.digest))
    }
}

/// Finds the image `text` names in the store: a tag (normalised, then as
/// written), `name@sha256:…` or a manifest digest whose blob is present, or
/// an image ID (config digest, or 12+ hex digits of it) of a tagged image.
pub fn find_local(store: &store::Store, text: &str) -> Result<Option<LocalImage>, OpsError> {
    let normalized = normalize_name(text);
    for name in [&normalized, &text.to_string()] {
        if let Some(digest) = store
            .resolve_tag(name)
            .map_err(store_op(format!("tag {name}")))?
        {
            return LocalImage::read(store, Some(name.clone()), &digest).map(Some);
        }
    }
    if let Ok(reference) = Reference::parse(text)
        && let Some(digest) = &reference.digest
    {
        if store.has_blob(digest) {
            return LocalImage::read(store, None, digest).map(Some);
        }
        return Ok(None);
    }
    let id = text.strip_prefix("sha256:").unwrap_or(text);
    if id.len() < 12 || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let id = id.to_ascii_lowercase();
    let mut found: Vec<LocalImage> = Vec::new();
    for record in store.tags().map_err(store_op("the tag list"))? {
        if !store.has_blob(&record.manifest) {
            continue;
        }
        let image = LocalImage::read(store, Some(record.name.clone()), &record.manifest)?;
        let matches = image.manifest_digest.hex() == id
            || image.manifest.config.digest.hex().starts_with(&id);
        if matches
            && !found
                .iter()
                .any(|f| f.manifest_digest == image.manifest_digest)
        {
            found.push(image);
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        count => Err(OpsError::Ambiguous {
            reference: text.to_string(),
            count,
        }),
    }
}

/// Like [`find_local`], but a missing image is an error.
pub(crate) fn require_local(store: &store::Store, text: &str) -> Result<LocalImage, OpsError> {
    find_local(store, text)?.ok_or_else(|| OpsError::NotFound {
        reference: text.to_string(),
    })
}

/// Serves blob reads from the store, for export and push.
pub(crate) struct StoreBlobs<'a>(pub &'a store::Store);

impl export::BlobSource for StoreBlobs<'_> {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(std::fs::File::open(self.0.blob_path(digest))?))
    }
}

impl registry::BlobSource for StoreBlobs<'_> {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::fs::File::open(self.0.blob_path(digest))?))
    }
}
