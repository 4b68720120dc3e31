# Shared by the hub's page and metric benchmarks (bench/metrics.sh, bench/pages.sh, bench/ui.sh):
# build the binaries, start `tollgate serve` on a database, and fill it with the bench hub —
# PRODUCTS products x FINDINGS SARIF findings, labelled with tiers and platforms, a 10%-changed
# reimport into the first five (so some findings are mitigated), and optionally 400 gate runs and
# 200 promotions. Source it after setting BENCH_NAME; it sets TOLLGATE, BENCH, WORK and a cleanup
# trap that stops the server, drops a PostgreSQL database made by `hub_database`, removes WORK.

die() { echo "bench/$BENCH_NAME: FAILED: $*" >&2; exit 1; }
for tool in curl jq python3; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [ -n "${TOLLGATE_BIN:-}" ]; then
  cargo build --release -q -p tollgate-bench
else
  cargo build --release -q -p tollgate -p tollgate-bench
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
TOLLGATE="${TOLLGATE_BIN:-$TARGET_DIR/release/tollgate}"
BENCH="$TARGET_DIR/release/tollgate-bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-$BENCH_NAME.XXXXXX")"
SERVER_PID=""
PG_URL="${PG_URL:-}"
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ] && [ -z "${HUB_PG_DB:-}" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# hub_database [SQLITE_FILE]: sets DB — a fresh PostgreSQL database beside $PG_URL when PG_URL is
# set, else the SQLite file (default $WORK/hub.db). With HUB_PG_DB=NAME the PostgreSQL database
# is NAME, kept at the end, and reused when it exists (PG_REUSED=1; bench/ui.sh skips the build).
hub_database() {
  PG_REUSED=0
  if [ -n "$PG_URL" ]; then
    command -v psql >/dev/null || die "psql is required for --postgres"
    PG_DB="${HUB_PG_DB:-tollgate_${BENCH_NAME//[^a-z]/_}_$$}"
    if [ -n "${HUB_PG_DB:-}" ] && [ "$(psql "$PG_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" = 1 ]; then
      PG_REUSED=1
      echo "reusing database $PG_DB" >&2
    else
      psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null || die "cannot create database $PG_DB"
    fi
    DB="${PG_URL%/*}/$PG_DB"
  else
    DB="sqlite://${1:-$WORK/hub.db}"
  fi
  echo "database: $DB" >&2
}

# hub_start: an admin token (TOKEN, and curl's `auth` array) and `tollgate serve` on $DB (HUB),
# with HUB_SERVE_ARGS when set (e.g. `--max-connections 4`).
hub_start() {
  TOKEN="$("$TOLLGATE" token create --name "$BENCH_NAME-$$" --scope admin --database "$DB" | head -n 1)"
  # shellcheck disable=SC2086 # HUB_SERVE_ARGS: more arguments for `serve`, split on spaces
  "$TOLLGATE" serve --listen 127.0.0.1:0 --database "$DB" ${HUB_SERVE_ARGS:-} >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  HUB=""
  for _ in $(seq 1 600); do
    HUB="$(sed -n 's/^tollgate hub listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out")"
    [ -n "$HUB" ] && break
    sleep 0.1
  done
  [ -n "$HUB" ] || die "tollgate serve did not start: $(tail -5 "$WORK/server.log")"
  auth=(-H "Authorization: Token $TOKEN")
}

# hub_reports FINDINGS: the generated base and 10%-changed SARIF reports (BASE, CHANGED).
hub_reports() {
  local gen
  gen="$("$BENCH" hub-generate --dir bench-out/hub --findings "$1" --rules 300 --changed-percent 10)"
  BASE="$(sed -n 's/.*base=\([^ ]*\).*/\1/p' <<<"$gen")"
  CHANGED="$(sed -n 's/.*changed=\([^ ]*\).*/\1/p' <<<"$gen")"
  [ -s "$BASE" ] && [ -s "$CHANGED" ] || die "generator said: $gen"
}

hub_upload() { # endpoint file product commit
  curl -fsS -o "$WORK/resp.json" "${auth[@]}" -X POST "$HUB/api/v2/$1/" -F scan_type=SARIF -F "file=@$2" \
    -F product_type_name=bench -F "product_name=$3" -F engagement_name=ci -F auto_create_context=true \
    -F "commit_hash=$4" || die "$1 into $3"
}

# hub_fill PRODUCTS: imports BASE into app1..appN (their ids in `ids`), labels them, reimports
# CHANGED into the first five.
hub_fill() {
  local p id platform t0 start
  echo "building: $1 products" >&2
  ids=()
  start=$(date +%s)
  for p in $(seq 1 "$1"); do
    t0=$(date +%s%N)
    hub_upload import-scan "$BASE" "app$p" "c$p"
    id="$(jq -r .product_id "$WORK/resp.json")"; ids+=("$id")
    platform=$([ $((p % 2)) = 0 ] && echo android || echo web)
    curl -fsS -o /dev/null "${auth[@]}" -X PATCH -H 'Content-Type: application/json' \
      -d "{\"tier\": \"tier-$((p % 3 + 1))\", \"platform\": \"$platform\"}" "$HUB/api/v2/products/$id/"
    if [ "$p" -le 5 ]; then hub_upload reimport-scan "$CHANGED" "app$p" "d$p"; fi
    echo "  app$p: import $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
  done
  echo "built in $(( $(date +%s) - start )) s" >&2
}

# hub_reimports_start PRODUCT N: N 100k-finding reimports of PRODUCT back to back in the background
# (the changed and the base report in turn; REIMPORTS is their pid), for reads measured during
# writes; hub_reimports_stop ends them.
hub_reimports_start() {
  ( for i in $(seq 1 "$2"); do
      hub_upload reimport-scan "$([ $((i % 2)) = 0 ] && echo "$BASE" || echo "$CHANGED")" "$1" "r$i"
    done ) >/dev/null 2>&1 &
  REIMPORTS=$!
  sleep 3
}
hub_reimports_stop() { kill "$REIMPORTS" 2>/dev/null || true; wait "$REIMPORTS" 2>/dev/null || true; }

# hub_gate_runs PRODUCTS: 400 gate runs (a third blocking, by four rules) and 200 promotions.
hub_gate_runs() {
  echo "recording 400 gate runs and 200 promotions" >&2
  python3 - "$HUB" "$TOKEN" "$1" <<'PY'
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
PY
}

# hub_size: the database's size, for the last line of a run.
hub_size() {
  if [ -n "$PG_DB" ]; then
    echo "database: $(psql "$PG_URL" -Atc "SELECT pg_database_size('$PG_DB') / 1048576") MiB (PostgreSQL)" >&2
  else
    echo "database: $(du -cm "${DB#sqlite://}"* | tail -n 1 | cut -f1) MiB" >&2
  fi
}
