#!/usr/bin/env bash
# Benchmark: generates a large SARIF (200k results, >100 MB) and a large Trivy report (120k
# vulnerabilities, >100 MB) in bench-out/, then measures `tollgate parse --format ndjson` against
# the floor (read the same bytes + deserialize into serde::de::IgnoredAny).
# Usage: bench/run.sh [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p tollgate -p tollgate-bench
exec target/release/tollgate-bench run --tollgate target/release/tollgate --dir bench-out "$@"
