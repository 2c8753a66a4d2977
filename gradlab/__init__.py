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
    "BitFlip",
    "Chain",
    "Clamp",
    "ExactUnsupported",
    "ExpressionError",
    "Gaussian",
    "Kink",
    "Laplace",
    "Poisson",
    "Quantize",
    "Stage",
    "Uniform",
    "activation",
    "activations",
    "analog",
    "chain",
    "gradient_error",
    "product_error_map",
]
