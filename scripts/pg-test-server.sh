#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL 15 server on a free loopback port, for the tests.
#   scripts/pg-test-server.sh start DIR   -> prints the libpq URL and writes it to DIR/url
#   scripts/pg-test-server.sh stop DIR
# PostgreSQL refuses to run as root, so as root the data folder belongs to the postgres user.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?folder}
bindir=""
for c in "$(command -v pg_config >/dev/null 2>&1 && pg_config --bindir || true)" /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  if [[ -n "$c" && -x "$c/initdb" && -x "$c/pg_ctl" ]]; then bindir=$c; break; fi
done
[[ -n "$bindir" ]] || { echo "pg-test-server: PostgreSQL server binaries not found (install postgresql-15)" >&2; exit 1; }

as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  if [[ -f "$dir/url" ]] && as_pg "$bindir/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then cat "$dir/url"; exit 0; fi
  rm -rf "$dir"; mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  as_pg "$bindir/initdb" -D "$dir/pg" -A trust -U hailong -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bindir/pg_ctl" -D "$dir/pg" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
    -l "$dir/server.log" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  url="postgresql://hailong@127.0.0.1:$port/postgres"
  echo "$url" | as_pg tee "$dir/url" >/dev/null
  echo "$url"
  ;;
stop)
  if [[ -d "$dir/pg" ]]; then as_pg "$bindir/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
