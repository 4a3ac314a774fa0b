#!/usr/bin/python3
"""Times torch.ops.randquant (through the `randquant` package) against a
pure-PyTorch transcription of the authors' RandomizedQuantizationAugModule
on the same tensors, and prints the timings and their ratios.

Usage (after building the CMake target randquant_ops):

    RANDQUANT_OPS_LIBRARY=build/python/librandquant_ops.so \\
        /usr/bin/python3 benchmarks/python_bench.py [--repeats N]

Options of both sides: Random spacing, InsideRandom proxies, p = 1. The
reference materialises a (B*C, R, H, W) mask; a case whose mask would not
fit in half the available memory is skipped and says so.
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import randquant  # noqa: E402


def reference_quantize(x, region_num, generator):
    """The authors' forward (collapse 'inside_random', spacing 'random',
    p = 1) op for op. Their `assert (inside.sum(1) == 1).all()` is left out
    (one more pass over the mask), so reference / randquant is a lower bound.
    Kept O(slices x R x elements) on purpose: do not "fix" it."""
    B, c, H, W = x.shape
    C = B * c
    x = x.view(C, H, W)
    min_val = x.view(C, -1).min(1)[0]
    max_val = x.view(C, -1).max(1)[0]
    pct = torch.rand(C * (region_num - 1), generator=generator)
    pos = (pct.reshape(-1, region_num - 1) * (max_val - min_val).view(C, 1)
           + min_val.view(C, 1)).view(C, -1, 1, 1)
    right_check = torch.cat([pos, max_val.view(C, 1, 1, 1) + 1], 1).sort(1)[0]
    right = torch.cat([pos, max_val.view(C, 1, 1, 1) + 1e-6], 1).sort(1)[0]
    left = torch.cat([min_val.view(C, 1, 1, 1), pos], 1).sort(1)[0]
    inside = (x.view(C, 1, H, W) < right_check) * (x.view(C, 1, H, W) >= left)
    region = torch.argmax(inside.int(), dim=1, keepdim=True)
    w = torch.rand(C * region_num, generator=generator)
    proxies = left + w.view(C, -1, 1, 1) * (right - left)
    out = torch.gather(proxies.expand(-1, -1, H, W), 1, region)[:, 0]
    return out.type(x.dtype).view(B, c, H, W)


def time_it(fn, repeats):
    """Best wall time of fn() in seconds over `repeats` calls, after one
    warm-up call. The minimum, not the mean: on a shared 2-core machine a
    2-thread op is slowed a lot whenever another process takes a core."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def available_bytes():
    """MemAvailable from /proc/meminfo (Linux); large elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def fmt(seconds):
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else \
        f"{seconds * 1e6:.1f} us"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10,
                        help="timed calls of randquant and clone per case")
    parser.add_argument("--reference-repeats", type=int, default=3,
                        help="timed calls of the reference per case")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"library {randquant.library_path}")
    g = torch.Generator().manual_seed(0)
    ratios = []
    for shape in [(8, 3, 224, 224), (64, 3, 224, 224)]:
        x = torch.randn(shape, generator=g)
        name = "x".join(map(str, shape))
        t_clone = time_it(x.clone, args.repeats)
        print(f"clone      f32 {name}          {fmt(t_clone):>12}")
        for regions in (8, 256):
            t_ours = time_it(lambda: randquant.randomized_quantize(
                x, regions, generator=g), args.repeats)
            print(f"randquant  f32 {name} R={regions:<4} {fmt(t_ours):>12}")
            ratios.append((f"randquant/clone f32 {name} R={regions}",
                           t_ours, t_clone))
            # Mask (bool), its int copy and argmax: ~6 bytes per entry.
            mask_bytes = 6 * x.numel() * regions
            if mask_bytes > available_bytes() // 2:
                print(f"reference  f32 {name} R={regions:<4} skipped (mask "
                      f"needs ~{mask_bytes / 2**30:.1f} GiB)")
                continue
            t_ref = time_it(lambda: reference_quantize(x, regions, g),
                            args.reference_repeats)
            print(f"reference  f32 {name} R={regions:<4} {fmt(t_ref):>12}")
            ratios.append((f"reference/randquant f32 {name} R={regions}",
                           t_ref, t_ours))
    # One (C, H, W) sample at a time through the drop-in module: the
    # per-call cost a per-example dataset transform pays, Python included.
    sample = torch.randn(3, 224, 224, generator=g)
    module = randquant.RandomizedQuantizationAugModule(8, transforms_like=True)
    t_one = time_it(lambda: module(sample), 20 * args.repeats)
    print(f"module     f32 3x224x224 R=8    {fmt(t_one):>12}  "
          f"({1 / t_one:,.0f} samples/s)")
    print("\nRatios (best wall time per call, this run)")
    for label, a, b in ratios:
        print(f"  {label:<44} {a / b:8.2f}x  ({fmt(a)} / {fmt(b)})")


if __name__ == "__main__":
    main()
