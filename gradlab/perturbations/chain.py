"""Chains of stages, applied in the order given, and the paper's analog chain."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gradlab._validate import check_choice, check_int
from gradlab.conventions import NOISES
from gradlab.kernels.jit import SERIAL_BELOW
from gradlab.perturbations.stages import AdditiveNoise, Clamp, Gaussian, Laplace, Quantize, Stage, Uniform

__all__ = ["NOISE_STAGES", "Chain", "analog", "chain", "seed_of"]

MAX_SEED = 2**64 - 1


def seed_of(seed: int | Sequence[int]) -> np.uint64:
    """A 64-bit kernel seed from an int >= 0 or a tuple of them (hashed by SeedSequence).

    The tuple's length is hashed with it: SeedSequence ignores trailing zeros, which would make
    (7,) and (7, 0, 0) one stream.
    """
    if isinstance(seed, (tuple, list)):
        if not seed:
            raise ValueError("seed must be an integer >= 0 or a non-empty tuple of them, got ()")
        parts = [check_int("seed", s, minimum=0) for s in seed]
        return np.random.SeedSequence([*parts, len(parts)]).generate_state(1, np.uint64)[0]
    value = check_int("seed", seed, minimum=0)
    if value > MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return np.uint64(value)


@dataclass(frozen=True)
class Chain:
    """Stages applied in order to the clean input x, giving the perturbed input x~."""

    stages: tuple[Stage, ...]

    def __post_init__(self):
        for s in self.stages:
            if not isinstance(s, Stage):
                raise TypeError(f"chain stages must be gradlab stages (Gaussian, Clamp, ...), got {s!r}")

    def __repr__(self) -> str:
        return " -> ".join(map(repr, self.stages)) if self.stages else "Chain()"

    def __iter__(self):
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    @property
    def random(self) -> bool:
        """True when any stage draws random numbers."""
        return any(s.random for s in self.stages)

    def params(self) -> np.ndarray:
        """float64[n_stages, 3]: each stage's kernel parameters, zero-padded."""
        params = np.zeros((len(self.stages), 3))
        for row, s in zip(params, self.stages):
            p = s.kernel_params()
            row[: len(p)] = p
        return params

    @property
    def kernels(self):
        """The compiled module for this chain's structure (shared by all its parameter values)."""
        from gradlab.kernels.codegen import chain_module
        from gradlab.perturbations.kernel import STAGE_KERNELS

        return chain_module([STAGE_KERNELS[s.code] for s in self.stages])

    def bounds(self, lo: float, hi: float) -> tuple[float, float]:
        """An interval holding every output for inputs in [lo, hi]."""
        for s in self.stages:
            lo, hi = s.bounds(lo, hi)
        return lo, hi

    @property
    def lattice(self) -> Quantize | None:
        """The final quantizer when the chain ends with one (outputs lie on its lattice)."""
        return self.stages[-1] if self.stages and isinstance(self.stages[-1], Quantize) else None

    def perturb_into(self, xs: np.ndarray, key: np.uint64, stream0: int, out: np.ndarray) -> None:
        """out[j, s] = sample s at xs[j] (1-D float64) from stream stream0 + j of the 64-bit ``key``.

        Small jobs run without threads: waking the pool costs more than the work.
        """
        kernels = self.kernels
        run = kernels.perturb_many if out.size >= SERIAL_BELOW else kernels.perturb_many_serial
        run(xs, self.params(), key, stream0, out)

    def apply(self, x, *, seed: int | Sequence[int] = 0, samples: int | None = None) -> np.ndarray:
        """Perturbed values: shape of ``x`` (one draw each), or ``x.shape + (samples,)``.

        Value j (in C order) uses random stream j of ``seed``: the Monte Carlo engine draws the
        same numbers, so these are exactly the samples it averages.
        """
        from gradlab._budget import check_memory

        raw = np.asarray(x)
        if raw.dtype.kind not in "iuf":  # None, strings, booleans and complex numbers are not inputs
            raise TypeError(f"x must be a number or an array of real numbers, got {x!r:.80}")
        n = 1 if samples is None else check_int("samples", samples, minimum=1)
        # The output, and a contiguous float64 copy of the input (a broadcast view holds no memory of its own).
        check_memory(f"Chain.apply to {raw.size} values x {n} sample(s)", 8.0 * raw.size * (n + 1))
        arr = raw.astype(np.float64, copy=False)
        flat = np.ascontiguousarray(arr).ravel()
        out = np.empty((flat.size, n))
        self.perturb_into(flat, seed_of(seed), 0, out)
        return out.reshape(arr.shape) if samples is None else out.reshape(arr.shape + (n,))


def chain(*stages: Stage | Iterable[Stage]) -> Chain:
    """A :class:`Chain` from stages (or one iterable of them), applied left to right."""
    if len(stages) == 1 and not isinstance(stages[0], Stage):
        if not isinstance(stages[0], (list, tuple, Chain)):
            raise TypeError(f"chain takes stages (Gaussian, Clamp, ...) or one list of them, got {stages[0]!r:.80}")
        stages = tuple(stages[0])  # type: ignore[assignment]
    return Chain(tuple(stages))  # type: ignore[arg-type]


#: The stage of each noise kind of :data:`gradlab.conventions.NOISES` (all but 'none').
NOISE_STAGES: dict[str, type[AdditiveNoise]] = {"gaussian": Gaussian, "uniform": Uniform, "laplace": Laplace}


def analog(
    leakage: float = 0.5,
    precision: float = 256,
    *,
    noise: str = "gaussian",
    scale: float | None = None,
    clamp: tuple[float, float] | bool | None = (-1.0, 1.0),
    rounding: str = "half_toward_zero",
    compat: str = "gradlab",
) -> Chain:
    """The paper's analog chain: noise(leakage, precision) -> Clamp(-1, 1) -> Quantize(precision, rounding).

    ``noise``: one of :data:`~gradlab.conventions.NOISES`, 'gaussian' (the paper), 'uniform',
    'laplace', or 'none' (no noise stage; ``leakage`` and ``scale`` then unused).  ``scale``, when
    given, sets the noise by its own scale instead of by ``leakage``: sigma, the full uniform width
    or the Laplace b, in value units.  ``clamp``: a pair (lo, hi), True for (-1, 1), or None / False
    for no clamp (one of the paper's figures has none).  ``rounding`` and ``compat`` are the
    quantizer's (see :class:`Quantize`; ``compat='analogvnn'`` rounds as AnalogVNN's ReducePrecision).
    """
    check_choice("noise", noise, NOISES)
    stages: list[Stage] = []
    if noise != "none":
        kind = NOISE_STAGES[noise]
        by = {kind.scale_name: scale} if scale is not None else {"leakage": leakage, "precision": precision}
        stages.append(kind(**by))
    if clamp is True:
        clamp = (-1.0, 1.0)
    if clamp is not None and clamp is not False:
        if not isinstance(clamp, (tuple, list)) or len(clamp) != 2:
            raise ValueError(
                "clamp must be a pair (lo, hi) or None / False (no clamp), or True for (-1, 1), "
                f"got {clamp!r}"
            )
        stages.append(Clamp(*clamp))
    stages.append(Quantize(precision, rounding=rounding, compat=compat))
    return Chain(tuple(stages))
