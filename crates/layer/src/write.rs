//! Writing a diff dir as a deterministic, compressed layer.
//!
//! The stream is `tar -> sha256 (diffID) -> compressor -> sha256 (digest) ->
//! out`, so one pass yields the blob, its digest and size, and the diffID.
//!
//! Reproducibility of compressed bytes is not automatic. Measured for this
//! project (research/rust-dependencies.md §3): flate2 with zlib-rs at levels
//! 1 and 6 gives different bytes for different `write()` sizes, and zstd gives
//! different bytes with `workers = 0` than with any `workers >= 1`. So gzip
//! goes through gzp's parallel compressor, which cuts the input into fixed
//! 128 KiB blocks (primed with the previous block's 32 KiB as dictionary,
//! like pigz) whatever the thread count, and zstd always runs with
//! `multithread(n >= 1)`, whose job splitting does not depend on `n`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::mpsc;

use gzp::ZWriter;
use gzp::deflate::Gzip;
use gzp::par::compress::ParCompressBuilder;
use oci::{DiffId, Digest, MediaType, Sha256Writer};

use crate::error::LayerError;
use crate::{OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR, WHITEOUT_PREFIX, pax};

/// How the tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip level 6 (Docker's default), parallel and deterministic.
    Gzip,
    /// zstd level 3, multithreaded and deterministic.
    Zstd,
    /// The plain tar; the digest equals the diffID.
    Uncompressed,
}

impl Compression {
    /// The name `--output compression=` takes.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Uncompressed => "uncompressed",
        }
    }

    /// The OCI media type of a layer written with this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => MediaType::OCI_LAYER_GZIP,
            Compression::Zstd => MediaType::OCI_LAYER_ZSTD,
            Compression::Uncompressed => MediaType::OCI_LAYER_TAR,
        }
    }
}

/// Options of [`write_layer`]. Construct with `..Default::default()` so new
/// fields do not break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    pub compression: Compression,
    /// `SOURCE_DATE_EPOCH`: mtimes later than this are clamped to it, as
    /// BuildKit does with `rewrite-timestamp=true`.
    pub source_date_epoch: Option<i64>,
    /// Compressor threads; 0 means one per available core. The output bytes
    /// are the same for every value.
    pub threads: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Compression::Gzip,
            source_date_epoch: None,
            threads: 0,
        }
    }
}

/// What [`write_layer`] produced: everything a manifest's layer descriptor
/// and a config's `rootfs.diff_ids` need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenLayer {
    pub diff_id: DiffId,
    pub digest: Digest,
    pub size: u64,
    pub media_type: &'static str,
}

const GZIP_LEVEL: u32 = 6;
const ZSTD_LEVEL: i32 = 3;
/// gzp's default block size, pinned here because it shapes the output bytes.
const GZIP_BLOCK: usize = 128 * 1024;

/// Writes the diff dir (an overlayfs upper dir: char-dev 0/0 whiteouts and
/// the opaque xattr become OCI whiteouts; `.wh.*` files are passed through)
/// as a deterministic layer to `out`.
pub fn write_layer(
    diff_dir: &Path,
    out: &mut dyn Write,
    options: &WriteOptions,
) -> Result<WrittenLayer, LayerError> {
    encode(&mut |tar| write_tar(diff_dir, tar, options), out, options)
}

/// Re-encodes a layer that exists as an uncompressed tar (a blob of media
/// type `...layer.v1.tar`) in `options.compression`, for a registry that
/// should not receive it uncompressed. The bytes pass through unchanged, so
/// the result's diffID is the sha256 of `tar`; `source_date_epoch` is not
/// applied (the tar already holds its final mtimes).
pub fn compress_tar(
    tar: &mut (dyn Read + Send),
    out: &mut dyn Write,
    options: &WriteOptions,
) -> Result<WrittenLayer, LayerError> {
    encode(
        &mut |sink| {
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let read = match tar.read(&mut buffer) {
                    Ok(0) => return Ok(()),
                    Ok(read) => read,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(source) => return Err(LayerError::ReadLayer { source }),
                };
                sink.write_all(&buffer[..read])
                    .map_err(|source| LayerError::WriteLayer { source })?;
            }
        },
        out,
        options,
    )
}

