#!/usr/bin/env bash
# Schema-driven API fuzzing: schemathesis (from PyPI) against the served
# OpenAPI document of a fresh demo server, anonymously (sign-in and the
# public pages) and signed in as a regulator (gd.reviewer), a station
# (station.staff) and the platform operator. A bounded number of examples
# per operation. Fails on any server error, any response that does not
# match its documented schema, or any undocumented status code.
#
#   tests/fuzz/run.sh                     # as CI runs it
#   FUZZ_MAX_EXAMPLES=20 tests/fuzz/run.sh   # deeper
#   FUZZ_ALLOW_X00=false tests/fuzz/run.sh   # no NUL characters in strings (default: generated)
#
# Failing cases are kept under .schemathesis/ (ignored by git): `st replay`
# with the virtualenv's st re-sends them to a running server.
#
# Runs as root (CI) or a sudoer; needs python3 and network access to PyPI
# on the first run (the virtualenv is kept under ~/.cache).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VENV="${FUZZ_VENV:-$HOME/.cache/schemathesis-venv}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-5}"
SEED="${FUZZ_SEED:-20250101}"
ALLOW_X00="${FUZZ_ALLOW_X00:-true}"
PASSWORD="demo-pass-2025"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- schemathesis in a virtualenv (and curl for the sign-ins)
if ! command -v curl >/dev/null 2>&1; then
  echo "installing curl"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "installing python3-venv"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# --- a fresh demo server on a free port
WORK="$(mktemp -d)"
# As root, the embedded cluster runs as the postgres user, who must reach the data dir.
chmod 711 "$WORK"
echo "== building the server"
cargo build --quiet --bin jiliang
# A copy at once: a shared target directory's debug/jiliang is whichever
# checkout built last.
BIN="$WORK/jiliang"
cp "$CARGO_TARGET_DIR/debug/jiliang" "$BIN"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${FUZZ_KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

env -u DATABASE_URL \
  JILIANG_DATA_DIR="$WORK/data" JILIANG_ADDR="127.0.0.1:$PORT" \
  JILIANG_SECURE_COOKIES=false JILIANG_DEMO=true RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 180); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server did not start:"; cat "$WORK/server.log"; exit 1
  fi
  sleep 1
done
curl -fsS "$BASE/healthz" >/dev/null
curl -fsS "$BASE/api/openapi.json" -o "$WORK/openapi.json"

# The session cookie of a demo account (JSON sign-in, same-origin).
session_cookie() {
  local jar="$WORK/$1.jar"
  curl -fsS -o /dev/null -c "$jar" -H "Origin: $BASE" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" "$BASE/api/v1/session"
  awk '$6 == "jiliang_session" { print $6 "=" $7 }' "$jar"
}

CHECKS=not_a_server_error,status_code_conformance,response_schema_conformance
failed=0
# NUL characters in text are refused by the extractors in a separate change;
# until then they are not generated.
# FUZZ_CONFIG: a schemathesis config file (the real ids of the deep pass).
fuzz() {
  local who="$1"; shift
  local config=()
  [ -n "${FUZZ_CONFIG:-}" ] && config=(--config-file "$FUZZ_CONFIG")
  echo "== schemathesis as $who"
  if ! "$VENV/bin/schemathesis" "${config[@]}" run "$WORK/openapi.json" --url "$BASE" \
      --checks "$CHECKS" \
      --phases examples,coverage,fuzzing \
      --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
      --generation-allow-x00 "$ALLOW_X00" \
      --generation-database none \
      --workers 2 --request-timeout 30 --no-color \
      --suppress-health-check all \
      -H "Origin: $BASE" "$@"; then
    echo "!! schemathesis as $who found failures"
    failed=1
  fi
}

# One record of each workflow, so the deep pass below has real ids.
python3 tests/fuzz/setup_records.py "$BASE"

# Anonymous: sign-in and the public pages (and what answers 401 without a session).
fuzz anonymous --include-path-regex '^/api/v1/(session|public/|me$)'
# Signed in: everything but sign-in and sign-out (which would end the session).
for user in gd.reviewer station.staff operator; do
  cookie="$(session_cookie "$user")"
  [ -n "$cookie" ] || { echo "could not sign in as $user"; exit 1; }
  fuzz "$user" --exclude-path /api/v1/session -H "Cookie: $cookie"
  # Deep pass: the operations on one record, given a real id of each
  # resource this user sees (random ids only ever reach the 404).
  echo "== real ids for $user"
  python3 tests/fuzz/real_ids.py "$BASE" "$cookie" "$WORK/$user.toml"
  FUZZ_CONFIG="$WORK/$user.toml" fuzz "$user (real ids)" --include-path-regex '\{id\}' \
    --exclude-path /api/v1/session -H "Cookie: $cookie"
done

if grep -q 'panicked' "$WORK/server.log"; then
  echo "!! the server log shows a panic:"; grep -n 'panicked' "$WORK/server.log" | head
  failed=1
fi
if [ "$failed" != 0 ]; then
  echo "== server log (errors)"; grep -E '"level":"ERROR"|ERROR' "$WORK/server.log" | tail -n 40 || true
  exit 1
fi
echo "== schemathesis: no failures"
