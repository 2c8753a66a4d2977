"""The Activation object: one definition (source, parameters, kink convention), its identity and its spellings."""
import numpy as np
import pytest

import gradlab as gl


# --- with_kink keeps the expression as written --------------------------------------------------
def test_with_kink_round_trip_keeps_autograd_values_of_abs():
    # PyTorch: d|x|/dx at 0 is sign(0) = 0; the folded piecewise form would give 1 from its x >= 0 piece.
    assert gl.activation("abs(x)").df([0.0]) == pytest.approx([0.0])
    back = gl.activation("abs(x)", kink="left").with_kink("autograd")
    assert back.df([0.0]) == pytest.approx([0.0])
    assert back == gl.activation("abs(x)")


def test_with_kink_round_trip_keeps_autograd_values_of_max():
    # max(x, x/2) at a tie splits the gradient evenly: (1 + 1/2) / 2 = 0.75.
    act = gl.activation("max(x, 0.5*x)")
    assert act.df([0.0]) == pytest.approx([0.75])
    back = act.with_kink("right").with_kink("autograd")
    assert back.df([0.0]) == pytest.approx([0.75])
    assert act.with_kink("right").df([0.0]) == pytest.approx([1.0])
    assert act.with_kink("left").df([0.0]) == pytest.approx([0.5])


def test_equality_covers_the_source_and_the_kink():
    a = gl.activation("abs(x)")
    assert a != gl.activation("abs(x)", kink="left")
    assert a.with_kink("left") == gl.activation("abs(x)", kink="left")
    assert hash(a.with_kink("left").with_kink("autograd")) == hash(a)
    # Two spellings of one function with different autograd values at the tie are different definitions.
    assert gl.activation("abs(x)") != gl.activation("where(x >= 0, x, -x)")
    assert gl.activation("where(x >= 0, x, -x)").df([0.0]) == pytest.approx([1.0])


def test_activation_is_immutable():
    act = gl.activation("relu_gelu", i=0.5)
    with pytest.raises(AttributeError):
        act.kink = "left"
    with pytest.raises(TypeError):
        act.params["i"] = 0.25
    assert act.params["i"] == 0.5


def test_audit_of_sign_against_abs_with_left_kink_uses_the_autograd_value():
    # The audit's reference f' of abs at 0 under kink='left' is -1; under autograd it is 0.
    act = gl.activation("abs(x)", kink="left")
    assert act.df([0.0]) == pytest.approx([-1.0])
    assert act.with_kink("autograd").df([0.0]) == pytest.approx([0.0])


# --- one spelling for a built-in with parameters ------------------------------------------------
@pytest.mark.parametrize(
    "text, name, params",
    [
        ("relu_gelu(i=0.5)", "relu_gelu", {"i": 0.5}),
        ("relu_gelu( i = 0.25 , s=2 )", "relu_gelu", {"i": 0.25, "s": 2.0}),
        ("relu(alpha=0.01)", "relu", {"alpha": 0.01}),
        ("gelu()", "gelu", {}),
        ("silu(beta=1e-1)", "silu", {"beta": 0.1}),
    ],
)
def test_builtin_call_spelling_equals_keyword_form(text, name, params):
    assert gl.activation(text) == gl.activation(name, **params)


def test_kink_in_the_call_spelling():
    assert gl.activation("relu(kink=right)") == gl.activation("relu", kink="right")
    assert gl.activation("relu_silu(i=0.5, kink='paper')") == gl.activation("relu_silu", i=0.5, kink="paper")
    assert gl.activation("abs(x); kink=left") == gl.activation("abs(x)", kink="left")


def test_expression_with_parameters_spelling():
    assert gl.activation("a*x + b; a=2, b=-0.5") == gl.activation("a*x + b", a=2, b=-0.5)
    assert gl.activation("a*x + b; a=2, b=-0.5").f([1.0]) == pytest.approx([1.5])


@pytest.mark.parametrize(
    "spec, params, kink",
    [
        ("relu_gelu", {"i": 0.5}, None),
        ("relu_gelu", {"i": 0.123456789, "s": 2.5}, None),
        ("relu", {}, "right"),
        ("relu_silu", {"i": 0.25}, "paper"),
        ("gelu", {"s": 3}, None),
        ("clipped_relu", {}, None),
        ("x*tanh(x)", {}, None),
        ("max(x, a*x)", {"a": 0.1}, "left"),
        ("abs(x)", {}, "midpoint"),
    ],
)
def test_label_parses_back_to_the_same_activation(spec, params, kink):
    if spec == "clipped_relu" and spec not in gl.BUILTINS:
        spec = next(iter(gl.BUILTINS))
    act = gl.activation(spec, kink=kink, **params)
    again = gl.activation(act.label)
    assert again == act
    assert again.label == act.label
    np.testing.assert_array_equal(again.df(np.linspace(-2, 2, 41)), act.df(np.linspace(-2, 2, 41)))


def test_labels_keep_their_short_form():
    # The labels in the committed tables and legends.
    assert gl.activation("relu_gelu", i=0.5).label == "relu_gelu(i=0.5)"
    assert gl.activation("relu", kink="right").label == "relu(kink=right)"
    assert gl.activation("gelu").label == "gelu"
    assert gl.activation("relu_gelu", i=1 / 3).label == "relu_gelu(i=0.3333333333333333)"


@pytest.mark.parametrize(
    "text, words",
    [
        ("relu_gelu(i=2)", ["i", "2", "[0, 1]"]),
        ("relu_gelu(j=0.5)", ["no parameter 'j'", "i"]),
        ("relu_gelu(0.5)", ["relu_gelu(i=0.5)"]),
        ("relu_gelu(i=0.5, i=0.25)", ["'i'", "twice"]),
        ("relu_gelu(i=x)", ["'i'", "number"]),
        ("relu(kink=sideways)", ["kink", "sideways", "autograd"]),
        ("a*x; a=2, a=3", ["'a'", "twice"]),
        ("a*x; a", ["NAME=VALUE"]),
    ],
)
def test_bad_call_spellings_are_refused_clearly(text, words):
    with pytest.raises((ValueError, TypeError)) as info:
        gl.activation(text)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_parameters_given_twice_are_refused():
    with pytest.raises(ValueError, match="'i'.*both"):
        gl.activation("relu_gelu(i=0.5)", i=0.25)
    with pytest.raises(ValueError, match="kink.*both"):
        gl.activation("relu(kink=right)", kink="left")


def test_call_spelling_runs_no_code():
    for text in ("relu_gelu(i=__import__('os').getpid())", "relu_gelu(i=(lambda: 1)())", "relu(kink=exit)"):
        with pytest.raises((ValueError, TypeError)):
            gl.activation(text)
