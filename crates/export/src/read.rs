//! Reading an image back from an OCI image layout (tarball or directory) or a
//! docker-archive (tarball or extracted directory), for `decant load`.
//!
//! The format is told apart the way `check.py` and containerd's importer do:
//! `index.json` plus `oci-layout` (or `index.json` without `manifest.json`)
//! is an OCI layout, else `manifest.json` is a docker-archive.
//!
//! Archives are untrusted input. Entry names are normalised and may not climb
//! out of the archive (`..`); links inside a tarball (`docker save` shares
//! layers through symlinks) are resolved within the archive only; in a
//! directory every file is opened with `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink cannot lead outside it either. Manifests and configs are verified
//! against their digests here; layer blobs are handed out unverified through
//! [`BlobSource`], because whoever stores them verifies while streaming.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci::{Descriptor, Digest, ImageConfig, Index, Manifest, MediaType, Platform};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::ExportError;
use crate::image::{BlobSource, ImageToExport};
use crate::oci_layout::{ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME};
use crate::tarball::blob_path;

/// JSON documents (index, manifests, configs) larger than this are refused
/// rather than read into memory; real ones are kilobytes.
const JSON_LIMIT: u64 = 32 << 20;
/// How deep indexes may nest (an index of indexes is legal; a cycle is not).
const INDEX_DEPTH_LIMIT: usize = 4;
/// How many links may be followed to reach one tar member.
const LINK_LIMIT: usize = 16;

/// Which format an archive turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveFormat {
    OciLayout,
    DockerArchive,
}

/// One image read from an archive; opens its layer blobs on demand.
pub struct LoadedImage {
    pub format: ArchiveFormat,
    pub manifest_digest: Digest,
    /// Verbatim from an OCI layout; for a docker-archive (which has no
    /// manifest) an OCI manifest written from its `manifest.json`.
    pub manifest_bytes: Vec<u8>,
    pub manifest: Manifest,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfig,
    /// Names found for the image: `io.containerd.image.name` (else the
    /// `org.opencontainers.image.ref.name`, which may be a bare tag) of each
    /// index entry pointing at it, or a docker-archive's `RepoTags`.
    pub names: Vec<String>,
    container: Container,
    /// Where each blob lives in the archive.
    blob_members: BTreeMap<Digest, String>,
}

impl std::fmt::Debug for LoadedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedImage")
            .field("format", &self.format)
            .field("manifest_digest", &self.manifest_digest)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl LoadedImage {
    /// The image as the writers take it, e.g. to convert formats.
    pub fn to_export(&self) -> ImageToExport {
        ImageToExport {
            manifest_bytes: self.manifest_bytes.clone(),
            manifest: self.manifest.clone(),
            config_bytes: self.config_bytes.clone(),
            tags: Vec::new(),
        }
    }
}

impl BlobSource for LoadedImage {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + '_>> {
        let member = self.blob_members.get(digest).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("blob {digest} is not part of this image"),
            )
        })?;
        self.container.open_member(member)
    }
}

/// Opens the image in the archive or directory at `path`. When an OCI index
/// lists several images, the one for `platform` is chosen.
pub fn read_archive(path: &Path, platform: &Platform) -> Result<LoadedImage, ExportError> {
    let container = Container::open(path)?;
    let is_oci = container.exists("index.json")
        && (container.exists("oci-layout") || !container.exists("manifest.json"));
    if is_oci {
        read_oci(container, platform)
    } else if container.exists("manifest.json") {
        read_docker(container)
    } else {
        Err(ExportError::UnknownArchive {
            path: path.to_path_buf(),
        })
    }
}

