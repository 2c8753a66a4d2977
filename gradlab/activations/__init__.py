"""Symbolic activations: built-ins, the safe expression parser and symbolic analysis."""
from gradlab.activations.activation import KINK_CHOICES, KINK_CONVENTIONS, Activation, activation, activations, x
from gradlab.activations.analysis import Kink
from gradlab.activations.builtins import BUILTINS
from gradlab.activations.parser import FUNCTIONS, ExpressionError, parse_expression

__all__ = [
    "BUILTINS",
    "FUNCTIONS",
    "KINK_CHOICES",
    "KINK_CONVENTIONS",
    "Activation",
    "ExpressionError",
    "Kink",
    "activation",
    "activations",
    "parse_expression",
    "x",
]
