"""The random modes against SPEC.md: per-slice structure exactly, the laws of
cut points, proxies and the p coin statistically (4 sigma), and agreement in
distribution with a transcription of the authors' module."""

import math

import pytest
import torch

import randquant
from reference_module import reference_quantize
from spec_oracle import slices

SIGMAS = 4.0


def gen(seed):
    return torch.Generator().manual_seed(seed)


def assert_near(value, mean, sd, n):
    """|value - mean| within SIGMAS standard errors of an n-sample mean."""
    se = sd / math.sqrt(n)
    assert abs(value - mean) <= SIGMAS * se, (value, mean, se)


@pytest.mark.parametrize("collapse", ["inside_random", "middle"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64,
                                   torch.float16, torch.bfloat16, torch.uint8],
                         ids=lambda d: str(d).split(".")[-1])
@pytest.mark.parametrize("regions", [1, 2, 8, 33])
def test_each_slice_is_a_monotone_quantizer(regions, dtype, collapse):
    x = torch.randn(6, 3, 16, 16, generator=gen(1)) * 40
    x = x.clamp(0, 255).to(dtype) if dtype == torch.uint8 else x.to(dtype)
    q = randquant.randomized_quantize(x, regions, collapse=collapse,
                                      generator=gen(2))
    assert q.dtype == dtype and q.shape == x.shape
    for xs, qs in zip(slices(x), slices(q)):
        xs, qs = xs.double(), qs.double()
        # At most R proxies, all inside [lo, hi].
        assert qs.unique().numel() <= regions
        assert qs.min() >= xs.min() and qs.max() <= xs.max()
        # Monotone: a larger value never gets a smaller proxy.
        order = torch.argsort(xs)
        assert (qs[order].diff() >= 0).all()


def test_per_slice_region_count_range():
    # Dense slices: with R drawn from {2, 3, 4}, a slice shows R values
    # (up to a region left empty by two near-equal cut points).
    x = torch.linspace(0, 1, 4096).repeat(600, 1, 1)
    q = randquant.randomized_quantize(x, 2, max_regions=4, collapse="middle",
                                      generator=gen(3))
    counts = torch.tensor([s.unique().numel() for s in slices(q)])
    assert counts.max() <= 4 and counts.min() >= 1
    assert {2, 3, 4} <= set(counts.tolist())
    # R uniform on {2, 3, 4}: mean 3, sd sqrt(2/3).
    assert_near(counts.double().mean().item(), 3.0, math.sqrt(2 / 3), 600)


def test_cut_points_are_uniform_between_min_and_max():
    # R = 2, lo = 0, hi = 1, Middle proxies: the value 0 gets proxy c / 2.
    n = 3000
    x = torch.linspace(0, 1, 257).repeat(n, 1, 1)
    q = randquant.randomized_quantize(x, 2, collapse="middle",
                                      generator=gen(4))
    cut = 2 * q[:, 0, 0].double()
    assert ((cut >= 0) & (cut < 1)).all()
    assert_near(cut.mean().item(), 0.5, math.sqrt(1 / 12), n)
    below = (cut < 0.25).double()
    assert_near(below.mean().item(), 0.25, math.sqrt(0.25 * 0.75), n)


def test_inside_random_proxies_are_uniform_in_their_region():
    # Uniform cuts at 0.25, 0.5, 0.75: proxy j = (j + w_j) / 4.
    n = 2000
    x = torch.linspace(0, 1, 101).repeat(n, 1, 1)
    q = randquant.randomized_quantize(x, 4, spacing="uniform",
                                      generator=gen(5))
    for j, value in enumerate([0.0, 0.3, 0.6, 0.9]):
        index = int(value * 100)
        w = 4 * q[:, 0, index].double() - j
        assert ((w >= 0) & (w <= 1)).all()
        assert_near(w.mean().item(), 0.5, math.sqrt(1 / 12), n)
        assert_near((w < 0.5).double().mean().item(), 0.5, 0.5, n)


def test_application_rate_per_sample():
    n, p = 4000, 0.5
    x = torch.randn(n, 2, 32, generator=gen(6))
    q = randquant.randomized_quantize(x, 8, p=p, generator=gen(7))
    changed = (q != x).flatten(1).any(1)
    # A sample is either quantized whole or returned bit for bit.
    assert torch.equal(q[~changed], x[~changed])
    assert (q[changed] != x[changed]).flatten(1).float().mean() > 0.9
    assert_near(changed.double().mean().item(), p, math.sqrt(p * (1 - p)), n)


def test_application_rate_unbatched():
    n, p = 600, 0.3
    x = torch.randn(3, 8, 8, generator=gen(8))
    g = gen(9)
    changed = [not torch.equal(randquant.randomized_quantize(
        x, 8, p=p, batched=False, generator=g), x) for _ in range(n)]
    rate = sum(changed) / n
    assert_near(rate, p, math.sqrt(p * (1 - p)), n)


def test_p_zero_and_one():
    x = torch.randn(50, 3, 8, generator=gen(10))
    assert torch.equal(randquant.randomized_quantize(x, 4, p=0.0), x)
    q = randquant.randomized_quantize(x, 4, p=1.0)
    assert (q != x).flatten(1).any(1).all()


@pytest.mark.parametrize("collapse", ["inside_random", "middle"])
@pytest.mark.parametrize("regions", [2, 8])
def test_error_matches_the_reference_in_distribution(regions, collapse):
    # Mean |q - x| / (hi - lo) per slice, randquant vs the authors' algorithm.
    x = torch.rand(400, 3, 16, 16, generator=gen(11))
    ours = randquant.randomized_quantize(x, regions, collapse=collapse,
                                         generator=gen(12))
    ref = reference_quantize(x, regions, collapse, generator=gen(13))
    span = (x.flatten(2).amax(2) - x.flatten(2).amin(2))
    e_ours = ((ours - x).abs().flatten(2).mean(2) / span).flatten().double()
    e_ref = ((ref - x).abs().flatten(2).mean(2) / span).flatten().double()
    n = e_ours.numel()
    sd = math.sqrt((e_ours.var() + e_ref.var()).item())
    assert_near(e_ours.mean().item() - e_ref.mean().item(), 0.0, sd, n)