fn read_oci(container: Container, platform: &Platform) -> Result<LoadedImage, ExportError> {
    let index: Index = container.read_json("index.json")?;
    let (top, manifest_bytes) = pick_manifest(&container, &index.manifests, platform, 0)?;
    let manifest: Manifest = container.parse_json("manifest", &manifest_bytes)?;
    let manifest_digest = Digest::of(&manifest_bytes);
    let config_bytes = container.read_verified(&manifest.config)?;
    let config: ImageConfig = container.parse_json("image config", &config_bytes)?;
    let names = index
        .manifests
        .iter()
        .filter(|d| d.digest == top)
        .filter_map(|d| {
            let a = d.annotations.as_ref()?;
            a.get(ANNOTATION_CONTAINERD_NAME)
                .or_else(|| a.get(ANNOTATION_REF_NAME))
                .cloned()
        })
        .collect();
    let blob_members = manifest
        .layers
        .iter()
        .chain([&manifest.config])
        .map(|d| (d.digest.clone(), blob_path(&d.digest)))
        .collect();
    Ok(LoadedImage {
        format: ArchiveFormat::OciLayout,
        manifest_digest,
        manifest_bytes,
        manifest,
        config_bytes,
        config,
        names,
        container,
        blob_members,
    })
}

/// Follows `descriptors` down to one image manifest; returns the digest of
/// the top-level entry chosen and the manifest's (verified) bytes.
fn pick_manifest(
    container: &Container,
    descriptors: &[Descriptor],
    platform: &Platform,
    depth: usize,
) -> Result<(Digest, Vec<u8>), ExportError> {
    if depth > INDEX_DEPTH_LIMIT {
        return Err(ExportError::IndexTooDeep {
            archive: container.path().to_path_buf(),
            limit: INDEX_DEPTH_LIMIT,
        });
    }
    // BuildKit attaches provenance as extra manifests with platform
    // unknown/unknown and this annotation; they are not images to run.
    let images: Vec<&Descriptor> = descriptors
        .iter()
        .filter(|d| {
            let attestation = d
                .annotations
                .as_ref()
                .and_then(|a| a.get("vnd.docker.reference.type"))
                .is_some_and(|t| t == "attestation-manifest");
            let unknown = d.platform.as_ref().is_some_and(|p| p.os == "unknown");
            (MediaType::is_manifest(&d.media_type) || MediaType::is_index(&d.media_type))
                && !attestation
                && !unknown
        })
        .collect();
    let chosen = match distinct(&images).as_slice() {
        [] => {
            return Err(ExportError::NoImage {
                archive: container.path().to_path_buf(),
            });
        }
        [one] => *one,
        several => {
            let matching: Vec<&Descriptor> = several
                .iter()
                .copied()
                .filter(|d| {
                    d.platform
                        .as_ref()
                        .is_none_or(|p| platform_matches(p, platform))
                })
                .collect();
            match distinct(&matching).as_slice() {
                [one] => *one,
                _ => {
                    return Err(ExportError::AmbiguousImage {
                        archive: container.path().to_path_buf(),
                        count: several.len(),
                        platform: platform.to_spec(),
                    });
                }
            }
        }
    };
    let bytes = container.read_verified(chosen)?;
    if MediaType::is_index(&chosen.media_type) {
        let nested: Index = container.parse_json("image index", &bytes)?;
        let (_, manifest) = pick_manifest(container, &nested.manifests, platform, depth + 1)?;
        return Ok((chosen.digest.clone(), manifest));
    }
    Ok((chosen.digest.clone(), bytes))
}

fn distinct<'a>(descriptors: &[&'a Descriptor]) -> Vec<&'a Descriptor> {
    let mut seen = std::collections::BTreeSet::new();
    descriptors
        .iter()
        .copied()
        .filter(|d| seen.insert(d.digest.clone()))
        .collect()
}

