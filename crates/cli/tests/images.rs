//! The image commands against a real registry, as one data-driven scenario:
//! each row runs `decant` (or skopeo, as an independent reader) and says
//! what must come out. Placeholders in arguments and expectations
//! (`{manifest}`, `{config}`, `{layer}`, `{addr}`, `{out}`) are filled from
//! the busybox image and the test's temp dir.
//!
//! Needs Debian's docker-registry, busybox-static and skopeo; root for the
//! `build` rows. Missing: `SKIP:` (a failure with `CI=true`).

use testkit::{Dir, Registry, busybox_layout, push_layout, require};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

/// What a row expects.
enum Expect {
    /// Exit 0.
    Success,
    /// Exit 0, stdout exactly this (after placeholders).
    Stdout(&'static str),
    /// Exit 0, stdout contains each of these.
    StdoutHas(&'static [&'static str]),
    /// Exit 0, stdout contains each of `has` and none of `lacks`.
    StdoutHasNot {
        has: &'static [&'static str],
        lacks: &'static [&'static str],
    },
    /// Exit 0, stdout redacted equals the insta snapshot of this name.
    Snapshot(&'static str),
    /// This exit code (1: the operation failed, 2: bad usage) with stderr
    /// containing each of these.
    Fails(i32, &'static [&'static str]),
}

enum Program {
    Decant,
    /// Decant with a registries.conf that does not exist: no registry.
    DecantOffline,
    Skopeo,
}

struct Row {
    program: Program,
    args: &'static [&'static str],
    expect: Expect,
}

const fn decant(args: &'static [&'static str], expect: Expect) -> Row {
    Row {
        program: Program::Decant,
        args,
        expect,
    }
}

/// A raw manifest whose layers are all gzip: the uncompressed type is the
/// gzip one without its `+gzip`, so its closing quote tells them apart.
const GZIP_LAYERS_ONLY: Expect = Expect::StdoutHasNot {
    has: &["application/vnd.oci.image.layer.v1.tar+gzip"],
    lacks: &["application/vnd.oci.image.layer.v1.tar\""],
};

