//! The recursive copier (fsutil `copier`): `cp -a` of one source tree onto a
//! destination path, with BuildKit's rules for merging into existing
//! directories, replacing files, lazily created parents (for `--parents`,
//! `--exclude` and `.dockerignore` re-includes), hardlinks, devices and
//! metadata (owner, then mode — chown clears setuid — then times, xattrs).
//!
//! Confinement: every host path handed to a syscall is a directory we
//! created or `lstat`ed as a real directory (or resolved inside the root),
//! plus one final component that is only touched with no-follow operations
//! (lstat, unlink, mkdir, symlink, link, `open(O_CREAT|O_EXCL|O_NOFOLLOW)`,
//! lchown, `utimensat(AT_SYMLINK_NOFOLLOW)`; chmod only after lstat says it
//! is not a symlink). See `resolve` for why that is sufficient.

use std::collections::HashMap;
use std::fs::{Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use dockerfile::pattern::PatternMatcher;
use rustix::fs::{AtFlags, CWD, FileType, Mode, Timespec, Timestamps};

use super::CopyError;
use super::mode::ModeSpec;
use super::owner::Owner;
use super::resolve::{InRoot, is_missing, resolve_in_root};
use super::sources::Include;
use super::writers::{self, DEFER_AT, Job, Writers};

const DEFAULT_DIR_MODE: u32 = 0o755;

pub(crate) enum OwnerPolicy {
    Set(Owner),
    Preserve,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub entries: u64,
    pub bytes: u64,
    pub xattrs_skipped: u64,
}

/// Which entries of a source tree are copied.
pub(crate) struct Filters<'a> {
    /// `.dockerignore`, matched against context-relative paths.
    pub ignore: Option<&'a PatternMatcher>,
    /// Context-relative path of the copy root, without leading `/`.
    pub ignore_prefix: String,
    /// `--parents` include pattern, relative to the copy root.
    pub include: Option<&'a Include>,
    /// `--exclude`, relative to the copy root.
    pub exclude: Option<&'a PatternMatcher>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Copy,
    /// A directory that is not copied itself but may hold copied entries;
    /// it is created when the first of them is.
    DescendOnly,
    Skip,
}

impl Filters<'_> {
    fn decide(&self, rel: &str, is_dir: bool) -> Decision {
        let mut decision = Decision::Copy;
        if let Some(ignore) = self.ignore {
            let ctx = if self.ignore_prefix.is_empty() {
                rel.to_string()
            } else {
                format!("{}/{rel}", self.ignore_prefix)
            };
            if ignore.matches_or_parent_matches(&ctx) {
                if is_dir && ignore.has_exclusions() {
                    decision = Decision::DescendOnly;
                } else {
                    return Decision::Skip;
                }
            }
        }
        if let Some(include) = self.include
            && !include.includes(rel)
        {
            if is_dir && include.may_match_below(rel) {
                decision = Decision::DescendOnly;
            } else {
                return Decision::Skip;
            }
        }
        if let Some(exclude) = self.exclude
            && exclude.matches_or_parent_matches(rel)
        {
            if is_dir && exclude.has_exclusions() {
                decision = Decision::DescendOnly;
            } else {
                return Decision::Skip;
            }
        }
        decision
    }
}

struct Pending {
    src: PathBuf,
    dst: InRoot,
    done: bool,
}

pub(crate) struct Copier<'a> {
    dest_root: &'a Path,
    owner: OwnerPolicy,
    created_owner: Owner,
    mode: Option<&'a ModeSpec>,
    from_context: bool,
    /// (dev, ino) of multiply-linked source files → first copy's host path.
    inodes: HashMap<(u64, u64), PathBuf>,
    pending: Vec<Pending>,
    stats: Stats,
    /// Started at the first large file; see `writers.rs`.
    writers: Option<Writers>,
}

