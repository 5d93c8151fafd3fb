//! The context checksum record: the content hashes one build leaves for the
//! next, in the store's cache index (one record per context directory).
//!
//! It owns the record's byte format and its order; what a hash is worth
//! (revalidation, the racy margin) belongs to `context`, and the store only
//! keeps the bytes.
//!
//! The record is kept sorted in *walk order*, the order in which the
//! context walk visits paths: a directory before its contents, siblings by
//! the bytes of their names. That is the byte order of the paths with `/`
//! counted as lower than any other byte, because a name holds neither `/`
//! nor NUL: `a/b` sorts before `a.txt` as the directory `a` sorts before the
//! file `a.txt`. So a warm build never decodes the record into a map. It
//! reads the record's bytes, finds where each walked subtree starts with a
//! binary search, and then matches the subtree's files with a cursor that
//! only moves forward (a merge join). For a 20,000-file context, the map
//! cost more than the lookups: 20,000 string allocations to build, hash
//! and free on every build.

use std::cmp::Ordering;

/// The first bytes of a record. Version 2 is sorted in walk order; a
/// version 1 record (sorted by plain bytes) is ignored, which only costs
/// one rehash.
const MAGIC: &[u8] = b"decant context checksums v2\n";

/// Bytes after an entry's path: dev, ino, size, mtime seconds and
/// nanoseconds, ctime seconds and nanoseconds (8 each), then the sha256.
const FIXED: usize = 7 * 8 + 32;

/// What `lstat` said about a file when it was hashed; a remembered hash is
/// valid only while every field is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

/// A remembered content hash and the stamp it is valid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Remembered {
    pub stamp: Stamp,
    pub hash: [u8; 32],
}

/// A decoded record: its bytes, and where each entry starts.
#[derive(Default)]
pub(crate) struct Record {
    bytes: Vec<u8>,
    /// The offset of each entry's length prefix, in walk order.
    starts: Vec<usize>,
}

