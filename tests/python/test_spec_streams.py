"""randquant's random draws against an independent transcription of SPEC.md's
"Randomness" section (tests/python/spec_oracle.py): sample-keyed calls make
every draw a pure function of (seed, epoch, index, channel), so the oracle
predicts each output bit for bit, for every spacing, collapse, dtype, the R
range and the coin. A change of stream, counter word or draw index fails."""

import pytest
import torch

import randquant
import spec_oracle

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16,
          torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]


def _input(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 50 + 20
    if dtype.is_floating_point:
        return x.to(dtype)
    info = torch.iinfo(dtype)
    return x.round().clamp(info.min, info.max).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d).split(".")[-1])
@pytest.mark.parametrize("spacing", ["random", "uniform"])
@pytest.mark.parametrize("collapse", ["inside_random", "middle", "all_zeros"])
def test_keyed_calls_equal_the_transcription(dtype, spacing, collapse):
    x = _input(dtype, (6, 2, 5, 7), seed=len(str(dtype)) + len(spacing))
    x.view(-1)[4] = 7  # a repeated value, so ties are exercised
    if dtype.is_floating_point:
        x.view(-1)[9] = float("nan")
    seed, epoch, index = 11, 3, [5, 2**33 + 1, 0, 17, 3, 2**40]
    for regions, max_regions, p in [(5, 0, 1.0), (2, 9, 1.0), (4, 0, 0.5)]:
        q = randquant.randomized_quantize(
            x, regions, collapse=collapse, spacing=spacing, p=p,
            max_regions=max_regions, index=index, seed=seed, epoch=epoch)
        keys = [spec_oracle.sample_key(seed, epoch, i) for i in index]
        expected, params = spec_oracle.quantize_keyed(
            x, regions, sample_keys=keys, max_regions=max_regions,
            spacing=spacing, collapse=collapse, p=p)
        assert torch.equal(q.view(-1).view(torch.uint8),
                           expected.view(-1).view(torch.uint8)) or (
            torch.equal(torch.isnan(q), torch.isnan(expected)) and
            torch.equal(q.nan_to_num(), expected.nan_to_num())), (
            regions, max_regions, p)
        if max_regions:
            drawn = {s[2] for sample in params for s in sample["slices"] if s}
            assert len(drawn) > 1, "the R range drew one R only"
        if p < 1:
            coins = [sample["applied"] for sample in params]
            assert any(coins) and not all(coins), coins


def test_unbatched_keyed_call_and_channel_last():
    x = _input(torch.float32, (6, 4), seed=3)  # (P, C) points, channel last
    q = randquant.randomized_quantize(x, 3, batched=False, channel_dim=-1,
                                      index=[42], seed=9, epoch=0)
    expected, _ = spec_oracle.quantize_keyed(
        x, 3, sample_keys=[spec_oracle.sample_key(9, 0, 42)], batched=False,
        channel_dim=-1)
    assert torch.equal(q, expected)


def test_the_transcriptions_philox_and_sample_key_known_answers():
    # Random123's known answer for philox4x32_10.
    assert spec_oracle.philox4x32_10((0, 0, 0, 0), (0, 0)) == (
        0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert spec_oracle.philox4x32_10(
        (0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF)) == (
        0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
