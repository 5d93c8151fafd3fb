#!/usr/bin/env bash
# COPY and commit (issue 4): `COPY . /ctx/` of a 20,000-file / 500 MB context
# onto scratch, with the layer committed as tar+gzip and as tar+zstd, against
# `tar -c | gzip` and `tar -c | zstd -T0` of the same tree. Prints a markdown
# table of median wall times and MB/s (context bytes / time). Never in CI:
# shared 2-core machines make numbers that mean nothing.
#
#   bash bench/copy.sh
#   env: DECANT (binary; default target/release/decant), RUNS (default 3),
#        FILES (default 20000), SIZE_MB (default 500),
#        BENCH_WORK (default /var/tmp/decant-bench/copy)
#
# A decant run is a whole `decant build --no-cache`: the context checksum
# (sha256 of every byte, for the cache key), the copy into a fresh overlay
# snapshot, the deterministic tar, compression and digests, and the blob
# written to the store. The context is half incompressible (random) and half
# text-like bytes, so neither compressor gets a free ride.
set -euo pipefail
if [ "${CI:-}" = true ]; then echo "bench/copy.sh does not run in CI" >&2; exit 1; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
FILES=${FILES:-20000}
SIZE_MB=${SIZE_MB:-500}
W=${BENCH_WORK:-/var/tmp/decant-bench/copy}
DECANT=${DECANT:-$PWD/target/release/decant}
[ -x "$DECANT" ] || { echo "no decant binary at $DECANT (cargo build --release -p cli, or set DECANT)" >&2; exit 1; }
for tool in gzip zstd tar python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
mkdir -p "$W"
ctx=$W/context-$FILES-$SIZE_MB

if [ ! -f "$ctx/.complete" ]; then
  rm -rf "$ctx"
  python3 - "$ctx" "$FILES" "$SIZE_MB" <<'EOF'
import os, random, sys
root, files, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(4)
total = size_mb << 20
# 90% of the files are small (a source tree), 10% carry most of the bytes.
small = int(files * 0.9)
small_sizes = [rng.randint(256, 8192) for _ in range(small)]
rest = max(total - sum(small_sizes), 0)
large = files - small
large_sizes = [rest // large + (1 if i < rest % large else 0) for i in range(large)]
sizes = small_sizes + large_sizes
rng.shuffle(sizes)
words = b"the quick brown fox jumps over a lazy dog while decant copies files ".split()
for i, size in enumerate(sizes):
    d = os.path.join(root, f"d{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    if i % 2:
        data = rng.randbytes(size)
    else:
        out = bytearray()
        while len(out) < size:
            out += b" ".join(rng.choice(words) for _ in range(16)) + b"\n"
        data = bytes(out[:size])
    with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
        f.write(data)
EOF
  touch "$ctx/.complete"
fi
echo ".complete" > "$ctx/.dockerignore"
bytes=$(du -sb --exclude=.complete --exclude=.dockerignore "$ctx" | cut -f1)
count=$(find "$ctx" -type f ! -name .complete ! -name .dockerignore | wc -l)

# Median wall time in seconds of RUNS runs of "$@" (after one warm-up, so the
# page cache holds the context for every contender alike). Before each run,
# untimed: the previous run's outputs are removed and dirty pages written
# back, so no run pays for another's IO.
median() {
  local times=()
  for i in $(seq 0 "$RUNS"); do
    rm -rf "$W/root" "$W/out.tar" "$W/out.tar.gz" "$W/out.tar.zst"
    sync
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$W/stderr" || { echo "failed: $*" >&2; cat "$W/stderr" >&2; exit 1; }
    end=$(date +%s.%N)
    [ "$i" -eq 0 ] || times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

printf 'FROM scratch\nCOPY . /ctx/\n' > "$W/Dockerfile"
decant_build() {
  "$DECANT" --root "$W/root" build --no-cache --progress quiet -f "$W/Dockerfile" \
    --output "type=image,compression=$1" "$ctx"
}
tar_gzip() { tar -C "$ctx" -cf - --exclude=.complete --exclude=.dockerignore . | gzip -6 > "$W/out.tar.gz"; }
tar_zstd() { tar -C "$ctx" -cf - --exclude=.complete --exclude=.dockerignore . | zstd -q -T0 -3 -f -o "$W/out.tar.zst"; }
tar_only() { tar -C "$ctx" -cf - --exclude=.complete --exclude=.dockerignore . > "$W/out.tar"; }

row() {
  local name=$1 seconds=$2
  printf '| %s | %.2f | %.0f |\n' "$name" "$seconds" "$(echo "$bytes / 1048576 / $seconds" | bc -l)"
}

echo "## COPY and commit: $count files, $((bytes >> 20)) MiB, $(nproc) cores, median of $RUNS"
echo
echo "| command | seconds | MB/s |"
echo "|---|---:|---:|"
row "decant build, COPY . + gzip layer" "$(median decant_build gzip)"
row "decant build, COPY . + zstd layer" "$(median decant_build zstd)"
row "decant build, COPY . + uncompressed layer" "$(median decant_build uncompressed)"
row "tar -c > file" "$(median tar_only)"
row "tar -c \| gzip -6" "$(median tar_gzip)"
row "tar -c \| zstd -T0 -3" "$(median tar_zstd)"
rm -rf "$W/root" "$W/out.tar" "$W/out.tar.gz" "$W/out.tar.zst"
