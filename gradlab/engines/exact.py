"""Exact engine: gradient errors without sampling.

Supported chains: deterministic stages (Clamp, deterministic Quantize), at most one additive
continuous noise (Gaussian, Uniform, Laplace), then either
- clamps ending in a deterministic Quantize: x~ takes finitely many values, and
  e(x) = sum_k P(x~ = k/P) |f'(k/P) - f'(x)| with P(x~ = k/P) from the noise CDF at the rounding
  thresholds (k +- 1/2)/P (clamped chains put the tails on the end levels);
- clamps only (or nothing): e(x) = atoms at the clamp bounds + the integral of
  |f'(u) - f'(x)| p(u - d) over the open range, by Gauss-Legendre panels whose edges include the
  kinks of f', the point x and every other root of f'(u) = f'(x), so the integrand is smooth on
  each panel;
- no noise at all: x~ = g(x) and e(x) = |f'(g(x)) - f'(x)|; with a final stochastic rounding,
  x~ is one of the two levels around g(x), the far one with probability the fractional distance.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradlab._budget import CHUNK_BYTES
from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain
from gradlab.perturbations.stages import AdditiveNoise, Clamp, Quantize

__all__ = ["CONTINUOUS_SECONDS", "NUMERIC_CONTINUOUS_SECONDS", "ExactUnsupported", "exact_moments", "exact_plan",
           "exact_seconds", "level_distribution"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


class ExactUnsupported(ValueError):
    """The chain is outside what the exact engine can do (the message says why)."""


@dataclass(frozen=True)
class ExactPlan:
    pre: Chain
    noise: AdditiveNoise | None
    lo: float
    hi: float
    quantizer: Quantize | None


def exact_plan(chain: Chain) -> ExactPlan:
    """Split a chain into deterministic pre-stages, one noise, clamps and a final quantizer.

    A final stochastic quantizer is exact only after deterministic stages (``noise`` None).
    """
    stages = list(chain.stages)
    last = chain.lattice
    if last is not None and last.random and not any(s.random for s in stages[:-1]):
        return ExactPlan(Chain(tuple(stages[:-1])), None, -math.inf, math.inf, last)
    for s in stages:
        if s.random and not isinstance(s, AdditiveNoise):
            raise ExactUnsupported(
                f"the exact engine cannot handle {s!r}: it supports Gaussian, Uniform and Laplace "
                "noise, Clamp and deterministic Quantize; use method='mc'"
            )
    noise_at = [i for i, s in enumerate(stages) if isinstance(s, AdditiveNoise)]
    if len(noise_at) > 1:
        raise ExactUnsupported("the exact engine handles at most one noise stage; use method='mc'")
    if not noise_at:
        return ExactPlan(Chain(tuple(stages)), None, -math.inf, math.inf, None)
    i = noise_at[0]
    post = stages[i + 1 :]
    quantizer = None
    if post and isinstance(post[-1], Quantize):
        quantizer = post.pop()
    lo, hi = -math.inf, math.inf
    for s in post:
        if not isinstance(s, Clamp):
            raise ExactUnsupported(
                f"after the noise the exact engine accepts clamps and one final Quantize, got {s!r}; "
                "use method='mc'"
            )
        lo, hi = s.bounds(lo, hi)
    return ExactPlan(Chain(tuple(stages[:i])), stages[i], lo, hi, quantizer)


#: Seconds of work per (input, activation) of the continuous path (a Python loop: breakpoints on a 2,049-point
#: grid, then Gauss-Legendre panels): measured 0.1-0.5 ms on 2 cores (Uniform 0.1 ms, Gaussian 0.3, Laplace
#: with a clamp 0.5), up to 0.8 ms under load; the estimate takes the upper end.  A numeric activation also
#: scans each input's range for jumps: 6-7 ms.  The other paths are vectorized.
CONTINUOUS_SECONDS = 8e-4
NUMERIC_CONTINUOUS_SECONDS = 8e-3


def exact_seconds(acts: Sequence[Activation], chain: Chain, n_inputs: int) -> float:
    """An estimate of the seconds :func:`exact_moments` needs (0 where the work is vectorized and negligible).

    Raises :class:`ExactUnsupported` as :func:`exact_plan` does.
    """
    plan = exact_plan(chain)
    if plan.noise is not None and plan.quantizer is None:
        each = sum(CONTINUOUS_SECONDS if a.symbolic else NUMERIC_CONTINUOUS_SECONDS for a in acts)
        return each * float(n_inputs)
    return 0.0


def exact_moments(acts: Sequence[Activation], chain: Chain, xs: np.ndarray) -> dict[str, np.ndarray]:
    """Exact statistics of d = f'(x~) - f'(x), each an array of shape (n_acts, n_x)."""
    plan = exact_plan(chain)
    d = plan.pre.apply(xs) if len(plan.pre) else xs.copy()
    dfx = np.stack([a.df(xs) for a in acts])
    if plan.noise is None and plan.quantizer is not None:
        return _stochastic_rounding(acts, plan.quantizer, d, dfx)
    if plan.noise is None:
        diff = np.stack([a.df(d) for a in acts]) - dfx
        return _pack(np.abs(diff), diff, diff**2)
    if plan.quantizer is not None:
        return _lattice(acts, plan, d, dfx)
    return _continuous(acts, plan, xs, d, dfx)


def _pack(mean_abs, bias, second):
    zeros = np.zeros_like(mean_abs)
    return {
        "mean_abs_error": mean_abs,
        "bias": bias,
        "rms_error": np.sqrt(second),
        "stderr": zeros,
        "bias_stderr": zeros,
        "nonfinite": zeros,
    }


#: Most quantization levels within reach of one input that the lattice sum takes on.
MAX_LEVELS = 1 << 24


def _level_bands(plan: ExactPlan, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per input, the first and last level index (k0, k1) it can reach through the noise and the clamps."""
    q = plan.quantizer
    P = float(q.precision)
    lo, hi = plan.noise.bounds(d, d)
    lo, hi = np.clip(lo, plan.lo, plan.hi), np.clip(hi, plan.lo, plan.hi)
    reach = float(max(np.abs(lo).max(), np.abs(hi).max()))
    if not math.isfinite(reach) or reach * P >= 2.0**52:
        raise ExactUnsupported(
            f"inputs and noise reach {reach:.3g}, where level indices at precision {P:g} "
            "are no longer exact integers (2**52); use method='mc'"
        )
    k0 = np.rint(Chain((q,)).apply(lo) * P).astype(np.int64)
    k1 = np.rint(Chain((q,)).apply(hi) * P).astype(np.int64)
    widest = int((k1 - k0).max()) + 1
    if widest > MAX_LEVELS:
        raise ExactUnsupported(
            f"the exact engine would sum over {widest:.3g} quantization levels for one input "
            f"(the limit is {MAX_LEVELS}); add a clamp, narrow the noise, or use method='mc'"
        )
    return k0, k1


