//! The on-disk content-addressed store under one root directory: blobs by
//! digest (atomic, verified), tags, unpacked layers keyed by chain ID, the
//! build cache index, a cross-process lock and garbage collection.
//!
//! # Layout
//!
//! ```text
//! <root>/                       mode 0700
//!   blobs/sha256/<hex>          immutable, name = sha256 of the content
//!   layers/<chain-id-hex>/      unpacked layer (overlay lower dir format)
//!   images/<sha256(name)>.json  tag record {"name", "manifest"}
//!   cache/<sha256(key)>         cache value bytes
//!   locks/store.lock            shared by every user, exclusive for prune
//!   locks/layer-<hex>.lock      serialises unpacking of one layer
//!   tmp/<id>/, tmp/<id>.lock    per-process scratch (see `scratch`)
//!   unsynced/<boot-id>/<hex>    layers published without a sync (see `unsynced`)
//! ```
//!
//! # Promises
//!
//! * A file under `blobs/` always matches its name. Blobs are written into
//!   the process's scratch dir while being hashed, fsynced, verified, then
//!   renamed into place and the directory fsynced. A mismatch is deleted and
//!   never visible; a crash leaves only scratch files, which the next
//!   [`Store::open`] reclaims. Two writers of one blob race harmlessly: the
//!   content is identical and rename is atomic.
//! * A layer directory is complete iff it exists under its final name: it is
//!   filled under `tmp/`, then renamed. It is not synced first; a marker
//!   made before the rename lets the first open after a crash delete it
//!   (see `unsynced`). A per-layer file lock makes a second process wait
//!   for the first instead of unpacking twice.
//! * Tags and cache values are small files replaced atomically.
//! * Every open store holds a shared flock on `locks/store.lock`; [`Store::prune`]
//!   converts it to exclusive, so GC never races another process's ingest.
//!
//! Architecture Invariant: the store knows nothing of HTTP or of the build
//! graph. It knows the OCI manifest/index/config shapes only to find the
//! references that keep blobs and layer directories alive during GC.

mod error;
mod fsutil;
mod gc;
mod scratch;
mod unsynced;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use oci::{Digest, Sha256Writer};
use serde::{Deserialize, Serialize};

pub use error::StoreError;
pub use gc::{CACHE_MOUNTS, DiskUsage, FsckReport, PruneOptions, PruneReport, Usage, chain_ids};

/// What a layer-directory fill callback may fail with.
pub type FillError = Box<dyn std::error::Error + Send + Sync>;

/// The store rooted at one directory. `Sync`: share it between threads by
/// reference; [`Store::prune`] takes `&mut self` so that GC cannot overlap
/// with this process's own ingests.
pub struct Store {
    root: PathBuf,
    lock_path: PathBuf,
    /// Shared flock for the store's lifetime (exclusive during prune).
    lock: File,
    scratch: scratch::Scratch,
    /// This boot's id, which marks layers published without a sync.
    boot: Option<String>,
}

/// One tag record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub name: String,
    pub manifest: Digest,
}

