# syntax=docker/dockerfile:1
FROM debian:bookworm
RUN <<EOF
apt-get update
apt-get upgrade -y
apt-get install -y --no-install-recommends curl jq
rm -rf /var/lib/apt/lists/*
EOF
CMD ["bash"]
