"""gradlab's perturbation stages as PyTorch operations: one chain definition serves the engines and the networks.

A :class:`~gradlab.Chain` becomes an :class:`AnalogChain` module. Forward, every stage does what
its compiled kernel does (``Chain.apply``); backward, as in AnalogVNN 1.0.8, noise, quantization,
shot noise and bit flips pass the gradient straight through, and Clamp passes it only where its
input lies in [lo, hi] (torch.clamp's own gradient, AnalogVNN's mask). On a parameter
(``straight_through=True``) the whole chain is straight-through, clamp included: AnalogVNN's
PseudoParameter assigns the transformed data and hands the gradient to the float parameter.

Besides gradlab's stages, a chain here may hold stages only a network applies: a
:class:`RangeGaussian` (Gaussian noise whose scale follows a layer's output range), a
:class:`BoundedQuantize` (a bit width on a calibrated, constant range: bounded QAT) and a
:class:`WordFlip` (bit flips in stored words, the pattern drawn count first).

Random numbers come from a :class:`Draws` object: one ``torch.Generator`` per (seed, step, site),
so noise is fresh at every training step, identical for every activation and control trained at
one seed (paired comparisons), and repeatable.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gradlab.conventions import NOISE_RANGES
from gradlab.perturbations import BitFlip, Chain, Clamp, Gaussian, Laplace, Poisson, Quantize, Stage, Uniform
from gradlab.perturbations.chain import seed_of

__all__ = ["NOISE_RANGES", "WORD_FORMATS", "AnalogChain", "BoundedQuantize", "Draws", "RangeGaussian", "ReplayDraws",
           "WordFlip", "bounded_quantize", "flip_positions", "flip_words", "noise_scale", "quantize", "stored",
           "straight_through", "word_bits"]


class _StraightThrough(torch.autograd.Function):
    """Forward: ``value`` exactly; backward: the gradient goes to ``path`` unchanged."""

    @staticmethod
    def forward(ctx, path, value):
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def straight_through(path: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` forward, the identity on ``path`` backward (exact, unlike ``path + (value - path).detach()``)."""
    return _StraightThrough.apply(path, value.detach())


class Draws:
    """The random numbers of one network at seed ``seed``: a generator per (step, site), made on demand.

    ``step`` is set by the training loop (evaluations use negative steps, so they never reuse a
    training step's draws). A site is a tuple of ints naming where the numbers are used (the
    module, the role, the stage).
    """

    def __init__(self, seed: int, step: int = 0):
        self.seed, self.step = int(seed), int(step)

    def generator(self, site: tuple[int, ...]) -> torch.Generator:
        offset = 1 << 40  # the step may be negative; seed_of takes integers >= 0
        key = int(seed_of((self.seed, self.step + offset, *site))) >> 1
        return torch.Generator().manual_seed(key)

    def normal(self, site, like: torch.Tensor) -> torch.Tensor:
        """Standard normal numbers of ``like``'s shape and dtype."""
        return torch.randn(like.shape, generator=self.generator(site), dtype=like.dtype).to(like.device)

    def gaussian(self, site, like: torch.Tensor, sigma: float) -> torch.Tensor:
        """The noise a Gaussian stage of scale ``sigma`` adds at ``site``: sigma x standard normals."""
        return sigma * self.normal(site, like)

    def uniform(self, site, like: torch.Tensor) -> torch.Tensor:
        """Uniform numbers in [0, 1) of ``like``'s shape and dtype."""
        return torch.rand(like.shape, generator=self.generator(site), dtype=like.dtype).to(like.device)

    def poisson(self, site, rate: torch.Tensor) -> torch.Tensor:
        return torch.poisson(rate.cpu(), generator=self.generator(site)).to(rate.device)


class ReplayDraws(Draws):
    """Draws that replay given additive noise, site by site (to hold gradlab's network to another stack's draws).

    ``noise`` maps a site to the tensor a Gaussian stage adds there: ``v + noise[site]``.
    """

    def __init__(self, noise: dict[tuple[int, ...], torch.Tensor]):
        super().__init__(0)
        self.noise = noise

    def gaussian(self, site, like: torch.Tensor, sigma: float) -> torch.Tensor:
        return self.noise[site].to(like.dtype)




