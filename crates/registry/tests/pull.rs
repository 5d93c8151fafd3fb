//! Pulling from a real registry (docker-registry on 127.0.0.1) configured
//! the way the conformance harness configures decant: docker.io mirrored to
//! the local registry over plain HTTP.

mod support;

use std::path::Path;

use oci::{Digest, Platform, Reference};
use registry::{Client, ClientOptions, CredentialStore, RegistryError};
use support::Registry;

fn layout_manifest_digest(layout: &Path) -> Digest {
    let index: oci::Index =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index.manifests[0].digest.clone()
}

fn layout_blob(layout: &Path, digest: &Digest) -> Vec<u8> {
    std::fs::read(layout.join("blobs/sha256").join(digest.hex())).unwrap()
}

fn amd64() -> Platform {
    Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    }
}

fn quick_options() -> ClientOptions {
    ClientOptions {
        initial_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(200),
        ..ClientOptions::default()
    }
}

#[test]
fn pull_busybox_through_the_conformance_mirror_config() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    let layout = support::busybox_layout();
    registry.push_layouts(std::slice::from_ref(&layout));
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = registry.mirror_conf(conf_dir.path());
    let client =
        Client::with_conf_file(&conf, CredentialStore::anonymous(), quick_options()).unwrap();
    let expected = layout_manifest_digest(&layout);

    // (reference text, served by a mirror?)
    let cases = [
        ("busybox".to_string(), true),
        ("docker.io/library/busybox:latest".to_string(), true),
        (format!("busybox@{expected}"), true),
        (format!("{}/library/busybox:latest", registry.addr), false),
    ];
    for (text, via_mirror) in cases {
        let reference = Reference::parse(&text).unwrap();
        let image = client
            .resolve(&reference, &amd64())
            .unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(image.manifest_digest, expected, "{text}");
        assert_eq!(Digest::of(&image.manifest_bytes), expected, "{text}");
        assert_eq!(image.source.host, registry.addr, "{text}");
        assert_eq!(image.source.mirror, via_mirror, "{text}");
        assert_eq!(image.index_digest, None);
        assert_eq!(image.config.os, "linux");
        assert_eq!(
            Digest::of(&image.config_bytes),
            image.manifest.config.digest
        );
        for layer in &image.manifest.layers {
            let mut bytes = Vec::new();
            client.fetch_blob(&image, layer, &mut bytes).unwrap();
            assert_eq!(
                bytes,
                layout_blob(&layout, &layer.digest),
                "{text} {}",
                layer.digest
            );
        }
    }
}

#[test]
fn pull_errors_name_what_failed() {
    let Some(registry) = Registry::start(false) else {
        return;
    };
    registry.push_layouts(&[support::busybox_layout()]);
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = registry.mirror_conf(conf_dir.path());
    let client =
        Client::with_conf_file(&conf, CredentialStore::anonymous(), quick_options()).unwrap();
    let wrong = Digest::of(b"not a manifest");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{}/library/nothing:latest", registry.addr),
            "not found",
        ),
        (
            format!("{}/library/busybox:nope", registry.addr),
            "not found",
        ),
        (
            format!("{}/library/busybox@{wrong}", registry.addr),
            "not found",
        ),
        (
            format!("{}/library/busybox:latest", registry.addr),
            "no image for platform linux/s390x",
        ),
    ];
    for (text, needle) in cases {
        let platform = if needle.contains("s390x") {
            Platform {
                architecture: "s390x".into(),
                ..amd64()
            }
        } else {
            amd64()
        };
        let result = client.resolve(&Reference::parse(&text).unwrap(), &platform);
        match (needle.contains("s390x"), result) {
            // A single manifest (no index) is accepted whatever its platform,
            // as docker does; only an index can say "no such platform".
            (true, Ok(_)) => {}
            (_, Err(e)) => assert!(e.to_string().contains(needle), "{text}: {e}"),
            (_, Ok(_)) => panic!("{text}: resolved"),
        }
    }
    let blocked = tempfile::tempdir().unwrap();
    let path = blocked.path().join("registries.conf");
    std::fs::write(
        &path,
        "[[registry]]\nlocation = \"quay.io\"\nblocked = true\n",
    )
    .unwrap();
    let client =
        Client::with_conf_file(&path, CredentialStore::anonymous(), quick_options()).unwrap();
    let err = client
        .resolve(&Reference::parse("quay.io/x/y").unwrap(), &amd64())
        .unwrap_err();
    assert!(matches!(err, RegistryError::Blocked { .. }), "{err:?}");
}
