"""Symbolic activations: built-ins, the safe expression parser and symbolic analysis.

Names are loaded on first use (PEP 562), so the catalogue of built-ins is readable without sympy.
"""
from __future__ import annotations

from gradlab._lazy import lazy_exports

_EXPORTS = {
    "BUILTINS": "builtins",
    "EVALUATIONS": "evaluation",
    "FUNCTIONS": "parser",
    "KINK_CHOICES": "core",
    "KINK_CONVENTIONS": "core",
    "Activation": "core",
    "ActivationBase": "base",
    "Evaluation": "evaluation",
    "ExpressionError": "parser",
    "Kink": "analysis",
    "NumericActivation": "numeric",
    "activation": "core",
    "list_activations": "core",
    "parse_expression": "parser",
    "read_spelling": "spelling",
    "x": "symbolic",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, {k: f".{v}" for k, v in _EXPORTS.items()})
