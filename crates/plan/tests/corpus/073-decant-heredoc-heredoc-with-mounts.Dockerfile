# syntax=docker/dockerfile:1
FROM golang:1.23 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod <<EOT
  set -e
  go version
  for cmd in ./cmd/*; do
    name="$(basename "$cmd")"
    CGO_ENABLED=0 go build -o "/out/$name" "$cmd"
  done
  ls -l /out
EOT

FROM alpine:3.20
COPY --from=build /out/ /usr/local/bin/
