#!/usr/bin/env bash
# Runs the anomaly detector over every NAB file and scores the results for the three profiles.
#
#   bench/nab/run_nab.sh BUILD_DIR [CONFIG.yaml]
#
# Uses `BUILD_DIR/src/cli/echomon detect` when the CLI has it, else BUILD_DIR/src/analyze/nab_detect.
# Results go to a temporary directory (kept when NAB_KEEP=1); scoring is BUILD_DIR/src/analyze/nab_score.
set -euo pipefail
build=${1:?usage: run_nab.sh BUILD_DIR [CONFIG.yaml]}
config=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
nab=${NAB_DIR:-$here/../../../shared/data/nab}
out=$(mktemp -d)
[[ ${NAB_KEEP:-0} == 1 ]] || trap 'rm -rf "$out"' EXIT

detect() {  # detect INPUT OUTPUT
  if [[ -x $build/src/cli/echomon ]] && "$build/src/cli/echomon" detect --help >/dev/null 2>&1; then
    "$build/src/cli/echomon" detect --input "$1" --output "$2" ${config:+--config "$config"}
  else
    "$build/src/analyze/nab_detect" "$1" "$2" ${config:+"$config"}
  fi
}

count=0
while IFS= read -r -d '' f; do
  rel=${f#"$nab/data/"}
  mkdir -p "$out/$(dirname "$rel")"
  detect "$f" "$out/$rel"
  count=$((count + 1))
done < <(find "$nab/data" -name '*.csv' -print0 | sort -z)
echo "scored $count files into $out"
"$build/src/analyze/nab_score" --data "$nab" --results "$out"
