"""The conventions a user chooses, by name: cheap to import (the command line lists them in --help).

Each is documented where it acts: kink values in :mod:`gradlab.activations.core`, rounding
rules and quantizer arithmetic in :class:`gradlab.perturbations.Quantize`.
"""
from __future__ import annotations

__all__ = ["CLIPPING", "CLIP_FORMS", "COMPANION_MODELS", "DTYPES", "FLIP_SITES", "FLIP_WORDS", "KINK_CHOICES",
           "KINK_CONVENTIONS", "METHODS", "NOISES", "NOISE_RANGES", "QUANTIZE_COMPAT", "ROUNDING", "TRAIN_MODES"]

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

#: How the companion experiments' networks are trained (:func:`gradlab.train_modes`).
TRAIN_MODES = ("clean", "qat", "noisy")
#: The companion experiments' networks: the digits MLP, the paper's FCN and ConvNet on MNIST-5k.
COMPANION_MODELS = ("mlp", "fcn", "convnet")
#: What "the layer's output range" R of the companion noise model (eta * R * N(0, 1)) is.
NOISE_RANGES = {
    "sample": "max|z| over each sample's own units (the default: the same in any batch, training and test)",
    "calibrated": "max|z| over the training split, measured once per network and then fixed",
    "batch": "max|z| over the batch at hand (gradlab's earlier model: its scale grows with the batch)",
}
#: Activation restrictions of the bit-flip experiment (:func:`gradlab.bitflip_faults`): none, ReLU6's
#: fixed 6, thresholds per layer, per neuron, ProAct's hybrid (per layer, except per neuron in the
#: last hidden layer), all from activation statistics, and 'proact': the hybrid's thresholds then
#: trained progressively (gradlab.nn.proact.train_thresholds).
CLIPPING = ("none", "relu6", "layer", "neuron", "hybrid", "proact")
#: How a clipped activation bounds (gradlab.nn.proact.Clip).
CLIP_FORMS = {
    "smooth": "max(0, h sigmoid(k (lambda - h))), k = 20: ProAct's bound, to zero above lambda",
    "saturating": "min(h, lambda): held at lambda above it (ReLU6-like)",
}
#: Where its bit flips land: the stored weights, biases and thresholds, or the hidden layers' outputs.
FLIP_SITES = ("weights", "activations")
#: The stored word its bit flips hit.
FLIP_WORDS = {
    "fixed32": "Q15.16: 32-bit two's complement with 16 fractional bits (ProAct's fault model)",
    "float32": "the IEEE single-precision word",
    "fixed16": "16-bit two's complement with 10 fractional bits (range +-32, step 2^-10)",
}
