"""The audit itself: the grid, the claim and the truth on it, the verdict.

The grid is dense near 0 and near every kink of the forward and jump of the claim (where a wrong
branch shows), rounded to the claim's float type.  A claim agrees where
|claimed - true| <= ulps * eps(dtype) * (|true| + scale) + 2 * (the truth's error estimate),
scale being the largest |true| on the grid; on a kink it is judged by convention instead.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gradlab._validate import check_choice, check_int, check_positive
from gradlab.activations.numeric import find_jumps
from gradlab.derivative_audit.claims import resolve_claim
from gradlab.derivative_audit.report import CONVENTIONS, AuditReport, impact, impact_inputs, intervals, judge_at_kink
from gradlab.derivative_audit.truths import resolve_truth

__all__ = ["DEFAULT_X", "MAX_IMPACT_POINTS", "audit"]

#: The default grid: 10,001 points on [-6, 6] (plus the dense points near 0 and the kinks).
DEFAULT_X = np.arange(-5000, 5001) * 6.0 / 5000  # exactly -6, 0 and 6 among them
#: Most inputs of the impact estimate (2**63 was an IndexError deep inside; 10^5 takes about a minute).
MAX_IMPACT_POINTS = 100_000


def audit(
    forward: Any,
    derivative: Any = None,
    *,
    x: Any = None,
    dtype: Any = None,
    kink: str = "autograd",
    ulps: float = 16.0,
    chain: Any = "analog",
    impact_points: int = 201,
    samples: int = 20_000,
    seed: int = 0,
    name: str | None = None,
) -> AuditReport:
    """Audit a claimed derivative against the true derivative of ``forward``.

    Parameters
    ----------
    forward : a gradlab built-in name or expression (``'gelu'``, ``'x*tanh(log(1+exp(x)))'``), an
        Activation, a PyTorch callable (function, ``nn.Module``, ``autograd.Function``) or a NumPy
        function of a float64 array.
    derivative : the claim: a function returning f' (NumPy, or PyTorch on tensors), or a PyTorch
        ``nn.Module`` / ``autograd.Function`` whose backward is the claim; None audits the backward
        of a PyTorch ``forward`` itself (the truth is then finite differences of its forward).
    x : 1-D grid of inputs (default 10,001 points on [-6, 6]); points at distances 1e-1 .. 1e-12
        either side of 0 and of every kink in its range are added.
    dtype : float type the claim computes in: 'float64', 'float32' or 'float16' (also the NumPy and
        torch dtypes).  Inputs are rounded to it and the claim judged against its rounding.  Left
        out: float64, or what a NumPy claim returns.
    kink : the convention that counts as 'ok' at a kink (:data:`CONVENTIONS`); another one there
        makes the verdict 'convention'.  'autograd' (the default) is autograd's own value where the
        forward has one (symbolic, PyTorch); for a forward without (a NumPy function, or a PyTorch
        forward whose custom backward is the claim) it is PyTorch's documented rule for a
        non-differentiable point, the value between the one-sided limits nearest 0
        (:func:`~gradlab.derivative_audit.truths.pytorch_rule`: ReLU'(0) = 0, abs'(0) = 0); the
        report says so in a note.  On a kink, the frame's 'true' is this convention's value.
    ulps : the agreement allowed, in units of eps(dtype) times (|true| + the largest |true|).
    chain : for a bug, the chain under which the gradient error is compared ('analog': the
        paper's ``gl.analog(0.5, 256)``; a Chain; None to skip), at ``impact_points`` inputs on
        the grid's range; Monte Carlo (``samples``, ``seed``) where it is not exact.
    name : label of the forward for a callable (default its __name__).
    """
    xs = _as_grid(x)
    check_choice("kink", kink, CONVENTIONS)
    ulps = check_positive("ulps", ulps)
    n_impact = check_int("impact_points", impact_points, minimum=1)
    if n_impact > MAX_IMPACT_POINTS:
        raise ValueError(f"impact_points must be at most {MAX_IMPACT_POINTS:,} (inputs of the impact "
                         f"estimate on the grid's range), got {impact_points!r}")
    seed = check_int("seed", seed, minimum=0)
    samples = check_int("samples", samples, minimum=2)
    ch = _as_chain(chain)
    truth = resolve_truth(forward, derivative, name)
    claim, dt, how = resolve_claim(forward, derivative, None if dtype is None else dtype)
    lo, hi = float(xs.min()), float(xs.max())
    notes: list[str] = []

    # Kinks of the forward; jumps of the claim get dense points too (where a wrong branch shows).
    # A claim computed in a short float type steps with its inputs' rounding (about |f''| ulp(x)):
    # only jumps well above those steps count.
    min_jump = max(1e-6, 64 * float(np.finfo(dt).eps))
    claim_jumps = [j[0] for j in find_jumps(claim, lo, hi, min_jump=min_jump)] if hi > lo else []
    kinks = truth.kinks(lo, hi, claim_jumps) if hi > lo else []
    grid = [xs, _dense_near(0.0, lo, hi) if lo <= 0.0 <= hi else np.array([])]
    grid += [_dense_near(k.x, lo, hi) for k in kinks] + [_dense_near(c, lo, hi) for c in claim_jumps]
    pts = _rounded(np.concatenate(grid), dt)
    if pts.size == 0:
        raise ValueError(f"x: no point of the grid is representable in {dt}")

    true, truth_err = truth.df(pts)
    # Exactly on a kink f' has no one true value: the table's 'true' there is the reference
    # convention's (for a forward without autograd, 'autograd' is PyTorch's rule, pytorch_rule).
    for k in kinks:
        ref = k.values()[kink]
        if np.isfinite(ref):
            true = np.where(pts == k.x, ref, true)  # its error estimate stays the stencils' there
    ruled = [k for k in kinks if k.by_rule]
    if ruled and kink == "autograd":
        notes.append(f"{truth.label} has no autograd of its own ({truth.kind}): at its "
                     f"{'kink' if len(ruled) == 1 else 'kinks'} 'autograd' is PyTorch's documented rule for a "
                     "non-differentiable point, the value between the one-sided limits nearest 0 (ReLU'(0) = 0, "
                     "|x|'(0) = 0); kink (--kink) left, right or midpoint asks for another")
    claimed = claim(pts)
    eps = float(np.finfo(dt).eps)
    finite_true = np.isfinite(true)
    scale = float(np.abs(true[finite_true]).max(initial=0.0))
    tol = ulps * eps * (np.abs(true) + scale) + 2.0 * truth_err
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(claimed - true)
        err = np.where(np.isfinite(claimed) | ~finite_true, err, np.inf)
        rel = np.where(err == 0, 0.0, err / np.abs(true))
    if not finite_true.all():
        notes.append(f"the true derivative is not finite at {int((~finite_true).sum())} point(s); not judged there")
    bad = np.where(finite_true, ~(err <= tol), False)

    # Points on a kink: judged by convention, not by the (arbitrary) truth value there.
    on_kink = np.full(pts.size, np.nan)
    for k in kinks:
        on_kink[np.abs(pts - k.x) <= k.width] = k.x
    status = np.where(bad, "bug", "ok").astype(object)
    kink_rows = []
    rank = {"ok": 0, "convention": 1, "bug": 2}
    for k in kinks:
        values = k.values()
        row = {"x": k.x, "source": k.source, "jump_f": k.jump_f, **values, "claimed": math.nan, "follows": "",
               "status": "ok"}
        at = np.nonzero(on_kink == k.x)[0]
        for i in at:
            st, follows = judge_at_kink(k, pts[i], claimed[i], true[i], tol[i], kink)
            status[i] = st
            if rank[st] > rank[row["status"]]:
                row["status"] = st
        if at.size:
            i = at[np.argmin(np.abs(pts[at] - k.x))]  # the kink's row shows the point nearest to it
            row["claimed"] = float(claimed[i])
            row["follows"] = ", ".join(judge_at_kink(k, k.x, claimed[i], true[i], tol[i], kink)[1])
        else:
            row["follows"] = f"(no {dt} input falls on it)"
        kink_rows.append(row)
    kinks_frame = pd.DataFrame(kink_rows,
                               columns=["x", "source", "jump_f", *CONVENTIONS, "claimed", "follows", "status"])

    frame = pd.DataFrame({"x": pts, "claimed": claimed, "true": true, "abs_error": err, "rel_error": rel,
                          "tolerance": tol, "truth_error": truth_err, "kink": on_kink, "status": status})
    verdict = "bug" if (status == "bug").any() else "convention" if (status == "convention").any() else "ok"
    n_jumps = sum(k.jump_f != 0 for k in kinks)
    if verdict == "bug" and n_jumps and (status[np.isnan(on_kink)] == "bug").any():
        # Between the jumps f' is the slope of the pieces (0 for a staircase); a claim that differs
        # there, as a straight-through estimator's identity does, is a chosen gradient, not f'.
        notes.append(f"f jumps at {n_jumps} point(s), where f' is not a number; between them the claim differs "
                     "from f': if it is a surrogate gradient (a straight-through estimator), it is a chosen "
                     "surrogate, not f', and its impact is measured against f'")
    worst = frame.sort_values("abs_error", ascending=False, kind="stable").head(10).reset_index(drop=True)
    runs = intervals(frame)
    report = AuditReport(
        verdict=verdict, frame=frame, worst=worst, kinks=kinks_frame, intervals=runs, truth=truth.kind,
        dtype=dt, claim=how, forward=truth.label, notes=notes,
        tolerance=f"|claimed - true| <= {ulps:g} eps(dtype) (|true| + {scale:.3g}) + 2 x the truth's error",
    )
    if verdict == "bug" and ch is not None:
        report.impact = impact(truth, claim, ch, impact_inputs(ch, lo, hi, n_impact), samples, seed)
        report.chain = repr(ch)
    return report


def _as_grid(x: Any) -> np.ndarray:
    from gradlab.queries import as_grid

    return DEFAULT_X if x is None else as_grid("x", x)


def _as_chain(chain: Any):
    if chain is None:
        return None
    if isinstance(chain, str):
        if chain != "analog":
            raise ValueError(
                f"chain must be 'analog' (the paper's gl.analog(0.5, 256)), a Chain or None, got {chain!r}"
            )
        from gradlab.perturbations.chain import analog

        return analog(0.5, 256)
    from gradlab.queries import as_chain

    return as_chain(chain)


# --- the grid ------------------------------------------------------------------------------------
def _dense_near(x0: float, lo: float, hi: float) -> np.ndarray:
    """Points either side of x0 at distances 1e-1 .. 1e-12 (relative to max(1, |x0|)), and a fine window."""
    scale = max(1.0, abs(x0))
    d = scale * 10.0 ** -np.arange(1, 13)
    pts = np.concatenate([[x0], x0 - d, x0 + d, x0 + np.arange(-100, 101) * (1e-4 * scale)])
    return pts[(pts >= lo) & (pts <= hi)]


def _rounded(x: np.ndarray, dtype: str) -> np.ndarray:
    """The grid as the claim's float type holds it (values out of its range dropped), sorted, unique."""
    with np.errstate(over="ignore"):
        r = x.astype(dtype).astype(np.float64)
    return np.unique(r[np.isfinite(r)])
