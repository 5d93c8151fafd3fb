//! `.dockerignore` text to patterns, as moby's `ignorefile.ReadAll`.

use super::filepath::{clean, is_go_space};

/// Splits `.dockerignore` text into the pattern list [`super::PatternMatcher`]
/// takes, as moby's `ignorefile.ReadAll`:
///
/// - a UTF-8 byte order mark on the first line is dropped;
/// - lines end at `\n`, and one `\r` before it is dropped (Go's `ScanLines`);
/// - a line whose *first byte* is `#` is a comment, so `  # x` is a pattern;
/// - lines are trimmed and blank ones skipped;
/// - a leading `!` is kept, with the whitespace after it removed;
/// - the rest is `filepath.Clean`ed and a leading `/` dropped, because
///   patterns are relative to the context root (`/` alone stays `/`).
///
/// A lone `!` is returned as is; [`super::PatternMatcher::new`] rejects it.
pub fn parse_ignore_file(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut patterns = Vec::new();
    for line in text.split_terminator('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim_matches(is_go_space);
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim_matches(is_go_space);
        }
        let mut normalized = String::new();
        if !pattern.is_empty() {
            normalized = clean(pattern);
            if normalized.len() > 1 && normalized.starts_with('/') {
                normalized.remove(0);
            }
        }
        if invert {
            normalized.insert(0, '!');
        }
        patterns.push(normalized);
    }
    patterns
}