impl Store {
    /// Opens (creating if needed) the store at `root`, takes the shared
    /// store lock (waiting while a prune runs) and reclaims the scratch
    /// space of dead processes.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for sub in ["blobs/sha256", "layers", "images", "cache", "locks", "tmp"] {
            let path = root.join(sub);
            fsutil::create_private_dir(&path)
                .map_err(|source| StoreError::CreateDir { path, source })?;
        }
        let lock_path = root.join("locks/store.lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| StoreError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        let boot = unsynced::boot_id();
        let scan_error = |source| StoreError::Scan {
            path: root.join("unsynced"),
            source,
        };
        if let Some(boot) = &boot
            && unsynced::has_stale(root, boot).map_err(scan_error)?
        {
            // The first open after a reboot: no other process may be using
            // a layer while it is deleted. flock(2) turns this exclusive
            // lock into the shared one below. A second process that saw
            // the markers before the first removed them waits here until
            // the first build ends; that is slow but rare, and a process
            // opens the store once, so it never waits on itself.
            lock.lock().map_err(|source| StoreError::Lock {
                path: lock_path.clone(),
                source,
            })?;
            unsynced::discard_stale(root, boot).map_err(|source| StoreError::Remove {
                path: root.join("layers"),
                source,
            })?;
        }
        lock.lock_shared().map_err(|source| StoreError::Lock {
            path: lock_path.clone(),
            source,
        })?;
        if let Some(boot) = &boot {
            unsynced::settle(root, boot).map_err(scan_error)?;
        }
        let tmp = root.join("tmp");
        scratch::reclaim_dead(&tmp).map_err(|source| StoreError::Scan {
            path: tmp.clone(),
            source,
        })?;
        let scratch = scratch::Scratch::create(&tmp)
            .map_err(|source| StoreError::CreateDir { path: tmp, source })?;
        Ok(Store {
            root: root.to_path_buf(),
            lock_path,
            lock,
            scratch,
            boot,
        })
    }

    /// `/var/lib/decant` for root, `$XDG_DATA_HOME/decant` (default
    /// `~/.local/share/decant`) otherwise. The cli lets `--root` and
    /// `DECANT_ROOT` override it.
    pub fn default_root() -> PathBuf {
        if rustix::process::geteuid().is_root() {
            return PathBuf::from("/var/lib/decant");
        }
        if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(data).join("decant");
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".local/share/decant"),
            None => PathBuf::from("/var/lib/decant"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This process's scratch directory on the store's filesystem. Callers
    /// put short-lived work there (the engine's step snapshots), so that a
    /// rename into `layers/` works and a crash's leftovers are reclaimed by
    /// the next [`Store::open`] like any other dead scratch.
    pub fn scratch_dir(&self) -> &Path {
        &self.scratch.dir
    }

    // ---- blobs ----

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Writes a blob produced by `fill`, hashing and counting while it
    /// writes. With `expected`, content that hashes differently is discarded
    /// and [`StoreError::DigestMismatch`] returned. Returns the digest and size.
    pub fn write_blob(
        &self,
        expected: Option<&Digest>,
        fill: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(Digest, u64), StoreError> {
        let scratch = &self.scratch.dir;
        let write_err = |source| StoreError::WriteBlob {
            path: scratch.clone(),
            source,
        };
        // The temp file is deleted on drop, so every early return below
        // (fill error, mismatch) leaves nothing behind.
        let tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(scratch)
            .map_err(write_err)?;
        let mut writer = Sha256Writer::new(BufWriter::with_capacity(1 << 20, tmp.as_file()));
        fill(&mut writer).map_err(write_err)?;
        let (buffered, digest, size) = writer.finish();
        let file = buffered
            .into_inner()
            .map_err(|e| write_err(e.into_error()))?;
        if let Some(expected) = expected
            && *expected != digest
        {
            return Err(StoreError::DigestMismatch {
                expected: expected.clone(),
                actual: digest,
            });
        }
        let final_path = self.blob_path(&digest);
        if final_path.is_file() {
            return Ok((digest, size));
        }
        file.sync_all().map_err(write_err)?;
        // Blobs are immutable; read-only makes accidental in-place edits fail.
        let mut perms = file.metadata().map_err(write_err)?.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
        file.set_permissions(perms).map_err(write_err)?;
        let path_err = |source| StoreError::WriteBlob {
            path: final_path.clone(),
            source,
        };
        tmp.persist(&final_path).map_err(|e| path_err(e.error))?;
        fsutil::sync_dir(&self.root.join("blobs/sha256")).map_err(path_err)?;
        Ok((digest, size))
    }

    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        // A rebuild from the cache puts the same config and manifest again:
        // hashing in memory first spares it a temp file and an fsync.
        let mut hashed = Sha256Writer::new(io::sink());
        hashed
            .write_all(bytes)
            .map_err(|source| StoreError::WriteRecord {
                path: self.root.join("blobs"),
                source,
            })?;
        let (_, digest, _) = hashed.finish();
        if self.has_blob(&digest) {
            return Ok(digest);
        }
        let (digest, _) = self.write_blob(None, &mut |w| w.write_all(bytes))?;
        Ok(digest)
    }

    /// Opens a blob for streaming reads.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                StoreError::BlobNotFound {
                    digest: digest.clone(),
                }
            } else {
                StoreError::ReadBlob {
                    digest: digest.clone(),
                    path,
                    source,
                }
            }
        })
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let mut bytes = Vec::new();
        self.open_blob(digest)?
            .read_to_end(&mut bytes)
            .map_err(|source| StoreError::ReadBlob {
                digest: digest.clone(),
                path: self.blob_path(digest),
                source,
            })?;
        Ok(bytes)
    }

    /// Size of a stored blob, `None` when absent.
    pub fn blob_size(&self, digest: &Digest) -> Option<u64> {
        fs::metadata(self.blob_path(digest)).ok().map(|m| m.len())
    }

    // ---- unpacked layers ----

    fn layer_path(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers").join(chain_id.hex())
    }

    /// The unpacked layer for `chain_id`, when complete.
    pub fn layer_dir(&self, chain_id: &Digest) -> Option<PathBuf> {
        let path = self.layer_path(chain_id);
        path.is_dir().then_some(path)
    }

    /// Returns the layer directory for `chain_id`, creating it with `fill`
    /// (handed an empty directory on the same filesystem) when absent. When
    /// another thread or process is already filling it, waits and returns
    /// its result instead of unpacking again.
    pub fn create_layer_dir(
        &self,
        chain_id: &Digest,
        fill: &mut dyn FnMut(&Path) -> Result<(), FillError>,
    ) -> Result<PathBuf, StoreError> {
        let final_path = self.layer_path(chain_id);
        if final_path.is_dir() {
            return Ok(final_path);
        }
        let create_err = |path: &Path, source| StoreError::CreateLayer {
            chain_id: chain_id.clone(),
            path: path.to_path_buf(),
            source,
        };
        let lock_path = self
            .root
            .join("locks")
            .join(format!("layer-{}.lock", chain_id.hex()));
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| create_err(&lock_path, e))?;
        // flock locks belong to the open file description, so this also
        // serialises threads of this process, each with its own open().
        lock.lock().map_err(|source| StoreError::Lock {
            path: lock_path.clone(),
            source,
        })?;
        if final_path.is_dir() {
            return Ok(final_path);
        }
        let work = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(&self.scratch.dir)
            .map_err(|e| create_err(&self.scratch.dir, e))?;
        let content = work.path().join("d");
        fsutil::create_private_dir(&content).map_err(|e| create_err(&content, e))?;
        fill(&content).map_err(|source| StoreError::FillLayer {
            chain_id: chain_id.clone(),
            path: content.clone(),
            source,
        })?;
        match &self.boot {
            // Published unsynced; the marker lets a crash be undone.
            Some(boot) => unsynced::mark(&self.root, boot, chain_id)
                .map_err(|e| create_err(&self.root.join("unsynced"), e))?,
            // No way to tell a reboot: make the contents durable first (one
            // syncfs is far cheaper than an fsync per file).
            None => {
                let dir = File::open(&content).map_err(|e| create_err(&content, e))?;
                rustix::fs::syncfs(&dir).map_err(|e| create_err(&content, e.into()))?;
            }
        }
        fs::rename(&content, &final_path).map_err(|e| create_err(&final_path, e))?;
        drop(lock);
        Ok(final_path)
    }

    // ---- tags ----

    fn tag_path(&self, name: &str) -> PathBuf {
        // Names contain '/' and ':'; hashing them gives a flat, injection-free
        // file name, and the record inside keeps the name for listing.
        self.root
            .join("images")
            .join(format!("{}.json", Digest::of(name.as_bytes()).hex()))
    }

    /// Points tag `name` at `manifest` (atomically replacing an old target).
    pub fn tag(&self, name: &str, manifest: &Digest) -> Result<(), StoreError> {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::InvalidTagName {
                name: name.to_string(),
            });
        }
        let path = self.tag_path(name);
        if self.resolve_tag(name).ok().flatten().as_ref() == Some(manifest) {
            // Already so: a no-op rebuild rewrites nothing.
            return Ok(());
        }
        let record = TagRecord {
            name: name.to_string(),
            manifest: manifest.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| StoreError::WriteRecord {
            path: path.clone(),
            source: e.into(),
        })?;
        fsutil::write_atomic(&self.scratch.dir, &path, &bytes)
            .map_err(|source| StoreError::WriteRecord { path, source })
    }

    pub fn resolve_tag(&self, name: &str) -> Result<Option<Digest>, StoreError> {
        let path = self.tag_path(name);
        let Some(bytes) =
            fsutil::read_optional(&path).map_err(|source| StoreError::ReadRecord {
                path: path.clone(),
                source,
            })?
        else {
            return Ok(None);
        };
        let record: TagRecord = serde_json::from_slice(&bytes)
            .map_err(|source| StoreError::CorruptRecord { path, source })?;
        Ok(Some(record.manifest))
    }

    /// Removes a tag; returns whether it existed.
    pub fn untag(&self, name: &str) -> Result<bool, StoreError> {
        let path = self.tag_path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Remove { path, source }),
        }
    }

    /// Every tag, sorted by name.
    pub fn tags(&self) -> Result<Vec<TagRecord>, StoreError> {
        let dir = self.root.join("images");
        let mut out = Vec::new();
        for path in gc::list_dir(&dir)? {
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes = fs::read(&path).map_err(|source| StoreError::ReadRecord {
                path: path.clone(),
                source,
            })?;
            let record: TagRecord = serde_json::from_slice(&bytes)
                .map_err(|source| StoreError::CorruptRecord { path, source })?;
            out.push(record);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    // ---- cache index ----

    fn cache_path(&self, key: &str) -> PathBuf {
        self.root
            .join("cache")
            .join(Digest::of(key.as_bytes()).hex())
    }

    /// The value stored under `key`. Every `sha256:<hex>` text inside a value
    /// keeps the blob and layer directory of that digest alive during GC.
    pub fn cache_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.cache_path(key);
        fsutil::read_optional(&path).map_err(|source| StoreError::ReadRecord { path, source })
    }

    pub fn cache_put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let path = self.cache_path(key);
        fsutil::write_atomic(&self.scratch.dir, &path, value)
            .map_err(|source| StoreError::WriteRecord { path, source })
    }

    pub fn cache_remove(&self, key: &str) -> Result<bool, StoreError> {
        let path = self.cache_path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Remove { path, source }),
        }
    }
}
