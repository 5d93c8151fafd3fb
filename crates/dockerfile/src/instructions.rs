//! Giving each raw line its meaning: the argument syntax and the flags of
//! every instruction, as BuildKit's `parser/line_parsers.go` and
//! `instructions/parse.go`. Unknown flags, missing arguments and malformed
//! values are errors here, before anything is built.

use std::collections::BTreeMap;

use crate::ast::*;
use crate::diagnostic::ParseErrorKind;
use crate::mount::MountSpec;
use crate::syntax::{
    JsonForm, RawNode, chomp_heredoc_content, parse_heredoc_word, parse_json_array, split_command,
    split_whitespace,
};

/// All instruction keywords, for "did you mean" hints.
pub const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A parsed line: a stage start or an instruction.
pub(crate) enum Parsed {
    From(From),
    Instruction(InstructionKind),
}

#[derive(Clone, Copy, PartialEq)]
enum FlagKind {
    Bool,
    String,
    Strings,
}

#[derive(Default)]
struct Flags {
    bools: BTreeMap<&'static str, bool>,
    strings: BTreeMap<&'static str, String>,
    lists: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    fn bool(&self, name: &str) -> Option<bool> {
        self.bools.get(name).copied()
    }
    fn string(&self, name: &str) -> Option<String> {
        self.strings.get(name).cloned()
    }
    fn list(&self, name: &str) -> Vec<String> {
        self.lists.get(name).cloned().unwrap_or_default()
    }
}

/// BuildKit's `BFlags.Parse`.
fn parse_flags(
    instruction: &str,
    args: &[String],
    specs: &[(&'static str, FlagKind)],
) -> Result<Flags, ParseErrorKind> {
    let mut flags = Flags::default();
    let mut used: Vec<&str> = Vec::new();
    for arg in args {
        if arg == "--" {
            break;
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(ParseErrorKind::FlagWithoutDashes { arg: arg.clone() });
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(&(spec_name, kind)) = specs.iter().find(|(n, _)| *n == name) else {
            return Err(ParseErrorKind::UnknownFlag {
                instruction: instruction.to_string(),
                flag: name.to_string(),
            });
        };
        if used.contains(&spec_name) && kind != FlagKind::Strings {
            return Err(ParseErrorKind::DuplicateFlag {
                flag: name.to_string(),
            });
        }
        used.push(spec_name);
        match kind {
            FlagKind::Bool => {
                let b = match value {
                    Some("") => {
                        return Err(ParseErrorKind::FlagMissingValue {
                            flag: name.to_string(),
                        });
                    }
                    None => true,
                    Some(v) => match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ParseErrorKind::FlagNotBool {
                                flag: name.to_string(),
                                value: v.to_string(),
                            });
                        }
                    },
                };
                flags.bools.insert(spec_name, b);
            }
            FlagKind::String => {
                let Some(v) = value else {
                    return Err(ParseErrorKind::FlagMissingValue {
                        flag: name.to_string(),
                    });
                };
                flags.strings.insert(spec_name, v.to_string());
            }
            FlagKind::Strings => {
                let Some(v) = value else {
                    return Err(ParseErrorKind::FlagMissingValue {
                        flag: name.to_string(),
                    });
                };
                flags
                    .lists
                    .entry(spec_name)
                    .or_default()
                    .push(v.to_string());
            }
        }
    }
    Ok(flags)
}

/// The flags every instruction accepts, for hints.
pub(crate) fn flag_names(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "ADD" => &[
            "chown",
            "chmod",
            "link",
            "keep-git-dir",
            "checksum",
            "unpack",
            "exclude",
        ],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "FROM" => &["platform"],
        "RUN" => &["mount", "network", "security"],
        "HEALTHCHECK" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    }
}

fn no_flags(instruction: &str, flags: &[String]) -> Result<(), ParseErrorKind> {
    parse_flags(instruction, flags, &[]).map(|_| ())
}

