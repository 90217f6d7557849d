#!/usr/bin/env bash
# The HTTP API under load (BENCHMARKS.md, "HTTP API"): wrk against GET /api/v1/runs/{id} of a
# running run, paced to about 2,000 requests/s and flat out, beside two anchors measured the same
# way (the same server's /health/live, and a static file from `python3 -m http.server`); then 200
# server-sent-event clients (curl) on one running run: every event to every client, and the
# server's memory per client from /proc/PID/status.
#
#   bench/api_bench.sh [FERRY_BINARY]      (default build/release/src/cli/ferry)
#
# Needs wrk, curl, python3. Everything runs on 127.0.0.1 in a scratch directory.
set -euo pipefail

FERRY=${1:-build/release/src/cli/ferry}
FERRY=$(realpath "$FERRY")
DURATION=${DURATION:-15s}
CLIENTS=${CLIENTS:-200}
# Paced connections, each waiting 10 ms after every answer: 24 of them come to about 2,000
# requests/s on loopback (wrk2, which holds a rate, is not in Debian).
PACED=${PACED:-24}
WORK=$(mktemp -d /tmp/ferry-api-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

STORE="sqlite://$WORK/ferry.db"
KEY=$("$FERRY" --store "$STORE" --log-level error --json api-key create bench --role admin | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
"$FERRY" --store "$STORE" --log-level warn serve --listen "127.0.0.1:$PORT" --workers 1 \
  --rate 0 --threads 512 --work-dir "$WORK/runs" > serve.out 2> serve.err &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do curl -sf "$URL/health/ready" > /dev/null && break; sleep 0.1; done

AUTH="Authorization: Bearer $KEY"
# A run that stays running: one task sleeping for longer than the benchmark.
RUN=$(curl -sf -H "$AUTH" -H 'Content-Type: application/yaml' --data-binary @- "$URL/api/v1/runs" <<'YAML' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
run: bench
phases:
  - name: work
    tasks:
      - {id: wait, type: command, with: {run: "sleep 600"}}
YAML
)
for _ in $(seq 100); do
  state=$(curl -sf -H "$AUTH" "$URL/api/v1/runs/$RUN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["state"])')
  [ "$state" = running ] && break
  sleep 0.1
done
echo "run $RUN: task $state"

# wrk's Lua: the bearer header, and a fixed delay per connection to pace the rate.
cat > paced.lua <<LUA
wrk.headers["Authorization"] = "Bearer $KEY"
function delay() return tonumber(os.getenv("DELAY_MS") or "0") end
LUA

measure() {  # name url connections delay_ms
  echo "== $1: $2, $3 connections, ${4} ms between requests per connection"
  DELAY_MS=$4 wrk -t2 -c"$3" -d"$DURATION" --latency -s paced.lua "$2" | \
    grep -E 'Requests/sec|Latency  |  50%|  75%|  90%|  99%|Non-2xx|Socket errors'
}
# About 2,000 requests/s: 20 connections, each waiting 10 ms after each answer.
measure "run status, paced" "$URL/api/v1/runs/$RUN" "$PACED" 10
measure "health/live, paced (anchor)" "$URL/health/live" "$PACED" 10
measure "run status, flat out" "$URL/api/v1/runs/$RUN" 16 0
measure "health/live, flat out (anchor)" "$URL/health/live" 16 0
mkdir static && head -c 2000 /dev/urandom | base64 > static/run.json
PYPORT=$(free_port)
(cd static && exec python3 -m http.server "$PYPORT" --bind 127.0.0.1 > /dev/null 2>&1) &
PIDS+=("$!")
sleep 1
measure "python3 -m http.server static file, paced (anchor)" "http://127.0.0.1:$PYPORT/run.json" "$PACED" 10

# Server-sent events: CLIENTS streams on the running run.
RSS_BEFORE=$(rss_kib "$SERVER")
for i in $(seq "$CLIENTS"); do
  curl -sN -H "$AUTH" -H 'Accept: text/event-stream' "$URL/api/v1/runs/$RUN/events" > "sse.$i" &
  PIDS+=("$!")
done
sleep 3
RSS_OPEN=$(rss_kib "$SERVER")
# Each pause and resume is an event of the run.
for _ in $(seq 25); do
  curl -sf -o /dev/null -H "$AUTH" -X POST "$URL/api/v1/runs/$RUN/pause"
  curl -sf -o /dev/null -H "$AUTH" -X POST "$URL/api/v1/runs/$RUN/resume"
done
sleep 2
RSS_AFTER=$(rss_kib "$SERVER")
WANT=$(curl -sf -H "$AUTH" "$URL/api/v1/runs/$RUN/events?limit=10000" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
complete=0
for i in $(seq "$CLIENTS"); do
  got=$(grep -c '^id: ' "sse.$i" || true)
  [ "$got" = "$WANT" ] && complete=$((complete + 1))
done
echo "== $CLIENTS SSE clients: $complete received all $WANT events of the run"
echo "   server RSS: $RSS_BEFORE KiB before, $RSS_OPEN KiB with the streams open, $RSS_AFTER KiB after the events"
echo "   per client: $(( (RSS_OPEN - RSS_BEFORE) / CLIENTS )) KiB"
curl -sf -H "$AUTH" "$URL/metrics" | grep -E '^ferry_event_stream_clients|^process' || true
