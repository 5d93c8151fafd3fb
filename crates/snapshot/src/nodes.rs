//! Copying single filesystem nodes with their metadata, and the overlay
//! markers (whiteouts, opaque dirs) of the overlay-upper format.
//!
//! Everything here works on paths inside dirs the snapshot owns, but the
//! merged tree was written by a build step, so nothing follows a symlink:
//! `lstat`, `O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, `l*xattr` throughout.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;

pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
pub(crate) const USER_OPAQUE_XATTR: &str = "user.overlay.opaque";

pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// overlayfs marks deletions with a character device 0:0.
pub(crate) fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

pub(crate) fn is_opaque(path: &Path) -> bool {
    [OPAQUE_XATTR, USER_OPAQUE_XATTR].iter().any(|key| {
        let mut value = [0u8; 2];
        matches!(rustix::fs::lgetxattr(path, *key, &mut value[..]), Ok(1) if value[0] == b'y')
    })
}

pub(crate) fn set_opaque(path: &Path) -> io::Result<()> {
    let key = if is_root() {
        OPAQUE_XATTR
    } else {
        USER_OPAQUE_XATTR
    };
    rustix::fs::lsetxattr(path, key, b"y", XattrFlags::empty())?;
    Ok(())
}

/// Writes a whiteout for `path`: a char device 0:0 as overlayfs does, or,
/// where mknod is not permitted (rootless), the OCI `.wh.<name>` file that
/// the layer writer passes through unchanged.
pub(crate) fn whiteout(path: &Path) -> io::Result<()> {
    match rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::CharacterDevice,
        Mode::empty(),
        rustix::fs::makedev(0, 0),
    ) {
        Ok(()) => Ok(()),
        Err(Errno::PERM) => {
            let name = path.file_name().unwrap_or_default();
            let mut marker = OsString::from(".wh.");
            marker.push(name);
            File::create(path.with_file_name(marker)).map(drop)
        }
        Err(error) => Err(error.into()),
    }
}

/// Removes `path` whatever it is; std's `remove_dir_all` does not follow
/// symlinks (CVE-2022-21658 fix). A missing path is fine.
pub(crate) fn remove_all(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Creates `dst` as a copy of the node `src` (described by `meta`), with
/// owner, xattrs, and, except for directories (see [`finish_dir`]), mode and
/// times. Sockets are skipped, as in every layer format.
pub(crate) fn copy_node(src: &Path, dst: &Path, meta: &Metadata) -> io::Result<()> {
    let file_type = meta.file_type();
    if file_type.is_dir() {
        fs::create_dir(dst)?;
    } else if file_type.is_file() {
        copy_file(src, dst)?;
    } else if file_type.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
    } else if file_type.is_char_device() || file_type.is_block_device() || file_type.is_fifo() {
        let kind = if file_type.is_char_device() {
            FileType::CharacterDevice
        } else if file_type.is_block_device() {
            FileType::BlockDevice
        } else {
            FileType::Fifo
        };
        match rustix::fs::mknodat(
            rustix::fs::CWD,
            dst,
            kind,
            Mode::from_raw_mode(0o600),
            meta.rdev(),
        ) {
            Ok(()) => {}
            // Device nodes need CAP_MKNOD; rootless builders skip them.
            Err(Errno::PERM) if !is_root() && !file_type.is_fifo() => return Ok(()),
            Err(error) => return Err(error.into()),
        }
    } else {
        return Ok(());
    }
    copy_owner_and_xattrs(src, dst, meta)?;
    if !file_type.is_dir() {
        if !file_type.is_symlink() {
            fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
        set_times(dst, meta)?;
    }
    Ok(())
}

/// Sets a directory's mode and times; called after its children are in
/// place, because adding them changes the mtime and a read-only mode would
/// stop an unprivileged copy.
pub(crate) fn finish_dir(dst: &Path, meta: &Metadata) -> io::Result<()> {
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    set_times(dst, meta)
}

/// Copies metadata onto an existing directory (a dir in an upper layer over
/// the same dir in a lower one).
pub(crate) fn copy_dir_metadata(src: &Path, dst: &Path, meta: &Metadata) -> io::Result<()> {
    clear_xattrs(dst)?;
    copy_owner_and_xattrs(src, dst, meta)
}

fn copy_file(src: &Path, dst: &Path) -> io::Result<()> {
    let mut from = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(src)?;
    let mut to = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(dst)?;
    // A reflink shares extents (btrfs, xfs); otherwise std's io::copy uses
    // copy_file_range, which is in-kernel and may reflink too.
    if rustix::fs::ioctl_ficlone(&to, &from).is_ok() {
        return Ok(());
    }
    io::copy(&mut from, &mut to)?;
    Ok(())
}

fn copy_owner_and_xattrs(src: &Path, dst: &Path, meta: &Metadata) -> io::Result<()> {
    if is_root() {
        std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    }
    // After chown, which clears security.capability.
    for (key, value) in xattrs(src)? {
        match rustix::fs::lsetxattr(dst, key.as_os_str(), &value, XattrFlags::empty()) {
            Ok(()) => {}
            Err(Errno::NOTSUP) | Err(Errno::PERM) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

fn clear_xattrs(path: &Path) -> io::Result<()> {
    for (key, _) in xattrs(path)? {
        match rustix::fs::lremovexattr(path, key.as_os_str()) {
            Ok(()) | Err(Errno::NODATA) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

fn set_times(dst: &Path, meta: &Metadata) -> io::Result<()> {
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: meta.atime(),
            tv_nsec: meta.atime_nsec(),
        },
        last_modification: Timespec {
            tv_sec: meta.mtime(),
            tv_nsec: meta.mtime_nsec(),
        },
    };
    rustix::fs::utimensat(rustix::fs::CWD, dst, &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// The xattrs that describe the file itself: overlayfs' bookkeeping
/// (`*.overlay.*`) describes a layer dir, not the file, and is never copied.
pub(crate) fn xattrs(path: &Path) -> io::Result<Vec<(OsString, Vec<u8>)>> {
    let size = match rustix::fs::llistxattr_query(path) {
        Ok(size) => size,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(error) => return Err(error.into()),
    };
    if size == 0 {
        return Ok(Vec::new());
    }
    let mut names = vec![0u8; size];
    let len = rustix::fs::llistxattr(path, &mut names[..])?;
    names.truncate(len);
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
            continue;
        }
        let key = OsStr::from_bytes(name);
        let value = match rustix::fs::lgetxattr_query(path, key) {
            Ok(size) => {
                let mut value = vec![0u8; size];
                let len = rustix::fs::lgetxattr(path, key, &mut value[..])?;
                value.truncate(len);
                value
            }
            Err(Errno::NODATA) => continue,
            Err(error) => return Err(error.into()),
        };
        out.push((key.to_os_string(), value));
    }
    Ok(out)
}

/// Directory entries sorted by name bytes, for a stable walk.
pub(crate) fn sorted_names(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}
