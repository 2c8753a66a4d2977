"""Symbolic analysis of piecewise-analytic activations: kinks, one-sided limits, smoothness.

Every activation is brought to a flat ``Piecewise`` form (Abs, Max, Min, sign and Heaviside are
rewritten), whose pieces are analytic.  Candidate kinks are the real roots of the boundaries of the
piece conditions; at each, the one-sided limit of an expression is the value at the point of the
piece that is active just beside it, which is exact (no numerical limit is taken).

The work is bounded (:mod:`gradlab.activations.guards`): the piecewise form may have at most
``MAX_CASES`` cases, every derivative is estimated before it is taken, and a condition's boundary
is only searched for where it can be found exactly and quickly: a polynomial in x of degree at
most ``MAX_DEGREE`` whose real roots have closed forms, or an expression in which x occurs once
(inverted function by function).  Anything else is refused with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp
from sympy.core.relational import Relational

from gradlab.activations.guards import (
    ExpressionError,
    check_cases,
    check_conditions,
    check_constants,
    check_value,
    derivative,
    float_value,
    refusing,
    tree_size,
)

__all__ = [
    "Kink",
    "find_kinks",
    "kink_candidates",
    "one_sided",
    "piecewise_form",
    "simplify_number",
    "smoothness_class",
]

_REWRITE = (sp.Abs, sp.Max, sp.Min, sp.sign, sp.Heaviside)
MAX_ORDER = 6
#: Highest degree of a polynomial piece condition whose roots are searched.
MAX_DEGREE = 8
#: Most candidate kink points of one activation.
MAX_POINTS = 32
#: Kink points closer than this (relative) cannot be told apart in float64.
_CLOSEST = 2.0**-40


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
        return simplify_number(self.f_right - self.f_left)

    @property
    def jump_df(self) -> sp.Expr:
        """f'(x0+) - f'(x0-)."""
        return simplify_number(self.df_right - self.df_left)

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


# Memoized on the expression (sympy expressions are immutable and hashable): every activation built
# from the same name and parameters shares the symbolic work; refusals are not cached, so they recur.
@lru_cache(maxsize=1024)
@refusing("bringing the expression to piecewise form")
def piecewise_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` with non-smooth functions rewritten as one flat Piecewise (or unchanged).

    Refused (:class:`ExpressionError`) when it would have more than ``MAX_CASES`` cases or holds a
    number that float64 kernels cannot use.
    """
    check_cases(expr, _short(expr))
    for func in _REWRITE:
        if expr.has(func):
            expr = expr.replace(lambda e, f=func: isinstance(e, f), lambda e: e.rewrite(sp.Piecewise))
    expr = sp.piecewise_fold(expr)
    check_constants(expr, "f(x)")
    check_conditions(expr, _short(expr))
    return expr


