#!/usr/bin/env bash
# Browser tests as CI runs them: Debian's chromium, playwright-core and
# axe-core from npm (never a downloaded browser), `node --test workflows.test.mjs ui.test.mjs`
# against a fresh demo server. Runs as root (CI) or a sudoer.
#
#   tests/browser/run.sh            # as CI runs it
#   BASE=http://127.0.0.1:8080 node --test tests/browser/ui.test.mjs   # against a server you run
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -f /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc ] || missing="$missing fonts-noto-cjk"
if [ -n "$missing" ]; then
  echo "installing:$missing"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
(cd tests/browser && npm ci --silent --no-audit --no-fund)

WORK="$(mktemp -d)"
chmod 711 "$WORK"  # as root, the embedded cluster runs as postgres, who must reach the data dir
cargo build --quiet --bin jiliang
BIN="$WORK/jiliang"
cp "$CARGO_TARGET_DIR/debug/jiliang" "$BIN"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${BROWSER_KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
env -u DATABASE_URL JILIANG_DATA_DIR="$WORK/data" JILIANG_ADDR="127.0.0.1:$PORT" \
  JILIANG_SECURE_COOKIES=false JILIANG_DEMO=true RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 180); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server did not start:"; cat "$WORK/server.log"; exit 1; }
  sleep 1
done
cd tests/browser
BASE="$BASE" node --test --test-concurrency=1 workflows.test.mjs ui.test.mjs
