//! docker build flags through the real binary, with stages that start
//! `FROM scratch` and no RUN, so that neither root nor a registry is
//! needed:
//! - `--platform`: a build for the platform decant runs on (named in any
//!   spelling docker accepts, or `local`) is an ordinary build; any other
//!   platform is refused with a hint, never built for the wrong one.
//! - `-f -` and the context `-`: the Dockerfile on standard input, with a
//!   context directory or with none, or a context archive (tar or gzip'd
//!   tar) on standard input.
//! - `-o -` and `dest=-`: an archive on standard output, and nothing else
//!   there (not even `-q`'s image ID).
//! - buildx's other flags: `--load` is accepted (a `-t` image is always
//!   in decant's store, and without `-t` it warns); flags decant cannot
//!   honour yet are refused with a message; the legacy builder's flags,
//!   which buildx accepts and ignores, are ignored with a warning.

use testkit::{Dir, output_text};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

const DOCKERFILE: &str = "\
FROM scratch
ARG TARGETPLATFORM
LABEL built-for=$TARGETPLATFORM
";

/// The host's architecture in the OCI (Go) spelling.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[test]
fn platform_flag_builds_for_the_host_and_refuses_others() {
    let host = format!("linux/{}", host_arch());
    let foreign = if host_arch() == "amd64" {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    let planned = format!("platform {host}");
    let refused = format!("--platform {foreign}: decant builds for {host}");
    let both = format!("{host},{foreign}");
    // (extra arguments, succeeds, text expected in stdout + stderr)
    let cases: Vec<(Vec<&str>, bool, &str)> = vec![
        (vec!["--print-plan"], true, &planned),
        (vec!["--print-plan", "--platform", "local"], true, &planned),
        (vec!["--print-plan", "--platform", &host], true, &planned),
        (
            vec!["--print-plan", "--platform", host_arch()],
            true,
            &planned,
        ),
        (vec!["--print-plan", "--platform", foreign], false, &refused),
        (vec!["--print-plan", "--platform", &both], false, &refused),
        (
            vec!["--print-plan", "--platform", "windows/amd64"],
            false,
            "hint: leave out --platform",
        ),
        (
            vec!["--print-plan", "--platform", "linux//"],
            false,
            "invalid platform \"linux//\"",
        ),
        (
            vec!["-o", "type=oci,tar=false,dest=out", "--platform", &host],
            true,
            "",
        ),
        (
            vec!["-o", "type=oci,tar=false,dest=out", "--platform", foreign],
            false,
            &refused,
        ),
    ];
    for (n, (extra, succeeds, expected)) in cases.iter().enumerate() {
        let dir = Dir::new(BIN, &format!("platform-{n}"));
        dir.create("Dockerfile", DOCKERFILE);
        let output = dir.command().arg("build").args(extra).arg(".").run();
        let text = output_text(&output);
        assert_eq!(output.status.success(), *succeeds, "{extra:?}:\n{text}");
        assert!(
            text.contains(expected),
            "{extra:?}: {expected:?} not in\n{text}"
        );
        if *succeeds && extra.contains(&"-o") {
            assert!(
                dir.path().join("out/index.json").exists(),
                "{extra:?}: no image written"
            );
        }
        if !*succeeds {
            assert!(
                !dir.path().join("out").exists(),
                "{extra:?}: a refused build wrote an output"
            );
        }
    }
}

/// One `decant build` with a Dockerfile on standard input.
struct StdinCase {
    /// Arguments after `build`.
    args: &'static [&'static str],
    dockerfile: &'static str,
    succeeds: bool,
    /// Text expected in stdout + stderr.
    output: &'static str,
    /// A file expected in the output directory `out`, copied from the
    /// context file `from-context`.
    copied: Option<&'static str>,
}

const STDIN_CASES: &[StdinCase] = &[
    StdinCase {
        args: &["-f", "-", "-o", "type=local,dest=out", "."],
        dockerfile: "FROM scratch\nCOPY from-context /copied\n",
        succeeds: true,
        output: "",
        copied: Some("copied"),
    },
    StdinCase {
        args: &["-o", "type=local,dest=out", "-"],
        dockerfile: "FROM scratch\nLABEL no=context\n",
        succeeds: true,
        output: "",
        copied: None,
    },
    StdinCase {
        args: &["-o", "type=local,dest=out", "-"],
        dockerfile: "FROM scratch\nCOPY from-context /copied\n",
        succeeds: false,
        output: "<stdin>:2: COPY from-context /copied",
        copied: None,
    },
    StdinCase {
        args: &["-f", "-", "--print-plan", "."],
        dockerfile: "FROM scratch\nRUNX true\n",
        succeeds: false,
        output: "<stdin>:2:1: unknown instruction: RUNX",
        copied: None,
    },
    StdinCase {
        args: &["-f", "-", "-"],
        dockerfile: "FROM scratch\n",
        succeeds: false,
        output: "both read standard input",
        copied: None,
    },
];