@refusing("locating the kinks")
def kink_candidates(expr: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Sorted real points where a piece condition of ``expr`` changes truth value.

    Refused (:class:`ExpressionError`) when a condition's boundary cannot be located exactly (see
    the module docstring), lies at infinitely many points, or when there are more than
    ``MAX_POINTS`` points or two closer than float64 can separate.
    """
    points: set[sp.Expr] = set()
    for rel in expr.atoms(Relational):
        if rel.has(x):
            points.update(_crossings(rel.lhs - rel.rhs, x, rel))
        if len(points) > MAX_POINTS:
            raise ExpressionError(f"the conditions of {_short(expr)} change at more than {MAX_POINTS} points")
    return _sorted_points(points)


def _crossings(g: sp.Expr, x: sp.Symbol, rel: Relational) -> set[sp.Expr]:
    """The real roots of ``g``, the boundary of the condition ``rel``, found exactly and quickly or refused."""
    if g.has(sp.Piecewise):  # a condition on a piecewise expression: the roots of each piece
        inner = next(iter(g.atoms(sp.Piecewise)))
        return set().union(*(_crossings(g.subs(inner, piece), x, rel) for piece, _ in inner.args))
    why = f"gradlab cannot locate where the condition {_short(rel)} changes"
    if g.is_polynomial(x):
        poly = sp.Poly(g, x)
        if poly.degree() > MAX_DEGREE:
            raise ExpressionError(f"{why}: a polynomial of degree {poly.degree()} (at most {MAX_DEGREE})")
        if poly.degree() <= 2:
            roots = _solve(g, x, why)
        elif poly.domain.is_QQ or poly.domain.is_ZZ:
            roots = sp.FiniteSet(*poly.real_roots())
            if roots.has(sp.CRootOf):
                raise ExpressionError(f"{why}: its roots have no closed form (the roots of a cubic or higher)")
        else:
            raise ExpressionError(f"{why}: a polynomial of degree {poly.degree()} with irrational coefficients")
    elif g.count(x) == 1:
        roots = _solve(g, x, why)
    else:
        raise ExpressionError(
            f"{why}: conditions must be polynomials in x (degree <= {MAX_DEGREE}) or hold x once, e.g. tanh(x) > 0.5"
        )
    if roots is sp.S.EmptySet:
        return set()
    if not isinstance(roots, sp.FiniteSet):
        raise ExpressionError(f"{why}: it changes at infinitely many points, or at points without a closed form")
    for r in roots:
        if not r.is_real or not abs(float(r)) <= 1e300:
            raise ExpressionError(f"{why}: it changes at x = {_short(r)}, not a real number in float64's range")
    return set(roots)


def _solve(g: sp.Expr, x: sp.Symbol, why: str):
    """solveset over the reals, its internal failures refused with ``why``.

    On extreme numbers sympy's solver can fail inside itself (atan(x) = 1e300: a TypeError on an
    undecidable comparison, which its cache wrapper turns into an AttributeError while formatting it).
    """
    try:
        return sp.solveset(g, x, sp.S.Reals)
    except (TypeError, AttributeError) as exc:
        raise ExpressionError(f"{why}: sympy's solver failed on it ({type(exc).__name__}); write the condition "
                              "with moderate numbers, or as a polynomial in x") from None


def _sorted_points(points: set[sp.Expr]) -> list[sp.Expr]:
    """``points`` in increasing order, the same point written twice kept once; too-close points refused."""
    out: list[sp.Expr] = []
    for p in sorted(points, key=float):
        if out and float(p - out[-1]) <= _CLOSEST * max(1.0, abs(float(p))):
            if abs((p - out[-1]).evalf(50)) < 1e-40:
                continue  # the same point in two forms, e.g. log(4)/2 and log(2)
            raise ExpressionError(
                f"kinks at x = {_short(out[-1])} and x = {_short(p)} are closer than float64 can tell apart"
            )
        out.append(p)
    return out


def _short(expr: object, limit: int = 60) -> str:
    text = sp.sstr(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_zero(value: sp.Expr) -> bool:
    """Whether an exact number is 0: by a 30-digit evaluation where that resolves it, else by simplification.

    An evaluation that ends in cancellation (sympy marks it with a precision near 0) leaves the
    question open; sp.simplify decides it where that is safe (see :func:`simplify_number`), and a
    difference below 30 digits in an expression too extreme to simplify counts as 0.
    """
    if value == 0:
        return True
    approx = value.evalf(30)
    if approx.is_Number and approx != 0 and getattr(approx, "_prec", 0) > 30:
        return False
    if tree_size(value, 200) <= 200 and _moderate(value):
        return sp.simplify(value) == 0
    return True


def simplify_number(value: sp.Expr) -> sp.Expr:
    """An exact number, simplified where that is safe and cheap; else as it is (still exact).

    sp.simplify is not bounded: on 1/(1 + exp(-1000000)) (smooth_bounded_relu with k = 1e6 at its
    kink) its nsimplify step asks mpmath for exp of a huge number (26 s, then OverflowError).  So
    it runs only on small expressions whose exponentials and numbers are of moderate size.
    """
    if value.is_Number:
        return value
    if _is_zero(value):
        return sp.S.Zero
    if tree_size(value, 200) > 200 or not _moderate(value):
        return value
    return sp.simplify(value)


def _moderate(value: sp.Expr) -> bool:
    """Every number in ``value`` within 1e±15, every exponential's argument within ±700."""
    for e in sp.preorder_traversal(value):
        if e.is_Number and e != 0 and not 1e-15 <= abs(e) <= 1e15:
            return False
        if isinstance(e, sp.exp):
            try:
                if not abs(float_value(e.args[0])) <= 700:
                    return False
            except (OverflowError, TypeError, ValueError):
                return False
    return True


