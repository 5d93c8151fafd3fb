//! Behaviour of the store through its public API, table-driven where the
//! cases share a shape, plus crash-safety checks that SIGKILL a child
//! process (this test binary re-run with `DECANT_STORE_CRASH_CHILD`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oci::{DiffId, Digest};
use store::{PruneOptions, Store, StoreError, chain_ids};

fn entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Files below `tmp/` other than the per-process scratch dirs and locks
/// themselves: what an ingest left behind.
fn scratch_contents(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root.join("tmp")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in fs::read_dir(&path).unwrap() {
                out.push(inner.unwrap().path());
            }
        }
    }
    out
}

#[test]
fn write_blob_verifies_content() {
    struct Case {
        name: &'static str,
        content: &'static [u8],
        expected: Option<Digest>,
        ok: bool,
    }
    let cases = [
        Case {
            name: "unchecked",
            content: b"hello",
            expected: None,
            ok: true,
        },
        Case {
            name: "empty",
            content: b"",
            expected: Some(Digest::of(b"")),
            ok: true,
        },
        Case {
            name: "matching",
            content: b"abc",
            expected: Some(Digest::of(b"abc")),
            ok: true,
        },
        Case {
            name: "mismatch",
            content: b"evil",
            expected: Some(Digest::of(b"good")),
            ok: false,
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let result = store.write_blob(case.expected.as_ref(), &mut |w| w.write_all(case.content));
        let actual = Digest::of(case.content);
        match (case.ok, result) {
            (true, Ok((digest, size))) => {
                assert_eq!(digest, actual, "{}", case.name);
                assert_eq!(size, case.content.len() as u64, "{}", case.name);
                assert_eq!(
                    store.read_blob(&digest).unwrap(),
                    case.content,
                    "{}",
                    case.name
                );
                assert!(store.has_blob(&digest));
            }
            (
                false,
                Err(StoreError::DigestMismatch {
                    expected,
                    actual: got,
                }),
            ) => {
                assert_eq!(Some(expected), case.expected, "{}", case.name);
                assert_eq!(got, actual, "{}", case.name);
                assert!(
                    !store.has_blob(&actual),
                    "{}: mismatching blob visible",
                    case.name
                );
                assert!(
                    entries(&dir.path().join("blobs/sha256")).is_empty(),
                    "{}",
                    case.name
                );
            }
            (ok, other) => panic!("{}: expected ok={ok}, got {other:?}", case.name),
        }
        assert!(
            scratch_contents(dir.path()).is_empty(),
            "{}: temp left",
            case.name
        );
    }
}

#[test]
fn failing_fill_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let err = store
        .write_blob(None, &mut |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("network gone"))
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::WriteBlob { .. }), "{err:?}");
    assert!(entries(&dir.path().join("blobs/sha256")).is_empty());
    assert!(scratch_contents(dir.path()).is_empty());
}

#[test]
fn concurrent_writers_of_one_blob_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let content = vec![7u8; 3 << 20];
    let digests: Vec<Digest> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    store
                        .write_blob(Some(&Digest::of(&content)), &mut |w| {
                            for chunk in content.chunks(4096) {
                                w.write_all(chunk)?;
                            }
                            Ok(())
                        })
                        .unwrap()
                        .0
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(digests.iter().all(|d| *d == Digest::of(&content)));
    assert_eq!(store.read_blob(&digests[0]).unwrap(), content);
    assert!(scratch_contents(dir.path()).is_empty());
}

#[test]
fn layer_dir_is_filled_once_under_contention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let chain_id = Digest::of(b"layer");
    let fills = AtomicUsize::new(0);
    let paths: Vec<PathBuf> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    store
                        .create_layer_dir(&chain_id, &mut |d| {
                            fills.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(50));
                            fs::write(d.join("file"), b"content")?;
                            Ok(())
                        })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(fills.load(Ordering::SeqCst), 1);
    assert!(paths.iter().all(|p| *p == paths[0]));
    assert_eq!(store.layer_dir(&chain_id), Some(paths[0].clone()));
    assert_eq!(fs::read(paths[0].join("file")).unwrap(), b"content");

    // A failing fill publishes nothing.
    let other = Digest::of(b"other");
    let err = store
        .create_layer_dir(&other, &mut |d| {
            fs::write(d.join("half"), b"x")?;
            Err("corrupt layer".into())
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::FillLayer { .. }), "{err:?}");
    assert_eq!(store.layer_dir(&other), None);
    assert!(scratch_contents(dir.path()).is_empty());
}