@dataclass(frozen=True)
class RangeGaussian:
    """Noise relative to a layer's output range: ``v + eta * R * N(0, 1)``, for three meanings of the range R.

    - ``range='sample'`` (the default): R = max|v| over each sample's own values (every dimension
      but the first, the batch), so a sample's noise scale is the same in any batch, of 1 or of
      the whole split, in training and at test;
    - ``'calibrated'``: R = ``scale``, a constant measured once (the layer's max|z| on the training
      data, :func:`gradlab.nn.companion.calibrate`) and then fixed: a property of the layer, as an
      ADC's full-scale range is;
    - ``'batch'``: R = max|v| over the whole tensor, i.e. over the batch at hand (gradlab's earlier
      model): a legitimate variant, but the scale then depends on the batch size (64 in training,
      the whole test split at evaluation gives a larger maximum).

    A chain stage of the networks only: ``eta = 0`` (or R = 0) leaves ``v`` as it is; straight-through backward.
    """

    eta: float
    range: str = "sample"
    scale: float | None = None

    def __post_init__(self):
        if not (isinstance(self.eta, (int, float)) and not isinstance(self.eta, bool) and 0 <= self.eta < float("inf")):
            raise ValueError(f"RangeGaussian: eta must be a finite number >= 0, got {self.eta!r}")
        if self.range not in NOISE_RANGES:
            raise ValueError(f"RangeGaussian: range must be one of {', '.join(map(repr, NOISE_RANGES))}, "
                             f"got {self.range!r}")
        if self.range == "calibrated":
            ok = isinstance(self.scale, (int, float)) and not isinstance(self.scale, bool)
            if not (ok and 0 <= self.scale < float("inf")):
                raise ValueError(f"RangeGaussian: range='calibrated' needs scale, a finite number >= 0 (the "
                                 f"calibrated max|z|), got {self.scale!r}")
        elif self.scale is not None:
            raise ValueError(f"RangeGaussian: scale is the calibrated range, only for range='calibrated'; "
                             f"got scale={self.scale!r} with range={self.range!r}")


def noise_scale(stage: RangeGaussian, v: torch.Tensor) -> torch.Tensor:
    """The standard deviation ``eta * R`` that ``stage`` gives each value of ``v`` (broadcasts against ``v``)."""
    if stage.range == "calibrated":
        r = torch.tensor(float(stage.scale), dtype=v.dtype)
    elif stage.range == "batch" or v.ndim < 2:
        r = v.detach().abs().amax() if v.numel() else torch.zeros((), dtype=v.dtype)
    else:
        r = v.detach().abs().amax(dim=tuple(range(1, v.ndim)), keepdim=True)
    return stage.eta * r


@dataclass(frozen=True)
class BoundedQuantize:
    """Quantization to ``2**bits`` levels on a constant range [lo, hi]: QAT with a constant scaling factor.

    Values are clipped to [lo, hi], then rounded (half up) to the nearest of the levels
    lo + k (hi - lo) / (2**bits - 1), k = 0 ... 2**bits - 1 (both ends are levels). The bit width
    and the range are constants of the stage; :mod:`gradlab.nn.companion` calibrates the range on
    training data (a layer's max|w| or max|z|, symmetric: lo = -hi) and then holds it fixed.
    Backward, on a layer's outputs: straight-through inside [lo, hi], zero outside (the clip's
    gradient); on parameters, straight-through everywhere (as every parameter chain, AnalogVNN's
    PseudoParameter rule), so a float weight beyond the range can still come back.
    """

    bits: int
    lo: float
    hi: float

    def __post_init__(self):
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 1 <= self.bits <= 24:
            raise ValueError(f"BoundedQuantize: bits must be an integer in [1, 24], got {self.bits!r}")
        for name in ("lo", "hi"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) < float("inf"):
                raise ValueError(f"BoundedQuantize: {name} must be a finite number, got {value!r}")
        if not self.lo < self.hi:
            raise ValueError(f"BoundedQuantize: lo must be < hi, got lo={self.lo!r}, hi={self.hi!r}")

    @property
    def step(self) -> float:
        return (self.hi - self.lo) / (2**self.bits - 1)


def bounded_quantize(v: torch.Tensor, q: BoundedQuantize) -> torch.Tensor:
    """``q``'s levels for ``v`` (values only: the chain supplies the gradient rule)."""
    k = torch.floor((torch.clamp(v, q.lo, q.hi) - q.lo) / q.step + 0.5).clamp(0, 2**q.bits - 1)
    return q.lo + k * q.step


#: The stored words of :class:`WordFlip` and the weight faults: name -> (bits, fractional bits), None for IEEE
#: float32. 'fixed32' is ProAct's fault model: Q15.16, 32-bit two's complement with 16 fractional bits.
WORD_FORMATS = {"float32": None, "fixed32": (32, 16), "fixed16": (16, 10)}


def word_bits(word: str) -> int:
    """Bits in one stored ``word`` (one of :data:`WORD_FORMATS`)."""
    if word not in WORD_FORMATS:
        raise ValueError(f"word must be one of {', '.join(map(repr, WORD_FORMATS))}, got {word!r}")
    return 32 if WORD_FORMATS[word] is None else WORD_FORMATS[word][0]


