"""torch.ops.randquant.randomized_quantize as a dispatcher operator: its
Meta and Autograd kernels, torch.library.opcheck, torch.compile and
TorchScript."""

import pytest
import torch

from randquant import RandomizedQuantizationAugModule, randomized_quantize

op = torch.ops.randquant.randomized_quantize
TORCH_2 = int(torch.__version__.split(".")[0]) >= 2


def _layouts():
    """(N, C, H, W) float tensors in several layouts, and other shapes."""
    x = torch.randn(2, 3, 5, 7)
    return [
        x,
        x.contiguous(memory_format=torch.channels_last),
        torch.randn(2, 3, 5, 14)[..., ::2],
        torch.randn(2, 3, 4, 5, 6).permute(0, 1, 4, 2, 3),
        torch.randint(0, 256, (4, 10, 3), dtype=torch.uint8),
    ]


def test_meta_kernel_gives_the_real_outputs_shape_dtype_and_strides():
    for x in _layouts():
        fake = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype,
                                   device="meta")
        y, y_meta = op(x), op(fake)
        assert y_meta.device.type == "meta"
        assert (y_meta.shape, y_meta.dtype) == (y.shape, y.dtype)
        assert y_meta.stride() == y.stride()


def test_meta_kernel_checks_the_arguments():
    x = torch.empty(2, 3, 4, 4, device="meta")
    with pytest.raises(RuntimeError, match="regions must be in"):
        op(x, 0)
    with pytest.raises(RuntimeError, match="channel_dim must be in"):
        op(x, 8, 0, "inside_random", "random", 1.0, True, 7)


def test_the_operator_output_never_requires_grad():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    assert not op(x).requires_grad
    assert not randomized_quantize(x).requires_grad
    assert randomized_quantize(x, straight_through=True).requires_grad


@pytest.mark.skipif(not hasattr(torch.library, "opcheck"),
                    reason="torch.library.opcheck needs torch 2.4 or later")
def test_opcheck():
    cases = [
        ((torch.randn(2, 3, 8, 8),), {}),
        ((torch.randn(2, 3, 8, 8).contiguous(
            memory_format=torch.channels_last), 16), {}),
        ((torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8), 300), {}),
        ((torch.randn(4, 10, 3), 8, 0, "middle", "uniform", 0.5, True, -1),
         {}),
        ((torch.randn(3, 8, 8, dtype=torch.float64), 5, 9), {"batched": False}),
        ((torch.randn(2, 3, 8, 8, requires_grad=True),), {}),
    ]
    for args, kwargs in cases:
        torch.library.opcheck(op, args, kwargs)
    # The sample-keyed operator: a pure function of its arguments.
    keyed = torch.ops.randquant.randomized_quantize_keyed
    torch.library.opcheck(keyed, (torch.randn(2, 3, 8, 8),
                                  torch.tensor([4, 9]), 3, 1))
    torch.library.opcheck(keyed, (torch.randint(0, 256, (3, 8, 8),
                                                dtype=torch.uint8),
                                  torch.tensor([2]), 3, 1, 40),
                          {"batched": False})
    # An explicit generator: everything but AOT dispatch, whose FX tracing
    # cannot take a torch.Generator argument (a limit of torch.fx, for any
    # operator with one).
    torch.library.opcheck(
        op, (torch.randn(2, 3, 8, 8),),
        {"generator": torch.Generator().manual_seed(0)},
        test_utils=("test_schema", "test_autograd_registration",
                    "test_faketensor"))


def _slices_ok(x, q, regions):
    """At most `regions` values per slice, all inside the slice's range."""
    for xs, qs in zip(x.flatten(2).unbind(0), q.flatten(2).unbind(0)):
        for xc, qc in zip(xs, qs):
            if qc.unique().numel() > regions:
                return False
            if qc.min() < xc.min() or qc.max() > xc.max():
                return False
    return True


@pytest.mark.skipif(not TORCH_2, reason="torch.compile needs torch 2")
def test_torch_compile_fullgraph_has_no_graph_break():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rq = RandomizedQuantizationAugModule(8)
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            q = self.rq(x)
            return q, self.conv(q)

    net = Net()
    compiled = torch.compile(net, fullgraph=True)
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(7)
    q, y = compiled(x)
    assert y.shape == (4, 4, 14, 14)
    assert _slices_ok(x, q, 8)
    # The op draws its key from the default generator in both: with the
    # same seed, eager and compiled give the same bits.
    torch.manual_seed(7)
    q_eager, _ = net(x)
    assert torch.equal(q, q_eager)


def test_torchscript_calls_the_operator():
    class Scripted(torch.nn.Module):
        def forward(self, x):
            return torch.ops.randquant.randomized_quantize(x, 8)

    scripted = torch.jit.script(Scripted())
    x = torch.randn(2, 3, 8, 8)
    torch.manual_seed(3)
    a = scripted(x)
    torch.manual_seed(3)
    assert torch.equal(a, op(x, 8))
    assert _slices_ok(x, a, 8)
