//! `decant push`: an image from the store to a registry, blobs first and
//! the manifest last (the registry crate's order), so the registry never
//! holds a manifest whose blobs are missing.

use std::io::{self, Read};
use std::path::Path;

use oci::Digest;

use super::{
    OpsError, StoreBlobs, TransferEvent, TransferSink, open_store, parse_reference, require_local,
};

/// What a push did.
#[derive(Clone, Debug)]
pub struct PushedImage {
    /// The normalised destination.
    pub reference: String,
    pub manifest_digest: Digest,
    /// Blobs uploaded, mounted from another repository, or already there.
    pub uploaded: usize,
    pub mounted: usize,
    pub existing: usize,
}

/// Pushes the image `source` names to `dest` (default: `source` itself).
pub fn push(
    store_root: &Path,
    source: &str,
    dest: Option<&str>,
    events: TransferSink<'_>,
) -> Result<PushedImage, OpsError> {
    let target = parse_reference(dest.unwrap_or(source))?;
    let store = open_store(store_root)?;
    let image = require_local(&store, source)?;
    let client = registry::Client::from_env().map_err(OpsError::RegistryConfig)?;
    let shown = target.to_string();
    let blobs = ProgressBlobs {
        inner: StoreBlobs(&store),
        store: &store,
        events,
    };
    let report = client
        .push_image(&target, &image.manifest_bytes, &blobs)
        .map_err(|source| OpsError::Push {
            reference: shown.clone(),
            source,
        })?;
    Ok(PushedImage {
        reference: shown,
        manifest_digest: report
            .manifest_digest
            .unwrap_or_else(|| image.manifest_digest.clone()),
        uploaded: report.uploaded.len(),
        mounted: report.mounted.len(),
        existing: report.existing.len(),
    })
}

/// Store blobs whose uploads are reported as they start: the registry
/// crate opens a blob only to upload it.
struct ProgressBlobs<'a> {
    inner: StoreBlobs<'a>,
    store: &'a store::Store,
    events: TransferSink<'a>,
}

impl registry::BlobSource for ProgressBlobs<'_> {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        let reader = registry::BlobSource::open_blob(&self.inner, digest)?;
        let size = self.store.blob_size(digest).unwrap_or(0);
        (self.events)(TransferEvent::Started {
            digest: digest.clone(),
            size,
        });
        // The reader must be 'static, so bytes are not counted here: a
        // push reports each blob as it starts, and the totals at the end.
        Ok(reader)
    }
}
