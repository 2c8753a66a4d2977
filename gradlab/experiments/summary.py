"""Means with Student-t confidence intervals: per-seed results summarized, and the interval itself.

The one place gradlab computes a t interval; figures and the explorer call it, plots only draw.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["t_halfwidth", "t_summary"]


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return level


def t_halfwidth(stderr, n, level: float = 0.95):
    """Half-width of the two-sided Student-t ``level`` interval of a mean: t_{(1+level)/2, n-1} * stderr.

    ``stderr`` (value units) and ``n`` (samples behind each mean) broadcast like NumPy arrays (a
    Series stays a Series).  NaN where n < 2: one sample gives no interval.  With n = 5 and
    level 0.95 the factor is 2.7764.
    """
    q = 0.5 + _check_level(level) / 2
    dof = np.asarray(n, dtype=float) - 1
    t = stats.t.ppf(q, np.where(dof >= 1, dof, np.nan))
    return t * stderr


def t_summary(frame: pd.DataFrame, by: Sequence[str], value: str = "test_accuracy",
              level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` per group of ``by``, its standard error and a Student-t ``level`` interval.

    Columns: ``by``, mean, stderr, seeds, ci_low, ci_high (NaN interval with fewer than two seeds).
    The t quantile has seeds - 1 degrees of freedom (:func:`t_halfwidth`).
    """
    _check_level(level)
    missing = [c for c in [*by, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"t_summary: no column {missing[0]!r}; the frame has {', '.join(frame.columns)}")
    groups = frame.groupby(list(by), sort=False)[value]
    out = groups.agg(mean="mean", sd=lambda a: a.std(ddof=1) if a.size > 1 else np.nan, seeds="size").reset_index()
    out["stderr"] = out.pop("sd") / np.sqrt(out["seeds"])
    half = t_halfwidth(out["stderr"], out["seeds"], level)
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out[[*by, "mean", "stderr", "seeds", "ci_low", "ci_high"]]
