"""Properties of the activations themselves: curves, step discontinuity, effective precision."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gradlab._budget import check_seconds
from gradlab.activations import activation
from gradlab.perturbations.chain import Chain
from gradlab.perturbations.stages import Stage
from gradlab.queries._common import (
    ActivationLike,
    as_activations,
    as_chain,
    as_grid,
    identity_columns,
)

__all__ = ["SECONDS_PER_VALUE", "activation_curves", "effective_precision", "step_discontinuity"]

#: Seconds per parameter value of step_discontinuity and effective_precision: an activation built and its f'
#: evaluated exactly at two points (measured 0.03-0.04 s on 2 cores): 10^5 values of i took about 50 minutes.
SECONDS_PER_VALUE = 0.05

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
    check_seconds(f"step_discontinuity at {weights.size} values of i", SECONDS_PER_VALUE * weights.size)
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
    check_seconds(f"effective_precision at {scales.size} values of s", SECONDS_PER_VALUE * scales.size)
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
            **identity_columns(a),
            "x": xs, "x_input": xin, "f": a.f(xin), "df": a.df(xin),
        }))
    return pd.concat(parts, ignore_index=True)
