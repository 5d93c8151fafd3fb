# syntax=docker/dockerfile:1
FROM rust:1.83 AS build
WORKDIR /w
RUN --mount=type=bind,target=/w,rw \
	--mount=type=cache,target=/usr/local/cargo/registry \
	--mount=type=cache,target=/w/target,id=target-$TARGETARCH \
	--mount=type=secret,id=cargo_token,env=CARGO_REGISTRIES_INTERNAL_TOKEN \
	--mount=type=tmpfs,target=/tmp \
	cargo build --release && cp target/release/svc /usr/local/bin/svc

FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/svc /usr/local/bin/svc
CMD ["svc"]
