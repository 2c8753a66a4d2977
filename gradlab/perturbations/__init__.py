"""Perturbation stages and chains: noise, clamping, quantization, bit faults."""
from gradlab.perturbations.chain import Chain, analog, chain
from gradlab.perturbations.stages import (
    QUANTIZE_COMPAT,
    ROUNDING,
    AdditiveNoise,
    BitFlip,
    Clamp,
    Gaussian,
    Laplace,
    Poisson,
    Quantize,
    Stage,
    Uniform,
)

__all__ = [
    "QUANTIZE_COMPAT",
    "ROUNDING",
    "AdditiveNoise",
    "BitFlip",
    "Chain",
    "Clamp",
    "Gaussian",
    "Laplace",
    "Poisson",
    "Quantize",
    "Stage",
    "Uniform",
    "analog",
    "chain",
]
