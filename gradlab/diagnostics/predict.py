"""gradlab's exact prediction of each layer's gradient error, held against the network's own.

For an activation site with inputs x_1..x_n (recorded over the given batches) and chain C, the
prediction is the mean of e(x_i) = E|f'(C(x_i)) - f'(x_i)|, evaluated by the exact engine; the
network measures the mean of |f'_taken(x~_i) - f'(x_i)| over the same units, one draw each. Their
difference has mean 0 when the network perturbs as C says, and its standard error comes from
the noise alone: sqrt(sum var(d_i | x_i)) / n, estimated by the spread of d_i - e(x_i).

e is evaluated at every x_i when C has no noise (e is then a plain function of x, with jumps);
with a noise it is smooth on the scale of the noise, except for a jump of f'(x) at each kink,
so it is evaluated on a grid of spacing noise scale / 32 between each two kinks (over the inputs
that lie there), with a knot at every quantization level (where |f'(level) - f'(x)| has a corner),
and interpolated linearly; exactly at every x_i on a kink. A chain the exact engine cannot evaluate
falls back to Monte Carlo, a few samples at every x_i (labelled, its standard error carried); a
chain that only a network can apply (RangeGaussian) has no prediction.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from gradlab.diagnostics.sites import activation_sites, analog_state, batches_of, watching
from gradlab.engines import ExactUnsupported, exact_moments, exact_plan, mc_moments
from gradlab.perturbations import Chain, Quantize, Stage

__all__ = ["AGREEMENT_SE", "expected_error", "predict_layer_error"]

#: A measured error farther than this many standard errors from the prediction disagrees with it.
AGREEMENT_SE = 4.0
#: Grid points per noise scale where e(x) is interpolated.
PER_SCALE = 32
#: Samples per input (at most) and in all when the exact engine cannot evaluate the chain.
MC_SAMPLES, MC_TOTAL = 4000, 4_000_000


def _grid(x: np.ndarray, spacing: float, quantizer: Quantize | None) -> np.ndarray:
    """Knots over the range of ``x``: a uniform grid, and every quantization level inside it (|f'(level) - f'(x)|
    turns there, so e(x) has a corner)."""
    lo, hi = float(x.min()), float(x.max())
    if hi == lo:
        return np.array([lo, lo + spacing])
    grid = np.linspace(lo, hi, max(int(math.ceil((hi - lo) / spacing)) + 1, 2))
    if quantizer is not None:
        p = float(quantizer.precision)
        levels = np.arange(math.ceil(lo * p), math.floor(hi * p) + 1) / p
        grid = np.union1d(grid, levels[(levels > lo) & (levels < hi)])
    return grid


def expected_error(act, chain: Chain, x: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, float, str]:
    """(e(x_i) for every x_i, the standard error of their mean, 'exact' or 'monte carlo')."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    try:
        plan = exact_plan(chain)
    except ExactUnsupported:
        # every x_i its own few samples: the mean over units is what is compared, and it stays unbiased
        samples = int(min(MC_SAMPLES, max(16, MC_TOTAL // max(x.size, 1))))
        stats = mc_moments([act], chain, x, samples, seed)
        se = float(np.sqrt(np.sum(stats["stderr"][0] ** 2))) / x.size
        return stats["mean_abs_error"][0], se, "monte carlo"
    if plan.noise is None or any(isinstance(s, Quantize) for s in plan.pre.stages):
        return exact_moments([act], chain, x)["mean_abs_error"][0], 0.0, "exact"
    spacing = plan.noise.spread / PER_SCALE
    kinks = act.jump_points(float(x.min()), float(x.max()))
    e = np.empty_like(x)
    # between two kinks e is smooth: one grid per stretch, over the inputs that lie in it
    side = np.searchsorted(kinks, x, side="left")
    on_kink = np.isin(x, kinks)
    for k in range(kinks.size + 1):
        part = (side == k) & ~on_kink
        if part.any():
            xs = x[part]
            if (float(xs.max()) - float(xs.min())) / spacing >= xs.size:  # a grid finer than the inputs themselves
                e[part] = exact_moments([act], chain, xs)["mean_abs_error"][0]
                continue
            grid = _grid(xs, spacing, plan.quantizer)
            e[part] = np.interp(xs, grid, exact_moments([act], chain, grid)["mean_abs_error"][0])
    if on_kink.any():
        e[on_kink] = exact_moments([act], chain, x[on_kink])["mean_abs_error"][0]
    return e, 0.0, "exact"


def _site_chain(site: nn.Module) -> Chain | None:
    stages = site.output_chain.stages
    if not all(isinstance(s, Stage) for s in stages):
        return None
    return Chain(tuple(stages))


def predict_layer_error(
    model: nn.Module,
    batches,
    steps: int | None = None,
    *,
    chain: Chain | None = None,
) -> pd.DataFrame:
    """gradlab's e(x) averaged over each activation site's recorded inputs, next to the network's measured error.

    The network runs forward on ``batches`` (as :func:`gradlab.gradient_diagnostics` takes them;
    step k with the draws of step k), recording every activation's input x and the error of the
    derivative it takes, |f'_taken(x~) - f'(x)|. ``chain`` (default: each site's own output chain)
    is the chain the prediction assumes. One row per site: layer, activation, chain, units,
    measured, measured_stderr, predicted, predicted_stderr (0 for the exact engine), method, z
    (difference in standard errors), agrees (|z| <= :data:`AGREEMENT_SE`), note. The seconds the
    prediction took after recording are in ``frame.attrs['prediction_seconds']``.
    """
    if chain is not None and not isinstance(chain, Chain):
        raise TypeError(f"chain must be a gl.Chain (gl.chain(...), gl.analog(...)) or None, got {type(chain).__name__}")
    analog_state(model)
    device = next(model.parameters()).device
    with watching(model, keep=True) as probes, torch.no_grad():
        state = analog_state(model)
        for step, x, _ in batches_of(batches, steps):
            state.draws.step = step
            model(x.to(device))
        recorded = {name: (np.concatenate(p.kept_x or [np.empty(0)]), np.concatenate(p.kept_error or [np.empty(0)]),
                           p.reference) for name, p in probes.items()}
    sites = activation_sites(model)
    start = time.perf_counter()
    rows = []
    for name, (x, d, act) in recorded.items():
        used = chain if chain is not None else _site_chain(sites[name])
        if x.size == 0:
            rows.append((name, act.label, str(used), 0, math.nan, math.nan, math.nan, math.nan, "none", math.nan,
                         False, "no input reached this activation in these batches"))
            continue
        measured = float(d.mean())
        if used is None:
            rows.append((name, act.label, "a network-only chain", x.size, measured,
                         float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan, math.nan, math.nan,
                         "none", math.nan, False, "the chain is not one gradlab's engines evaluate (RangeGaussian)"))
            continue
        e, pred_se, method = expected_error(act, used, x)
        predicted = float(e.mean())
        resid = d - e
        meas_se = float(resid.std(ddof=1) / math.sqrt(resid.size)) if resid.size > 1 else 0.0
        total = math.hypot(meas_se, pred_se)
        gap = measured - predicted
        if total > 0:
            z = gap / total
            agrees = abs(z) <= AGREEMENT_SE
        else:  # a deterministic chain: the two must agree to rounding
            z = 0.0 if abs(gap) <= 1e-12 * max(1.0, abs(predicted)) else math.copysign(math.inf, gap)
            agrees = z == 0.0
        note = "" if agrees else (f"beyond {AGREEMENT_SE:g} standard errors: the chain acting in the network is not "
                                  "the chain given (or its activation takes another derivative)")
        rows.append((name, act.label, str(used), x.size, measured, meas_se, predicted, pred_se, method, z, agrees,
                     note))
    frame = pd.DataFrame(rows, columns=["layer", "activation", "chain", "units", "measured", "measured_stderr",
                                        "predicted", "predicted_stderr", "method", "z", "agrees", "note"])
    frame.attrs["prediction_seconds"] = time.perf_counter() - start
    return frame
