#!/usr/bin/env bash
# Records per second pulled and mapped per adapter from its simulator: 100,000 records per scheme
# (myScheme's catalogue has 14), pages of 500, over loopback HTTP; then again with 5% of requests
# failing (503) and 50 ms of latency added to each. The simulators run in the same process
# (`shramsetu pull` starts them when no scheme URL is configured), so both sides share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS="${RECORDS:-100000}"
cargo build --release -q -p shramsetu
bin=target/release/shramsetu
# The default per-upstream rate limit (50 requests/s) would be what is measured: lift it.
for s in NCS SIDH MYSCHEME PMSYM PMJAY PMJJBY; do export "SHRAMSETU_SCHEMES__${s}__RATE_LIMIT_RPS=100000"; done
echo "== clean: $RECORDS records per scheme"
"$bin" pull --sim-records "$RECORDS" --page-size 500
echo "== 5% errors, 50 ms latency"
"$bin" pull --sim-records "$RECORDS" --page-size 500 --sim-faults '{"error_rate":0.05,"latency_ms":50}'
