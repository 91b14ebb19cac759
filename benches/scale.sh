#!/usr/bin/env bash
# National-scale benchmark (issue 14): the release server on `jiliang
# seed-scale` data, every signed-in list and home page for SAMR, a
# province's reviewer and a station, plus the public pages, at 64
# connections; then the statements each page load runs, counted from the
# server's own query log, on a small and on the national data side by
# side: a page whose count grows with the data fails the run.
#
#   benches/scale.sh                  # 3,000 stations
#   STATIONS=300 DURATION=5s benches/scale.sh
#   LOAD_FRACTION=0.5 benches/scale.sh  # the fixed rate: half of each page's saturation
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432 benches/scale.sh
#
# Each row: the page's saturation throughput (wrk, closed loop, SATURATE
# long), then oha at a fixed rate of LOAD_FRACTION × that throughput on the
# same CONNS connections with latency correction (no coordinated
# omission; requests still running at the end are waited for, not counted
# as errors): p50, p99, achieved req/s and errors at that rate.
#
# With BENCH_DATABASE_URL the data goes to databases jiliang_scale_small and
# jiliang_scale_big on that server (dropped and re-created), and the run
# also measures the public verification page against a minimal axum + sqlx
# lookup of the same token (examples/bare_lookup.rs): the ratio of their
# saturation rates. Without it, the embedded cluster is used and the ratio
# is skipped.
#
# Needs wrk (Debian package `wrk`) and oha (`cargo install --locked oha`,
# installed here when missing: a few minutes). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
STATIONS=${STATIONS:-3000}
SMALL=${SMALL:-30}
DURATION=${DURATION:-10s}
SATURATE=${SATURATE:-3s}
LOAD_FRACTION=${LOAD_FRACTION:-0.5}
CONNS=${CONNS:-64}
PORT=${PORT:-18251}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
if ! command -v oha >/dev/null; then
  echo "== cargo install --locked oha (fixed-rate load; once)"
  cargo install --locked --quiet oha --version 1.16.0
