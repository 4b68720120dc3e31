#!/usr/bin/env bash
# Program metrics under load (issue 15 §3, docs/metrics.md): a 1M-finding SQLite hub (10 products x
# 100k SARIF findings, half of them labelled android, a 10%-changed reimport into five of them so
# the status-change log has mitigations), 400 gate runs with blocking reasons, 200 promotions; then
# every metric's JSON and SVG with 8 concurrent clients, p50 / p99 against the 200 ms target.
#
# Usage: bench/metrics.sh [SECONDS per endpoint, default 10]
# Environment: TOLLGATE_BIN (measure this binary instead of building target/release/tollgate),
#   METRICS_PRODUCTS (default 10), METRICS_FINDINGS (per product, default 100000).
# Needs curl, jq, python3. Generated reports are kept in bench-out/hub/; the database, logs and the
# server are removed / stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"
PRODUCTS="${METRICS_PRODUCTS:-10}"
FINDINGS="${METRICS_FINDINGS:-100000}"
BENCH_NAME=metrics.sh
# shellcheck source=bench/lib/hub.sh
. bench/lib/hub.sh

hub_reports "$FINDINGS"
hub_database
hub_start
hub_fill "$PRODUCTS"
hub_gate_runs "$PRODUCTS"

echo "measuring: 8 clients, ${SECONDS_EACH}s per endpoint" >&2
paths=()
for s in promoted-scanned scans-imported critical-mobile-by-tier open-age blocking-by-quarter \
  remediation open-findings gate-outcomes; do
  paths+=("/api/v2/tollgate/metrics/$s/" "/api/v2/tollgate/metrics/$s.svg")
done
paths+=("/api/v2/tollgate/metrics/open-findings/?interval=day&from=2026-01-01"
  "/api/v2/tollgate/metrics/open-age/?product=${ids[1]}")
python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" header "metrics endpoints" "${paths[@]}"
hub_size
