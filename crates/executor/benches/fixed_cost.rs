//! The fixed cost of a RUN step: `executor::run` of `true` over a busybox
//! root, against `runc run` of the same command on a copy of the same root
//! (Debian's runc, `runc spec` defaults: its own network namespace, cgroups).
//!
//! `cargo bench -p executor --bench fixed_cost [-- ITERATIONS]`. A plain
//! timing loop rather than criterion: each sample forks several processes
//! and mounts a dozen filesystems, so criterion's statistics add little and
//! its warm-up would multiply the run time on the shared 2-core machines.
//! Like the tests, this binary is its own helper program (HELPER_ARG).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use executor::{ExitStatus, Network};

fn summarise(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    let mean = total / samples.len() as u32;
    let median = samples[samples.len() / 2];
    let p90 = samples[samples.len() * 9 / 10];
    println!(
        "{name:<34} n={:<4} min {:>7.2?}  median {:>7.2?}  mean {:>7.2?}  p90 {:>7.2?}",
        samples.len(),
        samples[0],
        median,
        mean,
        p90
    );
}

fn bench_executor(
    root: &support::BusyboxRoot,
    network: Network,
    iterations: usize,
) -> Vec<Duration> {
    let mut spec = root.spec(&["true"]);
    spec.network = network;
    (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let status = executor::run(&spec, &mut |_, _| {}).expect("executor run");
            let elapsed = start.elapsed();
            assert_eq!(status, ExitStatus::Exited(0));
            elapsed
        })
        .collect()
}

fn runc_bundle(root: &Path) -> Option<tempfile::TempDir> {
    let bundle = tempfile::Builder::new()
        .prefix("decant-bench-runc-")
        .tempdir()
        .ok()?;
    let copied = Command::new("cp")
        .arg("-a")
        .arg(root)
        .arg(bundle.path().join("rootfs"))
        .status()
        .ok()?;
    let spec = Command::new("runc")
        .arg("spec")
        .current_dir(bundle.path())
        .status()
        .ok()?;
    if !copied.success() || !spec.success() {
        return None;
    }
    let config_path = bundle.path().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).ok()?).ok()?;
    config["process"]["args"] = serde_json::json!(["true"]);
    config["process"]["terminal"] = serde_json::json!(false);
    config["root"]["readonly"] = serde_json::json!(false);
    std::fs::write(&config_path, serde_json::to_vec(&config).ok()?).ok()?;
    Some(bundle)
}

fn bench_runc(bundle: &Path, iterations: usize) -> Vec<Duration> {
    (0..iterations)
        .map(|index| {
            let id = format!("decant-bench-{}-{index}", std::process::id());
            let start = Instant::now();
            let status = Command::new("runc")
                .args(["run", "--bundle"])
                .arg(bundle)
                .arg(&id)
                .stdin(Stdio::null())
                .status()
                .expect("runc run");
            let elapsed = start.elapsed();
            assert!(status.success(), "runc run failed: {status}");
            elapsed
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(executor::HELPER_ARG) {
        executor::helper_main();
    }
    // cargo bench passes "--bench"; a bare number sets the iteration count.
    let iterations = args
        .iter()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(50)
        .max(2);
    if !support::require_root("the executor fixed-cost bench") {
        return;
    }
    let root = support::BusyboxRoot::new();
    // One untimed run each to warm the page cache.
    let _ = bench_executor(&root, Network::Host, 1);
    summarise(
        "executor::run true (network host)",
        bench_executor(&root, Network::Host, iterations),
    );
    summarise(
        "executor::run true (network none)",
        bench_executor(&root, Network::None, iterations),
    );
    let runc_available = Command::new("runc")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    match runc_bundle(root.path()).filter(|_| runc_available) {
        Some(bundle) => {
            let _ = bench_runc(bundle.path(), 1);
            summarise(
                "runc run true (runc spec defaults)",
                bench_runc(bundle.path(), iterations),
            );
        }
        None => eprintln!("SKIP: runc comparison (apt-get install -y runc)"),
    }
}