impl<'a> Copier<'a> {
    pub(crate) fn new(
        dest_root: &'a Path,
        owner: OwnerPolicy,
        created_owner: Owner,
        mode: Option<&'a ModeSpec>,
        from_context: bool,
    ) -> Copier<'a> {
        Copier {
            dest_root,
            owner,
            created_owner,
            mode,
            from_context,
            inodes: HashMap::new(),
            pending: Vec::new(),
            stats: Stats::default(),
            writers: None,
        }
    }

    pub(crate) fn dest_root(&self) -> &Path {
        self.dest_root
    }

    /// Waits for the data of every file handed to a writer. A copy is
    /// complete only after this succeeded.
    pub(crate) fn finish(&mut self) -> Result<(), CopyError> {
        if let Some(mut writers) = self.writers.take() {
            self.stats.bytes += writers.finish()?;
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }

    pub(crate) fn count_entry(&mut self) {
        self.stats.entries += 1;
    }

    pub(crate) fn count_xattr_skipped(&mut self) {
        self.stats.xattrs_skipped += 1;
    }

    pub(crate) fn count_bytes(&mut self, n: u64) {
        self.stats.bytes += n;
    }

    /// fsutil `MkdirAll`: creates the missing directories of a resolved path
    /// with the `--chown` owner (0:0 without) and mode `mode`, or the
    /// `--chmod` permission bits, or 0755. Existing directories are kept as
    /// they are.
    pub(crate) fn mkdir_all(&mut self, path: &InRoot, mode: Option<u32>) -> Result<(), CopyError> {
        let mode = mode
            .or_else(|| self.mode.and_then(ModeSpec::created_dir_mode))
            .unwrap_or(DEFAULT_DIR_MODE);
        let mut host = self.dest_root.to_path_buf();
        let mut rel = PathBuf::from("/");
        for comp in path.rel.components().skip(1) {
            host.push(comp);
            rel.push(comp);
            match std::fs::symlink_metadata(&host) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => return Err(CopyError::NotADirectory { path: rel }),
                Err(e) if is_missing(&e) => {}
                Err(source) => return Err(CopyError::Resolve { path: rel, source }),
            }
            std::fs::create_dir(&host).map_err(|source| CopyError::CreateDirectory {
                path: rel.clone(),
                source,
            })?;
            let owner = self.created_owner;
            lchown(&host, &rel, owner.uid, owner.gid)?;
            chmod_checked(&host, &rel, mode)?;
            self.stats.entries += 1;
        }
        Ok(())
    }

    /// Copies the tree at `src` (host path inside the source root, already
    /// followed) to `dst`, fsutil `copy(src, "", dst, overwrite=false)`.
    pub(crate) fn copy_tree(
        &mut self,
        src: &Path,
        dst: InRoot,
        filters: &Filters,
    ) -> Result<(), CopyError> {
        self.pending.clear();
        self.copy_entry(src, "", dst, false, filters)
    }

    fn copy_entry(
        &mut self,
        src: &Path,
        rel: &str,
        dst: InRoot,
        overwrite: bool,
        filters: &Filters,
    ) -> Result<(), CopyError> {
        let meta = std::fs::symlink_metadata(src).map_err(|source| CopyError::SourceStat {
            path: src.to_path_buf(),
            source,
        })?;
        let decision = if rel.is_empty() {
            Decision::Copy
        } else {
            filters.decide(rel, meta.is_dir())
        };
        if decision == Decision::Skip {
            return Ok(());
        }
        let include = decision == Decision::Copy;
        if !meta.is_dir() && !include {
            return Ok(());
        }
        if include {
            self.materialize_pending(overwrite)?;
        }
        let ft = meta.file_type();
        let mut copy_info = include;
        let mut info_target = dst.clone();
        if ft.is_dir() {
            let (created, effective, followed) =
                self.copy_directory(src, rel, &dst, &meta, overwrite, include, filters)?;
            if !overwrite {
                copy_info = created;
            }
            // A directory reached through an existing symlink (merged-/usr)
            // keeps its own metadata, like any pre-existing parent.
            if followed {
                copy_info = false;
            }
            info_target = effective;
        } else {
            self.ensure_empty_file_target(&dst)?;
            self.create_non_dir(src, &meta, &dst)?;
        }
        if copy_info {
            self.apply_info(&meta, src, &info_target)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_directory(
        &mut self,
        src: &Path,
        rel: &str,
        dst: &InRoot,
        meta: &Metadata,
        overwrite: bool,
        include: bool,
        filters: &Filters,
    ) -> Result<(bool, InRoot, bool), CopyError> {
        let (created, effective, followed) = if include {
            self.copy_directory_only(dst, meta, overwrite)?
        } else {
            // Not created yet; but its children's paths must not go through
            // a symlink, so resolve an existing link now.
            match std::fs::symlink_metadata(&dst.host) {
                Ok(m) if m.file_type().is_symlink() => (
                    false,
                    resolve_in_root(self.dest_root, &dst.rel, true)?,
                    true,
                ),
                _ => (false, dst.clone(), false),
            }
        };
        self.pending.push(Pending {
            src: src.to_path_buf(),
            dst: effective.clone(),
            done: include,
        });
        let result = self.copy_children(src, rel, &effective, filters);
        self.pending.pop();
        result?;
        Ok((created, effective, followed))
    }

    fn copy_children(
        &mut self,
        src: &Path,
        rel: &str,
        dst: &InRoot,
        filters: &Filters,
    ) -> Result<(), CopyError> {
        let mut names: Vec<_> = std::fs::read_dir(src)
            .map_err(|source| CopyError::ReadSource {
                path: src.to_path_buf(),
                source,
            })?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|source| CopyError::ReadSource {
                path: src.to_path_buf(),
                source,
            })?;
        // os.ReadDir order, so hardlink "first copies" match BuildKit's.
        names.sort();
        for name in names {
            let text = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                text.into_owned()
            } else {
                format!("{rel}/{text}")
            };
            self.copy_entry(&src.join(&name), &child_rel, dst.join(&name), true, filters)?;
        }
        Ok(())
    }

    /// fsutil `copyDirectoryOnly`: (created, where the children go, whether
    /// that is through a followed symlink).
    fn copy_directory_only(
        &mut self,
        dst: &InRoot,
        meta: &Metadata,
        overwrite: bool,
    ) -> Result<(bool, InRoot, bool), CopyError> {
        match std::fs::symlink_metadata(&dst.host) {
            Err(e) if is_missing(&e) => {
                std::fs::create_dir(&dst.host).map_err(|source| CopyError::CreateDirectory {
                    path: dst.rel.clone(),
                    source,
                })?;
                self.stats.entries += 1;
                Ok((true, dst.clone(), false))
            }
            Err(source) => Err(CopyError::Resolve {
                path: dst.rel.clone(),
                source,
            }),
            Ok(m) if m.is_dir() => {
                if overwrite {
                    chmod_checked(&dst.host, &dst.rel, meta.mode() & 0o7777)?;
                }
                Ok((false, dst.clone(), false))
            }
            Ok(m) if m.file_type().is_symlink() => {
                let resolved = resolve_in_root(self.dest_root, &dst.rel, true)?;
                match std::fs::symlink_metadata(&resolved.host) {
                    Ok(t) if t.is_dir() => Ok((false, resolved, true)),
                    _ => Err(CopyError::NotADirectory {
                        path: dst.rel.clone(),
                    }),
                }
            }
            Ok(_) => Err(CopyError::NotADirectory {
                path: dst.rel.clone(),
            }),
        }
    }

    /// fsutil `createParentDirs`: directories walked without being copied
    /// are created once something below them is.
    fn materialize_pending(&mut self, overwrite: bool) -> Result<(), CopyError> {
        for i in 0..self.pending.len() {
            if self.pending[i].done {
                continue;
            }
            let src = self.pending[i].src.clone();
            let dst = self.pending[i].dst.clone();
            let meta = std::fs::symlink_metadata(&src).map_err(|source| CopyError::SourceStat {
                path: src.clone(),
                source,
            })?;
            let (created, _, _) = self.copy_directory_only(&dst, &meta, overwrite)?;
            if created {
                self.apply_info(&meta, &src, &dst)?;
            }
            self.pending[i].done = true;
        }
        Ok(())
    }

    /// fsutil `ensureEmptyFileTarget`: a non-directory replaces whatever
    /// non-directory is there; a directory is never replaced by a file.
    fn ensure_empty_file_target(&mut self, dst: &InRoot) -> Result<(), CopyError> {
        match std::fs::symlink_metadata(&dst.host) {
            Err(e) if is_missing(&e) => Ok(()),
            Err(source) => Err(CopyError::Resolve {
                path: dst.rel.clone(),
                source,
            }),
            Ok(m) if m.is_dir() => Err(CopyError::CannotReplaceDirectory {
                path: dst.rel.clone(),
            }),
            Ok(_) => std::fs::remove_file(&dst.host).map_err(|source| CopyError::RemoveExisting {
                path: dst.rel.clone(),
                source,
            }),
        }
    }

    fn create_non_dir(
        &mut self,
        src: &Path,
        meta: &Metadata,
        dst: &InRoot,
    ) -> Result<(), CopyError> {
        let ft = meta.file_type();
        self.stats.entries += 1;
        if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1
                && let Some(first) = self.inodes.get(&key)
            {
                return std::fs::hard_link(first, &dst.host).map_err(|source| {
                    CopyError::CreateHardlink {
                        path: dst.rel.clone(),
                        target: first.clone(),
                        source,
                    }
                });
            }
            self.copy_file(src, meta, dst)?;
            if meta.nlink() > 1 {
                self.inodes.insert(key, dst.host.clone());
            }
            return Ok(());
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(src).map_err(|source| CopyError::ReadSource {
                path: src.to_path_buf(),
                source,
            })?;
            return std::os::unix::fs::symlink(&target, &dst.host).map_err(|source| {
                CopyError::CreateSymlink {
                    path: dst.rel.clone(),
                    source,
                }
            });
        }
        let kind = FileType::from_raw_mode(meta.mode());
        if kind == FileType::Socket && self.from_context {
            // The context transfer turns sockets into empty regular files
            // (BuildKit testCopySocket).
            return create_new_file(&dst.host)
                .map(drop)
                .map_err(|source| CopyError::WriteFile {
                    path: dst.rel.clone(),
                    source,
                });
        }
        rustix::fs::mknodat(
            CWD,
            &dst.host,
            kind,
            Mode::from_raw_mode(meta.mode() & 0o7777),
            meta.rdev(),
        )
        .map_err(|e| CopyError::CreateNode {
            path: dst.rel.clone(),
            source: e.into(),
        })
    }

    fn copy_file(&mut self, src: &Path, meta: &Metadata, dst: &InRoot) -> Result<(), CopyError> {
        let mut input = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(src)
            .map_err(|source| CopyError::ReadSource {
                path: src.to_path_buf(),
                source,
            })?;
        let mut output = create_new_file(&dst.host).map_err(|source| CopyError::WriteFile {
            path: dst.rel.clone(),
            source,
        })?;
        if meta.len() >= DEFER_AT {
            // apply_info, which runs right after this, sets owner, mode,
            // times and xattrs; a worker writing later restores what its
            // write undoes.
            let mode = self.final_mode(meta);
            let job = Job {
                input,
                output,
                source: src.to_path_buf(),
                dest_host: dst.host.clone(),
                dest_rel: dst.rel.clone(),
                special_mode: (mode & 0o7000 != 0).then_some(mode),
                recopy_xattrs: xattr::list(src).is_ok_and(|mut names| names.next().is_some()),
                times: timestamps(meta),
            };
            let writers = self.writers.get_or_insert_with(Writers::start);
            if let Err(job) = writers.submit(job) {
                self.stats.bytes += writers::write(job)?;
            }
            return Ok(());
        }
        // std::io::copy uses copy_file_range between two files on Linux.
        let n = io::copy(&mut input, &mut output).map_err(|source| CopyError::WriteFile {
            path: dst.rel.clone(),
            source,
        })?;
        self.stats.bytes += n;
        Ok(())
    }

    /// The mode a copied entry ends with: `--chmod` applied, else the
    /// source's permission bits.
    fn final_mode(&self, meta: &Metadata) -> u32 {
        match self.mode {
            Some(spec) => spec.apply(meta.mode(), meta.is_dir()),
            None => meta.mode() & 0o7777,
        }
    }

    /// fsutil `copyFileInfo` + `copyXAttrs`.
    fn apply_info(&mut self, meta: &Metadata, src: &Path, dst: &InRoot) -> Result<(), CopyError> {
        let (uid, gid) = match self.owner {
            OwnerPolicy::Set(o) => (o.uid, o.gid),
            OwnerPolicy::Preserve => (meta.uid(), meta.gid()),
        };
        lchown(&dst.host, &dst.rel, uid, gid)?;
        let is_symlink = meta.file_type().is_symlink();
        if !is_symlink {
            chmod_checked(&dst.host, &dst.rel, self.final_mode(meta))?;
        }
        set_times(&dst.host, &dst.rel, meta)?;
        self.stats.xattrs_skipped += copy_xattrs(src, &dst.host);
        Ok(())
    }
}

