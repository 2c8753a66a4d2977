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
    "AdditiveNoise",
    "BitFlip",
    "Clamp",
    "Gaussian",
    "Laplace",
    "Poisson",
    "Quantize",
    "Stage",
    "Uniform",
    "poisson_max_leakage",
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


#: Smallest nonzero noise scale accepted: below it (subnormal numbers) 1 / scale overflows and the engines'
#: quadrature panels cannot be counted.  A scale of 0 (no noise) stays allowed.
MIN_SCALE = 1e-300


def _check_scale(owner: str, name: str, value: float, by_leakage: bool) -> None:
    if 0 < value < MIN_SCALE:
        how = " (from leakage and precision)" if by_leakage else ""
        raise ValueError(f"{owner}: {name} must be 0 or >= {MIN_SCALE:g}, got {value!r}{how}")
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


class AdditiveNoise(Stage):
    """Base of the additive continuous noises: x~ = x + n, n with a density symmetric about 0.

    A subclass names its scale field (``scale_name``), says how leakage and precision set it
    (:meth:`scale_from_leakage`), and gives the law of n: :meth:`pdf`, :meth:`cdf`, :meth:`sf`
    (arrays of n in value units, any shape) and :meth:`breakpoints`, the points where the density
    is not smooth, which the exact engine's quadrature must not straddle.  Each subclass has the
    fields (scale, leakage, precision): either the scale, or leakage and precision.
    """

    #: The name of the scale field (sigma, width, scale).
    scale_name: ClassVar[str]

    def __post_init__(self):
        owner, name = type(self).__name__, self.scale_name
        by_leakage, lk, pr = _scale_or_leakage(owner, name, getattr(self, name), self.leakage, self.precision)
        if by_leakage:
            object.__setattr__(self, name, self.scale_from_leakage(lk, pr))
        _check_scale(owner, name, getattr(self, name), by_leakage)

    @staticmethod
    def scale_from_leakage(leakage: float, precision: float) -> float:
        """The scale at which P(|n| > 1/(2 precision)) = leakage (AnalogVNN's parameterization)."""
        raise NotImplementedError

    @property
    def spread(self) -> float:
        """The noise's scale parameter (the field named by ``scale_name``), value units."""
        return getattr(self, self.scale_name)

    def kernel_params(self):
        return (self.spread,)

    def _density_scale(self) -> float:
        if self.spread == 0:
            raise ValueError(f"{self!r} is a point mass at 0: it has no density ({self.scale_name} must be > 0)")
        return self.spread

    def pdf(self, t: np.ndarray) -> np.ndarray:
        """Density of n at ``t`` (1 / value units)."""
        raise NotImplementedError

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """P(n <= t)."""
        raise NotImplementedError

    def sf(self, t: np.ndarray) -> np.ndarray:
        """P(n > t)."""
        raise NotImplementedError

    def breakpoints(self) -> tuple[float, ...]:
        """Values of n where the density has a kink or a support edge (none when it is smooth)."""
        return ()


@dataclass(frozen=True, repr=False)
class Gaussian(AdditiveNoise):
    """Additive N(0, sigma^2) noise.

    Either ``sigma`` (value units), or ``leakage`` and ``precision``: then
    sigma = 1 / (2 precision sqrt(2) erfinv(1 - leakage)), so that P(|n| > 1/(2 precision)) = leakage.
    """

    sigma: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = GAUSSIAN
    scale_name: ClassVar[str] = "sigma"

    @staticmethod
    def scale_from_leakage(leakage, precision):
        return 1.0 / (2.0 * precision * math.sqrt(2.0) * float(erfinv(1.0 - leakage)))

    def bounds(self, lo, hi):
        return lo - 9.0 * self.sigma, hi + 9.0 * self.sigma

    def pdf(self, t):
        sigma = self._density_scale()
        return np.exp(-0.5 * (t / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))

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
class Uniform(AdditiveNoise):
    """Additive noise uniform on [-width/2, width/2].

    Either ``width``, or ``leakage`` and ``precision``: width = 1 / ((1 - leakage) precision).
    """

    width: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = UNIFORM
    scale_name: ClassVar[str] = "width"

    @staticmethod
    def scale_from_leakage(leakage, precision):
        return 1.0 / ((1.0 - leakage) * precision)

    def bounds(self, lo, hi):
        return lo - self.width / 2, hi + self.width / 2

    def pdf(self, t):
        width = self._density_scale()
        return np.where(np.abs(t) <= width / 2, 1.0 / width, 0.0)

    def cdf(self, t):
        if self.width == 0:
            return (t >= 0).astype(float)
        return np.clip(t / self.width + 0.5, 0.0, 1.0)

    def sf(self, t):
        return 1.0 - self.cdf(t)

    def breakpoints(self):
        return (-self.width / 2, self.width / 2)

    @property
    def mean_abs(self) -> float:
        return self.width / 4


@dataclass(frozen=True, repr=False)
class Laplace(AdditiveNoise):
    """Additive Laplace noise of scale b (density exp(-|n|/b) / 2b).

    Either ``scale``, or ``leakage`` and ``precision``: b = -1 / (2 precision ln(leakage)).
    """

    scale: float | None = None
    leakage: float | None = None
    precision: float | None = None
    code: ClassVar[int] = LAPLACE
    scale_name: ClassVar[str] = "scale"

    @staticmethod
    def scale_from_leakage(leakage, precision):
        return -1.0 / (2.0 * precision * math.log(leakage))

    def bounds(self, lo, hi):
        # The kernel's inversion cannot go beyond b ln(2^54); past 40 b the mass is below 1e-17.
        return lo - 40.0 * self.scale, hi + 40.0 * self.scale

    def pdf(self, t):
        b = self._density_scale()
        return np.exp(-np.abs(t) / b) / (2 * b)

    def cdf(self, t):
        if self.scale == 0:
            return (t >= 0).astype(float)
        z = np.asarray(t, dtype=float) / self.scale
        return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))

    def sf(self, t):
        return self.cdf(-np.asarray(t, dtype=float))

    def breakpoints(self):
        return (0.0,)  # the density's peak is a kink

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