def _lattice(acts, plan: ExactPlan, d, dfx):
    """Lattice sums, each input over the band of levels it can reach, in chunks of inputs near CHUNK_BYTES.

    Bands keep the work at (inputs x levels within the noise's reach), not (inputs x every level
    between the smallest and the largest input), and memory bounded for any number of inputs.
    """
    k0, k1 = _level_bands(plan, d)
    parts = []
    start = 0
    while start < d.size:
        stop = d.size
        while True:
            band = int((k1[start:stop] - k0[start:stop]).max()) + 1
            if (stop - start) * band * 8 <= CHUNK_BYTES or stop - start == 1:
                break
            stop = start + max(1, (stop - start) // 2)
        rows = slice(start, stop)
        parts.append(_lattice_sums(acts, plan, d[rows], dfx[:, rows], k0[rows], k1[rows], band))
        start = stop
    return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}


def _lattice_sums(acts, plan: ExactPlan, d, dfx, k0, k1, band: int):
    """Sums over the levels k0[j] .. k1[j] of each input j, as (n, band) arrays padded with empty levels."""
    p, levels = _level_probabilities(plan, d, k0, k1, band)
    reached = p > 0
    mean_abs, bias, second = [], [], []
    for a, d_clean in zip(acts, dfx):
        # Levels never reached add nothing, even where f' overflows there (0 * inf would be NaN).
        diff = np.where(reached, a.df(levels) - d_clean[:, None], 0.0)
        mean_abs.append((p * np.abs(diff)).sum(1))
        bias.append((p * diff).sum(1))
        second.append((p * diff * diff).sum(1))
    return _pack(np.stack(mean_abs), np.stack(bias), np.stack(second))


