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
              level: float = 0.95, bounds: tuple[float, float] | None = None) -> pd.DataFrame:
    """Mean of ``value`` per group of ``by``, its standard error and a Student-t ``level`` interval.

    Columns: ``by``, mean, stderr, seeds, ci_low, ci_high (NaN interval with fewer than two seeds).
    The t quantile has seeds - 1 degrees of freedom (:func:`t_halfwidth`).

    ``bounds=(lo, hi)`` is for a value that cannot leave [lo, hi], an accuracy (0, 1) say: the
    interval is then the t interval of the logits of (value - lo) / (hi - lo), mapped back, so it
    always lies inside (lo, hi) and is asymmetric near a bound (it is about mean +- t * stderr when
    the values are far from both).  A value exactly on a bound counts as 1/1000 of the range inside
    it (the logit of a bound is infinite).  mean and stderr stay those of the values themselves.
    """
    _check_level(level)
    missing = [c for c in [*by, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"t_summary: no column {missing[0]!r}; the frame has {', '.join(frame.columns)}")
    lo, hi = _check_bounds(bounds, frame[value])
    groups = frame.groupby(list(by), sort=False)[value]
    out = groups.agg(mean="mean", sd=lambda a: a.std(ddof=1) if a.size > 1 else np.nan, seeds="size").reset_index()
    out["stderr"] = out.pop("sd") / np.sqrt(out["seeds"])
    if bounds is None:
        half = t_halfwidth(out["stderr"], out["seeds"], level)
        out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    else:
        span = hi - lo
        p = ((frame[value] - lo) / span).clip(LOGIT_MARGIN, 1 - LOGIT_MARGIN)
        logits = np.log(p / (1 - p)).groupby([frame[c] for c in by], sort=False)
        stats_ = logits.agg(["mean", lambda a: a.std(ddof=1) if a.size > 1 else np.nan]).to_numpy()
        half = t_halfwidth(stats_[:, 1] / np.sqrt(out["seeds"].to_numpy()), out["seeds"].to_numpy(), level)
        out["ci_low"] = lo + span * _expit(stats_[:, 0] - half)
        out["ci_high"] = lo + span * _expit(stats_[:, 0] + half)
    return out[[*by, "mean", "stderr", "seeds", "ci_low", "ci_high"]]


#: How far inside a bound a value on it counts, as a fraction of the range (``t_summary(bounds=...)``).
LOGIT_MARGIN = 1e-3


def _expit(z):
    return 1.0 / (1.0 + np.exp(-z))


def _check_bounds(bounds, values) -> tuple[float, float]:
    if bounds is None:
        return (-np.inf, np.inf)
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be None or a pair (lo, hi) of numbers, got {bounds!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"bounds must be finite with lo < hi, got {bounds!r}")
    outside = values[(values < lo) | (values > hi)]
    if len(outside):
        raise ValueError(f"bounds {bounds!r}: {len(outside)} value(s) lie outside, e.g. {outside.iloc[0]!r}")
    return lo, hi
