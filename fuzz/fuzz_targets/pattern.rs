//! The `.dockerignore` / wildcard matchers never panic: the input is split
//! into patterns and a path, and every entry point is called.
#![no_main]

use dockerfile::pattern::{PatternMatcher, filepath_match, has_wildcards, parse_ignore_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (patterns, path) = text.rsplit_once('\u{0}').unwrap_or((&text, "a/b/c"));
    let lines = parse_ignore_file(patterns);
    for line in &lines {
        let _ = filepath_match(line, path);
        let _ = has_wildcards(line);
    }
    if let Ok(matcher) = PatternMatcher::new(&lines) {
        let _ = matcher.matches_or_parent_matches(path);
        let _ = matcher.matches_exact(path);
    }
});
