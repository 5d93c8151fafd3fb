# syntax=docker/dockerfile:1
FROM ubuntu:22.04
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV TOOLS_DIR=/opt/tools DEBIAN_FRONTEND=noninteractive
RUN <<EOF
set -euxo pipefail
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl git unzip
mkdir -p "$TOOLS_DIR"
curl -fsSL https://get.helm.sh/helm-v3.16.3-linux-amd64.tar.gz | tar -xz -C "$TOOLS_DIR" --strip-components=1 linux-amd64/helm
[[ -x "$TOOLS_DIR/helm" ]]
rm -rf /var/lib/apt/lists/*
EOF
ENV PATH=$TOOLS_DIR:$PATH
RUN helm version --short
