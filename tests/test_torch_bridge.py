"""PyTorch callables as gradlab activations, and audits of PyTorch backwards (skipped without torch)."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gradlab as gl  # noqa: E402

CHAIN = gl.analog(0.5, 256)
LEVELS = np.arange(-256, 257) / 256


def pivot(frame):
    return frame.pivot(index="x", columns="activation", values="mean_abs_error")


def test_nn_gelu_matches_the_builtin_exactly_under_the_exact_engine():
    act = gl.activation(torch.nn.GELU())
    np.testing.assert_allclose(act.df(LEVELS), gl.activation("gelu").df(LEVELS), rtol=0, atol=1e-12)
    xs = np.linspace(-1, 1, 41)
    e = pivot(gl.gradient_error([act, "gelu"], CHAIN, xs, method="exact"))
    np.testing.assert_allclose(e["GELU"], e["gelu"], rtol=0, atol=1e-12)
    assert e["gelu"].loc[0.0] == pytest.approx(0.0016948, abs=1e-7)


def test_mish_via_torch_agrees_with_the_parsed_expression_exact_and_mc():
    act = gl.activation(torch.nn.functional.mish, name="mish")
    parsed = gl.activation("x*tanh(log(1+exp(x)))", name="mish_expr")
    xs = np.linspace(-0.5, 0.5, 5)
    exact = pivot(gl.gradient_error([act, parsed], CHAIN, xs, method="exact"))
    np.testing.assert_allclose(exact["mish"], exact["mish_expr"], rtol=1e-10, atol=1e-14)
    for chain in (CHAIN, gl.chain(gl.Gaussian(sigma=0.05))):  # the lattice path, then the general one
        mc = gl.gradient_error([act, parsed], chain, xs, method="mc", samples=4000, seed=1)
        ref = pivot(gl.gradient_error(parsed, chain, xs, method="exact"))["mish_expr"].to_numpy()
        torch_rows = mc[mc["activation"] == "mish"]
        assert np.all(np.abs(torch_rows["mean_abs_error"].to_numpy() - ref) < 4 * torch_rows["stderr"].to_numpy())
        # Both see the same samples: the estimates agree far inside their standard errors.
        np.testing.assert_allclose(torch_rows["mean_abs_error"].to_numpy(),
                                   mc.loc[mc["activation"] == "mish_expr", "mean_abs_error"].to_numpy(), rtol=1e-9)


class ReluWithOneAtZero(torch.autograd.Function):
    """A custom backward with ReLU'(0) = 1, as AnalogVNN's ReLU has it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x >= 0).to(grad.dtype)


