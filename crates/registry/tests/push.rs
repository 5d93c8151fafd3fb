//! Pushing to a real registry, checked with skopeo and with our own pull:
//! a plain image, a two-platform index, a cross-repository mount, chunked
//! uploads, and Basic auth from a docker config / credential helper.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci::{Digest, Platform, Reference};
use registry::{BlobSource, Client, ClientOptions, CredentialStore, RegistriesConf, RegistryError};
use support::Registry;

/// Blobs from OCI layout dirs; optionally claims every blob can be mounted
/// from `mount`.
struct Layouts {
    dirs: Vec<PathBuf>,
    mount: Option<Reference>,
}

impl BlobSource for Layouts {
    fn open_blob(&self, digest: &Digest) -> std::io::Result<Box<dyn Read + Send>> {
        for dir in &self.dirs {
            let path = dir.join("blobs/sha256").join(digest.hex());
            if path.is_file() {
                return Ok(Box::new(std::fs::File::open(path)?));
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            digest.to_string(),
        ))
    }
    fn mount_source(&self, _digest: &Digest) -> Option<Reference> {
        self.mount.clone()
    }
}

fn manifest_of(layout: &Path) -> (oci::Descriptor, Vec<u8>) {
    let index: oci::Index =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let d = index.manifests[0].clone();
    let bytes = std::fs::read(layout.join("blobs/sha256").join(d.digest.hex())).unwrap();
    (d, bytes)
}

fn platform(arch: &str, variant: Option<&str>) -> Platform {
    Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: variant.map(Into::into),
        os_version: None,
    }
}

fn options(chunk_size: u64) -> ClientOptions {
    ClientOptions {
        initial_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(200),
        chunk_size,
        ..ClientOptions::default()
    }
}

fn client(credentials: CredentialStore, chunk_size: u64) -> Client {
    Client::new(RegistriesConf::default(), credentials, options(chunk_size)).unwrap()
}

#[test]
fn push_image_index_mount_and_chunks() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let conformance = support::conformance_dir().join("images");
    let (busybox, base) = (conformance.join("busybox"), conformance.join("base"));
    let source = Layouts {
        dirs: vec![busybox.clone(), base.clone()],
        mount: None,
    };
    let (busybox_desc, busybox_bytes) = manifest_of(&busybox);
    let (base_desc, base_bytes) = manifest_of(&base);
    let addr = &registry.addr;
    let reference = |path: &str| Reference::parse(&format!("{addr}/{path}")).unwrap();

    // 1. A single image, monolithic uploads.
    let plain = client(CredentialStore::anonymous(), 0);
    let report = plain
        .push_image(&reference("decant/busybox:pushed"), &busybox_bytes, &source)
        .unwrap();
    assert_eq!(report.manifest_digest, Some(busybox_desc.digest.clone()));
    let busybox_manifest: oci::Manifest = serde_json::from_slice(&busybox_bytes).unwrap();
    assert_eq!(report.uploaded.len(), 1 + busybox_manifest.layers.len());
    if let Some(raw) = support::skopeo_raw(addr, "decant/busybox:pushed", None) {
        assert_eq!(raw, busybox_bytes, "skopeo sees other manifest bytes");
    }
    // Pushing again finds every blob in place.
    let again = plain
        .push_image(&reference("decant/busybox:pushed"), &busybox_bytes, &source)
        .unwrap();
    assert!(
        again.uploaded.is_empty() && again.existing.len() == report.uploaded.len(),
        "{again:?}"
    );

    // 2. Cross-repository mount from the repository pushed above.
    let mounting = Layouts {
        dirs: source.dirs.clone(),
        mount: Some(reference("decant/busybox")),
    };
    let mounted = plain
        .push_image(&reference("other/copy:1"), &busybox_bytes, &mounting)
        .unwrap();
    assert_eq!(mounted.mounted.len(), report.uploaded.len(), "{mounted:?}");
    assert!(mounted.uploaded.is_empty(), "{mounted:?}");

    // 3. Chunked uploads (PATCH + PUT) of the base image's blobs.
    let chunked = client(CredentialStore::anonymous(), 1000);
    let pushed = chunked
        .push_image(&reference("decant/base:chunked"), &base_bytes, &source)
        .unwrap();
    assert!(!pushed.uploaded.is_empty());
    if let Some(raw) = support::skopeo_raw(addr, "decant/base:chunked", None) {
        assert_eq!(raw, base_bytes);
    }

    // 4. A two-platform index; resolve picks per platform.
    let mut amd = busybox_desc.clone();
    amd.platform = Some(platform("amd64", None));
    amd.annotations = None;
    let mut arm = base_desc.clone();
    arm.platform = Some(platform("arm64", Some("v8")));
    arm.annotations = None;
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MediaType::OCI_INDEX,
        "manifests": [amd, arm],
    }))
    .unwrap();
    let index_digest = Digest::of(&index);
    let mut with_children = Layouts {
        dirs: source.dirs.clone(),
        mount: None,
    };
    let index_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(index_dir.path().join("blobs/sha256")).unwrap();
    with_children.dirs.push(index_dir.path().to_path_buf());
    let pushed = plain
        .push_image(&reference("decant/multi:1"), &index, &with_children)
        .unwrap();
    assert_eq!(pushed.manifest_digest, Some(index_digest.clone()));
    // (platform asked for, manifest expected)
    let cases = [
        (platform("amd64", None), &busybox_desc.digest),
        (platform("arm64", None), &base_desc.digest),
        (platform("arm64", Some("v8")), &base_desc.digest),
    ];
    for (wanted, expected) in cases {
        let image = plain
            .resolve(&reference("decant/multi:1"), &wanted)
            .unwrap();
        assert_eq!(&image.manifest_digest, expected, "{}", wanted.to_spec());
        assert_eq!(image.index_digest.as_ref(), Some(&index_digest));
        let layer = &image.manifest.layers[0];
        let mut bytes = Vec::new();
        plain.fetch_blob(&image, layer, &mut bytes).unwrap();
        assert_eq!(Digest::of(&bytes), layer.digest);
    }
    let err = plain
        .resolve(&reference("decant/multi:1"), &platform("s390x", None))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::NoMatchingPlatform { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("linux/amd64, linux/arm64/v8"),
        "{err}"
    );
}

