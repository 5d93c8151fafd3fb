//! Source resolution: from the strings written in the Dockerfile to the list
//! of in-root paths to copy, each followed (symlinks resolved inside the
//! source root) and stat'ed.
//!
//! - Wildcards (fsutil `ResolveWildcards`): the path is split at its first
//!   component with `*`, `?` or `[`; the literal prefix is resolved (links
//!   followed), then the tree below it is walked in lexical order and the
//!   relative path of each entry is matched against the rest with Go
//!   `filepath.Match`; a matched directory is not descended.
//! - `--parents` (dockerfile2llb `convert_copy.go`): the source is cut at the
//!   first `/./`; the part before it is the copy root (`/` without a pivot)
//!   and the part after it becomes an include pattern, so the directories
//!   leading to each match are recreated under the destination.
//! - `.dockerignore`: the context the client would have sent does not contain
//!   ignored paths, so they are "not found"; a directory excluded while `!`
//!   rules exist stays visible, its contents are filtered during the copy.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use dockerfile::pattern::{PatternMatcher, filepath_match, has_wildcards};

use super::CopyError;
use super::resolve::{InRoot, clean_in_root, is_missing, resolve_in_root};

/// One source to copy.
pub(crate) struct Planned {
    /// The path as matched (before following links): its base name names a
    /// file copied into a directory (`COPY link /dir/` writes `/dir/link`).
    pub name: PathBuf,
    /// Where it really is in the source root.
    pub followed: InRoot,
    pub meta: Metadata,
    /// `--parents` include pattern, relative to `followed`.
    pub include: Option<Include>,
}

/// The `--parents` include pattern: entries matching it (or below a match)
/// are copied, directories that may lead to a match are walked.
pub(crate) struct Include {
    matcher: PatternMatcher,
    components: Vec<String>,
}

impl Include {
    pub(crate) fn new(pattern: &str) -> Result<Include, CopyError> {
        let matcher = PatternMatcher::new(&[pattern.to_string()]).map_err(|source| {
            CopyError::InvalidParentsPattern {
                pattern: pattern.to_string(),
                source,
            }
        })?;
        Ok(Include {
            matcher,
            components: pattern.split('/').map(str::to_string).collect(),
        })
    }

    pub(crate) fn includes(&self, rel: &str) -> bool {
        self.matcher.matches_or_parent_matches(rel)
    }

    /// Whether something below directory `rel` could match: every component
    /// of `rel` matches the pattern's component at the same depth, up to the
    /// first `**`, which can match any number of directories.
    pub(crate) fn may_match_below(&self, rel: &str) -> bool {
        for (i, comp) in rel.split('/').enumerate() {
            let Some(pat) = self.components.get(i) else {
                return true;
            };
            if pat.contains("**") {
                return true;
            }
            if !filepath_match(pat, comp).unwrap_or(false) {
                return false;
            }
        }
        true
    }
}

/// ADD's remote sources: the engine downloads them (`crate::remote`) and
/// hands the copy a local file, so one reaching here is an error.
pub(crate) fn is_remote(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("git@")
        || lower.starts_with("git://")
        || lower.starts_with("ssh://")
}

/// Expands one written source into the paths to copy.
pub(crate) fn plan_source(
    root: &Path,
    source: &str,
    parents: bool,
    ignore: Option<&PatternMatcher>,
) -> Result<Vec<Planned>, CopyError> {
    let (base, pattern) = if parents {
        match source.split_once("/./") {
            Some((base, pattern)) => (base.to_string(), Some(pattern.to_string())),
            None => ("/".to_string(), Some(source.to_string())),
        }
    } else {
        (source.to_string(), None)
    };
    let base = clean_in_root(Path::new(&base));
    let include = match &pattern {
        Some(p) => {
            let cleaned = clean_in_root(Path::new(p));
            let text = cleaned
                .to_string_lossy()
                .trim_start_matches('/')
                .to_string();
            if text.is_empty() { None } else { Some(text) }
        }
        None => None,
    };
    let base_has_wildcards = has_wildcards(&base.to_string_lossy());
    let include_has_wildcards = include.as_deref().is_some_and(has_wildcards);

    // BuildKit's RequiredPaths: a literal --parents source must exist.
    if let Some(inc) = &include
        && !base_has_wildcards
        && !include_has_wildcards
    {
        let full = base.join(inc);
        follow_and_stat(root, &full, ignore)?;
    }

    let names = if base_has_wildcards {
        expand_wildcards(root, &base, ignore)?
    } else {
        vec![base]
    };
    let mut planned = Vec::new();
    for name in names {
        let (followed, meta) = follow_and_stat(root, &name, ignore)?;
        let include = include.as_deref().map(Include::new).transpose()?;
        planned.push(Planned {
            name,
            followed,
            meta,
            include,
        });
    }
    Ok(planned)
}

