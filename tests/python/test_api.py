"""The Python API: generators, layout invariance of the random modes, errors,
the straight-through gradient, the raw operator and the drop-in module."""

import inspect
import math

import pytest
import torch

import randquant
from randquant import RandomizedQuantizationAugModule, randomized_quantize
from reference_module import reference_quantize


def gen(seed):
    return torch.Generator().manual_seed(seed)


# --- generators -----------------------------------------------------------

def test_same_generator_seed_gives_same_output():
    x = torch.randn(4, 3, 16, 16)
    a = randomized_quantize(x, 8, generator=gen(1))
    b = randomized_quantize(x, 8, generator=gen(1))
    c = randomized_quantize(x, 8, generator=gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_a_call_advances_the_generator():
    x = torch.randn(4, 3, 16, 16)
    g = gen(3)
    assert not torch.equal(randomized_quantize(x, 8, generator=g),
                           randomized_quantize(x, 8, generator=g))


def test_default_generator_follows_manual_seed():
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(5)
    a = randomized_quantize(x, 8, max_regions=16, p=0.5)
    torch.manual_seed(5)
    b = randomized_quantize(x, 8, max_regions=16, p=0.5)
    assert torch.equal(a, b)


# --- layout invariance of the random modes (SPEC: Randomness) -------------

def test_random_output_does_not_depend_on_strides():
    x = torch.randn(4, 3, 20, 20)
    base = randomized_quantize(x[:, :, ::2, ::2].contiguous(), 8,
                               generator=gen(6))
    assert torch.equal(randomized_quantize(x[:, :, ::2, ::2], 8,
                                           generator=gen(6)), base)
    cl = x.contiguous(memory_format=torch.channels_last)
    q = randomized_quantize(cl, 8, generator=gen(7))
    assert torch.equal(q, randomized_quantize(x, 8, generator=gen(7)))
    assert q.is_contiguous(memory_format=torch.channels_last)


def test_moving_the_channel_dim_moves_the_output():
    x = torch.randn(4, 3, 10, 10)
    q = randomized_quantize(x, 8, max_regions=12, generator=gen(8))
    moved = randomized_quantize(x.movedim(1, -1), 8, max_regions=12,
                                channel_dim=-1, generator=gen(8))
    assert torch.equal(moved, q.movedim(1, -1))


def test_unbatched_sample_equals_a_batch_of_one():
    x = torch.randn(3, 12, 12)
    one = randomized_quantize(x, 8, batched=False, generator=gen(9))
    assert torch.equal(one, randomized_quantize(x[None], 8,
                                                generator=gen(9))[0])


# --- errors ---------------------------------------------------------------

X4 = torch.randn(2, 3, 4, 4)


@pytest.mark.parametrize("x, kwargs, words", [
    (X4, dict(regions=0), ["regions", "0"]),
    (X4, dict(regions=1025), ["regions", "1025"]),
    (X4, dict(regions=8, max_regions=4), ["max_regions", "4"]),
    (X4, dict(p=1.5), ["p", "1.5"]),
    (X4, dict(p=-0.1), ["p", "-0.1"]),
    (X4, dict(p=math.nan), ["p", "nan"]),
    (X4, dict(channel_dim=3), ["channel_dim", "3"]),
    (X4, dict(channel_dim=-4), ["channel_dim", "-4"]),
    (torch.randn(5), dict(), ["batched", "dim"]),
    (torch.zeros(2, 3, dtype=torch.bool), dict(), ["dtype", "Bool"]),
    (torch.zeros(2, 3, dtype=torch.cfloat), dict(), ["dtype", "Complex"]),
    (X4, dict(collapse="median"), ["collapse", "median"]),
    (X4, dict(spacing="log"), ["spacing", "log"]),
], ids=["regions0", "regions1025", "max_regions", "p>1", "p<0", "p_nan",
        "channel_dim", "channel_dim_neg", "too_few_dims", "bool", "complex",
        "collapse", "spacing"])
def test_errors_name_the_argument_and_value(x, kwargs, words):
    before = x.clone()
    with pytest.raises(RuntimeError) as info:
        randomized_quantize(x, **kwargs)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert torch.equal(x, before)


def test_unbatched_needs_one_dimension():
    with pytest.raises(RuntimeError, match="batched = false"):
        randomized_quantize(torch.tensor(1.0), batched=False)


# --- gradient ---------------------------------------------------------------

def test_no_gradient_by_default():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    assert not randomized_quantize(x).requires_grad


def test_straight_through_passes_the_gradient():
    x = torch.randn(2, 5, 7, requires_grad=True)
    y = randomized_quantize(x, 4, channel_dim=-1, straight_through=True,
                            generator=gen(11))
    assert y.requires_grad
    assert torch.equal(y.detach(), randomized_quantize(
        x.detach(), 4, channel_dim=-1, generator=gen(11)))
    weight = torch.randn_like(y)
    (y * weight).sum().backward()
    assert torch.equal(x.grad, weight)


# --- the raw operator -------------------------------------------------------

def test_operator_schema_and_torchscript():
    schema = str(torch.ops.randquant.randomized_quantize.default._schema)
    assert "Generator? generator=None" in schema

    @torch.jit.script
    def scripted(x: torch.Tensor) -> torch.Tensor:
        return torch.ops.randquant.randomized_quantize(
            x, 4, collapse="middle", spacing="uniform")

    x = torch.randn(2, 3, 8)
    assert torch.equal(scripted(x), randomized_quantize(
        x, 4, collapse="middle", spacing="uniform"))


# --- the drop-in module -----------------------------------------------------

def test_module_constructor_matches_the_authors():
    params = list(inspect.signature(
        RandomizedQuantizationAugModule).parameters.values())
    assert [(p.name, p.default) for p in params[:5]] == [
        ("region_num", inspect.Parameter.empty),
        ("collapse_to_val", "inside_random"), ("spacing", "random"),
        ("transforms_like", False), ("p_random_apply_rand_quant", 1)]
    assert all(p.kind == p.KEYWORD_ONLY for p in params[5:])


def test_module_matches_the_reference_in_the_deterministic_mode():
    # Integer-valued data, lo = 0, hi = 255: no value sits on a cut, and the
    # reference's hi + 1e-6 widening moves the last proxy by 5e-7 only.
    x = torch.randint(0, 256, (4, 3, 16, 16)).float()
    x[:, :, 0, 0], x[:, :, 0, 1] = 0, 255
    module = RandomizedQuantizationAugModule(8, "middle", "uniform")
    expected = reference_quantize(x, 8, "middle", "uniform")
    assert torch.allclose(module(x), expected, rtol=0, atol=1e-5)
    zeros = RandomizedQuantizationAugModule(8, "all_zeros")
    assert torch.equal(zeros(x), torch.zeros_like(x))


def test_module_transforms_like_is_one_sample():
    x = torch.randn(3, 16, 16)
    m = RandomizedQuantizationAugModule(8, transforms_like=True,
                                        generator=gen(10))
    q = m(x)
    assert q.shape == x.shape
    assert torch.equal(q, randomized_quantize(x, 8, batched=False,
                                              generator=gen(10)))


def test_module_probability_and_modes():
    x = torch.randn(200, 3, 8, 8)
    m = RandomizedQuantizationAugModule(8, p_random_apply_rand_quant=0)
    assert torch.equal(m(x), x)
    m = RandomizedQuantizationAugModule(8, p_random_apply_rand_quant=0.5,
                                        generator=gen(12))
    changed = (m(x) != x).flatten(1).any(1).double().mean().item()
    assert abs(changed - 0.5) < 4 * math.sqrt(0.25 / 200)
    # As the authors' module, it quantizes in eval mode too ...
    m = RandomizedQuantizationAugModule(8).eval()
    assert not torch.equal(m(x), x)
    # ... unless asked to behave like Dropout.
    m = RandomizedQuantizationAugModule(8, identity_in_eval=True)
    assert not torch.equal(m(x), x)
    assert m.eval()(x) is x


def test_module_in_a_network():
    net = torch.nn.Sequential(RandomizedQuantizationAugModule(16),
                              torch.nn.Conv2d(3, 4, 3))
    assert net(torch.rand(2, 3, 10, 10)).shape == (2, 4, 8, 8)
    assert "region_num=16" in repr(net)
    assert "collapse_to_val='inside_random'" in repr(net)


def test_library_was_found():
    assert randquant.library_path is not None


# --- parity with the C++ API -------------------------------------------------

def test_errors_start_with_the_entry_called():
    with pytest.raises(RuntimeError) as info:
        randomized_quantize(X4, regions=0)
    assert str(info.value).startswith("randomized_quantize: regions"), \
        str(info.value)
    with pytest.raises(RuntimeError, match="^randomized_quantize: keys"):
        randomized_quantize(X4, index=[-1, 0])


@pytest.mark.parametrize("kwargs, words", [
    (dict(region_num=0), ["region", "0"]),
    (dict(region_num=2000), ["region", "2000"]),
    (dict(region_num=8, p_random_apply_rand_quant=1.5), ["p", "1.5"]),
    (dict(region_num=8, p_random_apply_rand_quant=math.nan), ["p", "nan"]),
    (dict(region_num=8, collapse_to_val="median"), ["collapse", "median"]),
    (dict(region_num=8, spacing="log"), ["spacing", "log"]),
], ids=["regions0", "regions2000", "p>1", "p_nan", "collapse", "spacing"])
def test_module_checks_its_options_at_construction(kwargs, words):
    with pytest.raises(RuntimeError) as info:
        RandomizedQuantizationAugModule(**kwargs)
    message = str(info.value)
    assert message.startswith("RandomizedQuantizationAugModule: "), message
    for word in words:
        assert word in message, message
    with pytest.raises(ValueError, match="RandomizedQuantizationAugModule"):
        RandomizedQuantizationAugModule(8.5)
    with pytest.raises(TypeError, match="generator"):
        RandomizedQuantizationAugModule(8, generator=3)


def test_module_straight_through_passes_the_gradient():
    x = torch.randn(2, 5, 7, requires_grad=True)
    module = RandomizedQuantizationAugModule(
        4, generator=gen(3), straight_through=True)
    y = module(x)
    assert y.requires_grad
    weight = torch.randn_like(y)
    (y * weight).sum().backward()
    assert torch.equal(x.grad, weight)
    assert "straight_through=True" in repr(module)
    plain = RandomizedQuantizationAugModule(4)
    assert not plain(x).requires_grad


def test_a_cut_gradient_warns_once_naming_straight_through(monkeypatch):
    monkeypatch.setattr(randquant, "_gradient_cut_warned", False)
    x = torch.randn(2, 3, 8, requires_grad=True)
    with pytest.warns(UserWarning) as record:
        randomized_quantize(x)
        randomized_quantize(x)
        RandomizedQuantizationAugModule(4)(x)
    messages = [str(w.message) for w in record
                if "straight_through" in str(w.message)]
    assert len(messages) == 1, messages
    assert messages[0].startswith("randomized_quantize: the input requires")
    monkeypatch.setattr(randquant, "_gradient_cut_warned", False)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        randomized_quantize(x.detach())
        randomized_quantize(x, straight_through=True)
        with torch.no_grad():
            randomized_quantize(x)


def test_state_dict_holds_the_generator_state():
    x = torch.randn(4, 3, 8, 8)
    run = RandomizedQuantizationAugModule(6, generator=gen(17))
    for _ in range(3):
        run(x)
    checkpoint = run.state_dict()
    uninterrupted = [run(x) for _ in range(3)]
    for generator in (None, gen(99)):
        resumed = RandomizedQuantizationAugModule(6, generator=generator)
        resumed.load_state_dict(checkpoint)
        assert resumed.generator is not None
        for step in range(3):
            assert torch.equal(resumed(x), uninterrupted[step]), step
    # Through torch.save / torch.load of the state dict, too.
    import io
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    resumed = RandomizedQuantizationAugModule(6)
    resumed.load_state_dict(torch.load(buffer))
    assert torch.equal(resumed(x), uninterrupted[0])
    # Without a generator there is nothing to restore, and loading keeps
    # the module's own.
    empty = RandomizedQuantizationAugModule(6).state_dict()
    mine = RandomizedQuantizationAugModule(6, generator=gen(5))
    mine.load_state_dict(empty)
    assert torch.equal(mine(x), RandomizedQuantizationAugModule(
        6, generator=gen(5))(x))
