//! `decant pull` under stress, against a real registry:
//!
//! * a pull of a ~200 MB multi-layer image killed with SIGKILL at several
//!   points: after each kill `decant fsck` finds the store consistent (every
//!   blob matches its digest, no tag names an incomplete image), and the next
//!   pull completes;
//! * four concurrent pulls of images sharing layers into one store all
//!   succeed and leave it consistent.
//!
//! The images are generated here from seeded pseudo-random bytes (so they do
//! not compress, and every run is the same) as uncompressed OCI layers.
//! Needs root, Debian's docker-registry and skopeo.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci::{Descriptor, DiffId, Digest, ImageConfig, Index, Manifest, MediaType, Platform, RootFs};
use testkit::{Dir, Registry, push_layout, require};

const BIN: &str = env!("CARGO_BIN_EXE_decant");
const MB: usize = 1 << 20;

/// xorshift64*: fast, seeded, incompressible enough for a registry test.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// An uncompressed layer holding one file of `size` random bytes.
fn layer(seed: u64, size: usize) -> Vec<u8> {
    let data = random_bytes(seed, size);
    let mut builder = tar::Builder::new(Vec::with_capacity(size + 4096));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_size(size as u64);
    builder
        .append_data(
            &mut header,
            format!("data/layer-{seed}.bin"),
            data.as_slice(),
        )
        .expect("tar into memory");
    builder.into_inner().expect("tar into memory")
}

/// Writes an OCI layout at `dir` with one image of the given layers
/// (`(seed, size)`, bottom first); returns its manifest digest.
fn random_layout(dir: &Path, layers: &[(u64, usize)]) -> Digest {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for &(seed, size) in layers {
        let bytes = layer(seed, size);
        let digest = Digest::of(&bytes);
        std::fs::write(blobs.join(digest.hex()), &bytes).unwrap();
        descriptors.push(Descriptor::new(
            MediaType::OCI_LAYER_TAR,
            digest.clone(),
            bytes.len() as u64,
        ));
        diff_ids.push(DiffId(digest));
    }
    let host = Platform::host();
    let config = ImageConfig {
        architecture: host.architecture,
        os: host.os,
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids,
        },
        ..Default::default()
    };
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = Digest::of(&config_bytes);
    std::fs::write(blobs.join(config_digest.hex()), &config_bytes).unwrap();
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_string()),
        config: Descriptor::new(
            MediaType::OCI_CONFIG,
            config_digest,
            config_bytes.len() as u64,
        ),
        layers: descriptors,
        annotations: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = Digest::of(&manifest_bytes);
    std::fs::write(blobs.join(manifest_digest.hex()), &manifest_bytes).unwrap();
    let mut entry = Descriptor::new(
        MediaType::OCI_MANIFEST,
        manifest_digest.clone(),
        manifest_bytes.len() as u64,
    );
    entry.annotations = Some(BTreeMap::from([(
        "org.opencontainers.image.ref.name".to_string(),
        "latest".to_string(),
    )]));
    let index = Index {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.to_string()),
        manifests: vec![entry],
        annotations: None,
    };
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    manifest_digest
}

