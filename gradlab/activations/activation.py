"""The :class:`Activation` object: one symbolic definition, its analysis and its compiled kernels."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from gradlab._validate import check_choice, check_finite, suggest
from gradlab.activations.analysis import (
    Kink,
    find_kinks,
    one_sided,
    piecewise_form,
    simplify_number,
    smoothness_class,
)
from gradlab.activations.builtins import BUILTINS
from gradlab.activations.guards import derivative
from gradlab.activations.numeric import NUMERIC_KINK, NumericActivation
from gradlab.activations.parser import ExpressionError, parse_expression
from gradlab.conventions import KINK_CHOICES, KINK_CONVENTIONS
from gradlab.kernels.codegen import kernel_module

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KINK_CHOICES", "KINK_CONVENTIONS", "Activation", "activation", "activations", "x"]

#: The variable every activation is a function of.
x = sp.Symbol("x", real=True)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


class Activation:
    """An activation function f(x) with exact derivatives, analysis and Numba kernels.

    Build one with :func:`activation`.  ``expr``/``dexpr``/``d2expr`` are sympy expressions in
    :data:`x`; ``f``, ``df``, ``d2f`` evaluate them on float64 arrays (any shape, returned in the
    same shape), compiled on first use and cached on disk.  ``kink`` selects the value of f' exactly
    at a jump of f' (see :data:`KINK_CONVENTIONS`).
    """

    def __init__(
        self,
        name: str,
        expr: sp.Expr,
        params: Mapping[str, float] | None = None,
        *,
        kink: str = "autograd",
        defaults: Mapping[str, float] | None = None,
        family: str | None = None,
    ):
        if not isinstance(expr, sp.Expr):
            raise TypeError(
                f"Activation: expr must be a sympy expression of gradlab.activations.x, got {expr!r}; "
                "to build one from text or a built-in name use gl.activation(...)"
            )
        self.name = name
        #: The built-in family this activation belongs to (None for an expression).
        self.family = family
        self.params: dict[str, float] = dict(params or {})
        self.kink = check_choice("kink", kink, KINK_CONVENTIONS)
        self._defaults = dict(defaults or {})
        self.expr: sp.Expr = piecewise_form(expr)
        self._source = expr  # as written: abs, max and min still whole (see _autograd_dexpr)
        if self.expr.free_symbols - {x}:
            names = ", ".join(sorted(map(str, self.expr.free_symbols - {x})))
            raise ExpressionError(f"activation {name!r} has unbound symbols: {names}")

    # --- symbolic ----------------------------------------------------------------------------
    @cached_property
    def dexpr(self) -> sp.Expr:
        """f'(x) as a sympy expression (piece conditions as autograd would take them)."""
        return derivative(self.expr, x, f"f'(x) of {self.name!r}")

    @cached_property
    def d2expr(self) -> sp.Expr:
        """f''(x) as a sympy expression (zero-width delta terms at jumps are not included)."""
        return derivative(self.dexpr, x, f"f''(x) of {self.name!r}")

    def kinks(self) -> tuple[Kink, ...]:
        """Every point where f or f' jumps, with exact one-sided limits; sorted by location."""
        return self._kinks

    @cached_property
    def _kinks(self) -> tuple[Kink, ...]:
        return find_kinks(self.expr, self.dexpr, x)

    def kinks_frame(self) -> pd.DataFrame:
        """:meth:`kinks` as a DataFrame, one row per kink (floats)."""
        import pandas as pd

        cols = ["x", "jump_f", "jump_df", "f_left", "f_right", "df_left", "df_right"]
        return pd.DataFrame([k.as_dict() for k in self._kinks], columns=cols)

    def one_sided_derivative(self, at: float = 0.0) -> tuple[sp.Expr, sp.Expr]:
        """Exact (f'(at-), f'(at+))."""
        x0 = sp.Rational(repr(check_finite("at", at)))
        return (
            one_sided(self.dexpr, x, x0, "-", sp.Rational(1, 2**30)),
            one_sided(self.dexpr, x, x0, "+", sp.Rational(1, 2**30)),
        )

    @cached_property
    def gsd_exact(self) -> sp.Expr:
        """Gradient step discontinuity |f'(0+) - f'(0-)| as an exact sympy number."""
        left, right = self.one_sided_derivative(0.0)
        return simplify_number(sp.Abs(right - left))

    @property
    def gsd(self) -> float:
        """Gradient step discontinuity |f'(0+) - f'(0-)| (relu_gelu(i): 1 - i)."""
        return float(self.gsd_exact)

    @cached_property
    def smoothness(self) -> str:
        """'Cinf', 'C1', 'C0', or 'C-1' when f itself jumps."""
        return smoothness_class(self.expr, x)

    def latex(self) -> str:
        """LaTeX of f(x)."""
        return sp.latex(self.expr)

    # --- numeric -----------------------------------------------------------------------------
    @cached_property
    def _autograd_dexpr(self) -> sp.Expr:
        """f' valued at ties as PyTorch's autograd values it.

        PyTorch differentiates abs(u) as sign(u) u' (0 at u = 0) and splits the gradient of
        max(a, b) and min(a, b) evenly at a tie; sympy's derivatives of Abs, Max and Min are exactly
        these (sign(0) = 0, Heaviside(0) = 1/2), while the piecewise form picks one side.  sign and
        heaviside become pieces first: their derivative is 0 on each, as in PyTorch.
        """
        if not self._source.has(sp.Abs, sp.Max, sp.Min):
            return self.dexpr
        return _autograd_derivative(self._source, self.name)

    @property
    def df_expr(self) -> sp.Expr:
        """f' as :meth:`df` evaluates it: :attr:`dexpr` with the kink convention applied at each jump."""
        return self._dexpr_numeric

    @cached_property
    def _dexpr_numeric(self) -> sp.Expr:
        """f' with the kink convention applied exactly at each jump of f'."""
        if self.kink == "autograd":
            return self._autograd_dexpr
        overrides = []
        for k in self._kinks:
            if k.jump_df == 0:
                continue
            value = {"left": k.df_left, "right": k.df_right, "midpoint": (k.df_left + k.df_right) / 2}
            overrides.append((value[self.kink], sp.Eq(x, k.x)))
        return sp.Piecewise(*overrides, (self.dexpr, True)) if overrides else self.dexpr

    @property
    def kernels(self) -> ModuleType:
        """The compiled module: scalar cores ``f1, df1, d2f1`` and array loops ``f, df, d2f``."""
        return self._kernels

    @cached_property
    def _kernels(self) -> ModuleType:
        return kernel_module(repr(self), self.expr, self._dexpr_numeric, self.d2expr)

    def _evaluate(self, name: str, values) -> np.ndarray:
        from gradlab.kernels.jit import SERIAL_BELOW

        arr = np.asarray(values, dtype=np.float64)
        flat = np.ascontiguousarray(arr).ravel()
        out = np.empty_like(flat)
        kernel = getattr(self._kernels, name if flat.size >= SERIAL_BELOW else f"{name}_serial")
        kernel(flat, out)
        return out.reshape(arr.shape) if arr.ndim else out[0]

    def f(self, values) -> np.ndarray:
        """f at ``values`` (array-like, float64), same shape."""
        return self._evaluate("f", values)

    def df(self, values) -> np.ndarray:
        """f' at ``values`` with the kink convention, same shape."""
        return self._evaluate("df", values)

    def df_exact(self, values) -> np.ndarray:
        """f' at a few points, evaluated symbolically to 30 digits then rounded to float64.

        Needs no compilation: for queries that want f' at a handful of points for many parameter
        values (effective precision, step discontinuity), compiling a kernel each would dominate.
        """
        pts = np.atleast_1d(np.asarray(values, dtype=np.float64))
        expr = self._dexpr_numeric
        out = [float(expr.subs(x, sp.Rational(repr(float(v)))).evalf(30)) for v in pts.ravel()]
        return np.array(out).reshape(pts.shape)

    def d2f(self, values) -> np.ndarray:
        """f'' at ``values`` (away from kinks), same shape."""
        return self._evaluate("d2f", values)

    @property
    def paper_kink(self) -> str | None:
        """The kink convention that reproduces the paper's code for this family (None if it has none)."""
        return BUILTINS[self.family].paper_kink if self.family else None

    @property
    def paper_note(self) -> str:
        """What the paper's code does at this family's kink, in words ('' for expressions)."""
        return BUILTINS[self.family].paper_note if self.family else ""

    def with_kink(self, kink: str) -> Activation:
        """The same activation with another kink convention (one of :data:`KINK_CHOICES`)."""
        kink = _resolve_kink(kink, self)
        if kink == self.kink:
            return self
        return Activation(self.name, self.expr, self.params, kink=kink, defaults=self._defaults, family=self.family)

    # --- identity ----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Short name for legends: what differs from the defaults, e.g. 'relu_gelu(i=0.25)', 'relu(kink=right)'."""
        shown = [f"{k}={v:g}" for k, v in self.params.items() if self._defaults.get(k) != v]
        if self.kink != "autograd":
            shown.append(f"kink={self.kink}")
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def _key(self) -> tuple:
        return (self.name, tuple(sorted(self.params.items())), self.kink, sp.srepr(self.expr))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        args = "".join(f", {k}={v:g}" for k, v in self.params.items())
        return f"Activation({self.name!r}{args}, kink={self.kink!r})"


