"""Per-seed results summarized as a mean with a Student-t confidence interval."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["t_summary"]


def t_summary(frame: pd.DataFrame, by: Sequence[str], value: str = "test_accuracy",
              level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` per group of ``by``, its standard error and a Student-t ``level`` interval.

    Columns: ``by``, mean, stderr, seeds, ci_low, ci_high (NaN interval with fewer than two seeds).
    The t quantile has seeds - 1 degrees of freedom: with 5 seeds the half-width is 2.78 standard errors.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    missing = [c for c in [*by, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"t_summary: no column {missing[0]!r}; the frame has {', '.join(frame.columns)}")
    groups = frame.groupby(list(by), sort=False)[value]
    out = groups.agg(mean="mean", sd=lambda a: a.std(ddof=1) if a.size > 1 else np.nan, seeds="size").reset_index()
    out["stderr"] = out.pop("sd") / np.sqrt(out["seeds"])
    half = stats.t.ppf(0.5 + level / 2, np.maximum(out["seeds"] - 1, 1)) * out["stderr"]
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    return out[[*by, "mean", "stderr", "seeds", "ci_low", "ci_high"]]
