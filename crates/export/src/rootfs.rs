//! A built stage's root filesystem written out as a plain tar (`type=tar`)
//! or copied into a directory (`type=local`), from a root that the engine has
//! already materialised.
//!
//! The source tree is walked without ever following a symlink, in byte order
//! of names, so the tar is deterministic: owners, modes, device numbers,
//! xattrs (PAX `SCHILY.xattr.*`) and hard links are kept, and mtimes are kept
//! or, with `source_date_epoch`, clamped to it as BuildKit's
//! `rewrite-timestamp` does. Overlayfs' own `trusted.overlay.*` xattrs and
//! the host-specific `security.selinux` label are not part of an image's
//! content, so they are left out.
//!
//! Copying into a directory creates every entry relative to an open
//! directory fd with `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`, and replaces an
//! existing entry of another type instead of writing through it: a symlink
//! already in the destination can never redirect a write outside it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::process::{Gid, Uid};

use crate::atomic::write_atomically;
use crate::error::ExportError;

/// How a root filesystem is written out.
#[derive(Clone, Debug, Default)]
pub struct RootfsOptions {
    /// Clamp every mtime to at most this (seconds since the epoch), for
    /// reproducible output; `None` keeps the files' mtimes.
    pub source_date_epoch: Option<i64>,
}

/// Writes the tree under `root` as a tar file at `out`, atomically.
pub fn write_rootfs_tar(
    root: &Path,
    out: &Path,
    options: &RootfsOptions,
) -> Result<(), ExportError> {
    write_atomically(out, |file| write_tar(root, file, out, options))
}

/// Streams the tree under `root` as a tar into `out` (for `dest=-`).
pub fn write_rootfs_tar_to(
    root: &Path,
    out: &mut dyn Write,
    options: &RootfsOptions,
) -> Result<(), ExportError> {
    write_tar(root, out, Path::new("<stream>"), options)
}

/// Copies the tree under `root` into `dest` (created if missing), keeping
/// types, modes, owners (when running as root), xattrs, hard links and
/// mtimes. Entries already in `dest` are overwritten; others are kept, as
/// BuildKit's local exporter does.
pub fn write_rootfs_dir(root: &Path, dest: &Path) -> Result<(), ExportError> {
    let write_error = |source: io::Error| ExportError::Write {
        path: dest.to_path_buf(),
        source,
    };
    fs::create_dir_all(dest).map_err(write_error)?;
    let dest_fd = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| write_error(e.into()))?;
    let mut copier = DirCopier {
        dest_root: dest_fd,
        dest: dest.to_path_buf(),
        links: HashMap::new(),
        as_root: rustix::process::geteuid().is_root(),
    };
    let root_fd = copier.dest_root.try_clone().map_err(write_error)?;
    copier.copy_dir(root, &root_fd, Path::new(""))
}

