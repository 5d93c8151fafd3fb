//! COPY and ADD: BuildKit's file semantics (tonistiigi/fsutil `copy` driven
//! by buildkit `solver/llbsolver/file/backend.go`) over a source root and a
//! destination root, confined to both.
//!
//! One [`copy`] call is one COPY/ADD instruction: every source is resolved
//! (wildcards, `--parents` pivots, `.dockerignore` visibility) and checked
//! before anything is written, so a missing source fails the step without a
//! half-written layer; then each match is copied in turn, exactly like the
//! chain of FileOp copy actions the Dockerfile frontend emits.
//!
//! Semantics kept from BuildKit (see the submodules for the details and the
//! tests for the tables):
//! - sources: relative to `source_root`, `..` clamped; wildcards match per
//!   component with Go `filepath.Match`; a wildcard matching nothing copies
//!   nothing (`AllowEmptyWildcard`); a missing literal source is an error; a
//!   symlink in the source path is followed inside the source root; symlinks
//!   inside a copied tree are copied as links; hardlinks within one call stay
//!   hardlinks.
//! - destination: a directory source copies its contents; a trailing `/` or
//!   an existing directory makes the destination a directory; several sources
//!   without a trailing `/` are each copied onto the same path; an existing
//!   destination symlink is followed inside the destination root.
//! - owners: context files become 0:0, stage files keep theirs, `--chown`
//!   overrides both and also owns the directories the copy creates.
//! - modes: preserved (setuid/setgid/sticky included) unless `--chmod`.
//!
//! Deliberate difference (documented choice): a source *directory* landing on
//! an existing symlink to a directory (merged-/usr bases: `/bin -> usr/bin`)
//! follows the link, inside the destination root, instead of BuildKit's
//! `cannot copy to non-directory` (moby/buildkit#2626).
//!
//! Architecture Invariant: no image, layer or overlay knowledge — two
//! directory trees in, one modified tree out. Never writes outside
//! `dest_root`, never reads outside `source_root`.

mod archive;
mod mode;
mod owner;
mod resolve;
mod sources;
mod tree;
mod writers;

use std::path::{Path, PathBuf};

use dockerfile::pattern::{PatternError, PatternMatcher};

pub use mode::{ModeSpec, parse_chmod};
pub use owner::{Owner, resolve_chown};

use resolve::{InRoot, clean_in_root, resolve_in_root};
use tree::{Copier, Filters, OwnerPolicy};

/// One COPY or ADD instruction, already expanded by the planner.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    /// The context directory, or a stage's/image's root filesystem.
    pub source_root: &'a Path,
    /// Context files become 0:0 unless `--chown`; others keep their owners.
    pub source_is_context: bool,
    /// `.dockerignore` of the context: excluded paths are invisible.
    pub ignore: Option<&'a PatternMatcher>,
    /// As written (wildcards), relative to `source_root`.
    pub sources: &'a [String],
    /// The step's root filesystem (merged overlay view).
    pub dest_root: &'a Path,
    /// Absolute path inside `dest_root`; a trailing `/` is significant.
    pub dest: &'a str,
    pub chown: Option<&'a str>,
    pub chmod: Option<&'a str>,
    /// `--exclude` patterns, relative to each resolved source.
    pub exclude: &'a [String],
    /// `--parents`: keep the source path (after an optional `/./` pivot).
    pub parents: bool,
    /// Extract archives instead of copying them: ADD's default for local
    /// sources, or `ADD --unpack=true` (the engine decides; COPY never).
    pub add: bool,
}

impl<'a> CopyRequest<'a> {
    /// `sources` copied into the root of `dest_root` with no COPY flags:
    /// what a named-context base, a filtered context mount and a seeded
    /// cache mount all do.
    pub fn into_root(
        source_root: &'a Path,
        source_is_context: bool,
        ignore: Option<&'a PatternMatcher>,
        sources: &'a [String],
        dest_root: &'a Path,
    ) -> CopyRequest<'a> {
        CopyRequest {
            source_root,
            source_is_context,
            ignore,
            sources,
            dest_root,
            dest: "/",
            chown: None,
            chmod: None,
            exclude: &[],
            parents: false,
            add: false,
        }
    }
}

