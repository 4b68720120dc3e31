#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation and runs each for a while.
#
# Works on the stable toolchain: the instrumentation cargo-fuzz asks for (`-Cpasses=sancov-module`
# and the sanitizer-coverage LLVM options) is stable; only AddressSanitizer needs nightly, and
# Rust code without `unsafe` (ours forbids it) gains little from it. With a nightly toolchain and
# cargo-fuzz installed, `cargo +nightly fuzz run <target>` works as well.
#
# Usage: fuzz/run.sh [--build-only | --seeds-only] [SECONDS_PER_TARGET (default 60)] [TARGET ...]
#   --seeds-only: run every seed once through every target and stop (deterministic; CI runs it).
#   Targets: detect sarif mobile sca dast code pipelined (default: all).
#   Seeds: our fixtures (crates/tollgate-parsers/tests/fixtures) and, when it is there, the
#   shared corpus of real reports (../shared/corpus or $TOLLGATE_CORPUS), read in place.
#   New inputs go to fuzz/corpus/<target>/, crashes to fuzz/artifacts/<target>/ (both ignored
#   by git). The last lines are one summary line per target: runs, seconds, crashes.
set -euo pipefail
cd "$(dirname "$0")"
build_only=0
seeds_only=0
case "${1:-}" in
  --build-only) build_only=1; shift ;;
  --seeds-only) seeds_only=1; shift ;;
esac
seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
all=(detect sarif mobile sca dast code pipelined)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")

host=$(rustc -vV | sed -n 's/^host: //p')
# `--target` keeps the instrumentation out of build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --target "$host" --target-dir "$target_dir" --bins
[[ $build_only == 1 ]] && exit 0

fixtures=../crates/tollgate-parsers/tests/fixtures
corpus=${TOLLGATE_CORPUS:-../../shared/corpus}
seeds_for() {
  local dirs=()
  case $1 in
    sarif) dirs=(sarif) ;;
    mobile) dirs=(mobsf mobsf-scorecard mobsfscan datatheorem) ;;
    sca) dirs=(trivy dependency-check-json dependency-check-xml) ;;
    dast) dirs=(zap-xml zap-json) ;;
    code) dirs=(semgrep bandit gitlab-sast gitlab-secret-detection gitleaks generic) ;;
    pipelined) dirs=(sarif trivy) ;;
    *) dirs=($(ls "$fixtures")) ;;
  esac
  for d in "${dirs[@]}"; do echo "$fixtures/$d"; done
  [[ -d $corpus ]] && echo "$corpus"
}

summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log=$(mktemp)
  set +e
  if [[ $seeds_only == 1 ]]; then
    # Each seed file once, as it is (no mutation, no corpus written).
    "$target_dir/$host/release/$t" -timeout=60 -rss_limit_mb=4096 \
      -artifact_prefix="artifacts/$t/" $(seeds_for "$t" | xargs -I{} find {} -type f) >"$log" 2>&1
  else
    # Seeds larger than 1 MiB are skipped by libFuzzer (-max_len): they would slow every run.
    "$target_dir/$host/release/$t" "corpus/$t" $(seeds_for "$t") \
      -max_total_time="$seconds" -max_len=1048576 -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"$log" 2>&1
  fi
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ $seeds_only == 1 ]] && runs=$(grep -c '^Running: ' "$log" || true)
  crashes=$(find "artifacts/$t" -type f | wc -l)
  tail -3 "$log" | sed "s/^/[$t] /"
  summary+=("$t: ${runs:-?} runs$([[ $seeds_only == 1 ]] || echo " in ${seconds} s"), exit $status, ${crashes} crash/timeout/oom artifacts in fuzz/artifacts/$t")
  [[ $status == 0 && $crashes == 0 ]] || failed=1
  rm -f "$log"
done
printf '%s\n' "${summary[@]}"
exit "${failed:-0}"