fn platform_matches(candidate: &Platform, wanted: &Platform) -> bool {
    candidate.os == wanted.os
        && candidate.architecture == wanted.architecture
        && match (&candidate.variant, &wanted.variant) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn read_docker(container: Container) -> Result<LoadedImage, ExportError> {
    let entries: Vec<DockerManifestEntry> = container.read_json("manifest.json")?;
    let entry = match entries.as_slice() {
        [one] => one,
        _ => {
            return Err(ExportError::DockerArchiveImages {
                archive: container.path().to_path_buf(),
                count: entries.len(),
            });
        }
    };
    let config_name = normalize_name(container.path(), &entry.config)?;
    let config_bytes = container.read_limited(&config_name)?;
    let config: ImageConfig = container.parse_json(&config_name, &config_bytes)?;
    let config_descriptor = Descriptor::new(
        MediaType::OCI_CONFIG,
        Digest::of(&config_bytes),
        config_bytes.len() as u64,
    );
    let mut blob_members = BTreeMap::new();
    blob_members.insert(config_descriptor.digest.clone(), config_name);
    let mut layers = Vec::with_capacity(entry.layers.len());
    for layer in &entry.layers {
        let name = normalize_name(container.path(), layer)?;
        // A docker-archive names no digests: hash each layer once to learn it.
        let (digest, size, media_type) = container.sniff_layer(&name)?;
        blob_members.insert(digest.clone(), name);
        layers.push(Descriptor::new(media_type, digest, size));
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_string()),
        config: config_descriptor,
        layers,
        annotations: None,
    };
    let manifest_bytes =
        serde_json::to_vec(&manifest).map_err(|source| ExportError::Serialize {
            what: "manifest",
            source,
        })?;
    Ok(LoadedImage {
        format: ArchiveFormat::DockerArchive,
        manifest_digest: Digest::of(&manifest_bytes),
        manifest_bytes,
        manifest,
        config_bytes,
        config,
        names: entry.repo_tags.clone().unwrap_or_default(),
        container,
        blob_members,
    })
}

/// Normalises an entry name: no leading `./` or `/`, no `.` components, and
/// no `..` that would climb above the archive's root.
fn normalize_name(archive: &Path, name: &str) -> Result<String, ExportError> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ExportError::UnsafeEntryName {
                        archive: archive.to_path_buf(),
                        name: name.to_string(),
                    });
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(ExportError::UnsafeEntryName {
            archive: archive.to_path_buf(),
            name: name.to_string(),
        });
    }
    Ok(parts.join("/"))
}

/// A tar member: where its data is, or which member it links to.
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

enum Container {
    Dir {
        path: PathBuf,
        root: OwnedFd,
    },
    Tar {
        path: PathBuf,
        members: BTreeMap<String, Member>,
    },
}

