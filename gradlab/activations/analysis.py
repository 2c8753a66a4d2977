"""Symbolic analysis of piecewise-analytic activations: kinks, one-sided limits, smoothness.

Every activation is brought to a flat ``Piecewise`` form (Abs, Max, Min, sign and Heaviside are
rewritten), whose pieces are analytic.  Candidate kinks are the real roots of the boundaries of the
piece conditions; at each, the one-sided limit of an expression is the value at the point of the
piece that is active just beside it, which is exact (no numerical limit is taken).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.core.relational import Relational

__all__ = ["Kink", "find_kinks", "kink_candidates", "one_sided", "piecewise_form", "smoothness_class"]

_REWRITE = (sp.Abs, sp.Max, sp.Min, sp.sign, sp.Heaviside)
MAX_ORDER = 6


@dataclass(frozen=True)
class Kink:
    """A point where f or f' jumps, with exact one-sided limits (sympy numbers)."""

    x: sp.Expr
    f_left: sp.Expr
    f_right: sp.Expr
    df_left: sp.Expr
    df_right: sp.Expr

    @property
    def jump_f(self) -> sp.Expr:
        """f(x0+) - f(x0-)."""
        return sp.simplify(self.f_right - self.f_left)

    @property
    def jump_df(self) -> sp.Expr:
        """f'(x0+) - f'(x0-)."""
        return sp.simplify(self.df_right - self.df_left)

    def as_dict(self) -> dict[str, float]:
        return {
            "x": float(self.x),
            "jump_f": float(self.jump_f),
            "jump_df": float(self.jump_df),
            "f_left": float(self.f_left),
            "f_right": float(self.f_right),
            "df_left": float(self.df_left),
            "df_right": float(self.df_right),
        }


def piecewise_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` with non-smooth functions rewritten as one flat Piecewise (or unchanged)."""
    for func in _REWRITE:
        if expr.has(func):
            expr = expr.replace(lambda e, f=func: isinstance(e, f), lambda e: e.rewrite(sp.Piecewise))
    return sp.piecewise_fold(expr)


def kink_candidates(expr: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Sorted real points where a piece condition of ``expr`` changes truth value."""
    points: set[sp.Expr] = set()
    for rel in expr.atoms(Relational):
        if not rel.has(x):
            continue
        roots = sp.solveset(rel.lhs - rel.rhs, x, sp.S.Reals)
        if isinstance(roots, sp.FiniteSet):
            points.update(r for r in roots if r.is_real)
    return sorted(points, key=lambda p: float(p))


def _step(points: list[sp.Expr]) -> sp.Rational:
    """A distance smaller than the gap between any two candidate points."""
    gaps = [float(b - a) for a, b in zip(points, points[1:])]
    smallest = min(gaps) if gaps else 1.0
    return sp.Rational(1, 2**20) * sp.nsimplify(min(smallest, 1.0), rational=True)


def one_sided(expr: sp.Expr, x: sp.Symbol, x0: sp.Expr, side: str, step: sp.Rational) -> sp.Expr:
    """The limit of ``expr`` at ``x0`` from the left (``side='-'``) or right (``'+'``)."""
    if not isinstance(expr, sp.Piecewise):
        value = expr.subs(x, x0)
        return value if value.is_finite else sp.limit(expr, x, x0, side)
    probe = x0 - step if side == "-" else x0 + step
    for piece, cond in expr.args:
        if bool(cond.subs(x, probe)):
            return one_sided(piece, x, x0, side, step)
    raise ValueError(f"no piece of {expr} is defined beside x = {x0}")


def find_kinks(expr: sp.Expr, dexpr: sp.Expr, x: sp.Symbol) -> tuple[Kink, ...]:
    """Every candidate point where ``expr`` or ``dexpr`` actually jumps."""
    points = kink_candidates(expr, x) + [p for p in kink_candidates(dexpr, x)]
    points = sorted(set(points), key=lambda p: float(p))
    step = _step(points)
    kinks = []
    for x0 in points:
        k = Kink(
            x0,
            one_sided(expr, x, x0, "-", step),
            one_sided(expr, x, x0, "+", step),
            one_sided(dexpr, x, x0, "-", step),
            one_sided(dexpr, x, x0, "+", step),
        )
        if k.jump_f != 0 or k.jump_df != 0:
            kinks.append(k)
    return tuple(kinks)


def smoothness_class(expr: sp.Expr, x: sp.Symbol) -> str:
    """'C-1' (f jumps), 'C0', 'C1', ... up to MAX_ORDER, or 'Cinf' (no jump in any derivative)."""
    points = kink_candidates(expr, x)
    if not points:
        return "Cinf"
    step = _step(points)
    d = expr
    for order in range(MAX_ORDER + 1):
        for x0 in points:
            jump = sp.simplify(one_sided(d, x, x0, "+", step) - one_sided(d, x, x0, "-", step))
            if jump != 0:
                return f"C{order - 1}"
        d = sp.piecewise_fold(sp.diff(d, x))
    return "Cinf"