pub(crate) fn create_new_file(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

pub(crate) fn lchown(host: &Path, rel: &Path, uid: u32, gid: u32) -> Result<(), CopyError> {
    std::os::unix::fs::lchown(host, Some(uid), Some(gid)).map_err(|source| CopyError::SetMetadata {
        path: rel.to_path_buf(),
        source,
    })
}

/// chmod follows symlinks and Linux has no lchmod: refuse to chmod anything
/// that is a symlink (it would change the link's target, maybe on the host).
pub(crate) fn chmod_checked(host: &Path, rel: &Path, mode: u32) -> Result<(), CopyError> {
    let meta = std::fs::symlink_metadata(host).map_err(|source| CopyError::SetMetadata {
        path: rel.to_path_buf(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    std::fs::set_permissions(host, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        CopyError::SetMetadata {
            path: rel.to_path_buf(),
            source,
        }
    })
}

fn timestamps(meta: &Metadata) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec() as _,
        },
        last_modification: Timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec() as _,
        },
    }
}

pub(crate) fn set_times(host: &Path, rel: &Path, meta: &Metadata) -> Result<(), CopyError> {
    let times = timestamps(meta);
    rustix::fs::utimensat(CWD, host, &times, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| {
        CopyError::SetMetadata {
            path: rel.to_path_buf(),
            source: e.into(),
        }
    })
}

/// Copies extended attributes without following links; returns how many
/// could not be set (BuildKit's handler only logs them).
pub(crate) fn copy_xattrs(src: &Path, dst: &Path) -> u64 {
    let Ok(names) = xattr::list(src) else {
        return 0;
    };
    let mut skipped = 0;
    for name in names {
        match xattr::get(src, &name) {
            Ok(Some(value)) => {
                if xattr::set(dst, &name, &value).is_err() {
                    skipped += 1;
                }
            }
            _ => skipped += 1,
        }
    }
    skipped
}
