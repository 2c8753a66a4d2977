"""The built-in activations: names, parameters, defaults, allowed ranges (their formulas: :mod:`.forms`).

Piece conditions are written the way PyTorch's kernels test them, so that differentiating the
active piece at a kink reproduces autograd's choice (ReLU'(0) = 0, LeakyReLU'(0) = alpha,
ReLU6'(0) = ReLU6'(6) = 0, Hardswish'(-3) = -1/2, ELU'(0) = alpha).  Where the paper's own code
chose differently (its ReLU<->SiLU class uses ReLU'(0) = 1), the family records the convention that
reproduces it (``paper_kink``; ``gl.activation(..., kink="paper")`` selects it) and says so in words.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlab._validate import check_interval

if TYPE_CHECKING:
    import sympy as sp

__all__ = ["BUILTINS", "Builtin", "Param"]

@dataclass(frozen=True)
class Param:
    """A numeric parameter: default and the interval it must lie in."""

    name: str
    default: float
    lo: float
    hi: float
    closed: tuple[bool, bool] = (True, True)
    doc: str = ""
    #: Shown in labels even at its default (an interpolant's weight is its identity).
    always_shown: bool = False

    def check(self, value: object, owner: str) -> float:
        return check_interval(f"{owner}: {self.name}", value, self.lo, self.hi, closed=self.closed)

    @property
    def allowed(self) -> str:
        lb = "[" if self.closed[0] else "("
        rb = "]" if self.closed[1] else ")"
        return f"{lb}{self.lo:g}, {self.hi:g}{rb}"


@dataclass(frozen=True)
class Builtin:
    """A named family of activations: ``build(x, **params)`` gives f as a sympy expression."""

    name: str
    params: tuple[Param, ...]
    #: The function of :mod:`gradlab.activations.forms` that builds f.
    form: str
    doc: str
    #: The kink convention that reproduces the paper's code (Vivswan/GeLUReLUInterpolation on
    #: AnalogVNN) for this family, or None where the paper has no single one.
    paper_kink: str | None = None
    #: What the paper's code does at this family's kink, in words (shown by ``gradlab show``).
    paper_note: str = ""

    def build(self, x: sp.Symbol, **params: sp.Expr) -> sp.Expr:
        """f as a sympy expression in ``x`` with these (exact) parameter values."""
        forms = importlib.import_module("gradlab.activations.forms")  # sympy, only when a formula is needed
        return getattr(forms, self.form)(x, **params)


_INF = float("inf")
_ALPHA = Param("alpha", 0.0, 0.0, 1.0, doc="slope for x <= 0 (leaky ReLU)")
_I = Param("i", 0.5, 0.0, 1.0, doc="interpolation weight: 0 is ReLU, 1 the smooth activation", always_shown=True)
_S = Param("s", 1.0, 0.0, _INF, (False, False), doc="GELU input scaling: x * Phi(s x)")
_BETA = Param("beta", 1.0, 0.0, _INF, (False, False), doc="SiLU/softplus sharpness")
_LAM = Param("lam", 1.0, 0.0, _INF, (False, False), doc="clipping threshold lambda")

_LIST = [
    Builtin(
        "relu",
        (_ALPHA,),
        "relu",
        "x for x > 0, alpha x otherwise",
        paper_note="the paper has no single ReLU'(0): its ReLU<->GELU class at i = 0 gives 0 (kink='autograd'), "
        "AnalogVNN's own ReLU gives 1 (kink='right')",
    ),
    Builtin(
        "leaky_relu",
        (Param("alpha", 0.01, 0.0, 1.0, doc="slope for x <= 0"),),
        "relu",
        "x for x > 0, alpha x otherwise (alpha = 0.01)",
    ),
    Builtin(
        "gelu",
        (_S,),
        "gelu",
        "x Phi(s x) = x/2 (1 + erf(s x / sqrt 2))",
        paper_kink="autograd",
        paper_note="no kink: every convention gives the same f'",
    ),
    Builtin(
        "gelu_tanh",
        (),
        "gelu_tanh",
        "x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the hardware approximation of GELU",
    ),
    Builtin(
        "silu",
        (_BETA,),
        "silu",
        "x sigmoid(beta x)",
        paper_kink="autograd",
        paper_note="no kink: every convention gives the same f'",
    ),
    Builtin(
        "relu_gelu",
        (_I, _S, _ALPHA),
        "relu_gelu",
        "(1 - i) relu_alpha(x) + i gelu_s(x), the paper's interpolant",
        paper_kink="autograd",
        paper_note="the paper's ReLU<->GELU class uses ReLU'(0) = 0, as PyTorch autograd (kink='autograd')",
    ),
    Builtin(
        "relu_silu",
        (_I, _ALPHA),
        "relu_silu",
        "(1 - i) relu_alpha(x) + i silu(x), the paper's interpolant",
        paper_kink="right",
        paper_note="the paper's ReLU<->SiLU class uses ReLU'(0) = 1 (x >= 0), the right limit (kink='right'); "
        "PyTorch autograd gives 0",
    ),
    Builtin("relu6", (), "relu6", "min(max(x, 0), 6)"),
    Builtin("clipped_relu", (_LAM,), "clipped_relu", "min(max(x, 0), lam): saturates at lam (ProAct)"),
    Builtin(
        "bounded_relu",
        (_LAM,),
        "bounded_relu",
        "x on (0, lam], 0 elsewhere: falls to zero above lam (ProAct's hard bound)",
    ),
    Builtin(
        "smooth_bounded_relu",
        (_LAM, Param("k", 10.0, 0.0, _INF, (False, False), doc="sharpness of the bound")),
        "smooth_bounded_relu",
        "x sigmoid(k (lam - x)) for x > 0, 0 otherwise (ProAct's smooth bound)",
    ),
    Builtin(
        "elu",
        (Param("alpha", 1.0, 0.0, _INF, (False, False), doc="saturation value -alpha"),),
        "elu",
        "x for x > 0, alpha (exp(x) - 1) otherwise",
    ),
    Builtin("softplus", (_BETA,), "softplus", "log(1 + exp(beta x)) / beta"),
    Builtin("mish", (), "mish", "x tanh(softplus(x))"),
    Builtin("tanh", (), "tanh", "tanh(x)"),
    Builtin("sigmoid", (), "sigmoid", "1 / (1 + exp(-x))"),
    Builtin(
        "hardswish",
        (),
        "hardswish",
        "x relu6(x + 3) / 6",
    ),
]

#: Built-in activation families by name.
BUILTINS: dict[str, Builtin] = {b.name: b for b in _LIST}
