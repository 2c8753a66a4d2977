"""Network-level queries: gradient error through depth.

Training under noise is the torch lab's (``gl.train_noisy`` is :func:`gradlab.nn.noisy.train_noisy`).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab._budget import check_memory, check_operations, check_samples
from gradlab._validate import check_int, check_positive, describe
from gradlab.perturbations.chain import Chain
from gradlab.perturbations.stages import Stage
from gradlab.queries._common import (
    ActivationLike,
    arguments_checked,
    as_activations,
    as_chain,
    identity_columns,
)

__all__ = ["DIGITS_SHAPE", "check_training", "depth_error"]

#: scikit-learn's digits: rows, features, classes.  The training runs' work is bounded by them.
DIGITS_SHAPE = (1797, 64, 10)


def check_training(depth, hidden, epochs, batch, lr, seed) -> dict:
    """The training arguments checked, and the run's memory and work against the budget, before any work.

    Memory: parameters, their gradients and two Adam moments, and per layer a batch's pre-activations,
    outputs and gradients.  Work: every epoch's forward and backward passes over the digits (about 3
    multiply-adds per weight per row), counted against :func:`gradlab.set_budget`.
    """
    kw = dict(depth=check_int("depth", depth, minimum=1), hidden=check_int("hidden", hidden, minimum=1),
              epochs=check_int("epochs", epochs, minimum=1), batch=check_int("batch", batch, minimum=1),
              lr=check_positive("lr", lr), seed=check_int("seed", seed, minimum=0))
    # Estimates in floats, each argument capped (10**400 epochs: no OverflowError); beyond the cap, more than any.
    d, h, b, e = (float(min(kw[k], 10**30)) for k in ("depth", "hidden", "batch", "epochs"))
    huge = {k: float("inf") if kw[k] > 10**30 else 0.0 for k in ("depth", "hidden", "batch", "epochs")}
    rows, features, classes = DIGITS_SHAPE
    weights = features * h + (d - 1) * h * h + classes * h
    shape = f"depth={describe(kw['depth'])}, hidden={describe(kw['hidden'])}"
    check_memory(f"{shape}, batch={describe(kw['batch'])}",
                 8.0 * (4 * weights + 3 * b * h * d) + huge["depth"] + huge["hidden"] + huge["batch"])
    check_operations(f"epochs={describe(kw['epochs'])} at {shape}",
                     3.0 * e * rows * weights + huge["depth"] + huge["hidden"] + huge["epochs"])
    return kw


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
    the first-layer weight gradient (weight_rel_error, weight_cosine), plus samples.  Networks whose
    clean gradient is 0 (narrow ReLU layers all dead) or not finite (f' overflowing) have no relative
    error: they are left out of the means, with a RuntimeWarning counting them (NaN where none is left).
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
    arguments_checked()
    rows = []
    undefined = []  # (activation, depth, networks whose clean gradient is 0, networks with non-finite gradients)
    for L in depths:
        nets = random_networks(L, w, n, b, np.random.default_rng([root, L]))
        for act in acts:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is counted below and said once
                clean = backward(act, nets, *forward(act, nets, None, ()))
                noisy = backward(act, nets, *forward(act, nets, ch, (root, L), noisy_weights))
            row = {**identity_columns(act), "depth": L, "width": w, "samples": n}
            for name, c, d in (("input", clean[0], noisy[0]), ("weight", clean[1], noisy[1])):
                c2 = c.reshape(n, -1)
                d2 = d.reshape(n, -1)
                norm_c = np.linalg.norm(c2, axis=1)
                norm_d = np.linalg.norm(d2, axis=1)
                overflow = ~(np.isfinite(c2).all(1) & np.isfinite(d2).all(1))
                if name == "input" and ((norm_c == 0) | overflow).any():
                    undefined.append((act.label, L, int((norm_c == 0).sum()), int(overflow.sum())))
                with np.errstate(over="ignore", invalid="ignore"):
                    rel = np.linalg.norm(d2 - c2, axis=1) / np.where(norm_c > 0, norm_c, np.nan)
                    cos = (c2 * d2).sum(1) / np.where(norm_c * norm_d > 0, norm_c * norm_d, np.nan)
                for stat, values in (("rel_error", rel), ("cosine", cos)):
                    row[f"{name}_{stat}"], row[f"{name}_{stat}_stderr"] = _mean_stderr(values)
            rows.append(row)
    if undefined:
        cases = "; ".join(
            f"{a} at depth={L}: " + ", ".join(([f"gradient 0 in {dead} of {n}"] if dead else [])
                                              + ([f"not finite in {inf} of {n}"] if inf else []))
            for a, L, dead, inf in undefined[:4])
        warnings.warn(
            f"depth_error: in some networks the clean input gradient is 0 (every path through the network dead) "
            f"or a gradient is not a finite number (f or f' overflowing float64): their relative errors and cosines "
            f"are undefined and left out of the means (NaN where no network is left): {cases}"
            f"{'; ...' if len(undefined) > 4 else ''} (width={w})", RuntimeWarning, stacklevel=2)
    return pd.DataFrame(rows)


def _mean_stderr(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the finite values; NaN where there are too few (no warning)."""
    finite = values[np.isfinite(values)]
    mean = float(finite.mean()) if finite.size else math.nan
    stderr = float(finite.std(ddof=1) / np.sqrt(finite.size)) if finite.size > 1 else math.nan
    return mean, stderr