#[test]
fn tags_and_cache_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
    // (operation, name, digest, expected resolve afterwards)
    let steps: &[(&str, &str, Option<&Digest>, Option<&Digest>)] = &[
        (
            "tag",
            "docker.io/library/busybox:latest",
            Some(&a),
            Some(&a),
        ),
        (
            "tag",
            "docker.io/library/busybox:latest",
            Some(&b),
            Some(&b),
        ),
        ("tag", "../../etc/passwd", Some(&a), Some(&a)),
        ("untag", "docker.io/library/busybox:latest", None, None),
        ("untag", "never-tagged", None, None),
    ];
    for (op, name, digest, expect) in steps {
        match *op {
            "tag" => store.tag(name, digest.unwrap()).unwrap(),
            _ => {
                store.untag(name).unwrap();
            }
        }
        assert_eq!(
            store.resolve_tag(name).unwrap().as_ref(),
            *expect,
            "{op} {name}"
        );
    }
    let names: Vec<String> = store.tags().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["../../etc/passwd"]);
    for bad in ["", "a\nb"] {
        assert!(
            matches!(store.tag(bad, &a), Err(StoreError::InvalidTagName { .. })),
            "{bad:?}"
        );
    }
    // Nothing escaped the images directory.
    assert!(!dir.path().join("etc").exists());

    assert_eq!(store.cache_get("k").unwrap(), None);
    store.cache_put("k", b"v1").unwrap();
    store.cache_put("k", b"v2").unwrap();
    assert_eq!(store.cache_get("k").unwrap().as_deref(), Some(&b"v2"[..]));
    assert!(store.cache_remove("k").unwrap());
    assert_eq!(store.cache_get("k").unwrap(), None);
}

/// Writes a two-layer image (index -> manifest -> config + layers) and
/// returns (index digest, manifest, config, layer digests, chain ids).
struct TestImage {
    index: Digest,
    manifest: Digest,
    config: Digest,
    layers: Vec<Digest>,
    chain_ids: Vec<Digest>,
}

fn put_image(store: &Store, salt: &str) -> TestImage {
    let layers: Vec<Digest> = (0..2)
        .map(|i| {
            store
                .put_bytes(format!("layer {salt} {i}").as_bytes())
                .unwrap()
        })
        .collect();
    let diff_ids: Vec<DiffId> = (0..2)
        .map(|i| DiffId(Digest::of(format!("diff {salt} {i}").as_bytes())))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let config = store.put_bytes(config.to_string().as_bytes()).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::MediaType::OCI_MANIFEST,
        "config": {"mediaType": oci::MediaType::OCI_CONFIG, "digest": config, "size": 1},
        "layers": layers.iter().map(|l| serde_json::json!(
            {"mediaType": oci::MediaType::OCI_LAYER_GZIP, "digest": l, "size": 1})).collect::<Vec<_>>(),
    });
    let manifest = store.put_bytes(manifest.to_string().as_bytes()).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": oci::MediaType::OCI_INDEX,
        "manifests": [{"mediaType": oci::MediaType::OCI_MANIFEST, "digest": manifest, "size": 1}],
    });
    let index = store.put_bytes(index.to_string().as_bytes()).unwrap();
    let chain_ids = chain_ids(&diff_ids);
    for chain_id in &chain_ids {
        store
            .create_layer_dir(chain_id, &mut |d| Ok(fs::write(d.join("f"), salt)?))
            .unwrap();
    }
    TestImage {
        index,
        manifest,
        config,
        layers,
        chain_ids,
    }
}

