#!/usr/bin/env bash
# Records real host metrics from /proc once a second, for the store benchmark's realistic
# workload (bench/store_bench.cc reads the file named by ECHOMON_HOST_HOUR).
#
# Usage: scripts/record_host_metrics.sh [OUTPUT.csv] [SECONDS]
#   defaults: /tmp/host_hour.csv, 3600 seconds.
# Output: CSV lines "t_ms,series_key,value" (no header), one line per numeric field per second:
#   /proc/stat cpu lines (user..guest_nice) and ctxt/processes/procs_running/procs_blocked,
#   /proc/meminfo (all fields, kB), selected /proc/vmstat counters, /proc/net/dev (16 counters
#   per interface), /proc/diskstats (first 11 counters per non-loop device), /proc/loadavg.
set -euo pipefail
out="${1:-/tmp/host_hour.csv}"
seconds="${2:-3600}"
: >"$out"
vmstat_keys='^(pgpgin|pgpgout|pswpin|pswpout|pgfault|pgmajfault|pgfree|pgactivate|pgdeactivate|nr_free_pages|nr_dirty|nr_writeback|nr_mapped|nr_anon_pages|nr_file_pages|nr_slab_reclaimable|nr_slab_unreclaimable|oom_kill) '
for ((i = 0; i < seconds; i++)); do
  t_ms=$(date +%s%3N)
  {
    awk -v t="$t_ms" '
      /^cpu/ { split("user nice system idle iowait irq softirq steal guest guest_nice", f, " ");
               for (k = 2; k <= NF && k <= 11; k++) printf "%s,cpu_seconds{cpu=\"%s\",mode=\"%s\"},%s\n", t, $1, f[k-1], $k }
      /^(ctxt|processes|procs_running|procs_blocked) / { printf "%s,stat_%s,%s\n", t, $1, $2 }' /proc/stat
    awk -v t="$t_ms" '{ k = $1; sub(":", "", k); gsub(/[()]/, "_", k); printf "%s,meminfo_%s,%s\n", t, k, $2 }' /proc/meminfo
    grep -E "$vmstat_keys" /proc/vmstat | awk -v t="$t_ms" '{ printf "%s,vmstat_%s,%s\n", t, $1, $2 }'
    awk -v t="$t_ms" 'NR > 2 { sub(":", " "); d = $1;
      split("rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop tx_fifo tx_colls tx_carrier tx_compressed", f, " ");
      for (k = 2; k <= 17; k++) printf "%s,net_%s{device=\"%s\"},%s\n", t, f[k-1], d, $k }' /proc/net/dev
    awk -v t="$t_ms" '$3 !~ /^(loop|ram)/ {
      split("reads reads_merged sectors_read read_ms writes writes_merged sectors_written write_ms io_in_progress io_ms weighted_io_ms", f, " ");
      for (k = 4; k <= 14; k++) printf "%s,disk_%s{device=\"%s\"},%s\n", t, f[k-3], $3, $k }' /proc/diskstats
    awk -v t="$t_ms" '{ printf "%s,load1,%s\n%s,load5,%s\n%s,load15,%s\n", t, $1, t, $2, t, $3 }' /proc/loadavg
  } >>"$out"
  # Sleep to the next whole second so samples are ~1000 ms apart, like the agent's tick.
  now_ns=$(date +%s%N)
  sleep "0.$(printf '%09d' $((1000000000 - now_ns % 1000000000)))"
done
