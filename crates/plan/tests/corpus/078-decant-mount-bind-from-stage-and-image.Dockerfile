# syntax=docker/dockerfile:1
FROM alpine:3.20 AS assets
RUN mkdir -p /assets && echo "payload" > /assets/data.txt

FROM debian:bookworm-slim
RUN --mount=type=bind,from=assets,source=/assets,target=/mnt/assets \
    cp /mnt/assets/data.txt /opt/data.txt
RUN --mount=type=bind,from=busybox:1.37,source=/bin/busybox,target=/usr/local/bin/busybox \
    busybox sha256sum /opt/data.txt > /opt/data.sha256
RUN --mount=type=bind,source=.,target=/ctx,rw \
    touch /ctx/scratch-only && ls /ctx > /opt/context-listing
