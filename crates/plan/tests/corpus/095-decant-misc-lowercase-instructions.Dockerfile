from ubuntu:24.04 As base
maintainer Jane Doe <jane@example.com>
run apt-get update && apt-get install -y --no-install-recommends netcat-openbsd && rm -rf /var/lib/apt/lists/*
env LISTEN_PORT=9000
expose 9000/tcp 9001/udp
workdir /srv
cmd nc -lk -p "$LISTEN_PORT"
