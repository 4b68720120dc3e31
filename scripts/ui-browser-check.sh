#!/usr/bin/env bash
# The hub's web UI in headless Chromium (scripts/ui-browser-check.py): sign-in with its CSRF token,
# pages under the Content-Security-Policy, a person's sign-in and sign-out, and a cross-site sign-in
# post refused.
# Usage: scripts/ui-browser-check.sh [TOLLGATE_BINARY]   (default target/debug/tollgate)
# Installs Debian's chromium and PyPI's websocket-client when they are missing (CI's fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/tollgate}"
[ -x "$bin" ] || { echo "ui-browser-check: no binary at $bin (cargo build -p tollgate)" >&2; exit 2; }
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
python3 -c 'import websocket' 2>/dev/null || python3 -m pip install -q 'websocket-client==1.9.2' >/dev/null

work="$(mktemp -d)"
hub_pid=""
cleanup() { [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
db="sqlite://$work/hub.db"
"$bin" token create --name ui-check --scope admin --database "$db" 2>/dev/null | grep -o 'tgk_[A-Za-z0-9_-]*' > "$work/key"
printf 'ui-person\nui-check passphrase 1\n' > "$work/person"
sed -n 2p "$work/person" | "$bin" user create --name ui-person --scope read --database "$db"
"$bin" serve --listen "127.0.0.1:$port" --database "$db" > "$work/serve.log" 2>&1 &
hub_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$bin" upload examples/reports/* --url "http://127.0.0.1:$port" --token "$(cat "$work/key")" \
  --product shop --product-type apps --engagement ci >/dev/null
python3 scripts/ui-browser-check.py "http://127.0.0.1:$port" "$work/key" "${UI_SCREENSHOTS:-$work/shots}" "$work/person"
