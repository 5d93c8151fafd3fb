# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx

FROM --platform=$BUILDPLATFORM golang:1.23-alpine AS build
COPY --from=xx / /
RUN apk add --no-cache clang lld
ARG TARGETPLATFORM
RUN xx-apk add --no-cache musl-dev gcc
WORKDIR /src
COPY . .
ENV CGO_ENABLED=1
RUN xx-go build -o /out/hello ./hello && \
    xx-verify /out/hello

FROM alpine:3.20
COPY --from=build /out/hello /usr/bin/hello
CMD ["hello"]
