"""Derivative audit: does a claimed f' (a hand-written backward) agree with the true derivative of f?

:func:`audit` compares a claimed derivative with the true derivative of a forward function on a
grid dense near 0 and near every kink, and says where they disagree and whether it matters:

- the truth is symbolic when the forward is a gradlab expression or built-in; autograd when it is
  a PyTorch callable (unless autograd would pass through a custom backward, which may be the very
  claim under audit); otherwise 8th-order central finite differences of the forward in float64
  (6th-order one-sided beside a kink), with an error estimate from the 6th-order (5th) stencil;
- a claim is judged against the rounding of its own float type: it agrees where
  |claimed - true| <= ulps * eps(dtype) * (|true| + scale) + 2 * (the truth's error estimate),
  scale being the largest |true| on the grid, and the truth taken at the inputs rounded to the
  claim's type (so the rounding of the input itself is not held against it);
- at a kink the true derivative has no single value: the claim agrees with a convention when it
  equals the left limit, the right limit, their midpoint or autograd's value there
  (:data:`gradlab.KINK_CONVENTIONS`); a disagreement only there is a 'convention', anywhere else
  (on an interval, or at a single smooth point) a 'bug';
- for a bug, the gradient error it causes under a chain (the paper's analog chain by default):
  E|claimed'(x~) - f'(x)| against E|f'(x~) - f'(x)|, exactly where the chain ends in a quantizer
  after one noise (:func:`gradlab.engines.level_distribution`), by Monte Carlo otherwise.

torch is imported only when a PyTorch object is given.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gradlab._validate import check_choice, check_int, check_positive
from gradlab.activations.numeric import NumericActivation, _shortest, find_jumps

__all__ = ["CONVENTIONS", "DTYPES", "VERDICTS", "AuditReport", "audit", "load_object"]

#: What a report's verdict can be.
VERDICTS = ("ok", "convention", "bug")
#: The values of f' at a kink a claim may follow (see gradlab.KINK_CONVENTIONS).
CONVENTIONS = ("left", "right", "midpoint", "autograd")
#: Float types a claim may be judged in.
DTYPES = ("float64", "float32", "float16")
#: The default grid: 10,001 points on [-6, 6] (plus the dense points near 0 and the kinks).
DEFAULT_X = np.arange(-5000, 5001) * 6.0 / 5000  # exactly -6, 0 and 6 among them

# Central stencils (offsets -4..4 and -3..3, in steps h) and one-sided ones (0..6 and 0..5).
_C8 = np.array([1 / 280, -4 / 105, 1 / 5, -4 / 5, 0.0, 4 / 5, -1 / 5, 4 / 105, -1 / 280])
_C6 = np.array([0.0, -1 / 60, 3 / 20, -3 / 4, 0.0, 3 / 4, -3 / 20, 1 / 60, 0.0])


def _one_sided(order: int) -> np.ndarray:
    """Weights of the forward-difference stencil on offsets 0..order (times 1/h), exact to that order."""
    k = np.arange(order + 1, dtype=np.float64)
    rhs = np.zeros(order + 1)
    rhs[1] = 1.0
    return np.linalg.solve(np.vander(k, increasing=True).T, rhs)


_F6, _F5 = _one_sided(6), np.append(_one_sided(5), 0.0)


# --- what is compared ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Kink:
    """A kink of the forward: location, how far from it a point counts as on it, the conventions' values."""

    x: float
    width: float
    left: float
    right: float
    autograd: float  # NaN where unknown (a finite-difference truth has no autograd)
    source: str  # 'symbolic' or 'estimate'

    def values(self) -> dict[str, float]:
        return {"left": self.left, "right": self.right, "midpoint": 0.5 * (self.left + self.right),
                "autograd": self.autograd}


@dataclass
class _Truth:
    kind: str
    df: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # (values, error estimate)
    kinks: Callable[[float, float, list], list[_Kink]]  # on [lo, hi], given candidate locations
    activation: Any  # an activation with the true f' (for the chain's error)
    label: str


