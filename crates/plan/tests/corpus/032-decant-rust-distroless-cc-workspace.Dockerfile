FROM rust:1.83-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY crates/ crates/
COPY xtask/ xtask/
RUN --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=cargo-target,target=/build/target \
    cargo install --locked --path crates/cli --root /out

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/bin/tool /usr/local/bin/tool
ENTRYPOINT ["/usr/local/bin/tool"]
