//! What the writers are given: an image as bytes plus a way to open blobs.

use std::collections::BTreeMap;
use std::io::{self, Read};

use oci::{Descriptor, Digest, Manifest, MediaType};
use sha2::{Digest as _, Sha256};

use crate::error::ExportError;

/// Opens blobs (layers) by digest; implemented by the store, and by
/// [`crate::LoadedImage`] for images read back from an archive.
///
/// The reader may return any bytes: the writers verify size and digest
/// against the manifest's descriptor while copying.
pub trait BlobSource {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + '_>>;
}

/// One built image, as it will appear in the output.
///
/// `manifest_bytes` and `config_bytes` are written verbatim: their digests
/// are the image's identity, so they must never be re-serialised here.
#[derive(Clone, Debug)]
pub struct ImageToExport {
    pub manifest_bytes: Vec<u8>,
    pub manifest: Manifest,
    pub config_bytes: Vec<u8>,
    /// Image names (`foo`, `foo:1`, `registry:5000/a/b:t`), normalised the
    /// way docker does; may be empty for an unnamed image.
    pub tags: Vec<String>,
}

/// A blob the archive must contain, in the order written.
pub(crate) enum Blob<'a> {
    Bytes(&'a [u8]),
    Source(&'a Descriptor),
}

impl ImageToExport {
    /// Checks that the parts agree and returns the manifest's descriptor.
    ///
    /// Writing an image whose manifest does not describe its config would
    /// produce an archive that every loader rejects, so it is refused here,
    /// before any byte is written.
    pub(crate) fn validate(&self) -> Result<Descriptor, ExportError> {
        let parsed: Manifest = serde_json::from_slice(&self.manifest_bytes)
            .map_err(|source| ExportError::ManifestBytes { source })?;
        if parsed != self.manifest {
            return Err(ExportError::ManifestDiffers);
        }
        check_bytes(&self.config_bytes, &self.manifest.config)?;
        let media_type = self
            .manifest
            .media_type
            .clone()
            .unwrap_or_else(|| MediaType::OCI_MANIFEST.to_string());
        Ok(Descriptor::new(
            media_type,
            Digest::of(&self.manifest_bytes),
            self.manifest_bytes.len() as u64,
        ))
    }

    /// Every blob of the image (manifest, config, layers), each digest once,
    /// sorted by digest so archives list them in a stable order.
    pub(crate) fn blobs<'a>(&'a self, manifest: &Descriptor) -> BTreeMap<Digest, Blob<'a>> {
        let mut blobs = BTreeMap::new();
        for layer in &self.manifest.layers {
            blobs
                .entry(layer.digest.clone())
                .or_insert(Blob::Source(layer));
        }
        blobs.insert(
            self.manifest.config.digest.clone(),
            Blob::Bytes(&self.config_bytes),
        );
        blobs.insert(manifest.digest.clone(), Blob::Bytes(&self.manifest_bytes));
        blobs
    }
}

fn check_bytes(bytes: &[u8], descriptor: &Descriptor) -> Result<(), ExportError> {
    let actual = Digest::of(bytes);
    if actual != descriptor.digest {
        return Err(ExportError::BlobDigestMismatch {
            expected: descriptor.digest.clone(),
            actual,
        });
    }
    if bytes.len() as u64 != descriptor.size {
        return Err(ExportError::BlobSizeMismatch {
            digest: descriptor.digest.clone(),
            expected: descriptor.size,
            actual: bytes.len() as u64,
        });
    }
    Ok(())
}

/// Wraps a blob reader, hashing and counting what passes through, so the
/// copy into the output and the verification are one pass.
pub(crate) struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    read_failed: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        VerifyingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            read_failed: false,
        }
    }

    /// Turns an error of a copy out of this reader into the right variant:
    /// the copy cannot tell a failed read of the blob from a failed write.
    pub(crate) fn copy_error(
        &self,
        digest: &Digest,
        output: &std::path::Path,
        source: io::Error,
    ) -> ExportError {
        if self.read_failed {
            ExportError::ReadBlob {
                digest: digest.clone(),
                source,
            }
        } else {
            ExportError::Write {
                path: output.to_path_buf(),
                source,
            }
        }
    }

    /// Compares what was read with `descriptor`. The reader must also be at
    /// its end: a blob longer than its descriptor is as wrong as a shorter one.
    pub(crate) fn finish(mut self, descriptor: &Descriptor) -> Result<(), ExportError> {
        let digest = &descriptor.digest;
        let mut extra = [0u8; 1];
        let more = loop {
            match self.inner.read(&mut extra) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ExportError::ReadBlob {
                        digest: digest.clone(),
                        source,
                    });
                }
            }
        };
        if more != 0 || self.count != descriptor.size {
            return Err(ExportError::BlobSizeMismatch {
                digest: digest.clone(),
                expected: descriptor.size,
                actual: self.count + more as u64,
            });
        }
        let out: [u8; 32] = self.hasher.finalize().into();
        let actual = Digest::from_sha256_bytes(out);
        if &actual != digest {
            return Err(ExportError::BlobDigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .inspect_err(|_| self.read_failed = true)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
