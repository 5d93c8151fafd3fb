//! End-to-end: the `decant` binary builds multi-stage images, and
//! independent tools (skopeo, umoci, runc from Debian) accept and run them.
//!
//! Needs root (RUN and overlayfs), Debian's docker-registry, busybox-static,
//! skopeo, umoci and runc. Without them each test prints `SKIP:` and returns;
//! with `CI=true` it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{Dir, Registry, busybox_layout, push_layout, require, run_ok};

const BIN: &str = env!("CARGO_BIN_EXE_decant");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Unpacks an OCI archive into a layout dir, then into a runtime bundle.
fn unpack(dir: &Dir, archive: &Path, tag: &str) -> PathBuf {
    let layout = dir.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(&layout),
    );
    let bundle = dir.path().join("bundle");
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle),
    );
    bundle
}

#[test]
fn readme_example_builds_offline_and_skopeo_reads_it() {
    require!(root);
    require!(command "skopeo");
    require!(command "umoci");
    let dir = Dir::new(BIN, "readme-example");
    let example = repo_root().join("examples/hello");
    let out = dir.path().join("hello.tar");
    // No registry is configured: a FROM-scratch build must not need one.
    dir.command()
        .env(
            "CONTAINERS_REGISTRIES_CONF",
            dir.path().join("does-not-exist.conf"),
        )
        .args(["build", "-t", "hello:latest", "--progress", "plain", "-f"])
        .arg(example.join("Dockerfile"))
        .arg("--output")
        .arg(format!("type=oci,dest={}", out.display()))
        .arg(&example)
        .output();
    let inspect = run_ok(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}", out.display())),
    );
    assert!(inspect.contains("\"Layers\""), "{inspect}");
    let bundle = unpack(&dir, &out, "latest");
    let rootfs = bundle.join("rootfs");
    assert!(rootfs.join("srv/www/index.html").is_file());
    assert_eq!(
        std::fs::read_to_string(rootfs.join("srv/www/build-info.txt")).unwrap(),
        "built by decant from examples/hello\n"
    );
    assert!(rootfs.join("usr/share/doc/hello/README.md").is_file());
    assert!(rootfs.join("usr/share/doc/hello/CHANGES.md").is_file());
}

/// A registry with the busybox image as docker.io/library/busybox:latest,
/// and a registries.conf pointing at it.
fn registry_with_busybox(dir: &Dir) -> (Registry, PathBuf) {
    let registry = Registry::start();
    let image = busybox_layout(&dir.path().join("busybox-layout"));
    push_layout(&image.layout, &registry, "library/busybox:latest");
    let conf = dir.path().join("registries.conf");
    registry.write_registries_conf(&conf);
    (registry, conf)
}

const MULTI_STAGE: &str = "\
FROM busybox AS build
WORKDIR /src
COPY message.txt .
RUN mkdir -p /out && tr a-z A-Z < message.txt > /out/message \\
 && printf '#!/bin/sh\\ncat /usr/share/hello/message\\n' > /out/hello && chmod 755 /out/hello

FROM busybox AS unused
RUN exit 7

