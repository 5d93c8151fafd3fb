//! Word expansion and shell-like word splitting with the semantics of
//! BuildKit's `frontend/dockerfile/shell/lex.go`: `$v`, `${v}`, the
//! `${v:-w}` `${v-w}` `${v:+w}` `${v+w}` `${v:?msg}` `${v?msg}` defaults,
//! `${v#p}` `${v##p}` `${v%p}` `${v%%p}` trimming and `${v/p/r}` `${v//p/r}`
//! replacement, single and double quotes, and the escape token.
//!
//! This module knows nothing of instructions: callers decide which words of
//! which instruction are expanded, and with which environment.

use std::collections::{BTreeMap, BTreeSet};

/// Where expanded variables come from. Lookup is by exact name (Linux).
pub trait EnvLookup {
    fn lookup(&self, name: &str) -> Option<String>;
}

impl EnvLookup for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// `KEY=value` entries as in an image config; the last entry of a key wins.
impl EnvLookup for [String] {
    fn lookup(&self, name: &str) -> Option<String> {
        self.iter().rev().find_map(|entry| {
            let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
            (k == name).then(|| v.to_string())
        })
    }
}

impl EnvLookup for Vec<String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.as_slice().lookup(name)
    }
}

/// An environment with no variables.
pub struct NoEnv;

impl EnvLookup for NoEnv {
    fn lookup(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Why a word could not be expanded. Messages follow BuildKit's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error(
        "failed to process {word:?}: unexpected end of statement while looking for matching {what}"
    )]
    Unterminated { word: String, what: String },
    #[error("failed to process {word:?}: syntax error: missing '}}'")]
    MissingBrace { word: String },
    #[error("failed to process {word:?}: syntax error: missing '/' in ${{}}")]
    MissingSlash { word: String },
    #[error("failed to process {word:?}: syntax error: bad substitution")]
    BadSubstitution { word: String },
    #[error("failed to process {word:?}: unsupported modifier ({modifier}) in substitution")]
    UnsupportedModifier { word: String, modifier: String },
    #[error("failed to process {word:?}: {name}: {message}")]
    Required {
        word: String,
        name: String,
        message: String,
    },
    #[error("failed to process {word:?}: invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        word: String,
        pattern: String,
        reason: String,
    },
}

/// The result of expanding one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word with variables substituted and quotes removed.
    pub result: String,
    /// The word split at unquoted whitespace (after substitution).
    pub words: Vec<String>,
    /// Variables that were found in the environment.
    pub matched: BTreeSet<String>,
    /// Variables that were referenced but not set.
    pub unmatched: BTreeSet<String>,
}

/// A configured expander (BuildKit's `shell.Lex`).
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    pub escape: char,
    /// Keep the quote characters in the result.
    pub raw_quotes: bool,
    /// Keep the escape characters in the result.
    pub raw_escapes: bool,
    /// Do not treat quotes specially at all (heredoc bodies).
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as written.
    pub skip_unset_env: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// Expands `word` as one word (BuildKit `ProcessWord`).
    pub fn process_word(&self, word: &str, env: &dyn EnvLookup) -> Result<String, ExpandError> {
        Ok(self.process(word, env)?.result)
    }

    /// Expands `word` and splits the result into words (BuildKit `ProcessWords`).
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn EnvLookup,
    ) -> Result<Vec<String>, ExpandError> {
        Ok(self.process(word, env)?.words)
    }

    /// Expands `word`, reporting which variables were used.
    pub fn process(&self, word: &str, env: &dyn EnvLookup) -> Result<Expansion, ExpandError> {
        let mut scanner = Scanner {
            lexer: *self,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: self.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            source: word,
        };
        let (result, words) = scanner.process_stop_on(None, self.raw_escapes)?;
        Ok(Expansion {
            result,
            words,
            matched: scanner.matched,
            unmatched: scanner.unmatched,
        })
    }
}

struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() && self.in_word {
            if !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else if !ch.is_whitespace() {
            self.add_raw_char(ch);
        }
    }
    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }
    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

