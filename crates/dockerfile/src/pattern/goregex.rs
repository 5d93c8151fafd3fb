//! Translation of Go `regexp/syntax` text (Perl flags, as `regexp.Compile`
//! uses) into an equivalent pattern for the `regex` crate.
//!
//! moby/patternmatcher builds a Go regexp by pasting pattern text around
//! `[^/]*` and `(.*/)?`, so user brackets and escapes reach Go's regexp parser
//! unchanged and can even swallow the generated pieces (`[*]` becomes
//! `[[^/]*]`: a class of `[`, `^`, `/`, repeated, then a literal `]`). Rust's
//! syntax differs exactly there: `[` nests inside a class, `&&`/`--`/`~~` are
//! set operators, and `\d`, `\w`, `\s`, `\b` are Unicode-aware while Go's are
//! ASCII. So we parse with Go's rules and re-emit every literal as `\x{..}`
//! and every Perl class as explicit ASCII ranges.
//!
//! Only the syntax that patternmatcher can produce is interpreted: literals,
//! escapes, classes, `.`, anchors, `( ) |` and the `* + ?` repetitions (`{` is
//! always escaped by patternmatcher, so counted repetition never appears).

use std::fmt::Write as _;

/// Why Go's regexp parser would reject the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GoRegexError {
    #[error("trailing backslash at end of expression")]
    TrailingBackslash,
    #[error("invalid escape sequence")]
    InvalidEscape,
    #[error("missing closing ]")]
    MissingBracket,
    #[error("invalid character class range")]
    InvalidCharRange,
}

