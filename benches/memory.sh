#!/usr/bin/env bash
# Server resident memory under the loads of the trust issue (ASVS V2/V6):
# 100 parallel sign-ins, 32 parallel certificate PDFs, 8 parallel exports
# of 80,000 standards (XLSX and CSV), then idle. Release binary, embedded
# PostgreSQL, loopback only, every load bounded in count and time.
#
#   benches/memory.sh
#   ROWS=20000 benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-80000}
PORT=${PORT:-18198}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}
[ -n "${BIN:-}" ] || { cargo build --release --quiet; BIN=$CARGO_TARGET_DIR/release/jiliang; }
DATA=$(mktemp -d)
env -u DATABASE_URL JILIANG_DATA_DIR="$DATA" JILIANG_ADDR=127.0.0.1:$PORT JILIANG_SECURE_COOKIES=false \
  RUST_LOG=warn "$BIN" >"$DATA.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
# ROWS standards for the national station, written as the schema owner.
PGPORT=$(sed -n 4p "$DATA/pg/postmaster.pid")
export PGPASSWORD=$(cat "$DATA/pg-password")
BINDIR=$(dirname "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
PSQL=$(command -v psql || echo "$BINDIR/psql")
"$PSQL" -q -h 127.0.0.1 -p "$PGPORT" -U jiliang -d jiliang <<SQL
insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
  cert_number, cert_issuer_id, cert_issued_on, cert_expires_on)
select gen_random_uuid(), s.station_id, 'professional', '负荷测试标准装置 ' || g, '(0~100)A', '0.05级',
       'MEM-' || g, s.authorizing_regulator_id, date '2025-01-01', date '2029-01-01'
  from station s, generate_series(1, $ROWS) g
 where s.code = 'NS-OGF' ;
SQL
python3 - "$PORT" "$PID" <<'PY'
import http.cookiejar, json, sys, threading, time, urllib.request
port, pid = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
peak = [0]
stop = [False]
def sample():
    while not stop[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.05)
def client(user=None):
    jar = http.cookiejar.CookieJar()
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    if user:
        req = urllib.request.Request(base + "/api/v1/session", json.dumps(
            {"username": user, "password": "demo-pass-2025"}).encode(),
            {"Content-Type": "application/json", "Origin": base})
        op.open(req, timeout=60).read()
    return op
def get(op, path):
    try:
        with op.open(base + path, timeout=120) as r:
            n = 0
            while True:
                b = r.read(1 << 16)
                if not b: break
                n += len(b)
            return r.status, n
    except urllib.error.HTTPError as e:
        return e.code, 0
def run(name, n, fn):
    codes = []
    peak[0] = rss(); before = peak[0]
    stop[0] = False; t = threading.Thread(target=sample); t.start()
    t0 = time.time()
    ths = [threading.Thread(target=lambda: codes.append(fn())) for _ in range(n)]
    [x.start() for x in ths]; [x.join() for x in ths]
    dt = time.time() - t0
    stop[0] = True; t.join()
    print(f"| {name} | {n} | {before} | {peak[0]} | {rss()} | {dt:.1f} | {sorted(set(codes))} |")
def sign_in():
    op = client()
    req = urllib.request.Request(base + "/api/v1/session", json.dumps(
        {"username": "gd.approver", "password": "demo-pass-2025"}).encode(),
        {"Content-Type": "application/json", "Origin": base})
    try:
        return op.open(req, timeout=60).status
    except urllib.error.HTTPError as e:
        return e.code
samr = client("samr.reviewer")
staff = client("head.staff")
_, body = None, json.loads(samr.open(base + "/api/v1/authorizations").read())
items = body["items"] if isinstance(body, dict) else body
auth = items[0]["id"]
print(f"| load | parallel | RSS before MB | peak MB | after MB | seconds | answers |")
print(f"|---|---|---|---|---|---|---|")
run("sign-ins (Argon2id 19 MiB)", 100, sign_in)
run("certificate PDFs", 32, lambda: get(samr, f"/api/v1/authorizations/{auth}/certificate.pdf")[0])
run("exports .xlsx", 8, lambda: get(staff, "/api/v1/standards/export.xlsx")[0])
run("exports .csv", 8, lambda: get(staff, "/api/v1/standards/export.csv")[0])
time.sleep(5)
print(f"idle after 5 s: {rss()} MB")
PY
