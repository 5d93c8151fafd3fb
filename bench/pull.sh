#!/usr/bin/env bash
# Pull benchmark: `decant pull` of a ~500 MB multi-layer image from a loopback
# registry, against `skopeo copy` of the same image to a local directory.
# Both verify every blob's digest; decant also fsyncs each blob into its
# content-addressed store. hyperfine reports mean/median over RUNS runs, each
# starting from an empty store / directory.
#
#   bash bench/pull.sh
#   env: DECANT (binary; default target/release/decant, built if missing),
#        RUNS (default 5), LAYERS (default 10), LAYER_MB (default 50),
#        BENCH_WORK (default /var/tmp/decant-bench/pull), OUT (markdown file)
#
# The image is generated once from seeded random bytes (incompressible, the
# same every time) as uncompressed OCI layers, pushed with skopeo
# --preserve-digests into Debian's docker-registry on 127.0.0.1 at a free
# port, which the script starts and stops. Never in CI.
set -euo pipefail
if [ "${CI:-}" = true ]; then echo "bench/pull.sh does not run in CI" >&2; exit 1; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-5}
LAYERS=${LAYERS:-10}
LAYER_MB=${LAYER_MB:-50}
W=${BENCH_WORK:-/var/tmp/decant-bench/pull}
OUT=${OUT:-$PWD/target/bench/pull-$(date -u +%Y%m%dT%H%M%SZ).md}
DECANT=${DECANT:-$PWD/target/release/decant}
for tool in hyperfine skopeo docker-registry python3; do
  command -v "$tool" >/dev/null || { echo "bench/pull.sh needs $tool" >&2; exit 1; }
done
if [ ! -x "$DECANT" ]; then cargo build --release -p cli; fi
mkdir -p "$W" "$(dirname "$OUT")"

# The image: an OCI layout, regenerated only when its shape changes.
LAYOUT=$W/layout-${LAYERS}x${LAYER_MB}
if [ ! -f "$LAYOUT/index.json" ]; then
  rm -rf "$LAYOUT"
  python3 - "$LAYOUT" "$LAYERS" "$LAYER_MB" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
out, layers, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
descs, diffs = [], []
for i in range(layers):
    payload = random.Random(i + 1).randbytes(mb << 20)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        info = tarfile.TarInfo(f"data/layer-{i}.bin")
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        t.addfile(info, io.BytesIO(payload))
    digest, size = put(buf.getvalue())
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size})
    diffs.append(digest)
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cs = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": descs}).encode()
md, ms = put(manifest)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
PY
fi

# A registry of our own on a free port, stopped on exit.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
REG=$W/registry
rm -rf "$REG"; mkdir -p "$REG"
cat > "$REG/config.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $REG/data}
http: {addr: $ADDR}
YML
docker-registry serve "$REG/config.yml" >"$REG/log" 2>&1 &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://$ADDR/v2/" >/dev/null && break; sleep 0.1; done
skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
  "oci:$LAYOUT:latest" "docker://$ADDR/bench/big:latest"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$ADDR" > "$W/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$W/registries.conf

SIZE_MB=$(( $(du -sb "$LAYOUT/blobs" | cut -f1) / 1000000 ))
echo "image: $LAYERS layers, ${SIZE_MB} MB, registry $ADDR, decant $DECANT"
hyperfine --runs "$RUNS" --warmup 1 --export-markdown "$OUT.table" \
  --prepare "rm -rf $W/store $W/dir" \
  -n "decant pull" "$DECANT --root $W/store pull -q $ADDR/bench/big:latest" \
  -n "skopeo copy to dir:" "skopeo --insecure-policy copy --quiet --src-tls-verify=false docker://$ADDR/bench/big:latest dir:$W/dir"
{
  echo "## pull"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs, image: $LAYERS uncompressed layers, ${SIZE_MB} MB, loopback registry (docker-registry 2.8); decant: $DECANT"
  echo
  cat "$OUT.table"
} > "$OUT"
rm -f "$OUT.table"
cat "$OUT"
rm -rf "$W/store" "$W/dir"
