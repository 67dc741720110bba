#!/usr/bin/env bash
# Builds hailong (Release), migrates, loads the demo into an empty database and serves it on
# http://localhost:8080 with SQLite (data/hailong.db). Extra arguments go to `hailong serve`,
# e.g. scripts/run.sh --port 9090 or scripts/run.sh --db postgresql://user@host/db
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh build
build=build/release
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAILONG_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j2
echo
echo "hailong: http://localhost:8080/ (health: http://localhost:8080/api/v1/health)"
echo "         the API token for writes is in the data folder, data/api-token by default; stop with Ctrl+C"
exec "$build/bin/hailong" serve --set demo.on_empty=true "$@"
