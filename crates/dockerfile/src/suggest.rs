//! "Did you mean …?" suggestions, as BuildKit's `util/suggest`: the closest
//! candidate by Levenshtein distance, if it is close enough.

/// The candidate closest to `word` (case-insensitively), when the distance
/// is at most a third of the word's length (and at least 1), or when one is
/// a case-insensitive match.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = levenshtein(&lower, &candidate.to_lowercase());
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    let limit = (word.chars().count() / 3).max(1);
    (distance <= limit && candidate != word).then(|| candidate.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestions() {
        let names = ["COPY", "RUN", "FROM", "WORKDIR"];
        let cases = [
            ("COPPY", Some("COPY")),
            ("cpy", Some("COPY")),
            ("workdri", Some("WORKDIR")),
            ("xyzzy", None),
        ];
        for (word, expected) in cases {
            assert_eq!(
                super::closest(word, names.iter().copied()).as_deref(),
                expected,
                "{word}"
            );
        }
    }
}
