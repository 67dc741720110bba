#!/usr/bin/env bash
# The counter benchmark: POST ratings from many paired devices with wrk, against the same wrk
# load on two anchors, in the same run, alternately: a bare Poco HTTPServer handler that answers a
# constant (bench/bare_http.cpp), and nginx `return 201 '{}'` (the ceiling on this machine). Then
# hailong at half its measured rate, for the latency. Each server's resident memory (VmRSS now,
# VmHWM its peak; nginx summed over its processes) is read after its full-rate runs.
#   bench/counter/run.sh BUILD_DIR > result.json
# hailong runs on SQLite (synchronous=FULL: acknowledged means on disk) in BUILD_DIR, with the
# per-device rate limit lifted (a benchmark floods each device far beyond what people tap).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
runs=${COUNTER_RUNS:-3}
seconds=${COUNTER_SECONDS:-10}
connections=${COUNTER_CONNECTIONS:-64}
devices=${COUNTER_DEVICES:-64}
work="$build/counter-bench"
rm -rf "$work"
mkdir -p "$work"
token=bench-token

. "$here/../ports.sh"
load() {  # URL DELAY_MS TOKENS → one JSON line
  DELAY_MS=$2 TOKENS=$3 wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s -s "$here/ratings.lua" "$1" \
    | grep '^{'
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# hailong with a counter and $devices paired tablets (all from 127.0.0.1 here, where a hall's
# tablets have their own addresses: no per-address limit).
hport=$(free_port)
"$build/bin/hailong" serve --db "sqlite:$work/hl.db" --host 127.0.0.1 --port "$hport" \
  --set api.token=$token --set paths.data="$work" --set plugins.enabled=counter \
  --set http.log_requests=false --set plugin.counter.max_per_minute=1000000000 \
  --set http.max_connections_per_address=0 \
  > "$work/hailong.log" 2>&1 &
hpid=$!
pids+=($hpid)
wait_port "$hport"
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
base="http://127.0.0.1:$hport"
api -d '{"code":"B","name":"UBND xã Bình","kind":"commune"}' "$base/api/v1/agencies" >/dev/null
api -d '{"code":"B-Q1","name":"Quầy 1","agency":"B"}' "$base/api/v1/counters" >/dev/null
tokens=""
for i in $(seq 1 "$devices"); do
  api -d "{\"code\":\"T$i\",\"name\":\"Máy $i\",\"counter\":\"B-Q1\"}" "$base/api/v1/devices" >/dev/null
  code=$(api -X POST "$base/api/v1/devices/T$i/pairing" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pairing_code"])')
  t=$(curl -sf -H 'Content-Type: application/json' -d "{\"code\":\"$code\"}" "$base/c/counter/pair" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  tokens="$tokens${tokens:+,}$t"
done

bport=$(free_port)
"$build/bin/bare_http" "$bport" 128 > "$work/bare.log" 2>&1 &
bpid=$!
pids+=($bpid)
wait_port "$bport"

# nginx answering every request with a constant (the request body read and dropped), as many
# workers as cores; no access log.
nport=$(free_port)
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 201 '{}'; }
  }
}
CONF
nginx -e "$work/nginx-error.log" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' > "$work/nginx.log" 2>&1 &
npid=$!
pids+=($npid)
wait_port "$nport"
rss() { python3 "$here/../memory/rss.py" "$@"; }
hidle=$(rss "$hpid") bidle=$(rss "$bpid") nidle=$(rss --children "$npid")

bare=() full=() ngx=()
for r in $(seq 1 "$runs"); do
  bare+=("$(load "http://127.0.0.1:$bport/c/counter/api/v1/ratings" 0 "")")
  full+=("$(load "$base/c/counter/api/v1/ratings" 0 "$tokens")")
  ngx+=("$(load "http://127.0.0.1:$nport/c/counter/api/v1/ratings" 0 "")")
done
hload=$(rss "$hpid") bload=$(rss "$bpid") nload=$(rss --children "$npid")
# Every acknowledged rating is in the database.
stored=$(api "$base/api/v1/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["responses"])')

# Half of hailong's median rate: each connection pauses between requests. A connection's
# period is its pause plus the latency, so a short first run measures the latency at about
# that rate and the second pause makes up the difference.
median_rate=$(printf '%s\n' "${full[@]}" | python3 -c 'import json,sys; r=sorted(json.loads(l)["rate"] for l in sys.stdin); print(r[len(r)//2])')
period=$(python3 -c "print(1000 * $connections / ($median_rate / 2))")
trial=$(seconds=3 load "$base/c/counter/api/v1/ratings" "$(python3 -c "print(int($period))")" "$tokens")
delay=$(python3 -c "import json; t=json.loads('$trial'); print(max(0, int(round($period - ($connections * 1000 / t['rate'] - int($period)) ))))")
half=$(load "$base/c/counter/api/v1/ratings" "$delay" "$tokens")
stored_after=$(api "$base/api/v1/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["responses"])')

python3 - "$stored" "$stored_after" "$delay" "$connections" "$devices" "$seconds" "$(nproc)" \
  "${#bare[@]}" "${bare[@]}" "${full[@]}" "${ngx[@]}" "$half" \
  "$hidle" "$hload" "$bidle" "$bload" "$nidle" "$nload" "$(nginx -v 2>&1)" <<'EOF'
import json, sys
stored, stored_after, delay, connections, devices, seconds, cores, n = map(int, sys.argv[1:9])
rest = [json.loads(x) for x in sys.argv[9:9 + 3 * n + 7]]
bare, full, ngx, half = rest[:n], rest[n:2 * n], rest[2 * n:3 * n], rest[3 * n]
hidle, hload, bidle, bload, nidle, nload = rest[3 * n + 1:]
median = lambda xs: sorted(xs)[len(xs) // 2]
acked = sum(r["requests"] - r["non_2xx"] for r in full)
rate = lambda runs: median([r["rate"] for r in runs])
print(json.dumps({
    "connections": connections, "devices": devices, "seconds": seconds, "cores": cores,
    "half_target_rate": median([r["rate"] for r in full]) / 2,
    "bare": bare, "hailong": full, "nginx": ngx, "half": half, "half_delay_ms": delay,
    "bare_rate": rate(bare), "hailong_rate": rate(full), "nginx_rate": rate(ngx),
    "ratio": rate(full) / rate(bare), "nginx_ratio": rate(full) / rate(ngx),
    "nginx_version": sys.argv[-1].split("/")[-1],
    "memory": {"hailong": {"idle": hidle, "load": hload}, "bare": {"idle": bidle, "load": bload},
               "nginx": {"idle": nidle, "load": nload}},
    "acknowledged": acked, "stored": stored,
    "half_acknowledged": half["requests"] - half["non_2xx"], "stored_after_half": stored_after,
}))
EOF
