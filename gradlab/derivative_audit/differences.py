"""f' of a float64 function by high-order finite differences, with an estimate of their error.

Central 8th-order stencils (offsets -4..4 steps h), checked against the 6th-order one; beside a
known kink, one-sided 6th-order stencils (0..6) checked against the 5th-order one, stepping away
from the kink so that no stencil straddles it.  A kink may be a jump of f itself (a staircase
``round(16 x) / 16``): a stencil across it would difference the jump, 1/16 over 0.08, and report a
slope of ~4 where f' is 0; kept off it, the stencils give the one-sided derivatives of the pieces.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["STEP", "FiniteDifferences", "one_sided_weights"]

ArrayFunction = Callable[[np.ndarray], np.ndarray]

#: The step h of the stencils, times max(1, |x| / 100); shortened only to keep off a kink.
STEP = 1e-2

# Central stencils on offsets -4..4 (times 1/h): 8th order, and 6th order padded with zeros.
C8 = np.array([1 / 280, -4 / 105, 1 / 5, -4 / 5, 0.0, 4 / 5, -1 / 5, 4 / 105, -1 / 280])
C6 = np.array([0.0, -1 / 60, 3 / 20, -3 / 4, 0.0, 3 / 4, -3 / 20, 1 / 60, 0.0])


def one_sided_weights(order: int) -> np.ndarray:
    """Weights of the forward-difference stencil on offsets 0..order (times 1/h), exact to that order."""
    k = np.arange(order + 1, dtype=np.float64)
    rhs = np.zeros(order + 1)
    rhs[1] = 1.0
    return np.linalg.solve(np.vander(k, increasing=True).T, rhs)


# One-sided stencils on offsets 0..6: 6th order, and 5th order padded with a zero.
F6, F5 = one_sided_weights(6), np.append(one_sided_weights(5), 0.0)


class FiniteDifferences:
    """f' of a float64 function by high-order finite differences, one-sided beside known kinks.

    Call :meth:`set_kinks` with the locations no stencil may straddle once they are found.  A point
    on a jump of f (within its ``width``, the bracket it was located to) has no derivative: there
    ``df`` gives the one-sided one, from a stencil that starts just past the bracket (a stencil
    starting on the jump would take f's value there, which belongs to either side).
    """

    def __init__(self, f: ArrayFunction):
        self.f = f
        self.kinks: np.ndarray = np.array([])
        self.widths: np.ndarray = np.array([])

    def set_kinks(self, kinks, widths=None) -> None:
        """Kinks (x, 1-D) and, for jumps of f, the half-width of the bracket each lies in (0: f continuous)."""
        x = np.asarray(kinks, dtype=np.float64).ravel()
        w = np.zeros(x.shape) if widths is None else np.asarray(widths, dtype=np.float64).ravel()
        order = np.argsort(x, kind="stable")
        self.kinks, self.widths = x[order], w[order]

    def _stencil(self, x: np.ndarray, h: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        pts = x[:, None] + h[:, None] * offsets[None, :]
        return np.asarray(self.f(pts.ravel()), dtype=np.float64).reshape(pts.shape)

    @staticmethod
    def _rounding(x: np.ndarray, vals: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Rounding error of a central stencil: f is computed to about eps times the size of its terms,
        taken as |f| + |x| + 1 (x Phi(x) at x = -6 is a difference of numbers near 1: 1e-7 relative)."""
        return 8 * np.finfo(float).eps * (np.abs(vals).max(1) + np.abs(x) + 1.0) / h

    def df(self, x: np.ndarray, side: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(f'(x), error estimate), both shaped like x (1-D); side -1 / +1 forces a one-sided stencil
        (0: central where possible)."""
        x = np.asarray(x, dtype=np.float64)
        # A fixed step (not one growing with |x|: an activation varies on the scale of 1 everywhere);
        # truncation ~ h^8 is then far below the rounding error, ~ eps |f| / h.
        h = STEP * np.maximum(1.0, np.abs(x) / 100)
        side = np.zeros(x.shape) if side is None else np.asarray(side, dtype=np.float64)
        base = x
        if self.kinks.size:
            gap = self.kinks[None, :] - x[:, None]
            near = np.abs(gap).argmin(1)
            dist = gap[np.arange(x.size), near]
            crowded = (np.abs(dist) < 4.5 * h) & (side == 0)
            # Step away from the nearest kink (from a point on it, to the right) ...
            side = np.where(crowded, np.where(dist <= 0, 1.0, -1.0), side)
            # ... with h small enough that the 6 steps stop short of any kink ahead ...
            ahead = np.where(side[:, None] * gap > 0, side[:, None] * gap, np.inf)
            h = np.where(side != 0, np.minimum(h, ahead.min(1) / 7.0), h)
            # ... and, from a point on a jump of f, starting past the jump's bracket on that side.
            width = self.widths[near]
            on_jump = (width > 0) & (np.abs(dist) <= width) & (side != 0)
            base = np.where(on_jump, self.kinks[near] + side * width, x)
        value = np.empty(x.shape)
        error = np.empty(x.shape)
        central = side == 0
        if central.any():
            c = np.arange(-4, 5, dtype=np.float64)
            vals = self._stencil(base[central], h[central], c)
            d8, d6 = vals @ C8 / h[central], vals @ C6 / h[central]
            value[central] = d8
            error[central] = np.abs(d8 - d6) + self._rounding(x[central], vals, h[central])
        for s in (-1.0, 1.0):
            pick = side == s
            if pick.any():
                vals = self._stencil(base[pick], h[pick], s * np.arange(7, dtype=np.float64))
                d6, d5 = s * (vals @ F6) / h[pick], s * (vals @ F5) / h[pick]
                value[pick] = d6
                error[pick] = np.abs(d6 - d5) + 250 * self._rounding(x[pick], vals, h[pick])
        return value, error
