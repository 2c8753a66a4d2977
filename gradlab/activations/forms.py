"""The built-in activations' formulas as sympy expressions in ``x``; :mod:`.builtins` names them.

Kept apart from the catalogue so that listing the built-ins (``gradlab list``) needs no sympy.
"""
from __future__ import annotations

import sympy as sp

SQRT2 = sp.sqrt(2)


def relu(x, alpha):
    return sp.Piecewise((x, x > 0), (alpha * x, True))


def gelu(x, s):
    return x * (1 + sp.erf(s * x / SQRT2)) / 2


def sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def silu(x, beta):
    return x * sigmoid(beta * x)


def clipped_relu(x, lam):
    return sp.Piecewise((0, x <= 0), (x, x < lam), (lam, True))


def gelu_tanh(x):
    return x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Rational("0.044715") * x**3)))


def relu_gelu(x, i, s, alpha):
    return (1 - i) * relu(x, alpha) + i * gelu(x, s)


def relu_silu(x, i, alpha):
    return (1 - i) * relu(x, alpha) + i * silu(x, 1)


def bounded_relu(x, lam):
    return sp.Piecewise((0, x <= 0), (x, x <= lam), (0, True))


def smooth_bounded_relu(x, lam, k):
    return sp.Piecewise((0, x <= 0), (x * sigmoid(k * (lam - x)), True))


def elu(x, alpha):
    return sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))


def hardswish(x):
    return sp.Piecewise((0, x < -3), (x * (x + 3) / 6, x <= 3), (x, True))


def relu6(x):
    return clipped_relu(x, 6)


def softplus(x, beta):
    return sp.log(1 + sp.exp(beta * x)) / beta


def mish(x):
    return x * sp.tanh(sp.log(1 + sp.exp(x)))


def tanh(x):
    return sp.tanh(x)
