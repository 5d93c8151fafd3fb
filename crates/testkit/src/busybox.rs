//! A small, deterministic busybox image as an OCI image layout directory,
//! built from Debian's busybox-static: the same shape as the conformance
//! suite's `images/busybox` (busybox and its applet links in /bin, users
//! root, nobody 65534 and app 1000, /tmp 1777, /root, /home, empty config).
//!
//! Every byte is a function of the busybox binary alone: entries sorted,
//! owned by 0:0, mtime 0, gzip with no timestamp. So two calls give the same
//! digests, and tests may pin them relative to each other.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci::{Descriptor, DiffId, Digest, ImageConfig, Index, Manifest, MediaType, Platform, RootFs};

use crate::requirement::find_command;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
nobody:x:65534:65534:nobody:/home:/bin/false\n\
app:x:1000:1000:app:/home/app:/bin/sh\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n";

/// What [`busybox_layout`] made.
#[derive(Clone, Debug)]
pub struct BusyboxImage {
    /// The OCI image layout directory (tag `latest`).
    pub layout: PathBuf,
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub layer_digest: Digest,
    pub diff_id: DiffId,
    /// The applets linked in /bin, sorted.
    pub applets: Vec<String>,
}

/// Writes the busybox image into `dir` (created; must not hold another
/// layout) and returns its digests. Needs `busybox` (busybox-static) on PATH.
pub fn busybox_layout(dir: &Path) -> BusyboxImage {
    let busybox = find_command("busybox")
        .unwrap_or_else(|| panic!("busybox not found: apt-get install busybox-static"));
    let binary = std::fs::read(&busybox)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", busybox.display()));
    let list = crate::run_ok(Command::new(&busybox).arg("--list"));
    let mut applets: Vec<String> = list
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect();
    applets.sort();
    applets.dedup();

    let tar = layer_tar(&binary, &applets);
    let diff_id = DiffId(Digest::of(&tar));
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gzip into memory");
    let layer = gz.finish().expect("gzip into memory");
    let layer_digest = Digest::of(&layer);

    let host = Platform::host();
    let config = ImageConfig {
        architecture: host.architecture.clone(),
        os: host.os.clone(),
        variant: host.variant.clone(),
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: vec![diff_id.clone()],
        },
        ..Default::default()
    };
    let config_bytes = serde_json::to_vec(&config).expect("config serialises");
    let config_digest = Digest::of(&config_bytes);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MediaType::OCI_MANIFEST.to_string()),
        config: Descriptor::new(
            MediaType::OCI_CONFIG,
            config_digest.clone(),
            config_bytes.len() as u64,
        ),
        layers: vec![Descriptor::new(
            MediaType::OCI_LAYER_GZIP,
            layer_digest.clone(),
            layer.len() as u64,
        )],
        annotations: None,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serialises");
    let manifest_digest = Digest::of(&manifest_bytes);
    let mut entry = Descriptor::new(
        MediaType::OCI_MANIFEST,
        manifest_digest.clone(),
        manifest_bytes.len() as u64,
    );
    entry.annotations = Some(BTreeMap::from([
        (
            "io.containerd.image.name".to_string(),
            "docker.io/library/busybox:latest".to_string(),
        ),
        (
            "org.opencontainers.image.ref.name".to_string(),
            "latest".to_string(),
        ),
    ]));
    let index = Index {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.to_string()),
        manifests: vec![entry],
        annotations: None,
    };

    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", blobs.display()));
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()))
    };
    write(blobs.join(layer_digest.hex()), &layer);
    write(blobs.join(config_digest.hex()), &config_bytes);
    write(blobs.join(manifest_digest.hex()), &manifest_bytes);
    write(
        dir.join("index.json"),
        &serde_json::to_vec(&index).expect("index serialises"),
    );
    write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#);

    BusyboxImage {
        layout: dir.to_path_buf(),
        manifest_digest,
        config_digest,
        layer_digest,
        diff_id,
        applets,
    }
}

/// The layer's tar: sorted paths, 0:0, mtime 0.
fn layer_tar(binary: &[u8], applets: &[String]) -> Vec<u8> {
    enum Kind<'a> {
        Dir(u32),
        File(u32, &'a [u8]),
        Symlink(&'a str),
    }
    let mut entries: BTreeMap<String, Kind> = BTreeMap::new();
    for (dir, mode) in [
        ("bin", 0o755),
        ("etc", 0o755),
        ("home", 0o755),
        ("root", 0o755),
        ("tmp", 0o1777),
    ] {
        entries.insert(format!("{dir}/"), Kind::Dir(mode));
    }
    entries.insert("bin/busybox".into(), Kind::File(0o755, binary));
    for applet in applets {
        entries.insert(format!("bin/{applet}"), Kind::Symlink("busybox"));
    }
    entries.insert("etc/passwd".into(), Kind::File(0o644, PASSWD.as_bytes()));
    entries.insert("etc/group".into(), Kind::File(0o644, GROUP.as_bytes()));

    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind) in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(0);
        let result = match kind {
            Kind::Dir(mode) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                builder.append_data(&mut header, path, std::io::empty())
            }
            Kind::File(mode, bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, path, *bytes)
            }
            Kind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                builder.append_link(&mut header, path, target)
            }
        };
        result.unwrap_or_else(|e| panic!("cannot add {path} to the busybox layer: {e}"));
    }
    builder.into_inner().expect("tar into memory")
}
