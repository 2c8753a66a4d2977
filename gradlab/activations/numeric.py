"""Activations known through numbers only: f and f' are callables on float64 arrays.

For functions gradlab cannot read as an expression (a PyTorch module, a user's NumPy code): the
engines see it through :class:`~gradlab.activations.base.ActivationBase`, as they see a symbolic
:class:`~gradlab.activations.Activation`.  It
needs nothing but NumPy: the PyTorch bridge (:mod:`gradlab.torch_bridge`) builds one from a torch
callable, and nothing below the bridge imports torch.

What the engines need from an activation is f' on float64 arrays (at the lattice levels, at
sampled inputs, at the clean inputs) and the places where f' jumps.  A numeric activation has no
symbolic form, so its kinks are not known: :meth:`NumericActivation.kinks` is empty, its value of
f' at a kink is whatever its callable returns there (``kink = 'own'``), and
:meth:`NumericActivation.kink_scan` offers an estimate from the jumps of f and f' on a fine grid
(:meth:`NumericActivation.jump_points` is what the engines split quadrature at).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gradlab._validate import check_finite, check_int
from gradlab.activations.base import ActivationBase
from gradlab.activations.evaluation import ArrayFunction, CallableEvaluation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NUMERIC_KINK", "NumericActivation", "find_jumps", "shortest_decimal"]

#: The ``kink`` of a numeric activation: f' at a kink is what its own derivative callable returns.
NUMERIC_KINK = "own"

#: Scan grids are shifted by this fraction of a step, so kinks at round numbers (0, 1, 6) fall
#: strictly inside a cell instead of on a grid point, where a jump would split between two cells.
_SHIFT = 0.3819660112501051  # 2 - golden ratio


def find_jumps(
    fn: ArrayFunction, lo: float, hi: float, *, points: int = 4097, min_jump: float = 1e-6, iterations: int = 60
) -> list[tuple[float, float, float]]:
    """Estimated jumps of ``fn`` on [lo, hi]: a sorted list of (x, a, b), the jump inside [a, b].

    ``fn`` is evaluated on ``points`` cells; every cell whose change is a local maximum is bisected
    toward its larger half ``iterations`` times (60: to a width near float64's spacing; fewer for a
    function that is itself smooth below some width, such as a difference quotient).  A smooth function's
    change shrinks with the width; a jump's does not, and is reported when it exceeds ``min_jump``
    times (1 + the largest |fn| on the grid).  x is the shortest decimal inside [a, b] (a jump at
    0 is reported at 0, not at 1e-21).  Jumps smaller than that, and two jumps in one cell of the
    first grid, are missed: the result is an estimate.
    """
    lo, hi = check_finite("lo", lo), check_finite("hi", hi)
    if not lo < hi:
        raise ValueError(f"the scan interval must have lo < hi, got [{lo!r}, {hi!r}]")
    n = check_int("points", points, minimum=3)
    u = lo + (hi - lo) * (np.arange(n) + _SHIFT) / n
    v = np.asarray(fn(u), dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return []
    floor = check_finite("min_jump", min_jump) * (1.0 + float(np.abs(v[finite]).max()))
    step = np.abs(np.diff(v))
    step = np.where(np.isfinite(step), step, np.inf)
    padded = np.concatenate([[0.0], step, [0.0]])
    peak = (padded[1:-1] >= padded[:-2]) & (padded[1:-1] >= padded[2:]) & (step > floor)
    idx = np.nonzero(peak)[0]
    if idx.size == 0:
        return []
    a, b = u[idx].copy(), u[idx + 1].copy()
    va, vb = v[idx].copy(), v[idx + 1].copy()
    for _ in range(check_int("iterations", iterations, minimum=0)):
        m = 0.5 * (a + b)
        vm = np.asarray(fn(m), dtype=np.float64)
        # Follow the half that changes more; ties (a smooth cell) go left, which is harmless.
        right = np.abs(vb - vm) > np.abs(vm - va)
        a, va = np.where(right, m, a), np.where(right, vm, va)
        b, vb = np.where(right, b, m), np.where(right, vb, vm)
    keep = np.abs(vb - va) > floor
    merged: list[tuple[float, float, float]] = []
    for p, q in zip(a[keep], b[keep]):
        # Neighbouring cells can converge on one jump: keep one entry per location.
        if merged and abs(p - merged[-1][2]) <= 1e-9 * (1.0 + abs(p)):
            continue
        merged.append((shortest_decimal(float(p), float(q)), float(p), float(q)))
    return merged


def shortest_decimal(a: float, b: float) -> float:
    """The number with the fewest decimals in [a, b], a bracket from bisection (a jump at 6 is reported at 6)."""
    for digits in range(18):
        for candidate in (round(0.5 * (a + b), digits), round(a, digits), round(b, digits)):
            if a <= candidate <= b:
                return candidate + 0.0  # no -0.0
    return 0.5 * (a + b)


class NumericActivation(ActivationBase):
    """An activation given by two callables on float64 arrays: f and its derivative f'.

    Parameters
    ----------
    name : label in tables and legends.
    f, df : callables taking a 1-D float64 array and returning an array of the same length; they
        are called in batches of at most ``batch`` values (bounded memory for any input size).
    source : where f' comes from, in words (shown by repr and ``gradlab show``).
    params : numbers to show as ``param_*`` columns (none by default).

    Kinks are not known (:meth:`kinks` is empty); :meth:`kink_scan` estimates them and
    :meth:`jump_points` is that estimate.  At a kink, f' is whatever ``df`` returns there: ``kink``
    is 'own', and :meth:`with_kink` refuses others.
    """

    #: Numeric activations have no built-in family, hence no paper convention.
    family = None
    symbolic = False

    def __init__(
        self,
        name: str,
        f: ArrayFunction,
        df: ArrayFunction,
        *,
        source: str = "a numeric callable",
        params: Mapping[str, float] | None = None,
        batch: int = 1 << 16,
    ):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self.source = source
        self.params: dict[str, float] = {k: check_finite(k, v) for k, v in (params or {}).items()}
        self.kink = NUMERIC_KINK
        self.evaluator = CallableEvaluation(name, f, df, batch=batch)

    def df_exact(self, values) -> np.ndarray:
        """f' at ``values``: there is no symbolic form to evaluate more exactly."""
        return self.df(values)

    # --- kinks -------------------------------------------------------------------------------
    def kinks(self) -> tuple:
        """Empty: the kinks of a numeric activation are not known (see :meth:`kink_scan`)."""
        return ()

    def jump_points(self, lo: float, hi: float, *, points: int = 513) -> np.ndarray:
        """Estimated locations in (lo, hi) where f or f' jumps (what the engines split quadrature at)."""
        found = find_jumps(self.df, lo, hi, points=points) + find_jumps(self.f, lo, hi, points=points)
        pts = np.unique(np.array([j[0] for j in found], dtype=np.float64))
        return pts[(pts > lo) & (pts < hi)]

    def kink_scan(self, lo: float = -8.0, hi: float = 8.0, *, points: int = 4097,
                  min_jump: float = 1e-6) -> pd.DataFrame:
        """An estimate of the kinks on [lo, hi] from the jumps of f and f' on a fine grid.

        One row per jump found: x, jump_f, jump_df, f_left, f_right, df_left, df_right (values at the ends
        of a bracket a few float64 spacings wide), as :meth:`Activation.kinks_frame` has them, and
        ``estimate`` = True.  See :func:`find_jumps` for what it can miss.
        """
        import pandas as pd

        found = find_jumps(self.df, lo, hi, points=points, min_jump=min_jump)
        found += find_jumps(self.f, lo, hi, points=points, min_jump=min_jump)
        rows = []
        for x0, a, b in sorted(found):
            if rows and a <= rows[-1]["x"] + 1e-9 * (1.0 + abs(a)):
                continue  # f and f' jump at the same point
            fl, fr = self.f(np.array([a, b]))
            dl, dr = self.df(np.array([a, b]))
            rows.append({"x": x0, "jump_f": fr - fl, "jump_df": dr - dl, "f_left": fl, "f_right": fr,
                         "df_left": dl, "df_right": dr, "estimate": True})
        cols = ["x", "jump_f", "jump_df", "f_left", "f_right", "df_left", "df_right", "estimate"]
        return pd.DataFrame(rows, columns=cols)

    def with_kink(self, kink: str) -> NumericActivation:
        """Itself for kink 'own'; other conventions need known kinks, which it lacks."""
        if kink == NUMERIC_KINK:
            return self
        raise ValueError(
            f"kink={kink!r} cannot be applied to {self.name!r}: its kinks are not known symbolically, so f' "
            f"at a kink is what its own derivative returns (kink={NUMERIC_KINK!r}); see .kink_scan()"
        )

    # --- identity ----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Short name for legends: the name, with parameters if any."""
        shown = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({shown})" if shown else self.name

    def describe(self) -> str:
        """What ``gradlab show`` prints: name, where f' comes from, and that the kinks are an estimate."""
        lines = [repr(self), f"  f' from: {self.source}",
                 "  kinks: not known symbolically; f' at a kink is the callable's own value",
                 "  numeric kink scan on [-8, 8] (an estimate: jumps of f and f' on a fine grid, refined):"]
        scan = self.kink_scan()
        if scan.empty:
            lines.append("    no jump found (above 1e-6 of the scale)")
        for r in scan.itertuples():
            lines.append(f"    x ~ {r.x:.12g}: jump in f ~ {r.jump_f:.6g}, jump in f' ~ {r.jump_df:.6g} "
                         f"(f' from {r.df_left:.6g} to {r.df_right:.6g})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v:g}" for k, v in self.params.items())
        return f"NumericActivation({self.name!r}{args}, f' from {self.source}, kinks unknown)"
