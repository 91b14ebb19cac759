#!/usr/bin/env bash
# My work (issue 16) at national scale, on `jiliang seed-scale` data in a
# PostgreSQL server of your choice:
#
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432 benches/tasks.sh
#
# 1. a database seeded with STATIONS stations (default 3,000; reused when
#    DB already exists and REUSE=1);
# 2. the daily digest job for every user (`jiliang run-jobs`), twice: the
#    first run writes the day's digests, the second finds nothing new
#    (goal: ≤ 30 s);
# 3. `/tasks`, `/api/v1/tasks` and `/` at CONNS connections for a province
#    reviewer (gd.reviewer), SAMR and a station: saturation with wrk, then
#    p50/p99 at LOAD_FRACTION of it with oha (goal: p99 ≤ 20 ms for the
#    province reviewer).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL=postgres://user@host:port (a server where databases may be created)}"
STATIONS=${STATIONS:-3000}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10s}
SATURATE=${SATURATE:-3s}
LOAD_FRACTION=${LOAD_FRACTION:-0.5}
PORT=${PORT:-18271}
DB=${DB:-jiliang_tasks_bench}
REUSE=${REUSE:-0}
URL=$BENCH_DATABASE_URL/$DB
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin jiliang
  BIN=$CARGO_TARGET_DIR/release/jiliang
fi
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)"; exit 1; }
command -v oha >/dev/null || cargo install --locked --quiet oha --version 1.16.0
WORK=$(mktemp -d /var/tmp/jiliang-tasks.XXXXXX)
PID=
stop() { [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; PID=; }
trap 'stop; rm -rf "$WORK"' EXIT

if [ "$REUSE" != 1 ] || ! psql -At "$BENCH_DATABASE_URL/postgres" -c "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
  psql "$BENCH_DATABASE_URL/postgres" -qc "drop database if exists $DB with (force)" -c "create database $DB"
  env -u JILIANG_DATA_DIR DATABASE_URL=$URL JILIANG_DEMO=true "$BIN" seed-scale --stations "$STATIONS" | tail -1
fi
psql -q "$URL" -c "delete from task_digest" -c "delete from task_reminder" -c "analyze"
echo "users: $(psql -At "$URL" -c "select count(*) from app_user where active")"
for run in first second; do
  env -u JILIANG_DATA_DIR DATABASE_URL=$URL JILIANG_MAIL_DIR="$WORK/mail" "$BIN" run-jobs | sed "s/^/$run run: /" | grep digests
done
echo "e-mail files: $(find "$WORK/mail" -type f 2>/dev/null | wc -l)"
psql -q "$URL" -c "checkpoint"  # the job's writes are flushed before the pages are timed

env -u JILIANG_DATA_DIR DATABASE_URL=$URL JILIANG_DEMO=true JILIANG_ADDR=127.0.0.1:$PORT JILIANG_SECURE_COOKIES=false \
  JILIANG_DIGESTS=false RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
cookie() {
  local jar; jar=$(mktemp -p "$WORK")
  curl -fsS -c "$jar" -H 'Content-Type: application/json' -H "Origin: http://127.0.0.1:$PORT" \
    -d "{\"username\":\"$1\",\"password\":\"demo-pass-2025\"}" "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
  awk '$6 ~ /session/ {print $6"="$7}' "$jar"
}
saturate() {
  wrk -t2 -c"$CONNS" -d"$SATURATE" -H "Cookie: $2" "$1" | python3 -c '
import re,sys
t=sys.stdin.read()
rps=re.search(r"Requests/sec:\s+([\d.]+)",t)
non=re.search(r"Non-2xx or 3xx responses: (\d+)",t)
print("%.0f %d" % (float(rps.group(1)) if rps else 0, int(non.group(1)) if non else 0))'
}
measure() {
  local sat serr rate
  read -r sat serr < <(saturate "$@")
  sleep 2
  rate=$(python3 -c "print(max(1, int($sat * $LOAD_FRACTION)))")
  oha --no-tui --latency-correction -w -z "$DURATION" -c "$CONNS" -q "$rate" -H "Cookie: $2" --output-format json "$1" |
    python3 -c '
import json,sys
d=json.load(sys.stdin); l=d["latencyPercentiles"]; s=d["statusCodeDistribution"]
e=sum(v for k,v in s.items() if not k.startswith("2"))+sum(d.get("errorDistribution",{}).values())+int(sys.argv[3])
print("%s | %s | %.1f | %.1f | %.0f | %d" % (sys.argv[1], sys.argv[2], l["p50"]*1000, l["p99"]*1000, d["summary"]["requestsPerSec"], e))' "$sat" "$rate" "$serr"
}
code=$(psql -At "$URL" -c "select lower(code) from station where code like 'SC-%' order by code limit 1")
echo
echo "| who | page | tasks | saturation req/s | fixed rate | p50 ms | p99 ms | req/s | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for who in gd.reviewer samr.reviewer "st-$code"; do
  c=$(cookie "$who")
  n=$(curl -fsS -H "Cookie: $c" "http://127.0.0.1:$PORT/api/v1/tasks?scope=org" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  for page in /tasks /api/v1/tasks /; do
    echo "| $who | \`$page\` | $n | $(measure "http://127.0.0.1:$PORT$page" "$c") |"
  done
done
