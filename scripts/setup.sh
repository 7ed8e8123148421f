#!/usr/bin/env bash
# Installs the Debian packages echomon needs to build, run and test. Idempotent: packages that
# are already installed are skipped, and apt is only touched when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev zlib1g-dev libssl-dev libbrotli-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus prometheus-node-exporter prometheus-alertmanager python3-prometheus-client
  libhowardhinnant-date-dev tzdata sqlite3 curl
  protobuf-compiler libprotobuf-dev libsnappy-dev
  chromium
)

# node and npm for the dashboard (web/): Debian's, unless a node with npm is already installed
# (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

# The dashboard's npm packages (web/package-lock.json): uPlot, embedded into the binary, and
# playwright-core for the browser tests. `npm ci` runs only when web/node_modules is missing or
# the lock file changed since the last run.
install_web_deps() {
  local web sum stamp
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
  [ -f "$web/package-lock.json" ] || return 0
  sum="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
  stamp="$web/node_modules/.echomon-lock.sha256"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  echo "echomon setup: npm ci in web/"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$sum" >"$stamp"
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  install_web_deps
  exit 0
fi

echo "echomon setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_web_deps
