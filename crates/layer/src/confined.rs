//! File operations confined to a root directory.
//!
//! Every directory is reached with `openat2(RESOLVE_IN_ROOT)`: the kernel
//! resolves `..` and symlinks (absolute ones too) as if the root were `/`,
//! so no name or link in a layer can lead outside it, and there is no
//! check-then-use window in userspace (the class of CVE-2014-6407,
//! CVE-2021-32760, RUSTSEC-2021-0080). The last component of a path is then
//! handled with `*at` calls on the resolved parent that never follow it
//! (`AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`, `unlinkat`), so a symlink planted at
//! that name is replaced, never written through.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Path components relative to the root: no empty, `.` or `..` components.
pub(crate) type Components = [Vec<u8>];

/// An open root directory.
pub(crate) struct Root {
    fd: OwnedFd,
}

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS
}

pub(crate) fn join(components: &Components) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

impl Root {
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { fd })
    }

    /// Opens the directory at `components` (resolved inside the root) with
    /// `flags` (`O_PATH` to use it as a dirfd, `O_RDONLY` to list it).
    pub(crate) fn open_dir(&self, components: &Components, flags: OFlags) -> io::Result<OwnedFd> {
        let path = join(components);
        Ok(rustix::fs::openat2(
            &self.fd,
            OsStr::from_bytes(&path),
            flags | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            resolve_flags(),
        )?)
    }

    /// Like [`Root::open_dir`] with `O_PATH`, creating missing directories
    /// (mode 0755, as implied directories in Docker's and containerd's
    /// unpackers) one component at a time, each resolved inside the root.
    pub(crate) fn ensure_dir(&self, components: &Components) -> io::Result<OwnedFd> {
        match self.open_dir(components, OFlags::PATH) {
            Err(error) if error.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
            other => return other,
        }
        let mut current = self.open_dir(&[], OFlags::PATH)?;
        for depth in 1..=components.len() {
            let prefix = &components[..depth];
            current = match self.open_dir(prefix, OFlags::PATH) {
                Ok(fd) => fd,
                Err(error) if error.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                    let name = OsStr::from_bytes(&components[depth - 1]);
                    match rustix::fs::mkdirat(&current, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(error) => return Err(error.into()),
                    }
                    self.open_dir(prefix, OFlags::PATH)?
                }
                Err(error) => return Err(error),
            };
        }
        Ok(current)
    }
}

/// `/proc/self/fd/<dir>/<name>`: a path for the syscalls that have no `*at`
/// form (`lsetxattr`, `chmod` of an `O_PATH` fd). The magic link resolves to
/// the already-confined directory; `name` itself is not followed by the `l*`
/// calls.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: Option<&[u8]>) -> PathBuf {
    let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    if let Some(name) = name {
        path.push(OsStr::from_bytes(name));
    }
    path
}

/// The type of `name` in `dir`, without following it; `None` when absent.
pub(crate) fn file_type_at(
    dir: BorrowedFd<'_>,
    name: &[u8],
) -> io::Result<Option<rustix::fs::FileType>> {
    match rustix::fs::statat(dir, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(rustix::fs::FileType::from_raw_mode(stat.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Removes `name` in `dir` and, for a directory, everything below it,
/// never following a symlink. A missing `name` is not an error.
pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let os_name = OsStr::from_bytes(name);
    match rustix::fs::unlinkat(dir, os_name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        // Linux answers EISDIR for a directory.
        Err(Errno::ISDIR) => {}
        Err(error) => return Err(error.into()),
    }
    let child = rustix::fs::openat(
        dir,
        os_name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for entry in list_dir(&child)? {
        remove_all(child.as_fd(), &entry)?;
    }
    match rustix::fs::unlinkat(dir, os_name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The names in a directory opened for reading, without `.` and `..`.
/// Collected first because deleting while iterating may skip entries.
pub(crate) fn list_dir(dir: &OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    let mut reader = rustix::fs::Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    Ok(names)
}
