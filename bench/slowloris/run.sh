#!/usr/bin/env bash
# The slow-client benchmark: the counter API under wrk (COUNTER_CONNECTIONS keep-alive tablets
# from 127.0.0.1, one rating per request) with no attack, then while bench/slowloris/flood.py
# holds 500 idle connections from 127.0.0.2 and 100 slowloris ones from 127.0.0.3 (reopening
# each the server closes); once with the protections (the defaults: 32 connections per address,
# 10 s to send a request) and once without (max_connections_per_address=0, request_timeout_s=0).
#   bench/slowloris/run.sh BUILD_DIR > result.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
seconds=${SLOWLORIS_SECONDS:-10}
connections=${SLOWLORIS_CONNECTIONS:-16}
idle=${SLOWLORIS_IDLE:-500}
slow=${SLOWLORIS_SLOW:-100}
work="$build/slowloris-bench"
token=bench-token

. "$here/../ports.sh"
load() {  # URL TOKENS → one JSON line
  DELAY_MS=0 TOKENS=$2 wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s \
    -s "$here/../counter/ratings.lua" "$1" | grep '^{'
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# One serving host with a counter and $connections paired tablets; prints
# {"protected": bool, "quiet": wrk, "flooded": wrk, "flood": flood.py}.
measure() {  # NAME EXTRA_SETTINGS...
  local name=$1; shift
  rm -rf "$work/$name"; mkdir -p "$work/$name"
  local port; port=$(free_port)
  "$build/bin/hailong" serve --db "sqlite:$work/$name/hl.db" --host 127.0.0.1 --port "$port" \
    --set api.token=$token --set paths.data="$work/$name" --set plugins.enabled=counter \
    --set http.log_requests=false --set plugin.counter.max_per_minute=1000000000 "$@" \
    > "$work/$name/hailong.log" 2>&1 &
  local server=$!
  pids+=($server)
  wait_port "$port"
  local base="http://127.0.0.1:$port"
  api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
  api -d '{"code":"B","name":"UBND xã Bình","kind":"commune"}' "$base/api/v1/agencies" >/dev/null
  api -d '{"code":"B-Q1","name":"Quầy 1","agency":"B"}' "$base/api/v1/counters" >/dev/null
  local tokens="" i code t
  for i in $(seq 1 "$connections"); do
    api -d "{\"code\":\"T$i\",\"name\":\"Máy $i\",\"counter\":\"B-Q1\"}" "$base/api/v1/devices" >/dev/null
    code=$(api -X POST "$base/api/v1/devices/T$i/pairing" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pairing_code"])')
    t=$(curl -sf -H 'Content-Type: application/json' -d "{\"code\":\"$code\"}" "$base/c/counter/pair" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    tokens="$tokens${tokens:+,}$t"
  done
  local quiet; quiet=$(load "$base/c/counter/api/v1/ratings" "$tokens")
  python3 "$here/flood.py" "$port" "$idle" "$slow" > "$work/$name/flood.json" &
  local flood=$!
  sleep 3  # the flood is in place
  local flooded; flooded=$(load "$base/c/counter/api/v1/ratings" "$tokens")
  kill -TERM "$flood"; wait "$flood" || true
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "{\"name\":\"$name\",\"quiet\":$quiet,\"flooded\":$flooded,\"flood\":$(cat "$work/$name/flood.json")}"
}

on=$(measure protected)
off=$(measure unprotected --set http.max_connections_per_address=0 --set http.request_timeout_s=0)
python3 - "$on" "$off" "$connections" "$idle" "$slow" "$seconds" <<'PY'
import json, sys
on, off = json.loads(sys.argv[1]), json.loads(sys.argv[2])
connections, idle, slow, seconds = map(int, sys.argv[3:7])
def ratio(run, key):
    q, f = run["quiet"], run["flooded"]
    return {"rate": f["rate"] / q["rate"] if q["rate"] else None,
            "p50": f["latency_ms"]["p50"] / q["latency_ms"]["p50"] if q["latency_ms"]["p50"] else None,
            "p99": f["latency_ms"]["p99"] / q["latency_ms"]["p99"] if q["latency_ms"]["p99"] else None}
print(json.dumps({"connections": connections, "idle": idle, "slow": slow, "seconds": seconds,
                  "protected": on, "unprotected": off,
                  "protected_ratio": ratio(on, ""), "unprotected_ratio": ratio(off, "")}))
PY
