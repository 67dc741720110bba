#!/usr/bin/env bash
# The memory benchmark: resident memory of `hailong serve` (VmRSS now, VmHWM its peak, from
# /proc/PID/status) idle after start on an empty SQLite database (MEMORY_RUNS starts, default 3),
# beside the bare Poco handler (bench/bare_http.cpp) and nginx (its processes summed) idle; then
# started on the index benchmark's database (build/bench/index-bench.db, 10 million responses, kept
# by `bench/run.sh index`; skipped when missing), idle and after index and dashboard queries over
# the API. The same servers under the counter load are measured by bench/counter/run.sh.
#   bench/memory/run.sh BUILD_DIR > result.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
runs=${MEMORY_RUNS:-3}
settle=${MEMORY_SETTLE_S:-3}
bigdb=${MEMORY_INDEX_DB:-$build/index-bench.db}
work="$build/memory-bench"
rm -rf "$work"
mkdir -p "$work"
token=bench-token

. "$here/../ports.sh"
rss() { python3 "$here/rss.py" "$@"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# hailong idle on an empty database, with the default plugins: a fresh database each start.
empty=()
for r in $(seq 1 "$runs"); do
  rm -rf "$work/empty"
  mkdir -p "$work/empty"
  port=$(free_port)
  "$build/bin/hailong" serve --db "sqlite:$work/empty/hl.db" --host 127.0.0.1 --port "$port" \
    --set api.token=$token --set paths.data="$work/empty" > "$work/empty-$r.log" 2>&1 &
  pid=$!
  pids+=($pid)
  wait_port "$port"
  sleep "$settle"
  empty+=("$(rss "$pid")")
  stop "$pid"
done

# The anchors idle: the bare Poco handler (128 threads, as in the counter benchmark) and nginx.
port=$(free_port)
"$build/bin/bare_http" "$port" 128 > "$work/bare.log" 2>&1 &
pid=$!
pids+=($pid)
wait_port "$port"
sleep "$settle"
bare=$(rss "$pid")
stop "$pid"
port=$(free_port)
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 201 '{}'; }
  }
}
CONF
nginx -e "$work/nginx-error.log" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' > "$work/nginx.log" 2>&1 &
pid=$!
pids+=($pid)
wait_port "$port"
sleep "$settle"
ngx=$(rss --children "$pid")
stop "$pid"

# hailong on the 10 million responses: idle, then after the queries (each 3 times).
big=null big_start=null big_queries=null big_responses=null
queries=(
  "/api/v1/indices?survey=sipas-2017&by=agency&from=2026-01-01&to=2026-12-31"
  "/api/v1/indices?survey=sipas-2017&by=agency&period=month&from=2026-01-01&to=2026-12-31"
  "/api/v1/indices?survey=sipas-2017&by=officer&from=2026-10-01&to=2026-10-31"
  "/api/v1/indices?survey=sipas-2017&by=procedure&period=month&from=2026-07-01&to=2026-09-30"
  "/api/v1/dashboard?survey=sipas-2017&from=2026-10-01&to=2026-10-31"
  "/api/v1/dashboard?survey=sipas-2017&agency=D7&from=2026-10-01&to=2026-10-31"
)
if [[ -f "$bigdb" ]]; then
  port=$(free_port)
  started=$(date +%s.%N)
  "$build/bin/hailong" serve --db "sqlite:$bigdb" --host 127.0.0.1 --port "$port" \
    --set api.token=$token --set paths.data="$work" --set http.log_requests=false \
    > "$work/big.log" 2>&1 &
  pid=$!
  pids+=($pid)
  for _ in $(seq 1 1200); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  wait_port "$port"
  big_start=$(python3 -c "import time; print(round(time.time() - $started, 1))")
  sleep "$settle"
  idle=$(rss "$pid")
  big_responses=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/summary" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["responses"])')
  statuses=()
  qstart=$(date +%s.%N)
  for q in "${queries[@]}"; do
    for _ in 1 2 3; do
      statuses+=("$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port$q")")
    done
  done
  big_queries=$(python3 -c "import time; print(round(time.time() - $qstart, 1))")
  queried=$(rss "$pid")
  sleep 12  # the host gives freed memory back to the system every 10 s
  later=$(rss "$pid")
  stop "$pid"
  big="{\"idle\":$idle,\"queried\":$queried,\"later\":$later,\"statuses\":\"${statuses[*]}\"}"
else
  echo "$bigdb does not exist (bench/run.sh index makes it): the 10-million row is skipped" >&2
fi

python3 - "$runs" "$settle" "$bigdb" "$bare" "$ngx" "$big" "$big_start" "$big_queries" \
  "$big_responses" "$(printf '%s\n' "${queries[@]}")" "${empty[@]}" <<'EOF'
import json, statistics, sys
runs, settle, bigdb = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
bare, ngx, big = (json.loads(x) for x in sys.argv[4:7])
big_start, big_queries, big_responses = (json.loads(x) for x in sys.argv[7:10])
queries = sys.argv[10].split("\n")
empty = [json.loads(x) for x in sys.argv[11:]]
stats = lambda xs: {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}
if big:
    big["statuses"] = big["statuses"].split()
print(json.dumps({
    "runs": runs, "settle_s": settle, "empty": empty,
    "empty_rss_mb": stats([e["rss_mb"] for e in empty]),
    "empty_hwm_mb": stats([e["hwm_mb"] for e in empty]),
    "bare_idle": bare, "nginx_idle": ngx,
    "index_db": bigdb, "index_data": big, "index_responses": big_responses,
    "index_start_s": big_start, "index_queries_s": big_queries, "queries": queries,
}))
EOF