/// The directory's entries sorted by name bytes, so output order never
/// depends on the filesystem's readdir order.
fn sorted_entries(dir: &Path) -> Result<Vec<(OsString, Metadata)>, ExportError> {
    let walk_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Walk { path, source }
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(walk_error(dir))? {
        let entry = entry.map_err(walk_error(dir))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(walk_error(&path))?;
        entries.push((entry.file_name(), meta));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(entries)
}

fn open_nofollow(path: &Path) -> Result<File, ExportError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(File::from)
    .map_err(|e| ExportError::Walk {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// The xattrs that belong to the content (see the module docs).
fn content_xattrs(path: &Path) -> Result<Vec<(OsString, Vec<u8>)>, ExportError> {
    let walk_error = |source| ExportError::Walk {
        path: path.to_path_buf(),
        source,
    };
    let names = match xattr::list(path) {
        Ok(names) => names,
        // Filesystems without xattr support have none to keep.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(walk_error(e)),
    };
    let mut out = Vec::new();
    for name in names {
        let bytes = name.as_bytes();
        if bytes.starts_with(b"trusted.overlay.") || bytes == b"security.selinux" {
            continue;
        }
        if let Some(value) = xattr::get(path, &name).map_err(walk_error)? {
            out.push((name, value));
        }
    }
    out.sort();
    Ok(out)
}

fn clamp_mtime(meta: &Metadata, options: &RootfsOptions) -> i64 {
    match options.source_date_epoch {
        Some(epoch) => meta.mtime().min(epoch),
        None => meta.mtime(),
    }
}

fn write_tar<W: Write>(
    root: &Path,
    out: W,
    name: &Path,
    options: &RootfsOptions,
) -> Result<(), ExportError> {
    let mut writer = TarWriter {
        builder: tar::Builder::new(out),
        out_name: name.to_path_buf(),
        options,
        links: HashMap::new(),
    };
    writer.dir(root, "")?;
    writer
        .builder
        .into_inner()
        .map_err(|source| ExportError::Write {
            path: name.to_path_buf(),
            source,
        })?;
    Ok(())
}

struct TarWriter<'a, W: Write> {
    builder: tar::Builder<W>,
    out_name: PathBuf,
    options: &'a RootfsOptions,
    /// (device, inode) of files with several links -> first tar path.
    links: HashMap<(u64, u64), String>,
}

impl<W: Write> TarWriter<'_, W> {
    fn write_error(&self, source: io::Error) -> ExportError {
        ExportError::Write {
            path: self.out_name.clone(),
            source,
        }
    }

    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<(), ExportError> {
        for (name, meta) in sorted_entries(dir)? {
            let path = dir.join(&name);
            let tar_path = format!("{prefix}{}", String::from_utf8_lossy(name.as_bytes()));
            if self.entry(&path, &tar_path, &meta)? {
                self.dir(&path, &format!("{tar_path}/"))?;
            }
        }
        Ok(())
    }

    /// Appends one entry; returns whether it is a directory to descend into.
    fn entry(&mut self, path: &Path, tar_path: &str, meta: &Metadata) -> Result<bool, ExportError> {
        let file_type = meta.file_type();
        if file_type.is_socket() {
            // tar has no socket type; sockets are runtime state, not content.
            return Ok(false);
        }
        let xattrs = content_xattrs(path)?;
        if !xattrs.is_empty() {
            let pax: Vec<(String, &[u8])> = xattrs
                .iter()
                .map(|(k, v)| {
                    (
                        format!("SCHILY.xattr.{}", String::from_utf8_lossy(k.as_bytes())),
                        v.as_slice(),
                    )
                })
                .collect();
            self.builder
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(|e| self.write_error(e))?;
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mtime(clamp_mtime(meta, self.options).max(0) as u64);
        header.set_size(0);
        let result = if file_type.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            self.builder
                .append_data(&mut header, format!("{tar_path}/"), io::empty())
        } else if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(|source| ExportError::Walk {
                path: path.to_path_buf(),
                source,
            })?;
            header.set_entry_type(tar::EntryType::Symlink);
            self.builder.append_link(&mut header, tar_path, target)
        } else if file_type.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1
                && let Some(first) = self.links.get(&key)
            {
                header.set_entry_type(tar::EntryType::Link);
                let first = first.clone();
                self.builder.append_link(&mut header, tar_path, first)
            } else {
                if meta.nlink() > 1 {
                    self.links.insert(key, tar_path.to_string());
                }
                let file = open_nofollow(path)?;
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(meta.len());
                // `take` keeps a file that grows while we read it from
                // overrunning the size already in the header.
                self.builder
                    .append_data(&mut header, tar_path, io::Read::take(file, meta.len()))
            }
        } else if file_type.is_char_device() || file_type.is_block_device() {
            header.set_entry_type(if file_type.is_char_device() {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            });
            let rdev = meta.rdev();
            header
                .set_device_major(rustix::fs::major(rdev))
                .and_then(|()| header.set_device_minor(rustix::fs::minor(rdev)))
                .map_err(|e| self.write_error(e))?;
            self.builder.append_data(&mut header, tar_path, io::empty())
        } else {
            header.set_entry_type(tar::EntryType::Fifo);
            self.builder.append_data(&mut header, tar_path, io::empty())
        };
        result.map_err(|e| self.write_error(e))?;
        Ok(file_type.is_dir())
    }
}

struct DirCopier {
    dest_root: OwnedFd,
    dest: PathBuf,
    /// (device, inode) of source files with several links -> the first
    /// copy's path relative to `dest`.
    links: HashMap<(u64, u64), PathBuf>,
    /// Only root may give files away; as another user they keep ours, as
    /// `cp -a` does.
    as_root: bool,
}

impl DirCopier {
    fn write_error(&self, rel: &Path, source: io::Error) -> ExportError {
        ExportError::Write {
            path: self.dest.join(rel),
            source,
        }
    }

    fn copy_dir(&mut self, src: &Path, dst: &OwnedFd, rel: &Path) -> Result<(), ExportError> {
        for (name, meta) in sorted_entries(src)? {
            let src_path = src.join(&name);
            let rel_path = rel.join(&name);
            self.copy_entry(&src_path, &meta, dst, &name, &rel_path)?;
        }
        Ok(())
    }

