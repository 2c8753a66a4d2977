"""What an audit found: the report, the judging of a claim at a kink, and the claim's impact under a chain.

The impact of a claim is the gradient error it causes, E|claimed(x~) - f'(x)|, beside the true
derivative's own, E|f'(x~) - f'(x)|: exactly over the levels of x~ where the chain ends in a
quantizer after one noise (:func:`gradlab.engines.level_distribution`), by Monte Carlo otherwise.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gradlab.derivative_audit.truths import Kink, Truth

__all__ = ["CONVENTIONS", "VERDICTS", "AuditReport", "impact", "impact_inputs", "intervals", "judge_at_kink"]

#: What a report's verdict can be.
VERDICTS = ("ok", "convention", "bug")
#: The values of f' at a kink a claim may follow (see gradlab.KINK_CONVENTIONS).
CONVENTIONS = ("left", "right", "midpoint", "autograd")
#: Kinks and intervals listed one per line by the summary; the rest are counted.
SHOWN = 6


@dataclass
class AuditReport:
    """What :func:`audit` found.

    verdict : 'ok' (agrees everywhere, at kinks with the reference convention), 'convention'
        (disagrees only exactly at kinks, where it follows another convention) or 'bug'.
    frame : every point: x, claimed, true (on a kink: the reference convention's value),
        abs_error, rel_error, tolerance, truth_error (estimate
        of the truth's own error), kink (x of the kink the point is on, NaN if none), status
        ('ok', 'convention' or 'bug').
    worst : the 10 points with the largest abs_error.
    kinks : one row per kink of the forward: x, source ('symbolic' or 'estimate'), jump_f
        (f(x+) - f(x-), 0 where f is continuous and f' only jumps), left, right,
        midpoint, autograd (where the forward has no autograd: PyTorch's rule, the value between the
        one-sided limits nearest 0), claimed, follows (the conventions the claim
        matches there, comma-separated; '' if none), status.
    intervals : the runs of consecutive 'bug' points: start, stop, points, max_abs_error, worst_x.
    impact : for a bug, per input under ``chain``: error_true = E|f'(x~) - f'(x)|,
        error_claimed = E|claimed(x~) - f'(x)| and their standard errors (0 when exact), method.
    """

    verdict: str
    frame: pd.DataFrame
    worst: pd.DataFrame
    kinks: pd.DataFrame
    intervals: pd.DataFrame
    truth: str
    dtype: str
    claim: str
    forward: str
    tolerance: str
    impact: pd.DataFrame | None = None
    chain: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for people: the verdict, where, by how much, and what it does under the chain."""
        lines = [f"audit of {self.claim} against the derivative of {self.forward}: {self.verdict}",
                 f"  truth: {self.truth}; claim judged in {self.dtype} ({self.tolerance}); {len(self.frame)} points"]
        jumps = self.kinks[self.kinks["jump_f"] != 0]
        if not jumps.empty:
            lines.append(f"  {_plural(len(jumps), 'jump')} of f on [{jumps['x'].min():.6g}, {jumps['x'].max():.6g}] "
                         "(f' is not a number there: a jump J is a delta of weight J; judged by the one-sided f')")
        for r in self.kinks.head(SHOWN).itertuples():
            follows = r.follows or "none of " + ", ".join(CONVENTIONS)
            what = f"jump of f by {r.jump_f:.6g}" if r.jump_f else "kink"
            lines.append(f"  {what} at x = {r.x:.12g} ({r.source}): claimed {r.claimed:.6g}, follows {follows} "
                         f"(left {r.left:.6g}, right {r.right:.6g}) -> {r.status}")
        lines.extend(_more(self.kinks, "kink"))
        for r in self.intervals.head(SHOWN).itertuples():
            where = f"x = {r.start:.6g}" if r.points == 1 else f"x in [{r.start:.6g}, {r.stop:.6g}]"
            lines.append(f"  wrong at {where} ({r.points} points), worst at x = {r.worst_x:.6g}: "
                         f"abs error {r.max_abs_error:.3g}")
        lines.extend(_more(self.intervals, "interval"))
        if self.impact is not None and not self.impact.empty:
            imp = self.impact
            t, c = imp["error_true"].mean(), imp["error_claimed"].mean()
            extra = (imp["error_claimed"] - imp["error_true"]).to_numpy()
            at = int(np.argmax(np.abs(extra)))
            lines.append(f"  under {self.chain}:")
            lines.append(f"    gradient error E|claimed(x~) - f'(x)| {c:.4g} against E|f'(x~) - f'(x)| {t:.4g} (mean "
                         f"over {len(imp)} inputs in [{imp['x'].min():.3g}, {imp['x'].max():.3g}], "
                         f"{imp['method'].iloc[0]}); largest change {extra[at]:+.4g} at x = {imp['x'].iloc[at]:.4g}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"AuditReport(verdict={self.verdict!r}, points={len(self.frame)}, truth={self.truth!r})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _more(frame: pd.DataFrame, word: str) -> list[str]:
    """The line for the rows of a frame past the first SHOWN (a staircase has hundreds of jumps)."""
    if len(frame) <= SHOWN:
        return []
    rest = frame.iloc[SHOWN:]
    counts = rest["status"].value_counts().to_dict() if "status" in rest else {"bug": len(rest)}
    return [f"  ... {len(rest)} more {word}s ({', '.join(f'{v} {k}' for k, v in counts.items())}); "
            f"report.{word}s has all {len(frame)}"]


def judge_at_kink(k: Kink, x: float, c: float, t: float, tol: float, reference: str) -> tuple[str, list[str]]:
    """(status, the conventions c matches) for a claim c at a point x within k.width of kink k.

    Beside the kink (an estimated kink's zone), the value of x's own side is simply right.  On it,
    the reference convention is 'ok', another convention (or a value between the one-sided limits)
    a 'convention', anything else a 'bug'.
    """
    if x != k.x and abs(c - (k.right if x > k.x else k.left)) <= tol:
        return "ok", ["right" if x > k.x else "left"]
    follows = [name for name, v in k.values().items() if np.isfinite(v) and abs(c - v) <= tol]
    if not np.isfinite(k.autograd) and np.isfinite(t) and abs(c - t) <= tol and k.source == "symbolic":
        follows.append("autograd")
    if reference in follows:
        return "ok", follows
    if follows and not np.isfinite(k.autograd) and abs(k.left - k.right) <= tol:
        # Equal one-sided limits (a jump of f only): every convention that is known names this value.
        return "ok", follows
    low, high = sorted((k.left, k.right))
    if follows:
        return "convention", follows
    if low - tol <= c <= high + tol:
        return "convention", ["between the one-sided limits"]
    return "bug", []


def impact_inputs(ch, lo: float, hi: float, n: int) -> np.ndarray:
    """Inputs for the chain's comparison: the grid's range, within the chain's clamps if it has any.

    Beyond a clamp every input is pinned to the bound, and the error there measures the clamp, not
    the derivative.
    """
    from gradlab.perturbations.stages import Clamp

    for s in ch.stages:
        if isinstance(s, Clamp):
            lo, hi = max(lo, s.lo), min(hi, s.hi)
    return np.linspace(lo, hi, n) if lo < hi else np.array([lo])


def intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive 'bug' points in x order."""
    bad = (frame["status"] == "bug").to_numpy()
    rows = []
    i = 0
    while i < bad.size:
        if not bad[i]:
            i += 1
            continue
        j = i
        while j + 1 < bad.size and bad[j + 1]:
            j += 1
        part = frame.iloc[i : j + 1]
        at = int(np.argmax(part["abs_error"].to_numpy()))
        rows.append({"start": part["x"].iloc[0], "stop": part["x"].iloc[-1], "points": j - i + 1,
                     "max_abs_error": part["abs_error"].iloc[at], "worst_x": part["x"].iloc[at]})
        i = j + 1
    return pd.DataFrame(rows, columns=["start", "stop", "points", "max_abs_error", "worst_x"])


def impact(truth: Truth, claim: Callable, ch, xs: np.ndarray, samples: int, seed: int) -> pd.DataFrame:
    """E|claimed(x~) - f'(x)| and E|f'(x~) - f'(x)| per input: exact over the levels of x~ where it has levels."""
    from gradlab.engines import ExactUnsupported, level_distribution

    true_df = truth.activation.df
    clean = true_df(xs)
    rows = []
    try:
        for x0, t0 in zip(xs, clean):
            levels, p = level_distribution(ch, float(x0))
            rows.append({"x": x0, "error_true": float(p @ np.abs(true_df(levels) - t0)),
                         "error_claimed": float(p @ np.abs(claim(levels) - t0)),
                         "stderr_true": 0.0, "stderr_claimed": 0.0, "method": "exact"})
        return pd.DataFrame(rows)
    except ExactUnsupported:
        pass
    draws = ch.apply(xs, seed=seed, samples=samples)
    flat = draws.ravel()
    ok = np.isfinite(flat)
    t = np.full(flat.shape, np.nan)
    c = np.full(flat.shape, np.nan)
    t[ok], c[ok] = true_df(flat[ok]), claim(flat[ok])
    dt = np.abs(t.reshape(draws.shape) - clean[:, None])
    dc = np.abs(c.reshape(draws.shape) - clean[:, None])
    n = np.isfinite(dt).sum(1)
    return pd.DataFrame({
        "x": xs, "error_true": np.nanmean(dt, 1), "error_claimed": np.nanmean(dc, 1),
        "stderr_true": np.nanstd(dt, 1, ddof=1) / np.sqrt(n), "stderr_claimed": np.nanstd(dc, 1, ddof=1) / np.sqrt(n),
        "method": "mc",
    })
