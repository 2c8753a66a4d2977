"""The truth of an audit: kinks of a NumPy forward found by finite differences; no torch for NumPy.

Forwards that jump: the jumps of f are found, the stencils stay off them, and a jump of f is
reported as such.  Closed forms: round(16 x) / 16 is flat between its jumps of 1/16 at the odd
multiples of 1/32; where(x < 1, x, 0) has slope 1 then 0 and drops by 1 at x = 1.

Every claim is compared with something independent of it: the symbolic derivative of a gradlab
expression, or finite differences of a NumPy forward.  Torch-based audits are in tests/test_torch_bridge.py.
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradlab as gl
from tests.derivative_audit.functions import relu_np


def test_kinks_of_a_numpy_forward_are_found_by_finite_differences():
    report = gl.audit(relu_np, lambda x: (x >= 0).astype(float))
    assert report.truth == "finite differences" and report.verdict == "convention"
    k = report.kinks.iloc[0]
    assert k["x"] == 0 and k["source"] == "estimate" and k["follows"] == "right"
    assert k["left"] == pytest.approx(0, abs=1e-9) and k["right"] == pytest.approx(1, abs=1e-9)
    # A kink away from 0 (relu6's at 6, on the grid's edge moved inward), and a value at it outside both limits.
    # Its claim takes 0 at both kinks, as PyTorch's relu6 does: the rule for a forward without autograd.
    relu6 = gl.audit(lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float), x=np.linspace(-7, 7, 701))
    assert sorted(relu6.kinks["x"]) == [0.0, 6.0] and relu6.verdict == "ok"
    assert relu6.kinks["autograd"].tolist() == pytest.approx([0.0, 0.0], abs=1e-9)
    assert list(relu6.kinks["follows"]) == [
        "left, autograd", "right, autograd"]
    bad = gl.audit("relu", lambda x: np.where(x == 0, 3.0, (x > 0).astype(float)))
    assert bad.verdict == "bug" and bad.kinks.iloc[0]["status"] == "bug"


def test_numpy_audits_do_not_import_torch():
    code = textwrap.dedent("""
        import sys, numpy as np, gradlab as gl
        r = gl.audit(lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, x=np.linspace(-1, 1, 101), chain=None)
        gl.activation("gelu").df([0.0])
        print(r.verdict, "torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "False"]  # x > 0 is PyTorch's ReLU'(0) = 0: the default convention


def stair(x):
    return np.round(16 * x) / 16


def stair_grad(x):  # the correct derivative: 0 wherever it exists
    return np.zeros_like(x)


#: The jumps of stair on the default grid [-6, 6]: (m + 1/2) / 16 for m = -96 .. 95.
STAIR_JUMPS = (np.arange(-96, 96) + 0.5) / 16


def test_a_step_functions_zero_derivative_is_ok_and_its_jumps_are_jumps_of_f():
    report = gl.audit(stair, stair_grad)
    assert report.verdict == "ok", report.summary()
    assert report.intervals.empty and report.impact is None
    np.testing.assert_array_equal(report.kinks["x"], STAIR_JUMPS)
    assert (report.kinks["jump_f"] == 1 / 16).all()  # f(x0+) - f(x0-) = 0.0625 exactly at every jump
    assert (report.kinks[["left", "right"]].abs().to_numpy() < 1e-9).all()  # f' = 0 either side
    # Away from and beside the jumps the finite-difference truth is the closed form 0.
    assert report.frame["true"].abs().max() < 1e-9 and report.frame["abs_error"].max() < 1e-9


def test_a_jump_of_f_with_a_change_of_slope_is_located_and_measured():
    # ProAct's bound to zero above lambda = 1: f drops from 1 to 0 at x = 1, f' from 1 to 0.
    report = gl.audit(lambda x: np.where(x < 1, x, 0.0), lambda x: (x < 1) * 1.0, x=np.linspace(-3, 3, 601))
    # f'(1) = 0: the right limit, as (x < 1) gives, and PyTorch's rule (of 1 and 0, the value nearer 0).
    assert report.verdict == "ok", report.summary()
    assert list(report.kinks["x"]) == [1.0]
    k = report.kinks.iloc[0]
    assert k["jump_f"] == pytest.approx(-1.0, abs=1e-12) and k["follows"] == "right, autograd"
    assert gl.audit(lambda x: np.where(x < 1, x, 0.0), lambda x: (x < 1) * 1.0, x=np.linspace(-3, 3, 601),
                    kink="left").verdict == "convention"
    assert k["left"] == pytest.approx(1.0, abs=1e-9) and k["right"] == pytest.approx(0.0, abs=1e-9)
    assert (report.frame.loc[report.frame["x"] != 1.0, "status"] == "ok").all()


def test_a_straight_through_estimator_is_reported_as_a_surrogate_not_f_prime():
    torch = pytest.importorskip("torch")

    class RoundSTE(torch.autograd.Function):  # round forward, identity backward
        @staticmethod
        def forward(ctx, x):
            return torch.round(16 * x) / 16

        @staticmethod
        def backward(ctx, grad):
            return grad

    report = gl.audit(RoundSTE, impact_points=21)
    assert report.truth == "finite differences" and report.verdict == "bug"  # 1 is not f' = 0
    np.testing.assert_array_equal(report.kinks["x"], STAIR_JUMPS)
    assert any("surrogate" in note for note in report.notes), report.notes
    off = report.frame[report.frame["kink"].isna()]
    assert off["true"].abs().max() < 1e-9 and (off["abs_error"] - 1.0).abs().max() < 1e-9
    # Under the paper's chain f'(x~) = 0 at every level (on a jump, its one-sided value 0), so the
    # true derivative's gradient error is 0 and the estimator's is |1 - 0| = 1 at every input.
    imp = report.impact
    assert (imp["method"] == "exact").all()
    assert imp["error_true"].abs().max() < 1e-9
    np.testing.assert_allclose(imp["error_claimed"], 1.0, rtol=0, atol=1e-9)


def test_autograd_value_of_abs_comes_from_its_source_whatever_its_convention():
    # abs(x) with kink='left' has f'(0) = -1; autograd's value, which the audit compares a claim with, is
    # sign(0) = 0. Rebuilt from the folded piecewise form it was 1, and np.sign's 0 followed only 'midpoint'.
    report = gl.audit(gl.activation("abs(x)", kink="left"), np.sign)
    [kink] = report.kinks.itertuples()
    assert (kink.x, kink.left, kink.right, kink.autograd, kink.claimed) == (0.0, -1.0, 1.0, 0.0, 0.0)
    assert "autograd" in kink.follows and kink.status == "ok"


def test_pytorch_rule_is_the_value_between_the_one_sided_limits_nearest_zero():
    from gradlab.derivative_audit.truths import pytorch_rule

    # PyTorch's own choices: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = alpha, relu6'(6) = 0, and a kink
    # with both limits positive or both negative takes the one nearer 0.
    pairs = [(0, 1), (-1, 1), (0.01, 1), (1, 0), (0.5, 2.0), (-3.0, -0.25), (2.0, -1.0)]
    assert [pytorch_rule(a, b) for a, b in pairs] == [0, 0, 0.01, 0, 0.5, -0.25, 0]


@pytest.mark.parametrize("forward, claim, verdict, at_kink", [
    (relu_np, lambda x: (x > 0) * 1.0, "ok", 0.0),          # PyTorch's ReLU backward
    (relu_np, lambda x: (x >= 0) * 1.0, "convention", 0.0),  # AnalogVNN's: the right limit
    (np.abs, np.sign, "ok", 0.0),                             # sign(0) = 0, PyTorch's abs backward
    (lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1), "ok", 0.1),  # leaky ReLU
])
def test_a_numpy_forward_follows_pytorchs_rule_by_default_and_says_so(forward, claim, verdict, at_kink):
    report = gl.audit(forward, claim)
    assert report.truth == "finite differences" and report.verdict == verdict
    k = report.kinks.iloc[0]
    assert k["x"] == 0 and k["autograd"] == pytest.approx(at_kink, abs=1e-9)
    # The table's 'true' on the kink is that convention's value, not whatever a stencil gave there.
    on = report.frame[report.frame["x"] == 0.0]
    assert on["true"].to_numpy() == pytest.approx([at_kink], abs=1e-9)
    assert any("PyTorch's documented rule" in note for note in report.notes)
    assert "PyTorch's documented rule" in report.summary()


def test_another_convention_asked_for_is_followed_for_a_numpy_forward_too():
    report = gl.audit(relu_np, lambda x: (x >= 0) * 1.0, kink="right")
    assert report.verdict == "ok"
    assert report.frame.loc[report.frame["x"] == 0.0, "true"].tolist() == pytest.approx([1.0], abs=1e-9)
    assert not any("PyTorch's documented rule" in note for note in report.notes)  # the rule is not in play