class GeluPiBackward(torch.autograd.Function):
    """GELU whose backward has its x phi(x) term off by a factor pi (AnalogVNN 1.0.8's GeLU, SPEC 7)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        phi = torch.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        return grad * (0.5 * (1 + torch.erf(x / math.sqrt(2))) + math.pi * x * phi)


class GeluExactBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-x * x / 2) / math.sqrt(2 * math.pi))


def test_a_custom_backward_is_the_derivative_used():
    act = gl.activation(ReluWithOneAtZero)
    assert "custom backward" in repr(act)
    np.testing.assert_array_equal(act.df(np.array([-1.0, 0.0, 1.0])), [0.0, 1.0, 1.0])
    # Just below 0, x~ = 0 is the likeliest level: where f'(0) = 1 counts as an error, unlike autograd's ReLU.
    xs = [-0.001, 0.0, 0.001]
    e = pivot(gl.gradient_error([act, gl.activation("relu", kink="right"), "relu"], CHAIN, xs, method="exact"))
    np.testing.assert_allclose(e["ReluWithOneAtZero"], e["relu(kink=right)"], rtol=1e-12)
    assert e["ReluWithOneAtZero"].loc[-0.001] > 0.5 > e["relu"].loc[-0.001]
    pi_bug = gl.activation(GeluPiBackward)
    assert abs(pi_bug.df(np.array([1.0]))[0] - gl.activation("gelu").df(1.0)) > 0.4


def test_modules_are_copied_and_mixing_or_random_functions_refused():
    module = torch.nn.PReLU(init=0.1)  # float32 parameters
    act = gl.activation(module, name="prelu")
    assert module.weight.dtype == torch.float32  # the user's module is left as it is
    np.testing.assert_allclose(act.df(np.array([-2.0, 3.0])), [0.1, 1.0], rtol=1e-7)
    for bad, message in [(torch.nn.Softmax(dim=0), "mixes elements"), (lambda t: t - t.mean(), "mixes elements"),
                         (lambda t: t + torch.rand_like(t), "different values"),
                         (lambda t: t.sum().expand(3), "elementwise"),
                         (lambda t: torch.tensor(t.detach().numpy() ** 2), "does not depend on its input")]:
        with pytest.raises((ValueError, TypeError), match=message):
            gl.activation(bad).df(np.array([0.5]))
    with pytest.raises(TypeError, match="takes only name="):
        gl.activation(torch.nn.GELU(), kink="right")


def test_audit_of_a_custom_backward_finds_the_pi_bug():
    report = gl.audit(GeluPiBackward, chain=None)  # its own backward, against finite differences of its forward
    assert report.truth == "finite differences" and report.verdict == "bug"
    assert abs(abs(report.worst["x"].iloc[0]) - 1.0) < 0.01
    # The same against the symbolic GELU, and the impact under the paper's chain.
    symbolic = gl.audit("gelu", GeluPiBackward, impact_points=21)
    assert symbolic.truth == "symbolic" and symbolic.verdict == "bug"
    assert (symbolic.impact["error_claimed"] > symbolic.impact["error_true"]).mean() > 0.9


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_torch_backwards_pass(dtype):
    assert gl.audit(GeluExactBackward, dtype=dtype).verdict == "ok"
    assert gl.audit(torch.nn.GELU(), GeluExactBackward, dtype=dtype).verdict == "ok"  # truth: autograd of nn.GELU

    def mish_grad(x):  # a derivative written on tensors
        t = torch.tanh(torch.nn.functional.softplus(x))
        return t + x * (1 - t * t) * torch.sigmoid(x)

    report = gl.audit("x*tanh(log(1+exp(x)))", mish_grad, dtype=getattr(torch, dtype))
    assert report.verdict == "ok" and report.dtype == dtype


def test_relu_one_at_zero_is_a_convention_in_torch_too():
    report = gl.audit(torch.relu, ReluWithOneAtZero)  # truth: torch's own relu, autograd
    assert report.truth == "autograd" and report.verdict == "convention"
    k = report.kinks.iloc[0]
    assert k["x"] == 0 and k["follows"] == "right" and k["autograd"] == 0.0
    assert gl.audit(torch.relu, lambda t: (t > 0).to(t.dtype)).verdict == "ok"


def test_readme_torch_example_runs(capsys):
    # The README's ```py blocks need torch, so tests/test_readme.py (```python blocks) leaves them to this file.
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"```py\n(.*?)```", text, re.S)
    assert blocks
    namespace = {"gl": gl, "np": np, "chain": CHAIN}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # our own README, not user input
    out = capsys.readouterr().out
    assert "kinks unknown" in out and "[0.0013594" in out


def test_show_and_audit_a_torch_object_from_the_command_line(tmp_path, monkeypatch, capsys):
    import sys
    import textwrap

    from gradlab.cli import main

    (tmp_path / "bridge_cli_acts.py").write_text(textwrap.dedent("""
        import math
        import torch

        relu6 = torch.nn.ReLU6()

        class GeluPi(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                phi = torch.exp(-x * x / 2) / math.sqrt(2 * math.pi)
                return grad * (0.5 * (1 + torch.erf(x / math.sqrt(2))) + math.pi * x * phi)
    """))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert main(["show", "py:bridge_cli_acts:relu6"]) == 0
    out = capsys.readouterr().out
    assert "kinks unknown" in out and "estimate" in out
    assert "x ~ 0:" in out and "x ~ 6:" in out  # the scan finds ReLU6's two kinks
    assert main(["audit", "py:bridge_cli_acts:GeluPi", "--x=-3:3:301", "--no-impact"]) == 1
    out = capsys.readouterr().out
    assert "the backward of GeluPi" in out and ": bug" in out.splitlines()[0]


def numpy_relu(x):
    return np.maximum(x, 0.0)


def numpy_softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("fn", [numpy_relu, numpy_softplus, lambda x: np.where(x > 0, x, 0.0)],
                         ids=["maximum", "log1p-exp", "where"])
def test_a_numpy_callable_is_refused_in_one_line_pointing_to_numeric_activation(fn):
    with pytest.raises(TypeError) as info:
        gl.activation(fn, name="r")
    message = str(info.value)
    assert "'r'" in message and "NumPy" in message and "gl.NumericActivation(name, f, df)" in message
    assert "\n" not in message
    # The way the message points to works, and gives the closed-form ReLU' / sigmoid.
    relu = gl.NumericActivation("r", numpy_relu, lambda x: (x > 0) * 1.0)
    np.testing.assert_array_equal(relu.df(np.array([-1.0, 2.0])), [0.0, 1.0])


def test_show_of_a_numpy_callable_from_the_command_line_is_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "numpy_acts.py").write_text("import numpy as np\n\ndef numpy_fn(x):\n    return np.maximum(x, 0)\n")
    spec = f"py:{tmp_path / 'numpy_acts.py'}:numpy_fn"
    out = subprocess.run([sys.executable, "-m", "gradlab.cli", "show", spec],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "'numpy_fn'" in out.stderr and "gl.NumericActivation(name, f, df)" in out.stderr