impl Container {
    fn open(path: &Path) -> Result<Container, ExportError> {
        let read_error = |source| ExportError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_error)?;
        if meta.is_dir() {
            let root = rustix::fs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| read_error(e.into()))?;
            return Ok(Container::Dir {
                path: path.to_path_buf(),
                root,
            });
        }
        let tar_error = |source| ExportError::ReadTar {
            archive: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_error)?;
        let mut archive = tar::Archive::new(file);
        let mut members = BTreeMap::new();
        for entry in archive.entries_with_seek().map_err(tar_error)? {
            let entry = entry.map_err(tar_error)?;
            let raw = entry.path_bytes();
            let name = String::from_utf8_lossy(&raw).into_owned();
            let Ok(name) = normalize_name(path, &name) else {
                // `./` itself, or a name that climbs out: nothing we would
                // ever look up, so it cannot be used to escape.
                continue;
            };
            let header = entry.header();
            let member = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let Some(target) = entry.link_name_bytes() else {
                        continue;
                    };
                    let target = String::from_utf8_lossy(&target).into_owned();
                    let target = if header.entry_type() == tar::EntryType::Symlink
                        && !target.starts_with('/')
                    {
                        // A relative symlink resolves from the link's directory.
                        match name.rsplit_once('/') {
                            Some((dir, _)) => format!("{dir}/{target}"),
                            None => target,
                        }
                    } else {
                        target
                    };
                    match normalize_name(path, &target) {
                        Ok(target) => Member::Link(target),
                        Err(_) => continue,
                    }
                }
                _ => continue,
            };
            members.insert(name, member);
        }
        Ok(Container::Tar {
            path: path.to_path_buf(),
            members,
        })
    }

    fn path(&self) -> &Path {
        match self {
            Container::Dir { path, .. } | Container::Tar { path, .. } => path,
        }
    }

    fn exists(&self, name: &str) -> bool {
        match self {
            Container::Dir { root, .. } => open_in_root(root, name, OFlags::PATH).is_ok(),
            Container::Tar { members, .. } => members.contains_key(name),
        }
    }

    /// The data of a tar member after following links, as (offset, size).
    fn resolve_member(
        &self,
        members: &BTreeMap<String, Member>,
        name: &str,
    ) -> io::Result<(u64, u64)> {
        let mut current = name;
        for _ in 0..LINK_LIMIT {
            match members.get(current) {
                Some(Member::File { offset, size }) => return Ok((*offset, *size)),
                Some(Member::Link(target)) => current = target,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no file {current:?} in {}", self.path().display()),
                    ));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("too many links resolving {name:?}"),
        ))
    }

    fn open_member(&self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        match self {
            Container::Dir { root, .. } => {
                let fd = open_in_root(root, name, OFlags::RDONLY)?;
                Ok(Box::new(File::from(fd)))
            }
            Container::Tar { path, members } => {
                let (offset, size) = self.resolve_member(members, name)?;
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(file.take(size)))
            }
        }
    }

    fn missing_or_read(&self, name: &str, source: io::Error) -> ExportError {
        if source.kind() == io::ErrorKind::NotFound {
            ExportError::MissingEntry {
                archive: self.path().to_path_buf(),
                name: name.to_string(),
            }
        } else {
            ExportError::Read {
                path: self.path().join(name),
                source,
            }
        }
    }

    /// Reads a small member whole, refusing ones over [`JSON_LIMIT`].
    fn read_limited(&self, name: &str) -> Result<Vec<u8>, ExportError> {
        let reader = self
            .open_member(name)
            .map_err(|e| self.missing_or_read(name, e))?;
        let mut bytes = Vec::new();
        reader
            .take(JSON_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.missing_or_read(name, e))?;
        if bytes.len() as u64 > JSON_LIMIT {
            return Err(ExportError::EntryTooLarge {
                archive: self.path().to_path_buf(),
                name: name.to_string(),
                limit: JSON_LIMIT,
            });
        }
        Ok(bytes)
    }

    /// Reads the blob `descriptor` names and checks its digest and size.
    fn read_verified(&self, descriptor: &Descriptor) -> Result<Vec<u8>, ExportError> {
        let bytes = self.read_limited(&blob_path(&descriptor.digest))?;
        let actual = Digest::of(&bytes);
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
        Ok(bytes)
    }

    fn parse_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<T, ExportError> {
        serde_json::from_slice(bytes).map_err(|source| ExportError::BadJson {
            archive: self.path().to_path_buf(),
            name: name.to_string(),
            source,
        })
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ExportError> {
        let bytes = self.read_limited(name)?;
        self.parse_json(name, &bytes)
    }

    /// Hashes a layer member and tells its compression from its first
    /// bytes (docker-archives carry no media types).
    fn sniff_layer(&self, name: &str) -> Result<(Digest, u64, &'static str), ExportError> {
        let mut reader = self
            .open_member(name)
            .map_err(|e| self.missing_or_read(name, e))?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(4);
        let mut size = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.missing_or_read(name, e)),
            };
            if head.len() < 4 {
                let want = (4 - head.len()).min(n);
                head.extend_from_slice(&buf[..want]);
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let media_type = if head.starts_with(&[0x1f, 0x8b]) {
            MediaType::OCI_LAYER_GZIP
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            MediaType::OCI_LAYER_ZSTD
        } else {
            MediaType::OCI_LAYER_TAR
        };
        let out: [u8; 32] = hasher.finalize().into();
        Ok((Digest::from_sha256_bytes(out), size, media_type))
    }
}

/// Opens `name` below `root` the way a chroot would see it: absolute links
/// and `..` stay inside `root` (Linux 5.6 `openat2(RESOLVE_IN_ROOT)`).
fn open_in_root(root: &OwnedFd, name: &str, flags: OFlags) -> io::Result<OwnedFd> {
    rustix::fs::openat2(
        root,
        name,
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_normalise_and_never_climb_out() {
        let archive = Path::new("a.tar");
        let cases = [
            ("./blobs/sha256/x", Some("blobs/sha256/x")),
            ("/manifest.json", Some("manifest.json")),
            ("a/../b", Some("b")),
            ("a/./b/", Some("a/b")),
            ("../etc/passwd", None),
            ("a/../../b", None),
            ("./", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize_name(archive, input).ok().as_deref(),
                expected,
                "{input}"
            );
        }
    }
}
