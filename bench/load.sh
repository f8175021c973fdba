#!/usr/bin/env bash
# Load benchmark of GET /v1/workers/{uan} over a registry of 1,000,000 workers, with the audit log
# on and off, beside pgbench -S on the same cluster and an unauthenticated /healthz, all in one run
# so the figures compare as ratios. Two gateways serve at once over the one cluster, one with the
# log on (port 18080, which runs the cluster) and one with it off (18081), loaded in turn: nothing
# restarts between the runs compared. Loopback only; bounded duration.
# Usage: bench/load.sh [workers] [seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-1000000}
SECS=${2:-10}
ROUNDS=${3:-2}
CONNS=${CONNS:-64}
# Seconds of the same load before each measured run, unmeasured: a freshly started gateway's first
# audited reads pay one-off costs (full-page images of index pages after the start's checkpoint,
# cold caches and statements), for longer than 5 s.
WARMUP=${WARMUP:-20}
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
cargo build -q --release -p shramsetu
BIN=target/release/shramsetu
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# A cluster, keys and port of the benchmark's own, never the developer's ./var.
export SHRAMSETU_DATABASE__EMBEDDED_DIR=$PWD/$OUT/pg
export SHRAMSETU_AUTH__KEYS_DIR=$PWD/$OUT/keys
export SHRAMSETU_LOG__LEVEL=warn
SOCK=$PWD/$OUT/pg/run
PSQL=("$PGBIN/psql" -X -q -t -A -h "$SOCK" -U postgres)
ON=http://127.0.0.1:18080
OFF=http://127.0.0.1:18081

