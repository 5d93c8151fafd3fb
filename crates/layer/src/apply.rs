//! Applying a layer to a directory, safely.
//!
//! The compression is detected from the first bytes (gzip `1f 8b`, zstd
//! `28 b5 2f fd`, else a plain tar), the uncompressed stream is hashed into
//! the diffID while it is read, and its size is bounded so that a
//! decompression bomb fails with [`LayerError::TooLarge`] instead of filling
//! the disk (CVE-2017-14992; no anchor caps this, research/reliability.md
//! §1.4).
//!
//! Entries are applied one by one through [`crate::confined`]; tar's own
//! `unpack` is never used (its threat model excludes hostile archives).

use std::cell::Cell;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use oci::{DiffId, Digest};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;
use sha2::{Digest as _, Sha256};

use crate::confined::{self, Components, Root};
use crate::error::LayerError;
use crate::{
    OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR, WHITEOUT_META_PREFIX,
    WHITEOUT_PREFIX, pax,
};

/// What the target directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// An empty dir that becomes an overlayfs lower dir: whiteouts become
    /// char devices 0:0 and opaque markers the overlay opaque xattr
    /// (`trusted.` as root, `user.` otherwise, matching the `userxattr`
    /// mount option the snapshotter uses when not root).
    Overlay,
    /// A full root filesystem: whiteouts delete what earlier layers left.
    Merged,
}

/// Bounds on what one layer may expand to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyLimits {
    /// Maximum size of the uncompressed tar stream in bytes.
    pub max_bytes: u64,
    /// Maximum number of tar entries (extension headers included).
    pub max_entries: u64,
}

impl Default for ApplyLimits {
    fn default() -> Self {
        ApplyLimits {
            max_bytes: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// Applies a (gzip/zstd/plain, detected from the bytes) layer to `root`
/// safely and returns its diffID, the sha256 of the uncompressed stream.
pub fn apply_layer(
    reader: &mut dyn Read,
    root: &Path,
    mode: ApplyMode,
    limits: &ApplyLimits,
) -> Result<DiffId, LayerError> {
    let read_error = |source| LayerError::ReadLayer { source };
    let mut magic = [0u8; 4];
    let mut have = 0;
    while have < magic.len() {
        match reader.read(&mut magic[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(read_error(error)),
        }
    }
    let stream = io::Cursor::new(magic[..have].to_vec()).chain(reader);
    let decoded: Box<dyn Read + '_> = if have >= 2 && magic[..2] == [0x1f, 0x8b] {
        // Multi-member: pigz-style and concatenated gzip layers exist.
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(stream)))
    } else if have == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Box::new(zstd::Decoder::new(stream).map_err(read_error)?)
    } else {
        Box::new(stream)
    };
    let exceeded = Rc::new(Cell::new(false));
    let mut bounded = Bounded {
        inner: decoded,
        hasher: Sha256::new(),
        count: 0,
        limit: limits.max_bytes,
        exceeded: Rc::clone(&exceeded),
    };
    let too_large = |error: LayerError| {
        if exceeded.get() {
            LayerError::TooLarge {
                limit: limits.max_bytes,
            }
        } else {
            error
        }
    };

    let root_dir = Root::open(root).map_err(|source| LayerError::OpenRoot {
        path: root.to_path_buf(),
        source,
    })?;
    let mut applier = Applier {
        root: root_dir,
        mode,
        is_root: rustix::process::geteuid().is_root(),
        created: HashSet::new(),
        dir_times: Vec::new(),
    };
    {
        let mut archive = tar::Archive::new(&mut bounded);
        let entries = archive.entries().map_err(read_error).map_err(too_large)?;
        let mut count: u64 = 0;
        for entry in entries {
            let mut entry = entry.map_err(read_error).map_err(too_large)?;
            count += 1;
            if count > limits.max_entries {
                return Err(LayerError::TooManyEntries {
                    limit: limits.max_entries,
                });
            }
            applier.apply(&mut entry).map_err(too_large)?;
        }
    }
    // The diffID covers the whole stream, including the end-of-archive
    // blocks and any padding after them.
    io::copy(&mut bounded, &mut io::sink())
        .map_err(read_error)
        .map_err(too_large)?;
    applier.finish()?;
    let digest: [u8; 32] = bounded.hasher.finalize().into();
    Ok(DiffId(Digest::from_sha256_bytes(digest)))
}

