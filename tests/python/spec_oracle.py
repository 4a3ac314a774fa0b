"""An independent transcription of SPEC.md ("Per slice", "Randomness") in
plain Python and PyTorch.

``quantize_keyed`` transcribes the whole call for a given key (or sample
keys): Philox4x32-10 streams, the number of regions, random cut points,
random proxies and the p coin; ``quantize_uniform`` is its deterministic case
(Uniform spacing with Middle or Zeros proxies). The rounding is reproduced
exactly as randquant specifies it: the per-slice arithmetic runs in float32
(float64 for float64, int32 and int64 input), a product that is added is one fused multiply-add
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
    """The deterministic result SPEC.md defines for x (p = 1): Uniform
    spacing with Middle or Zeros proxies draws nothing, so any key gives
    it."""
    out, _ = quantize_keyed(x, regions, key=0, spacing="uniform",
                            collapse=collapse, batched=batched,
                            channel_dim=channel_dim)
    return out


def slices(x, batched=True, channel_dim=0):
    """The slices of x as a list of 1-D tensors (SPEC: one per sample and
    channel, all of the sample's other elements)."""
    sample = x if batched else x.unsqueeze(0)
    cd = channel_dim % (x.dim() - (1 if batched else 0))
    view = sample.movedim(1 + cd, 1)
    return [view[i, j].reshape(-1) for i in range(view.shape[0])
            for j in range(view.shape[1])]


# --- Randomness (SPEC.md "Randomness") -----------------------------------

MASK32 = 0xFFFFFFFF
MAX_REGIONS = 1024  # draw index base of the proxy weights
STREAM_SLICE = 0
STREAM_SAMPLE = 1


def philox4x32_10(counter, key):
    """Random123's philox4x32_10: four 32-bit words of ``counter`` under the
    two 32-bit words of ``key``."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK32,
                          (p0 >> 32) ^ c3 ^ k1, p0 & MASK32)
        k0 = (k0 + 0x9E3779B9) & MASK32
        k1 = (k1 + 0xBB67AE85) & MASK32
    return c0, c1, c2, c3


def draw_bits(key, index, stream, draw):
    """The 32 bits of draw ``draw`` of (key, index, stream): word draw % 4
    of the block with counter (draw / 4, stream, index_lo, index_hi)."""
    block = philox4x32_10(
        (draw // 4, stream, index & MASK32, index >> 32),
        (key & MASK32, key >> 32))
    return block[draw % 4]


def uniform(bits):
    """A draw as a float in [0, 1 - 2^-24]: (bits >> 8) * 2^-24, exact."""
    return (bits >> 8) * 2.0 ** -24


def sample_key(seed, epoch, index):
    """K_n of a sample-keyed call: Philox of counter (index_lo, index_hi,
    epoch_lo, epoch_hi) under key (seed_lo, seed_hi), words 0 (low) and 1."""
    r = philox4x32_10(
        (index & MASK32, index >> 32, epoch & MASK32, epoch >> 32),
        (seed & MASK32, seed >> 32))
    return (r[1] << 32) | r[0]


def slice_params(key, index, lo, hi, regions, max_regions, spacing,
                 collapse, acc):
    """R, the sorted cut points and the R proxies of the slice drawn under
    (key, index), its finite values spanning [lo, hi]."""
    r = regions
    if max_regions > regions:
        span = max_regions - regions + 1
        r = regions + (draw_bits(key, index, STREAM_SLICE, 0) * span >> 32)
    cuts = []
    for k in range(1, r):
        if spacing == "random":
            t = uniform(draw_bits(key, index, STREAM_SLICE, k))
        else:
            t = round_to(Fraction(k, r), acc)
        cuts.append(lerp_inside(lo, hi, t, acc))
    cuts.sort()
    proxies = []
    for j in range(r):
        left = lo if j == 0 else cuts[j - 1]
        right = hi if j == r - 1 else cuts[j]
        if collapse == "inside_random":
            w = uniform(draw_bits(key, index, STREAM_SLICE, MAX_REGIONS + j))
            proxies.append(lerp_inside(left, right, w, acc))
        elif collapse == "middle":
            proxies.append(lerp_inside(left, right, 0.5, acc))
        else:
            proxies.append(0.0)
    return r, cuts, proxies


def coin(key, index, p):
    """Whether the sample drawn under (key, index) is quantized: u < p."""
    return uniform(draw_bits(key, index, STREAM_SAMPLE, 0)) < p


def quantize_keyed(x, regions, key=None, *, sample_keys=None, max_regions=0,
                   spacing="random", collapse="inside_random", p=1.0,
                   batched=True, channel_dim=0):
    """What SPEC.md defines for x under one call key ``key`` (the key drawn
    from a generator) or per-sample ``sample_keys`` (K_n of each sample).

    Returns (output, params): params is a list over samples of dicts with
    ``applied`` and ``slices``, a list over channels of (lo, hi, R, cuts,
    proxies as x's dtype), or None for a slice without finite values.
    """
    acc = acc_dtype(x.dtype)
    sample = x if batched else x.unsqueeze(0)
    cd = channel_dim % (x.dim() - (1 if batched else 0))
    view = sample.movedim(1 + cd, 1)  # (N, C, rest...)
    out = view.clone()
    n, c = view.shape[:2]
    params = []
    for i in range(n):
        if sample_keys is not None:
            call_key, coin_index = sample_keys[i], 0
        else:
            call_key, coin_index = key, i
        applied = coin(call_key, coin_index, p)
        per_slice = []
        for j in range(c):
            index = j if sample_keys is not None else i * c + j
            values = view[i, j].reshape(-1).to(acc)
            finite = torch.isfinite(values)
            if not finite.any():
                per_slice.append(None)  # copied unchanged
                continue
            # -0 is normalised to +0 (adding +0 does that).
            lo = values[finite].min().item() + 0.0
            hi = values[finite].max().item() + 0.0
            r, cuts, proxies = slice_params(call_key, index, lo, hi, regions,
                                            max_regions, spacing, collapse,
                                            acc)
            as_dtype = to_dtype(torch.tensor(proxies, dtype=acc), x.dtype)
            per_slice.append((lo, hi, r, cuts, as_dtype))
            if not applied:
                continue
            region = torch.searchsorted(torch.tensor(cuts, dtype=acc),
                                        values.contiguous(), right=True)
            q = torch.where(finite, as_dtype[region],
                            view[i, j].reshape(-1))
            out[i, j] = q.reshape(view[i, j].shape)
        params.append({"applied": applied, "slices": per_slice})
    out = out.movedim(1, 1 + cd)
    return (out if batched else out.squeeze(0)), params
