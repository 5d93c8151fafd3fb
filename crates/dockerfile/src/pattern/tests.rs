//! Unit tests that need the private compile step: upstream's `TestCompile`
//! table, and property tests that no input panics and that the regexp route
//! agrees with `filepath.Match` where the two languages coincide.

use proptest::prelude::*;

use super::matcher::go_regexp;
use super::{PatternMatcher, filepath_match};

/// moby/patternmatcher `compileTests` (slash flavour): pattern, match type,
/// Go regexp text (only compared for the regexp type).
const COMPILE_TABLE: &[(&str, &str, &str)] = &[
    ("*", "regexp", r"^[^/]*$"),
    ("file*", "regexp", r"^file[^/]*$"),
    ("*file", "regexp", r"^[^/]*file$"),
    ("a*/b", "regexp", r"^a[^/]*/b$"),
    ("**", "suffix", ""),
    ("**/**", "regexp", r"^(.*/)?.*$"),
    ("dir/**", "prefix", ""),
    ("**/dir", "suffix", ""),
    ("**/dir2/*", "regexp", r"^(.*/)?dir2/[^/]*$"),
    ("**/dir2/**", "regexp", r"^(.*/)?dir2/.*$"),
    ("**file", "suffix", ""),
    ("**/file*txt", "regexp", r"^(.*/)?file[^/]*txt$"),
    ("**/**/*.txt", "regexp", r"^(.*/)?(.*/)?[^/]*\.txt$"),
    ("a[b-d]e", "regexp", r"^a[b-d]e$"),
    (".*", "regexp", r"^\.[^/]*$"),
    ("abc.def", "exact", ""),
    ("abc?def", "regexp", r"^abc[^/]def$"),
    ("**/foo/bar", "suffix", ""),
    ("a(b)c/def", "exact", ""),
    ("a.|)$(}+{bc", "exact", ""),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "exact",
        "",
    ),
];

#[test]
fn compile_table_matches_upstream() {
    for &(pattern, kind, regexp) in COMPILE_TABLE {
        let (have_regexp, have_kind) = go_regexp(&super::clean(pattern));
        assert_eq!(have_kind.name(), kind, "match type of {pattern:?}");
        if kind == "regexp" {
            assert_eq!(have_regexp, regexp, "regexp of {pattern:?}");
        }
    }
}

fn simple_pattern() -> impl Strategy<Value = String> {
    // Components of literals, `*` and `?` joined by single slashes, without
    // `**` (a globstar for patternmatcher, two stars for filepath.Match):
    // the subset where both languages must agree.
    prop::collection::vec("[ab*?]{1,4}", 1..4)
        .prop_map(|parts| parts.join("/"))
        .prop_filter("no globstar", |pattern| !pattern.contains("**"))
}

fn simple_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[ab]{1,4}", 1..4).prop_map(|parts| parts.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn filepath_match_never_panics(pattern in any::<String>(), name in any::<String>()) {
        let _ = filepath_match(&pattern, &name);
    }

    #[test]
    fn filepath_match_never_panics_on_pattern_syntax(
        pattern in r"[\[\]\\^*?a/-]{0,12}",
        name in r"[\[\]\\^*?a/-]{0,8}",
    ) {
        let _ = filepath_match(&pattern, &name);
    }

    #[test]
    fn matcher_never_panics(
        patterns in prop::collection::vec(r"[!\[\]\\^*?a./ (){}|$&~:-]{0,12}", 0..4),
        path in r"[a./\[\]*-]{0,12}",
    ) {
        if let Ok(matcher) = PatternMatcher::new(&patterns) {
            let _ = matcher.matches_or_parent_matches(&path);
            let _ = matcher.matches_exact(&path);
        }
    }

    #[test]
    fn matcher_never_panics_on_any_text(patterns in prop::collection::vec(any::<String>(), 0..3), path in any::<String>()) {
        if let Ok(matcher) = PatternMatcher::new(&patterns) {
            let _ = matcher.matches_or_parent_matches(&path);
        }
        let _ = super::parse_ignore_file(&patterns.join("\n"));
    }

    #[test]
    fn regexp_route_agrees_with_filepath_match(pattern in simple_pattern(), name in simple_name()) {
        let matcher = PatternMatcher::new(std::slice::from_ref(&pattern)).expect("simple patterns are valid");
        let direct = filepath_match(&pattern, &name).expect("simple patterns are valid");
        prop_assert_eq!(matcher.matches_exact(&name), direct, "pattern {:?} name {:?}", pattern, name);
    }
}