def flip_positions(n_bits: int, ber: float, generator: torch.Generator) -> torch.Tensor:
    """A fault pattern: the positions (sorted, distinct, in [0, n_bits)) of the bits that flip at rate ``ber``.

    Each of ``n_bits`` bits flips independently with probability ``ber``; drawn as the number of
    flips, Binomial(n_bits, ber), then that many distinct positions uniformly (the same law, and at
    low rates nearly free: most patterns flip nothing).
    """
    if not 0 <= ber <= 1:
        raise ValueError(f"ber must lie in [0, 1], got {ber!r}")
    if n_bits == 0 or ber == 0:
        return torch.zeros(0, dtype=torch.int64)
    count = int(torch.binomial(torch.tensor(float(n_bits), dtype=torch.float64),
                               torch.tensor(float(ber), dtype=torch.float64), generator=generator))
    if count > n_bits // 2:  # dense: choose by a permutation
        return torch.sort(torch.randperm(n_bits, generator=generator)[:count]).values
    chosen = torch.zeros(0, dtype=torch.int64)
    while len(chosen) < count:  # sparse: draw, drop repeats, draw the rest
        more = torch.randint(n_bits, (count - len(chosen),), generator=generator, dtype=torch.int64)
        chosen = torch.unique(torch.cat([chosen, more]))
    return chosen


def stored(v: torch.Tensor, word: str) -> torch.Tensor:
    """``v`` as ``word`` stores it (fixed point: rounded to the grid, saturated; float32: rounded), in v's dtype."""
    word_bits(word)
    fmt = WORD_FORMATS[word]
    if fmt is None:
        return v.float().to(v.dtype)
    n, f = fmt
    scale, top = 2.0**f, 2.0 ** (n - 1)
    return (torch.clamp(torch.floor(v.double() * scale + 0.5), -top, top - 1) / scale).to(v.dtype)


