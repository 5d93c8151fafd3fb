//! COPY and ADD: BuildKit's file semantics (tonistiigi/fsutil copy) over a
//! source root and a destination root, confined to both.