/// `parseWords`: split at whitespace keeping quotes and escapes in place.
fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut i = 0;
    loop {
        let at_end = i >= chars.len();
        let ch = chars.get(i).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                i += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                i += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            let mut ch = ch;
            if ch == escape {
                if i + 1 == chars.len() {
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                ch = chars[i];
            }
            word.push(ch);
            i += 1;
            continue;
        }
        // Quote phase.
        if ch == quote {
            phase = Phase::Word;
        }
        let mut ch = ch;
        if ch == escape && quote != '\'' {
            if i + 1 == chars.len() {
                phase = Phase::Word;
                i += 1;
                continue;
            }
            word.push(ch);
            i += 1;
            ch = chars[i];
        }
        word.push(ch);
        i += 1;
    }
    words
}

fn parse_name_val(
    rest: &str,
    instruction: &str,
    escape: char,
) -> Result<Vec<KeyValue>, ParseErrorKind> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Err(ParseErrorKind::AtLeastOneArgument {
            instruction: instruction.into(),
        });
    };
    if !first.contains('=') {
        let parts = split_whitespace(rest, 2);
        if parts.len() < 2 {
            return Err(ParseErrorKind::TwoArguments {
                instruction: instruction.into(),
            });
        }
        return Ok(vec![KeyValue {
            key: parts[0].clone(),
            value: parts[1].clone(),
            legacy: true,
        }]);
    }
    let mut out = Vec::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(ParseErrorKind::MissingEquals { word });
        };
        if key.is_empty() {
            return Err(ParseErrorKind::BlankName {
                instruction: instruction.into(),
            });
        }
        out.push(KeyValue {
            key: key.to_string(),
            value: value.to_string(),
            legacy: false,
        });
    }
    Ok(out)
}

/// JSON array or the whole rest as one shell-form string.
fn maybe_json(rest: &str) -> Result<CommandLine, ParseErrorKind> {
    match parse_json_array(rest) {
        JsonForm::Array(values) => Ok(CommandLine::Exec(values)),
        JsonForm::NotStrings => Err(ParseErrorKind::JsonNotStrings),
        JsonForm::NotJson => Ok(CommandLine::Shell(rest.to_string())),
    }
}

/// JSON array or whitespace-separated words.
fn maybe_json_list(rest: &str) -> Result<(Vec<String>, bool), ParseErrorKind> {
    match parse_json_array(rest) {
        JsonForm::Array(values) => Ok((values, true)),
        JsonForm::NotStrings => Err(ParseErrorKind::JsonNotStrings),
        JsonForm::NotJson if rest.is_empty() => Ok((Vec::new(), false)),
        JsonForm::NotJson => Ok((split_whitespace(rest, 0), false)),
    }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut s) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if end == 0 {
            return None;
        }
        let number: f64 = s[..end].parse().ok()?;
        s = &s[end..];
        let unit_end = s
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let value = total.round() as i64;
    Some(if negative { -value } else { value })
}

fn parse_interval(flags: &Flags, name: &str) -> Result<i64, ParseErrorKind> {
    let Some(value) = flags.string(name).filter(|v| !v.is_empty()) else {
        return Ok(0);
    };
    let duration = parse_go_duration(&value).ok_or_else(|| ParseErrorKind::InvalidDuration {
        flag: name.to_string(),
        value: value.clone(),
    })?;
    if duration != 0 && duration < 1_000_000 {
        return Err(ParseErrorKind::DurationTooShort {
            flag: name.to_string(),
        });
    }
    Ok(duration)
}

fn sources_and_dest(
    instruction: &str,
    args: &[String],
    heredocs: &[Heredoc],
) -> Result<CopyArgs, ParseErrorKind> {
    if args.len() < 2 {
        return Err(ParseErrorKind::NoDestination {
            instruction: instruction.into(),
        });
    }
    let (dest, srcs) = args.split_last().ok_or(ParseErrorKind::NoDestination {
        instruction: instruction.into(),
    })?;
    if parse_heredoc_word(dest)?.is_some() {
        return Err(ParseErrorKind::HeredocDestination {
            instruction: instruction.into(),
        });
    }
    let mut copy = CopyArgs {
        dest: dest.clone(),
        ..CopyArgs::default()
    };
    for src in srcs {
        match parse_heredoc_word(src)? {
            Some(doc) => {
                let body = heredocs
                    .iter()
                    .find(|h| h.name == doc.name)
                    .map(|h| h.content.clone())
                    .unwrap_or_default();
                let content = if doc.chomp {
                    chomp_heredoc_content(&body)
                } else {
                    body
                };
                copy.heredoc_sources.push(HeredocSource {
                    name: doc.name,
                    content,
                    expand: doc.expand,
                });
            }
            None => copy.sources.push(src.clone()),
        }
    }
    Ok(copy)
}

