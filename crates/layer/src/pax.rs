//! PAX extended-header records (POSIX.1-2001 `pax` format): the length-prefixed
//! `"%d %s=%s\n"` records that carry what a ustar header cannot hold (long or
//! non-ASCII names, big ids and sizes, `SCHILY.xattr.*`).

/// Encodes records in the given order as one PAX extended-header body.
pub(crate) fn encode(records: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        // The length prefix counts itself, so grow it until it is stable.
        let rest = 1 + key.len() + 1 + value.len() + 1; // ' ', '=', '\n'
        let mut len = rest + 1;
        loop {
            let candidate = rest + len.to_string().len();
            if candidate == len {
                break;
            }
            len = candidate;
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

/// Parses a PAX `mtime` value (`"1700000000"` or `"1700000000.25"`) into
/// seconds and nanoseconds.
pub(crate) fn parse_time(value: &[u8]) -> Option<(i64, u32)> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, frac) = match text.split_once('.') {
        Some((s, f)) => (s, f),
        None => (text, ""),
    };
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: u32 = 0;
    for (i, digit) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(digit - b'0') * 10u32.pow(8 - i as u32);
    }
    // A negative time with a fraction means secs - frac; round toward the
    // past like Go's archive/tar does.
    if secs < 0 && nanos > 0 {
        return Some((secs - 1, 1_000_000_000 - nanos));
    }
    Some((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lengths_count_themselves() {
        // Lengths that cross a digit boundary are the classic bug here.
        for n in [
            0usize, 1, 5, 6, 7, 8, 90, 95, 96, 97, 98, 990, 995, 996, 997,
        ] {
            let value = vec![b'x'; n];
            let body = encode(&[("path".to_string(), value)]);
            let space = body.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&body[..space])
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(len, body.len(), "value length {n}");
        }
    }

    #[test]
    fn parses_times() {
        let cases: &[(&str, Option<(i64, u32)>)] = &[
            ("12", Some((12, 0))),
            ("12.5", Some((12, 500_000_000))),
            ("12.000000001999", Some((12, 1))),
            ("-1.5", Some((-2, 500_000_000))),
            ("x", None),
            ("1.x", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text.as_bytes()), *want, "{text}");
        }
    }
}
