#!/usr/bin/env bash
# Installs the Debian packages hailong needs, if they are missing.
#   scripts/deps.sh build   what building needs
#   scripts/deps.sh test    building plus every test (PostgreSQL server, Catch2, Chromium and
#                           the browser tests' npm package, zbarimg and rsvg-convert for the QR
#                           code tests, readstat and LibreOffice to read exports back)
#   scripts/deps.sh bench   the tests' packages plus the load generator (wrk), GNU time and nginx
#                           (the benchmarks' ceiling)
#   scripts/deps.sh cluster building plus a PostgreSQL server and nginx (scripts/cluster.sh)
set -euo pipefail
what=${1:-build}
build=(cmake ninja-build g++ ccache pkg-config libpoco-dev libsqlite3-dev libicu-dev
       libkainjow-mustache-dev libpq-dev libargon2-dev libqrencode-dev libxlsxwriter-dev libreadstat-dev)
test=(catch2 postgresql util-linux sqlite3 hunspell-vi clang chromium nodejs npm kannel kannel-extras
      zbar-tools librsvg2-bin python3 readstat libreoffice-calc-nogui nginx-light)
packages=("${build[@]}")
[[ "$what" == test || "$what" == bench ]] && packages+=("${test[@]}")
[[ "$what" == bench ]] && packages+=(wrk time nginx-light)
[[ "$what" == cluster ]] && packages+=(postgresql nginx-light curl python3)

missing=()
for p in "${packages[@]}"; do
  # Node.js from another source (NodeSource bundles npm) serves as well as Debian's.
  [[ ( "$p" == nodejs && -x "$(command -v node)" ) || ( "$p" == npm && -x "$(command -v npm)" ) ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The browser tests drive Debian's Chromium with the npm package playwright-core (no browser
# download) and check pages with axe-core, both pinned by tests/e2e/package-lock.json.
e2e() {
  [[ "$what" == build ]] && return 0
  local dir
  dir=$(cd "$(dirname "$0")/../tests/e2e" && pwd)
  [[ -f "$dir/node_modules/playwright-core/package.json" &&
     -f "$dir/node_modules/axe-core/package.json" &&
     -f "$dir/node_modules/@apidevtools/swagger-parser/package.json" ]] && return 0
  echo "installing the browser tests' npm packages in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}
if [[ ${#missing[@]} -eq 0 ]]; then
  e2e
  exit 0
fi

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
e2e
