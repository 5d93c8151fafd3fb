//! ADD's local archive extraction (buildkit `solver/llbsolver/file/unpack.go`,
//! formerly over moby/go-archive `chrootarchive.Untar`, now its own
//! `applyRootArchive` over an `os.Root`).
//!
//! Detection is by content, as `isArchivePath` does: the file is decompressed
//! by magic number (gzip, bzip2, xz, zstd, or none) and is an archive when the
//! first 512 bytes are a tar header with a valid checksum. An empty file or a
//! `.tar` that is not one is copied as a file instead.
//!
//! Extraction is confined to the destination directory the way the chroot
//! confines go-archive: entry names are cleaned and may not climb out, the
//! parent of every entry is resolved inside the destination (absolute links
//! restart there), the final component is replaced, never followed; hardlink
//! targets are resolved the same way, so a link to `/etc/shadow` names the
//! destination's own file. Relative symlink targets that climb out of the
//! destination are refused (go-archive's breakout check).
//!
//! Bounded (reliability.md §1.4; BuildKit itself has no bound): the
//! decompressed stream may not exceed [`ArchiveLimits`] — a floor, or a
//! multiple of the archive's size on disk, whichever is larger — nor hold
//! more than a fixed number of entries, so a decompression bomb fails with a
//! clear error instead of filling the disk. `.wh.*` members are extracted as
//! plain files, as BuildKit's `applyRootArchive` (and go-archive's `Untar`
//! without a `WhiteoutFormat` before it) does: an ADD destination is not a
//! layer. Device nodes and FIFOs are skipped, as `applyRootArchive` does.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use super::CopyError;
use super::owner::Owner;
use super::resolve::{InRoot, is_missing, resolve_in_root};
use super::tree::{Copier, chmod_checked, create_new_file, lchown};

const TAR_BLOCK: usize = 512;

/// How much an archive may expand to when ADD extracts it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArchiveLimits {
    /// Decompressed bytes always allowed, whatever the archive's size.
    pub floor_bytes: u64,
    /// Beyond the floor, decompressed bytes per byte of archive on disk.
    /// gzip peaks near 1032:1 on zeros; real tarballs stay far below 100:1.
    pub max_ratio: u64,
    /// Never more than this many decompressed bytes.
    pub max_bytes: u64,
    /// Maximum number of tar entries.
    pub max_entries: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            floor_bytes: 1 << 30,
            max_ratio: 200,
            max_bytes: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

impl ArchiveLimits {
    fn for_size(&self, archive_size: u64) -> u64 {
        archive_size
            .saturating_mul(self.max_ratio)
            .max(self.floor_bytes)
            .min(self.max_bytes)
    }
}

/// Counts decompressed bytes and fails the read past `limit`.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            self.exceeded.set(true);
            return Err(io::Error::other("archive expands beyond its limit"));
        }
        Ok(n)
    }
}

fn decompressed(file: File) -> io::Result<Box<dyn Read>> {
    let mut reader = BufReader::new(file);
    let magic = reader.fill_buf()?.to_vec();
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else if magic.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(reader))
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Box::new(xz2::read::XzDecoder::new_multi_decoder(reader))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
    } else {
        Box::new(reader)
    })
}

