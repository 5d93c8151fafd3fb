//! End-to-end tests of the image writers and the reader: an image of real
//! gzip layers is written in each format, read back, and (where the tools
//! are installed) checked by skopeo, umoci and the conformance suite's
//! image reader.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::Command;

use export::{
    ArchiveFormat, BlobSource, ExportError, ImageToExport, read_archive, write_docker_archive,
    write_oci_archive, write_oci_dir,
};
use oci::{Descriptor, DiffId, Digest, ImageConfig, Manifest, MediaType, Platform, RootFs};

/// Blobs held in memory, standing in for the store.
#[derive(Default)]
struct MemBlobs(HashMap<Digest, Vec<u8>>);

impl BlobSource for MemBlobs {
    fn open_blob(&self, digest: &Digest) -> io::Result<Box<dyn Read + '_>> {
        match self.0.get(digest) {
            Some(bytes) => Ok(Box::new(bytes.as_slice())),
            None => Err(io::Error::new(io::ErrorKind::NotFound, digest.to_string())),
        }
    }
}

/// One file of a test layer: path, mode, content.
type LayerFile<'a> = (&'a str, u32, &'a [u8]);

/// A gzip layer with `files` (parent dirs implied), deterministic bytes.
fn gzip_layer(files: &[LayerFile]) -> (Vec<u8>, DiffId) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, content) in files {
        let mut header = tar::Header::new_ustar();
        header.set_mode(*mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(content.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *content).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let diff_id = DiffId(Digest::of(&tar));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    (gz.finish().unwrap(), diff_id)
}

/// A two-layer linux/amd64 image: the second layer overwrites a file of the
/// first, so flattening order matters.
fn sample_image(tags: &[&str]) -> (ImageToExport, MemBlobs) {
    let layers = [
        gzip_layer(&[
            ("etc/greeting", 0o644, b"hello\n"),
            ("bin/tool", 0o755, b"#!/bin/sh\necho tool\n"),
        ]),
        gzip_layer(&[("etc/greeting", 0o600, b"bye\n")]),
    ];
    let mut blobs = MemBlobs::default();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for (bytes, diff_id) in layers {
        let digest = Digest::of(&bytes);
        descriptors.push(Descriptor::new(
            MediaType::OCI_LAYER_GZIP,
            digest.clone(),
            bytes.len() as u64,
        ));
        diff_ids.push(diff_id);
        blobs.0.insert(digest, bytes);
    }
    let mut config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids,
        },
        ..Default::default()
    };
    config.config.set_env("PATH", "/bin");
    config.config.cmd = Some(vec!["/bin/tool".into()]);
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.into()),
        config: Descriptor::new(
            MediaType::OCI_CONFIG,
            Digest::of(&config_bytes),
            config_bytes.len() as u64,
        ),
        layers: descriptors,
        annotations: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let image = ImageToExport {
        manifest_bytes,
        manifest,
        config_bytes,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    (image, blobs)
}

fn amd64() -> Platform {
    Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    }
}

/// Reads every layer blob of `loaded` and compares it with `blobs`.
fn assert_same_layers(loaded: &export::LoadedImage, blobs: &MemBlobs) {
    for layer in &loaded.manifest.layers {
        let mut got = Vec::new();
        loaded
            .open_blob(&layer.digest)
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(Digest::of(&got), layer.digest);
        assert_eq!(blobs.0.get(&layer.digest), Some(&got));
    }
}