/// Hashes and counts the uncompressed stream, failing past the limit.
struct Bounded<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            self.exceeded.set(true);
            return Err(io::Error::other("layer exceeds the size limit"));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Splits a tar name into components relative to the root: a leading `/` is
/// dropped (absolute names are relative to the layer root), `.` and empty
/// components vanish, `..` pops. `None` when `..` would leave the root.
pub(crate) fn normalize(name: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                out.pop()?;
            }
            other => out.push(other.to_vec()),
        }
    }
    Some(out)
}

struct Applier {
    root: Root,
    mode: ApplyMode,
    is_root: bool,
    /// Paths (and their ancestors) this layer created; whiteouts and opaque
    /// markers only hide what earlier layers left (OCI image spec, "Whiteouts").
    created: HashSet<Vec<u8>>,
    /// Directory mtimes, set last because creating children changes them.
    dir_times: Vec<(Vec<Vec<u8>>, Timespec)>,
}

/// Metadata of an entry, read before its data is consumed.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Applier {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            return Ok(());
        }
        let meta = read_meta(entry, &name)?;
        let Some(components) = normalize(&raw_name) else {
            return Err(LayerError::EscapesRoot { name });
        };
        let apply_error = |source: io::Error| LayerError::ApplyEntry {
            name: name.clone(),
            source,
        };

        let Some((base, parent)) = components.split_last() else {
            // The root itself: umoci CVE-2021-29136 turned `/` into a
            // symlink and wrote through it. Only a directory may describe it.
            if kind != tar::EntryType::Directory {
                return Err(LayerError::ReplacesRoot { name });
            }
            let root_fd = self.root.open_dir(&[], OFlags::PATH).map_err(apply_error)?;
            self.set_metadata(root_fd.as_fd(), None, &meta, true)
                .map_err(apply_error)?;
            self.dir_times.push((Vec::new(), meta.mtime));
            return Ok(());
        };

        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if base == OPAQUE_MARKER.as_bytes() {
                return self.opaque(parent).map_err(apply_error);
            }
            if base.starts_with(WHITEOUT_META_PREFIX.as_bytes()) {
                // AUFS bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`); moby skips them.
                return Ok(());
            }
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(LayerError::InvalidWhiteout { name });
            }
            return self.whiteout(parent, hidden).map_err(apply_error);
        }

        self.mark_created(&components);
        let parent_fd = self.root.ensure_dir(parent).map_err(apply_error)?;
        let dir = parent_fd.as_fd();
        let existing = confined::file_type_at(dir, base).map_err(apply_error)?;
        let os_base = OsStr::from_bytes(base);
        let replace = |keep_dir: bool| -> io::Result<()> {
            match existing {
                None => Ok(()),
                Some(FileType::Directory) if keep_dir => Ok(()),
                Some(_) => confined::remove_all(dir, base),
            }
        };
        let perm = Mode::from_raw_mode(0o600);
        match kind {
            tar::EntryType::Directory => {
                replace(true).map_err(apply_error)?;
                if existing != Some(FileType::Directory) {
                    rustix::fs::mkdirat(dir, os_base, Mode::from_raw_mode(0o700))
                        .map_err(|e| apply_error(e.into()))?;
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                replace(false).map_err(apply_error)?;
                let fd = rustix::fs::openat(
                    dir,
                    os_base,
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    perm,
                )
                .map_err(|e| apply_error(e.into()))?;
                let mut file = File::from(fd);
                io::copy(entry, &mut file).map_err(apply_error)?;
            }
            tar::EntryType::Symlink => {
                let Some(target) = entry.link_name_bytes() else {
                    return Err(apply_error(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "symlink without a target",
                    )));
                };
                replace(false).map_err(apply_error)?;
                rustix::fs::symlinkat(OsStr::from_bytes(&target), dir, os_base)
                    .map_err(|e| apply_error(e.into()))?;
            }
            tar::EntryType::Link => {
                let target_raw = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                return self.hardlink(dir, base, &components, &target_raw, &name, existing);
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                if !self.is_root {
                    // Device nodes need CAP_MKNOD; rootless Docker and
                    // BuildKit skip them as well.
                    return Ok(());
                }
                replace(false).map_err(apply_error)?;
                let header = entry.header();
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let file_type = if kind == tar::EntryType::Char {
                    FileType::CharacterDevice
                } else {
                    FileType::BlockDevice
                };
                rustix::fs::mknodat(
                    dir,
                    os_base,
                    file_type,
                    perm,
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|e| apply_error(e.into()))?;
            }
            tar::EntryType::Fifo => {
                replace(false).map_err(apply_error)?;
                rustix::fs::mknodat(dir, os_base, FileType::Fifo, perm, 0)
                    .map_err(|e| apply_error(e.into()))?;
            }
            other => {
                return Err(LayerError::UnsupportedEntry {
                    name,
                    kind: char::from(other.as_byte()),
                });
            }
        }
        let is_dir = kind == tar::EntryType::Directory;
        self.set_metadata(dir, Some(base), &meta, kind == tar::EntryType::Symlink)
            .map_err(apply_error)?;
        if is_dir {
            self.dir_times.push((components.clone(), meta.mtime));
        } else {
            set_time(dir, base, meta.mtime).map_err(apply_error)?;
        }
        Ok(())
    }

    fn hardlink(
        &mut self,
        dir: BorrowedFd<'_>,
        base: &[u8],
        components: &Components,
        target_raw: &[u8],
        name: &str,
        existing: Option<FileType>,
    ) -> Result<(), LayerError> {
        let target_name = String::from_utf8_lossy(target_raw).into_owned();
        let Some(target) = normalize(target_raw) else {
            return Err(LayerError::HardlinkEscapesRoot {
                name: name.to_string(),
                target: target_name,
            });
        };
        let Some((target_base, target_parent)) = target.split_last() else {
            return Err(LayerError::HardlinkWithoutTarget {
                name: name.to_string(),
            });
        };
        if target.as_slice() == components {
            // A link to itself changes nothing (and deleting first would
            // lose the file).
            return Ok(());
        }
        let link_error = |source: io::Error| LayerError::Hardlink {
            name: name.to_string(),
            target: target_name.clone(),
            source,
        };
        let target_dir = self
            .root
            .open_dir(target_parent, OFlags::PATH)
            .map_err(link_error)?;
        if existing.is_some() {
            confined::remove_all(dir, base).map_err(link_error)?;
        }
        // Flags 0: a symlink target is linked itself, never followed.
        rustix::fs::linkat(
            &target_dir,
            OsStr::from_bytes(target_base),
            dir,
            OsStr::from_bytes(base),
            AtFlags::empty(),
        )
        .map_err(|e| link_error(e.into()))
    }

    fn mark_created(&mut self, components: &Components) {
        for depth in 1..=components.len() {
            self.created.insert(confined::join(&components[..depth]));
        }
    }

    fn whiteout(&mut self, parent: &Components, hidden: &[u8]) -> io::Result<()> {
        let mut path = parent.to_vec();
        path.push(hidden.to_vec());
        if self.created.contains(&confined::join(&path)) {
            return Ok(());
        }
        match self.mode {
            ApplyMode::Merged => {
                let dir = match self.root.open_dir(parent, OFlags::PATH) {
                    Ok(dir) => dir,
                    // Nothing below a missing or non-directory parent to delete.
                    Err(error)
                        if error.raw_os_error() == Some(Errno::NOENT.raw_os_error())
                            || error.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) =>
                    {
                        return Ok(());
                    }
                    Err(error) => return Err(error),
                };
                confined::remove_all(dir.as_fd(), hidden)
            }
            ApplyMode::Overlay => {
                self.mark_created(parent);
                let dir = self.root.ensure_dir(parent)?;
                confined::remove_all(dir.as_fd(), hidden)?;
                rustix::fs::mknodat(
                    &dir,
                    OsStr::from_bytes(hidden),
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rustix::fs::makedev(0, 0),
                )?;
                Ok(())
            }
        }
    }

    fn opaque(&mut self, dir: &Components) -> io::Result<()> {
        self.mark_created(dir);
        match self.mode {
            ApplyMode::Merged => {
                let fd = match self.root.open_dir(dir, OFlags::RDONLY) {
                    Ok(fd) => fd,
                    Err(error) if error.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                        return Ok(());
                    }
                    Err(error) => return Err(error),
                };
                self.clear_lower(&fd, dir.to_vec())
            }
            ApplyMode::Overlay => {
                let fd = self.root.ensure_dir(dir)?;
                let key = if self.is_root {
                    OVERLAY_OPAQUE_XATTR
                } else {
                    OVERLAY_USER_OPAQUE_XATTR
                };
                rustix::fs::setxattr(
                    confined::proc_path(fd.as_fd(), None),
                    key,
                    b"y",
                    XattrFlags::empty(),
                )?;
                Ok(())
            }
        }
    }

    /// Removes everything in `dir` that this layer did not create.
    fn clear_lower(&self, dir: &std::os::fd::OwnedFd, path: Vec<Vec<u8>>) -> io::Result<()> {
        for name in confined::list_dir(dir)? {
            let mut child = path.clone();
            child.push(name.clone());
            if !self.created.contains(&confined::join(&child)) {
                confined::remove_all(dir.as_fd(), &name)?;
            } else if confined::file_type_at(dir.as_fd(), &name)? == Some(FileType::Directory) {
                let child_fd = rustix::fs::openat(
                    dir,
                    OsStr::from_bytes(&name),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.clear_lower(&child_fd, child)?;
            }
        }
        Ok(())
    }

    /// Owner, then xattrs (chown clears `security.capability`), then mode
    /// (chown clears setuid/setgid).
    fn set_metadata(
        &self,
        dir: BorrowedFd<'_>,
        base: Option<&[u8]>,
        meta: &Meta,
        is_symlink: bool,
    ) -> io::Result<()> {
        let name = base.unwrap_or(b".");
        if self.is_root {
            rustix::fs::chownat(
                dir,
                OsStr::from_bytes(name),
                Some(rustix::fs::Uid::from_raw(meta.uid)),
                Some(rustix::fs::Gid::from_raw(meta.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        let path = confined::proc_path(dir, base);
        for (key, value) in &meta.xattrs {
            // overlayfs' own xattrs in a layer could redirect lookups or
            // hide lower dirs once the dir is an overlay lower; never apply
            // them from a tar.
            if key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay.") {
                continue;
            }
            match rustix::fs::lsetxattr(&path, OsStr::from_bytes(key), value, XattrFlags::empty()) {
                Ok(()) => {}
                // Like moby: not every filesystem or privilege level allows
                // every namespace (user.* on symlinks, trusted.* rootless).
                Err(Errno::NOTSUP) | Err(Errno::PERM) => {}
                Err(error) => return Err(error.into()),
            }
        }
        if !is_symlink {
            let node = rustix::fs::openat(
                dir,
                OsStr::from_bytes(name),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            rustix::fs::chmod(
                confined::proc_path(node.as_fd(), None),
                Mode::from_raw_mode(meta.mode & 0o7777),
            )?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), LayerError> {
        for (components, time) in self.dir_times.drain(..).rev() {
            let (dir, base): (std::os::fd::OwnedFd, &[u8]) = match components.split_last() {
                Some((base, parent)) => match self.root.open_dir(parent, OFlags::PATH) {
                    Ok(dir) => (dir, base),
                    Err(error) if error.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {
                        continue;
                    }
                    Err(source) => {
                        return Err(LayerError::ApplyEntry {
                            name: String::from_utf8_lossy(&confined::join(&components))
                                .into_owned(),
                            source,
                        });
                    }
                },
                None => match self.root.open_dir(&[], OFlags::PATH) {
                    Ok(dir) => (dir, b"."),
                    Err(source) => {
                        return Err(LayerError::ApplyEntry {
                            name: "/".to_string(),
                            source,
                        });
                    }
                },
            };
            match set_time(dir.as_fd(), base, time) {
                // Deleted later in the same layer.
                Err(error) if error.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => {}
                Err(source) => {
                    return Err(LayerError::ApplyEntry {
                        name: String::from_utf8_lossy(&confined::join(&components)).into_owned(),
                        source,
                    });
                }
                Ok(()) => {}
            }
        }
        Ok(())
    }
}

fn set_time(dir: BorrowedFd<'_>, name: &[u8], time: Timespec) -> io::Result<()> {
    let times = Timestamps {
        last_access: time,
        last_modification: time,
    };
    rustix::fs::utimensat(
        dir,
        OsStr::from_bytes(name),
        &times,
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, LayerError> {
    let header = entry.header();
    let invalid = |key: &str| LayerError::InvalidPax {
        name: name.to_string(),
        key: key.to_string(),
    };
    let mode = header.mode().map_err(|_| invalid("mode"))?;
    // tar applies PAX uid/gid records to the header it returns. An empty
    // field (all NUL or spaces, as some writers leave it) means 0, as in Go's
    // archive/tar.
    let id = |parsed: io::Result<u64>, raw: &[u8], key: &str| match parsed {
        Ok(value) => u32::try_from(value).map_err(|_| invalid(key)),
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(_) => Err(invalid(key)),
    };
    let uid = id(header.uid(), &header.as_old().uid, "uid")?;
    let gid = id(header.gid(), &header.as_old().gid, "gid")?;
    let mut mtime = Timespec {
        tv_sec: header
            .mtime()
            .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        tv_nsec: 0,
    };
    let mut xattrs = Vec::new();
    let extensions = entry.pax_extensions().map_err(|_| invalid("pax header"))?;
    if let Some(extensions) = extensions {
        for extension in extensions {
            let extension = extension.map_err(|_| invalid("pax record"))?;
            let key = extension.key_bytes();
            if key == b"mtime" {
                let (secs, nanos) =
                    pax::parse_time(extension.value_bytes()).ok_or_else(|| invalid("mtime"))?;
                mtime = Timespec {
                    tv_sec: secs,
                    tv_nsec: nanos.into(),
                };
            } else if let Some(xattr) = key.strip_prefix(b"SCHILY.xattr.") {
                xattrs.push((xattr.to_vec(), extension.value_bytes().to_vec()));
            }
        }
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        mtime,
        xattrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_names() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("a/b", Some(&["a", "b"])),
            ("/abs/x", Some(&["abs", "x"])),
            ("./a//b/.", Some(&["a", "b"])),
            ("a/../b", Some(&["b"])),
            ("dir/", Some(&["dir"])),
            ("/", Some(&[])),
            ("../x", None),
            ("a/../../x", None),
            ("/../etc/passwd", None),
        ];
        for (name, want) in cases {
            let want = want.map(|w| w.iter().map(|c| c.as_bytes().to_vec()).collect::<Vec<_>>());
            assert_eq!(normalize(name.as_bytes()), want, "{name}");
        }
    }
}