/// Parses one raw node. `keyword` is upper-cased by the caller.
pub(crate) fn parse_node(node: &RawNode, escape: char) -> Result<Parsed, ParseErrorKind> {
    let keyword = node.keyword.to_ascii_uppercase();
    let rest = node.rest.as_str();
    let flags = &node.flags;
    use FlagKind::{Bool, String as Str, Strings};
    let kind = match keyword.as_str() {
        "FROM" => {
            let f = parse_flags("FROM", flags, &[("platform", Str)])?;
            let args = if rest.is_empty() {
                Vec::new()
            } else {
                split_whitespace(rest, 0)
            };
            let name = match args.as_slice() {
                [_] => None,
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                    let lower = name.to_lowercase();
                    if !valid_stage_name(&lower) {
                        return Err(ParseErrorKind::InvalidStageName { name: name.clone() });
                    }
                    Some(lower)
                }
                _ => return Err(ParseErrorKind::FromArguments),
            };
            return Ok(Parsed::From(From {
                image: args[0].clone(),
                name,
                platform: f.string("platform"),
            }));
        }
        "RUN" => {
            let f = parse_flags(
                "RUN",
                flags,
                &[("mount", Strings), ("network", Str), ("security", Str)],
            )?;
            let mut mounts = Vec::new();
            for text in f.list("mount") {
                mounts.push(
                    MountSpec::parse(&text).map_err(|source| ParseErrorKind::Mount { source })?,
                );
            }
            let network = match f.string("network") {
                None => None,
                Some(v) => Some(match v.as_str() {
                    "default" => NetworkMode::Default,
                    "none" => NetworkMode::None,
                    "host" => NetworkMode::Host,
                    _ => return Err(ParseErrorKind::InvalidNetwork { value: v }),
                }),
            };
            let security = match f.string("security") {
                None => None,
                Some(v) => Some(match v.as_str() {
                    "sandbox" => SecurityMode::Sandbox,
                    "insecure" => SecurityMode::Insecure,
                    _ => return Err(ParseErrorKind::InvalidSecurity { value: v }),
                }),
            };
            let command = if rest.is_empty() {
                CommandLine::Shell(String::new())
            } else {
                maybe_json(rest)?
            };
            InstructionKind::Run(Run {
                command,
                heredocs: node.heredocs.clone(),
                mounts,
                network,
                security,
            })
        }
        "CMD" => {
            no_flags("CMD", flags)?;
            InstructionKind::Cmd(if rest.is_empty() {
                CommandLine::Exec(Vec::new())
            } else {
                maybe_json(rest)?
            })
        }
        "ENTRYPOINT" => {
            no_flags("ENTRYPOINT", flags)?;
            InstructionKind::Entrypoint(if rest.is_empty() {
                CommandLine::Exec(Vec::new())
            } else {
                maybe_json(rest)?
            })
        }
        "SHELL" => {
            no_flags("SHELL", flags)?;
            match parse_json_array(rest) {
                JsonForm::Array(v) if !v.is_empty() => InstructionKind::Shell(v),
                JsonForm::Array(_) => {
                    return Err(ParseErrorKind::AtLeastOneArgument {
                        instruction: "SHELL".into(),
                    });
                }
                JsonForm::NotStrings => return Err(ParseErrorKind::JsonNotStrings),
                JsonForm::NotJson if rest.is_empty() => {
                    return Err(ParseErrorKind::AtLeastOneArgument {
                        instruction: "SHELL".into(),
                    });
                }
                JsonForm::NotJson => return Err(ParseErrorKind::ShellNotJson),
            }
        }
        "ENV" | "LABEL" => {
            no_flags(&keyword, flags)?;
            let pairs = if rest.is_empty() {
                return Err(ParseErrorKind::AtLeastOneArgument {
                    instruction: keyword.clone(),
                });
            } else {
                parse_name_val(rest, &keyword, escape)?
            };
            if keyword == "ENV" {
                InstructionKind::Env(pairs)
            } else {
                InstructionKind::Label(pairs)
            }
        }
        "ARG" => {
            no_flags("ARG", flags)?;
            let words = parse_words(rest, escape);
            if words.is_empty() {
                return Err(ParseErrorKind::AtLeastOneArgument {
                    instruction: "ARG".into(),
                });
            }
            let mut decls = Vec::new();
            for word in words {
                match word.split_once('=') {
                    Some(("", _)) => {
                        return Err(ParseErrorKind::BlankName {
                            instruction: "ARG".into(),
                        });
                    }
                    Some((k, v)) => decls.push(ArgDecl {
                        name: k.to_string(),
                        default: Some(v.to_string()),
                    }),
                    None => decls.push(ArgDecl {
                        name: word,
                        default: None,
                    }),
                }
            }
            InstructionKind::Arg(decls)
        }
        "COPY" | "ADD" => {
            let is_add = keyword == "ADD";
            let f = if is_add {
                parse_flags(
                    "ADD",
                    flags,
                    &[
                        ("chown", Str),
                        ("chmod", Str),
                        ("link", Bool),
                        ("keep-git-dir", Bool),
                        ("checksum", Str),
                        ("unpack", Bool),
                        ("exclude", Strings),
                    ],
                )?
            } else {
                parse_flags(
                    "COPY",
                    flags,
                    &[
                        ("chown", Str),
                        ("from", Str),
                        ("chmod", Str),
                        ("link", Bool),
                        ("exclude", Strings),
                        ("parents", Bool),
                    ],
                )?
            };
            let (args, json) = maybe_json_list(rest)?;
            let mut copy = sources_and_dest(&keyword, &args, &node.heredocs)?;
            copy.json = json;
            copy.from = f.string("from").filter(|s| !s.is_empty());
            copy.chown = f.string("chown").filter(|s| !s.is_empty());
            copy.chmod = f.string("chmod").filter(|s| !s.is_empty());
            copy.link = f.bool("link").unwrap_or(false);
            copy.parents = f.bool("parents").unwrap_or(false);
            copy.exclude = f.list("exclude");
            copy.checksum = f.string("checksum").filter(|s| !s.is_empty());
            copy.keep_git_dir = f.bool("keep-git-dir");
            copy.unpack = f.bool("unpack");
            if is_add {
                InstructionKind::Add(copy)
            } else {
                InstructionKind::Copy(copy)
            }
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" => {
            no_flags(&keyword, flags)?;
            if rest.is_empty() {
                return Err(ParseErrorKind::ExactlyOneArgument {
                    instruction: keyword.clone(),
                });
            }
            // parseString keeps the rest whole; the typed layer requires one
            // argument, which is that whole string.
            let value = rest.to_string();
            match keyword.as_str() {
                "WORKDIR" => InstructionKind::Workdir(value),
                "USER" => InstructionKind::User(value),
                "STOPSIGNAL" => InstructionKind::StopSignal(value),
                _ => InstructionKind::Maintainer(value),
            }
        }
        "VOLUME" => {
            no_flags("VOLUME", flags)?;
            let (args, _) = maybe_json_list(rest)?;
            if args.is_empty() {
                return Err(ParseErrorKind::AtLeastOneArgument {
                    instruction: "VOLUME".into(),
                });
            }
            let mut volumes = Vec::new();
            for v in args {
                let v = v.trim();
                if v.is_empty() {
                    return Err(ParseErrorKind::EmptyVolume);
                }
                volumes.push(v.to_string());
            }
            InstructionKind::Volume(volumes)
        }
        "EXPOSE" => {
            no_flags("EXPOSE", flags)?;
            if rest.is_empty() {
                return Err(ParseErrorKind::AtLeastOneArgument {
                    instruction: "EXPOSE".into(),
                });
            }
            let mut ports = split_whitespace(rest, 0);
            ports.sort();
            InstructionKind::Expose(ports)
        }
        "HEALTHCHECK" => parse_healthcheck(rest, flags)?,
        "ONBUILD" => {
            no_flags("ONBUILD", flags)?;
            if rest.is_empty() {
                return Err(ParseErrorKind::AtLeastOneArgument {
                    instruction: "ONBUILD".into(),
                });
            }
            let (child_keyword, child_flags, child_rest) = split_command(rest, escape);
            let upper = child_keyword.to_ascii_uppercase();
            match upper.as_str() {
                "ONBUILD" => return Err(ParseErrorKind::OnbuildChain),
                "MAINTAINER" | "FROM" => {
                    return Err(ParseErrorKind::OnbuildTrigger { instruction: upper });
                }
                _ => {}
            }
            let child = RawNode {
                keyword: child_keyword,
                span: node.span,
                flags: child_flags,
                rest: child_rest,
                original: rest.to_string(),
                heredocs: node.heredocs.clone(),
            };
            let Parsed::Instruction(child_kind) = parse_node(&child, escape)? else {
                return Err(ParseErrorKind::OnbuildTrigger { instruction: upper });
            };
            let mut expression = onbuild_expression(&node.original);
            for doc in &node.heredocs {
                expression.push('\n');
                expression.push_str(&doc.content);
                expression.push_str(&doc.name);
            }
            InstructionKind::Onbuild(Onbuild {
                expression,
                trigger: Box::new(Instruction {
                    span: node.span,
                    keyword: child.keyword.clone(),
                    text: child.original.clone(),
                    kind: child_kind,
                }),
            })
        }
        _ => {
            return Err(ParseErrorKind::UnknownInstruction {
                name: node.keyword.clone(),
            });
        }
    };
    Ok(Parsed::Instruction(kind))
}

