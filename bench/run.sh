#!/usr/bin/env bash
# End-to-end benchmarks of ../shared/bench/README.md: for each scenario, hyperfine
# medians of cold / warm / incremental builds with decant, and with docker
# (BuildKit) and buildah when they are installed, plus image size and peak RSS.
# Results go to a markdown file. Never in CI: shared 2-core machines make
# numbers that mean nothing.
#
#   bash ../shared/bench/setup.sh [--peers]     # once: registry, base images, peers
#   bash bench/run.sh [scenario...]             # default: every scenario
#   env: DECANT (binary; default target/release/decant, built if missing),
#        RUNS (default 5), OUT (markdown file), BENCH_WORK (work dir),
#        PEERS (space-separated subset of "docker buildah"; default: those installed)
#
# cold = base images in the builder's store, no build cache: decant starts each
# run from a copy of a store holding only the pulled and unpacked bases; peers
# use --no-cache.
# warm = rebuild with nothing changed. incremental = rebuild after appending a
# comment line to the file named in the scenario's bench.conf.
set -euo pipefail
if [ "${CI:-}" = true ]; then echo "bench/run.sh does not run in CI" >&2; exit 1; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/shared-dir.sh
RUNS=${RUNS:-5}
W=${BENCH_WORK:-/var/tmp/decant-bench/run}
OUT=${OUT:-$PWD/target/bench/results-$(date -u +%Y%m%dT%H%M%SZ).md}
export CONTAINERS_REGISTRIES_CONF=${CONTAINERS_REGISTRIES_CONF:-/var/tmp/decant-bench/registries.conf}
[ -f "$CONTAINERS_REGISTRIES_CONF" ] || { echo "first run: bash $SHARED/bench/setup.sh" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (bench/setup.sh installs it)" >&2; exit 1; }
if [ -z "${DECANT:-}" ]; then DECANT=$PWD/target/release/decant; [ -x "$DECANT" ] || cargo build --release -p cli; fi
peers=()
wanted=" ${PEERS-docker buildah} "
[[ $wanted == *" docker "* ]] && DOCKER_BUILDKIT=1 /usr/bin/docker info >/dev/null 2>&1 && peers+=(docker)
[[ $wanted == *" buildah "* ]] && command -v buildah >/dev/null && peers+=(buildah)
mkdir -p "$W" "$(dirname "$OUT")"
scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || mapfile -t scenarios < <(ls "$SHARED/bench/scenarios")

# Images a Dockerfile pulls: FROM and COPY --from= values that are not stages.
base_images() {
  awk 'toupper($1)=="FROM" { i=2; while ($i ~ /^--/) i++; img[$i]=1; if (toupper($(i+1))=="AS") st[tolower($(i+2))]=1 }
       toupper($1)=="COPY" { for (i=2;i<=NF;i++) if ($i ~ /^--from=/) { v=substr($i,8); if (v ~ /[:\/]/) img[v]=1 } }
       END { for (x in img) if (!(tolower(x) in st) && x != "scratch") print x }' "$1"
}

{ echo "# decant end-to-end benchmarks"; echo
  echo "$(date -u +%FT%TZ), $(nproc) cores, $RUNS runs per command, peers: ${peers[*]:-none}"
  echo "decant: $("$DECANT" --version 2>/dev/null || echo "$DECANT")"; echo; } > "$OUT"

for s in "${scenarios[@]}"; do
  src=$SHARED/bench/scenarios/$s; dir=$W/$s
  mkdir -p "$dir"; cp -a "$src/." "$dir/"
  ctx=$dir
  # gen-context.py does nothing when its marker says the context is complete.
  if [ -f "$dir/gen-context.py" ]; then python3 "$dir/gen-context.py" "$dir/context" >/dev/null; ctx=$dir/context; fi
  file=$ctx/$(sed -n 's/^# bench-incremental-file: //p' "$dir/bench.conf")
  comment=$(sed -n 's/^# bench-incremental-comment: //p' "$dir/bench.conf")
  cp "$file" "$W/$s.orig"
  seed=$W/seed-$s root=$W/root-$s
  rm -rf "$seed" "$root"; mkdir -p "$seed"
  # Pulled *and* unpacked, as docker's and buildah's stores hold a base
  # image: a FROM-only build exported as a rootfs unpacks every layer.
  for img in $(base_images "$dir/Dockerfile"); do
    "$DECANT" --root "$seed" pull "$img" >/dev/null
    printf 'FROM %s\n' "$img" > "$W/unpack.Dockerfile"
    rm -rf "$W/unpack"
    "$DECANT" --root "$seed" build -q -f "$W/unpack.Dockerfile" -o "type=local,dest=$W/unpack" "$W" >/dev/null
    rm -rf "$W/unpack"
    # The peers' stores hold the bases too, so no timed run pulls.
    for p in "${peers[@]}"; do
      case $p in
        docker) /usr/bin/docker pull -q "$img" >/dev/null;;
        buildah) buildah pull -q "$img" >/dev/null;;
      esac
    done
  done

  decant="'$DECANT' --root '$root' build -f '$dir/Dockerfile' -t bench-$s '$ctx'"
  declare -A peer_cmd
  peer_cmd[docker]="DOCKER_BUILDKIT=1 /usr/bin/docker build -q --network=none -f '$dir/Dockerfile' -t bench-$s '$ctx'"
  peer_cmd[buildah]="buildah bud -q --layers --network=none -f '$dir/Dockerfile' -t bench-$s '$ctx'"
  # A blank line before the comment: seed-lint lints main.go, and gofmt
  # (so the linter, whatever the builder) rejects a comment glued to a '}'.
  edit="printf '\n%s bench %s\n' '$comment' \"\$(date +%s%N)\" >> '$file'"
  # One hyperfine call per builder, so that a builder that fails (buildah
  # out of disk, say) costs its own row only; table.py joins the results.
  for mode in cold warm incremental; do
    results=()
    for b in decant "${peers[@]}"; do
      if [ "$b" = decant ]; then cmd=$decant; else cmd=${peer_cmd[$b]}; fi
      args=(--style basic -r "$RUNS" -n "$b" --export-json "$W/$s-$mode-$b.json")
      case $mode in
        # Each cold run gets a fresh copy of the seed store at a new path
        # (the root is a symlink to it), and old copies are deleted only
        # at the scenario's end: ext4 skips inodes freed in the last ~30 s
        # when allocating (ialloc.c recently_deleted), so deleting a 20k-file
        # store right before a run made that run's COPY 2-6 times slower.
        # Peers keep their old snapshots too. sync: the copy's dirty pages
        # would otherwise be flushed by a sync inside the timed build.
        cold) if [ "$b" = decant ]; then args+=(--prepare "d=\$(mktemp -d -p '$W' cold-XXXXXX) && cp -a '$seed/.' \"\$d\" && ln -sfn \"\$d\" '$root' && sync")
              # Flags before the context: buildah takes no option after it.
              else args+=(--prepare sync); cmd=${cmd/ -f / --no-cache -f }; fi;;
        # sync here too: a warm or incremental run must not share the disk
        # with the writeback of the run before it (a cold big-context run
        # leaves ~1 GB dirty, which made 35 ms warm builds take up to 58 ms).
        warm) args+=(-w 1 --prepare sync);;
        incremental) args+=(-w 1 --prepare "$edit && sync");;
      esac
      rm -f "$W/$s-$mode-$b.json"
      hyperfine "${args[@]}" "$cmd" || echo "$b failed in $s $mode (see above)" >&2
      results+=("$b=$W/$s-$mode-$b.json")
    done
    { echo "## $s: $mode"; echo; python3 bench/table.py "${results[@]}"; echo; } >> "$OUT"
  done
  cp "$W/$s.orig" "$file"

  /usr/bin/time -o "$W/$s.rss" -f '%M' "$DECANT" --root "$root" build -f "$dir/Dockerfile" \
    --output "type=oci,dest=$W/$s.tar" "$ctx" >/dev/null 2>"$W/$s.build.log" || true
  rss=$(tail -n1 "$W/$s.rss" 2>/dev/null || echo "?")
  size=$(stat -c %s "$W/$s.tar" 2>/dev/null || echo "?")
  { echo "$s: image (OCI tarball, compressed) $size bytes; peak RSS of a warm build ${rss} KiB"; echo; } >> "$OUT"
  # Disk is scarce on the bench machines: drop this scenario's stores and
  # its cold copies (five big-context copies are ~8 GB), then wait out
  # ext4's recently_deleted window (see the cold prepare above) before the
  # next scenario times anything.
  rm -rf "$seed" "$root" "$W/$s.tar" "$W"/cold-*
  sync; sleep 30
  for p in "${peers[@]}"; do
    case $p in
      docker) /usr/bin/docker image rm -f "bench-$s" >/dev/null 2>&1; /usr/bin/docker builder prune -af >/dev/null 2>&1 || true;;
      buildah) buildah rmi -f "bench-$s" >/dev/null 2>&1; buildah rmi --prune >/dev/null 2>&1 || true;;
    esac
  done
done
echo "results: $OUT"
