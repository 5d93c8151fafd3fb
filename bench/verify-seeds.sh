#!/usr/bin/env bash
# Issue 6's proof on the three seed scenarios of ../shared/bench, by hand or
# from a shell, never in CI (the base images come from debootstrap, which
# needs the network):
#
#   1. each seed scenario builds, and its binary runs in the built root;
#   2. a second identical build runs no step at all (every step CACHED);
#   3. after appending a comment to the file bench.conf names, exactly the
#      steps that read it re-run, plus the steps that build on their output:
#      later steps of the same stage, and a COPY --from whose copied files
#      changed (BuildKit keys it by their content, so a stage that re-ran
#      but produced the same files leaves the copy cached). The table below
#      lists them, and anything else re-running or a listed step served
#      from the cache fails the check.
#
#   bash ../shared/bench/setup.sh      # once: registry and base images
#   bash bench/verify-seeds.sh [scenario...]
#   env: DECANT (binary; default target/release/decant, built if missing),
#        VERIFY_WORK (scratch dir, default /var/tmp/decant-bench/verify)
#
# Each scenario gets a fresh store and a fresh copy of its directory; the
# shared directory is never written. Exit status 0 only if every check of
# every scenario passed.
set -euo pipefail
if [ "${CI:-}" = true ]; then echo "bench/verify-seeds.sh does not run in CI (needs debootstrapped base images)" >&2; exit 1; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/shared-dir.sh
W=${VERIFY_WORK:-/var/tmp/decant-bench/verify}
export CONTAINERS_REGISTRIES_CONF=${CONTAINERS_REGISTRIES_CONF:-/var/tmp/decant-bench/registries.conf}
[ -f "$CONTAINERS_REGISTRIES_CONF" ] || { echo "first run: bash $SHARED/bench/setup.sh" >&2; exit 1; }
if [ -z "${DECANT:-}" ]; then DECANT=$PWD/target/release/decant; [ -x "$DECANT" ] || cargo build --release -p cli; fi

# What must re-run after the incremental edit: "stage<TAB>instruction" lines.
declare -A RERUN
RERUN[seed-go]=$'build\tCOPY . .
build\tRUN go build -o app .
stage-1\tCOPY --from=build /src/app /usr/local/bin/app'
RERUN[seed-lint]=$'lint\tCOPY . .
lint\tRUN golangci-lint run --out-format=line-number ./... > /lint-report.txt && cat /lint-report.txt
build\tCOPY . .
build\tRUN go build -ldflags=\'-s -w\' -o app .
stage-2\tCOPY --from=build /src/app /usr/local/bin/app'
# (The lint report does not change with a comment, so its copy stays cached;
# the binary does, because Go's build ID hashes the source files.)
RERUN[seed-fullstack]=$'frontend\tCOPY frontend/ ./
frontend\tRUN npm run build'
# (The bundle drops comments, so /app/dist is the same and both copies into
# the final stage stay cached.)

# The built binary must run: a command inside the exported root, and a
# pattern its output must match.
declare -A RUN_CMD RUN_EXPECT
RUN_CMD[seed-go]="/usr/local/bin/app -selftest";          RUN_EXPECT[seed-go]="^selftest ok$"
RUN_CMD[seed-lint]="/usr/local/bin/app -selftest";        RUN_EXPECT[seed-lint]="^selftest ok$"
RUN_CMD[seed-fullstack]="/usr/local/bin/server -check";   RUN_EXPECT[seed-fullstack]=" [1-9][0-9]* files under /var/www$"

failures=0
fail() { echo "FAIL $s: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok   $s: $*"; }

# The steps a plain-progress log shows as run (not CACHED), as
# "stage<TAB>instruction" lines, sorted.
ran_steps() {
  awk '
    match($0, /^\[[^ ]+ [0-9]+\/[0-9]+\] /) {
      head = substr($0, 2, RLENGTH - 3); split(head, h, " "); split(h[2], n, "/")
      text[h[1] " " n[1]] = substr($0, RLENGTH + 1); next
    }
    match($0, /^\[[^ ]+ [0-9]+\] DONE /) {
      head = substr($0, 2); split(head, h, "]"); split(h[1], k, " ")
      print k[1] "\t" text[k[1] " " k[2]]
    }' "$1" | sort
}

check_binary() { # scenario rootfs
  local out
  if out=$(chroot "$2" ${RUN_CMD[$1]} 2>&1) && grep -Eq "${RUN_EXPECT[$1]}" <<<"$out"; then
    ok "binary runs: ${RUN_CMD[$1]} -> $out"
  else
    fail "binary: ${RUN_CMD[$1]} -> $out"
  fi
}

scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=(seed-go seed-lint seed-fullstack)
for s in "${scenarios[@]}"; do
  [ -n "${RERUN[$s]:-}" ] || { echo "unknown seed scenario $s" >&2; exit 2; }
  dir=$W/$s root=$W/$s.store
  rm -rf "$dir" "$root" "$W/$s.rootfs"; mkdir -p "$dir"; cp -a "$SHARED/bench/scenarios/$s/." "$dir/"
  build() { # log [extra args]
    local log=$1; shift
    "$DECANT" --root "$root" build --progress plain -t "verify-$s" "$@" "$dir" >"$log" 2>&1
  }

  if build "$W/$s.1.log" -o "type=local,dest=$W/$s.rootfs"; then
    ok "builds ($(tail -n1 "$W/$s.1.log"))"
    check_binary "$s" "$W/$s.rootfs"
  else
    fail "first build failed, see $W/$s.1.log"; continue
  fi

  if build "$W/$s.2.log" && grep -q "(0 steps run, [1-9][0-9]* cached)" "$W/$s.2.log" \
      && [ -z "$(ran_steps "$W/$s.2.log")" ]; then
    ok "identical rebuild runs nothing ($(tail -n1 "$W/$s.2.log"))"
  else
    fail "identical rebuild ran steps, see $W/$s.2.log"
  fi

  file=$dir/$(sed -n 's/^# bench-incremental-file: //p' "$dir/bench.conf")
  comment=$(sed -n 's/^# bench-incremental-comment: //p' "$dir/bench.conf")
  # A blank line first: seed-lint lints main.go, and gofmt (hence the
  # linter, with any builder) rejects a comment glued to a closing brace.
  printf '\n%s verify-seeds edit\n' "$comment" >> "$file"
  rm -rf "$W/$s.rootfs"
  if build "$W/$s.3.log" -o "type=local,dest=$W/$s.rootfs"; then
    expected=$(sort <<<"${RERUN[$s]}") actual=$(ran_steps "$W/$s.3.log")
    if [ "$expected" = "$actual" ]; then
      ok "edit of ${file#"$dir"/} re-ran exactly: $(cut -f2 <<<"$actual" | paste -sd'|' | sed 's/|/ | /g')"
    else
      fail "edit of ${file#"$dir"/}: re-ran steps differ from the expected ones:"
      diff <(echo "$expected") <(echo "$actual") | sed 's/^/       /' >&2 || true
    fi
    check_binary "$s" "$W/$s.rootfs"
  else
    fail "incremental build failed, see $W/$s.3.log"
  fi
done
if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed" >&2; exit 1; fi
echo "all checks passed"
