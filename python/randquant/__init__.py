"""randquant: Randomized Quantization (Wu et al., ICCV 2023) for PyTorch.

A thin pure-Python layer over ``torch.ops.randquant.randomized_quantize``,
which runs randquant's fused C++ kernel (the header-only LibTorch library in
this repository). The operator library ``librandquant_ops.so`` is looked for,
in this order:

1. the path in the environment variable ``RANDQUANT_OPS_LIBRARY``;
2. next to this package (``randquant/_randquant_ops*.so``, built by
   ``pip install``, or ``randquant/librandquant_ops.so``, installed by CMake);
3. the repository's build tree (``<repo>/build/python/``), for a checkout
   built with ``cmake -S . -B build``.

If the operator is already registered (e.g. loaded by the host program), no
library is loaded.

Intentional differences from the authors' ``RandomizedQuantizationAugModule``
(see the repository's SPEC.md):

- proxies stay inside ``[lo, hi]`` of their slice: the reference widens the
  last region to ``hi + 1e-6`` (proxies) and ``hi + 1`` (membership), which
  matters for float16, bfloat16 and integer dtypes;
- the ``p`` coin is drawn per sample (batched) or once for the whole input
  (unbatched, ``transforms_like=True``); the reference draws it per channel in
  its unbatched mode;
- NaN and +-Inf pass through unchanged and are ignored by min/max (the
  reference fails its assertion); a slice without finite values is copied;
- any rank, any ``channel_dim``, any strides, integer dtypes (round half to
  even); optionally a per-slice number of regions (``max_regions``);
- randomness is counter-based (Philox) and keyed from one draw of a
  ``torch.Generator`` (CPU, or CUDA for CUDA tensors), so results do not
  depend on threads or memory layout.
"""

import operator
import os
import warnings
from pathlib import Path

import torch

__all__ = [
    "randomized_quantize",
    "RandomizedQuantizationAugModule",
    "library_path",
]

_LIBRARY_NAMES = ("librandquant_ops.so", "librandquant_ops.dylib",
                  "randquant_ops.dll")

#: Path of the operator library that was loaded (None: the operator was
#: already registered when this package was imported).
library_path = None


def _registered():
    """True when torch.ops.randquant.randomized_quantize exists."""
    try:
        torch.ops.randquant.randomized_quantize
    except (RuntimeError, AttributeError):
        return False
    return True


def _candidates():
    """Places to look for the operator library, in order."""
    here = Path(__file__).resolve().parent
    build_dirs = [here, here.parent.parent / "build" / "python"]
    # pip install (setup.py) builds it as an extension next to the package.
    pip_built = sorted(here.glob("_randquant_ops*.so"))
    return pip_built + [d / name for d in build_dirs for name in _LIBRARY_NAMES]


def _load_library():
    """Loads the operator library (see the module docstring for where)."""
    global library_path
    if _registered():
        return
    env = os.environ.get("RANDQUANT_OPS_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise ImportError(
                f"randquant: RANDQUANT_OPS_LIBRARY={env!r} is not a file")
        paths = [Path(env)]
    else:
        paths = [p for p in _candidates() if p.is_file()]
    if not paths:
        tried = ", ".join(str(p) for p in _candidates())
        raise ImportError(
            "randquant: operator library not found; build the CMake target "
            "randquant_ops and set RANDQUANT_OPS_LIBRARY to it (looked at: "
            f"{tried})")
    torch.ops.load_library(str(paths[0]))
    library_path = str(paths[0])


_load_library()


def _integer(name, value, entry="randomized_quantize"):
    """``value`` as an int; a ValueError naming ``entry`` and the argument
    otherwise.

    bool and non-integral numbers (``regions=8.7``) are errors rather than
    silently truncated; Python and NumPy integers pass.
    """
    if isinstance(value, bool):
        raise ValueError(f"{entry}: {name} must be an integer, "
                         f"got {name} = {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{entry}: {name} must be an integer, "
                         f"got {name} = {value!r}") from None


_gradient_cut_warned = False


