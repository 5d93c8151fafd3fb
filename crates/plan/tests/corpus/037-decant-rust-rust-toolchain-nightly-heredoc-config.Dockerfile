# syntax=docker/dockerfile:1
FROM rustlang/rust:nightly-slim AS build
WORKDIR /work
COPY <<EOF /usr/local/cargo/config.toml
[net]
git-fetch-with-cli = true

[profile.release]
lto = "thin"
codegen-units = 1
EOF
COPY . .
RUN <<EOF
set -e
cargo --version
cargo build --release -Z unstable-options --artifact-dir /out
ls -la /out
EOF

FROM debian:bookworm-slim
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/daemon"]
