#!/usr/bin/env bash
# The web UI's hub pages under load (issue 15 §2 and §4, docs/ui.md): the hub of bench/metrics.sh
# (1M SARIF findings in 10 products, reimports, 400 gate runs, 200 promotions); then the dashboard,
# product list, metrics page and the other pages with 8 concurrent clients signed in by cookie,
# p50 / p99 against the 200 ms target — idle, then again while 100k-finding reimports run.
#
# Usage: bench/pages.sh [--postgres URL] [SECONDS per page, default 10]
#   --postgres URL  the same hub on PostgreSQL: a fresh database is created beside URL's (e.g.
#                   postgres://postgres@127.0.0.1:5432/test) and dropped at the end; needs psql
# Environment: TOLLGATE_BIN (measure this binary instead of building target/release/tollgate),
#   METRICS_PRODUCTS (default 10), METRICS_FINDINGS (per product, default 100000).
# Needs curl, jq, python3. Generated reports are kept in bench-out/hub/; the database, logs and the
# server are removed / stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--postgres" ]; then PG_URL="${2:?--postgres needs a URL}"; shift 2; fi
SECONDS_EACH="${1:-10}"
PRODUCTS="${METRICS_PRODUCTS:-10}"
FINDINGS="${METRICS_FINDINGS:-100000}"
BENCH_NAME=pages.sh
# shellcheck source=bench/lib/hub.sh
. bench/lib/hub.sh

hub_reports "$FINDINGS"
hub_database
hub_start
hub_fill "$PRODUCTS"
hub_gate_runs "$PRODUCTS"

REIMPORT_PRODUCT="app$PRODUCTS"
TEST_ID="$(curl -fsS "${auth[@]}" "$HUB/api/v2/tests/?limit=1" | jq -r '.results[0].id')"
product="${ids[1]}"
paths=(/ /ui/products /ui/metrics /ui/gate-runs "/ui/gate-runs?outcome=block&page=3" /ui/gate-runs/400
  /ui/risk-acceptances "/ui/metrics?product=$product" "/ui/products/$product" "/ui/tests/$TEST_ID"
  /ui/findings "/ui/findings?product=$product" "/ui/findings?severity=critical"
  "/ui/findings?platform=android&severity=critical&severity=high" "/ui/findings?status=mitigated"
  "/ui/findings?cwe=79")
echo "measuring: 8 clients, ${SECONDS_EACH}s per page" >&2
python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" cookie "idle" "${paths[@]}"
# The same while 100k-finding reimports run back to back (the changed and the base report in turn).
hub_reimports_start "$REIMPORT_PRODUCT" 20
LOAD_TARGET_MS=500 python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" cookie "during 100k-finding reimports" "${paths[@]}"
hub_reimports_stop
hub_size
