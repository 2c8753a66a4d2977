"""Finite differences against closed forms: f' of smooth functions, the one-sided derivatives
beside a kink, and the derivative of the pieces of a staircase beside and on its jumps."""
import numpy as np
import pytest
from scipy.special import ndtr

from gradlab.derivative_audit.differences import F5, F6, FiniteDifferences, one_sided_weights


def test_stencil_weights_are_the_textbook_ones():
    # Forward differences on 0..2: f'(0) ~ (-3 f0 + 4 f1 - f2) / (2h); every one-sided stencil sums to 0.
    np.testing.assert_allclose(one_sided_weights(2), [-1.5, 2.0, -0.5], rtol=1e-13)
    assert abs(F6.sum()) < 1e-12 and abs(F5.sum()) < 1e-12 and F5[-1] == 0.0


def test_smooth_derivative_matches_the_closed_form_within_its_own_error_estimate():
    x = np.linspace(-6, 6, 241)
    value, error = FiniteDifferences(lambda v: v * ndtr(v)).df(x)
    exact = ndtr(x) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)  # GELU'
    assert np.all(np.abs(value - exact) <= error) and error.max() < 1e-9


def test_one_sided_beside_a_kink_gives_each_sides_slope():
    fd = FiniteDifferences(lambda v: np.abs(v) + v * v)  # f' = sign(x) + 2x: -1 and +1 at the kink 0
    fd.set_kinks([0.0])
    x = np.array([-1e-3, -1e-9, 0.0, 1e-9, 1e-3])
    value, _ = fd.df(x)
    np.testing.assert_allclose(value, [-1 - 2e-3, -1 - 2e-9, 1.0, 1 + 2e-9, 1 + 2e-3], rtol=0, atol=1e-9)


def test_a_jump_of_f_is_kept_out_of_every_stencil():
    def stair(v):  # a staircase with slope: f' = 1/2 between jumps of 1/4 at the odd multiples of 1/8
        return np.round(4 * v) / 4 + v / 2

    x = np.array([0.125, 0.125 + 1e-12, 0.2, 0.375 - 1e-12, 0.375])
    assert FiniteDifferences(stair).df(x)[0].max() > 1  # unaware of the jumps: the jumps leak in
    fd = FiniteDifferences(stair)
    fd.set_kinks([0.125, 0.375], [1e-16, 1e-16])
    value, error = fd.df(x)
    # On a jump (0.125, 0.375) the one-sided value to the right: still the slope of the pieces.
    np.testing.assert_allclose(value, 0.5, rtol=0, atol=1e-9)
    assert error.max() < 1e-8
    left, _ = fd.df(np.array([0.375]), np.array([-1.0]))
    assert left[0] == pytest.approx(0.5, abs=1e-9)


