"""Exact equality with the SPEC oracle in the deterministic mode (Uniform
spacing with Middle or Zeros proxies), over dtypes, layouts and edge cases."""

import math

import pytest
import torch

import randquant
from spec_oracle import quantize_uniform

FLOAT_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INT_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]


def sample_data(shape, dtype, seed=0):
    """Random values of ``dtype``: normal floats, or integers over most of
    the dtype's range (uint8 images: 0 .. 255)."""
    g = torch.Generator().manual_seed(seed)
    if dtype.is_floating_point:
        return (3 * torch.randn(shape, generator=g) + 1).to(dtype)
    lo, hi = {torch.uint8: (0, 256), torch.int8: (-128, 128),
              torch.int16: (-3000, 3000)}.get(dtype, (-100000, 100000))
    return torch.randint(lo, hi, shape, generator=g).to(dtype)


def assert_same(actual, expected):
    """Bitwise-equal values (NaN equal to NaN), same dtype and shape."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if actual.dtype.is_floating_point:
        both_nan = torch.isnan(actual) & torch.isnan(expected)
        assert torch.equal(torch.isnan(actual), torch.isnan(expected))
        actual = torch.where(both_nan, torch.zeros_like(actual), actual)
        expected = torch.where(both_nan, torch.zeros_like(expected), expected)
    mismatch = (actual != expected).sum().item()
    assert mismatch == 0, f"{mismatch} of {actual.numel()} elements differ"


def quantize(x, regions, collapse="middle", **kw):
    return randquant.randomized_quantize(x, regions, collapse=collapse,
                                         spacing="uniform", **kw)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES,
                         ids=lambda d: str(d).split(".")[-1])
@pytest.mark.parametrize("regions", [1, 2, 3, 7, 8, 16, 100])
def test_matches_oracle(dtype, regions):
    x = sample_data((3, 4, 9, 11), dtype)
    assert_same(quantize(x, regions), quantize_uniform(x, regions))


@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8],
                         ids=lambda d: str(d).split(".")[-1])
def test_zeros_proxies_match_oracle(dtype):
    x = sample_data((2, 3, 8, 8), dtype)
    expected = quantize_uniform(x, 5, collapse="all_zeros")
    assert_same(quantize(x, 5, collapse="all_zeros"), expected)
    assert_same(quantize(x, 5, collapse="zeros"), expected)


@pytest.mark.parametrize("regions", [2, 4, 5, 8])
def test_values_on_cut_points_go_right(regions):
    # lo = 0, hi = 40 * R: every cut k * 40 is a data value, so ties occur.
    x = torch.arange(0, 40 * regions + 1, dtype=torch.float32)
    x = x.view(1, 1, -1).repeat(2, 3, 1)
    q = quantize(x, regions)
    assert_same(q, quantize_uniform(x, regions))
    if regions & (regions - 1) == 0:
        # k / R is exact in float32, so cut k is the value 40 k, which lies
        # in region k: its proxy is above it. (For R = 5, 3 / 5 rounds up and
        # cut 3 lies just above 120; the oracle reproduces that.)
        assert (q[0, 0, 40:-1:40] > x[0, 0, 40:-1:40]).all()


def test_layouts_match_oracle():
    x = sample_data((4, 3, 10, 12), torch.float32)
    # Non-contiguous: strided and transposed views.
    strided = x[:, :, ::2, 1::3]
    assert_same(quantize(strided, 6), quantize_uniform(strided, 6))
    transposed = x.transpose(2, 3)
    assert_same(quantize(transposed, 6), quantize_uniform(transposed, 6))
    # Channels last: same values, and the output keeps the memory format.
    cl = x.contiguous(memory_format=torch.channels_last)
    q = quantize(cl, 6)
    assert_same(q, quantize_uniform(x, 6))
    assert q.is_contiguous(memory_format=torch.channels_last)
    # (N, P, 3) point clouds: channel_dim = -1.
    points = sample_data((5, 64, 3), torch.float32)
    assert_same(quantize(points, 4, channel_dim=-1),
                quantize_uniform(points, 4, channel_dim=-1))
    # One sample, unbatched.
    assert_same(quantize(x[0], 6, batched=False),
                quantize_uniform(x[0], 6, batched=False))
    # Other ranks: (N, C, L) signals and (N, C, D, H, W) volumes.
    for shape in [(3, 2, 50), (2, 2, 3, 4, 5)]:
        v = sample_data(shape, torch.float64)
        assert_same(quantize(v, 5), quantize_uniform(v, 5))


def test_input_is_not_modified():
    x = sample_data((2, 3, 8, 8), torch.float32)
    before = x.clone()
    quantize(x, 4)
    randquant.randomized_quantize(x, 4)
    assert torch.equal(x, before)


def test_constant_slices_keep_their_value():
    x = torch.full((2, 3, 5, 5), 2.5)
    assert_same(quantize(x, 8), x)
    assert_same(randquant.randomized_quantize(x, 8), x)
    assert_same(quantize(x, 8, collapse="all_zeros"), torch.zeros_like(x))


def test_non_finite_values_pass_through():
    x = sample_data((2, 3, 6, 6), torch.float32)
    x[0, 0, 0, 0] = math.nan
    x[0, 1, 2, 3] = math.inf
    x[1, 2, 5, 5] = -math.inf
    x[1, 1] = math.nan  # a slice without finite values: copied
    for q in (quantize(x, 4), randquant.randomized_quantize(x, 4)):
        assert_same(q[1, 1], x[1, 1])
        assert math.isnan(q[0, 0, 0, 0]) and q[0, 1, 2, 3] == math.inf
        assert q[1, 2, 5, 5] == -math.inf
    assert_same(quantize(x, 4), quantize_uniform(x, 4))


def test_empty_inputs_give_empty_outputs():
    for shape in [(0, 3, 4, 4), (2, 3, 0, 4), (2, 0, 4)]:
        x = torch.empty(shape)
        q = randquant.randomized_quantize(x, 4)
        assert q.shape == x.shape and q.dtype == x.dtype


def test_one_region_gives_one_proxy_per_slice():
    x = sample_data((3, 2, 7, 7), torch.float32)
    q = randquant.randomized_quantize(x, 1)
    flat = q.flatten(2)
    assert (flat == flat[:, :, :1]).all()
    assert_same(quantize(x, 1), quantize_uniform(x, 1))
