"""Closed-form identities (SPEC section 8) that neither engine can tune to, each checked against both.

Exact engine: to 1e-10.  Monte Carlo: within 4 of its own standard errors.
"""
import math

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import norm

import gradlab as gl

XS = np.array([-0.37, -0.08, -0.011, 0.004, 0.05, 0.21, 0.6])  # clear of 0, where f' is not defined by a limit
MC_SAMPLES = 200_000


def both(act, chain, x, seed=0):
    exact = gl.gradient_error(act, chain, x, method="exact")
    mc = gl.gradient_error(act, chain, x, method="mc", samples=MC_SAMPLES, seed=seed)
    assert set(exact["method"]) == {"exact"} and set(mc["method"]) == {"mc"}
    return exact, mc


def assert_mc_close(mc, column, expected):
    """Within 4 standard errors; where every sample agreed (stderr 0), the event is rarer than ~5/n.

    (Seeing no event in n draws is likely only if its probability is below about 5/n; the errors
    here are bounded by 1.)
    """
    se = mc["stderr" if column == "mean_abs_error" else "bias_stderr"].to_numpy()
    n = mc["samples"].to_numpy()
    dev = np.abs(mc[column].to_numpy() - expected)
    tol = np.where(se > 0, 4 * se, 5.0 / n)
    assert np.all(dev <= tol), (dev / tol).max()


@pytest.mark.parametrize("sigma", [0.01, 0.1])
def test_relu_under_gaussian_noise_is_the_normal_tail(sigma):
    expected = ndtr(-np.abs(XS) / sigma)  # e(x) = P(x + n lands across 0) = Phi(-|x| / sigma)
    exact, mc = both("relu", gl.chain(gl.Gaussian(sigma=sigma)), XS)
    np.testing.assert_allclose(exact["mean_abs_error"], expected, rtol=0, atol=1e-10)
    assert_mc_close(mc, "mean_abs_error", expected)


def test_relu_error_averaged_over_gaussian_inputs_is_arctan():
    """E over x ~ N(0, tau^2) of Phi(-|x|/sigma) = arctan(sigma / tau) / pi."""
    sigma, tau = 0.05, 0.2
    expected = math.atan(sigma / tau) / math.pi
    chain = gl.chain(gl.Gaussian(sigma=sigma))
    # Exact engine on Gauss-Legendre panels over x in (0, 12 tau]; e is even and smooth for x > 0.
    nodes, weights = np.polynomial.legendre.leggauss(24)
    edges = np.linspace(0, 12 * tau, 25)
    half = np.diff(edges)[:, None] / 2
    x = (edges[:-1, None] + half * (nodes + 1)).ravel()
    w = (half * weights).ravel() * norm.pdf(x, scale=tau)
    e = gl.gradient_error("relu", chain, x, method="exact")["mean_abs_error"].to_numpy()
    assert 2 * (w * e).sum() == pytest.approx(expected, abs=1e-10)
    # Monte Carlo: inputs drawn from N(0, tau^2) too; per-input estimates are i.i.d.
    xs = np.random.default_rng(11).normal(0, tau, 40_000)
    est = gl.gradient_error("relu", chain, xs, method="mc", samples=4, seed=5)["mean_abs_error"].to_numpy()
    assert abs(est.mean() - expected) < 4 * est.std(ddof=1) / np.sqrt(est.size)


@pytest.mark.parametrize("sigma", [0.05, 0.4])
def test_gelu_bias_under_gaussian_noise_is_closed_form(sigma):
    """E[GELU'(x + sigma Z)] = Phi(x/s) + x phi(x/s) / s^3 with s = sqrt(1 + sigma^2)."""
    s = math.sqrt(1 + sigma**2)
    clean = ndtr(XS) + XS * norm.pdf(XS)
    expected = ndtr(XS / s) + XS * norm.pdf(XS / s) / s**3 - clean
    exact, mc = both("gelu", gl.chain(gl.Gaussian(sigma=sigma)), XS)
    np.testing.assert_allclose(exact["bias"], expected, rtol=0, atol=1e-10)
    assert_mc_close(mc, "bias", expected)


@pytest.mark.parametrize("width", [0.02, 0.5])
def test_relu_under_uniform_noise_is_smelu(width):
    """E[ReLU'(x + U)] = clip((x + w/2) / w, 0, 1): ReLU smoothed by a box (SmeLU)."""
    expected = np.clip((XS + width / 2) / width, 0, 1) - (XS > 0)
    exact, mc = both("relu", gl.chain(gl.Uniform(width=width)), XS)
    np.testing.assert_allclose(exact["bias"], expected, rtol=0, atol=1e-10)
    assert_mc_close(mc, "bias", expected)


@pytest.mark.parametrize("b", [0.01, 0.2])
def test_relu_under_laplace_noise_is_the_laplace_tail(b):
    expected = 0.5 * np.exp(-np.abs(XS) / b)
    exact, mc = both("relu", gl.chain(gl.Laplace(scale=b)), XS)
    np.testing.assert_allclose(exact["mean_abs_error"], expected, rtol=0, atol=1e-10)
    assert_mc_close(mc, "mean_abs_error", expected)


@pytest.mark.parametrize("precision", [8, 100])
def test_stochastic_rounding_is_unbiased_with_binomial_variance(precision):
    """With f = x^2/2, f'(x~) - f'(x) = q(x) - x: E = 0, E^2 = d^2 u (1 - u), E|.| = 2 d u (1 - u)."""
    act = gl.activation("x**2/2")
    d = 1 / precision
    x = XS.copy()
    u = np.abs(x) * precision - np.floor(np.abs(x) * precision)  # fractional position between levels
    chain = gl.chain(gl.Quantize(precision, rounding="stochastic"))
    exact, mc = both(act, chain, x, seed=3)
    np.testing.assert_allclose(exact["bias"], 0.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exact["rms_error"] ** 2, d * d * u * (1 - u), rtol=0, atol=1e-10)
    np.testing.assert_allclose(exact["mean_abs_error"], 2 * d * u * (1 - u), rtol=0, atol=1e-10)
    assert_mc_close(mc, "bias", np.zeros_like(x))
    assert_mc_close(mc, "mean_abs_error", 2 * d * u * (1 - u))
    # The second moment: (u d)^2 w.p. 1 - u, ((1 - u) d)^2 w.p. u; its estimator's standard error by hand.
    lo, hi = (u * d) ** 2, ((1 - u) * d) ** 2
    m2 = d * d * u * (1 - u)
    se2 = np.sqrt(((1 - u) * (lo - m2) ** 2 + u * (hi - m2) ** 2) / MC_SAMPLES)
    assert np.all(np.abs(mc["rms_error"].to_numpy() ** 2 - m2) <= 4 * se2 + 1e-18)


def test_stochastic_rounding_after_noise_is_left_to_monte_carlo():
    chain = gl.chain(gl.Gaussian(sigma=0.01), gl.Quantize(8, rounding="stochastic"))
    with pytest.raises(gl.ExactUnsupported, match="use method='mc'"):
        gl.gradient_error("relu", chain, [0.1], method="exact")