/// Whether a header block is a tar header: not all zeros (end of archive)
/// and its checksum field matches (POSIX: sum of the bytes with the checksum
/// field taken as spaces; old tars summed signed bytes, accept both).
fn is_tar_header(block: &[u8; TAR_BLOCK]) -> bool {
    if block.iter().all(|&b| b == 0) {
        return false;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let Ok(want) = u64::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    want == unsigned || want as i64 == signed
}

/// `isArchivePath`: a regular file whose (decompressed) start is a tar header.
pub(crate) fn is_archive(path: &Path) -> bool {
    let Ok(file) = open_nofollow(path) else {
        return false;
    };
    let Ok(mut reader) = decompressed(file) else {
        return false;
    };
    let mut block = [0u8; TAR_BLOCK];
    match reader.read_exact(&mut block) {
        Ok(()) => is_tar_header(&block),
        Err(_) => false,
    }
}

fn open_nofollow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Clean, relative components of an entry name; None when it climbs out of
/// the destination.
fn entry_components(name: &Path) -> Option<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for c in name.components() {
        match c {
            Component::Normal(n) => out.push(PathBuf::from(n)),
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Extracts `archive` (in the source root) into the directory `dest`.
pub(crate) fn extract(
    archive: &InRoot,
    dest: &InRoot,
    chown: Option<Owner>,
    copier: &mut Copier,
    limits: &ArchiveLimits,
) -> Result<(), CopyError> {
    let exceeded = std::rc::Rc::new(std::cell::Cell::new(false));
    let plain_read_err = |source| CopyError::ArchiveRead {
        path: archive.rel.clone(),
        source,
    };
    let file = open_nofollow(&archive.host).map_err(plain_read_err)?;
    let size = file.metadata().map_err(plain_read_err)?.len();
    let limit = limits.for_size(size);
    let read_err = |source| {
        if exceeded.get() {
            CopyError::ArchiveTooLarge {
                path: archive.rel.clone(),
                size,
                limit,
            }
        } else {
            CopyError::ArchiveRead {
                path: archive.rel.clone(),
                source,
            }
        }
    };
    let bounded = Bounded {
        inner: decompressed(file).map_err(plain_read_err)?,
        read: 0,
        limit,
        exceeded: exceeded.clone(),
    };
    let mut tar = tar::Archive::new(bounded);
    // Directory times are set last: creating entries inside changes them.
    let mut dir_times: Vec<(PathBuf, PathBuf, i64)> = Vec::new();
    let mut entries_seen: u64 = 0;
    for entry in tar.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        entries_seen += 1;
        if entries_seen > limits.max_entries {
            return Err(CopyError::ArchiveTooManyEntries {
                path: archive.rel.clone(),
                limit: limits.max_entries,
            });
        }
        let raw_name = entry.path().map_err(read_err)?.into_owned();
        let reject = |reason| CopyError::ArchiveEntryRejected {
            archive: archive.rel.clone(),
            entry: raw_name.to_string_lossy().into_owned(),
            reason,
        };
        let Some(mut comps) = entry_components(&raw_name) else {
            return Err(reject("climbs out of the destination"));
        };
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        // Recent BuildKit (`applyRootArchive`) extracts filesystem content
        // only: device nodes and FIFOs are skipped, leaving whatever is at
        // their path in place.
        if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            continue;
        }
        let Some(name) = comps.pop() else {
            // "." or "/": go-archive leaves the destination itself alone.
            continue;
        };
        let parent_rel: PathBuf = comps.iter().collect();
        let parent = resolve_in_root(&dest.host, &parent_rel, true)?;
        let parent = InRoot {
            host: parent.host,
            rel: dest
                .rel
                .join(parent.rel.strip_prefix("/").unwrap_or(&parent.rel)),
        };
        mkdir_implied(&dest.host, &parent, copier)?;
        let target = parent.join(name.as_os_str());

        let is_dir = kind.is_dir();
        match std::fs::symlink_metadata(&target.host) {
            Ok(m) if m.is_dir() && is_dir => {}
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&target.host).map_err(|source| {
                CopyError::RemoveExisting {
                    path: target.rel.clone(),
                    source,
                }
            })?,
            Ok(_) => {
                std::fs::remove_file(&target.host).map_err(|source| CopyError::RemoveExisting {
                    path: target.rel.clone(),
                    source,
                })?
            }
            Err(e) if is_missing(&e) => {}
            Err(source) => {
                return Err(CopyError::Resolve {
                    path: target.rel.clone(),
                    source,
                });
            }
        }

        let header = entry.header();
        let mode = header.mode().map_err(read_err)? & 0o7777;
        let mtime = header.mtime().map_err(read_err)? as i64;
        let (uid, gid) = match chown {
            Some(o) => (o.uid, o.gid),
            None => (
                header.uid().map_err(read_err)? as u32,
                header.gid().map_err(read_err)? as u32,
            ),
        };
        let link_name = entry.link_name().map_err(read_err)?.map(|l| l.into_owned());
        let mut is_symlink = false;
        if is_dir {
            if std::fs::symlink_metadata(&target.host).is_err() {
                std::fs::create_dir(&target.host).map_err(|source| CopyError::CreateDirectory {
                    path: target.rel.clone(),
                    source,
                })?;
            }
        } else if kind.is_file() || kind.is_contiguous() {
            let mut out = create_new_file(&target.host).map_err(|source| CopyError::WriteFile {
                path: target.rel.clone(),
                source,
            })?;
            let n = io::copy(&mut entry, &mut out).map_err(|source| {
                if exceeded.get() {
                    read_err(source)
                } else {
                    CopyError::WriteFile {
                        path: target.rel.clone(),
                        source,
                    }
                }
            })?;
            copier.count_bytes(n);
        } else if kind.is_hard_link() {
            let Some(link) = link_name else {
                return Err(reject("is a hard link without a target"));
            };
            let Some(link_comps) = entry_components(&link) else {
                return Err(reject("hard links outside the destination"));
            };
            let link_rel: PathBuf = link_comps.iter().collect();
            let resolved = resolve_in_root(&dest.host, &link_rel, false)?;
            std::fs::hard_link(&resolved.host, &target.host).map_err(|source| {
                CopyError::CreateHardlink {
                    path: target.rel.clone(),
                    target: link.clone(),
                    source,
                }
            })?;
        } else if kind.is_symlink() {
            let Some(link) = link_name else {
                return Err(reject("is a symlink without a target"));
            };
            if !link.is_absolute() {
                let mut joined: PathBuf = comps.iter().collect();
                joined.push(&link);
                if entry_components(&joined).is_none() {
                    return Err(reject("is a symlink pointing outside the destination"));
                }
            }
            std::os::unix::fs::symlink(&link, &target.host).map_err(|source| {
                CopyError::CreateSymlink {
                    path: target.rel.clone(),
                    source,
                }
            })?;
            is_symlink = true;
        } else {
            // Other entry types (GNU sparse, volume labels, ...) carry no
            // file go-archive would create either.
            continue;
        }
        copier.count_entry();
        lchown(&target.host, &target.rel, uid, gid)?;
        if !is_symlink {
            chmod_checked(&target.host, &target.rel, mode)?;
        }
        if let Ok(Some(pax)) = entry.pax_extensions() {
            for ext in pax.flatten() {
                // Best effort, as go-archive's BestEffortXattrs: counted, not fatal.
                if let Some(key) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr."))
                    && xattr::set(&target.host, key, ext.value_bytes()).is_err()
                {
                    copier.count_xattr_skipped();
                }
            }
        }
        if is_dir {
            dir_times.push((target.host.clone(), target.rel.clone(), mtime));
        } else {
            set_mtime(&target.host, &target.rel, mtime)?;
        }
    }
    for (host, rel, mtime) in dir_times.iter().rev() {
        set_mtime(host, rel, *mtime)?;
    }
    Ok(())
}

