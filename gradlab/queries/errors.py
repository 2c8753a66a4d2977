"""Gradient errors: e(x) per input, and its summary near zero as a ratio to a reference."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab._budget import check_memory, check_samples, check_seconds
from gradlab._validate import check_choice, check_int
from gradlab.activations import Activation
from gradlab.engines import ExactUnsupported, exact_moments, exact_plan, exact_seconds, mc_moments
from gradlab.perturbations.chain import Chain, seed_of
from gradlab.perturbations.stages import Stage
from gradlab.queries._common import (
    FRAME_BYTES,
    METHODS,
    ActivationLike,
    arguments_checked,
    as_activations,
    as_chain,
    as_chains,
    as_grid,
    identity_columns,
    seed_tuple,
)

__all__ = ["DEFAULT_SAMPLES", "STATISTICS", "error_near_zero", "gradient_error"]

#: Monte Carlo samples per input when sampling was not asked for by a count.
DEFAULT_SAMPLES = 100_000


def _pick_method(method: str, chain: Chain, samples: int | None) -> str:
    """'exact' or 'mc'.  A sample count is a request to sample: 'auto' honours it, 'exact' refuses it."""
    check_choice("method", method, METHODS)
    if samples is not None:
        if method == "exact":
            raise ValueError(
                f"samples={samples!r} asks for Monte Carlo sampling, but method='exact' draws no samples; "
                "leave samples out for the exact engine, or use method='mc'"
            )
        return "mc"
    if method == "mc":
        return "mc"
    try:
        exact_plan(chain)
    except ExactUnsupported:
        if method == "exact":
            raise
        return "mc"
    return "exact"


def _frame(acts: list[Activation], xs: np.ndarray, stats: dict[str, np.ndarray], samples: int, method: str):
    """One row per (activation, x): identity columns, then the statistics."""
    parts = []
    for ia, act in enumerate(acts):
        part = {**identity_columns(act), "kink": act.kink, "x": xs}
        part.update({k: v[ia] for k, v in stats.items()})
        part["nonfinite"] = part["nonfinite"].astype(np.int64)
        part.update({"samples": samples, "method": method})
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def gradient_error(
    activations: ActivationLike | Sequence[ActivationLike],
    chain: Chain | Stage | Sequence[Stage],
    x,
    *,
    method: str = "auto",
    samples: int | None = None,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """Gradient error e(x) = E|f'(x~) - f'(x)| and companions, per activation and input.

    Parameters
    ----------
    activations : names, expressions or :class:`Activation` objects (one or a list); an
        Activation is used as it is, with its own kink convention.
    chain : the perturbation chain (e.g. ``gl.analog(leakage=0.5, precision=256)``).
    x : 1-D array of clean inputs.
    method : 'exact' (lattice sum / quadrature; an error if the chain is out of its reach), 'mc'
        (Monte Carlo, every chain) or 'auto' (exact when possible, unless ``samples`` is given).
    samples : Monte Carlo samples per input.  Giving it asks for sampling: 'auto' then samples,
        'exact' refuses.  Left out, Monte Carlo draws 100,000 per input.
    seed : Monte Carlo seed (int >= 0 or tuple of them); checked whatever the engine.

    Returns
    -------
    DataFrame, one row per (activation, x): activation (label), family, param_* columns, kink,
    x, mean_abs_error, bias (E[f'(x~)] - f'(x)), rms_error, stderr (of mean_abs_error; 0 when
    exact), bias_stderr, nonfinite (samples whose x~ was not a finite number, e.g. a flipped
    float32 exponent bit: counted here and left out of the means, which average the others),
    samples (0 when exact) and method.

    Work is bounded (see :func:`gradlab.set_budget`): a call that would draw, hold or compute more
    than the budget is refused before it starts.  Where f'(x) is not a finite number, or f'(x~)
    overflows float64 so that a statistic is not one, the call is refused naming the activation and x.
    """
    acts = as_activations(activations)
    ch = as_chain(chain)
    xs = as_grid("x", x)
    if samples is not None:
        check_int("samples", samples, minimum=2)
    seed_of(seed)  # refuse a bad seed before the run, whichever engine runs
    check_memory(f"{xs.size} inputs x {len(acts)} activation(s)", FRAME_BYTES * float(xs.size) * len(acts))
    if _pick_method(method, ch, samples) == "exact":
        check_seconds(f"the exact engine at {xs.size} inputs x {len(acts)} activation(s) under {ch!r}",
                      exact_seconds(acts, ch, xs.size))
        arguments_checked()
        _check_clean_derivatives(acts, xs)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, by name
                stats = exact_moments(acts, ch, xs)
            _check_finite_statistics(acts, ch, xs, stats, 0)
            return _frame(acts, xs, stats, 0, "exact")
        except ExactUnsupported:
            if method == "exact":
                raise  # 'auto' samples instead: the message said why the lattice sum was out of reach
    n = DEFAULT_SAMPLES if samples is None else int(samples)
    check_samples(f"samples={n} at {xs.size} inputs", float(n) * xs.size)
    arguments_checked()
    _check_clean_derivatives(acts, xs)
    with np.errstate(over="ignore", invalid="ignore"):
        stats = mc_moments(acts, ch, xs, n, seed)
    _check_finite_statistics(acts, ch, xs, stats, n)
    return _frame(acts, xs, stats, n, "mc")


def _check_clean_derivatives(acts: list[Activation], xs: np.ndarray) -> None:
    """Refuse inputs where f'(x) itself is not a finite number: |f'(x~) - f'(x)| has no value there."""
    for act in acts:
        with np.errstate(all="ignore"):
            bad = ~np.isfinite(act.df(xs))
        if bad.any():
            x0 = float(xs[bad][0])
            raise ValueError(
                f"f'(x) of {act.label} is {float(act.df(np.array([x0]))[0])!r} at x = {x0!r} ({int(bad.sum())} of "
                f"{xs.size} inputs): not a finite number (f' overflows float64 there), so its gradient error is "
                "undefined; leave such inputs out, or scale the activation down"
            )


_STATISTICS = ("mean_abs_error", "bias", "rms_error", "stderr", "bias_stderr")


def _check_finite_statistics(acts: list[Activation], ch: Chain, xs: np.ndarray, stats: dict, samples: int) -> None:
    """Refuse statistics that are not finite numbers where there was something to average.

    f'(x~) can overflow where the chain takes x~ (an exponential far in the noise's tail), or the
    squares of the differences can: the means are then inf or NaN, never silently.  Monte Carlo
    inputs whose every sample was non-finite (counted in 'nonfinite') are left as NaN: their count says so.
    """
    averaged = np.ones(stats["bias"].shape, bool) if samples == 0 else samples - stats["nonfinite"] > 0
    for name in _STATISTICS:
        bad = ~np.isfinite(stats[name]) & averaged
        if bad.any():
            ia, j = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(
                f"{name} of {acts[ia].label} at x = {float(xs[j])!r} under {ch!r} is {float(stats[name][ia, j])!r}: "
                "f'(x~) - f'(x), or its square, is beyond float64's range (about 1.8e308) where the chain takes x~, "
                "so the errors cannot be represented; narrow the inputs or the noise, or scale the activation down"
            )


def _noise_sigma(ch: Chain) -> float:
    """The Gaussian sigma of a chain's first Gaussian stage (NaN if it has none)."""
    from gradlab.perturbations.stages import Gaussian

    return next((s.sigma for s in ch.stages if isinstance(s, Gaussian)), float("nan"))


STATISTICS = ("mean", "max")


def error_near_zero(
    activations: ActivationLike | Sequence[ActivationLike],
    chains: Chain | Stage | Sequence[Stage] | Sequence[Chain],
    *,
    width=1 / 64,
    reference: ActivationLike = "gelu",
    statistic: str = "mean",
    points: int = 101,
    method: str = "auto",
    samples: int | None = None,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """Gradient error over |x| <= width, summarised by its mean or maximum, and its ratio to a reference.

    The window holds ``points`` equally spaced x in [-width, width] (odd, so x = 0 is included).
    ``statistic`` is 'mean' (e(x) averaged over the window) or 'max' (its largest value there): the
    two readings of the paper's "ReLU is ~100x GELU", which differ by about 2x.  ``width`` and
    ``chains`` may be a list of Chains (a list of stages is one chain, as in every query), and
    ``width`` a sequence: the result then holds the ratio as a curve over both, the honest
    form of that claim (the number depends on the window, the noise and the statistic).
    ``method``, ``samples`` and ``seed`` are as in :func:`gradient_error`.

    Returns one row per (chain, width, activation): activation, chain (its repr), chain_index,
    sigma (of the chain's Gaussian stage, NaN if none), width, statistic, error, stderr, reference,
    ratio (error / reference's error), ratio_stderr (first-order propagation; 0 when exact),
    method.  With Monte Carlo, the 'max' stderr is that of e(x) at the maximizing x; the maximum
    of noisy estimates is biased upward by up to a few of them.
    """
    acts = as_activations(activations)
    ref = as_activations(reference)[0]
    check_choice("statistic", statistic, STATISTICS)
    ch_list = as_chains(chains)
    widths = as_grid("width", width)
    if np.any(widths <= 0):
        raise ValueError(f"width must be > 0, got {float(widths[widths <= 0][0])!r}")
    if np.any(widths > 1e300):  # the window [-width, width] is a linspace: its span must fit float64
        raise ValueError(f"width must be <= 1e300, got {float(widths[widths > 1e300][0])!r}")
    n = check_int("points", points, minimum=3)
    if n % 2 == 0:
        raise ValueError(f"points must be odd so that x = 0 is included, got {points!r}")
    check_memory(f"points={n} at {widths.size} width(s)", FRAME_BYTES * float(n) * widths.size * (len(acts) + 1))
    everyone = acts + ([ref] if ref not in acts else [])
    rows = []
    for ic, ch in enumerate(ch_list):
        xs = np.concatenate([np.linspace(-w, w, n) for w in widths])
        df = gradient_error(everyone, ch, xs, method=method, samples=samples, seed=(*seed_tuple(seed), ic))
        # (activation, width, point) cubes of the error and its standard error.
        err = df["mean_abs_error"].to_numpy().reshape(len(everyone), widths.size, n)
        se = df["stderr"].to_numpy().reshape(len(everyone), widths.size, n)
        if statistic == "mean":
            value = err.mean(2)
            value_se = np.sqrt((se**2).sum(2)) / n
        else:
            at = err.argmax(2)[..., None]
            value = np.take_along_axis(err, at, 2)[..., 0]
            value_se = np.take_along_axis(se, at, 2)[..., 0]
        r_row = everyone.index(ref)
        for iw, w in enumerate(widths):
            r, r_se = value[r_row, iw], value_se[r_row, iw]
            for ia, a in enumerate(acts):
                e, e_se = value[ia, iw], value_se[ia, iw]
                ratio = e / r if r > 0 else float("inf")
                rel = np.hypot(e_se / e if e > 0 else 0.0, r_se / r if r > 0 else 0.0)
                rows.append({
                    "activation": a.label, "chain": repr(ch), "chain_index": ic, "sigma": _noise_sigma(ch),
                    "width": w, "statistic": statistic, "error": e, "stderr": e_se, "reference": ref.label,
                    "ratio": ratio, "ratio_stderr": ratio * rel, "method": df["method"].iloc[0],
                })
    return pd.DataFrame(rows)
