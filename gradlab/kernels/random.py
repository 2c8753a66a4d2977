"""Counter-seeded random streams for kernels: reproducible whatever the thread count.

Each logical stream (one per x value, per map cell...) starts from a state derived from
``(seed, stream)`` by the SplitMix64 finalizer, and advances by SplitMix64 (Steele, Lea & Flood
2014; passes BigCrush).  Because a stream's numbers depend only on its own index, a ``prange`` loop
over streams gives bit-identical results with 1 or 32 threads.  Normals use Doornik's ZIGNOR
ziggurat (128 layers, J. Doornik 2005), exponentials/Laplace use inversion, Poisson uses inversion
below rate 10, Hormann's PTRS (1993) above, as NumPy does, and the normal limit past 1e12.
"""
from __future__ import annotations

import math

import numpy as np

from gradlab.kernels.jit import inline_kernel, scalar_kernel

__all__ = ["next_u64", "normal", "poisson", "stream_state", "uniform", "uniform_open"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_MASK7 = np.uint64(0x7F)
_TWO_M53 = 2.0**-53


def _zignor_tables(layers: int = 128, r: float = 3.442619855899, v: float = 9.91256303526217e-3):
    x = np.zeros(layers + 1)
    f = math.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    for i in range(2, layers):
        x[i] = math.sqrt(-2 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    ratio = x[1:] / x[:-1]
    return x, ratio


_ZIG_X, _ZIG_R = _zignor_tables()
_ZIG_TAIL = 3.442619855899
# Integer acceptance thresholds floor(R_i 2^63) and output scales X_i 2^-63 of the fast path.
_ZIG_K = np.floor(_ZIG_R * 2.0**63).clip(max=2.0**63 - 1024).astype(np.int64)
_ZIG_W = _ZIG_X[:-1] * 2.0**-63


@scalar_kernel
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@scalar_kernel
def stream_state(seed, stream):
    """Initial state of stream ``stream`` (int >= 0) of generator ``seed`` (uint64)."""
    return _mix(_mix(np.uint64(seed)) + _GOLDEN * (np.uint64(stream) + np.uint64(1)))


@scalar_kernel
def next_u64(state):
    """(new state, 64 random bits)."""
    state = state + _GOLDEN
    return state, _mix(state)


@scalar_kernel
def uniform(state):
    """(new state, u) with u uniform on [0, 1) in steps of 2^-53."""
    state, z = next_u64(state)
    return state, float(z >> _S11) * _TWO_M53


@scalar_kernel
def uniform_open(state):
    """(new state, u) with u uniform on (0, 1): safe for log."""
    state, z = next_u64(state)
    return state, (float(z >> _S11) + 0.5) * _TWO_M53


@scalar_kernel
def _normal_slow(state, hz, i):
    """The rare ziggurat steps (about 1.2% of draws): tail or wedge, then a fresh draw."""
    u = hz * 2.0**-63
    if i == 0:
        # Tail beyond R (Marsaglia 1964).
        while True:
            state, a = uniform_open(state)
            state, b = uniform_open(state)
            t = math.log(a) / _ZIG_TAIL
            if -2.0 * math.log(b) >= t * t:
                break
        return state, True, (t - _ZIG_TAIL) if u < 0 else (_ZIG_TAIL - t)
    xx = u * _ZIG_X[i]
    f0 = math.exp(-0.5 * (_ZIG_X[i] * _ZIG_X[i] - xx * xx))
    f1 = math.exp(-0.5 * (_ZIG_X[i + 1] * _ZIG_X[i + 1] - xx * xx))
    state, w = uniform(state)
    return state, f1 + w * (f0 - f1) < 1.0, xx


@inline_kernel
def normal(state):
    """(new state, z) with z standard normal (ziggurat)."""
    while True:
        state, z = next_u64(state)
        # u = hz / 2^63 is uniform on [-1, 1); the layer comes from the low 7 bits, which move u
        # by less than 2^-56.  The integer comparison keeps the common path short enough for
        # LLVM to inline; the rest lives in _normal_slow.
        hz = np.int64(z)
        i = int(z & _MASK7)
        if -_ZIG_K[i] < hz < _ZIG_K[i]:
            return state, hz * _ZIG_W[i]
        state, accepted, value = _normal_slow(state, hz, i)
        if accepted:
            return state, value


@scalar_kernel
def poisson(state, lam):
    """(new state, k) with k ~ Poisson(lam), lam >= 0, as a float."""
    if not lam > 0.0:  # zero, or NaN from an upstream fault
        return state, 0.0 if lam == 0.0 else lam
    if lam > 1e12:
        # Far beyond any analog count; the normal limit is exact to ~1e-6 relative skew, and
        # keeps an infinite rate (a flipped exponent bit upstream) from looping forever.
        if lam == math.inf:
            return state, lam
        state, z = normal(state)
        return state, max(0.0, np.floor(lam + math.sqrt(lam) * z + 0.5))
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0.0
        state, prod = uniform_open(state)
        while prod > limit:
            state, u = uniform_open(state)
            prod *= u
            k += 1.0
        return state, k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        state, u = uniform(state)
        u -= 0.5
        state, v = uniform_open(state)
        us = 0.5 - abs(u)
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return state, k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return state, k