def _is_torch_object(obj: Any) -> bool:
    """A torch nn.Module or autograd.Function subclass, recognised without importing torch."""
    mod = type(obj).__module__ if not isinstance(obj, type) else obj.__module__
    if isinstance(obj, type):
        return any(c.__module__.startswith("torch.autograd") and c.__name__ == "Function" for c in obj.__mro__)
    return mod.startswith("torch") or any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def _numpy_or_torch(fn: Callable, what: str) -> str:
    """'numpy' if fn accepts a float64 array (and returns no tensor), else 'torch' (then tried on tensors)."""
    try:
        out = fn(np.linspace(-1.0, 1.0, 5))
    except Exception as exc:  # noqa: BLE001 - any failure on arrays means: try tensors
        failure = exc
    else:
        return "torch" if type(out).__module__.startswith("torch") else "numpy"
    try:
        has_torch = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        has_torch = False
    if not has_torch:
        raise TypeError(f"{what} failed on a float64 NumPy array ({type(failure).__name__}: {failure}); torch is "
                        "not installed, so it cannot be a PyTorch callable either")
    return "torch"


def _symbolic_truth(act) -> _Truth:
    auto = act.with_kink("autograd")

    def df(x):
        return auto.df(x), np.zeros_like(x)

    def kinks(lo, hi, candidates):
        out = []
        for k in act.kinks():
            x0 = float(k.x)
            if lo <= x0 <= hi:
                out.append(_Kink(x0, 0.0, float(k.df_left), float(k.df_right), float(auto.df_exact([x0])[0]),
                                 "symbolic"))
        return out

    return _Truth("symbolic", df, kinks, auto, act.label)


def _scanned_kinks(df: Callable, f: Callable, lo: float, hi: float, autograd: bool) -> list[_Kink]:
    """Kinks from jumps of the (exact) derivative and of f: locations and one-sided values are estimates."""
    found = find_jumps(df, lo, hi) + find_jumps(f, lo, hi)
    out: list[_Kink] = []
    for x0, a, b in sorted(found):
        if out and a <= out[-1].x + out[-1].width:
            continue
        left, right = df(np.array([a, b]))
        at = float(df(np.array([x0]))[0]) if autograd else math.nan
        out.append(_Kink(x0, max(x0 - a, b - x0), float(left), float(right), at, "estimate"))
    return out


def _numeric_truth(act: NumericActivation, kind: str) -> _Truth:
    def df(x):
        return act.df(x), np.zeros_like(x)

    def kinks(lo, hi, candidates):
        return _scanned_kinks(act.df, act.f, lo, hi, autograd=kind == "autograd")

    return _Truth(kind, df, kinks, act, act.label)


