//! Turning Dockerfile text into a typed AST with spans and diagnostics, word
//! expansion, and `.dockerignore`/wildcard patterns with Go semantics.
//!
//! The parser follows BuildKit's `frontend/dockerfile/parser` and
//! `instructions` packages, the reference for what a Dockerfile means:
//!
//! 1. [`syntax`](crate::syntax) splits the text into logical lines: parser
//!    directives (`# escape=`), BOM and CRLF, comments, continuations
//!    (comment and empty lines inside them are skipped), keyword, `--flags`
//!    and the rest, and heredoc bodies.
//! 2. `instructions` gives each line its meaning: JSON (exec) versus shell
//!    form with BuildKit's fallback to shell form when the JSON is invalid,
//!    every instruction's flags (an unknown flag is an error naming it),
//!    `ENV k v` and `k=v` forms, `RUN --mount` specs.
//! 3. [`parse`] groups the instructions into global ARGs and stages and
//!    attaches a [`Diagnostic`] (`Dockerfile:LINE:COL`, source line, caret,
//!    hint) to any error.
//!
//! Values stay as written: [`shell::Lexer`] expands words, but which words
//! are expanded with which variables is the planner's business.
//!
//! Architecture Invariant: pure. Takes `&str`, does no IO, is not async,
//! knows nothing of files, images or the build.

pub mod ast;
pub mod diagnostic;
mod dump;
mod instructions;
pub mod mount;
pub mod pattern;
pub mod shell;
pub mod suggest;
mod syntax;

pub use ast::*;
pub use diagnostic::{Diagnostic, ParseErrorKind};
pub use dump::dump;
pub use instructions::INSTRUCTIONS;
pub use mount::{CacheSharing, Mount, MountError, MountSpec, MountType};
pub use shell::{EnvLookup, ExpandError, Expansion, Lexer};

use instructions::Parsed;

/// Recognises a heredoc word (`<<EOF`, `<<-'EOF'`, `3<<EOF`) as BuildKit's
/// `ParseHeredoc`; `None` when `word` is not one.
pub fn heredoc_word(word: &str) -> Option<Heredoc> {
    syntax::parse_heredoc_word(word).ok().flatten()
}

/// Strips the leading tabs of every line (`<<-EOF`).
pub fn chomp_heredoc(content: &str) -> String {
    syntax::chomp_heredoc_content(content)
}

/// Parses a whole Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, Diagnostic> {
    let raw = syntax::parse_lines(text)?;
    let lines: Vec<&str> = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .split_inclusive('\n')
        .collect();
    let source_line = |line: usize| lines.get(line.wrapping_sub(1)).copied();
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in &raw.nodes {
        let parsed = instructions::parse_node(node, raw.escape).map_err(|kind| {
            let hint = hint_for(&kind, &node.keyword);
            let column = error_column(&kind, node, source_line(node.span.line));
            let mut span = node.span;
            span.column = column;
            Diagnostic::new(span, kind, source_line(node.span.line)).with_hint(hint)
        })?;
        match parsed {
            Parsed::From(from) => stages.push(Stage {
                index: stages.len(),
                span: node.span,
                text: node.original.trim().to_string(),
                from,
                instructions: Vec::new(),
            }),
            Parsed::Instruction(kind) => {
                let instruction = Instruction {
                    span: node.span,
                    keyword: node.keyword.clone(),
                    text: node.original.trim().to_string(),
                    kind,
                };
                match stages.last_mut() {
                    Some(stage) => stage.instructions.push(instruction),
                    None if matches!(instruction.kind, InstructionKind::Arg(_)) => {
                        meta_args.push(instruction)
                    }
                    None => {
                        return Err(Diagnostic::new(
                            node.span,
                            ParseErrorKind::InstructionBeforeFrom {
                                instruction: instruction.kind.name().to_string(),
                            },
                            source_line(node.span.line),
                        )
                        .with_hint(Some("start the stage with FROM <image>".to_string())));
                    }
                }
            }
        }
    }
    if stages.is_empty() {
        let span = raw.nodes.last().map_or(Span::at(1, 1), |n| n.span);
        return Err(
            Diagnostic::new(span, ParseErrorKind::NoStages, source_line(span.line))
                .with_hint(Some("add a FROM instruction".to_string())),
        );
    }
    Ok(Dockerfile {
        escape: raw.escape,
        directives: raw.directives,
        meta_args,
        stages,
        warnings: raw.warnings,
    })
}

