//! `decant du`: what each area of the store holds.

use std::path::Path;
use std::process::ExitCode;

use crate::args::{DuArgs, ListFormat};

pub fn run(root: &Path, args: &DuArgs) -> super::Outcome {
    let usage = engine::ops::du(root)?;
    let areas = [
        (
            "blobs",
            "compressed layers, configs, manifests",
            usage.blobs,
        ),
        ("layers", "unpacked layers (snapshots)", usage.layers),
        ("images", "tags", usage.images),
        ("cache", "build cache records", usage.cache),
        (
            "cache-mounts",
            "RUN --mount=type=cache directories",
            usage.cache_mounts,
        ),
        (
            "tmp",
            "scratch space of running or dead processes",
            usage.tmp,
        ),
    ];
    if args.format == ListFormat::Json {
        let mut map = serde_json::Map::new();
        for (name, _, area) in &areas {
            map.insert(
                name.to_string(),
                serde_json::json!({"count": area.count, "bytes": area.bytes}),
            );
        }
        map.insert("total_bytes".into(), usage.total_bytes().into());
        println!("{}", super::pretty(&serde_json::Value::Object(map)));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "AREA".to_string(),
        "COUNT".to_string(),
        "SIZE".to_string(),
        "WHAT".to_string(),
    ]];
    for (name, what, area) in &areas {
        rows.push(vec![
            name.to_string(),
            area.count.to_string(),
            super::human_size(area.bytes),
            what.to_string(),
        ]);
    }
    rows.push(vec![
        "total".to_string(),
        String::new(),
        super::human_size(usage.total_bytes()),
        String::new(),
    ]);
    print!("{}", super::images::table(&rows));
    Ok(ExitCode::SUCCESS)
}