/// The uncompressed tar stream `produce` writes, hashed for the diffID and
/// compressed as `options.compression` into `out`.
type TarProducer<'a> = dyn FnMut(&mut dyn Write) -> Result<(), LayerError> + Send + 'a;

fn encode(
    produce: &mut TarProducer<'_>,
    out: &mut dyn Write,
    options: &WriteOptions,
) -> Result<WrittenLayer, LayerError> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    match options.compression {
        Compression::Uncompressed => {
            let mut hashed = Sha256Writer::new(out);
            produce(&mut hashed)?;
            let (_, digest, size) = hashed.finish();
            Ok(WrittenLayer {
                diff_id: DiffId(digest.clone()),
                digest,
                size,
                media_type: Compression::Uncompressed.media_type(),
            })
        }
        Compression::Zstd => {
            let compressed = Sha256Writer::new(out);
            let mut encoder = zstd::Encoder::new(compressed, ZSTD_LEVEL).map_err(|source| {
                LayerError::StartCompressor {
                    codec: "zstd",
                    source,
                }
            })?;
            let workers = u32::try_from(threads).unwrap_or(u32::MAX).max(1);
            encoder
                .multithread(workers)
                .map_err(|source| LayerError::StartCompressor {
                    codec: "zstd",
                    source,
                })?;
            let mut uncompressed = Sha256Writer::new(encoder);
            produce(&mut uncompressed)?;
            let (encoder, diff_id, _) = uncompressed.finish();
            let compressed = encoder
                .finish()
                .map_err(|source| LayerError::WriteLayer { source })?;
            let (_, digest, size) = compressed.finish();
            Ok(WrittenLayer {
                diff_id: DiffId(diff_id),
                digest,
                size,
                media_type: Compression::Zstd.media_type(),
            })
        }
        Compression::Gzip => write_gzip(produce, out, threads),
    }
}

/// Hands compressed blocks from gzp's writer thread back to the caller's
/// thread, because `out` is a borrowed `dyn Write` that cannot move to
/// another thread.
struct ChannelWriter(mpsc::SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "layer output closed"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_gzip(
    produce: &mut TarProducer<'_>,
    out: &mut dyn Write,
    threads: usize,
) -> Result<WrittenLayer, LayerError> {
    let (sender, receiver) = mpsc::sync_channel::<Vec<u8>>(threads * 2 + 2);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<Digest, LayerError> {
            let builder = ParCompressBuilder::<Gzip>::new()
                .num_threads(threads)
                .and_then(|b| b.buffer_size(GZIP_BLOCK))
                .map_err(|source| LayerError::Gzip { source })?
                .compression_level(gzp::Compression::new(GZIP_LEVEL));
            let compressor = builder.from_writer(ChannelWriter(sender));
            let mut uncompressed = Sha256Writer::new(compressor);
            let written = produce(&mut uncompressed);
            let (mut compressor, diff_id, _) = uncompressed.finish();
            // Always finish: gzp's Drop would otherwise finish and unwrap.
            let finished = compressor.finish();
            written?;
            finished.map_err(|source| LayerError::Gzip { source })?;
            Ok(diff_id)
        });
        let mut compressed = Sha256Writer::new(&mut *out);
        let mut write_error = None;
        // Keep draining after a failed write so the producer never blocks
        // on a full channel; its own error then is a consequence of ours.
        for block in receiver {
            if write_error.is_none()
                && let Err(error) = compressed.write_all(&block)
            {
                write_error = Some(error);
            }
        }
        let produced = match producer.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Some(source) = write_error {
            return Err(LayerError::WriteLayer { source });
        }
        let diff_id = produced?;
        let (_, digest, size) = compressed.finish();
        Ok(WrittenLayer {
            diff_id: DiffId(diff_id),
            digest,
            size,
            media_type: Compression::Gzip.media_type(),
        })
    })
}

/// Writes the uncompressed tar of `diff_dir` to `out`.
fn write_tar(
    diff_dir: &Path,
    out: &mut dyn Write,
    options: &WriteOptions,
) -> Result<(), LayerError> {
    let mut writer = TarWriter {
        builder: tar::Builder::new(out),
        epoch: options.source_date_epoch,
        hardlinks: HashMap::new(),
    };
    writer.walk(diff_dir, &mut Vec::new())?;
    writer
        .builder
        .finish()
        .map_err(|source| LayerError::WriteLayer { source })
}

