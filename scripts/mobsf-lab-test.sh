#!/usr/bin/env bash
# End-to-end test of `tollgate mobsf scan` + `tollgate gate` against the real MobSF of
# ../shared/mobile-lab (loopback only). Installs MobSF from PyPI on first use (minutes), builds the
# two lab APKs, scans both, and checks the verdicts:
#   - insecure-app: FAIL, with debuggable / cleartext / exported-component / hardcoded-secret blockers;
#   - both apps: the offline MobSF cannot decompile (no jadx), so the report is INCOMPLETE and the
#     gate fails closed on it; with --on-error open the clean app is not blocked by any rule.
# usage: scripts/mobsf-lab-test.sh [TOLLGATE_BINARY]   (default: builds target/debug/tollgate;
#        TOLLGATE_MOBILE_LAB overrides ../shared/mobile-lab)
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${TOLLGATE_MOBILE_LAB:-$PWD/../shared/mobile-lab}
OUT=${TOLLGATE_LAB_OUT:-/tmp/tollgate-mobile-lab}
mkdir -p "$OUT"
if [ -n "${1:-}" ]; then
  TG=$(realpath "$1")
  [ -x "$TG" ] || { echo "mobsf-lab-test: $1 is not an executable tollgate" >&2; exit 2; }
else
  cargo build -q -p tollgate
  TG=$PWD/target/debug/tollgate
fi
bash "$LAB/build-apks.sh" "$OUT/apks" >/dev/null
bash "$LAB/mobsf.sh" start
eval "$(bash "$LAB/mobsf.sh" env)"
export MOBSF_URL MOBSF_API_KEY
fail() { echo "FAILED: $*" >&2; exit 1; }

for app in insecure-app clean-app; do
  start=$(date +%s)
  "$TG" mobsf scan "$OUT/apks/$app.apk" -o "$OUT/$app.json"
  echo "$app: scanned in $(( $(date +%s) - start )) s"
  "$TG" parse -f table "$OUT/$app.json" | tail -3
done

# A wrong key is refused clearly, exit 3.
set +e
"$TG" mobsf scan "$OUT/apks/clean-app.apk" --api-key wrong -o "$OUT/x.json" 2>"$OUT/wrong-key.err"; code=$?
set -e
[ "$code" = 3 ] || fail "wrong API key: exit $code"
grep -q "refused the API key" "$OUT/wrong-key.err" || fail "wrong API key message: $(cat "$OUT/wrong-key.err")"

gate() { "$TG" gate "$@" --build release --environment production; }
set +e
gate "$OUT/insecure-app.json" --out-dir "$OUT/gate-insecure" >"$OUT/gate-insecure.txt"; insecure=$?
gate "$OUT/clean-app.json" --out-dir "$OUT/gate-clean" >"$OUT/gate-clean.txt"; clean=$?
gate "$OUT/clean-app.json" --out-dir "$OUT/gate-clean-open" --on-error open >"$OUT/gate-clean-open.txt"; clean_open=$?
set -e
cat "$OUT/gate-insecure.txt"
[ "$insecure" = 1 ] || fail "insecure app: exit $insecure"
for rule in debuggable-release cleartext-traffic-production exported-component-release hardcoded-secret-release; do
  grep -q "BLOCK $rule" "$OUT/gate-insecure.txt" || fail "insecure app: $rule did not block"
done
if grep -q "incomplete-scan" "$OUT/gate-clean.txt"; then
  [ "$clean" = 1 ] || fail "clean app with an incomplete scan must fail closed (exit $clean)"
  [ "$clean_open" = 0 ] || fail "clean app with --on-error open: exit $clean_open"
  ! grep -q "BLOCK .*-release\|BLOCK new-critical" "$OUT/gate-clean-open.txt" || fail "a rule blocked the clean app"
  echo "clean app: incomplete scan (offline MobSF) fails closed; with --on-error open no rule blocks"
else
  [ "$clean" = 0 ] || fail "clean app: exit $clean"
fi
# Both files `mobsf scan` wrote (report + scorecard, the `*.json` a user passes): the scan counts once.
set +e
gate "$OUT/insecure-app.scorecard.json" "$OUT/insecure-app.json" --out-dir "$OUT/gate-both" >"$OUT/gate-both.txt"
set -e
one=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"])' "$OUT/gate-insecure/security-gate-summary.json")
both=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"])' "$OUT/gate-both/security-gate-summary.json")
[ "$one" = "$both" ] || fail "report + scorecard counted twice: $both against $one"
grep -q "counted once" "$OUT/gate-both.txt" || fail "no note that the scorecard was counted once: $(cat "$OUT/gate-both.txt")"
echo "report + scorecard of one scan: counted once ($both)"

# An unreachable MobSF is named as such (exit 3), not as an internal channel error.
set +e
"$TG" mobsf scan "$OUT/apks/clean-app.apk" --url http://127.0.0.1:9 -o "$OUT/y.json" 2>"$OUT/unreachable.err"; code=$?
set -e
[ "$code" = 3 ] || fail "unreachable MobSF: exit $code"
grep -qi "connection refused" "$OUT/unreachable.err" || fail "unreachable MobSF message: $(cat "$OUT/unreachable.err")"
echo "mobile lab: all checks passed"
