"""User-facing queries: validate input, pick an engine, return tidy DataFrames."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from gradlab._budget import check_memory, check_samples
from gradlab._validate import check_choice, check_int
from gradlab.activations import Activation, activation
from gradlab.engines import ExactUnsupported, exact_moments, exact_plan, mc_moments
from gradlab.perturbations.chain import Chain, seed_of
from gradlab.perturbations.stages import Stage

__all__ = [
    "activation_curves",
    "as_activations",
    "as_chain",
    "as_grid",
    "depth_error",
    "effective_precision",
    "error_near_zero",
    "gradient_error",
    "product_error_map",
    "product_error_stats",
    "step_discontinuity",
    "train_noisy",
]

METHODS = ("auto", "exact", "mc")
ActivationLike = str | Activation


def as_activations(acts: ActivationLike | Sequence[ActivationLike]) -> list[Activation]:
    """One or several activations (names, expressions or Activation objects) as a list."""
    if isinstance(acts, (str, Activation)):
        items = [acts]
    elif isinstance(acts, Iterable) and not isinstance(acts, bytes):
        items = list(acts)
    else:
        raise TypeError(
            "activations must be a name, an expression, an Activation or a list of them, "
            f"got {type(acts).__name__} {acts!r}"
        )
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
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a 1-D sequence of numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(f"{name} must hold finite numbers, got {float(bad)!r}")
    return np.ascontiguousarray(arr)


#: Bytes per row of a result frame and its working arrays (about 20 float columns, with copies).
_FRAME_BYTES = 400

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


def _identity(act: Activation) -> dict:
    """The columns that say which activation a row is about."""
    return {"activation": act.label, "family": act.name, **{f"param_{k}": v for k, v in act.params.items()}}


def _frame(acts: list[Activation], xs: np.ndarray, stats: dict[str, np.ndarray], samples: int, method: str):
    """One row per (activation, x): identity columns, then the statistics."""
    parts = []
    for ia, act in enumerate(acts):
        part = {**_identity(act), "kink": act.kink, "x": xs}
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

    Work is bounded (see :func:`gradlab.set_budget`): a call that would draw or hold more than
    the budget is refused before it starts.
    """
    acts = as_activations(activations)
    ch = as_chain(chain)
    xs = as_grid("x", x)
    if samples is not None:
        check_int("samples", samples, minimum=2)
    seed_of(seed)  # refuse a bad seed before the run, whichever engine runs
    check_memory(f"{xs.size} inputs x {len(acts)} activation(s)", _FRAME_BYTES * float(xs.size) * len(acts))
    if _pick_method(method, ch, samples) == "exact":
        try:
            return _frame(acts, xs, exact_moments(acts, ch, xs), 0, "exact")
        except ExactUnsupported:
            if method == "exact":
                raise  # 'auto' samples instead: the message said why the lattice sum was out of reach
    n = DEFAULT_SAMPLES if samples is None else int(samples)
    check_samples(f"samples={n} at {xs.size} inputs", float(n) * xs.size)
    return _frame(acts, xs, mc_moments(acts, ch, xs, n, seed), n, "mc")


def _product_realizations(acts: list[Activation], ch: Chain, a: np.ndarray, w: np.ndarray, repeats: int, seed):
    """Yield each realization's errors |f'(noisy a w) - f'(a w)|, shape (n_acts, len(a), len(w)).

    In realization r, the input vector and the weight vector each pass the chain once (streams
    (seed, r, 0) and (seed, r, 1)), every product a~ w~ passes it again (stream (seed, r, 2)).
    """
    clean = np.outer(a, w)
    dclean = [act.df(clean) for act in acts]
    base = _seed_tuple(seed)
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
    seed_of(_seed_tuple(seed))
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
            **_identity(act),
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
    rows = []
    for r, err in enumerate(_product_realizations(acts, ch, a, w, n, seed)):
        inside = err[:, in_a][:, :, in_w].reshape(len(acts), -1)
        for ia, act in enumerate(acts):
            rows.append({
                **_identity(act), "kink": act.kink, "realization": r, "window": half, "cells": inside.shape[1],
                "mean": float(inside[ia].mean()), "max": float(inside[ia].max()),
                "zero_fraction": float((inside[ia] == 0).mean()),
            })
    return pd.DataFrame(rows)


def _noise_sigma(ch: Chain) -> float:
    """The Gaussian sigma of a chain's first Gaussian stage (NaN if it has none)."""
    from gradlab.perturbations.stages import Gaussian

    return next((s.sigma for s in ch.stages if isinstance(s, Gaussian)), float("nan"))


STATISTICS = ("mean", "max")