#[test]
fn dockerfile_from_standard_input() {
    for (n, case) in STDIN_CASES.iter().enumerate() {
        let args = case.args;
        let dir = Dir::new(BIN, &format!("stdin-{n}"));
        dir.create("from-context", "context file\n");
        // A Dockerfile in the context that must not be the one read.
        dir.create("Dockerfile", "FROM scratch\nLABEL wrong=file\n");
        let output = dir
            .command()
            .arg("build")
            .args(args)
            .stdin(case.dockerfile.as_bytes().to_vec())
            .run();
        let text = output_text(&output);
        assert_eq!(output.status.success(), case.succeeds, "{args:?}:\n{text}");
        assert!(
            text.contains(case.output),
            "{args:?}: {:?} not in\n{text}",
            case.output
        );
        if let Some(file) = case.copied {
            assert_eq!(
                dir.read(format!("out/{file}")),
                b"context file\n",
                "{args:?}"
            );
        }
    }
}

/// (arguments after `build`, succeeds, text expected in stdout + stderr,
/// text that must not be there)
const DOCKER_FLAGS: &[(&[&str], bool, &str, &str)] = &[
    (
        &["--rm", "--force-rm=false", "-m", "1g", "--squash"],
        true,
        "warning: --rm has no effect with BuildKit or decant",
        "error",
    ),
    (
        &["--load"],
        true,
        "warning: --load stores nothing without a name",
        "error",
    ),
    (&["--provenance=false", "--sbom=false"], true, "", "warning"),
    (
        &["--provenance"],
        false,
        "hint: decant writes no attestations",
        "sha256:",
    ),
    (
        &["--shm-size", "lots"],
        false,
        "error: invalid --shm-size \"lots\"",
        "sha256:",
    ),
    (
        &["--ulimit", "files=1"],
        false,
        "error: invalid --ulimit \"files=1\": unknown limit \"files\"",
        "sha256:",
    ),
    (
        &["--cgroup-parent", "x"],
        false,
        "error: --cgroup-parent is not supported by decant yet",
        "sha256:",
    ),
    (
        &["--ssh", "default=no-such-agent.sock"],
        false,
        "error: --ssh default=no-such-agent.sock: cannot use no-such-agent.sock",
        "sha256:",
    ),
    (
        &["--cache-from", "type=registry,ref=x"],
        false,
        "error: --cache-from is not supported by decant yet",
        "sha256:",
    ),
];

#[test]
fn docker_flags_are_honoured_refused_or_ignored_aloud() {
    for (n, (args, succeeds, expected, absent)) in DOCKER_FLAGS.iter().enumerate() {
        let dir = Dir::new(BIN, &format!("docker-flags-{n}"));
        dir.create("Dockerfile", "FROM scratch\nLABEL a=b\n");
        let output = dir
            .command()
            .args(["build", "-o", "type=oci,tar=false,dest=out"])
            .args(*args)
            .arg(".")
            .run();
        let text = output_text(&output);
        assert_eq!(output.status.success(), *succeeds, "{args:?}:\n{text}");
        assert!(
            text.contains(expected),
            "{args:?}: {expected:?} not in\n{text}"
        );
        assert!(!text.contains(absent), "{args:?}: {absent:?} in\n{text}");
    }
}

#[test]
fn load_with_a_name_stores_the_image() {
    let dir = Dir::new(BIN, "load");
    dir.create("Dockerfile", "FROM scratch\nLABEL a=b\n");
    let output = dir
        .command()
        .args([
            "build",
            "--load",
            "-o",
            "type=oci,tar=false,dest=out",
            "-t",
            "loaded:1",
            ".",
        ])
        .run();
    assert!(output.status.success(), "{output:?}");
    assert!(
        dir.path().join("out/index.json").exists(),
        "the -o output too"
    );
    let images = dir.command().arg("images").stdout();
    assert!(images.contains("loaded"), "{images}");
}

/// (arguments after `build`, the archive member expected on stdout, or a
/// piece of the error)
const STDOUT_OUTPUTS: &[(&[&str], Result<&str, &str>)] = &[
    (&["-o", "-"], Ok("copied")),
    (&["-q", "-o", "type=tar,dest=-"], Ok("copied")),
    (&["-o", "type=oci,dest=-"], Ok("index.json")),
    (&["-o", "type=docker,dest=-"], Ok("manifest.json")),
    (
        &["-o", "type=local,dest=-"],
        Err("a directory output cannot go to standard output"),
    ),
    (
        &["-o", "-", "-o", "type=oci,dest=-"],
        Err("only one output can go to standard output"),
    ),
];

