//! Cache keys: a sha256 over exactly what a step reads.
//!
//! A key is built from its parent's key, the normalised instruction, the
//! checksums of the files the step reads and the environment in effect
//! (DESIGN.md, "Cache keys"). Fields are written with a tag and a length
//! prefix so that no two different field sequences can hash the same bytes
//! (`["ab", "c"]` and `["a", "bc"]` must differ).

use sha2::{Digest as _, Sha256};

/// An incremental cache-key builder; [`CacheKey::finish`] yields a digest.
#[derive(Clone)]
pub struct CacheKey {
    hasher: Sha256,
}

impl CacheKey {
    /// Starts a key for a step of the given kind (`"run"`, `"copy"`, ...).
    /// The version string is part of every key: bump it whenever the
    /// engine changes what a step produces for the same inputs, so old cache
    /// entries are never reused with new semantics.
    pub fn new(kind: &str) -> CacheKey {
        let mut key = CacheKey {
            hasher: Sha256::new(),
        };
        key.field("decant-cache-v1");
        key.field(kind);
        key
    }

    /// Adds one field.
    pub fn field(&mut self, value: impl AsRef<[u8]>) -> &mut CacheKey {
        let bytes = value.as_ref();
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
        self
    }

    /// Adds a list of fields, prefixed by its length.
    pub fn list<I, S>(&mut self, values: I) -> &mut CacheKey
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let values: Vec<S> = values.into_iter().collect();
        self.field((values.len() as u64).to_le_bytes());
        for value in &values {
            self.field(value);
        }
        self
    }

    /// Adds fields framed beforehand, as if each had been added with
    /// [`CacheKey::field`].
    pub fn fields(&mut self, fields: &Fields) -> &mut CacheKey {
        self.hasher.update(&fields.bytes);
        self
    }

    /// The key.
    pub fn finish(&self) -> oci::Digest {
        let out: [u8; 32] = self.hasher.clone().finalize().into();
        oci::Digest::from_sha256_bytes(out)
    }
}

/// Fields framed exactly as [`CacheKey::field`] frames them, gathered in
/// memory. A context's tens of thousands of file entries are framed this
/// way on several threads and then hashed in one call per batch: adding
/// them one small field at a time cost more than the sha256 itself.
#[derive(Default)]
pub struct Fields {
    bytes: Vec<u8>,
}

impl Fields {
    /// Adds one field.
    pub fn field(&mut self, value: impl AsRef<[u8]>) -> &mut Fields {
        let bytes = value.as_ref();
        self.bytes
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Adds a field of `length` bytes whose value is not known yet, to be
    /// given later with [`Fields::fill`]: the fields after it can be framed
    /// meanwhile.
    pub fn reserve(&mut self, length: usize) -> Reserved {
        self.bytes.extend_from_slice(&(length as u64).to_le_bytes());
        let at = self.bytes.len();
        self.bytes.resize(at + length, 0);
        Reserved { at, length }
    }

    /// Gives a reserved field its value, which must have the reserved
    /// length.
    pub fn fill(&mut self, reserved: Reserved, value: &[u8]) {
        assert_eq!(
            value.len(),
            reserved.length,
            "a reserved key field is filled with a value of its length"
        );
        self.bytes[reserved.at..reserved.at + reserved.length].copy_from_slice(value);
    }
}

/// A field of [`Fields`] whose value comes later.
#[derive(Clone, Copy, Debug)]
pub struct Reserved {
    at: usize,
    length: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_matter() {
        let a = CacheKey::new("run").field("ab").field("c").finish();
        let b = CacheKey::new("run").field("a").field("bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn kind_and_lists_matter() {
        let base = CacheKey::new("run").list(["x", "y"]).finish();
        assert_ne!(base, CacheKey::new("copy").list(["x", "y"]).finish());
        assert_ne!(base, CacheKey::new("run").list(["x"]).field("y").finish());
        assert_eq!(base, CacheKey::new("run").list(["x", "y"]).finish());
    }

    #[test]
    fn framed_fields_hash_as_single_fields() {
        let values: &[&[u8]] = &[b"", b"a", &[7; 70], b"bc"];
        let mut direct = CacheKey::new("copy");
        let mut framed = Fields::default();
        for value in values {
            direct.field(value);
            framed.field(value);
        }
        let mut batched = CacheKey::new("copy");
        batched.fields(&framed);
        let mut filled = Fields::default();
        filled.field(values[0]).field(values[1]);
        let later = filled.reserve(values[2].len());
        filled.field(values[3]);
        filled.fill(later, values[2]);
        assert_eq!(
            CacheKey::new("copy").fields(&filled).finish(),
            direct.finish(),
            "a reserved field hashes as if added in its place"
        );
        assert_eq!(direct.finish(), batched.finish());
        batched.fields(&framed);
        assert_ne!(direct.finish(), batched.finish(), "fields count every time");
    }
}
