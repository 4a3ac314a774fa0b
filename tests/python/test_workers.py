"""The drop-in module in DataLoader worker processes, and argument types."""

import pytest
import torch

from randquant import RandomizedQuantizationAugModule, randomized_quantize


# Every start method DataLoader workers can have: fork (Linux's default up to
# Python 3.13), forkserver (the default from Python 3.14) and spawn. Under the
# last two the dataset, with its modules, reaches each worker by pickling.
START_METHODS = ["fork", "forkserver", "spawn"]


class _SameImage(torch.utils.data.Dataset):
    """64 copies of one image, quantized by two modules (transforms_like):
    one with an explicit generator, one drawing from the default one."""

    def __init__(self, generator_seed):
        self.image = torch.arange(3 * 8 * 8, dtype=torch.float32).view(3, 8, 8)
        self.explicit = RandomizedQuantizationAugModule(
            8, transforms_like=True,
            generator=torch.Generator().manual_seed(generator_seed))
        self.default = RandomizedQuantizationAugModule(8, transforms_like=True)

    def __len__(self):
        return 64

    def __getitem__(self, index):
        return self.explicit(self.image), self.default(self.image)


def _all_outputs(start_method, seed, generator_seed=0, workers=2):
    """(explicit-generator outputs, default-generator outputs), 64 each."""
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        _SameImage(generator_seed), batch_size=8, num_workers=workers,
        multiprocessing_context=start_method)
    explicit, default = zip(*loader)
    return torch.cat(explicit), torch.cat(default)


def _distinct_rows(t):
    return len({tuple(row.tolist()) for row in t.view(t.shape[0], -1)})


@pytest.mark.parametrize("start_method", START_METHODS)
def test_workers_draw_distinct_streams_and_a_seed_reproduces(start_method):
    first = _all_outputs(start_method, seed=1)
    again = _all_outputs(start_method, seed=1)
    other_seed = _all_outputs(start_method, seed=2)
    for name, which in (("explicit generator", 0), ("default generator", 1)):
        out = first[which]
        assert out.shape == (64, 3, 8, 8)
        assert _distinct_rows(out) == 64, (
            f"{name}: {64 - _distinct_rows(out)} repeated outputs")
        assert torch.equal(out, again[which]), f"{name}: not reproduced"
        assert not torch.equal(out, other_seed[which]), (
            f"{name}: another torch.manual_seed gave the same outputs")
    # Another seed of the module's own generator changes its draws.
    assert not torch.equal(
        first[0], _all_outputs(start_method, seed=1, generator_seed=5)[0])


def test_the_module_pickles_its_generator_state():
    import pickle
    g = torch.Generator().manual_seed(7)
    torch.rand(3, generator=g)  # a state that is not a fresh seed's
    module = RandomizedQuantizationAugModule(8, generator=g)
    copy = pickle.loads(pickle.dumps(module))
    assert copy.generator is not g
    assert torch.equal(copy.generator.get_state(), g.get_state())
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(copy(x), module(x))
    assert pickle.loads(pickle.dumps(
        RandomizedQuantizationAugModule(8))).generator is None


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


# --- sample-keyed draws ----------------------------------------------------

def test_keyed_batch_equals_its_samples_in_any_order():
    x = torch.randn(5, 3, 8, 8)
    index = [40, 7, 2**40, 0, 9]
    batch = randomized_quantize(x, 8, p=0.7, max_regions=20, index=index,
                                seed=3, epoch=1)
    for n in range(5):
        one = randomized_quantize(x[n], 8, p=0.7, max_regions=20,
                                  batched=False, index=[index[n]], seed=3,
                                  epoch=1)
        assert torch.equal(one, batch[n])
    order = [3, 0, 4, 1, 2]
    permuted = randomized_quantize(x[order], 8, p=0.7, max_regions=20,
                                   index=[index[i] for i in order], seed=3,
                                   epoch=1)
    assert torch.equal(permuted, batch[order])
    assert not torch.equal(batch, randomized_quantize(
        x, 8, p=0.7, max_regions=20, index=index, seed=3, epoch=2))


def test_keyed_calls_match_the_cpp_keys_and_check_them():
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match="keys.index must hold one index"):
        randomized_quantize(x, 8, index=[1, 2, 3])
    with pytest.raises(RuntimeError, match="keys.index must be >= 0"):
        randomized_quantize(x, 8, index=[1, -2])
    with pytest.raises(RuntimeError, match="seed must be >= 0"):
        randomized_quantize(x, 8, index=[1, 2], seed=-1)
    with pytest.raises(ValueError, match="either generator or index"):
        randomized_quantize(x, 8, index=[1, 2], generator=torch.Generator())
    fake = torch.empty(2, 3, 8, 8, device="meta")
    out = torch.ops.randquant.randomized_quantize_keyed(
        fake, torch.tensor([1, 2]), 0, 0)
    assert out.shape == fake.shape and out.device.type == "meta"


def test_the_module_takes_index_with_its_seed_and_epoch():
    module = RandomizedQuantizationAugModule(8, seed=5)
    x = torch.randn(3, 3, 8, 8)
    a = module(x, index=[4, 5, 6])
    assert torch.equal(a, randomized_quantize(x, 8, index=[4, 5, 6], seed=5))
    module.epoch = 1
    assert not torch.equal(a, module(x, index=[4, 5, 6]))


class _KeyedImages(torch.utils.data.Dataset):
    """Examples keyed by their index: the same whatever the workers."""

    def __init__(self):
        self.images = torch.randn(48, 3, 8, 8, generator=torch.Generator()
                                  .manual_seed(2))
        self.module = RandomizedQuantizationAugModule(
            8, transforms_like=True, seed=11)

    def __len__(self):
        return 48

    def __getitem__(self, i):
        return self.module(self.images[i], index=[i]), i


def _keyed_epoch(workers, batch_size, start_method=None):
    loader = torch.utils.data.DataLoader(
        _KeyedImages(), shuffle=True, batch_size=batch_size,
        num_workers=workers,
        multiprocessing_context=start_method if workers else None)
    out = torch.empty(48, 3, 8, 8)
    for data, index in loader:
        out[index] = data
    return out


@pytest.mark.parametrize("start_method", START_METHODS)
def test_keyed_examples_are_the_same_for_any_workers_and_batch_size(
        start_method):
    reference = _keyed_epoch(0, 1)
    for workers, batch_size in [(2, 7), (2, 16)]:
        assert torch.equal(_keyed_epoch(workers, batch_size, start_method),
                           reference)
