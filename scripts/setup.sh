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
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "echomon setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
