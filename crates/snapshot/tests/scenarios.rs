//! Data-driven snapshot scenarios, run with both drivers: lower layers, then
//! operations in the merged view, then commit. The committed diff, written
//! as a layer and applied on top of the lowers, must reproduce the merged
//! view exactly; and both drivers must show the same merged view.

#[path = "../../layer/tests/common/tree.rs"]
mod tree;

use std::path::{Path, PathBuf};

use layer::{ApplyLimits, ApplyMode, Compression, WriteOptions, apply_layer, write_layer};
use snapshot::{Driver, prepare};
use tree::DumpOptions;

/// Directory mtimes legitimately differ (overlayfs copy-up vs a copy), so
/// they are left out; file and symlink mtimes must match.
const DUMP: DumpOptions = DumpOptions {
    mtimes: true,
    dir_mtimes: false,
};

struct Scenario {
    name: &'static str,
    /// Lower dirs in overlay-upper format, bottom first.
    lowers: &'static [&'static str],
    /// Operations in the merged view.
    ops: &'static str,
    /// Why the drivers' merged views may legitimately differ after `ops`.
    views_differ: Option<&'static str>,
}

const BASE: &str = "
    dir etc 755 0:0
    file etc/conf 644 0:0 original
    file etc/other 600 0:0 other
    dir opt 755 0:0
    dir opt/app 755 0:0
    file opt/app/bin 755 0:0 binary
    symlink link etc/conf
    file hard1 644 0:0 linked
    hardlink hard2 hard1
    mtime etc/conf 1000000000
    mtime link 1000000001
";

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "create files and dirs",
        lowers: &[BASE],
        ops: "
            file new 644 0:0 new file
            dir etc/new.d 750 0:10
            file etc/new.d/x 640 0:10 x
        ",
        views_differ: None,
    },
    Scenario {
        name: "modify a file in place",
        lowers: &[BASE],
        ops: "append etc/conf  and more",
        views_differ: None,
    },
    Scenario {
        // Same size, same inode, mtime put back: only ctime tells.
        name: "content change hidden behind a restored mtime",
        lowers: &[BASE],
        ops: "
            overwrite etc/conf ORIGINAL
            mtime etc/conf 1000000000
        ",
        views_differ: None,
    },
    Scenario {
        name: "delete a file",
        lowers: &[BASE],
        ops: "rm etc/conf",
        views_differ: None,
    },
    Scenario {
        name: "delete a dir and recreate it",
        lowers: &[BASE],
        ops: "
            rm opt
            dir opt 700 0:0
            file opt/fresh 644 0:0 fresh
        ",
        views_differ: None,
    },
    Scenario {
        name: "delete a whole tree",
        lowers: &[BASE],
        ops: "rm opt",
        views_differ: None,
    },
    Scenario {
        name: "chmod file and dir",
        lowers: &[BASE],
        ops: "
            chmod etc/other 4755
            chmod opt 700
        ",
        views_differ: None,
    },
    Scenario {
        name: "chown",
        lowers: &[BASE],
        ops: "chown etc/conf 1000:1000",
        views_differ: None,
    },
    Scenario {
        name: "replace a symlink",
        lowers: &[BASE],
        ops: "
            rm link
            symlink link etc/other
        ",
        views_differ: None,
    },
    Scenario {
        name: "file becomes dir and dir becomes file",
        lowers: &[BASE],
        ops: "
            rm etc/other
            dir etc/other 755 0:0
            file etc/other/inside 644 0:0 i
            rm opt/app
            file opt/app 644 0:0 now a file
        ",
        views_differ: None,
    },
    Scenario {
        name: "modify one name of a hardlinked pair",
        lowers: &[BASE],
        ops: "append hard1 +",
        views_differ: Some(
            "overlayfs copy-up with index=off breaks the hardlink (hard2 keeps the old \
             content, as with Docker's overlay2 and BuildKit); the copy driver keeps POSIX \
             semantics (hard2 sees the change)",
        ),
    },
    Scenario {
        name: "xattrs",
        lowers: &[BASE],
        ops: "xattr etc/conf user.note hello",
        views_differ: None,
    },
    Scenario {
        name: "lower whiteouts and opaque dirs",
        lowers: &[
            BASE,
            "
            dir etc 755 0:0
            whiteout etc/conf
            dir opt 755 0:0
            opaque opt
            file opt/only 644 0:0 only in the upper lower
            ",
        ],
        ops: "
            file opt/added 644 0:0 a
            file etc/conf 600 0:0 back again
        ",
        views_differ: None,
    },
    Scenario {
        name: "delete what a middle layer added",
        lowers: &[
            BASE,
            "
            dir srv 755 0:0
            file srv/data 644 0:0 d
            ",
            "file top 644 0:0 t",
        ],
        ops: "
            rm srv/data
            rm top
            rm hard2
        ",
        views_differ: None,
    },
    Scenario {
        name: "no lowers",
        lowers: &[],
        ops: "
            dir bin 755 0:0
            file bin/sh 755 0:0 #!
        ",
        views_differ: None,
    },
];

/// The merged view before and after the ops, without times: the two
/// drivers run at different moments, so "now" differs between them.
struct Outcome {
    before: String,
    after: String,
}

