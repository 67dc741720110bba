#!/usr/bin/env bash
# Installs the Debian packages hailong needs, if they are missing.
#   scripts/deps.sh build   what building needs
#   scripts/deps.sh test    building plus every test (PostgreSQL server, Catch2)
set -euo pipefail
what=${1:-build}
build=(cmake ninja-build g++ ccache pkg-config libpoco-dev libsqlite3-dev libicu-dev
       libkainjow-mustache-dev libpq-dev)
test=(catch2 postgresql util-linux sqlite3 hunspell-vi clang)
packages=("${build[@]}")
[[ "$what" == test ]] && packages+=("${test[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "hailong needs these Debian packages: ${missing[*]}" >&2
  echo "install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The postgresql package may start a cluster service; the tests start their own server.
