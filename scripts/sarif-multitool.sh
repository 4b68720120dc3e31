#!/usr/bin/env bash
# The gate's SARIF against GitHub's upload rules: Microsoft's SARIF multitool (npm
# @microsoft/sarif-multitool, pinned) validates it with the `gh;ghas` rule kinds. The gate runs over
# the whole real-scanner corpus (every report of $TOLLGATE_CORPUS/MANIFEST.tsv, its format forced as
# the manifest names it; reports that cannot be read are reported by the gate, --on-error open) and
# over examples/reports. Any error fails: the multitool's, and what it does not check but GitHub's
# upload needs (every artifactLocation.uri a relative, percent-encoded reference with no scheme; rule
# descriptions and tags within GitHub's limits; at most 25,000 results). It prints the counts by rule id.
#
#   scripts/sarif-multitool.sh [path/to/tollgate]     (default: target/debug/tollgate, built if absent)
#
# Env: TOLLGATE_CORPUS (default ../shared/corpus), SARIF_MULTITOOL_DIR (default target/sarif-multitool),
#      SARIF_KEEP=1 keeps the work directory (the SARIF and the multitool's log).
set -euo pipefail
cd "$(dirname "$0")/.."

MULTITOOL_VERSION=5.7.0
BIN="${1:-target/debug/tollgate}"
CORPUS="${TOLLGATE_CORPUS:-$PWD/../shared/corpus}"
TOOLDIR="${SARIF_MULTITOOL_DIR:-$PWD/target/sarif-multitool}"

if [ ! -x "$BIN" ]; then
  cargo build -p tollgate --locked
fi
case "$(uname -s)" in
  Darwin) PLATFORM=darwin ;;
  *) PLATFORM=linux ;;
esac
MT="$TOOLDIR/node_modules/@microsoft/sarif-multitool-$PLATFORM/Sarif.Multitool"
if ! "$MT" --version 2>/dev/null | grep -q "$MULTITOOL_VERSION"; then
  mkdir -p "$TOOLDIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLDIR" "@microsoft/sarif-multitool@$MULTITOOL_VERSION"
  # npm may not run the package's postinstall (chmod u+x); the .NET binary is self-contained.
  chmod u+x "$MT"
fi

WORK="$(mktemp -d)"
trap '[ -n "${SARIF_KEEP:-}" ] || rm -rf "$WORK"' EXIT; echo "work dir: $WORK"

# Every report of the manifest, its format forced (clean scans that name no scanner need it).
args=()
while IFS=$'\t' read -r path format _; do
  [ "$path" = path ] && continue
  [ -f "$CORPUS/$path" ] || continue
  args+=("$CORPUS/$path" --scanner "$format=$CORPUS/$path")
done <"$CORPUS/MANIFEST.tsv"
[ "${#args[@]}" -gt 0 ] || { echo "no reports in $CORPUS/MANIFEST.tsv" >&2; exit 1; }

status=0
gate() { # name, reports…
  local name="$1"; shift
  # Exit 1 (blocked) and 2 (broken input, reported open) are the corpus' honest verdicts, not failures here.
  "$BIN" gate --on-error open --out-dir "$WORK/$name" --sarif=security-gate.sarif "$@" >"$WORK/$name.out" 2>&1 || {
    local rc=$?
    if [ "$rc" -gt 2 ]; then cat "$WORK/$name.out" >&2; echo "gate over $name: exit $rc" >&2; exit 1; fi
  }
  # The file first: the multitool's list options would swallow it. Its exit code says nothing about
  # the rules' findings, so its own SARIF log is read.
  "$MT" validate "$WORK/$name/security-gate.sarif" --rule-kind "Gh;Ghas" --level "Error;Warning;Note" \
    --max-file-size-in-kb 1000000 --output "$WORK/$name.validation.sarif" >"$WORK/$name.validate.out" 2>&1 || true
  python3 - "$name" "$WORK/$name/security-gate.sarif" "$WORK/$name.validation.sarif" <<'PY' || status=1
import collections, json, sys
name, sarif, validation = sys.argv[1:]
run = json.load(open(sarif))["runs"][0]
log = json.load(open(validation))
errors, warnings = collections.Counter(), collections.Counter()
for r in log["runs"]:
    for res in r.get("results", []):
        (errors if res.get("level", "warning") == "error" else warnings)[res["ruleId"]] += 1
    for n in r.get("invocations", [{}])[0].get("toolExecutionNotifications", []):
        if n.get("level") == "error":
            errors["tool:" + n.get("message", {}).get("text", "")[:80]] += 1
# What the multitool does not check but GitHub's upload needs: a relative URI reference with no
# scheme, percent-encoded, in every artifactLocation; rule descriptions of at most 1,024 UTF-16 units,
# at most 20 tags a rule; at most 25,000 results.
import re
ok = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-F]{2})+$")
for i, res in enumerate(run["results"]):
    for loc in res.get("locations", []):
        uri = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
        if uri is None:
            continue
        if uri.startswith("/"):
            errors["uri-leading-slash"] += 1
        elif ":" in uri.split("/")[0]:
            errors["uri-scheme"] += 1
        elif not ok.match(uri):
            errors["uri-not-encoded"] += 1
for rule in run["tool"]["driver"]["rules"]:
    for key in ("shortDescription", "fullDescription"):
        if len(rule[key]["text"].encode("utf-16-le")) // 2 > 1024:
            errors[f"rule-{key}-over-1024"] += 1
    if len(rule.get("properties", {}).get("tags", [])) > 20:
        errors["rule-more-than-20-tags"] += 1
if len(run["results"]) > 25000:
    errors["more-than-25000-results"] += 1
print(f"{name}: {len(run['results'])} results, {len(run['tool']['driver']['rules'])} rules; "
      f"multitool errors {sum(errors.values())} {dict(errors)}, warnings {sum(warnings.values())} {dict(warnings)}")
sys.exit(1 if errors else 0)
PY
}
# The corpus at GitHub's upper limit, so that every one of its results is validated.
gate corpus --sarif-max-results 25000 "${args[@]}"
# And at the default cap: a run that leaves results out and says so.
gate corpus-capped "${args[@]}"
gate examples examples/reports/*
exit $status