    fn copy_entry(
        &mut self,
        src: &Path,
        meta: &Metadata,
        parent: &OwnedFd,
        name: &OsStr,
        rel: &Path,
    ) -> Result<(), ExportError> {
        let err = |this: &Self, e: rustix::io::Errno| this.write_error(rel, e.into());
        let file_type = meta.file_type();
        if file_type.is_socket() {
            return Ok(());
        }
        let existing = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW).ok();
        let existing_is_dir =
            existing.is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        if existing.is_some() && !(file_type.is_dir() && existing_is_dir) {
            self.remove(parent, name, rel, existing_is_dir)?;
        }
        let xattrs = content_xattrs(src)?;
        let mode = Mode::from_raw_mode(meta.mode() & 0o7777);
        if file_type.is_dir() {
            if !existing_is_dir {
                rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700))
                    .map_err(|e| err(self, e))?;
            }
            let child = rustix::fs::openat(
                parent,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| err(self, e))?;
            self.copy_dir(src, &child, rel)?;
            // After the contents: creating entries would bump the mtime.
            self.finish_fd(&child, meta, mode, &xattrs, rel)?;
        } else if file_type.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1
                && let Some(first) = self.links.get(&key)
            {
                rustix::fs::linkat(&self.dest_root, first, parent, name, AtFlags::empty())
                    .map_err(|e| err(self, e))?;
                return Ok(());
            }
            let mut input = open_nofollow(src)?;
            let fd = rustix::fs::openat(
                parent,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .map_err(|e| err(self, e))?;
            let mut output = File::from(fd);
            io::copy(&mut input, &mut output).map_err(|e| self.write_error(rel, e))?;
            let fd = OwnedFd::from(output);
            self.finish_fd(&fd, meta, mode, &xattrs, rel)?;
            if meta.nlink() > 1 {
                self.links.insert(key, rel.to_path_buf());
            }
        } else if file_type.is_symlink() {
            let target = fs::read_link(src).map_err(|source| ExportError::Walk {
                path: src.to_path_buf(),
                source,
            })?;
            rustix::fs::symlinkat(&target, parent, name).map_err(|e| err(self, e))?;
            self.finish_at(parent, name, meta, None, rel)?;
        } else {
            let kind = if file_type.is_char_device() {
                FileType::CharacterDevice
            } else if file_type.is_block_device() {
                FileType::BlockDevice
            } else {
                FileType::Fifo
            };
            rustix::fs::mknodat(parent, name, kind, mode, meta.rdev()).map_err(|e| err(self, e))?;
            self.finish_at(parent, name, meta, Some(mode), rel)?;
        }
        Ok(())
    }

    fn remove(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        rel: &Path,
        is_dir: bool,
    ) -> Result<(), ExportError> {
        if is_dir {
            // std's remove_dir_all never follows symlinks inside the tree
            // (fixed for CVE-2022-21658); `rel`'s parents are directories we
            // opened with O_NOFOLLOW, so the path names what `parent` holds.
            fs::remove_dir_all(self.dest.join(rel)).map_err(|e| self.write_error(rel, e))
        } else {
            rustix::fs::unlinkat(parent, name, AtFlags::empty())
                .map_err(|e| self.write_error(rel, e.into()))
        }
    }

    fn times(meta: &Metadata) -> Timestamps {
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

    /// Owner first, then mode: chown(2) clears setuid/setgid bits.
    fn finish_fd(
        &self,
        fd: &OwnedFd,
        meta: &Metadata,
        mode: Mode,
        xattrs: &[(OsString, Vec<u8>)],
        rel: &Path,
    ) -> Result<(), ExportError> {
        let err = |e: rustix::io::Errno| self.write_error(rel, e.into());
        if self.as_root {
            rustix::fs::fchown(
                fd,
                Some(Uid::from_raw(meta.uid())),
                Some(Gid::from_raw(meta.gid())),
            )
            .map_err(err)?;
        }
        for (name, value) in xattrs {
            rustix::fs::fsetxattr(fd, name, value, rustix::fs::XattrFlags::empty()).map_err(err)?;
        }
        rustix::fs::fchmod(fd, mode).map_err(err)?;
        rustix::fs::futimens(fd, &Self::times(meta)).map_err(err)
    }

    fn finish_at(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        meta: &Metadata,
        mode: Option<Mode>,
        rel: &Path,
    ) -> Result<(), ExportError> {
        let err = |e: rustix::io::Errno| self.write_error(rel, e.into());
        if self.as_root {
            rustix::fs::chownat(
                parent,
                name,
                Some(Uid::from_raw(meta.uid())),
                Some(Gid::from_raw(meta.gid())),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(err)?;
        }
        if let Some(mode) = mode {
            rustix::fs::chmodat(parent, name, mode, AtFlags::empty()).map_err(err)?;
        }
        rustix::fs::utimensat(parent, name, &Self::times(meta), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(err)
    }
}
