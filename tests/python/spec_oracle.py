"""An independent transcription of SPEC.md ("Per slice") in plain PyTorch.

Only the deterministic parts can be transcribed exactly: Uniform spacing with
Middle or Zeros proxies. The rounding is reproduced exactly as randquant
specifies it: the per-slice arithmetic runs in float32 (float64 for float64,
int32 and int64 input), a product that is added is one fused multiply-add
(rounded once), and integer outputs round half to even, then clamp. Exact
rationals (fractions.Fraction) stand in for the fused operations, rounded
once to the arithmetic dtype.
"""

from fractions import Fraction

import numpy as np
import torch


def acc_dtype(dtype):
    """The arithmetic dtype of randquant's per-slice math for ``dtype``."""
    if dtype in (torch.float64, torch.int32, torch.int64):
        return torch.float64
    return torch.float32


def round_to(value, acc):
    """Fraction ``value`` rounded once, to nearest (ties to even), to acc."""
    if acc == torch.float64:
        return float(value)  # int / int true division is correctly rounded
    guess = np.float32(float(value))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]

    def key(c):
        even = int(np.array(c, dtype=np.float32).view(np.uint32)) & 1
        return (abs(Fraction(float(c)) - value), even)

    return float(min(candidates, key=key))


def fma(a, b, c, acc):
    """a * b + c rounded once to acc."""
    return round_to(Fraction(a) * Fraction(b) + Fraction(c), acc)


def lerp_inside(left, right, t, acc):
    """left + t * (right - left) with one rounding for the width and one
    for the fma, kept inside [left, right] (SPEC: proxies stay in [lo, hi])."""
    width = round_to(Fraction(right) - Fraction(left), acc)
    r = fma(t, width, left, acc)
    return min(max(r, left), right)


def uniform_slice_params(lo, hi, regions, collapse, acc):
    """Sorted cut points c_k = lo + (k / R)(hi - lo), k = 1 .. R-1, and the
    R proxies of one slice with finite values in [lo, hi]."""
    cuts = [lerp_inside(lo, hi, round_to(Fraction(k, regions), acc), acc)
            for k in range(1, regions)]
    cuts.sort()
    proxies = []
    for j in range(regions):
        left = lo if j == 0 else cuts[j - 1]
        right = hi if j == regions - 1 else cuts[j]
        proxies.append(0.0 if collapse == "all_zeros" else
                       lerp_inside(left, right, 0.5, acc))
    return cuts, proxies


def to_dtype(values, dtype):
    """Proxies (in their arithmetic dtype) as elements of ``dtype``."""
    if dtype.is_floating_point:
        return values.to(dtype)
    info = torch.iinfo(dtype)
    # torch.round rounds half to even.
    rounded = torch.round(values.double()).clamp(info.min, info.max)
    return rounded.to(dtype)


def quantize_uniform(x, regions, collapse="middle", batched=True,
                     channel_dim=0):
    """The deterministic result SPEC.md defines for x (p = 1)."""
    acc = acc_dtype(x.dtype)
    sample = x if batched else x.unsqueeze(0)
    cd = channel_dim % (x.dim() - (1 if batched else 0))
    view = sample.movedim(1 + cd, 1)  # (N, C, rest...)
    out = view.clone()
    n, c = view.shape[:2]
    for i in range(n):
        for j in range(c):
            values = view[i, j].reshape(-1).to(acc)
            finite = torch.isfinite(values)
            if not finite.any():
                continue  # a slice with no finite value is copied
            lo = values[finite].min().item()
            hi = values[finite].max().item()
            cuts, proxies = uniform_slice_params(lo, hi, regions, collapse,
                                                 acc)
            # Region index: the number of cut points <= the value.
            index = torch.searchsorted(torch.tensor(cuts, dtype=acc),
                                       values.contiguous(), right=True)
            q = to_dtype(torch.tensor(proxies, dtype=acc)[index], x.dtype)
            flat = view[i, j].reshape(-1)
            q = torch.where(finite, q, flat)
            out[i, j] = q.reshape(view[i, j].shape)
    out = out.movedim(1, 1 + cd)
    return out if batched else out.squeeze(0)


def slices(x, batched=True, channel_dim=0):
    """The slices of x as a list of 1-D tensors (SPEC: one per sample and
    channel, all of the sample's other elements)."""
    sample = x if batched else x.unsqueeze(0)
    cd = channel_dim % (x.dim() - (1 if batched else 0))
    view = sample.movedim(1 + cd, 1)
    return [view[i, j].reshape(-1) for i in range(view.shape[0])
            for j in range(view.shape[1])]
