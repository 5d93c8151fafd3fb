//! `decant images`: a table like `docker images`, or JSON.

use std::path::Path;
use std::process::ExitCode;

use crate::args::{ImagesArgs, ListFormat};

pub fn run(root: &Path, args: &ImagesArgs) -> super::Outcome {
    let images = engine::ops::list_images(root)?;
    let id_text = |id: &Option<oci::Digest>| match id {
        Some(id) if args.no_trunc => id.to_string(),
        Some(id) => super::short(id),
        None => "<missing>".to_string(),
    };
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for image in &images {
            let id = id_text(&image.id);
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.format == ListFormat::Json {
        let list: Vec<serde_json::Value> = images
            .iter()
            .map(|image| {
                serde_json::json!({
                    "Name": image.name,
                    "Digest": image.manifest_digest.to_string(),
                    "Id": image.id.as_ref().map(|d| d.to_string()),
                    "Created": image.created,
                    "Size": image.size,
                })
            })
            .collect();
        println!("{}", super::pretty(&serde_json::Value::Array(list)));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "REPOSITORY".to_string(),
        "TAG".to_string(),
        "IMAGE ID".to_string(),
        "CREATED".to_string(),
        "SIZE".to_string(),
    ]];
    if args.digests {
        rows[0].insert(2, "DIGEST".to_string());
    }
    for image in &images {
        let (repository, tag) = split_name(&image.name);
        let mut row = vec![
            repository,
            tag,
            id_text(&image.id),
            image.created.clone().unwrap_or_else(|| "-".to_string()),
            super::human_size(image.size),
        ];
        if args.digests {
            row.insert(2, image.manifest_digest.to_string());
        }
        rows.push(row);
    }
    print!("{}", table(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `repo:tag` → (`repo`, `tag`); a digest reference has tag `<none>`.
fn split_name(name: &str) -> (String, String) {
    let without_digest = name.split('@').next().unwrap_or(name);
    match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), tag.to_string()),
        _ => (without_digest.to_string(), "<none>".to_string()),
    }
}

/// Columns padded to their widest cell, three spaces apart, as docker does.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_split_into_repository_and_tag() {
        for (name, repo, tag) in [
            (
                "docker.io/library/busybox:latest",
                "docker.io/library/busybox",
                "latest",
            ),
            ("localhost:5000/app:1", "localhost:5000/app", "1"),
            ("localhost:5000/app", "localhost:5000/app", "<none>"),
            (
                "docker.io/library/a@sha256:00",
                "docker.io/library/a",
                "<none>",
            ),
        ] {
            assert_eq!(super::split_name(name), (repo.to_string(), tag.to_string()));
        }
    }
}