/// What a copy did; the caller turns the destination's changes into a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOutcome {
    /// Sources after wildcard expansion that were copied or extracted.
    pub sources_copied: usize,
    /// Archives ADD extracted (counted in `sources_copied` too).
    pub archives_extracted: usize,
    /// Filesystem entries created or replaced, created parents included.
    pub entries_written: u64,
    /// Bytes of regular-file content written.
    pub bytes_written: u64,
    /// Extended attributes that could not be set (BuildKit only logs these,
    /// e.g. `security.*` on a filesystem that refuses them).
    pub xattrs_skipped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{path:?}: not found")]
    SourceNotFound { path: PathBuf },
    #[error("failed to stat source {path:?}")]
    SourceStat {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read source {path:?}")]
    ReadSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to resolve {path:?}")]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("too many levels of symbolic links at {path:?}")]
    SymlinkLoop { path: PathBuf },
    #[error("remote source {url} is not supported by the local copy engine")]
    RemoteSourceUnsupported { url: String },
    #[error(
        "invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
    )]
    InvalidChmod { value: String },
    #[error("invalid chmod parameter: '{value}': cannot parse symbolic clause '{clause}'")]
    InvalidSymbolicChmod { value: String, clause: String },
    #[error("invalid --exclude patterns {patterns:?}")]
    InvalidExclude {
        patterns: Vec<String>,
        #[source]
        source: PatternError,
    },
    #[error("invalid --parents pattern {pattern:?}")]
    InvalidParentsPattern {
        pattern: String,
        #[source]
        source: PatternError,
    },
    #[error("failed to read {path:?} in the destination root")]
    UserDatabase {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path:?} in the destination root is not a regular file")]
    UserDatabaseNotAFile { path: PathBuf },
    #[error("{path:?} in the destination root is larger than {limit} bytes")]
    UserDatabaseTooLarge { path: PathBuf, limit: u64 },
    #[error("cannot copy to non-directory: {path:?}")]
    NotADirectory { path: PathBuf },
    #[error("cannot replace to directory {path:?} with file")]
    CannotReplaceDirectory { path: PathBuf },
    #[error("failed to create directory {path:?}")]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to remove {path:?} before replacing it")]
    RemoveExisting {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write {path:?}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create symlink {path:?}")]
    CreateSymlink {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create hard link {path:?} to {target:?}")]
    CreateHardlink {
        path: PathBuf,
        target: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create device node {path:?}")]
    CreateNode {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to set owner, mode or times of {path:?}")]
    SetMetadata {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read archive {path:?}")]
    ArchiveRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "archive {path:?} ({size} bytes) expands to more than {limit} bytes; refusing a likely decompression bomb"
    )]
    ArchiveTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("archive {path:?} has more than {limit} entries")]
    ArchiveTooManyEntries { path: PathBuf, limit: u64 },
    #[error("archive {archive:?}: entry {entry:?} {reason}")]
    ArchiveEntryRejected {
        archive: PathBuf,
        entry: String,
        reason: &'static str,
    },
}

/// Runs one COPY/ADD instruction. See the module docs for the semantics.
pub fn copy(request: &CopyRequest) -> Result<CopyOutcome, CopyError> {
    let mode = request.chmod.map(parse_chmod).transpose()?;
    let chown = request
        .chown
        .map(|c| resolve_chown(c, request.dest_root))
        .transpose()?;
    let exclude = if request.exclude.is_empty() {
        None
    } else {
        Some(
            PatternMatcher::new(request.exclude).map_err(|source| CopyError::InvalidExclude {
                patterns: request.exclude.to_vec(),
                source,
            })?,
        )
    };
    let ignore = if request.source_is_context {
        request.ignore
    } else {
        None
    };

    // Resolve and check every source before writing anything.
    let mut planned = Vec::new();
    for source in request.sources {
        if request.add && sources::is_remote(source) {
            return Err(CopyError::RemoteSourceUnsupported {
                url: source.clone(),
            });
        }
        planned.extend(sources::plan_source(
            request.source_root,
            source,
            request.parents,
            ignore,
        )?);
    }

    let owner = match (chown, request.source_is_context) {
        (Some(o), _) => OwnerPolicy::Set(o),
        (None, true) => OwnerPolicy::Set(Owner { uid: 0, gid: 0 }),
        (None, false) => OwnerPolicy::Preserve,
    };
    let mut copier = Copier::new(
        request.dest_root,
        owner,
        chown.unwrap_or(Owner { uid: 0, gid: 0 }),
        mode.as_ref(),
        request.source_is_context,
    );
    let dest = if request.dest.starts_with('/') {
        request.dest.to_string()
    } else {
        format!("/{}", request.dest)
    };
    let mut outcome = CopyOutcome::default();
    for item in &planned {
        if request.add
            && item.meta.file_type().is_file()
            && archive::is_archive(&item.followed.host)
        {
            // BuildKit's unpack: the destination is always a directory,
            // created 0755 with the --chown owner; --chmod does not apply.
            let dest_dir = resolve_in_root(request.dest_root, Path::new(&dest), true)?;
            copier.mkdir_all(&dest_dir, Some(0o755))?;
            archive::extract(
                &item.followed,
                &dest_dir,
                chown,
                &mut copier,
                &archive::ArchiveLimits::default(),
            )?;
            outcome.archives_extracted += 1;
            outcome.sources_copied += 1;
            continue;
        }
        let filters = Filters {
            ignore,
            ignore_prefix: item
                .followed
                .rel
                .to_string_lossy()
                .trim_start_matches('/')
                .to_string(),
            include: item.include.as_ref(),
            exclude: exclude.as_ref(),
        };
        copy_one(&mut copier, item, &dest, &filters)?;
        outcome.sources_copied += 1;
    }
    copier.finish()?;
    let stats = copier.stats();
    outcome.entries_written = stats.entries;
    outcome.bytes_written = stats.bytes;
    outcome.xattrs_skipped = stats.xattrs_skipped;
    Ok(outcome)
}

/// fsutil `Copy` for one resolved source: create the destination's parent,
/// decide whether the source goes *into* the destination (`prepareTargetDir`),
/// then copy the tree.
fn copy_one(
    copier: &mut Copier,
    item: &sources::Planned,
    dest: &str,
    filters: &Filters,
) -> Result<(), CopyError> {
    let root = copier.dest_root().to_path_buf();
    // `COPY x /a/b` makes sure /a exists; `COPY x /a/b/` makes sure /a/b does.
    let (dir_part, file_part) = dest.rsplit_once('/').unwrap_or(("", dest));
    let ensure = if !file_part.is_empty() && file_part != "." {
        format!("{dir_part}/")
    } else {
        dest.to_string()
    };
    let ensure = resolve_in_root(&root, Path::new(&ensure), true)?;
    copier.mkdir_all(&ensure, None)?;

    let mut dest_path = resolve_in_root(&root, &clean_in_root(Path::new(dest)), true)?;
    // Resolved above, so no symlink is left to follow: lstat is stat here.
    let dest_meta = std::fs::symlink_metadata(&dest_path.host).ok();
    let src_is_dir = item.meta.is_dir();
    let dest_is_dir = dest_meta.as_ref().is_some_and(|m| m.is_dir());
    if !src_is_dir && dest_is_dir {
        let name = item.name.file_name().unwrap_or(item.name.as_os_str());
        dest_path = dest_path.join(name);
    }
    let parent: InRoot = if src_is_dir && dest_meta.is_none() {
        dest_path.clone()
    } else {
        dest_path.parent(&root)
    };
    copier.mkdir_all(&parent, None)?;
    copier.copy_tree(&item.followed.host, dest_path, filters)
}

#[cfg(test)]
mod tests;
