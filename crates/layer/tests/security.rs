//! Hostile layers: every case is a crafted tar applied to a root next to a
//! sentinel dir. Whatever the outcome (a clear error or a confined result),
//! nothing outside the root may change. Cases follow containerd's
//! `TestBreakouts` table and the CVEs in research/reliability.md §1.2-1.4.

mod common;

use std::io::Write;
use std::path::Path;

use common::tree::{self, ALL};
use layer::{ApplyLimits, ApplyMode, LayerError, apply_layer};

/// One crafted tar entry. Names are raw bytes: no sanitising on the way in.
enum E {
    File(&'static str, &'static str),
    Dir(&'static str, u32),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    Block(&'static str, u32, u32),
    /// A PAX header (records) followed by a file with a harmless ustar name.
    Pax(&'static [(&'static str, &'static [u8])], &'static str),
}

/// `@OUT` in names and link targets is replaced by the sentinel dir's
/// absolute host path, for absolute-path breakouts.
fn craft(entries: &[E], outside: &Path) -> Vec<u8> {
    let out = outside.to_str().unwrap();
    let fill = |s: &str| s.replace("@OUT", out);
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(1);
        let (name, data): (String, Vec<u8>) = match entry {
            E::File(name, content) => {
                header.set_entry_type(tar::EntryType::Regular);
                (fill(name), content.as_bytes().to_vec())
            }
            E::Dir(name, mode) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                (fill(name), Vec::new())
            }
            E::Symlink(name, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                set_raw(&mut header.as_old_mut().linkname, &fill(target));
                (fill(name), Vec::new())
            }
            E::Hardlink(name, target) => {
                header.set_entry_type(tar::EntryType::Link);
                set_raw(&mut header.as_old_mut().linkname, &fill(target));
                (fill(name), Vec::new())
            }
            E::Block(name, major, minor) => {
                header.set_entry_type(tar::EntryType::Block);
                header.set_device_major(*major).unwrap();
                header.set_device_minor(*minor).unwrap();
                (fill(name), Vec::new())
            }
            E::Pax(records, name) => {
                let mut body = Vec::new();
                for (key, value) in *records {
                    let value = fill(std::str::from_utf8(value).unwrap());
                    let record_len = key.len() + value.len() + 3;
                    let len = record_len + (record_len + 2).to_string().len();
                    body.extend_from_slice(format!("{len} {key}=").as_bytes());
                    body.extend_from_slice(value.as_bytes());
                    body.push(b'\n');
                }
                let mut pax = tar::Header::new_ustar();
                pax.set_entry_type(tar::EntryType::XHeader);
                pax.set_size(body.len() as u64);
                set_raw(&mut pax.as_old_mut().name, "PaxHeaders.0/x");
                pax.set_cksum();
                builder.append(&pax, body.as_slice()).unwrap();
                header.set_entry_type(tar::EntryType::Regular);
                (fill(name), b"pax".to_vec())
            }
        };
        set_raw(&mut header.as_old_mut().name, &name);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

fn set_raw(field: &mut [u8], value: &str) {
    field.fill(0);
    field[..value.len()].copy_from_slice(value.as_bytes());
}

