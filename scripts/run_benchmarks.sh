#!/usr/bin/env bash
# Runs every benchmark binary, then the whole-agent overhead measurement.
# Usage: scripts/run_benchmarks.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
for b in "$build"/bench/*_bench; do
  echo "== $(basename "$b")"
  "$b" --benchmark_counters_tabular=true
done
echo "== agent overhead"
bash "$(dirname "$0")/measure_agent.sh" "$build" 60
