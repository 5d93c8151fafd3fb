//! The copy driver: the lowers are copied into a plain dir with overlayfs'
//! merge rules, a baseline of every node is recorded, and commit diffs the
//! tree against it into an overlay-upper-format diff dir.
//!
//! Change detection uses the inode identity and the *ctime*: every change
//! to content, mode, owner, xattrs or link count sets ctime to the current
//! time, and no unprivileged syscall can set it back (unlike mtime, which
//! `touch -d` rewinds). So a node whose (dev, ino, ctime, ...) stamp is
//! unchanged has not been touched since the baseline, and size+mtime alone
//! are never trusted.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::SnapshotError;
use crate::nodes;

/// What a node looked like when the step started.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    rdev: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            nlink: meta.nlink(),
            size: meta.len(),
            rdev: meta.rdev(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn file_type(&self) -> u32 {
        self.mode & 0o170000
    }
}

const DIR_TYPE: u32 = 0o040000;

/// A prepared copy snapshot.
#[derive(Debug)]
pub(crate) struct Baseline {
    pub(crate) merged: PathBuf,
    work: PathBuf,
    stamps: HashMap<PathBuf, Stamp>,
    children: HashMap<PathBuf, Vec<OsString>>,
}

pub(crate) fn prepare(lowers: &[PathBuf], work: &Path) -> Result<Baseline, SnapshotError> {
    fs::create_dir_all(work).map_err(|source| SnapshotError::CreateDir {
        path: work.to_path_buf(),
        source,
    })?;
    let merged = work.join("merged");
    match fs::create_dir(&merged) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(SnapshotError::WorkNotEmpty { path: merged });
        }
        Err(source) => {
            return Err(SnapshotError::CreateDir {
                path: merged,
                source,
            });
        }
    }
    let mut dir_meta: HashMap<PathBuf, Metadata> = HashMap::new();
    for lower in lowers {
        let mut hardlinks = HashMap::new();
        merge(lower, &merged, Path::new(""), &mut hardlinks, &mut dir_meta)?;
    }
    for (rel, meta) in &dir_meta {
        let dst = merged.join(rel);
        // A later lower may have replaced the dir with a file.
        if fs::symlink_metadata(&dst).is_ok_and(|m| m.is_dir()) {
            nodes::finish_dir(&dst, meta)
                .map_err(|source| SnapshotError::CopyLower { path: dst, source })?;
        }
    }
    let mut baseline = Baseline {
        merged,
        work: work.to_path_buf(),
        stamps: HashMap::new(),
        children: HashMap::new(),
    };
    let merged = baseline.merged.clone();
    baseline.scan(&merged, Path::new(""))?;
    Ok(baseline)
}

/// Copies one lower (`lower/rel`) onto the merged dir with overlayfs'
/// rules: whiteouts delete, opaque dirs hide what is below, a dir merges
/// with a dir, anything else replaces.
fn merge(
    lower: &Path,
    merged: &Path,
    rel: &Path,
    hardlinks: &mut HashMap<(u64, u64), PathBuf>,
    dir_meta: &mut HashMap<PathBuf, Metadata>,
) -> Result<(), SnapshotError> {
    let src_dir = lower.join(rel);
    let copy_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotError::CopyLower { path, source }
    };
    for name in nodes::sorted_names(&src_dir).map_err(copy_error(&src_dir))? {
        let child = rel.join(&name);
        let src = lower.join(&child);
        let dst = merged.join(&child);
        let meta = fs::symlink_metadata(&src).map_err(copy_error(&src))?;
        if nodes::is_whiteout(&meta) {
            nodes::remove_all(&dst).map_err(copy_error(&dst))?;
            continue;
        }
        let existing = fs::symlink_metadata(&dst).ok();
        if meta.is_dir() {
            match existing {
                Some(existing) if existing.is_dir() => {
                    if nodes::is_opaque(&src) {
                        for inner in nodes::sorted_names(&dst).map_err(copy_error(&dst))? {
                            nodes::remove_all(&dst.join(inner)).map_err(copy_error(&dst))?;
                        }
                    }
                    nodes::copy_dir_metadata(&src, &dst, &meta).map_err(copy_error(&dst))?;
                }
                existing => {
                    if existing.is_some() {
                        nodes::remove_all(&dst).map_err(copy_error(&dst))?;
                    }
                    nodes::copy_node(&src, &dst, &meta).map_err(copy_error(&src))?;
                }
            }
            merge(lower, merged, &child, hardlinks, dir_meta)?;
            dir_meta.insert(child, meta);
            continue;
        }
        if existing.is_some() {
            nodes::remove_all(&dst).map_err(copy_error(&dst))?;
        }
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = hardlinks.get(&key) {
                fs::hard_link(first, &dst).map_err(copy_error(&dst))?;
                continue;
            }
            hardlinks.insert(key, dst.clone());
        }
        nodes::copy_node(&src, &dst, &meta).map_err(copy_error(&src))?;
    }
    Ok(())
}

