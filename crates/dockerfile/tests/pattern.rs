//! Table tests for `dockerfile::pattern`, transcribed from Go's
//! `path/filepath/match_test.go` and moby/patternmatcher's tests (each case
//! names its source), plus our own cases for the quirks we reproduce.

use dockerfile::pattern::{PatternMatcher, filepath_match, parse_ignore_file};
use serde::Deserialize;

#[derive(Deserialize)]
struct FilepathCase {
    pattern: String,
    name: String,
    /// `true`, `false` or `"error"`.
    expect: serde_json::Value,
    source: String,
}

#[test]
fn filepath_match_table() {
    let cases: Vec<FilepathCase> =
        serde_json::from_str(include_str!("patterns/filepath_match.json")).expect("table parses");
    let mut failures = Vec::new();
    for case in &cases {
        let got = filepath_match(&case.pattern, &case.name);
        let ok = match (&case.expect, &got) {
            (serde_json::Value::Bool(want), Ok(have)) => want == have,
            (serde_json::Value::String(s), Err(_)) => s == "error",
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "filepath_match({:?}, {:?}) = {:?}, want {} [{}]",
                case.pattern, case.name, got, case.expect, case.source
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 70, "table lost cases: {}", cases.len());
}

#[derive(Deserialize)]
struct MatcherCase {
    patterns: Vec<String>,
    path: String,
    #[serde(default)]
    exact: Option<bool>,
    #[serde(default)]
    or_parent: Option<bool>,
    #[serde(default)]
    error: bool,
    source: String,
}

#[test]
fn pattern_matcher_table() {
    let cases: Vec<MatcherCase> =
        serde_json::from_str(include_str!("patterns/patternmatcher.json")).expect("table parses");
    let mut failures = Vec::new();
    for case in &cases {
        let matcher = match (PatternMatcher::new(&case.patterns), case.error) {
            (Ok(m), false) => m,
            (Err(_), true) => continue,
            (result, _) => {
                failures.push(format!(
                    "new({:?}) = {:?}, want error: {} [{}]",
                    case.patterns,
                    result.map(|_| "ok"),
                    case.error,
                    case.source
                ));
                continue;
            }
        };
        if let Some(want) = case.or_parent {
            let have = matcher.matches_or_parent_matches(&case.path);
            if have != want {
                failures.push(format!(
                    "{:?}.matches_or_parent_matches({:?}) = {have}, want {want} [{}]",
                    case.patterns, case.path, case.source
                ));
            }
        }
        if let Some(want) = case.exact {
            let have = matcher.matches_exact(&case.path);
            if have != want {
                failures.push(format!(
                    "{:?}.matches_exact({:?}) = {have}, want {want} [{}]",
                    case.patterns, case.path, case.source
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 140, "table lost cases: {}", cases.len());
}

#[test]
fn exclusions_are_reported() {
    let plain = PatternMatcher::new(&["docs".to_owned(), "config".to_owned()]).expect("valid");
    assert!(!plain.has_exclusions());
    for patterns in [["docs", "!docs/README.md"], ["docs", "  !docs/README.md"]] {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        let matcher = PatternMatcher::new(&patterns).expect("valid");
        assert!(matcher.has_exclusions(), "{patterns:?}");
    }
}

#[derive(Deserialize)]
struct IgnoreCase {
    text: String,
    patterns: Vec<String>,
    source: String,
}

#[test]
fn ignore_file_table() {
    let cases: Vec<IgnoreCase> =
        serde_json::from_str(include_str!("patterns/ignorefile.json")).expect("table parses");
    for case in &cases {
        assert_eq!(
            parse_ignore_file(&case.text),
            case.patterns,
            "[{}]",
            case.source
        );
    }
}
