"""gradlab: how wrong an activation's gradient becomes under analog-hardware perturbations."""
from gradlab._budget import get_budget, set_budget
from gradlab._io import save_figure, save_table
from gradlab.activations import (
    BUILTINS,
    KINK_CHOICES,
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
from gradlab.queries import (
    activation_curves,
    depth_error,
    effective_precision,
    error_near_zero,
    gradient_error,
    product_error_map,
    product_error_stats,
    step_discontinuity,
    train_noisy,
)

__version__ = "0.1.0"

__all__ = [
    "BUILTINS",
    "KINK_CHOICES",
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
    "activation_curves",
    "activations",
    "analog",
    "chain",
    "depth_error",
    "effective_precision",
    "error_near_zero",
    "get_budget",
    "gradient_error",
    "product_error_map",
    "product_error_stats",
    "save_figure",
    "save_table",
    "set_budget",
    "step_discontinuity",
    "train_noisy",
]