def _warn_gradient_cut(x, entry):
    """Says once per process that a call cuts the gradient ``x`` requires.

    Without ``straight_through`` the output carries no gradient, so every
    layer before the call silently gets none; a detached ``x`` (data) is
    silent.
    """
    global _gradient_cut_warned
    if _gradient_cut_warned or not (x.requires_grad
                                    and torch.is_grad_enabled()):
        return
    _gradient_cut_warned = True
    warnings.warn(
        f"{entry}: the input requires grad, but the output carries no "
        "gradient (straight_through is False), so backward stops here and "
        "nothing before this call gets a gradient. Pass "
        "straight_through=True to hand the gradient through unchanged, or "
        "x.detach() to say the cut is meant.", UserWarning, stacklevel=3)


class _StraightThrough(torch.autograd.Function):
    """y = q in the forward pass; dy/dx = identity in the backward pass."""

    @staticmethod
    def forward(ctx, x, q):
        return q

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def randomized_quantize(x, regions=8, collapse="inside_random",
                        spacing="random", p=1.0, batched=True, channel_dim=0,
                        max_regions=0, generator=None, straight_through=False,
                        *, index=None, seed=0, epoch=0):
    """Randomized Quantization of ``x``; returns a new tensor.

    Every slice (one sample's channel: all of its H x W pixels, F x T bins, P
    points or L tokens) goes through its own random quantizer: R - 1 cut
    points between the slice's finite min ``lo`` and max ``hi`` split it into
    R regions, and every finite value becomes its region's proxy.

    Args:
        x: floating or integer tensor (not bool or complex), any strides.
        regions: R, 1 .. 1024 (the reference's ``region_num``).
        collapse: proxy per region: ``'inside_random'`` (left + w * (right -
            left), w ~ U[0, 1)), ``'middle'`` or ``'all_zeros'`` (also
            ``'zeros'``); the reference's ``collapse_to_val``.
        spacing: ``'random'`` (lo + u * (hi - lo), u ~ U[0, 1), sorted) or
            ``'uniform'`` (lo + k / R * (hi - lo)).
        p: probability that a sample (batched) or the whole input (unbatched)
            is quantized; otherwise it is returned bit for bit.
        batched: dim 0 is the batch; False: ``x`` is one sample.
        channel_dim: channel dimension within one sample (negative counts from
            the end): 0 for (N, C, H, W), -1 for (N, P, 3) point clouds.
        max_regions: 0, or each slice draws R uniformly from
            [regions, max_regions].
        generator: a ``torch.Generator`` (default: the default generator of
            ``x``'s device); the call draws one 64-bit key from it, so the
            same generator state gives the same output. A CPU generator
            serves any device (a CUDA tensor then gets the CPU's bits); a
            CUDA generator serves CUDA tensors on its device.
        straight_through: if True and ``x`` requires grad, the backward pass
            hands the incoming gradient to ``x`` unchanged (augmenting
            activations of a network in training). Otherwise the output
            carries no gradient.
        index: (keyword only) sample-keyed draws instead of a generator: the
            global index of each sample (an integer tensor, or a sequence of
            ints; one per sample, one for unbatched ``x``). Sample n's draws
            then depend only on (seed, epoch, index[n], channel): the same
            in any batch, position, worker or process.
        seed, epoch: (keyword only, with ``index``) the run's seed and the
            epoch, integers >= 0.

    Raises:
        RuntimeError: carrying randquant's C++ message, which names the bad
            argument and its value; ``x`` is left unchanged.
        ValueError: ``regions``, ``max_regions`` or ``channel_dim`` is not an
            integer (``regions=8.7``).
    """
    if index is not None:
        if generator is not None:
            raise ValueError("randomized_quantize: pass either generator or "
                             "index (sample keys), not both")
        if not isinstance(index, torch.Tensor):
            index = torch.tensor(index, dtype=torch.int64)
        q = torch.ops.randquant.randomized_quantize_keyed(
            x, index, _integer("seed", seed), _integer("epoch", epoch),
            _integer("regions", regions), _integer("max_regions", max_regions),
            str(collapse), str(spacing), float(p), bool(batched),
            _integer("channel_dim", channel_dim))
    else:
        q = torch.ops.randquant.randomized_quantize(
            x, _integer("regions", regions),
            _integer("max_regions", max_regions), str(collapse), str(spacing),
            float(p), bool(batched), _integer("channel_dim", channel_dim),
            generator)
    if not straight_through:
        _warn_gradient_cut(x, "randomized_quantize")
        return q
    if x.requires_grad and torch.is_grad_enabled():
        return _StraightThrough.apply(x, q)
    return q


