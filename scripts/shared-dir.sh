# Sourced by the scripts that need ../shared (run from the repository root):
# sets SHARED to $DECANT_SHARED_DIR, else the nearest ancestor's shared/
# (worktrees sit deeper than CI's clone), else ../shared.
shared_dir() {
  local d=$PWD
  while [ "$d" != / ]; do d=$(dirname "$d"); [ -d "$d/shared/conformance" ] && { echo "$d/shared"; return; }; done
  echo "$(dirname "$PWD")/shared"
}
SHARED=${DECANT_SHARED_DIR:-$(shared_dir)}
