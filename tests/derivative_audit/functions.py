"""Hand-written derivatives for the audit tests, right and wrong (GELU' and SiLU' in closed form); NumPy forwards."""
import numpy as np
from scipy.special import erf, expit, ndtr

SQRT_2PI = np.sqrt(2 * np.pi)


def gelu_grad(x):
    return ndtr(x) + x * np.exp(-x * x / 2) / SQRT_2PI


def gelu_grad_missing_factor(x):  # the x phi(x) term without its 1/sqrt(2 pi)
    return ndtr(x) + x * np.exp(-x * x / 2)


def gelu_grad_sign_slip(x):
    return ndtr(x) - x * np.exp(-x * x / 2) / SQRT_2PI


def silu_grad(x):
    s = expit(x)
    return s * (1 + x * (1 - s))


def silu_grad_wrong_constant(x):
    s = expit(x)
    return s * (1 + 1.1 * x * (1 - s))


def silu_grad_wrong_below_zero(x):  # right for x >= 0 only
    return np.where(x < 0, expit(x), silu_grad(x))


def gelu_grad_float32(x):
    x = np.asarray(x, dtype=np.float32)
    c = np.float32(1 / SQRT_2PI)
    return (np.float32(0.5) * (1 + erf(x / np.float32(np.sqrt(2)))) + x * np.exp(-x * x / 2) * c).astype(np.float32)


def gelu_np(x):
    return x * ndtr(x)


def silu_np(x):
    return x * expit(x)


def relu_np(x):
    return np.maximum(x, 0.0)
