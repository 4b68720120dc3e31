#!/usr/bin/env bash
# One view of the findings queue while 100k-finding reimports run back to back (issue 15 §4,
# docs/benchmarks.md): 8 clients for SECONDS, p50 / p99 / max, and when the slow requests (at or
# above the p99) were sent, by half second, beside when each reimport started and ended and what
# the server logged about its vacuums — to tell a tail spread over the window (the cores shared)
# from one bunched at a commit or a vacuum.
#
# Usage: bench/during.sh [--postgres URL] PATH [SECONDS, default 20]
#   e.g. UI_DB=/tmp/ui.db bench/during.sh '/ui/findings?cwe=79'
#        HUB_PG_DB=uihub bench/during.sh --postgres postgres://postgres@127.0.0.1:5432/test '/ui/findings?cwe=79'
# An existing hub that bench/ui.sh built: UI_DB (SQLite) or HUB_PG_DB (PostgreSQL). Environment as
# for bench/ui.sh (TOLLGATE_BIN), and HUB_SERVE_ARGS for `tollgate serve` (e.g. --max-connections 4).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--postgres" ]; then PG_URL="${2:?--postgres needs a URL}"; shift 2; fi
URL_PATH="${1:?usage: bench/during.sh [--postgres URL] PATH [SECONDS]}"
SECS="${2:-20}"
BENCH_NAME=during.sh
# shellcheck source=bench/lib/hub.sh
. bench/lib/hub.sh
if [ -n "${PG_URL:-}" ]; then
  [ -n "${HUB_PG_DB:-}" ] && [ "$(psql "$PG_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '$HUB_PG_DB'")" = 1 ] ||
    die "HUB_PG_DB must name a hub database bench/ui.sh built"
else
  [ -s "${UI_DB:-}" ] || die "UI_DB must name a hub file bench/ui.sh built"
fi
hub_database "${UI_DB:-}"
export RUST_LOG="${RUST_LOG:-info,sqlx=warn}"
hub_start
hub_reports 100000
PRODUCTS="${UI_PRODUCTS:-10}"
( for i in $(seq 1 40); do
    echo "$(date +%H:%M:%S.%N | cut -c1-12) reimport $i starts"
    hub_upload reimport-scan "$([ $((i % 2)) = 0 ] && echo "$BASE" || echo "$CHANGED")" "app$PRODUCTS" "t$i"
    echo "$(date +%H:%M:%S.%N | cut -c1-12) reimport $i done"
  done ) >"$WORK/reimports" 2>&1 &
REIMPORTS=$!
sleep 3
python3 bench/lib/timeline.py "$HUB" "$TOKEN" "$SECS" "$URL_PATH"
hub_reimports_stop
echo "reimports (into app$PRODUCTS):"
cat "$WORK/reimports"
echo "the server's vacuums after writes:"
sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep -i "vacuumed\|VACUUM after" | cut -c1-220 || true
