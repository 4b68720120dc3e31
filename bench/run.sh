#!/usr/bin/env bash
# Benchmark: generates a large SARIF (200k results, >100 MB) and a large Trivy report (120k
# vulnerabilities, >100 MB) in bench-out/, then measures `tollgate parse --format ndjson` against
# the floor (read the same bytes + deserialize into serde::de::IgnoredAny), and `tollgate gate` against
# `tollgate parse`.
# Usage: bench/run.sh [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p tollgate -p tollgate-bench
mkdir -p bench-out/gate
# Also times `tollgate gate` on each file against `tollgate parse` (issue 3's target: <= 1.2x).
exec target/release/tollgate-bench run --tollgate target/release/tollgate --dir bench-out \
  --gate-args "gate --build release --out-dir bench-out/gate" "$@"
