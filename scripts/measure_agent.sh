#!/usr/bin/env bash
# Measures the agent's overhead on this host: CPU % of one core and RSS over a run at the
# default 1 s interval, side by side with Debian's prometheus-node-exporter scraped once a
# second (the same collection frequency) in the same run.
#
# Usage: scripts/measure_agent.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-60}
tmp=$(mktemp -d)
trap 'kill $agent $exporter $scraper 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

port_agent=19470
port_exporter=19100
"$build/src/cli/echomon" run --listen 127.0.0.1:$port_agent --data-dir "$tmp/var" \
  --log-level warn >/dev/null 2>&1 &
agent=$!
prometheus-node-exporter --web.listen-address=127.0.0.1:$port_exporter >/dev/null 2>&1 &
exporter=$!
( while true; do curl -s -o /dev/null http://127.0.0.1:$port_exporter/metrics || true; sleep 1; done ) &
scraper=$!
sleep 3  # let both start and settle

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
a0=$(cpu_ticks $agent); e0=$(cpu_ticks $exporter); t0=$(date +%s.%N)
sleep "$seconds"
a1=$(cpu_ticks $agent); e1=$(cpu_ticks $exporter); t1=$(date +%s.%N)
ra=$(rss_kb $agent); re=$(rss_kb $exporter)
series=$(curl -s "http://127.0.0.1:$port_agent/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["series"])')

python3 - "$a0" "$a1" "$e0" "$e1" "$t0" "$t1" "$ticks" "$ra" "$re" "$series" <<'PY'
import sys
a0, a1, e0, e1 = (int(x) for x in sys.argv[1:5])
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
ticks = int(sys.argv[7]); ra, re = int(sys.argv[8]), int(sys.argv[9]); series = sys.argv[10]
wall = t1 - t0
ca = 100.0 * (a1 - a0) / ticks / wall
ce = 100.0 * (e1 - e0) / ticks / wall
print(f"over {wall:.1f} s at 1 s interval ({series} series):")
print(f"  echomon        CPU {ca:6.3f} % of one core   RSS {ra/1024:6.1f} MiB")
print(f"  node_exporter  CPU {ce:6.3f} % of one core   RSS {re/1024:6.1f} MiB (scraped every 1 s)")
if ce > 0:
    print(f"  ratio echomon/node_exporter: CPU {ca/ce:.2f}x, RSS {ra/re:.2f}x")
PY

# Calibration: a fixed computation back to back and after 1 s idle (see bench/wake_cost_bench.cc).
if [ -x "$build/bench/wake_cost_bench" ]; then
  "$build/bench/wake_cost_bench" 2>/dev/null | awk '/BM_FixedWork/ {print "  calibration:", $1, $2, $3}'
fi
