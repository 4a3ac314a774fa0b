#!/usr/bin/env bash
# Runs the benchmark's sweeps (the fused op against clone() over R, over
# every dtype, over the batch size; RANDQUANT_BENCH_SWEEPS=1) and draws the
# plots of docs/performance.md from that run, as SVG with gnuplot.
#
#   benchmarks/plot.sh [OUT_DIR]    (default docs/plots)
#
# Needs the built benchmark ($RANDQUANT_BUILD_DIR, default build: run
# scripts/test first), python3 and gnuplot (Debian: gnuplot-nox). Writes
# OUT_DIR/sweeps.json (Google Benchmark's JSON, with the machine's context)
# and OUT_DIR/speed-vs-regions.svg, speed-vs-dtype.svg, speed-vs-batch.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
out=${1:-docs/plots}
if [ "${RANDQUANT_PLOT_SMOKE:-0}" = 1 ]; then
  # The smoke test (ctest benchmark.plots): points of 0.01 s, and a skip
  # (77) rather than an install where gnuplot is missing.
  command -v gnuplot >/dev/null || { echo "plot.sh: no gnuplot"; exit 77; }
  export RANDQUANT_BENCH_SWEEP_SECONDS=0.01
else
  ensure_packages gnuplot-nox python3
fi
bench=${RANDQUANT_BUILD_DIR:-build}/benchmarks/randquant_bench
[ -x "$bench" ] || { echo "plot.sh: $bench is not built (run scripts/test)" >&2; exit 1; }
mkdir -p "$out"
RANDQUANT_BENCH_SWEEPS=1 "$bench" --benchmark_filter='^sweep_' \
  --benchmark_out="$out/sweeps.json" --benchmark_out_format=json
python3 benchmarks/plot_sweeps.py "$out/sweeps.json" "$out"
for plot in speed-vs-regions speed-vs-dtype speed-vs-batch; do
  [ -s "$out/$plot.svg" ] || { echo "plot.sh: $out/$plot.svg was not drawn" >&2; exit 1; }
done
echo "plot.sh: drew $out/speed-vs-regions.svg, speed-vs-dtype.svg, speed-vs-batch.svg"
