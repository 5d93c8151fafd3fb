//! Property: a layer's bytes are a pure function of the diff and the
//! options. Random trees are built twice (different inodes, creation order
//! and mtimes on disk before normalising) and written with different thread
//! counts; the bytes, digest and diffID must match, and applying the layer
//! must give the tree back.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::tree;
use layer::{ApplyLimits, ApplyMode, Compression, WriteOptions, apply_layer, write_layer};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Node {
    File { mode: u32, len: usize },
    Dir { mode: u32 },
    Symlink { target: String },
}

fn node() -> impl Strategy<Value = Node> {
    prop_oneof![
        (
            prop::sample::select(vec![0o644u32, 0o600, 0o755, 0o4755]),
            0usize..70_000
        )
            .prop_map(|(mode, len)| Node::File { mode, len }),
        prop::sample::select(vec![0o755u32, 0o700, 0o1777]).prop_map(|mode| Node::Dir { mode }),
        "[a-z./]{1,20}".prop_map(|target| Node::Symlink { target }),
    ]
}

/// Paths from a small alphabet so that nesting and name collisions happen.
fn trees() -> impl Strategy<Value = BTreeMap<Vec<String>, Node>> {
    prop::collection::btree_map(
        prop::collection::vec(
            prop::sample::select(vec![
                "a",
                "b",
                "a-b",
                "Z",
                "é",
                "long-name-ddddddddddddddddddddddddddddddddddddddddddddddddddddd",
            ])
            .prop_map(String::from),
            1..4,
        ),
        node(),
        1..24,
    )
}

/// Builds the tree; parents that the map lacks or that are not dirs make
/// the child be skipped, so every generated map gives a valid tree.
fn build(root: &Path, nodes: &BTreeMap<Vec<String>, Node>, reverse: bool) {
    let mut order: Vec<_> = nodes.iter().collect();
    // Parents first either way; siblings in opposite orders.
    order.sort_by(|(a, _), (b, _)| {
        a.len()
            .cmp(&b.len())
            .then_with(|| if reverse { b.cmp(a) } else { a.cmp(b) })
    });
    let mut dirs = vec![];
    for (path, node) in order {
        let parent = &path[..path.len() - 1];
        if !parent.is_empty() && !matches!(nodes.get(parent), Some(Node::Dir { .. })) {
            continue;
        }
        let full = path.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        if !full.parent().unwrap().is_dir() {
            continue;
        }
        let rel = path.join("/");
        match node {
            Node::File { mode, len } => {
                std::fs::write(&full, tree::pseudo_random(*len)).unwrap();
                tree::build(root, &format!("chmod {rel} {mode:o}"));
            }
            Node::Dir { mode } => {
                std::fs::create_dir(&full).unwrap();
                dirs.push((rel, *mode));
            }
            Node::Symlink { target } => std::os::unix::fs::symlink(target, &full).unwrap(),
        }
    }
    for (rel, mode) in dirs {
        tree::build(root, &format!("chmod {rel} {mode:o}"));
    }
}

fn write(dir: &Path, compression: Compression, threads: usize) -> (layer::WrittenLayer, Vec<u8>) {
    let mut out = Vec::new();
    let written = write_layer(
        dir,
        &mut out,
        &WriteOptions {
            compression,
            // Clamps every mtime: both copies were made "now".
            source_date_epoch: Some(1_700_000_000),
            threads,
        },
    )
    .unwrap();
    (written, out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn same_diff_same_bytes(
        nodes in trees(),
        compression in prop::sample::select(vec![Compression::Gzip, Compression::Zstd, Compression::Uncompressed]),
        threads in 1usize..5,
    ) {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        build(first.path(), &nodes, false);
        build(second.path(), &nodes, true);
        let (a, bytes_a) = write(first.path(), compression, 1);
        let (b, bytes_b) = write(second.path(), compression, threads);
        prop_assert_eq!(&a, &b);
        prop_assert!(bytes_a == bytes_b);

        let target = tempfile::tempdir().unwrap();
        let diff_id = apply_layer(&mut &bytes_a[..], target.path(), ApplyMode::Overlay, &ApplyLimits::default()).unwrap();
        prop_assert_eq!(diff_id, a.diff_id);
        // Mtimes were clamped on the way in, so compare without them.
        prop_assert_eq!(tree::dump(target.path(), tree::NO_TIMES), tree::dump(first.path(), tree::NO_TIMES));
    }

    #[test]
    fn compressing_an_uncompressed_layer_gives_the_directly_written_bytes(
        nodes in trees(),
        compression in prop::sample::select(vec![Compression::Gzip, Compression::Zstd]),
        threads in 1usize..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &nodes, false);
        let (direct, direct_bytes) = write(dir.path(), compression, 1);
        let (plain, plain_bytes) = write(dir.path(), Compression::Uncompressed, 1);
        let mut out = Vec::new();
        let recompressed = layer::compress_tar(
            &mut &plain_bytes[..],
            &mut out,
            &WriteOptions { compression, source_date_epoch: None, threads },
        )
        .unwrap();
        prop_assert_eq!(&recompressed, &direct);
        prop_assert_eq!(&recompressed.diff_id, &plain.diff_id);
        prop_assert!(out == direct_bytes);
    }
}