fn write_docker_config(dir: &Path, body: serde_json::Value) -> CredentialStore {
    std::fs::write(dir.join("config.json"), body.to_string()).unwrap();
    CredentialStore::with_files(
        vec![dir.join("config.json")],
        Some(dir.display().to_string()),
    )
}

#[test]
fn basic_auth_from_docker_config_and_helpers() {
    let Some(registry) = Registry::start(true) else {
        return;
    };
    let addr = registry.addr.clone();
    let busybox = support::busybox_layout();
    let source = Layouts {
        dirs: vec![busybox.clone()],
        mount: None,
    };
    let (desc, bytes) = manifest_of(&busybox);
    let reference = Reference::parse(&format!("{addr}/auth/busybox:1")).unwrap();
    let auth = |user: &str, pass: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    };

    let dir = tempfile::tempdir().unwrap();
    // A credential helper speaking the docker-credential-helpers protocol.
    let helper = dir.path().join("docker-credential-fake");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = \"{addr}\" ] || exit 1\n\
             echo '{{\"ServerURL\":\"{addr}\",\"Username\":\"{}\",\"Secret\":\"{}\"}}'\n",
            support::USER,
            support::PASSWORD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    // (case, config.json, expect success)
    let cases = [
        (
            "auths",
            serde_json::json!({"auths": {addr.clone(): {"auth": auth(support::USER, support::PASSWORD)}}}),
            true,
        ),
        (
            "legacy url key",
            serde_json::json!({"auths": {format!("http://{addr}/v1/"): {"auth": auth(support::USER, support::PASSWORD)}}}),
            true,
        ),
        (
            "credHelpers",
            serde_json::json!({"credHelpers": {addr.clone(): "fake"}}),
            true,
        ),
        (
            "credsStore",
            serde_json::json!({"auths": {addr.clone(): {}}, "credsStore": "fake"}),
            true,
        ),
        (
            "wrong password",
            serde_json::json!({"auths": {addr.clone(): {"auth": auth(support::USER, "WRONG-pw-123")}}}),
            false,
        ),
        ("no credentials", serde_json::json!({}), false),
    ];
    for (name, config, ok) in cases {
        let credentials = write_docker_config(dir.path(), config);
        let client = client(credentials, 0);
        let result = client.push_image(&reference, &bytes, &source);
        match (ok, result) {
            (true, Ok(report)) => {
                assert_eq!(
                    report.manifest_digest.as_ref(),
                    Some(&desc.digest),
                    "{name}"
                );
                let image = client
                    .resolve(&reference, &platform("amd64", None))
                    .unwrap();
                assert_eq!(image.manifest_digest, desc.digest, "{name}");
            }
            (false, Err(e)) => {
                let text = format!("{e} {e:?}");
                assert!(
                    matches!(e, RegistryError::Unauthorized { .. }),
                    "{name}: {e:?}"
                );
                for secret in [
                    support::PASSWORD,
                    "WRONG-pw-123",
                    &auth(support::USER, "WRONG-pw-123"),
                ] {
                    assert!(!text.contains(secret), "{name}: secret in error: {text}");
                }
            }
            (ok, other) => panic!("{name}: expected success={ok}, got {other:?}"),
        }
    }
    if let Some(raw) = support::skopeo_raw(
        &addr,
        "auth/busybox:1",
        Some((support::USER, support::PASSWORD)),
    ) {
        assert_eq!(raw, bytes);
    }
}
