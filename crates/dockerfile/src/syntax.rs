//! The line layer of the parser, as BuildKit's `frontend/dockerfile/parser`:
//! parser directives, BOM and CRLF, comments, line continuations (including
//! comment and empty lines inside them), the split into keyword, `--flags` and
//! the rest of the line, and heredoc bodies.
//!
//! It produces [`RawNode`]s; giving them meaning per instruction is
//! `instructions`' job.

use crate::ast::{Directive, Heredoc, Span};
use crate::diagnostic::{Diagnostic, ParseErrorKind};
use crate::shell::{Lexer, NoEnv};

/// One logical line: an instruction with its continuation lines joined.
#[derive(Debug, Clone)]
pub(crate) struct RawNode {
    pub keyword: String,
    pub span: Span,
    pub flags: Vec<String>,
    /// Everything after the keyword and flags, trimmed.
    pub rest: String,
    /// The logical line as joined (keyword included).
    pub original: String,
    pub heredocs: Vec<Heredoc>,
}

pub(crate) struct RawFile {
    pub nodes: Vec<RawNode>,
    pub escape: char,
    pub directives: Vec<Directive>,
    pub warnings: Vec<Diagnostic>,
}

struct DirectiveParser {
    done: bool,
    seen: Vec<String>,
}

impl DirectiveParser {
    /// Looks for `# key=value` while only directives have been seen so far.
    fn parse_line(&mut self, line: &str) -> Result<Option<(String, String)>, ParseErrorKind> {
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(None);
        };
        let rest = rest.trim_start();
        let parsed = parse_directive(rest);
        let Some((key, value)) = parsed else {
            self.done = true;
            return Ok(None);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&key) {
            return Err(ParseErrorKind::DuplicateDirective { name: key });
        }
        self.seen.push(key.clone());
        Ok(Some((key, value)))
    }
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`
fn parse_directive(text: &str) -> Option<(String, String)> {
    let mut chars = text.char_indices();
    let (_, first) = chars.next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let key_end = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(text.len(), |(i, _)| i);
    let key = &text[..key_end];
    let after = text[key_end..].trim_start_matches(is_go_space);
    let value = after.strip_prefix('=')?.trim_matches(is_go_space);
    if value.is_empty() {
        return None;
    }
    Some((key.to_string(), value.to_string()))
}

/// Go's regexp `\s`: `[\t\n\f\r ]`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]+`.
pub(crate) fn is_re_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits at runs of `[\t\v\f\r ]`, at most `limit` parts (0 = unlimited).
pub(crate) fn split_whitespace(text: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        if limit != 0 && parts.len() + 1 == limit {
            parts.push(rest.to_string());
            break;
        }
        match rest.find(is_re_whitespace) {
            Some(start) => {
                parts.push(rest[..start].to_string());
                let after = &rest[start..];
                let skip = after.find(|c| !is_re_whitespace(c)).unwrap_or(after.len());
                rest = &after[skip..];
            }
            None => {
                parts.push(rest.to_string());
                break;
            }
        }
    }
    parts
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing escape token (and blanks after it) unless it is the
/// escaped character of a preceding escape token; returns whether the
/// instruction ends on this line. Same as BuildKit's continuation regex
/// `([^\\])\\[ \t]*$|^\\[ \t]*$`.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape) {
        match before.chars().last() {
            None => return (String::new(), false),
            Some(prev) if prev != escape => return (before.to_string(), false),
            Some(_) => {}
        }
    }
    (line.to_string(), true)
}

/// Keywords whose argument may contain heredocs (`ONBUILD` checks its child).
fn can_contain_heredoc(keyword: &str, rest: &str, escape: char) -> bool {
    let lower = keyword.to_ascii_lowercase();
    if lower == "onbuild" {
        let (child, _, child_rest) = split_command(rest, escape);
        return can_contain_heredoc(&child, &child_rest, escape);
    }
    if !matches!(lower.as_str(), "run" | "copy" | "add") {
        return false;
    }
    !is_json_array(rest)
}

/// Whether `rest` parses as a JSON array of strings (the exec form).
pub(crate) fn is_json_array(rest: &str) -> bool {
    matches!(parse_json_array(rest), JsonForm::Array(_))
}

pub(crate) enum JsonForm {
    Array(Vec<String>),
    NotStrings,
    NotJson,
}

/// BuildKit's `parseJSON`: must start with `[` and be a JSON array; an array
/// with a non-string element is an error, anything else is shell form.
pub(crate) fn parse_json_array(rest: &str) -> JsonForm {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return JsonForm::NotJson;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Ok(values) => {
            let mut out = Vec::with_capacity(values.len());
            for value in values {
                match value {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return JsonForm::NotStrings,
                }
            }
            JsonForm::Array(out)
        }
        Err(_) => JsonForm::NotJson,
    }
}