struct TarWriter<'a> {
    builder: tar::Builder<&'a mut dyn Write>,
    epoch: Option<i64>,
    /// (dev, ino) of multiply-linked files already written -> their tar name.
    hardlinks: HashMap<(u64, u64), Vec<u8>>,
}

/// The metadata of one tar entry before it is turned into headers.
struct EntrySpec {
    name: Vec<u8>,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: i64,
    size: u64,
    link: Option<Vec<u8>>,
    device: Option<(u32, u32)>,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

impl TarWriter<'_> {
    /// Visits `dir` (relative components in `rel`): each child sorted by its
    /// name bytes, directories before their contents.
    fn walk(&mut self, dir: &Path, rel: &mut Vec<OsString>) -> Result<(), LayerError> {
        let read_error = |source| LayerError::ReadDiff {
            path: dir.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_error)? {
            names.push(entry.map_err(read_error)?.file_name());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            rel.push(name);
            self.entry(&path, rel)?;
            rel.pop();
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, rel: &mut Vec<OsString>) -> Result<(), LayerError> {
        let read_error = |source| LayerError::ReadDiff {
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::symlink_metadata(path).map_err(read_error)?;
        let file_type = meta.file_type();
        let name = join(rel);
        let mtime = self.clamp(meta.mtime());
        let base = EntrySpec {
            name: name.clone(),
            kind: tar::EntryType::Regular,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
            mtime,
            size: 0,
            link: None,
            device: None,
            xattrs: Vec::new(),
        };

        if file_type.is_char_device() && meta.rdev() == 0 {
            // An overlayfs whiteout. Linux >= 5.8 shares one whiteout inode
            // through hardlinks, so these never take part in hardlink
            // detection. Mode 0600 as moby's overlay-to-AUFS converter.
            let mut whiteout = rel.clone();
            if let Some(last) = whiteout.last_mut() {
                let mut marked = OsString::from(WHITEOUT_PREFIX);
                marked.push(&*last);
                *last = marked;
            }
            let spec = EntrySpec {
                name: join(&whiteout),
                mode: 0o600,
                ..base
            };
            return self.append(&spec, io::empty());
        }

        let xattrs = read_xattrs(path).map_err(read_error)?;
        let opaque = xattrs.iter().any(|(key, value)| {
            (key == OVERLAY_OPAQUE_XATTR || key == OVERLAY_USER_OPAQUE_XATTR) && value == b"y"
        });
        let xattrs = xattrs
            .into_iter()
            .filter(|(key, _)| layer_xattr(key.as_bytes()))
            .collect();
        let base = EntrySpec { xattrs, ..base };

        if file_type.is_dir() {
            let mut dir_name = name;
            dir_name.push(b'/');
            let spec = EntrySpec {
                name: dir_name.clone(),
                kind: tar::EntryType::Directory,
                ..base
            };
            self.append(&spec, io::empty())?;
            if opaque {
                let mut marker = dir_name;
                marker.extend_from_slice(OPAQUE_MARKER.as_bytes());
                let marker_spec = EntrySpec {
                    name: marker,
                    kind: tar::EntryType::Regular,
                    mode: spec.mode & 0o777,
                    xattrs: Vec::new(),
                    ..spec
                };
                self.append(&marker_spec, io::empty())?;
            }
            return self.walk(path, rel);
        }

        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.hardlinks.get(&key) {
                let spec = EntrySpec {
                    kind: tar::EntryType::Link,
                    link: Some(first.clone()),
                    ..base
                };
                return self.append(&spec, io::empty());
            }
            self.hardlinks.insert(key, name);
        }

        if file_type.is_file() {
            let size = meta.len();
            let file = fs::File::open(path).map_err(read_error)?;
            let spec = EntrySpec { size, ..base };
            let mut reader = CountingReader {
                inner: file.take(size),
                count: 0,
            };
            self.append(&spec, &mut reader)?;
            if reader.count != size {
                return Err(LayerError::FileChanged {
                    path: path.to_path_buf(),
                    expected: size,
                    actual: reader.count,
                });
            }
            Ok(())
        } else if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(read_error)?;
            let spec = EntrySpec {
                kind: tar::EntryType::Symlink,
                mode: 0o777,
                link: Some(target.as_os_str().as_bytes().to_vec()),
                ..base
            };
            self.append(&spec, io::empty())
        } else if file_type.is_char_device() || file_type.is_block_device() {
            let rdev = meta.rdev();
            let spec = EntrySpec {
                kind: if file_type.is_char_device() {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Block
                },
                device: Some((rustix::fs::major(rdev), rustix::fs::minor(rdev))),
                ..base
            };
            self.append(&spec, io::empty())
        } else if file_type.is_fifo() {
            let spec = EntrySpec {
                kind: tar::EntryType::Fifo,
                ..base
            };
            self.append(&spec, io::empty())
        } else {
            // Sockets cannot be archived; Docker's and containerd's tar
            // writers skip them too.
            Ok(())
        }
    }

