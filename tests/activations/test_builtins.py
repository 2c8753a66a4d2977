import numpy as np
import pytest
import sympy
from numpy.testing import assert_allclose
from scipy.special import erf, expit
from scipy.stats import norm

import gradlab as gl

GRID = np.linspace(-3, 3, 61) + 0.0123  # stays clear of the kinks at 0, +-3, 1 and 6


def gelu_prime(x, s):
    return 0.5 * (1 + erf(s * x / np.sqrt(2))) + s * x * norm.pdf(s * x)


def silu_prime(x):
    sg = expit(x)
    return sg * (1 + x * (1 - sg))


@pytest.mark.parametrize("s", [0.5, 1.0, 2.5])
def test_gelu_derivative_matches_closed_form(s):
    act = gl.activation("gelu", s=s)
    assert_allclose(act.df(GRID), gelu_prime(GRID, s), rtol=0, atol=1e-14)
    assert_allclose(act.f(GRID), GRID * norm.cdf(s * GRID), rtol=0, atol=1e-14)


def test_silu_derivative_matches_closed_form():
    assert_allclose(gl.activation("silu").df(GRID), silu_prime(GRID), rtol=0, atol=1e-14)


@pytest.mark.parametrize("i", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_interpolants_match_closed_forms(i):
    relu_prime = (GRID > 0).astype(float)
    assert_allclose(
        gl.activation("relu_gelu", i=i, s=1.5).df(GRID),
        (1 - i) * relu_prime + i * gelu_prime(GRID, 1.5),
        atol=1e-14,
    )
    assert_allclose(
        gl.activation("relu_silu", i=i).df(GRID), (1 - i) * relu_prime + i * silu_prime(GRID), atol=1e-14
    )


def fd5(fun, x, h=2e-4):
    """Five-point central difference: truncation error O(h^4)."""
    return (-fun(x + 2 * h) + 8 * fun(x + h) - 8 * fun(x - h) + fun(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("name", sorted(gl.BUILTINS))
def test_every_builtin_derivative_matches_finite_differences(name):
    act = gl.activation(name)
    kinks = np.array([float(k.x) for k in act.kinks()])
    xs = GRID if name != "relu6" else np.concatenate([GRID, GRID + 4])
    if kinks.size:
        xs = xs[np.min(np.abs(xs[:, None] - kinks[None, :]), axis=1) > 0.01]
    assert_allclose(act.df(xs), fd5(act.f, xs), rtol=0, atol=1e-10)
    assert_allclose(act.d2f(xs), fd5(act.df, xs), rtol=0, atol=1e-9)


@pytest.mark.parametrize("i", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_gsd_of_relu_gelu_is_one_minus_i(i):
    act = gl.activation("relu_gelu", i=i)
    assert act.gsd == pytest.approx(1 - i, abs=1e-15)
    assert act.gsd_exact == 1 - sympy.Rational(repr(i))


@pytest.mark.parametrize("i", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_gsd_of_relu_silu_is_one_minus_i(i):
    assert gl.activation("relu_silu", i=i).gsd == pytest.approx(1 - i, abs=1e-15)


def kink_table(name, **params):
    return [(float(k.x), float(k.jump_f), float(k.jump_df)) for k in gl.activation(name, **params).kinks()]


def test_kinks_of_clipped_families():
    assert kink_table("relu6") == [(0.0, 0.0, 1.0), (6.0, 0.0, -1.0)]
    assert kink_table("clipped_relu", lam=0.5) == [(0.0, 0.0, 1.0), (0.5, 0.0, -1.0)]
    assert kink_table("bounded_relu", lam=0.75) == [(0.0, 0.0, 1.0), (0.75, -0.75, -1.0)]
    [(x0, jf, jdf)] = kink_table("smooth_bounded_relu", lam=1, k=4)
    assert (x0, jf) == (0.0, 0.0)
    assert jdf == pytest.approx(expit(4.0), abs=1e-15)
    assert kink_table("hardswish") == [(-3.0, 0.0, -0.5), (3.0, 0.0, -0.5)]
    assert kink_table("gelu") == [] and kink_table("mish") == []


def test_smoothness_classes():
    assert gl.activation("relu").smoothness == "C0"
    assert gl.activation("bounded_relu").smoothness == "C-1"
    assert gl.activation("hardswish").smoothness == "C0"
    assert gl.activation("relu_gelu", i=1).smoothness == "Cinf"
    assert gl.activation("gelu").smoothness == "Cinf"
    assert gl.activation("x*abs(x)").smoothness == "C1"


def test_kink_convention_sets_derivative_at_the_kink():
    at = np.array([0.0])
    assert gl.activation("relu").df(at)[0] == 0.0
    assert gl.activation("relu", kink="left").df(at)[0] == 0.0
    assert gl.activation("relu", kink="right").df(at)[0] == 1.0
    assert gl.activation("relu", kink="midpoint").df(at)[0] == 0.5
    assert gl.activation("leaky_relu").df(at)[0] == 0.01  # PyTorch: negative slope at 0
    r6 = gl.activation("relu6")
    assert list(r6.df([0.0, 6.0])) == [0.0, 0.0]  # PyTorch's hardtanh backward
    assert list(gl.activation("relu6", kink="right").df([0.0, 6.0])) == [1.0, 0.0]
    assert list(gl.activation("hardswish").df([-3.0, 3.0])) == [-0.5, 1.5]
    mix = gl.activation("relu_gelu", i=0.5, kink="midpoint")
    assert mix.df(0.0) == 0.5
    # Away from the kink the convention changes nothing.
    assert gl.activation("relu", kink="right").df(-1e-300) == 0.0
    assert "kink='midpoint'" in repr(mix)


def test_parameters_are_validated_with_clear_messages():
    with pytest.raises(ValueError, match=r"relu_gelu: i must lie in \[0, 1\], got 1.5"):
        gl.activation("relu_gelu", i=1.5)
    with pytest.raises(ValueError, match=r"gelu: s must lie in \(0, inf\), got -1"):
        gl.activation("gelu", s=-1)
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        gl.activation("rleu")
    with pytest.raises(ValueError, match="has no parameter 'beta'"):
        gl.activation("gelu", beta=2)
    with pytest.raises(ValueError, match="kink must be one of"):
        gl.activation("relu", kink="average")
    with pytest.raises(ValueError, match="finite"):
        gl.activation("gelu", s=float("nan"))


def test_user_expression_with_parameters_and_derivative():
    act = gl.activation("x*sigmoid(b*x)", b=1.7, name="swish")
    assert act.name == "swish" and act.params == {"b": 1.7}
    sg = expit(1.7 * GRID)
    assert_allclose(act.df(GRID), sg + 1.7 * GRID * sg * (1 - sg), atol=1e-14)


def test_table_of_builtins_lists_parameters():
    table = gl.list_activations()
    row = table.set_index("name").loc["relu_gelu"]
    assert row["parameters"] == "i=0.5, s=1, alpha=0"
    assert set(table["name"]) == set(gl.BUILTINS)


def test_scalar_input_gives_scalar_and_shapes_are_kept():
    act = gl.activation("gelu")
    assert isinstance(act.f(1.0), float)
    assert act.df(np.zeros((3, 4))).shape == (3, 4)
