"""Perturbation stages: what analog hardware does to a value, as frozen, validated dataclasses.

Each stage is a plain description; :mod:`gradlab.perturbations.kernel` applies it inside compiled
code from its ``code`` and ``kernel_params()``.  Noise stages accept either their natural scale or
AnalogVNN's (leakage, precision) parameterization, where ``precision`` counts quantization steps
per unit (bin width 1/precision) and ``leakage`` is the probability that the noise moves a value
out of its bin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
from scipy.special import erfinv, gammaincc

from gradlab._validate import check_choice, check_int, check_interval, check_positive
from gradlab.conventions import QUANTIZE_COMPAT, ROUNDING

__all__ = [
    "QUANTIZE_COMPAT",
    "ROUNDING",
    "BitFlip",
    "Clamp",
    "Gaussian",
    "Laplace",
    "Poisson",
    "Quantize",
    "Stage",
    "Uniform",
]

# Stage codes understood by the chain kernel.
GAUSSIAN, UNIFORM, LAPLACE, POISSON, CLAMP, QUANTIZE, BITFLIP_FIXED, BITFLIP_FLOAT32 = range(8)


class Stage:
    """Base of all stages: a kernel code, up to four float parameters, a compact repr."""

    code: ClassVar[int]
    #: True when the stage draws random numbers.
    random: ClassVar[bool] = True

    def kernel_params(self) -> tuple[float, ...]:
        raise NotImplementedError

    def bounds(self, lo: float, hi: float) -> tuple[float, float]:
        """An interval holding every output for inputs in [lo, hi] (up to ~1e-17 probability)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = [
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr and getattr(self, f.name) is not None
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


#: Largest noise scale accepted: beyond it the engines' arithmetic (tails at 40 scales, squares) overflows.
MAX_SCALE = 1e100
#: Largest quantizer precision: level indices k = v * precision must stay exact integers in float64.
MAX_PRECISION = 2.0**52


def _check_scale(owner: str, name: str, value: float, by_leakage: bool) -> None:
    if value > MAX_SCALE:
        how = " (from leakage and precision)" if by_leakage else ""
        raise ValueError(f"{owner}: {name} must be <= {MAX_SCALE:g}, got {value!r}{how}")


def _scale_or_leakage(
    owner: str, scale_name: str, scale, leakage, precision
) -> tuple[bool, float | None, float | None]:
    """Validate 'either the scale, or leakage and precision'; True when leakage form is used."""
    if scale is not None:
        if leakage is not None or precision is not None:
            raise ValueError(f"{owner}: give either {scale_name}, or leakage and precision, not both")
        check_positive(f"{owner}: {scale_name}", scale, allow_zero=True)
        return False, None, None
    if leakage is None or precision is None:
        raise ValueError(f"{owner}: give {scale_name}, or both leakage and precision")
    lk = check_interval(f"{owner}: leakage", leakage, 0.0, 1.0, closed=(False, False))
    pr = check_positive(f"{owner}: precision", precision)
    return True, lk, pr


@dataclass(frozen=True, repr=False)
class Gaussian(Stage):
    """Additive N(0, sigma^2) noise.

    Either ``sigma`` (value units), or ``leakage`` and ``precision``: then
    sigma = 1 / (2 precision sqrt(2) erfinv(1 - leakage)), so that P(|n| > 1/(2 precision)) = leakage.
    """

    sigma: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = GAUSSIAN

    def __post_init__(self):
        by_leakage, lk, pr = _scale_or_leakage("Gaussian", "sigma", self.sigma, self.leakage, self.precision)
        if by_leakage:
            object.__setattr__(self, "sigma", 1.0 / (2.0 * pr * math.sqrt(2.0) * float(erfinv(1.0 - lk))))
        _check_scale("Gaussian", "sigma", self.sigma, by_leakage)

    def kernel_params(self):
        return (self.sigma,)

    def bounds(self, lo, hi):
        return lo - 9.0 * self.sigma, hi + 9.0 * self.sigma

    @property
    def spread(self) -> float:
        """The noise's scale parameter (sigma)."""
        return self.sigma

    def cdf(self, t: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr

        return ndtr(t / self.sigma) if self.sigma > 0 else (t >= 0).astype(float)

    def sf(self, t: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr

        return ndtr(-t / self.sigma) if self.sigma > 0 else (t < 0).astype(float)

    @property
    def mean_abs(self) -> float:
        """E|n| = sigma sqrt(2/pi)."""
        return self.sigma * math.sqrt(2.0 / math.pi)


@dataclass(frozen=True, repr=False)
class Uniform(Stage):
    """Additive noise uniform on [-width/2, width/2].

    Either ``width``, or ``leakage`` and ``precision``: width = 1 / ((1 - leakage) precision).
    """

    width: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = UNIFORM

    def __post_init__(self):
        by_leakage, lk, pr = _scale_or_leakage("Uniform", "width", self.width, self.leakage, self.precision)
        if by_leakage:
            object.__setattr__(self, "width", 1.0 / ((1.0 - lk) * pr))
        _check_scale("Uniform", "width", self.width, by_leakage)

    def kernel_params(self):
        return (self.width,)

    def bounds(self, lo, hi):
        return lo - self.width / 2, hi + self.width / 2

    @property
    def spread(self) -> float:
        """The noise's scale parameter (width)."""
        return self.width

    def cdf(self, t):
        if self.width == 0:
            return (t >= 0).astype(float)
        return np.clip(t / self.width + 0.5, 0.0, 1.0)

    def sf(self, t):
        return 1.0 - self.cdf(t)

    @property
    def mean_abs(self) -> float:
        return self.width / 4


@dataclass(frozen=True, repr=False)
class Laplace(Stage):
    """Additive Laplace noise of scale b (density exp(-|n|/b) / 2b).

    Either ``scale``, or ``leakage`` and ``precision``: b = -1 / (2 precision ln(leakage)).
    """

    scale: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = LAPLACE

    def __post_init__(self):
        by_leakage, lk, pr = _scale_or_leakage("Laplace", "scale", self.scale, self.leakage, self.precision)
        if by_leakage:
            object.__setattr__(self, "scale", -1.0 / (2.0 * pr * math.log(lk)))
        _check_scale("Laplace", "scale", self.scale, by_leakage)

    def kernel_params(self):
        return (self.scale,)

    def bounds(self, lo, hi):
        # The kernel's inversion cannot go beyond b ln(2^54); past 40 b the mass is below 1e-17.
        return lo - 40.0 * self.scale, hi + 40.0 * self.scale

    @property
    def spread(self) -> float:
        """The noise's scale parameter (b)."""
        return self.scale

    def cdf(self, t):
        if self.scale == 0:
            return (t >= 0).astype(float)
        z = np.asarray(t, dtype=float) / self.scale
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))

    def sf(self, t):
        return self.cdf(-np.asarray(t, dtype=float))

    @property
    def mean_abs(self) -> float:
        return self.scale


def poisson_max_leakage(scale: float, precision: float) -> float:
    """AnalogVNN's leakage of shot noise at value 1: P(|Poisson(k)/k - 1| > 1/(2 precision)), k = scale precision.

    Uses AnalogVNN's continuous CDF, Q(|v| k + 1, k) (regularized upper incomplete gamma).
    """
    k = scale * precision
    hi = gammaincc((1 + 1 / (2 * precision)) * k + 1, k)
    lo = gammaincc((1 - 1 / (2 * precision)) * k + 1, k)
    return float(1 - (hi - lo))


@dataclass(frozen=True, repr=False)
class Poisson(Stage):
    """Shot noise: v -> sign(v) Poisson(|v| k) / k with k = scale * precision >= 1.

    Give ``scale`` and ``precision``, or ``leakage`` and ``precision``: then ``scale`` is solved
    so that :func:`poisson_max_leakage` equals ``leakage`` (AnalogVNN: 0.5, 15 -> 27.34).
    """

    scale: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = POISSON

    def __post_init__(self):
        if self.precision is None:
            raise ValueError("Poisson: precision is required (with scale or with leakage)")
        pr = check_positive("Poisson: precision", self.precision)
        if (self.scale is None) == (self.leakage is None):
            raise ValueError("Poisson: give exactly one of scale and leakage (with precision)")
        if self.scale is None:
            from scipy.optimize import brentq

            lk = check_interval("Poisson: leakage", self.leakage, 0.0, 1.0, closed=(False, False))
            def f(s: float) -> float:
                return poisson_max_leakage(s, pr) - lk

            top = 1e4
            if f(1.0 / pr) < 0 or f(top) > 0:
                raise ValueError(f"Poisson: leakage {self.leakage!r} is not reachable at precision {pr:g}")
            object.__setattr__(self, "scale", brentq(f, 1.0 / pr, top, xtol=1e-12))
        sc = check_positive("Poisson: scale", self.scale)
        if sc * pr < 1:
            raise ValueError(f"Poisson: scale * precision must be >= 1, got {sc * pr!r}")
        if not sc * pr <= MAX_SCALE:
            raise ValueError(f"Poisson: scale * precision (counts per unit) must be <= {MAX_SCALE:g}, got {sc * pr!r}")

    @property
    def rate(self) -> float:
        """k = scale * precision: counts per unit value."""
        return self.scale * self.precision

    def kernel_params(self):
        return (self.rate,)

    def bounds(self, lo, hi):
        m = max(abs(lo), abs(hi)) * self.rate
        top = (m + 12.0 * math.sqrt(m) + 40.0) / self.rate
        return (-top if lo < 0 else 0.0), (top if hi > 0 else 0.0)


@dataclass(frozen=True, repr=False)
class Clamp(Stage):
    """Clip to [lo, hi] (the analog range; default [-1, 1])."""

    lo: float = -1.0
    hi: float = 1.0
    code: ClassVar[int] = CLAMP
    random: ClassVar[bool] = False

    def __post_init__(self):
        lo = float(check_interval("Clamp: lo", self.lo, -math.inf, math.inf))
        hi = float(check_interval("Clamp: hi", self.hi, -math.inf, math.inf))
        if not lo < hi:
            raise ValueError(f"Clamp: lo must be < hi, got lo={self.lo!r}, hi={self.hi!r}")

    def kernel_params(self):
        return (self.lo, self.hi)

    def bounds(self, lo, hi):
        return min(max(lo, self.lo), self.hi), max(min(hi, self.hi), self.lo)


@dataclass(frozen=True, repr=False)
class Quantize(Stage):
    """Round to the lattice k / precision (``precision`` steps per unit; not bits).

    ``rounding``: 'half_toward_zero' (the paper's and AnalogVNN's
    Q(v) = sign(v) ceil(|v precision| - 1/2) / precision), 'half_even', or 'stochastic'
    (on |v| precision: floor with probability 1 - frac, ceil with probability frac; sign restored;
    unbiased).  For b bits, the paper's sweeps use precision = 2**b.

    ``compat``: 'gradlab' divides the level index by precision; 'analogvnn' multiplies it by
    AnalogVNN's float32 reciprocal, reproducing its ReducePrecision bit for bit (values then differ
    from the formula by up to ~1e-7 relative when precision is not a power of two, which moves a
    level off a kink such as a clamp bound at 1).  See :data:`QUANTIZE_COMPAT`.
    """

    precision: float = 256.0
    rounding: str = "half_toward_zero"
    compat: str = field(default="gradlab", repr=False)
    code: ClassVar[int] = QUANTIZE

    def __post_init__(self):
        if check_positive("Quantize: precision", self.precision) > MAX_PRECISION:
            raise ValueError(f"Quantize: precision must be <= 2**52 (exact level indices), got {self.precision!r}")
        check_choice("Quantize: rounding", self.rounding, ROUNDING)
        check_choice("Quantize: compat", self.compat, QUANTIZE_COMPAT)

    @property
    def random(self) -> bool:  # type: ignore[override]
        return self.rounding == "stochastic"

    @property
    def reciprocal(self) -> float:
        """The factor AnalogVNN multiplies level indices by: 1/precision rounded to float32 (0 for 'gradlab')."""
        return float(np.float32(1.0 / self.precision)) if self.compat == "analogvnn" else 0.0

    def values(self, k: np.ndarray) -> np.ndarray:
        """The values of lattice indices ``k`` (float array), exactly as the kernel computes them."""
        k = np.asarray(k, dtype=np.float64)
        return k * self.reciprocal if self.compat == "analogvnn" else k / float(self.precision)

    def kernel_params(self):
        return (float(self.precision), float(ROUNDING[self.rounding]), self.reciprocal)

    def __repr__(self) -> str:
        text = super().__repr__()
        return text if self.compat == "gradlab" else f"{text[:-1]}, compat={self.compat!r})"

    def bounds(self, lo, hi):
        step = 1.0 / self.precision
        return lo - step, hi + step


@dataclass(frozen=True, repr=False)
class BitFlip(Stage):
    """Independent bit flips at bit error rate ``ber`` in the stored word.

    ``format='fixed'``: signed two's complement with ``total_bits`` bits of which ``frac_bits``
    are fractional (value = code / 2**frac_bits; out-of-range values saturate before storing).
    ``format='float32'``: the IEEE single-precision word (ProAct's fault model).
    """

    ber: float = 1e-3
    format: str = "fixed"
    total_bits: int = 16
    frac_bits: int = 14
    code: ClassVar[int] = field(default=BITFLIP_FIXED, init=False, repr=False)

    def __post_init__(self):
        check_interval("BitFlip: ber", self.ber, 0.0, 1.0)
        check_choice("BitFlip: format", self.format, ("fixed", "float32"))
        if self.format == "fixed":
            total = check_int("BitFlip: total_bits", self.total_bits, minimum=2)
            if total > 62:
                raise ValueError(f"BitFlip: total_bits must be <= 62, got {self.total_bits!r}")
            frac = check_int("BitFlip: frac_bits", self.frac_bits, minimum=0)
            if frac >= total:
                raise ValueError(f"BitFlip: frac_bits must be < total_bits ({total}), got {self.frac_bits!r}")
        object.__setattr__(self, "code", BITFLIP_FIXED if self.format == "fixed" else BITFLIP_FLOAT32)

    def kernel_params(self):
        return (float(self.ber), float(self.total_bits), float(self.frac_bits))

    def bounds(self, lo, hi):
        if self.format == "float32":
            return -math.inf, math.inf
        top = 2.0 ** (self.total_bits - 1 - self.frac_bits)
        return -top, top

    def __repr__(self) -> str:
        if self.format == "float32":
            return f"BitFlip(ber={self.ber!r}, format='float32')"
        return f"BitFlip(ber={self.ber!r}, total_bits={self.total_bits}, frac_bits={self.frac_bits})"
