"""Derivative audit: does a claimed f' (a hand-written backward) agree with the true derivative of f?

:func:`audit` compares a claimed derivative with the true derivative of a forward function on a
grid dense near 0 and near every kink, and says where they disagree and whether it matters:

- the truth (:mod:`.truths`) is symbolic when the forward is a gradlab expression or built-in;
  autograd when it is a PyTorch callable (unless autograd would pass through a custom backward,
  which may be the very claim under audit); otherwise 8th-order central finite differences of the
  forward in float64 (:mod:`.differences`; 6th-order one-sided beside a kink), with an error
  estimate from the 6th-order (5th) stencil;
- a claim (:mod:`.claims`) is judged against the rounding of its own float type: it agrees where
  |claimed - true| <= ulps * eps(dtype) * (|true| + scale) + 2 * (the truth's error estimate),
  scale being the largest |true| on the grid, and the truth taken at the inputs rounded to the
  claim's type (so the rounding of the input itself is not held against it) (:mod:`.compare`);
- at a kink the true derivative has no single value: the claim agrees with a convention when it
  equals the left limit, the right limit, their midpoint or autograd's value there
  (:data:`gradlab.KINK_CONVENTIONS`); a disagreement only there is a 'convention', anywhere else
  (on an interval, or at a single smooth point) a 'bug' (:mod:`.report`);
- for a bug, the gradient error it causes under a chain (the paper's analog chain by default):
  E|claimed'(x~) - f'(x)| against E|f'(x~) - f'(x)|, exactly where the chain ends in a quantizer
  after one noise (:func:`gradlab.engines.level_distribution`), by Monte Carlo otherwise.

torch is imported only when a PyTorch object is given.
"""
from gradlab.derivative_audit.claims import DTYPES
from gradlab.derivative_audit.compare import DEFAULT_X, audit
from gradlab.derivative_audit.report import CONVENTIONS, VERDICTS, AuditReport

__all__ = ["CONVENTIONS", "DEFAULT_X", "DTYPES", "VERDICTS", "AuditReport", "audit"]
