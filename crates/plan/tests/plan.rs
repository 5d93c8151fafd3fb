//! Data-driven planner tests. Each directory under `tests/plan/` holds:
//!
//! - `Dockerfile`;
//! - `options` (optional): `build-arg K=V`, `target NAME`,
//!   `context NAME=image:REF|local:DIR`, `platform OS/ARCH[/VARIANT]` lines;
//! - `expected.txt`: `plan::dump_text` of the plan, or `error: <message>`;
//! - `expected.json` (optional): `plan::dump_json` of the plan, pinning the
//!   documented JSON shape (`docs/plan-format.md`);
//! - `expected-config.json` (optional, copied from the conformance suite's
//!   recording of BuildKit): the target's image config and layer count,
//!   compared the way the conformance checker compares them.
//!
//! `UPDATE_EXPECT=1 cargo test -p plan --test plan` rewrites `expected.txt`
//! (review the diff!). `expected-config.json` is never rewritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plan::{BaseResolver, BuildGraph, NamedContext, Op, PlanOptions};
use serde_json::Value;

/// Serves the conformance suite's base images from `tests/images/`.
struct FixtureResolver {
    calls: Vec<String>,
}

/// `busybox` and `conformance/base:1` are the conformance suite's images;
/// any other `name/x:tag` is `tests/images/name_x_tag.json` if present.
fn image_file(reference: &str) -> Option<String> {
    let name = reference
        .trim_start_matches("docker.io/")
        .trim_start_matches("library/");
    match name {
        "busybox" | "busybox:latest" => Some("busybox.json".to_string()),
        "conformance/base:1" => Some("base.json".to_string()),
        other => {
            let file = format!("{}.json", other.replace(['/', ':'], "_"));
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/images")
                .join(&file);
            path.exists().then_some(file)
        }
    }
}

impl BaseResolver for FixtureResolver {
    fn resolve(
        &mut self,
        reference: &str,
        _platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        self.calls.push(reference.to_string());
        let file = image_file(reference).ok_or_else(|| format!("{reference}: not found"))?;
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/images")
            .join(file);
        let text = std::fs::read_to_string(&path)?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn amd64() -> oci::Platform {
    oci::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    }
}

fn options_from(text: &str) -> PlanOptions {
    let mut options = PlanOptions {
        build_args: BTreeMap::new(),
        target: None,
        named_contexts: BTreeMap::new(),
        target_platform: amd64(),
        build_platform: amd64(),
        network: plan::NetworkMode::Default,
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "build-arg" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                options.build_args.insert(k.to_string(), v.to_string());
            }
            "target" => options.target = Some(value.to_string()),
            "context" => {
                let (name, spec) = value.split_once('=').expect("context NAME=SPEC");
                let context = match spec.split_once(':') {
                    Some(("image", r)) => NamedContext::Image(r.to_string()),
                    Some(("local", d)) => NamedContext::Local(d.to_string()),
                    _ => panic!("bad context spec {spec}"),
                };
                options.named_contexts.insert(name.to_string(), context);
            }
            "platform" => {
                let parts: Vec<&str> = value.split('/').collect();
                options.target_platform = oci::Platform {
                    os: parts[0].to_string(),
                    architecture: parts[1].to_string(),
                    variant: parts.get(2).map(|v| v.to_string()),
                    os_version: None,
                };
            }
            "network" => {
                options.network = match value {
                    "none" => plan::NetworkMode::None,
                    "host" => plan::NetworkMode::Host,
                    _ => plan::NetworkMode::Default,
                }
            }
            other => panic!("unknown option {other}"),
        }
    }
    options
}

fn run_case(dir: &Path) -> (String, Option<BuildGraph>) {
    let (text, graph, _) = run_case_full(dir);
    (text, graph)
}

fn run_case_full(dir: &Path) -> (String, Option<BuildGraph>, Option<String>) {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).expect("Dockerfile");
    let options = options_from(&std::fs::read_to_string(dir.join("options")).unwrap_or_default());
    let dockerfile = match dockerfile::parse(&text) {
        Ok(d) => d,
        Err(diagnostic) => return (format!("error: {diagnostic}\n"), None, None),
    };
    let mut resolver = FixtureResolver { calls: Vec::new() };
    match plan::plan(&dockerfile, &options, &mut resolver) {
        Ok(graph) => {
            let mut out = plan::dump_text(&graph);
            out.push_str(&format!("resolved: {:?}\n", resolver.calls));
            let json = serde_json::to_string_pretty(&plan::dump_json(&graph)).expect("json") + "\n";
            (out, Some(graph), Some(json))
        }
        Err(err) => (format!("error: {err}\n"), None, None),
    }
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/plan")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Dockerfile").exists())
        .collect();
    dirs.sort();
    dirs
}

