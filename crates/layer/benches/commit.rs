//! Committing a step: a diff dir of many files written as a layer, per
//! compression. Throughput is in uncompressed file bytes.
//!
//! `cargo bench -p layer --bench commit`

use std::fs;
use std::io;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use layer::{Compression, WriteOptions, write_layer};

/// Deterministic, partly compressible content (text-like with noise), so
/// the compressors do real work.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state.is_multiple_of(4) {
                (state >> 32) as u8
            } else {
                b'a' + (state % 7) as u8
            }
        })
        .collect()
}

/// 2000 files in 40 dirs: mostly small files and a few large ones, about
/// 48 MiB, like a package install.
fn make_tree(root: &Path) -> u64 {
    let mut total = 0;
    for d in 0..40 {
        let dir = root.join(format!("dir{d:02}"));
        fs::create_dir(&dir).unwrap();
        for f in 0..50 {
            let len = match f {
                0 => 2 << 20,
                1..=9 => 64 << 10,
                _ => 4 << 10,
            };
            fs::write(
                dir.join(format!("file{f:02}")),
                content((d * 100 + f) as u64, len),
            )
            .unwrap();
            total += len as u64;
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let tree = tempfile::tempdir().unwrap();
    let total = make_tree(tree.path());
    let mut group = c.benchmark_group("write_layer");
    group.throughput(Throughput::Bytes(total));
    group.sample_size(10);
    for (name, compression) in [
        ("gzip", Compression::Gzip),
        ("zstd", Compression::Zstd),
        ("uncompressed", Compression::Uncompressed),
    ] {
        let options = WriteOptions {
            compression,
            ..WriteOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| write_layer(tree.path(), &mut io::sink(), &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
