#!/usr/bin/env bash
# The README's first command from a fresh clone: an empty target/, the crate cache as it is (warm
# after one build of anything). Clones this checkout's HEAD into a temporary directory, runs
# `cargo run -q -p tollgate -- gate examples/reports/* --out-dir target/gate` there under
# /usr/bin/time, and prints wall time, CPU seconds (user + system; on two quiet cores the wall time
# is about half of it) and the load average before and after. Then the size of the release binary
# when --release is given (a second cold build, `cargo build --release -p tollgate`).
# Usage: bench/first-run.sh [--release] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
release=0
keep=0
for a in "$@"; do
  case "$a" in
    --release) release=1 ;;
    --keep) keep=1 ;;
    *) echo "usage: bench/first-run.sh [--release] [--keep]" >&2; exit 2 ;;
  esac
done
dir=$(mktemp -d /tmp/tollgate-first-run.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$dir"' EXIT
git clone -q . "$dir/clone"
cd "$dir/clone"
unset CARGO_TARGET_DIR
timed() { # label, command...
  local label=$1; shift
  local before; before=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f '%e %U %S' -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" || true
  local wall user sys; read -r wall user sys < <(tail -n 1 "$dir/time")
  printf '%s: wall %s s, CPU %.0f s (user %s + system %s), load before %s, after %s\n' \
    "$label" "$wall" "$(echo "$user + $sys" | bc -l)" "$user" "$sys" "$before" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "first-run.sh: $(git log --oneline -1) in $dir/clone, $(nproc) cores"
timed "cargo run -q -p tollgate -- gate examples/reports/* --out-dir target/gate" \
  bash -c 'cargo run -q -p tollgate -- gate examples/reports/* --out-dir target/gate'
head -n 1 "$dir/out"
if [ "$release" = 1 ]; then
  timed "cargo build --release -p tollgate" cargo build -q --release -p tollgate
  printf 'target/release/tollgate: %s bytes (%.1f MiB)\n' "$(stat -c %s target/release/tollgate)" \
    "$(echo "$(stat -c %s target/release/tollgate) / 1048576" | bc -l)"
fi
