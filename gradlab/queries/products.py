"""The paper's input x weight maps: the error of f' at noisy products, averaged or per realization."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab._budget import check_memory, check_samples
from gradlab._validate import check_int
from gradlab.activations import Activation
from gradlab.perturbations.chain import Chain, seed_of
from gradlab.perturbations.stages import Stage
from gradlab.queries._common import (
    ActivationLike,
    arguments_checked,
    as_activations,
    as_chain,
    as_grid,
    identity_columns,
    seed_tuple,
)

__all__ = ["product_error_map", "product_error_stats"]

def _product_realizations(acts: list[Activation], ch: Chain, a: np.ndarray, w: np.ndarray, repeats: int, seed):
    """Yield each realization's errors |f'(noisy a w) - f'(a w)|, shape (n_acts, len(a), len(w)).

    In realization r, the input vector and the weight vector each pass the chain once (streams
    (seed, r, 0) and (seed, r, 1)), every product a~ w~ passes it again (stream (seed, r, 2)).
    """
    clean = np.outer(a, w)
    dclean = [act.df(clean) for act in acts]
    base = seed_tuple(seed)
    for r in range(repeats):
        a_noisy = ch.apply(a, seed=(*base, r, 0))
        w_noisy = ch.apply(w, seed=(*base, r, 1))
        noisy = ch.apply(np.outer(a_noisy, w_noisy), seed=(*base, r, 2))
        yield np.stack([np.abs(act.df(noisy) - d) for act, d in zip(acts, dclean)])


def _product_inputs(activations, chain, inputs, weights, repeats, seed):
    acts = as_activations(activations)
    ch = as_chain(chain)
    a = as_grid("inputs", inputs)
    w = as_grid("weights", weights)
    n = check_int("repeats", repeats, minimum=1)
    seed_of(seed_tuple(seed))
    cells = float(a.size) * w.size
    # The map's own arrays: clean and noisy products, per-activation sums and the result columns.
    check_memory(f"inputs x weights = {a.size} x {w.size} for {len(acts)} activation(s)",
                 cells * 8 * (4 + 8 * len(acts)))
    # Each realization also has a fixed cost (~0.1 ms of calls), counted as 10^4 samples.
    check_samples(f"repeats={n} of a {a.size} x {w.size} map", n * max(cells + a.size + w.size, 1e4))
    return acts, ch, a, w, n


def product_error_map(
    activations: ActivationLike | Sequence[ActivationLike],
    chain: Chain | Stage | Sequence[Stage],
    inputs,
    weights,
    *,
    repeats: int = 8,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """The paper's input x weight map: |f'(noisy product) - f'(a w)| averaged over realizations.

    In each of ``repeats`` realizations, the input vector ``inputs`` and the weight vector
    ``weights`` each pass the chain once, every product a~ w~ passes the chain again, and the
    error against f'(a w) is recorded.  Returns one row per (activation, input, weight) with
    columns activation, family, param_*, input, weight, error (the mean over realizations),
    stderr and repeats.  The paper's figures show a single realization (``repeats=1``);
    :func:`product_error_stats` summarises each realization over a window.
    """
    acts, ch, a, w, n = _product_inputs(activations, chain, inputs, weights, repeats, seed)
    arguments_checked()
    sums = np.zeros((2, len(acts), a.size, w.size))
    for err in _product_realizations(acts, ch, a, w, n, seed):
        sums[0] += err
        sums[1] += err * err
    mean = sums[0] / n
    var = np.maximum(sums[1] / n - mean**2, 0.0) * (n / max(n - 1, 1))
    stderr = np.sqrt(var / n) if n > 1 else np.full_like(mean, np.nan)
    parts = []
    grid_a, grid_w = np.meshgrid(a, w, indexing="ij")
    for ia, act in enumerate(acts):
        parts.append(pd.DataFrame({
            **identity_columns(act),
            "input": grid_a.ravel(), "weight": grid_w.ravel(),
            "error": mean[ia].ravel(), "stderr": stderr[ia].ravel(), "repeats": n,
        }))
    return pd.concat(parts, ignore_index=True)


def product_error_stats(
    activations: ActivationLike | Sequence[ActivationLike],
    chain: Chain | Stage | Sequence[Stage],
    inputs,
    weights,
    *,
    window: float = 0.25,
    repeats: int = 8,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """Per-realization statistics of the product error map over the window |a|, |w| <= ``window``.

    Realization r draws exactly the noise of realization r of :func:`product_error_map` with the
    same seed.  The paper reads "about 100x" off single realizations: the ratio of window maxima
    (ReLU's is 1 whenever a product lands on the wrong side of 0) is about 95, the ratio of window
    means about 41 (P = 256, leakage 0.5, a and w on linspace(-1, 1, 513)).

    Returns one row per (activation, realization): activation, family, param_*, kink,
    realization, window, cells (in the window), mean, max, and zero_fraction (cells with no error).
    """
    from gradlab._validate import check_positive

    acts, ch, a, w, n = _product_inputs(activations, chain, inputs, weights, repeats, seed)
    half = check_positive("window", window)
    in_a, in_w = np.abs(a) <= half, np.abs(w) <= half
    if not in_a.any() or not in_w.any():
        raise ValueError(f"window={window!r} holds no (input, weight) cell; widen it or refine the grids")
    arguments_checked()
    rows = []
    for r, err in enumerate(_product_realizations(acts, ch, a, w, n, seed)):
        inside = err[:, in_a][:, :, in_w].reshape(len(acts), -1)
        for ia, act in enumerate(acts):
            rows.append({
                **identity_columns(act), "kink": act.kink, "realization": r, "window": half, "cells": inside.shape[1],
                "mean": float(inside[ia].mean()), "max": float(inside[ia].max()),
                "zero_fraction": float((inside[ia] == 0).mean()),
            })
    return pd.DataFrame(rows)
