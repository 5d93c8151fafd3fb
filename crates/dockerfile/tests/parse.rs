//! Parser goldens, in the spirit of BuildKit's `parser/testfiles`: every
//! `tests/parse/<case>.Dockerfile` is parsed and `dockerfile::dump` of the
//! result (or `error: <diagnostic>`) must equal `<case>.expected`.
//!
//! `UPDATE_EXPECT=1 cargo test -p dockerfile --test parse` rewrites the
//! expectations; review the diff.

use std::path::Path;

fn check(input: &str) -> String {
    match dockerfile::parse(input) {
        Ok(dockerfile) => dockerfile::dump(&dockerfile),
        Err(diagnostic) => format!("error: {diagnostic}\n"),
    }
}

#[test]
fn parse_goldens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/parse")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let input = std::fs::read(&case).expect("read case");
        // Cases are bytes: CRLF and BOM fixtures must reach the parser as is.
        let input = String::from_utf8(input).expect("utf-8 case");
        let actual = check(&input);
        let expected_path = case.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
