"""The symbolic forms derived from one source expression: folded f, f', f'', kinks, smoothness, f' by convention.

An :class:`~gradlab.activations.Activation` stores only its source expression (as written: abs,
max and min whole); everything here is derived from it, once per process for each distinct source
(:func:`symbolic_forms` is memoized), so activations that differ only in their kink convention,
their evaluation or their name share one analysis.

The analysis of one source shares one :class:`~gradlab.activations.guards.WorkBudget`: every
derived form is computed within what is left of ``MAX_SECONDS`` of symbolic work, and refused with
an :class:`ExpressionError` once it is spent (again at every later request: the budget stays spent).
"""
from __future__ import annotations

from functools import cached_property, lru_cache

import sympy as sp

from gradlab.activations.analysis import Kink, find_kinks, one_sided, piecewise_form, simplify_number, smoothness_class
from gradlab.activations.guards import WorkBudget, derivative
from gradlab.activations.parser import ExpressionError

__all__ = ["SymbolicForms", "symbolic_forms", "x"]

#: The variable every activation is a function of.
x = sp.Symbol("x", real=True)

#: How far from a point the one-sided limits are read (exact: the active piece is chosen there).
_BESIDE = sp.Rational(1, 2**30)


class SymbolicForms:
    """What a source expression f(x) implies: each attribute computed on first use."""

    def __init__(self, source: sp.Expr, name: str):
        if not isinstance(source, sp.Expr):
            raise TypeError(
                f"Activation: expr must be a sympy expression of gradlab.activations.x, got {source!r}; "
                "to build one from text or a built-in name use gl.activation(...)"
            )
        unbound = source.free_symbols - {x}
        if unbound:
            raise ExpressionError(f"activation {name!r} has unbound symbols: {', '.join(sorted(map(str, unbound)))}")
        self.source, self.name = source, name
        self._df_by_kink: dict[str, sp.Expr] = {}
        self.budget = WorkBudget()

    def _work(self, step: str):
        """The budget's deadline around one step (``step`` names it in the refusal)."""
        return self.budget.spending(f"{step} of {_quoted(self.name)}")

    @cached_property
    def expr(self) -> sp.Expr:
        """f as one flat Piecewise (abs, max, min, sign and heaviside rewritten), or unchanged if smooth."""
        with self._work("bringing to piecewise form"):
            return piecewise_form(self.source)

    @cached_property
    def dexpr(self) -> sp.Expr:
        """f'(x), piece conditions as autograd takes them."""
        expr = self.expr
        with self._work("differentiating"):
            return derivative(expr, x, f"f'(x) of {self.name!r}")

    @cached_property
    def d2expr(self) -> sp.Expr:
        """f''(x), without the zero-width delta terms at jumps."""
        dexpr = self.dexpr
        with self._work("the second derivative"):
            return derivative(dexpr, x, f"f''(x) of {self.name!r}")

    @cached_property
    def kinks(self) -> tuple[Kink, ...]:
        """Every point where f or f' jumps, with exact one-sided limits; sorted by location."""
        expr, dexpr = self.expr, self.dexpr
        with self._work("the kink analysis"):
            return find_kinks(expr, dexpr, x)

    @cached_property
    def smoothness(self) -> str:
        expr = self.expr
        with self._work("the smoothness analysis"):
            return smoothness_class(expr, x)

    def one_sided_derivative(self, at: sp.Rational) -> tuple[sp.Expr, sp.Expr]:
        """Exact (f'(at-), f'(at+))."""
        dexpr = self.dexpr
        with self._work(f"the one-sided derivatives at {at}"):
            return one_sided(dexpr, x, at, "-", _BESIDE), one_sided(dexpr, x, at, "+", _BESIDE)

    @cached_property
    def gsd(self) -> sp.Expr:
        """|f'(0+) - f'(0-)| as an exact sympy number."""
        left, right = self.one_sided_derivative(sp.Integer(0))
        with self._work("the gradient step discontinuity"):
            return simplify_number(sp.Abs(right - left))

    @cached_property
    def autograd_dexpr(self) -> sp.Expr:
        """f' valued at ties as PyTorch's autograd values it.

        PyTorch differentiates abs(u) as sign(u) u' (0 at u = 0) and splits the gradient of
        max(a, b) and min(a, b) evenly at a tie; sympy's derivatives of Abs, Max and Min are exactly
        these (sign(0) = 0, Heaviside(0) = 1/2), while the piecewise form picks one side.  sign and
        heaviside become pieces first: their derivative is 0 on each, as in PyTorch.
        """
        if not self.source.has(sp.Abs, sp.Max, sp.Min):
            return self.dexpr
        pieces = (sp.sign, sp.Heaviside)
        with self._work("f' as autograd takes it"):
            source = self.source.replace(lambda e: isinstance(e, pieces), lambda e: e.rewrite(sp.Piecewise))
            d = derivative(source, x, f"f'(x) of {self.name!r}")
            return d.replace(lambda e: isinstance(e, pieces), lambda e: e.rewrite(sp.Piecewise))

    def df_expr(self, kink: str) -> sp.Expr:
        """f' with convention ``kink`` ('autograd', 'left', 'right', 'midpoint') applied exactly at each jump of f'."""
        if kink not in self._df_by_kink:
            self._df_by_kink[kink] = self.autograd_dexpr if kink == "autograd" else self._overridden(kink)
        return self._df_by_kink[kink]

    def _overridden(self, kink: str) -> sp.Expr:
        overrides = []
        for k in self.kinks:
            if k.jump_df == 0:
                continue
            value = {"left": k.df_left, "right": k.df_right, "midpoint": (k.df_left + k.df_right) / 2}[kink]
            overrides.append((value, sp.Eq(x, k.x)))
        if not overrides:
            return self.dexpr
        with self._work(f"f' with kink={kink!r}"):
            return sp.Piecewise(*overrides, (self.dexpr, True))

    def latex(self) -> str:
        """LaTeX of the folded f (sympy's printer can take seconds on a large form)."""
        expr = self.expr
        with self._work("writing LaTeX"):
            return sp.latex(expr)


def _quoted(name: str, limit: int = 60) -> str:
    return repr(name if len(name) <= limit else name[: limit - 3] + "...")


@lru_cache(maxsize=1024)
def symbolic_forms(source: sp.Expr, name: str) -> SymbolicForms:
    """The (shared) forms of ``source``; ``name`` is used in error messages."""
    return SymbolicForms(source, name)
