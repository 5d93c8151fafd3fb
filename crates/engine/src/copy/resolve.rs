//! Path resolution confined to a root directory, the way Docker's
//! `FollowSymlinkInScope` / containerd's `fs.RootPath` do it: components are
//! walked one at a time, symlinks are read and re-walked, an absolute link
//! target restarts at the root and `..` never climbs above the root. The result
//! is a host path inside the root whose existing components are real
//! directories (no symlinks), so later operations on it cannot leave the root.
//!
//! Precondition (why a path-based walk is enough here and openat2 is not
//! needed): nothing else mutates the roots while a COPY runs — the RUN
//! processes of a stage are dead before its filesystem is read or written.
//!
//! Must not know about COPY semantics: it only maps an in-root path to a host
//! path.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::CopyError;

/// Linux's own limit on symlinks followed in one lookup is 40; BuildKit's
/// `fs.RootPath` allows 255. We take the kernel's, a chain longer than that
/// fails in a container anyway.
const MAX_SYMLINKS: u32 = 40;

/// A path inside a root: its host path and its `/`-rooted in-root spelling
/// (used in error messages and to re-resolve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InRoot {
    pub host: PathBuf,
    pub rel: PathBuf,
}

impl InRoot {
    pub(crate) fn root(root: &Path) -> InRoot {
        InRoot {
            host: root.to_path_buf(),
            rel: PathBuf::from("/"),
        }
    }

    /// One more component below this path, not resolved (the caller checks it
    /// with `lstat` before going through it).
    pub(crate) fn join(&self, name: &OsStr) -> InRoot {
        InRoot {
            host: self.host.join(name),
            rel: self.rel.join(name),
        }
    }

    pub(crate) fn parent(&self, root: &Path) -> InRoot {
        match (self.host.parent(), self.rel.parent()) {
            (Some(host), Some(rel)) if self.host != root => InRoot {
                host: host.to_path_buf(),
                rel: rel.to_path_buf(),
            },
            _ => InRoot::root(root),
        }
    }
}

/// The components of `path` as a queue, `.` dropped, `..` kept.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Lexical clean of an in-root path: `/`-rooted, `.` dropped, `..` clamped at
/// the root (Go's `filepath.Join("/", p)`).
pub(crate) fn clean_in_root(path: &Path) -> PathBuf {
    let mut out: Vec<OsString> = Vec::new();
    for c in components(path) {
        if c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    let mut p = PathBuf::from("/");
    p.extend(out);
    p
}

/// Resolves `path` (taken as rooted at `root`, whatever its leading `/`)
/// inside `root`. With `follow_final` the last component is followed too when
/// it is a symlink; otherwise it is returned as is. Missing components are
/// kept lexically, so the result may not exist.
pub(crate) fn resolve_in_root(
    root: &Path,
    path: &Path,
    follow_final: bool,
) -> Result<InRoot, CopyError> {
    let mut pending = components(path);
    let mut resolved: Vec<OsString> = Vec::new();
    let mut host = root.to_path_buf();
    let mut links = 0u32;
    let mut missing = false;
    while let Some(comp) = pending.pop_front() {
        if comp == ".." {
            if resolved.pop().is_some() {
                host.pop();
            }
            continue;
        }
        let is_last = pending.is_empty();
        let candidate = host.join(&comp);
        if missing || (is_last && !follow_final) {
            resolved.push(comp);
            host = candidate;
            continue;
        }
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(CopyError::SymlinkLoop {
                        path: rel_of(&resolved, &comp),
                    });
                }
                let target =
                    std::fs::read_link(&candidate).map_err(|source| CopyError::Resolve {
                        path: rel_of(&resolved, &comp),
                        source,
                    })?;
                if target.is_absolute() {
                    resolved.clear();
                    host = root.to_path_buf();
                }
                let mut next = components(&target);
                next.extend(pending);
                pending = next;
            }
            Ok(_) => {
                resolved.push(comp);
                host = candidate;
            }
            Err(e) if is_missing(&e) => {
                missing = true;
                resolved.push(comp);
                host = candidate;
            }
            Err(source) => {
                return Err(CopyError::Resolve {
                    path: rel_of(&resolved, &comp),
                    source,
                });
            }
        }
    }
    let mut rel = PathBuf::from("/");
    rel.extend(&resolved);
    Ok(InRoot { host, rel })
}

/// ENOENT, or ENOTDIR (a component is a file): both mean "does not exist" for
/// a lookup, as in BuildKit's `readUser` and Go's `os.IsNotExist` callers.
pub(crate) fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

fn rel_of(resolved: &[OsString], comp: &OsStr) -> PathBuf {
    let mut p = PathBuf::from("/");
    p.extend(resolved);
    p.push(comp);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Symlinks to create (link, target), the path to resolve,
    /// follow_final, the expected in-root result.
    type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, bool, &'a str);

    #[test]
    fn resolution_table() {
        let rows: &[Row] = &[
            (&[], "/a/b", true, "/a/b"),
            (&[], "../../a", true, "/a"),
            (&[("l", "/etc")], "/l/passwd", true, "/etc/passwd"),
            (&[("l", "../../../etc")], "/l/passwd", true, "/etc/passwd"),
            (&[("d/l", "../x")], "/d/l", true, "/x"),
            (&[("d/l", "../x")], "/d/l", false, "/d/l"),
            (&[("a", "b"), ("b", "/c")], "/a/f", true, "/c/f"),
            (&[("app", "/etc")], "/app/../x", true, "/x"),
        ];
        for (links, path, follow, want) in rows {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("d")).expect("mkdir");
            for (link, target) in links.iter() {
                symlink(target, dir.path().join(link)).expect("symlink");
            }
            let got = resolve_in_root(dir.path(), Path::new(path), *follow).expect("resolve");
            assert_eq!(got.rel, PathBuf::from(want), "{path} with {links:?}");
            assert_eq!(got.host, dir.path().join(want.trim_start_matches('/')));
        }
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        symlink("b", dir.path().join("a")).expect("symlink");
        symlink("a", dir.path().join("b")).expect("symlink");
        let err = resolve_in_root(dir.path(), Path::new("/a/x"), true).unwrap_err();
        assert!(matches!(err, CopyError::SymlinkLoop { .. }), "{err}");
    }
}
