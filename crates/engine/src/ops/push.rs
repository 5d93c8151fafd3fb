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
    let (manifest_bytes, manifest_digest) = compressed_layers(&store, &image, events)?;
    let client = registry::Client::from_env().map_err(OpsError::RegistryConfig)?;
    let shown = target.to_string();
    let blobs = ProgressBlobs {
        inner: StoreBlobs(&store),
        store: &store,
        events,
    };
    let report = client
        .push_image(&target, &manifest_bytes, &blobs)
        .map_err(|source| OpsError::Push {
            reference: shown.clone(),
            source,
        })?;
    Ok(PushedImage {
        reference: shown,
        manifest_digest: report.manifest_digest.unwrap_or(manifest_digest),
        uploaded: report.uploaded.len(),
        mounted: report.mounted.len(),
        existing: report.existing.len(),
    })
}

/// The manifest to push: the stored one, or, when the store keeps some of
/// its layers uncompressed (an image built with only `-t`), a copy whose
/// layers are all gzip, as `docker push` compresses what its store keeps
/// uncompressed. The gzip blobs are made once and found again through the
/// blob index; the config, and so the image ID, is the same.
fn compressed_layers(
    store: &store::Store,
    image: &super::LocalImage,
    events: TransferSink<'_>,
) -> Result<(Vec<u8>, Digest), OpsError> {
    let uncompressed = |descriptor: &oci::Descriptor| {
        oci::MediaType::is_uncompressed_layer(&descriptor.media_type)
    };
    if !image.manifest.layers.iter().any(uncompressed) {
        return Ok((image.manifest_bytes.clone(), image.manifest_digest.clone()));
    }
    let gzip = layer::Compression::Gzip;
    let mut manifest = image.manifest.clone();
    for descriptor in manifest.layers.iter_mut().filter(|d| uncompressed(d)) {
        // An uncompressed layer's digest is its diffID (OCI image spec).
        let diff_id = oci::DiffId(descriptor.digest.clone());
        let compressed = match crate::layers::indexed_blob(store, &diff_id, gzip) {
            Some(found) => found,
            None => {
                (events)(TransferEvent::Compressing {
                    digest: descriptor.digest.clone(),
                });
                gzip_blob(store, &diff_id)?
            }
        };
        let media_type =
            if image.manifest.media_type.as_deref() == Some(oci::MediaType::DOCKER_MANIFEST) {
                oci::MediaType::DOCKER_LAYER_GZIP
            } else {
                oci::MediaType::OCI_LAYER_GZIP
            };
        *descriptor = oci::Descriptor {
            media_type: media_type.to_string(),
            ..compressed
        };
    }
    let bytes = serde_json::to_vec(&manifest).map_err(|source| OpsError::Json {
        what: "manifest",
        digest: image.manifest_digest.clone(),
        source,
    })?;
    let digest = store
        .put_bytes(&bytes)
        .map_err(|source| OpsError::StoreOp {
            what: format!("compressed manifest of {}", image.manifest_digest),
            source,
        })?;
    Ok((bytes, digest))
}

/// Gzips the uncompressed layer blob `diff_id` into the store and indexes
/// the result.
fn gzip_blob(store: &store::Store, diff_id: &oci::DiffId) -> Result<oci::Descriptor, OpsError> {
    let options = layer::WriteOptions {
        compression: layer::Compression::Gzip,
        ..Default::default()
    };
    let path = store.blob_path(&diff_id.0);
    crate::layers::write_indexed_blob(store, diff_id, options.compression, &mut |out| {
        crate::layers::compress_stored_tar(&path, out, &options)
    })
    .map_err(|source| OpsError::CompressLayer {
        digest: diff_id.0.clone(),
        source,
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