/// Parents an archive implies without listing them: 0755 root:root, like
/// go-archive's `MkdirAllAndChownNew(parent, 0755, rootIDs)`.
fn mkdir_implied(root: &Path, dir: &InRoot, copier: &mut Copier) -> Result<(), CopyError> {
    let rel_in_dest = dir.host.strip_prefix(root).unwrap_or(Path::new(""));
    let mut host = root.to_path_buf();
    for comp in rel_in_dest.components() {
        host.push(comp);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(CopyError::NotADirectory {
                    path: dir.rel.clone(),
                });
            }
            Err(e) if is_missing(&e) => {}
            Err(source) => {
                return Err(CopyError::Resolve {
                    path: dir.rel.clone(),
                    source,
                });
            }
        }
        std::fs::create_dir(&host).map_err(|source| CopyError::CreateDirectory {
            path: dir.rel.clone(),
            source,
        })?;
        lchown(&host, &dir.rel, 0, 0)?;
        chmod_checked(&host, &dir.rel, 0o755)?;
        copier.count_entry();
    }
    Ok(())
}

fn set_mtime(host: &Path, rel: &Path, mtime: i64) -> Result<(), CopyError> {
    let ts = rustix::fs::Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    let times = rustix::fs::Timestamps {
        last_access: ts,
        last_modification: ts,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        host,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| CopyError::SetMetadata {
        path: rel.to_path_buf(),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::tree::OwnerPolicy;
    use std::io::Write;

    /// A tar holding one member `name` of `size` zero bytes, compressed
    /// with `compress`.
    fn zeros_archive(size: u64, compress: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "zeros", io::repeat(0).take(size))
            .expect("append");
        compress(&builder.into_inner().expect("tar"))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).expect("gzip");
        gz.finish().expect("gzip")
    }

    fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
        zstd::encode_all(bytes, 19).expect("zstd")
    }

    fn plain(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }

    /// (what, decompressed size, compressor, limits, whether it must fail)
    #[test]
    fn decompression_bombs_are_refused() {
        let small = ArchiveLimits {
            floor_bytes: 1 << 20,
            max_ratio: 50,
            max_bytes: 64 << 20,
            max_entries: 100,
        };
        type Row = (&'static str, u64, fn(&[u8]) -> Vec<u8>, bool);
        let rows: [Row; 4] = [
            ("gzip bomb", 8 << 20, gzip, true),
            ("zstd bomb", 8 << 20, zstd_compress, true),
            ("plain tar over the floor", 2 << 20, plain, false),
            ("small gzip", 512 << 10, gzip, false),
        ];
        for (what, size, compress, must_fail) in rows {
            let dir = tempfile::tempdir().expect("tmp");
            let src = dir.path().join("src");
            let dest = dir.path().join("dest");
            std::fs::create_dir_all(&src).expect("mkdir");
            std::fs::create_dir_all(&dest).expect("mkdir");
            std::fs::write(src.join("a.tar"), zeros_archive(size, compress)).expect("write");
            let archive = InRoot {
                host: src.join("a.tar"),
                rel: PathBuf::from("/a.tar"),
            };
            let target = InRoot {
                host: dest.clone(),
                rel: PathBuf::from("/"),
            };
            let mut copier = Copier::new(
                &dest,
                OwnerPolicy::Preserve,
                Owner { uid: 0, gid: 0 },
                None,
                false,
            );
            let me = Owner {
                uid: rustix::process::getuid().as_raw(),
                gid: rustix::process::getgid().as_raw(),
            };
            let result = extract(&archive, &target, Some(me), &mut copier, &small);
            match (must_fail, result) {
                (true, Err(CopyError::ArchiveTooLarge { limit, .. })) => {
                    assert!(limit < size, "{what}");
                    let written = std::fs::metadata(dest.join("zeros")).map(|m| m.len());
                    assert!(
                        written.unwrap_or(0) <= limit,
                        "{what}: wrote past the limit"
                    );
                }
                (false, Ok(())) => {
                    assert_eq!(
                        std::fs::metadata(dest.join("zeros")).expect("zeros").len(),
                        size
                    );
                }
                (_, other) => panic!("{what}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_entries_are_refused() {
        let limits = ArchiveLimits {
            max_entries: 3,
            ..ArchiveLimits::default()
        };
        let mut builder = tar::Builder::new(Vec::new());
        for i in 0..5 {
            let mut header = tar::Header::new_gnu();
            header.set_size(0);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("f{i}"), io::empty())
                .expect("append");
        }
        let dir = tempfile::tempdir().expect("tmp");
        let dest = dir.path().join("dest");
        std::fs::create_dir_all(&dest).expect("mkdir");
        std::fs::write(dir.path().join("a.tar"), builder.into_inner().expect("tar")).expect("w");
        let archive = InRoot {
            host: dir.path().join("a.tar"),
            rel: PathBuf::from("/a.tar"),
        };
        let target = InRoot {
            host: dest.clone(),
            rel: PathBuf::from("/"),
        };
        let me = Owner {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        };
        let mut copier = Copier::new(&dest, OwnerPolicy::Preserve, me, None, false);
        let err = extract(&archive, &target, Some(me), &mut copier, &limits).expect_err("limit");
        assert!(
            matches!(err, CopyError::ArchiveTooManyEntries { limit: 3, .. }),
            "{err}"
        );
    }
}