#[test]
fn prune_keeps_what_tags_and_cache_reach() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let tagged = put_image(&store, "tagged");
    let cached = put_image(&store, "cached");
    let garbage = put_image(&store, "garbage");
    store.tag("t", &tagged.index).unwrap();
    // A cache record names one layer blob and one chain id of `cached`.
    let record = format!(
        "{{\"layer\":\"{}\",\"chain\":\"{}\"}}",
        cached.layers[1], cached.chain_ids[0]
    );
    store.cache_put("step", record.as_bytes()).unwrap();

    let report = store.prune(&PruneOptions::default()).unwrap();
    let blob_kept = |d: &Digest| store.has_blob(d);
    let layer_kept = |d: &Digest| store.layer_dir(d).is_some();
    // (what, kept by prune)
    let expectations: Vec<(String, bool, bool)> = vec![
        ("tagged index".into(), blob_kept(&tagged.index), true),
        ("tagged manifest".into(), blob_kept(&tagged.manifest), true),
        ("tagged config".into(), blob_kept(&tagged.config), true),
        ("tagged layer 0".into(), blob_kept(&tagged.layers[0]), true),
        ("tagged layer 1".into(), blob_kept(&tagged.layers[1]), true),
        (
            "tagged chain 0".into(),
            layer_kept(&tagged.chain_ids[0]),
            true,
        ),
        (
            "tagged chain 1".into(),
            layer_kept(&tagged.chain_ids[1]),
            true,
        ),
        (
            "cached layer 0 blob".into(),
            blob_kept(&cached.layers[0]),
            false,
        ),
        (
            "cached layer 1 blob".into(),
            blob_kept(&cached.layers[1]),
            true,
        ),
        (
            "cached chain 0".into(),
            layer_kept(&cached.chain_ids[0]),
            true,
        ),
        (
            "cached chain 1".into(),
            layer_kept(&cached.chain_ids[1]),
            false,
        ),
        ("garbage index".into(), blob_kept(&garbage.index), false),
        ("garbage config".into(), blob_kept(&garbage.config), false),
        (
            "garbage chain 0".into(),
            layer_kept(&garbage.chain_ids[0]),
            false,
        ),
    ];
    for (what, actual, expected) in &expectations {
        assert_eq!(actual, expected, "{what}");
    }
    // cached: index, manifest, config, layer 0; garbage: all 5 blobs
    assert_eq!(report.blobs_removed, 9, "{report:?}");
    assert_eq!(report.layers_removed, 3, "{report:?}");
    assert!(report.bytes_freed > 0);
    assert!(store.fsck(false).unwrap().is_clean());

    // Dropping the cache releases what only the cache kept.
    let report = store
        .prune(&PruneOptions {
            cache_older_than: Some(Duration::ZERO),
        })
        .unwrap();
    assert_eq!(report.cache_removed, 1);
    assert_eq!(report.cache_mounts_removed, 0);
    assert!(!store.has_blob(&cached.layers[1]));
    assert!(store.layer_dir(&cached.chain_ids[0]).is_none());
    assert!(store.has_blob(&tagged.layers[0]));
    // The store still works after prune downgraded its lock.
    store.put_bytes(b"after").unwrap();
}

/// Cache mounts were never pruned: `decant prune --cache` left every
/// `RUN --mount=type=cache` directory behind.
#[test]
fn prune_of_the_cache_drops_cache_mounts_not_used_since() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mount = dir.path().join("cache-mounts/abc");
    fs::create_dir_all(mount.join("0/data")).unwrap();
    fs::write(mount.join("id"), "go\n").unwrap();
    fs::write(mount.join("0/data/f"), [0u8; 100]).unwrap();
    // Without --cache, cache mounts stay, as cache records do.
    let report = store.prune(&PruneOptions::default()).unwrap();
    assert_eq!(report.cache_mounts_removed, 0);
    assert!(mount.is_dir());
    // Used within the hour: kept by a one-day age.
    let report = store
        .prune(&PruneOptions {
            cache_older_than: Some(Duration::from_secs(86_400)),
        })
        .unwrap();
    assert_eq!(report.cache_mounts_removed, 0);
    let report = store
        .prune(&PruneOptions {
            cache_older_than: Some(Duration::ZERO),
        })
        .unwrap();
    assert_eq!(report.cache_mounts_removed, 1);
    assert!(!mount.exists());
    assert!(report.bytes_freed >= 100);
}