fi
cargo build --release --quiet --bin jiliang --example bare_lookup
BIN=$CARGO_TARGET_DIR/release/jiliang
BARE=$CARGO_TARGET_DIR/release/examples/bare_lookup
BASE_URL=${BENCH_DATABASE_URL:-}
WORK=$(mktemp -d /var/tmp/jiliang-scale.XXXXXX)
chmod 711 "$WORK"
PID=
stop() { [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; PID=; }
trap 'stop; rm -rf "$WORK"' EXIT

# serve DIR: the release server on the embedded cluster in DIR, every
# statement logged (sqlx::query at debug) for the counts.
# In DATABASE mode DIR's base name is the database's.
dbenv() {
  if [ -n "$BASE_URL" ]; then echo "DATABASE_URL=$BASE_URL/jiliang_scale_$(basename "$1") JILIANG_DEMO=true"
  else echo "JILIANG_DATA_DIR=$1"; fi
}
seed() {  # seed DIR N
  if [ -n "$BASE_URL" ]; then
    local db=jiliang_scale_$(basename "$1")
    psql "$BASE_URL/postgres" -qc "drop database if exists $db with (force)" -c "create database $db"
  fi
  env -u DATABASE_URL $(dbenv "$1") "$BIN" seed-scale --stations "$2" | tail -1
}
serve() {  # serve DIR [RUST_LOG]: statements logged unless told otherwise
  env -u DATABASE_URL $(dbenv "$1") JILIANG_ADDR=127.0.0.1:$PORT JILIANG_SECURE_COOKIES=false \
    JILIANG_LOOKUPS_PER_MINUTE=100000000 RUST_LOG=${2:-warn,sqlx::query=debug} "$BIN" serve >>"$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "no /healthz"; tail -5 "$1.log"; exit 1
}
cookie() {  # cookie USER: a signed-in session cookie
  local jar; jar=$(mktemp -p "$WORK")
  curl -fsS -c "$jar" -H 'Content-Type: application/json' -H "Origin: http://127.0.0.1:$PORT" \
    -d "{\"username\":\"$1\",\"password\":\"demo-pass-2025\"}" "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
  awk '$6 ~ /session/ {print $6"="$7}' "$jar"
}
ACCOUNTS="samr.reviewer gd.reviewer station.staff"
PAGES="/ /stations /applications /requests /inspections /rectification-orders /cases /standards /staff
/change-requests /api/v1/stations /api/v1/standards /api/v1/staff /api/v1/inspections
/api/v1/lifecycle-requests /api/v1/rectification-orders /api/v1/applications /api/v1/notifications"

# counts DIR OUT: statements per page load, per account
counts() {
  for who in $ACCOUNTS; do
    local c; c=$(cookie "$who")
    for p in $PAGES; do
      curl -fsS -o /dev/null -H "Cookie: $c" "http://127.0.0.1:$PORT$p" || true   # warm (calendar, sessions)
      sleep 0.3; local before; before=$(grep -c 'sqlx::query' "$1.log" || true)
      curl -fsS -o /dev/null -H "Cookie: $c" "http://127.0.0.1:$PORT$p" || true
      sleep 0.3; local after; after=$(grep -c 'sqlx::query' "$1.log" || true)
      echo "$who $p $((after - before))"
    done
  done >"$2"
}

echo "== seed-scale --stations $SMALL (for the query counts)"
seed "$WORK/small" "$SMALL"
serve "$WORK/small"; counts "$WORK/small" "$WORK/small.counts"; stop

echo "== seed-scale --stations $STATIONS"
seed "$WORK/big" "$STATIONS"
serve "$WORK/big"; counts "$WORK/big" "$WORK/big.counts"; stop
# Under load the server logs warnings only, as in production.
serve "$WORK/big" warn

echo
echo "| account | page | saturation req/s | fixed rate | p50 ms | p99 ms | req/s | errors | statements ($SMALL → $STATIONS stations) |"
echo "|---|---|---|---|---|---|---|---|---|"
# saturate URL [COOKIE]: req/s of URL in a closed loop (wrk) and its non-2xx/socket errors
saturate() {
  local url=$1 hdr=()
  [ -n "${2:-}" ] && hdr=(-H "Cookie: $2")
  wrk -t2 -c"$CONNS" -d"$SATURATE" "${hdr[@]}" "$url" | python3 -c '
import re,sys
t=sys.stdin.read()
rps=re.search(r"Requests/sec:\s+([\d.]+)",t)
non=re.search(r"Non-2xx or 3xx responses: (\d+)",t)
sock=re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",t)
err=(int(non.group(1)) if non else 0)+(sum(map(int,sock.groups())) if sock else 0)
print("%.0f %d" % (float(rps.group(1)) if rps else 0, err))'
}
# measure URL [COOKIE]: "saturation | rate | p50 | p99 | req/s | errors" of URL
measure() {
  local url=$1 hdr=() sat rate
  [ -n "${2:-}" ] && hdr=(-H "Cookie: $2")
  read -r sat serr < <(saturate "$@")
  sleep 2  # the closed loop's last requests run to completion first
  rate=$(python3 -c "print(max(1, int($sat * $LOAD_FRACTION)))")
  oha --no-tui --latency-correction -w -z "$DURATION" -c "$CONNS" -q "$rate" "${hdr[@]}" --output-format json "$url" |
    python3 -c '
import json,sys
d=json.load(sys.stdin); l=d["latencyPercentiles"]; s=d["statusCodeDistribution"]
e=sum(v for k,v in s.items() if not k.startswith("2"))+sum(d.get("errorDistribution",{}).values())+int(sys.argv[3])
print("%s | %s | %.1f | %.1f | %.0f | %d" % (sys.argv[1], sys.argv[2], l["p50"]*1000, l["p99"]*1000, d["summary"]["requestsPerSec"], e))' "$sat" "$rate" "$serr"
}

grow=0
for who in $ACCOUNTS; do
  c=$(cookie "$who")
  for p in $PAGES; do
    row=$(measure "http://127.0.0.1:$PORT$p" "$c")
    s=$(awk -v w="$who" -v p="$p" '$1==w && $2==p {print $3}' "$WORK/small.counts")
    b=$(awk -v w="$who" -v p="$p" '$1==w && $2==p {print $3}' "$WORK/big.counts")
    mark=""; if [ "${b:-0}" -gt "${s:-0}" ]; then mark=" GROWS"; grow=1; fi
    echo "| $who | \`$p\` | $row | $s → $b$mark |"
  done
done
if [ -n "$BASE_URL" ]; then
  token=$(psql -At "$BASE_URL/jiliang_scale_big" -c "select verify_token from station_authorization where status = 'active' limit 1")
  echo "| public | \`/directory\` | $(measure "http://127.0.0.1:$PORT/directory") | |"
  app=$(measure "http://127.0.0.1:$PORT/verify/$token")
  echo "| public | \`/verify/{token}\` | $app | |"
  DATABASE_URL=$BASE_URL/jiliang_scale_big BARE_ADDR=127.0.0.1:$((PORT + 1)) "$BARE" &
  BPID=$!
  sleep 1
  bare=$(measure "http://127.0.0.1:$((PORT + 1))/verify/$token")
  kill "$BPID"; wait "$BPID" 2>/dev/null || true
  echo "| bare axum + sqlx | \`/verify/{token}\` | $bare | |"
  echo
  echo "public verification ÷ bare lookup (saturation req/s): $(echo "$app|$bare" | awk -F'|' '{printf "%.2f", $1 / $7}')"
fi
echo
echo "resident memory of the server after the run: $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$PID/status)"
if [ $grow = 1 ]; then echo "FAIL: a page's statements grow with the data (marked GROWS)"; exit 1; fi
