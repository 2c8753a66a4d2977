import math
from pathlib import Path

import numba
import numpy as np
import pytest
import sympy as sp

import gradlab as gl
from gradlab.activations import x
from gradlab.kernels.codegen import cache_dir


def test_generated_source_is_the_symbolic_definition():
    act = gl.activation("relu_gelu", i=0.25)
    source = Path(act.kernels.__file__).read_text()
    assert repr(act) in source
    body = source.split("def df1(x):\n    return ")[1].split("\n")[0]
    for value in [-1.5, -0.1, 0.0, 0.3, 2.0]:
        # Our own generated source (never user text) evaluated as plain Python.
        generated = eval(body, {"math": math}, {"x": value})
        expected = float(act.dexpr.subs(x, sp.Rational(repr(value))))
        assert generated == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("parallel", [False, True])
def test_scalar_cores_are_callable_inside_user_kernels(parallel):
    act = gl.activation("gelu", s=2)
    df1 = act.kernels.df1

    @numba.njit(parallel=parallel)
    def user_kernel(xs):
        out = np.empty_like(xs)
        for j in numba.prange(xs.size):
            out[j] = df1(xs[j])
        return out

    xs = np.linspace(-2, 2, 101)
    np.testing.assert_array_equal(user_kernel(xs), act.df(xs))


def test_kernels_are_shared_by_equal_activations_and_cached_on_disk():
    a = gl.activation("silu", beta=1.5)
    b = gl.activation("silu", beta=1.5)
    assert a == b and hash(a) == hash(b)
    assert a.kernels is b.kernels
    a.df(np.zeros(4))
    assert any(cache_dir().glob("__pycache__/*.nbi"))
