"""gl.audit end to end: planted bugs are caught and located, correct derivatives pass, bad arguments are refused.

Every claim is compared with something independent of it: the symbolic derivative of a gradlab
expression, or finite differences of a NumPy forward.  Torch-based audits are in tests/test_torch_bridge.py.
"""
import numpy as np
import pytest
from scipy.special import expit

import gradlab as gl
from tests.derivative_audit.functions import (
    gelu_grad,
    gelu_grad_missing_factor,
    gelu_grad_sign_slip,
    gelu_np,
    silu_grad,
    silu_grad_wrong_below_zero,
    silu_grad_wrong_constant,
    silu_np,
)


@pytest.mark.parametrize("forward", ["gelu", gelu_np], ids=["symbolic", "finite-differences"])
@pytest.mark.parametrize("claim", [gelu_grad_missing_factor, gelu_grad_sign_slip])
def test_planted_gelu_bugs_are_caught_on_both_sides_of_zero(forward, claim):
    report = gl.audit(forward, claim, chain=None)
    assert report.verdict == "bug"
    # The term x phi(x) vanishes at 0 only: wrong on [-6, 0) and (0, 6], right at 0.
    assert len(report.intervals) == 2
    left, right = report.intervals.itertuples()
    assert left.start == -6 and -1e-11 < left.stop < 0 and 0 < right.start < 1e-11 and right.stop == 6
    at0 = report.frame[report.frame["x"] == 0.0]
    assert (at0["status"] == "ok").all()
    worst = report.worst.iloc[0]
    assert abs(abs(worst["x"]) - 1.0) < 0.01  # x phi(x) peaks at |x| = 1
    expected = abs(claim(np.array([worst["x"]]))[0] - gelu_grad(np.array([worst["x"]]))[0])
    assert worst["abs_error"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("forward", ["silu", silu_np], ids=["symbolic", "finite-differences"])
def test_wrong_constant_in_silu_is_caught(forward):
    report = gl.audit(forward, silu_grad_wrong_constant, chain=None)
    assert report.verdict == "bug"
    # The error 0.1 x s(x)(1 - s(x)) peaks where x s(x) (1 - s(x)) does, |x| ~ 1.5434.
    assert abs(abs(report.worst["x"].iloc[0]) - 1.5434) < 2e-3


@pytest.mark.parametrize("forward", ["silu", silu_np], ids=["symbolic", "finite-differences"])
def test_derivative_wrong_only_below_zero_is_located(forward):
    report = gl.audit(forward, silu_grad_wrong_below_zero)
    assert report.verdict == "bug"
    assert len(report.intervals) == 1
    run = report.intervals.iloc[0]
    assert run["start"] == -6 and -1e-11 <= run["stop"] < 0
    assert (report.frame.loc[report.frame["x"] >= 0, "status"] == "ok").all()
    # Its cost under the paper's chain, exact: worse than the true derivative's near 0 and below.
    imp = report.impact
    assert (imp["method"] == "exact").all() and imp["x"].min() == -1 and imp["x"].max() == 1
    below = imp[imp["x"] < -0.05]
    assert (below["error_claimed"] > 10 * below["error_true"]).all()
    above = imp[imp["x"] > 0.05]
    np.testing.assert_allclose(above["error_claimed"], above["error_true"], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("forward, claim", [("gelu", gelu_grad), ("silu", silu_grad), (gelu_np, gelu_grad),
                                            (silu_np, silu_grad), ("x*tanh(log(1 + exp(x)))", None)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_derivatives_pass_in_float64_and_float32(forward, claim, dtype):
    if claim is None:  # mish's derivative, written out by hand
        def claim(x):
            t = np.tanh(np.logaddexp(0, x))
            return t + x * (1 - t * t) * expit(x)
    report = gl.audit(forward, claim, dtype=dtype)
    assert report.verdict == "ok", report.summary()
    assert report.dtype == dtype and report.intervals.empty and report.impact is None


def test_a_wrong_branch_point_is_a_bug_not_a_convention():
    # The jump put at 1e-3 instead of 0: wrong on (0, 1e-3), found by the points added near the claim's jump.
    report = gl.audit("relu", lambda x: (x > 1e-3).astype(float), chain=None)
    assert report.verdict == "bug"
    run = report.intervals.iloc[0]
    assert 0 < run["start"] < 1e-11 and 0.99e-3 < run["stop"] <= 1e-3


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "float8"}, "dtype must be one of"),
    ({"kink": "paper"}, "kink must be one of"),
    ({"x": []}, "x must be a non-empty"),
    ({"x": [0.0, np.nan]}, "x must hold finite numbers"),
    ({"ulps": -1}, "ulps must be > 0"),
    ({"chain": "digital"}, "chain must be 'analog'"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),  # these four were accepted
    ({"seed": "a"}, "seed must be an integer, got 'a'"),
    ({"seed": 1.5}, "seed must be an integer, got 1.5"),
    ({"seed": True}, "seed must be an integer, got True"),
    ({"impact_points": 2**63}, "impact_points must be at most 100,000"),  # an IndexError deep inside
    ({"dtype": np.int32}, "dtype must be one of .* got 'int32'"),
    ({"dtype": (0.1, 0.2)}, r"dtype must be one of .* got '\(0.1, 0.2\)'"),  # a SyntaxError from NumPy (fuzz_api.py)
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gl.audit("gelu", gelu_grad, **kwargs)


@pytest.mark.parametrize("dtype", [np.float16, np.dtype("float16"), "float16"])
def test_a_numpy_dtype_is_taken_like_its_name(dtype):
    # np.float16 (the type) was refused while np.dtype("float16") worked.
    assert gl.audit("relu", lambda v: (v > 0).astype(float), dtype=dtype, chain=None).dtype == "float16"


@pytest.mark.parametrize("forward, claim", [("gelu", gelu_grad_missing_factor), ("gelu", gelu_grad_sign_slip),
                                            ("silu", silu_grad_wrong_constant), ("silu", silu_grad_wrong_below_zero)])
def test_planted_bugs_are_caught_in_float32_too(forward, claim):
    report = gl.audit(forward, claim, dtype="float32", chain=None)
    assert report.verdict == "bug" and report.dtype == "float32"
    assert report.frame.loc[report.frame["status"] == "bug", "x"].between(-6, 0, inclusive="left").any()
