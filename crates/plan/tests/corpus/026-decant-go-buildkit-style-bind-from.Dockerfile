# syntax=docker/dockerfile:1

ARG GO_VERSION=1.23
ARG ALPINE_VERSION=3.20

FROM golang:${GO_VERSION}-alpine${ALPINE_VERSION} AS golatest

FROM golatest AS gobuild-base
RUN apk add --no-cache file bash clang lld musl-dev pkgconfig git make
WORKDIR /src

FROM gobuild-base AS version
ARG VERSION=v0.0.0+unknown
RUN --mount=target=. <<EOT
  set -e
  mkdir -p /tmp/.ldflags
  echo "-X main.Version=${VERSION}" > /tmp/.ldflags/flags
EOT

FROM gobuild-base AS daemon
ENV CGO_ENABLED=0
RUN --mount=target=. \
    --mount=target=/root/.cache,type=cache \
    --mount=target=/go/pkg/mod,type=cache \
    --mount=source=/tmp/.ldflags,target=/tmp/.ldflags,from=version \
    go build -ldflags "$(cat /tmp/.ldflags/flags)" -o /usr/bin/daemond ./cmd/daemond

FROM gobuild-base AS ctl
ENV CGO_ENABLED=0
RUN --mount=target=. \
    --mount=target=/root/.cache,type=cache \
    --mount=target=/go/pkg/mod,type=cache \
    --mount=source=/tmp/.ldflags,target=/tmp/.ldflags,from=version \
    go build -ldflags "$(cat /tmp/.ldflags/flags)" -o /usr/bin/ctl ./cmd/ctl

FROM scratch AS binaries
COPY --link --from=daemon /usr/bin/daemond /
COPY --link --from=ctl /usr/bin/ctl /

FROM alpine:${ALPINE_VERSION}
RUN apk add --no-cache fuse3 git openssh pigz xz
COPY --link --from=binaries / /usr/bin/
VOLUME /var/lib/daemond
ENTRYPOINT ["daemond"]
