//! Garbage collection (`prune`), disk usage (`du`) and consistency checks
//! (`fsck`).
//!
//! GC is mark and sweep. The roots are the tags and the cache values. From a
//! tag's manifest digest the mark follows OCI indexes to manifests, manifests
//! to their config and layers, and a config's `rootfs.diff_ids` to the chain
//! IDs (OCI image spec, "ChainID": `chain[0] = diff[0]`,
//! `chain[i] = sha256(chain[i-1] + " " + diff[i])`) that name unpacked layer
//! directories. Cache values are opaque bytes; every `sha256:<64 hex>` text in
//! them is a reference, so the engine keeps a step's layer alive by naming
//! its digest or chain ID in the step's cache record. Over-retention is the
//! only failure mode of that scan, never deleting something in use.
//!
//! The sweep runs under the exclusive store lock, so no other process is
//! ingesting or unpacking while it deletes.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use oci::{Digest, ImageConfig, Index, Manifest};
use serde::Deserialize;

use crate::{Store, StoreError, TagRecord, fsutil, scratch};

/// Where the engine keeps `RUN --mount=type=cache` directories, one per
/// cache id (its layout inside is the engine's business).
pub const CACHE_MOUNTS: &str = "cache-mounts";

/// JSON documents larger than this are not followed during marking: no
/// registry accepts a manifest over 4 MiB, and configs are far smaller.
const MAX_DOCUMENT: u64 = 4 << 20;

#[derive(Clone, Debug, Default)]
pub struct PruneOptions {
    /// Drop cache records not modified for this long before marking
    /// (`Some(Duration::ZERO)` drops the whole cache). `None` keeps them all.
    pub cache_older_than: Option<Duration>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub blobs_removed: u64,
    pub layers_removed: u64,
    pub cache_removed: u64,
    /// `RUN --mount=type=cache` directories dropped with the cache.
    pub cache_mounts_removed: u64,
    pub bytes_freed: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub count: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    pub blobs: Usage,
    pub layers: Usage,
    pub images: Usage,
    pub cache: Usage,
    /// `RUN --mount=type=cache` directories.
    pub cache_mounts: Usage,
    pub tmp: Usage,
}

impl DiskUsage {
    pub fn total_bytes(&self) -> u64 {
        self.blobs.bytes
            + self.layers.bytes
            + self.images.bytes
            + self.cache.bytes
            + self.cache_mounts.bytes
            + self.tmp.bytes
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FsckReport {
    pub blobs_checked: u64,
    /// Blobs whose content does not hash to their name.
    pub corrupt_blobs: Vec<Digest>,
    /// Files in `blobs/sha256/` whose name is not a digest.
    pub stray_files: Vec<PathBuf>,
    /// Tags whose manifest blob is absent.
    pub dangling_tags: Vec<TagRecord>,
    /// Blobs referenced from a tagged image that are absent: (referrer, missing).
    pub missing_blobs: Vec<(Digest, Digest)>,
    /// Whether corrupt blobs and stray files were deleted.
    pub repaired: bool,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.corrupt_blobs.is_empty()
            && self.stray_files.is_empty()
            && self.dangling_tags.is_empty()
            && self.missing_blobs.is_empty()
    }
}

/// A JSON document that may be a manifest, an index or a config; which keys
/// it has decides how it is followed. Parsed leniently: an unparsable blob is
/// a leaf, not an error (most blobs are layers).
#[derive(Deserialize)]
struct AnyDocument {
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
    #[serde(default)]
    rootfs: Option<serde_json::Value>,
}

pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let scan = |source| StoreError::Scan {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(scan)? {
        out.push(entry.map_err(scan)?.path());
    }
    out.sort();
    Ok(out)
}

/// Apparent size of a file or tree (symlinks not followed).
pub(crate) fn tree_size(path: &Path) -> io::Result<u64> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in fs::read_dir(path)? {
        total += tree_size(&entry?.path())?;
    }
    Ok(total)
}

/// The chain IDs of a layer stack, bottom first.
pub fn chain_ids(diff_ids: &[oci::DiffId]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.0.clone(),
            Some(parent) => Digest::of(format!("{parent} {}", diff_id.0).as_bytes()),
        };
        out.push(next);
    }
    out
}

/// Every `sha256:<64 lowercase hex>` in `bytes`.
fn digests_in(bytes: &[u8]) -> Vec<Digest> {
    const PREFIX: &[u8] = b"sha256:";
    let mut out = Vec::new();
    let mut i = 0;
    while i + PREFIX.len() + 64 <= bytes.len() {
        if &bytes[i..i + PREFIX.len()] == PREFIX {
            let hex = &bytes[i + PREFIX.len()..i + PREFIX.len() + 64];
            if let Ok(text) = std::str::from_utf8(hex)
                && let Ok(d) = format!("sha256:{text}").parse::<Digest>()
            {
                out.push(d);
                i += PREFIX.len() + 64;
                continue;
            }
        }
        i += 1;
    }
    out
}

