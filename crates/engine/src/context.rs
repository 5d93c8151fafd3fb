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
//! parallelism never changes a key. The record's format and its lookup by
//! merge join are in `checksum_record`.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::fs;
use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dockerfile::pattern::{self, PatternMatcher};
use rayon::prelude::*;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir, StatxFlags};
use sha2::{Digest as _, Sha256};
use solver::{CacheKey, Fields, Reserved};

use crate::checksum_record::{Cursor, Record, Remembered, Stamp};
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
    /// The hashes earlier builds remembered. It is read-only during a
    /// build, so the walk's threads look their files up in it without a
    /// lock.
    record: Record,
    sums: Mutex<Sums>,
}

/// A hash this build computed.
#[derive(Clone, Copy, Debug)]
struct Sum {
    remembered: Remembered,
    /// Whether the entry may be saved for later builds (not racily clean).
    durable: bool,
}

/// What one build adds to the checksum cache of its context directory.
#[derive(Default)]
struct Sums {
    /// Hashes computed by this build, by relative path.
    fresh: HashMap<String, Sum>,
    /// The record must be saved again: it gained durable entries, or one of
    /// its entries went stale.
    dirty: bool,
    /// `(seconds, nanoseconds)` before which a timestamp is safely old.
    trusted_before: (i64, i64),
    hashed: usize,
    reused: usize,
}

