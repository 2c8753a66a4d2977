"""Monte Carlo engine: sampled gradient errors for any chain, with standard errors.

Input value j draws from random stream j of the seed, so results are bit-identical whatever the
thread count, and every activation in one call sees the same perturbed samples (common random
numbers: their differences and ratios are sharper than independent estimates).

Two paths:
- lattice: the chain ends with a quantizer, so x~ only takes lattice values k/precision; the
  chain's compiled kernel counts hits per level and the errors of every activation follow from the
  counts and a table of f' at the levels (no per-activation compilation, no sample storage).
- general: blocks of samples are drawn by the chain kernel and f' is evaluated on them by the
  activation's compiled array kernel.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain, seed_of

__all__ = ["mc_moments"]

MAX_LEVELS = 1 << 22
BLOCK_VALUES = 1 << 22
#: The statistics returned, in the order _moments_from_diffs gives them.
STATS = ("mean_abs_error", "bias", "rms_error", "stderr", "bias_stderr")


def _moments_from_diffs(diff_sum, diff_sq, abs_sum, n):
    """(mean_abs, bias, rms, stderr of mean_abs, stderr of bias) from sums over n samples."""
    mean_abs = abs_sum / n
    bias = diff_sum / n
    second = diff_sq / n
    denom = max(n - 1, 1)
    var_abs = np.maximum(second - mean_abs**2, 0.0) * n / denom
    var_d = np.maximum(second - bias**2, 0.0) * n / denom
    return mean_abs, bias, np.sqrt(second), np.sqrt(var_abs / n), np.sqrt(var_d / n)


def mc_moments(
    acts: Sequence[Activation], chain: Chain, xs: np.ndarray, samples: int, seed
) -> dict[str, np.ndarray]:
    """Sampled statistics of d = f'(x~) - f'(x), each an array of shape (n_acts, n_x)."""
    key = seed_of(seed)
    dfx = np.stack([a.df(xs) for a in acts])
    quant = chain.lattice
    if quant is not None and chain.random:
        lo, hi = chain.bounds(float(xs.min()), float(xs.max()))
        if math.isfinite(lo) and math.isfinite(hi) and (hi - lo) * quant.precision < MAX_LEVELS:
            k0 = math.floor(lo * quant.precision) - 1
            k1 = math.ceil(hi * quant.precision) + 1
            counts = np.zeros((xs.size, k1 - k0 + 1), np.int64)
            missed = chain.kernels.lattice_counts(xs, chain.params(), key, samples, float(k0), counts)
            if not missed.any():
                levels = quant.values(np.arange(k0, k1 + 1))
                return _from_counts(acts, dfx, counts.astype(np.float64), levels, samples)
    return _general(acts, dfx, xs, chain, key, samples)


def _from_counts(acts, dfx, counts, levels, samples):
    out = {k: [] for k in STATS}
    for a, d_clean in zip(acts, dfx):
        table = a.df(levels)
        d = table[None, :] - d_clean[:, None]
        stats = _moments_from_diffs(
            (counts * d).sum(1), (counts * d * d).sum(1), (counts * np.abs(d)).sum(1), samples
        )
        for name, value in zip(out, stats):
            out[name].append(value)
    return {k: np.stack(v) for k, v in out.items()}


def _general(acts, dfx, xs, chain, key, samples):
    sums = np.zeros((3, len(acts), xs.size))
    rows = max(1, BLOCK_VALUES // samples)
    block = np.empty((min(rows, xs.size), samples))
    for start in range(0, xs.size, rows):
        stop = min(start + rows, xs.size)
        out = block[: stop - start]
        chain.perturb_into(xs[start:stop], key, start, out)
        for ia, a in enumerate(acts):
            d = a.df(out) - dfx[ia, start:stop, None]
            sums[0, ia, start:stop] = d.sum(1)
            sums[1, ia, start:stop] = (d * d).sum(1)
            sums[2, ia, start:stop] = np.abs(d).sum(1)
    stats = _moments_from_diffs(sums[0], sums[1], sums[2], samples)
    return dict(zip(STATS, stats))
