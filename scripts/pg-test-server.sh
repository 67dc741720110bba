#!/usr/bin/env bash
# A throw-away PostgreSQL server on a free loopback port, for the tests (ctest fixture).
#   scripts/pg-test-server.sh start DIR   starts it; writes its URL to DIR/url and prints it
#   scripts/pg-test-server.sh stop DIR    stops it and removes its data
#   scripts/pg-test-server.sh restart DIR restarts it on the same port (tests of reconnection)
#   scripts/pg-test-server.sh halt DIR    stops it, keeping its data (tests of an outage)
#   scripts/pg-test-server.sh resume DIR  starts a halted server again on the same port
# PostgreSQL refuses to run as root: as root, the data folder (under /tmp) belongs to the
# postgres user.
set -euo pipefail
cmd=${1:?usage: $0 start|stop|restart|halt|resume DIR}
dir=${2:?usage: $0 start|stop|restart|halt|resume DIR}

bindir=""
for c in /usr/lib/postgresql/*/bin; do
  if [[ -x "$c/initdb" && -x "$c/pg_ctl" ]]; then bindir=$c; fi
done
[[ -n "$bindir" ]] || { echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

pg_options() { echo "-p $1 -k $2 -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB"; }
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  if [[ -f "$dir/data" ]]; then
    local data; data=$(cat "$dir/data")
    if [[ -d "$data/pg" ]]; then as_pg "$bindir/pg_ctl" -D "$data/pg" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$data"
  fi
  rm -rf "$dir"
}

case "$cmd" in
start)
  stop
  mkdir -p "$dir"
  data=$(mktemp -d /tmp/hailong-pg.XXXXXX)
  echo "$data" > "$dir/data"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$data"
  as_pg "$bindir/initdb" -D "$data/pg" -A trust -U hailong -E UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 \
    || { cat "$data/initdb.log" >&2; exit 1; }
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_taken "$port" && continue
    if as_pg "$bindir/pg_ctl" -D "$data/pg" -w -t 60 \
         -o "$(pg_options "$port" "$data")" -l "$data/server.log" start >/dev/null; then
      echo "$port" > "$dir/port"
      url="postgresql://hailong@127.0.0.1:$port/postgres"
      echo "$url" > "$dir/url"
      echo "$url"
      exit 0
    fi
  done
  cat "$data/server.log" >&2
  exit 1
  ;;
stop) stop ;;
restart)
  data=$(cat "$dir/data")
  as_pg "$bindir/pg_ctl" -D "$data/pg" -m fast -w -t 60 restart >/dev/null
  ;;
halt)
  data=$(cat "$dir/data")
  as_pg "$bindir/pg_ctl" -D "$data/pg" -m fast -w -t 60 stop >/dev/null
  ;;
resume)
  data=$(cat "$dir/data")
  as_pg "$bindir/pg_ctl" -D "$data/pg" -w -t 60 -o "$(pg_options "$(cat "$dir/port")" "$data")" \
    -l "$data/server.log" start >/dev/null
  ;;
*) echo "usage: $0 start|stop|restart|halt|resume DIR" >&2; exit 2 ;;
esac