struct Scanner<'a> {
    lexer: Lexer,
    chars: Vec<char>,
    pos: usize,
    env: &'a dyn EnvLookup,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    source: &'a str,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let ch = self.chars.get(self.pos).copied();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }
    fn word(&self) -> String {
        self.source.to_string()
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let out = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        out
    }

    fn process_stop_on_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), ExpandError> {
        let mut result = String::new();
        let mut words = Words {
            buf: String::new(),
            words: Vec::new(),
            in_word: false,
        };
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let special = match ch {
                '$' => Some(self.process_dollar()?),
                '<' => Some(self.process_possible_heredoc()),
                '\'' if !self.lexer.skip_process_quotes => Some(self.process_single_quote()?),
                '"' if !self.lexer.skip_process_quotes => Some(self.process_double_quote()?),
                _ => None,
            };
            if let Some(text) = special {
                result.push_str(&text);
                if ch == '$' {
                    words.add_string(&text);
                } else {
                    words.add_raw_string(&text);
                }
                continue;
            }
            let mut ch = self.next().unwrap_or(ch);
            if ch == self.lexer.escape {
                if self.raw_escapes {
                    words.add_raw_char(ch);
                    result.push(ch);
                }
                match self.next() {
                    None => break,
                    Some(escaped) => ch = escaped,
                }
                words.add_raw_char(ch);
            } else {
                words.add_char(ch);
            }
            result.push(ch);
        }
        if let Some(stop) = stop {
            return Err(ExpandError::Unterminated {
                word: self.word(),
                what: stop.to_string(),
            });
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Result<String, ExpandError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(ExpandError::Unterminated {
                        word: self.word(),
                        what: "single-quote".to_string(),
                    });
                }
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, ExpandError> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(ExpandError::Unterminated {
                        word: self.word(),
                        what: "double-quote".to_string(),
                    });
                }
                Some('"') => {
                    self.next();
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.lexer.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            // A trailing escape inside an unterminated quote is
                            // dropped; the missing quote is reported next turn.
                            None => continue,
                            Some(next)
                                if next == '"' || next == '$' || next == self.lexer.escape =>
                            {
                                ch = next;
                                self.next();
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.lookup(name) {
            Some(value) => {
                self.matched.insert(name.to_string());
                Some(value)
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    fn process_dollar(&mut self) -> Result<String, ExpandError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace { word: self.word() }),
            Some('{') | Some('}') | Some(':') => {
                return Err(ExpandError::BadSubstitution { word: self.word() });
            }
            Some(_) => {}
        }
        let name = self.process_name();
        let Some(mut ch) = self.next() else {
            return Err(ExpandError::MissingBrace { word: self.word() });
        };
        let mut modifier = ch.to_string();
        match ch {
            '}' => Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let null_is_unset = ch == ':';
                if null_is_unset {
                    match self.next() {
                        Some(next) => {
                            ch = next;
                            modifier.push(next);
                        }
                        None => return Err(ExpandError::MissingBrace { word: self.word() }),
                    }
                }
                let raw = ch == '#' || ch == '%';
                if null_is_unset && raw {
                    return Err(ExpandError::UnsupportedModifier {
                        word: self.word(),
                        modifier,
                    });
                }
                let word = match self.process_stop_on(Some('}'), raw) {
                    Ok((word, _)) => word,
                    Err(err) => {
                        if self.peek().is_none() {
                            return Err(ExpandError::MissingBrace { word: self.word() });
                        }
                        return Err(err);
                    }
                };
                let value = self.get_env(&name);
                let set = value.is_some();
                if self.lexer.skip_unset_env && !set {
                    return Ok(format!("${{{name}{modifier}{word}}}"));
                }
                let value = value.unwrap_or_default();
                match ch {
                    '-' => Ok(if !set || (null_is_unset && value.is_empty()) {
                        word
                    } else {
                        value
                    }),
                    '+' => Ok(if !set || (null_is_unset && value.is_empty()) {
                        String::new()
                    } else {
                        word
                    }),
                    '?' => {
                        if !set || (null_is_unset && value.is_empty()) {
                            let message = if !word.is_empty() {
                                word
                            } else if !set {
                                "is not allowed to be unset".to_string()
                            } else {
                                "is not allowed to be empty".to_string()
                            };
                            return Err(ExpandError::Required {
                                word: self.word(),
                                name,
                                message,
                            });
                        }
                        Ok(value)
                    }
                    '%' | '#' => {
                        let (greedy, pattern) = match word.strip_prefix(ch) {
                            Some(rest) => (true, rest.to_string()),
                            None => (false, word),
                        };
                        let trimmed = if ch == '%' {
                            trim_suffix(&pattern, &value, greedy)
                        } else {
                            trim_prefix(&pattern, &value, greedy)
                        };
                        trimmed.map_err(|reason| ExpandError::InvalidPattern {
                            word: self.word(),
                            pattern,
                            reason,
                        })
                    }
                    _ => Err(ExpandError::UnsupportedModifier {
                        word: self.word(),
                        modifier,
                    }),
                }
            }
            '/' => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.next();
                }
                let pattern = match self.process_stop_on(Some('/'), true) {
                    Ok((p, _)) => p,
                    Err(err) => {
                        if self.peek().is_none() {
                            return Err(ExpandError::MissingSlash { word: self.word() });
                        }
                        return Err(err);
                    }
                };
                let replacement = match self.process_stop_on(Some('}'), true) {
                    Ok((r, _)) => r,
                    Err(err) => {
                        if self.peek().is_none() {
                            return Err(ExpandError::MissingBrace { word: self.word() });
                        }
                        return Err(err);
                    }
                };
                let value = self.get_env(&name);
                let Some(value) = value else {
                    if self.lexer.skip_unset_env {
                        return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                    }
                    return Ok(String::new());
                };
                let re = shell_pattern_to_regex(&pattern, true, false).map_err(|reason| {
                    ExpandError::InvalidPattern {
                        word: self.word(),
                        pattern: pattern.clone(),
                        reason,
                    }
                })?;
                if replace_all {
                    Ok(re
                        .replace_all(&value, regex::NoExpand(&replacement))
                        .into_owned())
                } else if let Some(m) = re.find(&value) {
                    Ok(format!(
                        "{}{}{}",
                        &value[..m.start()],
                        replacement,
                        &value[m.end()..]
                    ))
                } else {
                    Ok(value)
                }
            }
            _ => Err(ExpandError::UnsupportedModifier {
                word: self.word(),
                modifier,
            }),
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut result = "<<".to_string();
        while let Some(ch) = self.peek() {
            if !matches!(ch, '\t' | '\r' | ' ') {
                break;
            }
            result.push(ch);
            self.next();
        }
        result
    }
}

fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

/// Converts a shell wildcard pattern (`*`, `?`, `\` escapes; no brackets) to
/// a regex, as BuildKit's `convertShellPatternToRegex`.
fn shell_pattern_to_regex(
    pattern: &str,
    greedy: bool,
    anchored: bool,
) -> Result<regex::Regex, String> {
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let tok = chars[i];
        i += 1;
        match tok {
            '*' => {
                out.push_str(star);
                continue;
            }
            '?' => {
                out.push('.');
                continue;
            }
            '\\' => {
                // `}` and `/` are escaped inside ${} but the escape is not
                // part of the pattern.
                if matches!(chars.get(i), Some('}') | Some('/')) {
                    continue;
                }
                let Some(&next) = chars.get(i) else {
                    return Err("invalid escape '\\'".to_string());
                };
                i += 1;
                if next != '*' && next != '?' && next != '\\' {
                    return Err(format!("invalid escape '\\{next}'"));
                }
                out.push('\\');
                out.push(next);
                continue;
            }
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => out.push('\\'),
            _ => {}
        }
        out.push(tok);
    }
    // Go's regexp matches `.` against any character except newline, as the
    // regex crate does; multi-line values keep BuildKit's behaviour.
    regex::Regex::new(&out).map_err(|e| e.to_string())
}

fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = shell_pattern_to_regex(pattern, greedy, true)?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// Reverses a pattern without reversing its escapes (`a\*c` -> `c\*a`).
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = vec!['\0'; chars.len()];
    let last = chars.len().saturating_sub(1);
    let mut i = 0;
    while i < chars.len() {
        let tok = chars[i];
        let out_idx = last - i;
        if tok == '\\' && i != last && out_idx >= 1 {
            out[out_idx - 1] = tok;
            out[out_idx] = chars[i + 1];
            i += 2;
        } else {
            out[out_idx] = tok;
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    // Regexes cannot find the shortest rightmost match, so reverse both the
    // pattern and the value and trim a prefix instead (as BuildKit does).
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases in the format of BuildKit's `shell/envVarTest`:
    /// `word | expected` with A=a, B=b, EMPTY="", PATH-like values.
    #[test]
    fn expansion_table() {
        let env: BTreeMap<String, String> = [
            ("A", "a"),
            ("B", "b"),
            ("EMPTY", ""),
            ("P", "/usr/local/bin/app.tar.gz"),
            ("S", "a b  c"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let lexer = Lexer::new('\\');
        let cases: &[(&str, &str)] = &[
            ("$A", "a"),
            ("${A}", "a"),
            ("x${A}y", "xay"),
            ("$A$B", "ab"),
            ("$", "$"),
            ("$1", ""),
            ("\\$A", "$A"),
            ("'$A'", "$A"),
            ("\"$A\"", "a"),
            ("\"\\$A\"", "$A"),
            ("\"a\\b\"", "a\\b"),
            ("${UNSET:-w}", "w"),
            ("${EMPTY:-w}", "w"),
            ("${EMPTY-w}", ""),
            ("${A:-w}", "a"),
            ("${UNSET-w}", "w"),
            ("${A:+w}", "w"),
            ("${EMPTY:+w}", ""),
            ("${EMPTY+w}", "w"),
            ("${UNSET+w}", ""),
            ("${A?msg}", "a"),
            ("${P#*/}", "usr/local/bin/app.tar.gz"),
            ("${P##*/}", "app.tar.gz"),
            ("${P%.*}", "/usr/local/bin/app.tar"),
            ("${P%%.*}", "/usr/local/bin/app"),
            ("${P/local/LOCAL}", "/usr/LOCAL/bin/app.tar.gz"),
            ("${P//a/A}", "/usr/locAl/bin/App.tAr.gz"),
            ("${UNSET/a/b}", ""),
            ("${A:-${B}}", "a"),
            ("${UNSET:-${B}x}", "bx"),
            ("a\\ b", "a b"),
            ("<<EOF", "<<EOF"),
        ];
        for (word, expected) in cases {
            let got = lexer.process_word(word, &env);
            assert_eq!(got.as_deref(), Ok(*expected), "word {word:?}");
        }
    }

    #[test]
    fn splitting_table() {
        let env: BTreeMap<String, String> = [("S", "a b  c")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lexer = Lexer::new('\\');
        let cases: &[(&str, &[&str])] = &[
            ("a b c", &["a", "b", "c"]),
            ("$S", &["a", "b", "c"]),
            ("\"$S\"", &["a b  c"]),
            ("x'y z'", &["xy z"]),
            ("8000-8002 80/tcp", &["8000-8002", "80/tcp"]),
        ];
        for (word, expected) in cases {
            let got = lexer.process_words(word, &env).unwrap_or_default();
            assert_eq!(got, *expected, "word {word:?}");
        }
    }

    #[test]
    fn expansion_errors() {
        let lexer = Lexer::new('\\');
        let cases: &[(&str, &str)] = &[
            ("${A", "missing '}'"),
            ("${}", "bad substitution"),
            ("${A:?custom error}", "A: custom error"),
            ("${A?}", "A: is not allowed to be unset"),
            ("'abc", "matching single-quote"),
            ("\"abc", "matching double-quote"),
            ("${A:=x}", "unsupported modifier (:=)"),
        ];
        for (word, needle) in cases {
            let err = lexer
                .process_word(word, &NoEnv)
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(needle)),
                "word {word:?}: got {err:?}"
            );
        }
    }
}