    fn clamp(&self, mtime: i64) -> i64 {
        match self.epoch {
            Some(epoch) if mtime > epoch => epoch,
            _ => mtime,
        }
    }

    /// Appends one entry, preceded by a PAX header when the ustar fields
    /// cannot hold its values.
    fn append(&mut self, spec: &EntrySpec, data: impl Read) -> Result<(), LayerError> {
        let (header, records) = build_header(spec);
        if !records.is_empty() {
            let body = pax::encode(&records);
            let pax_header = pax_header(&spec.name, body.len() as u64);
            self.builder
                .append(&pax_header, body.as_slice())
                .map_err(|source| LayerError::WriteLayer { source })?;
        }
        self.builder
            .append(&header, data)
            .map_err(|source| LayerError::WriteLayer { source })
    }
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn join(components: &[OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, component) in components.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(component.as_bytes());
    }
    out
}

/// Which xattrs belong in a layer. overlayfs' own (`trusted.overlay.*`,
/// `user.overlay.*`: opaque, redirect, origin, impure) describe the upper dir,
/// not the file, and `security.selinux` is the host's label, which the
/// runtime relabels anyway.
fn layer_xattr(key: &[u8]) -> bool {
    !(key.starts_with(b"trusted.overlay.")
        || key.starts_with(b"user.overlay.")
        || key == b"security.selinux")
}

fn read_xattrs(path: &Path) -> io::Result<Vec<(OsString, Vec<u8>)>> {
    let mut out = Vec::new();
    let names = match xattr_list(path) {
        Ok(names) => names,
        // Filesystems without xattr support simply have none.
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error()) => {
            return Ok(out);
        }
        Err(error) => return Err(error),
    };
    for name in names {
        match xattr_get(path, &name) {
            Ok(value) => out.push((name, value)),
            // Removed between list and get.
            Err(error)
                if error.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error()) => {}
            Err(error) => return Err(error),
        }
    }
    out.sort();
    Ok(out)
}

fn xattr_list(path: &Path) -> io::Result<Vec<OsString>> {
    loop {
        let size = rustix::fs::llistxattr_query(path)?;
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf
                    .split(|&b| b == 0)
                    .filter(|name| !name.is_empty())
                    .map(|name| OsString::from(std::ffi::OsStr::from_bytes(name)))
                    .collect());
            }
            // Grew between the two calls.
            Err(rustix::io::Errno::RANGE) => continue,
            Err(error) => return Err(error.into()),
        }
    }
}

fn xattr_get(path: &Path, name: &OsString) -> io::Result<Vec<u8>> {
    loop {
        let size = rustix::fs::lgetxattr_query(path, name.as_os_str())?;
        let mut buf = vec![0u8; size];
        match rustix::fs::lgetxattr(path, name.as_os_str(), &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(error) => return Err(error.into()),
        }
    }
}

/// ustar numeric fields are octal with a NUL: 7 digits for ids, 11 for
/// sizes and times. Larger values go to PAX records (as Go's archive/tar).
const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