class _FiniteDifferences:
    """f' of a float64 function by high-order finite differences, one-sided beside known kinks."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray]):
        self.f = f
        self.kinks: np.ndarray = np.array([])

    def _stencil(self, x: np.ndarray, h: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        pts = x[:, None] + h[:, None] * offsets[None, :]
        return np.asarray(self.f(pts.ravel()), dtype=np.float64).reshape(pts.shape)

    @staticmethod
    def _rounding(x: np.ndarray, vals: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Rounding error of a central stencil: f is computed to about eps times the size of its terms,
        taken as |f| + |x| + 1 (x Phi(x) at x = -6 is a difference of numbers near 1: 1e-7 relative)."""
        return 8 * np.finfo(float).eps * (np.abs(vals).max(1) + np.abs(x) + 1.0) / h

    def df(self, x: np.ndarray, side: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(f'(x), error estimate); side -1 / +1 forces a one-sided stencil (0: central where possible)."""
        x = np.asarray(x, dtype=np.float64)
        # A fixed step (not one growing with |x|: an activation varies on the scale of 1 everywhere);
        # truncation ~ h^8 is then far below the rounding error, ~ eps |f| / h.
        h = 1e-2 * np.maximum(1.0, np.abs(x) / 100)
        side = np.zeros(x.shape) if side is None else np.asarray(side, dtype=np.float64)
        if self.kinks.size:
            gap = self.kinks[None, :] - x[:, None]
            near = np.abs(gap).argmin(1)
            dist = gap[np.arange(x.size), near]
            crowded = (np.abs(dist) < 4.5 * h) & (side == 0)
            # Step away from the nearest kink (from a point on it, to the right) ...
            side = np.where(crowded, np.where(dist <= 0, 1.0, -1.0), side)
            # ... with h small enough that the 6 steps stop short of any kink ahead.
            ahead = np.where(side[:, None] * gap > 0, side[:, None] * gap, np.inf)
            h = np.where(side != 0, np.minimum(h, ahead.min(1) / 7.0), h)
        value = np.empty(x.shape)
        error = np.empty(x.shape)
        central = side == 0
        if central.any():
            c = np.arange(-4, 5, dtype=np.float64)
            vals = self._stencil(x[central], h[central], c)
            d8, d6 = vals @ _C8 / h[central], vals @ _C6 / h[central]
            value[central] = d8
            error[central] = np.abs(d8 - d6) + self._rounding(x[central], vals, h[central])
        for s in (-1.0, 1.0):
            pick = side == s
            if pick.any():
                vals = self._stencil(x[pick], h[pick], s * np.arange(7, dtype=np.float64))
                d6, d5 = s * (vals @ _F6) / h[pick], s * (vals @ _F5) / h[pick]
                value[pick] = d6
                error[pick] = np.abs(d6 - d5) + 250 * self._rounding(x[pick], vals, h[pick])
        return value, error


def _fd_truth(f: Callable[[np.ndarray], np.ndarray], label: str) -> _Truth:
    fd = _FiniteDifferences(f)

    def kinks(lo, hi, candidates):
        # Candidates: jumps of a narrow central difference (a smoothed f', refined only down to its
        # own width) and the claim's jumps.  Each is confirmed by one-sided derivatives either side.
        delta = 1e-7

        def slope(u):
            s = delta * np.maximum(1.0, np.abs(u))
            return (f(u + s) - f(u - s)) / (2 * s)

        def zone(x0):
            return 4 * delta * max(1.0, abs(x0))

        # First the forward's own jumps in slope, located only to the width of the difference
        # (snapped to the shortest decimal there: a kink at 6 is reported at 6); a jump of the claim
        # inside such a zone locates it better.  Then the claim's other jumps, checked with the
        # stencils kept clear of the kinks already found.
        found = [_shortest(c[0] - zone(c[0]), c[0] + zone(c[0])) for c in find_jumps(slope, lo, hi, iterations=14)]
        claimed = [float(c) for c in candidates]
        for i, x0 in enumerate(found):
            inside = [c for c in claimed if abs(c - x0) <= zone(x0)]
            if inside:
                found[i] = min(inside, key=lambda c: abs(c - x0))
        found = sorted(set(found))
        fd.kinks = np.array(found)  # every stencil stops short of the other candidates
        out = _confirm(found, zone, [])
        rest = [c for c in claimed if all(abs(c - k.x) > k.width + zone(c) for k in out)]
        fd.kinks = np.array(sorted([k.x for k in out] + rest))
        out = sorted(_confirm(rest, zone, out), key=lambda k: k.x)
        fd.kinks = np.array([k.x for k in out])
        return out

    def _confirm(xs, zone, known):
        """Kinks among xs: one-sided limits, extrapolated to x0 so a smooth slope between them cancels, differ."""
        out = list(known)
        for x0 in xs:
            w = zone(x0)
            if any(abs(x0 - k.x) <= k.width + w for k in out):
                continue
            at = np.array([x0 - w, x0 + w, x0 - 2 * w, x0 + 2 * w])
            d, e = fd.df(at, np.array([-1.0, 1.0, -1.0, 1.0]))
            # One-sided limits extrapolated linearly to x0: a smooth slope between the points cancels.
            dl, dr = 2 * d[0] - d[2], 2 * d[1] - d[3]
            if abs(dr - dl) > 30 * e.max() + 1e-8 * (1 + abs(dl) + abs(dr)):
                out.append(_Kink(x0, w, float(dl) + 0.0, float(dr) + 0.0, math.nan, "estimate"))
        return out

    def activation_df(v):
        return fd.df(np.ravel(v))[0].reshape(np.shape(v))

    act = NumericActivation(label, f, activation_df, source="finite differences of the forward")
    return _Truth("finite differences", lambda x: fd.df(x), kinks, act, label)


def _resolve_truth(forward: Any, derivative: Any, name: str | None) -> _Truth:
    from gradlab.activations.core import Activation, activation

    if isinstance(forward, str) or isinstance(forward, Activation):
        return _symbolic_truth(activation(forward))
    if isinstance(forward, NumericActivation):
        return _numeric_truth(forward, "numeric activation")
    if not callable(forward):
        raise TypeError("forward must be a gradlab expression or built-in name, an Activation, a PyTorch "
                        f"callable or a NumPy function, got {forward!r}")
    if _is_torch_object(forward) or _numpy_or_torch(forward, "forward") == "torch":
        from gradlab.torch_bridge import has_custom_backward, torch_callable, torch_values

        call, default = torch_callable(forward)
        label = name or default
        if derivative is not None and not has_custom_backward(call):
            from gradlab.torch_bridge import torch_activation

            return _numeric_truth(torch_activation(forward, name=label), "autograd")
        # Autograd would give the claim itself (a custom backward): difference the forward instead.
        return _fd_truth(lambda v: torch_values(call, np.ravel(v), "forward").reshape(np.shape(v)), label)
    label = name or getattr(forward, "__name__", "forward")

    def f(v):
        return np.asarray(forward(np.asarray(v, dtype=np.float64)), dtype=np.float64)

    return _fd_truth(f, label)


def _resolve_claim(forward: Any, derivative: Any, dtype: str | None) -> tuple[Callable, str, str]:
    """(claimed f' as a float64 function of float64 inputs already rounded to dtype, dtype, description)."""
    if derivative is None:
        if isinstance(forward, str) or not callable(forward):
            raise ValueError("derivative is required unless forward is a PyTorch callable whose backward is the claim")
        derivative, how = forward, f"the backward of {_name_of(forward)}"
        torch_claim = True
        if not (_is_torch_object(forward) or _numpy_or_torch(forward, "forward") == "torch"):
            raise ValueError("derivative is required for a NumPy forward (only a PyTorch forward carries a backward)")
    elif _is_torch_object(derivative):
        torch_claim, how = True, f"the backward of {_name_of(derivative)}"
    elif callable(derivative):
        torch_claim = False
        how = _name_of(derivative)
    else:
        raise TypeError("derivative must be a function returning f', a PyTorch module or autograd.Function whose "
                        f"backward is the claim, or None, got {derivative!r}")
    dt = "float64" if dtype is None else _dtype_name(dtype)
    if torch_claim:
        from gradlab.torch_bridge import check_elementwise, torch_callable, torch_derivative

        check_elementwise(torch_callable(derivative)[0], f"the backward of {_name_of(derivative)}")
        call, _ = torch_callable(derivative, dt)
        return (lambda v: torch_derivative(call, v, "the claimed backward", dt)), dt, how
    kind = _numpy_or_torch(derivative, "derivative")
    if kind == "torch":
        from gradlab.torch_bridge import import_torch

        torch = import_torch()

        def claim(v):
            t = torch.from_numpy(np.array(v, dtype=np.float64)).to(getattr(torch, dt))
            with torch.no_grad():
                out = derivative(t)
            return _as_values(out.detach().to(torch.float64).numpy() if hasattr(out, "detach") else out, v)

        return claim, dt, how + " (on tensors)"
    if dtype is None:
        # A NumPy claim computes in whatever float type it computes in: judge it in that one (an
        # integer or boolean result, as (x > 0) * 1 gives, is exact: float64).
        returned = np.asarray(derivative(np.linspace(-1.0, 1.0, 5))).dtype
        dt = returned.name if returned.name in DTYPES else "float64"
    return (lambda v: _as_values(derivative(np.asarray(v).astype(dt)), v)), dt, how


def _name_of(obj: Any) -> str:
    return getattr(obj, "__name__", None) or type(obj).__name__


def _as_values(out: Any, v: np.ndarray) -> np.ndarray:
    arr = np.asarray(out, dtype=np.float64)
    if arr.shape != np.shape(v):
        raise ValueError(f"the claimed derivative must return one value per input (shape {np.shape(v)}), "
                         f"got shape {arr.shape}")
    return arr


def _dtype_name(dtype: Any) -> str:
    text = str(dtype).replace("torch.", "")
    try:
        name = np.dtype(text).name
    except TypeError:
        name = text
    return check_choice("dtype", name, DTYPES)


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


# --- the report ----------------------------------------------------------------------------------
@dataclass
class AuditReport:
    """What :func:`audit` found.

    verdict : 'ok' (agrees everywhere, at kinks with the reference convention), 'convention'
        (disagrees only exactly at kinks, where it follows another convention) or 'bug'.
    frame : every point: x, claimed, true, abs_error, rel_error, tolerance, truth_error (estimate
        of the truth's own error), kink (x of the kink the point is on, NaN if none), status
        ('ok', 'convention' or 'bug').
    worst : the 10 points with the largest abs_error.
    kinks : one row per kink of the forward: x, source ('symbolic' or 'estimate'), left, right,
        midpoint, autograd (NaN where unknown), claimed, follows (the conventions the claim
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
        for r in self.kinks.itertuples():
            follows = r.follows or "none of " + ", ".join(CONVENTIONS)
            lines.append(f"  kink at x = {r.x:.12g} ({r.source}): claimed {r.claimed:.6g}, follows {follows} "
                         f"(left {r.left:.6g}, right {r.right:.6g}) -> {r.status}")
        for r in self.intervals.itertuples():
            where = f"x = {r.start:.6g}" if r.points == 1 else f"x in [{r.start:.6g}, {r.stop:.6g}]"
            lines.append(f"  wrong at {where} ({r.points} points), worst at x = {r.worst_x:.6g}: "
                         f"abs error {r.max_abs_error:.3g}")
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


# --- the audit -----------------------------------------------------------------------------------
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
        makes the verdict 'convention'.
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
    samples = check_int("samples", samples, minimum=2)
    ch = _as_chain(chain)
    truth = _resolve_truth(forward, derivative, name)
    claim, dt, how = _resolve_claim(forward, derivative, None if dtype is None else dtype)
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
        row = {"x": k.x, "source": k.source, **values, "claimed": math.nan, "follows": "", "status": "ok"}
        at = np.nonzero(on_kink == k.x)[0]
        for i in at:
            st, follows = _judge_at_kink(k, pts[i], claimed[i], true[i], tol[i], kink)
            status[i] = st
            if rank[st] > rank[row["status"]]:
                row["status"] = st
        if at.size:
            i = at[np.argmin(np.abs(pts[at] - k.x))]  # the kink's row shows the point nearest to it
            row["claimed"] = float(claimed[i])
            row["follows"] = ", ".join(_judge_at_kink(k, k.x, claimed[i], true[i], tol[i], kink)[1])
        else:
            row["follows"] = f"(no {dt} input falls on it)"
        kink_rows.append(row)
    kinks_frame = pd.DataFrame(kink_rows, columns=["x", "source", *CONVENTIONS, "claimed", "follows", "status"])

    frame = pd.DataFrame({"x": pts, "claimed": claimed, "true": true, "abs_error": err, "rel_error": rel,
                          "tolerance": tol, "truth_error": truth_err, "kink": on_kink, "status": status})
    verdict = "bug" if (status == "bug").any() else "convention" if (status == "convention").any() else "ok"
    worst = frame.sort_values("abs_error", ascending=False, kind="stable").head(10).reset_index(drop=True)
    intervals = _intervals(frame)
    report = AuditReport(
        verdict=verdict, frame=frame, worst=worst, kinks=kinks_frame, intervals=intervals, truth=truth.kind,
        dtype=dt, claim=how, forward=truth.label, notes=notes,
        tolerance=f"|claimed - true| <= {ulps:g} eps(dtype) (|true| + {scale:.3g}) + 2 x the truth's error",
    )
    if verdict == "bug" and ch is not None:
        report.impact = _impact(truth, claim, ch, _impact_inputs(ch, lo, hi, n_impact), samples, seed)
        report.chain = repr(ch)
    return report


def _judge_at_kink(k: _Kink, x: float, c: float, t: float, tol: float, reference: str) -> tuple[str, list[str]]:
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
    low, high = sorted((k.left, k.right))
    if follows:
        return "convention", follows
    if low - tol <= c <= high + tol:
        return "convention", ["between the one-sided limits"]
    return "bug", []


def _as_grid(x: Any) -> np.ndarray:
    from gradlab.queries._common import as_grid

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
    from gradlab.queries._common import as_chain

    return as_chain(chain)


def _impact_inputs(ch, lo: float, hi: float, n: int) -> np.ndarray:
    """Inputs for the chain's comparison: the grid's range, within the chain's clamps if it has any.

    Beyond a clamp every input is pinned to the bound, and the error there measures the clamp, not
    the derivative.
    """
    from gradlab.perturbations.stages import Clamp

    for s in ch.stages:
        if isinstance(s, Clamp):
            lo, hi = max(lo, s.lo), min(hi, s.hi)
    return np.linspace(lo, hi, n) if lo < hi else np.array([lo])


def _intervals(frame: pd.DataFrame) -> pd.DataFrame:
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


def _impact(truth: _Truth, claim: Callable, ch, xs: np.ndarray, samples: int, seed: int) -> pd.DataFrame:
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


def load_object(spec: str) -> Any:
    """The object named by 'module:attribute' or 'path/to/file.py:attribute' (dots allowed in the attribute).

    This imports, and so runs, the user's module: it is for the user's own explicit request
    (``gradlab audit ... --derivative my_module:mish_grad``).  The current directory is searched first.
    """
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected MODULE:NAME or FILE.py:NAME, e.g. my_module:mish_grad, got {spec!r}")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            if not os.path.isfile(path):
                raise ValueError(f"{spec!r}: no such file {module_name!r}")
            mod_id = "_gradlab_user_" + os.path.splitext(os.path.basename(path))[0]
            loader = importlib.util.spec_from_file_location(mod_id, path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module failed: one line saying so
        raise ValueError(f"{spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj
