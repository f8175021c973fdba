#!/usr/bin/env bash
# Property-based API tests with schemathesis against openapi/openapi.json: the running gateway (its
# own cluster, demo data, loopback) must give no server error and no response that breaks the
# document. Bounded in time. Usage: .ci/schemathesis.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-180}
ST_VERSION=4.32.5
VENV=${ST_VENV:-target/schemathesis-venv}
if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$VENV" 2>/dev/null || {
    # Debian's own python3 keeps venv in a separate package.
    apt-get install -y -qq python3-venv >/dev/null 2>&1 || sudo apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
  "$VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi
cargo build -q -p shramsetu
BIN=target/debug/shramsetu
WORK=$(mktemp -d /tmp/shramsetu-st.XXXXXX)
chmod 755 "$WORK"
export SHRAMSETU_DATABASE__EMBEDDED_DIR=$WORK/pg SHRAMSETU_AUTH__KEYS_DIR=$WORK/keys
export SHRAMSETU_AUDIT__CHECKPOINT_FILE=$WORK/checkpoints.jsonl SHRAMSETU_SERVER__BIND=127.0.0.1:18181
export SHRAMSETU_LOG__LEVEL=warn SHRAMSETU_RATE_LIMIT_RPS=100000 SHRAMSETU_LIMITS__RATE_LIMIT_BURST=100000
unset DATABASE_URL
"$BIN" serve --demo >"$WORK/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 240); do curl -sf http://127.0.0.1:18181/readyz >/dev/null && break; sleep 0.5; done
TOKEN=$("$BIN" token --client-id schemathesis --scopes "workers:read workers:write workers:verify workers:match schemes:read schemes:enrol schemes:sync reviews:read reviews:write audit:read" --ttl-secs 3600)
# One worker: with two, schemathesis's threads parse lambdas' source concurrently and CPython 3.11
# before 3.11.8 fails at random with "AST constructor recursion depth mismatch" (CPython gh-106905),
# which CI once saw on GET /v1/workers/{uan}.
"$VENV/bin/st" run openapi/openapi.json --url http://127.0.0.1:18181 \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-time "$BUDGET" --max-examples 40 --seed 20261123 --workers 1 --request-timeout 10 \
  --report-dir "$WORK/report"
# Errors the gateway logged itself (actix logs unparseable requests, which it answers 400, at
# ERROR from its HTTP dispatcher: those are the client's errors, not ours).
if grep '"level":"ERROR"' "$WORK/serve.log" | grep -v '"target":"actix_http::h1::dispatcher"' | grep -q .; then
  echo "The gateway logged errors during the run:" >&2
  grep '"level":"ERROR"' "$WORK/serve.log" | head -20 >&2
  exit 1
fi