/// What a case must end in.
enum Want {
    /// A specific error.
    Error(fn(&LayerError) -> bool),
    /// Either an error or success; the tree check below decides.
    Contained,
    /// Success, and the root dump equals this.
    Tree(&'static str),
}

struct Case {
    name: &'static str,
    mode: ApplyMode,
    entries: &'static [E],
    want: Want,
}

const CASES: &[Case] = &[
    Case {
        name: "dotdot file",
        mode: ApplyMode::Merged,
        entries: &[E::File("../outside/pwned", "x")],
        want: Want::Error(|e| matches!(e, LayerError::EscapesRoot { .. })),
    },
    Case {
        name: "dotdot after a dir",
        mode: ApplyMode::Merged,
        entries: &[E::File("a/../../pwned", "x")],
        want: Want::Error(|e| matches!(e, LayerError::EscapesRoot { .. })),
    },
    Case {
        name: "absolute name is relative to the root",
        mode: ApplyMode::Merged,
        entries: &[E::File("/abs/file", "x")],
        want: Want::Tree("dir abs 755 0:0\nfile abs/file 644 0:0 \"x\""),
    },
    Case {
        name: "hardlink to /etc/shadow",
        mode: ApplyMode::Merged,
        entries: &[E::Hardlink("shadow", "/etc/shadow")],
        want: Want::Error(|e| matches!(e, LayerError::Hardlink { .. })),
    },
    Case {
        name: "hardlink relative up and out",
        mode: ApplyMode::Merged,
        entries: &[E::Hardlink("secret", "../outside/secret")],
        want: Want::Error(|e| matches!(e, LayerError::HardlinkEscapesRoot { .. })),
    },
    Case {
        name: "hardlink to the sentinel by absolute path",
        mode: ApplyMode::Merged,
        entries: &[E::Hardlink("secret", "@OUT/secret")],
        want: Want::Error(|e| matches!(e, LayerError::Hardlink { .. })),
    },
    Case {
        name: "relative symlink then a file through it",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("sl", "../outside"), E::File("sl/pwned", "x")],
        want: Want::Contained,
    },
    Case {
        name: "absolute symlink then a file through it",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("sl", "@OUT"), E::File("sl/pwned", "x")],
        want: Want::Contained,
    },
    Case {
        name: "deep relative symlink then a file through it",
        mode: ApplyMode::Merged,
        entries: &[
            E::Dir("a", 0o755),
            E::Symlink("a/up", "../../../../../../../../.."),
            E::File("a/up/pwned", "x"),
        ],
        // RESOLVE_IN_ROOT clamps `..` at the root: the file lands in it.
        want: Want::Tree(
            "dir a 755 0:0\nsymlink a/up 777 0:0 -> ../../../../../../../../..\nfile pwned 644 0:0 \"x\"",
        ),
    },
    Case {
        name: "symlink then dir of the same name does not chmod the target",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("d", "@OUT"), E::Dir("d", 0o777)],
        want: Want::Tree("dir d 777 0:0"),
    },
    Case {
        name: "symlink then file of the same name replaces the link",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("f", "@OUT/secret"), E::File("f", "new")],
        want: Want::Tree("file f 644 0:0 \"new\""),
    },
    Case {
        name: "hardlink to a symlink, then a file over it",
        mode: ApplyMode::Merged,
        entries: &[
            E::Symlink("sl", "@OUT/secret"),
            E::Hardlink("hl", "sl"),
            E::File("hl", "overwrite"),
        ],
        want: Want::Contained,
    },
    Case {
        name: "hardlink through a symlinked parent",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("sl", "@OUT"), E::Hardlink("x", "sl/secret")],
        want: Want::Error(|e| matches!(e, LayerError::Hardlink { .. })),
    },
    Case {
        name: "whiteout of ../x",
        mode: ApplyMode::Merged,
        entries: &[E::File("../.wh.outside", "")],
        want: Want::Error(|e| matches!(e, LayerError::EscapesRoot { .. })),
    },
    Case {
        name: "whiteout of dot-dot",
        mode: ApplyMode::Merged,
        entries: &[E::File(".wh...", "")],
        want: Want::Error(|e| matches!(e, LayerError::InvalidWhiteout { .. })),
    },
    Case {
        name: "whiteout of dot",
        mode: ApplyMode::Merged,
        entries: &[E::File("etc/.wh..", "")],
        want: Want::Error(|e| matches!(e, LayerError::InvalidWhiteout { .. })),
    },
    Case {
        name: "empty whiteout",
        mode: ApplyMode::Overlay,
        entries: &[E::File(".wh.", "")],
        want: Want::Error(|e| matches!(e, LayerError::InvalidWhiteout { .. })),
    },
    Case {
        name: "whiteout through a symlinked parent",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("sl", "@OUT"), E::File("sl/.wh.secret", "")],
        want: Want::Tree("symlink sl 777 0:0 -> @OUT"),
    },
    Case {
        name: "opaque through a symlinked parent",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("sl", "@OUT"), E::File("sl/.wh..wh..opq", "")],
        want: Want::Tree("symlink sl 777 0:0 -> @OUT"),
    },
    Case {
        name: "root replaced by a symlink",
        mode: ApplyMode::Merged,
        entries: &[E::Symlink("./", "@OUT"), E::File("pwned", "x")],
        want: Want::Error(|e| matches!(e, LayerError::ReplacesRoot { .. })),
    },
    Case {
        name: "device nodes stay inside",
        mode: ApplyMode::Merged,
        entries: &[E::Dir("dev", 0o755), E::Block("dev/disk", 8, 0)],
        want: Want::Tree("dir dev 755 0:0\nblockdev dev/disk 644 0:0 8:0"),
    },
    Case {
        name: "pax path smuggles dot-dot",
        mode: ApplyMode::Merged,
        entries: &[E::Pax(&[("path", b"../outside/pwned")], "harmless")],
        want: Want::Error(|e| matches!(e, LayerError::EscapesRoot { .. })),
    },
    Case {
        name: "pax linkpath smuggles an escape",
        mode: ApplyMode::Merged,
        entries: &[
            E::File("target", "t"),
            E::Pax(&[("linkpath", b"../outside/secret")], "harmless"),
        ],
        // The smuggled linkpath belongs to a regular file: ignored.
        want: Want::Tree("file harmless 644 0:0 \"pax\"\nfile target 644 0:0 \"t\""),
    },
    Case {
        name: "overlay xattrs from a tar are never applied",
        mode: ApplyMode::Overlay,
        entries: &[E::Pax(
            &[
                ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
                ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
                ("SCHILY.xattr.user.ok", b"kept"),
            ],
            "f",
        )],
        want: Want::Tree("file f 644 0:0 \"pax\" x:user.ok=\"kept\""),
    },
];