FROM busybox
COPY --from=build /out/message /usr/share/hello/message
COPY --from=build /out/hello /usr/local/bin/hello
CMD [\"/usr/local/bin/hello\"]
";

#[test]
fn multi_stage_image_runs_in_runc_and_rebuilds_from_cache() {
    require!(root);
    require!(overlayfs);
    for tool in ["docker-registry", "busybox", "skopeo", "umoci", "runc"] {
        require!(command tool);
    }
    let dir = Dir::new(BIN, "multi-stage");
    let (_registry, conf) = registry_with_busybox(&dir);
    dir.create("ctx/Dockerfile", MULTI_STAGE);
    dir.create("ctx/message.txt", "hello from a build stage\n");
    let out = dir.path().join("image.tar");
    let build = |dir: &Dir| {
        let output = dir
            .command()
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .args([
                "build",
                "-t",
                "e2e:latest",
                "--progress",
                "plain",
                "--output",
            ])
            .arg(format!("type=oci,dest={}", out.display()))
            .arg(dir.path().join("ctx"))
            .output();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let first = build(&dir);
    assert!(
        first.contains("(3 steps run, 0 cached)") || first.contains("steps run"),
        "{first}"
    );
    assert!(
        !first.contains("exit 7"),
        "the unused stage must not run:\n{first}"
    );

    let inspect = run_ok(
        Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}", out.display())),
    );
    assert!(inspect.contains("\"Architecture\""), "{inspect}");
    let bundle = unpack(&dir, &out, "latest");
    // umoci writes a config.json that asks for a terminal; we capture output.
    let config_path = bundle.join("config.json");
    let config = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("\"terminal\": true", "\"terminal\": false");
    std::fs::write(&config_path, config).unwrap();
    let container = format!("decant-e2e-{}", std::process::id());
    let ran = run_ok(
        Command::new("runc")
            .arg("run")
            .arg("--bundle")
            .arg(&bundle)
            .arg(&container),
    );
    assert_eq!(ran.trim(), "HELLO FROM A BUILD STAGE");

    // Nothing changed: no step runs again, and the image is the same one
    // (same config digest), as a BuildKit rebuild from its cache is.
    let second = build(&dir);
    assert!(second.contains("(0 steps run,"), "{second}");
    let image_id = |text: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix("built ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no 'built' line in:\n{text}"))
    };
    assert_eq!(image_id(&first), image_id(&second));

    // A file no step reads does not invalidate anything; one that is read does.
    dir.create("ctx/unrelated.txt", "not copied\n");
    let third = build(&dir);
    assert!(third.contains("(0 steps run,"), "{third}");
    dir.create("ctx/message.txt", "edited\n");
    let fourth = build(&dir);
    assert!(
        fourth.contains("(4 steps run,"),
        "the COPY, the RUN after it and both final COPYs rerun:\n{fourth}"
    );
    // Each rerun step says which of its inputs changed.
    assert!(
        fourth.contains("(ran: the files or stages it reads changed)"),
        "{fourth}"
    );
    assert!(
        fourth.contains("(ran: an earlier step or the base image changed)"),
        "{fourth}"
    );

    // --no-cache-filter reruns only the named stage's steps; the final
    // stage's copies then find their inputs unchanged.
    let output = dir
        .command()
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .args(["build", "--progress", "plain", "--no-cache-filter", "build"])
        .arg(dir.path().join("ctx"))
        .output();
    let fifth = String::from_utf8_lossy(&output.stderr);
    assert!(fifth.contains("(3 steps run, 2 cached)"), "{fifth}");
}

#[test]
fn identical_steps_in_two_stages_run_once() {
    require!(root);
    require!(overlayfs);
    for tool in ["docker-registry", "busybox", "skopeo"] {
        require!(command tool);
    }
    let dir = Dir::new(BIN, "dedup");
    let (_registry, conf) = registry_with_busybox(&dir);
    let same = "RUN echo expensive > /result\n";
    dir.create(
        "ctx/Dockerfile",
        format!(
            "FROM busybox AS one\n{same}\nFROM busybox AS two\n{same}\n\
             FROM scratch\nCOPY --from=one /result /one\nCOPY --from=two /result /two\n"
        ),
    );
    let output = dir
        .command()
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .args(["build", "--progress", "plain"])
        .arg(dir.path().join("ctx"))
        .output();
    let text = String::from_utf8_lossy(&output.stderr);
    // One RUN and two COPYs run; the other stage's RUN is served by the first.
    assert!(text.contains("(3 steps run, 1 cached)"), "{text}");
}

#[test]
fn build_push_and_output_type_registry_reach_the_registry() {
    require!(root);
    require!(overlayfs);
    for tool in ["docker-registry", "busybox", "skopeo"] {
        require!(command tool);
    }
    let dir = Dir::new(BIN, "push");
    let (registry, conf) = registry_with_busybox(&dir);
    dir.create(
        "ctx/Dockerfile",
        "FROM busybox\nRUN echo pushed > /pushed\n",
    );
    // (flags, the reference skopeo must then find)
    let cases = [
        (
            vec![
                "--push".to_string(),
                "-t".to_string(),
                format!("{}/app:push", registry.addr()),
            ],
            format!("{}/app:push", registry.addr()),
        ),
        (
            vec![
                "--output".to_string(),
                format!("type=registry,name={}/app:output", registry.addr()),
            ],
            format!("{}/app:output", registry.addr()),
        ),
    ];
    for (flags, reference) in cases {
        dir.command()
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .args(["build", "--progress", "plain"])
            .args(&flags)
            .arg(dir.path().join("ctx"))
            .output();
        let inspect = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--tls-verify=false"])
                .arg(format!("docker://{reference}")),
        );
        assert!(inspect.contains("\"Layers\""), "{reference}: {inspect}");
    }
    // Pushing needs a name.
    let output = dir
        .command()
        .env("CONTAINERS_REGISTRIES_CONF", &conf)
        .args(["build", "--push"])
        .arg(dir.path().join("ctx"))
        .run();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("hint: add -t"));
}