/// Splits a logical line into keyword, flags and the rest (BuildKit
/// `splitCommand` + `extractBuilderFlags`).
pub(crate) fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let parts = split_whitespace(line.trim(), 2);
    let keyword = parts.first().cloned().unwrap_or_default();
    match parts.get(1) {
        Some(after) => {
            let (rest, flags) = extract_builder_flags(after, escape);
            (keyword, flags, rest.trim().to_string())
        }
        None => (keyword, Vec::new(), String::new()),
    }
}

fn extract_builder_flags(line: &str, escape: char) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut i = 0;
    loop {
        let at_end = i >= chars.len();
        let ch = chars.get(i).map(|&(_, c)| c).unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            let next = chars.get(i + 1).map(|&(_, c)| c);
            if ch != '-' || next != Some('-') {
                return (line[chars[i].0..].to_string(), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if word == "--" {
                    return (line[chars[i].0..].to_string(), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                i += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                i += 1;
                continue;
            }
            let mut ch = ch;
            if ch == escape {
                if i + 1 == chars.len() {
                    i += 1;
                    continue;
                }
                i += 1;
                ch = chars[i].1;
            }
            word.push(ch);
            i += 1;
            continue;
        }
        // In a quote.
        if ch == quote {
            phase = Phase::Word;
            i += 1;
            continue;
        }
        let mut ch = ch;
        if ch == escape {
            if i + 1 == chars.len() {
                phase = Phase::Word;
                i += 1;
                continue;
            }
            i += 1;
            ch = chars[i].1;
        }
        word.push(ch);
        i += 1;
    }
    (String::new(), words)
}

/// `^(\d*)<<(-?)\s*([^<]*)$` and the quoting check of BuildKit's
/// `heredocFromMatch`.
pub(crate) fn parse_heredoc_word(word: &str) -> Result<Option<Heredoc>, ParseErrorKind> {
    let digits_end = word
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(word.len(), |(i, _)| i);
    let Some(after) = word[digits_end..].strip_prefix("<<") else {
        return Ok(None);
    };
    let fd: u32 = word[..digits_end].parse().unwrap_or(0);
    let (chomp, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    let rest = after.trim_start_matches(is_go_space);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let mut lexer = Lexer::new('\\');
    lexer.skip_unset_env = true;
    let words = lexer
        .process_words(rest, &NoEnv)
        .map_err(|source| ParseErrorKind::Expand { source })?;
    if words.len() != 1 {
        return Ok(None);
    }
    lexer.raw_quotes = true;
    let raw_words = lexer
        .process_words(rest, &NoEnv)
        .map_err(|source| ParseErrorKind::Expand { source })?;
    let name = words[0].clone();
    let count = |s: &str| s.matches(['\'', '"']).count();
    let expand = raw_words.len() == 1 && count(&name) == count(&raw_words[0]);
    Ok(Some(Heredoc {
        name,
        file_descriptor: fd,
        expand,
        chomp,
        content: String::new(),
    }))
}

fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, ParseErrorKind> {
    let mut lexer = Lexer::new('\\');
    lexer.raw_quotes = true;
    lexer.raw_escapes = true;
    lexer.skip_unset_env = true;
    let words = lexer.process_words(line, &NoEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc_word(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// Strips leading tabs from every line (`<<-EOF`).
pub(crate) fn chomp_heredoc_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

pub(crate) fn parse_lines(text: &str) -> Result<RawFile, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut escape = '\\';
    let mut directive_parser = DirectiveParser {
        done: false,
        seen: Vec::new(),
    };
    let mut directives = Vec::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut index = 0;

    // Processes one physical line: newline trimmed, optionally left-trimmed,
    // a directive recognised, comments emptied.
    let mut process_line = |raw: &str,
                            strip_left: bool,
                            line_no: usize,
                            escape: &mut char,
                            directives: &mut Vec<Directive>|
     -> Result<String, Diagnostic> {
        let mut token = trim_newline(raw);
        if strip_left {
            token = token.trim_start();
        }
        match directive_parser.parse_line(token) {
            Ok(Some((name, value))) => {
                if name == "escape" {
                    match value.as_str() {
                        "\\" => *escape = '\\',
                        "`" => *escape = '`',
                        _ => {
                            return Err(Diagnostic::new(
                                Span::at(line_no, 1),
                                ParseErrorKind::InvalidEscapeToken { value },
                                Some(raw),
                            ));
                        }
                    }
                }
                directives.push(Directive {
                    name,
                    value,
                    line: line_no,
                });
            }
            Ok(None) => {}
            Err(kind) => return Err(Diagnostic::new(Span::at(line_no, 1), kind, Some(raw))),
        }
        Ok(if is_comment(token) {
            String::new()
        } else {
            token.to_string()
        })
    };

    while index < lines.len() {
        let raw = lines[index];
        index += 1;
        let start_line = index;
        let processed = process_line(raw, true, start_line, &mut escape, &mut directives)?;
        let (first, mut end_of_line) = trim_continuation(&processed, escape);
        if end_of_line && first.is_empty() {
            continue;
        }
        let column = raw.chars().take_while(|c| c.is_whitespace()).count() + 1;
        let mut buf = first;
        let mut empty_continuation = false;
        while !end_of_line && index < lines.len() {
            let raw = lines[index];
            index += 1;
            let processed = process_line(raw, false, index, &mut escape, &mut directives)?;
            if is_comment(raw) {
                continue;
            }
            if processed.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, end) = trim_continuation(&processed, escape);
            end_of_line = end;
            buf.push_str(&part);
        }
        if empty_continuation {
            warnings.push(Diagnostic::new(
                Span::at(start_line, column),
                ParseErrorKind::EmptyContinuationLine,
                lines.get(start_line - 1).copied(),
            ));
        }
        let (keyword, flags, rest) = split_command(&buf, escape);
        let mut node = RawNode {
            keyword,
            span: Span {
                line: start_line,
                column,
                end_line: index,
            },
            flags,
            rest,
            original: buf.clone(),
            heredocs: Vec::new(),
        };
        if can_contain_heredoc(&node.keyword, &node.rest, escape) && buf.contains("<<") {
            let docs = heredocs_from_line(&buf)
                .map_err(|kind| Diagnostic::new(node.span, kind, Some(lines[start_line - 1])))?;
            for mut doc in docs {
                let mut terminated = false;
                let mut content = String::new();
                while index < lines.len() {
                    let raw = lines[index];
                    index += 1;
                    let mut candidate = trim_newline(raw);
                    if doc.chomp {
                        candidate = candidate.trim_start_matches('\t');
                    }
                    if candidate == doc.name {
                        terminated = true;
                        break;
                    }
                    content.push_str(raw);
                }
                if !terminated {
                    return Err(Diagnostic::new(
                        node.span,
                        ParseErrorKind::UnterminatedHeredoc { name: doc.name },
                        Some(lines[start_line - 1]),
                    ));
                }
                doc.content = content;
                node.heredocs.push(doc);
            }
            node.span.end_line = index;
        }
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(Diagnostic::new(
            Span::at(lines.len().max(1), 1),
            ParseErrorKind::NoInstructions,
            None,
        ));
    }
    Ok(RawFile {
        nodes,
        escape,
        directives,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_split_from_the_rest() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            ("COPY --from=a b c", "COPY", &["--from=a"], "b c"),
            (
                "RUN --mount=type=cache,target=/x echo",
                "RUN",
                &["--mount=type=cache,target=/x"],
                "echo",
            ),
            ("COPY -- --x y", "COPY", &[], "--x y"),
            ("COPY --chown=\"a b\" x y", "COPY", &["--chown=a b"], "x y"),
            ("run   echo  hi ", "run", &[], "echo  hi"),
            ("CMD", "CMD", &[], ""),
        ];
        for (line, keyword, flags, rest) in cases {
            let (k, f, r) = split_command(line, '\\');
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            assert_eq!(
                (k.as_str(), f.as_slice(), r.as_str()),
                (*keyword, *flags, *rest),
                "{line}"
            );
        }
    }

    #[test]
    fn continuation_rules() {
        let cases: &[(&str, &str, bool)] = &[
            ("a \\", "a ", false),
            ("a \\  ", "a ", false),
            ("\\", "", false),
            ("a \\\\", "a \\\\", true),
            ("a", "a", true),
        ];
        for (line, out, end) in cases {
            assert_eq!(
                trim_continuation(line, '\\'),
                (out.to_string(), *end),
                "{line}"
            );
        }
    }

    #[test]
    fn heredoc_words() {
        type Expected = Option<(&'static str, bool, bool)>;
        let cases: &[(&str, Expected)] = &[
            ("<<EOF", Some(("EOF", true, false))),
            ("<<-EOF", Some(("EOF", true, true))),
            ("<<'EOF'", Some(("EOF", false, false))),
            ("<<\"EOF\"", Some(("EOF", false, false))),
            ("2<<EOF", Some(("EOF", true, false))),
            ("<<", None),
            ("cat <<EOF", None),
        ];
        for (word, expected) in cases {
            let got = parse_heredoc_word(word)
                .ok()
                .flatten()
                .map(|h| (h.name, h.expand, h.chomp));
            let expected = expected.map(|(n, e, c)| (n.to_string(), e, c));
            assert_eq!(got, expected, "{word}");
        }
    }
}
