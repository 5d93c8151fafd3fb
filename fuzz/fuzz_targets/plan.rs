//! Whatever parses must plan to a graph or a `PlanError`, never a panic:
//! stage references, ARG expansion, mounts and heredocs all come from the
//! untrusted Dockerfile. The first byte picks a target-stage name so
//! `--target` handling is exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;

struct EmptyConfig;

impl plan::BaseResolver for EmptyConfig {
    fn resolve(
        &mut self,
        _reference: &str,
        _platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(oci::ImageConfig::default())
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let Ok(dockerfile) = dockerfile::parse(&text) else {
        return;
    };
    let linux = oci::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
        os_version: None,
    };
    let mut options = plan::PlanOptions::for_host();
    options.target_platform = linux.clone();
    options.build_platform = linux;
    let names: Vec<String> = dockerfile
        .stages
        .iter()
        .filter_map(|stage| stage.from.name.clone())
        .collect();
    if selector % 2 == 1 && !names.is_empty() {
        options.target = Some(names[usize::from(*selector) % names.len()].clone());
    }
    let _ = plan::plan(&dockerfile, &options, &mut EmptyConfig);
});
