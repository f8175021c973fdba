#!/usr/bin/env bash
# Load benchmark of GET /v1/workers/{uan} over a registry of 1,000,000 workers, beside pgbench -S
# on the same cluster and an unauthenticated /healthz, all in one run so the figures compare as
# ratios. Loopback only; bounded duration. Usage: bench/load.sh [workers] [seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-1000000}
SECS=${2:-10}
ROUNDS=${3:-2}
CONNS=${CONNS:-64}
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
cargo build -q --release -p gateway
BIN=target/release/shramsetu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# A cluster, keys and port of the benchmark's own, never the developer's ./var.
export SHRAMSETU_DATABASE__EMBEDDED_DIR=$PWD/$OUT/pg
export SHRAMSETU_AUTH__KEYS_DIR=$PWD/$OUT/keys
export SHRAMSETU_SERVER__BIND=127.0.0.1:18080
export SHRAMSETU_LOG__LEVEL=warn
SOCK=$PWD/$OUT/pg/run
PSQL=("$PGBIN/psql" -X -q -t -A -h "$SOCK" -U postgres)

"$BIN" serve >"$OUT/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.5; done

HAVE=$("${PSQL[@]}" -d shramsetu -c "SELECT count(*) FROM workers")
if [ "$HAVE" -lt "$WORKERS" ]; then
  echo "Seeding $((WORKERS - HAVE)) workers..."
  "$BIN" seed --count $((WORKERS - HAVE)) 2>&1 | tee "$OUT/seed.txt"
  "${PSQL[@]}" -d shramsetu -c "VACUUM ANALYZE workers"
fi
"${PSQL[@]}" -d shramsetu -c "SELECT uan FROM workers TABLESAMPLE SYSTEM (2) LIMIT 20000" >"$OUT/uans.txt"
if ! "${PSQL[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='pgbench'" | grep -q 1; then
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE pgbench"
  "$PGBIN/pgbench" -q -i -s 10 -h "$SOCK" -U postgres pgbench >/dev/null 2>&1
fi
TOKEN=$("$BIN" token --client-id bench --scopes "workers:read" --ttl-secs 3600)
export TOKEN UAN_FILE=$PWD/$OUT/uans.txt

rps() { awk '/Requests\/sec/ {print $2}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }
echo "| round | /healthz req/s | GET /v1/workers/{uan} req/s | p50 | p99 | non-200 | pgbench -S TPS |" | tee "$OUT/results.md"
echo "|---|---|---|---|---|---|---|" | tee -a "$OUT/results.md"
for round in $(seq 1 "$ROUNDS"); do
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency http://127.0.0.1:18080/healthz >"$OUT/healthz-$round.txt"
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/uan.lua http://127.0.0.1:18080 >"$OUT/uan-$round.txt"
  "$PGBIN/pgbench" -S -M prepared -c 16 -j 2 -T "$SECS" -h "$SOCK" -U postgres pgbench >"$OUT/pgbench-$round.txt" 2>&1
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$round" \
    "$(rps <"$OUT/healthz-$round.txt")" "$(rps <"$OUT/uan-$round.txt")" \
    "$(pct 50% <"$OUT/uan-$round.txt")" "$(pct 99% <"$OUT/uan-$round.txt")" \
    "$(awk '/non-200/ {print $3}' "$OUT/uan-$round.txt")" \
    "$(awk '/^tps/ {print $3; exit}' "$OUT/pgbench-$round.txt")" | tee -a "$OUT/results.md"
done