/// Lazy compression: a build stage's layer, which the image does not ship,
/// never becomes a blob; the shipped layers are compressed once per
/// compression, and a build with another compression reuses every step.
#[test]
fn build_stage_layers_are_never_compressed() {
    require!(root);
    require!(overlayfs);
    let dir = Dir::new(BIN, "lazy-compression");
    dir.create(
        "ctx/Dockerfile",
        "FROM scratch AS build\nCOPY toolchain.bin notes.txt /work/\n\
         FROM scratch\nCOPY --from=build /work/notes.txt /notes.txt\n",
    );
    // Incompressible, so that a compressed copy of it is easy to spot.
    let toolchain: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    dir.create("ctx/toolchain.bin", &toolchain);
    dir.create("ctx/notes.txt", "only this file ships\n");
    let build = |compression: &str| {
        let out = dir.path().join(format!("image-{compression}.tar"));
        let output = dir
            .command()
            .args(["build", "--progress", "plain", "--output"])
            .arg(format!(
                "type=oci,dest={},compression={compression}",
                out.display()
            ))
            .arg(dir.path().join("ctx"))
            .output();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let blob_sizes = || -> Vec<u64> {
        std::fs::read_dir(dir.store_root().join("blobs/sha256"))
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().len())
            .collect()
    };

    let first = build("gzip");
    assert!(first.contains("(2 steps run, 0 cached)"), "{first}");
    assert_eq!(
        first.matches("compressing layer").count(),
        1,
        "only the final stage's layer is compressed:\n{first}"
    );
    assert!(
        blob_sizes().iter().all(|&size| size < 100_000),
        "no blob holds the build stage's 1 MB layer: {:?}",
        blob_sizes()
    );

    // Another compression: every step is cached, the shipped layer is
    // compressed again (as zstd), and the archive says so.
    let second = build("zstd");
    assert!(second.contains("(0 steps run, 2 cached)"), "{second}");
    assert_eq!(second.matches("compressing layer").count(), 1, "{second}");
    let mut manifest_types = String::new();
    let out = dir.path().join("image-zstd.tar");
    let listing = run_ok(Command::new("tar").arg("-xOf").arg(&out).arg("index.json"));
    assert!(listing.contains("manifest"), "{listing}");
    for entry in std::fs::read_dir(dir.store_root().join("blobs/sha256")).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        manifest_types.push_str(&String::from_utf8_lossy(&text));
    }
    assert!(
        manifest_types.contains("application/vnd.oci.image.layer.v1.tar+zstd"),
        "a manifest names the zstd layer"
    );

    // Back to gzip: the blob index already has it, nothing is compressed.
    let third = build("gzip");
    assert!(third.contains("(0 steps run, 2 cached)"), "{third}");
    assert!(!third.contains("compressing layer"), "{third}");
}

/// BuildKit keys `COPY --from=<stage>` by the content it selects: an edit
/// that changes the stage but not the copied files leaves the copy cached
/// and the image ID unchanged.
#[test]
fn copy_from_a_stage_is_keyed_by_the_files_it_takes() {
    require!(root);
    require!(overlayfs);
    let dir = Dir::new(BIN, "stage-content");
    dir.create(
        "ctx/Dockerfile",
        "FROM scratch AS build\nCOPY shipped.txt notes.txt /src/\n\
         FROM scratch\nCOPY --from=build /src/shipped.txt /shipped.txt\n",
    );
    dir.create("ctx/shipped.txt", "v1\n");
    dir.create("ctx/notes.txt", "draft 1\n");
    let build = || {
        let output = dir
            .command()
            .args(["build", "--progress", "plain"])
            .arg(dir.path().join("ctx"))
            .output();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let image_id = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("built ").map(|rest| rest[..71].to_string()))
            .unwrap_or_else(|| panic!("no 'built' line in:\n{text}"))
    };
    let first = build();
    assert!(first.contains("(2 steps run, 0 cached)"), "{first}");

    dir.create("ctx/notes.txt", "draft 2\n");
    let second = build();
    assert!(second.contains("(1 steps run, 1 cached)"), "{second}");
    assert!(second.contains("[stage-1 1] CACHED"), "{second}");
    assert_eq!(image_id(&first), image_id(&second));

    dir.create("ctx/shipped.txt", "v2\n");
    let third = build();
    assert!(third.contains("(2 steps run, 0 cached)"), "{third}");
    assert_ne!(image_id(&first), image_id(&third));
}