def _resolve_kink(kink: str, act: Activation) -> str:
    """A stored convention from a :data:`KINK_CHOICES` entry ('paper' becomes the family's own)."""
    check_choice("kink", kink, KINK_CHOICES)
    if kink != "paper":
        return kink
    if act.paper_kink is None:
        why = act.paper_note or "it is not one of the paper's activations"
        raise ValueError(
            f"kink='paper' has no meaning for {act.label!r}: {why}; "
            f"choose one of {', '.join(map(repr, KINK_CONVENTIONS))}"
        )
    return act.paper_kink


@lru_cache(maxsize=1024)  # shared by every activation with the same source expression
def _autograd_derivative(source: sp.Expr, name: str) -> sp.Expr:
    """d source / dx with sign and heaviside as pieces first, so abs, max and min keep autograd's tie values."""
    source = source.replace(lambda e: isinstance(e, (sp.sign, sp.Heaviside)), lambda e: e.rewrite(sp.Piecewise))
    d = derivative(source, x, f"f'(x) of {name!r}")
    return d.replace(lambda e: isinstance(e, (sp.sign, sp.Heaviside)), lambda e: e.rewrite(sp.Piecewise))


def activation(
    spec: str | Activation | NumericActivation | Callable,
    *,
    name: str | None = None,
    kink: str | None = None,
    **params: float,
) -> Activation | NumericActivation:
    """An activation by built-in name (``'relu_gelu', i=0.5``) or by expression (``'x*tanh(x)'``).

    Expression strings may use ``x``, the names passed as keyword parameters, numbers, ``pi``,
    ``e`` and the functions listed in :data:`gradlab.activations.parser.FUNCTIONS`; nothing in them
    is ever executed.  Parameters are validated against each built-in's allowed range.

    ``kink`` values f' exactly at a kink (:data:`KINK_CONVENTIONS`; 'paper' picks the convention of
    the paper's code for the family).  Left out, a new activation follows PyTorch autograd and an
    :class:`Activation` object is returned as it is, with its own convention.

    Any other callable (a PyTorch function or ``nn.Module`` acting elementwise on tensors) is handed
    to :func:`gradlab.torch_bridge.torch_activation`, which needs the ``torch`` extra and returns a
    :class:`NumericActivation` whose f' is the callable's autograd (its own backward, if custom).
    torch is imported only then, by that module: this one never imports it.
    """
    if isinstance(spec, (Activation, NumericActivation)):
        if params or name:
            raise TypeError("parameters cannot be given with an Activation object; build a new one")
        return spec if kink is None else spec.with_kink(kink)
    if callable(spec) and not isinstance(spec, str):
        if params or kink not in (None, NUMERIC_KINK):
            raise TypeError(
                "a callable activation takes only name=: its parameters are its own and f' at a kink is what "
                f"its backward returns, got {', '.join(sorted([*params, *(['kink'] if kink else [])]))}"
            )
        from gradlab.torch_bridge import torch_activation  # needs torch: only for a callable

        return torch_activation(spec, name=name)
    if not isinstance(spec, str):
        raise TypeError(
            "activation must be a built-in name, an expression string, an Activation or a PyTorch callable, "
            f"got {spec!r}"
        )
    key = spec.strip()
    if key in BUILTINS:
        family = BUILTINS[key]
        allowed = {p.name: p for p in family.params}
        unknown = set(params) - set(allowed)
        if unknown:
            bad = sorted(unknown)[0]
            raise ValueError(
                f"activation {key!r} has no parameter {bad!r}{suggest(bad, allowed)}; "
                f"its parameters are: {', '.join(allowed) or 'none'}"
            )
        values = {p.name: p.check(params.get(p.name, p.default), key) for p in family.params}
        exact = {k: sp.Rational(repr(v)) for k, v in values.items()}
        defaults = {p.name: p.default for p in family.params if not p.always_shown}
        act = Activation(name or key, family.build(x, **exact), values, defaults=defaults, family=key)
        return act if kink is None else act.with_kink(kink)
    if _IDENT.match(key) and key != "x":
        raise ValueError(
            f"activation must be a built-in name or an expression in x; unknown name {key!r}"
            f"{suggest(key, BUILTINS)} (built-ins: {', '.join(BUILTINS)})"
        )
    for p in params:
        if not _IDENT.match(p) or p.startswith("_") or p == "x":
            raise ValueError(f"parameter name {p!r} is not allowed (use a plain identifier other than x)")
    values = {k: check_finite(k, v) for k, v in params.items()}
    # Parameters enter the parser as their exact values, so the bounds on numbers apply to them too.
    expr = parse_expression(key, x, {k: sp.Rational(repr(v)) for k, v in values.items()})
    act = Activation(name or key, expr, values, defaults=values)
    return act if kink is None else act.with_kink(kink)


def activations() -> pd.DataFrame:
    """The built-ins: one row per family with its formula and parameters (defaults and ranges)."""
    import pandas as pd

    rows = []
    for b in BUILTINS.values():
        rows.append(
            {
                "name": b.name,
                "formula": b.doc,
                "parameters": ", ".join(f"{p.name}={p.default:g}" for p in b.params),
                "allowed": ", ".join(f"{p.name} in {p.allowed}" for p in b.params),
            }
        )
    return pd.DataFrame(rows)