impl Baseline {
    fn scan(&mut self, merged: &Path, rel: &Path) -> Result<(), SnapshotError> {
        let dir = merged.join(rel);
        let scan_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Scan { path, source }
        };
        let names = nodes::sorted_names(&dir).map_err(scan_error(&dir))?;
        for name in &names {
            let child = rel.join(name);
            let meta = fs::symlink_metadata(merged.join(&child)).map_err(scan_error(&dir))?;
            self.stamps.insert(child.clone(), Stamp::of(&meta));
            if meta.is_dir() {
                self.scan(merged, &child)?;
            }
        }
        self.children.insert(rel.to_path_buf(), names);
        Ok(())
    }

    /// Writes what changed since [`prepare`] into `work/diff`.
    pub(crate) fn commit(self) -> Result<PathBuf, SnapshotError> {
        let diff = self.work.join("diff");
        fs::create_dir(&diff).map_err(|source| SnapshotError::CreateDir {
            path: diff.clone(),
            source,
        })?;
        let mut differ = Differ {
            baseline: &self,
            diff: diff.clone(),
            created: HashSet::new(),
            hardlinks: HashMap::new(),
            dirs: Vec::new(),
        };
        differ.created.insert(PathBuf::new());
        differ.visit(Path::new(""))?;
        for (rel, meta) in differ.dirs.iter().rev() {
            let path = diff.join(rel);
            nodes::finish_dir(&path, meta)
                .map_err(|source| SnapshotError::WriteDiff { path, source })?;
        }
        Ok(diff)
    }
}

struct Differ<'a> {
    baseline: &'a Baseline,
    diff: PathBuf,
    /// Dirs already present in the diff dir.
    created: HashSet<PathBuf>,
    /// (dev, ino) in the merged tree -> first path written to the diff.
    hardlinks: HashMap<(u64, u64), PathBuf>,
    /// Dirs whose mode and times are set last.
    dirs: Vec<(PathBuf, Metadata)>,
}

impl Differ<'_> {
    fn merged(&self, rel: &Path) -> PathBuf {
        self.baseline.merged.join(rel)
    }

    fn scan_error(path: PathBuf) -> impl FnOnce(io::Error) -> SnapshotError {
        move |source| SnapshotError::Scan { path, source }
    }

    fn write_error(path: PathBuf) -> impl FnOnce(io::Error) -> SnapshotError {
        move |source| SnapshotError::WriteDiff { path, source }
    }

    /// Compares `rel`, a dir that exists in both the baseline and the
    /// merged tree as the same inode.
    fn visit(&mut self, rel: &Path) -> Result<(), SnapshotError> {
        let dir = self.merged(rel);
        let names = nodes::sorted_names(&dir).map_err(Self::scan_error(dir.clone()))?;
        for name in &names {
            let child = rel.join(name);
            let path = self.merged(&child);
            let meta = fs::symlink_metadata(&path).map_err(Self::scan_error(path.clone()))?;
            let now = Stamp::of(&meta);
            match self.baseline.stamps.get(&child) {
                None => self.emit_tree(&child, &meta, false)?,
                Some(before) if before.file_type() != now.file_type() => {
                    self.emit_tree(&child, &meta, false)?
                }
                Some(before) if now.file_type() == DIR_TYPE => {
                    if (before.dev, before.ino) != (now.dev, now.ino) {
                        // Deleted and recreated: nothing below it survives,
                        // which overlayfs expresses as an opaque dir.
                        self.emit_tree(&child, &meta, true)?;
                    } else {
                        if *before != now {
                            self.ensure_dir(&child)?;
                        }
                        self.visit(&child)?;
                    }
                }
                Some(before) => {
                    if *before != now {
                        self.emit_node(&child, &meta)?;
                    }
                }
            }
        }
        let present: HashSet<&OsString> = names.iter().collect();
        if let Some(before) = self.baseline.children.get(rel) {
            for name in before {
                if !present.contains(name) {
                    self.ensure_dir(rel)?;
                    let path = self.diff.join(rel).join(name);
                    nodes::whiteout(&path).map_err(Self::write_error(path))?;
                }
            }
        }
        Ok(())
    }

    /// Makes `rel` and its ancestors exist in the diff dir, with the merged
    /// tree's metadata (what overlayfs' copy-up of a parent does).
    fn ensure_dir(&mut self, rel: &Path) -> Result<(), SnapshotError> {
        if self.created.contains(rel) {
            return Ok(());
        }
        if let Some(parent) = rel.parent() {
            self.ensure_dir(parent)?;
        }
        let src = self.merged(rel);
        let meta = fs::symlink_metadata(&src).map_err(Self::scan_error(src.clone()))?;
        let dst = self.diff.join(rel);
        nodes::copy_node(&src, &dst, &meta).map_err(Self::write_error(dst))?;
        self.created.insert(rel.to_path_buf());
        self.dirs.push((rel.to_path_buf(), meta));
        Ok(())
    }

    fn emit_node(&mut self, rel: &Path, meta: &Metadata) -> Result<(), SnapshotError> {
        if let Some(parent) = rel.parent() {
            self.ensure_dir(parent)?;
        }
        if meta.is_dir() {
            return self.ensure_dir(rel);
        }
        let src = self.merged(rel);
        let dst = self.diff.join(rel);
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.hardlinks.get(&key) {
                return fs::hard_link(first, &dst).map_err(Self::write_error(dst));
            }
            self.hardlinks.insert(key, dst.clone());
        }
        nodes::copy_node(&src, &dst, meta).map_err(Self::write_error(dst))
    }

    /// Emits `rel` and, for a dir, everything below it.
    fn emit_tree(
        &mut self,
        rel: &Path,
        meta: &Metadata,
        opaque: bool,
    ) -> Result<(), SnapshotError> {
        self.emit_node(rel, meta)?;
        if !meta.is_dir() {
            return Ok(());
        }
        if opaque {
            let dst = self.diff.join(rel);
            nodes::set_opaque(&dst).map_err(Self::write_error(dst))?;
        }
        let dir = self.merged(rel);
        for name in nodes::sorted_names(&dir).map_err(Self::scan_error(dir.clone()))? {
            let child = rel.join(name);
            let path = self.merged(&child);
            let child_meta = fs::symlink_metadata(&path).map_err(Self::scan_error(path))?;
            self.emit_tree(&child, &child_meta, false)?;
        }
        Ok(())
    }
}
