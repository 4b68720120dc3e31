#!/usr/bin/env bash
# GitLab's readers on the gate's outputs: runs `tollgate gate` over every report of the corpus that
# parses (MANIFEST.tsv rows not marked `error`) writing JUnit, Code Quality and Markdown, then
#  - validates the JUnit file against scripts/schemas/junit.xsd (junit-10's constraints) with lxml
#    and checks that no two test cases share (classname, name): GitLab keeps one per key;
#  - checks that Code Quality fingerprints are unique (GitLab keeps one per fingerprint) and that
#    every path is repository-relative (no `./`, `/`, `C:`, URL or `go.mod:pkg` pseudo-path);
#  - gates a report of hostile scanner text and renders its Markdown summary with cmarkgfm
#    (GitHub's GFM renderer): every <details> closes where we closed it, no scanner HTML, no
#    links or images made from scanner text.
#
#   scripts/gitlab-readers-check.sh [path/to/tollgate]   (default: target/debug/tollgate, built if absent)
#
# Env: TOLLGATE_CORPUS (default ../shared/corpus), GITLAB_READERS_VENV (default target/gitlab-readers-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

LXML_VERSION=6.2.0
CMARKGFM_VERSION=2025.10.22
BIN="${1:-target/debug/tollgate}"
CORPUS="${TOLLGATE_CORPUS:-$PWD/../shared/corpus}"
VENV="${GITLAB_READERS_VENV:-$PWD/target/gitlab-readers-venv}"
CHECK=scripts/gitlab-readers-check.py

if [ ! -x "$BIN" ]; then
  cargo build -p tollgate --locked
fi
if ! "$VENV/bin/python" -c "import lxml, cmarkgfm, importlib.metadata as m, sys; sys.exit(m.version('lxml') != '$LXML_VERSION' or m.version('cmarkgfm') != '$CMARKGFM_VERSION')" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "lxml==$LXML_VERSION" "cmarkgfm==$CMARKGFM_VERSION"
fi
PY="$VENV/bin/python"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== the whole corpus: $CORPUS"
args=()
while IFS=$'\t' read -r path format items _; do
  [ "$path" = path ] && continue
  [ "$items" = error ] && continue
  args+=("$CORPUS/$path" --scanner "$format=$CORPUS/$path")
done <"$CORPUS/MANIFEST.tsv"
set +e
"$BIN" gate "${args[@]}" --out-dir "$WORK/corpus" --junit --gitlab-codequality >"$WORK/corpus.out" 2>&1
code=$?
set -e
# 1: blocked (expected: the corpus has critical findings). Anything else is a failure of the run.
if [ "$code" != 1 ]; then
  cat "$WORK/corpus.out"
  echo "FAIL: the gate exited $code on the corpus (expected 1, blocked)"
  exit 1
fi
grep -E "^tollgate gate:|Code Quality" "$WORK/corpus.out" || true
"$PY" "$CHECK" junit "$WORK/corpus/security-gate.junit.xml" scripts/schemas/junit.xsd
"$PY" "$CHECK" codequality "$WORK/corpus/gl-code-quality-report.json"
"$PY" "$CHECK" markdown "$WORK/corpus/security-gate-summary.md"

echo "== hostile scanner text in the Markdown summary"
"$PY" "$CHECK" hostile-report "$WORK/hostile.json"
set +e
"$BIN" gate "$WORK/hostile.json" --scanner generic --out-dir "$WORK/hostile" --junit --gitlab-codequality \
  --branch '</details><img src=x>`|' >"$WORK/hostile.out" 2>&1
code=$?
set -e
if [ "$code" != 1 ]; then
  cat "$WORK/hostile.out"
  echo "FAIL: the gate exited $code on the hostile report (expected 1, blocked)"
  exit 1
fi
"$PY" "$CHECK" markdown "$WORK/hostile/security-gate-summary.md"
"$PY" "$CHECK" junit "$WORK/hostile/security-gate.junit.xml" scripts/schemas/junit.xsd
"$PY" "$CHECK" codequality "$WORK/hostile/gl-code-quality-report.json"
echo "== GitLab's readers: all checks passed"
