#!/usr/bin/env bash
# Runs the benchmarks side by side with their anchors (Release build), stores the results in
# bench/results/ and rewrites the table in bench/README.md from them (the newest result of
# each benchmark). Arguments choose benchmarks: bench/run.sh counter (default: text index dashboard
# counter export slowloris memory sms). The machine (cores, memory, CPU, load) is recorded beside
# the results of each run, in bench/results/machine-STAMP.json.
set -euo pipefail
parts=" ${*:-text index index1m dashboard counter export slowloris memory sms} "
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh bench
build=build/bench
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHAILONG_TESTS=OFF "${launcher[@]}" >/dev/null
stamp=$(date -u +%Y%m%dT%H%M%SZ)
# The machine this run measures on, and how busy other work kept its cores during each part:
# the cores' busy time (/proc/stat) less the CPU time of this script's children (bash's `times`).
machine() {  # PART before|after
  times > "$build/times.txt"  # in this shell: a subshell's `times` would not count its children
  python3 - "bench/results/machine-$stamp.json" "$1" "$2" "$parts" "$(tail -1 "$build/times.txt")" <<'EOF'
import json, os, platform, sys, time
path, part, when, parts, children = sys.argv[1:]
try:
    m = json.load(open(path))
except FileNotFoundError:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
    m = {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem / 2**20, 1),
         "kernel": platform.release(), "parts": parts.split(), "load": {}}
hz = os.sysconf("SC_CLK_TCK")
ticks = [int(x) for x in open("/proc/stat").readline().split()[1:]]
busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / hz  # all but idle and iowait
mins = lambda t: int(t.split("m")[0]) * 60 + float(t.split("m")[1].rstrip("s"))
ours = sum(mins(t) for t in children.split())
m["load"].setdefault(part, {})[when] = {"time": time.time(), "busy_s": busy, "ours_s": ours,
                                        "loadavg": float(open("/proc/loadavg").read().split()[0])}
p = m["load"][part]
if "before" in p and "after" in p:
    wall = p["after"]["time"] - p["before"]["time"]
    others = (p["after"]["busy_s"] - p["before"]["busy_s"]) - (p["after"]["ours_s"] - p["before"]["ours_s"])
    p["wall_s"] = round(wall, 1)
    p["others_share"] = round(max(0.0, others) / (wall * m["cores"]), 3)
json.dump(m, open(path, "w"))
EOF
}
if [[ "$parts" == *" text "* ]]; then
  cmake --build "$build" -j2 --target bench_text
  machine text before
  "$build/bin/bench_text" "$root" 5 > "bench/results/text-$stamp.json"
  machine text after
fi
# The index benchmark stores INDEX_RESPONSES responses (default 10 million: about 30 minutes
# the first time; the database is kept in build/bench for later runs).
if [[ "$parts" == *" index "* ]]; then
  cmake --build "$build" -j2 --target bench_index
  machine index before
  "$build/bin/bench_index" "$root" "${INDEX_RESPONSES:-10000000}" "$build/index-bench.db" \
    > "bench/results/index-$stamp.json"
  machine index after
fi
# The same at 1 million responses, in a database of its own (about 5 minutes the first time):
# bench/run.sh index1m.
if [[ "$parts" == *" index1m "* ]]; then
  cmake --build "$build" -j2 --target bench_index
  machine index1m before
  "$build/bin/bench_index" "$root" 1000000 "$build/index-bench-1m.db" \
    > "bench/results/index-$stamp-1m.json"
  machine index1m after
fi
# The dashboard's pages on the demo and on the index benchmark's database (run "index" first:
# bench_dashboard reads the database it keeps).
if [[ "$parts" == *" dashboard "* ]]; then
  cmake --build "$build" -j2 --target bench_dashboard
  machine dashboard before
  "$build/bin/bench_dashboard" "$root" "$build/index-bench.db" "$build/dashboard" \
    > "bench/results/dashboard-$stamp.json"
  machine dashboard after
fi
# Exports of a million sipas-2017 responses, beside sqlite3's own CSV (EXPORT_RESPONSES; the
# database is kept in build/bench; about 10 minutes).
if [[ "$parts" == *" export "* ]]; then
  cmake --build "$build" -j2 --target bench_export hailong
  machine export before
  "$build/bin/bench_export" "$root" "${EXPORT_RESPONSES:-1000000}" "$build/export-bench.db" \
    "$build/bin/hailong" > "bench/results/export-$stamp.json"
  machine export after
fi
# The counter channel under wrk, beside a bare Poco handler and nginx, with the resident memory of
# each (about 3 minutes).
if [[ "$parts" == *" counter "* ]]; then
  cmake --build "$build" -j2 --target hailong counter bare_http
  machine counter before
  bench/counter/run.sh "$build" > "bench/results/counter-$stamp.json"
  machine counter after
fi
# The counter API with and without 500 idle + 100 slowloris connections, with and without the
# HTTP protections (about 1 minute).
if [[ "$parts" == *" slowloris "* ]]; then
  cmake --build "$build" -j2 --target hailong counter
  machine slowloris before
  bench/slowloris/run.sh "$build" > "bench/results/slowloris-$stamp.json"
  machine slowloris after
fi
# Resident memory of hailong idle, on an empty database and on the index benchmark's 10 million
# responses (run "index" first), beside the anchors idle (about 1 minute; under load: "counter").
if [[ "$parts" == *" memory "* ]]; then
  cmake --build "$build" -j2 --target hailong counter sms webform bare_http
  machine memory before
  bench/memory/run.sh "$build" > "bench/results/memory-$stamp.json"
  machine memory after
fi
# Rating replies through Kannel and fakesmsc into hailong's sms plugin, beside the same Kannel to
# nginx (about 1 minute).
if [[ "$parts" == *" sms "* ]]; then
  cmake --build "$build" -j2 --target hailong sms
  machine sms before
  bench/sms/run.sh "$build" > "bench/results/sms-$stamp.json"
  machine sms after
fi
python3 bench/report.py
cat bench/README.md
