"""gradient_error and error_near_zero: the window ratio against direct averages, Monte Carlo against exact."""
import numpy as np
import pytest

import gradlab as gl

PAPER = gl.analog(leakage=0.5, precision=256)


def test_error_near_zero_ratio_is_a_curve_and_matches_direct_average():
    r = gl.error_near_zero(["relu"], PAPER, width=[1 / 512, 1 / 64], reference="gelu", points=11)
    direct = []
    for w in (1 / 512, 1 / 64):
        df = gl.gradient_error(["relu", "gelu"], PAPER, np.linspace(-w, w, 11), method="exact")
        e = df.groupby("activation")["mean_abs_error"].mean()
        direct.append(e["relu"] / e["gelu"])
    np.testing.assert_allclose(r["ratio"], direct, rtol=1e-12)
    assert r["ratio"].iloc[0] > r["ratio"].iloc[1] > 1  # narrower window, larger ratio


def test_error_near_zero_over_noise_levels_and_monte_carlo_stderr():
    chains = [gl.analog(leakage=lk, precision=256) for lk in (0.2, 0.5)]
    r = gl.error_near_zero(["relu"], chains, width=1 / 64, points=11)
    assert r["sigma"].tolist() == [c.stages[0].sigma for c in chains]
    mc = gl.error_near_zero(["relu"], PAPER, width=1 / 64, points=11, method="mc", samples=20_000)
    ex = gl.error_near_zero(["relu"], PAPER, width=1 / 64, points=11, method="exact")
    assert abs(mc["ratio"].iloc[0] - ex["ratio"].iloc[0]) < 4 * mc["ratio_stderr"].iloc[0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gl.error_near_zero("relu", PAPER, width=0), "width must be > 0"),
        (lambda: gl.error_near_zero("relu", PAPER, points=10), "points must be odd"),
        (lambda: gl.error_near_zero("relu", [], width=0.1), "at least one chain"),
    ],
)
def test_error_near_zero_refuses_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
