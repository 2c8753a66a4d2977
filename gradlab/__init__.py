"""gradlab: how wrong an activation's gradient becomes under analog-hardware perturbations."""
from gradlab.activations import (
    BUILTINS,
    KINK_CONVENTIONS,
    Activation,
    ExpressionError,
    Kink,
    activation,
    activations,
)

__version__ = "0.1.0"

__all__ = [
    "BUILTINS",
    "KINK_CONVENTIONS",
    "Activation",
    "ExpressionError",
    "Kink",
    "activation",
    "activations",
]