def _level_probabilities(plan: ExactPlan, d, k0, k1, band: int) -> tuple[np.ndarray, np.ndarray]:
    """(p, levels), each (n, band): P(x~ = level) for the levels k0[j] .. k1[j] of input j, padded with p = 0."""
    q = plan.quantizer
    P = float(q.precision)
    ks = k0[:, None] + np.arange(band)
    inside = ks <= k1[:, None]
    # P(x~ >= level i+1) = P(d + n > (k_i + 1/2)/P); each band's last level takes the upper tail (the
    # clamp's atom, or noise mass below 1e-17 beyond the truncation), its first the lower one.
    z = (ks[:, :-1] + 0.5) / P - d[:, None]
    upper = np.where(inside[:, 1:], plan.noise.sf(z), 0.0)
    lower = np.where(inside[:, 1:], plan.noise.cdf(z), 1.0)
    n = d.size
    cum_hi = np.concatenate([np.ones((n, 1)), upper, np.zeros((n, 1))], axis=1)
    cum_lo = np.concatenate([np.zeros((n, 1)), lower, np.ones((n, 1))], axis=1)
    # Differences of whichever tail is smaller keep tiny probabilities accurate.
    use_lo = np.concatenate([z, np.full((n, 1), np.inf)], axis=1) <= 0
    p = np.where(use_lo, cum_lo[:, 1:] - cum_lo[:, :-1], cum_hi[:, :-1] - cum_hi[:, 1:])
    # Padding levels carry no probability; valuing them at the band's last level keeps f' finite there.
    return p, q.values(np.minimum(ks, k1[:, None]))


