# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.6.1 AS xx
FROM --platform=$BUILDPLATFORM rust:1.83-bookworm AS build
COPY --from=xx / /
RUN apt-get update && apt-get install -y clang lld
ARG TARGETPLATFORM
RUN xx-apt-get install -y gcc g++ libc6-dev
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cargo/git/db \
    --mount=type=cache,target=/root/.cargo/registry/cache \
    --mount=type=cache,target=/root/.cargo/registry/index \
    xx-cargo build --release --target-dir ./build && \
    xx-verify ./build/$(xx-cargo --print-target-triple)/release/hello && \
    cp ./build/$(xx-cargo --print-target-triple)/release/hello /hello

FROM debian:bookworm-slim
COPY --link --from=build /hello /usr/local/bin/hello
CMD ["hello"]
