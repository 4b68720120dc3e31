#!/usr/bin/env bash
# CPU per request of one hub page: the server's and, on PostgreSQL, the database's (every
# `postgres` process of this machine), from /proc/PID/stat before and after 8 clients ask for PATH
# for SECONDS (bench/lib/load.py). On two cores shared by the clients, the server and the
# database, a page's p99 under load follows its CPU per request (docs/benchmarks.md).
#
# Usage: bench/cpu.sh DATABASE_URL PATH [SECONDS, default 8]
#   e.g. bench/cpu.sh sqlite:///tmp/ui.db '/ui/findings?severity=critical'
#        bench/cpu.sh postgres://postgres@127.0.0.1:5432/uihub '/ui/findings?cwe=79' 10
# An existing hub (bench/ui.sh builds one: UI_DB, HUB_PG_DB). TOLLGATE_BIN: the binary to measure
# (default: target/release/tollgate, built). Needs curl, jq, python3; Linux (/proc).
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${1:?usage: bench/cpu.sh DATABASE_URL PATH [SECONDS]}"
URL_PATH="${2:?usage: bench/cpu.sh DATABASE_URL PATH [SECONDS]}"
SECS="${3:-8}"
BENCH_NAME=cpu.sh
# shellcheck source=bench/lib/hub.sh
. bench/lib/hub.sh
hub_start
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
database_ticks() {
  local t=0 p
  for p in $(pgrep -x postgres || true); do t=$((t + $(ticks "$p"))); done
  echo "$t"
}
python3 bench/lib/load.py "$HUB" "$TOKEN" 2 cookie warm-up "$URL_PATH" >/dev/null
s0=$(ticks "$SERVER_PID"); d0=$(database_ticks)
python3 bench/lib/load.py "$HUB" "$TOKEN" "$SECS" cookie measured "$URL_PATH" >"$WORK/load.out"
s1=$(ticks "$SERVER_PID"); d1=$(database_ticks)
n=$(awk -v p="$URL_PATH" '$1 == p && NF > 1 {print $NF}' "$WORK/load.out")
grep -v "^worst" "$WORK/load.out" | tail -n 1
hz=$(getconf CLK_TCK)
python3 -c "
n, hz = $n, $hz
server, db = ($s1 - $s0) * 1000 / hz / n, ($d1 - $d0) * 1000 / hz / n
print('%d requests; CPU per request: server %.3f ms, postgres %.3f ms, total %.3f ms' % (n, server, db, server + db))"