def error_near_zero(
    activations: ActivationLike | Sequence[ActivationLike],
    chains: Chain | Sequence[Chain],
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
    ``chains`` may be sequences: the result then holds the ratio as a curve over both, the honest
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
    ch_list = [chains] if isinstance(chains, (Chain, Stage)) else list(chains)
    if not ch_list:
        raise ValueError("chains must hold at least one chain, got an empty list")
    widths = as_grid("width", width)
    if np.any(widths <= 0):
        raise ValueError(f"width must be > 0, got {float(widths[widths <= 0][0])!r}")
    n = check_int("points", points, minimum=3)
    if n % 2 == 0:
        raise ValueError(f"points must be odd so that x = 0 is included, got {points!r}")
    check_memory(f"points={n} at {widths.size} width(s)", _FRAME_BYTES * float(n) * widths.size * (len(acts) + 1))
    everyone = acts + ([ref] if ref not in acts else [])
    rows = []
    for ic, ch in enumerate(ch_list):
        ch = as_chain(ch)
        xs = np.concatenate([np.linspace(-w, w, n) for w in widths])
        df = gradient_error(everyone, ch, xs, method=method, samples=samples, seed=(*_seed_tuple(seed), ic))
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


def _seed_tuple(seed) -> tuple:
    return tuple(seed) if isinstance(seed, (tuple, list)) else (seed,)


def step_discontinuity(
    family: str = "relu_gelu", i=None, *, h: float = 1e-4, kink: str = "autograd", **params: float
) -> pd.DataFrame:
    """Gradient step discontinuity of an interpolant family against its weight i.

    Columns: family, i, kink, gsd (exact |f'(0+) - f'(0-)|, equal to 1 - i for relu_gelu and
    relu_silu, whatever the convention), numeric (the paper's f'(h) - f'(0) with h = 1e-4, which
    depends on the value of f'(0): ``kink``, see :data:`gradlab.KINK_CHOICES`), h.
    """
    from gradlab._validate import check_positive

    if family not in ("relu_gelu", "relu_silu"):
        raise ValueError(f"family must be 'relu_gelu' or 'relu_silu', got {family!r}")
    weights = as_grid("i", np.linspace(0, 1, 21) if i is None else i)
    h = check_positive("h", h)
    rows = []
    for w in weights:
        act = activation(family, i=float(w), kink=kink, **params)
        d = act.df_exact([h, 0.0])
        rows.append({"family": family, "i": float(w), "kink": act.kink, "gsd": act.gsd, "numeric": d[0] - d[1],
                     "h": h})
    return pd.DataFrame(rows)


def effective_precision(s=None, *, precision: float = 64) -> pd.DataFrame:
    """Effective precision near 0 of scaled GELU: EP(s) = log2(1 / (f'(1/P) - f'(0))) bits.

    Columns: s, precision, slope_step (f'(1/P) - f'(0)), bits.  EP(1) = 6.33, EP(3) = 4.74 at P = 64.
    """
    scales = as_grid("s", np.linspace(0.5, 5, 46) if s is None else s)
    from gradlab._validate import check_positive

    P = check_positive("precision", precision)
    rows = []
    for sc in scales:
        act = activation("gelu", s=float(sc))
        d = act.df_exact([1 / P, 0.0])
        step = d[0] - d[1]
        if not step > 0:
            raise ValueError(
                f"precision={precision!r} is too fine for float64: f'(1/P) - f'(0) = {float(step)!r} "
                f"at s = {float(sc)!r}; use a precision below about 1e15"
            )
        rows.append({"s": float(sc), "precision": P, "slope_step": step, "bits": float(np.log2(1 / step))})
    return pd.DataFrame(rows)


def activation_curves(
    activations: ActivationLike | Sequence[ActivationLike],
    x,
    *,
    chain: Chain | Stage | Sequence[Stage] | None = None,
    seed: int | Sequence[int] = 0,
) -> pd.DataFrame:
    """f and f' of each activation along x, on clean inputs or on one perturbed realization.

    With ``chain``, each x is replaced by one draw x~ of the chain (seeded) before f and f' are
    evaluated: a quantizer alone gives the staircase the paper plots.  Columns: activation,
    family, param_*, x, x_input (x~, or x when clean), f, df.
    """
    acts = as_activations(activations)
    xs = as_grid("x", x)
    xin = xs if chain is None else as_chain(chain).apply(xs, seed=seed)
    parts = []
    for a in acts:
        parts.append(pd.DataFrame({
            **_identity(a),
            "x": xs, "x_input": xin, "f": a.f(xin), "df": a.df(xin),
        }))
    return pd.concat(parts, ignore_index=True)


def depth_error(
    activations: ActivationLike | Sequence[ActivationLike],
    chain: Chain | Stage | Sequence[Stage],
    *,
    depth=(1, 2, 4, 8, 16),
    width: int = 32,
    samples: int = 64,
    batch: int = 16,
    noisy_weights: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """Error of backpropagated gradients in random MLPs whose forward pass is perturbed.

    For each depth, ``samples`` random networks of ``width`` units per layer (He initialization,
    inputs uniform on the analog range [-1, 1]) are run clean and with the chain applied to every
    pre-activation (and to the weights if ``noisy_weights``); the loss is a random linear readout.
    All activations see the same networks and the same noise streams.

    Returns one row per (activation, depth): input_rel_error (||g~ - g|| / ||g|| of the input
    gradient, mean over networks) and its stderr, input_cosine and its stderr, and the same for
    the first-layer weight gradient (weight_rel_error, weight_cosine), plus samples.
    """
    from gradlab.engines.depth import backward, forward, random_networks

    acts = as_activations(activations)
    ch = as_chain(chain)
    depths = [check_int("depth", d, minimum=1) for d in np.atleast_1d(depth)]
    if not depths:
        raise ValueError("depth must hold at least one depth (an integer >= 1), got an empty list")
    w = check_int("width", width, minimum=1)
    n = check_int("samples", samples, minimum=2)
    b = check_int("batch", batch, minimum=1)
    root = check_int("seed", seed, minimum=0)
    if not isinstance(noisy_weights, (bool, np.bool_)):
        raise TypeError(f"noisy_weights must be True or False, got {noisy_weights!r}")
    deepest = max(depths)
    # Weights, and per layer the pre-activations, outputs and gradients of every network.
    fw, fb, fn = float(w), float(b), float(n)  # estimates in floats: huge arguments give inf, not OverflowError
    per_layer = 8.0 * fn * (fw * fw + 4 * fb * fw)
    check_memory(f"depth={deepest} with width={w} and samples={n}", per_layer * deepest)
    draws = sum(fn * L * (fb * fw + (fw * fw if noisy_weights else 0)) for L in depths) * len(acts)
    check_samples(f"depth={depths} with width={w}, batch={b} and samples={n}", draws)
    rows = []
    for L in depths:
        nets = random_networks(L, w, n, b, np.random.default_rng([root, L]))
        for act in acts:
            clean = backward(act, nets, *forward(act, nets, None, ()))
            noisy = backward(act, nets, *forward(act, nets, ch, (root, L), noisy_weights))
            row = {**_identity(act), "depth": L, "width": w, "samples": n}
            for name, c, d in (("input", clean[0], noisy[0]), ("weight", clean[1], noisy[1])):
                c2 = c.reshape(n, -1)
                d2 = d.reshape(n, -1)
                norm_c = np.linalg.norm(c2, axis=1)
                norm_d = np.linalg.norm(d2, axis=1)
                rel = np.linalg.norm(d2 - c2, axis=1) / np.where(norm_c > 0, norm_c, np.nan)
                cos = (c2 * d2).sum(1) / np.where(norm_c * norm_d > 0, norm_c * norm_d, np.nan)
                for stat, values in (("rel_error", rel), ("cosine", cos)):
                    row[f"{name}_{stat}"] = float(np.nanmean(values))
                    row[f"{name}_{stat}_stderr"] = float(np.nanstd(values, ddof=1) / np.sqrt(np.isfinite(values).sum()))
            rows.append(row)
    return pd.DataFrame(rows)


def train_noisy(
    activation_: ActivationLike,
    chain: Chain | Stage | Sequence[Stage] | None,
    *,
    depth: int = 2,
    hidden: int = 64,
    epochs: int = 20,
    batch: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """Train an MLP on scikit-learn's bundled digits with the chain in every forward pass.

    Needs the ``lab`` extra (``pip install -e '.[lab]'``).  ``chain=None`` trains cleanly.
    Returns one row per epoch: activation, depth, hidden, seed, epoch, train_loss,
    train_accuracy, test_loss, test_accuracy (test evaluated through the same chain).
    """
    from gradlab._validate import check_positive
    from gradlab.engines.training import load_digits_split, train

    act = as_activations(activation_)[0]
    ch = None if chain is None else as_chain(chain)
    kwargs = dict(
        depth=check_int("depth", depth, minimum=1),
        hidden=check_int("hidden", hidden, minimum=1),
        epochs=check_int("epochs", epochs, minimum=1),
        batch=check_int("batch", batch, minimum=1),
        lr=check_positive("lr", lr),
        seed=check_int("seed", seed, minimum=0),
    )
    history = train(act, ch, load_digits_split(kwargs["seed"]), **kwargs)
    frame = pd.DataFrame(history)
    for k, v in (("activation", act.label), ("chain", repr(ch)), ("depth", depth), ("hidden", hidden), ("seed", seed)):
        frame.insert(0, k, v)
    return frame
