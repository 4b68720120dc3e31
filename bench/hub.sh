#!/usr/bin/env bash
# Hub benchmark (issue 4 §9): import / reimport of a 100k-finding SARIF report through `tollgate serve`
# on SQLite (and PostgreSQL with --postgres), and the Results API under load on a 1M-finding SQLite hub.
#
# Usage: bench/hub.sh [--postgres URL] [--skip-1m] [--repeat N]
#   --postgres URL  a PostgreSQL database to connect to for CREATE / DROP DATABASE (e.g.
#                   postgres://postgres@127.0.0.1:5432/test); each run gets a fresh database beside it
#   --skip-1m       skip building the 1M-finding database and the wrk runs
#   --repeat N      runs per import measurement, each on a fresh database (default 3); medians printed
# Environment: WRK_DURATION (seconds per wrk run, default 20), WRK_CONNECTIONS (default 64),
#   TOLLGATE_BIN (measure this tollgate binary instead of building target/release/tollgate).
#
# Needs curl, jq, wrk (installed with apt-get when missing and root) and, with --postgres, psql.
# Generated reports are kept in bench-out/hub/ (deterministic); databases, logs and servers are
# removed / stopped on exit, also on failure. A wrong reimport count fails the run (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=""
SKIP_1M=0
REPEAT=3
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) PG_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --skip-1m) SKIP_1M=1; shift ;;
    --repeat) REPEAT="${2:?--repeat needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "bench/hub.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$REPEAT" in ''|*[!0-9]*|0) echo "bench/hub.sh: --repeat needs a positive number" >&2; exit 2 ;; esac
WRK_DURATION="${WRK_DURATION:-20}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"

die() { echo "bench/hub.sh: FAILED: $*" >&2; exit 1; }
for tool in curl jq; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
if [ -n "$PG_URL" ]; then command -v psql >/dev/null || die "psql is required for --postgres"; fi
if [ "$SKIP_1M" = 0 ] && ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing wrk (apt-get)" >&2
    (apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }) >/dev/null 2>&1 \
      || die "cannot install wrk; install it or pass --skip-1m"
  else
    die "wrk is required for the 1M run (apt-get install wrk), or pass --skip-1m"
  fi
fi

echo "building (release)..." >&2
if [ -n "${TOLLGATE_BIN:-}" ]; then
  cargo build --release -q -p tollgate-bench
else
  cargo build --release -q -p tollgate -p tollgate-bench
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)"
TOLLGATE="${TOLLGATE_BIN:-$TARGET_DIR/release/tollgate}"
BENCH="$TARGET_DIR/release/tollgate-bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-hubbench.XXXXXX")"
SERVER_PID=""
PG_DBS=()

