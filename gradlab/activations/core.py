"""The :class:`Activation` object: one symbolic definition, its analysis and its evaluation."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from gradlab._validate import check_choice, check_finite, suggest
from gradlab.activations.analysis import Kink
from gradlab.activations.base import ActivationBase
from gradlab.activations.builtins import BUILTINS
from gradlab.activations.evaluation import EVALUATIONS, CompiledEvaluation, Evaluation, NumpyEvaluation
from gradlab.activations.numeric import NUMERIC_KINK, NumericActivation
from gradlab.activations.parser import parse_expression
from gradlab.activations.spelling import read_spelling, write_spelling
from gradlab.activations.symbolic import SymbolicForms, symbolic_forms, x
from gradlab.conventions import KINK_CHOICES, KINK_CONVENTIONS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KINK_CHOICES", "KINK_CONVENTIONS", "Activation", "activation", "list_activations"]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


class Activation(ActivationBase):
    """An activation function f(x) with exact derivatives, analysis and compiled kernels; immutable.

    Build one with :func:`activation`.  It is defined by its source expression (a sympy expression
    in :data:`x`, as written), its name, parameter values and kink convention; everything else is
    derived from those (``expr``, ``dexpr``, ``d2expr``: the folded piecewise forms; kinks;
    smoothness).  ``f``, ``df``, ``d2f`` evaluate on float64 arrays of any shape through
    ``evaluation`` ('compiled': Numba kernels, compiled on first use and cached on disk; 'numpy':
    generated NumPy code, no compile wait).  ``kink`` selects the value of f' exactly at a jump of
    f' (see :data:`KINK_CONVENTIONS`).  Equal activations (same name, source, parameters and
    convention) evaluate alike whatever their evaluation.
    """

    symbolic = True

    def __init__(
        self,
        name: str,
        expr: sp.Expr,
        params: Mapping[str, float] | None = None,
        *,
        kink: str = "autograd",
        defaults: Mapping[str, float] | None = None,
        family: str | None = None,
        evaluation: str = "compiled",
    ):
        forms = symbolic_forms(expr, name) if isinstance(expr, sp.Expr) else SymbolicForms(expr, name)
        forms.expr  # noqa: B018 -- fold now: a form too large to analyse is refused when it is built
        fields = {
            "name": name,
            #: The built-in family this activation belongs to (None for an expression).
            "family": family,
            "source": expr,
            "params": MappingProxyType(dict(params or {})),
            "kink": check_choice("kink", kink, KINK_CONVENTIONS),
            "defaults": MappingProxyType(dict(defaults or {})),
            "evaluation": check_choice("evaluation", evaluation, EVALUATIONS),
            "_forms": forms,
        }
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(
            f"Activation is immutable (cannot set {name!r}); use with_kink(...), with_evaluation(...) "
            "or gl.activation(...) for another"
        )

    def _replace(self, **changes) -> Activation:
        fields = dict(name=self.name, expr=self.source, params=self.params, kink=self.kink, defaults=self.defaults,
                      family=self.family, evaluation=self.evaluation)
        return Activation(**{**fields, **changes})

    # --- symbolic ----------------------------------------------------------------------------
    @property
    def expr(self) -> sp.Expr:
        """f(x) as one flat Piecewise (abs, max, min, sign and heaviside rewritten), or as written if smooth."""
        return self._forms.expr

    @property
    def dexpr(self) -> sp.Expr:
        """f'(x) as a sympy expression (piece conditions as autograd would take them)."""
        return self._forms.dexpr

    @property
    def d2expr(self) -> sp.Expr:
        """f''(x) as a sympy expression (zero-width delta terms at jumps are not included)."""
        return self._forms.d2expr

    @property
    def df_expr(self) -> sp.Expr:
        """f' as :meth:`df` evaluates it: :attr:`dexpr` with the kink convention applied at each jump."""
        return self._forms.df_expr(self.kink)

    def kinks(self) -> tuple[Kink, ...]:
        """Every point where f or f' jumps, with exact one-sided limits; sorted by location."""
        return self._forms.kinks

    def jump_points(self, lo: float, hi: float) -> np.ndarray:
        """The exact kinks in (lo, hi), as float64."""
        pts = np.array([float(k.x) for k in self._forms.kinks], dtype=np.float64)
        return pts[(pts > lo) & (pts < hi)]

    def kinks_frame(self) -> pd.DataFrame:
        """:meth:`kinks` as a DataFrame, one row per kink (floats)."""
        import pandas as pd

        cols = ["x", "jump_f", "jump_df", "f_left", "f_right", "df_left", "df_right"]
        return pd.DataFrame([k.as_dict() for k in self._forms.kinks], columns=cols)

    def one_sided_derivative(self, at: float = 0.0) -> tuple[sp.Expr, sp.Expr]:
        """Exact (f'(at-), f'(at+))."""
        return self._forms.one_sided_derivative(sp.Rational(repr(check_finite("at", at))))

    @property
    def gsd_exact(self) -> sp.Expr:
        """Gradient step discontinuity |f'(0+) - f'(0-)| as an exact sympy number."""
        return self._forms.gsd

    @property
    def gsd(self) -> float:
        """Gradient step discontinuity |f'(0+) - f'(0-)| (relu_gelu(i): 1 - i)."""
        return float(self._forms.gsd)

    @property
    def smoothness(self) -> str:
        """'Cinf', 'C1', 'C0', or 'C-1' when f itself jumps."""
        return self._forms.smoothness

    def latex(self) -> str:
        """LaTeX of f(x)."""
        return self._forms.latex()

    # --- numeric -----------------------------------------------------------------------------
    @cached_property
    def _compiled(self) -> CompiledEvaluation:
        return CompiledEvaluation(repr(self), self.expr, self.df_expr, self.d2expr)

    @cached_property
    def evaluator(self) -> Evaluation:
        """How f, f', f'' are computed (see :attr:`evaluation`)."""
        if self.evaluation == "numpy":
            return NumpyEvaluation(self.expr, self.df_expr, self.d2expr, x)
        return self._compiled

    @property
    def kernels(self) -> ModuleType:
        """The compiled module, whatever the evaluation: scalar cores ``f1, df1, d2f1``, array loops ``f, df, d2f``."""
        return self._compiled.kernels

    def df_exact(self, values) -> np.ndarray:
        """f' at a few points, evaluated symbolically to 30 digits then rounded to float64.

        Needs no compilation: for queries that want f' at a handful of points for many parameter
        values (effective precision, step discontinuity), compiling a kernel each would dominate.
        """
        pts = np.atleast_1d(np.asarray(values, dtype=np.float64))
        expr = self.df_expr

        def value(v: float) -> float:
            exact = expr.subs(x, sp.Rational(repr(v))).evalf(30)
            if exact.is_Number:
                return float(exact)
            # A condition 30 digits cannot decide (atan(1e-300) > 1e-300 differs in the 900th digit): float64
            # arithmetic decides it, as the kernels do.
            return float(self.with_evaluation("numpy").df(np.array([v]))[0])

        return np.array([value(float(v)) for v in pts.ravel()]).reshape(pts.shape)

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
        return self if kink == self.kink else self._replace(kink=kink)

    def with_evaluation(self, evaluation: str) -> Activation:
        """The same activation evaluated another way (one of :data:`EVALUATIONS`); equal to this one."""
        check_choice("evaluation", evaluation, EVALUATIONS)
        return self if evaluation == self.evaluation else self._replace(evaluation=evaluation)

    # --- identity ----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Its spelling: what differs from the defaults, e.g. 'relu_gelu(i=0.25)', 'relu(kink=right)', 'a*x; a=2'.

        ``gl.activation(act.label) == act`` unless the activation was given a name of its own.
        """
        shown = {k: v for k, v in self.params.items() if self.defaults.get(k) != v}
        kink = None if self.kink == "autograd" else self.kink
        return write_spelling(self.name, shown, kink, builtin=self.family is not None)

    def _key(self) -> tuple:
        return (self.name, self.family, tuple(sorted(self.params.items())), self.kink, sp.srepr(self.source))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self):
        fields = dict(params=dict(self.params), kink=self.kink, defaults=dict(self.defaults), family=self.family,
                      evaluation=self.evaluation)
        return _rebuild, (self.name, self.source, fields)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v:g}" for k, v in self.params.items())
        return f"Activation({self.name!r}{args}, kink={self.kink!r})"


def _rebuild(name: str, source: sp.Expr, fields: dict) -> Activation:
    """Unpickling: the definition only; derived forms and kernels are made again where they are needed."""
    return Activation(name, source, **fields)


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


def activation(
    spec: str | Activation | NumericActivation | Callable,
    *,
    name: str | None = None,
    kink: str | None = None,
    **params: float,
) -> Activation | NumericActivation:
    """An activation by built-in name (``'relu_gelu', i=0.5``) or by expression (``'x*tanh(x)'``).

    ``spec`` may also carry its parameters and kink convention in the one spelling every table
    label uses (:mod:`gradlab.activations.spelling`): ``'relu_gelu(i=0.5)'``, ``'relu(kink=right)'``,
    ``'a*x + b; a=2, b=-0.5'``; a parameter may not be given both there and as a keyword.

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
    if isinstance(spec, ActivationBase):
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
    spelled = read_spelling(spec.strip())
    for given in spelled.params:
        if given in params:
            raise ValueError(
                f"parameter {given!r} is given both in {spec!r} and as {given}={params[given]!r}; give it once"
            )
    if spelled.kink is not None and kink is not None:
        raise ValueError(f"kink is given both in {spec!r} and as kink={kink!r}; give it once")
    key, params, kink = spelled.base, {**spelled.params, **params}, kink if spelled.kink is None else spelled.kink
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
    act = Activation(name or key, expr, values)
    return act if kink is None else act.with_kink(kink)


def list_activations() -> pd.DataFrame:
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
