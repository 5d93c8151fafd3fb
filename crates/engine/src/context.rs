//! The build context: its `.dockerignore`, and the checksums of exactly the
//! files a COPY or ADD reads, for cache keys.
//!
//! A checksum covers each selected path's relative name, type, permission
//! bits, owner, size and content (or link target), never its mtime: a
//! touched-but-unchanged file must not invalidate the cache, and a file whose
//! content changed while its size and mtime did not must (moby/buildkit#4817).

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use dockerfile::pattern::{self, PatternMatcher};
use sha2::{Digest as _, Sha256};
use solver::CacheKey;

use crate::error::BuildError;
use crate::rootfs;

/// A loaded build context.
pub(crate) struct Context {
    pub dir: PathBuf,
    pub ignore: Option<PatternMatcher>,
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
        Ok(Context {
            dir: dir.to_path_buf(),
            ignore,
        })
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
        Ok(Context {
            dir: dir.to_path_buf(),
            ignore,
        })
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
                self.hash_tree(&resolved, &resolved_relative, key)?;
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

    fn hash_tree(&self, path: &Path, relative: &str, key: &mut CacheKey) -> Result<(), BuildError> {
        if self.ignored(relative) && !self.ignore.as_ref().is_some_and(|m| m.has_exclusions()) {
            return Ok(());
        }
        let read_error = |source| BuildError::ReadContext {
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::symlink_metadata(path).map_err(read_error)?;
        let kind = meta.file_type();
        if !self.ignored(relative) {
            key.field(relative)
                .field(meta.permissions().mode().to_le_bytes())
                .field(meta.uid().to_le_bytes())
                .field(meta.gid().to_le_bytes());
            if kind.is_file() {
                key.field("file")
                    .field(meta.len().to_le_bytes())
                    .field(hash_file(path).map_err(read_error)?);
            } else if kind.is_symlink() {
                let target = fs::read_link(path).map_err(read_error)?;
                key.field("symlink")
                    .field(target.as_os_str().as_encoded_bytes());
            } else if kind.is_dir() {
                key.field("dir");
            } else if kind.is_block_device() || kind.is_char_device() {
                key.field("device").field(meta.rdev().to_le_bytes());
            } else {
                key.field("other");
            }
        }
        if kind.is_dir() {
            let mut names: Vec<_> = fs::read_dir(path)
                .map_err(read_error)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(read_error)?;
            names.sort();
            for name in names {
                let child_relative = join(relative, &name.to_string_lossy());
                self.hash_tree(&path.join(&name), &child_relative, key)?;
            }
        }
        Ok(())
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn hash_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().into())
}
