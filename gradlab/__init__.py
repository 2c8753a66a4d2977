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
from gradlab.engines import ExactUnsupported
from gradlab.perturbations import (
    BitFlip,
    Chain,
    Clamp,
    Gaussian,
    Laplace,
    Poisson,
    Quantize,
    Stage,
    Uniform,
    analog,
    chain,
)
from gradlab.queries import gradient_error, product_error_map

__version__ = "0.1.0"

__all__ = [
    "BUILTINS",
    "KINK_CONVENTIONS",
    "Activation",
    "ExpressionError",
    "Kink",
    "activation",
    "activations",
    "analog",
    "BitFlip",
    "Chain",
    "chain",
    "Clamp",
    "ExactUnsupported",
    "Gaussian",
    "gradient_error",
    "Laplace",
    "Poisson",
    "product_error_map",
    "Quantize",
    "Stage",
    "Uniform",
]
