//! Parse + plan throughput on a synthetic Dockerfile of 500 stages and
//! 10,000 instructions (FROM lines included; plus one global ARG).
//!
//! The stages form 20 chains of 25: inside a chain every stage needs the one
//! before it (through `FROM` or `COPY --from`), and the last stage copies
//! from the tail of every other chain, so the default target needs all 500.
//! Chains are kept short on purpose: the planner recurses once per
//! dependency level, and a single 500-deep chain overflows the stack of a
//! debug build (reported to the planner's owner).
//!
//! Run with `cargo bench -p plan --bench parse_plan`; the figure is recorded
//! in `bench/README.md`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use plan::{BaseResolver, PlanOptions};

const STAGES: usize = 500;
const CHAIN: usize = 25;
const INSTRUCTIONS_PER_STAGE: usize = 20;

/// The body of an ordinary stage: `INSTRUCTIONS_PER_STAGE - 1` lines after
/// its FROM. `previous` is the stage to copy from, if any.
fn ordinary_stage(text: &mut String, stage: usize, previous: Option<usize>) {
    let _ = writeln!(text, "ARG VERSION=1.{stage}");
    let _ = writeln!(text, "ENV STAGE={stage} PATH=/opt/s{stage}/bin:$PATH");
    let _ = writeln!(text, "LABEL stage.{stage}=\"$VERSION\" build=synthetic");
    let _ = writeln!(text, "WORKDIR /opt/s{stage}");
    let _ = writeln!(
        text,
        "RUN --mount=type=cache,target=/root/.cache \\\n    echo \"stage $STAGE at ${{VERSION}}\" > /opt/s{stage}/info"
    );
    match previous {
        Some(previous) => {
            let _ = writeln!(
                text,
                "COPY --from=s{previous} /opt/s{previous}/info /opt/s{stage}/previous"
            );
        }
        None => {
            let _ = writeln!(text, "COPY . /opt/s{stage}/src");
        }
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
    let _ = writeln!(text, "RUN --network=none test -f /opt/s{stage}/info");
    let _ = writeln!(text, "STOPSIGNAL SIGTERM");
    let _ = writeln!(text, "HEALTHCHECK --interval=30s CMD [\"true\"]");
    let _ = writeln!(text, "ENTRYPOINT [\"/bin/sh\", \"-c\"]");
    let _ = writeln!(text, "CMD echo s{stage}");
}

fn synthetic_dockerfile() -> String {
    let mut text = String::from("# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\n");
    for stage in 0..STAGES - 1 {
        let position = stage % CHAIN;
        if position % 2 == 1 {
            // Odd links build on the previous stage...
            let _ = writeln!(text, "FROM s{} AS s{stage}", stage - 1);
            ordinary_stage(&mut text, stage, None);
        } else {
            // ...even ones copy from it (chain heads start afresh).
            let _ = writeln!(text, "FROM ${{BASE}} AS s{stage}");
            ordinary_stage(&mut text, stage, (position > 0).then(|| stage - 1));
        }
    }
    // The target: continues the last chain and gathers every other tail.
    let last = STAGES - 1;
    let _ = writeln!(text, "FROM s{} AS s{last}", last - 1);
    for chain in 0..STAGES / CHAIN - 1 {
        let tail = chain * CHAIN + CHAIN - 1;
        let _ = writeln!(
            text,
            "COPY --from=s{tail} /opt/s{tail}/info /gathered/s{tail}"
        );
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
