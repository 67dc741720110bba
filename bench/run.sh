#!/usr/bin/env bash
# Runs the benchmarks side by side with their anchors (Release build), stores the results in
# bench/results/ and rewrites the table in bench/README.md from them (the newest result of
# each benchmark). Arguments choose benchmarks: bench/run.sh counter (default: text index dashboard
# counter export slowloris).
set -euo pipefail
parts=" ${*:-text index dashboard counter export slowloris} "
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh bench
build=build/bench
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAILONG_TESTS=OFF "${launcher[@]}" >/dev/null
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [[ "$parts" == *" text "* ]]; then
  cmake --build "$build" -j2 --target bench_text
  "$build/bin/bench_text" "$root" 5 > "bench/results/text-$stamp.json"
fi
# The index benchmark stores INDEX_RESPONSES responses (default 10 million: about 30 minutes
# the first time; the database is kept in build/bench for later runs).
if [[ "$parts" == *" index "* ]]; then
  cmake --build "$build" -j2 --target bench_index
  "$build/bin/bench_index" "$root" "${INDEX_RESPONSES:-10000000}" "$build/index-bench.db" \
    > "bench/results/index-$stamp.json"
fi
# The dashboard's pages on the demo and on the index benchmark's database (run "index" first:
# bench_dashboard reads the database it keeps).
if [[ "$parts" == *" dashboard "* ]]; then
  cmake --build "$build" -j2 --target bench_dashboard
  "$build/bin/bench_dashboard" "$root" "$build/index-bench.db" "$build/dashboard" \
    > "bench/results/dashboard-$stamp.json"
fi
# Exports of a million sipas-2017 responses, beside sqlite3's own CSV (EXPORT_RESPONSES; the
# database is kept in build/bench; about 10 minutes).
if [[ "$parts" == *" export "* ]]; then
  cmake --build "$build" -j2 --target bench_export hailong
  "$build/bin/bench_export" "$root" "${EXPORT_RESPONSES:-1000000}" "$build/export-bench.db" \
    "$build/bin/hailong" > "bench/results/export-$stamp.json"
fi
# The counter channel under wrk, beside a bare Poco handler (about 2 minutes).
if [[ "$parts" == *" counter "* ]]; then
  cmake --build "$build" -j2 --target hailong counter bare_http
  bench/counter/run.sh "$build" > "bench/results/counter-$stamp.json"
fi
# The counter API with and without 500 idle + 100 slowloris connections, with and without the
# HTTP protections (about 1 minute).
if [[ "$parts" == *" slowloris "* ]]; then
  cmake --build "$build" -j2 --target hailong counter
  bench/slowloris/run.sh "$build" > "bench/results/slowloris-$stamp.json"
fi
python3 bench/report.py
cat bench/README.md