fn apply_case(
    bytes: &[u8],
    root: &Path,
    mode: ApplyMode,
    limits: &ApplyLimits,
) -> Result<oci::DiffId, LayerError> {
    apply_layer(&mut &bytes[..], root, mode, limits)
}

#[test]
fn hostile_layers_stay_inside_the_root() {
    if !tree::require_root("fixtures set owners and create device nodes") {
        return;
    }
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        tree::build(
            &outside,
            "file secret 600 0:0 do not touch\ndir sub 700 0:0\nfile sub/x 600 0:0 x",
        );
        let outside_before = tree::dump(&outside, ALL);
        let tmp_before = tree::dump(tmp.path(), ALL)
            .lines()
            .filter(|l| !l.contains(" root"))
            .collect::<Vec<_>>()
            .join("\n");
        let shadow_links = std::fs::metadata("/etc/shadow").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.nlink()
        });

        let bytes = craft(case.entries, &outside);
        let result = apply_case(&bytes, &root, case.mode, &ApplyLimits::default());

        assert_eq!(
            tree::dump(&outside, ALL),
            outside_before,
            "{}: sentinel changed",
            case.name
        );
        let tmp_after = tree::dump(tmp.path(), ALL)
            .lines()
            .filter(|l| !l.contains(" root"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            tmp_after, tmp_before,
            "{}: something appeared next to the root",
            case.name
        );
        assert_eq!(
            std::fs::metadata("/etc/shadow")
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    m.nlink()
                })
                .ok(),
            shadow_links.ok(),
            "{}: /etc/shadow gained a link",
            case.name
        );
        match &case.want {
            Want::Error(check) => match &result {
                Err(error) => assert!(check(error), "{}: unexpected error {error:?}", case.name),
                Ok(_) => panic!(
                    "{}: applied, expected an error; root:\n{}",
                    case.name,
                    tree::dump(&root, ALL)
                ),
            },
            Want::Contained => {}
            Want::Tree(want) => {
                if let Err(error) = &result {
                    panic!("{}: {error:?}", case.name);
                }
                let want = want.replace("@OUT", outside.to_str().unwrap());
                let got = tree::dump(&root, common::tree::NO_TIMES);
                assert_eq!(got, want, "{}", case.name);
            }
        }
        // A failed apply names the entry, so users can find the culprit.
        if let Err(error) = result {
            assert!(!error.to_string().is_empty());
        }
    }
}

#[test]
fn gzip_bomb_is_stopped_at_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    // 64 MiB of zeros compresses to ~64 KiB.
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_path("bomb").unwrap();
    header.set_mode(0o644);
    header.set_size(64 << 20);
    header.set_cksum();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.write_all(&[0u8; 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(
        bomb.len() < 1 << 20,
        "the fixture is a bomb: {} bytes",
        bomb.len()
    );

    let limits = ApplyLimits {
        max_bytes: 8 << 20,
        ..ApplyLimits::default()
    };
    let error = apply_case(&bomb, tmp.path(), ApplyMode::Merged, &limits).unwrap_err();
    assert!(
        matches!(error, LayerError::TooLarge { limit } if limit == 8 << 20),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("more than 8388608 bytes"),
        "{error}"
    );
    let written = std::fs::metadata(tmp.path().join("bomb"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(written <= 8 << 20, "wrote {written} bytes past the limit");

    // The same stream within the limit applies fine.
    let roomy = ApplyLimits {
        max_bytes: 128 << 20,
        ..ApplyLimits::default()
    };
    let target = tempfile::tempdir().unwrap();
    apply_case(&bomb, target.path(), ApplyMode::Merged, &roomy).unwrap();
}

#[test]
fn entry_count_is_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = [
        E::File("a", "1"),
        E::File("b", "2"),
        E::File("c", "3"),
        E::File("d", "4"),
    ];
    let bytes = craft(&entries, tmp.path());
    let limits = ApplyLimits {
        max_entries: 3,
        ..ApplyLimits::default()
    };
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let error = apply_case(&bytes, &root, ApplyMode::Merged, &limits).unwrap_err();
    assert!(
        matches!(error, LayerError::TooManyEntries { limit: 3 }),
        "{error:?}"
    );
}

#[test]
fn garbage_is_a_clear_error() {
    let cases: &[(&str, &[u8])] = &[
        ("truncated gzip", &[0x1f, 0x8b, 0x08, 0x00, 0x01]),
        ("truncated zstd", &[0x28, 0xb5, 0x2f, 0xfd, 0x00]),
        ("not a tar", b"this is not a tar archive, just some text that is long enough................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................."),
    ];
    for (name, bytes) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let result = apply_case(
            bytes,
            tmp.path(),
            ApplyMode::Merged,
            &ApplyLimits::default(),
        );
        assert!(
            matches!(result, Err(LayerError::ReadLayer { .. })),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn empty_stream_is_an_empty_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let diff_id = apply_case(&[], tmp.path(), ApplyMode::Merged, &ApplyLimits::default()).unwrap();
    assert_eq!(diff_id.0, oci::Digest::of(b""));
}