class _SavedGenerator:
    """A ``torch.Generator`` as plain data: its device and its state.

    The state is kept as ``bytes``, not as the uint8 tensor ``get_state()``
    returns: a tensor reaches DataLoader workers through torch's
    shared-memory pickling, which failed for this one in workers of torch
    1.13 under ``forkserver`` and ``spawn`` ("unable to resize file"); bytes
    pickle as they are.
    """

    def __init__(self, generator):
        self.device = str(generator.device)
        self.state = bytes(generator.get_state().tolist())

    def rebuild(self):
        """A new generator on ``device`` in the saved state."""
        g = torch.Generator(device=self.device)
        g.set_state(torch.tensor(list(self.state), dtype=torch.uint8))
        return g


class RandomizedQuantizationAugModule(torch.nn.Module):
    """Drop-in replacement for the authors' module of the same name.

    The constructor's positional arguments are the authors' ones, so existing
    code switches with one import::

        from randquant import RandomizedQuantizationAugModule

    Args:
        region_num: R, the number of regions per slice.
        collapse_to_val: ``'inside_random'``, ``'middle'`` or ``'all_zeros'``.
        spacing: ``'random'`` or ``'uniform'``.
        transforms_like: False: ``x`` is a batch (B, C, ...), one slice per
            (sample, channel). True: ``x`` is one sample (C, ...), as in a
            per-example dataset transform.
        p_random_apply_rand_quant: probability of quantizing a sample (a
            batch's sample, or the whole input when ``transforms_like``); the
            reference draws per channel there, randquant per sample.
        generator: (keyword only) a ``torch.Generator``; default: the
            default generator of the input's device. In a DataLoader worker
            process (which holds a copy of the generator's state: forked, or
            pickled under ``spawn`` and ``forkserver``, where the module
            sends the state and rebuilds the generator) the module draws
            from a stream of that worker's own, seeded from the copied state
            and the worker's seed, so workers never repeat each other's
            draws, each epoch differs, and a fixed ``torch.manual_seed`` (or
            loader generator), generator seed and worker count reproduce,
            under every start method.
        identity_in_eval: (keyword only) False (default) quantizes in eval
            mode too, as the authors' module does; True makes the module the
            identity in eval mode, like ``torch.nn.Dropout`` (and like
            randquant's C++ module).
        seed, epoch: (keyword only) the keys of ``forward(x, index=...)``;
            ``epoch`` is an attribute to set every epoch.
        straight_through: (keyword only) False (default): the output
            carries no gradient (an augmentation; a warning says so once when
            the input requires grad). True: backward hands the incoming
            gradient to the input unchanged (a layer inside a network).

    The options are checked at construction by the same C++ checks as
    randquant's ``RandomizedQuantizationOptions`` (``region_num`` in [1,
    1024], ``p`` in [0, 1], known ``collapse_to_val`` and ``spacing``): a
    ``RuntimeError`` (``ValueError`` for a non-integer ``region_num``)
    naming ``RandomizedQuantizationAugModule``.

    ``state_dict()`` holds the generator's device and state (as extra
    state) when a generator is set, and ``load_state_dict()`` restores it
    (into the module's generator, or a new one on the saved device), so a
    resumed run draws what the uninterrupted one would have drawn.

    The attributes keep the reference's names and are read at every call.
    Besides the differences listed in the package docstring (proxies inside
    [lo, hi], per-sample coin, NaN/Inf pass through), any rank and integer
    dtypes are accepted, and the reference's ``get_params`` is not provided.
    """

    def __init__(self, region_num, collapse_to_val="inside_random",
                 spacing="random", transforms_like=False,
                 p_random_apply_rand_quant=1, *, generator=None,
                 identity_in_eval=False, seed=0, epoch=0,
                 straight_through=False):
        super().__init__()
        entry = "RandomizedQuantizationAugModule"
        torch.ops.randquant.check_options(
            _integer("region_num", region_num, entry), 0,
            str(collapse_to_val), str(spacing),
            float(p_random_apply_rand_quant), 0, entry)
        if generator is not None and not isinstance(generator,
                                                    torch.Generator):
            raise TypeError(f"{entry}: generator must be a torch.Generator "
                            f"or None, got {type(generator).__name__}")
        self.region_num = region_num
        self.collapse_to_val = collapse_to_val
        self.spacing = spacing
        self.transforms_like = transforms_like
        self.p_random_apply_rand_quant = p_random_apply_rand_quant
        self.generator = generator
        self.identity_in_eval = identity_in_eval
        self.seed = seed
        self.epoch = epoch
        self.straight_through = straight_through

    def forward(self, x, index=None):
        """Quantized ``x`` (or ``x`` itself in eval with identity_in_eval).

        With ``index`` (the global index of each sample) the draws are keyed
        by (``self.seed``, ``self.epoch``, index, channel) instead of the
        generator; set ``self.epoch`` every epoch.
        """
        if self.identity_in_eval and not self.training:
            return x
        straight_through = bool(getattr(self, "straight_through", False))
        if not straight_through:
            _warn_gradient_cut(x, "RandomizedQuantizationAugModule")
        if index is not None:
            return randomized_quantize(
                x, regions=self.region_num, collapse=self.collapse_to_val,
                spacing=self.spacing, p=self.p_random_apply_rand_quant,
                batched=not self.transforms_like, index=index,
                seed=self.seed, epoch=self.epoch,
                straight_through=straight_through)
        return randomized_quantize(
            x, regions=self.region_num, collapse=self.collapse_to_val,
            spacing=self.spacing, p=self.p_random_apply_rand_quant,
            batched=not self.transforms_like,
            generator=self._generator_in_this_process(),
            straight_through=straight_through)

    def get_extra_state(self):
        """The generator's device and state (empty without a generator)."""
        g = self.generator
        if g is None:
            return {}
        return {"generator_device": str(g.device),
                "generator_state": g.get_state()}

    def set_extra_state(self, state):
        """Restores ``get_extra_state()``'s generator state: into the
        module's generator, or a new generator on the saved device."""
        saved = state.get("generator_state") if state else None
        if saved is None:
            return
        if self.generator is None:
            self.generator = torch.Generator(
                device=state.get("generator_device", "cpu"))
        self.generator.set_state(saved)
        self.__dict__.pop("_worker_stream", None)

    def _generator_in_this_process(self):
        """``self.generator``, or in a DataLoader worker its own stream.

        Forked workers start from the same copy of the generator's state, so
        drawing from it directly would repeat the same keys in every worker.
        The worker's stream is seeded from a draw on a copy of that state
        (the worker's copy is left as forked) mixed with the worker's seed
        (``get_worker_info().seed``: the loader's base seed plus the worker
        id, drawn anew every epoch).
        """
        g = self.generator
        if g is None:
            return None
        info = torch.utils.data.get_worker_info()
        if info is None:
            return g
        cached = self.__dict__.get("_worker_stream")
        if cached is not None and cached[0] is g and cached[1] == info.seed:
            return cached[2]
        copy = torch.Generator(device=g.device)
        copy.set_state(g.get_state())
        drawn = int(torch.randint(0, 2**62, (1,), generator=copy,
                                  device=g.device))
        stream = torch.Generator(device=g.device)
        stream.manual_seed((drawn ^ (info.seed * 0x9E3779B97F4A7C15))
                           % 2**63)
        self.__dict__["_worker_stream"] = (g, info.seed, stream)
        return stream

    def __getstate__(self):
        """The module's state for pickling, its generator as a saved state.

        DataLoader workers started with ``spawn`` or ``forkserver`` (Python
        3.14's default) receive the dataset, and so this module, by
        pickling; a ``torch.Generator`` cannot be pickled. Its device and
        ``get_state()`` travel instead, and ``__setstate__`` rebuilds an
        equal generator, so a worker then derives its own stream from it as a
        forked worker does. The worker stream cache is not sent.
        """
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent() if parent is not None else self.__dict__)
        state.pop("_worker_stream", None)
        g = state.get("generator")
        if isinstance(g, torch.Generator):
            state["generator"] = _SavedGenerator(g)
        return state

    def __setstate__(self, state):
        """Restores ``__getstate__``'s state, rebuilding the generator."""
        state = dict(state)
        saved = state.get("generator")
        if isinstance(saved, _SavedGenerator):
            state["generator"] = saved.rebuild()
        super().__setstate__(state)

    def extra_repr(self):
        return (f"region_num={self.region_num}, "
                f"collapse_to_val={self.collapse_to_val!r}, "
                f"spacing={self.spacing!r}, "
                f"transforms_like={self.transforms_like}, "
                f"p_random_apply_rand_quant={self.p_random_apply_rand_quant}, "
                f"straight_through={getattr(self, 'straight_through', False)}")