/// Compares two context-relative paths in walk order (see the module
/// documentation).
pub(crate) fn walk_order(a: &[u8], b: &[u8]) -> Ordering {
    let rank = |byte: u8| if byte == b'/' { 0 } else { byte };
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    match common {
        Some(at) => rank(a[at]).cmp(&rank(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

impl Record {
    /// Checks a record's framing and order; `None` for anything malformed
    /// (the caller then starts with an empty record: it only costs
    /// rehashing). An out-of-order record is malformed too, because the
    /// merge join would silently miss its entries.
    pub fn decode(bytes: Vec<u8>) -> Option<Record> {
        let mut at = MAGIC.len();
        if !bytes.starts_with(MAGIC) {
            return None;
        }
        // An entry is about a hundred bytes; sizing the index up front
        // spares reallocating it as it grows to tens of thousands.
        let mut starts = Vec::with_capacity(bytes.len() / 100);
        let mut previous: Option<&[u8]> = None;
        while at < bytes.len() {
            let length = bytes.get(at..at + 4)?;
            let length = u32::from_le_bytes(length.try_into().ok()?) as usize;
            let path = bytes.get(at + 4..at + 4 + length)?;
            bytes.get(at + 4 + length..at + 4 + length + FIXED)?;
            if previous.is_some_and(|previous| walk_order(previous, path) != Ordering::Less) {
                return None;
            }
            previous = Some(path);
            starts.push(at);
            at += 4 + length + FIXED;
        }
        Some(Record { bytes, starts })
    }

    /// Encodes entries given in any order; a path given twice keeps its
    /// first entry.
    pub fn encode<'a>(entries: impl IntoIterator<Item = (&'a [u8], Remembered)>) -> Vec<u8> {
        let mut entries: Vec<(&[u8], Remembered)> = entries.into_iter().collect();
        // Stable, so that "first" above holds.
        entries.sort_by(|a, b| walk_order(a.0, b.0));
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut out = Vec::with_capacity(
            MAGIC.len()
                + entries
                    .iter()
                    .map(|(path, _)| 4 + path.len() + FIXED)
                    .sum::<usize>(),
        );
        out.extend_from_slice(MAGIC);
        for (path, remembered) in entries {
            out.extend_from_slice(&(path.len() as u32).to_le_bytes());
            out.extend_from_slice(path);
            let stamp = &remembered.stamp;
            for field in [stamp.dev, stamp.ino, stamp.size] {
                out.extend_from_slice(&field.to_le_bytes());
            }
            for field in [stamp.mtime.0, stamp.mtime.1, stamp.ctime.0, stamp.ctime.1] {
                out.extend_from_slice(&field.to_le_bytes());
            }
            out.extend_from_slice(&remembered.hash);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// The path of entry `index`.
    pub fn path(&self, index: usize) -> &[u8] {
        let at = self.starts[index];
        let length = u32::from_le_bytes(self.bytes[at..at + 4].try_into().expect("4 bytes"));
        &self.bytes[at + 4..at + 4 + length as usize]
    }

    /// The stamp and hash of entry `index`.
    pub fn remembered(&self, index: usize) -> Remembered {
        let at = self.starts[index] + 4 + self.path(index).len();
        let word = |n: usize| {
            let start = at + 8 * n;
            u64::from_le_bytes(self.bytes[start..start + 8].try_into().expect("8 bytes"))
        };
        let signed = |n: usize| word(n) as i64;
        Remembered {
            stamp: Stamp {
                dev: word(0),
                ino: word(1),
                size: word(2),
                mtime: (signed(3), signed(4)),
                ctime: (signed(5), signed(6)),
            },
            hash: self.bytes[at + 56..at + FIXED]
                .try_into()
                .expect("32 bytes"),
        }
    }

    /// A cursor at the first entry not before `path` in walk order: where
    /// the subtree rooted at `path` starts, since a subtree's entries are
    /// contiguous in walk order.
    pub fn cursor_at(&self, path: &[u8]) -> Cursor<'_> {
        let next = self.starts.partition_point(|&at| {
            let length = u32::from_le_bytes(self.bytes[at..at + 4].try_into().expect("4"));
            walk_order(&self.bytes[at + 4..at + 4 + length as usize], path) == Ordering::Less
        });
        Cursor { record: self, next }
    }

    /// Whether the record has an entry for `path`.
    pub fn contains(&self, path: &[u8]) -> bool {
        self.cursor_at(path).find(path).is_some()
    }
}

/// A position in a record that moves forward as a walk goes on.
pub(crate) struct Cursor<'a> {
    record: &'a Record,
    next: usize,
}

impl Cursor<'_> {
    /// The entry for `path`, which must not come before any path asked for
    /// earlier in walk order (a walk's own order); entries skipped on the
    /// way belong to files the walk did not find.
    pub fn find(&mut self, path: &[u8]) -> Option<Remembered> {
        while self.next < self.record.len() {
            match walk_order(self.record.path(self.next), path) {
                Ordering::Less => self.next += 1,
                Ordering::Equal => return Some(self.record.remembered(self.next)),
                Ordering::Greater => return None,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::{Record, Remembered, Stamp, walk_order};

    fn remembered(n: u8) -> Remembered {
        Remembered {
            stamp: Stamp {
                dev: 1,
                ino: u64::from(n),
                size: 2,
                mtime: (-3, 4),
                ctime: (5, 6),
            },
            hash: [n; 32],
        }
    }

    /// Pairs of paths in walk order: a directory's contents come right
    /// after it, before any sibling whose name it prefixes.
    const WALK_ORDER: &[(&str, &str)] = &[
        ("a", "a/b"),
        ("a/b", "a.txt"),
        ("a/z/z", "a.txt"),
        ("a", "a-b"),
        ("a/b", "a-b"),
        ("a", "b"),
        ("src/main.go", "src0"),
        ("", "a"),
    ];

    #[test]
    fn walk_order_puts_a_directory_before_its_siblings() {
        for (first, second) in WALK_ORDER {
            assert_eq!(
                walk_order(first.as_bytes(), second.as_bytes()),
                Ordering::Less,
                "{first} before {second}"
            );
            assert_eq!(
                walk_order(second.as_bytes(), first.as_bytes()),
                Ordering::Greater,
                "{second} after {first}"
            );
        }
    }

    #[test]
    fn records_round_trip_in_walk_order() {
        let paths = ["a.txt", "a/b", "a", "a/b/c", "b"];
        let bytes = Record::encode(
            paths
                .iter()
                .enumerate()
                .map(|(n, path)| (path.as_bytes(), remembered(n as u8))),
        );
        let record = Record::decode(bytes).expect("decodes");
        let order: Vec<&[u8]> = (0..record.len()).map(|i| record.path(i)).collect();
        assert_eq!(
            order,
            [&b"a"[..], b"a/b", b"a/b/c", b"a.txt", b"b"],
            "sorted in walk order"
        );
        assert_eq!(record.remembered(0), remembered(2));
        let mut cursor = record.cursor_at(b"a/b");
        assert_eq!(cursor.find(b"a/b"), Some(remembered(1)));
        assert_eq!(cursor.find(b"a/b/bb"), None, "missing between two entries");
        assert_eq!(cursor.find(b"a/b/c"), Some(remembered(3)));
        assert_eq!(cursor.find(b"a.txt"), Some(remembered(0)));
        assert_eq!(cursor.find(b"zzz"), None, "past the end");
        assert!(record.contains(b"b"));
        assert!(!record.contains(b"a/c"));
    }

    #[test]
    fn malformed_records_are_rejected() {
        let sorted = Record::encode([(&b"a"[..], remembered(1)), (b"b", remembered(2))]);
        let magic_length = super::MAGIC.len();
        let entry_length = (sorted.len() - magic_length) / 2;
        let mut swapped = sorted[..magic_length].to_vec();
        swapped.extend_from_slice(&sorted[magic_length + entry_length..]);
        swapped.extend_from_slice(&sorted[magic_length..magic_length + entry_length]);
        let mut version_1 = sorted.clone();
        version_1[magic_length - 2] = b'1';
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("garbage", b"garbage"),
            ("version 1", &version_1),
            ("truncated", &sorted[..sorted.len() - 1]),
            ("out of order", &swapped),
            (
                "length past the end",
                b"decant context checksums v2\n\xff\xff\xff\xff",
            ),
        ] {
            assert!(Record::decode(bytes.to_vec()).is_none(), "{name}");
        }
        assert_eq!(Record::decode(sorted).map(|r| r.len()), Some(2));
    }
}
