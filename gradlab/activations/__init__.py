"""Symbolic activations: built-ins, the safe expression parser and symbolic analysis.

Names are loaded on first use (PEP 562), so the catalogue of built-ins is readable without sympy.
"""
from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {
    "BUILTINS": "builtins",
    "FUNCTIONS": "parser",
    "KINK_CHOICES": "activation",
    "KINK_CONVENTIONS": "activation",
    "Activation": "activation",
    "ExpressionError": "parser",
    "Kink": "analysis",
    "NumericActivation": "numeric",
    "activations": "activation",
    "parse_expression": "parser",
    "x": "activation",
}

__all__ = sorted([*_EXPORTS, "activation"])


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, "activation"})


class _Package(types.ModuleType):
    """``activation`` is the factory function, loaded on first use.

    The submodule of the same name would otherwise replace it: the import system records every
    imported submodule as an attribute of its package.
    """

    @property
    def activation(self):
        from gradlab.activations.activation import activation

        return activation

    @activation.setter
    def activation(self, value):
        pass  # the submodule's own record: the function keeps the name


sys.modules[__name__].__class__ = _Package
