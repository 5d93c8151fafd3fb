#!/usr/bin/env bash
# The whole test run, as CI does it: format, lints, tests (tiers 1, 2, 4),
# a release build, then the conformance suite (tier 3). Its last line is the
# suite's `N passed, M failed`. Needs the registry of
# ../shared/conformance/setup-registry.sh (.ci/run starts it).
#
# Conformance is a ratchet: fewer passing cases than .ci/conformance-baseline
# fails the run; raise the baseline in the commit that makes more cases pass.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/shared-dir.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
cargo build --release -p cli

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
python3 "$SHARED/conformance/check.py" --builder decant --decant-bin "${CARGO_TARGET_DIR:-target}/release/decant" -j 2 \
  | tee "$log" || status=$?
summary=$(tail -n 1 "$log")
passed=$(sed -n 's/^\([0-9][0-9]*\) passed, [0-9][0-9]* failed.*/\1/p' <<<"$summary")
if [ -z "$passed" ]; then
  echo "conformance: check.py exited $status without its summary line" >&2
  exit 1
fi
baseline=$(grep -v '^#' .ci/conformance-baseline | tr -d '[:space:]')
if [ "$passed" -lt "$baseline" ]; then
  echo "conformance regressed: $passed cases pass, the baseline is $baseline" >&2
  echo "$summary"
  exit 1
fi
if [ "$passed" -gt "$baseline" ]; then
  echo "conformance: $passed cases pass, above the baseline $baseline; raise .ci/conformance-baseline"
fi
echo "$summary"
