//! `decant inspect REF...`: a JSON array of `{Name, RepoTags, Digest, Id,
//! Manifest, Config}`, or one field of each with `--format`.

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::args::InspectArgs;
use crate::build::UsageError;

pub fn run(root: &Path, args: &InspectArgs) -> super::Outcome {
    let path = args.format.as_deref().map(field_path).transpose()?;
    let mut all = Vec::new();
    for reference in &args.references {
        all.push(engine::ops::inspect(root, reference)?.to_json());
    }
    match path {
        None => println!("{}", super::pretty(&Value::Array(all))),
        Some(path) => {
            for value in &all {
                let Some(found) = lookup(value, &path) else {
                    return Err(UsageError {
                        message: format!(
                            "no field {:?} in the image",
                            args.format.as_deref().unwrap_or_default()
                        ),
                        hint: Some(
                            "fields are Name, RepoTags, Digest, Id, Manifest and Config; run `decant inspect REF` to see them".to_string(),
                        ),
                    }
                    .into());
                };
                println!("{}", render(found));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `{{.Config.config.Env}}`, `{{ json .Id }}`, `.Config.config.Env` or
/// `Manifest.layers.0` → the path components.
fn field_path(text: &str) -> Result<Vec<String>, UsageError> {
    let mut inner = text.trim();
    if let Some(body) = inner.strip_prefix("{{").and_then(|t| t.strip_suffix("}}")) {
        inner = body.trim();
        // Go templates' `json` function: we print JSON for non-strings anyway.
        if let Some(rest) = inner.strip_prefix("json ") {
            inner = rest.trim();
        }
    }
    let inner = inner.strip_prefix('.').unwrap_or(inner);
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<String> = inner.split('.').map(str::to_string).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.contains(char::is_whitespace))
    {
        return Err(UsageError {
            message: format!("invalid --format {text:?}"),
            hint: Some("give a field path such as .Config.config.Env or {{.Id}}".to_string()),
        });
    }
    Ok(parts)
}

/// Follows `path`; object keys match exactly, else case-insensitively (Go
/// templates on docker's structs say `.Config.Env` for `config.Env`).
fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = value;
    for part in path {
        current = match current {
            Value::Object(map) => map.get(part).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(_, v)| v)
            })?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Strings print bare, as a Go template prints them; anything else as JSON.
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn field_paths_follow_go_templates_and_jq() {
        let doc = json!({"Id": "sha256:ab", "Config": {"config": {"Env": ["A=1"]}},
            "Manifest": {"layers": [{"digest": "sha256:cd"}]}});
        let cases = [
            ("{{.Id}}", Some("sha256:ab")),
            ("{{ json .Id }}", Some("sha256:ab")),
            (".Id", Some("sha256:ab")),
            ("Id", Some("sha256:ab")),
            (".Config.config.Env", Some("[\"A=1\"]")),
            (".config.Config.env", Some("[\"A=1\"]")),
            (".Manifest.layers.0.digest", Some("sha256:cd")),
            (".Manifest.layers.1.digest", None),
            (".Nope", None),
        ];
        for (format, expected) in cases {
            let path = super::field_path(format).unwrap();
            let got = super::lookup(&doc, &path).map(super::render);
            assert_eq!(got.as_deref(), expected, "{format}");
        }
        assert!(super::field_path(".a..b").is_err());
    }
}
