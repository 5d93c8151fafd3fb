//! The build context: its `.dockerignore`, and the checksums of exactly the
//! files a COPY or ADD reads, for cache keys.
//!
//! A checksum covers each selected path's relative name, type, permission
//! bits, owner, size and content (or link target), never its mtime: a
//! touched-but-unchanged file must not invalidate the cache, and a file whose
//! content changed while its size and mtime did not must (moby/buildkit#4817).
//!
//! # The checksum cache
//!
//! Hashing every selected file on every build is what made a no-op rebuild
//! of a large context slow, so content hashes are remembered in the store,
//! one record per context directory, keyed by relative path and revalidated
//! with a cheap `lstat`: a hash is reused only while the file's device,
//! inode, size, mtime *and* ctime are all unchanged. The ctime is what keeps
//! the promise above: the kernel sets it to the current time on every write,
//! truncate, chmod, chown and `utimensat` (inode_set_ctime_current), and no
//! system call sets it to a chosen value, so restoring an old mtime after an
//! edit still changes the ctime. A hash is only remembered for a file whose
//! mtime and ctime are older than the moment this build started by
//! [`RACY_MARGIN`], because file timestamps come from a coarse clock: a file
//! written in the same tick as it was hashed could change again without its
//! timestamps moving (git's "racily clean" entries). Files are hashed in
//! parallel (rayon); the key is fed in the walk's sorted order, so
//! parallelism never changes a key.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dockerfile::pattern::{self, PatternMatcher};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use solver::CacheKey;

use crate::error::BuildError;
use crate::rootfs;

/// How much older than the build's start a file's mtime and ctime must be
/// for its hash to be remembered across builds. Linux stamps files from the
/// coarse realtime clock (one jiffy, up to 10 ms, behind the fine clock we
/// read), so a second is far beyond the window in which a write could leave
/// the timestamps unchanged.
pub(crate) const RACY_MARGIN: Duration = Duration::from_secs(1);

/// A loaded build context.
pub(crate) struct Context {
    pub dir: PathBuf,
    pub ignore: Option<PatternMatcher>,
    sums: Mutex<Sums>,
}

/// What `lstat` says about a file; a remembered hash is valid only while
/// every field is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Sum {
    stamp: Stamp,
    hash: [u8; 32],
    /// Whether the entry may be saved for later builds (not racily clean).
    durable: bool,
}

/// The checksum cache of one context directory for one build.
#[derive(Default)]
struct Sums {
    entries: HashMap<String, Sum>,
    /// Entries were added since the cache was loaded.
    dirty: bool,
    /// `(seconds, nanoseconds)` before which a timestamp is safely old.
    trusted_before: (i64, i64),
    hashed: usize,
    reused: usize,
}

impl Context {
    /// Reads the ignore file: `<Dockerfile>.dockerignore` beside the
    /// Dockerfile wins over `<context>/.dockerignore`, as in BuildKit.
    pub fn load(dir: &Path, dockerfile: &Path) -> Result<Context, BuildError> {
        let beside = dockerfile.file_name().map(|name| {
            let mut name = name.to_os_string();
            name.push(".dockerignore");
            dockerfile.with_file_name(name)
        });
        let candidates = beside.into_iter().chain([dir.join(".dockerignore")]);
        let mut ignore = None;
        for path in candidates {
            match fs::read_to_string(&path) {
                Ok(text) => {
                    let patterns = pattern::parse_ignore_file(&text);
                    let matcher =
                        PatternMatcher::new(&patterns).map_err(|source| BuildError::Ignore {
                            path: path.clone(),
                            source,
                        })?;
                    ignore = Some(matcher);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(BuildError::ReadContext { path, source }),
            }
        }
        Ok(Context::new(dir, ignore))
    }

    fn new(dir: &Path, ignore: Option<PatternMatcher>) -> Context {
        let trusted_before = SystemTime::now()
            .checked_sub(RACY_MARGIN)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| (d.as_secs() as i64, i64::from(d.subsec_nanos())))
            .unwrap_or((0, 0));
        Context {
            dir: dir.to_path_buf(),
            ignore,
            sums: Mutex::new(Sums {
                trusted_before,
                ..Sums::default()
            }),
        }
    }

