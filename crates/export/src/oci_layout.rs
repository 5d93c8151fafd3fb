//! The OCI image layout (image-spec `image-layout.md`), as a tarball or a
//! directory: `oci-layout`, `index.json` and `blobs/sha256/<hex>`.
//!
//! `index.json` names the image the way BuildKit's oci exporter does through
//! containerd's archive exporter: one index entry per name, each carrying
//! `io.containerd.image.name` (the full normalised name, which
//! `ctr images import` uses) and `org.opencontainers.image.ref.name` (the tag
//! only, as the OCI spec defines it, which `skopeo oci-archive:F:tag` and
//! `umoci --image DIR:tag` match). An unnamed image gets one entry without
//! annotations. Unlike BuildKit we add no `org.opencontainers.image.created`
//! annotation: it would make two exports of one image differ.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci::{Descriptor, Digest, Index, MediaType, Reference};

use crate::atomic::write_atomically;
use crate::error::ExportError;
use crate::image::{Blob, BlobSource, ImageToExport, VerifyingReader};
use crate::tarball::ArchiveWriter;

/// The full image name, e.g. `docker.io/library/foo:latest` (containerd).
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The tag only, e.g. `latest` (OCI image spec, pre-defined annotation keys).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A validated image name.
pub(crate) struct ImageName {
    pub(crate) reference: Reference,
    pub(crate) tag: String,
}

pub(crate) fn parse_names(tags: &[String]) -> Result<Vec<ImageName>, ExportError> {
    tags.iter()
        .map(|name| {
            let reference = Reference::parse(name).map_err(|source| ExportError::InvalidName {
                name: name.clone(),
                source,
            })?;
            match (&reference.tag, &reference.digest) {
                (Some(tag), None) => Ok(ImageName {
                    tag: tag.clone(),
                    reference,
                }),
                _ => Err(ExportError::NameWithDigest { name: name.clone() }),
            }
        })
        .collect()
}

fn index_entries(manifest: &Descriptor, names: &[ImageName]) -> Vec<Descriptor> {
    if names.is_empty() {
        return vec![manifest.clone()];
    }
    names
        .iter()
        .map(|name| {
            let mut entry = manifest.clone();
            entry.annotations = Some(BTreeMap::from([
                (
                    ANNOTATION_CONTAINERD_NAME.to_string(),
                    name.reference.to_string(),
                ),
                (ANNOTATION_REF_NAME.to_string(), name.tag.clone()),
            ]));
            entry
        })
        .collect()
}

fn index_json(manifests: Vec<Descriptor>) -> Result<Vec<u8>, ExportError> {
    let index = Index {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.to_string()),
        manifests,
        annotations: None,
    };
    serde_json::to_vec(&index).map_err(|source| ExportError::Serialize {
        what: "index.json",
        source,
    })
}

/// Writes `image` as an OCI image layout tarball at `out`, atomically.
pub fn write_oci_archive(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: &Path,
) -> Result<(), ExportError> {
    write_atomically(out, |file| write_oci_tar(image, blobs, file, out))
}

/// Streams `image` as an OCI image layout tarball into `out` (for
/// `dest=-`). Not atomic: on error the stream is cut short.
pub fn write_oci_archive_to(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    write_oci_tar(image, blobs, out, Path::new("<stream>"))
}

fn write_oci_tar<W: Write>(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: W,
    name: &Path,
) -> Result<(), ExportError> {
    let manifest = image.validate()?;
    let names = parse_names(&image.tags)?;
    let index = index_json(index_entries(&manifest, &names))?;
    let mut archive = ArchiveWriter::new(out, name);
    archive.blobs(&image.blobs(&manifest), blobs)?;
    archive.file("index.json", &index)?;
    archive.file("oci-layout", OCI_LAYOUT)?;
    archive.finish()?;
    Ok(())
}

