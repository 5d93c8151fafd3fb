//! Checksumming a build context for a `COPY . .` cache key: every file
//! hashed (no checksum cache, as in a first build), and revalidated from the
//! store's checksum cache (a rebuild with nothing changed). Throughput is in
//! context bytes.
//!
//! `cargo bench -p engine --bench context_checksum`

use std::fs;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A source-tree-like context: `dirs` directories of `files` files whose
/// sizes cycle from 500 B to 32 KiB. Returns the total bytes.
fn make_context(root: &Path, dirs: usize, files: usize) -> u64 {
    let mut total = 0;
    for d in 0..dirs {
        let dir = root.join(format!("pkg{d:03}"));
        fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..files {
            let len = 500 + (d * files + f) % 64 * 500;
            let text: Vec<u8> = (0..len)
                .map(|i| b'a' + ((i * 7 + f + d) % 26) as u8)
                .collect();
            fs::write(dir.join(format!("file{f:03}.go")), &text).expect("write");
            total += len as u64;
        }
    }
    total
}

fn checksum(c: &mut Criterion) {
    let context = tempfile::tempdir().expect("tempdir");
    let bytes = make_context(context.path(), 50, 100);
    let sources = vec![".".to_string()];
    // The checksum cache only remembers files older than its racy margin.
    std::thread::sleep(Duration::from_millis(1100));
    let store = tempfile::tempdir().expect("tempdir");
    engine::bench::context_checksum(context.path(), &sources, Some(store.path())).expect("prime");

    let mut group = c.benchmark_group("context_checksum_5000_files");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("hash_every_file", |b| {
        b.iter(|| {
            engine::bench::context_checksum(context.path(), &sources, None).expect("checksum")
        })
    });
    group.bench_function("revalidate_from_cache", |b| {
        b.iter(|| {
            engine::bench::context_checksum(context.path(), &sources, Some(store.path()))
                .expect("checksum")
        })
    });
    group.finish();
}

criterion_group!(benches, checksum);
criterion_main!(benches);
