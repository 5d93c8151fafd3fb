# syntax=docker/dockerfile:1
FROM alpine:3.20
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://mirrors.edge.kernel.org/pub/linux/kernel/Historic/linux-0.01.tar.gz /linux-0.01.tar.gz
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.17.0 /buildkit
ADD rootfs-overlay.tar.gz /
ADD --chown=nobody:nobody config.ini /etc/app/config.ini
