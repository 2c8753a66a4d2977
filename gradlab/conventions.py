"""The conventions a user chooses, by name: cheap to import (the command line lists them in --help).

Each is documented where it acts: kink values in :mod:`gradlab.activations.core`, rounding
rules and quantizer arithmetic in :class:`gradlab.perturbations.Quantize`.
"""
from __future__ import annotations

__all__ = ["CLIPPING", "DTYPES", "FLIP_SITES", "FLIP_WORDS", "KINK_CHOICES", "KINK_CONVENTIONS", "METHODS", "NOISES",
           "QUANTIZE_COMPAT", "ROUNDING", "TRAIN_MODES"]

#: How f' is valued exactly at a kink of f'.
KINK_CONVENTIONS = {
    "autograd": "PyTorch autograd's value: the derivative of the piece active at the point (ReLU'(0) = 0), "
    "abs'(0) = sign(0) = 0, and a tie of max or min splits the gradient evenly",
    "left": "the left limit f'(x0-)",
    "right": "the right limit f'(x0+)",
    "midpoint": "the mean of the one-sided limits",
}
#: What ``kink=`` accepts: a convention, or 'paper' for the one the paper's code used for the family.
KINK_CHOICES = (*KINK_CONVENTIONS, "paper")

#: Rounding rules of :class:`gradlab.Quantize`, with their kernel codes.
ROUNDING = {"half_toward_zero": 0, "half_even": 1, "stochastic": 2}

#: How :class:`gradlab.Quantize` turns a level index k into a value.
QUANTIZE_COMPAT = {
    "gradlab": "k / precision, the formula's division, correctly rounded",
    "analogvnn": "k * (1 / precision) with the reciprocal in float32, as AnalogVNN's ReducePrecision computes it "
    "from its integer precision tensor (bit for bit on float64 tensors)",
}

#: Additive noises of :func:`gradlab.analog` (Gaussian, Uniform, Laplace); 'none' leaves clamp and quantizer.
NOISES = ("gaussian", "uniform", "laplace", "none")

#: Engines of the gradient-error queries: 'auto' (exact where possible), 'exact', 'mc' (Monte Carlo).
METHODS = ("auto", "exact", "mc")

#: Float types a derivative audit judges a claimed derivative in (:func:`gradlab.audit`).
DTYPES = ("float64", "float32", "float16")

#: How the companion experiments' digits network is trained (:func:`gradlab.train_modes`).
TRAIN_MODES = ("clean", "qat", "noisy")
#: Activation restrictions of the bit-flip experiment (:func:`gradlab.bitflip_faults`): none, ReLU6's
#: fixed 6, thresholds per layer, per neuron, and ProAct's hybrid (per layer, except per neuron in
#: the last hidden layer).
CLIPPING = ("none", "relu6", "layer", "neuron", "hybrid")
#: Where its bit flips land: the stored weights and biases, or the hidden layers' outputs.
FLIP_SITES = ("weights", "activations")
#: The stored word its bit flips hit.
FLIP_WORDS = {
    "float32": "the IEEE single-precision word (ProAct's fault model)",
    "fixed16": "16-bit two's complement with 10 fractional bits (range +-32, step 2^-10)",
}