    /// A stage's root filesystem read as a context, to key a
    /// `COPY --from=<stage>` by the content it selects: no ignore file, and
    /// nothing remembered between builds (the caller records the result).
    pub(crate) fn for_stage_root(root: &Path) -> Context {
        Context::new(root, None)
    }

    /// A named local context (`--build-context name=DIR`): only its own
    /// `.dockerignore` applies, as BuildKit's dockerui `NamedContext` reads
    /// it from the context itself.
    pub fn load_named(dir: &Path) -> Result<Context, BuildError> {
        let path = dir.join(".dockerignore");
        let ignore = match fs::read_to_string(&path) {
            Ok(text) => Some(
                PatternMatcher::new(&pattern::parse_ignore_file(&text)).map_err(|source| {
                    BuildError::Ignore {
                        path: path.clone(),
                        source,
                    }
                })?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(BuildError::ReadContext { path, source }),
        };
        Ok(Context::new(dir, ignore))
    }

    fn sums(&self) -> std::sync::MutexGuard<'_, Sums> {
        self.sums.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's cache-index key of this context's checksum record. The
    /// directory is canonicalised so that two spellings share one record.
    fn record_key(&self) -> String {
        let dir = fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("context-checksums/v1 {}", dir.display())
    }

    /// Loads the hashes remembered by earlier builds. A missing, unreadable
    /// or corrupt record is an empty cache: it only costs rehashing.
    pub fn load_checksum_cache(&self, store: &store::Store) {
        let Some(bytes) = store.cache_get(&self.record_key()).ok().flatten() else {
            return;
        };
        if let Some(entries) = decode_sums(&bytes) {
            self.sums().entries = entries;
        }
    }

    /// Saves the durable hashes for later builds, when this build hashed
    /// anything new. Entries of files this build did not look at are kept:
    /// another Dockerfile may COPY them from the same context. Entries of
    /// files that no longer exist are dropped, so the record does not grow
    /// with every file ever deleted from the context; the check costs a
    /// stat per entry, paid only by a build that hashed something.
    pub fn save_checksum_cache(&self, store: &store::Store) -> Result<(), store::StoreError> {
        let bytes = {
            let mut sums = self.sums();
            if !sums.dirty {
                return Ok(());
            }
            let gone: Vec<String> = sums
                .entries
                .par_iter()
                .filter(|(relative, _)| {
                    fs::symlink_metadata(self.dir.join(relative.as_str()))
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                })
                .map(|(relative, _)| relative.clone())
                .collect();
            for relative in gone {
                sums.entries.remove(&relative);
            }
            encode_sums(&sums.entries)
        };
        store.cache_put(&self.record_key(), &bytes)
    }

    /// How many files this build hashed, and how many hashes it reused.
    #[cfg(test)]
    pub fn checksum_counts(&self) -> (usize, usize) {
        let sums = self.sums();
        (sums.hashed, sums.reused)
    }

    pub(crate) fn ignored(&self, relative: &str) -> bool {
        !relative.is_empty()
            && self
                .ignore
                .as_ref()
                .is_some_and(|m| m.matches_or_parent_matches(relative))
    }

    /// Adds the checksum of every context file `sources` select to `key`.
    pub fn checksum(&self, sources: &[String], key: &mut CacheKey) -> Result<(), BuildError> {
        for source in sources {
            key.field("source").field(source);
            for relative in self.expand(source)? {
                let Some(resolved) = rootfs::resolve(&self.dir, &relative) else {
                    key.field("missing").field(&relative);
                    continue;
                };
                let resolved_relative = resolved
                    .strip_prefix(&self.dir)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                key.field("match").field(&relative);
                let mut entries = Vec::new();
                self.walk(&resolved, &resolved_relative, &mut entries)?;
                // Remembered hashes are taken under one lock, in one pass;
                // only the files that need reading go to the thread pool.
                // (Locking per file from the pool made the threads contend
                // on a warm build that hashes nothing.)
                let mut hashes: Vec<Option<[u8; 32]>> = vec![None; entries.len()];
                let mut unknown = Vec::new();
                {
                    let mut sums = self.sums();
                    for (index, entry) in entries.iter().enumerate() {
                        if !matches!(entry.kind, EntryKind::File) {
                            continue;
                        }
                        match sums.entries.get(&entry.relative) {
                            Some(sum) if sum.stamp == entry.stamp => {
                                hashes[index] = Some(sum.hash);
                                sums.reused += 1;
                            }
                            _ => unknown.push(index),
                        }
                    }
                }
                let computed = unknown
                    .par_iter()
                    .map(|&index| self.file_hash(&entries[index]).map(|hash| (index, hash)))
                    .collect::<Result<Vec<_>, _>>()?;
                for (index, hash) in computed {
                    hashes[index] = Some(hash);
                }
                for (entry, hash) in entries.iter().zip(hashes) {
                    entry.feed(key, hash);
                }
            }
        }
        Ok(())
    }

    /// The context-relative paths a source selects (wildcards expanded per
    /// path component, as Go's filepath.Glob does).
    fn expand(&self, source: &str) -> Result<Vec<String>, BuildError> {
        let components: Vec<&str> = rootfs::clean(source);
        let mut matches = vec![String::new()];
        for component in components {
            let mut next = Vec::new();
            for prefix in &matches {
                if !pattern::has_wildcards(component) {
                    next.push(join(prefix, component));
                    continue;
                }
                let Some(dir) = rootfs::resolve(&self.dir, prefix) else {
                    continue;
                };
                let Ok(entries) = fs::read_dir(&dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for name in names {
                    if pattern::filepath_match(component, &name).unwrap_or(false) {
                        let path = join(prefix, &name);
                        if !self.ignored(&path) {
                            next.push(path);
                        }
                    }
                }
            }
            matches = next;
        }
        Ok(matches)
    }

    /// Collects, in sorted order, every path under `path` that the checksum
    /// covers; file contents are hashed afterwards, in parallel.
    fn walk(&self, path: &Path, relative: &str, out: &mut Vec<Entry>) -> Result<(), BuildError> {
        if self.skipped(relative) {
            return Ok(());
        }
        let meta = fs::symlink_metadata(path).map_err(|source| BuildError::ReadContext {
            path: path.to_path_buf(),
            source,
        })?;
        self.walk_entry(path, None, relative.to_string(), meta, 0, out)
    }

    /// An ignored path with no `!` exception below it: nothing under it is
    /// read, not even its metadata.
    fn skipped(&self, relative: &str) -> bool {
        self.ignored(relative) && !self.ignore.as_ref().is_some_and(|m| m.has_exclusions())
    }

    /// One entry whose metadata is known, then (for a directory) its
    /// children. A directory's children are stat'ed relative to it while
    /// reading it (`DirEntry::metadata` is `fstatat` on the open directory,
    /// so the kernel does not walk the whole path again for each). The top
    /// [`PARALLEL_DEPTH`] levels are walked in parallel, each subtree below
    /// them sequentially into one vector, so an entry is moved a bounded
    /// number of times; the result keeps the sorted order, which is the
    /// order the key is fed in. For a warm build of a 20k-file context this
    /// walk is most of the work.
    ///
    /// The entry's host path is `dir` joined with `name` (`dir` itself for
    /// the walk's root), built only where it is used: for a directory to
    /// read, a link to read, or an error to report. Building it for every
    /// file, and cloning each file's relative path into its entry, were
    /// two of the four allocations per file of a warm build's walk.
    fn walk_entry(
        &self,
        dir: &Path,
        name: Option<&std::ffi::OsStr>,
        mut relative: String,
        meta: fs::Metadata,
        depth: usize,
        out: &mut Vec<Entry>,
    ) -> Result<(), BuildError> {
        let path = || match name {
            Some(name) => dir.join(name),
            None => dir.to_path_buf(),
        };
        let read_error = |source| BuildError::ReadContext {
            path: path(),
            source,
        };
        let file_type = meta.file_type();
        let ignored = self.ignored(&relative);
        let kind = if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_symlink() {
            if ignored {
                return Ok(());
            }
            EntryKind::Symlink(fs::read_link(path()).map_err(read_error)?)
        } else if file_type.is_block_device() || file_type.is_char_device() {
            EntryKind::Device
        } else {
            EntryKind::Other
        };
        let is_dir = matches!(kind, EntryKind::Dir);
        if !ignored {
            out.push(Entry {
                // A directory's children still need its path; anything
                // else gives its own away.
                relative: if is_dir {
                    relative.clone()
                } else {
                    std::mem::take(&mut relative)
                },
                kind,
                mode: meta.mode(),
                uid: meta.uid(),
                gid: meta.gid(),
                rdev: meta.rdev(),
                stamp: Stamp::of(&meta),
            });
        }
        if !is_dir {
            return Ok(());
        }
        let path = path();
        let mut children = Vec::new();
        for entry in fs::read_dir(&path).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name();
            let child_relative = join(&relative, &name.to_string_lossy());
            if self.skipped(&child_relative) {
                continue;
            }
            let child_meta = entry.metadata().map_err(|source| BuildError::ReadContext {
                path: entry.path(),
                source,
            })?;
            children.push((name, child_relative, child_meta));
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let walk_child =
            |(name, child_relative, child_meta): (std::ffi::OsString, String, fs::Metadata),
             out: &mut Vec<Entry>| {
                self.walk_entry(
                    &path,
                    Some(&name),
                    child_relative,
                    child_meta,
                    depth + 1,
                    out,
                )
            };
        if depth >= PARALLEL_DEPTH {
            for child in children {
                walk_child(child, out)?;
            }
            return Ok(());
        }
        let walked = children
            .into_par_iter()
            .map(|child| {
                let mut below = Vec::new();
                walk_child(child, &mut below)?;
                Ok(below)
            })
            .collect::<Result<Vec<Vec<Entry>>, BuildError>>()?;
        for below in walked {
            out.extend(below);
        }
        Ok(())
    }

    /// Reads and hashes a regular file whose remembered hash is missing or
    /// stale (`checksum` looks the cache up first), and remembers it.
    fn file_hash(&self, entry: &Entry) -> Result<[u8; 32], BuildError> {
        let stamp = entry.stamp;
        let path = self.dir.join(&entry.relative);
        let hash = hash_file(&path, stamp.size).map_err(|source| BuildError::ReadContext {
            path: path.clone(),
            source,
        })?;
        // Stat again after reading: a file that changed while we read it
        // gets a new stamp, and its hash is used for this build only.
        let after = fs::symlink_metadata(&path).map(|m| Stamp::of(&m));
        let mut sums = self.sums();
        let durable = after.as_ref().is_ok_and(|after| *after == stamp)
            && stamp.mtime < sums.trusted_before
            && stamp.ctime < sums.trusted_before;
        sums.hashed += 1;
        let previous = sums.entries.insert(
            entry.relative.clone(),
            Sum {
                stamp,
                hash,
                durable,
            },
        );
        if durable || previous.is_some_and(|p| p.durable) {
            sums.dirty = true;
        }
        Ok(hash)
    }
}

/// How many directory levels below a checksummed source are walked in
/// parallel (enough subtrees to keep every core busy on a source tree).
const PARALLEL_DEPTH: usize = 2;

/// One path the checksum covers, in walk order. Kept small, because a
/// large context has tens of thousands and the parallel walk moves them:
/// only the metadata the key and the checksum cache use, and no host path
/// (the context dir joined with `relative` gives it when a file is read).
struct Entry {
    relative: String,
    kind: EntryKind,
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    stamp: Stamp,
}

enum EntryKind {
    File,
    Symlink(PathBuf),
    Dir,
    Device,
    Other,
}

impl Entry {
    fn feed(&self, key: &mut CacheKey, hash: Option<[u8; 32]>) {
        key.field(&self.relative)
            .field(self.mode.to_le_bytes())
            .field(self.uid.to_le_bytes())
            .field(self.gid.to_le_bytes());
        match &self.kind {
            EntryKind::File => {
                key.field("file")
                    .field(self.stamp.size.to_le_bytes())
                    .field(hash.unwrap_or_default());
            }
            EntryKind::Symlink(target) => {
                key.field("symlink")
                    .field(target.as_os_str().as_encoded_bytes());
            }
            EntryKind::Dir => {
                key.field("dir");
            }
            EntryKind::Device => {
                key.field("device").field(self.rdev.to_le_bytes());
            }
            EntryKind::Other => {
                key.field("other");
            }
        }
    }
}

const RECORD_MAGIC: &[u8] = b"decant context checksums v1\n";

/// The record: the magic line, then per entry a little-endian u32 path
/// length, the path, dev, ino, size, mtime s/ns, ctime s/ns (8 bytes each)
/// and the 32-byte sha256. Binary because a large context has tens of
/// thousands of entries and a warm build reads them all.
fn encode_sums(entries: &HashMap<String, Sum>) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_MAGIC.len() + entries.len() * 128);
    out.extend_from_slice(RECORD_MAGIC);
    let mut names: Vec<&String> = entries
        .iter()
        .filter(|(_, sum)| sum.durable)
        .map(|(name, _)| name)
        .collect();
    names.sort();
    for name in names {
        let sum = &entries[name];
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        let s = &sum.stamp;
        for field in [s.dev, s.ino, s.size] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&sum.hash);
    }
    out
}

