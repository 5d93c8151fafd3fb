//! Pushing images (filled in below).

use std::io::Read;

use oci::{Digest, Reference};

/// Where push reads blobs from (the store, an OCI layout, memory).
pub trait BlobSource: Sync {
    fn open_blob(&self, digest: &Digest) -> std::io::Result<Box<dyn Read + Send>>;
    /// A repository on the same registry that already holds `digest`, to
    /// mount from instead of uploading.
    fn mount_source(&self, _digest: &Digest) -> Option<Reference> {
        None
    }
}

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    pub manifest_digest: Option<Digest>,
    pub uploaded: Vec<Digest>,
    pub mounted: Vec<Digest>,
    pub existing: Vec<Digest>,
}
