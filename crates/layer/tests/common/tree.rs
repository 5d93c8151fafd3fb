//! A tiny text language for file trees, shared by the layer and snapshot
//! tests: build a tree from lines, and dump a tree as lines to compare.
//!
//! ```text
//! dir      PATH MODE UID:GID
//! file     PATH MODE UID:GID CONTENT     (CONTENT: rest of line, \n escapes)
//! bigfile  PATH MODE UID:GID BYTES       (deterministic pseudo-random bytes)
//! hardlink PATH TARGET
//! symlink  PATH TARGET
//! fifo     PATH MODE
//! chardev  PATH MAJOR:MINOR MODE
//! whiteout PATH                          (overlayfs whiteout: char 0:0)
//! opaque   PATH                          (trusted.overlay.opaque=y)
//! xattr    PATH KEY VALUE                (VALUE may use \\xNN escapes)
//! mtime    PATH SECONDS
//! rm       PATH                          (remove, recursively)
//! chmod    PATH MODE
//! chown    PATH UID:GID
//! append   PATH TEXT                     (modify in place: same inode)
//! overwrite PATH TEXT                    (rewrite in place: same inode)
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps};

/// Applies every line of `spec` under `root`. Parents must come first.
pub fn build(root: &Path, spec: &str) {
    for line in spec.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.splitn(5, ' ');
        let op = words.next().unwrap();
        let rel = words
            .next()
            .unwrap_or_else(|| panic!("no path in {line:?}"));
        let path = root.join(rel);
        let mut arg = || {
            words
                .next()
                .unwrap_or_else(|| panic!("missing argument in {line:?}"))
        };
        match op {
            "dir" => {
                let (mode, owner) = (arg(), arg());
                if !path.is_dir() {
                    fs::create_dir(&path).unwrap();
                }
                chown(&path, owner);
                chmod(&path, mode);
            }
            "file" | "bigfile" => {
                let (mode, owner) = (arg(), arg());
                let body = words.next().unwrap_or("");
                let bytes = if op == "file" {
                    body.replace("\\n", "\n").into_bytes()
                } else {
                    pseudo_random(body.parse().unwrap())
                };
                let _ = fs::remove_file(&path);
                fs::File::create(&path).unwrap().write_all(&bytes).unwrap();
                chown(&path, owner);
                chmod(&path, mode);
            }
            "hardlink" => fs::hard_link(root.join(arg()), &path).unwrap(),
            "symlink" => std::os::unix::fs::symlink(arg(), &path).unwrap(),
            "fifo" => {
                let mode = arg();
                mknod(&path, FileType::Fifo, 0);
                chmod(&path, mode);
            }
            "chardev" => {
                let (dev, mode) = (arg(), arg());
                let (major, minor) = dev.split_once(':').unwrap();
                let dev = rustix::fs::makedev(major.parse().unwrap(), minor.parse().unwrap());
                mknod(&path, FileType::CharacterDevice, dev);
                chmod(&path, mode);
            }
            "whiteout" => {
                mknod(&path, FileType::CharacterDevice, 0);
                chmod(&path, "0");
            }
            "opaque" => rustix::fs::setxattr(
                &path,
                "trusted.overlay.opaque",
                b"y",
                rustix::fs::XattrFlags::empty(),
            )
            .unwrap(),
            "xattr" => {
                let (key, value) = (arg(), unescape(arg()));
                rustix::fs::lsetxattr(&path, key, &value, rustix::fs::XattrFlags::empty()).unwrap()
            }
            "mtime" => set_mtime(&path, arg().parse().unwrap()),
            "rm" => {
                if fs::symlink_metadata(&path).unwrap().is_dir() {
                    fs::remove_dir_all(&path).unwrap()
                } else {
                    fs::remove_file(&path).unwrap()
                }
            }
            "chmod" => chmod(&path, arg()),
            "chown" => chown(&path, arg()),
            "overwrite" => {
                let text = words.next().unwrap_or("");
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .unwrap();
                file.write_all(text.as_bytes()).unwrap();
            }
            "append" => {
                let text = words.next().unwrap_or("");
                fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
            }
            other => panic!("unknown tree op {other:?} in {line:?}"),
        }
    }
}

/// `\\xNN` escapes to bytes, so binary xattr values fit on a line.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') && i + 3 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

pub fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e3779b97f4a7c15 ^ len as u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly compressible text with some noise, like real files.
            if state.is_multiple_of(4) {
                (state >> 32) as u8
            } else {
                b'a' + (state % 7) as u8
            }
        })
        .collect()
}

