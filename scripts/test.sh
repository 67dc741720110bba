#!/usr/bin/env bash
# Builds hailong with its tests and runs the whole suite with ctest (PostgreSQL included: the
# tests start their own server on a free loopback port). Ends with ctest's summary line.
#   scripts/test.sh --long   soak runs too: 100 SIGKILLs per backend instead of 20, and each fuzz
#                            target for 5 minutes instead of 15 s (an hour or more; not for CI)
set -euo pipefail
long=0
if [[ "${1:-}" == "--long" ]]; then
  long=1
  shift
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh test
build=${HAILONG_TEST_BUILD:-build/test}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fuzz_seconds=15 test_timeout=300
[[ $long == 1 ]] && fuzz_seconds=300 test_timeout=7200
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHAILONG_FUZZ_SECONDS=$fuzz_seconds \
  -DHAILONG_TEST_TIMEOUT=$test_timeout \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "$build" -j2
if [[ $long == 1 ]]; then
  HAILONG_SOAK=1 ctest --test-dir "$build" --output-on-failure -j2 --timeout 7200
else
  ctest --test-dir "$build" --output-on-failure -j2 --timeout 600
fi
