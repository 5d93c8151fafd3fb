//! Parse + plan throughput on a synthetic Dockerfile of 500 stages and
//! 10,000 instructions, where every stage needs the one before it (through
//! `FROM` or `COPY --from`), so the target pulls in the whole graph.
//!
//! Run with `cargo bench -p plan --bench parse_plan`; the figure is recorded
//! in `bench/README.md`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use plan::{BaseResolver, PlanOptions};

const STAGES: usize = 500;
const INSTRUCTIONS_PER_STAGE: usize = 20;

/// Every stage is `INSTRUCTIONS_PER_STAGE` instructions including its FROM.
fn synthetic_dockerfile() -> String {
    let mut text = String::from("# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\n");
    for stage in 0..STAGES {
        let from = if stage % 2 == 1 {
            format!("s{}", stage - 1)
        } else {
            "${BASE}".to_owned()
        };
        let _ = writeln!(text, "FROM {from} AS s{stage}");
        let _ = writeln!(text, "ARG VERSION=1.{stage}");
        let _ = writeln!(text, "ENV STAGE={stage} PATH=/opt/s{stage}/bin:$PATH");
        let _ = writeln!(text, "LABEL stage.{stage}=\"$VERSION\" build=synthetic");
        let _ = writeln!(text, "WORKDIR /opt/s{stage}");
        let _ = writeln!(
            text,
            "RUN --mount=type=cache,target=/root/.cache \\\n    echo \"stage $STAGE at ${{VERSION}}\" > /opt/s{stage}/info"
        );
        if stage > 0 {
            let _ = writeln!(
                text,
                "COPY --from=s{} /opt/s{}/info /opt/s{stage}/previous",
                stage - 1,
                stage - 1
            );
        } else {
            let _ = writeln!(text, "COPY . /opt/s{stage}/src");
        }
        let _ = writeln!(
            text,
            "COPY --chown=1000:1000 --chmod=644 conf/*.yaml ./conf/"
        );
        let _ = writeln!(text, "ADD files.tar.gz /opt/s{stage}/files");
        let _ = writeln!(text, "USER 1000:1000");
        let _ = writeln!(text, "EXPOSE {}/tcp", 8000 + stage);
        let _ = writeln!(text, "VOLUME /data/s{stage}");
        let _ = writeln!(text, "SHELL [\"/bin/sh\", \"-ec\"]");
        let _ = writeln!(text, "RUN <<EOF\nset -e\necho $STAGE\nEOF");
        let _ = writeln!(text, "USER root");
        let _ = writeln!(text, "STOPSIGNAL SIGTERM");
        let _ = writeln!(text, "HEALTHCHECK --interval=30s CMD [\"true\"]");
        let _ = writeln!(text, "ENTRYPOINT [\"/bin/sh\", \"-c\"]");
        let _ = writeln!(text, "CMD echo s{stage}");
    }
    text
}

struct EmptyConfig;

impl BaseResolver for EmptyConfig {
    fn resolve(
        &mut self,
        _reference: &str,
        _platform: &oci::Platform,
    ) -> Result<oci::ImageConfig, Box<dyn std::error::Error + Send + Sync>> {
        Ok(oci::ImageConfig::default())
    }
}

fn parse_and_plan(c: &mut Criterion) {
    let text = synthetic_dockerfile();
    let dockerfile = dockerfile::parse(&text).expect("synthetic Dockerfile parses");
    let instructions: usize = dockerfile
        .stages
        .iter()
        .map(|s| s.instructions.len() + 1)
        .sum();
    assert_eq!(dockerfile.stages.len(), STAGES);
    assert_eq!(instructions, STAGES * INSTRUCTIONS_PER_STAGE);
    let options = PlanOptions::for_host();
    let graph = plan::plan(&dockerfile, &options, &mut EmptyConfig).expect("synthetic plan");
    assert_eq!(graph.stages.len(), STAGES, "the target needs every stage");

    c.bench_function("parse 500 stages / 10k instructions", |b| {
        b.iter(|| dockerfile::parse(black_box(&text)))
    });
    c.bench_function("plan 500 stages / 10k instructions", |b| {
        b.iter(|| plan::plan(black_box(&dockerfile), &options, &mut EmptyConfig))
    });
    c.bench_function("parse + plan 500 stages / 10k instructions", |b| {
        b.iter(|| {
            let dockerfile = dockerfile::parse(black_box(&text)).expect("parses");
            plan::plan(&dockerfile, &options, &mut EmptyConfig)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = parse_and_plan
}
criterion_main!(benches);
