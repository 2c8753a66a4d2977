"""The shape queries: effective precision (SPEC 3), step discontinuity (1 - i), activation curves."""
import numpy as np
import pytest

import gradlab as gl


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


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: gl.step_discontinuity("gelu"), "family must be"),
        (lambda: gl.step_discontinuity("relu_gelu", i=[1.5]), r"i must lie in \[0, 1\]"),
        (lambda: gl.effective_precision([1], precision=0), "precision must be > 0"),
    ],
)
def test_shape_queries_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_activation_curves_on_quantized_inputs():
    df = gl.activation_curves("relu", np.array([0.1, 0.26, -0.3]), chain=gl.Quantize(4))
    np.testing.assert_array_equal(df["x_input"], [0.0, 0.25, -0.25])
    np.testing.assert_array_equal(df["f"], [0.0, 0.25, 0.0])