fn hint_for(kind: &ParseErrorKind, keyword: &str) -> Option<String> {
    match kind {
        ParseErrorKind::UnknownInstruction { name } => {
            suggest::closest(name, INSTRUCTIONS.iter().copied())
                .map(|s| format!("did you mean {s}?"))
        }
        ParseErrorKind::UnknownFlag { flag, .. } => {
            let names = instructions::flag_names(&keyword.to_ascii_uppercase());
            match suggest::closest(flag, names.iter().copied()) {
                Some(s) => Some(format!("did you mean --{s}?")),
                None if names.is_empty() => {
                    Some(format!("{} takes no flags", keyword.to_ascii_uppercase()))
                }
                None => Some(format!(
                    "{} accepts {}",
                    keyword.to_ascii_uppercase(),
                    names
                        .iter()
                        .map(|n| format!("--{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        ParseErrorKind::ShellNotJson => {
            Some("write SHELL [\"executable\", \"parameters\"]".to_string())
        }
        ParseErrorKind::InvalidStageName { .. } => {
            Some("stage names match [a-z][a-z0-9-_.]*".to_string())
        }
        _ => None,
    }
}

/// Points the caret at the offending flag when it is on the first line.
fn error_column(kind: &ParseErrorKind, node: &syntax::RawNode, line: Option<&str>) -> usize {
    let needle = match kind {
        ParseErrorKind::UnknownFlag { flag, .. }
        | ParseErrorKind::DuplicateFlag { flag }
        | ParseErrorKind::FlagMissingValue { flag }
        | ParseErrorKind::FlagNotBool { flag, .. } => format!("--{flag}"),
        ParseErrorKind::InvalidNetwork { .. } => "--network".to_string(),
        ParseErrorKind::InvalidSecurity { .. } => "--security".to_string(),
        ParseErrorKind::Mount { .. } => "--mount".to_string(),
        _ => return node.span.column,
    };
    line.and_then(|l| l.find(&needle))
        .map_or(node.span.column, |byte| l_chars(line, byte) + 1)
}

fn l_chars(line: Option<&str>, byte: usize) -> usize {
    line.map_or(0, |l| l[..byte].chars().count())
}

/// Parses one instruction on its own, as BuildKit does for ONBUILD triggers
/// stored in an image config. `FROM` is not an instruction here.
pub fn parse_instruction(text: &str) -> Result<Instruction, Diagnostic> {
    let raw = syntax::parse_lines(text)?;
    let first_line = text.lines().next();
    let node = match raw.nodes.as_slice() {
        [node] => node,
        _ => {
            return Err(Diagnostic::new(
                Span::at(1, 1),
                ParseErrorKind::OnbuildTrigger {
                    instruction: text.trim().to_string(),
                },
                first_line,
            ));
        }
    };
    match instructions::parse_node(node, raw.escape) {
        Ok(Parsed::Instruction(kind)) => Ok(Instruction {
            span: node.span,
            keyword: node.keyword.clone(),
            text: node.original.trim().to_string(),
            kind,
        }),
        Ok(Parsed::From(_)) => Err(Diagnostic::new(
            node.span,
            ParseErrorKind::OnbuildTrigger {
                instruction: "FROM".to_string(),
            },
            first_line,
        )),
        Err(kind) => Err(Diagnostic::new(node.span, kind, first_line)),
    }
}
