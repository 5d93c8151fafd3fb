//! The stable text and JSON forms of a [`BuildGraph`] (`decant build
//! --print-plan`; the JSON shape is documented in `docs/plan-format.md`).

use std::fmt::Write;

use serde_json::{Value, json};

use crate::platform;
use crate::{Base, BuildGraph, CopySource, InlineFile, NetworkMode, Op, RunMount, Stage, Step};

fn base_json(base: &Base) -> Value {
    match base {
        Base::Scratch => json!({"kind": "scratch"}),
        Base::Image(r) => json!({"kind": "image", "reference": r}),
        Base::Stage(id) => json!({"kind": "stage", "stage": id.0}),
        Base::Context(n) => json!({"kind": "context", "name": n}),
    }
}

fn source_json(source: &CopySource) -> Value {
    match source {
        CopySource::Context => json!({"kind": "context"}),
        CopySource::Stage(id) => json!({"kind": "stage", "stage": id.0}),
        CopySource::Image(r) => json!({"kind": "image", "reference": r}),
        CopySource::NamedContext(n) => json!({"kind": "named-context", "name": n}),
    }
}

fn inline_json(files: &[InlineFile]) -> Value {
    Value::Array(
        files
            .iter()
            .map(|f| json!({"path": f.path, "mode": format!("{:04o}", f.mode), "data": f.data}))
            .collect(),
    )
}

fn mount_json(m: &RunMount) -> Value {
    let mount = &m.mount;
    json!({
        "type": mount.kind.as_str(),
        "from": m.from.as_ref().map(source_json),
        "source": mount.source,
        "target": mount.target,
        "readonly": mount.read_only,
        "id": mount.id,
        "sharing": mount.sharing.map(|s| format!("{s:?}").to_lowercase()),
        "required": mount.required,
        "size": mount.size_limit,
        "env": mount.env,
        "mode": mount.mode.map(|m| format!("{m:04o}")),
        "uid": mount.uid,
        "gid": mount.gid,
    })
}

fn network_str(network: NetworkMode) -> &'static str {
    match network {
        NetworkMode::Default => "default",
        NetworkMode::None => "none",
        NetworkMode::Host => "host",
    }
}

fn op_json(op: &Op) -> Value {
    match op {
        Op::Run(run) => json!({
            "kind": "run",
            "args": run.args,
            "network": network_str(run.network),
            "security_insecure": run.security_insecure,
            "mounts": run.mounts.iter().map(mount_json).collect::<Vec<_>>(),
            "heredoc_files": inline_json(&run.heredoc_files),
        }),
        Op::Copy(copy) => json!({
            "kind": if copy.is_add { "add" } else { "copy" },
            "from": source_json(&copy.from),
            "sources": copy.sources,
            "inline_sources": inline_json(&copy.inline_sources),
            "dest": copy.dest,
            "chown": copy.chown,
            "chmod": copy.chmod,
            "link": copy.link,
            "parents": copy.parents,
            "exclude": copy.exclude,
            "checksum": copy.checksum,
            "keep_git_dir": copy.keep_git_dir,
            "unpack": copy.unpack,
        }),
        Op::Workdir { path } => json!({"kind": "workdir", "path": path}),
        Op::Config => json!({"kind": "config"}),
    }
}

fn step_json(step: &Step) -> Value {
    json!({
        "line": step.line,
        "column": step.column,
        "text": step.text,
        "created_by": step.created_by,
        "history": step.history,
        "onbuild": step.onbuild,
        "op": op_json(&step.op),
        "env": step.state.env,
        "user": step.state.user,
        "workdir": step.state.workdir,
        "shell": step.state.shell,
    })
}

fn stage_json(stage: &Stage) -> Value {
    json!({
        "id": stage.id.0,
        "name": stage.name,
        "base": base_json(&stage.base),
        "platform": platform::format(&stage.platform),
        "deps": stage.deps.iter().map(|d| d.0).collect::<Vec<_>>(),
        "config": serde_json::to_value(&stage.config.config).unwrap_or(Value::Null),
        "os": stage.config.os,
        "architecture": stage.config.architecture,
        "author": stage.config.author,
        "steps": stage.steps.iter().map(step_json).collect::<Vec<_>>(),
    })
}

/// The plan as JSON: `{"version": 1, "target", "stages": [...], "warnings"}`.
pub fn dump_json(graph: &BuildGraph) -> Value {
    json!({
        "version": 1,
        "target": graph.target.0,
        "stages": graph.stages.iter().map(stage_json).collect::<Vec<_>>(),
        "warnings": graph.warnings,
    })
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The plan as text, one stage header and one line per step.
pub fn dump_text(graph: &BuildGraph) -> String {
    let mut out = String::new();
    for stage in &graph.stages {
        let base = match &stage.base {
            Base::Scratch => "scratch".to_string(),
            Base::Image(r) => format!("image {r}"),
            Base::Stage(id) => format!("stage {}", id.0),
            Base::Context(n) => format!("context {n}"),
        };
        let deps: Vec<String> = stage.deps.iter().map(|d| d.0.to_string()).collect();
        let _ = writeln!(
            out,
            "stage {}{} from {} platform {} deps [{}]",
            stage.id.0,
            stage
                .name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            base,
            platform::format(&stage.platform),
            deps.join(", ")
        );
        for step in &stage.steps {
            let marker = if step.onbuild { " onbuild" } else { "" };
            let detail = match &step.op {
                Op::Run(run) => {
                    let mut value = op_json(&step.op);
                    if let Some(obj) = value.as_object_mut() {
                        obj.remove("kind");
                        obj.remove("args");
                        if run.mounts.is_empty() {
                            obj.remove("mounts");
                        }
                        if run.heredoc_files.is_empty() {
                            obj.remove("heredoc_files");
                        }
                        if !run.security_insecure {
                            obj.remove("security_insecure");
                        }
                    }
                    format!("run {} {}", compact(&json!(run.args)), compact(&value))
                }
                Op::Copy(_) => {
                    let mut value = op_json(&step.op);
                    if let Some(obj) = value.as_object_mut() {
                        obj.remove("kind");
                        obj.retain(|_, v| {
                            !(v.is_null()
                                || *v == Value::Bool(false)
                                || v.as_array().is_some_and(|a| a.is_empty()))
                        });
                    }
                    format!(
                        "{} {}",
                        if matches!(&step.op, Op::Copy(c) if c.is_add) {
                            "add"
                        } else {
                            "copy"
                        },
                        compact(&value)
                    )
                }
                Op::Workdir { path } => format!("workdir {path}"),
                Op::Config => "config".to_string(),
            };
            let _ = writeln!(out, "  {}:{}{} {}", step.line, step.column, marker, detail);
            if step.history {
                let _ = writeln!(out, "    created_by: {}", step.created_by);
            }
            let _ = writeln!(
                out,
                "    user={} workdir={} env={}",
                step.state.user.as_deref().unwrap_or("-"),
                step.state.workdir,
                compact(&json!(step.state.env))
            );
        }
        let _ = writeln!(
            out,
            "  config {}/{}: {}",
            stage.config.os,
            stage.config.architecture,
            serde_json::to_string(&stage.config.config).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "target {}", graph.target.0);
    for warning in &graph.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    out
}