def level_distribution(chain: Chain, x: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact distribution of x~ for one clean input x: (levels, probabilities), both 1-D.

    Defined for the chains whose x~ takes finitely many values: noise -> clamps -> a final
    deterministic Quantize, as in :func:`exact_moments` (the same probabilities, so
    sum(p * |f'(levels) - f'(x)|) is its e(x)), or deterministic stages then a stochastic
    rounding (two levels).  Levels the noise reaches with probability below 1e-17 are left out.
    """
    plan = exact_plan(chain)
    d = plan.pre.apply(np.array([float(x)])) if len(plan.pre) else np.array([float(x)])
    q = plan.quantizer
    if q is None and plan.noise is not None:
        raise ExactUnsupported(f"x~ is continuous under {chain!r}: it has a density, not levels")
    if q is None:
        levels, p = d, np.ones(1)
    elif plan.noise is None:
        low, high, up = _two_levels(q, d)
        levels, p = np.concatenate([low, high]), np.concatenate([1.0 - up, up])
    else:
        k0, k1 = _level_bands(plan, d)
        p, levels = (v[0] for v in _level_probabilities(plan, d, k0, k1, int(k1[0] - k0[0]) + 1))
    keep = p > 0
    return levels[keep], p[keep]


def _two_levels(q: Quantize, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastic rounding of d: the level below |d| (sign kept), the one above, and the probability of the latter."""
    a = np.abs(d) * float(q.precision)
    k = np.floor(a)
    sign = np.where(d < 0, -1.0, 1.0)
    return q.values(sign * k), q.values(sign * (k + 1)), a - k


def _stochastic_rounding(acts, q: Quantize, d, dfx):
    """x~ = sign(d) k/P or sign(d) (k + 1)/P with k = floor(|d| P), the latter with probability frac(|d| P)."""
    low, high, up = _two_levels(q, d)
    moments = np.zeros((3, len(acts), d.size))
    for ia, act in enumerate(acts):
        for value, prob in ((low, 1.0 - up), (high, up)):
            diff = act.df(value) - dfx[ia]
            moments[:, ia] += prob * np.stack([np.abs(diff), diff, diff * diff])
    return _pack(*moments)


def _breakpoints(act: Activation, x: float, a: float, b: float) -> np.ndarray:
    """Points in (a, b) where |f'(u) - f'(x)| is not smooth: kinks and roots of f'(u) = f'(x).

    A numeric activation's kinks are unknown: its ``jump_points`` scan (a, b) for jumps of f and f'.
    """
    pts = list(act.jump_points(a, b))
    pts.append(x)
    grid = np.linspace(a, b, 2049)
    g = act.df(grid) - act.df(x)
    s = np.sign(g)
    idx = np.nonzero(s[:-1] * s[1:] < 0)[0]
    if idx.size:
        left, right = grid[idx].copy(), grid[idx + 1].copy()
        target = act.df(x)
        g_left = act.df(left) - target
        for _ in range(60):
            mid = 0.5 * (left + right)
            g_mid = act.df(mid) - target
            same = np.sign(g_mid) == np.sign(g_left)
            left = np.where(same, mid, left)
            g_left = np.where(same, g_mid, g_left)
            right = np.where(same, right, mid)
        pts.extend(0.5 * (left + right))
    pts = np.array(pts)
    return pts[(pts > a) & (pts < b)]


def _continuous(acts, plan: ExactPlan, xs, d, dfx):
    noise = plan.noise
    if noise.spread == 0:
        raise ExactUnsupported(f"{noise!r} adds no noise; drop the stage")
    results = np.zeros((3, len(acts), xs.size))
    # Panels no wider than a quarter of the noise scale keep the density well resolved.
    panel = noise.spread / 4
    for j, (x, dj) in enumerate(zip(xs, d)):
        a, b = noise.bounds(dj, dj)
        a, b = max(a, plan.lo), min(b, plan.hi)
        if not a < b:
            # The noise is below float64's resolution at dj (or the clamp pins it): x~ = clamp(dj).
            at = min(max(dj, plan.lo), plan.hi)
            for ia, act in enumerate(acts):
                v = float(act.df(at)) - dfx[ia, j]
                results[:, ia, j] = (abs(v), v, v * v)
            continue
        p_lo = noise.cdf(np.array(plan.lo - dj)) if plan.lo > -math.inf else 0.0
        p_hi = noise.sf(np.array(plan.hi - dj)) if plan.hi < math.inf else 0.0
        for ia, act in enumerate(acts):
            edges = [a, b, *_breakpoints(act, x, a, b)]
            # The density's own kinks and support edges (a uniform's ends, a Laplace peak), moved to dj.
            edges += [dj + t for t in noise.breakpoints()]
            edges = np.unique(np.clip(edges, a, b))
            # Split each interval into panels no wider than a quarter of the noise scale.
            pieces = []
            for u0, u1 in zip(edges[:-1], edges[1:]):
                n = max(1, math.ceil((u1 - u0) / panel))
                pieces.append(np.linspace(u0, u1, n + 1))
            knots = np.unique(np.concatenate(pieces))
            half = 0.5 * (knots[1:] - knots[:-1])
            mid = 0.5 * (knots[1:] + knots[:-1])
            u = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()
            w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel() * noise.pdf(u - dj)
            # Nodes where the density underflows to 0 add nothing, even where f' overflows there.
            diff = np.where(w > 0, act.df(u) - dfx[ia, j], 0.0)
            atoms = []
            for prob, edge in ((p_lo, plan.lo), (p_hi, plan.hi)):
                if prob:
                    atoms.append((float(prob), float(act.df(edge)) - dfx[ia, j]))
            results[0, ia, j] = (w * np.abs(diff)).sum() + sum(p * abs(v) for p, v in atoms)
            results[1, ia, j] = (w * diff).sum() + sum(p * v for p, v in atoms)
            results[2, ia, j] = (w * diff * diff).sum() + sum(p * v * v for p, v in atoms)
    return _pack(results[0], results[1], results[2])
