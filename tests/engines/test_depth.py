import numpy as np
import pytest

import gradlab as gl
from gradlab.engines import depth as D

PAPER = gl.analog(leakage=0.5, precision=256)


def test_no_noise_gives_zero_depth_error():
    df = gl.depth_error(["relu", "gelu"], gl.chain(), depth=[1, 3], width=8, samples=4)
    assert (df["input_rel_error"] == 0).all() and (df["weight_rel_error"] == 0).all()
    np.testing.assert_allclose(df["input_cosine"], 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", ["gelu", "silu", "relu"])
def test_backpropagated_gradients_match_finite_differences(name):
    act = gl.activation(name)
    nets = D.random_networks(depth=3, width=5, n_nets=2, batch=3, rng=np.random.default_rng(1))
    grad_x, grad_w1 = D.backward(act, nets, *D.forward(act, nets, None, ()))
    h = 1e-6
    for index in [(0, 0, 0), (1, 2, 4), (0, 1, 3)]:
        up, down = nets.inputs.copy(), nets.inputs.copy()
        up[index] += h
        down[index] -= h
        num = (
            D.loss(act, D.Networks(nets.weights, nets.readout, up))
            - D.loss(act, D.Networks(nets.weights, nets.readout, down))
        )[index[0]] / (2 * h)
        assert grad_x[index] == pytest.approx(num, rel=1e-6, abs=1e-8)
    for index in [(0, 1, 2), (1, 4, 0)]:
        w_up = [w.copy() for w in nets.weights]
        w_dn = [w.copy() for w in nets.weights]
        w_up[0][index] += h
        w_dn[0][index] -= h
        num = (
            D.loss(act, D.Networks(w_up, nets.readout, nets.inputs))
            - D.loss(act, D.Networks(w_dn, nets.readout, nets.inputs))
        )[index[0]] / (2 * h)
        assert grad_w1[index] == pytest.approx(num, rel=1e-6, abs=1e-8)


def test_depth_error_grows_with_depth_and_repeats_exactly():
    kwargs = dict(depth=[1, 8], width=16, samples=16, seed=3)
    a = gl.depth_error(["relu", "gelu"], PAPER, **kwargs)
    b = gl.depth_error(["relu", "gelu"], PAPER, **kwargs)
    pd_equal = a.equals(b)
    assert pd_equal
    for _, part in a.groupby("activation"):
        assert part["input_rel_error"].iloc[1] > part["input_rel_error"].iloc[0] > 0
        assert part["input_rel_error_stderr"].iloc[0] > 0


def test_depth_statistics_with_one_finite_value_have_no_standard_error_and_no_warning():
    import warnings

    from gradlab.queries.networks import _mean_stderr

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nanstd of one value warned "Degrees of freedom <= 0"
        assert _mean_stderr(np.array([1.0, 3.0])) == (2.0, 1.0)
        mean, stderr = _mean_stderr(np.array([1.5, np.nan]))  # e.g. a cosine with a zero gradient
        assert mean == 1.5 and np.isnan(stderr)
        assert all(np.isnan(_mean_stderr(np.array([np.nan, np.nan]))))
