#!/usr/bin/env bash
# bench/coverage.sh [workers] [seconds]: coverage reports and the eligibility route on a registry of
# `workers` (1,000,000), release build, in one run:
#   1. the registry seeded (`shramsetu seed`), then links for six schemes written straight into
#      scheme_links (a tenth of the workers each, a fixture: the sync engine's own rate is
#      bench/sync.sh's subject), the coverage triggers keeping the cells as they go;
#   2. each group_by of GET /v1/reports/coverage, 40 requests one after another: p50 and p99,
#      beside the same grouping as `SELECT ... count(*) ... GROUP BY` over the workers (psql, 5 runs);
#   3. GET /v1/workers/{uan}/eligibility beside GET /v1/workers/{uan} with wrk, same UANs, same run.
# Loopback only. Figures: bench/out/coverage/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-1000000}
secs=${2:-10}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p shramsetu
bin=$PWD/target/release/shramsetu
out=$PWD/bench/out/coverage
rm -rf "$out"
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
export SHRAMSETU_DATABASE__EMBEDDED_DIR=$out/pg SHRAMSETU_AUTH__KEYS_DIR=$out/keys \
  SHRAMSETU_AUDIT__CHECKPOINT_FILE=$out/audit/checkpoints.jsonl SHRAMSETU_LOG__LEVEL=warn \
  SHRAMSETU_SERVER__BIND=127.0.0.1:18095 SHRAMSETU_RATE_LIMIT_RPS=10000000 \
  SHRAMSETU_LIMITS__RATE_LIMIT_BURST=10000000 SHRAMSETU_LIMITS__MAX_CONCURRENT_PER_CLIENT=100000
url=http://127.0.0.1:18095
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PSQL=("$PGBIN/psql" -X -q -t -A -h "$out/pg/run" -U postgres -d shramsetu)
"$bin" serve >>"$out/serve.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null; wait $gw 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.5; done
"$bin" seed --count "$workers" 2>&1 | grep -E "^Seeded" | tee -a "$summary"
"${PSQL[@]}" -c "INSERT INTO scheme_links (uan, scheme, reference, status, source) \
  SELECT uan, s, s || '-' || uan, 'active', 'sync' FROM workers, \
         unnest(ARRAY['ncs','sidh','pmsym','pmjay','pmjjby','myscheme']) s \
   WHERE hashtext(uan || s) % 10 = 0"
say "links: $("${PSQL[@]}" -c "SELECT count(*) FROM scheme_links")"
token=$("$bin" token --client-id bench-nodal --scopes "reports:read workers:read" --ttl-secs 3600)
curl -sf -o /dev/null "$url/v1/reports/coverage" -H "Authorization: Bearer $token"
say "cells: $("${PSQL[@]}" -c "SELECT count(*) FROM coverage_cells") for $workers workers"

percentile() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int(NR * p + 0.999); if (i < 1) i = 1; printf "%.1f", a[i] * 1000}'; }
say "| group_by | report p50 ms | report p99 ms | raw GROUP BY ms (median of 5) |"
say "|---|---|---|---|"
for g in "" state district gender social_category occupation_division "state,district,gender,social_category,occupation_division"; do
  : >"$out/times"
  for _ in $(seq 1 40); do
    curl -s -o /dev/null -w '%{time_total}\n' "$url/v1/reports/coverage?scheme=pmsym&group_by=$g" \
      -H "Authorization: Bearer $token" >>"$out/times"
  done
  cols=$(echo "$g" | sed 's/\bstate\b/state_code/; s/district/district_code/; s/occupation_division/left(occupation_nco, 1)/')
  sel=${cols:-"'all'"}
  grp=${cols:+"GROUP BY $cols"}
  : >"$out/raw"
  for _ in 1 2 3 4 5; do
    s0=$(date +%s.%N)
    "${PSQL[@]}" -c "SELECT $sel, count(*) FROM workers $grp" >/dev/null
    echo "$(date +%s.%N) - $s0" | bc >>"$out/raw"
  done
  say "| ${g:-(none)} | $(percentile 0.5 <"$out/times") | $(percentile 0.99 <"$out/times") | $(percentile 0.5 <"$out/raw") |"
done

"${PSQL[@]}" -c "SELECT uan FROM workers TABLESAMPLE SYSTEM (2) LIMIT 20000" >"$out/uans.txt"
export TOKEN=$token UAN_FILE=$out/uans.txt
for suffix in "" /eligibility; do
  SUFFIX=$suffix wrk -t2 -c32 -d"${secs}s" --latency -s bench/uan.lua "$url" >"$out/wrk$(echo "$suffix" | tr / -).txt"
  say "GET /v1/workers/{uan}$suffix: $(awk '/Requests\/sec/ {print $2}' "$out/wrk$(echo "$suffix" | tr / -).txt") req/s, p50 $(awk '$1 == "50%" {print $2}' "$out/wrk$(echo "$suffix" | tr / -).txt"), p99 $(awk '$1 == "99%" {print $2}' "$out/wrk$(echo "$suffix" | tr / -).txt"), $(awk '/non-200/ {print $3}' "$out/wrk$(echo "$suffix" | tr / -).txt") non-200"
done
