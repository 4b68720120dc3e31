#!/usr/bin/env bash
# The findings queue under load (issue 15 §4, docs/ui.md): a 1M-finding SQLite hub (10 products x
# 100k SARIF findings, labelled with tiers and platforms, a 10%-changed reimport into five of them
# so some findings are mitigated), then `/ui/findings` with several filters, 8 concurrent clients
# per URL, p50 / p99 against the 200 ms target. The load is a small Python loop (threads with
# urllib, one request at a time each, as bench/metrics.sh measures), not wrk: it needs nothing
# installed, and it reads every response to the end.
#
# Usage: bench/ui.sh [SECONDS per URL, default 10]
# Environment: TOLLGATE_BIN (measure this binary instead of building target/release/tollgate),
#   UI_PRODUCTS (default 10), UI_FINDINGS (per product, default 100000),
#   UI_DB (a SQLite file: built there when missing, reused when present — a later run skips the
#   ~minutes of imports; default: a temporary file, removed on exit).
# Needs curl, jq, python3. Generated reports are kept in bench-out/hub/; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-10}"
PRODUCTS="${UI_PRODUCTS:-10}"
FINDINGS="${UI_FINDINGS:-100000}"
die() { echo "bench/ui.sh: FAILED: $*" >&2; exit 1; }
for tool in curl jq python3; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [ -n "${TOLLGATE_BIN:-}" ]; then
  cargo build --release -q -p tollgate-bench
else
  cargo build --release -q -p tollgate -p tollgate-bench
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
TOLLGATE="${TOLLGATE_BIN:-$TARGET_DIR/release/tollgate}"
BENCH="$TARGET_DIR/release/tollgate-bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-uibench.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

DB_FILE="${UI_DB:-$WORK/hub.db}"
BUILD=1
if [ -s "$DB_FILE" ]; then BUILD=0; echo "reusing $DB_FILE" >&2; fi
DB="sqlite://$DB_FILE"
TOKEN="$("$TOLLGATE" token create --name "ui-bench-$$" --scope admin --database "$DB" | head -n 1)"
"$TOLLGATE" serve --listen 127.0.0.1:0 --database "$DB" >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
HUB=""
for _ in $(seq 1 600); do
  HUB="$(sed -n 's/^tollgate hub listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out")"
  [ -n "$HUB" ] && break
  sleep 0.1
done
[ -n "$HUB" ] || die "tollgate serve did not start: $(tail -5 "$WORK/server.log")"
auth=(-H "Authorization: Token $TOKEN")

if [ "$BUILD" = 1 ]; then
  GEN="$("$BENCH" hub-generate --dir bench-out/hub --findings "$FINDINGS" --rules 300 --changed-percent 10)"
  BASE="$(sed -n 's/.*base=\([^ ]*\).*/\1/p' <<<"$GEN")"
  CHANGED="$(sed -n 's/.*changed=\([^ ]*\).*/\1/p' <<<"$GEN")"
  [ -s "$BASE" ] && [ -s "$CHANGED" ] || die "generator said: $GEN"
  upload() { # endpoint file product commit
    curl -fsS -o "$WORK/resp.json" "${auth[@]}" -X POST "$HUB/api/v2/$1/" -F scan_type=SARIF -F "file=@$2" \
      -F product_type_name=bench -F "product_name=$3" -F engagement_name=ci -F auto_create_context=true \
      -F "commit_hash=$4" || die "$1 into $3"
  }
  echo "building: $PRODUCTS products x $FINDINGS findings" >&2
  START=$(date +%s)
  for p in $(seq 1 "$PRODUCTS"); do
    upload import-scan "$BASE" "app$p" "c$p"
    id="$(jq -r .product_id "$WORK/resp.json")"
    platform=$([ $((p % 2)) = 0 ] && echo android || echo web)
    curl -fsS -o /dev/null "${auth[@]}" -X PATCH -H 'Content-Type: application/json' \
      -d "{\"tier\": \"tier-$((p % 3 + 1))\", \"platform\": \"$platform\"}" "$HUB/api/v2/products/$id/"
    if [ "$p" -le 5 ]; then upload reimport-scan "$CHANGED" "app$p" "d$p"; fi
    echo "  app$p done" >&2
  done
  echo "built in $(( $(date +%s) - START )) s" >&2
fi
PRODUCT="$(curl -fsS "${auth[@]}" "$HUB/api/v2/products/?limit=1" | jq -r '.results[0].id')"
TOTAL="$(curl -fsS "${auth[@]}" "$HUB/api/v2/findings/?limit=1" | jq -r .count)"
echo "hub: $TOTAL findings; measuring: 8 clients, ${SECONDS_EACH}s per URL" >&2

python3 - "$HUB" "$TOKEN" "$SECONDS_EACH" "$PRODUCT" <<'EOF'
import re, sys, threading, time, urllib.request
hub, token, secs, product = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
paths = [
    "/ui/findings",
    "/ui/findings?severity=critical",
    "/ui/findings?product=%s" % product,
    "/ui/findings?platform=android&severity=critical&severity=high",
    "/ui/findings?tier=tier-2&sort=sla",
    "/ui/findings?scanner=codeql&severity=medium",
    "/ui/findings?category=sast&sort=-age",
    "/ui/findings?cwe=79",
    "/ui/findings?tag=xss&status=all",
    "/ui/findings?vuln=CVE-2021-44228",
    "/ui/findings?sla=due_soon",
    "/ui/findings?since=2026-01-01&severity=low",
    "/ui/findings?status=mitigated",
    "/ui/findings?status=all&sort=title",
    "/ui/findings?product=%s&page=40" % product,
    "/ui/findings?q=after+refactoring",
]
def get(path):
    req = urllib.request.Request(hub + path, headers={"Cookie": "tollgate_token=" + token})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
        assert r.status == 200
    return (time.perf_counter() - t) * 1000, body
print("%-64s %9s %8s %8s %8s %6s" % ("URL (8 concurrent clients)", "findings", "p50 ms", "p99 ms", "max ms", "n"))
worst = 0.0
for path in paths:
    _, body = get(path)
    m = re.search(rb'<p class="queue-count"><strong>(\d+) finding', body)
    count = m.group(1).decode() if m else "?"
    lat, stop = [], time.time() + secs
    def client():
        while time.time() < stop:
            lat.append(get(path)[0])
    ts = [threading.Thread(target=client) for _ in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    worst = max(worst, p(0.99))
    print("%-64s %9s %8.1f %8.1f %8.1f %6d" % (path, count, p(0.5), p(0.99), lat[-1], len(lat)), flush=True)
print("worst p99: %.1f ms (target 200 ms: %s)" % (worst, "met" if worst <= 200 else "NOT met"))
EOF
echo "database: $(du -cm "$DB_FILE"* | tail -n 1 | cut -f1) MiB" >&2
