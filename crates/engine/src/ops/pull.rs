//! `decant pull`: resolve a reference in a registry, fetch the layers the
//! store lacks (concurrently, each verified while streaming), then record
//! config, manifest and — last — the tag.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use oci::{Descriptor, Digest, Platform};

use super::{OpsError, TransferEvent, TransferSink, open_store, parse_reference, store_op};

/// What a pull did.
#[derive(Clone, Debug)]
pub struct PulledImage {
    /// The normalised name the image is tagged as in the store.
    pub name: String,
    pub manifest_digest: Digest,
    /// The image ID.
    pub config_digest: Digest,
    pub layers: usize,
    /// Layers that were already in the store.
    pub layers_existing: usize,
    /// Bytes downloaded.
    pub bytes_fetched: u64,
}

/// Pulls `reference` for `platform` into the store at `store_root`.
pub fn pull(
    store_root: &Path,
    reference: &str,
    platform: &Platform,
    events: TransferSink<'_>,
) -> Result<PulledImage, OpsError> {
    let parsed = parse_reference(reference)?;
    let store = open_store(store_root)?;
    let client = registry::Client::from_env().map_err(OpsError::RegistryConfig)?;
    let shown = parsed.to_string();
    let image = client
        .resolve(&parsed, platform)
        .map_err(|source| OpsError::Resolve {
            reference: shown.clone(),
            source,
        })?;
    events(TransferEvent::Resolved {
        reference: shown.clone(),
        digest: image.manifest_digest.clone(),
    });

    let existing = AtomicUsize::new(0);
    let fetched = AtomicU64::new(0);
    client.fetch_blobs(&image, &image.manifest.layers, &|descriptor, fetch| {
        if store.has_blob(&descriptor.digest) {
            existing.fetch_add(1, Ordering::Relaxed);
            events(TransferEvent::Finished {
                digest: descriptor.digest.clone(),
                size: descriptor.size,
                existed: true,
            });
            return Ok(());
        }
        events(TransferEvent::Started {
            digest: descriptor.digest.clone(),
            size: descriptor.size,
        });
        let mut fetch_error = None;
        let written = store.write_blob(Some(&descriptor.digest), &mut |out| {
            let mut counting = Counting {
                inner: out,
                descriptor,
                events,
            };
            fetch(&mut counting).map_err(|e| {
                let message = e.to_string();
                fetch_error = Some(e);
                io::Error::other(message)
            })
        });
        match (written, fetch_error) {
            (Ok(_), _) => {
                fetched.fetch_add(descriptor.size, Ordering::Relaxed);
                events(TransferEvent::Finished {
                    digest: descriptor.digest.clone(),
                    size: descriptor.size,
                    existed: false,
                });
                Ok(())
            }
            (Err(_), Some(source)) => Err(OpsError::Fetch {
                reference: shown.clone(),
                digest: descriptor.digest.clone(),
                source,
            }),
            (Err(source), None) => Err(OpsError::StoreOp {
                what: format!("blob {}", descriptor.digest),
                source,
            }),
        }
    })?;

    // The registry crate verified both documents against their digests; the
    // store verifies again as it writes, so a bug between the two cannot
    // store a blob under the wrong name.
    let config_digest = image.manifest.config.digest.clone();
    for (digest, bytes) in [
        (&config_digest, &image.config_bytes),
        (&image.manifest_digest, &image.manifest_bytes),
    ] {
        store
            .write_blob(Some(digest), &mut |out| out.write_all(bytes))
            .map_err(store_op(format!("blob {digest}")))?;
    }
    // The tag goes last: it must never name an image whose blobs are not
    // all in the store (a pull killed before this line leaves only
    // unreferenced blobs).
    store
        .tag(&shown, &image.manifest_digest)
        .map_err(store_op(format!("tag {shown}")))?;
    Ok(PulledImage {
        name: shown,
        manifest_digest: image.manifest_digest.clone(),
        config_digest,
        layers: image.manifest.layers.len(),
        layers_existing: existing.into_inner(),
        bytes_fetched: fetched.into_inner(),
    })
}

/// Reports bytes as they are written into the store.
struct Counting<'a, 'b> {
    inner: &'a mut dyn Write,
    descriptor: &'a Descriptor,
    events: TransferSink<'b>,
}

impl Write for Counting<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        (self.events)(TransferEvent::Progress {
            digest: self.descriptor.digest.clone(),
            bytes: n as u64,
        });
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
