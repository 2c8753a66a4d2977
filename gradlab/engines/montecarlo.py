"""Monte Carlo engine: sampled gradient errors for any chain, with standard errors.

Input value j draws from random stream j of the seed, so results are bit-identical whatever the
thread count, and every activation in one call sees the same perturbed samples (common random
numbers: their differences and ratios are sharper than independent estimates).

Two paths:
- lattice: the chain ends with a quantizer, so x~ only takes lattice values k/precision; the
  chain's compiled kernel counts hits per level and the errors of every activation follow from the
  counts and a table of f' at the levels (no per-activation compilation, no sample storage).
- general: one compiled pass per input draws each sample, evaluates every activation's f' on it and
  accumulates the sums (a kernel generated for the chain and the activations, compiled once and
  cached); no sample is stored.  A :class:`NumericActivation` (f' a Python callable, e.g. from
  PyTorch) cannot be called from that kernel: its samples are drawn by the chain's own kernel
  from the same streams (so it shares the others' samples), a block of inputs at a time of about
  CHUNK_BYTES, and its f' is evaluated on each block.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gradlab._budget import CHUNK_BYTES, check_memory
from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain, seed_of

__all__ = ["mc_moments"]

MAX_LEVELS = 1 << 22
#: The statistics returned, in the order _moments_from_diffs gives them, then the count of
#: samples whose x~ is not a finite number (a flipped float exponent bit): they are left out of
#: the means, which average the finite ones.
STATS = ("mean_abs_error", "bias", "rms_error", "stderr", "bias_stderr", "nonfinite")


def _moments_from_diffs(diff_sum, diff_sq, abs_sum, n):
    """(mean_abs, bias, rms, stderr of mean_abs, stderr of bias) from sums over n samples (n may be an array)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_abs = abs_sum / n
        bias = diff_sum / n
        second = diff_sq / n
        denom = np.maximum(n - 1, 1)
        var_abs = np.maximum(second - mean_abs**2, 0.0) * n / denom
        var_d = np.maximum(second - bias**2, 0.0) * n / denom
        return mean_abs, bias, np.sqrt(second), np.sqrt(var_abs / n), np.sqrt(var_d / n)


def mc_moments(
    acts: Sequence[Activation], chain: Chain, xs: np.ndarray, samples: int, seed
) -> dict[str, np.ndarray]:
    """Sampled statistics of d = f'(x~) - f'(x), each an array of shape (n_acts, n_x).

    Inputs are processed in chunks whose arrays stay near :data:`CHUNK_BYTES`, so memory does not
    grow with the number of inputs; input j always draws from stream j, whatever the chunking.
    """
    key = seed_of(seed)
    dfx = np.stack([a.df(xs) for a in acts])
    out = {k: np.empty((len(acts), xs.size)) for k in STATS}
    quant = chain.lattice if chain.random else None
    start = 0
    while start < xs.size:
        stop, window = _lattice_chunk(chain, quant, xs, start)
        part = None
        if window is not None:
            part = _counted(acts, dfx[:, start:stop], xs[start:stop], chain, quant, key, start, samples, window)
        if part is None:
            part = _general(acts, dfx[:, start:stop], xs[start:stop], chain, key, start, samples)
        for k in STATS:
            out[k][:, start:stop] = part[k]
        start = stop
    return out


