//! moby/patternmatcher: the `.dockerignore` and `COPY --exclude` matcher.
//!
//! Each pattern is compiled once, the way upstream's `Pattern.compile` does:
//! scanning the cleaned pattern, it picks the cheapest of four strategies
//! (exact string, prefix for a trailing `**`, suffix for a leading `**`, or a
//! regexp) and keeps upstream's quirks, such as `**foo` being a plain suffix
//! test that also matches `barfoo`.

use regex::Regex;

use super::PatternError;
use super::filepath::{clean, dir, is_go_space, match_bytes};
use super::goregex::translate;

/// An ordered list of `.dockerignore`-style patterns.
#[derive(Debug, Clone)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    strategy: Strategy,
}

#[derive(Debug, Clone)]
enum Strategy {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regexp(Regex),
}

impl PatternMatcher {
    /// Builds a matcher like `patternmatcher.New`: each pattern is trimmed,
    /// empty ones are dropped, the rest are `filepath.Clean`ed, and a leading
    /// `!` makes an exception. Unlike upstream, which compiles lazily and
    /// fails on the first path that reaches a broken pattern, every pattern is
    /// compiled here so that a broken one fails the build up front.
    pub fn new(patterns: &[String]) -> Result<PatternMatcher, PatternError> {
        let mut compiled = Vec::with_capacity(patterns.len());
        let mut exclusions = false;
        for raw in patterns {
            let trimmed = raw.trim_matches(is_go_space);
            if trimmed.is_empty() {
                continue;
            }
            let cleaned = clean(trimmed);
            let (exclusion, body) = match cleaned.strip_prefix('!') {
                Some("") => return Err(PatternError::IllegalExclusion),
                Some(body) => (true, body),
                None => (false, cleaned.as_str()),
            };
            exclusions |= exclusion;
            // Upstream validates with `filepath.Match(p, ".")` and returns its
            // error; the name is irrelevant because Go checks the whole pattern.
            if match_bytes(body.as_bytes(), b".").is_err() {
                return Err(PatternError::BadPattern {
                    pattern: body.to_owned(),
                });
            }
            compiled.push(Pattern {
                exclusion,
                strategy: compile(body)?,
            });
        }
        Ok(PatternMatcher {
            patterns: compiled,
            exclusions,
        })
    }

    /// Whether `path` is matched by the patterns, directly or through one of
    /// its parent directories (`MatchesOrParentMatches`). The last pattern that
    /// matches decides; an exception (`!`) un-matches.
    ///
    /// `path` is relative to the context root, `/`-separated, with no leading
    /// `/`, as BuildKit's file walker produces it.
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        let parent = dir(path);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // An inclusion cannot change an already matched path, nor an
            // exception an unmatched one; upstream skips them, and so must we
            // because parent matching makes the order observable.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(path);
            if !hit && parent != "." {
                hit = (1..=parent_dirs.len())
                    .any(|depth| pattern.matches(&parent_dirs[..depth].join("/")));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether `path` itself (not a parent) is matched (`MatchesExact`).
    pub fn matches_exact(&self, path: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            if pattern.matches(path) {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether any pattern is an exception. When there are none, a walker may
    /// skip a matched directory wholesale; otherwise something below it may
    /// be re-included.
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// Whether there are no patterns at all (everything is kept).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.strategy {
            Strategy::Exact(text) => path == text,
            Strategy::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Strategy::Suffix(suffix) => {
                // `**/foo` also matches `foo` at the root.
                path.ends_with(suffix.as_str()) || suffix.strip_prefix('/') == Some(path)
            }
            Strategy::Regexp(regex) => regex.is_match(path),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Detected {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

/// Characters that are regexp syntax but plain in a file pattern; upstream
/// escapes exactly these.
fn should_escape(c: char) -> bool {
    matches!(c, '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$')
}

/// Upstream's `Pattern.compile` for `/` as the separator: the Go regexp text
/// and the strategy it detected.
pub(crate) fn go_regexp(pattern: &str) -> (String, DetectedKind) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut regexp = String::from("^");
    let mut detected = Detected::Exact;
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == '*' {
            if chars.get(i) == Some(&'*') {
                i += 1;
                // `**/` is the same as `**`.
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    // A trailing `**` accepts everything below, as .gitignore.
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        regexp.push_str(".*");
                        detected = Detected::Regexp;
                    }
                } else {
                    // Any number of directories, including none.
                    regexp.push_str("(.*/)?");
                    detected = Detected::Regexp;
                }
                if first {
                    detected = Detected::Suffix;
                }
            } else {
                regexp.push_str("[^/]*");
                detected = Detected::Regexp;
            }
        } else if c == '?' {
            regexp.push_str("[^/]");
            detected = Detected::Regexp;
        } else if should_escape(c) {
            regexp.push('\\');
            regexp.push(c);
        } else if c == '\\' {
            match chars.get(i) {
                Some(&next) => {
                    regexp.push('\\');
                    regexp.push(next);
                    i += 1;
                    detected = Detected::Regexp;
                }
                // A trailing backslash stays, escaped.
                None => regexp.push('\\'),
            }
        } else if c == '[' || c == ']' {
            regexp.push(c);
            detected = Detected::Regexp;
        } else {
            regexp.push(c);
        }
        first = false;
    }
    regexp.push('$');
    (regexp, DetectedKind(detected))
}

/// Opaque wrapper so tests can compare upstream's match type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DetectedKind(Detected);

impl DetectedKind {
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self.0 {
            Detected::Exact => "exact",
            Detected::Prefix => "prefix",
            Detected::Suffix => "suffix",
            Detected::Regexp => "regexp",
        }
    }
}

fn compile(pattern: &str) -> Result<Strategy, PatternError> {
    let (regexp, DetectedKind(detected)) = go_regexp(pattern);
    Ok(match detected {
        Detected::Exact => Strategy::Exact(pattern.to_owned()),
        // The fast paths slice the pattern text, as upstream does; they only
        // arise when `**` sits at the very end or the very start.
        Detected::Prefix => Strategy::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Detected::Suffix => Strategy::Suffix(pattern[2..].to_owned()),
        Detected::Regexp => {
            let rust = translate(&regexp).map_err(|reason| PatternError::BadRegexp {
                pattern: pattern.to_owned(),
                regexp: regexp.clone(),
                reason,
            })?;
            let regex = Regex::new(&rust).map_err(|source| PatternError::Unsupported {
                pattern: pattern.to_owned(),
                regexp: regexp.clone(),
                source: Box::new(source),
            })?;
            Strategy::Regexp(regex)
        }
    })
}
