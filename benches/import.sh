#!/usr/bin/env bash
# Time a 10,000-row CSV import of measurement standards (one transaction)
# against the release binary with its embedded PostgreSQL. Loopback only.
#
#   benches/import.sh          # ROWS=20000 benches/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-10000}
PORT=${PORT:-18198}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/jiliang-target}
cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/jiliang
DATA=$(mktemp -d)
env -u DATABASE_URL JILIANG_DATA_DIR="$DATA" JILIANG_ADDR=127.0.0.1:$PORT JILIANG_SECURE_COOKIES=false \
  RUST_LOG=warn "$BIN" >"$DATA.log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$DATA.log" "$CSV" "$JAR"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
JAR=$(mktemp) CSV=$(mktemp --suffix=.csv)
curl -fsS -c "$JAR" -H 'Content-Type: application/json' \
  -d '{"username":"station.staff","password":"demo-pass-2025"}' "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
python3 - "$ROWS" "$CSV" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", encoding="utf-8") as f:
    f.write("类别,名称,测量范围,准确度等级/最大允许误差/不确定度,主要配套设备,依据的技术规范,负责人,存放地点,环境条件,计量标准考核证书编号,发证机关,发证日期,有效期至\n")
    for i in range(1, rows + 1):
        f.write(f"本专业项目的计量标准,压力标准装置 {i},（0～10）MPa,0.05级,活塞式压力计,JJG 59-2022,刘芳,压力实验室,,[2025]粤量标证字第{i:06}号,广东省市场监督管理局,2025-01-15,\n")
PY
echo "importing $ROWS rows ($(du -h "$CSV" | cut -f1))"
curl -sS -o /dev/null -w 'HTTP %{http_code}, %{time_total} s\n' -b "$JAR" \
  -F "file=@$CSV;filename=registry.csv" "http://127.0.0.1:$PORT/api/v1/standards/import"
