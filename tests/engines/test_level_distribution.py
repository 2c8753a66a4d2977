"""level_distribution: the exact law of x~ for one input, against the SPEC's values and the engine's e(x)."""
import numpy as np
import pytest
from scipy.stats import norm

import gradlab as gl
from gradlab.engines import ExactUnsupported, level_distribution


def test_relu_at_zero_under_the_papers_chain():
    # SPEC: under Gaussian(leakage 0.5, P = 256) -> Clamp -> Quantize, x~ > 0 needs n > 1/512: probability 1/4.
    levels, p = level_distribution(gl.analog(0.5, 256), 0.0)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    assert p[levels > 0].sum() == pytest.approx(0.25, abs=1e-15)
    sigma = gl.Gaussian(leakage=0.5, precision=256).sigma
    # Level k/P collects the noise between (k - 1/2)/P and (k + 1/2)/P.
    want = norm.cdf(1.5 / 256, scale=sigma) - norm.cdf(0.5 / 256, scale=sigma)
    assert p[np.isclose(levels, 1 / 256)][0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("chain", [
    gl.analog(0.5, 256),
    gl.analog(0.2, 16, noise="laplace"),
    gl.analog(0.5, 8, noise="uniform", clamp=None),
    gl.chain(gl.Gaussian(sigma=0.3), gl.Clamp(-0.5, 0.5), gl.Quantize(4, rounding="half_even")),
])
@pytest.mark.parametrize("x", [-0.9, -0.004, 0.0, 0.0013, 0.49])
def test_levels_give_the_engines_error(chain, x):
    act = gl.activation("relu_gelu", i=0.3)
    levels, p = level_distribution(chain, x)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(levels) > 0)
    e = (p * np.abs(act.df(levels) - act.df(x))).sum()
    ref = gl.gradient_error(act, chain, [x], method="exact")["mean_abs_error"].iloc[0]
    assert e == pytest.approx(ref, rel=1e-12, abs=1e-300)


def test_stochastic_rounding_is_unbiased_with_binomial_variance():
    # SPEC closed form: E[q(x)] = x, Var = d^2 f (1 - f), f the fractional position of x.
    levels, p = level_distribution(gl.chain(gl.Quantize(8, rounding="stochastic")), 0.3)
    assert (p * levels).sum() == pytest.approx(0.3, rel=1e-14)
    f = 0.3 * 8 - 2
    assert (p * (levels - 0.3) ** 2).sum() == pytest.approx(f * (1 - f) / 64, rel=1e-12)


def test_no_noise_is_one_level_and_continuous_noise_has_none():
    levels, p = level_distribution(gl.chain(gl.Quantize(4)), 0.3)
    assert levels.tolist() == [0.25] and p.tolist() == [1.0]
    with pytest.raises(ExactUnsupported, match="continuous"):
        level_distribution(gl.chain(gl.Gaussian(sigma=0.1)), 0.0)
