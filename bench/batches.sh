#!/usr/bin/env bash
# bench/batches.sh [rows] [small]: a state's push end to end beside a binary COPY of the same rows,
# release build, in one run:
#   1. two synthetic rolls (`shramsetu roll`, one row in 1,000 refused: a date of birth in the
#      future): `small` (100,000) rows and `rows` (1,000,000) rows, different people;
#   2. COPY: the big roll loaded by `shramsetu seed --from-csv` (rules, tokens, vault rows, match
#      keys; no audit entries, no per-row accounting) into a cluster of its own;
#   3. push: a fresh gateway on a second cluster; `shramsetu import` of the small roll, the gateway
#      restarted, then the big one (upload, validation, registration with audit entries, vault rows,
#      match keys, per-row outcomes); each time the gateway's peak resident memory (VmHWM: the
#      gateway process only, not PostgreSQL's) and the time to the first byte of the error report.
# Loopback only. Figures: bench/out/batches/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
small=${2:-100000}
cargo build --release -q -p shramsetu
bin=$PWD/target/release/shramsetu
out=$PWD/bench/out/batches
rm -rf "$out"
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
now() { date +%s.%N; }

"$bin" roll --rows "$small" --seed 7 --bad-every 1000 --out "$out/small.csv"
"$bin" roll --rows "$rows" --seed 8 --bad-every 1000 --out "$out/big.csv"
say "rolls: $small and $rows rows ($(du -h "$out/big.csv" | cut -f1) for the big one)"

# COPY, on a cluster of its own.
# `seed` times the load itself (not the cluster's start): "Seeded N workers in S s (R rows/s)."
SHRAMSETU_DATABASE__EMBEDDED_DIR=$out/copy-pg SHRAMSETU_AUTH__KEYS_DIR=$out/copy-keys SHRAMSETU_LOG__LEVEL=warn \
  "$bin" seed --from-csv "$out/big.csv" 2>&1 | grep -E "^Seeded|refused" | tee -a "$summary" >"$out/copy.txt"
copy_secs=$(grep -o 'in [0-9.]* s' "$out/copy.txt" | cut -d' ' -f2)

# The push, on another cluster.
export SHRAMSETU_DATABASE__EMBEDDED_DIR=$out/pg SHRAMSETU_AUTH__KEYS_DIR=$out/keys \
  SHRAMSETU_AUDIT__CHECKPOINT_FILE=$out/audit/checkpoints.jsonl SHRAMSETU_LOG__LEVEL=warn \
  SHRAMSETU_SERVER__BIND=127.0.0.1:18090 SHRAMSETU_BATCHES__MAX_ROWS=$((rows + 1)) \
  SHRAMSETU_AUTH__TOKEN_TTL_SECS=86400
url=http://127.0.0.1:18090
gw=
start() {
  "$bin" serve >>"$out/serve.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 240); do curl -sf "$url/readyz" >/dev/null && return; sleep 0.5; done
  echo "the gateway did not start; see $out/serve.log" >&2
  exit 1
}
stop() { [ -n "$gw" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null || true; gw=; }
trap stop EXIT
token=$("$bin" token --client-id bench-state --scopes batches:write --ttl-secs 86400)

push() { # $1: roll, $2: label
  start
  local t0 secs id ttfb
  t0=$(now)
  "$bin" import "$1" --state all --server "$url" --token "$token" >"$out/$2.import.txt" 2>&1
  secs=$(echo "$(now) - $t0" | bc)
  local n
  n=$(wc -l <"$1")
  n=$((n - 1))
  id=$(grep -o 'batch [0-9a-f-]\{36\}' "$out/$2.import.txt" | head -1 | cut -d' ' -f2)
  ttfb=$(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total}' -H "Authorization: Bearer $token" \
    "$url/v1/batches/$id/errors")
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
  say "push $2: $n rows in $secs s ($(echo "$n / $secs" | bc) rows/s); gateway peak memory $((hwm / 1024)) MiB; error report first byte / whole: $ttfb s"
  tail -2 "$out/$2.import.txt" | head -1 | tee -a "$summary"
  stop
  [ "$2" = big ] && push_secs=$secs
  return 0
}
push "$out/small.csv" small
push "$out/big.csv" big
say "push / COPY time, $rows rows: $push_secs s / $copy_secs s; rows/s ratio push:COPY = $(echo "scale=3; $copy_secs / $push_secs" | bc)"
