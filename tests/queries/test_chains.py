"""A list of stages is one chain in every query; several chains are spelled as a list of Chains."""
import numpy as np
import pytest

import gradlab as gl

STAGES = [gl.Gaussian(leakage=0.5, precision=256), gl.Quantize(256)]


def test_a_list_of_stages_is_one_chain_in_error_near_zero_as_in_gradient_error():
    near = gl.error_near_zero("relu", STAGES, width=1 / 64, points=11, method="exact")
    one = gl.error_near_zero("relu", gl.chain(STAGES), width=1 / 64, points=11, method="exact")
    assert len(near) == len(one) == 1  # one chain, one activation
    np.testing.assert_array_equal(near["error"], one["error"])
    # The same number from gradient_error given the same list: e averaged over the 11 window points.
    e = gl.gradient_error("relu", STAGES, np.linspace(-1 / 64, 1 / 64, 11), method="exact")
    assert near.loc[near["activation"] == "relu", "error"].item() == pytest.approx(e["mean_abs_error"].mean(), 1e-12)


def test_several_chains_are_a_list_of_chains():
    a, b = gl.analog(0.5, 256), gl.analog(0.5, 64)
    df = gl.error_near_zero("relu", [a, b], width=1 / 64, points=11, method="exact")
    assert sorted(df["chain_index"].unique()) == [0, 1]
    # Each chain's row is what that chain alone gives.
    for index, chain in enumerate((a, b)):
        alone = gl.error_near_zero("relu", chain, width=1 / 64, points=11, method="exact")["error"].item()
        assert df.loc[df["chain_index"] == index, "error"].item() == pytest.approx(alone, rel=1e-12)


@pytest.mark.parametrize(
    "chains, match",
    [
        ([gl.analog(0.5, 256), gl.Quantize(16)], "not a mixture"),
        ([[gl.Gaussian(sigma=0.1)], [gl.Quantize(16)]], "list of Chains"),
        ([], "at least one chain"),
    ],
)
def test_mixtures_and_lists_of_lists_are_refused(chains, match):
    with pytest.raises((TypeError, ValueError), match=match):
        gl.error_near_zero("relu", chains, method="exact")


def test_a_list_holding_chains_is_not_one_chain():
    with pytest.raises(TypeError, match="one chain"):
        gl.gradient_error("relu", [gl.analog(0.5, 256), gl.analog(0.5, 64)], [0.0])
