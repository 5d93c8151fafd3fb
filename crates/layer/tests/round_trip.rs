//! write_layer then apply_layer gives back the same tree, for every
//! compression; whiteouts behave per mode; the bytes are deterministic.

mod common;

use std::path::Path;

use common::tree::{self, ALL, NO_TIMES};
use layer::{ApplyLimits, ApplyMode, Compression, WriteOptions, apply_layer, write_layer};

const COMPRESSIONS: [Compression; 3] = [
    Compression::Gzip,
    Compression::Zstd,
    Compression::Uncompressed,
];

/// Trees that must survive write + apply(Overlay) unchanged, whiteouts and
/// opaque dirs included.
const ROUND_TRIPS: &[(&str, &str)] = &[
    ("plain files and dirs", "
        dir etc 755 0:0
        file etc/hostname 644 0:0 box
        file etc/shadow 640 0:42 root:*:1
        dir home 755 0:0
        dir home/user 700 1000:1000
        file home/user/.profile 600 1000:1000 export A=1\\nexport B=2
        file empty 600 0:0
        mtime etc/hostname 1000000000
        mtime home/user 1234567890
    "),
    ("special modes", "
        file setuid 4755 0:0 s
        file setgid 2755 0:50 g
        dir sticky 1777 0:0
        file none 000 0:0 x
    "),
    ("symlinks", "
        dir usr 755 0:0
        dir usr/bin 755 0:0
        symlink bin usr/bin
        symlink abs /etc/passwd
        symlink dangling nowhere/at/all
        symlink usr/bin/up ../../..
    "),
    ("hardlinks", "
        dir a 755 0:0
        file a/one 644 0:0 shared content
        hardlink a/two a/one
        hardlink three a/one
        file single 644 0:0 alone
    "),
    ("devices and fifos", "
        dir dev 755 0:0
        chardev dev/null 1:3 666
        chardev dev/tty 5:0 620
        fifo dev/pipe 600
    "),
    ("overlay whiteouts and opaque dirs", "
        dir etc 755 0:0
        whiteout etc/removed
        dir var 755 0:0
        opaque var
        file var/new 644 0:0 n
        whiteout gone
    "),
    ("xattrs", "
        file cap 755 0:0 binary
        xattr cap security.capability \\x01\\x00\\x00\\x02\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00
        file user 644 0:0 u
        xattr user user.comment hello
        xattr user user.other world
    "),
    ("big ids", "
        file big 644 3000000:4000000 ids beyond 7 octal digits
    "),
    ("long and odd names", "
        dir ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd 755 0:0
        file ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 644 0:0 x
        symlink longlink ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
        file ünïcödé 644 0:0 u
        file with\\nnewline 644 0:0 nl
    "),
    ("large files", "
        bigfile blob 644 0:0 3000000
        bigfile small 644 0:0 4097
    "),
];

fn write(
    dir: &Path,
    compression: Compression,
    threads: usize,
    epoch: Option<i64>,
) -> (layer::WrittenLayer, Vec<u8>) {
    let mut out = Vec::new();
    let written = write_layer(
        dir,
        &mut out,
        &WriteOptions {
            compression,
            source_date_epoch: epoch,
            threads,
        },
    )
    .unwrap();
    (written, out)
}

#[test]
fn round_trip_preserves_trees() {
    if !tree::require_root("round trips set owners, devices and trusted xattrs") {
        return;
    }
    for (name, spec) in ROUND_TRIPS {
        let source = tempfile::tempdir().unwrap();
        tree::build(source.path(), spec);
        let want = tree::dump(source.path(), ALL);
        for compression in COMPRESSIONS {
            let (written, bytes) = write(source.path(), compression, 2, None);
            assert_eq!(written.size, bytes.len() as u64, "{name}");
            assert_eq!(
                written.digest,
                oci::Digest::of(&bytes),
                "{name}: digest of the blob"
            );
            let target = tempfile::tempdir().unwrap();
            let diff_id = apply_layer(
                &mut bytes.as_slice(),
                target.path(),
                ApplyMode::Overlay,
                &ApplyLimits::default(),
            )
            .unwrap_or_else(|e| panic!("{name} {compression:?}: {e:?}"));
            assert_eq!(diff_id, written.diff_id, "{name} {compression:?}: diffID");
            let got = tree::dump(target.path(), ALL);
            assert_eq!(got, want, "{name} {compression:?}");
        }
    }
}

#[test]
fn uncompressed_digest_is_the_diff_id() {
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("f"), "x").unwrap();
    let (written, bytes) = write(source.path(), Compression::Uncompressed, 1, None);
    assert_eq!(written.diff_id.0, written.digest);
    assert_eq!(written.diff_id.0, oci::Digest::of(&bytes));
    assert_eq!(written.media_type, "application/vnd.oci.image.layer.v1.tar");
}

#[test]
fn source_date_epoch_clamps_mtimes() {
    let source = tempfile::tempdir().unwrap();
    tree::build(
        source.path(),
        "
        file old 644 0:0 o
        file new 644 0:0 n
        dir d 755 0:0
        mtime old 100
        mtime new 5000
        mtime d 6000
    ",
    );
    let (_, bytes) = write(source.path(), Compression::Uncompressed, 1, Some(1000));
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut times: Vec<(String, u64)> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().mtime().unwrap(),
            )
        })
        .collect();
    times.sort();
    assert_eq!(
        times,
        vec![
            ("d/".to_string(), 1000),
            ("new".to_string(), 1000),
            ("old".to_string(), 100)
        ]
    );
}

#[test]
fn entries_are_in_walk_order_with_empty_names() {
    if !tree::require_root("the fixture has a whiteout device and a trusted xattr") {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    tree::build(
        source.path(),
        "
        dir a 755 0:0
        file a/b 644 0:0 x
        file a-b 644 0:0 y
        dir c 755 0:0
        opaque c
        file c/z 644 0:0 z
        whiteout w
    ",
    );
    let (_, bytes) = write(source.path(), Compression::Uncompressed, 1, None);
    let mut archive = tar::Archive::new(bytes.as_slice());
    let listing: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.username_bytes(), Some(&b""[..]));
            assert_eq!(h.groupname_bytes(), Some(&b""[..]));
            format!(
                "{:?} {}",
                h.entry_type(),
                String::from_utf8_lossy(&e.path_bytes())
            )
        })
        .collect();
    // Walk order (a dir, then its children by name bytes) as Go's
    // filepath.Walk: "a/b" before "a-b" although '-' < '/'.
    assert_eq!(
        listing,
        [
            "Directory a/",
            "Regular a/b",
            "Regular a-b",
            "Directory c/",
            "Regular c/.wh..wh..opq",
            "Regular c/z",
            "Regular .wh.w",
        ]
    );
}

/// Lower tree + layer tree -> the merged tree after apply(Merged).
const MERGED: &[(&str, &str, &str, &str)] = &[
    (
        "whiteout deletes a file and a whole dir",
        "
        dir etc 755 0:0
        file etc/keep 644 0:0 k
        file etc/drop 644 0:0 d
        dir opt 755 0:0
        dir opt/app 755 0:0
        file opt/app/bin 755 0:0 b
        ",
        "
        dir etc 755 0:0
        whiteout etc/drop
        whiteout opt
        ",
        "
        dir etc 755 0:0
        file etc/keep 644 0:0 \"k\"
        ",
    ),
    (
        "opaque dir hides lower entries, keeps its own",
        "
        dir var 755 0:0
        file var/old 644 0:0 o
        dir var/sub 755 0:0
        file var/sub/lower 644 0:0 l
        ",
        "
        dir var 755 0:0
        opaque var
        dir var/sub 755 0:0
        file var/sub/upper 644 0:0 u
        file var/new 644 0:0 n
        ",
        "
        dir var 755 0:0
        file var/new 644 0:0 \"n\"
        dir var/sub 755 0:0
        file var/sub/upper 644 0:0 \"u\"
        ",
    ),
    (
        "file replaces dir and dir replaces symlink",
        "
        dir x 755 0:0
        file x/inner 644 0:0 i
        dir real 755 0:0
        symlink y real
        ",
        "
        file x 600 0:0 now a file
        dir y 700 0:0
        file y/f 644 0:0 f
        ",
        "
        dir real 755 0:0
        file x 600 0:0 \"now a file\"
        dir y 700 0:0
        file y/f 644 0:0 \"f\"
        ",
    ),
    (
        "a .wh. file in the diff dir passes through as a whiteout",
        "
        file gone 644 0:0 g
        file stays 644 0:0 s
        ",
        "
        file .wh.gone 644 0:0
        ",
        "
        file stays 644 0:0 \"s\"
        ",
    ),
    (
        "whiteout of a missing path is harmless",
        "
        file a 644 0:0 a
        ",
        "
        whiteout nothing
        dir d 755 0:0
        whiteout d/missing
        ",
        "
        file a 644 0:0 \"a\"
        dir d 755 0:0
        ",
    ),
];

#[test]
fn merged_mode_applies_whiteouts() {
    if !tree::require_root("whiteout fixtures need mknod and trusted xattrs") {
        return;
    }
    for (name, lower, upper, want) in MERGED {
        let root = tempfile::tempdir().unwrap();
        tree::build(root.path(), lower);
        let diff = tempfile::tempdir().unwrap();
        tree::build(diff.path(), upper);
        let (_, bytes) = write(diff.path(), Compression::Gzip, 1, None);
        apply_layer(
            &mut bytes.as_slice(),
            root.path(),
            ApplyMode::Merged,
            &ApplyLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let want: Vec<&str> = want
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(tree::dump(root.path(), NO_TIMES), want.join("\n"), "{name}");
    }
}

#[test]
fn identical_trees_give_identical_bytes_across_threads_and_inodes() {
    let spec = ROUND_TRIPS
        .iter()
        .filter(|(name, _)| !name.contains("devices") && !name.contains("whiteouts"))
        .map(|(_, spec)| *spec)
        .collect::<Vec<_>>();
    if !tree::require_root("fixtures chown files") {
        return;
    }
    for spec in spec {
        let first = tempfile::tempdir().unwrap();
        tree::build(first.path(), spec);
        let second = tempfile::tempdir().unwrap();
        tree::build(second.path(), spec);
        // Same mtimes on both copies: the tree is the same diff.
        copy_mtimes(first.path(), second.path());
        for compression in COMPRESSIONS {
            let (a, bytes_a) = write(first.path(), compression, 1, Some(2_000_000_000));
            for threads in [2, 3, 8] {
                let (b, bytes_b) = write(second.path(), compression, threads, Some(2_000_000_000));
                assert_eq!(a, b, "{compression:?} threads={threads}");
                assert!(bytes_a == bytes_b, "{compression:?} threads={threads}");
            }
        }
    }
}

fn copy_mtimes(from: &Path, to: &Path) {
    use std::os::unix::fs::MetadataExt;
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        let other = to.join(entry.file_name());
        if meta.is_dir() {
            copy_mtimes(&entry.path(), &other);
        }
        tree::set_mtime(&other, meta.mtime());
    }
}

/// The uncompressed format is part of every cache key downstream (diffIDs),
/// so any change to header building must be deliberate: this pins the bytes
/// of a fixed tree. Compressed bytes are not pinned here, since they depend
/// on the codec versions in Cargo.lock.
#[test]
fn uncompressed_format_is_pinned() {
    if !tree::require_root("the fixture sets owners") {
        return;
    }
    let source = tempfile::tempdir().unwrap();
    tree::build(
        source.path(),
        "
        dir etc 755 0:0
        file etc/hosts 644 0:0 127.0.0.1 localhost
        symlink etc/link hosts
        hardlink etc/hard etc/hosts
        file etc/ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd 600 1000:3000000 long
        xattr etc/hosts user.k v
        whiteout gone
        dir var 700 0:0
        opaque var
        mtime etc/hosts 1000000000
        mtime etc/link 1000000000
        mtime etc/ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd 1000000000
        mtime gone 1000000000
        mtime var 1000000000
        mtime etc 1000000000
        ",
    );
    let (written, _) = write(source.path(), Compression::Uncompressed, 1, None);
    assert_eq!(
        written.diff_id.to_string(),
        "sha256:fa561faeb8fe5fc82db15a05af2541f7d264b2df8675295af2fdcfcc12941ecf",
        "the layer tar format changed; if deliberate, update the pin and say why in the commit"
    );
}

/// Accepts `budget` bytes, then fails like a full disk.
struct FailingWriter {
    budget: usize,
}

impl std::io::Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Regression: the gzip pipeline runs the compressor on other threads; an
/// output error must come back as an error, not a hang or a panic.
#[test]
fn output_and_input_errors_are_reported() {
    let source = tempfile::tempdir().unwrap();
    std::fs::write(source.path().join("big"), tree::pseudo_random(4 << 20)).unwrap();
    for compression in COMPRESSIONS {
        for budget in [0, 1000, 300_000] {
            let result = write_layer(
                source.path(),
                &mut FailingWriter { budget },
                &WriteOptions {
                    compression,
                    threads: 2,
                    ..Default::default()
                },
            );
            assert!(
                matches!(result, Err(layer::LayerError::WriteLayer { .. })),
                "{compression:?} budget {budget}: {result:?}"
            );
        }
        let missing = source.path().join("missing");
        let result = write_layer(
            &missing,
            &mut Vec::new(),
            &WriteOptions {
                compression,
                threads: 2,
                ..Default::default()
            },
        );
        assert!(
            matches!(&result, Err(layer::LayerError::ReadDiff { path, .. }) if *path == missing),
            "{compression:?}: {result:?}"
        );
    }
}