#[test]
fn outputs_to_standard_output_are_archives_alone() {
    for (n, (args, expected)) in STDOUT_OUTPUTS.iter().enumerate() {
        let dir = Dir::new(BIN, &format!("stdout-{n}"));
        dir.create("Dockerfile", "FROM scratch\nCOPY from-context /copied\n");
        dir.create("from-context", "context file\n");
        let output = dir.command().arg("build").args(*args).arg(".").run();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match expected {
            Ok(member) => {
                assert!(output.status.success(), "{args:?}: {stderr}");
                // Nothing after the archive's two zero blocks: no image ID.
                let bytes = &output.stdout;
                assert!(
                    bytes.len().is_multiple_of(512)
                        && bytes[bytes.len() - 1024..].iter().all(|b| *b == 0),
                    "{args:?}: stdout holds more than the archive"
                );
                let mut archive = tar::Archive::new(output.stdout.as_slice());
                let names: Vec<String> = archive
                    .entries()
                    .expect("stdout is a tar archive")
                    .map(|entry| {
                        let entry = entry.expect("a whole tar entry");
                        entry.path().expect("path").display().to_string()
                    })
                    .collect();
                assert!(
                    names.iter().any(|name| name == member),
                    "{args:?}: {member} not in {names:?}"
                );
            }
            Err(piece) => {
                assert!(!output.status.success(), "{args:?}");
                assert!(stderr.contains(piece), "{args:?}: {stderr}");
                assert!(output.stdout.is_empty(), "{args:?}: wrote to stdout");
            }
        }
    }
}

/// A context archive of `files` (path, content, mode), gzip'd or not.
fn context_archive(files: &[(&str, &str, u32)], gzip: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content, mode) in files {
        let mut header = tar::Header::new_ustar();
        // The name is written raw: the tar crate's writer refuses `..`,
        // and the hostile entry must reach decant's reader.
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(content.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, content.as_bytes()).expect("append");
    }
    let tar = builder.into_inner().expect("tar");
    if !gzip {
        return tar;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, &tar).expect("gzip");
    encoder.finish().expect("gzip")
}

#[test]
fn context_archive_from_standard_input() {
    let files = [
        ("Dockerfile", "FROM scratch\nCOPY tool /bin/tool\n", 0o644),
        ("tool", "#!/bin/sh\necho tool\n", 0o755),
        (
            "sub/Other.Dockerfile",
            "FROM scratch\nCOPY tool /other\n",
            0o644,
        ),
        // Outside the context: the tar crate skips such entries.
        ("../escaped", "nope", 0o644),
    ];
    let dir = Dir::new(BIN, "stdin-archive");
    let cache_records = |dir: &Dir| {
        std::fs::read_dir(dir.store_root().join("cache"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    let mut records = Vec::new();
    // (gzip, --no-cache): the no-cache builds run their steps, so they
    // write the records that explain a cache miss.
    let builds = [(false, false), (true, false), (true, true), (false, true)];
    for (n, (gzip, no_cache)) in builds.into_iter().enumerate() {
        let output = dir
            .command()
            .args(["build", "-o", &format!("type=local,dest=out-{n}")])
            .args(no_cache.then_some("--no-cache"))
            .arg("-")
            .stdin(context_archive(&files, gzip))
            .run();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "build {n}: {stderr}");
        let tool = dir.path().join(format!("out-{n}/bin/tool"));
        assert_eq!(
            std::fs::read(&tool).expect("tool"),
            b"#!/bin/sh\necho tool\n"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&tool).expect("stat").permissions(),
        );
        assert_eq!(mode & 0o777, 0o755, "the archive's mode is kept");
        if n == 1 {
            assert!(stderr.contains("CACHED"), "build {n} is cached: {stderr}");
        }
        records.push(cache_records(&dir));
    }
    assert_eq!(
        records[2], records[3],
        "a rebuild from stdin leaves no record keyed by its temporary directory"
    );
    assert!(!dir.path().join("escaped").exists() && !dir.outside().join("escaped").exists());

    // -f names a file inside the archive.
    let output = dir
        .command()
        .args([
            "build",
            "-f",
            "sub/Other.Dockerfile",
            "-o",
            "type=local,dest=other",
            "-",
        ])
        .stdin(context_archive(&files, false))
        .run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("other/other").exists());
}
