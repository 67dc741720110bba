#!/usr/bin/env bash
# Several hailong hosts on one PostgreSQL behind nginx, all on this machine's loopback: the
# shape of a national deployment, to try it or to measure it. Builds hailong (Release), starts
# a PostgreSQL server of its own, starts the hosts together (they migrate the new database
# together: the first takes the lock, the others wait), and nginx in front of them.
#   scripts/cluster.sh [--hosts N] [--port P] [--demo]
#     --hosts N  hailong hosts (default 3), each on a free loopback port
#     --port P   nginx's port, the one address to use (default 8080)
#     --demo     load the demo province first
# Everything lives under build/cluster (CLUSTER_DIR) and stops with Ctrl+C; the database goes
# with it. Not a production setup: see README, "Deployment", for that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
hosts=3 port=8080 demo=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --hosts) hosts=${2:?--hosts needs a number}; shift 2 ;;
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --demo) demo=1; shift ;;
    *) echo "usage: $0 [--hosts N] [--port P] [--demo]" >&2; exit 2 ;;
  esac
done
[[ "$hosts" =~ ^[1-9][0-9]?$ ]] || { echo "cluster: --hosts must be 1 to 99, not \"$hosts\"" >&2; exit 2; }
[[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] ||
  { echo "cluster: --port must be 1 to 65535, not \"$port\"" >&2; exit 2; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "cluster: port $port is taken; choose another with --port" >&2
  exit 1
fi

scripts/deps.sh cluster
build=${HAILONG_BUILD:-build/release}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAILONG_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j2
hailong=$(cd "$build/bin" && pwd)/hailong

dir=${CLUSTER_DIR:-build/cluster}
rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pids=()
stop() {
  trap - EXIT INT TERM
  echo
  echo "cluster: stopping"
  [[ -f "$dir/nginx/nginx.pid" ]] && kill "$(cat "$dir/nginx/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg-test-server.sh stop "$dir/pg" || true
}
trap stop EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

db=$(scripts/pg-test-server.sh start "$dir/pg")
echo "cluster: PostgreSQL at $db"
# What every host must share: the API token (the phone key and the link key live in the database).
token=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
echo "$token" > "$dir/api-token"
chmod 600 "$dir/api-token"
if [[ $demo == 1 ]]; then
  echo "cluster: loading the demo province"
  "$hailong" demo --db "$db" --set paths.data="$dir" >/dev/null
fi

upstream="" ports=()
for i in $(seq 1 "$hosts"); do
  hport=$(free_port)
  ports+=("$hport")
  mkdir -p "$dir/host$i"
  "$hailong" serve --db "$db" --host 127.0.0.1 --port "$hport" --set api.token="$token" \
    --set paths.data="$dir/host$i" --set http.trust_proxy=true \
    --set links.base_url="http://127.0.0.1:$port" > "$dir/host$i/hailong.log" 2>&1 &
  pids+=($!)
  upstream+="    server 127.0.0.1:$hport max_fails=1 fail_timeout=5s;"$'\n'
  echo "cluster: host $i on 127.0.0.1:$hport (log: $dir/host$i/hailong.log)"
done
for i in "${!ports[@]}"; do
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:${ports[$i]}/api/v1/health" && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$dir/host$((i + 1))/hailong.log" >&2; exit 1; }
    sleep 0.1
  done
done

# nginx: round robin over the hosts; the client's address passed on (the hosts trust it);
# a host that fails is skipped for 5 s. Its files stay under $dir/nginx.
mkdir -p "$dir/nginx"
user=""
[[ $(id -u) -eq 0 ]] && user="user root;"
cat > "$dir/nginx/nginx.conf" <<EOF
$user
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  client_max_body_size 32m;
  client_header_timeout 10s;
  upstream hailong {
$upstream    keepalive 32;
  }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://hailong;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
    }
  }
}
EOF
nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx"

password=$(grep -ho 'admin, [^:]*: [A-Z0-9]\{16\}' "$dir"/host*/hailong.log | head -1 | awk '{print $NF}')
echo
echo "hailong cluster: http://127.0.0.1:$port/ ($hosts hosts on one PostgreSQL, nginx in front)"
echo "  console: http://127.0.0.1:$port/console/  user admin, one-time password ${password:-(see the host logs)}"
echo "  API token for writes: $dir/api-token"
echo "  stop with Ctrl+C"
wait "${pids[@]}"
