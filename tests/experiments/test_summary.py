"""gl.t_halfwidth, the one Student-t interval, against closed forms and tables; gl.t_summary by hand."""
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import gradlab as gl


def test_closed_forms_for_one_and_two_degrees_of_freedom():
    # dof 1 (Cauchy): t_q = tan(pi (q - 1/2)); dof 2: t_q = (2q - 1) sqrt(2 / (4 q (1 - q))).
    for level in (0.5, 0.9, 0.95, 0.99):
        q = 0.5 + level / 2
        assert gl.t_halfwidth(1.0, 2, level) == pytest.approx(math.tan(math.pi * (q - 0.5)), rel=1e-12)
        assert gl.t_halfwidth(1.0, 3, level) == pytest.approx((2 * q - 1) * math.sqrt(2 / (4 * q * (1 - q))),
                                                              rel=1e-12)


def test_table_values_scale_with_the_standard_error():
    # Printed t tables: t(0.975, 4) = 2.776445, t(0.95, 9) = 1.833113, t(0.995, 10) = 3.169273.
    assert gl.t_halfwidth(0.5, 5) == pytest.approx(0.5 * 2.776445, rel=1e-6)
    assert gl.t_halfwidth(2.0, 10, level=0.90) == pytest.approx(2 * 1.833113, rel=1e-6)
    assert gl.t_halfwidth(1.0, 11, level=0.99) == pytest.approx(3.169273, rel=1e-6)


def test_arrays_and_series_broadcast_and_one_sample_has_no_interval():
    stderr = pd.Series([0.1, 0.2, 0.3], index=[7, 8, 9])
    half = gl.t_halfwidth(stderr, pd.Series([1, 3, 5], index=[7, 8, 9]))
    assert isinstance(half, pd.Series) and list(half.index) == [7, 8, 9]
    assert np.isnan(half[7])
    assert_allclose(half[[8, 9]], [0.2 * 4.302653, 0.3 * 2.776445], rtol=1e-6)


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, True, "0.95"])
def test_bad_level_is_refused_naming_it(level):
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\), got"):
        gl.t_halfwidth(1.0, 5, level)


def test_t_summary_against_a_hand_computed_interval():
    frame = pd.DataFrame({"g": ["a"] * 5 + ["b"], "test_accuracy": [0.90, 0.92, 0.94, 0.96, 0.98, 0.5]})
    s = gl.t_summary(frame, ["g"]).set_index("g")
    # mean 0.94, sd 0.0316228, stderr 0.0141421, t(0.975, 4) = 2.7764451
    assert s.loc["a", "mean"] == pytest.approx(0.94)
    assert s.loc["a", "ci_high"] - 0.94 == pytest.approx(2.7764451 * 0.0141421356, rel=1e-6)
    assert s.loc["b", "seeds"] == 1 and np.isnan(s.loc["b", "ci_low"])
    with pytest.raises(ValueError, match="no column 'accuracy'"):
        gl.t_summary(frame, ["g"], value="accuracy")


def test_bounded_intervals_are_logit_t_intervals_inside_the_bounds():
    from scipy import stats

    # Accuracies near 1: the plain t interval passes 1, the bounded one is the t interval of the logits.
    acc = np.array([0.97, 0.99, 0.995])
    frame = pd.DataFrame({"g": "a", "test_accuracy": acc})
    plain = gl.t_summary(frame, ["g"]).iloc[0]
    assert plain["ci_high"] > 1
    bounded = gl.t_summary(frame, ["g"], bounds=(0, 1)).iloc[0]
    z = np.log(acc / (1 - acc))
    half = stats.t.ppf(0.975, 2) * z.std(ddof=1) / np.sqrt(3)
    assert bounded["ci_low"] == pytest.approx(1 / (1 + np.exp(-(z.mean() - half))), rel=1e-12)
    assert bounded["ci_high"] == pytest.approx(1 / (1 + np.exp(-(z.mean() + half))), rel=1e-12)
    assert 0 < bounded["ci_low"] < bounded["ci_high"] < 1
    assert bounded["mean"] == pytest.approx(acc.mean()) and bounded["stderr"] == pytest.approx(plain["stderr"])
    # Other bounds scale the same way; far from them the interval is close to the plain one.
    mid = pd.DataFrame({"g": "b", "test_accuracy": [49.0, 50.0, 51.0, 50.5, 49.5]})
    far = gl.t_summary(mid, ["g"], bounds=(0, 100)).iloc[0]
    near = gl.t_summary(mid, ["g"]).iloc[0]
    assert far["ci_low"] == pytest.approx(near["ci_low"], rel=1e-3)
    assert far["ci_high"] == pytest.approx(near["ci_high"], rel=1e-3)
    # A value on a bound counts as 1/1000 of the range inside it: finite, and still inside.
    edge = gl.t_summary(pd.DataFrame({"g": "c", "test_accuracy": [1.0, 0.98]}), ["g"], bounds=(0, 1)).iloc[0]
    assert 0 < edge["ci_low"] < edge["ci_high"] < 1


@pytest.mark.parametrize("bounds, message", [
    ((1, 0), "lo < hi"), ("10", "lo < hi"), ((0, float("inf")), "finite"), (5, "a pair"), ((0, 0.5), "lie outside"),
])
def test_bad_bounds_are_refused_by_name(bounds, message):
    frame = pd.DataFrame({"g": ["a", "a"], "test_accuracy": [0.7, 0.9]})
    with pytest.raises(ValueError, match="bounds") as err:
        gl.t_summary(frame, ["g"], bounds=bounds)
    assert message in str(err.value)
