"""The claim of an audit: judged in its own float type; claims that are not derivatives refused clearly.

Every claim is compared with something independent of it: the symbolic derivative of a gradlab
expression, or finite differences of a NumPy forward.  Torch-based audits are in tests/test_torch_bridge.py.
"""
import numpy as np
import pytest

import gradlab as gl
from tests.derivative_audit.functions import gelu_grad, gelu_grad_float32, gelu_np


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


def test_bad_claims_and_forwards_are_refused_clearly():
    with pytest.raises(ValueError, match="one value per input"):
        gl.audit("gelu", lambda x: np.ones(3))
    with pytest.raises(ValueError, match="derivative is required"):
        gl.audit(gelu_np)
    with pytest.raises(ValueError, match="unknown name"):
        gl.audit("gleu", gelu_grad)
    with pytest.raises(TypeError, match="forward must be"):
        gl.audit(3.0, gelu_grad)
