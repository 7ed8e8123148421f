#!/usr/bin/python3
"""Baseline for bench/expfmt_bench.cc: parse the same Prometheus-text body with Debian's
python3-prometheus-client and print MB/s and samples/s.

Run the C++ benchmark first; it writes the body to $EXPFMT_BENCH_FILE (default
/tmp/expfmt_bench.txt). Usage: /usr/bin/python3 bench/expfmt_python_baseline.py [FILE] [REPEATS]
"""
import os
import sys
import time

from prometheus_client.parser import text_string_to_metric_families


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "EXPFMT_BENCH_FILE", "/tmp/expfmt_bench.txt")
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(path, encoding="utf-8") as f:
        text = f.read()
    size_mb = len(text.encode("utf-8")) / 1e6
    best_wall = best_cpu = None
    samples = 0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        samples = sum(len(family.samples) for family in text_string_to_metric_families(text))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_wall = wall if best_wall is None else min(best_wall, wall)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    # Google Benchmark's bytes_per_second uses CPU time; compare with the CPU figure.
    print(f"python prometheus_client: {size_mb:.2f} MB, {samples} samples, best of {repeats}: "
          f"cpu {best_cpu * 1e3:.1f} ms = {size_mb / best_cpu:.2f} MB/s, "
          f"{samples / best_cpu:,.0f} samples/s; wall {best_wall * 1e3:.1f} ms = "
          f"{size_mb / best_wall:.2f} MB/s")


if __name__ == "__main__":
    main()
