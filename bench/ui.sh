#!/usr/bin/env bash
# The findings queue under load (issue 15 §4, docs/ui.md): a 1M-finding hub (SQLite, or PostgreSQL
# with --postgres; 10 products x 100k SARIF findings, labelled with tiers and platforms, a 10%-changed reimport into five of them
# so some findings are mitigated), then `/ui/findings` with several filters, 8 concurrent clients
# per URL, p50 / p99 against the 200 ms target. The load is a small Python loop (threads with
# urllib, one request at a time each, as bench/metrics.sh measures), not wrk: it needs nothing
# installed, and it reads every response to the end.
#
# Then the same views again while 100k-finding reimports run back to back (reads must not queue
# behind writes: ≤ 500 ms p99 there), one view at a time and then all of them mixed.
#
# Usage: bench/ui.sh [--postgres URL] [SECONDS per URL, default 10]
#   --postgres URL  the same hub on PostgreSQL: a fresh database is created beside URL's (e.g.
#                   postgres://postgres@127.0.0.1:5432/test) and dropped at the end; needs psql
# Environment: TOLLGATE_BIN (measure this binary instead of building target/release/tollgate),
#   UI_PRODUCTS (default 10), UI_FINDINGS (per product, default 100000),
#   UI_DB (a SQLite file: built there when missing, reused when present — a later run skips the
#   ~minutes of imports; default: a temporary file, removed on exit; not with --postgres),
#   HUB_PG_DB (with --postgres: the database's name, built when missing, reused when present,
#   never dropped), UI_PHASES (which of "idle during mixed" to measure, default all three: e.g.
#   UI_PHASES=mixed for the mixed phase alone, to compare two binaries in turn on one hub).
# Needs curl, jq, python3. Generated reports are kept in bench-out/hub/; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--postgres" ]; then PG_URL="${2:?--postgres needs a URL}"; shift 2; fi
SECONDS_EACH="${1:-10}"
PRODUCTS="${UI_PRODUCTS:-10}"
FINDINGS="${UI_FINDINGS:-100000}"
BENCH_NAME=ui.sh
# shellcheck source=bench/lib/hub.sh
. bench/lib/hub.sh

DB_FILE="${UI_DB:-$WORK/hub.db}"
BUILD=1
if [ -z "${PG_URL:-}" ] && [ -s "$DB_FILE" ]; then BUILD=0; echo "reusing $DB_FILE" >&2; fi
hub_database "$DB_FILE"
if [ "$PG_REUSED" = 1 ]; then BUILD=0; fi
hub_start
hub_reports "$FINDINGS"
if [ "$BUILD" = 1 ]; then hub_fill "$PRODUCTS"; fi
PRODUCT="$(curl -fsS "${auth[@]}" "$HUB/api/v2/products/?limit=1" | jq -r '.results[0].id')"
TOTAL="$(curl -fsS "${auth[@]}" "$HUB/api/v2/findings/?limit=1" | jq -r .count)"
echo "hub: $TOTAL findings; measuring: 8 clients, ${SECONDS_EACH}s per URL" >&2
views=(/ui/findings "/ui/findings?severity=critical" "/ui/findings?product=$PRODUCT" \
  "/ui/findings?platform=android&severity=critical&severity=high" "/ui/findings?tier=tier-2&sort=sla" \
  "/ui/findings?scanner=codeql&severity=medium" "/ui/findings?category=sast&sort=-age" \
  "/ui/findings?cwe=79" "/ui/findings?tag=xss&status=all" "/ui/findings?vuln=CVE-2021-44228" \
  "/ui/findings?sla=due_soon" "/ui/findings?since=2026-01-01&severity=low" "/ui/findings?status=mitigated" \
  "/ui/findings?status=all&sort=title" "/ui/findings?product=$PRODUCT&page=40" "/ui/findings?q=after+refactoring" \
  "/ui/findings?q=sql-injection" "/ui/findings?q=module7%2Fpkg")
PHASES=" ${UI_PHASES:-idle during mixed} "
if [[ $PHASES == *" idle "* ]]; then
  python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" cookie "the findings queue, idle" "${views[@]}"
fi
# The same while 100k-finding reimports run back to back (the changed and the base report in turn)
# into the last product.
if [[ $PHASES == *" during "* || $PHASES == *" mixed "* ]]; then hub_reimports_start "app$PRODUCTS" 40; fi
if [[ $PHASES == *" during "* ]]; then
  LOAD_TARGET_MS=500 python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" cookie \
    "the findings queue, during 100k-finding reimports" "${views[@]}"
fi
# And the views mixed (each client asks a random one each time) over one window as long as all
# of theirs: each view then meets every phase of the reimports' cycle, where one window per view
# puts each in the same phase run after run (bench/lib/load.py, LOAD_MIX).
if [[ $PHASES == *" mixed "* ]]; then
  LOAD_MIX=1 LOAD_TARGET_MS=500 python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECONDS_EACH" cookie \
    "the findings queue, during 100k-finding reimports, views mixed" "${views[@]}"
fi
if [ -n "${REIMPORTS:-}" ]; then hub_reimports_stop; fi
hub_size
