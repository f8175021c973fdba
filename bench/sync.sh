#!/usr/bin/env bash
# bench/sync.sh [workers] [records]: the sync engine beside the adapters' raw pull, release build,
# in one run: a registry of `workers` (1,000,000) seeded, then for each scheme `records` (100,000)
# pulled raw through its adapter (`shramsetu pull`) and synced (`shramsetu sync`) from the same
# simulators (a population of 1.5 × workers, so about two thirds of each scheme's people are
# registered). Link precision and recall against the simulators' truth come from the e2e
# benchmark: `cargo test --release -p e2e --test e2e sync_bench -- --ignored --nocapture`.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-1000000}
records=${2:-100000}
cargo build --release -q -p shramsetu
bin=target/release/shramsetu
out=bench/out/sync
rm -rf "$out"
mkdir -p "$out"
export SHRAMSETU_DATABASE__EMBEDDED_DIR="$out/pg" SHRAMSETU_AUTH__KEYS_DIR="$out/keys" \
  SHRAMSETU_AUDIT__CHECKPOINT_FILE="$out/audit/checkpoints.jsonl" \
  SHRAMSETU_SCHEMES__ALLOW_LOCAL_SIMULATORS=true \
  SHRAMSETU_SCHEMES__SIMULATOR_POPULATION=$((workers * 3 / 2)) \
  SHRAMSETU_SCHEMES__SIMULATOR_RECORDS="$records"
# Candidates looked up in memory (the figure in the README); SYNC_INDEX=database for PostgreSQL's.
export SHRAMSETU_MATCHING__INDEX="${SYNC_INDEX:-memory}"
# The simulators are local: lift the per-scheme rate limit, which would otherwise be what is measured.
for s in NCS SIDH PMSYM PMJAY PMJJBY; do export "SHRAMSETU_SCHEMES__${s}__RATE_LIMIT_RPS=100000"; done
"$bin" seed --count "$workers" 2>&1 | tail -1
for s in ncs sidh pmsym pmjay pmjjby; do
  "$bin" pull --scheme "$s" --sim-records "$records" 2>&1 | grep -E "^$s:" || true
  # `sync` reports its own peak memory (GNU time would count the embedded cluster's too).
  "$bin" sync --scheme "$s" 2>&1 | grep -E "^$s run|peak memory|candidate index" || true
done