/// Owners need root; unprivileged runs keep their own (tests that compare
/// owners declare root).
fn chown(path: &Path, owner: &str) {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let (uid, gid) = owner.split_once(':').unwrap();
    std::os::unix::fs::lchown(path, Some(uid.parse().unwrap()), Some(gid.parse().unwrap()))
        .unwrap();
}

fn chmod(path: &Path, mode: &str) {
    let mode = u32::from_str_radix(mode, 8).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mknod(path: &Path, file_type: FileType, dev: u64) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        file_type,
        Mode::from_raw_mode(0o644),
        dev,
    )
    .unwrap();
}

pub fn set_mtime(path: &Path, secs: i64) {
    let time = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &Timestamps {
            last_access: time,
            last_modification: time,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

/// What to include in a [`dump`].
#[derive(Clone, Copy)]
pub struct DumpOptions {
    pub mtimes: bool,
    pub dir_mtimes: bool,
}

pub const ALL: DumpOptions = DumpOptions {
    mtimes: true,
    dir_mtimes: true,
};
pub const NO_TIMES: DumpOptions = DumpOptions {
    mtimes: false,
    dir_mtimes: false,
};

/// One line per entry below `root` (not `root` itself), in sorted order:
/// type, path, mode, owner, then content / link target / device, xattrs,
/// and hardlink groups (`=first-path`).
pub fn dump(root: &Path, options: DumpOptions) -> String {
    let mut lines = Vec::new();
    let mut inodes: BTreeMap<(u64, u64), String> = BTreeMap::new();
    walk(root, "", options, &mut lines, &mut inodes);
    lines.join("\n")
}

fn walk(
    dir: &Path,
    rel: &str,
    options: DumpOptions,
    lines: &mut Vec<String>,
    inodes: &mut BTreeMap<(u64, u64), String>,
) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = dir.join(&name);
        let rel_path = if rel.is_empty() {
            name.to_string_lossy().into_owned()
        } else {
            format!("{rel}/{}", name.to_string_lossy())
        };
        let meta = fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        let mut line = format!(
            "{} {} {:o} {}:{}",
            kind(&meta),
            rel_path,
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid()
        );
        if ft.is_file() {
            let content = fs::read(&path).unwrap();
            if content.len() <= 64 && content.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                line += &format!(" {:?}", String::from_utf8_lossy(&content));
            } else {
                line += &format!(" {} bytes hash {:016x}", content.len(), fnv(&content));
            }
        } else if ft.is_symlink() {
            line += &format!(" -> {}", fs::read_link(&path).unwrap().display());
        } else if ft.is_char_device() || ft.is_block_device() {
            line += &format!(
                " {}:{}",
                rustix::fs::major(meta.rdev()),
                rustix::fs::minor(meta.rdev())
            );
        }
        if (ft.is_dir() && options.dir_mtimes) || (!ft.is_dir() && options.mtimes) {
            line += &format!(" t={}", meta.mtime());
        }
        for (key, value) in xattrs(&path) {
            line += &format!(" x:{key}={value:?}");
        }
        if !ft.is_dir() && meta.nlink() > 1 && !(ft.is_char_device() && meta.rdev() == 0) {
            let first = inodes
                .entry((meta.dev(), meta.ino()))
                .or_insert_with(|| rel_path.clone());
            if *first != rel_path {
                line += &format!(" ={first}");
            }
        }
        lines.push(line);
        if ft.is_dir() {
            walk(&path, &rel_path, options, lines, inodes);
        }
    }
}

fn kind(meta: &fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_char_device() && meta.rdev() == 0 {
        "whiteout"
    } else if ft.is_char_device() {
        "chardev"
    } else if ft.is_block_device() {
        "blockdev"
    } else if ft.is_fifo() {
        "fifo"
    } else {
        "socket"
    }
}

fn xattrs(path: &Path) -> Vec<(String, String)> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::llistxattr(path, &mut buf[..]).unwrap_or(0);
    let mut out = Vec::new();
    for key in buf[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let key_os = OsStr::from_bytes(key);
        let mut value = vec![0u8; 65536];
        let len = rustix::fs::lgetxattr(path, key_os, &mut value[..]).unwrap();
        out.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(&value[..len]).into_owned(),
        ));
    }
    out.sort();
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// Tests that need root declare it: loud SKIP locally, failure in CI
/// (testkit's rule).
pub fn require_root(why: &str) -> bool {
    match testkit::requirement::root() {
        Ok(()) => true,
        Err(missing) => {
            let test = testkit::requirement::current_test(module_path!());
            !testkit::requirement::skip(&test, &format!("{missing}: {why}"))
        }
    }
}