fn build_header(spec: &EntrySpec) -> (tar::Header, Vec<(String, Vec<u8>)>) {
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(spec.kind);
    header.set_mode(spec.mode);
    if spec.uid > MAX_OCTAL_7 {
        records.push(("uid".into(), spec.uid.to_string().into_bytes()));
        header.set_uid(0);
    } else {
        header.set_uid(spec.uid);
    }
    if spec.gid > MAX_OCTAL_7 {
        records.push(("gid".into(), spec.gid.to_string().into_bytes()));
        header.set_gid(0);
    } else {
        header.set_gid(spec.gid);
    }
    if spec.size > MAX_OCTAL_11 {
        records.push(("size".into(), spec.size.to_string().into_bytes()));
        header.set_size(0);
    } else {
        header.set_size(spec.size);
    }
    if spec.mtime < 0 || spec.mtime as u64 > MAX_OCTAL_11 {
        records.push(("mtime".into(), spec.mtime.to_string().into_bytes()));
        header.set_mtime(0);
    } else {
        header.set_mtime(spec.mtime as u64);
    }
    if let Some((major, minor)) = spec.device {
        // Device numbers above 7 octal digits have no PAX key; they do not
        // occur on Linux (major < 4096, minor < 2^20).
        let _ = header.set_device_major(major);
        let _ = header.set_device_minor(minor);
    }
    let ustar = header
        .as_ustar_mut()
        .expect("Header::new_ustar always yields a ustar header");
    match split_ustar_path(&spec.name) {
        Some((prefix, name)) => {
            ustar.prefix[..prefix.len()].copy_from_slice(prefix);
            ustar.name[..name.len()].copy_from_slice(name);
        }
        None => {
            records.push(("path".into(), spec.name.clone()));
            let cut = spec.name.len().min(ustar.name.len());
            ustar.name[..cut].copy_from_slice(&spec.name[..cut]);
        }
    }
    if let Some(link) = &spec.link {
        if link.len() <= ustar.linkname.len() && link.is_ascii() {
            ustar.linkname[..link.len()].copy_from_slice(link);
        } else {
            records.push(("linkpath".into(), link.clone()));
            let cut = link.len().min(ustar.linkname.len());
            ustar.linkname[..cut].copy_from_slice(&link[..cut]);
        }
    }
    for (key, value) in &spec.xattrs {
        let mut record = String::from("SCHILY.xattr.");
        record.push_str(&key.to_string_lossy());
        records.push((record, value.clone()));
    }
    records.sort();
    header.set_cksum();
    (header, records)
}

/// Splits a name into ustar `prefix` and `name` fields, as POSIX allows:
/// `name` at most 100 bytes, `prefix` at most 155, split at a '/'. ASCII only,
/// like Go's archive/tar; anything else goes to a PAX `path` record.
fn split_ustar_path(name: &[u8]) -> Option<(&[u8], &[u8])> {
    const NAME: usize = 100;
    const PREFIX: usize = 155;
    if !name.is_ascii() {
        return None;
    }
    if name.len() <= NAME {
        return Some((&[], name));
    }
    // A trailing '/' (directories) belongs to the name part.
    let search_end = name.len().saturating_sub(1).min(PREFIX + 1);
    let slash = name[..search_end].iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (&name[..slash], &name[slash + 1..]);
    if slash == 0 || rest.is_empty() || rest.len() > NAME || prefix.len() > PREFIX {
        return None;
    }
    Some((prefix, rest))
}

/// The header of a PAX extended header entry: named like Go's archive/tar
/// (`<dir>/PaxHeaders.0/<base>`, truncated to 100 bytes), all else zero.
fn pax_header(name: &[u8], size: u64) -> tar::Header {
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    let (dir, base) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    let mut pax_name = dir.to_vec();
    pax_name.extend_from_slice(b"PaxHeaders.0/");
    pax_name.extend_from_slice(base);
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    if let Some(ustar) = header.as_ustar_mut() {
        let cut = pax_name.len().min(ustar.name.len());
        ustar.name[..cut].copy_from_slice(&pax_name[..cut]);
    }
    header.set_cksum();
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_ustar_paths() {
        let long_dir = "d".repeat(120);
        let cases: Vec<(String, Option<(String, String)>)> = vec![
            ("short".into(), Some((String::new(), "short".into()))),
            (
                format!("{long_dir}/file"),
                Some((long_dir.clone(), "file".into())),
            ),
            (format!("{long_dir}/"), None),
            (format!("a/{}", "f".repeat(101)), None),
            (format!("{}/x", "p".repeat(156)), None),
            ("é".repeat(10), None),
        ];
        for (name, want) in cases {
            let got = split_ustar_path(name.as_bytes()).map(|(p, n)| {
                (
                    String::from_utf8(p.to_vec()).unwrap(),
                    String::from_utf8(n.to_vec()).unwrap(),
                )
            });
            assert_eq!(got, want, "{name}");
        }
    }
}
