"""The drop-in module in DataLoader worker processes, and argument types."""

import pytest
import torch

from randquant import RandomizedQuantizationAugModule, randomized_quantize


class _SameImage(torch.utils.data.Dataset):
    """64 copies of one image, quantized by a module (transforms_like)."""

    def __init__(self, module):
        self.image = torch.arange(3 * 8 * 8, dtype=torch.float32).view(3, 8, 8)
        self.module = module

    def __len__(self):
        return 64

    def __getitem__(self, index):
        return self.module(self.image)


def _all_outputs(seed, workers):
    torch.manual_seed(seed)
    module = RandomizedQuantizationAugModule(
        8, transforms_like=True,
        generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(_SameImage(module), batch_size=8,
                                         num_workers=workers)
    return torch.cat([batch for batch in loader])


def test_workers_draw_distinct_streams_and_a_seed_reproduces():
    first = _all_outputs(seed=1, workers=2)
    assert first.shape == (64, 3, 8, 8)
    flat = first.view(64, -1)
    distinct = {tuple(row.tolist()) for row in flat}
    assert len(distinct) == 64, f"{64 - len(distinct)} repeated outputs"
    assert torch.equal(first, _all_outputs(seed=1, workers=2))
    assert not torch.equal(first, _all_outputs(seed=2, workers=2))


def test_main_process_draws_from_the_generator_itself():
    g = torch.Generator().manual_seed(4)
    module = RandomizedQuantizationAugModule(8, generator=g)
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(module(x),
                       randomized_quantize(x, 8, generator=torch.Generator()
                                           .manual_seed(4)))


@pytest.mark.parametrize("name, value", [
    ("regions", 8.7), ("regions", 8.0), ("regions", True),
    ("max_regions", 16.5), ("channel_dim", 0.5), ("regions", "8")])
def test_non_integer_counts_are_errors(name, value):
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=f"{name} must be an integer"):
        randomized_quantize(x, **{name: value})


def test_numpy_integers_are_integers():
    np = pytest.importorskip("numpy")
    x = torch.randn(2, 3, 8, 8)
    g = torch.Generator()
    assert torch.equal(
        randomized_quantize(x, np.int64(8), generator=g.manual_seed(1)),
        randomized_quantize(x, 8, generator=g.manual_seed(1)))