struct Marks {
    blobs: HashSet<Digest>,
    layers: HashSet<Digest>,
    /// (referrer, missing) pairs found while marking.
    missing: Vec<(Digest, Digest)>,
}

impl Store {
    fn read_small_blob(&self, digest: &Digest) -> Option<Vec<u8>> {
        let file = fs::File::open(self.blob_path(digest)).ok()?;
        if file.metadata().ok()?.len() > MAX_DOCUMENT {
            return None;
        }
        let mut bytes = Vec::new();
        file.take(MAX_DOCUMENT).read_to_end(&mut bytes).ok()?;
        bytes.first().is_some_and(|b| *b == b'{').then_some(bytes)
    }

    fn mark(&self, roots: Vec<(Option<Digest>, Digest)>) -> Marks {
        let mut marks = Marks {
            blobs: HashSet::new(),
            layers: HashSet::new(),
            missing: Vec::new(),
        };
        let mut work = roots;
        while let Some((referrer, digest)) = work.pop() {
            // A root digest may name a layer directory directly (cache values).
            marks.layers.insert(digest.clone());
            if !marks.blobs.insert(digest.clone()) {
                continue;
            }
            if !self.has_blob(&digest) {
                if let Some(referrer) = referrer {
                    marks.missing.push((referrer, digest));
                }
                continue;
            }
            let Some(bytes) = self.read_small_blob(&digest) else {
                continue;
            };
            let Ok(doc) = serde_json::from_slice::<AnyDocument>(&bytes) else {
                continue;
            };
            if doc.manifests.is_some() {
                if let Ok(index) = serde_json::from_slice::<Index>(&bytes) {
                    for child in index.manifests {
                        work.push((Some(digest.clone()), child.digest));
                    }
                }
            } else if doc.layers.is_some() {
                if let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) {
                    work.push((Some(digest.clone()), manifest.config.digest));
                    for layer in manifest.layers {
                        work.push((Some(digest.clone()), layer.digest));
                    }
                }
            } else if doc.rootfs.is_some()
                && let Ok(config) = serde_json::from_slice::<ImageConfig>(&bytes)
            {
                marks.layers.extend(chain_ids(&config.rootfs.diff_ids));
            }
        }
        marks
    }

    fn cache_roots(&self) -> Result<Vec<(Option<Digest>, Digest)>, StoreError> {
        let mut roots = Vec::new();
        for path in list_dir(&self.root.join("cache"))? {
            let bytes = fs::read(&path).map_err(|source| StoreError::ReadRecord {
                path: path.clone(),
                source,
            })?;
            roots.extend(digests_in(&bytes).into_iter().map(|d| (None, d)));
        }
        Ok(roots)
    }

    /// Deletes blobs, layer directories and (per `options`) cache records no
    /// tag or cache record reaches, and all scratch space. Fails with
    /// [`StoreError::Busy`] when another process has the store open.
    pub fn prune(&mut self, options: &PruneOptions) -> Result<PruneReport, StoreError> {
        match self.lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                // flock(2) converts a lock by dropping the old one first, so
                // the failed upgrade may have released our shared lock.
                self.relock_shared()?;
                return Err(StoreError::Busy {
                    root: self.root.clone(),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                self.relock_shared()?;
                return Err(StoreError::Lock {
                    path: self.lock_path.clone(),
                    source,
                });
            }
        }
        let result = self.prune_locked(options);
        self.relock_shared()?;
        result
    }

    fn relock_shared(&self) -> Result<(), StoreError> {
        self.lock.lock_shared().map_err(|source| StoreError::Lock {
            path: self.lock_path.clone(),
            source,
        })
    }

    fn prune_locked(&self, options: &PruneOptions) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport::default();
        let remove = |path: &Path, report: &mut PruneReport| -> Result<(), StoreError> {
            report.bytes_freed += tree_size(path).map_err(|source| StoreError::Scan {
                path: path.to_path_buf(),
                source,
            })?;
            fsutil::remove_any(path).map_err(|source| StoreError::Remove {
                path: path.to_path_buf(),
                source,
            })
        };
        if let Some(age) = options.cache_older_than {
            let now = SystemTime::now();
            for path in list_dir(&self.root.join("cache"))? {
                let modified =
                    fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .map_err(|source| StoreError::Scan {
                            path: path.clone(),
                            source,
                        })?;
                let old = now.duration_since(modified).unwrap_or(Duration::ZERO);
                if old >= age {
                    remove(&path, &mut report)?;
                    report.cache_removed += 1;
                }
            }
            // Cache mounts are build cache too (BuildKit's `prune` drops
            // them with the rest). No build holds one: prune runs under the
            // exclusive store lock. A mount's `id` file is rewritten each
            // time a build uses it, so its mtime is the last use.
            let mounts = self.root.join(CACHE_MOUNTS);
            if mounts.is_dir() {
                for path in list_dir(&mounts)? {
                    let used = fs::metadata(path.join("id"))
                        .or_else(|_| fs::metadata(&path))
                        .and_then(|m| m.modified())
                        .map_err(|source| StoreError::Scan {
                            path: path.clone(),
                            source,
                        })?;
                    if now.duration_since(used).unwrap_or(Duration::ZERO) >= age {
                        remove(&path, &mut report)?;
                        report.cache_mounts_removed += 1;
                    }
                }
            }
        }
        let mut roots: Vec<(Option<Digest>, Digest)> = self
            .tags()?
            .into_iter()
            .map(|t| (None, t.manifest))
            .collect();
        roots.extend(self.cache_roots()?);
        let marks = self.mark(roots);

        for path in list_dir(&self.root.join("blobs/sha256"))? {
            let keep = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| format!("sha256:{n}").parse::<Digest>().ok())
                .is_some_and(|d| marks.blobs.contains(&d));
            if !keep {
                remove(&path, &mut report)?;
                report.blobs_removed += 1;
            }
        }
        let mut live_layers = BTreeSet::new();
        for path in list_dir(&self.root.join("layers"))? {
            let digest = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| format!("sha256:{n}").parse::<Digest>().ok());
            match digest {
                Some(d) if marks.layers.contains(&d) => {
                    live_layers.insert(d.hex().to_string());
                }
                _ => {
                    remove(&path, &mut report)?;
                    report.layers_removed += 1;
                }
            }
        }
        for path in list_dir(&self.root.join("locks"))? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(hex) = name
                .strip_prefix("layer-")
                .and_then(|n| n.strip_suffix(".lock"))
                && !live_layers.contains(hex)
            {
                remove(&path, &mut report)?;
            }
        }
        let tmp = self.root.join("tmp");
        report.bytes_freed +=
            scratch::clear_all_but(&tmp, &self.scratch).map_err(|source| StoreError::Remove {
                path: tmp.clone(),
                source,
            })?;
        Ok(report)
    }

    /// Sizes and counts per area of the store.
    pub fn du(&self) -> Result<DiskUsage, StoreError> {
        let area = |sub: &str| -> Result<Usage, StoreError> {
            let dir = self.root.join(sub);
            let mut usage = Usage::default();
            if sub == CACHE_MOUNTS && !dir.is_dir() {
                // Made by the first build that uses a cache mount.
                return Ok(usage);
            }
            for path in list_dir(&dir)? {
                usage.count += 1;
                usage.bytes += tree_size(&path).map_err(|source| StoreError::Scan {
                    path: path.clone(),
                    source,
                })?;
            }
            Ok(usage)
        };
        Ok(DiskUsage {
            blobs: area("blobs/sha256")?,
            layers: area("layers")?,
            images: area("images")?,
            cache: area("cache")?,
            cache_mounts: area(CACHE_MOUNTS)?,
            tmp: area("tmp")?,
        })
    }

    /// Re-hashes every blob and checks that tags and the images they name
    /// are complete. With `repair`, deletes corrupt blobs and stray files.
    pub fn fsck(&self, repair: bool) -> Result<FsckReport, StoreError> {
        let mut report = FsckReport {
            repaired: repair,
            ..FsckReport::default()
        };
        for path in list_dir(&self.root.join("blobs/sha256"))? {
            let named = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| format!("sha256:{n}").parse::<Digest>().ok());
            let bad = match named {
                None => {
                    report.stray_files.push(path.clone());
                    true
                }
                Some(digest) => {
                    report.blobs_checked += 1;
                    let mut file =
                        fs::File::open(&path).map_err(|source| StoreError::ReadBlob {
                            digest: digest.clone(),
                            path: path.clone(),
                            source,
                        })?;
                    let mut hasher = oci::Sha256Writer::new(io::sink());
                    io::copy(&mut file, &mut hasher).map_err(|source| StoreError::ReadBlob {
                        digest: digest.clone(),
                        path: path.clone(),
                        source,
                    })?;
                    let (_, actual, _) = hasher.finish();
                    let corrupt = actual != digest;
                    if corrupt {
                        report.corrupt_blobs.push(digest);
                    }
                    corrupt
                }
            };
            if bad && repair {
                fsutil::remove_any(&path).map_err(|source| StoreError::Remove {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        let tags = self.tags()?;
        let mut roots = Vec::new();
        for tag in tags {
            if self.has_blob(&tag.manifest) {
                roots.push((None, tag.manifest.clone()));
            } else {
                report.dangling_tags.push(tag);
            }
        }
        let mut marks = self.mark(roots);
        marks.missing.sort();
        marks.missing.dedup();
        report.missing_blobs = marks.missing;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_image_spec() {
        let a: Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
        let b: Digest = format!("sha256:{}", "b".repeat(64)).parse().unwrap();
        let ids = chain_ids(&[oci::DiffId(a.clone()), oci::DiffId(b.clone())]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn digests_are_found_in_opaque_values() {
        let d = Digest::of(b"x");
        let text = format!(
            "{{\"layer\":\"{d}\",\"junk\":\"sha256:zz\",\"x\":\"sha256:{}\"}}",
            "A".repeat(64)
        );
        assert_eq!(digests_in(text.as_bytes()), vec![d]);
    }
}