#[test]
fn oci_archive_round_trips_through_read_archive() {
    let (image, blobs) = sample_image(&["decant-test:1", "registry.local:5000/a/b:two"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("image.tar");
    write_oci_archive(&image, &blobs, &out).unwrap();

    let loaded = read_archive(&out, &amd64()).unwrap();
    assert_eq!(loaded.format, ArchiveFormat::OciLayout);
    assert_eq!(loaded.manifest_bytes, image.manifest_bytes);
    assert_eq!(loaded.manifest_digest, Digest::of(&image.manifest_bytes));
    assert_eq!(loaded.config_bytes, image.config_bytes);
    assert_eq!(
        loaded.names,
        [
            "docker.io/library/decant-test:1",
            "registry.local:5000/a/b:two"
        ]
    );
    assert_same_layers(&loaded, &blobs);
}

#[test]
fn oci_archive_bytes_are_deterministic() {
    let (image, blobs) = sample_image(&["x:1"]);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.tar"), dir.path().join("b.tar"));
    write_oci_archive(&image, &blobs, &a).unwrap();
    write_oci_archive(&image, &blobs, &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let mut streamed = Vec::new();
    export::write_oci_archive_to(&image, &blobs, &mut streamed).unwrap();
    assert_eq!(streamed, std::fs::read(&a).unwrap());

    // Entries are sorted, owned by 0:0 with mtime 0.
    let mut archive = tar::Archive::new(streamed.as_slice());
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!(
            (h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()),
            (0, 0, 0)
        );
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.last().map(String::as_str), Some("oci-layout"));
}

#[test]
fn docker_archive_round_trips_with_layers_kept_compressed() {
    let (image, blobs) = sample_image(&["decant-test:1", "user/repo"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("docker.tar");
    write_docker_archive(&image, &blobs, &out).unwrap();

    let loaded = read_archive(&out, &amd64()).unwrap();
    assert_eq!(loaded.format, ArchiveFormat::DockerArchive);
    assert_eq!(loaded.names, ["decant-test:1", "user/repo:latest"]);
    assert_eq!(loaded.config_bytes, image.config_bytes);
    let got: Vec<_> = loaded.manifest.layers.iter().map(|l| &l.digest).collect();
    let want: Vec<_> = image.manifest.layers.iter().map(|l| &l.digest).collect();
    assert_eq!(got, want);
    assert!(
        loaded
            .manifest
            .layers
            .iter()
            .all(|l| l.media_type == MediaType::OCI_LAYER_GZIP)
    );
    assert_same_layers(&loaded, &blobs);
}

/// Each way a blob can be wrong, and the error it must give.
#[test]
fn corrupt_blobs_fail_without_leaving_a_file() {
    type Corrupt = fn(&mut Vec<u8>);
    let cases: [(&str, Corrupt); 3] = [
        ("flipped byte", |b| b[10] ^= 0xff),
        ("truncated", |b| b.truncate(b.len() - 1)),
        ("extended", |b| b.push(0)),
    ];
    for (what, corrupt) in cases {
        let (image, mut blobs) = sample_image(&["x:1"]);
        let digest = image.manifest.layers[0].digest.clone();
        corrupt(blobs.0.get_mut(&digest).unwrap());
        let dir = tempfile::tempdir().unwrap();
        for (format, file) in [("oci", "o.tar"), ("docker", "d.tar")] {
            let out = dir.path().join(file);
            std::fs::write(&out, b"previous").unwrap();
            let result = match format {
                "oci" => write_oci_archive(&image, &blobs, &out),
                _ => write_docker_archive(&image, &blobs, &out),
            };
            match result {
                Err(ExportError::BlobDigestMismatch { expected, .. }) => {
                    assert_eq!(expected, digest, "{what} {format}")
                }
                Err(ExportError::BlobSizeMismatch { digest: d, .. }) => {
                    assert_eq!(d, digest, "{what} {format}")
                }
                other => panic!("{what} {format}: {other:?}"),
            }
            assert_eq!(std::fs::read(&out).unwrap(), b"previous", "{what} {format}");
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().starts_with(".decant-export-"))
                .collect();
            assert!(
                left.is_empty(),
                "{what} {format}: temp files left: {left:?}"
            );
        }
    }
}

#[test]
fn mismatched_image_parts_are_refused() {
    let (mut image, blobs) = sample_image(&[]);
    image.config_bytes.push(b' ');
    let dir = tempfile::tempdir().unwrap();
    let err = write_oci_archive(&image, &blobs, &dir.path().join("x.tar")).unwrap_err();
    assert!(
        matches!(err, ExportError::BlobDigestMismatch { .. }),
        "{err:?}"
    );

    let (mut image, blobs) = sample_image(&["Bad:Name"]);
    image.tags = vec!["UPPER".into()];
    let err = write_oci_archive(&image, &blobs, &dir.path().join("x.tar")).unwrap_err();
    assert!(matches!(err, ExportError::InvalidName { .. }), "{err:?}");
}

#[test]
fn oci_dir_updates_an_existing_layout_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let (one, blobs_one) = sample_image(&["app:1"]);
    write_oci_dir(&one, &blobs_one, &layout).unwrap();
    // A different image (other config) under two names, one of them taken.
    let (mut two, blobs_two) = sample_image(&["app:1", "app:2"]);
    let mut config: ImageConfig = serde_json::from_slice(&two.config_bytes).unwrap();
    config.config.cmd = Some(vec!["other".into()]);
    two.config_bytes = serde_json::to_vec(&config).unwrap();
    two.manifest.config.digest = Digest::of(&two.config_bytes);
    two.manifest.config.size = two.config_bytes.len() as u64;
    two.manifest_bytes = serde_json::to_vec(&two.manifest).unwrap();
    write_oci_dir(&two, &blobs_two, &layout).unwrap();

    let index: oci::Index =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entries: Vec<(String, Digest)> = index
        .manifests
        .iter()
        .map(|d| {
            let name = d.annotations.as_ref().unwrap()[export::ANNOTATION_REF_NAME].clone();
            (name, d.digest.clone())
        })
        .collect();
    let two_digest = Digest::of(&two.manifest_bytes);
    assert_eq!(
        entries,
        [
            ("1".to_string(), two_digest.clone()),
            ("2".to_string(), two_digest)
        ]
    );
    // The first image's manifest blob stays: layouts are append-only stores.
    let one_digest = Digest::of(&one.manifest_bytes);
    assert!(layout.join("blobs/sha256").join(one_digest.hex()).is_file());

    let loaded = read_archive(&layout, &amd64()).unwrap();
    assert_eq!(loaded.config_bytes, two.config_bytes);

    // A directory that is not a layout is never written into.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep"), b"x").unwrap();
    let err = write_oci_dir(&one, &blobs_one, &other).unwrap_err();
    assert!(matches!(err, ExportError::NotALayout { .. }), "{err:?}");
}

/// Hostile docker-archives: names that climb out, links that leave.
#[test]
fn read_archive_refuses_entries_outside_the_archive() {
    fn archive_with(manifest: &str, extra: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_size(manifest.len() as u64);
        builder
            .append_data(&mut header, "manifest.json", manifest.as_bytes())
            .unwrap();
        for (name, kind, target) in extra {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Regular {
                header.set_size(target.len() as u64);
                builder
                    .append_data(&mut header, name, target.as_bytes())
                    .unwrap();
            } else {
                header.set_size(0);
                builder.append_link(&mut header, name, target).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "config path climbs out",
            archive_with(r#"[{"Config":"../../etc/passwd","Layers":[]}]"#, &[]),
        ),
        (
            "symlinked config leaves the archive",
            archive_with(
                r#"[{"Config":"c.json","Layers":[]}]"#,
                &[("c.json", tar::EntryType::Symlink, "../../../etc/passwd")],
            ),
        ),
        (
            "two images",
            archive_with(
                r#"[{"Config":"c","Layers":[]},{"Config":"c","Layers":[]}]"#,
                &[],
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes) in cases {
        let path = dir.path().join("hostile.tar");
        std::fs::write(&path, bytes).unwrap();
        let err = read_archive(&path, &amd64()).unwrap_err();
        assert!(
            matches!(
                err,
                ExportError::UnsafeEntryName { .. }
                    | ExportError::MissingEntry { .. }
                    | ExportError::DockerArchiveImages { count: 2, .. }
            ),
            "{what}: {err:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Ecosystem checks: the archives must satisfy the tools people use on them.
// ---------------------------------------------------------------------------

/// Runs `program args`, panicking with its output when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn conformance_check_py() -> Option<PathBuf> {
    testkit::shared_dir(env!("CARGO_MANIFEST_DIR")).map(|d| d.join("conformance/check.py"))
}

#[test]
fn skopeo_accepts_oci_and_docker_archives() {
    testkit::require!(command "skopeo");
    let (image, blobs) = sample_image(&["decant-test:1"]);
    let dir = tempfile::tempdir().unwrap();
    let oci_tar = dir.path().join("oci.tar");
    let docker_tar = dir.path().join("docker.tar");
    write_oci_archive(&image, &blobs, &oci_tar).unwrap();
    write_docker_archive(&image, &blobs, &docker_tar).unwrap();

    let layer_digests: Vec<String> = image
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect();
    // containers/image names docker-archive layers by diff ID: it
    // decompresses them on read, as docker load does.
    let config: ImageConfig = serde_json::from_slice(&image.config_bytes).unwrap();
    let diff_ids: Vec<String> = config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| d.to_string())
        .collect();
    for (source, want_layers) in [
        (format!("oci-archive:{}", oci_tar.display()), &layer_digests),
        (
            format!("oci-archive:{}:1", oci_tar.display()),
            &layer_digests,
        ),
        (
            format!("docker-archive:{}", docker_tar.display()),
            &diff_ids,
        ),
    ] {
        let json: serde_json::Value =
            serde_json::from_str(&run("skopeo", &["inspect", &source])).unwrap();
        assert_eq!(json["Architecture"], "amd64", "{source}");
        assert_eq!(json["Env"], serde_json::json!(["PATH=/bin"]), "{source}");
        let layers: Vec<String> = serde_json::from_value(json["Layers"].clone()).unwrap();
        assert_eq!(&layers, want_layers, "{source}");
    }
    // A full copy verifies every blob's digest on the way.
    let copied = dir.path().join("copied");
    run(
        "skopeo",
        &[
            "copy",
            &format!("oci-archive:{}", oci_tar.display()),
            &format!("dir:{}", copied.display()),
        ],
    );
    assert!(copied.join("manifest.json").is_file());
}

#[test]
fn umoci_unpacks_the_oci_dir() {
    testkit::require!(command "umoci");
    testkit::require!(root);
    let (image, blobs) = sample_image(&["decant-test:1"]);
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    write_oci_dir(&image, &blobs, &layout).unwrap();
    let bundle = dir.path().join("bundle");
    run(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:1", layout.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read(rootfs.join("etc/greeting")).unwrap(),
        b"bye\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(rootfs.join("bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
}

#[test]
fn conformance_reader_flattens_both_formats() {
    testkit::require!(command "python3");
    let Some(check_py) = conformance_check_py() else {
        testkit::require!(path "../shared/conformance/check.py");
        unreachable!("require! returns or panics when the path is missing");
    };
    let (image, blobs) = sample_image(&["decant-test:1"]);
    let dir = tempfile::tempdir().unwrap();
    for (format, file) in [("oci", "oci.tar"), ("docker-archive", "docker.tar")] {
        let out = dir.path().join(file);
        if format == "oci" {
            write_oci_archive(&image, &blobs, &out).unwrap();
        } else {
            write_docker_archive(&image, &blobs, &out).unwrap();
        }
        let dump: serde_json::Value = serde_json::from_str(&run(
            "python3",
            &[check_py.to_str().unwrap(), "--dump", out.to_str().unwrap()],
        ))
        .unwrap();
        assert_eq!(dump["format"], format);
        assert_eq!(dump["problems"], serde_json::json!([]), "{format}");
        let greeting = &dump["tree"]["/etc/greeting"];
        assert_eq!(greeting["mode"], "0600", "{format}");
        assert_eq!(greeting["size"], 4, "{format}");
        assert_eq!(dump["tree"]["/bin/tool"]["mode"], "0755", "{format}");
        assert_eq!(
            dump["config"]["config"]["Cmd"],
            serde_json::json!(["/bin/tool"])
        );
    }
}

/// `decant load` of a multi-platform layout (what `buildx --platform a,b`
/// writes): the top index points at a nested index, which lists one manifest
/// per platform plus an attestation manifest.
#[test]
fn read_archive_picks_the_platform_from_a_nested_index() {
    let (image, blobs) = sample_image(&["multi:1"]);
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    write_oci_dir(&image, &blobs, &layout).unwrap();
    let blob_dir = layout.join("blobs/sha256");
    let put = |bytes: &[u8]| {
        let digest = Digest::of(bytes);
        std::fs::write(blob_dir.join(digest.hex()), bytes).unwrap();
        digest
    };
    // An arm64 twin: same layers and config, a manifest annotation makes it
    // a different blob.
    let mut arm = image.manifest.clone();
    arm.annotations = Some([("twin".to_string(), "arm64".to_string())].into());
    let arm_bytes = serde_json::to_vec(&arm).unwrap();
    let arm_digest = put(&arm_bytes);
    let amd_digest = Digest::of(&image.manifest_bytes);
    let platform = |arch: &str| Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    };
    let entry = |digest: &Digest, size: usize, p: Platform| {
        let mut d = Descriptor::new(MediaType::OCI_MANIFEST, digest.clone(), size as u64);
        d.platform = Some(p);
        d
    };
    let mut attestation = entry(&arm_digest, arm_bytes.len(), platform("unknown"));
    attestation.platform.as_mut().unwrap().os = "unknown".into();
    attestation.annotations = Some(
        [(
            "vnd.docker.reference.type".to_string(),
            "attestation-manifest".to_string(),
        )]
        .into(),
    );
    let nested = oci::Index {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.into()),
        manifests: vec![
            entry(&amd_digest, image.manifest_bytes.len(), platform("amd64")),
            entry(&arm_digest, arm_bytes.len(), platform("arm64")),
            attestation,
        ],
        annotations: None,
    };
    let nested_bytes = serde_json::to_vec(&nested).unwrap();
    let nested_digest = put(&nested_bytes);
    let mut top = Descriptor::new(
        MediaType::OCI_INDEX,
        nested_digest,
        nested_bytes.len() as u64,
    );
    top.annotations = Some(
        [(
            export::ANNOTATION_CONTAINERD_NAME.to_string(),
            "docker.io/library/multi:1".to_string(),
        )]
        .into(),
    );
    let index = oci::Index {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.into()),
        manifests: vec![top],
        annotations: None,
    };
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();

    for (arch, want) in [
        ("amd64", Some(&amd_digest)),
        ("arm64", Some(&arm_digest)),
        ("s390x", None),
    ] {
        match read_archive(&layout, &platform(arch)) {
            Ok(loaded) => {
                assert_eq!(Some(&loaded.manifest_digest), want, "{arch}");
                assert_eq!(loaded.names, ["docker.io/library/multi:1"], "{arch}");
            }
            Err(ExportError::AmbiguousImage { count: 2, .. }) => assert_eq!(want, None, "{arch}"),
            Err(e) => panic!("{arch}: {e:?}"),
        }
    }
}

/// Legacy `docker save` archives keep layers in `<id>/layer.tar` and share
/// a repeated layer through a relative symlink.
#[test]
fn read_archive_follows_docker_save_layer_symlinks() {
    let (image, blobs) = sample_image(&[]);
    let layer = &blobs.0[&image.manifest.layers[0].digest];
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        match link {
            Some(target) => builder.append_link(&mut h, name, target).unwrap(),
            None => builder.append_data(&mut h, name, data).unwrap(),
        }
    };
    let manifest = r#"[{"Config":"cfg.json","RepoTags":["old:1"],"Layers":["aaa/layer.tar","./bbb/layer.tar"]}]"#;
    add(
        "manifest.json",
        tar::EntryType::Regular,
        manifest.as_bytes(),
        None,
    );
    add(
        "cfg.json",
        tar::EntryType::Regular,
        &image.config_bytes,
        None,
    );
    add("aaa/", tar::EntryType::Directory, b"", None);
    add("aaa/layer.tar", tar::EntryType::Regular, layer, None);
    add("bbb/", tar::EntryType::Directory, b"", None);
    add(
        "bbb/layer.tar",
        tar::EntryType::Symlink,
        b"",
        Some("../aaa/layer.tar"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    std::fs::write(&path, builder.into_inner().unwrap()).unwrap();

    let loaded = read_archive(&path, &amd64()).unwrap();
    assert_eq!(loaded.names, ["old:1"]);
    let digests: Vec<_> = loaded.manifest.layers.iter().map(|l| &l.digest).collect();
    let first = &image.manifest.layers[0].digest;
    assert_eq!(digests, [first, first]);
    let mut got = Vec::new();
    loaded
        .open_blob(first)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(&got, layer);
    assert_eq!(
        loaded.config.rootfs.diff_ids.len(),
        2,
        "the sample config lists two diff ids"
    );
}