/// The plan dump of every case matches `expected.txt`.
#[test]
fn plan_goldens() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for dir in case_dirs() {
        let (actual, _, json) = run_case_full(&dir);
        let json_path = dir.join("expected.json");
        if json_path.exists() {
            let json = json.unwrap_or_default();
            if update {
                std::fs::write(&json_path, &json).expect("write expected.json");
            } else if std::fs::read_to_string(&json_path).unwrap_or_default() != json {
                failures.push(format!("{}: JSON dump differs:\n{json}", dir.display()));
            }
        }
        let expected_path = dir.join("expected.txt");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// "unset" in the conformance checker: null, "", [] and {}.
fn is_unset(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

fn normalise(field: &str, value: Option<&Value>) -> Value {
    if is_unset(value) {
        return Value::Null;
    }
    let value = value.cloned().unwrap_or(Value::Null);
    match field {
        "Env" => {
            let map: BTreeMap<String, String> = value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str())
                .map(|e| {
                    let (k, v) = e.split_once('=').unwrap_or((e, ""));
                    (k.to_string(), v.to_string())
                })
                .collect();
            serde_json::to_value(map).unwrap_or(Value::Null)
        }
        "ExposedPorts" | "Volumes" => Value::Array(
            value
                .as_object()
                .map(|o| o.keys().map(|k| Value::String(k.clone())).collect())
                .unwrap_or_default(),
        ),
        "Healthcheck" => match value {
            Value::Object(o) => Value::Object(
                o.into_iter()
                    .filter(|(_, v)| !(v == &Value::from(0) || is_unset(Some(v))))
                    .collect(),
            ),
            other => other,
        },
        _ => value,
    }
}

/// Number of layers a stage's image has: its base's plus one per
/// RUN/COPY/ADD/WORKDIR step.
fn layer_count(graph: &BuildGraph, id: plan::StageId) -> usize {
    let Some(stage) = graph.stage(id) else {
        return 0;
    };
    let own = stage
        .steps
        .iter()
        .filter(|s| !matches!(s.op, Op::Config))
        .count();
    let base = match &stage.base {
        plan::Base::Stage(parent) => layer_count(graph, *parent),
        _ => stage.base_config.rootfs.diff_ids.len(),
    };
    base + own
}

/// The target's config equals what BuildKit recorded for the conformance
/// case (fields and "unset" rules of the suite's check.py).
#[test]
fn conformance_configs_match_buildkit() {
    let fields = [
        "Env",
        "Cmd",
        "Entrypoint",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Labels",
        "Volumes",
        "StopSignal",
        "Shell",
        "Healthcheck",
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in case_dirs() {
        let Ok(text) = std::fs::read_to_string(dir.join("expected-config.json")) else {
            continue;
        };
        let expected: Value = serde_json::from_str(&text).expect("expected-config.json");
        let (dump, graph) = run_case(&dir);
        let Some(graph) = graph else {
            failures.push(format!("{}: plan failed: {dump}", dir.display()));
            continue;
        };
        checked += 1;
        let Some(target) = graph.stage(graph.target) else {
            failures.push(format!("{}: no target stage", dir.display()));
            continue;
        };
        let actual = serde_json::to_value(&target.config.config).expect("config json");
        for field in fields {
            let want = normalise(field, expected["config"].get(field));
            let got = normalise(field, actual.get(field));
            if want != got {
                failures.push(format!(
                    "{}: config.{field}: expected {want} got {got}",
                    dir.display()
                ));
            }
        }
        for (field, got) in [
            ("os", target.config.os.clone()),
            ("architecture", target.config.architecture.clone()),
        ] {
            if expected[field] != Value::String(got.clone()) {
                failures.push(format!(
                    "{}: {field}: expected {} got {got}",
                    dir.display(),
                    expected[field]
                ));
            }
        }
        let layers = layer_count(&graph, graph.target);
        if expected["layers"] != layers {
            failures.push(format!(
                "{}: layers: expected {} got {layers}",
                dir.display(),
                expected["layers"]
            ));
        }
    }
    assert!(checked >= 40, "only {checked} conformance configs checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
