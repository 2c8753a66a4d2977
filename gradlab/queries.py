"""User-facing queries: validate input, pick an engine, return tidy DataFrames."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab._validate import check_choice, check_int
from gradlab.activations import Activation, activation
from gradlab.engines import ExactUnsupported, exact_moments, exact_plan, mc_moments
from gradlab.perturbations.chain import Chain, seed_of
from gradlab.perturbations.stages import Stage

__all__ = ["as_activations", "as_chain", "as_grid", "gradient_error", "product_error_map"]

METHODS = ("auto", "exact", "mc")
ActivationLike = str | Activation


def as_activations(acts: ActivationLike | Sequence[ActivationLike]) -> list[Activation]:
    """One or several activations (names, expressions or Activation objects) as a list."""
    items = [acts] if isinstance(acts, (str, Activation)) else list(acts)
    if not items:
        raise ValueError("activations must name at least one activation, got an empty list")
    return [activation(a) for a in items]


def as_chain(chain: Chain | Stage | Sequence[Stage]) -> Chain:
    if isinstance(chain, Chain):
        return chain
    if isinstance(chain, Stage):
        return Chain((chain,))
    if isinstance(chain, (list, tuple)):
        return Chain(tuple(chain))
    raise TypeError(f"chain must be a gradlab Chain (e.g. gl.analog()), a stage or a list of stages, got {chain!r}")


def as_grid(name: str, values) -> np.ndarray:
    """A non-empty 1-D float64 array of finite values."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} must hold finite numbers, got {bad!r}")
    return np.ascontiguousarray(arr)


def _pick_method(method: str, chain: Chain) -> str:
    check_choice("method", method, METHODS)
    if method == "mc":
        return "mc"
    try:
        exact_plan(chain)
    except ExactUnsupported:
        if method == "exact":
            raise
        return "mc"
    return "exact"


def _frame(acts: list[Activation], xs: np.ndarray, stats: dict[str, np.ndarray], samples: int, method: str,
           extra: dict | None = None) -> pd.DataFrame:
    parts = []
    for ia, act in enumerate(acts):
        part = {"activation": act.label, "family": act.name, **{f"param_{k}": v for k, v in act.params.items()},
                "kink": act.kink, "x": xs}
        part.update({k: v[ia] for k, v in stats.items()})
        part.update({"samples": samples, "method": method})
        parts.append(pd.DataFrame(part))
    frame = pd.concat(parts, ignore_index=True)
    for k, v in (extra or {}).items():
        frame[k] = v
    return frame


def gradient_error(
    activations: ActivationLike | Sequence[ActivationLike],
    chain: Chain | Stage | Sequence[Stage],
    x,
    *,
    method: str = "auto",
    samples: int = 100_000,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """Gradient error e(x) = E|f'(x~) - f'(x)| and companions, per activation and input.

    Parameters
    ----------
    activations : names, expressions or :class:`Activation` objects (one or a list).
    chain : the perturbation chain (e.g. ``gl.analog(leakage=0.5, precision=256)``).
    x : 1-D array of clean inputs.
    method : 'exact' (lattice sum / quadrature; an error if the chain is out of its reach), 'mc'
        (Monte Carlo, every chain) or 'auto' (exact when possible).
    samples : Monte Carlo samples per input (ignored by the exact engine).
    seed : Monte Carlo seed (int >= 0 or tuple of them).

    Returns
    -------
    DataFrame, one row per (activation, x): activation (label), family, param_* columns, kink,
    x, mean_abs_error, bias (E[f'(x~)] - f'(x)), rms_error, stderr (of mean_abs_error; 0 when
    exact), bias_stderr, samples (0 when exact) and method.
    """
    acts = as_activations(activations)
    ch = as_chain(chain)
    xs = as_grid("x", x)
    chosen = _pick_method(method, ch)
    if chosen == "exact":
        return _frame(acts, xs, exact_moments(acts, ch, xs), 0, "exact")
    n = check_int("samples", samples, minimum=2)
    seed_of(seed)
    return _frame(acts, xs, mc_moments(acts, ch, xs, n, seed), n, "mc")


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
    stderr and repeats.
    """
    acts = as_activations(activations)
    ch = as_chain(chain)
    a = as_grid("inputs", inputs)
    w = as_grid("weights", weights)
    n = check_int("repeats", repeats, minimum=1)
    clean = np.outer(a, w)
    sums = np.zeros((2, len(acts)) + clean.shape)
    base = seed if isinstance(seed, (tuple, list)) else (seed,)
    for r in range(n):
        a_noisy = ch.apply(a, seed=(*base, r, 0))
        w_noisy = ch.apply(w, seed=(*base, r, 1))
        noisy = ch.apply(np.outer(a_noisy, w_noisy), seed=(*base, r, 2))
        for ia, act in enumerate(acts):
            err = np.abs(act.df(noisy) - act.df(clean))
            sums[0, ia] += err
            sums[1, ia] += err * err
    mean = sums[0] / n
    var = np.maximum(sums[1] / n - mean**2, 0.0) * (n / max(n - 1, 1))
    stderr = np.sqrt(var / n) if n > 1 else np.full_like(mean, np.nan)
    parts = []
    grid_a, grid_w = np.meshgrid(a, w, indexing="ij")
    for ia, act in enumerate(acts):
        parts.append(pd.DataFrame({
            "activation": act.label, "family": act.name,
            **{f"param_{k}": v for k, v in act.params.items()},
            "input": grid_a.ravel(), "weight": grid_w.ravel(),
            "error": mean[ia].ravel(), "stderr": stderr[ia].ravel(), "repeats": n,
        }))
    return pd.concat(parts, ignore_index=True)