def _step(points: list[sp.Expr]) -> sp.Rational:
    """A distance smaller than the gap between any two candidate points."""
    gaps = [float(b - a) for a, b in zip(points, points[1:])]
    smallest = min(gaps) if gaps else 1.0
    return sp.Rational(1, 2**20) * sp.nsimplify(min(smallest, 1.0), rational=True)


@refusing("a one-sided limit")
def one_sided(expr: sp.Expr, x: sp.Symbol, x0: sp.Expr, side: str, step: sp.Rational) -> sp.Expr:
    """The limit of ``expr`` at ``x0`` from the left (``side='-'``) or right (``'+'``)."""
    if not isinstance(expr, sp.Piecewise):
        # First in float64: exact evaluation of 9**(x**64) at x = 2 would compute 9**(2**64) digit by digit.
        check_value(expr, f"the value of {_short(expr)} at x = {_short(x0)}", {x: float(x0)})
        value = expr.subs(x, x0)
        # is_finite is None for many finite constants; only a value known to be bad needs the limit.
        if value.is_finite is False or value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return sp.limit(expr, x, x0, side)
        return value
    probe = x0 - step if side == "-" else x0 + step
    for piece, cond in expr.args:
        if _holds(cond, x, probe, x0):
            return one_sided(piece, x, x0, side, step)
    raise ValueError(f"no piece of {expr} is defined beside x = {x0}")


def _holds(cond: sp.Basic, x: sp.Symbol, probe: sp.Expr, x0: sp.Expr) -> bool:
    """Whether the piece condition ``cond`` holds at ``probe`` (a point just beside the kink ``x0``).

    A comparison is decided by the sign of its two sides' difference evaluated to 30 digits where
    that is clearly not 0 (exact substitution can take very long: 9**(x**64) at an irrational
    point); otherwise, and for equalities, exactly.
    """
    if isinstance(cond, sp.And):
        return all(_holds(c, x, probe, x0) for c in cond.args)
    if isinstance(cond, sp.Or):
        return any(_holds(c, x, probe, x0) for c in cond.args)
    if isinstance(cond, sp.Not):
        return not _holds(cond.args[0], x, probe, x0)
    if isinstance(cond, Relational) and not isinstance(cond, (sp.Eq, sp.Ne)):
        difference = cond.lhs - cond.rhs
        check_value(difference, f"the condition {_short(cond)} beside x = {_short(x0)}", {x: float(probe)})
        approx = difference.evalf(30, subs={x: probe})
        if approx.is_Number and abs(approx) > 1e-25:
            return bool(cond.func(approx, 0))
    try:
        return bool(cond.subs(x, probe))
    except TypeError:  # sympy cannot decide the comparison
        raise ExpressionError(f"cannot decide whether {_short(cond)} holds beside x = {_short(x0)}") from None


@lru_cache(maxsize=1024)
@refusing("the kink analysis")
def find_kinks(expr: sp.Expr, dexpr: sp.Expr, x: sp.Symbol) -> tuple[Kink, ...]:
    """Every candidate point where ``expr`` or ``dexpr`` actually jumps."""
    points = _sorted_points(set(kink_candidates(expr, x) + kink_candidates(dexpr, x)))
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
        if not (_is_zero(k.f_right - k.f_left) and _is_zero(k.df_right - k.df_left)):
            kinks.append(k)
    return tuple(kinks)


@refusing("the smoothness analysis")
def smoothness_class(expr: sp.Expr, x: sp.Symbol) -> str:
    """'C-1' (f jumps), 'C0', 'C1', ... up to MAX_ORDER, or 'Cinf' (no jump in any derivative)."""
    points = kink_candidates(expr, x)
    if not points:
        return "Cinf"
    step = _step(points)
    d = expr
    for order in range(MAX_ORDER + 1):
        for x0 in points:
            if not _is_zero(one_sided(d, x, x0, "+", step) - one_sided(d, x, x0, "-", step)):
                return f"C{order - 1}"
        if order < MAX_ORDER:
            d = derivative(d, x, f"the derivative of order {order + 1} (for the smoothness class)")
    return "Cinf"
