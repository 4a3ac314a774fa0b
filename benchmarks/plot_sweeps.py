"""Draws the sweeps of one benchmark run (benchmarks/plot.sh) with gnuplot.

Usage: plot_sweeps.py SWEEPS_JSON OUT_DIR
Each plot states the run's machine (CPU count, MHz) and date from the JSON
context, so a figure never loses its method.
"""
import json
import os
import subprocess
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    times = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = b["name"].split("/min_time")[0].split("/real_time")[0]
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        times[name] = b["real_time"] * scale  # milliseconds per iteration
    ctx = data["context"]
    label = "%s, %d CPUs at %d MHz, 2 threads" % (
        ctx.get("date", "")[:10], ctx.get("num_cpus", 0), ctx.get("mhz_per_cpu", 0))
    return times, label


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    times, label = load(sys.argv[1])
    out = sys.argv[2]
    shape = "8x3x224x224"
    head = 'set terminal svg size 720,420 font "sans,12" noenhanced\nset key top left\nset grid\n'

    # Time per batch against R, with clone()'s as a line.
    rs = sorted(int(k.rsplit("/R", 1)[1]) for k in times if k.startswith("sweep_r/fused/"))
    clone = times["sweep_r/clone/f32/" + shape]
    rows = "\n".join("%d %g" % (r, times["sweep_r/fused/f32/%s/R%d" % (shape, r)]) for r in rs)
    gnuplot(head + f"""set output "{os.path.join(out, 'speed-vs-regions.svg')}"
set title "float32 {shape}: time per batch against R ({label})"
set logscale x 2
set xlabel "R (regions)"
set ylabel "ms per batch"
set yrange [0:*]
plot "-" using 1:2 with linespoints title "randomized_quantize", {clone} title "clone()" with lines dashtype 2
{rows}
e
""")

    # Time relative to clone() of the same dtype, R = 8 and 256.
    tags = ["f32", "f64", "f16", "bf16", "u8", "i8", "i16", "i32", "i64"]
    rows = "\n".join(
        "%s %g %g" % (t,
                      times["sweep_dtype/fused/%s/%s/R8" % (t, shape)] /
                      times["sweep_dtype/clone/%s/%s" % (t, shape)],
                      times["sweep_dtype/fused/%s/%s/R256" % (t, shape)] /
                      times["sweep_dtype/clone/%s/%s" % (t, shape)])
        for t in tags)
    gnuplot(head + f"""set output "{os.path.join(out, 'speed-vs-dtype.svg')}"
set title "{shape}: time relative to clone() of the same dtype ({label})"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "randomized_quantize time / clone() time"
set yrange [0:*]
plot "-" using 2:xtic(1) title "R = 8", "-" using 3 title "R = 256"
{rows}
e
{rows}
e
""")

    # Time per sample against the batch size.
    ns = sorted(int(k.split("/")[3].split("x")[0]) for k in times
                if k.startswith("sweep_batch/clone/"))
    rows = "\n".join("%d %g %g" % (
        n, times["sweep_batch/fused/f32/%dx3x224x224/R8" % n] / n * 1e3,
        times["sweep_batch/clone/f32/%dx3x224x224" % n] / n * 1e3) for n in ns)
    gnuplot(head + f"""set output "{os.path.join(out, 'speed-vs-batch.svg')}"
set title "float32 Nx3x224x224, R = 8: time per sample ({label})"
set logscale x 2
set xlabel "batch size N"
set ylabel "µs per sample"
set yrange [0:*]
plot "-" using 1:2 with linespoints title "randomized_quantize", "-" using 1:3 with linespoints title "clone()"
{rows}
e
{rows}
e
""")


if __name__ == "__main__":
    main()
