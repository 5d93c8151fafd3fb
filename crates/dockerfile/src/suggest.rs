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

/// Optimal string alignment distance: Levenshtein plus adjacent
/// transpositions (`form` is one edit from `from`).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
            ("form", Some("FROM")),
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