/// Bytes of every file under `root` (what a pull has written so far,
/// finished blobs and partial scratch files alike).
fn tree_bytes(root: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += tree_bytes(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

fn decant(dir: &Dir, conf: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .arg("--root")
        .arg(dir.store_root())
        .env("CONTAINERS_REGISTRIES_CONF", conf)
        .stdin(Stdio::null());
    command
}

fn assert_fsck_clean(dir: &Dir, conf: &Path, when: &str) {
    let output = decant(dir, conf).arg("fsck").output().unwrap();
    assert!(
        output.status.success(),
        "fsck {when}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn setup(name: &str) -> (Dir, Registry, PathBuf) {
    let dir = Dir::new(BIN, name);
    let registry = Registry::start();
    let conf = dir.outside().join("registries.conf");
    registry.write_registries_conf(&conf);
    (dir, registry, conf)
}

#[test]
fn pull_killed_at_several_points_recovers_and_the_store_checks_clean() {
    require!(root);
    require!(command "docker-registry");
    require!(command "skopeo");
    let (dir, registry, conf) = setup("pull-crash");
    // Eight 25 MB layers: ~200 MB, several in flight at once.
    let layers: Vec<(u64, usize)> = (1..=8).map(|seed| (seed, 25 * MB)).collect();
    let layout = dir.outside().join("big-layout");
    let expected = random_layout(&layout, &layers);
    push_layout(&layout, &registry, "library/big:latest");
    std::fs::remove_dir_all(&layout).unwrap();
    let total = (8 * 25 * MB) as u64;

    // Kill points: right away, then after a share of the bytes arrived.
    let mut killed_mid_pull = 0;
    for share in [0.0, 0.05, 0.3, 0.6, 0.9] {
        let threshold = (total as f64 * share) as u64;
        let base = tree_bytes(dir.store_root());
        let mut child = decant(&dir, &conf)
            .args(["pull", "-q", "big"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut exited = false;
        while tree_bytes(dir.store_root()).saturating_sub(base) < threshold {
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            assert!(Instant::now() < deadline, "pull stalled at share {share}");
            std::thread::sleep(Duration::from_millis(5));
        }
        if !exited {
            // Child::kill is SIGKILL on Unix: no destructor, no cleanup runs.
            child.kill().unwrap();
            killed_mid_pull += 1;
        }
        child.wait().unwrap();
        assert_fsck_clean(&dir, &conf, &format!("after the kill at {share}"));
        let images = decant(&dir, &conf).args(["images", "-q"]).output().unwrap();
        let listed = String::from_utf8_lossy(&images.stdout).into_owned();
        assert!(
            exited || listed.trim().is_empty(),
            "a killed pull left a tag: {listed}"
        );
    }
    assert!(
        killed_mid_pull >= 3,
        "only {killed_mid_pull} kills landed mid-pull"
    );

    let output = decant(&dir, &conf)
        .args(["pull", "-q", "big"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        expected.to_string()
    );
    assert_fsck_clean(&dir, &conf, "after the final pull");
    // Nothing the killed pulls left behind survives a prune, and the image does.
    let prune = decant(&dir, &conf).arg("prune").output().unwrap();
    assert!(
        prune.status.success(),
        "{}",
        String::from_utf8_lossy(&prune.stderr)
    );
    let inspect = decant(&dir, &conf)
        .args(["inspect", "-f", ".Digest", "big"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        expected.to_string()
    );
    assert_fsck_clean(&dir, &conf, "after prune");
}

#[test]
fn four_concurrent_pulls_of_overlapping_images_share_one_store() {
    require!(root);
    require!(command "docker-registry");
    require!(command "skopeo");
    let (dir, registry, conf) = setup("pull-concurrent");
    let l = |seed: u64| (seed, 4 * MB);
    let images: [(&str, Vec<(u64, usize)>); 4] = [
        ("alpha", vec![l(1), l(2)]),
        ("beta", vec![l(2), l(3)]),
        ("gamma", vec![l(3), l(4), l(1)]),
        ("delta", vec![l(4), l(1), l(2), l(3)]),
    ];
    let mut expected = BTreeMap::new();
    for (name, layers) in &images {
        let layout = dir.outside().join(format!("{name}-layout"));
        let digest = random_layout(&layout, layers);
        push_layout(&layout, &registry, &format!("library/{name}:latest"));
        expected.insert(format!("docker.io/library/{name}:latest"), digest);
    }
    let children: Vec<_> = images
        .iter()
        .map(|(name, _)| {
            decant(&dir, &conf)
                .args(["pull", "-q", name])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for ((name, _), child) in images.iter().zip(children) {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "pull {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            expected[&format!("docker.io/library/{name}:latest")].to_string()
        );
    }
    assert_fsck_clean(&dir, &conf, "after four concurrent pulls");
    let listed = decant(&dir, &conf)
        .args(["images", "--format", "json"])
        .output()
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let got: BTreeMap<String, String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["Name"].as_str().unwrap().to_string(),
                i["Digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = expected
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(got, want);
    // Four distinct layers, stored once each, plus a config and manifest per image.
    let du = decant(&dir, &conf)
        .args(["du", "--format", "json"])
        .output()
        .unwrap();
    let du: serde_json::Value = serde_json::from_slice(&du.stdout).unwrap();
    assert_eq!(du["blobs"]["count"], 4 + 2 * 4, "{du}");
}
