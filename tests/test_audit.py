"""gl.audit without PyTorch: planted bugs are caught and located, correct derivatives pass, kinks are conventions.

Every claim below is compared with something independent of it: the symbolic derivative of a
gradlab expression, or finite differences of a NumPy forward.  Torch-based audits are in
tests/test_torch_bridge.py.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.special import erf, expit, ndtr

import gradlab as gl

SQRT_2PI = np.sqrt(2 * np.pi)


def gelu_grad(x):
    return ndtr(x) + x * np.exp(-x * x / 2) / SQRT_2PI


def gelu_grad_missing_factor(x):  # the x phi(x) term without its 1/sqrt(2 pi)
    return ndtr(x) + x * np.exp(-x * x / 2)


def gelu_grad_sign_slip(x):
    return ndtr(x) - x * np.exp(-x * x / 2) / SQRT_2PI


def silu_grad(x):
    s = expit(x)
    return s * (1 + x * (1 - s))


def silu_grad_wrong_constant(x):
    s = expit(x)
    return s * (1 + 1.1 * x * (1 - s))


def silu_grad_wrong_below_zero(x):  # right for x >= 0 only
    return np.where(x < 0, expit(x), silu_grad(x))


def gelu_grad_float32(x):
    x = np.asarray(x, dtype=np.float32)
    c = np.float32(1 / SQRT_2PI)
    return (np.float32(0.5) * (1 + erf(x / np.float32(np.sqrt(2)))) + x * np.exp(-x * x / 2) * c).astype(np.float32)


def gelu_np(x):
    return x * ndtr(x)


def silu_np(x):
    return x * expit(x)


def relu_np(x):
    return np.maximum(x, 0.0)


@pytest.mark.parametrize("forward", ["gelu", gelu_np], ids=["symbolic", "finite-differences"])
@pytest.mark.parametrize("claim", [gelu_grad_missing_factor, gelu_grad_sign_slip])
def test_planted_gelu_bugs_are_caught_on_both_sides_of_zero(forward, claim):
    report = gl.audit(forward, claim, chain=None)
    assert report.verdict == "bug"
    # The term x phi(x) vanishes at 0 only: wrong on [-6, 0) and (0, 6], right at 0.
    assert len(report.intervals) == 2
    left, right = report.intervals.itertuples()
    assert left.start == -6 and -1e-11 < left.stop < 0 and 0 < right.start < 1e-11 and right.stop == 6
    at0 = report.frame[report.frame["x"] == 0.0]
    assert (at0["status"] == "ok").all()
    worst = report.worst.iloc[0]
    assert abs(abs(worst["x"]) - 1.0) < 0.01  # x phi(x) peaks at |x| = 1
    expected = abs(claim(np.array([worst["x"]]))[0] - gelu_grad(np.array([worst["x"]]))[0])
    assert worst["abs_error"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("forward", ["silu", silu_np], ids=["symbolic", "finite-differences"])
def test_wrong_constant_in_silu_is_caught(forward):
    report = gl.audit(forward, silu_grad_wrong_constant, chain=None)
    assert report.verdict == "bug"
    # The error 0.1 x s(x)(1 - s(x)) peaks where x s(x) (1 - s(x)) does, |x| ~ 1.5434.
    assert abs(abs(report.worst["x"].iloc[0]) - 1.5434) < 2e-3


@pytest.mark.parametrize("forward", ["silu", silu_np], ids=["symbolic", "finite-differences"])
def test_derivative_wrong_only_below_zero_is_located(forward):
    report = gl.audit(forward, silu_grad_wrong_below_zero)
    assert report.verdict == "bug"
    assert len(report.intervals) == 1
    run = report.intervals.iloc[0]
    assert run["start"] == -6 and -1e-11 <= run["stop"] < 0
    assert (report.frame.loc[report.frame["x"] >= 0, "status"] == "ok").all()
    # Its cost under the paper's chain, exact: worse than the true derivative's near 0 and below.
    imp = report.impact
    assert (imp["method"] == "exact").all() and imp["x"].min() == -1 and imp["x"].max() == 1
    below = imp[imp["x"] < -0.05]
    assert (below["error_claimed"] > 10 * below["error_true"]).all()
    above = imp[imp["x"] > 0.05]
    np.testing.assert_allclose(above["error_claimed"], above["error_true"], rtol=1e-9, atol=1e-15)


def test_the_impact_of_the_true_derivative_is_gradient_error():
    # error_true is E|f'(x~) - f'(x)| under the chain: the exact engine's e(x), computed independently.
    report = gl.audit("gelu", gelu_grad_sign_slip, impact_points=11)
    imp = report.impact
    ref = gl.gradient_error("gelu", gl.analog(0.5, 256), imp["x"], method="exact")
    np.testing.assert_allclose(imp["error_true"], ref["mean_abs_error"], rtol=1e-10, atol=1e-16)
    # Under continuous noise there are no levels: Monte Carlo, with standard errors.
    mc = gl.audit("gelu", gelu_grad_sign_slip, chain=gl.chain(gl.Gaussian(sigma=0.05)), impact_points=3,
                  samples=4000).impact
    ref = gl.gradient_error("gelu", gl.chain(gl.Gaussian(sigma=0.05)), mc["x"], method="exact")
    assert (mc["method"] == "mc").all()
    assert np.all(np.abs(mc["error_true"] - ref["mean_abs_error"].to_numpy()) < 4 * mc["stderr_true"] + 1e-12)


@pytest.mark.parametrize("forward, claim", [("gelu", gelu_grad), ("silu", silu_grad), (gelu_np, gelu_grad),
                                            (silu_np, silu_grad), ("x*tanh(log(1 + exp(x)))", None)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_correct_derivatives_pass_in_float64_and_float32(forward, claim, dtype):
    if claim is None:  # mish's derivative, written out by hand
        def claim(x):
            t = np.tanh(np.logaddexp(0, x))
            return t + x * (1 - t * t) * expit(x)
    report = gl.audit(forward, claim, dtype=dtype)
    assert report.verdict == "ok", report.summary()
    assert report.dtype == dtype and report.intervals.empty and report.impact is None


def test_a_float32_claim_is_judged_in_float32_and_its_own_type_is_detected():
    report = gl.audit("gelu", gelu_grad_float32)  # returns float32: judged as such, and passes
    assert report.dtype == "float32" and report.verdict == "ok"
    assert report.frame["abs_error"].max() > 1e-9  # float32 rounding, far above float64's
    # The same float32 arithmetic held to float64's standard is a bug: the tolerance follows the type.
    strict = gl.audit("gelu", gelu_grad_float32, dtype="float64", chain=None)
    assert strict.verdict == "bug"
    # A planted bug small in float64 terms is still far above float32 rounding.
    small = gl.audit("gelu", lambda x: gelu_grad(x) * (1 + 1e-4), dtype="float32", chain=None)
    assert small.verdict == "bug"


def test_relu_with_f_prime_at_zero_one_is_a_convention_named_right():
    report = gl.audit("relu", lambda x: (x >= 0).astype(float))
    assert report.verdict == "convention"
    k = report.kinks.iloc[0]
    assert k["x"] == 0 and k["follows"] == "right" and k["status"] == "convention" and k["source"] == "symbolic"
    assert set(report.frame.loc[report.frame["status"] != "ok", "x"]) == {0.0}
    # f'(0) = 0 is autograd's value (and the left limit): ok; asked to hold 'right' as the reference, a convention.
    ok = gl.audit("relu", lambda x: (x > 0).astype(float))
    assert ok.verdict == "ok" and ok.kinks.iloc[0]["follows"] == "left, autograd"
    assert gl.audit("relu", lambda x: (x >= 0).astype(float), kink="right").verdict == "ok"
    assert gl.audit("relu", lambda x: (x >= 0) * 1).dtype == "float64"  # integer results are exact
    assert gl.audit("relu", lambda x: np.where(x > 0, 1.0, np.where(x == 0, 0.5, 0.0))).kinks.iloc[0][
        "follows"] == "midpoint"


def test_kinks_of_a_numpy_forward_are_found_by_finite_differences():
    report = gl.audit(relu_np, lambda x: (x >= 0).astype(float))
    assert report.truth == "finite differences" and report.verdict == "convention"
    k = report.kinks.iloc[0]
    assert k["x"] == 0 and k["source"] == "estimate" and k["follows"] == "right"
    assert k["left"] == pytest.approx(0, abs=1e-9) and k["right"] == pytest.approx(1, abs=1e-9)
    # A kink away from 0 (relu6's at 6, on the grid's edge moved inward), and a value at it outside both limits.
    relu6 = gl.audit(lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float), x=np.linspace(-7, 7, 701))
    assert sorted(relu6.kinks["x"]) == [0.0, 6.0] and relu6.verdict == "convention"
    bad = gl.audit("relu", lambda x: np.where(x == 0, 3.0, (x > 0).astype(float)))
    assert bad.verdict == "bug" and bad.kinks.iloc[0]["status"] == "bug"


def test_a_wrong_branch_point_is_a_bug_not_a_convention():
    # The jump put at 1e-3 instead of 0: wrong on (0, 1e-3), found by the points added near the claim's jump.
    report = gl.audit("relu", lambda x: (x > 1e-3).astype(float), chain=None)
    assert report.verdict == "bug"
    run = report.intervals.iloc[0]
    assert 0 < run["start"] < 1e-11 and 0.99e-3 < run["stop"] <= 1e-3


def test_frames_are_tidy():
    report = gl.audit("gelu", gelu_grad_sign_slip, x=np.linspace(-2, 2, 101), chain=None)
    assert list(report.frame.columns) == ["x", "claimed", "true", "abs_error", "rel_error", "tolerance",
                                          "truth_error", "kink", "status"]
    assert report.frame["x"].is_monotonic_increasing and len(report.worst) == 10
    assert (report.worst["abs_error"].diff().dropna() <= 0).all()
    # Dense near 0: points at 1e-1 ... 1e-12 either side were added to the 101 asked for.
    assert {1e-12, -1e-12, 1e-6}.issubset(set(report.frame["x"]))
    assert "bug" in report.summary() and repr(report).startswith("AuditReport(verdict='bug'")


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "float8"}, "dtype must be one of"),
    ({"kink": "paper"}, "kink must be one of"),
    ({"x": []}, "x must be a non-empty"),
    ({"x": [0.0, np.nan]}, "x must hold finite numbers"),
    ({"ulps": -1}, "ulps must be > 0"),
    ({"chain": "digital"}, "chain must be 'analog'"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gl.audit("gelu", gelu_grad, **kwargs)


def test_bad_claims_and_forwards_are_refused_clearly():
    with pytest.raises(ValueError, match="one value per input"):
        gl.audit("gelu", lambda x: np.ones(3))
    with pytest.raises(ValueError, match="derivative is required"):
        gl.audit(gelu_np)
    with pytest.raises(ValueError, match="unknown name"):
        gl.audit("gleu", gelu_grad)
    with pytest.raises(TypeError, match="forward must be"):
        gl.audit(3.0, gelu_grad)


def test_numpy_audits_do_not_import_torch():
    code = textwrap.dedent("""
        import sys, numpy as np, gradlab as gl
        r = gl.audit(lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, x=np.linspace(-1, 1, 101), chain=None)
        gl.activation("gelu").df([0.0])
        print(r.verdict, "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["convention", "False"]


def test_command_line_audit(tmp_path, monkeypatch, capsys):
    from gradlab.cli import main

    (tmp_path / "audit_cli_grads.py").write_text(textwrap.dedent("""
        import numpy as np
        from scipy.special import expit
        def silu_grad(x):
            s = expit(x)
            return s * (1 + x * (1 - s))
        def silu_bad(x):
            s = expit(x)
            return s * (1 + 1.1 * x * (1 - s))
        def relu_grad(x):
            return (x >= 0) * 1.0
    """))
    monkeypatch.chdir(tmp_path)  # MODULE:NAME is looked for in the current directory first
    monkeypatch.setattr(sys, "path", list(sys.path))

    def run(*args):
        code = main(["audit", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = run("silu", "--derivative", "audit_cli_grads:silu_grad", "--x=-3:3:301")
    assert code == 0, err
    assert out.splitlines()[0].endswith(": ok")
    code, out, err = run("silu", "--derivative", "audit_cli_grads:silu_bad", "--x=-3:3:301", "--out", "a.csv")
    assert code == 1 and ": bug" in out and "gradient error" in out
    assert (tmp_path / "a.csv").exists()
    code, out, err = run("relu", "--derivative", "audit_cli_grads.py:relu_grad", "--no-impact")
    assert code == 0 and "follows right" in out
    for args, message in [
        (("relu", "--derivative", "audit_cli_grads:nope"), "has no attribute 'nope'"),
        (("relu", "--derivative", "nomodule_here:f"), "No module named 'nomodule_here'"),
        (("relu", "--derivative", "audit_cli_grads"), "MODULE:NAME"),
        (("relu",), "derivative is required"),
    ]:
        code, out, err = run(*args)
        assert code == 2, args
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("forward, claim", [("gelu", gelu_grad_missing_factor), ("gelu", gelu_grad_sign_slip),
                                            ("silu", silu_grad_wrong_constant), ("silu", silu_grad_wrong_below_zero)])
def test_planted_bugs_are_caught_in_float32_too(forward, claim):
    report = gl.audit(forward, claim, dtype="float32", chain=None)
    assert report.verdict == "bug" and report.dtype == "float32"
    assert report.frame.loc[report.frame["status"] == "bug", "x"].between(-6, 0, inclusive="left").any()
