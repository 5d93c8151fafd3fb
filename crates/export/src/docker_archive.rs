//! The docker-archive format that `docker load` reads (and `docker save`,
//! `skopeo copy docker-archive:` write): `manifest.json`, `repositories` and
//! the blobs.
//!
//! `manifest.json` is a one-element list `[{Config, RepoTags, Layers}]` whose
//! paths point into the archive. We store blobs under `blobs/sha256/<hex>` as
//! docker 25's `docker save` does, and keep layers *as they are* (gzip or zstd
//! compressed): moby's loader decompresses every layer file through
//! `archive.DecompressStream` and checks the result against
//! `rootfs.diff_ids`, so compressed layers load (docker 1.10 and later), and
//! re-compressing or inflating them would only cost time and disk.
//!
//! `repositories` is the pre-1.10 index of names; loaders use `manifest.json`
//! when it exists, so ours is informational: repository → tag → image id
//! (the config's digest hex, what `docker images` shows as IMAGE ID).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use oci::Reference;

use crate::atomic::write_atomically;
use crate::error::ExportError;
use crate::image::{BlobSource, ImageToExport};
use crate::oci_layout::parse_names;
use crate::tarball::{ArchiveWriter, blob_path};

/// Writes `image` as a docker-archive at `out`, atomically.
pub fn write_docker_archive(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: &Path,
) -> Result<(), ExportError> {
    write_atomically(out, |file| write_docker_tar(image, blobs, file, out))
}

/// Streams `image` as a docker-archive into `out` (for `docker load` via a
/// pipe). Not atomic: on error the stream is cut short.
pub fn write_docker_archive_to(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    write_docker_tar(image, blobs, out, Path::new("<stream>"))
}

/// Docker's short form of a name: `foo:1` for `docker.io/library/foo:1`,
/// `user/foo:1` for `docker.io/user/foo:1`, else the full name. This is what
/// `docker save` writes in `RepoTags` and what `docker images` shows.
pub(crate) fn familiar_repository(reference: &Reference) -> String {
    if reference.registry == "docker.io" {
        match reference.repository.strip_prefix("library/") {
            Some(short) if !short.contains('/') => short.to_string(),
            _ => reference.repository.clone(),
        }
    } else {
        reference.name()
    }
}

fn write_docker_tar<W: Write>(
    image: &ImageToExport,
    blobs: &dyn BlobSource,
    out: W,
    name: &Path,
) -> Result<(), ExportError> {
    let manifest_descriptor = image.validate()?;
    let names = parse_names(&image.tags)?;
    let config_path = blob_path(&image.manifest.config.digest);
    let layer_paths: Vec<String> = image
        .manifest
        .layers
        .iter()
        .map(|layer| blob_path(&layer.digest))
        .collect();
    let repo_tags: Option<Vec<String>> = (!names.is_empty()).then(|| {
        names
            .iter()
            .map(|n| format!("{}:{}", familiar_repository(&n.reference), n.tag))
            .collect()
    });
    let manifest_json = serde_json::to_vec(&serde_json::json!([{
        "Config": config_path,
        "RepoTags": repo_tags,
        "Layers": layer_paths,
    }]))
    .map_err(|source| ExportError::Serialize {
        what: "manifest.json",
        source,
    })?;
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for n in &names {
        repositories
            .entry(familiar_repository(&n.reference))
            .or_default()
            .insert(
                n.tag.clone(),
                image.manifest.config.digest.hex().to_string(),
            );
    }

    // The manifest blob itself is not part of a docker-archive.
    let mut all = image.blobs(&manifest_descriptor);
    all.remove(&manifest_descriptor.digest);

    let mut archive = ArchiveWriter::new(out, name);
    archive.blobs(&all, blobs)?;
    archive.file("manifest.json", &manifest_json)?;
    if !repositories.is_empty() {
        let bytes = serde_json::to_vec(&repositories).map_err(|source| ExportError::Serialize {
            what: "repositories",
            source,
        })?;
        archive.file("repositories", &bytes)?;
    }
    archive.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_names_match_docker() {
        let cases = [
            ("foo", "foo"),
            ("docker.io/library/foo:1", "foo"),
            ("user/foo", "user/foo"),
            ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b"),
            ("ghcr.io/o/r", "ghcr.io/o/r"),
        ];
        for (input, expected) in cases {
            let reference = Reference::parse(input).unwrap();
            assert_eq!(familiar_repository(&reference), expected, "{input}");
        }
    }
}
