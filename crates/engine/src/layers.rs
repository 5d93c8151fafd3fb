//! Base images and layer directories: resolving `FROM`/`--from` images in a
//! registry (once per build), and making sure every layer a step needs is
//! unpacked in the store, fetching its blob first if needed.
//!
//! Layers are fetched lazily: a base image is *resolved* (manifest and
//! config) when the planner asks, but its blobs are only downloaded when a
//! step needs its root filesystem or an output needs the blob.
//!
//! Layers a step makes are compressed lazily too. A step's commit records
//! only the diffID (one sha256 pass over the deterministic tar) and keeps the
//! diff as the layer's unpacked directory; [`Images::blob`] writes the
//! compressed blob when an image manifest needs it, and the store's blob
//! index (`diffID + compression -> descriptor`) remembers it, so a layer is
//! compressed at most once per compression. A build stage's layers, which
//! no exported image contains, are never compressed at all. BuildKit does
//! the same: its snapshots are uncompressed and blobs are made on export.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use oci::{Descriptor, DiffId, Digest, MediaType, Platform, Reference};
use sha2::{Digest as _, Sha256};

use crate::error::BuildError;
use crate::events::{Event, EventSink};

/// One layer of an image or of a stage being built.
#[derive(Clone, Debug)]
pub(crate) struct LayerRef {
    /// A blob that holds this layer, if one is known: always for an image's
    /// layers; for a layer a step made, only once it has been compressed.
    pub descriptor: Option<Descriptor>,
    pub diff_id: DiffId,
    /// The OCI chain ID of this layer and every layer below it: the key of
    /// its unpacked directory in the store.
    pub chain_id: Digest,
    /// Where the blob can be fetched from when the store lacks it.
    pub source: Option<Arc<registry::ResolvedImage>>,
}

/// The OCI chain ID: `ChainID(L0) = DiffID(L0)`,
/// `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))` (image spec,
/// config.md "Layer ChainID").
pub(crate) fn chain_id(parent: Option<&Digest>, diff_id: &DiffId) -> Digest {
    match parent {
        None => diff_id.0.clone(),
        Some(parent) => {
            let out: [u8; 32] = Sha256::digest(format!("{parent} {diff_id}").as_bytes()).into();
            Digest::from_sha256_bytes(out)
        }
    }
}

/// Layer media types as an OCI manifest names them. Registries often serve
/// Docker schema 2 types; the bytes are the same, so an OCI image we write
/// names them with the OCI equivalent, as BuildKit's OCI exporter does.
pub(crate) fn oci_layer_media_type(media_type: &str) -> String {
    match media_type {
        MediaType::DOCKER_LAYER_GZIP | MediaType::DOCKER_LAYER_FOREIGN_GZIP => {
            MediaType::OCI_LAYER_GZIP.to_string()
        }
        MediaType::DOCKER_LAYER_TAR => MediaType::OCI_LAYER_TAR.to_string(),
        other => other.to_string(),
    }
}

/// Resolves images and unpacks layers for one build.
pub(crate) struct Images<'a> {
    store: &'a store::Store,
    platform: Platform,
    events: EventSink<'a>,
    client: OnceLock<registry::Client>,
    resolved: Mutex<HashMap<String, Arc<registry::ResolvedImage>>>,
    /// One lock per blob being fetched, so that stages sharing a base image
    /// download each layer once instead of racing to fetch it twice.
    fetching: Mutex<HashMap<Digest, Arc<Mutex<()>>>>,
    /// Whether an image already in the store by name wins over the registry.
    local_first: bool,
}

