//! `decant fsck [--repair]`: exit 0 when the store is consistent, 1 when
//! not (after `--repair`, what could not be repaired).

use std::path::Path;
use std::process::ExitCode;

use crate::args::{FsckArgs, ListFormat};

pub fn run(root: &Path, args: &FsckArgs) -> super::Outcome {
    let report = engine::ops::fsck(root, args.repair)?;
    let strings =
        |items: &[oci::Digest]| -> Vec<String> { items.iter().map(ToString::to_string).collect() };
    if args.format == ListFormat::Json {
        let json = serde_json::json!({
            "blobs_checked": report.blobs_checked,
            "corrupt_blobs": strings(&report.corrupt_blobs),
            "stray_files": report.stray_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "dangling_tags": report.dangling_tags.iter().map(|t| serde_json::json!({"name": t.name, "manifest": t.manifest.to_string()})).collect::<Vec<_>>(),
            "missing_blobs": report.missing_blobs.iter().map(|(r, m)| serde_json::json!({"referrer": r.to_string(), "missing": m.to_string()})).collect::<Vec<_>>(),
            "repaired": report.repaired,
            "clean": report.is_clean(),
        });
        println!("{}", super::pretty(&json));
    } else {
        for digest in &report.corrupt_blobs {
            println!("corrupt blob: {digest}");
        }
        for path in &report.stray_files {
            println!("stray file: {}", path.display());
        }
        for tag in &report.dangling_tags {
            println!("dangling tag: {} -> {}", tag.name, tag.manifest);
        }
        for (referrer, missing) in &report.missing_blobs {
            println!("missing blob: {missing} (referenced by {referrer})");
        }
        println!(
            "checked {} blobs: {}",
            report.blobs_checked,
            if report.is_clean() {
                "clean"
            } else {
                "problems found"
            }
        );
    }
    // After --repair the deleted corrupt blobs are gone, but the images that
    // needed them are still incomplete: only missing references decide.
    let clean = if report.repaired {
        report.dangling_tags.is_empty() && report.missing_blobs.is_empty()
    } else {
        report.is_clean()
    };
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