impl Context {
    /// Reads the ignore file: `<Dockerfile>.dockerignore` beside the
    /// Dockerfile (when it is a file) wins over `<context>/.dockerignore`,
    /// as in BuildKit.
    pub fn load(dir: &Path, dockerfile: Option<&Path>) -> Result<Context, BuildError> {
        let dir = &real_dir(dir)?;
        let beside = dockerfile.and_then(|dockerfile| {
            let mut name = dockerfile.file_name()?.to_os_string();
            name.push(".dockerignore");
            Some(dockerfile.with_file_name(name))
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
            record: Record::default(),
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
        let dir = &real_dir(dir)?;
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
    /// directory is canonical (see [`real_dir`]), so that two spellings of
    /// it share one record.
    fn record_key(&self) -> String {
        format!("context-checksums/v1 {}", self.dir.display())
    }

    /// Loads the hashes remembered by earlier builds. A missing, unreadable
    /// or corrupt record is an empty cache: it only costs rehashing.
    pub fn load_checksum_cache(&mut self, store: &store::Store) {
        let Some(bytes) = store.cache_get(&self.record_key()).ok().flatten() else {
            return;
        };
        if let Some(record) = Record::decode(bytes) {
            self.record = record;
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
            let sums = self.sums();
            if !sums.dirty {
                return Ok(());
            }
            // This build's hashes replace the record's, durable or not: a
            // racily clean file's old entry is stale either way.
            let remembered = (0..self.record.len()).filter_map(|index| {
                let path = self.record.path(index);
                let replaced =
                    std::str::from_utf8(path).map_or(true, |path| sums.fresh.contains_key(path));
                (!replaced).then(|| (path, self.record.remembered(index)))
            });
            let fresh = sums
                .fresh
                .iter()
                .filter(|(_, sum)| sum.durable)
                .map(|(path, sum)| (path.as_bytes(), sum.remembered));
            let candidates: Vec<(&[u8], Remembered)> = remembered.chain(fresh).collect();
            let kept: Vec<(&[u8], Remembered)> = candidates
                .into_par_iter()
                .filter(|(path, _)| {
                    !fs::symlink_metadata(self.dir.join(OsStr::from_bytes(path)))
                        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
                })
                .collect();
            Record::encode(kept)
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
                let mut runs = Vec::new();
                self.walk(&resolved, &resolved_relative, &mut runs)?;
                self.fill_holes(&mut runs)?;
                for run in &runs {
                    key.fields(&run.fields);
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

    /// Frames, in walk order, every path under `path` that the checksum
    /// covers, as runs whose concatenation is that order. A file the record
    /// vouches for is framed with its hash; the others get a hole, filled by
    /// [`Context::fill_holes`].
    fn walk(&self, path: &Path, relative: &str, runs: &mut Vec<Run>) -> Result<(), BuildError> {
        if self.skipped(relative) {
            return Ok(());
        }
        let read_error = |source: rustix::io::Errno| BuildError::ReadContext {
            path: path.to_path_buf(),
            source: source.into(),
        };
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|nul| {
            BuildError::ReadContext {
                path: path.to_path_buf(),
                source: nul.into(),
            }
        })?;
        let meta = lstat_at(CWD, &name).map_err(read_error)?;
        let mut cursor = self.record.cursor_at(relative.as_bytes());
        let place = Place {
            at: CWD,
            name: &name,
            host_dir: path,
            host_name: None,
        };
        let mut relative = relative.to_string();
        self.visit(&place, &meta, &mut relative, 0, &mut cursor, runs)
    }

    /// An ignored path with no `!` exception below it: nothing under it is
    /// read, not even its metadata.
    fn skipped(&self, relative: &str) -> bool {
        self.ignored(relative) && !self.ignore.as_ref().is_some_and(|m| m.has_exclusions())
    }

    /// Frames one path whose metadata is known, then (for a directory) its
    /// children. Every system call is relative to the open parent directory
    /// (`statx`, `readlinkat`, `openat` with `O_NOFOLLOW`), so the kernel
    /// never resolves a whole path again and a symlink swapped in is never
    /// followed. The top [`PARALLEL_DEPTH`] levels are walked in parallel,
    /// each subtree below them sequentially into one run with its own
    /// cursor into the record (a subtree's entries are contiguous in it).
    /// The runs are kept as they are, never concatenated. For a warm build
    /// of a 20k-file context this walk is most of the work, and most of
    /// that is the kernel's: one `statx` per entry.
    fn visit(
        &self,
        place: &Place<'_>,
        meta: &Meta,
        relative: &mut String,
        depth: usize,
        cursor: &mut Cursor<'_>,
        runs: &mut Vec<Run>,
    ) -> Result<(), BuildError> {
        let read_error = |source: rustix::io::Errno| BuildError::ReadContext {
            path: place.host_path(),
            source: source.into(),
        };
        let ignored = self.ignored(relative);
        let file_type = FileType::from_raw_mode(meta.mode);
        if file_type == FileType::Symlink && ignored {
            return Ok(());
        }
        if !ignored {
            if runs.is_empty() {
                runs.push(Run::default());
            }
            let run = runs.last_mut().expect("a run was just ensured");
            let fields = &mut run.fields;
            fields
                .field(relative.as_bytes())
                .field(meta.mode.to_le_bytes())
                .field(meta.uid.to_le_bytes())
                .field(meta.gid.to_le_bytes());
            match file_type {
                FileType::RegularFile => {
                    fields.field("file").field(meta.stamp.size.to_le_bytes());
                    run.files += 1;
                    let remembered = cursor
                        .find(relative.as_bytes())
                        .filter(|remembered| remembered.stamp == meta.stamp);
                    match remembered {
                        Some(remembered) => {
                            fields.field(remembered.hash);
                        }
                        None => run.holes.push(Hole {
                            slot: fields.reserve(32),
                            relative: relative.clone(),
                            stamp: meta.stamp,
                        }),
                    }
                }
                FileType::Symlink => {
                    let target = rustix::fs::readlinkat(place.at, place.name, Vec::new())
                        .map_err(read_error)?;
                    fields.field("symlink").field(target.as_bytes());
                }
                FileType::Directory => {
                    fields.field("dir");
                }
                FileType::BlockDevice | FileType::CharacterDevice => {
                    fields.field("device").field(meta.rdev.to_le_bytes());
                }
                _ => {
                    fields.field("other");
                }
            }
        }
        if file_type != FileType::Directory {
            return Ok(());
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let dir =
            rustix::fs::openat(place.at, place.name, flags, Mode::empty()).map_err(read_error)?;
        let host_dir = place.host_path();
        let children = self.read_children(&dir, &host_dir, relative)?;
        let child_place = |name| Place::child(&dir, &host_dir, name);
        if depth >= PARALLEL_DEPTH {
            let parent_length = relative.len();
            for child in &children.list {
                let name = children.name(child);
                push_component(relative, &name[..name.len() - 1]);
                let result = self.visit(
                    &child_place(name),
                    &child.meta,
                    relative,
                    depth + 1,
                    cursor,
                    runs,
                );
                relative.truncate(parent_length);
                result?;
            }
            return Ok(());
        }
        let walked = children
            .list
            .par_iter()
            .map(|child| {
                let name = children.name(child);
                let mut relative = relative.clone();
                push_component(&mut relative, &name[..name.len() - 1]);
                let mut cursor = self.record.cursor_at(relative.as_bytes());
                let mut below = Vec::new();
                self.visit(
                    &child_place(name),
                    &child.meta,
                    &mut relative,
                    depth + 1,
                    &mut cursor,
                    &mut below,
                )?;
                Ok(below)
            })
            .collect::<Result<Vec<Vec<Run>>, BuildError>>()?;
        // Moving the runs moves only their headers.
        runs.extend(walked.into_iter().flatten());
        Ok(())
    }

    /// The children of the open directory `dir` (at `host_dir`, whose
    /// context path is `relative`) that the walk visits, sorted by name,
    /// each with its metadata: `getdents64` into a buffer on the stack, then
    /// one `statx` per name, relative to `dir`. `relative` is restored
    /// before returning; an error names the directory, or the child whose
    /// `statx` failed.
    fn read_children(
        &self,
        dir: &OwnedFd,
        host_dir: &Path,
        relative: &mut String,
    ) -> Result<Children, BuildError> {
        // The path is built only on failure: never per child.
        let read_error = |path: PathBuf, errno: rustix::io::Errno| BuildError::ReadContext {
            path,
            source: errno.into(),
        };
        let mut children = Children::default();
        // Large enough for ~250 typical entries per getdents64 call; a
        // single entry (a name is at most 255 bytes) always fits.
        let mut buffer = [MaybeUninit::<u8>::uninit(); 8192];
        let mut entries = RawDir::new(dir, &mut buffer);
        let parent_length = relative.len();
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(|errno| read_error(host_dir.to_path_buf(), errno))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            push_component(relative, name);
            let skipped = self.skipped(relative);
            relative.truncate(parent_length);
            if skipped {
                continue;
            }
            let start = children.names.len();
            children
                .names
                .extend_from_slice(entry.file_name().to_bytes_with_nul());
            let meta = lstat_at(dir.as_fd(), entry.file_name())
                .map_err(|errno| read_error(host_dir.join(OsStr::from_bytes(name)), errno))?;
            children.list.push(Child {
                name: start..children.names.len(),
                meta,
            });
        }
        let names = &children.names;
        children
            .list
            .sort_unstable_by(|a, b| names[a.name.clone()].cmp(&names[b.name.clone()]));
        Ok(children)
    }

    /// Gives every hole the walk left its hash: one this build computed
    /// for another step, or the file's content, hashed on the pool.
    fn fill_holes(&self, runs: &mut [Run]) -> Result<(), BuildError> {
        let files: usize = runs.iter().map(|run| run.files).sum();
        let holes: Vec<(usize, usize)> = runs
            .iter()
            .enumerate()
            .flat_map(|(r, run)| (0..run.holes.len()).map(move |h| (r, h)))
            .collect();
        // One lock for the whole walk, not one per file: locking per file
        // from the pool made the threads contend.
        let known: Vec<Option<[u8; 32]>> = {
            let mut sums = self.sums();
            let Sums { fresh, reused, .. } = &mut *sums;
            *reused += files - holes.len();
            holes
                .iter()
                .map(|&(r, h)| {
                    let hole = &runs[r].holes[h];
                    let sum = fresh
                        .get(&hole.relative)
                        .filter(|sum| sum.remembered.stamp == hole.stamp)?;
                    *reused += 1;
                    Some(sum.remembered.hash)
                })
                .collect()
        };
        let hashes = holes
            .par_iter()
            .zip(known)
            .map(|(&(r, h), known)| match known {
                Some(hash) => Ok(hash),
                None => self.file_hash(&runs[r].holes[h]),
            })
            .collect::<Result<Vec<[u8; 32]>, BuildError>>()?;
        for ((r, h), hash) in holes.into_iter().zip(hashes) {
            let run = &mut runs[r];
            run.fields.fill(run.holes[h].slot, &hash);
        }
        Ok(())
    }

    /// Reads and hashes a regular file whose remembered hash is missing or
    /// stale (`checksum` looks the cache up first), and remembers it.
    fn file_hash(&self, hole: &Hole) -> Result<[u8; 32], BuildError> {
        let stamp = hole.stamp;
        let path = self.dir.join(&hole.relative);
        let hash = hash_file(&path, stamp.size).map_err(|source| BuildError::ReadContext {
            path: path.clone(),
            source,
        })?;
        // Stat again after reading: a file that changed while we read it
        // gets a new stamp, and its hash is used for this build only.
        let after = lstat_at(CWD, path.as_path()).map(|meta| meta.stamp);
        // A stale entry in the record is dropped when it is saved again.
        let stale = self.record.contains(hole.relative.as_bytes());
        let mut sums = self.sums();
        let durable = after.as_ref().is_ok_and(|after| *after == stamp)
            && stamp.mtime < sums.trusted_before
            && stamp.ctime < sums.trusted_before;
        sums.hashed += 1;
        let previous = sums.fresh.insert(
            hole.relative.clone(),
            Sum {
                remembered: Remembered { stamp, hash },
                durable,
            },
        );
        if durable || stale || previous.is_some_and(|p| p.durable) {
            sums.dirty = true;
        }
        Ok(hash)
    }
}

/// Where a path the walk visits is: `name` relative to the open directory
/// `at` for system calls, `host_dir` joined with `host_name` (`host_dir`
/// itself for the walk's root) for error messages.
struct Place<'a> {
    at: BorrowedFd<'a>,
    name: &'a CStr,
    host_dir: &'a Path,
    host_name: Option<&'a OsStr>,
}

impl<'a> Place<'a> {
    /// A child of the open directory `dir`, whose name (with its NUL) is
    /// `name`.
    fn child(dir: &'a OwnedFd, host_dir: &'a Path, name: &'a [u8]) -> Place<'a> {
        Place {
            at: dir.as_fd(),
            // The name was copied from the kernel's NUL-terminated one, which
            // holds no other NUL.
            name: CStr::from_bytes_with_nul(name).expect("a directory entry's name"),
            host_dir,
            host_name: Some(OsStr::from_bytes(&name[..name.len() - 1])),
        }
    }

    /// Built only where it is used: for a directory's children and for an
    /// error to report, never per file.
    fn host_path(&self) -> PathBuf {
        match self.host_name {
            Some(name) => self.host_dir.join(name),
            None => self.host_dir.to_path_buf(),
        }
    }
}

/// What the key and the checksum cache use of a path's `statx`.
struct Meta {
    /// `st_mode`: the type and permission bits.
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    stamp: Stamp,
}

/// `lstat` of `name` relative to `at`, by `statx(2)`: the one place a
/// stamp is taken, by the walk and by the second look after hashing, so
/// the two always compare like with like.
fn lstat_at<P: rustix::path::Arg>(at: BorrowedFd<'_>, name: P) -> rustix::io::Result<Meta> {
    let stat = rustix::fs::statx(at, name, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS)?;
    Ok(Meta {
        mode: u32::from(stat.stx_mode),
        uid: stat.stx_uid,
        gid: stat.stx_gid,
        rdev: rustix::fs::makedev(stat.stx_rdev_major, stat.stx_rdev_minor),
        stamp: Stamp {
            dev: rustix::fs::makedev(stat.stx_dev_major, stat.stx_dev_minor),
            ino: stat.stx_ino,
            size: stat.stx_size,
            mtime: (stat.stx_mtime.tv_sec, i64::from(stat.stx_mtime.tv_nsec)),
            ctime: (stat.stx_ctime.tv_sec, i64::from(stat.stx_ctime.tv_nsec)),
        },
    })
}

/// A directory's children, their names NUL-terminated in one buffer.
#[derive(Default)]
struct Children {
    names: Vec<u8>,
    list: Vec<Child>,
}

struct Child {
    /// The name, with its NUL, in [`Children::names`].
    name: std::ops::Range<usize>,
    meta: Meta,
}

impl Children {
    fn name(&self, child: &Child) -> &[u8] {
        &self.names[child.name.clone()]
    }
}

/// The framed key fields of a stretch of the walk, in walk order.
#[derive(Default)]
struct Run {
    fields: Fields,
    /// Regular files framed, holes included.
    files: usize,
    /// Files whose hash the record did not vouch for.
    holes: Vec<Hole>,
}

/// A file's hash field, reserved in its run until the file is hashed.
struct Hole {
    slot: Reserved,
    relative: String,
    stamp: Stamp,
}

/// How many directory levels below a checksummed source are walked in
/// parallel (enough subtrees to keep every core busy on a source tree).
const PARALLEL_DEPTH: usize = 2;

/// Appends a name to a context-relative path. A name that is not UTF-8
/// is taken lossily, as everywhere in the context's paths.
fn push_component(relative: &mut String, name: &[u8]) {
    if !relative.is_empty() {
        relative.push('/');
    }
    relative.push_str(&String::from_utf8_lossy(name));
}

/// A context directory with every symlink in its path resolved, as
/// fsutil's `Walk` resolves the directory it sends (`filepath.EvalSymlinks`):
/// `decant build link`, where `link` points at a directory, builds that
/// directory. Walked unresolved, the context's root was itself a symlink,
/// so `COPY . /dst` failed and the cache key covered none of its files.
fn real_dir(dir: &Path) -> Result<PathBuf, BuildError> {
    fs::canonicalize(dir).map_err(|source| BuildError::ReadContext {
        path: dir.to_path_buf(),
        source,
    })
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
        let mut context = Context::load(dir, Some(&dir.join("Dockerfile"))).expect("load");
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
        let remembered: Vec<&[u8]> = (0..third.record.len())
            .map(|index| third.record.path(index))
            .collect();
        assert_eq!(remembered, [&b"a.txt"[..], b"sub/c.txt"]);
    }

    #[test]
    fn racily_clean_files_are_not_remembered() {
        let dir = fixture();
        let store_dir = tempfile::tempdir().expect("tempdir");
        let store = store::Store::open(store_dir.path()).expect("store");
        // Files written just now are newer than the racy margin allows.
        let mut first =
            Context::load(dir.path(), Some(&dir.path().join("Dockerfile"))).expect("load");
        first.load_checksum_cache(&store);
        key(&first);
        first.save_checksum_cache(&store).expect("save");
        let second = context(dir.path(), &store);
        key(&second);
        assert_eq!(second.checksum_counts(), (3, 0));
    }

    /// The files of [`deep_fixture`]: names that sort differently by
    /// component and by plain bytes (`a/…` before `a.txt` and `a-b`), and
    /// directories below the parallel levels, where one cursor serves a
    /// whole subtree.
    const DEEP_TREE: &[&str] = &[
        "a.txt",
        "a-b",
        "a/b.txt",
        "a/b/c/d/e.txt",
        "a/b/c/d.txt",
        "a/b/c/d0/f",
        "a/b0/g",
        "b/h",
        "z",
    ];

    fn deep_fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (n, path) in DEEP_TREE.iter().enumerate() {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, "x".repeat(n)).expect("write fixture");
        }
        std::os::unix::fs::symlink("a/b.txt", dir.path().join("a/link")).expect("symlink");
        dir
    }

    /// The key as the checksum was first defined: a plain recursive walk,
    /// children by name, every file read, one field at a time.
    fn plain_walk_key(root: &Path) -> oci::Digest {
        use sha2::{Digest as _, Sha256};
        use std::os::unix::fs::MetadataExt;

        fn visit(root: &Path, relative: &str, key: &mut CacheKey) {
            let path = root.join(relative);
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            key.field(relative)
                .field(meta.mode().to_le_bytes())
                .field(meta.uid().to_le_bytes())
                .field(meta.gid().to_le_bytes());
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                key.field("symlink")
                    .field(target.as_os_str().as_encoded_bytes());
            } else if meta.is_file() {
                let hash: [u8; 32] = Sha256::digest(std::fs::read(&path).expect("read")).into();
                key.field("file")
                    .field(meta.len().to_le_bytes())
                    .field(hash);
            } else {
                key.field("dir");
                let mut names: Vec<String> = std::fs::read_dir(&path)
                    .expect("read_dir")
                    .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
                    .collect();
                names.sort();
                for name in names {
                    let child = if relative.is_empty() {
                        name
                    } else {
                        format!("{relative}/{name}")
                    };
                    visit(root, &child, key);
                }
            }
        }
        let mut key = CacheKey::new("test");
        key.field("source").field(".").field("match").field("");
        visit(root, "", &mut key);
        key.finish()
    }

    #[test]
    fn checksum_key_is_the_plain_walk_key_with_and_without_the_record() {
        let dir = deep_fixture();
        let expected = plain_walk_key(dir.path());
        let store_dir = tempfile::tempdir().expect("tempdir");
        let store = store::Store::open(store_dir.path()).expect("store");
        let first = context(dir.path(), &store);
        assert_eq!(key(&first), expected, "every file hashed");
        first.save_checksum_cache(&store).expect("save");
        let second = context(dir.path(), &store);
        assert_eq!(key(&second), expected, "every file from the record");
        assert_eq!(
            second.checksum_counts(),
            (0, DEEP_TREE.len()),
            "nothing rehashed"
        );
    }
}