const ROWS: &[Row] = &[
    // pull prints the manifest digest; a second pull finds every layer present.
    decant(&["pull", "busybox"], Expect::Stdout("{manifest}\n")),
    decant(
        &["pull", "-q", "docker.io/library/busybox:latest"],
        Expect::Stdout("{manifest}\n"),
    ),
    decant(&["images"], Expect::Snapshot("images_after_pull")),
    decant(
        &["images", "-q", "--no-trunc"],
        Expect::Stdout("{config}\n"),
    ),
    decant(&["inspect", "busybox"], Expect::Snapshot("inspect_busybox")),
    // The same image by ID, short ID and manifest digest.
    decant(
        &["inspect", "--format", "{{.Digest}}", "{config}"],
        Expect::Stdout("{manifest}\n"),
    ),
    decant(
        &["inspect", "-f", ".Name", "{config12}"],
        Expect::Stdout("docker.io/library/busybox:latest\n"),
    ),
    decant(
        &["inspect", "-f", "{{ .Id }}", "busybox@{manifest}"],
        Expect::Stdout("{config}\n"),
    ),
    decant(
        &["inspect", "-f", ".Manifest.layers.0.digest", "busybox"],
        Expect::Stdout("{layer}\n"),
    ),
    decant(
        &["inspect", "-f", ".Config.rootfs.diff_ids", "busybox"],
        Expect::Stdout("[\"{diff_id}\"]\n"),
    ),
    decant(
        &["inspect", "-f", ".Nope", "busybox"],
        Expect::Fails(2, &["no field \".Nope\"", "hint:"]),
    ),
    decant(
        &["inspect", "nothere:1"],
        Expect::Fails(1, &["no image \"nothere:1\"", "hint:"]),
    ),
    // tag: a second name for the same manifest.
    decant(
        &["tag", "busybox", "localhost:5999/mine/box:v1"],
        Expect::Success,
    ),
    decant(
        &["images", "--digests"],
        Expect::Snapshot("images_after_tag"),
    ),
    decant(
        &["inspect", "-f", ".RepoTags", "{config}"],
        Expect::Stdout("[\"docker.io/library/busybox:latest\",\"localhost:5999/mine/box:v1\"]\n"),
    ),
    decant(
        &["rmi", "{config}"],
        Expect::Fails(1, &["several names", "hint:"]),
    ),
    // save in both formats; skopeo reads them back.
    decant(
        &["save", "busybox", "-o", "{out}/busybox-oci.tar"],
        Expect::Success,
    ),
    decant(
        &[
            "save",
            "busybox",
            "-o",
            "{out}/busybox-docker.tar",
            "--format",
            "docker",
        ],
        Expect::Success,
    ),
    Row {
        program: Program::Skopeo,
        args: &["inspect", "--raw", "oci-archive:{out}/busybox-oci.tar"],
        expect: Expect::StdoutHas(&["{layer}", "{config}"]),
    },
    Row {
        program: Program::Skopeo,
        args: &[
            "inspect",
            "--format",
            "{{.Layers}}",
            "docker-archive:{out}/busybox-docker.tar",
        ],
        expect: Expect::StdoutHas(&["sha256:"]),
    },
    // push to another repository; skopeo sees the same manifest digest.
    decant(
        &["push", "busybox", "{addr}/copies/busybox:v2"],
        Expect::Stdout("{manifest}\n"),
    ),
    Row {
        program: Program::Skopeo,
        args: &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            "docker://{addr}/copies/busybox:v2",
        ],
        expect: Expect::Stdout("{manifest}\n"),
    },
    // FROM finds the image in the store by name, with no registry at all;
    // --pull insists on the registry and so fails here.
    Row {
        program: Program::DecantOffline,
        args: &[
            "build",
            "--progress",
            "plain",
            "-t",
            "derived",
            "-f",
            "{out}/Dockerfile",
            "{out}",
        ],
        expect: Expect::Success,
    },
    Row {
        program: Program::DecantOffline,
        args: &[
            "build",
            "--pull",
            "--progress",
            "plain",
            "-f",
            "{out}/Dockerfile",
            "{out}",
        ],
        expect: Expect::Fails(
            1,
            &["failed to resolve image docker.io/library/busybox:latest"],
        ),
    },
    decant(
        &["inspect", "-f", ".Config.config.Cmd", "derived"],
        Expect::Stdout("[\"/bin/true\"]\n"),
    ),
    // rmi removes names; prune frees what nothing names; fsck stays clean.
    decant(
        &["rmi", "busybox", "localhost:5999/mine/box:v1", "derived"],
        Expect::StdoutHas(&[
            "Untagged: docker.io/library/busybox:latest",
            "Untagged: localhost:5999/mine/box:v1",
            "Untagged: docker.io/library/derived:latest",
        ]),
    ),
    decant(&["images", "-q"], Expect::Stdout("")),
    decant(&["prune"], Expect::StdoutHas(&["removed 5 blobs"])),
    decant(
        &["du", "--format", "json"],
        Expect::StdoutHas(&["\"blobs\": {\n    \"count\": 0,\n    \"bytes\": 0"]),
    ),
    // load: the docker-archive, then the OCI archive, each complete.
    decant(
        &["load", "-i", "{out}/busybox-docker.tar"],
        Expect::Stdout("Loaded image: docker.io/library/busybox:latest\n"),
    ),
    decant(&["fsck"], Expect::Stdout("checked 3 blobs: clean\n")),
    decant(&["rmi", "busybox"], Expect::Success),
    decant(&["prune"], Expect::Success),
    decant(
        &["load", "-i", "{out}/busybox-oci.tar"],
        Expect::Stdout("Loaded image: docker.io/library/busybox:latest\n"),
    ),
    decant(
        &["inspect", "-f", ".Digest", "busybox"],
        Expect::Stdout("{manifest}\n"),
    ),
    decant(&["du"], Expect::Snapshot("du_after_load")),
    decant(
        &["fsck", "--format", "json"],
        Expect::StdoutHas(&["\"clean\": true", "\"blobs_checked\": 3"]),
    ),
    decant(
        &["load", "-i", "{out}/Dockerfile"],
        Expect::Fails(1, &["cannot read the image archive"]),
    ),
    // An image built with only -t keeps its new layer uncompressed, as
    // docker's store does; push and an export from it compress it.
    Row {
        program: Program::DecantOffline,
        args: &[
            "build",
            "-q",
            "-t",
            "made",
            "-f",
            "{out}/Dockerfile.layer",
            "{out}",
        ],
        expect: Expect::Success,
    },
    decant(
        &["inspect", "-f", ".Manifest.layers.1.mediaType", "made"],
        Expect::Stdout("application/vnd.oci.image.layer.v1.tar\n"),
    ),
    decant(
        &["push", "-q", "made", "{addr}/copies/made:v1"],
        Expect::Success,
    ),
    Row {
        program: Program::Skopeo,
        args: &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            "docker://{addr}/copies/made:v1",
        ],
        expect: GZIP_LAYERS_ONLY,
    },
    Row {
        program: Program::DecantOffline,
        args: &[
            "build",
            "-q",
            "-f",
            "{out}/Dockerfile.from-made",
            "-o",
            "type=oci,dest={out}/from-made.tar",
            "{out}",
        ],
        expect: Expect::Success,
    },
    Row {
        program: Program::Skopeo,
        args: &["inspect", "--raw", "oci-archive:{out}/from-made.tar"],
        expect: GZIP_LAYERS_ONLY,
    },
    decant(&["fsck"], Expect::StdoutHas(&[": clean"])),
];