#[test]
fn prune_refuses_while_another_process_uses_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Store::open(dir.path()).unwrap();
    let second = Store::open(dir.path()).unwrap();
    let blob = second.put_bytes(b"in flight").unwrap();
    let err = first.prune(&PruneOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    assert!(second.has_blob(&blob));
    drop(second);
    // Another test of this binary may fork a child (`crash_child`) while
    // `second` is open: until that child execs, it shares the lock's open
    // file description, and flock(2) locks belong to the description, so
    // the shared lock outlives `drop` for that instant. Seen once in CI as
    // `Busy` here; wait such a holder out, but not a real one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match first.prune(&PruneOptions::default()) {
            Ok(_) => break,
            Err(StoreError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(err) => panic!("prune after the other store closed: {err:?}"),
        }
    }
    assert!(!first.has_blob(&blob));
}

#[test]
fn fsck_finds_and_repairs_damage() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let image = put_image(&store, "img");
    store.tag("good", &image.index).unwrap();
    store.tag("dangling", &Digest::of(b"nowhere")).unwrap();
    let clean = store.fsck(false).unwrap();
    assert_eq!(clean.blobs_checked, 5);
    assert_eq!(clean.dangling_tags.len(), 1);
    assert!(clean.corrupt_blobs.is_empty());

    // Corrupt a layer blob in place, add a stray file, remove the config.
    let layer_path = store.blob_path(&image.layers[0]);
    let mut perms = fs::metadata(&layer_path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    fs::set_permissions(&layer_path, perms).unwrap();
    fs::write(&layer_path, b"bit rot").unwrap();
    fs::write(dir.path().join("blobs/sha256/not-a-digest"), b"x").unwrap();
    fs::remove_file(store.blob_path(&image.config)).unwrap();

    let report = store.fsck(true).unwrap();
    assert_eq!(report.corrupt_blobs, vec![image.layers[0].clone()]);
    assert_eq!(report.stray_files.len(), 1);
    // The repaired (deleted) layer is now missing too.
    let mut missing = vec![
        (image.manifest.clone(), image.config.clone()),
        (image.manifest.clone(), image.layers[0].clone()),
    ];
    missing.sort();
    assert_eq!(report.missing_blobs, missing);
    assert!(!report.is_clean());
    assert!(!layer_path.exists(), "repair removes the corrupt blob");
    let again = store.fsck(false).unwrap();
    assert!(again.corrupt_blobs.is_empty() && again.stray_files.is_empty());
}

#[test]
fn du_counts_each_area() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put_bytes(&[0u8; 1000]).unwrap();
    store.put_bytes(&[1u8; 24]).unwrap();
    store
        .create_layer_dir(&Digest::of(b"l"), &mut |d| {
            Ok(fs::write(d.join("f"), [0u8; 500])?)
        })
        .unwrap();
    store.cache_put("k", b"12345").unwrap();
    assert_eq!(store.du().unwrap().cache_mounts, Default::default());
    let mount = dir.path().join("cache-mounts/abc");
    fs::create_dir_all(mount.join("0/data")).unwrap();
    fs::write(mount.join("0/data/go.cache"), [0u8; 300]).unwrap();
    let du = store.du().unwrap();
    assert_eq!((du.cache_mounts.count, du.cache_mounts.bytes), (1, 300));
    assert_eq!((du.blobs.count, du.blobs.bytes), (2, 1024));
    assert_eq!((du.layers.count, du.layers.bytes), (1, 500));
    assert_eq!((du.cache.count, du.cache.bytes), (1, 5));
    assert_eq!(du.images.count, 0);
}

#[test]
fn open_reclaims_only_dead_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let live = Store::open(dir.path()).unwrap();
    // An ingest of `live` in progress: a file in its scratch dir.
    let scratch_dir = fs::read_dir(dir.path().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    fs::write(scratch_dir.join("in-progress"), b"x").unwrap();
    let _second = Store::open(dir.path()).unwrap();
    assert!(
        scratch_dir.join("in-progress").exists(),
        "live scratch was reclaimed"
    );
    drop(live);
    let _third = Store::open(dir.path()).unwrap();
    assert!(!scratch_dir.exists(), "dead scratch was not reclaimed");
}