fn layer_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_layer(
        dir,
        &mut bytes,
        &WriteOptions {
            compression: Compression::Gzip,
            ..Default::default()
        },
    )
    .unwrap();
    bytes
}

fn apply(bytes: &[u8], root: &Path) {
    apply_layer(
        &mut &bytes[..],
        root,
        ApplyMode::Merged,
        &ApplyLimits::default(),
    )
    .unwrap();
}

fn run(driver: Driver, scenario: &Scenario) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let lowers: Vec<PathBuf> = scenario
        .lowers
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let dir = tmp.path().join(format!("lower{i}"));
            std::fs::create_dir(&dir).unwrap();
            tree::build(&dir, spec);
            dir
        })
        .collect();
    let prepared = prepare(driver, &lowers, &tmp.path().join("work"))
        .unwrap_or_else(|e| panic!("{}: prepare {driver:?}: {e:?}", scenario.name));
    let before = tree::dump(&prepared.root, DUMP);
    let before_untimed = tree::dump(&prepared.root, tree::NO_TIMES);
    tree::build(&prepared.root, scenario.ops);
    let after = tree::dump(&prepared.root, DUMP);
    let after_untimed = tree::dump(&prepared.root, tree::NO_TIMES);
    let diff = prepared
        .commit()
        .unwrap_or_else(|e| panic!("{}: commit {driver:?}: {e:?}", scenario.name));
    let diff_bytes = layer_bytes(&diff);

    // Replay: the lowers as layers, then the step's layer.
    let replay = tmp.path().join("replay");
    std::fs::create_dir(&replay).unwrap();
    for lower in &lowers {
        apply(&layer_bytes(lower), &replay);
    }
    assert_eq!(
        tree::dump(&replay, DUMP),
        before,
        "{} {driver:?}: lowers replayed as layers differ from the merged view",
        scenario.name
    );
    apply(&diff_bytes, &replay);
    let replayed = tree::dump(&replay, DUMP);
    assert_eq!(
        replayed,
        after,
        "{} {driver:?}: diff dir was:\n{}",
        scenario.name,
        tree::dump(&diff, DUMP)
    );
    Outcome {
        before: before_untimed,
        after: after_untimed,
    }
}

fn overlay_available() -> bool {
    if !tree::require_root("overlay mounts need root") {
        return false;
    }
    let tmp = tempfile::tempdir().unwrap();
    if Driver::detect_in(tmp.path()).ok() == Some(Driver::Overlay)
        && std::env::var(snapshot::SNAPSHOTTER_ENV).is_err()
    {
        return true;
    }
    let test = testkit::requirement::current_test(module_path!());
    !testkit::requirement::skip(&test, "an overlayfs mount does not work here")
}

#[test]
fn copy_driver_scenarios() {
    if !tree::require_root("scenarios chown files and create whiteouts") {
        return;
    }
    for scenario in SCENARIOS {
        run(Driver::Copy, scenario);
    }
}

#[test]
fn overlay_driver_scenarios() {
    if !overlay_available() {
        return;
    }
    for scenario in SCENARIOS {
        run(Driver::Overlay, scenario);
    }
}

#[test]
fn drivers_agree_on_merged_views() {
    if !overlay_available() {
        return;
    }
    for scenario in SCENARIOS {
        let copy = run(Driver::Copy, scenario);
        let overlay = run(Driver::Overlay, scenario);
        assert_eq!(
            copy.before, overlay.before,
            "{}: merged view before",
            scenario.name
        );
        match scenario.views_differ {
            None => assert_eq!(
                copy.after, overlay.after,
                "{}: merged view after",
                scenario.name
            ),
            Some(why) => {
                assert_ne!(
                    copy.after, overlay.after,
                    "{}: expected to differ: {why}",
                    scenario.name
                )
            }
        }
    }
}

#[test]
fn many_long_lowers_fit_the_mount() {
    if !overlay_available() {
        return;
    }
    // 200 lowers with long paths: far beyond one 4096-byte mount data page.
    let tmp = tempfile::tempdir().unwrap();
    let long = "l".repeat(60);
    let lowers: Vec<PathBuf> = (0..200)
        .map(|i| {
            let dir = tmp.path().join(format!("{long}{i:03}"));
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join(format!("f{i:03}")), i.to_string()).unwrap();
            std::fs::write(dir.join("top"), i.to_string()).unwrap();
            dir
        })
        .collect();
    let prepared = prepare(Driver::Overlay, &lowers, &tmp.path().join("work")).unwrap();
    assert_eq!(
        std::fs::read_to_string(prepared.root.join("top")).unwrap(),
        "199"
    );
    assert_eq!(
        std::fs::read_to_string(prepared.root.join("f000")).unwrap(),
        "0"
    );
    assert_eq!(std::fs::read_dir(&prepared.root).unwrap().count(), 201);
    drop(prepared);
}

#[test]
fn drop_unmounts_an_uncommitted_overlay() {
    if !overlay_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lower = tmp.path().join("lower");
    std::fs::create_dir(&lower).unwrap();
    std::fs::write(lower.join("f"), "x").unwrap();
    let prepared = prepare(Driver::Overlay, &[lower], &tmp.path().join("work")).unwrap();
    let root = prepared.root.clone();
    assert!(root.join("f").exists());
    drop(prepared);
    assert!(
        !root.join("f").exists(),
        "merged view still mounted after drop"
    );
}
