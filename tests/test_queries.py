import numpy as np
import pytest

import gradlab as gl

PAPER = gl.analog(leakage=0.5, precision=256)


def test_effective_precision_matches_spec():
    ep = gl.effective_precision([1, 3], precision=64)
    assert ep["bits"].round(2).tolist() == [6.33, 4.74]


@pytest.mark.parametrize("family", ["relu_gelu", "relu_silu"])
def test_step_discontinuity_is_one_minus_i(family):
    w = np.linspace(0, 1, 11)
    df = gl.step_discontinuity(family, w)
    np.testing.assert_allclose(df["gsd"], 1 - w, atol=1e-15)
    # The paper's numeric form adds the smooth part's slope over h = 1e-4: f''(0) h <= 1e-4.
    np.testing.assert_allclose(df["numeric"], 1 - w, atol=1e-4)


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
        (lambda: gl.step_discontinuity("gelu"), "family must be"),
        (lambda: gl.step_discontinuity("relu_gelu", i=[1.5]), r"i must lie in \[0, 1\]"),
        (lambda: gl.effective_precision([1], precision=0), "precision must be > 0"),
    ],
)
def test_queries_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_activation_curves_on_quantized_inputs():
    df = gl.activation_curves("relu", np.array([0.1, 0.26, -0.3]), chain=gl.Quantize(4))
    np.testing.assert_array_equal(df["x_input"], [0.0, 0.25, -0.25])
    np.testing.assert_array_equal(df["f"], [0.0, 0.25, 0.0])
