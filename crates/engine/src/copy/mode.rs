//! `--chmod`: octal (`0755`, `4755`, at most `07777`) or symbolic
//! (`u=rwX,go=rX`, chmod(1) with umask 0 — BuildKit uses
//! tonistiigi/dchapes-mode, a port of BSD `setmode(3)`).
//!
//! What the value applies to is decided by the copier: every copied file and
//! directory (never symlinks), and, for octal values only, the directories the
//! copy creates — those get just the permission bits, because fsutil's
//! `MkdirAll` passes the value through Go's `os.FileMode`, which drops the
//! setuid/setgid/sticky bits.

use super::CopyError;

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeSpec {
    Octal(u32),
    Symbolic(Vec<Clause>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Bit mask of the classes named (`u` 0o4700, `g` 0o2070, `o` 0o1007);
    /// `None` when no class was written (BSD: all, filtered by the umask, 0).
    who: Option<u32>,
    actions: Vec<(char, Perms)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Perms {
    Letters(Vec<char>),
    CopyFrom(char),
}

const WHO_U: u32 = S_ISUID | 0o700;
const WHO_G: u32 = S_ISGID | 0o070;
const WHO_O: u32 = 0o007;

pub fn parse_chmod(value: &str) -> Result<ModeSpec, CopyError> {
    let invalid = || CopyError::InvalidChmod {
        value: value.to_string(),
    };
    if value.is_empty() {
        return Err(invalid());
    }
    if value.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        // The frontend tries base 8 first; anything that starts like a number
        // and is not octal (`64a`, `10000`, `8`) gets the octal message.
        return match u32::from_str_radix(value, 8) {
            Ok(m) if m <= 0o7777 => Ok(ModeSpec::Octal(m)),
            _ => Err(invalid()),
        };
    }
    let mut clauses = Vec::new();
    for text in value.split(',') {
        clauses.push(
            parse_clause(text).ok_or_else(|| CopyError::InvalidSymbolicChmod {
                value: value.to_string(),
                clause: text.to_string(),
            })?,
        );
    }
    Ok(ModeSpec::Symbolic(clauses))
}

fn parse_clause(text: &str) -> Option<Clause> {
    let mut chars = text.chars().peekable();
    let mut who = 0u32;
    let mut named = false;
    while let Some(&c) = chars.peek() {
        let bits = match c {
            'u' => WHO_U,
            'g' => WHO_G,
            'o' => WHO_O,
            'a' => WHO_U | WHO_G | WHO_O,
            _ => break,
        };
        who |= bits;
        named = true;
        chars.next();
    }
    let mut actions = Vec::new();
    while let Some(op) = chars.next() {
        if !matches!(op, '+' | '-' | '=') {
            return None;
        }
        let perms = match chars.peek() {
            Some(&c @ ('u' | 'g' | 'o')) => {
                chars.next();
                Perms::CopyFrom(c)
            }
            _ => {
                let mut letters = Vec::new();
                while let Some(&c) = chars.peek() {
                    if !matches!(c, 'r' | 'w' | 'x' | 'X' | 's' | 't') {
                        break;
                    }
                    letters.push(c);
                    chars.next();
                }
                Perms::Letters(letters)
            }
        };
        actions.push((op, perms));
    }
    if actions.is_empty() {
        return None;
    }
    Some(Clause {
        who: named.then_some(who),
        actions,
    })
}

impl ModeSpec {
    /// The permission and special bits for an entry whose current `st_mode`
    /// is `mode`.
    pub fn apply(&self, mode: u32, is_dir: bool) -> u32 {
        match self {
            ModeSpec::Octal(m) => *m & 0o7777,
            ModeSpec::Symbolic(clauses) => {
                let mut m = mode & 0o7777;
                for clause in clauses {
                    m = clause.apply(m, is_dir);
                }
                m
            }
        }
    }

    /// The mode of directories the copy creates, when the value sets one.
    pub fn created_dir_mode(&self) -> Option<u32> {
        match self {
            ModeSpec::Octal(m) => Some(*m & 0o777),
            ModeSpec::Symbolic(_) => None,
        }
    }
}

impl Clause {
    fn apply(&self, mut m: u32, is_dir: bool) -> u32 {
        let who = self.who.unwrap_or(WHO_U | WHO_G | WHO_O);
        for (op, perms) in &self.actions {
            let bits = match perms {
                Perms::CopyFrom(c) => {
                    let v = match c {
                        'u' => (m >> 6) & 7,
                        'g' => (m >> 3) & 7,
                        _ => m & 7,
                    };
                    (v << 6 | v << 3 | v) & who & 0o777
                }
                Perms::Letters(letters) => {
                    let mut bits = 0;
                    for l in letters {
                        bits |= match l {
                            'r' => 0o444 & who,
                            'w' => 0o222 & who,
                            'x' => 0o111 & who,
                            // chmod(1): search/execute only for directories and
                            // files some class can already execute.
                            'X' if is_dir || m & 0o111 != 0 => 0o111 & who,
                            's' => who & (S_ISUID | S_ISGID),
                            't' if self.who.is_none() || who & WHO_O != 0 => S_ISVTX,
                            _ => 0,
                        };
                    }
                    bits
                }
            };
            m = match op {
                '+' => m | bits,
                '-' => m & !bits,
                // BSD setmode: '=' clears the classes' rwx and setuid/setgid,
                // not the sticky bit.
                _ => (m & !(who & (0o777 | S_ISUID | S_ISGID))) | bits,
            };
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_and_symbolic_table() {
        // (value, source mode, is_dir, expected)
        let rows: &[(&str, u32, bool, u32)] = &[
            ("0755", 0o644, false, 0o755),
            ("600", 0o755, false, 0o600),
            ("4755", 0o644, false, 0o4755),
            ("0", 0o644, false, 0),
            ("07777", 0, false, 0o7777),
            ("go-w", 0o777, false, 0o755),
            ("u=rw,g=r,o=r", 0o777, false, 0o644),
            ("a+X", 0o644, false, 0o644),
            ("a+X", 0o644, true, 0o755),
            ("a+X", 0o744, false, 0o755),
            ("u+rw,g+r,o-x,o+w", 0o701, false, 0o742),
            ("u=rwX,go=rX", 0o600, true, 0o755),
            ("u=rwX,go=rX", 0o600, false, 0o644),
            ("+x", 0o644, false, 0o755),
            ("g=u", 0o640, false, 0o660),
            ("u+s", 0o755, false, 0o4755),
            ("+t", 0o755, true, 0o1755),
            ("u=rw", 0o4755, false, 0o655),
        ];
        for (value, mode, is_dir, want) in rows {
            let spec = parse_chmod(value).expect(value);
            assert_eq!(
                spec.apply(*mode, *is_dir),
                *want,
                "--chmod={value} on {mode:o}"
            );
        }
    }

    /// testCopyInvalidChmod / testAddInvalidChmod.
    #[test]
    fn invalid_values() {
        for value in ["64a", "10000", "8", "", "u=rw,zz", "u", "rwx"] {
            let err = parse_chmod(value).unwrap_err();
            if value.starts_with(|c: char| c.is_ascii_digit()) {
                assert_eq!(
                    err.to_string(),
                    format!(
                        "invalid chmod parameter: '{value}'. it should be octal string and between 0 and 07777"
                    )
                );
            }
        }
    }

    #[test]
    fn created_dirs_get_permission_bits_only() {
        assert_eq!(
            parse_chmod("4755").expect("octal").created_dir_mode(),
            Some(0o755)
        );
        assert_eq!(
            parse_chmod("u+x").expect("symbolic").created_dir_mode(),
            None
        );
    }
}
