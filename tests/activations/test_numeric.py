"""NumericActivation (f and f' as callables, no symbolic form) in the engines, and its kink scan; no torch needed."""
import numpy as np
import pytest
from scipy.special import ndtr

import gradlab as gl
from gradlab.activations.numeric import find_jumps


def gelu_numeric():
    return gl.NumericActivation("gelu_np", lambda x: x * ndtr(x),
                                lambda x: ndtr(x) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi))


def relu_numeric():
    return gl.NumericActivation("relu_np", lambda x: np.maximum(x, 0.0), lambda x: (x > 0) * 1.0)


def pivot(frame):
    return frame.pivot(index="x", columns="activation", values="mean_abs_error")


@pytest.mark.parametrize("chain", [gl.analog(0.5, 256), gl.chain(gl.Gaussian(sigma=0.05)),
                                   gl.chain(gl.Gaussian(sigma=0.05), gl.Quantize(64, rounding="stochastic"))],
                         ids=["lattice", "continuous", "stochastic-rounding"])
def test_numeric_gelu_matches_the_symbolic_one_in_both_engines(chain):
    xs = np.linspace(-1, 1, 9)
    mc = pivot(gl.gradient_error([gelu_numeric(), "gelu"], chain, xs, method="mc", samples=4000, seed=3))
    # Common random numbers: the general path draws the numeric activation's samples from the same streams.
    np.testing.assert_allclose(mc["gelu_np"], mc["gelu"], rtol=1e-12, atol=1e-15)
    if chain.stages[-1].random:
        return  # stochastic rounding after noise: no exact engine
    ex = pivot(gl.gradient_error([gelu_numeric(), "gelu"], chain, xs, method="exact"))
    np.testing.assert_allclose(ex["gelu_np"], ex["gelu"], rtol=1e-12, atol=1e-15)


def test_numeric_relu_quadrature_splits_at_the_scanned_kink():
    # Continuous noise: the quadrature needs the jump of f' at 0, which only the scan knows.
    xs = np.array([-0.07, -0.01, 0.003, 0.05])
    ex = pivot(gl.gradient_error([relu_numeric(), "relu"], gl.chain(gl.Gaussian(sigma=0.05)), xs, method="exact"))
    np.testing.assert_allclose(ex["relu_np"], ex["relu"], rtol=1e-12)


def test_numeric_activation_frames_and_identity():
    act = gelu_numeric()
    df = gl.gradient_error(act, gl.analog(0.5, 256), [0.0], method="exact")
    assert df["activation"].iloc[0] == "gelu_np" and df["kink"].iloc[0] == "own"
    assert df["mean_abs_error"].iloc[0] == pytest.approx(0.0016948, abs=1e-7)  # SPEC's GELU at x = 0
    assert "kinks unknown" in repr(act) and act.kinks() == ()
    assert gl.activation(act) is act
    assert act.df(0.5) == pytest.approx(ndtr(0.5) + 0.5 * np.exp(-0.125) / np.sqrt(2 * np.pi))
    assert act.df(np.zeros((2, 3))).shape == (2, 3)
    with pytest.raises(ValueError, match="kinks are not known symbolically"):
        act.with_kink("right")


def test_kink_scan_is_an_estimate_that_finds_jumps_of_f_and_f_prime():
    clipped = gl.NumericActivation("clip", lambda x: np.where(x < 1, np.maximum(x, 0), 0.0),
                                   lambda x: ((x > 0) & (x < 1)) * 1.0)
    scan = clipped.kink_scan()
    assert scan["x"].tolist() == [0.0, 1.0] and scan["estimate"].all()
    assert scan["jump_df"].tolist() == [1.0, -1.0]
    assert scan["jump_f"].iloc[1] == pytest.approx(-1.0, abs=1e-12)
    assert gelu_numeric().kink_scan().empty
    # A jump at an irrational point is located to float64's spacing.
    (x0, a, b), = find_jumps(lambda x: (x > np.pi / 4) * 1.0, -2, 2)
    assert a <= np.pi / 4 <= b and b - a < 1e-14
    assert "estimate" in relu_numeric().describe()


def test_numeric_activation_refuses_bad_callables():
    with pytest.raises(TypeError, match="df must be a callable"):
        gl.NumericActivation("a", np.tanh, 3.0)
    bad = gl.NumericActivation("a", np.tanh, lambda x: np.ones(2))
    with pytest.raises(ValueError, match="one value per input"):
        bad.df(np.zeros(5))


def test_shortest_decimal():
    from gradlab.activations.numeric import shortest_decimal

    assert shortest_decimal(5.9999996, 6.0000004) == 6.0
    assert shortest_decimal(0.031249999999999997, 0.03125) == 0.03125
    assert shortest_decimal(-1e-21, 1e-21) == 0.0 and str(shortest_decimal(-1e-21, 0.0)) == "0.0"


@pytest.mark.parametrize("df, error, message", [
    (lambda x: x + 1j, TypeError, r"df of 'c' must return real numbers, got complex128 values \(e.g. \(0.1\+1j\) at "
     r"x = 0.1\)"),
    (lambda x: np.full_like(x, np.nan), ValueError, "df of 'c' returned nan at x = 0.1: an activation's f and f' must "
     "be finite real numbers at every finite input"),
    (lambda x: np.where(x > 0.5, np.inf, 1.0), ValueError, "df of 'c' returned inf at x = 0.6"),
])
def test_a_derivative_returning_complex_or_non_finite_numbers_is_refused(df, error, message):
    # Both were accepted: the imaginary parts dropped with a ComplexWarning, NaN means in the table.
    act = gl.NumericActivation("c", lambda x: x, df)
    with pytest.raises(error, match=message):
        gl.gradient_error(act, gl.analog(0.5, 256), [0.1, 0.6])


def test_a_non_finite_input_may_give_a_non_finite_derivative():
    act = gl.NumericActivation("n", lambda x: x, lambda x: np.where(np.isfinite(x), 1.0, np.nan))
    np.testing.assert_array_equal(act.df(np.array([np.nan, 0.0, np.inf])), [np.nan, 1.0, np.nan])
