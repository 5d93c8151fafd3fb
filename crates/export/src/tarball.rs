//! Deterministic tar output for image archives (OCI layout tarball,
//! docker-archive): every header is owned by 0:0, mtime 0, mode 0644 for
//! files and 0755 for directories, in ustar format, so the archive is a pure
//! function of its entries. Callers add entries in sorted order.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use oci::{Descriptor, Digest};

use crate::error::ExportError;
use crate::image::{Blob, BlobSource, VerifyingReader};

/// Where the archive goes, for error messages.
pub(crate) struct ArchiveWriter<W: Write> {
    builder: tar::Builder<W>,
    name: std::path::PathBuf,
}

impl<W: Write> ArchiveWriter<W> {
    pub(crate) fn new(out: W, name: &std::path::Path) -> Self {
        ArchiveWriter {
            builder: tar::Builder::new(out),
            name: name.to_path_buf(),
        }
    }

    fn write_error(&self, source: std::io::Error) -> ExportError {
        ExportError::Write {
            path: self.name.clone(),
            source,
        }
    }

    pub(crate) fn dir(&mut self, path: &str) -> Result<(), ExportError> {
        let mut header = header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut header, path, std::io::empty())
            .map_err(|e| self.write_error(e))
    }

    pub(crate) fn file(&mut self, path: &str, bytes: &[u8]) -> Result<(), ExportError> {
        let mut header = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        self.builder
            .append_data(&mut header, path, bytes)
            .map_err(|e| self.write_error(e))
    }

    /// Copies a blob from `blobs`, verifying it against `descriptor`.
    pub(crate) fn blob(
        &mut self,
        path: &str,
        descriptor: &Descriptor,
        blobs: &dyn BlobSource,
    ) -> Result<(), ExportError> {
        let reader =
            blobs
                .open_blob(&descriptor.digest)
                .map_err(|source| ExportError::OpenBlob {
                    digest: descriptor.digest.clone(),
                    source,
                })?;
        let mut verifying = VerifyingReader::new(reader);
        let mut header = header(tar::EntryType::Regular, 0o644, descriptor.size);
        // `take` keeps an over-long blob from overrunning the size already in
        // the header; `finish` then reports it.
        let copied = self.builder.append_data(
            &mut header,
            path,
            (&mut verifying as &mut dyn Read).take(descriptor.size),
        );
        if let Err(e) = copied {
            return Err(verifying.copy_error(&descriptor.digest, &self.name, e));
        }
        verifying.finish(descriptor)
    }

    /// Writes `blobs/`, `blobs/sha256/` and every blob under it.
    pub(crate) fn blobs(
        &mut self,
        all: &BTreeMap<Digest, Blob<'_>>,
        source: &dyn BlobSource,
    ) -> Result<(), ExportError> {
        self.dir("blobs/")?;
        self.dir("blobs/sha256/")?;
        for (digest, blob) in all {
            let path = blob_path(digest);
            match blob {
                Blob::Bytes(bytes) => self.file(&path, bytes)?,
                Blob::Source(descriptor) => self.blob(&path, descriptor, source)?,
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<W, ExportError> {
        let name = self.name;
        self.builder
            .into_inner()
            .map_err(|source| ExportError::Write { path: name, source })
    }
}

/// `blobs/sha256/<hex>`, the blob path in both OCI layouts and our
/// docker-archives (docker 25 `docker save` uses the same paths).
pub(crate) fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(size);
    header
}
