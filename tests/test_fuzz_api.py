"""Fuzzing the public API's parameters: any value is answered or refused with ValueError/TypeError.

Never another exception (OverflowError, ZeroDivisionError, AttributeError, a Numba error...),
never an unbounded computation: a small budget keeps every accepted call short.
"""
import time

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gradlab as gl  # noqa: E402

ODD_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-320, 1e-300, 1e300, 1e308, -1e308, 0.5, 1.0, 256.0, 2.0**53]),
)
ODD_VALUES = st.one_of(
    ODD_FLOATS,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([None, True, "abc", "", (), (0,), [1.0, 2.0], np.array([0.1, 0.2]), np.float64("nan"), {}]),
)
REFUSALS = (ValueError, TypeError)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(autouse=True, scope="module")
def small_budget():
    old = gl.set_budget(samples=2e6, memory=2e8)
    yield
    gl.set_budget(samples=old.samples, memory=old.memory)


def answered_or_refused(call):
    start = time.perf_counter()
    try:
        result = call()
    except REFUSALS as exc:
        assert str(exc), "a refusal must say why"
        result = None
    assert time.perf_counter() - start < 20
    return result


STAGES = [
    lambda v: gl.Gaussian(sigma=v),
    lambda v: gl.Gaussian(leakage=v, precision=256),
    lambda v: gl.Gaussian(leakage=0.5, precision=v),
    lambda v: gl.Uniform(width=v),
    lambda v: gl.Laplace(scale=v),
    lambda v: gl.Laplace(leakage=v, precision=15),
    lambda v: gl.Poisson(scale=v, precision=8),
    lambda v: gl.Quantize(v),
    lambda v: gl.Quantize(8, rounding=v),
    lambda v: gl.Clamp(v, 1.0),
    lambda v: gl.BitFlip(ber=v),
    lambda v: gl.BitFlip(total_bits=v),
    lambda v: gl.analog(v, 256),
    lambda v: gl.analog(0.5, v),
    lambda v: gl.analog(clamp=v),
]


@SETTINGS
@given(which=st.integers(0, len(STAGES) - 1), value=ODD_VALUES)
def test_stage_parameters(which, value):
    stage = answered_or_refused(lambda: STAGES[which](value))
    if stage is not None:
        chain = stage if isinstance(stage, gl.Chain) else gl.chain(stage)
        df = answered_or_refused(lambda: gl.gradient_error(["relu", "gelu"], chain, [-0.3, 0.0, 0.2], samples=200))
        if df is not None:
            finite = df["nonfinite"] < df["samples"]
            assert np.isfinite(df.loc[finite, "mean_abs_error"]).all()


CALLS = [
    lambda v: gl.gradient_error("relu", gl.analog(), v),
    lambda v: gl.gradient_error("relu", gl.analog(), [0.1], samples=v),
    lambda v: gl.gradient_error("relu", gl.analog(), [0.1], seed=v),
    lambda v: gl.gradient_error("relu", gl.analog(), [0.1], method=v),
    lambda v: gl.gradient_error(v, gl.analog(), [0.1]),
    lambda v: gl.gradient_error("relu", v, [0.1]),
    lambda v: gl.activation("relu_gelu", i=v),
    lambda v: gl.activation("gelu", s=v),
    lambda v: gl.activation("relu", kink=v),
    lambda v: gl.error_near_zero("relu", gl.analog(), width=v, points=5),
    lambda v: gl.error_near_zero("relu", gl.analog(), points=v),
    lambda v: gl.error_near_zero("relu", gl.analog(), statistic=v, points=5),
    lambda v: gl.step_discontinuity("relu_gelu", i=[0.5], h=v),
    lambda v: gl.effective_precision([1.0], precision=v),
    lambda v: gl.effective_precision(v),
    lambda v: gl.product_error_map("relu", gl.analog(), v, [0.1, 0.2], repeats=1),
    lambda v: gl.product_error_map("relu", gl.analog(), [0.1], [0.2], repeats=v),
    lambda v: gl.product_error_stats("relu", gl.analog(), [0.1, 0.3], [0.2], window=v, repeats=1),
    lambda v: gl.depth_error("relu", gl.analog(), depth=v, width=4, samples=2, batch=2),
    lambda v: gl.depth_error("relu", gl.analog(), depth=[1], width=v, samples=2, batch=2),
    lambda v: gl.depth_error("relu", gl.analog(), depth=[1], width=4, samples=v, batch=2),
    lambda v: gl.depth_error("relu", gl.analog(), depth=[1], width=4, samples=2, noisy_weights=v),
]


@SETTINGS
@given(which=st.integers(0, len(CALLS) - 1), value=ODD_VALUES)
def test_query_parameters(which, value):
    answered_or_refused(lambda: CALLS[which](value))