SERVERS=()
start_server() { # $1: audit enabled (true|false), $2: port; the second one uses the first's cluster
  local db=()
  [ ${#SERVERS[@]} -gt 0 ] && db=(SHRAMSETU_DATABASE__URL="postgresql://postgres@localhost/shramsetu?host=$SOCK")
  env "${db[@]}" SHRAMSETU_SERVER__BIND=127.0.0.1:$2 SHRAMSETU_AUDIT__ENABLED=$1 \
    SHRAMSETU_AUDIT__CHECKPOINT_FILE=$PWD/$OUT/checkpoints.jsonl \
    SHRAMSETU_RATE_LIMIT_RPS=10000000 SHRAMSETU_LIMITS__RATE_LIMIT_BURST=10000000 \
    SHRAMSETU_LIMITS__MAX_CONCURRENT_PER_CLIENT=100000 "$BIN" serve >>"$OUT/serve.log" 2>&1 &
  SERVERS+=($!)
  for _ in $(seq 1 120); do curl -sf http://127.0.0.1:$2/readyz >/dev/null && return; sleep 0.5; done
  echo "the gateway did not start; see $OUT/serve.log" >&2
  exit 1
}
# The one running the cluster stops last.
stop_servers() { for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do kill "${SERVERS[$i]}" 2>/dev/null && wait "${SERVERS[$i]}" 2>/dev/null || true; done; SERVERS=(); }
trap stop_servers EXIT
start_server true 18080

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
start_server false 18081
TOKEN=$("$BIN" token --client-id bench --scopes "workers:read" --ttl-secs 3600)
export TOKEN UAN_FILE=$PWD/$OUT/uans.txt

warm_up() { [ "$WARMUP" -gt 0 ] && wrk -t2 -c"$CONNS" -d"${WARMUP}s" -s bench/uan.lua "$1" >/dev/null || true; }
rps() { awk '/Requests\/sec/ {print $2}'; }
# Busy CPU time of the whole machine (user, nice, system, irq, softirq; not idle, iowait or steal) in
# clock ticks: around a run, divided by its requests, it is the CPU a request costs (wrk included,
# the same with the log on and off). Less moved by a noisy neighbour than req/s.
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
requests() { awk '/requests in/ {print $1}'; }
# CPU clock ticks (user + system) so far of PostgreSQL's processes, and of one process: the share of
# a run's CPU that the database and the loaded gateway took.
pg_ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" {t += $14 + $15} END {print t + 0}'; }
pid_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One measured run of the GET against $1 (a gateway's URL, served by process $2), its wrk output to
# $3. Prints its CPU µs per GET: the machine's, PostgreSQL's and the gateway's.
measured_run() {
  local b0 p0 g0 n
  b0=$(busy); p0=$(pg_ticks); g0=$(pid_ticks "$2")
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s bench/uan.lua "$1" >"$3"
  n=$(requests <"$3")
  echo "$(cpu_per_request $(($(busy) - b0)) "$n") $(cpu_per_request $(($(pg_ticks) - p0)) "$n")" \
    "$(cpu_per_request $(($(pid_ticks "$2") - g0)) "$n")"
}
cpu_per_request() { # $1: busy ticks, $2: requests -> microseconds
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t * 1e6 / hz / n}'
}
pct() { awk -v p="$1" '$1 == p {print $2}'; }
non200() { awk '/non-200/ {print $3}'; }
# Entries per audit commit so far (the on gateway's audit_batch_entries histogram).
per_commit() {
  curl -s "$ON/metrics" | awk '/^audit_batch_entries_sum/ {s = $2} /^audit_batch_entries_count/ {c = $2}
    END {if (c > 0) printf "%.0f", s / c; else print "-"}'
}
# PostgreSQL's own work that a turn may catch or miss: autovacuums of the audit log (an
# insert-only table is vacuumed at every fifth or so of growth) and checkpoints begun (a checkpoint
# spreads its writes over most of `checkpoint_timeout`; after it begins, pages are logged whole).
background() {
  "${PSQL[@]}" -d shramsetu -c "SELECT (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'audit_log') || ' ' || (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)"
}
echo "| round | /healthz req/s | GET worker, audit on: req/s, p50, p99 | GET worker, audit off: req/s, p50, p99 | audit on / off | CPU µs per GET, on / off | of which PostgreSQL, on / off | of which the gateway, on / off | entries per commit | log vacuums, checkpoints begun in the on turn | non-200 | pgbench -S TPS |" | tee "$OUT/results.md"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|" | tee -a "$OUT/results.md"
RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$ON/healthz" >"$OUT/healthz-$round.txt"
  warm_up "$ON"
  read -r v0 c0 <<<"$(background)"
  read -r cpu_on pg_on gw_on <<<"$(measured_run "$ON" "${SERVERS[0]}" "$OUT/uan-on-$round.txt")"
  read -r v1 c1 <<<"$(background)"
  # (The gateways keep the cluster up, idle meanwhile.)
  "$PGBIN/pgbench" -S -M prepared -c 16 -j 2 -T "$SECS" -h "$SOCK" -U postgres pgbench >"$OUT/pgbench-$round.txt" 2>&1
  warm_up "$OFF"
  read -r cpu_off pg_off gw_off <<<"$(measured_run "$OFF" "${SERVERS[1]}" "$OUT/uan-off-$round.txt")"
  on=$(rps <"$OUT/uan-on-$round.txt"); off=$(rps <"$OUT/uan-off-$round.txt")
  ratio=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.2f", a / b}')
  RATIOS+=("$ratio")
  printf '| %s | %s | %s, %s, %s | %s, %s, %s | %s | %s / %s | %s / %s | %s / %s | %s | %s, %s | %s | %s |\n' "$round" \
    "$(rps <"$OUT/healthz-$round.txt")" \
    "$on" "$(pct 50% <"$OUT/uan-on-$round.txt")" "$(pct 99% <"$OUT/uan-on-$round.txt")" \
    "$off" "$(pct 50% <"$OUT/uan-off-$round.txt")" "$(pct 99% <"$OUT/uan-off-$round.txt")" \
    "$ratio" "$cpu_on" "$cpu_off" "$pg_on" "$pg_off" "$gw_on" "$gw_off" "$(per_commit)" \
    "$((v1 - v0))" "$((c1 - c0))" \
    "$(( $(non200 <"$OUT/uan-on-$round.txt") + $(non200 <"$OUT/uan-off-$round.txt") ))" \
    "$(awk '/^tps/ {print $3; exit}' "$OUT/pgbench-$round.txt")" | tee -a "$OUT/results.md"
done
median=$(printf '%s\n' "${RATIOS[@]}" | sort -n |
  awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}')
echo "Audit on / off, median of ${#RATIOS[@]} rounds: $median" | tee -a "$OUT/results.md"
