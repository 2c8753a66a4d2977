"""Stage kernels: each perturbation stage as a compiled scalar core.

A chain is compiled by generating a module that calls these cores in the chain's order
(:func:`gradlab.kernels.codegen.chain_module`): straight-line code runs about twice as fast as a
loop that dispatches on stage codes, and one module serves every chain of the same structure
(parameters are arguments), so changing leakage or precision costs no compilation.
"""
from __future__ import annotations

import math

import numpy as np

from gradlab.kernels.jit import inline_kernel, scalar_kernel
from gradlab.kernels.random import normal, poisson, uniform, uniform_open
from gradlab.perturbations.stages import (
    BITFLIP_FIXED,
    BITFLIP_FLOAT32,
    CLAMP,
    GAUSSIAN,
    LAPLACE,
    POISSON,
    QUANTIZE,
    UNIFORM,
)

__all__ = ["STAGE_KERNELS", "level1", "quantize1"]

@scalar_kernel
def _sign(v):
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


@scalar_kernel
def level1(v, precision, rounding, u):
    """The signed lattice index k (a float) that v rounds to; ``u`` in [0, 1) drives stochastic rounding."""
    a = abs(v * precision)
    if rounding == 0:  # half toward zero: ceil(|v P| - 1/2)
        k = np.ceil(a - 0.5)
    elif rounding == 1:  # half to even
        k = np.floor(a + 0.5)
        if k - a == 0.5 and k % 2.0 == 1.0:
            k -= 1.0
    else:  # stochastic: ceil with probability frac(a)
        k = np.floor(a)
        if u < a - k:
            k += 1.0
    # copysign instead of a sign branch: near 0 the sign of v is a coin flip for the predictor.
    return math.copysign(k, v)


@scalar_kernel
def quantize1(v, precision, rounding, u):
    """Round v to the lattice k/precision; ``u`` in [0, 1) drives stochastic rounding."""
    return level1(v, precision, rounding, u) / precision


@scalar_kernel
def _flip_fixed(state, v, ber, total, frac):
    scale = 2.0**frac
    top = 2.0 ** (total - 1.0)
    c = np.floor(v * scale + 0.5)
    c = min(max(c, -top), top - 1.0)
    n = int(total)
    word = np.int64(c) & ((np.int64(1) << n) - 1)
    for b in range(n):
        state, u = uniform(state)
        if u < ber:
            word ^= np.int64(1) << b
    if word >= (np.int64(1) << (n - 1)):
        word -= np.int64(1) << n
    return state, float(word) / scale


@scalar_kernel
def _flip_float32(state, v, ber):
    mask = np.int64(0)
    for b in range(32):
        state, u = uniform(state)
        if u < ber:
            mask |= np.int64(1) << b
    word = np.float32(v).view(np.uint32) ^ np.uint32(mask)
    return state, float(np.uint32(word).view(np.float32))


# One scalar core per stage kind, all with the signature (state, v, p0, p1, p2) -> (state, v):
# the generated chain modules (gradlab.kernels.codegen.chain_module) call them in sequence.


@inline_kernel
def gaussian(state, v, sigma, _1, _2):
    state, z = normal(state)
    return state, v + sigma * z


@inline_kernel
def uniform_noise(state, v, width, _1, _2):
    state, u = uniform(state)
    return state, v + width * (u - 0.5)


@inline_kernel
def laplace(state, v, b, _1, _2):
    state, u = uniform_open(state)
    u -= 0.5
    return state, v - b * _sign(u) * math.log(1.0 - 2.0 * abs(u))


@scalar_kernel
def shot(state, v, rate, _1, _2):
    state, k = poisson(state, abs(v) * rate)
    return state, _sign(v) * k / rate


@inline_kernel
def clamp(state, v, lo, hi, _2):
    return state, min(max(v, lo), hi)


@inline_kernel
def quantize_level(state, v, precision, rounding, _2):
    """The level index k that ``quantize`` lands on (drawing the same numbers), not k / precision."""
    u = 0.0
    if rounding == 2.0:
        state, u = uniform(state)
    return state, level1(v, precision, rounding, u)


@inline_kernel
def quantize(state, v, precision, rounding, reciprocal):
    state, k = quantize_level(state, v, precision, rounding, reciprocal)
    # reciprocal > 0 is AnalogVNN's k * (1/P) (Quantize(compat='analogvnn')); the formula divides.
    if reciprocal > 0.0:
        return state, k * reciprocal
    return state, k / precision


@scalar_kernel
def bitflip_fixed(state, v, ber, total, frac):
    return _flip_fixed(state, v, ber, total, frac)


@scalar_kernel
def bitflip_float32(state, v, ber, _1, _2):
    return _flip_float32(state, v, ber)


#: Kernel function name of each stage code.
STAGE_KERNELS = {
    GAUSSIAN: "gaussian",
    UNIFORM: "uniform_noise",
    LAPLACE: "laplace",
    POISSON: "shot",
    CLAMP: "clamp",
    QUANTIZE: "quantize",
    BITFLIP_FIXED: "bitflip_fixed",
    BITFLIP_FLOAT32: "bitflip_float32",
}
