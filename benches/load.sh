#!/usr/bin/env bash
# Load figures for the read paths every user hits: the station list (JSON
# and page) and a station's detail, signed in, against the release binary
# with its embedded PostgreSQL. Loopback only; each run is bounded in time.
#
#   benches/load.sh            # needs wrk (Debian package `wrk`)
#   DURATION=20s CONNS=8 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
DURATION=${DURATION:-10s}
CONNS=${CONNS:-4}
THREADS=${THREADS:-2}
PORT=${PORT:-18199}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}
cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/jiliang
DATA=$(mktemp -d)
env -u DATABASE_URL JILIANG_DATA_DIR="$DATA" JILIANG_ADDR=127.0.0.1:$PORT JILIANG_SECURE_COOKIES=false \
  RUST_LOG=warn "$BIN" >"$DATA.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
JAR=$(mktemp)
curl -fsS -c "$JAR" -H 'Content-Type: application/json' \
  -d '{"username":"samr.reviewer","password":"demo-pass-2025"}' "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
COOKIE=$(awk '$6=="jiliang_session"{print "jiliang_session="$7}' "$JAR")
ID=$(curl -fsS -b "$JAR" "http://127.0.0.1:$PORT/api/v1/stations" | python3 -c 'import json,sys;print(json.load(sys.stdin)["items"][0]["id"])')
echo "wrk -t$THREADS -c$CONNS -d$DURATION, signed in as samr.reviewer (sees all 7 demo stations)"
for path in /healthz /api/v1/stations "/api/v1/stations/$ID" /stations; do
  echo "== GET $path"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path" \
    | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' || true
done

# The regulator's working pages: home (work queue, warnings), the lifecycle
# queue and the rectification orders, as 广东's reviewer.
JAR2=$(mktemp)
curl -fsS -c "$JAR2" -H 'Content-Type: application/json' \
  -d '{"username":"gd.reviewer","password":"demo-pass-2025"}' "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
COOKIE2=$(awk '$6=="jiliang_session"{print "jiliang_session="$7}' "$JAR2")
echo "signed in as gd.reviewer"
for path in / /requests /api/v1/lifecycle-requests /rectification-orders /inspections; do
  echo "== GET $path"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: $COOKIE2" "http://127.0.0.1:$PORT$path" \
    | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' || true
done
