"""The 'autograd' kink convention is PyTorch's, for every non-smooth function the parser accepts.

Each row: an expression, the point, and the derivative PyTorch's autograd gives there (torch 2.13:
abs'(0) = sign(0) = 0; maximum/minimum split the gradient evenly at a tie; relu'(0) = 0; sign and
where have the derivative of the piece they select).  With torch installed the table itself is
checked against PyTorch.
"""
import numpy as np
import pytest

import gradlab as gl

# (gradlab expression, torch function, x, PyTorch's derivative at x)
TABLE = [
    ("abs(x)", lambda t, x: t.abs(x), 0.0, 0.0),
    ("abs(x - 1) + abs(x)", lambda t, x: (x - 1).abs() + x.abs(), 0.0, -1.0),
    ("abs(x - 1) + abs(x)", lambda t, x: (x - 1).abs() + x.abs(), 1.0, 1.0),
    ("max(x, 0)", lambda t, x: t.maximum(x, t.zeros_like(x)), 0.0, 0.5),
    ("max(0, x)", lambda t, x: t.maximum(t.zeros_like(x), x), 0.0, 0.5),
    ("min(x, 0)", lambda t, x: t.minimum(x, t.zeros_like(x)), 0.0, 0.5),
    ("max(x, 2*x)", lambda t, x: t.maximum(x, 2 * x), 0.0, 1.5),
    ("max(0, min(x, 6))", lambda t, x: t.maximum(t.zeros_like(x), t.minimum(x, 6 * t.ones_like(x))), 6.0, 0.5),
    ("max(0, min(x, 6))", lambda t, x: t.maximum(t.zeros_like(x), t.minimum(x, 6 * t.ones_like(x))), 0.0, 0.5),
    ("relu(x)", lambda t, x: t.relu(x), 0.0, 0.0),
    ("sign(x)", lambda t, x: t.sign(x), 0.0, 0.0),
    ("x*sign(x)", lambda t, x: x * t.sign(x), 0.0, 0.0),
    ("where(x > 0, x, 0.1*x)", lambda t, x: t.where(x > 0, x, 0.1 * x), 0.0, 0.1),
    ("where(x >= 0, x, 0.1*x)", lambda t, x: t.where(x >= 0, x, 0.1 * x), 0.0, 1.0),
]


@pytest.mark.parametrize("expr, torch_fn, x0, expected", TABLE)
def test_autograd_convention_matches_pytorch(expr, torch_fn, x0, expected):
    act = gl.activation(expr)
    assert act.df(np.array([x0]))[0] == pytest.approx(expected, abs=1e-15)
    assert act.df_exact([x0])[0] == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("expr, torch_fn, x0, expected", TABLE)
def test_the_table_is_pytorchs(expr, torch_fn, x0, expected):
    torch = pytest.importorskip("torch")
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    torch_fn(torch, x).sum().backward()
    assert x.grad.item() == pytest.approx(expected, abs=1e-15)


def test_values_at_ties_are_unchanged():
    act = gl.activation("max(0, min(x, 6)) + abs(x)")
    np.testing.assert_array_equal(act.f(np.array([-1.0, 0.0, 3.0, 6.0, 7.0])), [1.0, 0.0, 6.0, 12.0, 13.0])
    assert [float(k.x) for k in act.kinks()] == [0.0, 6.0]
    assert act.kinks()[0].df_left == -1 and act.kinks()[0].df_right == 2  # one-sided limits as before
