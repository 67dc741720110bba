#!/usr/bin/env bash
# The SMS benchmark (bench/sms/bench.py says what it measures): rating replies through a real
# Kannel with fakesmsc into `hailong serve`, beside the same Kannel to nginx answering at once.
#   bench/sms/run.sh BUILD_DIR > result.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for b in /usr/sbin/bearerbox /usr/sbin/smsbox /usr/lib/kannel/test/fakesmsc; do
  [[ -x "$b" ]] || { echo "$b missing: apt-get install kannel kannel-extras" >&2; exit 1; }
done
exec python3 "$here/bench.py" "$1"
