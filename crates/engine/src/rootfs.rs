//! Path resolution confined to a root directory, as a container sees it:
//! absolute symlink targets and `..` are taken relative to the root and can
//! never climb out of it (Docker's `FollowSymlinkInScope`; the kernel's
//! `openat2(RESOLVE_IN_ROOT)` gives the same answer).
//!
//! The engine uses this to read the build context and to create WORKDIR
//! directories. Resolution is lexical plus `readlink`, so it is only as safe
//! as the absence of concurrent renames in the tree; nothing else writes to a
//! step's root while the engine works on it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Linux gives up after 40 symlinks in one resolution (`ELOOP`,
/// path_resolution(7)); so do we.
const MAX_SYMLINKS: usize = 40;

/// The components of a path after cleaning: empty and `.` components dropped,
/// `..` removing the previous component and stopping at the root.
pub(crate) fn clean(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Resolves `relative` inside `root`, following every symlink inside the
/// root. Returns `None` when a component does not exist.
pub(crate) fn resolve(root: &Path, relative: &str) -> Option<PathBuf> {
    let (resolved, complete) = resolve_components(root, relative)?;
    complete.then(|| resolved.iter().fold(root.to_path_buf(), |p, c| p.join(c)))
}

/// Like [`resolve`], but components that do not exist are kept as written,
/// so a path through a dangling symlink names where the link points, as
/// Docker's `FollowSymlinkInScope` does. `None` only for a symlink loop.
pub(crate) fn resolve_lenient(root: &Path, relative: &str) -> Option<Vec<String>> {
    resolve_components(root, relative).map(|(resolved, _)| resolved)
}

/// The resolved components, and whether every one of them exists.
fn resolve_components(root: &Path, relative: &str) -> Option<(Vec<String>, bool)> {
    let mut pending: Vec<String> = clean(relative)
        .into_iter()
        .rev()
        .map(str::to_string)
        .collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut complete = true;
    let mut hops = 0;
    while let Some(component) = pending.pop() {
        if component == ".." {
            resolved.pop();
            continue;
        }
        if component.is_empty() || component == "." {
            continue;
        }
        let candidate = resolved
            .iter()
            .fold(root.to_path_buf(), |p, c| p.join(c))
            .join(&component);
        match fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return None;
                }
                let target = fs::read_link(&candidate).ok()?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for part in target.split('/').rev() {
                    pending.push(part.to_string());
                }
            }
            Ok(_) => resolved.push(component),
            Err(_) => {
                complete = false;
                resolved.push(component);
            }
        }
    }
    Some((resolved, complete))
}

/// Creates `path` (absolute in the container) and its missing parents inside
/// `root`, with mode 0755 and the given owner, following symlinks inside the
/// root (a dangling one is created where it points). Existing directories
/// are left as they are, as BuildKit's `MkdirAll` with `WithParents` does.
pub(crate) fn mkdir_all(root: &Path, path: &str, owner: (u32, u32)) -> std::io::Result<()> {
    let components = resolve_lenient(root, path).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{path}: too many levels of symbolic links"),
        )
    })?;
    let mut current = root.to_path_buf();
    for component in components {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    format!("{} exists and is not a directory", current.display()),
                ));
            }
            Err(_) => {
                fs::create_dir(&current)?;
                fs::set_permissions(&current, fs::Permissions::from_mode(0o755))?;
                std::os::unix::fs::lchown(&current, Some(owner.0), Some(owner.1))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_never_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("data/sub")).unwrap();
        std::os::unix::fs::symlink("/data", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("data/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let cases = [
            ("abs/sub", Some("data/sub")),
            ("/abs/../abs/sub", Some("data/sub")),
            ("data/up", None), // resolves to <root>/etc, which does not exist
            ("../../data", Some("data")),
            ("loop", None),
            ("", Some("")),
        ];
        for (input, expected) in cases {
            let got = resolve(root, input);
            let expected = expected.map(|e| root.join(e));
            assert_eq!(got, expected, "{input}");
        }
    }

    #[test]
    fn mkdir_all_follows_links_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("link")).unwrap();
        let me = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        mkdir_all(root, "/link/a/b", me).unwrap();
        assert!(root.join("real/a/b").is_dir());
        std::os::unix::fs::symlink("/../../../tmp-escape-test", root.join("escape")).unwrap();
        mkdir_all(root, "/escape/x", me).unwrap();
        assert!(root.join("tmp-escape-test/x").is_dir());
    }
}