def _lattice_chunk(chain: Chain, quant, xs: np.ndarray, start: int):
    """(stop, (k0, k1)): the next chunk of inputs whose level counts fit CHUNK_BYTES, with its level window.

    The window is None where the lattice path does not apply (no final quantizer, or more than
    MAX_LEVELS levels in reach of one input): the chunk then takes the general path.
    """
    stop = xs.size
    while True:
        part = xs[start:stop]
        window = None
        if quant is not None:
            lo, hi = chain.bounds(float(part.min()), float(part.max()))
            P = float(quant.precision)
            # Level indices must stay exact integers in float64 (|k| < 2^52).
            if math.isfinite(lo) and math.isfinite(hi) and max(abs(lo), abs(hi)) * P < 2.0**52:
                k0, k1 = math.floor(lo * P) - 1, math.ceil(hi * P) + 1
                if k1 - k0 < MAX_LEVELS:
                    window = (k0, k1)
        if window is None:
            return xs.size, None
        cells = (stop - start) * (window[1] - window[0] + 1)
        if cells * 8 <= CHUNK_BYTES or stop - start == 1:
            return stop, window
        stop = start + max(1, (stop - start) // 2)


def _counted(acts, dfx, xs, chain, quant, key, stream0, samples, window):
    """Statistics from per-level hit counts (None if some sample left the window: the general path redoes it)."""
    k0, k1 = window
    counts = np.zeros((xs.size, k1 - k0 + 1), np.int64)
    missed = chain.kernels.lattice_counts(xs, chain.params(), key, stream0, samples, float(k0), counts)
    if missed.any():
        return None
    levels = quant.values(np.arange(k0, k1 + 1))
    return _from_counts(acts, dfx, counts.astype(np.float64), levels, samples)


def _from_counts(acts, dfx, counts, levels, samples):
    out = {k: [] for k in STATS[:-1]}
    for a, d_clean in zip(acts, dfx):
        table = a.df(levels)
        # Levels no sample reached add nothing, even where f' overflows there (0 * inf would be NaN).
        d = np.where(counts > 0, table[None, :] - d_clean[:, None], 0.0)
        stats = _moments_from_diffs(
            (counts * d).sum(1), (counts * d * d).sum(1), (counts * np.abs(d)).sum(1), samples
        )
        for name, value in zip(out, stats):
            out[name].append(value)
    result = {k: np.stack(v) for k, v in out.items()}
    result["nonfinite"] = np.zeros_like(result["bias"])
    return result


def _general(acts, dfx, xs, chain, key, stream0, samples):
    """One compiled pass per input: draw x~, evaluate every f', accumulate the sums (no samples stored)."""
    from gradlab.kernels.codegen import fused_module

    sums = np.zeros((len(acts), 3, xs.size))
    nonfinite = np.zeros(xs.size, np.int64)
    # Activations with compiled scalar cores join the fused pass; the others are evaluated from Python.
    compiled = [i for i, a in enumerate(acts) if a.kernels is not None]
    numeric = [i for i, a in enumerate(acts) if a.kernels is None]
    if compiled:
        kernels = fused_module(chain.kernels, len(chain), [acts[i].kernels for i in compiled])
        part = np.zeros((len(compiled), 3, xs.size))
        kernels.moment_sums(xs, chain.params(), key, stream0, samples, np.ascontiguousarray(dfx[compiled]), part,
                            nonfinite)
        sums[compiled] = part
    if numeric:
        nonfinite = _sampled_sums([acts[i] for i in numeric], dfx[numeric], xs, chain, key, stream0, samples,
                                  sums, numeric)
    stats = dict(zip(STATS, _moments_from_diffs(sums[:, 0], sums[:, 1], sums[:, 2], samples - nonfinite)))
    stats["nonfinite"] = np.broadcast_to(nonfinite, stats["bias"].shape).astype(np.float64)
    return stats


def _sampled_sums(acts, dfx, xs, chain: Chain, key, stream0, samples, sums, rows) -> np.ndarray:
    """sums[rows[a], :, j] for numeric activations: the chain's samples in blocks, f' evaluated on each.

    Sample s at xs[j] is draw s of stream stream0 + j, as in the fused pass.  Returns the count of
    non-finite samples per input.
    """
    # A block holds the samples and about five working copies (f', the difference, its square, ...).
    per_input = 6 * 8 * samples
    # One input's samples are held whole (its stream cannot be resumed from Python): refuse what cannot fit.
    check_memory(f"samples={samples} per input for an activation given as a callable (held one input at a time)",
                 per_input)
    block = max(1, CHUNK_BYTES // per_input)
    nonfinite = np.zeros(xs.size, np.int64)
    for start in range(0, xs.size, block):
        stop = min(start + block, xs.size)
        draws = np.empty((stop - start, samples))
        chain.perturb_into(xs[start:stop], key, stream0 + start, draws)
        finite = np.isfinite(draws)
        nonfinite[start:stop] = draws.size // (stop - start) - finite.sum(1)
        safe = np.where(finite, draws, 0.0)
        for a, d_clean, row in zip(acts, dfx, rows):
            d = np.where(finite, a.df(safe) - d_clean[start:stop, None], 0.0)
            sums[row, 0, start:stop] = d.sum(1)
            sums[row, 1, start:stop] = (d * d).sum(1)
            sums[row, 2, start:stop] = np.abs(d).sum(1)
    return nonfinite