/// POSIX class names Go accepts inside `[...]`; the `regex` crate accepts the
/// same names with the same ASCII meaning.
const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Go's ASCII Perl classes, as class bodies.
fn perl_class_body(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some((r"\t\n\x0C\r ", false)),
        'S' => Some((r"\t\n\x0C\r ", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

fn push_literal(out: &mut String, c: char) {
    let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
}

/// Translates Go regexp text to `regex` crate syntax with the same meaning.
pub(crate) fn translate(go: &str) -> Result<String, GoRegexError> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1).ok_or(GoRegexError::TrailingBackslash)?;
                match next {
                    'A' => out.push_str(r"\A"),
                    'z' => out.push_str(r"\z"),
                    'b' => out.push_str(r"(?-u:\b)"),
                    'B' => out.push_str(r"(?-u:\B)"),
                    'Q' => {
                        // Literal text up to `\E` or the end of the expression.
                        i += 2;
                        while i < chars.len() {
                            if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 1;
                                break;
                            }
                            push_literal(&mut out, chars[i]);
                            i += 1;
                        }
                        i += 1;
                        continue;
                    }
                    'p' | 'P' => {
                        let end = unicode_class_end(&chars, i)?;
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    _ => {
                        if let Some((body, negated)) = perl_class_body(next) {
                            let caret = if negated { "^" } else { "" };
                            let _ = write!(out, "[{caret}{body}]");
                        } else {
                            let (rune, end) = parse_escape(&chars, i)?;
                            push_literal(&mut out, rune);
                            i = end;
                            continue;
                        }
                    }
                }
                i += 2;
            }
            '[' => {
                i = translate_class(&chars, i, &mut out)?;
            }
            '(' | ')' | '|' | '*' | '+' | '?' | '^' | '$' | '.' => {
                out.push(c);
                i += 1;
            }
            _ => {
                push_literal(&mut out, c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// End (exclusive) of a `\pX` / `\p{Name}` escape starting at `start`.
fn unicode_class_end(chars: &[char], start: usize) -> Result<usize, GoRegexError> {
    match chars.get(start + 2) {
        None => Err(GoRegexError::InvalidEscape),
        Some('{') => chars[start + 3..]
            .iter()
            .position(|&c| c == '}')
            .map(|offset| start + 3 + offset + 1)
            .ok_or(GoRegexError::InvalidEscape),
        Some(_) => Ok(start + 3),
    }
}

/// Go's `parseEscape` for a single-rune escape at `start` (a `\`); returns
/// the rune and the index after the escape.
fn parse_escape(chars: &[char], start: usize) -> Result<(char, usize), GoRegexError> {
    let c = *chars
        .get(start + 1)
        .ok_or(GoRegexError::TrailingBackslash)?;
    let mut i = start + 2;
    let octal = |c: char| ('0'..='7').contains(&c);
    match c {
        // Escaped punctuation is always itself.
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, i)),
        // `\1`..`\7` alone would be a backreference, which Go rejects; with a
        // following octal digit it is an octal escape, like `\0`.
        '1'..='7' if !chars.get(i).copied().is_some_and(octal) => Err(GoRegexError::InvalidEscape),
        '0'..='7' => {
            let mut value = c as u32 - '0' as u32;
            for _ in 1..3 {
                match chars.get(i) {
                    Some(&d) if octal(d) => {
                        value = value * 8 + (d as u32 - '0' as u32);
                        i += 1;
                    }
                    _ => break,
                }
            }
            char::from_u32(value)
                .map(|r| (r, i))
                .ok_or(GoRegexError::InvalidEscape)
        }
        'x' => {
            let first = *chars.get(i).ok_or(GoRegexError::InvalidEscape)?;
            i += 1;
            if first == '{' {
                let mut value: u32 = 0;
                let mut digits = 0;
                loop {
                    let d = *chars.get(i).ok_or(GoRegexError::InvalidEscape)?;
                    i += 1;
                    if d == '}' {
                        break;
                    }
                    let v = d.to_digit(16).ok_or(GoRegexError::InvalidEscape)?;
                    value = value * 16 + v;
                    if value > 0x10FFFF {
                        return Err(GoRegexError::InvalidEscape);
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(GoRegexError::InvalidEscape);
                }
                return char::from_u32(value)
                    .map(|r| (r, i))
                    .ok_or(GoRegexError::InvalidEscape);
            }
            let second = *chars.get(i).ok_or(GoRegexError::InvalidEscape)?;
            i += 1;
            match (first.to_digit(16), second.to_digit(16)) {
                (Some(x), Some(y)) => char::from_u32(x * 16 + y)
                    .map(|r| (r, i))
                    .ok_or(GoRegexError::InvalidEscape),
                _ => Err(GoRegexError::InvalidEscape),
            }
        }
        'a' => Ok(('\u{7}', i)),
        'f' => Ok(('\u{C}', i)),
        'n' => Ok(('\n', i)),
        'r' => Ok(('\r', i)),
        't' => Ok(('\t', i)),
        'v' => Ok(('\u{B}', i)),
        _ => Err(GoRegexError::InvalidEscape),
    }
}

/// Go's `parseClass` from the `[` at `start`; writes a Rust class and returns
/// the index after the closing `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> Result<usize, GoRegexError> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // `]` is a literal when it comes first.
    let mut first = true;
    loop {
        let c = *chars.get(i).ok_or(GoRegexError::MissingBracket)?;
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;

        // POSIX `[:name:]`; Go searches for `:]` in the whole remaining text.
        if c == '[' && chars.get(i + 1) == Some(&':') && chars.len() > i + 2 {
            let rest = &chars[i + 2..];
            if let Some(offset) = rest.windows(2).position(|w| w == [':', ']']) {
                let name: String = rest[..offset].iter().collect();
                let bare = name.strip_prefix('^').unwrap_or(&name);
                if !POSIX_CLASSES.contains(&bare) {
                    return Err(GoRegexError::InvalidCharRange);
                }
                let _ = write!(out, "[:{name}:]");
                i += 2 + offset + 2;
                continue;
            }
        }
        if c == '\\' {
            match chars.get(i + 1) {
                Some('p' | 'P') => {
                    let end = unicode_class_end(chars, i)?;
                    out.extend(&chars[i..end]);
                    i = end;
                    continue;
                }
                Some(&next) => {
                    if let Some((body, negated)) = perl_class_body(next) {
                        let caret = if negated { "^" } else { "" };
                        let _ = write!(out, "[{caret}{body}]");
                        i += 2;
                        continue;
                    }
                }
                None => {}
            }
        }

        let (lo, after_lo) = class_char(chars, i)?;
        i = after_lo;
        let mut hi = lo;
        // `a-]` means `a` and `-`, so a range needs something after the `-`.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (h, after_hi) = class_char(chars, i + 1)?;
            if h < lo {
                return Err(GoRegexError::InvalidCharRange);
            }
            hi = h;
            i = after_hi;
        }
        push_literal(out, lo);
        if hi != lo {
            out.push('-');
            push_literal(out, hi);
        }
    }
}

fn class_char(chars: &[char], i: usize) -> Result<(char, usize), GoRegexError> {
    match chars.get(i) {
        None => Err(GoRegexError::MissingBracket),
        Some('\\') => parse_escape(chars, i),
        Some(&c) => Ok((c, i + 1)),
    }
}
