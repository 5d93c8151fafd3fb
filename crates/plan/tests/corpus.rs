//! Every Dockerfile of the corpus in `tests/corpus/` (see its `SOURCES.md`)
//! parses and plans, and its plan dump is pinned by an insta snapshot in
//! `tests/corpus-snapshots/`.
//!
//! Base images resolve to an empty config, so the snapshots show only what
//! the Dockerfile itself does. Review changes with
//! `INSTA_UPDATE=always cargo test -p plan --test corpus` and `git diff`.

use std::path::{Path, PathBuf};

use plan::{BaseResolver, PlanOptions};

/// Every base image is an empty config; the references asked for are kept
/// so the snapshot also pins which images the target needs.
struct EmptyConfigResolver {
    resolved: Vec<String>,
}

impl BaseResolver for EmptyConfigResolver {
    fn resolve(
        &mut self,
        reference: &str,
        _platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        self.resolved.push(reference.to_owned());
        Ok(oci::ImageConfig::default())
    }
}

fn linux_amd64() -> oci::Platform {
    oci::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/corpus is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "Dockerfile"))
        .collect();
    files.sort();
    files
}

/// Parses and plans one file; the text to snapshot or why it failed.
fn plan_dump(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("read: {e}"))?;
    let dockerfile = dockerfile::parse(&text).map_err(|d| format!("parse: {d}"))?;
    let options = PlanOptions {
        target_platform: linux_amd64(),
        build_platform: linux_amd64(),
        ..PlanOptions::for_host()
    };
    let mut resolver = EmptyConfigResolver {
        resolved: Vec::new(),
    };
    let graph =
        plan::plan(&dockerfile, &options, &mut resolver).map_err(|e| format!("plan: {e}"))?;
    let mut dump = plan::dump_text(&graph);
    dump.push_str(&format!("resolved: {:?}\n", resolver.resolved));
    Ok(dump)
}

#[test]
fn corpus_parses_and_plans() {
    let files = corpus_files();
    assert!(files.len() >= 100, "corpus shrank to {} files", files.len());
    let mut failures = Vec::new();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("corpus-snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in &files {
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("corpus file names are UTF-8");
            match plan_dump(path) {
                Ok(dump) => insta::assert_snapshot!(name, dump),
                Err(why) => failures.push(format!("{name}: {why}")),
            }
        }
    });
    assert!(
        failures.is_empty(),
        "{} of {} corpus files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
