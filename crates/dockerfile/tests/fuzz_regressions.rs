//! Inputs kept from fuzzing (`fuzz/`, targets `parse` and `plan`) and
//! hand-made adversarial inputs in `tests/fuzz-regressions/`: parsing each
//! must return (a Dockerfile or a diagnostic) without panicking. A file
//! added for a crash is named for the bug it pins.

use std::path::Path;

#[test]
fn fuzz_regressions_parse_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-regressions is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    for path in inputs {
        let bytes = std::fs::read(&path).expect("input is readable");
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(|| dockerfile::parse(&text).map(|_| ()));
        assert!(outcome.is_ok(), "parse panicked on {}", path.display());
    }
}
