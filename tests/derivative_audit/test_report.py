"""The report: conventions at a kink, the impact under a chain (against the exact engine), tidy frames.

Every claim is compared with something independent of it: the symbolic derivative of a gradlab
expression, or finite differences of a NumPy forward.  Torch-based audits are in tests/test_torch_bridge.py.
"""
import numpy as np

import gradlab as gl
from tests.derivative_audit.functions import gelu_grad_sign_slip


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


def test_frames_are_tidy():
    report = gl.audit("gelu", gelu_grad_sign_slip, x=np.linspace(-2, 2, 101), chain=None)
    assert list(report.frame.columns) == ["x", "claimed", "true", "abs_error", "rel_error", "tolerance",
                                          "truth_error", "kink", "status"]
    assert report.frame["x"].is_monotonic_increasing and len(report.worst) == 10
    assert (report.worst["abs_error"].diff().dropna() <= 0).all()
    # Dense near 0: points at 1e-1 ... 1e-12 either side were added to the 101 asked for.
    assert {1e-12, -1e-12, 1e-6}.issubset(set(report.frame["x"]))
    assert "bug" in report.summary() and repr(report).startswith("AuditReport(verdict='bug'")