impl<'a> Images<'a> {
    pub fn new(store: &'a store::Store, platform: Platform, events: EventSink<'a>) -> Images<'a> {
        Images {
            store,
            platform,
            events,
            client: OnceLock::new(),
            resolved: Mutex::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
            local_first: false,
        }
    }

    /// Docker's behaviour for `FROM name` and `COPY --from=name`: an image
    /// the store has under that name (built with `-t`, pulled or loaded) is
    /// used without asking a registry. `decant build --pull` turns this off.
    pub fn local_first(mut self, yes: bool) -> Images<'a> {
        self.local_first = yes;
        self
    }

    /// The complete image the store holds under `reference` (its tag, or its
    /// manifest digest), when it is for our platform; otherwise the caller
    /// goes to the registry. Its blobs are all present, so the endpoint in
    /// the result is never used to fetch.
    fn resolve_local(&self, reference: &Reference) -> Option<registry::ResolvedImage> {
        let by_tag = self
            .store
            .resolve_tag(&reference.to_string())
            .ok()
            .flatten();
        let digest = by_tag.or_else(|| {
            reference
                .digest
                .clone()
                .filter(|digest| self.store.has_blob(digest))
        })?;
        let image =
            crate::ops::LocalImage::read(self.store, Some(reference.to_string()), &digest).ok()?;
        let platform_ok = image.config.os == self.platform.os
            && image.config.architecture == self.platform.architecture;
        if !platform_ok || !image.is_complete(self.store) {
            return None;
        }
        Some(registry::ResolvedImage {
            reference: reference.clone(),
            manifest_digest: image.manifest_digest,
            manifest_media_type: image
                .manifest
                .media_type
                .clone()
                .unwrap_or_else(|| MediaType::OCI_MANIFEST.to_string()),
            manifest: image.manifest,
            manifest_bytes: image.manifest_bytes,
            index_digest: None,
            config: image.config,
            config_bytes: image.config_bytes,
            source: registry::Endpoint {
                host: reference.registry.clone(),
                repository: reference.repository.clone(),
                insecure: false,
                mirror: false,
            },
        })
    }

    fn client(&self) -> Result<&registry::Client, BuildError> {
        // The registry configuration is read once, and only when a build
        // actually needs a registry: a FROM-scratch build works with a
        // broken or missing registries.conf.
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = registry::Client::from_env().map_err(BuildError::RegistryConfig)?;
        Ok(self.client.get_or_init(|| client))
    }

    /// Resolves `text` (as written after `FROM` or `--from`) once per build.
    pub fn resolve(&self, text: &str) -> Result<Arc<registry::ResolvedImage>, BuildError> {
        if let Some(found) = self.lock().get(text) {
            return Ok(found.clone());
        }
        if text.starts_with(crate::oci_layout::PREFIX) {
            let resolved =
                crate::oci_layout::resolve(self.store, text, &self.platform).map_err(|source| {
                    BuildError::OciLayout {
                        spec: text.to_string(),
                        source,
                    }
                })?;
            let resolved = Arc::new(resolved);
            self.lock().insert(text.to_string(), resolved.clone());
            return Ok(resolved);
        }
        let reference = Reference::parse(text).map_err(|source| BuildError::Reference {
            reference: text.to_string(),
            source,
        })?;
        if self.local_first
            && let Some(local) = self.resolve_local(&reference)
        {
            (self.events)(Event::Resolving {
                reference: format!("{reference} (local store)"),
            });
            let local = Arc::new(local);
            self.lock().insert(text.to_string(), local.clone());
            return Ok(local);
        }
        (self.events)(Event::Resolving {
            reference: reference.to_string(),
        });
        let resolved = self
            .client()?
            .resolve(&reference, &self.platform)
            .map_err(|source| BuildError::Resolve {
                reference: reference.to_string(),
                source,
            })?;
        let resolved = Arc::new(resolved);
        self.lock().insert(text.to_string(), resolved.clone());
        Ok(resolved)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<registry::ResolvedImage>>> {
        self.resolved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The layers of a resolved image, bottom first.
    pub fn image_layers(image: &Arc<registry::ResolvedImage>) -> Vec<LayerRef> {
        let mut layers = Vec::new();
        let mut parent: Option<Digest> = None;
        for (descriptor, diff_id) in image
            .manifest
            .layers
            .iter()
            .zip(&image.config.rootfs.diff_ids)
        {
            let chain = chain_id(parent.as_ref(), diff_id);
            parent = Some(chain.clone());
            layers.push(LayerRef {
                descriptor: Some(descriptor.clone()),
                diff_id: diff_id.clone(),
                chain_id: chain,
                source: Some(image.clone()),
            });
        }
        layers
    }

    /// Makes sure the blob `descriptor` of `layer` is in the store, fetching
    /// it from the layer's image if needed.
    fn ensure_blob(&self, layer: &LayerRef, descriptor: &Descriptor) -> Result<(), BuildError> {
        if self.store.has_blob(&descriptor.digest) {
            return Ok(());
        }
        let Some(image) = &layer.source else {
            return Err(BuildError::MissingLayer {
                digest: descriptor.digest.clone(),
            });
        };
        let slot = self
            .fetching
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(descriptor.digest.clone())
            .or_default()
            .clone();
        let _fetching = slot.lock().unwrap_or_else(|p| p.into_inner());
        if self.store.has_blob(&descriptor.digest) {
            return Ok(());
        }
        (self.events)(Event::Pulling {
            reference: image.reference.to_string(),
            digest: descriptor.digest.clone(),
            size: descriptor.size,
        });
        let client = self.client()?;
        let mut fetch_error = None;
        let written = self.store.write_blob(Some(&descriptor.digest), &mut |out| {
            client.fetch_blob(image, descriptor, out).map_err(|e| {
                let message = e.to_string();
                fetch_error = Some(e);
                std::io::Error::other(message)
            })
        });
        match (written, fetch_error) {
            (Ok(_), _) => Ok(()),
            (Err(_), Some(source)) => Err(BuildError::FetchLayer {
                reference: image.reference.to_string(),
                digest: descriptor.digest.clone(),
                source,
            }),
            (Err(source), None) => Err(BuildError::StoreOp {
                what: format!("blob {}", descriptor.digest),
                source,
            }),
        }
    }

    /// The unpacked directory (overlay lower-dir format) of `layer`.
    pub fn layer_dir(&self, layer: &LayerRef) -> Result<PathBuf, BuildError> {
        if let Some(dir) = self.store.layer_dir(&layer.chain_id) {
            return Ok(dir);
        }
        // A step's layer that was never compressed lives only in its dir.
        let Some(descriptor) = &layer.descriptor else {
            return Err(BuildError::MissingLayerDir {
                diff_id: layer.diff_id.clone(),
                chain_id: layer.chain_id.clone(),
            });
        };
        self.ensure_blob(layer, descriptor)?;
        let mut blob = Some(self.store.open_blob(&descriptor.digest).map_err(|source| {
            BuildError::StoreOp {
                what: format!("blob {}", descriptor.digest),
                source,
            }
        })?);
        let mut unpack_error = None;
        let dir = self.store.create_layer_dir(&layer.chain_id, &mut |target| {
            // The store calls this once; a second call would find the blob
            // already consumed, which the store reports as a failed fill.
            let Some(mut file) = blob.take() else {
                return Err("layer blob already consumed".into());
            };
            let result = layer::apply_layer(
                &mut file,
                target,
                layer::ApplyMode::Overlay,
                &layer::ApplyLimits::default(),
            );
            match result {
                Ok(diff_id) if diff_id == layer.diff_id => Ok(()),
                Ok(actual) => {
                    let message = format!("diff id {actual} does not match {}", layer.diff_id);
                    unpack_error = Some(BuildError::DiffIdMismatch {
                        digest: descriptor.digest.clone(),
                        expected: layer.diff_id.clone(),
                        actual,
                    });
                    Err(message.into())
                }
                Err(source) => {
                    let message = source.to_string();
                    unpack_error = Some(BuildError::Unpack {
                        digest: descriptor.digest.clone(),
                        source,
                    });
                    Err(message.into())
                }
            }
        });
        match (dir, unpack_error) {
            (Ok(dir), _) => Ok(dir),
            (Err(_), Some(error)) => Err(error),
            (Err(source), None) => Err(BuildError::StoreOp {
                what: format!("layer {}", layer.chain_id),
                source,
            }),
        }
    }

    /// The blob of `layer` for an image manifest, in the store: an image's
    /// own blob (fetched if needed), or for a layer a step made, the blob
    /// in `options.compression` from the blob index, else written now from
    /// the layer's directory. The tar written now must hash to the diffID
    /// the step recorded; a mismatch means the directory changed after the
    /// commit, and no image is made from it. A base layer the store holds
    /// uncompressed (an image built with only `-t`) is compressed from its
    /// blob when the output wants compression, as docker compresses its
    /// store's layers on export.
    pub fn blob(
        &self,
        layer: &LayerRef,
        options: &layer::WriteOptions,
    ) -> Result<Descriptor, BuildError> {
        let mut uncompressed_base = None;
        if layer.source.is_some()
            && let Some(descriptor) = &layer.descriptor
        {
            self.ensure_blob(layer, descriptor)?;
            if !MediaType::is_uncompressed_layer(&descriptor.media_type)
                || options.compression == layer::Compression::Uncompressed
            {
                return Ok(descriptor.clone());
            }
            uncompressed_base = Some(self.store.blob_path(&descriptor.digest));
        }
        if let Some(descriptor) = self.indexed_blob(&layer.diff_id, options.compression) {
            return Ok(descriptor);
        }
        if let Some(descriptor) = &layer.descriptor
            && descriptor.media_type == options.compression.media_type()
            && self.store.has_blob(&descriptor.digest)
        {
            return Ok(descriptor.clone());
        }
        // A base layer is encoded from its blob, a step's layer from its
        // directory (which `layer_dir` may first have to unpack).
        let encoded_from = match uncompressed_base {
            Some(path) => EncodedFrom::Blob(path),
            None => EncodedFrom::Dir(self.layer_dir(layer)?),
        };
        (self.events)(Event::Compressing {
            diff_id: layer.diff_id.clone(),
            compression: options.compression.name(),
        });
        let written = write_indexed_blob(
            self.store,
            &layer.diff_id,
            options.compression,
            &mut |out| match &encoded_from {
                EncodedFrom::Blob(path) => compress_stored_tar(path, out, options),
                EncodedFrom::Dir(dir) => layer::write_layer(dir, out, options),
            },
        );
        written.map_err(|error| match error {
            BlobWriteError::Mismatch { actual, .. } => BuildError::LayerDirChanged {
                chain_id: layer.chain_id.clone(),
                expected: layer.diff_id.clone(),
                actual,
            },
            BlobWriteError::Encode(source) => BuildError::CompressLayer {
                diff_id: layer.diff_id.clone(),
                source,
            },
            BlobWriteError::Store(source) => BuildError::StoreOp {
                what: format!("blob of layer {}", layer.diff_id),
                source,
            },
            BlobWriteError::Index(source) => BuildError::StoreOp {
                what: format!("blob index entry of layer {}", layer.diff_id),
                source,
            },
        })
    }

    /// The blob the index names for this diffID and compression, if the
    /// store still has it.
    pub fn indexed_blob(
        &self,
        diff_id: &DiffId,
        compression: layer::Compression,
    ) -> Option<Descriptor> {
        indexed_blob(self.store, diff_id, compression)
    }
}

/// What a layer's new blob is encoded from.
enum EncodedFrom {
    /// The uncompressed blob of an image's layer.
    Blob(PathBuf),
    /// The unpacked directory of a step's layer.
    Dir(PathBuf),
}

/// Why [`write_indexed_blob`] stored no blob.
#[derive(Debug, thiserror::Error)]
pub enum BlobWriteError {
    #[error("the layer archives to {actual}, not its diff ID {expected}")]
    Mismatch { expected: DiffId, actual: DiffId },
    #[error("cannot encode the layer")]
    Encode(#[source] layer::LayerError),
    #[error("cannot write the blob")]
    Store(#[source] store::StoreError),
    #[error("cannot record the blob in the blob index")]
    Index(#[source] store::StoreError),
}

/// Writes the blob `encode` makes of the layer `diff_id` into the store,
/// checks that what it encoded hashes to that diffID, and indexes the blob
/// under `compression` (whose media type the blob has). The store hashes
/// and counts what it writes, which gives the descriptor.
pub(crate) fn write_indexed_blob(
    store: &store::Store,
    diff_id: &DiffId,
    compression: layer::Compression,
    encode: &mut dyn FnMut(
        &mut dyn std::io::Write,
    ) -> Result<layer::WrittenLayer, layer::LayerError>,
) -> Result<Descriptor, BlobWriteError> {
    let mut failure = None;
    let (digest, size) = store
        .write_blob(None, &mut |out| match encode(out) {
            Ok(done) if done.diff_id == *diff_id => Ok(()),
            Ok(done) => {
                let error = BlobWriteError::Mismatch {
                    expected: diff_id.clone(),
                    actual: done.diff_id,
                };
                let message = error.to_string();
                failure = Some(error);
                Err(std::io::Error::other(message))
            }
            Err(source) => {
                let message = source.to_string();
                failure = Some(BlobWriteError::Encode(source));
                Err(std::io::Error::other(message))
            }
        })
        .map_err(|source| failure.take().unwrap_or(BlobWriteError::Store(source)))?;
    let descriptor = Descriptor::new(compression.media_type(), digest, size);
    index_blob(store, diff_id, compression, &descriptor).map_err(BlobWriteError::Index)?;
    Ok(descriptor)
}

/// Encodes the uncompressed layer tar at `path` (a store blob) as
/// `options.compression`.
pub(crate) fn compress_stored_tar(
    path: &std::path::Path,
    out: &mut dyn std::io::Write,
    options: &layer::WriteOptions,
) -> Result<layer::WrittenLayer, layer::LayerError> {
    let mut tar = fs::File::open(path).map_err(|source| layer::LayerError::ReadLayer { source })?;
    layer::compress_tar(&mut tar, out, options)
}

/// The blob the store's index names for this diffID and compression, if
/// the store still has it.
pub(crate) fn indexed_blob(
    store: &store::Store,
    diff_id: &DiffId,
    compression: layer::Compression,
) -> Option<Descriptor> {
    let key = blob_index_key(diff_id, compression);
    let bytes = store.cache_get(key.hex()).ok().flatten()?;
    let entry: BlobIndexEntry = serde_json::from_slice(&bytes).ok()?;
    (entry.diff_id == *diff_id && store.has_blob(&entry.descriptor.digest))
        .then_some(entry.descriptor)
}

/// Records that `descriptor` (in `compression`) holds the layer `diff_id`.
fn index_blob(
    store: &store::Store,
    diff_id: &DiffId,
    compression: layer::Compression,
    descriptor: &Descriptor,
) -> Result<(), store::StoreError> {
    let entry = BlobIndexEntry {
        diff_id: diff_id.clone(),
        descriptor: descriptor.clone(),
    };
    match serde_json::to_vec(&entry) {
        Ok(bytes) => store.cache_put(blob_index_key(diff_id, compression).hex(), &bytes),
        // A descriptor always serialises; without the entry the blob is
        // only made again next time.
        Err(_) => Ok(()),
    }
}

/// A blob index entry: which blob holds a layer in one compression. It lives
/// in the store's cache area, so `prune` treats it as a cache record, and
/// the digests in it keep its blob alive as long as the entry is kept.
#[derive(serde::Serialize, serde::Deserialize)]
struct BlobIndexEntry {
    diff_id: DiffId,
    descriptor: Descriptor,
}

/// The key of a blob index entry, in the same namespace as step keys (a
/// sha256 of a distinct prefix, so the two never collide).
fn blob_index_key(diff_id: &DiffId, compression: layer::Compression) -> Digest {
    let bytes: [u8; 32] =
        Sha256::digest(format!("blob-index {} {diff_id}", compression.name()).as_bytes()).into();
    Digest::from_sha256_bytes(bytes)
}
