"""User-facing queries: validate input, pick an engine, return tidy DataFrames.

One module per topic: errors (gradient_error, error_near_zero), products (the input x weight
maps), shapes (properties of the activations themselves), networks (gradient error through
depth; training networks is the torch lab's, gradlab.nn).
"""
from gradlab.queries._common import FRAME_BYTES, METHODS, as_activations, as_chain, as_grid
from gradlab.queries.errors import DEFAULT_SAMPLES, STATISTICS, error_near_zero, gradient_error
from gradlab.queries.networks import depth_error
from gradlab.queries.products import product_error_map, product_error_stats
from gradlab.queries.shapes import activation_curves, effective_precision, step_discontinuity

__all__ = [
    "DEFAULT_SAMPLES",
    "FRAME_BYTES",
    "METHODS",
    "STATISTICS",
    "activation_curves",
    "as_activations",
    "as_chain",
    "as_grid",
    "depth_error",
    "effective_precision",
    "error_near_zero",
    "gradient_error",
    "product_error_map",
    "product_error_stats",
    "step_discontinuity",
]