CHILD_PID=""
# bg OUT CMD…: runs CMD with stdout in OUT in the background and waits for it, so that a signal's trap
# runs at once instead of after a 30-second upload; returns CMD's status.
bg() {
  local out="$1" status=0
  shift
  "$@" >"$out" &
  CHILD_PID=$!
  wait "$CHILD_PID" || status=$?
  CHILD_PID=""
  return "$status"
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
drop_pg() {
  psql -q -X "$PG_URL" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 \
    || echo "bench/hub.sh: could not drop database $1" >&2
}
cleanup() {
  local code=$?
  if [ -n "$CHILD_PID" ]; then kill "$CHILD_PID" 2>/dev/null || true; fi
  stop_server
  if [ ${#PG_DBS[@]} -gt 0 ]; then
    for db in "${PG_DBS[@]}"; do drop_pg "$db"; done
  fi
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- reports ---------------------------------------------------------------------------------
echo "generating reports (bench-out/hub, kept between runs)..." >&2
GEN="$("$BENCH" hub-generate --dir bench-out/hub --findings 100000 --rules 300 --changed-percent 10)"
BASE="$(sed -n 's/.*base=\([^ ]*\).*/\1/p' <<<"$GEN")"
CHANGED="$(sed -n 's/.*changed=\([^ ]*\).*/\1/p' <<<"$GEN")"
N="$(sed -n 's/.* findings=\([0-9]*\).*/\1/p' <<<"$GEN")"
C="$(sed -n 's/.*changed_findings=\([0-9]*\).*/\1/p' <<<"$GEN")"
[ -s "$BASE" ] && [ -s "$CHANGED" ] && [ -n "$N" ] && [ -n "$C" ] || die "generator said: $GEN"
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "reports: $BASE ($(mib "$BASE") MiB, $N findings over 300 rules); $CHANGED ($C changed)" >&2

# --- helpers ---------------------------------------------------------------------------------
# start_server URL: token + server on a free port; sets HUB, TOKEN, SERVER_PID.
start_server() {
  local url="$1"
  TOKEN="$("$TOLLGATE" token create --name bench --scope admin --database "$url" 2>"$WORK/token.err" | head -n 1)" \
    || die "token create: $(cat "$WORK/token.err")"
  [ -n "$TOKEN" ] || die "token create printed no secret: $(cat "$WORK/token.err")"
  : >"$WORK/server.out"
  "$TOLLGATE" serve --listen 127.0.0.1:0 --database "$url" >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 300); do
    HUB="$(sed -n 's/^tollgate hub listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.out")"
    [ -n "$HUB" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "tollgate serve exited: $(tail -5 "$WORK/server.log")"
    sleep 0.1
  done
  die "tollgate serve did not start in 30 s"
}

# import_sum KIND: the server's tollgate_import_duration_seconds_sum for KIND (0 when none yet).
import_sum() {
  curl -sS -H "Authorization: Bearer $TOKEN" "$HUB/metrics" | awk -v k="tollgate_import_duration_seconds_sum{kind=\"$1\"}" \
    '$1 == k { s = $2 } END { print (s == "" ? 0 : s) }'
}

# upload ENDPOINT FILE PRODUCT: POST the report; sets CURL_S (client wall time), SERVER_S (the
# server's own import duration, from /metrics) and leaves the response in $WORK/resp.json.
upload() {
  local endpoint="$1" file="$2" product="$3" kind before out code
  kind="${endpoint%-scan}"
  before="$(import_sum "$kind")"
  bg "$WORK/curl.out" curl -sS -o "$WORK/resp.json" -w '%{http_code} %{time_total}' -X POST "$HUB/api/v2/$endpoint/" \
    -H "Authorization: Token $TOKEN" -F scan_type=SARIF -F "file=@$file" -F product_type_name=bench \
    -F "product_name=$product" -F engagement_name=ci -F auto_create_context=true \
    || die "$endpoint $file: curl failed"
  out="$(cat "$WORK/curl.out")"
  code="${out%% *}"
  CURL_S="${out#* }"
  [ "$code" = 201 ] || die "$endpoint $(basename "$file") into $product: HTTP $code: $(head -c 600 "$WORK/resp.json")"
  SERVER_S="$(awk -v a="$before" -v b="$(import_sum "$kind")" 'BEGIN { printf "%.3f", b - a }')"
}

# expect NAME JQ-PATH VALUE: fail loudly unless the response says VALUE there.
expect() {
  local got
  got="$(jq -r "$2" "$WORK/resp.json")"
  [ "$got" = "$3" ] || die "$1: expected $2 = $3, the hub answered $got (statistics: $(jq -c .statistics.delta.created.total,.statistics.delta.closed.total "$WORK/resp.json" 2>/dev/null | tr '\n' ' '))"
}
delta() { echo ".statistics.delta.$1.total.total"; }

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ROWS=()
# row BACKEND PHASE CURL-LIST SERVER-LIST TARGET(seconds or -)
row() {
  local mc ms met
  mc="$(median <<<"$3")"
  ms="$(median <<<"$4")"
  if [ "$5" = - ]; then met="-"; else met="$(awk -v m="$mc" -v t="$5" 'BEGIN { print (m <= t ? "met" : "NOT met") }')"; fi
  ROWS+=("$(printf '%-9s %-26s %9.3f %9.3f   %-8s %-8s %s' "$1" "$2" "$mc" "$ms" "$([ "$5" = - ] && echo - || echo "<= $5 s")" "$met" "$3")")
}

# --- import / reimport, per backend ----------------------------------------------------------
bench_backend() {
  local backend="$1" run url db path imp_c="" imp_s="" same_c="" same_s="" chg_c="" chg_s=""
  local t_imp=- t_same=-
  if [ "$backend" = sqlite ]; then t_imp=2; t_same=1; fi
  for run in $(seq 1 "$REPEAT"); do
    if [ "$backend" = sqlite ]; then
      path="$WORK/hub-$run.db"
      url="sqlite://$path"
    else
      db="tollgate_hubbench_$$_$run"
      psql -q -X "$PG_URL" -c "CREATE DATABASE $db" >/dev/null || die "CREATE DATABASE $db"
      PG_DBS+=("$db")
      url="${PG_URL%/*}/$db"
    fi
    start_server "$url"
    upload import-scan "$BASE" app1
    expect "import" ".statistics.after.total.total" "$N"
    imp_c+="$CURL_S "; imp_s+="$SERVER_S "
    echo "  $backend run $run: import $N: curl ${CURL_S}s, server ${SERVER_S}s" >&2

    upload reimport-scan "$BASE" app1
    expect "identical reimport" "$(delta created)" 0
    expect "identical reimport" "$(delta closed)" 0
    expect "identical reimport" "$(delta reactivated)" 0
    expect "identical reimport" "$(delta untouched)" "$N"
    same_c+="$CURL_S "; same_s+="$SERVER_S "
    echo "  $backend run $run: identical reimport: curl ${CURL_S}s, server ${SERVER_S}s" >&2

    upload reimport-scan "$CHANGED" app1
    expect "10% changed reimport" "$(delta created)" "$C"
    expect "10% changed reimport" "$(delta closed)" "$C"
    expect "10% changed reimport" "$(delta reactivated)" 0
    expect "10% changed reimport" "$(delta untouched)" "$((N - C))"
    chg_c+="$CURL_S "; chg_s+="$SERVER_S "
    echo "  $backend run $run: changed reimport (created $C, closed $C, untouched $((N - C))): curl ${CURL_S}s, server ${SERVER_S}s" >&2

    stop_server
    if [ "$backend" = sqlite ]; then
      rm -f "$path" "$path-wal" "$path-shm"
    else
      drop_pg "$db"
    fi
  done
  row "$backend" "import ${N} (empty test)" "$imp_c" "$imp_s" "$t_imp"
  row "$backend" "reimport identical" "$same_c" "$same_s" "$t_same"
  row "$backend" "reimport ${C} changed" "$chg_c" "$chg_s" -
}

echo "import / reimport: $REPEAT runs per backend, fresh database each run" >&2
bench_backend sqlite
if [ -n "$PG_URL" ]; then bench_backend postgres; fi

# --- 1M findings: the Results API under load -------------------------------------------------
LOAD_ROWS=()
LOAD_NOTE=""
bench_1m() {
  local path="$WORK/hub-1m.db" p products=() build="" mid
  start_server "sqlite://$path"
  echo "building the 1M-finding database: the same report imported into products app1..app10" >&2
  for p in $(seq 1 10); do
    upload import-scan "$BASE" "app$p"
    expect "import into app$p" ".statistics.after.total.total" "$N"
    products+=("$(jq -r .product_id "$WORK/resp.json")")
    build+="$CURL_S "
    echo "  import $p/10 into app$p: curl ${CURL_S}s, server ${SERVER_S}s" >&2
  done
  ROWS+=("$(printf '%-9s %-26s %9.3f %9s   %-8s %-8s %s' sqlite "import 100k into 0.9M db" \
    "$(awk '{ print $NF }' <<<"$build")" - - - "(imports 1..10: $build)")")
  mid="${products[4]}"
  local size
  size="$(du -cm "$path"* | tail -n 1 | cut -f1)"

  cat >"$WORK/auth.lua" <<EOF
wrk.headers["Authorization"] = "APIKey $TOKEN"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50=%d p90=%d p99=%d max=%d errors=%d status_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
  local base="$HUB/apis/mobile_security/results/v2/security_findings?page_size=50"
  local cursor
  cursor="$(printf '%x.%x' 500000 1000000)"
  # The last row: the first page again over one connection, the service time without queueing.
  local names=("first page" "mobile_app_id=app5" "status_group=OPEN" "cursor at id 500000" "first page, 1 conn")
  local urls=("$base" "$base&mobile_app_id=$mid" "$base&status_group=OPEN" "$base&cursor=$cursor" "$base")
  local totals=(1000000 100000 1000000 1000000 1000000)
  local conns=("$WRK_CONNECTIONS" "$WRK_CONNECTIONS" "$WRK_CONNECTIONS" "$WRK_CONNECTIONS" 1)
  local i ticks cpu0 cpu1 stat0 stat1 res
  ticks="$(getconf CLK_TCK)"
  for i in "${!urls[@]}"; do
    # Sanity: 200, a full page, the expected total.
    curl -sS -o "$WORK/page.json" -H "Authorization: APIKey $TOKEN" "${urls[$i]}" \
      || die "GET ${names[$i]}"
    [ "$(jq '.security_findings | length' "$WORK/page.json" 2>/dev/null)" = 50 ] \
      || die "GET ${names[$i]}: not a page of 50: $(head -c 400 "$WORK/page.json")"
    [ "$(jq '.pagination_information.total_count' "$WORK/page.json")" = "${totals[$i]}" ] \
      || die "GET ${names[$i]}: total_count $(jq '.pagination_information.total_count' "$WORK/page.json"), expected ${totals[$i]}"
    bg /dev/null wrk -t"$((conns[$i] < 2 ? 1 : 2))" -c"${conns[$i]}" -d2s -s "$WORK/auth.lua" "${urls[$i]}" # warm-up
    cpu0="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")"
    stat0="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)"
    bg "$WORK/wrk.out" wrk -t"$((conns[$i] < 2 ? 1 : 2))" -c"${conns[$i]}" -d"${WRK_DURATION}s" --latency -s "$WORK/auth.lua" "${urls[$i]}" \
      || die "wrk ${names[$i]}: $(tail -5 "$WORK/wrk.out")"
    cpu1="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")"
    stat1="$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)"
    res="$(grep '^RESULT' "$WORK/wrk.out")" || die "wrk ${names[$i]}: no result: $(tail -5 "$WORK/wrk.out")"
    LOAD_ROWS+=("$(awk -v name="${names[$i]}" -v r="$res" -v c0="$cpu0" -v c1="$cpu1" -v hz="$ticks" \
      -v target="$([ "${conns[$i]}" = 64 ] && echo 1 || echo 0)" \
      -v s0="$stat0" -v s1="$stat1" 'BEGIN {
        n = split(r, kv, /[ =]/); for (j = 2; j < n; j += 2) v[kv[j]] = kv[j + 1]
        split(s0, a, " "); split(s1, b, " ")
        secs = v["duration_us"] / 1e6
        busy = (b[1] - a[1]) / hz; server = (c1 - c0) / hz
        printf "%-22s %8.1f %8.1f %8.1f %8.1f %9.0f %-8s %7.2f %7.2f", name,
          v["p50"] / 1000, v["p90"] / 1000, v["p99"] / 1000, v["max"] / 1000, v["requests"] / secs,
          (target ? (v["p99"] <= 20000 ? "met" : "NOT met") : "-"), server / secs, (busy - server) / secs
      }')")
    if awk -v r="$res" 'BEGIN { exit !(r ~ /errors=[1-9]/) }'; then
      die "wrk ${names[$i]}: $res"
    fi
  done
  LOAD_NOTE="1M findings (10 products x 100k, $(printf '%s' "$size") MiB SQLite incl. WAL); wrk -t2 -c$WRK_CONNECTIONS -d${WRK_DURATION}s, page_size=50; wrk and the server share the machine's $(nproc) cores"
  stop_server
  rm -f "$path" "$path-wal" "$path-shm"
}
if [ "$SKIP_1M" = 0 ]; then bench_1m; fi

# --- the table -------------------------------------------------------------------------------
echo
echo "tollgate hub benchmark: $N-finding SARIF ($(mib "$BASE") MiB), $C changed in the variant; $REPEAT runs each, medians"
echo "(curl = client wall time of the POST; server = tollgate_import_duration_seconds_sum from /metrics)"
printf '%-9s %-26s %9s %9s   %-8s %-8s %s\n' backend phase "curl s" "server s" target result "runs (curl s)"
for r in "${ROWS[@]}"; do echo "$r"; done
if [ ${#LOAD_ROWS[@]} -gt 0 ]; then
  echo
  echo "GET security_findings: $LOAD_NOTE"
  printf '%-22s %8s %8s %8s %8s %9s %-8s %7s %7s\n' page "p50 ms" "p90 ms" "p99 ms" "max ms" "req/s" "p99<=20" server other
  for r in "${LOAD_ROWS[@]}"; do echo "$r"; done
  echo "(server / other: cores busy while wrk ran — the server process, and everything else: wrk, other load; $(nproc) cores in all)"
fi
