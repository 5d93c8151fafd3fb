//! `type=tar` and `type=local` outputs: a root filesystem with every kind of
//! entry is written out and read back, and compared with one table.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown, symlink};
use std::path::Path;

use export::{RootfsOptions, write_rootfs_dir, write_rootfs_tar};

/// (path, kind, mode, uid, gid, content or link target)
type Row = (String, &'static str, u32, u32, u32, String);

/// A root with a dir, files owned by others, setuid, a hard link pair, a
/// symlink, a fifo and a char device.
fn make_root(root: &Path) {
    fs::create_dir_all(root.join("etc/private")).unwrap();
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    fs::write(root.join("bin/su"), "suid").unwrap();
    fs::set_permissions(root.join("bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(root.join("etc/private/key"), "secret").unwrap();
    fs::set_permissions(root.join("etc/private"), fs::Permissions::from_mode(0o700)).unwrap();
    lchown(root.join("etc/private/key"), Some(1000), Some(1000)).unwrap();
    fs::hard_link(root.join("bin/su"), root.join("bin/su2")).unwrap();
    symlink("/etc/passwd", root.join("bin/passwd-link")).unwrap();
    let dir =
        rustix::fs::open(root, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).unwrap();
    rustix::fs::mknodat(&dir, "fifo", rustix::fs::FileType::Fifo, 0o644.into(), 0).unwrap();
    rustix::fs::mknodat(
        &dir,
        "null",
        rustix::fs::FileType::CharacterDevice,
        0o666.into(),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    for name in ["fifo", "null"] {
        fs::set_permissions(root.join(name), fs::Permissions::from_mode(0o644)).unwrap();
    }
    // Keep the setuid bit after the chown-free setup above.
    fs::set_permissions(root.join("bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
}

fn expected() -> Vec<Row> {
    let row = |p: &str, k, m, u, g, c: &str| (p.to_string(), k, m, u, g, c.to_string());
    vec![
        row("bin", "dir", 0o755, 0, 0, ""),
        row("bin/passwd-link", "symlink", 0o777, 0, 0, "/etc/passwd"),
        row("bin/su", "file", 0o4755, 0, 0, "suid"),
        row("bin/su2", "hardlink", 0o4755, 0, 0, "bin/su"),
        row("etc", "dir", 0o755, 0, 0, ""),
        row(
            "etc/passwd",
            "file",
            0o644,
            0,
            0,
            "root:x:0:0::/root:/bin/sh\n",
        ),
        row("etc/private", "dir", 0o700, 0, 0, ""),
        row("etc/private/key", "file", 0o644, 1000, 1000, "secret"),
        row("fifo", "fifo", 0o644, 0, 0, ""),
        row("null", "char", 0o644, 0, 0, "1:3"),
    ]
}

fn tar_rows(bytes: &[u8]) -> (Vec<Row>, Vec<u64>) {
    let mut rows = Vec::new();
    let mut mtimes = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let h = entry.header().clone();
        let path = entry
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let link = || {
            h.link_name()
                .unwrap()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        let (kind, content) = match h.entry_type() {
            tar::EntryType::Directory => ("dir", String::new()),
            tar::EntryType::Symlink => ("symlink", link()),
            tar::EntryType::Link => ("hardlink", link()),
            tar::EntryType::Fifo => ("fifo", String::new()),
            tar::EntryType::Char => (
                "char",
                format!(
                    "{}:{}",
                    h.device_major().unwrap().unwrap(),
                    h.device_minor().unwrap().unwrap()
                ),
            ),
            _ => {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut entry, &mut s).unwrap();
                ("file", s)
            }
        };
        let mode = if kind == "symlink" {
            0o777
        } else {
            h.mode().unwrap()
        };
        rows.push((
            path,
            kind,
            mode,
            h.uid().unwrap() as u32,
            h.gid().unwrap() as u32,
            content,
        ));
        mtimes.push(h.mtime().unwrap());
    }
    (rows, mtimes)
}

#[test]
fn rootfs_tar_keeps_every_entry_kind_in_sorted_order() {
    testkit::require!(root);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_root(&root);
    let out = dir.path().join("rootfs.tar");
    write_rootfs_tar(&root, &out, &RootfsOptions::default()).unwrap();
    let bytes = fs::read(&out).unwrap();
    let (rows, mtimes) = tar_rows(&bytes);
    assert_eq!(rows, expected());
    assert!(
        mtimes.iter().all(|&m| m > 1_000_000_000),
        "mtimes kept: {mtimes:?}"
    );

    // With SOURCE_DATE_EPOCH every mtime is clamped, and two writes agree.
    let options = RootfsOptions {
        source_date_epoch: Some(1_000),
    };
    let (a, b) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
    write_rootfs_tar(&root, &a, &options).unwrap();
    write_rootfs_tar(&root, &b, &options).unwrap();
    let a = fs::read(&a).unwrap();
    assert_eq!(a, fs::read(&b).unwrap());
    assert!(tar_rows(&a).1.iter().all(|&m| m == 1_000));
}

fn dir_rows(root: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut inodes = std::collections::HashMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p.clone());
            }
            all.push(p);
        }
    }
    all.sort();
    for p in all {
        let meta = fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let ft = meta.file_type();
        use std::os::unix::fs::FileTypeExt;
        let (kind, content) = if ft.is_dir() {
            ("dir", String::new())
        } else if ft.is_symlink() {
            (
                "symlink",
                fs::read_link(&p).unwrap().to_string_lossy().into_owned(),
            )
        } else if ft.is_fifo() {
            ("fifo", String::new())
        } else if ft.is_char_device() {
            let rdev = meta.rdev();
            (
                "char",
                format!("{}:{}", rustix::fs::major(rdev), rustix::fs::minor(rdev)),
            )
        } else if let Some(first) = inodes.get(&meta.ino()) {
            ("hardlink", String::clone(first))
        } else {
            if meta.nlink() > 1 {
                inodes.insert(meta.ino(), rel.clone());
            }
            ("file", fs::read_to_string(&p).unwrap())
        };
        let mode = if kind == "symlink" {
            0o777
        } else {
            meta.mode() & 0o7777
        };
        rows.push((rel, kind, mode, meta.uid(), meta.gid(), content));
    }
    rows
}

#[test]
fn rootfs_dir_copies_every_entry_kind() {
    testkit::require!(root);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_root(&root);
    let dest = dir.path().join("out");
    write_rootfs_dir(&root, &dest).unwrap();
    assert_eq!(dir_rows(&dest), expected());
    let src_mtime = fs::metadata(root.join("etc/passwd")).unwrap().mtime();
    assert_eq!(
        fs::metadata(dest.join("etc/passwd")).unwrap().mtime(),
        src_mtime
    );
}

/// A symlink already in the destination where the root has a directory must
/// be replaced, never written through.
#[test]
fn rootfs_dir_never_writes_through_a_destination_symlink() {
    testkit::require!(root);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_root(&root);
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let dest = dir.path().join("out");
    fs::create_dir(&dest).unwrap();
    symlink(&outside, dest.join("etc")).unwrap();
    symlink(outside.join("victim"), dest.join("fifo")).unwrap();
    fs::write(dest.join("unrelated"), "kept").unwrap();

    write_rootfs_dir(&root, &dest).unwrap();
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote outside dest"
    );
    assert!(fs::symlink_metadata(dest.join("etc")).unwrap().is_dir());
    assert_eq!(fs::read_to_string(dest.join("unrelated")).unwrap(), "kept");
    let mut rows = dir_rows(&dest);
    rows.retain(|r| r.0 != "unrelated");
    assert_eq!(rows, expected());
}