/// Writes `image` into the OCI image layout directory `dir`, creating it if
/// needed. An existing layout is updated as BuildKit's `tar=false` does:
/// blobs are added, and index entries with the same names (or, for an
/// unnamed image, unnamed entries) are replaced; other images stay.
pub fn write_oci_dir(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    dir: &Path,
) -> Result<(), ExportError> {
    let manifest = image.validate()?;
    let names = parse_names(&image.tags)?;
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Write { path, source }
    };
    let layout_file = dir.join("oci-layout");
    let existing_index = match fs::symlink_metadata(&layout_file) {
        Ok(_) => Some(read_index(&dir.join("index.json"))?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if dir_has_entries(dir)? {
                return Err(ExportError::NotALayout {
                    path: dir.to_path_buf(),
                });
            }
            None
        }
        Err(source) => {
            return Err(ExportError::Read {
                path: layout_file,
                source,
            });
        }
    };
    let blob_dir = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir).map_err(write_error(&blob_dir))?;
    for (digest, blob) in image.blobs(&manifest) {
        write_blob_file(&blob_dir, &digest, &blob, blobs)?;
    }
    if existing_index.is_none() {
        write_atomically(&layout_file, |f| {
            f.write_all(OCI_LAYOUT).map_err(write_error(&layout_file))
        })?;
    }
    let mut entries: Vec<Descriptor> = existing_index
        .map(|index| index.manifests)
        .unwrap_or_default();
    entries.retain(|entry| !replaced_by(entry, &names));
    entries.extend(index_entries(&manifest, &names));
    let index = index_json(entries)?;
    let index_path = dir.join("index.json");
    write_atomically(&index_path, |f| {
        f.write_all(&index).map_err(write_error(&index_path))
    })
}

/// Whether an existing index entry names the same image as one of `names`.
fn replaced_by(entry: &Descriptor, names: &[ImageName]) -> bool {
    let annotations = entry.annotations.as_ref();
    let full = annotations.and_then(|a| a.get(ANNOTATION_CONTAINERD_NAME));
    let tag = annotations.and_then(|a| a.get(ANNOTATION_REF_NAME));
    if names.is_empty() {
        return full.is_none() && tag.is_none();
    }
    names.iter().any(|name| match full {
        Some(full) => *full == name.reference.to_string(),
        None => tag == Some(&name.tag),
    })
}

fn read_index(path: &Path) -> Result<Index, ExportError> {
    let bytes = fs::read(path).map_err(|source| ExportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ExportError::BadJson {
        archive: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        name: "index.json".to_string(),
        source,
    })
}

fn dir_has_entries(dir: &Path) -> Result<bool, ExportError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ExportError::Read {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Writes one blob file unless a file of the right size is already there:
/// names are digests, and blobs we wrote were verified on the way in.
fn write_blob_file(
    blob_dir: &Path,
    digest: &Digest,
    blob: &Blob<'_>,
    blobs: &dyn BlobSource,
) -> Result<(), ExportError> {
    let path: PathBuf = blob_dir.join(digest.hex());
    let expected_size = match blob {
        Blob::Bytes(bytes) => bytes.len() as u64,
        Blob::Source(descriptor) => descriptor.size,
    };
    if let Ok(meta) = fs::symlink_metadata(&path)
        && meta.is_file()
        && meta.len() == expected_size
    {
        return Ok(());
    }
    write_atomically(&path, |file: &mut io::BufWriter<File>| match blob {
        Blob::Bytes(bytes) => file.write_all(bytes).map_err(|source| ExportError::Write {
            path: path.clone(),
            source,
        }),
        Blob::Source(descriptor) => {
            let reader = blobs
                .open_blob(digest)
                .map_err(|source| ExportError::OpenBlob {
                    digest: digest.clone(),
                    source,
                })?;
            let mut verifying = VerifyingReader::new(reader);
            let copied = io::copy(&mut io::Read::take(&mut verifying, descriptor.size), file);
            if let Err(e) = copied {
                return Err(verifying.copy_error(digest, &path, e));
            }
            verifying.finish(descriptor)
        }
    })
}
