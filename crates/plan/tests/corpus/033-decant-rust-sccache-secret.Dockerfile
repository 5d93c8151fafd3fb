# syntax=docker/dockerfile:1
FROM rust:1.83-bookworm AS builder
RUN cargo install --locked sccache
ENV RUSTC_WRAPPER=/usr/local/cargo/bin/sccache \
    SCCACHE_BUCKET=build-cache \
    SCCACHE_REGION=us-east-1
WORKDIR /src
COPY . .
RUN --mount=type=secret,id=aws,target=/root/.aws/credentials \
    --mount=type=cache,id=cargo-registry,target=/usr/local/cargo/registry,sharing=shared \
    cargo build --release && sccache --show-stats

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=builder /src/target/release/worker /usr/local/bin/worker
CMD ["worker"]
