"""gradlab's perturbation stages as PyTorch operations: one chain definition serves the engines and the networks.

A :class:`~gradlab.Chain` becomes an :class:`AnalogChain` module. Forward, every stage does what
its compiled kernel does (``Chain.apply``); backward, as in AnalogVNN 1.0.8, noise, quantization,
shot noise and bit flips pass the gradient straight through, and Clamp passes it only where its
input lies in [lo, hi] (torch.clamp's own gradient, AnalogVNN's mask). On a parameter
(``straight_through=True``) the whole chain is straight-through, clamp included: AnalogVNN's
PseudoParameter assigns the transformed data and hands the gradient to the float parameter.

Besides gradlab's stages, a chain here may hold a :class:`RangeGaussian`: Gaussian noise whose
scale follows the tensor's own range, which only a network can apply (the engines' stages have a
fixed scale).

Random numbers come from a :class:`Draws` object: one ``torch.Generator`` per (seed, step, site),
so noise is fresh at every training step, identical for every activation and control trained at
one seed (paired comparisons), and repeatable.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gradlab.perturbations import BitFlip, Chain, Clamp, Gaussian, Laplace, Poisson, Quantize, Stage, Uniform
from gradlab.perturbations.chain import seed_of

__all__ = ["AnalogChain", "Draws", "RangeGaussian", "ReplayDraws", "quantize", "straight_through"]


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
    """Noise relative to a layer's output range: ``v + eta * max|v| * N(0, 1)``, the maximum over the whole tensor.

    On a layer's outputs that is the range over the batch at hand (the inference noise of Wang et al.,
    arXiv 2501.14531, as gradlab's companion experiments model it). A chain stage of the networks
    only: ``eta = 0`` (or an all-zero tensor) leaves ``v`` as it is; straight-through backward.
    """

    eta: float

    def __post_init__(self):
        if not (isinstance(self.eta, (int, float)) and not isinstance(self.eta, bool) and 0 <= self.eta < float("inf")):
            raise ValueError(f"RangeGaussian: eta must be a finite number >= 0, got {self.eta!r}")


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


def _apply(stage: Stage | RangeGaussian, v: torch.Tensor, draws: Draws, site: tuple[int, ...]) -> torch.Tensor:
    """One stage on detached values (Clamp excepted, which keeps its own gradient)."""
    if isinstance(stage, Clamp):
        return torch.clamp(v, stage.lo, stage.hi)
    if isinstance(stage, Gaussian):
        return v + draws.gaussian(site, v, stage.sigma)
    if isinstance(stage, RangeGaussian):
        scale = float(v.abs().max()) if v.numel() else 0.0
        if stage.eta == 0 or scale == 0:
            return v
        return v + (stage.eta * scale) * draws.normal(site, v)
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
            else:
                v = straight_through(v, _apply(stage, v.detach(), draws, (*self.site, i, *extra)))
        return v

    def extra_repr(self) -> str:
        return " -> ".join(map(repr, self.stages)) or "identity"