fn follow_and_stat(
    root: &Path,
    path: &Path,
    ignore: Option<&PatternMatcher>,
) -> Result<(InRoot, Metadata), CopyError> {
    let followed = resolve_in_root(root, path, true)?;
    let meta = match std::fs::symlink_metadata(&followed.host) {
        Ok(m) => m,
        Err(e) if is_missing(&e) => {
            return Err(CopyError::SourceNotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(CopyError::SourceStat {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if let Some(ignore) = ignore
        && !visible(ignore, &followed.rel, meta.is_dir())
    {
        return Err(CopyError::SourceNotFound {
            path: path.to_path_buf(),
        });
    }
    Ok((followed, meta))
}

/// Whether the client would have sent this path of the context.
pub(crate) fn visible(ignore: &PatternMatcher, rel: &Path, is_dir: bool) -> bool {
    let text = rel.to_string_lossy();
    let text = text.trim_start_matches('/');
    if text.is_empty() || !ignore.matches_or_parent_matches(text) {
        return true;
    }
    // An excluded directory may hold re-included (`!`) entries; the walk
    // decides entry by entry.
    is_dir && ignore.has_exclusions()
}

/// fsutil `resolveWildcards`: walk below the literal prefix, match relative
/// paths, do not descend into matched directories.
fn expand_wildcards(
    root: &Path,
    path: &Path,
    ignore: Option<&PatternMatcher>,
) -> Result<Vec<PathBuf>, CopyError> {
    let mut literal = PathBuf::from("/");
    let mut rest: Vec<String> = Vec::new();
    for comp in path.components().skip(1) {
        let text = comp.as_os_str().to_string_lossy().into_owned();
        if rest.is_empty() && !has_wildcards(&text) {
            literal.push(comp);
        } else {
            rest.push(text);
        }
    }
    let pattern = rest.join("/");
    let base = resolve_in_root(root, &literal, true)?;
    let mut out = Vec::new();
    match std::fs::symlink_metadata(&base.host) {
        Ok(m) if m.is_dir() => {}
        // Nothing to match under a missing or non-directory prefix: an empty
        // wildcard, not an error (AllowEmptyWildcard).
        _ => return Ok(out),
    }
    walk(&base, "", rest.len(), &pattern, ignore, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &InRoot,
    rel: &str,
    depth_left: usize,
    pattern: &str,
    ignore: Option<&PatternMatcher>,
    out: &mut Vec<PathBuf>,
) -> Result<(), CopyError> {
    if depth_left == 0 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(&dir.host)
        .map_err(|source| CopyError::ReadSource {
            path: dir.rel.clone(),
            source,
        })?
        .collect::<Result<_, _>>()
        .map_err(|source| CopyError::ReadSource {
            path: dir.rel.clone(),
            source,
        })?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let child = dir.join(&name);
        let meta =
            std::fs::symlink_metadata(&child.host).map_err(|source| CopyError::SourceStat {
                path: child.rel.clone(),
                source,
            })?;
        if let Some(ignore) = ignore
            && !visible(ignore, &child.rel, meta.is_dir())
        {
            continue;
        }
        let name_text = name.to_string_lossy();
        let child_rel = if rel.is_empty() {
            name_text.into_owned()
        } else {
            format!("{rel}/{name_text}")
        };
        // Go's filepath.Match error (a malformed pattern) means "no match"
        // here: fsutil ignores it.
        if filepath_match(pattern, &child_rel).unwrap_or(false) {
            out.push(child.rel.clone());
            continue;
        }
        if meta.is_dir() {
            walk(&child, &child_rel, depth_left - 1, pattern, ignore, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_may_match_below() {
        let rows = [
            ("foo1/foo2/ba*", "foo1", true),
            ("foo1/foo2/ba*", "foo1/foo2", true),
            ("foo1/foo2/ba*", "other", false),
            ("src/**/*.txt", "src/a/b/c", true),
            ("*/c", "b", true),
            ("*/c", "b/c/d", true),
            ("x/y", "x/z", false),
        ];
        for (pattern, dir, want) in rows {
            let inc = Include::new(pattern).expect("pattern");
            assert_eq!(inc.may_match_below(dir), want, "{pattern} below {dir}");
        }
    }
}
