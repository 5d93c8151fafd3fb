//! `save` and `load`: an image from the store into an OCI layout tarball or
//! a docker-archive, and back.

use std::path::Path;

use oci::{Digest, Platform};

use super::{OpsError, StoreBlobs, normalize_name, open_store, require_local, store_op};

/// The archive formats `save` writes and `load` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An OCI image layout as a tarball (`skopeo`'s `oci-archive:`).
    Oci,
    /// What `docker save` writes and `docker load` reads.
    Docker,
}

/// Writes the image `reference` names to `dest` (atomically: a failure
/// leaves no partial file).
pub fn save(
    store_root: &Path,
    reference: &str,
    dest: &Path,
    format: ArchiveFormat,
) -> Result<Digest, OpsError> {
    let store = open_store(store_root)?;
    let image = require_local(&store, reference)?;
    // Named by digest or ID, the archive carries no name; by tag, that tag.
    let tags = image.name.iter().cloned().collect();
    let to_export = export::ImageToExport {
        manifest_bytes: image.manifest_bytes,
        manifest: image.manifest,
        config_bytes: image.config_bytes,
        tags,
    };
    let blobs = StoreBlobs(&store);
    match format {
        ArchiveFormat::Oci => export::write_oci_archive(&to_export, &blobs, dest),
        ArchiveFormat::Docker => export::write_docker_archive(&to_export, &blobs, dest),
    }
    .map_err(|source| OpsError::Export {
        dest: dest.to_path_buf(),
        source,
    })?;
    Ok(image.manifest_digest)
}

/// What `load` put into the store.
#[derive(Clone, Debug)]
pub struct LoadedImage {
    pub format: ArchiveFormat,
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    /// The names tagged, normalised; empty for an unnamed image.
    pub names: Vec<String>,
}

/// Reads an OCI layout (tar or directory) or a docker-archive at `path` and
/// stores its image (the one for `platform` when there are several). Every
/// blob is verified against its digest as it enters the store; the names
/// found in the archive are tagged last.
pub fn load(store_root: &Path, path: &Path, platform: &Platform) -> Result<LoadedImage, OpsError> {
    let loaded = export::read_archive(path, platform).map_err(|source| OpsError::Load {
        path: path.to_path_buf(),
        source,
    })?;
    let store = open_store(store_root)?;
    for layer in &loaded.manifest.layers {
        if store.has_blob(&layer.digest) {
            continue;
        }
        store
            .write_blob(Some(&layer.digest), &mut |out| {
                let mut blob = export::BlobSource::open_blob(&loaded, &layer.digest)?;
                std::io::copy(&mut blob, out)?;
                Ok(())
            })
            .map_err(|source| OpsError::LoadBlob {
                path: path.to_path_buf(),
                digest: layer.digest.clone(),
                source,
            })?;
    }
    let config_digest = loaded.manifest.config.digest.clone();
    for (digest, bytes) in [
        (&config_digest, &loaded.config_bytes),
        (&loaded.manifest_digest, &loaded.manifest_bytes),
    ] {
        store
            .write_blob(Some(digest), &mut |out| out.write_all(bytes))
            .map_err(store_op(format!("blob {digest}")))?;
    }
    let mut names = Vec::new();
    for name in &loaded.names {
        // An OCI layout's ref.name may be a bare tag ("latest"), which names
        // no repository; only full names become tags.
        let Ok(reference) = oci::Reference::parse(name) else {
            continue;
        };
        if !name.contains(':') && !name.contains('/') && !name.contains('@') {
            continue;
        }
        let name = normalize_name(&reference.to_string());
        store
            .tag(&name, &loaded.manifest_digest)
            .map_err(store_op(format!("tag {name}")))?;
        names.push(name);
    }
    names.sort();
    names.dedup();
    Ok(LoadedImage {
        format: match loaded.format {
            export::ArchiveFormat::OciLayout => ArchiveFormat::Oci,
            export::ArchiveFormat::DockerArchive => ArchiveFormat::Docker,
        },
        manifest_digest: loaded.manifest_digest.clone(),
        config_digest,
        names,
    })
}
