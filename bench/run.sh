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
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mem=$(free -g | awk '/Mem:/ {print $2 " GiB"}')
python3 - "$out" "$cpu" "$mem" <<'PY' > bench/README.md
import json, sys
r = json.load(open(sys.argv[1]))
print("# Benchmarks\n")
print("Produced by `bench/run.sh` (do not edit by hand). Each figure is min / median / max over",
      r["runs"], "runs, measured in the same run as its anchor.\n")
print(f"Machine: {r['machine']['cores']} cores, {sys.argv[2]}, {sys.argv[3]}. "
      f"Corpus: {r['corpus']['comments']:,} NFC Vietnamese comments, {r['corpus']['megabytes']:.1f} MB "
      "(words of hunspell-vi); replies: the " + str(r["replies"]) + " replies of tests/text/intents.tsv.\n")
print("| what | hailong | anchor | ratio (median) | target |")
print("| --- | --- | --- | --- | --- |")
h, i = r["hailong_normalize_mb_s"], r["icu_normalize_mb_s"]
print(f"| normalize NFC comments (MB/s) | {h['min']:.0f} / {h['median']:.0f} / {h['max']:.0f} | "
      f"ICU normalizeUTF8: {i['min']:.0f} / {i['median']:.0f} / {i['max']:.0f} | "
      f"{r['normalize_ratio']:.2f} | ≥ 0.50 |")
p = r["replies_per_s"]
print(f"| read SMS replies (per second, one core) | {p['min']:,.0f} / {p['median']:,.0f} / {p['max']:,.0f} | "
      "— | — | ≥ 500,000 |")
print("\nRaw results: `" + sys.argv[1] + "`.")
PY
cat bench/README.md
