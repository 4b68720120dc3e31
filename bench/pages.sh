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
PG_URL=""
if [ "${1:-}" = "--postgres" ]; then PG_URL="${2:?--postgres needs a URL}"; shift 2; fi
SECONDS_EACH="${1:-10}"
PRODUCTS="${METRICS_PRODUCTS:-10}"
FINDINGS="${METRICS_FINDINGS:-100000}"
die() { echo "bench/pages.sh: FAILED: $*" >&2; exit 1; }
for tool in curl jq python3; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [ -n "${TOLLGATE_BIN:-}" ]; then
  cargo build --release -q -p tollgate-bench
else
  cargo build --release -q -p tollgate -p tollgate-bench
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
TOLLGATE="${TOLLGATE_BIN:-$TARGET_DIR/release/tollgate}"
BENCH="$TARGET_DIR/release/tollgate-bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-pagesbench.XXXXXX")"
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

GEN="$("$BENCH" hub-generate --dir bench-out/hub --findings "$FINDINGS" --rules 300 --changed-percent 10)"
BASE="$(sed -n 's/.*base=\([^ ]*\).*/\1/p' <<<"$GEN")"
CHANGED="$(sed -n 's/.*changed=\([^ ]*\).*/\1/p' <<<"$GEN")"
[ -s "$BASE" ] && [ -s "$CHANGED" ] || die "generator said: $GEN"

if [ -n "$PG_URL" ]; then
  command -v psql >/dev/null || die "psql is required for --postgres"
  PG_DB="tollgate_pages_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null || die "cannot create database $PG_DB"
  DB="${PG_URL%/*}/$PG_DB"
else
  DB="sqlite://$WORK/hub.db"
fi
echo "database: $DB" >&2
TOKEN="$("$TOLLGATE" token create --name bench --scope admin --database "$DB" | head -n 1)"
"$TOLLGATE" serve --listen 127.0.0.1:0 --database "$DB" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
HUB=""
for _ in $(seq 1 300); do
  HUB="$(sed -n 's/^tollgate hub listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out")"
  [ -n "$HUB" ] && break
  sleep 0.1
done
[ -n "$HUB" ] || die "tollgate serve did not start: $(tail -5 "$WORK/server.log")"
auth=(-H "Authorization: Token $TOKEN")

upload() { # endpoint file product commit
  curl -fsS -o "$WORK/resp.json" "${auth[@]}" -X POST "$HUB/api/v2/$1/" -F scan_type=SARIF -F "file=@$2" \
    -F product_type_name=bench -F "product_name=$3" -F engagement_name=ci -F auto_create_context=true \
    -F "commit_hash=$4" || die "$1 into $3"
}
echo "building: $PRODUCTS products x $FINDINGS findings" >&2
ids=()
for p in $(seq 1 "$PRODUCTS"); do
  t0=$(date +%s%N)
  upload import-scan "$BASE" "app$p" "c$p"
  echo "  app$p: import of $FINDINGS findings $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
  id="$(jq -r .product_id "$WORK/resp.json")"; ids+=("$id")
  platform=$([ $((p % 2)) = 0 ] && echo android || echo web)
  curl -fsS -o /dev/null "${auth[@]}" -X PATCH -H 'Content-Type: application/json' \
    -d "{\"tier\": \"tier-$((p % 3 + 1))\", \"platform\": \"$platform\"}" "$HUB/api/v2/products/$id/"
  if [ "$p" -le 5 ]; then upload reimport-scan "$CHANGED" "app$p" "d$p"; fi
  echo "  app$p done" >&2
done
echo "recording 400 gate runs and 200 promotions" >&2
python3 - "$HUB" "$TOKEN" "$PRODUCTS" <<'EOF'
import json, sys, urllib.request
hub, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(path, body):
    req = urllib.request.Request(hub + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Token " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
rules = ["new-critical", "secrets", "debuggable-release", "cleartext-traffic"]
for i in range(400):
    p = "app%d" % (i % n + 1)
    outcome = ["PASS", "WARN", "FAIL"][i % 3]
    reasons = [{"kind": "rule", "verdict": "block", "rule": rules[i % 4], "message": "m",
                "fingerprints": ["x"] * (i % 5)}] if outcome == "FAIL" else []
    post("/api/v2/tollgate/gate-runs/", {"product_name": p, "outcome": outcome,
        "commit_hash": "c%d" % (i % n + 1), "artifact_sha256": "%064x" % i, "summary": {"reasons": reasons}})
for i in range(200):
    post("/api/v2/tollgate/promotions/", {"product": "app%d" % (i % n + 1),
        "artifact_sha256": "%064x" % (i * 3), "environment": ["production", "beta"][i % 2]})
EOF

REIMPORT_PRODUCT="app$PRODUCTS"
TEST_ID="$(curl -fsS "${auth[@]}" "$HUB/api/v2/tests/?limit=1" | jq -r '.results[0].id')"
RUN_ID=400
measure() { # label
  python3 - "$HUB" "$TOKEN" "$SECONDS_EACH" "${ids[1]}" "$TEST_ID" "$RUN_ID" "$1" <<'EOF'
import sys, threading, time, urllib.request
hub, token, secs, product, test, run, label = sys.argv[1:8]
secs = float(secs)
paths = ["/", "/ui/products", "/ui/metrics", "/ui/gate-runs", "/ui/gate-runs?outcome=block&page=3",
         "/ui/gate-runs/" + run, "/ui/risk-acceptances", "/ui/metrics?product=" + product,
         "/ui/products/" + product, "/ui/tests/" + test,
         "/ui/findings", "/ui/findings?product=" + product, "/ui/findings?severity=critical",
         "/ui/findings?platform=android&severity=critical&severity=high", "/ui/findings?status=mitigated",
         "/ui/findings?cwe=79"]
def get(path):
    req = urllib.request.Request(hub + path, headers={"Cookie": "tollgate_token=" + token})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read()
        assert r.status == 200
    return (time.perf_counter() - t) * 1000
print("%s\n%-48s %8s %8s %8s %6s" % (label, "page (8 concurrent clients)", "p50 ms", "p99 ms", "max ms", "n"))
for path in paths:
    get(path)
    lat, stop = [], time.time() + secs
    def client():
        while time.time() < stop:
            lat.append(get(path))
    ts = [threading.Thread(target=client) for _ in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("%-48s %8.1f %8.1f %8.1f %6d" % (path, p(0.5), p(0.99), lat[-1], len(lat)), flush=True)
EOF
}
echo "measuring: 8 clients, ${SECONDS_EACH}s per page" >&2
measure "idle"
# The same while 100k-finding reimports run back to back (the changed and the base report in turn).
( for i in $(seq 1 20); do
    upload reimport-scan "$([ $((i % 2)) = 0 ] && echo "$BASE" || echo "$CHANGED")" "$REIMPORT_PRODUCT" "r$i"
  done ) >/dev/null 2>&1 &
REIMPORTS=$!
sleep 3
measure "during 100k-finding reimports"
kill "$REIMPORTS" 2>/dev/null || true; wait "$REIMPORTS" 2>/dev/null || true
if [ -z "$PG_URL" ]; then
  echo "database: $(du -cm "$WORK"/hub.db* | tail -n 1 | cut -f1) MiB" >&2
else
  echo "database: $(psql "$PG_URL" -Atc "SELECT pg_database_size('$PG_DB') / 1048576") MiB (PostgreSQL)" >&2
fi
