//! `decant prune [--cache[=DURATION]]`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::args::PruneArgs;
use crate::build::UsageError;

pub fn run(root: &Path, args: &PruneArgs) -> super::Outcome {
    let cache_older_than = args.cache.as_deref().map(parse_duration).transpose()?;
    let report = engine::ops::prune(root, &engine::ops::PruneOptions { cache_older_than })?;
    println!(
        "removed {} blobs, {} unpacked layers, {} cache records, {} cache mounts; freed {}",
        report.blobs_removed,
        report.layers_removed,
        report.cache_removed,
        report.cache_mounts_removed,
        super::human_size(report.bytes_freed)
    );
    Ok(ExitCode::SUCCESS)
}

/// `90s`, `30m`, `24h`, `7d` (a bare number is seconds).
fn parse_duration(text: &str) -> Result<Duration, UsageError> {
    let invalid = || UsageError {
        message: format!("invalid duration {text:?}"),
        hint: Some("write a number with s, m, h or d, e.g. 24h".to_string()),
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_parse() {
        for (text, seconds) in [
            ("0s", Some(0)),
            ("90", Some(90)),
            ("30m", Some(1800)),
            ("24h", Some(86_400)),
            ("7d", Some(604_800)),
            ("h", None),
            ("1w", None),
            ("-1s", None),
        ] {
            assert_eq!(
                super::parse_duration(text).ok().map(|d| d.as_secs()),
                seconds,
                "{text}"
            );
        }
    }
}