const CHILD_ENV: &str = "DECANT_STORE_CRASH_CHILD";

/// Not a test of its own: the body of the child process the crash tests
/// SIGKILL. Does nothing unless `DECANT_STORE_CRASH_CHILD=<mode>:<root>`.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, root) = spec.split_once(':').unwrap();
    let root = Path::new(root);
    let store = Store::open(root).unwrap();
    let ready = root.with_extension("ready");
    let hang = || -> ! {
        fs::write(&ready, b"").unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    };
    match mode {
        "blob" => {
            let _ = store.write_blob(None, &mut |w| {
                w.write_all(&[42u8; 1 << 20])?;
                w.flush()?;
                hang()
            });
        }
        "layer" => {
            let _ = store.create_layer_dir(&Digest::of(b"crash"), &mut |d| {
                fs::write(d.join("half-written"), [0u8; 4096])?;
                hang()
            });
        }
        other => panic!("unknown crash mode {other}"),
    }
}

#[test]
fn sigkill_mid_write_leaves_nothing_visible() {
    for mode in ["blob", "layer"] {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("store");
        let ready = root.with_extension("ready");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{mode}:{}", root.display()))
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !ready.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{mode}: child exited early with {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{mode}: child never got ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Child::kill sends SIGKILL: no destructor or cleanup runs.
        child.kill().unwrap();
        child.wait().unwrap();

        assert!(
            entries(&root.join("blobs/sha256")).is_empty(),
            "{mode}: blob visible"
        );
        assert!(
            entries(&root.join("layers")).is_empty(),
            "{mode}: layer visible"
        );
        assert!(
            !scratch_contents(&root).is_empty(),
            "{mode}: the child wrote no temp data"
        );
        let store = Store::open(&root).unwrap();
        assert!(
            scratch_contents(&root).is_empty(),
            "{mode}: garbage not reclaimed"
        );
        assert_eq!(store.layer_dir(&Digest::of(b"crash")), None);
        // The layer can be created after the crash: its lock died with the child.
        store
            .create_layer_dir(&Digest::of(b"crash"), &mut |d| {
                Ok(fs::write(d.join("f"), b"ok")?)
            })
            .unwrap();
        assert!(store.fsck(false).unwrap().is_clean(), "{mode}");
    }
}

/// Layers are published without a sync; after a reboot the first open
/// must delete those of the previous boot (their files may never have
/// reached the disk), and within a boot a settled marker is retired by one
/// syncfs without touching its layer.
#[test]
fn layers_of_a_previous_boot_that_were_never_synced_are_discarded() {
    let Ok(boot) = fs::read_to_string("/proc/sys/kernel/random/boot_id") else {
        eprintln!("SKIP: no /proc/sys/kernel/random/boot_id");
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI needs procfs"
        );
        return;
    };
    let boot = boot.trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (old, recent) = (Digest::of(b"old boot"), Digest::of(b"this boot"));
    for chain in [&old, &recent] {
        store
            .create_layer_dir(chain, &mut |d| Ok(fs::write(d.join("f"), b"x")?))
            .unwrap();
    }
    let marker =
        |boot: &str, chain: &Digest| dir.path().join("unsynced").join(boot).join(chain.hex());
    assert!(marker(&boot, &old).is_file() && marker(&boot, &recent).is_file());
    drop(store);

    // Pretend `old` was made before a reboot, and `recent` long enough ago
    // in this boot to have settled.
    let previous = "00000000-0000-0000-0000-000000000000";
    fs::create_dir_all(dir.path().join("unsynced").join(previous)).unwrap();
    fs::rename(marker(&boot, &old), marker(previous, &old)).unwrap();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(marker(&boot, &recent))
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    let store = Store::open(dir.path()).unwrap();
    assert!(
        store.layer_dir(&old).is_none(),
        "the previous boot's layer is gone"
    );
    assert!(!dir.path().join("unsynced").join(previous).exists());
    assert!(
        store.layer_dir(&recent).is_some(),
        "this boot's layer stays"
    );
    assert!(
        !marker(&boot, &recent).exists(),
        "a settled marker is retired"
    );
}
