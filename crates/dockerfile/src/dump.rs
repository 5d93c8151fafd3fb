//! A stable, line-oriented text form of the AST, for golden tests and for
//! debugging (`LINE:COL KEYWORD <typed fields>`).

use std::fmt::Write;

use crate::ast::{Dockerfile, Instruction};

/// Renders `dockerfile` one instruction per line.
pub fn dump(dockerfile: &Dockerfile) -> String {
    let mut out = String::new();
    if dockerfile.escape != '\\' {
        let _ = writeln!(out, "escape {:?}", dockerfile.escape);
    }
    for directive in &dockerfile.directives {
        let _ = writeln!(
            out,
            "directive {}={:?} (line {})",
            directive.name, directive.value, directive.line
        );
    }
    for instruction in &dockerfile.meta_args {
        dump_instruction(&mut out, instruction, "");
    }
    for stage in &dockerfile.stages {
        let _ = writeln!(
            out,
            "{}:{} FROM[{}] {:?}",
            stage.span.line, stage.span.column, stage.index, stage.from
        );
        for instruction in &stage.instructions {
            dump_instruction(&mut out, instruction, "  ");
        }
    }
    for warning in &dockerfile.warnings {
        let _ = writeln!(
            out,
            "warning {}:{} {}",
            warning.span.line, warning.span.column, warning.kind
        );
    }
    out
}

fn dump_instruction(out: &mut String, instruction: &Instruction, indent: &str) {
    let _ = writeln!(
        out,
        "{indent}{}:{}-{} {} {:?}",
        instruction.span.line,
        instruction.span.column,
        instruction.span.end_line,
        instruction.kind.name(),
        instruction.kind
    );
}