def flip_words(v: torch.Tensor, word: str, positions: torch.Tensor) -> torch.Tensor:
    """``v`` stored as ``word``s (flattened, element i holding bits i * bits ... (i + 1) * bits - 1; bit 0 the
    least significant) with the bits at ``positions`` inverted; same shape and dtype as ``v``."""
    n = word_bits(word)
    flat = v.reshape(-1)
    masks = torch.zeros(flat.numel(), dtype=torch.int64)
    if len(positions):
        masks.index_add_(0, positions // n, torch.ones_like(positions) << (positions % n))
    fmt = WORD_FORMATS[word]
    if fmt is None:
        w = flat.float().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
        w = (w ^ masks) & 0xFFFFFFFF
        out = torch.where(w >= (1 << 31), w - (1 << 32), w).to(torch.int32).view(torch.float32).to(v.dtype)
    else:
        bits, f = fmt
        top = 1 << (bits - 1)
        code = torch.clamp(torch.floor(flat.double() * 2.0**f + 0.5), -top, top - 1).to(torch.int64)
        w = (code & ((1 << bits) - 1)) ^ masks
        out = (torch.where(w >= top, w - (1 << bits), w).double() / 2.0**f).to(v.dtype)
    return out.reshape(v.shape)


@dataclass(frozen=True)
class WordFlip:
    """Bit flips at rate ``ber`` in the ``word`` each value is stored in, the pattern drawn count first
    (:func:`flip_positions`): one pattern per forward pass over the whole tensor. Straight-through backward."""

    ber: float
    word: str = "fixed32"

    def __post_init__(self):
        if isinstance(self.ber, bool) or not isinstance(self.ber, (int, float)) or not 0 <= self.ber <= 1:
            raise ValueError(f"WordFlip: ber must be a number in [0, 1], got {self.ber!r}")
        word_bits(self.word)


def quantize(v: torch.Tensor, q: Quantize, u: torch.Tensor | None = None) -> torch.Tensor:
    """``q`` applied to ``v`` as the compiled kernel applies it (bit for bit); ``u`` drives stochastic rounding."""
    p = float(q.precision)
    a = torch.abs(v * p)
    if q.rounding == "half_toward_zero":
        k = torch.ceil(a - 0.5)
    elif q.rounding == "half_even":
        k = torch.round(a)  # torch.round rounds half to even
    else:
        k = torch.floor(a)
        k = torch.where(u < a - k, k + 1.0, k)
    k = torch.copysign(k, v)
    return k * q.reciprocal if q.compat == "analogvnn" else k / p


def _flip_fixed(v: torch.Tensor, b: BitFlip, u: torch.Tensor) -> torch.Tensor:
    scale, top, n = 2.0**b.frac_bits, 2.0 ** (b.total_bits - 1), b.total_bits
    c = torch.clamp(torch.floor(v.double() * scale + 0.5), -top, top - 1).to(torch.int64)
    word = c & ((1 << n) - 1)
    bits = (u < b.ber).to(torch.int64) << torch.arange(n, dtype=torch.int64)
    word = word ^ bits.sum(-1)
    word = torch.where(word >= (1 << (n - 1)), word - (1 << n), word)
    return (word.double() / scale).to(v.dtype)


def _flip_float32(v: torch.Tensor, b: BitFlip, u: torch.Tensor) -> torch.Tensor:
    bits = ((u < b.ber).to(torch.int64) << torch.arange(32, dtype=torch.int64)).sum(-1)
    word = v.float().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    flipped = (word ^ bits) & 0xFFFFFFFF
    signed = torch.where(flipped >= (1 << 31), flipped - (1 << 32), flipped).to(torch.int32)
    return signed.view(torch.float32).to(v.dtype)


def _apply(stage: Stage | RangeGaussian | BoundedQuantize | WordFlip, v: torch.Tensor, draws: Draws,
           site: tuple[int, ...]) -> torch.Tensor:
    """One stage on detached values (Clamp excepted, which keeps its own gradient)."""
    if isinstance(stage, Clamp):
        return torch.clamp(v, stage.lo, stage.hi)
    if isinstance(stage, Gaussian):
        return v + draws.gaussian(site, v, stage.sigma)
    if isinstance(stage, RangeGaussian):
        if stage.eta == 0 or not v.numel():
            return v
        return v + noise_scale(stage, v) * draws.normal(site, v)
    if isinstance(stage, BoundedQuantize):
        return bounded_quantize(v, stage)
    if isinstance(stage, WordFlip):
        positions = flip_positions(v.numel() * word_bits(stage.word), stage.ber, draws.generator(site))
        return flip_words(stored(v, stage.word), stage.word, positions)
    if isinstance(stage, Uniform):
        return v + stage.width * (draws.uniform(site, v) - 0.5)
    if isinstance(stage, Laplace):
        u = draws.uniform(site, v).clamp_min(torch.finfo(v.dtype).tiny) - 0.5
        return v - stage.scale * torch.sign(u) * torch.log(1.0 - 2.0 * torch.abs(u))
    if isinstance(stage, Poisson):
        rate = stage.rate
        return torch.sign(v) * draws.poisson(site, torch.abs(v) * rate) / rate
    if isinstance(stage, Quantize):
        return quantize(v, stage, draws.uniform(site, v) if stage.random else None)
    if isinstance(stage, BitFlip):
        width = 32 if stage.format == "float32" else stage.total_bits
        u = torch.rand((*v.shape, width), generator=draws.generator(site), dtype=torch.float64)
        return (_flip_float32 if stage.format == "float32" else _flip_fixed)(v, stage, u)
    raise TypeError(f"no PyTorch form for the stage {stage!r}")


class AnalogChain(nn.Module):
    """A gradlab chain as a module: ``forward(v, draws)`` perturbs ``v`` stage by stage.

    ``site`` names this place in the network (its draws are its own); ``straight_through`` makes
    the whole chain the identity in the backward pass (parameters). An empty chain is the identity.
    """

    def __init__(self, chain: Chain | Sequence[Stage] | None, site: tuple[int, ...], *, straight_through: bool = False):
        super().__init__()
        stages = () if chain is None else tuple(chain.stages if isinstance(chain, Chain) else chain)
        self.stages, self.site, self.straight_through = stages, tuple(site), straight_through

    def forward(self, v: torch.Tensor, draws: Draws, probe=None, call: int = 0) -> torch.Tensor:
        """``v`` perturbed; ``probe`` (a :class:`~gradlab.nn.probes.SiteProbe`) counts what each Clamp clips;
        ``call`` > 0: the module's later call in one forward pass (a shared module), with draws of its own."""
        if not self.stages:
            return v
        extra = (call,) if call else ()
        if self.straight_through:
            out = v.detach()
            for i, stage in enumerate(self.stages):
                out = _apply(stage, out, draws, (*self.site, i, *extra))
            return straight_through(v, out)
        for i, stage in enumerate(self.stages):
            if isinstance(stage, Clamp):
                if probe is not None:
                    probe.count_clamp(v, stage.lo, stage.hi)
                v = torch.clamp(v, stage.lo, stage.hi)  # its gradient is AnalogVNN's mask
            elif isinstance(stage, BoundedQuantize):  # zero gradient outside the range, straight-through inside
                v = torch.clamp(v, stage.lo, stage.hi)
                v = straight_through(v, bounded_quantize(v.detach(), stage))
            else:
                v = straight_through(v, _apply(stage, v.detach(), draws, (*self.site, i, *extra)))
        return v

    def extra_repr(self) -> str:
        return " -> ".join(map(repr, self.stages)) or "identity"