/// Parses a record; `None` for anything malformed (it is then ignored).
fn decode_sums(bytes: &[u8]) -> Option<HashMap<String, Sum>> {
    let mut rest = bytes.strip_prefix(RECORD_MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    // A record entry is about 100 bytes; sizing the map up front spares the
    // rehashes of growing it to tens of thousands of entries.
    let mut entries = HashMap::with_capacity(bytes.len() / 100);
    while let Some(len) = take(4) {
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let name = std::str::from_utf8(take(len)?).ok()?.to_string();
        let mut u = [0u64; 3];
        for field in &mut u {
            *field = u64::from_le_bytes(take(8)?.try_into().ok()?);
        }
        let mut i = [0i64; 4];
        for field in &mut i {
            *field = i64::from_le_bytes(take(8)?.try_into().ok()?);
        }
        let hash: [u8; 32] = take(32)?.try_into().ok()?;
        entries.insert(
            name,
            Sum {
                stamp: Stamp {
                    dev: u[0],
                    ino: u[1],
                    size: u[2],
                    mtime: (i[0], i[1]),
                    ctime: (i[2], i[3]),
                },
                hash,
                durable: true,
            },
        );
    }
    Some(entries)
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// `size` only sizes the buffer: most context files are small, and a
/// quarter-megabyte allocation per file dominated hashing a source tree.
fn hash_file(path: &Path, size: u64) -> std::io::Result<[u8; 32]> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; size.clamp(4096, 256 * 1024) as usize];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use solver::CacheKey;

    use super::Context;

    type Mutation = fn(&Path);

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write fixture");
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(time))
            .expect("set mtime");
    }

    /// Each case: a change to a context holding `a.txt`, `b.txt` and
    /// `sub/c.txt`, whether the key must change, and how many files the
    /// second build must hash (the rest come from the cache).
    const CASES: &[(&str, Mutation, bool, usize)] = &[
        ("nothing changed", |_| {}, false, 0),
        (
            "touched without a content change",
            |d| {
                set_mtime(
                    &d.join("a.txt"),
                    SystemTime::now() + Duration::from_secs(60),
                )
            },
            false,
            1,
        ),
        (
            // moby/buildkit#4817: same size, mtime put back after the edit.
            "same-size edit with its mtime restored",
            |d| {
                let path = d.join("a.txt");
                let mtime = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .expect("mtime");
                std::fs::write(&path, "AAAA").expect("edit");
                set_mtime(&path, mtime);
            },
            true,
            1,
        ),
        (
            "chmod",
            |d| {
                std::fs::set_permissions(d.join("b.txt"), std::fs::Permissions::from_mode(0o600))
                    .expect("chmod")
            },
            true,
            1,
        ),
        (
            "replaced by an identical file (new inode)",
            |d| {
                write(d, "c.new", "cccc");
                std::fs::rename(d.join("c.new"), d.join("sub/c.txt")).expect("rename");
            },
            false,
            1,
        ),
        ("new file", |d| write(d, "sub/d.txt", "dddd"), true, 1),
    ];

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.txt", "aaaa");
        write(dir.path(), "b.txt", "bbbb");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        write(dir.path(), "sub/c.txt", "cccc");
        dir
    }

    /// A context whose every hash counts as durable, as if its files were
    /// old, so that the cache path is exercised on freshly written files.
    fn context(dir: &Path, store: &store::Store) -> Context {
        let context = Context::load(dir, &dir.join("Dockerfile")).expect("load");
        context.sums().trusted_before = (i64::MAX, 0);
        context.load_checksum_cache(store);
        context
    }

    fn key(context: &Context) -> oci::Digest {
        let mut key = CacheKey::new("test");
        context
            .checksum(&[".".to_string()], &mut key)
            .expect("checksum");
        key.finish()
    }

    #[test]
    fn checksum_cache_revalidates_every_change_that_matters() {
        for (name, mutate, changes, rehashed) in CASES {
            let dir = fixture();
            let store_dir = tempfile::tempdir().expect("tempdir");
            let store = store::Store::open(store_dir.path()).expect("store");
            let first = context(dir.path(), &store);
            let before = key(&first);
            assert_eq!(first.checksum_counts(), (3, 0), "{name}: first build");
            first.save_checksum_cache(&store).expect("save");
            // Past the coarse timestamp clock's tick, so that a write gets a
            // new ctime (what the racy margin guards against in real builds).
            std::thread::sleep(Duration::from_millis(30));
            mutate(dir.path());
            let second = context(dir.path(), &store);
            let after = key(&second);
            assert_eq!(before != after, *changes, "{name}: key changed");
            assert_eq!(
                second.checksum_counts().0,
                *rehashed,
                "{name}: files hashed"
            );
            // Without the cache the key is the same: the cache never decides it.
            let cold_store_dir = tempfile::tempdir().expect("tempdir");
            let cold = context(
                dir.path(),
                &store::Store::open(cold_store_dir.path()).expect("store"),
            );
            assert_eq!(key(&cold), after, "{name}: cached and uncached keys agree");
        }
    }

    /// The checksum record kept an entry for every file ever deleted from
    /// the context.
    #[test]
    fn checksum_record_forgets_deleted_files() {
        let dir = fixture();
        let store_dir = tempfile::tempdir().expect("tempdir");
        let store = store::Store::open(store_dir.path()).expect("store");
        let first = context(dir.path(), &store);
        key(&first);
        first.save_checksum_cache(&store).expect("save");
        std::fs::remove_file(dir.path().join("b.txt")).expect("rm");
        std::thread::sleep(Duration::from_millis(30));
        write(dir.path(), "a.txt", "edited");
        let second = context(dir.path(), &store);
        key(&second);
        second.save_checksum_cache(&store).expect("save");
        let third = context(dir.path(), &store);
        let mut remembered: Vec<String> = third.sums().entries.keys().cloned().collect();
        remembered.sort();
        assert_eq!(remembered, ["a.txt", "sub/c.txt"]);
    }

    #[test]
    fn racily_clean_files_are_not_remembered() {
        let dir = fixture();
        let store_dir = tempfile::tempdir().expect("tempdir");
        let store = store::Store::open(store_dir.path()).expect("store");
        // Files written just now are newer than the racy margin allows.
        let first = Context::load(dir.path(), &dir.path().join("Dockerfile")).expect("load");
        first.load_checksum_cache(&store);
        key(&first);
        first.save_checksum_cache(&store).expect("save");
        let second = context(dir.path(), &store);
        key(&second);
        assert_eq!(second.checksum_counts(), (3, 0));
    }

    #[test]
    fn corrupt_checksum_records_are_ignored() {
        for bytes in [
            &b""[..],
            b"garbage",
            b"decant context checksums v1\n\xff\xff\xff\xff",
            b"decant context checksums v1\n\x01\x00\x00\x00a",
        ] {
            assert!(
                super::decode_sums(bytes).is_none_or(|e| e.is_empty()),
                "{bytes:?}"
            );
        }
    }
}