/// `(?i)^\s*ONBUILD\s*` removed from the original line.
fn onbuild_expression(original: &str) -> String {
    let trimmed = original.trim_start();
    let rest = if trimmed.len() >= 7 && trimmed[..7].eq_ignore_ascii_case("onbuild") {
        &trimmed[7..]
    } else {
        trimmed
    };
    rest.trim_start().to_string()
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn parse_healthcheck(rest: &str, flags: &[String]) -> Result<InstructionKind, ParseErrorKind> {
    let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if sep == 0 {
        return Err(ParseErrorKind::AtLeastOneArgument {
            instruction: "HEALTHCHECK".into(),
        });
    }
    let kind = rest[..sep].to_ascii_uppercase();
    let cmd = rest[sep..].trim_start();
    if kind == "NONE" {
        if !cmd.is_empty() {
            return Err(ParseErrorKind::HealthcheckNoneArguments);
        }
        // BuildKit does not parse flags for NONE; they are ignored.
        return Ok(InstructionKind::Healthcheck(Healthcheck::None));
    }
    use FlagKind::String;
    let f = parse_flags(
        "HEALTHCHECK",
        flags,
        &[
            ("interval", String),
            ("timeout", String),
            ("start-period", String),
            ("start-interval", String),
            ("retries", String),
        ],
    )?;
    if kind != "CMD" {
        return Err(ParseErrorKind::HealthcheckType { kind });
    }
    let test = match maybe_json(cmd)? {
        CommandLine::Exec(args) if !args.is_empty() => {
            let mut test = vec!["CMD".to_string()];
            test.extend(args);
            test
        }
        CommandLine::Shell(text) if !text.is_empty() => vec!["CMD-SHELL".to_string(), text],
        _ => return Err(ParseErrorKind::HealthcheckMissingCommand),
    };
    let retries = match f.string("retries").filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if n >= 0 => i64::from(n),
            _ => return Err(ParseErrorKind::InvalidRetries { value: v }),
        },
    };
    Ok(InstructionKind::Healthcheck(Healthcheck::Check(
        HealthCheck {
            test,
            interval: parse_interval(&f, "interval")?,
            timeout: parse_interval(&f, "timeout")?,
            start_period: parse_interval(&f, "start-period")?,
            start_interval: parse_interval(&f, "start-interval")?,
            retries,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let cases = [
            ("10s", Some(10_000_000_000)),
            ("1m30s", Some(90_000_000_000)),
            ("1.5h", Some(5_400_000_000_000)),
            ("300ms", Some(300_000_000)),
            ("0", Some(0)),
            ("10", None),
            ("", None),
            ("5x", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_go_duration(text), expected, "{text}");
        }
    }

    #[test]
    fn words_keep_quotes() {
        let cases: &[(&str, &[&str])] = &[
            ("a=1 \"b c\"=\"d e\"", &["a=1", "\"b c\"=\"d e\""]),
            ("x=\\$y", &["x=\\$y"]),
            ("a='x y' b", &["a='x y'", "b"]),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_words(text, '\\'), *expected, "{text}");
        }
    }
}
