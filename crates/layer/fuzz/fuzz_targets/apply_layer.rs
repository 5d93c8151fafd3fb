//! Fuzzes the layer reader end to end: compression sniffing, tar parsing
//! (PAX, GNU long names, sparse) and applying entries to a scratch root.
//! Beyond "no panic", it checks the invariant that matters: nothing is ever
//! created next to the root, whatever the input.
//!
//! `cargo +nightly fuzz run apply_layer` from `crates/layer/fuzz`.
//! Keep crashing inputs as regression fixtures in `crates/layer/tests/`.
#![no_main]

use layer::{ApplyLimits, ApplyMode, apply_layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, layer_bytes)) = data.split_first() else {
        return;
    };
    let mode = if selector & 1 == 0 {
        ApplyMode::Merged
    } else {
        ApplyMode::Overlay
    };
    let parent = tempfile::tempdir().expect("scratch dir");
    let root = parent.path().join("root");
    std::fs::create_dir(&root).expect("scratch root");
    let limits = ApplyLimits {
        max_bytes: 16 << 20,
        max_entries: 10_000,
    };
    let _ = apply_layer(&mut &layer_bytes[..], &root, mode, &limits);
    let siblings: Vec<_> = std::fs::read_dir(parent.path())
        .expect("scratch dir listing")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        siblings,
        vec![std::ffi::OsString::from("root")],
        "an entry escaped the root"
    );
});
