//! Go `filepath.Match` (COPY/ADD wildcards) and moby patternmatcher
//! (`.dockerignore`, `COPY --exclude`) semantics.
