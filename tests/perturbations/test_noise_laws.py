"""The additive noises' laws against scipy.stats, and the exact engine's use of their breakpoints."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

import gradlab as gl

T = np.concatenate([np.linspace(-0.5, 0.5, 1001), [-0.05, 0.05, 0.0]])
HALF_BIN = 1 / 30  # precision 15
# Leakage 0.3 = P(|n| > HALF_BIN), solved with scipy for each law.
LAWS = [
    (gl.Gaussian(sigma=0.07), stats.norm(scale=0.07)),
    (gl.Gaussian(leakage=0.3, precision=15), stats.norm(scale=HALF_BIN / stats.norm.isf(0.15))),
    (gl.Uniform(width=0.1), stats.uniform(loc=-0.05, scale=0.1)),
    (gl.Uniform(leakage=0.3, precision=15), stats.uniform(loc=-HALF_BIN / 0.7, scale=2 * HALF_BIN / 0.7)),
    (gl.Laplace(scale=0.03), stats.laplace(scale=0.03)),
    (gl.Laplace(leakage=0.3, precision=15), stats.laplace(scale=HALF_BIN / stats.expon.isf(0.3))),
]


@pytest.mark.parametrize(("noise", "law"), LAWS, ids=lambda v: repr(v) if isinstance(v, gl.Stage) else "")
def test_pdf_cdf_sf_match_scipy(noise, law):
    assert isinstance(noise, gl.AdditiveNoise)
    assert_allclose(noise.pdf(T), law.pdf(T), rtol=1e-12, atol=1e-300)
    # atol: at a uniform's edge t itself carries rounding of 1e-17.
    assert_allclose(noise.cdf(T), law.cdf(T), rtol=1e-12, atol=1e-15)
    assert_allclose(noise.sf(T), law.sf(T), rtol=1e-12, atol=1e-15)


def test_far_tails_keep_relative_accuracy():
    g, lp = gl.Gaussian(sigma=0.01), gl.Laplace(scale=0.01)
    t = np.array([0.2, 0.3])
    assert_allclose(g.sf(t), stats.norm(scale=0.01).sf(t), rtol=1e-12)
    assert_allclose(lp.cdf(-t), stats.laplace(scale=0.01).cdf(-t), rtol=1e-12)


def test_breakpoints_are_the_density_kinks_and_edges():
    assert gl.Gaussian(sigma=0.1).breakpoints() == ()
    assert gl.Uniform(width=0.3).breakpoints() == (-0.15, 0.15)
    assert gl.Laplace(scale=0.2).breakpoints() == (0.0,)


def test_a_point_mass_has_no_density():
    with pytest.raises(ValueError, match=r"Gaussian\(sigma=0\) is a point mass at 0: .*sigma must be > 0"):
        gl.Gaussian(sigma=0).pdf(np.zeros(3))


@pytest.mark.parametrize("noise", [gl.Laplace(scale=0.1), gl.Uniform(width=0.3), gl.Gaussian(sigma=0.1)])
def test_exact_continuous_engine_matches_quadrature_after_a_clamp(noise):
    """Clamp(-0.5, 0.5) before the noise moves its centre off x (x = 0.7 -> 0.5): the density's kink
    or edges lie at 0.5 + breakpoints, not at x, and the quadrature must split there."""
    act = gl.activation("gelu")
    ch = gl.chain(gl.Clamp(-0.5, 0.5), noise)
    got = gl.gradient_error(act, ch, [0.7], method="exact")["mean_abs_error"].iloc[0]
    dfx = float(act.df(np.array(0.7)))
    lo, hi = noise.bounds(0.5, 0.5)
    points = [0.5 + t for t in noise.breakpoints()] or None
    want, _ = integrate.quad(lambda u: abs(float(act.df(np.array(u))) - dfx) * float(noise.pdf(np.array(u - 0.5))),
                             lo, hi, points=points, epsabs=1e-14, epsrel=1e-11, limit=200)
    assert got == pytest.approx(want, rel=1e-9)


def test_exact_relu_under_laplace_after_a_clamp_is_the_tail_mass():
    # x = 0.7 clamps to 0.5; ReLU' is wrong exactly when 0.5 + n < 0: e = P(n < -0.5) = exp(-5) / 2.
    ch = gl.chain(gl.Clamp(-0.5, 0.5), gl.Laplace(scale=0.1))
    got = gl.gradient_error("relu", ch, [0.7], method="exact")["mean_abs_error"].iloc[0]
    assert got == pytest.approx(0.5 * np.exp(-5.0), rel=1e-10)
