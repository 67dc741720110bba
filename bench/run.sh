#!/usr/bin/env bash
# Runs the benchmarks side by side with their anchors (Release build), stores the results in
# bench/results/ and rewrites the table in bench/README.md from them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh build
[[ -f /usr/share/hunspell/vi_VN.dic ]] || scripts/deps.sh test
build=build/bench
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAILONG_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 --target bench_text
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/text-$stamp.json
"$build/bin/bench_text" "$root" 5 > "$out"
# The index benchmark stores INDEX_RESPONSES responses (default 10 million: about 30 minutes
# the first time; the database is kept in build/bench for later runs).
cmake --build "$build" -j2 --target bench_index
"$build/bin/bench_index" "$root" "${INDEX_RESPONSES:-10000000}" "$build/index-bench.db" \
  > "bench/results/index-$stamp.json"
python3 bench/report.py
cat bench/README.md