#[test]
fn image_commands_against_a_registry() {
    require!(root);
    for tool in ["docker-registry", "busybox", "skopeo"] {
        require!(command tool);
    }
    let dir = Dir::new(BIN, "image-commands");
    let registry = Registry::start();
    let image = busybox_layout(&dir.outside().join("busybox-layout"));
    push_layout(&image.layout, &registry, "library/busybox:latest");
    let conf = dir.path().join("registries.conf");
    registry.write_registries_conf(&conf);
    let out = dir.outside().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("Dockerfile"),
        "FROM busybox\nCMD [\"/bin/true\"]\n",
    )
    .unwrap();
    std::fs::write(
        out.join("Dockerfile.layer"),
        "FROM busybox\nRUN echo made > /made\n",
    )
    .unwrap();
    std::fs::write(out.join("Dockerfile.from-made"), "FROM made\n").unwrap();

    let fill = |text: &str| {
        text.replace("{manifest}", &image.manifest_digest.to_string())
            .replace("{config12}", &image.config_digest.hex()[..12])
            .replace("{config}", &image.config_digest.to_string())
            .replace("{layer}", &image.layer_digest.to_string())
            .replace("{diff_id}", &image.diff_id.to_string())
            .replace("{addr}", registry.addr())
            .replace("{out}", &out.display().to_string())
    };
    for (i, row) in ROWS.iter().enumerate() {
        let args: Vec<String> = row.args.iter().map(|a| fill(a)).collect();
        let output = match row.program {
            Program::Decant | Program::DecantOffline => {
                let mut command = dir.command();
                let conf = match row.program {
                    Program::DecantOffline => dir.path().join("no-registries.conf"),
                    _ => conf.clone(),
                };
                command.env("CONTAINERS_REGISTRIES_CONF", conf).args(&args);
                command.run()
            }
            Program::Skopeo => std::process::Command::new("skopeo")
                .args(&args)
                .output()
                .expect("run skopeo"),
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let context = format!("row {i}: {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        match &row.expect {
            Expect::Fails(code, needles) => {
                assert_eq!(output.status.code(), Some(*code), "{context}");
                for needle in *needles {
                    assert!(
                        stderr.contains(&fill(needle)),
                        "{needle:?} missing: {context}"
                    );
                }
                continue;
            }
            _ => assert!(output.status.success(), "{context}"),
        }
        match &row.expect {
            Expect::Stdout(expected) => assert_eq!(stdout, fill(expected), "{context}"),
            Expect::StdoutHas(needles) => {
                for needle in *needles {
                    assert!(
                        stdout.contains(&fill(needle)),
                        "{needle:?} missing: {context}"
                    );
                }
            }
            Expect::StdoutHasNot { has, lacks } => {
                for needle in *has {
                    assert!(
                        stdout.contains(&fill(needle)),
                        "{needle:?} missing: {context}"
                    );
                }
                for needle in *lacks {
                    assert!(
                        !stdout.contains(&fill(needle)),
                        "{needle:?} present: {context}"
                    );
                }
            }
            Expect::Snapshot(name) => {
                // The row and raw output, for a failing snapshot's context.
                eprintln!("{context}");
                insta::assert_snapshot!(*name, redact(&dir, &stdout));
            }
            Expect::Success | Expect::Fails(..) => {}
        }
    }
}

/// Digests and temp paths vary; so do sizes and dates, which depend on the
/// host's busybox binary and the clock. Tables keep their shape.
fn redact(dir: &Dir, text: &str) -> String {
    let text = dir.redact(text);
    let sizes = regex::Regex::new(r#"\b\d+(\.\d+)?(B|kB|MB|GB)\b|"size": \d+"#).unwrap();
    let text = sizes.replace_all(&text, |c: &regex::Captures| {
        if c[0].starts_with('"') {
            "\"size\": [SIZE]".to_string()
        } else {
            "[SIZE]".to_string()
        }
    });
    let short_ids = regex::Regex::new(r"\b[0-9a-f]{12}\b").unwrap();
    short_ids.replace_all(&text, "[ID]").into_owned()
}
